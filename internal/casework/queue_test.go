package casework_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/worldtest"
)

// inB is a point inside community B's grid.
var inB = [2]float64{27.005, 120.015}

// TestQueueCounts (issue 14, Build 4): the queue counts of a caller scoped
// by region alone (read from the stats rollups) and of a department's
// handler (counted over the cases) are those of the cases in their scope,
// and the rollup path and the scan path agree.
func TestQueueCounts(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newWorld(t, d, clk)
		w.AddStats(t, nil)
		// Community A: one submitted, one accepted, one dispatched to CG
		// and supervised. Community B: one submitted, one dispatched to CG.
		w.submit(t, "resident", inA, "whistle")
		a2 := w.submit(t, "resident", inA, "whistle")
		w.Act(t, "staff-a", a2.ID, casework.ActAccept, casework.Input{})
		a3 := w.submit(t, "resident", inA, "whistle")
		w.Act(t, "staff-a", a3.ID, casework.ActAccept, casework.Input{})
		w.Act(t, "staff-a", a3.ID, casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}})
		w.Act(t, "leader", a3.ID, casework.ActSupervise, casework.Input{Note: "请于三日内办结"})
		// A supervised case merged into a3: closed, so in no queue but
		// "all", though its rollup row still says supervised.
		a4 := w.submit(t, "resident", inA, "whistle")
		w.Act(t, "leader", a4.ID, casework.ActSupervise, casework.Input{Note: "尽快处理"})
		w.Act(t, "staff-a", a4.ID, casework.ActMerge, casework.Input{Parent: a3.ID})
		w.submit(t, "resident", inB, "whistle")
		b2 := w.submit(t, "resident", inB, "whistle")
		w.Act(t, "staff-b", b2.ID, casework.ActAccept, casework.Input{})
		w.Act(t, "staff-b", b2.ID, casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}})

		zero := func(m map[string]int) map[string]int {
			out := map[string]int{}
			for _, q := range casework.Queues() {
				out[q.Key] = m[q.Key]
			}
			return out
		}
		tests := []struct {
			name, who string
			want      map[string]int
		}{
			{"community staff", "staff-a", zero(map[string]int{"pending": 1, "to_dispatch": 1, "handling": 1, "supervised": 1, "all": 4})},
			{"street staff", "street", zero(map[string]int{"pending": 2, "to_dispatch": 1, "handling": 2, "supervised": 1, "all": 6})},
			{"department handler", "cg-handler", zero(map[string]int{"handling": 2, "supervised": 1, "all": 2})},
			{"other department", "zj-handler", zero(nil)},
		}
		ctx := context.Background()
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				w.Cases.UseQueueCounter(w.Stats)
				rollup, err := w.Cases.QueueCounts(ctx, w.As(tt.who))
				if err != nil {
					t.Fatal(err)
				}
				w.Cases.UseQueueCounter(nil)
				defer w.Cases.UseQueueCounter(w.Stats)
				scan, err := w.Cases.QueueCounts(ctx, w.As(tt.who))
				if err != nil {
					t.Fatal(err)
				}
				if !maps.Equal(rollup, tt.want) {
					t.Errorf("counts with the rollups: got %v, want %v", rollup, tt.want)
				}
				if !maps.Equal(scan, tt.want) {
					t.Errorf("counts over the cases: got %v, want %v", scan, tt.want)
				}
			})
		}
	})
}

