package sla

import (
	"context"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/sla/calendar"
)

// BenchmarkDeadline measures PlanDeadline, the arithmetic done when a case
// enters a stage: the deadline of a limit on the working calendar and its
// warning at 80%.
func BenchmarkDeadline(b *testing.B) {
	cal, err := calendar.Default()
	if err != nil {
		b.Fatal(err)
	}
	var limits []calendar.Limit
	for _, s := range []string{"2h", "30m", "4h", "1wd", "2wd", "3wd", "6ch", "15wd"} {
		l, err := calendar.ParseLimit(s)
		if err != nil {
			b.Fatal(err)
		}
		limits = append(limits, l)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	starts := make([]time.Time, 1024)
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range starts {
		starts[i] = base.Add(time.Duration(rng.Int64N(int64(2 * 365 * 24 * time.Hour))))
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = PlanDeadline(cal, starts[i&1023], limits[i&7], 80)
		i++
	}
}

// TestPlanDeadlineAllocatesNothing pins what the benchmark shows, so that a
// regression fails a test. It counts allocations, not time, and does not
// run in parallel: other tests' allocations would count.
func TestPlanDeadlineAllocatesNothing(t *testing.T) {
	cal, err := calendar.Default()
	if err != nil {
		t.Fatal(err)
	}
	l, _ := calendar.ParseLimit("2wd")
	if n := testing.AllocsPerRun(100, func() { _ = PlanDeadline(cal, friday.UTC(), l, 80) }); n != 0 {
		t.Errorf("got %v allocations per call, want 0", n)
	}
}

func TestPlanDeadline(t *testing.T) {
	t.Parallel()
	cal, err := calendar.Default()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, limit     string
		start           time.Time
		deadline, warn  string
		budget          time.Duration
		warnPct         int
		wantNaturalTime bool
	}{
		{"2wd over a make-up Sunday", "2wd", friday, "2025-09-29 16:00 Mon", "2025-09-29 11:30 Mon", 15 * time.Hour, 80, false},
		{"2h from the lunch break", "2h", cst(2025, 9, 26, 12, 30), "2025-09-26 15:30 Fri", "2025-09-26 15:06 Fri", 2 * time.Hour, 80, false},
		{"1h on a holiday eve", "1h", cst(2025, 9, 30, 17, 0), "2025-10-09 09:00 Thu", "2025-09-30 17:30 Tue", time.Hour, 50, false},
		{"30m ending at noon", "30m", cst(2025, 9, 26, 11, 30), "2025-09-26 12:00 Fri", "2025-09-26 11:54 Fri", 30 * time.Minute, 80, false},
		{"natural hours through the night", "6ch", cst(2025, 9, 30, 20, 0), "2025-10-01 02:00 Wed", "2025-10-01 00:48 Wed", 6 * time.Hour, 80, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := calendar.ParseLimit(tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			p := PlanDeadline(cal, tt.start.UTC(), l, tt.warnPct)
			if got, want := at(p.Deadline)+" / "+at(p.WarnAt)+" / "+p.Budget.String(), tt.deadline+" / "+tt.warn+" / "+tt.budget.String(); got != want {
				t.Errorf("got %s, want %s", got, want)
			}
			if (l.Unit == calendar.NaturalTime) != tt.wantNaturalTime {
				t.Errorf("natural: got %v", l.Unit == calendar.NaturalTime)
			}
		})
	}
}

