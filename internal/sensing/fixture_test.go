package sensing_test

import (
	"context"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/idcode"
	"whistle/internal/registry"
	"whistle/internal/sensing"
	"whistle/internal/timer"
	"whistle/internal/visit"
	"whistle/internal/worldtest"
)

// t0 is a Monday morning in Wenzhou (10:00 local).
var t0 = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)

// gridA1 is grid A1 of worldtest.OneStreet; its square is lng 120–120.01,
// lat 27–27.01.
const gridA1 = "330303001001001"

type fixture struct {
	*worldtest.World
	d      *db.DB
	clk    *clock.Fake
	svc    *sensing.Service
	timers *timer.Runner
	// visits plans the follow-up visits of the ladder's cases.
	visits *visit.Store
	// sources are the devices the silences resolve.
	sources map[int64]*sensing.Source
}

func newFixture(t *testing.T, d *db.DB, clk *clock.Fake) *fixture {
	t.Helper()
	w := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("龙湾区", "永中街道"), Departments: worldtest.Departments("CG", "ZJ"),
		Users: worldtest.OneStreetUsers(), Phone: "13912345678"})
	f := &fixture{World: w, d: d, clk: clk, sources: map[int64]*sensing.Source{}}
	f.visits = visit.NewStore(visit.Deps{DB: d, Regions: f.Regions, Registry: registry.NewStore(registry.Deps{DB: d, Regions: f.Regions})})
	f.svc = f.newService(t)
	f.timers = timer.NewRunner(d, timer.Config{})
	f.svc.RegisterTimers(f.timers)
	return f
}

// newService is a Service on the fixture's database, as a restarted
// process or another replica builds it.
func (f *fixture) newService(t *testing.T) *sensing.Service {
	t.Helper()
	svc, err := sensing.NewService(context.Background(), sensing.Deps{DB: f.d, Workflows: f.Cases.WorkflowStore(), Cases: f.Cases,
		Visits: f.visits, Resolve: func(_ context.Context, _ *db.Tx, dev int64) (*sensing.Source, error) { return f.sources[dev], nil }})
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

func (f *fixture) as(name string) sensing.Caller {
	u, ok := f.Users[name]
	if !ok {
		panic("no user " + name)
	}
	return sensing.Caller{User: u, IP: "127.0.0.1"}
}

// watch is a watch of person 7 in grid A1; meter a water meter of the
// same person; space a no-parking space.
func (f *fixture) source(id int64, typ string) *sensing.Source {
	s := &sensing.Source{Device: id, Type: typ, District: "330303", GridCode: gridA1, RegionPath: "/330303/330303001/330303001001/" + gridA1 + "/",
		Lat: 27.005, Lng: 120.005}
	switch typ {
	case "parking_sensor":
		s.SpaceID, s.NoParking = id+1000, true
	default:
		s.PersonID, s.HouseID = 7, 70
	}
	f.sources[id] = s
	return s
}

// read feeds readings from src into the engine in one transaction, as the
// ingest's Sink does.
func (f *fixture) read(t *testing.T, src *sensing.Source, vals ...map[string]float64) {
	t.Helper()
	rs := make([]sensing.Reading, len(vals))
	for i, v := range vals {
		rs[i] = sensing.Reading{Source: src, TS: f.clk.Now(), Values: v}
	}
	if err := f.d.InTx(context.Background(), func(tx *db.Tx) error { return f.svc.Evaluate(context.Background(), tx, rs) }); err != nil {
		t.Fatalf("evaluate: %v", err)
	}
}

// readText feeds one reading with enumerations from src.
func (f *fixture) readText(t *testing.T, src *sensing.Source, text map[string]string) {
	t.Helper()
	rs := []sensing.Reading{{Source: src, TS: f.clk.Now(), Text: text}}
	if err := f.d.InTx(context.Background(), func(tx *db.Tx) error { return f.svc.Evaluate(context.Background(), tx, rs) }); err != nil {
		t.Fatalf("evaluate: %v", err)
	}
}

// fire moves the clock by d, fires every timer and silence due and opens
// the ladder's cases.
func (f *fixture) fire(t *testing.T, d time.Duration) int {
	t.Helper()
	f.clk.Advance(d)
	n, err := f.timers.RunDue(context.Background())
	if err != nil {
		t.Fatalf("RunDue: %v", err)
	}
	if _, err := f.svc.OpenCases(context.Background()); err != nil {
		t.Fatalf("OpenCases: %v", err)
	}
	return n
}

func (f *fixture) rule(t *testing.T, in sensing.RuleInput) *sensing.Rule {
	t.Helper()
	r, err := f.svc.CreateRule(context.Background(), f.as("admin"), in)
	if err != nil {
		t.Fatalf("create rule: %v", err)
	}
	return r
}

func (f *fixture) alarms(t *testing.T, status string) []*sensing.Alarm {
	t.Helper()
	as, err := f.svc.Alarms(context.Background(), f.as("admin"), sensing.AlarmFilter{Status: status})
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// retryOpening marks the alarms (all, or the one given) as if their
// case's opening had not been recorded, as after a crash between the
// case's commit and its link.
func (f *fixture) retryOpening(t *testing.T, alarm ...int64) {
	t.Helper()
	q, args := `UPDATE sensing_alarms SET case_pending = 1`, []any{}
	if len(alarm) == 1 {
		q, args = q+` WHERE id = $1`, []any{alarm[0]}
	}
	if err := f.d.InTx(context.Background(), func(tx *db.Tx) error {
		_, err := tx.Exec(context.Background(), q, args...)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := f.d.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func sp(s string) *string   { return &s }
func ip(i int) *int         { return &i }
func i64(i int64) *int64    { return &i }
func fp(v float64) *float64 { return &v }
func vals(kv ...any) map[string]float64 {
	m := map[string]float64{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1].(float64)
	}
	return m
}

// person adds a resident of grid A1 to the registry and returns their id.
func (f *fixture) person(t *testing.T) int64 {
	t.Helper()
	reg := registry.NewStore(registry.Deps{DB: f.d, Regions: f.Regions})
	first := "330303" + "19400101" + "124"
	p, err := reg.AddPerson(context.Background(), account.SystemScope(), audit.Actor{Name: "test"}, registry.PersonInput{
		IDNumber: first + string(idcode.ResidentCheck(first)), Name: "张阿婆", Sex: "F", BirthDate: "1940-01-01", Status: "resident", GridCode: gridA1})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}
