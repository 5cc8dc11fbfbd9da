package dispute_test

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/dispute"
	"whistle/internal/errs"
	"whistle/internal/indicator"
	"whistle/internal/timer"
	"whistle/internal/worldtest"
)

// TestDefinitionsValid holds the shipped files to their vocabularies.
func TestDefinitionsValid(t *testing.T) {
	defs, err := dispute.Definitions()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{dispute.KindDispute, dispute.KindHazard} {
		if defs[name] == nil {
			t.Errorf("no %s workflow", name)
		}
	}
}

// TestDisputeToAgreement runs a dispute through two mediation sessions to
// an agreement; the return visit's timer fires 30 days later (not before),
// and the return visit closes it. The indicators count it.
func TestDisputeToAgreement(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		dp := f.create(t, "grid-a")
		if got, want := dp.Status, "registered"; got != want {
			t.Fatalf("status %q, want %q", got, want)
		}
		if got, want := dp.District, "330303"; got != want {
			t.Errorf("district %q, want %q", got, want)
		}
		if dp.StageDueAt == nil || dp.SLAState != "normal" {
			t.Errorf("registered: stage due %v, sla %q; want the accept stage's limit", dp.StageDueAt, dp.SLAState)
		}
		for _, p := range dp.Parties {
			if !strings.Contains(p.IDNumber, "****") || !strings.Contains(p.Phone, "****") {
				t.Errorf("party %s shown as %q %q, want masked", p.Name, p.IDNumber, p.Phone)
			}
		}
		dp = f.act(t, "grid-a", dp.ID, "accept", dispute.Input{Version: dp.Version})
		if got, want := dp.MediatorID, f.Users["grid-a"].ID; got != want {
			t.Errorf("mediator %d, want %d", got, want)
		}
		dp = f.act(t, "grid-a", dp.ID, "session", dispute.Input{Participants: "张三、李四、调解员王五", Notes: "双方陈述各自意见，约定三日后再调。"})
		dp = f.act(t, "grid-a", dp.ID, "session", dispute.Input{Participants: "张三、李四", Notes: "李四同意承担维修费用的一半。", HeldAt: timep(t0.Add(time.Hour))})
		if got, want := len(dp.Sessions), 2; got != want {
			t.Fatalf("sessions %d, want %d", got, want)
		}
		if dp.Sessions[0].StepID == 0 || dp.Sessions[1].HeldAt.Sub(t0) != time.Hour {
			t.Errorf("sessions %+v: want each keyed to its step, the second held at t0+1h", dp.Sessions)
		}
		agreement := "一、李四承担维修费用的一半，计人民币贰仟元；\n二、双方就此纠纷再无争议。"
		dp = f.act(t, "grid-a", dp.ID, "agree", dispute.Input{Agreement: agreement})
		if got, want := dp.Status, "agreed"; got != want {
			t.Fatalf("status %q, want %q", got, want)
		}
		if dp.Agreement != agreement || dp.AgreedAt == nil {
			t.Errorf("agreement %q at %v", dp.Agreement, dp.AgreedAt)
		}
		tx := timerPending(t, d, "dispute.revisit", dp.ID)
		if got, want := tx.Due, clk.Now().Add(30*24*time.Hour).UTC().Truncate(time.Microsecond); !got.Equal(want) {
			t.Errorf("return visit due %v, want %v", got, want)
		}
		f.fire(t, 29*24*time.Hour)
		if got, want := f.status(t, dp.ID), "agreed"; got != want {
			t.Fatalf("after 29 days: status %q, want %q", got, want)
		}
		f.fire(t, 24*time.Hour+time.Minute)
		if got, want := f.status(t, dp.ID), "revisit"; got != want {
			t.Fatalf("after 30 days: status %q, want %q (the return visit's timer fired)", got, want)
		}
		tl, err := f.svc.DisputeTimeline(ctx, f.as("grid-a"), dp.ID)
		if err != nil {
			t.Fatal(err)
		}
		var steps []string
		for _, s := range tl {
			steps = append(steps, s.Action+"/"+s.ActorName)
		}
		if got, want := strings.Join(steps, " "), "register/grid-a accept/grid-a session/grid-a session/grid-a agree/grid-a revisit_due/system"; got != want {
			t.Errorf("timeline %s\nwant     %s", got, want)
		}
		dp = f.act(t, "grid-a", dp.ID, "revisit", dispute.Input{Result: "kept", Note: "已按协议支付维修费。"})
		if got, want := dp.Status, "closed"; got != want || dp.ClosedAt == nil {
			t.Fatalf("status %q closed %v, want %q", got, dp.ClosedAt, want)
		}
		if got, want := actions(f.events(t, dispute.KindDispute)), []string{"register", "accept", "session", "session", "agree", "revisit_due", "revisit"}; !slices.Equal(got, want) {
			t.Errorf("feed %v, want %v", got, want)
		}
		for _, e := range f.events(t, dispute.KindDispute) {
			if e.District != "330303" || e.SubjectID != dp.ID {
				t.Errorf("event %s on %d in district %q, want dispute %d in 330303", e.Kind, e.SubjectID, e.District, dp.ID)
			}
		}
		// The indicators of the grid and its community.
		reg := indicator.New()
		if err := f.svc.RegisterIndicators(reg); err != nil {
			t.Fatal(err)
		}
		p := indicator.Period{From: t0.Add(-24 * time.Hour), To: clk.Now().Add(24 * time.Hour)}
		for _, code := range []string{gridA1, communityA} {
			sub := indicator.Subject{Kind: dispute.SubjectRegion, Code: code}
			tab, err := reg.Batch(ctx, []string{"dispute_mediation_success_rate", "disputes_registered_neighbour", "disputes_registered_family"}, []indicator.Subject{sub}, p)
			if err != nil {
				t.Fatal(err)
			}
			if v := tab[sub]["dispute_mediation_success_rate"]; v.Value == nil || *v.Value != 1 || v.Den != 1 {
				t.Errorf("%s success rate %+v, want 1 of 1", code, v)
			}
			if v := tab[sub]["disputes_registered_neighbour"]; v.Num != 1 {
				t.Errorf("%s neighbour disputes %+v, want 1", code, v)
			}
			if v := tab[sub]["disputes_registered_family"]; v.Num != 0 {
				t.Errorf("%s family disputes %+v, want 0", code, v)
			}
		}
		sub := indicator.Subject{Kind: dispute.SubjectRegion, Code: gridB1}
		v, err := reg.Compute(ctx, "dispute_mediation_success_rate", indicator.Query{Subject: sub, Period: p})
		if err != nil {
			t.Fatal(err)
		}
		if v.HasData() {
			t.Errorf("B1's success rate %+v, want no data", v)
		}
	})
}

