package dispute_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/dispute"
	"whistle/internal/feed"
	"whistle/internal/idcode"
	"whistle/internal/registry"
	"whistle/internal/timer"
	"whistle/internal/worldtest"
)

// t0 is a Monday morning in Wenzhou.
var t0 = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)

// The grids of worldtest.OneStreet: A1 in community A, B1 in community B.
const (
	gridA1     = "330303001001001"
	communityA = "330303001001"
	gridB1     = "330303001002001"
)

type fixture struct {
	*worldtest.World
	d      *db.DB
	clk    *clock.Fake
	svc    *dispute.Service
	timers *timer.Runner
	reg    *registry.Store
}

// newFixture seeds worldtest.OneStreet with its users and grid-b, a grid
// worker of B1, and the dispute service with its timers.
func newFixture(t *testing.T, d *db.DB, clk *clock.Fake) *fixture {
	t.Helper()
	users := append(worldtest.OneStreetUsers(), worldtest.User{Name: "grid-b", Region: gridB1, Role: account.GridWorker})
	w := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("龙湾区", "永中街道"), Departments: worldtest.Departments("CG", "ZJ"), Users: users, Phone: "13912345678"})
	reg := registry.NewStore(registry.Deps{DB: d, Regions: w.Regions})
	svc, err := dispute.NewService(context.Background(), dispute.Deps{DB: d, Regions: w.Regions, Accounts: w.Accounts, Workflows: w.Cases.WorkflowStore(),
		Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	r := timer.NewRunner(d, timer.Config{})
	svc.RegisterTimers(r)
	return &fixture{World: w, d: d, clk: clk, svc: svc, timers: r, reg: reg}
}

func (f *fixture) as(name string) dispute.Caller {
	if name == "system" {
		return dispute.System()
	}
	u, ok := f.Users[name]
	if !ok {
		panic("no user " + name)
	}
	return dispute.Caller{User: u, IP: "127.0.0.1"}
}

// fire moves the clock by d and fires every timer due.
func (f *fixture) fire(t *testing.T, d time.Duration) int {
	t.Helper()
	f.clk.Advance(d)
	n, err := f.timers.RunDue(context.Background())
	if err != nil {
		t.Fatalf("RunDue: %v", err)
	}
	return n
}

// idNumber is a valid resident identity number born on ymd.
func idNumber(ymd, seq string) string {
	first := "330303" + ymd + seq
	return first + string(idcode.ResidentCheck(first))
}

func newDispute() dispute.NewDispute {
	return dispute.NewDispute{Region: gridA1, Type: "neighbour", Title: "楼上漏水纠纷", Description: "楼上卫生间漏水，双方对维修费用有争议。",
		Parties: []dispute.NewParty{
			{Role: "applicant", Name: "张三", IDNumber: idNumber("19800101", "123"), Phone: "13800001111"},
			{Role: "respondent", Name: "李四", IDNumber: idNumber("19750505", "456"), Phone: "13900002222"}}}
}

func (f *fixture) create(t *testing.T, who string) *dispute.Dispute {
	t.Helper()
	d, err := f.svc.CreateDispute(context.Background(), f.as(who), newDispute())
	if err != nil {
		t.Fatalf("create by %s: %v", who, err)
	}
	return d
}

func (f *fixture) act(t *testing.T, who string, id int64, action string, in dispute.Input) *dispute.Dispute {
	t.Helper()
	d, err := f.svc.ActDispute(context.Background(), f.as(who), id, action, in)
	if err != nil {
		t.Fatalf("%s by %s: %v", action, who, err)
	}
	return d
}

func (f *fixture) status(t *testing.T, id int64) string {
	t.Helper()
	d, err := f.svc.GetDispute(context.Background(), f.as("admin"), id, false)
	if err != nil {
		t.Fatal(err)
	}
	return d.Status
}

// events returns the feed's events of kind, sequenced.
func (f *fixture) events(t *testing.T, kind string) []feed.Event {
	t.Helper()
	ctx := context.Background()
	if _, err := feed.Sequence(ctx, f.d, 0); err != nil {
		t.Fatal(err)
	}
	evs, err := feed.Read(ctx, f.d, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var out []feed.Event
	for _, e := range evs {
		if e.SubjectKind == kind {
			out = append(out, e)
		}
	}
	return out
}

func actions(evs []feed.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

func payload(t *testing.T, e feed.Event) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Payload, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func strp(s string) *string { return &s }
func boolp(b bool) *bool    { return &b }
func timep(t time.Time) *time.Time {
	return &t
}
