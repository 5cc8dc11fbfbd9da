package sla

import (
	"bytes"
	"context"
	"encoding/json"
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
	"whistle/internal/sla/calendar"
)

// shanghai is the zone the tests write instants in.
var shanghai = time.FixedZone("CST", 8*3600)

// cst is a wall-clock instant in Asia/Shanghai.
func cst(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, shanghai)
}

// friday is Friday 2025-09-26 16:00 in Shanghai: Sunday 09-28 is a make-up
// workday and 10-01 to 10-08 are holidays.
var friday = cst(2025, 9, 26, 16, 0)

// world is a small district: one street with two communities, each one
// grid wide, the default categories and calendar, and an Engine hooked
// into the case service.
type world struct {
	d     *db.DB
	svc   *casework.Service
	eng   *Engine
	clk   *clock.Fake
	acc   *account.Store
	regs  *region.Store
	users map[string]*account.User
}

// Points inside community A's and community B's grids (lat, lng).
var (
	inA = [2]float64{27.005, 120.005}
	inB = [2]float64{27.005, 120.015}
)

func sq(x0, y0, x1, y1 float64) orb.Polygon {
	return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
}

// eachWorld runs f on a fresh world on each dialect, each with its own
// clock set to start.
func eachWorld(t *testing.T, start time.Time, f func(t *testing.T, w *world)) {
	t.Helper()
	for _, d := range dbtest.Dialects() {
		t.Run(string(d), func(t *testing.T) {
			clk := clock.NewFake(start)
			f(t, newWorld(t, dbtest.MustOpenDB(t, d, clk), clk))
		})
	}
}

