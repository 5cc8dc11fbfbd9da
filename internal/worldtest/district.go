package worldtest

import (
	"github.com/paulmach/orb"

	"whistle/internal/account"
	"whistle/internal/region"
)

// Square is the rectangle from (x0, y0) to (x1, y1), x the longitude.
func Square(x0, y0, x1, y1 float64) orb.Polygon {
	return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
}

// OneStreet is district 330303 with one street, 330303001, of two
// communities each one grid wide: 社区A (330303001001, grid 网格A1
// 330303001001001) between longitudes 120.00 and 120.01, and 社区B
// (330303001002, grid 网格B1 330303001002001) between 120.01 and 120.02,
// all between latitudes 27.00 and 27.01. district and street name the two
// upper nodes.
func OneStreet(district, street string) []region.Feature {
	const code = "330303001"
	feats := []region.Feature{
		{Code: "330303", Name: district, Level: region.District, Geometry: Square(120, 27, 120.02, 27.01)},
		{Code: code, Name: street, Level: region.Street, ParentCode: "330303", Geometry: Square(120, 27, 120.02, 27.01)},
	}
	communities := []struct {
		code, name string
		x0, x1     float64
	}{{code + "001", "A", 120, 120.01}, {code + "002", "B", 120.01, 120.02}}
	for _, lv := range []region.Level{region.Community, region.Grid} {
		for _, c := range communities {
			f := region.Feature{Code: c.code, Name: "社区" + c.name, Level: lv, ParentCode: code, Geometry: Square(c.x0, 27, c.x1, 27.01)}
			if lv == region.Grid {
				f.Code, f.Name, f.ParentCode = c.code+"001", "网格"+c.name+"1", c.code
			}
			feats = append(feats, f)
		}
	}
	return feats
}

// OneStreetUsers are staff of OneStreet and a resident: staff-a and
// staff-b (community staff of A and B), street (street staff), admin and
// leader (district), grid-a (grid worker of A1), cg-handler and zj-handler
// (handlers of departments CG and ZJ) and resident (of A).
func OneStreetUsers() []User {
	const district, street, a = "330303", "330303001", "330303001001"
	return []User{
		{"staff-a", a, account.CommunityStaff, ""}, {"staff-b", "330303001002", account.CommunityStaff, ""},
		{"street", street, account.StreetStaff, ""}, {"admin", district, account.Admin, ""}, {"leader", district, account.Leader, ""},
		{"grid-a", a + "001", account.GridWorker, ""}, {"cg-handler", district, account.DepartmentHandler, "CG"},
		{"zj-handler", district, account.DepartmentHandler, "ZJ"}, {"resident", a, account.Resident, ""},
	}
}

// Departments are departments named by their codes.
func Departments(codes ...string) []Department {
	deps := make([]Department, len(codes))
	for i, c := range codes {
		deps[i] = Department{Code: c, Name: c}
	}
	return deps
}

// CatalogueDepartments are the ten departments the default category
// catalogue routes to, named by their codes.
func CatalogueDepartments() []Department {
	return Departments("CG", "ZJ", "SW", "GD", "RQ", "GA", "JT", "YL", "STHJ", "SCJG")
}
