package sla

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"whistle/internal/casework"
	"whistle/internal/db"
	"whistle/internal/sla/calendar"
	"whistle/internal/worldtest"
)

// thursday is Thursday 2026-12-31 16:00 in Shanghai, New Year's Eve: 2027
// has no official schedule, so its calendar is provisional.
var thursday = cst(2026, 12, 31, 16, 0)

// official2027 is a made-up official notice for 2027 whose New Year break
// runs to Monday 01-04, a day longer than the statutory 元旦 the
// provisional calendar has.
func official2027() []calendar.Day {
	var days []calendar.Day
	for d := 1; d <= 4; d++ {
		days = append(days, calendar.Day{Date: calendar.D(2027, time.January, d), Kind: calendar.Holiday, Name: "元旦", Source: "test notice"})
	}
	return days
}

// pendingTimers lists the due times of a case's pending timers.
func (w *world) pendingTimers(t *testing.T, caseID int64) []time.Time {
	t.Helper()
	rows, err := w.d.Query(context.Background(), `SELECT due_at FROM kernel_timers WHERE kind IN ($1, $2, $3) AND subject = $4 ORDER BY due_at`,
		TimerWarning, TimerBreach, TimerSupervision, strconv.FormatInt(caseID, 10))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var due db.Time
		if err := rows.Scan(&due); err != nil {
			t.Fatal(err)
		}
		out = append(out, due.Time)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestProvisionalDeadlineRecomputed is issue 13 item 11: a case submitted
// on New Year's Eve 2026 gets its deadline on the provisional 2027
// calendar (元旦 is a holiday, not a working day), and when the official
// 2027 schedule is imported the deadline is recomputed on it, with its
// timers, the case's mirror, a timeline step and an audit entry.
func TestProvisionalDeadlineRecomputed(t *testing.T) {
	t.Parallel()
	eachWorld(t, thursday, func(t *testing.T, w *world) {
		ctx := context.Background()
		if !w.eng.Calendar().IsProvisional(2027) {
			t.Fatal("2027 is not provisional")
		}
		// Case B, submitted at 09:00 on 12-30, keeps its stage inside 2026.
		w.clk.Set(cst(2026, 12, 30, 9, 0))
		inside := w.submit(t, "resident", "ZL0302", inA)
		w.clk.Set(thursday)
		across := w.submit(t, "resident", "ZL0302", inA) // accept in 2 working hours

		st := w.open(t, across.ID)
		if got, want := at(st.Deadline), "2027-01-04 09:00 Mon"; got != want || !st.Provisional {
			t.Fatalf("on the provisional calendar: deadline %s (provisional %v), want %s (true): 元旦 2027 is a holiday", got, st.Provisional, want)
		}
		if st := w.open(t, inside.ID); st.Provisional {
			t.Errorf("a stage inside 2026 is marked provisional")
		}

		if _, err := w.eng.CalendarStore().Import(ctx, worldtest.Actor(), official2027()); err != nil {
			t.Fatal(err)
		}
		if err := w.eng.ReloadCalendar(ctx); err != nil {
			t.Fatal(err)
		}
		if w.eng.Calendar().IsProvisional(2027) || !w.eng.Calendar().Covers(2027) {
			t.Fatal("after the import 2027 is still provisional")
		}
		st = w.open(t, across.ID)
		if got, want := at(st.Deadline), "2027-01-05 09:00 Tue"; got != want {
			t.Errorf("recomputed deadline %s, want %s", got, want)
		}
		if got, want := at(st.WarnAt), "2027-01-05 08:36 Tue"; got != want {
			t.Errorf("recomputed warning %s, want %s", got, want)
		}
		if st.Provisional {
			t.Errorf("the recomputed stage is still marked provisional")
		}
		if c := w.get(t, across.ID); !c.DeadlineAt.Equal(st.Deadline) {
			t.Errorf("case deadline %v, want the stage's %s", c.DeadlineAt, at(st.Deadline))
		}
		if got, want := w.pendingTimers(t, across.ID), []time.Time{st.WarnAt, st.Deadline}; !slices.EqualFunc(got, want, time.Time.Equal) {
			t.Errorf("pending timers %v, want %v", got, want)
		}
		countSteps := func(id int64) int {
			n := 0
			for _, a := range w.actions(t, id) {
				if a == string(ActRecomputed) {
					n++
				}
			}
			return n
		}
		if got := countSteps(across.ID); got != 1 {
			t.Errorf("%s steps on the recomputed case: %d, want 1", ActRecomputed, got)
		}
		if got := countSteps(inside.ID); got != 0 {
			t.Errorf("%s steps on the case inside 2026: %d, want 0", ActRecomputed, got)
		}
		if got := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action = 'sla.recompute' AND target = $1`, "case:"+strconv.FormatInt(across.ID, 10)); got != 1 {
			t.Errorf("sla.recompute audit entries: %d, want 1", got)
		}

		// Reloading again changes nothing.
		if err := w.eng.ReloadCalendar(ctx); err != nil {
			t.Fatal(err)
		}
		if got := countSteps(across.ID); got != 1 {
			t.Errorf("after a second reload: %d %s steps, want 1", got, ActRecomputed)
		}
		// The breach comes at the recomputed deadline, not at the provisional one.
		w.clk.Set(cst(2027, 1, 4, 9, 1))
		w.runDue(t)
		if got := w.get(t, across.ID).SLAState; got != StateOK {
			t.Errorf("on 2027-01-04 09:01 (the old deadline) sla_state = %s, want %s", got, StateOK)
		}
	})
}

// TestProvisionalRecomputedAtStart: an official schedule written while no
// engine reloaded it (a crash right after the import, or another replica)
// is applied by the next engine's start.
func TestProvisionalRecomputedAtStart(t *testing.T) {
	t.Parallel()
	eachWorld(t, thursday, func(t *testing.T, w *world) {
		ctx := context.Background()
		c := w.submit(t, "resident", "ZL0302", inA)
		if _, err := calendar.NewStore(w.d).Import(ctx, worldtest.Actor(), official2027()); err != nil {
			t.Fatal(err)
		}
		if got, want := at(w.open(t, c.ID).Deadline), "2027-01-04 09:00 Mon"; got != want {
			t.Fatalf("before the restart: deadline %s, want %s", got, want)
		}
		w.attach(t, w.d)
		if got, want := at(w.open(t, c.ID).Deadline), "2027-01-05 09:00 Tue"; got != want {
			t.Errorf("after the restart: deadline %s, want %s", got, want)
		}
	})
}

// TestProvisionalRecomputeKeepsThePause: a 2wd stage crossing New Year that
// stood suspended for 1.5 working hours is recomputed on an official
// schedule with a 调休 working Saturday, which pulls the deadline a day
// earlier; the pause still counts.
func TestProvisionalRecomputeKeepsThePause(t *testing.T) {
	t.Parallel()
	eachWorld(t, cst(2026, 12, 31, 10, 0), func(t *testing.T, w *world) {
		ctx := context.Background()
		c := w.submit(t, "resident", "ZL0302", inA)
		w.act(t, "staff-a", c.ID, casework.ActAccept, casework.Input{})
		w.act(t, "staff-a", c.ID, casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}})
		w.clk.Set(cst(2026, 12, 31, 11, 0))
		w.act(t, "staff-a", c.ID, casework.ActSuspend, casework.Input{Reason: "等待业主回复"})
		w.clk.Set(cst(2026, 12, 31, 14, 0))
		w.act(t, "staff-a", c.ID, casework.ActResume, casework.Input{})
		// Provisional: Friday 01-01 is 元旦, so 2 working days from Thursday
		// 10:00 end on Tuesday 10:00, and the pause adds 1.5 hours.
		st := w.open(t, c.ID)
		if got, want := at(st.Deadline), "2027-01-05 11:30 Tue"; got != want || !st.Provisional || st.Paused != 90*time.Minute {
			t.Fatalf("provisional: deadline %s (provisional %v, paused %v), want %s (true, 1h30m)", got, st.Provisional, st.Paused, want)
		}
		w.clk.Set(cst(2027, 1, 1, 12, 0))
		official := []calendar.Day{
			{Date: calendar.D(2027, time.January, 1), Kind: calendar.Holiday, Name: "元旦"},
			{Date: calendar.D(2027, time.January, 2), Kind: calendar.Workday, Name: "元旦"},
		}
		if _, err := w.eng.CalendarStore().Import(ctx, worldtest.Actor(), official); err != nil {
			t.Fatal(err)
		}
		if err := w.eng.ReloadCalendar(ctx); err != nil {
			t.Fatal(err)
		}
		st = w.open(t, c.ID)
		// Saturday 01-02 works: Thursday 10:00 + 2 working days is Monday
		// 10:00, plus the pause; the warning at 80% (12h) plus the pause
		// comes at the end of that Saturday.
		if got, want := at(st.Deadline), "2027-01-04 11:30 Mon"; got != want {
			t.Errorf("recomputed deadline %s, want %s", got, want)
		}
		if got, want := at(st.WarnAt), "2027-01-02 17:30 Sat"; got != want {
			t.Errorf("recomputed warning %s, want %s", got, want)
		}
		if st.Paused != 90*time.Minute || st.Budget != 15*time.Hour || st.Provisional {
			t.Errorf("paused %v budget %v provisional %v; want 1h30m, 15h, false", st.Paused, st.Budget, st.Provisional)
		}
		// The warning fires at its recomputed time, on the working Saturday.
		w.clk.Set(cst(2027, 1, 2, 17, 31))
		w.runDue(t)
		if got := w.get(t, c.ID).SLAState; got != StateWarning {
			t.Errorf("on the working Saturday after 17:30 sla_state = %s, want %s", got, StateWarning)
		}
	})
}
