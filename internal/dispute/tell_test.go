package dispute_test

import (
	"context"
	"testing"
	"time"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/dispute"
	"whistle/internal/feed"
	"whistle/internal/notify"
	"whistle/internal/worldtest"
)

// noCases is the case side of the notifier: these tests have no cases.
type noCases struct{}

func (noCases) Notices(_ context.Context, _ *db.Tx, evs []feed.Event) ([]*casework.Notice, []error, error) {
	return make([]*casework.Notice, len(evs)), make([]error, len(evs)), nil
}

// consume runs the notify consumer, as wired in cmd/whistle, over the
// feed's events of both kinds.
func (f *fixture) consume(t *testing.T) {
	t.Helper()
	n := notify.NewNotifier(noCases{}, nil).WithSubjects(dispute.KindDispute, f.svc).WithSubjects(dispute.KindHazard, f.svc)
	evs := append(f.events(t, dispute.KindDispute), f.events(t, dispute.KindHazard)...)
	if err := f.d.InTx(context.Background(), func(tx *db.Tx) error { return n.Consumer().HandleTx(context.Background(), tx, evs) }); err != nil {
		t.Fatal(err)
	}
}

// inbox is the message keys in user's inbox.
func (f *fixture) inbox(t *testing.T, user string) map[string]notify.Message {
	t.Helper()
	msgs, _, err := notify.Inbox(context.Background(), f.d, f.Users[user].ID, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]notify.Message{}
	for _, m := range msgs {
		out[m.Key] = m
	}
	return out
}

// TestTellsThroughInbox: the notify consumer tells the people concerned
// through the cases' inbox: the community staff an overdue hazard's
// escalation names, the mediator when a dispute is accepted and when its
// 30-day return visit falls due; nobody else.
func TestTellsThroughInbox(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		h, err := f.svc.CreateHazard(ctx, f.as("grid-a"), newHazard())
		if err != nil {
			t.Fatal(err)
		}
		f.hazardAct(t, "grid-a", h.ID, "order", dispute.Input{Deadline: timep(clk.Now().Add(24 * time.Hour))})
		dp := f.create(t, "grid-a")
		dp = f.act(t, "grid-a", dp.ID, "accept", dispute.Input{Version: dp.Version})
		f.act(t, "grid-a", dp.ID, "session", dispute.Input{Participants: "张三、李四", Notes: "双方同意各担一半。"})
		f.act(t, "grid-a", dp.ID, "agree", dispute.Input{Agreement: "一、李四承担维修费用的一半。"})
		f.fire(t, 31*24*time.Hour) // the hazard's deadline and the return visit
		f.consume(t)

		staff := f.inbox(t, "staff-a")
		m, ok := staff["dispute2.msg.escalated"]
		if !ok {
			t.Fatalf("staff-a's inbox %v, want the hazard's escalation", staff)
		}
		if m.Kind != dispute.KindHazard || m.CaseID != 0 || !m.Urgent || len(m.Args) != 2 || m.Args[0] != newHazard().Title {
			t.Errorf("escalation entry %+v, want an urgent hazard entry naming %q", m, newHazard().Title)
		}
		// The entry names its hazard, for the inbox to link to its page.
		if m.SubjectKind != dispute.KindHazard || m.SubjectID != h.ID {
			t.Errorf("escalation entry's subject: %s %d, want hazard %d", m.SubjectKind, m.SubjectID, h.ID)
		}
		grid := f.inbox(t, "grid-a")
		for _, key := range []string{"dispute2.msg.assigned", "dispute2.msg.revisit_due"} {
			if m, ok := grid[key]; !ok || m.Kind != dispute.KindDispute || len(m.Args) != 1 || m.Args[0] != dp.Title {
				t.Errorf("the mediator's inbox has %s: %+v (%v), want an entry naming %q", key, m, ok, dp.Title)
			} else if m.SubjectKind != dispute.KindDispute || m.SubjectID != dp.ID {
				t.Errorf("%s's subject: %s %d, want dispute %d", key, m.SubjectKind, m.SubjectID, dp.ID)
			}
		}
		if _, ok := grid["dispute2.msg.escalated"]; ok {
			t.Error("the grid worker was told of the escalation to the community")
		}
		if got := len(staff); got != 1 {
			t.Errorf("staff-a has %d entries, want 1 (the escalation)", got)
		}
	})
}
