package visit

import (
	"time"

	"whistle/internal/sla/calendar"
)

// Frequencies a group may carry (reg_groups.frequency).
const (
	Weekly      = "weekly"
	Fortnightly = "fortnightly"
	Monthly     = "monthly"
	Quarterly   = "quarterly"
	HalfYearly  = "half_yearly"
	Yearly      = "yearly"
)

// Frequencies lists the visit frequencies.
func Frequencies() []string {
	return []string{Weekly, Fortnightly, Monthly, Quarterly, HalfYearly, Yearly}
}

// fortnightAnchor is the Monday that starts fortnight zero.
var fortnightAnchor = calendar.D(2024, time.January, 1)

// PeriodOf returns the first and last day of the period of frequency freq
// that contains day d: weeks start on Monday, fortnights are two-week
// blocks counted from Monday 2024-01-01, months, quarters, half years and
// years are calendar ones. ok is false for an unknown frequency.
func PeriodOf(freq string, d calendar.Date) (first, last calendar.Date, ok bool) {
	switch freq {
	case Weekly, Fortnightly:
		back := (int(d.Weekday()) + 6) % 7 // days since Monday
		first = d.AddDays(-back)
		n := 7
		if freq == Fortnightly {
			n = 14
			days := daysBetween(fortnightAnchor, first)
			if ((days/7)%2+2)%2 == 1 {
				first = first.AddDays(-7)
			}
		}
		return first, first.AddDays(n - 1), true
	case Monthly, Quarterly, HalfYearly, Yearly:
		months := map[string]int{Monthly: 1, Quarterly: 3, HalfYearly: 6, Yearly: 12}[freq]
		m0 := (int(d.Month)-1)/months*months + 1
		first = calendar.D(d.Year, time.Month(m0), 1)
		y, m := d.Year, m0+months
		if m > 12 {
			y, m = y+1, m-12
		}
		return first, calendar.D(y, time.Month(m), 1).AddDays(-1), true
	}
	return calendar.Date{}, calendar.Date{}, false
}

func daysBetween(a, b calendar.Date) int {
	ta := time.Date(a.Year, a.Month, a.Day, 0, 0, 0, 0, time.UTC)
	tb := time.Date(b.Year, b.Month, b.Day, 0, 0, 0, 0, time.UTC)
	return int(tb.Sub(ta).Hours() / 24)
}

// dueDay is the day a task of the period [first, last] is due: the last
// day, or with workdays the last working day of the period (the last day
// when the period has none).
func dueDay(cal *calendar.Calendar, workdays bool, first, last calendar.Date) calendar.Date {
	if !workdays {
		return last
	}
	for d := last; !d.Before(first); d = d.AddDays(-1) {
		if isWorkday(cal, d) {
			return d
		}
	}
	return last
}

// isWorkday asks the calendar, or without one (or outside its years)
// counts Monday to Friday.
func isWorkday(cal *calendar.Calendar, d calendar.Date) bool {
	if cal != nil && cal.Covers(d.Year) {
		return cal.IsWorkday(d)
	}
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// startOf is the instant day d starts in loc.
func startOf(d calendar.Date, loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}
