package benefit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/benefit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/feed"
	"whistle/internal/idcode"
	"whistle/internal/registry"
	"whistle/internal/worldtest"
)

// addPerson adds a person of grid with the birth date's identity number.
func (f *fixture) addPerson(t *testing.T, grid, ymd, seq, name string) benefit.Subject {
	t.Helper()
	first := "330303" + ymd + seq
	p, err := f.reg.AddPerson(context.Background(), account.SystemScope(), worldtest.Actor(), registry.PersonInput{IDNumber: first + string(idcode.ResidentCheck(first)),
		Name: name, Status: registry.StatusResident, GridCode: grid})
	if err != nil {
		t.Fatal(err)
	}
	return benefit.Subject{Kind: benefit.Person, ID: p.ID}
}

// TestApplyReviewPay: a resident applies with one click (prefilled from
// the engine's answer), a second click answers the same application,
// community staff accept it, the policy's department approves and pays
// it, and the payout shows to the resident and the department; the
// period cannot be applied for again, and the others see nothing.
func TestApplyReviewPay(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		a := f.apply(t, "resident", benefit.NewApplication{Policy: "gaoling"})
		if a.Status != "submitted" || a.Subject != f.old || a.Amount != 100 || a.Period != "2026-11" || len(a.Documents) != 1 || a.Facts["age"] != float64(82) ||
			a.SubjectName != "王大爷" || a.Eligibility != benefit.Eligible {
			t.Fatalf("applied: %+v", a)
		}
		again := f.apply(t, "resident", benefit.NewApplication{Policy: "gaoling"})
		if again.ID != a.ID {
			t.Errorf("second click: application %d, want %d", again.ID, a.ID)
		}
		for _, who := range []string{"resident-b", "staff-b", "cg-handler"} {
			if _, err := f.svc.Get(ctx, f.as(who), a.ID, false); !errs.Is(err, errs.NotFound) {
				t.Errorf("%s reads the application: %v, want NotFound", who, err)
			}
			if _, err := f.svc.Act(ctx, f.as(who), a.ID, "accept", benefit.Input{}); !errs.Is(err, errs.NotFound) {
				t.Errorf("%s accepts: %v, want NotFound", who, err)
			}
		}
		if _, err := f.svc.Act(ctx, f.as("resident"), a.ID, "accept", benefit.Input{}); !errs.Is(err, errs.Forbidden) {
			t.Errorf("the applicant accepts: %v, want Forbidden", err)
		}
		seen := f.act(t, "staff-a", a.ID, "accept", benefit.Input{})
		if seen.SubjectName != "王**" || !seen.Masked {
			t.Errorf("staff read the name %q (masked %v), want 王** masked", seen.SubjectName, seen.Masked)
		}
		if _, err := f.svc.Act(ctx, f.as("zj-handler"), a.ID, "refuse", benefit.Input{}); fieldKey(err, "reason") != "field.required" {
			t.Errorf("refusal without a reason: %v", err)
		}
		f.act(t, "zj-handler", a.ID, "approve", benefit.Input{})
		paid := f.act(t, "zj-handler", a.ID, "pay", benefit.Input{})
		if paid.Status != "paid" || paid.ClosedAt == nil {
			t.Fatalf("paid: %+v", paid)
		}
		for who, n := range map[string]int{"resident": 1, "zj-handler": 1, "staff-a": 1, "cg-handler": 0, "resident-b": 0, "staff-b": 0} {
			ps, total, err := f.svc.Payouts(ctx, f.as(who), benefit.Filter{})
			if err != nil || total != n || len(ps) != n {
				t.Errorf("%s sees %d payouts (%v), want %d", who, total, err, n)
			}
			if n == 1 && (ps[0].Amount != 100 || ps[0].Source != "application" || ps[0].ApplicationID != a.ID || ps[0].Period != "2026-11") {
				t.Errorf("%s: payout %+v", who, ps[0])
			}
		}
		if _, err := f.svc.Apply(ctx, f.as("resident"), benefit.NewApplication{Policy: "gaoling"}); reason(err) != "already_paid" {
			t.Errorf("applying again for a paid period: %v, want already_paid", err)
		}
		next := f.apply(t, "resident", benefit.NewApplication{Policy: "gaoling", Period: "2026-12"})
		if next.ID == a.ID || next.Status != "submitted" {
			t.Errorf("next period: %+v", next)
		}
		f.eng.set(f.old, func() benefit.Match { m := oldAge(); m.Result = benefit.NotEligible; return m }())
		if _, err := f.svc.Apply(ctx, f.as("resident"), benefit.NewApplication{Policy: "gaoling", Period: "2027-01"}); reason(err) != "not_eligible" {
			t.Errorf("applying when not eligible: %v", err)
		}
		if _, err := f.svc.Apply(ctx, f.as("resident"), benefit.NewApplication{Policy: "gaoling", Period: "2027-13", Subject: f.firm}); fieldKey(err, "period") == "" {
			t.Errorf("a bad period: %v", err)
		}
		if _, err := f.svc.Apply(ctx, f.as("resident"), benefit.NewApplication{Policy: "gaoling", Subject: f.firm}); !errs.Is(err, errs.NotFound) {
			t.Errorf("a resident applying for a firm: %v, want NotFound", err)
		}
		other := f.addPerson(t, gridB1, "19400101", "222", "李奶奶")
		if _, err := f.svc.Apply(ctx, f.as("staff-a"), benefit.NewApplication{Policy: "gaoling", Subject: other}); !errs.Is(err, errs.NotFound) {
			t.Errorf("staff-a applying for a person of B1: %v, want NotFound", err)
		}
	})
}

