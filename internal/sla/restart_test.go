package sla

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/timer"
)

// TestRestartFiresMissedTimersInOrder: cases have deadlines pending, the
// server stops, the clock passes their deadlines, and the restarted server
// fires every warning and breach exactly once, in due order, opening the
// supervisions.
func TestRestartFiresMissedTimersInOrder(t *testing.T) {
	t.Parallel()
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			clk := clock.NewFake(friday)
			open := reopener(t, dialect, clk)
			d1 := open()
			w := newWorld(t, d1, clk)
			// Submitted in id order A, B, C, D; due in the order D, C, A, B.
			a := w.submit(t, "resident", "ZL0302", inA) // accept by Sunday 09:00 (warning 08:36)
			clk.Advance(10 * time.Minute)
			b := w.submit(t, "resident", "ZL0302", inA) // Sunday 09:10 (08:46)
			clk.Advance(10 * time.Minute)
			c := w.submit(t, "resident", "ZL0202", inA) // urgent: Friday 18:20 (17:56)
			clk.Advance(10 * time.Minute)
			d := w.submit(t, "grid-a", "SJ0104", inA) // register by Friday 17:30 (17:18)
			names := map[int64]string{a.ID: "A", b.ID: "B", c.ID: "C", d.ID: "D"}
			if n := w.runDue(t); n != 0 {
				t.Fatalf("fired %d before any deadline, want 0", n)
			}
			d1.Close() // the server stops

			clk.Set(cst(2025, 9, 29, 8, 0)) // Monday morning: every deadline has passed
			w2 := &world{clk: clk, users: w.users}
			w2.attach(t, open()) // the server restarts
			if n := w2.runDue(t); n != 8 {
				t.Errorf("fired %d on restart, want 8 (a warning and a breach per case)", n)
			}
			rows, err := w2.d.Query(context.Background(), `SELECT case_id, action FROM case_events WHERE action IN ('sla_warning', 'sla_breach') ORDER BY id`)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for rows.Next() {
				var id int64
				var action string
				if err := rows.Scan(&id, &action); err != nil {
					t.Fatal(err)
				}
				got = append(got, names[id]+" "+action)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			rows.Close()
			want := []string{"D sla_warning", "D sla_breach", "C sla_warning", "C sla_breach",
				"A sla_warning", "B sla_warning", "A sla_breach", "B sla_breach"}
			if !slices.Equal(got, want) {
				t.Errorf("fired in the order %v, want %v", got, want)
			}
			for id, name := range names {
				sv, err := w2.eng.Supervisions(context.Background(), id)
				if err != nil {
					t.Fatal(err)
				}
				if len(sv) != 1 || sv[0].Level != LevelStreet || sv[0].RegionCode != "330303001" || sv[0].Status != SupOpen {
					t.Errorf("case %s: got supervisions %s, want one open at the street", name, dump(sv))
				}
				if c := w2.get(t, id); c.SLAState != StateOverdue || !c.Supervised {
					t.Errorf("case %s: got sla %s, supervised %v; want overdue and supervised", name, c.SLAState, c.Supervised)
				}
			}
			// Another restart fires nothing again.
			w3 := &world{clk: clk, users: w.users}
			w3.attach(t, open())
			if n := w3.runDue(t); n != 0 {
				t.Errorf("fired %d on a second restart, want 0", n)
			}
			if got := w3.count(t, `SELECT COUNT(*) FROM case_events WHERE action = 'sla_breach'`); got != 4 {
				t.Errorf("got %d breaches on the timelines, want 4", got)
			}
		})
	}
}