// TestFireRate measures how fast one scheduler fires due timers with many
// pending: by default 1,000,000 pending timers (WHISTLE_BENCH_TIMERS), of
// which 10,000 (WHISTLE_BENCH_DUE) fall due in each round. On each
// database it fires the due warnings, then the due breaches (with their
// escalation), the scheduler's default SchedulerConfig.Group of timers per
// transaction; then, as the baseline, the same two rounds on as many fresh
// cases, one timer per transaction (Group 1). Every round must fire
// exactly the due timers. It is a benchmark, skipped unless WHISTLE_BENCH=1:
//
//	WHISTLE_BENCH=1 WHISTLE_TEST_POSTGRES=postgres://… go test -run TestFireRate -v -timeout 90m ./internal/sla/
//
// Besides the lines for people, it logs one line per round, and one for
// the time the claim's query takes to pick due timers out of the pending
// ones, for internal/benchreport (scripts/bench.sh keeps the output):
//
//	firerate store=sqlite round=warnings group=20 fired=10000 pending=1000000 seconds=9.520 per_second=1050.4
//	firerate store=sqlite claim_ms=0.052 pending=1000000 due=10000
func TestFireRate(t *testing.T) {
	if os.Getenv("WHISTLE_BENCH") != "1" {
		t.Skip("a benchmark: set WHISTLE_BENCH=1 to run it")
	}
	pending := benchSize(t, "WHISTLE_BENCH_TIMERS", 1_000_000)
	due := benchSize(t, "WHISTLE_BENCH_DUE", 10_000)
	if pending < 2*due {
		t.Fatalf("%d pending timers cannot hold %d due cases of two timers each", pending, due)
	}
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			clk := clock.NewFake(friday)
			w := newWorld(t, dbtest.MustOpenDB(t, dialect, clk), clk)
			start := time.Now()
			ids := w.cloneCases(t, w.submit(t, "resident", "ZL0302", inA), due)
			t.Logf("%s: %d cases with open stages (%d timers) in %v", dialect, len(ids), 2*len(ids), time.Since(start).Round(time.Millisecond))
			start = time.Now()
			fillTimers(t, w.d, ids, pending-2*len(ids))
			t.Logf("%s: %d far-future timers inserted in %v", dialect, pending-2*len(ids), time.Since(start).Round(time.Millisecond))
			if got := w.count(t, `SELECT COUNT(*) FROM timers WHERE fired_at IS NULL`); got != pending {
				t.Fatalf("got %d pending timers, want %d", got, pending)
			}
			if dialect == db.Postgres {
				err := w.d.InTx(context.Background(), func(tx *db.Tx) error {
					_, err := tx.Exec(context.Background(), `ANALYZE timers`)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
			}
			// The cases entered their accept stage (2h) on Friday at 16:00:
			// their warnings fall due before 8:50 on Sunday, a make-up
			// workday, and their breaches at 9:00. The breaches'
			// supervisions (1wd) fall due on Monday, after every round.
			// fireRound checks each round against the timers due.
			clk.Set(cst(2025, 9, 28, 8, 50))
			w.logClaim(t, dialect, due)
			w.fireRound(t, dialect, "warnings", 0, due)
			clk.Set(cst(2025, 9, 28, 9, 0))
			w.fireRound(t, dialect, "breaches", 0, due)

			// The baseline: as many fresh cases entering their accept stage
			// at 9:00 (warnings due before 10:50, breaches at 11:00), fired
			// one timer per transaction.
			start = time.Now()
			ids = w.cloneCases(t, w.submit(t, "resident", "ZL0302", inA), due)
			t.Logf("%s: %d more cases with open stages for the baseline in %v", dialect, len(ids), time.Since(start).Round(time.Millisecond))
			clk.Set(cst(2025, 9, 28, 10, 50))
			w.fireRound(t, dialect, "warnings", 1, due)
			clk.Set(cst(2025, 9, 28, 11, 0))
			w.fireRound(t, dialect, "breaches", 1, due)
		})
	}
}

// benchSize reads a positive count from the environment variable name, or
// returns def when it is unset.
func benchSize(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive whole number", name, v)
	}
	return n
}

