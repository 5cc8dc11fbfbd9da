package benchmark_test

import (
	"context"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/benchmark"
	"whistle/internal/db"
	"whistle/internal/region"
	"whistle/internal/worldtest"
)

// t0 is a Monday morning in Wenzhou.
var t0 = time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC)

// The four communities of street 330303001, in code order.
const (
	cA = "330303001001"
	cB = "330303001002"
	cC = "330303001003"
	cD = "330303001004"
)

// fourCommunities is district 330303 with streets 330303001 (communities
// A to D) and 330303002 (one community).
func fourCommunities() []region.Feature {
	feats := []region.Feature{
		{Code: "330303", Name: "龙湾区", Level: region.District, Geometry: worldtest.Square(120, 27, 120.1, 27.1)},
		{Code: "330303001", Name: "永中街道", Level: region.Street, ParentCode: "330303", Geometry: worldtest.Square(120, 27, 120.04, 27.01)},
		{Code: "330303002", Name: "海滨街道", Level: region.Street, ParentCode: "330303", Geometry: worldtest.Square(120.05, 27, 120.06, 27.01)},
		{Code: "330303002001", Name: "社区E", Level: region.Community, ParentCode: "330303002", Geometry: worldtest.Square(120.05, 27, 120.06, 27.01)},
	}
	for i, c := range []string{cA, cB, cC, cD} {
		x := 120 + float64(i)*0.01
		feats = append(feats, region.Feature{Code: c, Name: "社区" + string(rune('A'+i)), Level: region.Community, ParentCode: "330303001", Geometry: worldtest.Square(x, 27, x+0.01, 27.01)})
	}
	return feats
}

type fixture struct {
	*worldtest.World
	st *benchmark.Store
}

func newFixture(t *testing.T, d *db.DB) *fixture {
	t.Helper()
	users := []worldtest.User{{Name: "staff-a", Region: cA, Role: account.CommunityStaff}, {Name: "street", Region: "330303001", Role: account.StreetStaff},
		{Name: "admin", Region: "330303", Role: account.Admin}}
	w := worldtest.New(t, d, worldtest.Options{Regions: fourCommunities(), Users: users})
	return &fixture{World: w, st: benchmark.NewStore(benchmark.Deps{DB: d, Regions: w.Regions})}
}

func (f *fixture) scope(t *testing.T, name string) account.Scope {
	t.Helper()
	if name == "system" {
		return account.SystemScope()
	}
	u, ok := f.Users[name]
	if !ok {
		t.Fatalf("no user %s", name)
	}
	return account.ScopeOf(u)
}

func (f *fixture) declare(t *testing.T, key, dir string) benchmark.Indicator {
	t.Helper()
	in, err := f.st.DeclareIndicator(context.Background(), benchmark.Indicator{Key: key, Name: benchmark.Text{ZH: key, EN: key}, Unit: "percent", Direction: dir})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

// put writes values of one indicator and period, by unit.
func (f *fixture) put(t *testing.T, key, period string, byUnit map[string]float64) {
	t.Helper()
	var vals []benchmark.Value
	for u, v := range byUnit {
		vals = append(vals, benchmark.Value{Indicator: key, Unit: u, Period: period, Value: v})
	}
	if err := f.st.PutValues(context.Background(), vals, false); err != nil {
		t.Fatal(err)
	}
}
