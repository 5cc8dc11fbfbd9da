package stats_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/media"
	"whistle/internal/region"
	"whistle/internal/sla"
	"whistle/internal/sla/calendar"
	"whistle/internal/stats"
)

// start is Monday 2026-11-02 09:00 in Shanghai.
var start = time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC)

// world is a district of two streets, each with two communities one grid
// wide, with the case service, the SLA engine and the rollups hooked in
// that order.
type world struct {
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

func sq(x0, y0, x1, y1 float64) orb.Polygon {
	return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
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
	for _, d := range dbtest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			clk := clock.NewFake(start)
			f(t, newWorld(t, dbtest.MustOpenDB(t, d, clk), clk))
		})
	}
}

func newWorld(t testing.TB, d *db.DB, clk *clock.Fake) *world {
	t.Helper()
	ctx := context.Background()
	regs := region.NewStore(d)
	feats := []region.Feature{
		{Code: "330300", Name: "市", Level: region.City, Geometry: sq(120, 27, 120.04, 27.01)},
		{Code: "330303", Name: "区", Level: region.District, ParentCode: "330300", Geometry: sq(120, 27, 120.04, 27.01)},
		{Code: "330303001", Name: "街道一", Level: region.Street, ParentCode: "330303", Geometry: sq(120, 27, 120.02, 27.01)},
		{Code: "330303002", Name: "街道二", Level: region.Street, ParentCode: "330303", Geometry: sq(120.02, 27, 120.04, 27.01)},
	}
	for i, g := range grids {
		x := 120 + 0.01*float64(i)
		feats = append(feats,
			region.Feature{Code: g.community, Name: fmt.Sprintf("社区%d", i+1), Level: region.Community, ParentCode: g.street, Geometry: sq(x, 27, x+0.01, 27.01)},
			region.Feature{Code: g.grid, Name: fmt.Sprintf("网格%d", i+1), Level: region.Grid, ParentCode: g.community, Geometry: sq(x, 27, x+0.01, 27.01)})
	}
	for i := range feats {
		feats[i].Index = i + 1
	}
	if _, err := regs.Import(ctx, audit.System("test"), feats); err != nil {
		t.Fatal(err)
	}
	cfg := account.DefaultConfig()
	cfg.Argon2 = account.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}
	acc, err := account.NewStore(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range []string{"CG", "ZJ", "SW", "GD", "RQ", "GA", "JT", "YL", "STHJ", "SCJG"} {
		if _, err := acc.AddDepartment(ctx, audit.System("test"), dep, dep, "330303"); err != nil {
			t.Fatal(err)
		}
	}
	cats := category.NewStore(d)
	if _, err := cats.SeedDefaults(ctx, audit.System("test")); err != nil {
		t.Fatal(err)
	}
	cal := calendar.NewStore(d)
	if _, err := cal.SeedDefaults(ctx, audit.System("test")); err != nil {
		t.Fatal(err)
	}
	w := &world{d: d, clk: clk, regs: regs, users: map[string]*account.User{}}
	add := func(name, region string, role account.Role, dept string) {
		u, err := acc.AddUser(ctx, audit.System("test"), account.SystemScope(), account.NewUser{Username: name, Password: "secret-pass",
			Roles: []account.Role{role}, RegionCode: region, DepartmentCode: dept, Phone: "13912345678"})
		if err != nil {
			t.Fatalf("add %s: %v", name, err)
		}
		w.users[name] = u
	}
	add("admin", "330303", account.Admin, "")
	add("leader", "330303", account.Leader, "")
	add("cg-handler", "330303", account.DepartmentHandler, "CG")
	for i, g := range grids {
		if i%2 == 0 {
			add(fmt.Sprintf("street-%d", i/2+1), g.street, account.StreetStaff, "")
			add(fmt.Sprintf("leader-%d", i/2+1), g.street, account.Leader, "")
		}
		add(fmt.Sprintf("community-%d", i+1), g.community, account.CommunityStaff, "")
		add(fmt.Sprintf("grid-%d", i+1), g.grid, account.GridWorker, "")
		add(fmt.Sprintf("party-%d", i+1), g.community, account.PartyMember, "")
		add(fmt.Sprintf("resident-%d", i+1), g.community, account.Resident, "")
	}
	blobs, err := media.NewFSStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	caseCfg := casework.DefaultConfig()
	caseCfg.GroupCommit = 1
	w.accounts, w.cats, w.blobs, w.caseCfg = acc, cats, blobs, caseCfg
	w.svc, err = casework.NewService(casework.Deps{DB: d, Regions: regs, Accounts: acc, Catalog: casework.NewCatalog(cats), Blobs: blobs, Config: caseCfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.svc.Close)
	w.eng, err = sla.New(ctx, sla.Deps{DB: d, Cases: w.svc, Calendar: cal, Categories: cats, Regions: regs, Accounts: acc})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.eng.SeedDefaults(ctx, audit.System("test")); err != nil {
		t.Fatal(err)
	}
	w.st, err = stats.New(stats.Deps{DB: d, Regions: regs, Categories: cats, Calendar: w.eng.Calendar})
	if err != nil {
		t.Fatal(err)
	}
	w.svc.AddHook(w.eng)
	w.svc.AddHook(w.st)
	w.eng.AddObserver(w.st)
	tree, err := cats.Tree(ctx, false)
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

func (w *world) as(name string) casework.Caller {
	if name == "system" {
		return casework.Caller{System: true}
	}
	u, ok := w.users[name]
	if !ok {
		panic("no user " + name)
	}
	return casework.Caller{User: u, IP: "127.0.0.1"}
}

func f64(v float64) *float64 { return &v }
func intp(v int) *int        { return &v }
func boolp(v bool) *bool     { return &v }

func (w *world) submit(t testing.TB, who, cat string, grid int, source string) *casework.Case {
	t.Helper()
	p := point(grid)
	c, _, err := w.svc.Submit(context.Background(), w.as(who), casework.SubmitInput{Category: cat, Description: "路灯不亮",
		Lat: f64(p[0]), Lng: f64(p[1]), Address: "永中路 1 号", Source: source})
	if err != nil {
		t.Fatalf("submit %s by %s: %v", cat, who, err)
	}
	return c
}

func (w *world) act(t testing.TB, who string, id int64, a casework.Action, in casework.Input) *casework.Case {
	t.Helper()
	c, err := w.svc.Act(context.Background(), w.as(who), id, a, in)
	if err != nil {
		t.Fatalf("%s by %s on %d: %v", a, who, id, err)
	}
	return c
}

func (w *world) photo(t testing.TB, who string, id int64) int64 {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	p, err := w.svc.AddPhoto(context.Background(), w.as(who), id, "after", &b)
	if err != nil {
		t.Fatalf("photo by %s: %v", who, err)
	}
	return p.ID
}

// breach does what the SLA scheduler does when a stage's deadline passes,
// and tells the rollups in the same transaction, as the engine is wired to.
func (w *world) breach(t testing.TB, id int64) {
	t.Helper()
	ctx := context.Background()
	err := w.d.InTx(ctx, func(tx *db.Tx) error {
		var from string
		if err := tx.QueryRow(ctx, `SELECT sla_state FROM cases WHERE id = $1`, id).Scan(&from); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE sla_stages SET breached_at = $1 WHERE case_id = $2 AND ended_at IS NULL`, tx.Now(), id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE cases SET sla_state = 'overdue', supervised = $1 WHERE id = $2`, true, id); err != nil {
			return err
		}
		return w.st.SLAChanged(ctx, tx, id, from, "overdue")
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