// fireRound runs one scheduler over the timers due now, group timers per
// transaction (0: the scheduler's default), and checks that it fires
// exactly want of them and leaves none due.
func (w *world) fireRound(t *testing.T, dialect db.Dialect, round string, group, want int) {
	t.Helper()
	ctx := context.Background()
	now := w.clk.Now().UTC()
	pending := w.count(t, `SELECT COUNT(*) FROM timers WHERE fired_at IS NULL`)
	if n := w.count(t, `SELECT COUNT(*) FROM timers WHERE fired_at IS NULL AND due_at <= $1`, now); n != want {
		t.Fatalf("%s: %d timers due before the round, want %d", round, n, want)
	}
	s := w.eng.NewScheduler(SchedulerConfig{Group: group})
	start := time.Now()
	n, err := s.RunDue(ctx)
	el := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("%s: fired %d, want %d", round, n, want)
	}
	if left := w.count(t, `SELECT COUNT(*) FROM timers WHERE fired_at IS NULL AND due_at <= $1`, now); left != 0 {
		t.Fatalf("%s: %d due timers left unfired", round, left)
	}
	group = s.cfg.Group
	t.Logf("%s: %s, %d per transaction: fired %d of %d pending in %v: %.0f timers/s, %v per timer",
		dialect, round, group, n, pending, el.Round(time.Millisecond), float64(n)/el.Seconds(), (el / time.Duration(n)).Round(time.Microsecond))
	t.Logf("firerate store=%s round=%s group=%d fired=%d pending=%d seconds=%.3f per_second=%.1f",
		dialect, round, group, n, pending, el.Seconds(), float64(n)/el.Seconds())
}

// logClaim times the query with which a scheduler's claim picks the first
// batch of due timers out of the pending ones (the inner SELECT of
// Scheduler.claim), without claiming them.
func (w *world) logClaim(t *testing.T, dialect db.Dialect, due int) {
	t.Helper()
	ctx := context.Background()
	now := w.clk.Now().UTC()
	pending := w.count(t, `SELECT COUNT(*) FROM timers WHERE fired_at IS NULL`)
	const runs = 200
	start := time.Now()
	for range runs {
		rows, err := w.d.Query(ctx, `SELECT id FROM timers WHERE fired_at IS NULL AND due_at <= $1 AND (lease_until IS NULL OR lease_until <= $1)
			ORDER BY due_at, id LIMIT $2`, now, 100)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if n != min(due, 100) {
			t.Fatalf("claim query: %d timers, want %d", n, min(due, 100))
		}
	}
	ms := float64(time.Since(start).Microseconds()) / 1000 / runs
	t.Logf("%s: the claim's query picks %d due timers out of %d pending in %.3f ms", dialect, min(due, 100), pending, ms)
	t.Logf("firerate store=%s claim_ms=%.3f pending=%d due=%d", dialect, ms, pending, due)
}

// fillTimers inserts n timers due in 2030 and later on the given cases, in
// multi-row statements.
func fillTimers(t *testing.T, d *db.DB, caseIDs []int64, n int) {
	t.Helper()
	ctx := context.Background()
	const rows = 500
	due := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for done := 0; done < n; {
		err := d.InTx(ctx, func(tx *db.Tx) error {
			for k := 0; k < 40 && done < n; k++ {
				m := min(rows, n-done)
				var b strings.Builder
				b.WriteString(`INSERT INTO timers (due_at, kind, case_id, created_at) VALUES `)
				args := make([]any, 0, 3*m+1)
				args = append(args, tx.Now())
				for i := 0; i < m; i++ {
					if i > 0 {
						b.WriteString(", ")
					}
					j := done + i
					args = append(args, due.Add(time.Duration(j)*time.Second), []string{kindWarning, kindBreach, kindSupervision}[j%3], caseIDs[j%len(caseIDs)])
					p := len(args)
					b.WriteString("($" + strconv.Itoa(p-2) + ", $" + strconv.Itoa(p-1) + ", $" + strconv.Itoa(p) + ", $1)")
				}
				if _, err := tx.Exec(ctx, b.String(), args...); err != nil {
					return err
				}
				done += m
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
