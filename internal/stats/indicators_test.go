package stats_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/db"
	"whistle/internal/indicator"
	"whistle/internal/stats"
)

// showValue renders a value as "value num/den", "-" for no data.
func showValue(v indicator.Value) string {
	num := strconv.FormatInt(v.Num, 10) + "/" + strconv.FormatInt(v.Den, 10)
	if v.Value == nil {
		return "- " + num
	}
	return strconv.FormatFloat(*v.Value, 'f', 2, 64) + " " + num
}

// TestCaseIndicators computes every case indicator for a small world whose
// values are worked out by hand, on SQLite and PostgreSQL. On Monday
// 2026-11-02 (a working day), from 09:00, in grid 1 (street 1, community
// 1) of the fixture:
//   - A: accepted, dispatched to CG, started, resolved, verified, rated 5
//     stars at 10:00: closed, on time, first stage met, 1 working hour;
//   - B: the same, but its first verification fails (a rework), rated 4
//     stars at 11:00 (2 working hours), then a return visit finds the
//     resident dissatisfied;
//
// in grid 2 (street 1, community 2):
//   - D: submitted, never accepted, its stage breached: open and overdue;
//
// in grid 3 (street 2):
//   - C: rejected, so not a valid case.
func TestCaseIndicators(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		handle := func(id int64, passFirst bool) {
			w.act(t, "community-1", id, casework.ActAccept, casework.Input{})
			w.act(t, "community-1", id, casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}})
			w.act(t, "cg-handler", id, casework.ActStart, casework.Input{})
			w.act(t, "cg-handler", id, casework.ActResolve, casework.Input{Note: "修好了", Photos: []int64{w.photo(t, "cg-handler", id)}})
			if !passFirst {
				w.act(t, "community-1", id, casework.ActVerify, casework.Input{Passed: boolp(false), Note: "未修好"})
				w.act(t, "cg-handler", id, casework.ActResolve, casework.Input{Note: "返工", Photos: []int64{w.photo(t, "cg-handler", id)}})
			}
			w.act(t, "community-1", id, casework.ActVerify, casework.Input{Passed: boolp(true)})
		}
		a := w.submit(t, "resident-1", w.whistle[0], 0, "")
		b := w.submit(t, "resident-1", w.whistle[1], 0, "")
		d := w.submit(t, "resident-2", w.whistle[0], 1, "")
		c := w.submit(t, "resident-3", w.whistle[0], 2, "")
		w.act(t, "community-3", c.ID, casework.ActReject, casework.Input{Reason: "不属实"})
		handle(a.ID, true)
		handle(b.ID, false)
		w.clk.Advance(time.Hour)
		w.act(t, "resident-1", a.ID, casework.ActRate, casework.Input{Stars: intp(5)})
		w.clk.Advance(time.Hour)
		w.act(t, "resident-1", b.ID, casework.ActRate, casework.Input{Stars: intp(4)})
		w.act(t, "community-1", b.ID, casework.ActRevisit, casework.Input{Result: "dissatisfied"})
		w.breach(t, d.ID)

		reg := w.st.Indicators()
		nov := indicator.Period{From: time.Date(2026, 11, 1, 0, 0, 0, 0, shanghai), To: time.Date(2026, 12, 1, 0, 0, 0, 0, shanghai)}
		oct := indicator.Period{From: time.Date(2026, 10, 1, 0, 0, 0, 0, shanghai), To: time.Date(2026, 11, 1, 0, 0, 0, 0, shanghai)}
		region := func(code string) indicator.Subject { return indicator.Subject{Kind: stats.KindRegion, Code: code} }
		cg := indicator.Subject{Kind: stats.KindDepartment, Code: "CG"}
		street1, street2, community2 := region("330303001"), region("330303002"), region("330303001002")
		tests := []struct {
			name      string
			indicator string
			subject   indicator.Subject
			period    indicator.Period
			want      string
		}{
			{"received: A, B and D", stats.IndReceived, street1, nov, "3.00 3/0"},
			{"received: all four", stats.IndReceived, region("330303"), nov, "4.00 4/0"},
			{"received: none in October", stats.IndReceived, street1, oct, "0.00 0/0"},
			{"closed: A and B", stats.IndClosed, street1, nov, "2.00 2/0"},
			{"closed: none in street 2 is zero", stats.IndClosed, street2, nov, "0.00 0/0"},
			{"closed late: none", stats.IndClosedLate, street1, nov, "0.00 0/0"},
			{"on time: both", stats.IndOnTime, street1, nov, "1.00 2/2"},
			{"on time: nothing closed is no data", stats.IndOnTime, street2, nov, "- 0/0"},
			{"response: both first stages met", stats.IndResponse, street1, nov, "1.00 2/2"},
			{"resolution: A and B of three valid", stats.IndResolution, street1, nov, "0.67 2/3"},
			{"resolution: C rejected is not valid", stats.IndResolution, street2, nov, "- 0/0"},
			{"resolution: D unresolved is zero", stats.IndResolution, community2, nov, "0.00 0/1"},
			{"satisfaction: the return visit overrides B's 4 stars", stats.IndSatisfaction, street1, nov, "0.50 1/2"},
			{"mean stars", stats.IndStars, street1, nov, "4.50 9/2"},
			{"handling time: 1 and 2 working hours", stats.IndHandling, street1, nov, "1.50 10800/2"},
			{"rework: B", stats.IndRework, street1, nov, "0.50 1/2"},
			{"return: none", stats.IndReturn, street1, nov, "0.00 0/2"},
			{"open: D", stats.IndOpen, street1, nov, "1.00 1/0"},
			{"overdue: D", stats.IndOverdue, community2, nov, "1.00 1/0"},
			{"supervised: D", stats.IndSupervised, street1, nov, "1.00 1/0"},
			{"department: received A and B", stats.IndReceived, cg, nov, "2.00 2/0"},
			{"department: rework", stats.IndRework, cg, nov, "0.50 1/2"},
			{"department: satisfaction", stats.IndSatisfaction, cg, nov, "0.50 1/2"},
			{"department: resolution", stats.IndResolution, cg, nov, "1.00 2/2"},
			{"department: no open count", stats.IndOpen, cg, nov, "- 0/0"},
			{"unknown region: no data", stats.IndReceived, region("999"), nov, "- 0/0"},
			{"unknown department: no data", stats.IndClosed, indicator.Subject{Kind: stats.KindDepartment, Code: "ZZ"}, nov, "- 0/0"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				v, err := reg.Compute(ctx, tt.indicator, indicator.Query{Subject: tt.subject, Period: tt.period})
				if err != nil {
					t.Fatal(err)
				}
				if got := showValue(v); got != tt.want {
					t.Errorf("got %s, want %s", got, tt.want)
				}
			})
		}

		t.Run("upgrade", func(t *testing.T) {
			// Migration 0016 empties the rollups of an installation that has
			// cases; the start-up's EnsureBuilt recomputes them, new columns
			// and departments included, to the same values.
			before, err := reg.Batch(ctx, stats.UnitIndicators, []indicator.Subject{street1, cg}, nov)
			if err != nil {
				t.Fatal(err)
			}
			ms, err := db.Migrations(w.d.Dialect())
			if err != nil {
				t.Fatal(err)
			}
			var deletes int
			for _, m := range ms {
				if m.Version != 16 {
					continue
				}
				for _, line := range strings.Split(m.SQL, "\n") {
					if strings.HasPrefix(line, "DELETE FROM ") {
						w.exec(t, strings.TrimSuffix(line, ";"))
						deletes++
					}
				}
			}
			if deletes != 5 {
				t.Fatalf("migration 0016 has %d DELETE statements, want 5", deletes)
			}
			if v, err := reg.Compute(ctx, stats.IndClosed, indicator.Query{Subject: street1, Period: nov}); err != nil || v.Num != 0 {
				t.Fatalf("after the migration's deletes: %s, %v", showValue(v), err)
			}
			built, err := w.st.EnsureBuilt(ctx, nil)
			if err != nil || !built {
				t.Fatalf("EnsureBuilt: built %v, %v", built, err)
			}
			after, err := reg.Batch(ctx, stats.UnitIndicators, []indicator.Subject{street1, cg}, nov)
			if err != nil {
				t.Fatal(err)
			}
			for _, sub := range []indicator.Subject{street1, cg} {
				for _, name := range stats.UnitIndicators {
					if g, want := showValue(after[sub][name]), showValue(before[sub][name]); g != want {
						t.Errorf("%s %s after the rebuild: got %s, want %s", sub.Code, name, g, want)
					}
				}
			}
		})

		t.Run("units", func(t *testing.T) {
			u, err := w.st.Units(ctx, account.SystemScope(), "330303001", nov)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, x := range append(append([]stats.Unit{u.Region}, u.Regions...), u.Departments...) {
				got = append(got, x.Code+":"+strconv.FormatInt(x.Cases, 10)+"/"+strconv.FormatInt(x.Closed, 10)+"/"+showValue(x.Indicators[stats.IndResolution]))
			}
			want := "330303001:3/2/0.67 2/3 330303001001:2/2/1.00 2/2 330303001002:1/0/0.00 0/1"
			if g := strings.Join(got, " "); g != want {
				t.Errorf("got %s, want %s (no department serves the street's subtree alone)", g, want)
			}
			u, err = w.st.Units(ctx, account.SystemScope(), "330303", nov)
			if err != nil {
				t.Fatal(err)
			}
			var depts []string
			for _, x := range u.Departments {
				if x.Cases > 0 {
					depts = append(depts, x.Code+":"+strconv.FormatInt(x.Cases, 10))
				}
			}
			if g, want := strings.Join(depts, " "), "CG:2"; g != want {
				t.Errorf("the district's departments with cases: got %s, want %s", g, want)
			}
			if _, err := w.st.Units(ctx, account.ScopeOf(w.users["community-1"]), "330303002", nov); err == nil {
				t.Errorf("community 1's staff got the units of street 2")
			}
		})
		t.Run("a late stage counts only when assessed", func(t *testing.T) {
			onTime := func(want string) {
				t.Helper()
				w.rebuild(t, false)
				v, err := reg.Compute(ctx, stats.IndOnTime, indicator.Query{Subject: street1, Period: nov})
				if err != nil {
					t.Fatal(err)
				}
				if got := showValue(v); got != want {
					t.Errorf("on time: got %s, want %s", got, want)
				}
			}
			// A's verification ended late, under a version that assesses it.
			w.exec(t, `UPDATE sla_stages SET outcome = 'missed' WHERE case_id = $1 AND stage = 'verify'`, a.ID)
			onTime("0.50 1/2")
			// Under a version that does not assess the stage, it is not held
			// against the unit, as the rating never is.
			w.exec(t, `UPDATE sla_stages SET assessed = $1 WHERE case_id = $2 AND stage = 'verify'`, false, a.ID)
			onTime("1.00 2/2")
			w.exec(t, `UPDATE sla_stages SET outcome = 'met', assessed = $1 WHERE case_id = $2 AND stage = 'verify'`, true, a.ID)
			onTime("1.00 2/2")
		})
		t.Run("the first stage is the initial state's", func(t *testing.T) {
			// Without its accept stage (a case from before the SLA engine,
			// or the demo history's) A has no first stage to measure: its
			// next stage, dispatch, is not a response.
			w.exec(t, `DELETE FROM sla_stages WHERE case_id = $1 AND stage = 'accept'`, a.ID)
			w.rebuild(t, false)
			v, err := reg.Compute(ctx, stats.IndResponse, indicator.Query{Subject: street1, Period: nov})
			if err != nil {
				t.Fatal(err)
			}
			if got, want := showValue(v), "1.00 1/1"; got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	})
}

// shanghai is the district's time zone, in which periods are days.
var shanghai = time.FixedZone("CST", 8*3600)
