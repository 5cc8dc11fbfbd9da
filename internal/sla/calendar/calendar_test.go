package calendar

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"whistle/internal/errs"
	"whistle/internal/i18n"
)

func TestOfficialScheduleEveryDay(t *testing.T) {
	c := defaultCal(t)
	want := expectedWork(t)
	for d := D(2025, time.January, 1); d.Year <= 2026; d = d.AddDays(1) {
		if got, w := c.IsWorkday(d), want(d.Year, d.Month, d.Day); got != w {
			t.Errorf("IsWorkday(%s, %s) = %v, want %v", d, d.Weekday(), got, w)
		}
	}
}

func TestOfficialScheduleNamedCases(t *testing.T) {
	c := defaultCal(t)
	for _, tc := range []struct {
		name string
		date string
		work bool
	}{
		{"Sunday 2025-01-26 is a make-up workday", "2025-01-26", true},
		{"Saturday 2026-02-28 is a make-up workday", "2026-02-28", true},
		{"Sunday 2025-09-28 is a make-up workday", "2025-09-28", true},
		{"Saturday 2025-10-11 is a make-up workday", "2025-10-11", true},
		{"an ordinary Saturday is not", "2025-10-18", false},
		{"Thursday 2025-10-09, after the break, works", "2025-10-09", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.IsWorkday(mustDate(t, tc.date)); got != tc.work {
				t.Errorf("IsWorkday(%s) = %v, want %v", tc.date, got, tc.work)
			}
		})
	}
	for _, r := range []span2{{"2025-10-01", "2025-10-08"}, {"2026-02-15", "2026-02-23"}} {
		for d := mustDate(t, r.from); !mustDate(t, r.to).Before(d); d = d.AddDays(1) {
			if c.IsWorkday(d) {
				t.Errorf("IsWorkday(%s) = true, want false (holiday %s..%s)", d, r.from, r.to)
			}
		}
	}
}

func TestOfficialNamesAndSources(t *testing.T) {
	c := defaultCal(t)
	for _, tc := range []struct{ date, kind, name, source string }{
		{"2025-01-01", "holiday", "元旦", "国办发明电〔2024〕12号"},
		{"2025-01-28", "holiday", "春节", "2025年部分节假日安排"},
		{"2025-04-04", "holiday", "清明节", ""},
		{"2025-05-05", "holiday", "劳动节", ""},
		{"2025-05-31", "holiday", "端午节", ""},
		{"2025-10-06", "holiday", "国庆节、中秋节", ""},
		{"2025-09-28", "workday", "国庆节、中秋节", ""},
		{"2026-02-15", "holiday", "春节", "2026年部分节假日安排"},
		{"2026-09-25", "holiday", "中秋节", ""},
		{"2026-10-07", "holiday", "国庆节", ""},
		{"2026-01-04", "workday", "元旦", ""},
	} {
		t.Run(tc.date, func(t *testing.T) {
			got, ok := c.Lookup(mustDate(t, tc.date))
			if !ok {
				t.Fatalf("Lookup(%s): not listed", tc.date)
			}
			if string(got.Kind) != tc.kind || got.Name != tc.name || !strings.Contains(got.Source, tc.source) {
				t.Errorf("Lookup(%s) = %s %q from %q, want %s %q from …%s…", tc.date, got.Kind, got.Name, got.Source, tc.kind, tc.name, tc.source)
			}
		})
	}
	if _, ok := c.Lookup(mustDate(t, "2025-10-09")); ok {
		t.Errorf("Lookup(2025-10-09) found an entry for an ordinary Thursday")
	}
}

func TestOfficialMakeupDaysAreWeekends(t *testing.T) {
	days, err := Official()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range days {
		if d.Kind == Workday {
			got = append(got, d.Date.String())
			if wd := d.Date.Weekday(); wd != time.Saturday && wd != time.Sunday {
				t.Errorf("make-up workday %s is a %s", d.Date, wd)
			}
		}
	}
	if want := domainMakeup(); !slices.Equal(got, want) {
		t.Errorf("make-up workdays = %v, want %v", got, want)
	}
}

