package calendar

import (
	"math"
	"time"
)

// The arithmetic works on a "working clock": position(t) is the working
// time from a fixed origin up to t. It is a day part, wrank(day) × daily
// (the working days before t's day), plus the working time already spent
// on t's day when that day is a working day. The clock stands still at
// night, at lunch, at weekends and on holidays, and every operation is a
// few table look-ups on it, whatever the distance:
//
//   - WorkingBetween(a, b) = position(b) − position(a);
//   - AddWorkingDuration(t, d) returns the instant at which the clock has
//     moved d from position(t): the earliest such instant when d > 0 (so a
//     limit that runs out at 12:00 expires at 12:00, not at 13:30), the
//     latest when d < 0 (so "1h before a 09:00 deadline" is 17:00 the
//     previous working day and "30m before" is 08:30, not 17:30).
//
// Positions are kept as (k, f) pairs — k working days, f nanoseconds into
// the next — so that instants far from the table (even the zero time) do
// not overflow int64.

// split returns t's local day number and the nanoseconds since local midnight.
func (c *Calendar) split(t time.Time) (day, tod int64) {
	sec := t.Unix()
	sec += c.offset(sec)
	day = floorDiv(sec, secPerDay)
	tod = (sec-day*secPerDay)*int64(time.Second) + int64(t.Nanosecond())
	return day, tod
}

// join is the inverse of split; the result is in loc.
func (c *Calendar) join(day, tod int64, loc *time.Location) time.Time {
	local := day*secPerDay + tod/int64(time.Second)
	nsec := tod % int64(time.Second)
	// The offset at the wall time is found by trying the offset at the
	// naive instant and, should a transition lie between, the corrected
	// one. Asia/Shanghai has had no transition since 1991, so the first
	// guess is the answer for any instant Whistle will see.
	off := c.offset(local)
	u := local - off
	if off2 := c.offset(u); off2 != off {
		u = local - off2
	}
	return time.Unix(u, nsec).In(loc)
}

// offset returns the zone's UTC offset in seconds at Unix time sec. Inside
// the zone period that contains the calendar's years (for Asia/Shanghai,
// from 1991 on) it is a constant read from the Calendar, which halves the
// cost of a call; elsewhere it asks the time package.
func (c *Calendar) offset(sec int64) int64 {
	if sec >= c.zoneFrom && sec < c.zoneTo {
		return c.zoneOff
	}
	_, off := time.Unix(sec, 0).In(c.loc).Zone()
	return int64(off)
}

// plainWork reports whether a day is Monday to Friday.
func plainWork(day int64) bool {
	wd := weekdayOf(day)
	return wd != time.Saturday && wd != time.Sunday
}

// plainRank counts Monday-to-Friday days in [0, day) (negative for day < 0).
// Day 0 is a Thursday, so a week counted from it runs Thu Fri Sat Sun Mon
// Tue Wed.
func plainRank(day int64) int64 {
	before := [7]int64{0, 1, 2, 2, 2, 3, 4}
	return 5*floorDiv(day, 7) + before[floorMod(day, 7)]
}

// plainNth returns the k-th Monday-to-Friday day counted from day 0 (k may
// be negative): the inverse of plainRank on working days.
func plainNth(k int64) int64 {
	offset := [5]int64{0, 1, 4, 5, 6}
	return 7*floorDiv(k, 5) + offset[floorMod(k, 5)]
}

// isWork reports whether a day number is a working day.
func (c *Calendar) isWork(day int64) bool {
	if day >= c.lo && day < c.hi {
		i := day - c.lo
		return c.rank[i+1] != c.rank[i]
	}
	return plainWork(day)
}

// wrank counts working days before day, on one continuous scale: plain
// Monday to Friday before the table, the table's own count inside it, and
// plain Monday to Friday again after it.
func (c *Calendar) wrank(day int64) int64 {
	switch {
	case day <= c.lo:
		return plainRank(day)
	case day <= c.hi:
		return c.base + int64(c.rank[day-c.lo])
	default:
		return c.base + int64(c.rank[c.hi-c.lo]) + plainRank(day) - plainRank(c.hi)
	}
}

// nthWorkday returns the working day d with wrank(d) == k.
func (c *Calendar) nthWorkday(k int64) int64 {
	inTable := int64(len(c.nth))
	switch {
	case k < c.base:
		return plainNth(k)
	case k < c.base+inTable:
		return c.lo + int64(c.nth[k-c.base])
	default:
		return plainNth(k - c.base - inTable + plainRank(c.hi))
	}
}

// within returns the working time of a working day before time of day tod.
func (c *Calendar) within(tod int64) int64 {
	for _, s := range c.spans {
		if tod < s.end {
			return s.cum + max(tod-s.start, 0)
		}
	}
	return c.daily
}

// earliest returns the earliest time of day by which w ∈ (0, daily] of
// working time has passed: at a period's end, the end, not the next start.
func (c *Calendar) earliest(w int64) int64 {
	for _, s := range c.spans {
		if w <= s.cum+s.end-s.start {
			return s.start + w - s.cum
		}
	}
	return c.spans[len(c.spans)-1].end
}

