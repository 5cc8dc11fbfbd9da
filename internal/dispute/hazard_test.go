package dispute_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/dispute"
	"whistle/internal/errs"
	"whistle/internal/worldtest"
)

func newHazard() dispute.NewHazard {
	return dispute.NewHazard{Region: gridA1, Type: "fire", Title: "消防通道堆放杂物", Place: "万顺路 1 号楼下", PatrolID: 7}
}

func (f *fixture) hazardAct(t *testing.T, who string, id int64, action string, in dispute.Input) *dispute.Hazard {
	t.Helper()
	h, err := f.svc.ActHazard(context.Background(), f.as(who), id, action, in)
	if err != nil {
		t.Fatalf("%s by %s: %v", action, who, err)
	}
	return h
}

func (f *fixture) hazard(t *testing.T, id int64) *dispute.Hazard {
	t.Helper()
	h, err := f.svc.GetHazard(context.Background(), f.as("admin"), id)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestHazardEscalates: a hazard ordered rectified in 3 days is escalated
// to its community when the deadline passes (the timer's system step), not
// before, and that community's staff are named on the feed event; the
// recheck fails and sends it back with a new deadline, which escalates it
// to the street, and then a passed recheck closes it with no timer left.
func TestHazardEscalates(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		h, err := f.svc.CreateHazard(ctx, f.as("grid-a"), newHazard())
		if err != nil {
			t.Fatal(err)
		}
		if h.Source != "patrol" || h.PatrolID != 7 || h.Status != "registered" {
			t.Fatalf("created %+v, want found on patrol 7, registered", h)
		}
		h = f.hazardAct(t, "grid-a", h.ID, "order", dispute.Input{Deadline: timep(clk.Now().Add(3 * 24 * time.Hour)), Note: "限三日内清理"})
		if h.Status != "rectifying" || h.DeadlineAt == nil {
			t.Fatalf("ordered: %q deadline %v", h.Status, h.DeadlineAt)
		}
		f.fire(t, 3*24*time.Hour-time.Minute)
		if got := f.hazard(t, h.ID); got.Escalations != 0 {
			t.Fatalf("before the deadline: %d escalations", got.Escalations)
		}
		f.fire(t, 2*time.Minute)
		got := f.hazard(t, h.ID)
		if got.Escalations != 1 || got.EscalatedTo != communityA || got.Status != "rectifying" {
			t.Fatalf("after the deadline: %d escalations to %q, %q; want 1 to %s, rectifying", got.Escalations, got.EscalatedTo, got.Status, communityA)
		}
		evs := f.events(t, dispute.KindHazard)
		last := evs[len(evs)-1]
		if last.Kind != "escalate" {
			t.Fatalf("last event %s, want escalate", last.Kind)
		}
		priv, _ := payload(t, last)["private"].(map[string]any)
		notify, _ := priv["notify"].([]any)
		if len(notify) != 1 || int64(notify[0].(float64)) != f.Users["staff-a"].ID {
			t.Errorf("escalation notifies %v, want staff-a (%d)", notify, f.Users["staff-a"].ID)
		}
		h = f.hazardAct(t, "grid-a", h.ID, "rectified", dispute.Input{Note: "已清理"})
		if _, err := f.svc.ActHazard(ctx, f.as("grid-a"), h.ID, "recheck", dispute.Input{Passed: boolp(false), Note: "仍有堆放"}); fieldKey(err, "deadline") != "field.required" {
			t.Errorf("failed recheck without a deadline: %v, want deadline required", err)
		}
		h = f.hazardAct(t, "staff-a", h.ID, "recheck", dispute.Input{Passed: boolp(false), Note: "仍有堆放", Deadline: timep(clk.Now().Add(24 * time.Hour))})
		if h.Status != "rectifying" || h.Rechecks != 1 {
			t.Fatalf("failed recheck: %q, %d rechecks; want rectifying, 1", h.Status, h.Rechecks)
		}
		f.fire(t, 25*time.Hour)
		if got := f.hazard(t, h.ID); got.Escalations != 2 || got.EscalatedTo != "330303001" {
			t.Fatalf("second deadline: %d escalations to %q, want 2 to the street", got.Escalations, got.EscalatedTo)
		}
		h = f.hazardAct(t, "grid-a", h.ID, "rectified", dispute.Input{Note: "已清理完毕"})
		h = f.hazardAct(t, "staff-a", h.ID, "recheck", dispute.Input{Passed: boolp(true)})
		if h.Status != "closed" || h.ClosedAt == nil {
			t.Fatalf("passed recheck: %q", h.Status)
		}
		if n := f.fire(t, 30*24*time.Hour); n != 0 {
			t.Errorf("%d timers fired on a closed hazard", n)
		}
		tl, err := f.svc.HazardTimeline(ctx, f.as("staff-a"), h.ID)
		if err != nil {
			t.Fatal(err)
		}
		var steps []string
		for _, s := range tl {
			steps = append(steps, s.Action)
		}
		if want := []string{"register", "order", "escalate", "rectified", "recheck", "escalate", "rectified", "recheck"}; !slices.Equal(steps, want) {
			t.Errorf("timeline %v, want %v", steps, want)
		}
	})
}