func TestWorkingDaysPerYear(t *testing.T) {
	// 2025: 261 weekdays − 18 weekday holidays + 5 make-up days = 248.
	// 2026: 261 weekdays − 19 weekday holidays + 6 make-up days = 248.
	// 2027 has no data: plain Monday to Friday, 261.
	c := defaultCal(t)
	for _, tc := range []struct{ year, want int }{{2025, 248}, {2026, 248}, {2027, 261}} {
		t.Run(time.Date(tc.year, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006"), func(t *testing.T) {
			n := 0
			for d := D(tc.year, 1, 1); d.Year == tc.year; d = d.AddDays(1) {
				if c.IsWorkday(d) {
					n++
				}
			}
			if n != tc.want {
				t.Errorf("IsWorkday count = %d, want %d", n, tc.want)
			}
			from := time.Date(tc.year, 1, 1, 0, 0, 0, 0, c.Location())
			got := c.WorkingBetween(from, from.AddDate(1, 0, 0))
			if want := time.Duration(tc.want) * c.DailyHours(); got != want {
				t.Errorf("WorkingBetween(year) = %v, want %v", got, want)
			}
		})
	}
}

func TestCovers(t *testing.T) {
	c := defaultCal(t)
	for _, tc := range []struct {
		year int
		want bool
	}{{2024, false}, {2025, true}, {2026, true}, {2027, false}} {
		if got := c.Covers(tc.year); got != tc.want {
			t.Errorf("Covers(%d) = %v, want %v", tc.year, got, tc.want)
		}
	}
	if got, want := c.Years(), []int{2025, 2026}; !slices.Equal(got, want) {
		t.Errorf("Years() = %v, want %v", got, want)
	}
}

func TestAddWorkingDuration(t *testing.T) {
	c := defaultCal(t)
	for _, tc := range []struct {
		name  string
		start string
		d     time.Duration
		want  string
	}{
		{"across the lunch break", "2025-09-22 11:50", 20 * time.Minute, "2025-09-22 13:40"},
		{"runs out at the start of lunch", "2025-09-22 11:50", 10 * time.Minute, "2025-09-22 12:00"},
		{"runs out at closing time", "2025-09-22 17:20", 10 * time.Minute, "2025-09-22 17:30"},
		{"across the night", "2025-09-22 17:20", 30 * time.Minute, "2025-09-23 08:50"},
		{"Friday evening into a 调休 Sunday", "2025-09-26 17:20", 30 * time.Minute, "2025-09-28 08:50"},
		{"before opening starts at 08:30", "2025-09-22 07:00", time.Hour, "2025-09-22 09:30"},
		{"in lunch starts at 13:30", "2025-09-22 12:30", 20 * time.Minute, "2025-09-22 13:50"},
		{"at 12:00 starts at 13:30", "2025-09-22 12:00", time.Minute, "2025-09-22 13:31"},
		{"in the evening starts next morning", "2025-09-22 20:00", time.Hour, "2025-09-23 09:30"},
		{"on a holiday starts after it", "2025-10-03 10:00", time.Hour, "2025-10-09 09:30"},
		{"holiday eve runs over the National Day break", "2025-09-30 17:00", time.Hour, "2025-10-09 09:00"},
		{"调休 Saturday counts", "2025-10-10 17:00", time.Hour, "2025-10-11 09:00"},
		{"a full day from opening ends at closing", "2025-09-22 08:30", 7*time.Hour + 30*time.Minute, "2025-09-22 17:30"},
		{"a minute more is next morning", "2025-09-22 08:30", 7*time.Hour + 31*time.Minute, "2025-09-23 08:31"},
		{"two days from mid-afternoon", "2025-09-26 16:00", 15 * time.Hour, "2025-09-29 16:00"},
		{"zero on a holiday is the identity", "2025-10-03 10:00", 0, "2025-10-03 10:00"},
		{"zero in working time is the identity", "2025-09-22 10:00", 0, "2025-09-22 10:00"},
		{"New Year 2025→2026 lands on the 调休 Sunday", "2025-12-31 17:00", time.Hour, "2026-01-04 09:00"},
		{"Spring Festival eve 2026 into 调休 Saturday", "2026-02-13 17:00", time.Hour, "2026-02-14 09:00"},
		{"调休 Saturday over the Spring Festival", "2026-02-14 17:00", time.Hour, "2026-02-24 09:00"},
		{"into 2027, which has no data (plain Monday to Friday)", "2026-12-31 17:00", time.Hour, "2027-01-01 09:00"},
		{"sub-second precision is kept", "2025-09-22 10:00:00.000000001", time.Second, "2025-09-22 10:00:01.000000001"},
		{"backwards over the break", "2025-10-09 09:00", -time.Hour, "2025-09-30 17:00"},
		{"backwards to the opening, not the previous closing", "2025-10-09 09:00", -30 * time.Minute, "2025-10-09 08:30"},
		{"backwards over lunch", "2025-09-22 13:40", -20 * time.Minute, "2025-09-22 11:50"},
		{"backwards from lunch counts from 12:00", "2025-09-22 12:30", -10 * time.Minute, "2025-09-22 11:50"},
		{"backwards to the start of the afternoon", "2025-09-22 13:40", -10 * time.Minute, "2025-09-22 13:30"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := c.AddWorkingDuration(at(t, tc.start), tc.d)
			if want := at(t, tc.want); !got.Equal(want) {
				t.Errorf("AddWorkingDuration(%s, %v) = %s, want %s", tc.start, tc.d, got, want)
			}
			if tc.d >= 0 {
				if back := c.WorkingBetween(at(t, tc.start), got); back != tc.d {
					t.Errorf("WorkingBetween(%s, %s) = %v, want %v", tc.start, got, back, tc.d)
				}
			}
		})
	}
}

