package calendar

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"whistle/internal/errs"
)

// Unit says how a Limit is counted.
type Unit uint8

// The units of a time limit (时限).
const (
	// WorkingTime counts working hours and minutes (工作时).
	WorkingTime Unit = iota + 1
	// WorkingDays counts working days (工作日), keeping the clock time.
	WorkingDays
	// NaturalTime counts natural clock time, day and night (自然时).
	NaturalTime
)

// Bounds on a limit: larger figures are typos, and bounding them keeps
// every computation far from overflow.
const (
	maxLimitDuration = 10000 * time.Hour
	maxLimitDays     = 1000
)

// Limit is a case time limit such as "2h" (working hours) or "3wd".
type Limit struct {
	Unit Unit
	// Duration is the length for WorkingTime and NaturalTime.
	Duration time.Duration
	// Days is the number of working days for WorkingDays.
	Days int
}

// ParseLimit reads a limit:
//
//	"2h", "30m", "1h30m"  working hours and minutes (工作时)
//	"2wd"                 working days (工作日)
//	"6ch"                 natural clock hours (自然时), for urgent matters
//
// Figures are whole, positive and bounded (10000 hours, 1000 working
// days); case and surrounding spaces are ignored.
func ParseLimit(s string) (Limit, error) {
	in := strings.ToLower(strings.TrimSpace(s))
	bad := errs.E(errs.Invalid, "calendar.err.limit", s)
	if n, ok := strings.CutSuffix(in, "wd"); ok {
		v, ok := digits(n)
		if !ok || v <= 0 || v > maxLimitDays {
			return Limit{}, bad
		}
		return Limit{Unit: WorkingDays, Days: v}, nil
	}
	if n, ok := strings.CutSuffix(in, "ch"); ok {
		v, ok := digits(n)
		if !ok || v <= 0 || time.Duration(v)*time.Hour > maxLimitDuration {
			return Limit{}, bad
		}
		return Limit{Unit: NaturalTime, Duration: time.Duration(v) * time.Hour}, nil
	}
	// Working time: "<n>h", "<n>m" or "<n>h<n>m".
	var d time.Duration
	rest := in
	if h, m, ok := strings.Cut(rest, "h"); ok {
		v, ok := digits(h)
		if !ok || v > int(maxLimitDuration/time.Hour) {
			return Limit{}, bad
		}
		d, rest = time.Duration(v)*time.Hour, m
	}
	if rest != "" {
		m, ok := strings.CutSuffix(rest, "m")
		v, ok2 := digits(m)
		if !ok || !ok2 || v > int(maxLimitDuration/time.Minute) {
			return Limit{}, bad
		}
		d += time.Duration(v) * time.Minute
	}
	if d <= 0 || d > maxLimitDuration {
		return Limit{}, bad
	}
	return Limit{Unit: WorkingTime, Duration: d}, nil
}

// String writes l in the form ParseLimit reads.
func (l Limit) String() string {
	switch l.Unit {
	case WorkingDays:
		return strconv.Itoa(l.Days) + "wd"
	case NaturalTime:
		if l.Duration%time.Hour == 0 {
			return strconv.FormatInt(int64(l.Duration/time.Hour), 10) + "ch"
		}
		return "natural:" + l.Duration.String()
	case WorkingTime:
		h, m := l.Duration/time.Hour, (l.Duration%time.Hour)/time.Minute
		if l.Duration%time.Minute != 0 {
			return l.Duration.String()
		}
		switch {
		case h == 0:
			return strconv.Itoa(int(m)) + "m"
		case m == 0:
			return strconv.Itoa(int(h)) + "h"
		}
		return strconv.Itoa(int(h)) + "h" + strconv.Itoa(int(m)) + "m"
	}
	return "invalid"
}

// MarshalText writes l as String does, so limits read well in JSON. A
// limit ParseLimit could not read back (a natural 90 minutes, a working
// 30 seconds, an invalid Unit) is an error rather than a silent change.
func (l Limit) MarshalText() ([]byte, error) {
	s := l.String()
	if back, err := ParseLimit(s); err != nil || back != l {
		return nil, fmt.Errorf("calendar: limit %s has no text form", s)
	}
	return []byte(s), nil
}

// UnmarshalText reads l as ParseLimit does.
func (l *Limit) UnmarshalText(b []byte) error {
	p, err := ParseLimit(string(b))
	if err != nil {
		return err
	}
	*l = p
	return nil
}

// Deadline returns when a limit started at start runs out:
// AddWorkingDuration for working time, AddWorkingDays for working days and
// AddNatural for natural time. An invalid Limit returns start.
func (c *Calendar) Deadline(start time.Time, l Limit) time.Time {
	switch l.Unit {
	case WorkingTime:
		return c.AddWorkingDuration(start, l.Duration)
	case WorkingDays:
		return c.AddWorkingDays(start, l.Days)
	case NaturalTime:
		return c.AddNatural(start, l.Duration)
	}
	return start
}
