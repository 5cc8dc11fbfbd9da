package policy_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
	"whistle/internal/notify"
	"whistle/internal/registry"
)

// texts is an outbound channel that fails while fail is set and keeps
// what it sent.
type texts struct {
	fail bool
	sent []notify.Address
	text []string
}

func (c *texts) Name() string { return "sms" }

func (c *texts) Send(_ context.Context, to notify.Address, _, text string) error {
	if c.fail {
		return errors.New("gateway down")
	}
	c.sent, c.text = append(c.sent, to), append(c.text, text)
	return nil
}

// TestNotices: the staff of a community queue a notice for each person on
// its 应享未享 list who has a phone on record (those without are counted
// for a visit), once a person and policy however often they ask; another
// community's staff cannot; a text that fails is sent again on the next
// round, and a sent one never again.
func TestNotices(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		w.publish(t, elderly(80), "2026-01-01")
		add := func(birth, phone string, n int) int64 {
			p, err := w.reg.AddPerson(ctx, account.SystemScope(), actor, registry.PersonInput{
				IDNumber: idn("330303" + birth + "00" + string(rune('0'+n))), Name: "王五", Status: registry.StatusResident, GridCode: gridA, Phone: phone})
			if err != nil {
				t.Fatal(err)
			}
			w.fact(t, p.ID, "hukou_local", true, true)
			return p.ID
		}
		add("19300101", "13900000001", 1) // eligible, with a phone
		add("19350101", "", 2)            // eligible, no phone
		add("19900101", "13900000003", 3) // too young
		// The page tells "no run yet" from "nobody" by LastRun.
		if at, err := w.eng.LastRun(ctx); err != nil || !at.IsZero() {
			t.Errorf("last run before any: %v (%v), want the zero time", at, err)
		}
		if _, err := w.eng.Run(ctx, nil); err != nil {
			t.Fatal(err)
		}
		if at, err := w.eng.LastRun(ctx); err != nil || !at.Equal(t0) {
			t.Errorf("last run: %v (%v), want the clock's %v", at, err, t0)
		}
		staff := registry.ScopeOf(w.Users["staff-a"])
		rep, err := w.eng.QueueNotices(ctx, staff, actor, "330303001001", 100)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Queued != 1 || rep.Already != 0 || rep.NoPhone != 1 {
			t.Errorf("first: got %+v, want 1 queued, 1 without a phone", rep)
		}
		if rep, err = w.eng.QueueNotices(ctx, staff, actor, "330303001001", 100); err != nil || rep.Queued != 0 || rep.Already != 1 || rep.NoPhone != 1 {
			t.Errorf("again: got %+v (%v), want 0 queued, 1 told before, 1 without a phone", rep, err)
		}
		if _, err := w.eng.QueueNotices(ctx, registry.ScopeOf(w.Users["staff-b"]), actor, "330303001001", 100); !errs.Is(err, errs.NotFound) {
			t.Errorf("another community's staff: got %v, want NotFound", err)
		}
		var queued, audited int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM elig_notices`).Scan(&queued); err != nil || queued != 1 {
			t.Errorf("notices stored: got %d (%v), want 1", queued, err)
		}
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'eligibility.notify'`).Scan(&audited); err != nil || audited != 2 {
			t.Errorf("audit entries: got %d (%v), want 2 (the refused call writes none)", audited, err)
		}

		ch := &texts{fail: true}
		if n, err := w.eng.DeliverNotices(ctx, ch); err != nil || n != 0 {
			t.Errorf("while the gateway is down: sent %d (%v), want 0", n, err)
		}
		ch.fail = false
		if n, err := w.eng.DeliverNotices(ctx, ch); err != nil || n != 1 {
			t.Errorf("after: sent %d (%v), want 1", n, err)
		}
		if n, err := w.eng.DeliverNotices(ctx, ch); err != nil || n != 0 {
			t.Errorf("a third round: sent %d (%v), want 0", n, err)
		}
		if len(ch.sent) != 1 || ch.sent[0].Phone != "13900000001" || !strings.Contains(ch.text[0], "高龄津贴") {
			t.Fatalf("sent %v %q: want one text about 高龄津贴 to 13900000001", ch.sent, ch.text)
		}
	})
}
