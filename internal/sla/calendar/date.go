package calendar

import (
	"fmt"
	"strings"
	"time"
)

// Date is a civil date (a day on the wall calendar), independent of any
// instant or zone. The zero Date is invalid.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// D builds a Date; it does not validate (use Valid or ParseDate for input).
func D(year int, month time.Month, day int) Date { return Date{year, month, day} }

// ParseDate reads a date written exactly as YYYY-MM-DD (four-digit year,
// zero-padded month and day). Anything else, including real-looking but
// impossible dates such as 2026-02-30, is refused: a schedule file with a
// typo must not silently become a different day.
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, fmt.Errorf("calendar: date %q is not YYYY-MM-DD", s)
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, fmt.Errorf("calendar: date %q is not YYYY-MM-DD", s)
	}
	out := Date{y, time.Month(m), d}
	if !out.Valid() {
		return Date{}, fmt.Errorf("calendar: %q is not a real date", s)
	}
	return out, nil
}

// parseBasicDate reads the RFC 5545 DATE form YYYYMMDD.
func parseBasicDate(s string) (Date, bool) {
	if len(s) != 8 {
		return Date{}, false
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[4:6])
	d, ok3 := digits(s[6:8])
	out := Date{y, time.Month(m), d}
	return out, ok1 && ok2 && ok3 && out.Valid()
}

// digits parses an unsigned decimal made only of ASCII digits; more than
// nine digits are refused so that the result cannot overflow.
func digits(s string) (int, bool) {
	if len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, s != ""
}

// Valid reports whether d names a real day of the proleptic Gregorian calendar.
func (d Date) Valid() bool {
	if d.Year < 1 || d.Year > 9999 || d.Month < time.January || d.Month > time.December || d.Day < 1 {
		return false
	}
	// time.Date normalises 02-30 to 03-02; a round trip that changes the
	// date means the day does not exist.
	t := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
	return t.Day() == d.Day && t.Month() == d.Month
}

// String formats d as YYYY-MM-DD.
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// Weekday returns the day of the week.
func (d Date) Weekday() time.Weekday { return weekdayOf(d.days()) }

// AddDays returns the date n days later (earlier when n < 0).
func (d Date) AddDays(n int) Date { return dateOfDay(d.days() + int64(n)) }

// Before reports whether d is earlier than e.
func (d Date) Before(e Date) bool { return d.days() < e.days() }

// MarshalText writes YYYY-MM-DD, so that JSON carries dates as strings.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads YYYY-MM-DD.
func (d *Date) UnmarshalText(b []byte) error {
	p, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = p
	return nil
}

// days counts days since 1970-01-01 (negative before). Using the UTC zone
// here is only a way to reach the arithmetic; no instant is involved.
func (d Date) days() int64 {
	return floorDiv(time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Unix(), secPerDay)
}

// dateOfDay is the inverse of Date.days.
func dateOfDay(day int64) Date {
	y, m, dd := time.Unix(day*secPerDay, 0).UTC().Date()
	return Date{y, m, dd}
}

// weekdayOf returns the weekday of a day number; day 0 was a Thursday.
func weekdayOf(day int64) time.Weekday { return time.Weekday(floorMod(day+4, 7)) }

// Kind says how a listed day departs from the Monday-to-Friday rule.
type Kind string

// The two kinds of listed days.
const (
	// Holiday is a day off (休), whatever its weekday.
	Holiday Kind = "holiday"
	// Workday is a working day (班), including a weekend make-up day (调休上班).
	Workday Kind = "workday"
)

// ParseKind accepts "holiday" or "workday" in any case, and the marks used
// on Chinese calendars: 休 or 假 for a day off and 班 for a working day.
func ParseKind(s string) (Kind, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "holiday", "休", "假":
		return Holiday, true
	case "workday", "班":
		return Workday, true
	}
	return "", false
}

// Valid reports whether k is one of the two kinds.
func (k Kind) Valid() bool { return k == Holiday || k == Workday }

// Day is a date listed in a schedule: a holiday, or a make-up working day.
// Dates that are not listed follow the Monday-to-Friday rule.
type Day struct {
	Date Date   `json:"date"`
	Kind Kind   `json:"kind"`
	Name string `json:"name"`
	// Source says where the entry comes from, e.g. the State Council notice.
	Source string `json:"source,omitempty"`
	// Provisional marks a holiday generated from the statutory holidays for
	// a year without a schedule (see Provisional); it is never stored.
	Provisional bool `json:"provisional,omitempty"`
	// Line is the line of the import file the day was read from (0 when the
	// day did not come from a file); error messages name it.
	Line int `json:"-"`
}

const secPerDay = 86400

// floorDiv divides rounding toward negative infinity, so that instants
// before 1970 fall on the right day.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// floorMod is the remainder that goes with floorDiv; it has b's sign.
func floorMod(a, b int64) int64 { return a - floorDiv(a, b)*b }