// TestHazardRectifiedInTime: a hazard rectified before its deadline is
// never escalated.
func TestHazardRectifiedInTime(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		h, err := f.svc.CreateHazard(ctx, f.as("grid-a"), dispute.NewHazard{Region: gridA1, Type: "gas", Title: "燃气管老化"})
		if err != nil {
			t.Fatal(err)
		}
		if h.Source != "direct" {
			t.Errorf("source %q, want direct", h.Source)
		}
		f.hazardAct(t, "grid-a", h.ID, "order", dispute.Input{Deadline: timep(clk.Now().Add(24 * time.Hour))})
		f.fire(t, time.Hour)
		f.hazardAct(t, "grid-a", h.ID, "rectified", dispute.Input{Note: "已更换"})
		f.fire(t, 48*time.Hour)
		if got := f.hazard(t, h.ID); got.Escalations != 0 || got.Status != "rechecking" {
			t.Errorf("%d escalations, %q; want none, rechecking", got.Escalations, got.Status)
		}
	})
}

// TestHazardScopeAndInput: out of scope is NotFound, the system step is
// nobody's to take, and bad fields are named.
func TestHazardScopeAndInput(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		h, err := f.svc.CreateHazard(ctx, f.as("grid-a"), newHazard())
		if err != nil {
			t.Fatal(err)
		}
		for _, who := range []string{"grid-b", "staff-b", "resident"} {
			if _, err := f.svc.GetHazard(ctx, f.as(who), h.ID); !errs.Is(err, errs.NotFound) {
				t.Errorf("%s: %v, want NotFound", who, err)
			}
		}
		f.hazardAct(t, "grid-a", h.ID, "order", dispute.Input{Deadline: timep(clk.Now().Add(24 * time.Hour))})
		if _, err := f.svc.ActHazard(ctx, f.as("admin"), h.ID, "escalate", dispute.Input{}); !errs.Is(err, errs.Forbidden) {
			t.Errorf("a person escalating: %v, want Forbidden", err)
		}
		for _, c := range []struct {
			name, field, key string
			edit             func(*dispute.NewHazard)
		}{
			{"no type", "type", "field.required", func(n *dispute.NewHazard) { n.Type = "" }},
			{"unknown type", "type", "hazard.err.type", func(n *dispute.NewHazard) { n.Type = "ghost" }},
			{"no title", "title", "field.required", func(n *dispute.NewHazard) { n.Title = "" }},
			{"two sources", "patrol_id", "hazard.err.one_source", func(n *dispute.NewHazard) { n.VisitID = 3 }},
			{"two places", "house_id", "hazard.err.one_place", func(n *dispute.NewHazard) { n.OrgID, n.HouseID = 3, 3 }},
			{"negative id", "org_id", "dispute.err.bad_id", func(n *dispute.NewHazard) { n.OrgID = -1 }},
			{"out of scope", "region", "dispute.err.region_unknown", func(n *dispute.NewHazard) { n.Region = gridB1 }},
		} {
			t.Run(c.name, func(t *testing.T) {
				nh := newHazard()
				c.edit(&nh)
				_, err := f.svc.CreateHazard(ctx, f.as("grid-a"), nh)
				if got := fieldKey(err, c.field); got != c.key {
					t.Errorf("field %s: %q, want %q (%v)", c.field, got, c.key, err)
				}
			})
		}
		h2, err := f.svc.CreateHazard(ctx, f.as("grid-a"), newHazard())
		if err != nil {
			t.Fatal(err)
		}
		for _, dl := range []time.Time{clk.Now().Add(-time.Hour), clk.Now().Add(400 * 24 * time.Hour)} {
			if _, err := f.svc.ActHazard(ctx, f.as("grid-a"), h2.ID, "order", dispute.Input{Deadline: &dl}); fieldKey(err, "deadline") != "dispute.err.deadline" {
				t.Errorf("deadline %v: %v, want dispute.err.deadline", dl, err)
			}
		}
	})
}

// TestHazardWithDeadline: a hazard registered with a rectification
// deadline starts rectifying with that deadline, in one transaction: a
// deadline in the past is refused on its field, and a leader (who may
// register but not order) is refused, both writing nothing.
func TestHazardWithDeadline(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		count := func() int {
			_, n, err := f.svc.ListHazards(ctx, f.as("admin"), dispute.Filter{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		nh := newHazard()
		nh.Deadline = timep(clk.Now().Add(-time.Hour))
		if _, err := f.svc.CreateHazard(ctx, f.as("grid-a"), nh); fieldKey(err, "deadline") != "dispute.err.deadline" {
			t.Errorf("a past deadline: %v, want the deadline refused", err)
		}
		nh.Deadline = timep(clk.Now().Add(48 * time.Hour))
		if _, err := f.svc.CreateHazard(ctx, f.as("leader"), nh); err == nil {
			t.Error("a leader ordered a rectification, want refused")
		}
		if n := count(); n != 0 {
			t.Fatalf("%d hazards after two refusals, want 0", n)
		}
		h, err := f.svc.CreateHazard(ctx, f.as("grid-a"), nh)
		if err != nil {
			t.Fatal(err)
		}
		if h.Status != "rectifying" || h.DeadlineAt == nil || !h.DeadlineAt.Equal(*nh.Deadline) {
			t.Errorf("registered with a deadline: %q, deadline %v; want rectifying by %v", h.Status, h.DeadlineAt, nh.Deadline)
		}
		f.fire(t, 49*time.Hour)
		if got := f.hazard(t, h.ID); got.Escalations != 1 {
			t.Errorf("past the deadline: %d escalations, want 1", got.Escalations)
		}
	})
}
