package sla

import (
	"context"
	"testing"
	"time"

	"whistle/internal/casework"
	"whistle/internal/sla/calendar"
)

// TestTimeLeft counts what is left in the limit's unit: working hours by
// the calendar (the night and the weekend do not count), working days, and
// natural hours for an urgent case.
func TestTimeLeft(t *testing.T) {
	t.Parallel()
	eachWorld(t, friday, func(t *testing.T, w *world) {
		ctx := context.Background()
		// 卫生死角 (ZL0302) submitted Friday 16:00: accept in 2 working
		// hours, due Sunday 09:00 (a make-up workday), 41 clock hours away.
		ws := w.submit(t, "resident", "ZL0302", inA)
		urgent := w.submit(t, "resident", "ZL0202", inA) // 燃气隐患: 2ch to accept
		left := func(id int64) Left {
			t.Helper()
			m, err := w.eng.TimeLeft(ctx, []int64{id, 999999}, w.clk.Now())
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := m[999999]; ok {
				t.Errorf("a case without a stage has a time left")
			}
			return m[id]
		}
		steps := []struct {
			name      string
			advance   time.Duration
			id        int64
			unit      calendar.Unit
			remaining time.Duration
			deadline  string
		}{
			{"urgent: 2 natural hours", 0, urgent.ID, calendar.NaturalTime, 2 * time.Hour, "2025-09-26 18:00 Fri"},
			{"at submission: the whole 2 working hours", 0, ws.ID, calendar.WorkingTime, 2 * time.Hour, "2025-09-28 09:00 Sun"},
			{"an hour later: one working hour", time.Hour, ws.ID, calendar.WorkingTime, time.Hour, "2025-09-28 09:00 Sun"},
			{"after work: the evening does not count", time.Hour, ws.ID, calendar.WorkingTime, 30 * time.Minute, "2025-09-28 09:00 Sun"},
			{"urgent at 18:00: natural time counts the evening", 0, urgent.ID, calendar.NaturalTime, 0, "2025-09-26 18:00 Fri"},
			{"Sunday 09:30: half a working hour over", 39*time.Hour + 30*time.Minute, ws.ID, calendar.WorkingTime, -30 * time.Minute, "2025-09-28 09:00 Sun"},
		}
		for _, s := range steps {
			w.clk.Advance(s.advance)
			got := left(s.id)
			if got.Unit != s.unit || got.Remaining != s.remaining || at(got.Deadline) != s.deadline {
				t.Errorf("%s: got %v %v %s, want %v %v %s", s.name, got.Unit, got.Remaining, at(got.Deadline), s.unit, s.remaining, s.deadline)
			}
		}
		// Dispatched: the category's 2 working days, counted in days.
		w.act(t, "staff-a", ws.ID, casework.ActAccept, casework.Input{})
		w.act(t, "staff-a", ws.ID, casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}})
		got := left(ws.ID)
		if got.Unit != calendar.WorkingDays || got.Days != 2 || got.Overdue() {
			t.Errorf("dispatched: got %v %v days, want working days 2", got.Unit, got.Days)
		}
	})
}