func timerPending(t *testing.T, d *db.DB, kind string, id int64) timer.Timer {
	t.Helper()
	var got timer.Timer
	err := d.InTx(context.Background(), func(tx *db.Tx) error {
		var err error
		got, err = timer.Pending(context.Background(), tx, timer.Key{Kind: kind, Subject: itoa(id), Name: nameOf(kind)})
		return err
	})
	if err != nil {
		t.Fatalf("timer %s %d: %v", kind, id, err)
	}
	return got
}

func nameOf(kind string) string {
	switch kind {
	case "dispute.revisit":
		return "revisit"
	case "hazard.deadline":
		return "deadline"
	}
	return kind
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestDisputeToFailure: a failed mediation guides the parties to
// litigation; the success rate counts it as concluded without agreement.
func TestDisputeToFailure(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		dp := f.create(t, "staff-a")
		dp = f.act(t, "staff-a", dp.ID, "accept", dispute.Input{})
		dp = f.act(t, "staff-a", dp.ID, "session", dispute.Input{Participants: "张三、李四", Notes: "双方分歧较大。"})
		if _, err := f.svc.ActDispute(ctx, f.as("staff-a"), dp.ID, "refer", dispute.Input{Referral: "litigation"}); !errs.Is(err, errs.Conflict) {
			t.Errorf("refer while mediating: %v, want a conflict", err)
		}
		dp = f.act(t, "staff-a", dp.ID, "fail", dispute.Input{Note: "调解不成"})
		dp = f.act(t, "staff-a", dp.ID, "refer", dispute.Input{Referral: "litigation", Note: "已告知当事人向人民法院起诉。"})
		if got, want := dp.Status, "referred"; got != want || dp.Referral != "litigation" || dp.ClosedAt == nil {
			t.Fatalf("status %q referral %q closed %v, want %q litigation", got, dp.Referral, dp.ClosedAt, want)
		}
		if dp.StageDueAt != nil || dp.SLAState != "none" {
			t.Errorf("ended: stage due %v sla %q, want none", dp.StageDueAt, dp.SLAState)
		}
		// No timer is left to fire on it.
		if n := f.fire(t, 60*24*time.Hour); n != 0 {
			t.Errorf("%d timers fired on an ended dispute", n)
		}
		reg := indicator.New()
		if err := f.svc.RegisterIndicators(reg); err != nil {
			t.Fatal(err)
		}
		sub := indicator.Subject{Kind: dispute.SubjectRegion, Code: gridA1}
		v, err := reg.Compute(ctx, "dispute_mediation_success_rate", indicator.Query{Subject: sub, Period: indicator.Period{From: t0, To: t0.Add(24 * time.Hour)}})
		if err != nil {
			t.Fatal(err)
		}
		if v.Value == nil || *v.Value != 0 || v.Den != 1 {
			t.Errorf("success rate %+v, want 0 of 1", v)
		}
	})
}

