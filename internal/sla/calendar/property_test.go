package calendar

import (
	"math/rand/v2"
	"testing"
	"time"
)

// reference is a deliberately naive working calendar: it walks the days
// one by one and builds every period's bounds with time.Date in Shanghai.
// It shares no code with the day table or the working clock, so agreeing
// with it on thousands of random cases is evidence, not a tautology.
type reference struct {
	loc     *time.Location
	work    func(y int, m time.Month, d int) bool
	periods [][2]time.Duration
}

func newReference(tb testing.TB) reference {
	return reference{
		loc:  shanghai(tb),
		work: expectedWork(tb),
		periods: [][2]time.Duration{
			{8*time.Hour + 30*time.Minute, 12 * time.Hour},
			{13*time.Hour + 30*time.Minute, 17*time.Hour + 30*time.Minute},
		},
	}
}

// bounds returns the periods of the local day that starts at midnight.
func (r reference) bounds(midnight time.Time) [][2]time.Time {
	y, m, d := midnight.Date()
	if !r.work(y, m, d) {
		return nil
	}
	out := make([][2]time.Time, len(r.periods))
	for i, p := range r.periods {
		out[i] = [2]time.Time{
			time.Date(y, m, d, 0, 0, 0, 0, r.loc).Add(p[0]),
			time.Date(y, m, d, 0, 0, 0, 0, r.loc).Add(p[1]),
		}
	}
	return out
}

func (r reference) midnight(t time.Time) time.Time {
	y, m, d := t.In(r.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, r.loc)
}

// between sums the overlap of [a, b) with every working period.
func (r reference) between(a, b time.Time) time.Duration {
	if b.Before(a) {
		return -r.between(b, a)
	}
	var sum time.Duration
	for day := r.midnight(a); day.Before(b); day = day.AddDate(0, 0, 1) {
		for _, p := range r.bounds(day) {
			lo, hi := p[0], p[1]
			if a.After(lo) {
				lo = a
			}
			if b.Before(hi) {
				hi = b
			}
			if hi.After(lo) {
				sum += hi.Sub(lo)
			}
		}
	}
	return sum
}

// add walks forward period by period until d > 0 is used up; the answer is
// where it runs out, which at a period's end is that end.
func (r reference) add(t time.Time, d time.Duration) time.Time {
	for day := r.midnight(t); ; day = day.AddDate(0, 0, 1) {
		for _, p := range r.bounds(day) {
			if !p[1].After(t) {
				continue
			}
			start := p[0]
			if t.After(start) {
				start = t
			}
			if avail := p[1].Sub(start); d <= avail {
				return start.Add(d)
			} else {
				d -= avail
			}
		}
	}
}

// next returns the first working instant at or after t.
func (r reference) next(t time.Time) time.Time {
	for day := r.midnight(t); ; day = day.AddDate(0, 0, 1) {
		for _, p := range r.bounds(day) {
			if p[1].After(t) {
				if t.After(p[0]) {
					return t
				}
				return p[0]
			}
		}
	}
}

// addDays moves to next(t), then to the same clock time n working days on.
func (r reference) addDays(t time.Time, n int) time.Time {
	s := r.next(t).In(r.loc)
	day := r.midnight(s)
	for n > 0 {
		day = day.AddDate(0, 0, 1)
		if y, m, d := day.Date(); r.work(y, m, d) {
			n--
		}
	}
	y, m, d := day.Date()
	return time.Date(y, m, d, s.Hour(), s.Minute(), s.Second(), s.Nanosecond(), r.loc)
}

// randomInstant draws from late 2024 to early 2027, so that the edges of
// the data (and the plain Monday-to-Friday years around it) are crossed. A
// third of the draws sit on or one nanosecond beside a period boundary or
// midnight, where off-by-one mistakes live.
func randomInstant(rng *rand.Rand, loc *time.Location) time.Time {
	day := time.Date(2024, 11, 1, 0, 0, 0, 0, loc).AddDate(0, 0, rng.IntN(850))
	switch rng.IntN(3) {
	case 0:
		edges := []time.Duration{0, 8*time.Hour + 30*time.Minute, 12 * time.Hour, 13*time.Hour + 30*time.Minute, 17*time.Hour + 30*time.Minute}
		jitter := []time.Duration{-time.Nanosecond, 0, 0, 0, time.Nanosecond}
		return day.Add(edges[rng.IntN(len(edges))] + jitter[rng.IntN(len(jitter))])
	case 1:
		return day.Add(time.Duration(rng.IntN(24*60)) * time.Minute)
	}
	return day.Add(time.Duration(rng.Int64N(int64(24 * time.Hour))))
}

