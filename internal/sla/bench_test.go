package sla

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"strconv"
	"syscall"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/sla/calendar"
	"whistle/internal/timer"
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

// TestFireRate measures how fast one timer runner fires the SLA's due
// timers with many pending: by default 1,000,000 pending kernel timers
// (WHISTLE_BENCH_TIMERS), of which 10,000 (WHISTLE_BENCH_DUE) fall due in
// each round. On each database it fires the due warnings, then the due
// breaches (with their escalation), the runner's default timer.Config.Group
// of timers per transaction (timer.DefaultGroup); then, as the baseline, the bare kernel: as
// many timers of a kind whose batch handler does nothing, among as many
// pending. Every round must fire exactly the due timers. The firing runs
// as the server runs it: the case service counts the steps in the rollups
// (stats, as cmd/whistle wires them; WHISTLE_BENCH_ROLLUPS=0 leaves them
// out, as every figure before 2026-12-07 23:00 did), and Go's collector
// runs at serve's --gc-percent of 400 unless GOGC is set (the figures
// before ran at Go's 100). Its first line says which. It is a benchmark,
// skipped unless WHISTLE_BENCH=1:
//
//	WHISTLE_BENCH=1 WHISTLE_TEST_POSTGRES=postgres://… go test -run TestFireRate -v -timeout 90m ./internal/sla/
//
// Besides the lines for people, it logs one line per round, and one for
// the time the runner's query takes to pick due timers out of the pending
// ones, for internal/benchreport (scripts/bench.sh keeps the output):
//
//	firerate store=sqlite round=warnings group=100 fired=10000 pending=1000000 seconds=9.520 per_second=1050.4
//	firerate store=sqlite round=bare group=100 fired=10000 pending=1000000 seconds=0.520 per_second=19230.8
//	firerate store=sqlite claim_ms=0.052 pending=1000000 due=10000
//
// serveGCPercent is `whistle serve`'s default --gc-percent.
const serveGCPercent = 400

func TestFireRate(t *testing.T) {
	if os.Getenv("WHISTLE_BENCH") != "1" {
		t.Skip("a benchmark: set WHISTLE_BENCH=1 to run it")
	}
	pending := benchSize(t, "WHISTLE_BENCH_TIMERS", 1_000_000)
	due := benchSize(t, "WHISTLE_BENCH_DUE", 10_000)
	if pending < 2*due {
		t.Fatalf("%d pending timers cannot hold %d due cases of two timers each", pending, due)
	}
	rollups := os.Getenv("WHISTLE_BENCH_ROLLUPS") != "0"
	gc := "GOGC=" + os.Getenv("GOGC") + " from the environment"
	if os.Getenv("GOGC") == "" {
		prev := debug.SetGCPercent(serveGCPercent)
		defer debug.SetGCPercent(prev)
		gc = fmt.Sprintf("GC percent %d (serve's --gc-percent)", serveGCPercent)
	}
	t.Logf("firing as the server does: %s, rollups %v", gc, rollups)
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			clk := clock.NewFake(friday)
			w := newWorld(t, dbtest.MustOpenDB(t, dialect, clk), clk)
			if rollups {
				w.AddStats(t, w.eng.Calendar)
				t.Logf("%s: with the rollups", dialect)
			}
			start := time.Now()
			ids := w.cloneCases(t, w.submit(t, "resident", "ZL0302", inA), due)
			t.Logf("%s: %d cases with open stages (%d timers) in %v", dialect, len(ids), 2*len(ids), time.Since(start).Round(time.Millisecond))
			start = time.Now()
			fillTimers(t, w.d, ids, pending-2*len(ids))
			t.Logf("%s: %d far-future timers inserted in %v", dialect, pending-2*len(ids), time.Since(start).Round(time.Millisecond))
			if got := w.count(t, `SELECT COUNT(*) FROM kernel_timers`); got != pending {
				t.Fatalf("got %d pending timers, want %d", got, pending)
			}
			analyze(t, w.d)
			// The cases entered their accept stage (2h) on Friday at 16:00:
			// their warnings fall due before 8:50 on Sunday, a make-up
			// workday, and their breaches at 9:00. The breaches'
			// supervisions (1wd) fall due on Monday, after every round.
			// fireRound checks each round against the timers due.
			clk.Set(cst(2025, 9, 28, 8, 50))
			w.logClaim(t, dialect, due)
			w.fireRound(t, dialect, "warnings", w.runner(timer.Config{}), due)
			clk.Set(cst(2025, 9, 28, 9, 0))
			w.fireRound(t, dialect, "breaches", w.runner(timer.Config{}), due)

			// The baseline: as many timers of a kind with a no-op batch
			// handler, due now among about as many pending, fired by the
			// same runner: the kernel's own cost, without the SLA's effect.
			bare := make([]timer.Arming, due)
			for i := range bare {
				bare[i] = timer.Arming{Key: timer.Key{Kind: "bench.noop", Subject: strconv.Itoa(i), Name: "t"}, Due: clk.Now()}
			}
			err := w.d.InTx(context.Background(), func(tx *db.Tx) error { return timer.ArmMany(context.Background(), tx, bare) })
			if err != nil {
				t.Fatal(err)
			}
			analyze(t, w.d)
			r := timer.NewRunner(w.d, timer.Config{})
			r.HandleBatch("bench.noop", func(context.Context, *db.Tx, []timer.Timer) error { return nil })
			w.fireRound(t, dialect, "bare", r, due)
		})
	}
}