// TestPostponeAndVerifyQueues (issue 15, Build 1): 待审批延期 holds the open
// cases whose handler asked for more time, counted the same with the
// rollups and over the cases, listed by its filter, for whoever may
// decide a postponement (and not for a grid worker or a handler); 待核查
// holds the cases waiting for a grid worker's action, in both workflows.
func TestPostponeAndVerifyQueues(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newWorld(t, d, clk)
		w.AddStats(t, nil)
		ctx := context.Background()
		asked := w.submit(t, "resident", inA, "whistle")
		w.Act(t, "staff-a", asked.ID, casework.ActAccept, casework.Input{})
		w.Act(t, "staff-a", asked.ID, casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}})
		hours := 8
		w.Act(t, "cg-handler", asked.ID, casework.ActPostponeRequest, casework.Input{Reason: "需协调管线单位", Hours: &hours})
		decided := w.submit(t, "resident", inA, "whistle")
		w.Act(t, "staff-a", decided.ID, casework.ActAccept, casework.Input{})
		w.Act(t, "staff-a", decided.ID, casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}})
		w.Act(t, "cg-handler", decided.ID, casework.ActPostponeRequest, casework.Input{Reason: "雨天", Hours: &hours})
		w.Act(t, "staff-a", decided.ID, casework.ActPostponeApprove, casework.Input{})
		// One whistle and one urban case resolved: both await 核查.
		done := w.submit(t, "resident", inA, "whistle")
		w.Act(t, "staff-a", done.ID, casework.ActAccept, casework.Input{})
		w.Act(t, "staff-a", done.ID, casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}})
		w.Act(t, "cg-handler", done.ID, casework.ActStart, casework.Input{})
		w.Act(t, "cg-handler", done.ID, casework.ActResolve, casework.Input{Note: "已清理", Photos: []int64{w.photo(t, "cg-handler", done.ID, "after")}})
		urban := w.submit(t, "grid-a", inA, "urban")
		w.Act(t, "street", urban.ID, casework.ActRegister, casework.Input{})
		w.Act(t, "street", urban.ID, casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}})
		w.Act(t, "cg-handler", urban.ID, casework.ActResolve, casework.Input{Note: "已修复"})

		tests := []struct {
			who              string
			postpone, verify int
			listed           bool // 待审批延期 among the user's queues
		}{
			{"staff-a", 1, 2, true},
			{"street", 1, 2, true},
			{"grid-a", 1, 2, false},
			{"cg-handler", 1, 2, false},
			// Community B's staff see neither case: the counts and the list
			// keep to the caller's scope (casework-postpone-count-no-scope.mut).
			{"staff-b", 0, 0, true},
		}
		for _, tt := range tests {
			t.Run(tt.who, func(t *testing.T) {
				for _, counter := range []casework.NodeQueueCounter{w.Stats, nil} {
					w.Cases.UseQueueCounter(counter)
					got, err := w.Cases.QueueCounts(ctx, w.As(tt.who))
					if err != nil {
						t.Fatal(err)
					}
					if got["postpone"] != tt.postpone || got["to_verify"] != tt.verify {
						t.Errorf("counter %v: postpone %d, to_verify %d; want %d, %d", counter != nil, got["postpone"], got["to_verify"], tt.postpone, tt.verify)
					}
				}
				w.Cases.UseQueueCounter(w.Stats)
				if got := slices.Contains(casework.QueuesFor(w.Users[tt.who]), "postpone"); got != tt.listed {
					t.Errorf("postpone among %v: got %v, want %v", casework.QueuesFor(w.Users[tt.who]), got, tt.listed)
				}
				q, _ := casework.QueueByKey("postpone")
				open := true
				cs, _, err := w.Cases.List(ctx, w.As(tt.who), casework.Filter{Postpone: q.Postpone, Open: &open})
				if err != nil {
					t.Fatal(err)
				}
				if tt.postpone == 0 && len(cs) != 0 {
					t.Errorf("listed %d cases, want none", len(cs))
				} else if tt.postpone > 0 && (len(cs) != 1 || cs[0].ID != asked.ID) {
					t.Errorf("listed %d cases, want only %s", len(cs), asked.Number)
				}
			})
		}
		if got := casework.QueuesFor(w.Users["grid-a"])[0]; got != "to_verify" {
			t.Errorf("grid worker's first queue: got %s, want to_verify", got)
		}
	})
}