// latest returns the latest time of day by which w ∈ [0, daily) of working
// time has passed: at a period's end, the next period's start.
func (c *Calendar) latest(w int64) int64 {
	for _, s := range c.spans {
		if w < s.cum+s.end-s.start {
			return s.start + w - s.cum
		}
	}
	return c.spans[len(c.spans)-1].end
}

// position returns t on the working clock as (working days, time into the next).
func (c *Calendar) position(t time.Time) (k, f int64) {
	day, tod := c.split(t)
	k = c.wrank(day)
	if c.isWork(day) {
		f = c.within(tod)
	}
	return k, f
}

// AddWorkingDuration returns the instant at which d of working time has
// passed since t. Nights, the lunch break, weekends and holidays do not
// count; an instant outside working hours starts counting at the next
// working period. When the time runs out exactly at the end of a period the
// result is that end (11:50 + 10m = 12:00, not 13:30). d = 0 returns t
// unchanged; d < 0 counts backwards and returns the latest instant with
// d of working time before t (09:00 − 30m = 08:30 the same day).
// The result is in t's location.
func (c *Calendar) AddWorkingDuration(t time.Time, d time.Duration) time.Time {
	if d == 0 {
		return t
	}
	k, f := c.position(t)
	h := c.daily
	// Splitting d first keeps f + r within (−h, 2h): no overflow for any d.
	q, r := int64(d)/h, int64(d)%h
	total := f + r
	k += q + floorDiv(total, h)
	w := floorMod(total, h)
	if d > 0 {
		if w == 0 {
			k, w = k-1, h // the end of the previous working day, not the next start
		}
		return c.join(c.nthWorkday(k), c.earliest(w), t.Location())
	}
	return c.join(c.nthWorkday(k), c.latest(w), t.Location())
}

// WorkingBetween returns the working time in [a, b), negative when b is
// before a. It saturates at the limits of time.Duration.
func (c *Calendar) WorkingBetween(a, b time.Time) time.Duration {
	if b.Before(a) {
		return -c.WorkingBetween(b, a)
	}
	ka, fa := c.position(a)
	kb, fb := c.position(b)
	dk := kb - ka
	if dk > math.MaxInt64/c.daily-2 {
		return math.MaxInt64
	}
	return time.Duration(dk*c.daily + fb - fa)
}

// NextWorking returns t if it is working time (see IsWorkingTime), and
// otherwise the start of the next working period: the instant at which a
// limit started at t begins to run.
func (c *Calendar) NextWorking(t time.Time) time.Time {
	day, tod := c.split(t)
	d, tod2 := c.forward(day, tod)
	if d == day && tod2 == tod {
		return t
	}
	return c.join(d, tod2, t.Location())
}

// forward moves (day, tod) to the first working instant at or after it.
func (c *Calendar) forward(day, tod int64) (int64, int64) {
	if c.isWork(day) {
		for _, s := range c.spans {
			if tod < s.end {
				return day, max(tod, s.start)
			}
		}
	}
	return c.nthWorkday(c.wrank(day + 1)), c.spans[0].start
}

// backward moves (day, tod) to the last instant at or before it that ends
// working time: inside a period, or at its end.
func (c *Calendar) backward(day, tod int64) (int64, int64) {
	if c.isWork(day) {
		for i := len(c.spans) - 1; i >= 0; i-- {
			if s := c.spans[i]; tod > s.start {
				return day, min(tod, s.end)
			}
		}
	}
	return c.nthWorkday(c.wrank(day) - 1), c.spans[len(c.spans)-1].end
}

// AddWorkingDays returns the same clock time n working days later.
//
// Exactly: t is first moved to the first working instant at or after it
// (NextWorking: 07:00 → 08:30, 12:30 → 13:30, 17:30 or 20:00 → 08:30 the
// next working day, a weekend or holiday → 08:30 the next working day),
// and the result is that clock time on the n-th working day after that
// day. So Friday 2025-09-26 16:00 + 2 = Monday 09-29 16:00 (Sunday 09-28 is
// a make-up workday), and a start on a holiday counts from the start of the
// next working day: 2025-10-03 10:00 + 1 = 2025-10-10 08:30. On the working
// clock the result is always exactly n × DailyHours after t.
//
// n = 0 returns t unchanged. For n < 0, t is moved to the last working
// instant at or before it (12:30 → 12:00, 08:00 → 17:30 the previous
// working day) and the result is that clock time |n| working days earlier.
// The result is in t's location.
func (c *Calendar) AddWorkingDays(t time.Time, n int) time.Time {
	if n == 0 {
		return t
	}
	day, tod := c.split(t)
	if n > 0 {
		day, tod = c.forward(day, tod)
	} else {
		day, tod = c.backward(day, tod)
	}
	return c.join(c.nthWorkday(c.wrank(day)+int64(n)), tod, t.Location())
}

// AddNatural returns t + d in natural (calendar) time, for urgent matters
// whose limits run day and night (自然时).
func (c *Calendar) AddNatural(t time.Time, d time.Duration) time.Time { return t.Add(d) }
