package demo

import (
	"context"
	"fmt"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/region"
)

// The demo accounts sit in 永中街道 › 万顺社区 (the community named in
// Longwan's 红哨 report) › its first grid.
const (
	DemoStreet    = "330303001"
	DemoCommunity = "330303001011"
	DemoGrid      = "330303001011001"
)

// Account is one demo login.
type Account struct {
	Username   string
	Role       account.Role
	Region     string
	Department string
	Display    string
}

// Accounts lists the stable demo accounts, one per role.
func Accounts() []Account {
	return []Account{
		{"demo-admin", account.Admin, DistrictCode, "", "区管理员"},
		{"demo-leader", account.Leader, DistrictCode, "", "区领导"},
		{"demo-street", account.StreetStaff, DemoStreet, "", "永中街道工作人员"},
		{"demo-community", account.CommunityStaff, DemoCommunity, "", "万顺社区社工"},
		{"demo-grid", account.GridWorker, DemoGrid, "", "万顺社区网格员"},
		{"demo-dept", account.DepartmentHandler, DistrictCode, "CG", "城管处置员"},
		{"demo-party", account.PartyMember, DemoCommunity, "", "在职党员"},
		{"demo-resident", account.Resident, DemoCommunity, "", "万顺社区居民"},
	}
}

// Departments lists the usual district departments as code and name.
func Departments() [][2]string {
	return [][2]string{
		{"CG", "区综合行政执法局（城管）"},
		{"ZJ", "区住房和城乡建设局（住建）"},
		{"SCJG", "区市场监督管理局（市场监管）"},
		{"STHJ", "市生态环境局龙湾分局（生态环境）"},
		{"SW", "区水务局（水务）"},
		{"JT", "区交通运输局（交通）"},
		{"GA", "市公安局龙湾区分局（公安）"},
		{"YL", "区园林绿化管理中心（园林）"},
		{"GD", "国网龙湾供电公司（供电）"},
		{"RQ", "燃气公司（燃气）"},
	}
}

// SeedOptions control Seed.
type SeedOptions struct {
	Seed     int64
	Password string
}

// SeedResult reports what Seed did.
type SeedResult struct {
	Seeded  bool // false when the database already held regions
	Regions int
	Grids   int
}

// Seed fills an empty database with the demo district: regions with
// illustrative boundaries, departments and one account per role. A database
// that already has regions is left alone, so restarting `whistle demo`
// keeps its data.
func Seed(ctx context.Context, regions *region.Store, accounts *account.Store, opt SeedOptions) (SeedResult, error) {
	all, err := regions.All(ctx, false)
	if err != nil {
		return SeedResult{}, err
	}
	if len(all) > 0 {
		return SeedResult{Regions: len(all)}, nil
	}
	nodes, err := District(opt.Seed)
	if err != nil {
		return SeedResult{}, err
	}
	res := SeedResult{Seeded: true, Regions: len(nodes)}
	feats := make([]region.Feature, len(nodes))
	for i, n := range nodes {
		feats[i] = region.Feature{Index: i + 1, Code: n.Code, Name: n.Name, Level: region.Level(n.Level), ParentCode: n.ParentCode,
			Illustrative: n.Level != LevelDistrict}
		if len(n.Geometry) == 1 { // keep single polygons as Polygon in GeoJSON
			feats[i].Geometry = n.Geometry[0]
		} else {
			feats[i].Geometry = n.Geometry
		}
		if n.Level == LevelGrid {
			res.Grids++
		}
	}
	actor := audit.System("demo")
	if _, err := regions.Import(ctx, actor, feats); err != nil {
		return res, fmt.Errorf("demo: import regions: %w", err)
	}
	for _, d := range Departments() {
		if _, err := accounts.AddDepartment(ctx, actor, d[0], d[1], DistrictCode); err != nil {
			return res, fmt.Errorf("demo: department %s: %w", d[0], err)
		}
	}
	for _, a := range Accounts() {
		_, err := accounts.AddUser(ctx, actor, account.SystemScope(), account.NewUser{
			Username: a.Username, Password: opt.Password, DisplayName: a.Display, Roles: []account.Role{a.Role},
			RegionCode: a.Region, DepartmentCode: a.Department, Phone: demoPhone(a.Username),
		})
		if err != nil {
			return res, fmt.Errorf("demo: account %s: %w", a.Username, err)
		}
	}
	return res, nil
}

// demoPhone gives each demo account a distinct, obviously fake number.
func demoPhone(name string) string {
	h := uint32(2166136261)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint32(name[i])) * 16777619
	}
	return fmt.Sprintf("1380000%04d", h%10000)
}