// newWorld builds the district on d with the clock at clk.
func newWorld(t testing.TB, d *db.DB, clk *clock.Fake) *world {
	t.Helper()
	ctx := context.Background()
	regs := region.NewStore(d)
	feats := []region.Feature{
		{Index: 1, Code: "330303", Name: "区", Level: region.District, Geometry: sq(120, 27, 120.02, 27.01)},
		{Index: 2, Code: "330303001", Name: "街道", Level: region.Street, ParentCode: "330303", Geometry: sq(120, 27, 120.02, 27.01)},
		{Index: 3, Code: "330303001001", Name: "社区A", Level: region.Community, ParentCode: "330303001", Geometry: sq(120, 27, 120.01, 27.01)},
		{Index: 4, Code: "330303001002", Name: "社区B", Level: region.Community, ParentCode: "330303001", Geometry: sq(120.01, 27, 120.02, 27.01)},
		{Index: 5, Code: "330303001001001", Name: "网格A1", Level: region.Grid, ParentCode: "330303001001", Geometry: sq(120, 27, 120.01, 27.01)},
		{Index: 6, Code: "330303001002001", Name: "网格B1", Level: region.Grid, ParentCode: "330303001002", Geometry: sq(120.01, 27, 120.02, 27.01)},
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
	w := &world{d: d, clk: clk, acc: acc, regs: regs, users: map[string]*account.User{}}
	add := func(name, region string, role account.Role, dept string) {
		u, err := acc.AddUser(ctx, audit.System("test"), account.SystemScope(), account.NewUser{Username: name, Password: "secret-pass",
			Roles: []account.Role{role}, RegionCode: region, DepartmentCode: dept, Phone: "13912345678"})
		if err != nil {
			t.Fatalf("add %s: %v", name, err)
		}
		w.users[name] = u
	}
	add("staff-a", "330303001001", account.CommunityStaff, "")
	add("staff-b", "330303001002", account.CommunityStaff, "")
	add("street", "330303001", account.StreetStaff, "")
	add("admin", "330303", account.Admin, "")
	add("leader", "330303", account.Leader, "")
	add("street-leader", "330303001", account.Leader, "")
	add("grid-a", "330303001001001", account.GridWorker, "")
	add("cg-handler", "330303", account.DepartmentHandler, "CG")
	add("zj-handler", "330303", account.DepartmentHandler, "ZJ")
	add("resident", "330303001001", account.Resident, "")
	add("party", "330303001001", account.PartyMember, "")
	w.attach(t, d)
	if n, err := w.eng.SeedDefaults(ctx, audit.System("test")); err != nil || n != len(DefaultTimeLimits()) {
		t.Fatalf("seed time limits: got %d, %v; want %d", n, err, len(DefaultTimeLimits()))
	}
	return w
}

// attach wires a case service and an engine on d, as a process starting
// on an existing database does.
func (w *world) attach(t testing.TB, d *db.DB) {
	t.Helper()
	ctx := context.Background()
	w.d = d
	w.regs = region.NewStore(d)
	if err := w.regs.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	acc, err := account.NewStore(d, account.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	w.acc = acc
	cats := category.NewStore(d)
	blobs, err := media.NewFSStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	w.svc, err = casework.NewService(casework.Deps{DB: d, Regions: w.regs, Accounts: acc, Catalog: casework.NewCatalog(cats), Blobs: blobs,
		Config: casework.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.svc.Close)
	w.eng, err = New(ctx, Deps{DB: d, Cases: w.svc, Calendar: calendar.NewStore(d), Categories: cats, Regions: w.regs, Accounts: acc})
	if err != nil {
		t.Fatal(err)
	}
	w.svc.AddHook(w.eng)
}

// reopener returns a function that opens and migrates the same database on
// every call (one SQLite directory, or one PostgreSQL schema), as a
// restarted process or a second replica would.
func reopener(t testing.TB, dialect db.Dialect, clk *clock.Fake) func() *db.DB {
	t.Helper()
	var cfg db.Config
	switch dialect {
	case db.SQLite:
		cfg.DataDir = t.TempDir()
	case db.Postgres:
		cfg.URL = dbtest.PostgresURL(t)
		cfg.SearchPath = dbtest.NewSchema(t, cfg.URL)
	}
	return func() *db.DB {
		t.Helper()
		ctx := context.Background()
		d, err := db.Open(ctx, cfg, clk)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		if _, err := d.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return d
	}
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

// submit reports a case in category at p as who.
func (w *world) submit(t testing.TB, who, cat string, p [2]float64) *casework.Case {
	t.Helper()
	c, _, err := w.svc.Submit(context.Background(), w.as(who), casework.SubmitInput{Category: cat, Description: "楼道堆放杂物，影响通行",
		Lat: f64(p[0]), Lng: f64(p[1]), Address: "万顺路 1 号"})
	if err != nil {
		t.Fatalf("submit %s: %v", cat, err)
	}
	return c
}

// act takes an action and fails the test on error.
func (w *world) act(t testing.TB, who string, id int64, a casework.Action, in casework.Input) *casework.Case {
	t.Helper()
	c, err := w.svc.Act(context.Background(), w.as(who), id, a, in)
	if err != nil {
		t.Fatalf("%s by %s: %v", a, who, err)
	}
	return c
}

// get reads a case as the system.
func (w *world) get(t testing.TB, id int64) *casework.Case {
	t.Helper()
	c, err := w.svc.Get(context.Background(), w.as("system"), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// open returns the case's open stage.
func (w *world) open(t testing.TB, id int64) *Stage {
	t.Helper()
	stages, err := w.eng.Stages(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for i := range stages {
		if stages[i].EndedAt.IsZero() {
			return &stages[i]
		}
	}
	return nil
}

// runDue runs a fresh scheduler and returns how many timers fired.
func (w *world) runDue(t testing.TB) int {
	t.Helper()
	n, err := w.eng.NewScheduler(SchedulerConfig{}).RunDue(context.Background())
	if err != nil {
		t.Fatalf("RunDue: %v", err)
	}
	return n
}

// count runs a COUNT(*) query.
func (w *world) count(t testing.TB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := w.d.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// actions lists the timeline's actions of a case, in order.
func (w *world) actions(t testing.TB, id int64) []string {
	t.Helper()
	tl, err := w.svc.Timeline(context.Background(), w.as("admin"), id, false)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range tl {
		out = append(out, string(e.Action))
	}
	return out
}

// inboxKinds counts the notifications of each kind a user received about a case.
func (w *world) inboxKinds(t testing.TB, user string, caseID int64) map[string]int {
	t.Helper()
	rows, err := w.d.Query(context.Background(), `SELECT kind FROM notifications WHERE user_id = $1 AND case_id = $2`, w.users[user].ID, caseID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		out[k]++
	}
	return out
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
		t.Fatalf("photo: %v", err)
	}
	return p.ID
}

func dump(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// at formats an instant in Shanghai for messages.
func at(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(shanghai).Format("2006-01-02 15:04 Mon")
}