func TestResultKeepsTheCallersLocation(t *testing.T) {
	c := defaultCal(t)
	start := at(t, "2025-09-22 11:50").UTC() // 03:50Z
	got := c.AddWorkingDuration(start, 20*time.Minute)
	if got.Location() != time.UTC {
		t.Errorf("location = %v, want UTC", got.Location())
	}
	if want := time.Date(2025, 9, 22, 5, 40, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("AddWorkingDuration(03:50Z, 20m) = %s, want %s", got, want)
	}
	// A UTC instant late on 2025-09-30 is already 10-01 in Shanghai: a holiday.
	if d := c.DateOf(time.Date(2025, 9, 30, 16, 30, 0, 0, time.UTC)); d != D(2025, 10, 1) {
		t.Errorf("DateOf(2025-09-30T16:30Z) = %s, want 2025-10-01", d)
	}
}

func TestWorkingBetween(t *testing.T) {
	c := defaultCal(t)
	for _, tc := range []struct {
		name string
		a, b string
		want time.Duration
	}{
		{"same instant", "2025-09-22 10:00", "2025-09-22 10:00", 0},
		{"over lunch", "2025-09-22 11:50", "2025-09-22 13:40", 20 * time.Minute},
		{"inside lunch", "2025-09-22 12:10", "2025-09-22 13:20", 0},
		{"night", "2025-09-22 17:30", "2025-09-23 08:30", 0},
		{"Friday to Monday over a 调休 Sunday", "2025-09-26 16:00", "2025-09-29 16:00", 15 * time.Hour},
		{"the whole National Day break is free", "2025-10-01 00:00", "2025-10-08 23:59", 0},
		{"holiday eve to the day after", "2025-09-30 00:00", "2025-10-09 00:00", 7*time.Hour + 30*time.Minute},
		{"reversed is negative", "2025-09-29 16:00", "2025-09-26 16:00", -15 * time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := at(t, tc.a), at(t, tc.b)
			if got := c.WorkingBetween(a, b); got != tc.want {
				t.Errorf("WorkingBetween(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
			}
		})
	}
	// The zero time is 2024 years before the table: no overflow, and the
	// count is plain Monday to Friday up to 2025.
	zero := time.Time{}
	if got, want := c.WorkingBetween(zero, zero), time.Duration(0); got != want {
		t.Errorf("WorkingBetween(zero, zero) = %v, want %v", got, want)
	}
	if got := c.WorkingBetween(zero, at(t, "2025-01-01 00:00")); got <= 0 {
		t.Errorf("WorkingBetween(zero time, 2025) = %v, want a large positive duration", got)
	}
}