func fieldKey(err error, field string) string {
	if e, ok := errs.As(err); ok {
		return e.Fields[field].Key
	}
	return ""
}

// TestSupplementStopsClock: the acceptance stage's 3 days (72 hours
// without a calendar; warning at 80%) stop while the application waits
// for material (补正), however long, and run again with the time that
// was left once the applicant supplies it.
func TestSupplementStopsClock(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		a := f.apply(t, "resident", benefit.NewApplication{Policy: "gaoling"})
		if a.StageDueAt == nil || !a.StageDueAt.Equal(t0.Add(72*time.Hour)) {
			t.Fatalf("stage due %v, want %v", a.StageDueAt, t0.Add(72*time.Hour))
		}
		f.fire(t, 48*time.Hour)
		p := f.act(t, "staff-a", a.ID, "request_supplement", benefit.Input{Note: "请补充户口簿复印件"})
		if p.Status != "supplement" || p.SLAState != "paused" || p.StageDueAt != nil || p.Request != "请补充户口簿复印件" {
			t.Fatalf("after 补正: %+v", p)
		}
		f.fire(t, 30*24*time.Hour)
		if got := f.get(t, a.ID); got.SLAState != "paused" {
			t.Fatalf("30 days into 补正: sla %q, want paused", got.SLAState)
		}
		r := f.act(t, "resident", a.ID, "supplement", benefit.Input{Uploads: []string{"media/2026/11/hukou.jpg"}})
		if r.Status != "submitted" || r.SLAState != "normal" || len(r.Uploads) != 1 {
			t.Fatalf("after supplying: %+v", r)
		}
		if want := clk.Now().Add(24 * time.Hour); r.StageDueAt == nil || !r.StageDueAt.Equal(want) {
			t.Fatalf("resumed due %v, want %v (the 24 hours left)", r.StageDueAt, want)
		}
		// The warning was 9.6 hours away when the clock stopped.
		f.fire(t, 9*time.Hour)
		if got := f.get(t, a.ID).SLAState; got != "normal" {
			t.Errorf("9 hours after resuming: %q, want normal", got)
		}
		f.fire(t, time.Hour)
		if got := f.get(t, a.ID).SLAState; got != "warning" {
			t.Errorf("10 hours after resuming: %q, want warning", got)
		}
		f.fire(t, 14*time.Hour)
		if got := f.get(t, a.ID).SLAState; got != "breached" {
			t.Errorf("24 hours after resuming: %q, want breached", got)
		}
	})
}

