package sla

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/feed"
	"whistle/internal/notify"
	"whistle/internal/region"
	"whistle/internal/timer"
	"whistle/internal/worldtest"
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
// grid wide (worldtest.OneStreet), the default categories and calendar,
// and an Engine hooked into the case service.
type world struct {
	*worldtest.World
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

// eachWorld runs f on a fresh world on each dialect, each with its own
// clock set to start.
func eachWorld(t *testing.T, start time.Time, f func(t *testing.T, w *world)) {
	t.Helper()
	worldtest.Each(t, start, func(t *testing.T, d *db.DB, clk *clock.Fake) { f(t, newWorld(t, d, clk)) })
}

// newWorld builds the district on d with the clock at clk: the staff of
// worldtest.OneStreetUsers, a street leader and a party member, and the
// default time limits.
func newWorld(t testing.TB, d *db.DB, clk *clock.Fake) *world {
	t.Helper()
	// The street's leader comes after the district's, as the user ids have always been.
	users := slices.Insert(worldtest.OneStreetUsers(), 5, worldtest.User{Name: "street-leader", Region: "330303001", Role: account.Leader})
	users = append(users, worldtest.User{Name: "party", Region: "330303001001", Role: account.PartyMember})
	w := &world{clk: clk}
	w.start(t, worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Departments: worldtest.CatalogueDepartments(),
		Users: users, Phone: "13912345678", Calendar: true}))
	return w
}

// attach wires a case service and an engine on d, as a process starting
// on an existing database does; the world keeps its users.
func (w *world) attach(t testing.TB, d *db.DB) {
	t.Helper()
	wt := worldtest.Open(t, d, worldtest.Options{})
	wt.Users = w.users
	w.start(t, wt)
}

// start takes wt's stores and service and hooks a new engine into it.
func (w *world) start(t testing.TB, wt *worldtest.World) {
	t.Helper()
	w.World, w.d, w.svc, w.acc, w.regs, w.users = wt, wt.DB, wt.Cases, wt.Accounts, wt.Regions, wt.Users
	var err error
	w.eng, err = New(context.Background(), Deps{DB: wt.DB, Cases: wt.Cases, Calendar: wt.Calendar, Categories: wt.Categories, Regions: wt.Regions,
		Accounts: wt.Accounts})
	if err != nil {
		t.Fatal(err)
	}
	w.svc.UseDeadlines(w.eng)
}

// freshDB returns the configuration of an empty database of dialect: a
// new SQLite directory, or a new PostgreSQL schema.
func freshDB(t testing.TB, dialect db.Dialect) db.Config {
	t.Helper()
	var cfg db.Config
	switch dialect {
	case db.SQLite:
		cfg.DataDir = t.TempDir()
	case db.Postgres:
		cfg.URL = dbtest.PostgresURL(t)
		cfg.SearchPath = dbtest.NewSchema(t, cfg.URL)
	}
	return cfg
}

// reopener returns a function that opens and migrates the same database on
// every call (one SQLite directory, or one PostgreSQL schema), as a
// restarted process or a second replica would.
func reopener(t testing.TB, dialect db.Dialect, clk *clock.Fake) func() *db.DB {
	t.Helper()
	cfg := freshDB(t, dialect)
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

func (w *world) as(name string) casework.Caller { return w.As(name) }

func f64(v float64) *float64 { return &v }
func intp(v int) *int        { return &v }
func boolp(v bool) *bool     { return &v }

// submit reports a case in category at p as who.
func (w *world) submit(t testing.TB, who, cat string, p [2]float64) *casework.Case {
	t.Helper()
	return w.Submit(t, who, casework.SubmitInput{Category: cat, Description: "楼道堆放杂物，影响通行", Lat: f64(p[0]), Lng: f64(p[1]),
		Address: "万顺路 1 号"})
}

// act takes an action and fails the test on error.
func (w *world) act(t testing.TB, who string, id int64, a casework.Action, in casework.Input) *casework.Case {
	t.Helper()
	return w.Act(t, who, id, a, in)
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

// runner returns a fresh timer runner with the engine's handlers.
func (w *world) runner(cfg timer.Config) *timer.Runner {
	r := timer.NewRunner(w.d, cfg)
	w.eng.RegisterTimers(r)
	return r
}

// runDue runs a fresh timer runner and returns how many timers fired.
func (w *world) runDue(t testing.TB) int {
	t.Helper()
	n, err := w.runner(timer.Config{}).RunDue(context.Background())
	if err != nil {
		t.Fatalf("RunDue: %v", err)
	}
	return n
}

// countTimers counts the engine's pending timers of a case.
func (w *world) countTimers(t testing.TB, caseID int64) int {
	t.Helper()
	return w.count(t, `SELECT COUNT(*) FROM kernel_timers WHERE kind IN ($1, $2, $3) AND subject = $4`,
		TimerWarning, TimerBreach, TimerSupervision, strconv.FormatInt(caseID, 10))
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

// inboxKinds counts the notifications of each kind a user received about a
// case, once the notifications' feed consumer has caught up.
func (w *world) inboxKinds(t testing.TB, user string, caseID int64) map[string]int {
	t.Helper()
	r, err := feed.NewRunner(w.d, feed.RunnerConfig{}, notify.NewNotifier(w.svc, nil).Consumer())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
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
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func (w *world) photo(t testing.TB, who string, id int64) int64 { return w.Photo(t, who, id, "after") }

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
