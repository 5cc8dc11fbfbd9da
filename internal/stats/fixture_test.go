package stats_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/media"
	"whistle/internal/region"
	"whistle/internal/sla"
	"whistle/internal/stats"
	"whistle/internal/worldtest"
)

// start is Monday 2026-11-02 09:00 in Shanghai.
var start = time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC)

// world is a district of two streets, each with two communities one grid
// wide, with the case service, the SLA engine and the rollups hooked in
// that order.
type world struct {
	*worldtest.World
	d     *db.DB
	svc   *casework.Service
	eng   *sla.Engine
	st    *stats.Store
	clk   *clock.Fake
	regs  *region.Store
	users map[string]*account.User
	// What a second case service on the same data needs.
	accounts *account.Store
	cats     *category.Store
	blobs    *media.FSStore
	caseCfg  casework.Config
	// whistle and urban are leaf categories of each workflow.
	whistle, urban []string
}

// The grids, their communities and streets: street 1 is x 120.00–120.02,
// street 2 is x 120.02–120.04; each community is one grid.
var grids = []struct{ street, community, grid string }{
	{"330303001", "330303001001", "330303001001001"},
	{"330303001", "330303001002", "330303001002001"},
	{"330303002", "330303002001", "330303002001001"},
	{"330303002", "330303002002", "330303002002001"},
}

// point returns a point inside grid i (lat, lng).
func point(i int) [2]float64 { return [2]float64{27.005, 120.005 + 0.01*float64(i)} }

func eachWorld(t *testing.T, f func(t *testing.T, w *world)) {
	t.Helper()
	worldtest.Each(t, start, func(t *testing.T, d *db.DB, clk *clock.Fake) { f(t, newWorld(t, d, clk)) })
}

