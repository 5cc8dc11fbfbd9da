package calendar

import (
	"testing"
	"time"
)

// shanghai loads the zone for building test instants independently of the
// package's own conversion code.
func shanghai(tb testing.TB) *time.Location {
	tb.Helper()
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		tb.Fatal(err)
	}
	return loc
}

// at parses "2006-01-02 15:04" (or with seconds) as wall time in Shanghai.
func at(tb testing.TB, s string) time.Time {
	tb.Helper()
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.ParseInLocation(layout, s, shanghai(tb)); err == nil {
			return t
		}
	}
	tb.Fatalf("bad test time %q", s)
	return time.Time{}
}

func mustDate(tb testing.TB, s string) Date {
	tb.Helper()
	d, err := ParseDate(s)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func defaultCal(tb testing.TB) *Calendar {
	tb.Helper()
	c, err := Default()
	if err != nil {
		tb.Fatalf("Default: %v", err)
	}
	return c
}

// The schedules as domain.md states them, written here as ranges and typed
// in independently of data/*.csv, so that a typo in either shows.
type span2 struct{ from, to string }

func domainHolidays() []span2 {
	return []span2{
		{"2025-01-01", "2025-01-01"}, {"2025-01-28", "2025-02-04"}, {"2025-04-04", "2025-04-06"},
		{"2025-05-01", "2025-05-05"}, {"2025-05-31", "2025-06-02"}, {"2025-10-01", "2025-10-08"},
		{"2026-01-01", "2026-01-03"}, {"2026-02-15", "2026-02-23"}, {"2026-04-04", "2026-04-06"},
		{"2026-05-01", "2026-05-05"}, {"2026-06-19", "2026-06-21"}, {"2026-09-25", "2026-09-27"},
		{"2026-10-01", "2026-10-07"},
	}
}

func domainMakeup() []string {
	return []string{
		"2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11",
		"2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10",
	}
}

// expectedWork is the working-day rule built from domainHolidays and
// domainMakeup with the time package only: for 2025 and 2026 the official
// schedule, for other years Monday to Friday.
func expectedWork(tb testing.TB) func(y int, m time.Month, d int) bool {
	tb.Helper()
	type ymd struct {
		y int
		m time.Month
		d int
	}
	off := map[ymd]bool{}
	on := map[ymd]bool{}
	for _, s := range domainHolidays() {
		a, _ := time.Parse(time.DateOnly, s.from)
		b, _ := time.Parse(time.DateOnly, s.to)
		for t := a; !t.After(b); t = t.AddDate(0, 0, 1) {
			off[ymd{t.Year(), t.Month(), t.Day()}] = true
		}
	}
	for _, s := range domainMakeup() {
		t, _ := time.Parse(time.DateOnly, s)
		on[ymd{t.Year(), t.Month(), t.Day()}] = true
	}
	return func(y int, m time.Month, d int) bool {
		k := ymd{y, m, d}
		if on[k] {
			return true
		}
		if off[k] {
			return false
		}
		wd := time.Date(y, m, d, 12, 0, 0, 0, time.UTC).Weekday()
		return wd != time.Saturday && wd != time.Sunday
	}
}