func TestAddWorkingDays(t *testing.T) {
	c := defaultCal(t)
	for _, tc := range []struct {
		name  string
		start string
		n     int
		want  string
	}{
		{"Friday + 2 over a 调休 Sunday", "2025-09-26 16:00", 2, "2025-09-29 16:00"},
		{"Friday + 1 is the 调休 Sunday", "2025-09-26 16:00", 1, "2025-09-28 16:00"},
		{"holiday eve + 1 skips the break", "2025-09-30 10:00", 1, "2025-10-09 10:00"},
		{"a holiday start counts from the next working day's opening", "2025-10-03 10:00", 1, "2025-10-10 08:30"},
		{"before opening counts from 08:30", "2025-09-22 07:00", 1, "2025-09-23 08:30"},
		{"in lunch counts from 13:30", "2025-09-22 12:30", 1, "2025-09-23 13:30"},
		{"12:00 is lunch, counted from 13:30", "2025-09-22 12:00", 1, "2025-09-23 13:30"},
		{"11:59 keeps its clock time", "2025-09-22 11:59", 1, "2025-09-23 11:59"},
		{"08:30 keeps its clock time", "2025-09-22 08:30", 1, "2025-09-23 08:30"},
		{"at closing counts from the next morning", "2025-09-22 17:30", 1, "2025-09-24 08:30"},
		{"evening counts from the next morning", "2025-09-22 20:00", 1, "2025-09-24 08:30"},
		{"ordinary Saturday counts from Monday", "2025-09-20 10:00", 1, "2025-09-23 08:30"},
		{"New Year 2025→2026 lands on the 调休 Sunday", "2025-12-31 10:00", 1, "2026-01-04 10:00"},
		{"Spring Festival 2026", "2026-02-13 10:00", 2, "2026-02-24 10:00"},
		{"zero is the identity", "2025-10-03 10:00", 0, "2025-10-03 10:00"},
		{"backwards over a 调休 Sunday", "2025-09-29 16:00", -2, "2025-09-26 16:00"},
		{"backwards over the break", "2025-10-09 10:00", -1, "2025-09-30 10:00"},
		{"backwards from lunch counts from 12:00", "2025-09-22 12:30", -1, "2025-09-19 12:00"},
		{"backwards from before opening counts from the previous closing", "2025-09-23 08:00", -1, "2025-09-19 17:30"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := at(t, tc.start)
			got := c.AddWorkingDays(start, tc.n)
			if want := at(t, tc.want); !got.Equal(want) {
				t.Errorf("AddWorkingDays(%s, %d) = %s, want %s", tc.start, tc.n, got, want)
			}
			// On the working clock the step is always n whole working days.
			if n := tc.n; n != 0 {
				a, b := start, got
				if n < 0 {
					a, b, n = got, start, -n
				}
				if w, want := c.WorkingBetween(a, b), time.Duration(n)*c.DailyHours(); w != want {
					t.Errorf("WorkingBetween over %d working days = %v, want %v", tc.n, w, want)
				}
			}
		})
	}
}

func TestNextWorkingAndIsWorkingTime(t *testing.T) {
	c := defaultCal(t)
	for _, tc := range []struct {
		name    string
		t, want string
		working bool
	}{
		{"before opening", "2025-09-22 07:00", "2025-09-22 08:30", false},
		{"at opening", "2025-09-22 08:30", "2025-09-22 08:30", true},
		{"in the morning", "2025-09-22 11:59", "2025-09-22 11:59", true},
		{"at lunch's start", "2025-09-22 12:00", "2025-09-22 13:30", false},
		{"at lunch's end", "2025-09-22 13:30", "2025-09-22 13:30", true},
		{"at closing", "2025-09-22 17:30", "2025-09-23 08:30", false},
		{"on a holiday", "2025-10-05 10:00", "2025-10-09 08:30", false},
		{"on a 调休 Saturday", "2025-10-11 10:00", "2025-10-11 10:00", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.NextWorking(at(t, tc.t)); !got.Equal(at(t, tc.want)) {
				t.Errorf("NextWorking(%s) = %s, want %s", tc.t, got, tc.want)
			}
			if got := c.IsWorkingTime(at(t, tc.t)); got != tc.working {
				t.Errorf("IsWorkingTime(%s) = %v, want %v", tc.t, got, tc.working)
			}
		})
	}
}

