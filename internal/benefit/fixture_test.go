package benefit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/benefit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/idcode"
	"whistle/internal/registry"
	"whistle/internal/timer"
	"whistle/internal/worldtest"
)

// t0 is a Monday morning in Wenzhou.
var t0 = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)

// The grids of worldtest.OneStreet: A1 in community A, B1 in community B.
const (
	gridA1 = "330303001001001"
	gridB1 = "330303001002001"
)

// engine is a policy engine with fixed answers per subject: the tests
// choose what eligibility says.
type engine struct {
	mu  sync.Mutex
	ans map[benefit.Subject][]benefit.Match
}

func (e *engine) Evaluate(_ context.Context, _ account.Scope, s benefit.Subject, _ time.Time) ([]benefit.Match, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]benefit.Match(nil), e.ans[s]...), nil
}

func (e *engine) set(s benefit.Subject, ms ...benefit.Match) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ans[s] = ms
}

type fixture struct {
	*worldtest.World
	d      *db.DB
	clk    *clock.Fake
	svc    *benefit.Service
	eng    *engine
	timers *timer.Runner
	reg    *registry.Store
	// old is 王大爷 of grid A1, the resident user's own person.
	old benefit.Subject
	// firm is an organisation of grid A1.
	firm benefit.Subject
}

func amount(x float64) *float64 { return &x }

// oldAge is 高龄津贴 as the engine answers for 王大爷: eligible, 100 yuan,
// paid by the civil affairs department (ZJ here).
func oldAge() benefit.Match {
	return benefit.Match{Policy: "gaoling", Version: 1, Title: benefit.Text{ZH: "高龄津贴", EN: "Old-age allowance"}, Result: benefit.Eligible,
		Amount: amount(100), Department: "ZJ", Documents: []benefit.Text{{ZH: "身份证", EN: "Identity card"}},
		Conditions: []benefit.Condition{{ID: "age", Result: "pass", Values: map[string]any{"age": 82}, Text: benefit.Text{ZH: "年满80周岁", EN: "Aged 80 or over"},
			Source: "浙民福〔2019〕1号 第二条"}}}
}

// newFixture seeds worldtest.OneStreet, 王大爷 in A1 (the resident user's
// identity number), a firm in A1, and the service with its timers.
func newFixture(t *testing.T, d *db.DB, clk *clock.Fake) *fixture {
	t.Helper()
	ctx := context.Background()
	users := append(worldtest.OneStreetUsers(), worldtest.User{Name: "resident-b", Region: "330303001002", Role: account.Resident})
	w := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("龙湾区", "永中街道"), Departments: worldtest.Departments("CG", "ZJ"), Users: users})
	reg := registry.NewStore(registry.Deps{DB: d, Regions: w.Regions})
	eng := &engine{ans: map[benefit.Subject][]benefit.Match{}}
	svc, err := benefit.NewService(ctx, benefit.Deps{DB: d, Regions: w.Regions, Accounts: w.Accounts, Workflows: w.Cases.WorkflowStore(), Registry: reg,
		Policies: eng})
	if err != nil {
		t.Fatal(err)
	}
	r := timer.NewRunner(d, timer.Config{})
	svc.RegisterTimers(r)
	first := "330303" + "19440101" + "123"
	id := first + string(idcode.ResidentCheck(first))
	p, err := reg.AddPerson(ctx, account.SystemScope(), worldtest.Actor(), registry.PersonInput{IDNumber: id, Name: "王大爷", Status: registry.StatusResident,
		GridCode: gridA1})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE users SET id_number = $1 WHERE username = $2`, id, "resident")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	w.Users["resident"].IDNumber = id
	first17 := "91330303MA2AB0CD1"
	o, err := reg.AddOrganisation(ctx, account.SystemScope(), worldtest.Actor(), registry.OrganisationInput{CreditCode: first17 + string(idcode.CreditCheck(first17)),
		Name: "温州某某科技有限公司", Address: "永中街道一路1号", GridCode: gridA1})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{World: w, d: d, clk: clk, svc: svc, eng: eng, timers: r, reg: reg, old: benefit.Subject{Kind: benefit.Person, ID: p.ID},
		firm: benefit.Subject{Kind: benefit.Organisation, ID: o.ID}}
	eng.set(f.old, oldAge())
	return f
}

func (f *fixture) as(name string) benefit.Caller {
	if name == "system" {
		return benefit.System()
	}
	u, ok := f.Users[name]
	if !ok {
		panic("no user " + name)
	}
	return benefit.CallerOf(u, "127.0.0.1")
}

// fire moves the clock by d and fires every timer due.
func (f *fixture) fire(t *testing.T, d time.Duration) {
	t.Helper()
	f.clk.Advance(d)
	if _, err := f.timers.RunDue(context.Background()); err != nil {
		t.Fatalf("RunDue: %v", err)
	}
}

func (f *fixture) apply(t *testing.T, who string, in benefit.NewApplication) *benefit.Application {
	t.Helper()
	a, err := f.svc.Apply(context.Background(), f.as(who), in)
	if err != nil {
		t.Fatalf("apply by %s: %v", who, err)
	}
	return a
}

func (f *fixture) act(t *testing.T, who string, id int64, action string, in benefit.Input) *benefit.Application {
	t.Helper()
	a, err := f.svc.Act(context.Background(), f.as(who), id, action, in)
	if err != nil {
		t.Fatalf("%s by %s: %v", action, who, err)
	}
	return a
}

func (f *fixture) get(t *testing.T, id int64) *benefit.Application {
	t.Helper()
	a, err := f.svc.Get(context.Background(), f.as("admin"), id, false)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func reason(err error) string {
	if e, ok := errs.As(err); ok {
		return e.Reason
	}
	return ""
}
