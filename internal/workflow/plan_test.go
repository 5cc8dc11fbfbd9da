package workflow_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
	"whistle/internal/feed"
	"whistle/internal/workflow"
)

// fields are inputs that say which are present.
type fields map[string]int

func (f fields) Value(n string) (int, bool) { v, ok := f[n]; return v, ok }
func (f fields) Has(n string) bool          { _, ok := f[n]; return ok }

// TestPlan runs the kernel's transition check on the test-only ticket
// kind, one case per outcome, in the order that tells a caller no more
// than they may know.
func TestPlan(t *testing.T) {
	d := ticketDef(t)
	tk := &ticket{owner: 1, asker: 2}
	agent := person{id: 1, roles: []string{"agent"}, tk: tk}
	asker := person{id: 2, tk: tk}
	lead := person{id: 3, roles: []string{"lead"}, tk: tk}
	sys := person{system: true, tk: tk}
	for _, c := range []struct {
		name, action, state, prev string
		who                       person
		in                        fields
		code                      errs.Code
		field, next, by           string
	}{
		{name: "unknown action", action: "dance", state: "open", who: agent, code: errs.Invalid, field: "action"},
		{name: "not from this state", action: "answer", state: "open", who: agent, code: errs.Conflict},
		{name: "not allowed", action: "take", state: "open", who: asker, code: errs.Forbidden},
		{name: "allowed by role", action: "take", state: "open", who: agent, next: "taken", by: "agent"},
		{name: "allowed by relation, field missing", action: "answer", state: "taken", who: agent, code: errs.Invalid, field: "text"},
		{name: "allowed by relation", action: "answer", state: "taken", who: agent, in: fields{"text": 1}, next: "answered", by: "owner"},
		{name: "guard picks the reopening", action: "rate", state: "answered", who: asker, in: fields{"score": 1}, next: "taken", by: "requester"},
		{name: "guard falls through", action: "rate", state: "answered", who: asker, in: fields{"score": 5}, next: "closed", by: "requester"},
		{name: "guarded field missing", action: "rate", state: "answered", who: asker, code: errs.Invalid, field: "score"},
		{name: "system relation", action: "close", state: "answered", who: sys, next: "closed", by: "system"},
		{name: "resume", action: "release", state: "on_hold", prev: "taken", who: lead, next: "taken", by: "lead"},
		{name: "resume without prev", action: "release", state: "on_hold", who: lead, next: "open", by: "lead"},
		{name: "stays", action: "note", state: "closed", who: lead, in: fields{"text": 1}, next: "closed", by: "lead"},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			if in == nil {
				in = fields{}
			}
			p, err := d.Plan(c.action, c.state, c.prev, tk, in, c.who)
			if c.code != "" {
				e, ok := errs.As(err)
				if !ok || e.Code != c.code {
					t.Fatalf("got %v, want %s", err, c.code)
				}
				if c.field != "" && e.Fields[c.field].Key == "" {
					t.Errorf("got fields %v, want %s named", e.Fields, c.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Next != c.next || p.By != c.by {
				t.Errorf("got %s by %s, want %s by %s", p.Next, p.By, c.next, c.by)
			}
		})
	}
}

// TestRecordStep writes a ticket's steps with the kernel's recorder: the
// timeline reads back in order, a person's step is audited and a system
// step is not, and every step is on the feed with its subject.
func TestRecordStep(t *testing.T) {
	dbtest.Each(t, clock.NewFake(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		steps := []workflow.StepRecord{
			{Kind: "ticket", SubjectID: 7, Ref: "ticket:7", District: "330303", Action: "take", From: "open", To: "taken", Role: "agent",
				Actor: audit.Actor{UserID: 1, Name: "agent-1"}, UserID: 1, Data: map[string]any{"k": "v"}},
			{Kind: "ticket", SubjectID: 7, Ref: "ticket:7", District: "330303", Action: "close", From: "taken", To: "closed", System: true,
				Private: map[string]any{"notify": []int{2}}},
			{Kind: "ticket", SubjectID: 8, Ref: "ticket:8", Action: "take", From: "open", To: "taken", Actor: audit.Actor{Name: "agent-2"}},
		}
		for _, s := range steps {
			if err := d.InTx(ctx, func(tx *db.Tx) error { _, err := workflow.RecordStep(ctx, tx, s); return err }); err != nil {
				t.Fatal(err)
			}
		}
		tl, err := workflow.Steps(ctx, d, "ticket", 7)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, s := range tl {
			got = append(got, s.Action+"/"+s.ActorName+"/"+s.From+">"+s.To)
		}
		if want := []string{"take/agent-1/open>taken", "close/system/taken>closed"}; !slices.Equal(got, want) {
			t.Errorf("timeline %v, want %v", got, want)
		}
		if tl[0].Data["k"] != "v" {
			t.Errorf("data %v", tl[0].Data)
		}
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE target = 'ticket:7'`).Scan(&n); err != nil || n != 1 {
			t.Errorf("%d audit entries for ticket 7 (%v), want the person's one", n, err)
		}
		if _, err := feed.Sequence(ctx, d, 0); err != nil {
			t.Fatal(err)
		}
		evs, err := feed.Read(ctx, d, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for _, e := range evs {
			if e.SubjectKind == "ticket" {
				kinds = append(kinds, e.Kind+"@"+e.District)
			}
		}
		if want := []string{"take@330303", "close@330303", "take@"}; !slices.Equal(kinds, want) {
			t.Errorf("feed %v, want %v", kinds, want)
		}
	})
}
