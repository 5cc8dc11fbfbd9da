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
	"whistle/internal/db/dbtest"
	"whistle/internal/feed"
	"whistle/internal/idcode"
	"whistle/internal/policy"
	"whistle/internal/region"
	"whistle/internal/registry"
	"whistle/internal/workflow"
	"whistle/internal/worldtest"
)

// process is one server process's part of the 免申即享 check: its own
// connection pool, registry, policy engine and benefit service.
type process struct {
	reg *registry.Store
	eng *policy.Engine
	svc *benefit.Service
}

func newProcess(t *testing.T, d *db.DB) process {
	t.Helper()
	regions := region.NewStore(d)
	if err := regions.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	reg := registry.NewStore(registry.Deps{DB: d, Regions: regions})
	eng, err := policy.New(policy.Deps{DB: d, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := benefit.NewService(context.Background(), benefit.Deps{DB: d, Regions: regions, Workflows: workflow.NewStore(d), Registry: reg,
		Policies: benefit.Engine{E: eng}})
	if err != nil {
		t.Fatal(err)
	}
	eng.UseReceiving(svc.Receiving)
	eng.UseAutoPay(func(ctx context.Context, s policy.Subject) error {
		_, err := svc.RunAutoPay(ctx, []benefit.Subject{{Kind: s.Kind, ID: s.ID}})
		return err
	})
	return process{reg: reg, eng: eng, svc: svc}
}

// TestAutoPayTwoProcesses: two processes on one PostgreSQL database —
// each its own connection pool, policy engine and benefit service — run
// the 免申即享 check with the real engine over the same people at the same
// time, many times, and also re-check the same registry change from the
// feed at the same time: every benefit due is paid once for its period
// (one payout row, one feed event, its amount committed once against the
// budget), nothing is paid on unverified data, a monthly benefit is paid
// again the next month and a yearly or one-off one is not.
func TestAutoPayTwoProcesses(t *testing.T) {
	url := dbtest.PostgresURL(t)
	schema := dbtest.NewSchema(t, url)
	clk := clock.NewFake(t0)
	ctx := context.Background()
	open := func() *db.DB {
		d, err := db.Open(ctx, db.Config{URL: url, SearchPath: schema}, clk)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	d1, d2 := open(), open()
	if _, err := d1.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	worldtest.New(t, d1, worldtest.Options{Regions: worldtest.OneStreet("龙湾区", "永中街道"), Departments: worldtest.CatalogueDepartments(),
		Users: worldtest.OneStreetUsers()})
	p1, p2 := newProcess(t, d1), newProcess(t, d2)
	sys, actor := account.SystemScope(), worldtest.Actor()
	if _, err := p1.eng.SeedDemo(ctx, actor); err != nil {
		t.Fatal(err)
	}
	if _, err := p1.svc.SetBudget(ctx, benefit.System(), "elderly_allowance", 1e6); err != nil {
		t.Fatal(err)
	}
	// Five people of 80 to 90 with a verified local hukou, pension and
	// 低保 facts; one whose facts are only declared; one of 70.
	var subs []benefit.Subject
	person := func(birth string, n int, verified bool) benefit.Subject {
		first := fmt.Sprintf("330303%s%03d", birth, n)
		p, err := p1.reg.AddPerson(ctx, sys, actor, registry.PersonInput{IDNumber: first + string(idcode.ResidentCheck(first)), Name: "王大爷",
			Status: registry.StatusResident, GridCode: gridA1})
		if err != nil {
			t.Fatal(err)
		}
		// The odd ones receive 低保: the festival relief, paid once.
		for k, v := range map[string]any{"hukou_local": true, "pension": 1500.0, "dibao": n%2 == 1} {
			if err := p1.reg.SetFact(ctx, sys, actor, registry.FactPerson, p.ID, registry.FactInput{Key: k, Value: v, Verified: verified}); err != nil {
				t.Fatal(err)
			}
		}
		return benefit.Subject{Kind: benefit.Person, ID: p.ID}
	}
	for i := range 5 {
		subs = append(subs, person(fmt.Sprintf("19%d0101", 36+i), i+1, true))
	}
	declared := person("19400101", 6, false)
	young := person("19560101", 8, true)
	subs = append(subs, declared, young)
	// What is due, from the engine: per subject, its 免申即享 policies
	// eligible on verified data, and their periods.
	due := map[string]string{} // "subject/policy" → period kind
	for _, s := range subs {
		rs, err := p1.eng.Evaluate(ctx, sys, policy.Subject{Kind: s.Kind, ID: s.ID}, policy.ChinaDate(clk.Now()))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.AutoPay && r.Verified && r.Result == policy.Eligible {
				due[fmt.Sprintf("%d/%s", s.ID, r.Policy)] = r.Period
			}
		}
	}
	monthly := 0
	for k, per := range due {
		if per == "month" {
			monthly++
		}
		if k == fmt.Sprintf("%d/elderly_allowance", declared.ID) || k == fmt.Sprintf("%d/elderly_allowance", young.ID) {
			t.Fatalf("%s is due: the fixture is wrong", k)
		}
	}
	if monthly < 5 || len(due) == monthly {
		t.Fatalf("due %v: want the elderly allowance of five people and a yearly or one-off benefit", due)
	}
	race := func(do func(p process) (int, error)) int {
		var wg sync.WaitGroup
		var mu sync.Mutex
		total := 0
		for _, p := range []process{p1, p2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 4 {
					n, err := do(p)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					total += n
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return total
	}
	check := func(when string, wantRows int) {
		t.Helper()
		var rows int
		if err := d1.QueryRow(ctx, `SELECT COUNT(*) FROM benefit_payouts`).Scan(&rows); err != nil {
			t.Fatal(err)
		}
		if _, err := feed.Sequence(ctx, d1, 0); err != nil {
			t.Fatal(err)
		}
		evs, err := feed.Read(ctx, d1, 0, 100000)
		if err != nil {
			t.Fatal(err)
		}
		events := 0
		for _, e := range evs {
			if e.SubjectKind == benefit.KindPayout {
				events++
			}
		}
		var committed float64
		if b, err := p1.svc.Budget(ctx, "elderly_allowance"); err == nil {
			committed = b.Committed
		}
		var paidOld float64
		if err := d1.QueryRow(ctx, `SELECT COALESCE(SUM(amount_fen), 0) / 100.0 FROM benefit_payouts WHERE policy = 'elderly_allowance'`).Scan(&paidOld); err != nil {
			t.Fatal(err)
		}
		if rows != wantRows || events != wantRows || committed != paidOld {
			t.Errorf("%s: %d payouts, %d payout events, %.2f committed for %.2f paid; want %d, %d, equal", when, rows, events, committed, paidOld, wantRows, wantRows)
		}
		var bad int
		if err := d1.QueryRow(ctx, `SELECT COUNT(*) FROM benefit_payouts WHERE subject_id IN ($1, $2) AND policy = 'elderly_allowance'`, declared.ID, young.ID).Scan(&bad); err != nil || bad != 0 {
			t.Errorf("%s: %d elderly allowances paid on declared data or under 80 (%v)", when, bad, err)
		}
	}
	paid := race(func(p process) (int, error) { return p.svc.RunAutoPay(ctx, subs) })
	if paid != len(due) {
		t.Errorf("November: %d payouts written by the two processes, want %d", paid, len(due))
	}
	check("November", len(due))
	// December: the monthly benefits again, the yearly and one-off ones
	// not (2026's year is the same).
	clk.Advance(10 * 24 * time.Hour)
	paid = race(func(p process) (int, error) { return p.svc.RunAutoPay(ctx, subs) })
	if paid != monthly {
		t.Errorf("December: %d payouts written, want %d (the monthly ones)", paid, monthly)
	}
	check("December", len(due)+monthly)
	// The declared hukou is verified: both processes re-check the same
	// feed event at once (a run and the consumer, or two replicas), and
	// the elderly allowance is paid once.
	if _, err := p1.eng.Run(ctx, nil); err != nil {
		t.Fatal(err)
	}
	last, err := feed.Last(ctx, d1)
	if err != nil {
		t.Fatal(err)
	}
	if err := p1.reg.SetFact(ctx, sys, actor, registry.FactPerson, declared.ID, registry.FactInput{Key: "hukou_local", Value: true, Verified: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := feed.Sequence(ctx, d1, 0); err != nil {
		t.Fatal(err)
	}
	evs, err := feed.Read(ctx, d1, last, 100)
	if err != nil || len(evs) == 0 {
		t.Fatalf("the fact's event: %v", err)
	}
	var before int
	if err := d1.QueryRow(ctx, `SELECT COUNT(*) FROM benefit_payouts`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	race(func(p process) (int, error) { return 0, p.eng.Recheck(ctx, evs) })
	var n int
	if err := d1.QueryRow(ctx, `SELECT COUNT(*) FROM benefit_payouts WHERE subject_id = $1 AND policy = 'elderly_allowance' AND period = '2026-12'`, declared.ID).Scan(&n); err != nil || n != 1 {
		t.Errorf("after the hukou was verified: %d elderly allowances of December (%v), want 1", n, err)
	}
}
