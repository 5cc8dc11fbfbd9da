package calendar

import (
	"math/rand/v2"
	"testing"
	"time"
)

// benchInputs returns random instants across 2025–2026 and durations up
// to a few weeks of working time, the range real limits use.
func benchInputs(tb testing.TB) ([]time.Time, []time.Duration) {
	rng := rand.New(rand.NewPCG(1, 2))
	loc := shanghai(tb)
	ts := make([]time.Time, 1024)
	ds := make([]time.Duration, len(ts))
	for i := range ts {
		ts[i] = randomInstant(rng, loc).UTC() // callers hold UTC
		ds[i] = time.Duration(rng.Int64N(int64(150 * time.Hour)))
	}
	return ts, ds
}

// loop runs f on the benchmark inputs in turn: an instant, the next one
// and a duration; n counts the calls.
func loop(b *testing.B, f func(t, u time.Time, d time.Duration, n int)) {
	ts, ds := benchInputs(b)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		f(ts[n&1023], ts[(n+1)&1023], ds[n&1023], n)
		n++
	}
}

func BenchmarkAddWorkingDuration(b *testing.B) {
	c := defaultCal(b)
	loop(b, func(t, _ time.Time, d time.Duration, _ int) { _ = c.AddWorkingDuration(t, d) })
}

func BenchmarkAddWorkingDays(b *testing.B) {
	c := defaultCal(b)
	loop(b, func(t, _ time.Time, _ time.Duration, n int) { _ = c.AddWorkingDays(t, 1+n&15) })
}

func BenchmarkWorkingBetween(b *testing.B) {
	c := defaultCal(b)
	loop(b, func(t, u time.Time, _ time.Duration, _ int) { _ = c.WorkingBetween(t, u) })
}

// The Reference benchmarks time the property tests' naive calendar (it
// walks the days one by one, see reference) on the same inputs: the
// baseline that docs/BENCHMARKS.md sets the day table beside.

func BenchmarkReferenceAddWorkingDuration(b *testing.B) {
	r := newReference(b)
	loop(b, func(t, _ time.Time, d time.Duration, _ int) { _ = r.add(t, d) })
}

func BenchmarkReferenceAddWorkingDays(b *testing.B) {
	r := newReference(b)
	loop(b, func(t, _ time.Time, _ time.Duration, n int) { _ = r.addDays(t, 1+n&15) })
}

func BenchmarkReferenceWorkingBetween(b *testing.B) {
	r := newReference(b)
	loop(b, func(t, u time.Time, _ time.Duration, _ int) {
		if u.Before(t) {
			t, u = u, t
		}
		_ = r.between(t, u)
	})
}

// TestNoAllocations pins the zero-allocation property the benchmarks show,
// so a regression fails a test rather than waiting for someone to read a
// benchmark. It counts allocations, not time.
func TestNoAllocations(t *testing.T) {
	c := defaultCal(t)
	start := at(t, "2025-09-26 16:00").UTC()
	end := at(t, "2025-10-20 10:00").UTC()
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"AddWorkingDuration", func() { _ = c.AddWorkingDuration(start, 40*time.Hour) }},
		{"AddWorkingDays", func() { _ = c.AddWorkingDays(start, 7) }},
		{"WorkingBetween", func() { _ = c.WorkingBetween(start, end) }},
		{"Deadline", func() { _ = c.Deadline(start, Limit{Unit: WorkingDays, Days: 3}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := testing.AllocsPerRun(100, tc.f); got != 0 {
				t.Errorf("%s allocates %v times per call, want 0", tc.name, got)
			}
		})
	}
}