// newWorld builds the district on d with the clock at clk: an admin, a
// leader and a CG handler of the district, a staff member and a leader of
// each street, and a staff member, a grid worker, a party member and a
// resident of each community.
func newWorld(t testing.TB, d *db.DB, clk *clock.Fake) *world {
	t.Helper()
	ctx := context.Background()
	sq := worldtest.Square
	feats := []region.Feature{
		{Code: "330300", Name: "市", Level: region.City, Geometry: sq(120, 27, 120.04, 27.01)},
		{Code: "330303", Name: "区", Level: region.District, ParentCode: "330300", Geometry: sq(120, 27, 120.04, 27.01)},
		{Code: "330303001", Name: "街道一", Level: region.Street, ParentCode: "330303", Geometry: sq(120, 27, 120.02, 27.01)},
		{Code: "330303002", Name: "街道二", Level: region.Street, ParentCode: "330303", Geometry: sq(120.02, 27, 120.04, 27.01)},
	}
	users := []worldtest.User{{Name: "admin", Region: "330303", Role: account.Admin}, {Name: "leader", Region: "330303", Role: account.Leader},
		{Name: "cg-handler", Region: "330303", Role: account.DepartmentHandler, Department: "CG"}}
	for i, g := range grids {
		x := 120 + 0.01*float64(i)
		feats = append(feats,
			region.Feature{Code: g.community, Name: fmt.Sprintf("社区%d", i+1), Level: region.Community, ParentCode: g.street, Geometry: sq(x, 27, x+0.01, 27.01)},
			region.Feature{Code: g.grid, Name: fmt.Sprintf("网格%d", i+1), Level: region.Grid, ParentCode: g.community, Geometry: sq(x, 27, x+0.01, 27.01)})
		if i%2 == 0 {
			users = append(users, worldtest.User{Name: fmt.Sprintf("street-%d", i/2+1), Region: g.street, Role: account.StreetStaff},
				worldtest.User{Name: fmt.Sprintf("leader-%d", i/2+1), Region: g.street, Role: account.Leader})
		}
		users = append(users, worldtest.User{Name: fmt.Sprintf("community-%d", i+1), Region: g.community, Role: account.CommunityStaff},
			worldtest.User{Name: fmt.Sprintf("grid-%d", i+1), Region: g.grid, Role: account.GridWorker},
			worldtest.User{Name: fmt.Sprintf("party-%d", i+1), Region: g.community, Role: account.PartyMember},
			worldtest.User{Name: fmt.Sprintf("resident-%d", i+1), Region: g.community, Role: account.Resident})
	}
	caseCfg := casework.DefaultConfig()
	caseCfg.GroupCommit = 1
	wt := worldtest.New(t, d, worldtest.Options{Regions: feats, Departments: worldtest.CatalogueDepartments(), Users: users,
		Phone: "13912345678", Calendar: true, Cases: caseCfg})
	w := &world{World: wt, d: d, svc: wt.Cases, clk: clk, regs: wt.Regions, users: wt.Users,
		accounts: wt.Accounts, cats: wt.Categories, blobs: wt.Blobs, caseCfg: caseCfg}
	var err error
	w.eng, err = sla.New(ctx, sla.Deps{DB: d, Cases: w.svc, Calendar: wt.Calendar, Categories: wt.Categories, Regions: wt.Regions,
		Accounts: wt.Accounts})
	if err != nil {
		t.Fatal(err)
	}
	w.svc.UseDeadlines(w.eng)
	w.st = wt.AddStats(t, w.eng.Calendar)
	tree, err := wt.Categories.Tree(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(cs []*category.Category)
	walk = func(cs []*category.Category) {
		for _, c := range cs {
			if len(c.Children) > 0 {
				walk(c.Children)
				continue
			}
			if len(c.Fields) > 0 {
				continue
			}
			if c.Workflow == category.WorkflowWhistle && len(w.whistle) < 6 {
				w.whistle = append(w.whistle, c.Code)
			}
			if c.Workflow == category.WorkflowUrban && len(w.urban) < 6 {
				w.urban = append(w.urban, c.Code)
			}
		}
	}
	walk(tree)
	if len(w.whistle) == 0 || len(w.urban) == 0 {
		t.Fatalf("no leaf categories: %v %v", w.whistle, w.urban)
	}
	return w
}

func (w *world) as(name string) casework.Caller { return w.As(name) }

func f64(v float64) *float64 { return &v }
func intp(v int) *int        { return &v }
func boolp(v bool) *bool     { return &v }

func (w *world) submit(t testing.TB, who, cat string, grid int, source string) *casework.Case {
	t.Helper()
	p := point(grid)
	return w.Submit(t, who, casework.SubmitInput{Category: cat, Description: "路灯不亮", Lat: f64(p[0]), Lng: f64(p[1]), Address: "永中路 1 号",
		Source: source})
}

func (w *world) act(t testing.TB, who string, id int64, a casework.Action, in casework.Input) *casework.Case {
	t.Helper()
	return w.Act(t, who, id, a, in)
}

func (w *world) photo(t testing.TB, who string, id int64) int64 { return w.Photo(t, who, id, "after") }

// breach does what the SLA scheduler does when a stage's deadline passes
// and it escalates: it marks the open stage breached and takes a system
// step that flags the case, through casework's change path, which takes
// the SLA state from the engine and tells the rollups.
func (w *world) breach(t testing.TB, id int64) {
	t.Helper()
	ctx := context.Background()
	err := w.d.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE sla_stages SET breached_at = $1 WHERE case_id = $2 AND ended_at IS NULL`, tx.Now(), id); err != nil {
			return err
		}
		_, err := w.svc.SystemStep(ctx, tx, id, casework.Step{Action: casework.ActBreach, Effects: []casework.Effect{casework.EffSupervise}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// rebuild compares the rollups with a recomputation and returns the
// differences found.
func (w *world) rebuild(t testing.TB, dry bool) ([]stats.Difference, stats.RebuildReport) {
	t.Helper()
	var diffs []stats.Difference
	rep, err := w.st.Rebuild(context.Background(), stats.RebuildOptions{DryRun: dry, BatchSize: 7, Report: func(d stats.Difference) { diffs = append(diffs, d) }})
	if err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	return diffs, rep
}