// randomDuration draws whole working days, whole minutes, or nanoseconds,
// up to about 40 working days.
func randomDuration(rng *rand.Rand) time.Duration {
	switch rng.IntN(4) {
	case 0:
		return time.Duration(rng.IntN(40)) * (7*time.Hour + 30*time.Minute)
	case 1:
		return time.Duration(rng.IntN(300*60)) * time.Minute
	case 2:
		// whole mornings (3h30m) and afternoons (4h)
		return time.Duration(rng.IntN(4))*(3*time.Hour+30*time.Minute) + time.Duration(rng.IntN(4))*4*time.Hour
	}
	return time.Duration(rng.Int64N(int64(300 * time.Hour)))
}

// TestAgainstReference compares every operation with the naive reference
// on random instants and durations.
func TestAgainstReference(t *testing.T) {
	c := defaultCal(t)
	ref := newReference(t)
	rng := rand.New(rand.NewPCG(2025, 2026))
	const n = 6000
	for i := 0; i < n; i++ {
		start := randomInstant(rng, ref.loc)
		d := randomDuration(rng)
		if d > 0 {
			if got, want := c.AddWorkingDuration(start, d), ref.add(start, d); !got.Equal(want) {
				t.Fatalf("case %d: AddWorkingDuration(%s, %v) = %s, reference %s", i, start, d, got, want)
			}
		}
		u := randomInstant(rng, ref.loc)
		if got, want := c.WorkingBetween(start, u), ref.between(start, u); got != want {
			t.Fatalf("case %d: WorkingBetween(%s, %s) = %v, reference %v", i, start, u, got, want)
		}
		if got, want := c.NextWorking(start), ref.next(start); !got.Equal(want) {
			t.Fatalf("case %d: NextWorking(%s) = %s, reference %s", i, start, got, want)
		}
		k := 1 + rng.IntN(30)
		if got, want := c.AddWorkingDays(start, k), ref.addDays(start, k); !got.Equal(want) {
			t.Fatalf("case %d: AddWorkingDays(%s, %d) = %s, reference %s", i, start, k, got, want)
		}
	}
}

