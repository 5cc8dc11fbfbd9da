package sensing_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/indicator"
	"whistle/internal/worldtest"
)

// readState feeds a parking sensor's state.
func (f *fixture) readState(t *testing.T, id int64, st string) {
	t.Helper()
	src := f.sources[id]
	if src == nil {
		src = f.source(id, "parking_sensor")
	}
	f.readText(t, src, map[string]string{"state": st})
}

// TestParkingLadder: a no-parking space occupied for 8 minutes sends a
// warning through the outbound channel; still occupied at 15 minutes it
// opens an enforcement case (城管) with the dwell. A car that leaves at 5
// minutes sets off nothing; an ordinary space never does.
func TestParkingLadder(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		f.readState(t, 1, "occupied") // no-parking space 1001
		f.readState(t, 2, "occupied") // no-parking space 1002, leaves at 5 min
		ok := f.source(3, "parking_sensor")
		ok.NoParking = false
		f.readState(t, 3, "occupied")
		f.fire(t, 5*time.Minute)
		f.readState(t, 2, "vacant")
		f.fire(t, 2*time.Minute+59*time.Second)
		if got := f.count(t, `SELECT COUNT(*) FROM sensing_outbox WHERE space_id <> 0`); got != 0 {
			t.Fatalf("warnings at 7:59: got %d, want 0", got)
		}
		f.fire(t, time.Second)
		if got := f.count(t, `SELECT COUNT(*) FROM sensing_outbox WHERE space_id = 1001`); got != 1 {
			t.Fatalf("warnings at 8:00 for space 1001: got %d, want 1", got)
		}
		if got := f.count(t, `SELECT COUNT(*) FROM sensing_outbox WHERE space_id <> 1001`); got != 0 {
			t.Errorf("warnings for the other spaces: got %d, want 0", got)
		}
		f.fire(t, 6*time.Minute+59*time.Second)
		if got := f.count(t, `SELECT COUNT(*) FROM cases`); got != 0 {
			t.Fatalf("cases at 14:59: got %d, want 0", got)
		}
		f.fire(t, time.Second)
		stays, err := f.svc.Stays(ctx, 1001)
		if err != nil {
			t.Fatal(err)
		}
		if len(stays) != 1 || stays[0].CaseID == 0 || !stays[0].Warned {
			t.Fatalf("stays of 1001 at 15:00: got %+v, want one warned with a case", stays)
		}
		c, err := f.Cases.Get(ctx, casework.Caller{System: true}, stays[0].CaseID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.CategoryCode, "SJ0505"; got != want {
			t.Errorf("case category: got %s, want %s", got, want)
		}
		if !strings.Contains(c.Description, "15m0s") {
			t.Errorf("case description %q lacks the dwell 15m0s", c.Description)
		}
		if got := f.count(t, `SELECT COUNT(*) FROM cases`); got != 1 {
			t.Errorf("cases: got %d, want 1", got)
		}
		f.fire(t, time.Hour)
		if got := f.count(t, `SELECT COUNT(*) FROM cases`); got != 1 {
			t.Errorf("cases an hour later: got %d, want 1", got)
		}
		f.readState(t, 1, "vacant")
		f.readState(t, 3, "vacant")
		// The indicators of the street for the day: 3 stays on 3 spaces,
		// one a violation (occupied on a no-parking space for 8 min or more).
		reg := indicator.New()
		if err := f.svc.RegisterIndicators(reg); err != nil {
			t.Fatal(err)
		}
		day := indicator.Period{From: t0.Add(-2 * time.Hour), To: t0.Add(22 * time.Hour)}
		facts, err := f.svc.Facts(ctx, []indicator.Subject{{Kind: "region", Code: "330303001"}}, day)
		if err != nil {
			t.Fatal(err)
		}
		got := facts[indicator.Subject{Kind: "region", Code: "330303001"}]
		if got["stays"] != 3 || got["violations"] != 1 || got["space_days"] != 3 {
			t.Errorf("facts: got %v, want 3 stays, 1 violation, 3 space-days", got)
		}
	})
}