func TestCustomWorkHours(t *testing.T) {
	days, err := Official()
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseWorkHours("09:00-17:00")
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(days, h)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.DailyHours(), 8*time.Hour; got != want {
		t.Errorf("DailyHours() = %v, want %v", got, want)
	}
	if got, want := c.AddWorkingDuration(at(t, "2025-09-22 16:30"), time.Hour), at(t, "2025-09-23 09:30"); !got.Equal(want) {
		t.Errorf("AddWorkingDuration(16:30, 1h) = %s, want %s", got, want)
	}
	if got, want := c.AddWorkingDuration(at(t, "2025-09-22 12:30"), time.Hour), at(t, "2025-09-22 13:30"); !got.Equal(want) {
		t.Errorf("AddWorkingDuration(12:30, 1h) with no lunch break = %s, want %s", got, want)
	}
	h24, _ := ParseWorkHours("00:00-24:00")
	c24, err := New(nil, h24)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c24.AddWorkingDuration(at(t, "2025-09-26 23:00"), time.Hour), at(t, "2025-09-27 00:00"); !got.Equal(want) {
		t.Errorf("24h day: AddWorkingDuration(Fri 23:00, 1h) = %s, want %s (Friday's end)", got, want)
	}
	if got, want := c24.AddWorkingDuration(at(t, "2025-09-26 23:00"), 2*time.Hour), at(t, "2025-09-29 01:00"); !got.Equal(want) {
		t.Errorf("24h day without data: AddWorkingDuration(Fri 23:00, 2h) = %s, want %s", got, want)
	}
}