// analyze refreshes PostgreSQL's planner statistics after a bulk load.
func analyze(t *testing.T, d *db.DB) {
	t.Helper()
	if d.Dialect() != db.Postgres {
		return
	}
	err := d.InTx(context.Background(), func(tx *db.Tx) error {
		_, err := tx.Exec(context.Background(), `ANALYZE kernel_timers`)
		return err
	})
	if err != nil {
		t.Fatal(err)
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

// fireRound runs r over the timers due now and checks that it fires
// exactly want of them and leaves none due.
func (w *world) fireRound(t *testing.T, dialect db.Dialect, round string, r *timer.Runner, want int) {
	t.Helper()
	ctx := context.Background()
	now := w.clk.Now().UTC()
	pending := w.count(t, `SELECT COUNT(*) FROM kernel_timers`)
	if n := w.count(t, `SELECT COUNT(*) FROM kernel_timers WHERE run_at <= $1`, now); n != want {
		t.Fatalf("%s: %d timers due before the round, want %d", round, n, want)
	}
	cpu0 := processCPU(t)
	start := time.Now()
	n, err := r.RunDue(ctx)
	el := time.Since(start)
	cpu := processCPU(t) - cpu0
	if err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("%s: fired %d, want %d", round, n, want)
	}
	if left := w.count(t, `SELECT COUNT(*) FROM kernel_timers WHERE run_at <= $1`, now); left != 0 {
		t.Fatalf("%s: %d due timers left unfired", round, left)
	}
	group := timer.DefaultGroup(dialect) // the runners' Group: their Config leaves it at the default
	t.Logf("%s: %s, %d per transaction: fired %d of %d pending in %v: %.0f timers/s, %v per timer",
		dialect, round, group, n, pending, el.Round(time.Millisecond), float64(n)/el.Seconds(), (el / time.Duration(n)).Round(time.Microsecond))
	t.Logf("firerate store=%s round=%s group=%d fired=%d pending=%d seconds=%.3f per_second=%.1f",
		dialect, round, group, n, pending, el.Seconds(), float64(n)/el.Seconds())
	// The test process's CPU time (user and system) in the round, a
	// timer: on SQLite all of the firing's work, and less sensitive than
	// the rate to what else the machine runs. PostgreSQL's own work is in
	// its server's processes, not here.
	t.Logf("%s: %s: %v of this process's CPU time, %.1f µs a timer", dialect, round, cpu.Round(time.Millisecond), float64(cpu.Microseconds())/float64(n))
}

// processCPU returns the user and system CPU time the test process has
// used so far.
func processCPU(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// logClaim times the query with which a runner picks the first group of
// due timers out of the pending ones (the inner SELECT of its claim),
// without claiming them.
func (w *world) logClaim(t *testing.T, dialect db.Dialect, due int) {
	t.Helper()
	ctx := context.Background()
	now := w.clk.Now().UTC()
	pending := w.count(t, `SELECT COUNT(*) FROM kernel_timers`)
	const runs = 200
	start := time.Now()
	for range runs {
		kind := "+kind" // as the runner's claim writes it (see timer.Runner.fireBatch)
		if dialect == db.Postgres {
			kind = "kind"
		}
		rows, err := w.d.Query(ctx, `SELECT id FROM kernel_timers WHERE run_at <= $1 AND `+kind+` IN ($2, $3, $4) ORDER BY run_at, id LIMIT $5`,
			now, TimerWarning, TimerBreach, TimerSupervision, 100)
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

// fillTimers arms n SLA timers due in 2030 and later on the given cases
// (names no stage or supervision has), many a transaction.
func fillTimers(t *testing.T, d *db.DB, caseIDs []int64, n int) {
	t.Helper()
	ctx := context.Background()
	due := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	kinds := []string{TimerWarning, TimerBreach, TimerSupervision}
	for done := 0; done < n; {
		m := min(20000, n-done)
		as := make([]timer.Arming, m)
		for i := range as {
			j := done + i
			as[i] = timer.Arming{Key: TimerKey(kinds[j%3], caseIDs[j%len(caseIDs)], int64(1_000_000_000+j)), Due: due.Add(time.Duration(j) * time.Second)}
		}
		if err := d.InTx(ctx, func(tx *db.Tx) error { return timer.ArmMany(ctx, tx, as) }); err != nil {
			t.Fatal(err)
		}
		done += m
	}
}