// TestDisputeStageBreach: the accept stage's limit (3 working days,
// counted naturally without a calendar) warns at 80 % and then breaches.
func TestDisputeStageBreach(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		dp := f.create(t, "grid-a")
		f.fire(t, 2*24*time.Hour)
		if got := f.sla(t, dp.ID); got != "normal" {
			t.Errorf("after 2 days: %q, want normal", got)
		}
		f.fire(t, 10*time.Hour)
		if got := f.sla(t, dp.ID); got != "warning" {
			t.Errorf("after 58 h: %q, want warning", got)
		}
		f.fire(t, 14*time.Hour)
		if got := f.sla(t, dp.ID); got != "breached" {
			t.Errorf("after 3 days: %q, want breached", got)
		}
		// Accepting it starts the mediation stage afresh.
		dp = f.act(t, "grid-a", dp.ID, "accept", dispute.Input{})
		if dp.SLAState != "normal" || dp.StageDueAt == nil || !dp.StageDueAt.Equal(clk.Now().Add(30*24*time.Hour).UTC().Truncate(time.Microsecond)) {
			t.Errorf("accepted: sla %q due %v, want normal, 30 days on", dp.SLAState, dp.StageDueAt)
		}
	})
}

func (f *fixture) sla(t *testing.T, id int64) string {
	t.Helper()
	d, err := f.svc.GetDispute(context.Background(), f.as("admin"), id, false)
	if err != nil {
		t.Fatal(err)
	}
	return d.SLAState
}

// TestDisputeScope: a dispute is seen and acted on in its grid's subtree
// only; everyone else, residents included, gets NotFound.
func TestDisputeScope(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		dp := f.create(t, "grid-a")
		for _, c := range []struct {
			who  string
			sees bool
		}{{"grid-a", true}, {"staff-a", true}, {"street", true}, {"admin", true}, {"leader", true},
			{"grid-b", false}, {"staff-b", false}, {"resident", false}, {"cg-handler", false}} {
			_, err := f.svc.GetDispute(ctx, f.as(c.who), dp.ID, false)
			if got := err == nil; got != c.sees {
				t.Errorf("%s: get err %v, want seen %v", c.who, err, c.sees)
			}
			if !c.sees && !errs.Is(err, errs.NotFound) {
				t.Errorf("%s: %v, want NotFound", c.who, err)
			}
			list, _, err := f.svc.ListDisputes(ctx, f.as(c.who), dispute.Filter{})
			if err != nil {
				t.Fatal(err)
			}
			if got := len(list) == 1; got != c.sees {
				t.Errorf("%s: list has %d, want seen %v", c.who, len(list), c.sees)
			}
			if !c.sees {
				if _, err := f.svc.ActDispute(ctx, f.as(c.who), dp.ID, "accept", dispute.Input{}); !errs.Is(err, errs.NotFound) {
					t.Errorf("%s: accept %v, want NotFound", c.who, err)
				}
			}
		}
		// Out-of-scope grids are unknown to their creators, and so are
		// nodes above the grid level refused.
		for _, c := range []struct{ who, region, key string }{{"grid-b", gridA1, "dispute.err.region_unknown"},
			{"staff-a", communityA, "dispute.err.region_not_grid"}} {
			nd := newDispute()
			nd.Region = c.region
			_, err := f.svc.CreateDispute(ctx, f.as(c.who), nd)
			if got := fieldKey(err, "region"); got != c.key {
				t.Errorf("%s creating in %s: region %q, want %q (%v)", c.who, c.region, got, c.key, err)
			}
		}
		if _, err := f.svc.CreateDispute(ctx, f.as("resident"), newDispute()); !errs.Is(err, errs.NotFound) {
			t.Errorf("resident creating: %v, want NotFound", err)
		}
		// The mediator relation: the street may act, grid-a is not the
		// mediator of a dispute staff-a accepted, and cannot record a
		// session (grid workers act by relation only).
		f.act(t, "staff-a", dp.ID, "accept", dispute.Input{})
		if _, err := f.svc.ActDispute(ctx, f.as("grid-a"), dp.ID, "session", dispute.Input{Participants: "x", Notes: "y"}); !errs.Is(err, errs.Forbidden) {
			t.Errorf("grid-a, not the mediator: %v, want Forbidden", err)
		}
	})
}

func fieldKey(err error, field string) string {
	e, ok := errs.As(err)
	if !ok {
		return ""
	}
	return e.Fields[field].Key
}