func TestParseWorkHours(t *testing.T) {
	for _, tc := range []struct {
		name, spec string
		want       string // canonical form, or the error key
		daily      time.Duration
	}{
		{"default", "08:30-12:00,13:30-17:30", "08:30-12:00,13:30-17:30", 7*time.Hour + 30*time.Minute},
		{"spaces", " 08:30 - 12:00 , 13:30-17:30 ", "08:30-12:00,13:30-17:30", 7*time.Hour + 30*time.Minute},
		{"one period", "09:00-17:00", "09:00-17:00", 8 * time.Hour},
		{"whole day", "00:00-24:00", "00:00-24:00", 24 * time.Hour},
		{"empty", "", "calendar.err.hours_format", 0},
		{"single-digit hour", "8:30-12:00", "calendar.err.hours_format", 0},
		{"bad minute", "08:60-12:00", "calendar.err.hours_format", 0},
		{"past midnight", "22:00-24:30", "calendar.err.hours_format", 0},
		{"no dash", "08:30", "calendar.err.hours_format", 0},
		{"ends before it starts", "12:00-08:30", "calendar.err.hours_period", 0},
		{"empty period", "08:30-08:30", "calendar.err.hours_period", 0},
		{"overlapping", "08:30-12:00,11:00-13:00", "calendar.err.hours_order", 0},
		{"touching", "08:30-12:00,12:00-13:00", "calendar.err.hours_order", 0},
		{"out of order", "13:30-17:30,08:30-12:00", "calendar.err.hours_order", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ParseWorkHours(tc.spec)
			if strings.HasPrefix(tc.want, "calendar.") {
				e, ok := errs.As(err)
				if !ok || e.Code != errs.Invalid || e.Msg.Key != tc.want {
					t.Fatalf("ParseWorkHours(%q) error = %v, want %s", tc.spec, err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseWorkHours(%q): %v", tc.spec, err)
			}
			if got := h.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
			if got := h.Daily(); got != tc.daily {
				t.Errorf("Daily() = %v, want %v", got, tc.daily)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"2026-01-01", true},
		{"2024-02-29", true},
		{"2025-02-29", false},
		{"2026-02-30", false},
		{"2026-13-01", false},
		{"2026-00-10", false},
		{"26-01-01", false},
		{"2026-1-01", false},
		{"2026/01/01", false},
		{"20260101", false},
		{"", false},
		{"２０２６-01-01", false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			d, err := ParseDate(tc.in)
			if got := err == nil; got != tc.ok {
				t.Fatalf("ParseDate(%q) error = %v, want ok=%v", tc.in, err, tc.ok)
			}
			if tc.ok && d.String() != tc.in {
				t.Errorf("ParseDate(%q).String() = %q, want %q", tc.in, d.String(), tc.in)
			}
		})
	}
}

func TestParseLimitAndDeadline(t *testing.T) {
	c := defaultCal(t)
	start := at(t, "2025-09-26 16:00") // Friday; Sunday 09-28 is a make-up workday
	for _, tc := range []struct {
		in       string
		want     Limit
		str      string
		deadline string
	}{
		{"2h", Limit{Unit: WorkingTime, Duration: 2 * time.Hour}, "2h", "2025-09-28 09:00"},
		{"30m", Limit{Unit: WorkingTime, Duration: 30 * time.Minute}, "30m", "2025-09-26 16:30"},
		{"1h30m", Limit{Unit: WorkingTime, Duration: 90 * time.Minute}, "1h30m", "2025-09-26 17:30"},
		{"90m", Limit{Unit: WorkingTime, Duration: 90 * time.Minute}, "1h30m", "2025-09-26 17:30"},
		{"2wd", Limit{Unit: WorkingDays, Days: 2}, "2wd", "2025-09-29 16:00"},
		{" 2WD ", Limit{Unit: WorkingDays, Days: 2}, "2wd", "2025-09-29 16:00"},
		{"6ch", Limit{Unit: NaturalTime, Duration: 6 * time.Hour}, "6ch", "2025-09-26 22:00"},
		{"24ch", Limit{Unit: NaturalTime, Duration: 24 * time.Hour}, "24ch", "2025-09-27 16:00"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseLimit(tc.in)
			if err != nil {
				t.Fatalf("ParseLimit(%q): %v", tc.in, err)
			}
			if got != tc.want {
				t.Errorf("ParseLimit(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			if s := got.String(); s != tc.str {
				t.Errorf("String() = %q, want %q", s, tc.str)
			}
			if again, err := ParseLimit(got.String()); err != nil || again != got {
				t.Errorf("ParseLimit(String()) = %+v, %v, want %+v", again, err, got)
			}
			if d := c.Deadline(start, got); !d.Equal(at(t, tc.deadline)) {
				t.Errorf("Deadline(%s, %s) = %s, want %s", start, tc.in, d, tc.deadline)
			}
		})
	}
	for _, bad := range []string{"", "0h", "0m", "-2h", "2d", "1.5h", "2wd3", "h", "m", "wd", "ch", "0wd", "-1wd", "+2wd",
		"1001wd", "10001h", "2 h", "1h1h", "30m1h", "2hours", "99999999999999999999h"} {
		t.Run("refuses "+bad, func(t *testing.T) {
			_, err := ParseLimit(bad)
			if e, ok := errs.As(err); !ok || e.Msg.Key != "calendar.err.limit" {
				t.Errorf("ParseLimit(%q) error = %v, want calendar.err.limit", bad, err)
			}
		})
	}
}

func TestNewRefusesBadDays(t *testing.T) {
	for _, tc := range []struct {
		name  string
		days  []Day
		field string
		key   string
	}{
		{"impossible date", []Day{{Date: D(2026, 2, 30), Kind: Holiday}}, "day[1]", "calendar.err.date"},
		{"year out of range", []Day{{Date: D(1999, 1, 1), Kind: Holiday}}, "day[1]", "calendar.err.year_range"},
		{"unknown kind", []Day{{Date: D(2026, 1, 1), Kind: "rest"}}, "day[1]", "calendar.err.kind"},
		{"both kinds", []Day{{Date: D(2026, 1, 1), Kind: Holiday}, {Date: D(2026, 1, 1), Kind: Workday}}, "day[2]", "calendar.err.conflict"},
		{"twice", []Day{{Date: D(2026, 1, 1), Kind: Holiday}, {Date: D(2026, 1, 1), Kind: Holiday}}, "day[2]", "calendar.err.duplicate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.days, DefaultWorkHours())
			e, ok := errs.As(err)
			if !ok || e.Fields[tc.field].Key != tc.key {
				t.Errorf("New error = %v, want %s: %s", err, tc.field, tc.key)
			}
		})
	}
}

// TestCatalogHasEveryKey checks that each message key this package uses
// exists in both catalogues (i18n.Load already checks the two agree).
func TestCatalogHasEveryKey(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("*.go")
	re := regexp.MustCompile(`"((?:calendar\.(?:err\.[a-z_]+|import_invalid|day_not_found))|(?:error|field)\.[a-z_]+)"`)
	seen := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			seen++
			if !cat.Has(m[1]) {
				t.Errorf("%s uses message key %q, missing from the catalogues", f, m[1])
			}
		}
	}
	for _, k := range []string{"calendar.kind.holiday", "calendar.kind.workday"} {
		if !cat.Has(k) {
			t.Errorf("catalogue lacks %q", k)
		}
	}
	if seen < 20 {
		t.Errorf("found only %d message keys in the sources; the pattern is probably broken", seen)
	}
}

