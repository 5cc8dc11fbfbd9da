package calendar

import (
	"fmt"
	"strings"
	"time"

	"whistle/internal/errs"
)

// DefaultWorkHoursSpec is the working day used when a district sets none:
// a morning and an afternoon period with a lunch break between them.
const DefaultWorkHoursSpec = "08:30-12:00,13:30-17:30"

// Period is one working period of a day, [Start, End), as offsets from
// local midnight. End may be 24h for a period that runs to midnight.
type Period struct {
	Start, End time.Duration
}

// WorkHours lists a working day's periods in order.
type WorkHours []Period

// DefaultWorkHours returns the periods of DefaultWorkHoursSpec.
func DefaultWorkHours() WorkHours {
	return WorkHours{
		{Start: 8*time.Hour + 30*time.Minute, End: 12 * time.Hour},
		{Start: 13*time.Hour + 30*time.Minute, End: 17*time.Hour + 30*time.Minute},
	}
}

// ParseWorkHours reads periods written as "HH:MM-HH:MM", separated by
// commas, e.g. "08:30-12:00,13:30-17:30", and validates them.
func ParseWorkHours(spec string) (WorkHours, error) {
	bad := func() error { return errs.E(errs.Invalid, "calendar.err.hours_format", spec) }
	var h WorkHours
	for part := range strings.SplitSeq(spec, ",") {
		a, b, ok := strings.Cut(strings.TrimSpace(part), "-")
		if !ok {
			return nil, bad()
		}
		s, ok1 := parseClock(strings.TrimSpace(a))
		e, ok2 := parseClock(strings.TrimSpace(b))
		if !ok1 || !ok2 {
			return nil, bad()
		}
		h = append(h, Period{Start: s, End: e})
	}
	if err := h.Validate(); err != nil {
		return nil, err
	}
	return h, nil
}

// parseClock reads HH:MM from 00:00 to 24:00.
func parseClock(s string) (time.Duration, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	hh, ok1 := digits(s[:2])
	mm, ok2 := digits(s[3:])
	if !ok1 || !ok2 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, false
	}
	return time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute, true
}

// Validate checks that there is at least one period, that each lies within
// one day and is not empty, and that periods are in order with a gap
// between them. Touching periods are refused rather than merged, so that
// "the start of a period" always means the end of a break.
func (h WorkHours) Validate() error {
	if len(h) == 0 {
		return errs.E(errs.Invalid, "calendar.err.hours_empty")
	}
	for i, p := range h {
		if p.Start < 0 || p.End > 24*time.Hour || p.Start >= p.End {
			return errs.E(errs.Invalid, "calendar.err.hours_period", p.String())
		}
		if i > 0 && p.Start <= h[i-1].End {
			return errs.E(errs.Invalid, "calendar.err.hours_order", h[i-1].String(), p.String())
		}
	}
	return nil
}

// Daily returns the working time of one working day.
func (h WorkHours) Daily() time.Duration {
	var sum time.Duration
	for _, p := range h {
		sum += p.End - p.Start
	}
	return sum
}

// String formats h as ParseWorkHours reads it.
func (h WorkHours) String() string {
	parts := make([]string, len(h))
	for i, p := range h {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

// String formats p as HH:MM-HH:MM (seconds, which ParseWorkHours never
// produces, are dropped).
func (p Period) String() string { return hhmm(p.Start) + "-" + hhmm(p.End) }

func hhmm(d time.Duration) string {
	m := int(d / time.Minute)
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}
