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

func BenchmarkAddWorkingDuration(b *testing.B) {
	c := defaultCal(b)
	ts, ds := benchInputs(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = c.AddWorkingDuration(ts[i&1023], ds[i&1023])
		i++
	}
}

func BenchmarkAddWorkingDays(b *testing.B) {
	c := defaultCal(b)
	ts, _ := benchInputs(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = c.AddWorkingDays(ts[i&1023], 1+i&15)
		i++
	}
}

func BenchmarkWorkingBetween(b *testing.B) {
	c := defaultCal(b)
	ts, _ := benchInputs(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = c.WorkingBetween(ts[i&1023], ts[(i+1)&1023])
		i++
	}
}

// The Reference benchmarks time the property tests' naive calendar (it
// walks the days one by one, see reference) on the same inputs: the
// baseline that docs/BENCHMARKS.md sets the day table beside.

func BenchmarkReferenceAddWorkingDuration(b *testing.B) {
	r := newReference(b)
	ts, ds := benchInputs(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = r.add(ts[i&1023], ds[i&1023])
		i++
	}
}

func BenchmarkReferenceAddWorkingDays(b *testing.B) {
	r := newReference(b)
	ts, _ := benchInputs(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = r.addDays(ts[i&1023], 1+i&15)
		i++
	}
}

func BenchmarkReferenceWorkingBetween(b *testing.B) {
	r := newReference(b)
	ts, _ := benchInputs(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a, c := ts[i&1023], ts[(i+1)&1023]
		if c.Before(a) {
			a, c = c, a
		}
		_ = r.between(a, c)
		i++
	}
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