// TestConcurrentUse shares one Calendar between goroutines; run with -race
// it shows the value needs no locking, and the answers match a sequential run.
func TestConcurrentUse(t *testing.T) {
	c := defaultCal(t)
	ts, ds := benchInputs(t)
	want := make([]time.Time, len(ts))
	for i := range ts {
		want[i] = c.AddWorkingDuration(ts[i], ds[i])
	}
	errc := make(chan string, 8)
	for g := 0; g < 8; g++ {
		go func() {
			for i := range ts {
				if got := c.AddWorkingDuration(ts[i], ds[i]); !got.Equal(want[i]) {
					errc <- got.String() + " != " + want[i].String()
					return
				}
				_ = c.WorkingBetween(ts[i], ts[(i+1)%len(ts)])
				_ = c.AddWorkingDays(ts[i], i%20)
				_, _ = c.Lookup(c.DateOf(ts[i]))
			}
			errc <- ""
		}()
	}
	for g := 0; g < 8; g++ {
		if msg := <-errc; msg != "" {
			t.Errorf("concurrent AddWorkingDuration: %s", msg)
		}
	}
}

func TestLimitText(t *testing.T) {
	for _, tc := range []struct {
		name string
		l    Limit
		want string // "" when MarshalText must fail
	}{
		{"working hours", Limit{Unit: WorkingTime, Duration: 2 * time.Hour}, `"2h"`},
		{"working days", Limit{Unit: WorkingDays, Days: 3}, `"3wd"`},
		{"natural hours", Limit{Unit: NaturalTime, Duration: 6 * time.Hour}, `"6ch"`},
		{"natural minutes have no text form", Limit{Unit: NaturalTime, Duration: 90 * time.Minute}, ""},
		{"working seconds have no text form", Limit{Unit: WorkingTime, Duration: 30 * time.Second}, ""},
		{"no unit", Limit{}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(tc.l)
			if tc.want == "" {
				if err == nil {
					t.Errorf("json.Marshal(%+v) = %s, want an error", tc.l, b)
				}
				return
			}
			if err != nil || string(b) != tc.want {
				t.Fatalf("json.Marshal(%+v) = %s, %v; want %s", tc.l, b, err, tc.want)
			}
			var back Limit
			if err := json.Unmarshal(b, &back); err != nil || back != tc.l {
				t.Errorf("json.Unmarshal(%s) = %+v, %v; want %+v", b, back, err, tc.l)
			}
		})
	}
}