// cloneCases copies case orig n-1 times and opens each copy's first stage as
// a submission would, in one transaction, for tests that need many cases fast.
// It returns the ids, orig's first.
func (w *world) cloneCases(t testing.TB, orig *casework.Case, n int) []int64 {
	t.Helper()
	ctx := context.Background()
	ids := []int64{orig.ID}
	err := w.d.InTx(ctx, func(tx *db.Tx) error {
		cal := w.eng.Calendar()
		wf, ok := w.svc.Workflow(ctx, orig.Workflow)
		if !ok {
			return fmt.Errorf("no workflow %s", orig.Workflow)
		}
		for i := 1; i < n; i++ {
			id, err := tx.InsertID(ctx, `INSERT INTO cases (number, district_code, workflow, status, source, category_code, category_name, description,
				address, lat, lng, grid_code, community_code, street_code, region_path, reporter_id, reporter_phone, anonymous, urgent, visibility,
				fields, routed_department, created_at, updated_at, workflow_version)
				SELECT number || '-' || $2, district_code, workflow, status, source, category_code, category_name, description,
				address, lat, lng, grid_code, community_code, street_code, region_path, reporter_id, reporter_phone, anonymous, urgent, visibility,
				fields, routed_department, created_at, updated_at, workflow_version FROM cases WHERE id = $1 RETURNING id`, orig.ID, strconv.Itoa(i))
			if err != nil {
				return err
			}
			c := *orig
			c.ID = id
			st, err := w.eng.enterStage(ctx, tx, cal, &c, wf, "accept", tx.Now())
			if err != nil {
				return err
			}
			// A bulk load for the test: the row as casework would write it.
			if _, err := tx.Exec(ctx, `UPDATE cases SET deadline_at = $1, sla_state = $2 WHERE id = $3`, null(caseDeadline(st)), st.State(), id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// TestReplicasFireEachTimerOnce runs two schedulers on two connections to
// one PostgreSQL schema over 1,000 due warnings, then 1,000 due breaches:
// each fires exactly once.
func TestReplicasFireEachTimerOnce(t *testing.T) {
	t.Parallel()
	clk := clock.NewFake(friday)
	open := reopener(t, db.Postgres, clk)
	w1 := newWorld(t, open(), clk)
	const n = 1000
	w1.cloneCases(t, w1.submit(t, "resident", "ZL0302", inA), n)
	w2 := &world{clk: clk, users: w1.users}
	w2.attach(t, open())
	rounds := []struct {
		name   string
		now    time.Time
		action string
		kind   string
		stages string
	}{
		{"warnings", cst(2025, 9, 28, 8, 50), "sla_warning", TimerWarning, "warned_at"},
		{"breaches", cst(2025, 9, 28, 9, 0), "sla_breach", TimerBreach, "breached_at"},
	}
	for _, r := range rounds {
		t.Run(r.name, func(t *testing.T) {
			clk.Set(r.now)
			var wg sync.WaitGroup
			fired := make([]int, 2)
			errc := make([]error, 2)
			for i, w := range []*world{w1, w2} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					fired[i], errc[i] = w.runner(timer.Config{Group: 25}).RunDue(context.Background())
				}()
			}
			wg.Wait()
			for i, err := range errc {
				if err != nil {
					t.Errorf("replica %d: %v", i+1, err)
				}
			}
			t.Logf("replica 1 fired %d, replica 2 fired %d", fired[0], fired[1])
			checks := []struct {
				name string
				got  int
			}{
				{"fired by both replicas", fired[0] + fired[1]},
				{"stages marked", w1.count(t, `SELECT COUNT(*) FROM sla_stages WHERE `+r.stages+` IS NOT NULL`)},
				{"timeline steps", w1.count(t, `SELECT COUNT(*) FROM case_events WHERE action = $1`, r.action)},
				{"cases with a step", w1.count(t, `SELECT COUNT(DISTINCT case_id) FROM case_events WHERE action = $1`, r.action)},
			}
			if r.kind == TimerBreach {
				checks = append(checks, struct {
					name string
					got  int
				}{"supervisions", w1.count(t, `SELECT COUNT(*) FROM supervisions`)})
			}
			for _, c := range checks {
				if c.got != n {
					t.Errorf("%s: got %d, want %d", c.name, c.got, n)
				}
			}
			if got := w1.count(t, `SELECT COUNT(*) FROM kernel_timers WHERE kind = $1`, r.kind); got != 0 {
				t.Errorf("%d timers left unfired", got)
			}
		})
	}
}