// TestDisputeBadInput names each bad field and writes nothing.
func TestDisputeBadInput(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		cases := []struct {
			name, field, key string
			edit             func(*dispute.NewDispute)
		}{
			{"no region", "region", "field.required", func(n *dispute.NewDispute) { n.Region = "" }},
			{"unknown region", "region", "dispute.err.region_unknown", func(n *dispute.NewDispute) { n.Region = "999" }},
			{"no type", "type", "field.required", func(n *dispute.NewDispute) { n.Type = "" }},
			{"unknown type", "type", "dispute.err.type", func(n *dispute.NewDispute) { n.Type = "war" }},
			{"blank title", "title", "field.required", func(n *dispute.NewDispute) { n.Title = "  " }},
			{"long title", "title", "field.too_long", func(n *dispute.NewDispute) { n.Title = strings.Repeat("纠", 101) }},
			{"no parties", "parties", "field.required", func(n *dispute.NewDispute) { n.Parties = nil }},
			{"party role", "parties.1.role", "dispute.err.party_role", func(n *dispute.NewDispute) { n.Parties[1].Role = "judge" }},
			{"party name", "parties.0.name", "field.required", func(n *dispute.NewDispute) { n.Parties[0].Name = "" }},
			{"party id check", "parties.0.id_number", "idcode.err.check", func(n *dispute.NewDispute) {
				n.Parties[0].IDNumber = n.Parties[0].IDNumber[:17] + string("0123456789X"[(strings.Index("0123456789X", n.Parties[0].IDNumber[17:])+1)%11])
			}},
			{"party id length", "parties.1.id_number", "idcode.err.id_length", func(n *dispute.NewDispute) { n.Parties[1].IDNumber = "1234" }},
			{"party phone", "parties.1.phone", "field.phone_format", func(n *dispute.NewDispute) { n.Parties[1].Phone = "12345" }},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				nd := newDispute()
				c.edit(&nd)
				_, err := f.svc.CreateDispute(ctx, f.as("grid-a"), nd)
				if got := fieldKey(err, c.field); got != c.key {
					t.Errorf("field %s: %q, want %q (%v)", c.field, got, c.key, err)
				}
			})
		}
		list, _, err := f.svc.ListDisputes(ctx, f.as("admin"), dispute.Filter{})
		if err != nil || len(list) != 0 {
			t.Errorf("after refusals: %d disputes (%v), want none", len(list), err)
		}
		dp := f.create(t, "grid-a")
		f.act(t, "grid-a", dp.ID, "accept", dispute.Input{})
		acts := []struct {
			name, action, field, key string
			in                       dispute.Input
		}{
			{"unknown action", "dance", "action", "workflow.step.unknown_action", dispute.Input{}},
			{"session without notes", "session", "notes", "field.required", dispute.Input{Participants: "张三"}},
			{"session without participants", "session", "participants", "field.required", dispute.Input{Notes: "x"}},
			{"held in the future", "session", "held_at", "dispute.err.held_at", dispute.Input{Participants: "a", Notes: "b", HeldAt: timep(t0.Add(48 * time.Hour))}},
			{"long notes", "session", "notes", "field.too_long", dispute.Input{Participants: "a", Notes: strings.Repeat("记", 4001)}},
			{"bad referral", "refer", "referral", "dispute.err.referral", dispute.Input{Referral: "duel"}},
		}
		for _, c := range acts {
			t.Run(c.name, func(t *testing.T) {
				_, err := f.svc.ActDispute(ctx, f.as("grid-a"), dp.ID, c.action, c.in)
				if got := fieldKey(err, c.field); got != c.key {
					t.Errorf("field %s: %q, want %q (%v)", c.field, got, c.key, err)
				}
			})
		}
		// A stale version is a conflict.
		if _, err := f.svc.ActDispute(ctx, f.as("grid-a"), dp.ID, "session", dispute.Input{Version: 1, Participants: "a", Notes: "b"}); !errs.Is(err, errs.Conflict) {
			t.Errorf("stale version: %v, want Conflict", err)
		}
	})
}

// TestRevealParties: the parties' data is shown in the clear only to a
// caller who may unmask it, and the view is audited.
func TestRevealParties(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		dp := f.create(t, "grid-a")
		for _, c := range []struct {
			who   string
			clear bool
		}{{"grid-a", false}, {"staff-a", true}, {"admin", true}} {
			got, err := f.svc.GetDispute(ctx, f.as(c.who), dp.ID, true)
			if err != nil {
				t.Fatal(err)
			}
			if clear := got.Parties[0].IDNumber == newDispute().Parties[0].IDNumber; clear != c.clear || got.Revealed != c.clear {
				t.Errorf("%s: id %q revealed %v, want clear %v", c.who, got.Parties[0].IDNumber, got.Revealed, c.clear)
			}
		}
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'personal.unmask' AND target = $1`, "dispute:"+itoa(dp.ID)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("%d unmask entries, want 2", n)
		}
	})
}