// TestAutoPayOncePerPeriod: two processes run the 免申即享 check for the
// same person at the same time, many times: one payout of the period, one
// feed event (so one notice), and the next month pays again.
func TestAutoPayOncePerPeriod(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		m := oldAge()
		m.AutoPay = true
		f.eng.set(f.old, m)
		var wg sync.WaitGroup
		var mu sync.Mutex
		paid := 0
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 5 {
					n, err := f.svc.RunAutoPay(ctx, []benefit.Subject{f.old})
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					paid += n
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		count := func() (rows, events int) {
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM benefit_payouts`).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if _, err := feed.Sequence(ctx, d, 0); err != nil {
				t.Fatal(err)
			}
			evs, err := feed.Read(ctx, d, 0, 10000)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range evs {
				if e.SubjectKind == benefit.KindPayout {
					events++
				}
			}
			return rows, events
		}
		if rows, events := count(); paid != 1 || rows != 1 || events != 1 {
			t.Errorf("paid %d, rows %d, events %d; want 1 each", paid, rows, events)
		}
		ps, _, err := f.svc.Payouts(ctx, f.as("resident"), benefit.Filter{})
		if err != nil || len(ps) != 1 || ps[0].Source != "auto" || ps[0].Amount != 100 || ps[0].SubjectName != "王大爷" {
			t.Errorf("the resident's payouts: %+v %v", ps, err)
		}
		// A condition unknown is not 免申即享: nothing paid next month.
		clk.Advance(10 * 24 * time.Hour)
		unknown := m
		unknown.Conditions = []benefit.Condition{{ID: "age", Result: "unknown"}}
		f.eng.set(f.old, unknown)
		if n, err := f.svc.RunAutoPay(ctx, []benefit.Subject{f.old}); err != nil || n != 0 {
			t.Errorf("with a condition unknown: paid %d (%v), want 0", n, err)
		}
		f.eng.set(f.old, m)
		if n, err := f.svc.RunAutoPay(ctx, []benefit.Subject{f.old}); err != nil || n != 1 {
			t.Errorf("next month: paid %d (%v), want 1", n, err)
		}
	})
}

// TestBudgetCeiling: approvals commit against the policy's ceiling; one
// that would pass it is refused, also when several approvals run at the
// same time.
func TestBudgetCeiling(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		m := oldAge()
		m.Policy, m.Amount, m.Title = "wengang", amount(40000), benefit.Text{ZH: "稳岗补贴", EN: "Job retention subsidy"}
		if _, err := f.svc.SetBudget(ctx, f.as("staff-a"), "wengang", 100000); !errs.Is(err, errs.Forbidden) {
			t.Errorf("community staff set a budget: %v, want Forbidden", err)
		}
		if _, err := f.svc.SetBudget(ctx, f.as("zj-handler"), "wengang", 100000); err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for i := range 6 {
			firm := benefit.Subject{Kind: benefit.Organisation, ID: f.firm.ID}
			if i > 0 {
				first17 := fmt.Sprintf("91330303MA2AB%04d", i)
				o, err := f.reg.AddOrganisation(ctx, account.SystemScope(), worldtest.Actor(), registry.OrganisationInput{
					CreditCode: first17 + string(idcode.CreditCheck(first17)), Name: fmt.Sprintf("企业%d", i), Address: "一路1号", GridCode: gridA1})
				if err != nil {
					t.Fatal(err)
				}
				firm.ID = o.ID
			}
			f.eng.set(firm, m)
			a := f.apply(t, "staff-a", benefit.NewApplication{Policy: "wengang", Subject: firm})
			f.act(t, "staff-a", a.ID, "accept", benefit.Input{})
			ids = append(ids, a.ID)
		}
		var wg sync.WaitGroup
		results := make([]error, len(ids))
		for i, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					_, err := f.svc.Act(ctx, f.as("zj-handler"), id, "approve", benefit.Input{})
					if errs.Is(err, errs.Conflict) && reason(err) != "over_budget" {
						continue // a serialisation failure: try again
					}
					results[i] = err
					return
				}
			}()
		}
		wg.Wait()
		ok, over := 0, 0
		for _, err := range results {
			switch {
			case err == nil:
				ok++
			case reason(err) == "over_budget":
				over++
			default:
				t.Errorf("approve: %v", err)
			}
		}
		if ok != 2 || over != 4 {
			t.Errorf("approved %d, refused %d over budget; want 2 and 4", ok, over)
		}
		b, err := f.svc.Budget(ctx, "wengang")
		if err != nil || b.Committed != 80000 {
			t.Errorf("budget %+v %v, want 80000 committed", b, err)
		}
		if _, err := f.svc.SetBudget(ctx, f.as("admin"), "wengang", 50000); fieldKey(err, "ceiling") == "" {
			t.Errorf("a ceiling below what is committed: %v", err)
		}
	})
}