// TestInverseProperties checks, on random instants t, u and durations d ≥ 0
// (the working clock P(x) is the working time from a fixed origin to x):
//
//  1. WorkingBetween(t, AddWorkingDuration(t, d)) == d.
//  2. v := AddWorkingDuration(t, WorkingBetween(t, u)) for u ≥ t is the
//     earliest instant ≥ t at which the clock reads P(u): exactly,
//     WorkingBetween(t, v) == WorkingBetween(t, u), and v == t or the clock
//     ran during the nanosecond before v. Consequently v == u whenever u
//     is working time (not a period start), and always
//     NextWorking(v) == NextWorking(u): v and u normalise to the same
//     first working instant.
//  3. w := AddWorkingDuration(t, −d) for d > 0 is the latest instant with d
//     of working time before t: WorkingBetween(w, t) == d and the clock
//     runs during the nanosecond after w.
//  4. WorkingBetween(t, AddWorkingDays(t, n)) == n × DailyHours, and
//     WorkingBetween is antisymmetric.
func TestInverseProperties(t *testing.T) {
	c := defaultCal(t)
	loc := shanghai(t)
	rng := rand.New(rand.NewPCG(7, 12345))
	const n = 20000
	for i := 0; i < n; i++ {
		start := randomInstant(rng, loc)
		d := randomDuration(rng)

		end := c.AddWorkingDuration(start, d)
		if got := c.WorkingBetween(start, end); got != d {
			t.Fatalf("case %d: WorkingBetween(%s, Add(%s, %v) = %s) = %v, want %v", i, start, start, d, end, got, d)
		}
		if end.Before(start) {
			t.Fatalf("case %d: Add(%s, %v) = %s is before the start", i, start, d, end)
		}

		u := randomInstant(rng, loc)
		if u.Before(start) {
			start, u = u, start
		}
		w := c.WorkingBetween(start, u)
		if back := c.WorkingBetween(u, start); back != -w {
			t.Fatalf("case %d: WorkingBetween(%s, %s) = %v but reversed %v", i, start, u, w, back)
		}
		v := c.AddWorkingDuration(start, w)
		if got := c.WorkingBetween(start, v); got != w {
			t.Fatalf("case %d: v = Add(%s, %v) = %s: WorkingBetween(t, v) = %v, want %v", i, start, w, v, got, w)
		}
		if !v.Equal(start) && c.WorkingBetween(v.Add(-time.Nanosecond), v) != time.Nanosecond {
			t.Fatalf("case %d: v = Add(%s, %v) = %s is not the earliest instant with that working time", i, start, w, v)
		}
		if v.After(u) {
			t.Fatalf("case %d: v = %s is after u = %s", i, v, u)
		}
		if !c.NextWorking(v).Equal(c.NextWorking(u)) {
			t.Fatalf("case %d: NextWorking(v=%s) = %s, NextWorking(u=%s) = %s", i, v, c.NextWorking(v), u, c.NextWorking(u))
		}
		if c.IsWorkingTime(u.Add(-time.Nanosecond)) && c.IsWorkingTime(u) && !v.Equal(u) {
			t.Fatalf("case %d: u = %s is inside a working period but Add(t, WorkingBetween(t, u)) = %s", i, u, v)
		}

		if d > 0 {
			back := c.AddWorkingDuration(start, -d)
			if got := c.WorkingBetween(back, start); got != d {
				t.Fatalf("case %d: WorkingBetween(Add(%s, −%v) = %s, t) = %v, want %v", i, start, d, back, got, d)
			}
			if c.WorkingBetween(back, back.Add(time.Nanosecond)) != time.Nanosecond {
				t.Fatalf("case %d: Add(%s, −%v) = %s is not the latest instant with that working time", i, start, d, back)
			}
		}

		k := rng.IntN(61) - 30
		r := c.AddWorkingDays(start, k)
		want := time.Duration(k) * c.DailyHours()
		if got := c.WorkingBetween(start, r); got != want {
			t.Fatalf("case %d: WorkingBetween(%s, AddWorkingDays(t, %d) = %s) = %v, want %v", i, start, k, r, got, want)
		}
	}
}

// TestZoneHistory runs the reference comparison in 1986–1991, when China
// kept summer time (UTC+9): instants there take the time package's slow
// path instead of the Calendar's constant offset, and must still agree.
func TestZoneHistory(t *testing.T) {
	c := defaultCal(t)
	ref := newReference(t)
	loc := ref.loc
	if got, want := c.DateOf(time.Date(1988, 6, 2, 0, 30, 0, 0, loc)), D(1988, 6, 2); got != want {
		t.Fatalf("DateOf(1988-06-02 00:30 CDT) = %s, want %s", got, want)
	}
	rng := rand.New(rand.NewPCG(1986, 1991))
	for i := 0; i < 2000; i++ {
		start := time.Date(1986, 1, 1, 0, 0, 0, 0, loc).AddDate(0, 0, rng.IntN(6*365)).Add(time.Duration(rng.IntN(24*60)) * time.Minute)
		d := time.Duration(rng.IntN(100*60)) * time.Minute
		if d > 0 {
			if got, want := c.AddWorkingDuration(start, d), ref.add(start, d); !got.Equal(want) {
				t.Fatalf("case %d: AddWorkingDuration(%s, %v) = %s, reference %s", i, start, d, got, want)
			}
		}
		u := start.Add(time.Duration(rng.IntN(30*24)) * time.Hour)
		if got, want := c.WorkingBetween(start, u), ref.between(start, u); got != want {
			t.Fatalf("case %d: WorkingBetween(%s, %s) = %v, reference %v", i, start, u, got, want)
		}
	}
}
