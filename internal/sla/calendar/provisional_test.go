package calendar

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// provisionalCal is the shipped schedules (2025, 2026) with provisional
// years through 2030, as Store.Load builds it in 2026.
func provisionalCal(t *testing.T) *Calendar {
	t.Helper()
	days, err := Official()
	if err != nil {
		t.Fatal(err)
	}
	if days, err = WithProvisional(days, 2030); err != nil {
		t.Fatal(err)
	}
	c, err := New(days, DefaultWorkHours())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func describeDays(days []Day) []string {
	var out []string
	for _, d := range days {
		out = append(out, d.Date.String()+" "+d.Name)
	}
	return out
}

// TestProvisionalDays lists each year's statutory days as published
// calendars give them (lunar dates and the 清明 term typed in here, not
// computed): the generator must agree with them to the day.
func TestProvisionalDays(t *testing.T) {
	for _, tc := range []struct {
		year int
		want []string
	}{
		// 2025 and 2026 as the statutory days inside the official breaks
		// (除夕 2025 and 2026 are both 腊月二十九).
		{2025, []string{"2025-01-01 元旦", "2025-01-28 春节", "2025-01-29 春节", "2025-01-30 春节", "2025-01-31 春节", "2025-04-04 清明节",
			"2025-05-01 劳动节", "2025-05-02 劳动节", "2025-05-31 端午节", "2025-10-01 国庆节", "2025-10-02 国庆节", "2025-10-03 国庆节", "2025-10-06 中秋节"}},
		{2026, []string{"2026-01-01 元旦", "2026-02-16 春节", "2026-02-17 春节", "2026-02-18 春节", "2026-02-19 春节", "2026-04-05 清明节",
			"2026-05-01 劳动节", "2026-05-02 劳动节", "2026-06-19 端午节", "2026-09-25 中秋节", "2026-10-01 国庆节", "2026-10-02 国庆节", "2026-10-03 国庆节"}},
		{2027, []string{"2027-01-01 元旦", "2027-02-05 春节", "2027-02-06 春节", "2027-02-07 春节", "2027-02-08 春节", "2027-04-05 清明节",
			"2027-05-01 劳动节", "2027-05-02 劳动节", "2027-06-09 端午节", "2027-09-15 中秋节", "2027-10-01 国庆节", "2027-10-02 国庆节", "2027-10-03 国庆节"}},
		// 中秋 on 10-03: one day off for both, none invented.
		{2028, []string{"2028-01-01 元旦", "2028-01-25 春节", "2028-01-26 春节", "2028-01-27 春节", "2028-01-28 春节", "2028-04-04 清明节",
			"2028-05-01 劳动节", "2028-05-02 劳动节", "2028-05-28 端午节", "2028-10-01 国庆节", "2028-10-02 国庆节", "2028-10-03 国庆节、中秋节"}},
		// 除夕 2030 is 腊月二十九: lunar month 12 of 2029 has 29 days.
		{2030, []string{"2030-01-01 元旦", "2030-02-02 春节", "2030-02-03 春节", "2030-02-04 春节", "2030-02-05 春节", "2030-04-05 清明节",
			"2030-05-01 劳动节", "2030-05-02 劳动节", "2030-06-05 端午节", "2030-09-12 中秋节", "2030-10-01 国庆节", "2030-10-02 国庆节", "2030-10-03 国庆节"}},
	} {
		t.Run(fmt.Sprint(tc.year), func(t *testing.T) {
			days, err := Provisional(tc.year)
			if err != nil {
				t.Fatal(err)
			}
			if got := describeDays(days); !slices.Equal(got, tc.want) {
				t.Errorf("Provisional(%d) =\n%v\nwant\n%v", tc.year, got, tc.want)
			}
			for _, d := range days {
				if d.Kind != Holiday || !d.Provisional || d.Source != ProvisionalSource {
					t.Errorf("%s: kind %s provisional %v source %q; want a provisional holiday from %q", d.Date, d.Kind, d.Provisional, d.Source, ProvisionalSource)
				}
			}
		})
	}
	for _, y := range []int{ProvisionalFrom - 1, MaxYear + 1} {
		if _, err := Provisional(y); err == nil {
			t.Errorf("Provisional(%d) succeeded, want an error outside %d–%d", y, ProvisionalFrom, MaxYear)
		}
	}
}

// TestProvisionalWithinOfficial generates the years whose official
// schedules Whistle ships and checks that every generated day is a rest
// day of the official one (which adds bridge days, never removes a
// statutory day), and that each festival's official break contains it.
func TestProvisionalWithinOfficial(t *testing.T) {
	official, err := Official()
	if err != nil {
		t.Fatal(err)
	}
	rest := map[Date]Day{}
	years := map[int]bool{}
	for _, d := range official {
		if d.Kind == Holiday {
			rest[d.Date] = d
			years[d.Date.Year] = true
		}
	}
	off := defaultCal(t) // the official schedules alone
	if len(years) < 2 {
		t.Fatalf("official schedules for %v, want at least 2025 and 2026", years)
	}
	for y := range years {
		gen, err := Provisional(y)
		if err != nil {
			t.Fatal(err)
		}
		if len(gen) < 12 {
			t.Errorf("%d: %d provisional days, want at least 12", y, len(gen))
		}
		for _, g := range gen {
			if off.IsWorkday(g.Date) {
				t.Errorf("%d: provisional %s %s is a working day in the official schedule", y, g.Date, g.Name)
				continue
			}
			o, ok := rest[g.Date]
			if !ok {
				continue // a weekend day the notice did not need to list
			}
			if o.Name != g.Name && !(len(o.Name) > len(g.Name) && containsName(o.Name, g.Name)) {
				t.Errorf("%d: provisional %s is %s, official %s", y, g.Date, g.Name, o.Name)
			}
		}
	}
}

// containsName reports whether a joint name such as 国庆节、中秋节 names
// festival.
func containsName(joint, festival string) bool {
	for _, part := range splitJoint(joint) {
		if part == festival {
			return true
		}
	}
	return false
}

func splitJoint(s string) []string {
	var out []string
	start := 0
	for i, r := range s {
		if r == '、' {
			out = append(out, s[start:i])
			start = i + len("、")
		}
	}
	return append(out, s[start:])
}

// TestWithProvisional checks which years receive provisional days and that
// listed dates keep their own entries.
func TestWithProvisional(t *testing.T) {
	stored := []Day{
		{Date: D(2025, 1, 1), Kind: Holiday, Name: "元旦", Source: "notice"},      // 2025 has a schedule
		{Date: D(2027, 10, 2), Kind: Workday, Name: "调整", Source: sourceManual}, // a listed date in a provisional year
		{Date: D(2028, 12, 30), Kind: Workday, Name: "元旦", Source: "notice"},    // a workday alone is no schedule
		{Date: D(2029, 3, 1), Kind: Holiday, Name: "停工", Source: sourceManual},  // nor is a holiday set by hand
		{Date: D(2030, 1, 1), Kind: Holiday, Name: "元旦", Source: sourceImport},  // an imported holiday is
	}
	got, err := WithProvisional(stored, 2030)
	if err != nil {
		t.Fatal(err)
	}
	byYear := map[int]int{}
	for _, d := range got {
		if d.Provisional {
			byYear[d.Date.Year]++
		}
		if d.Date == D(2027, 10, 2) && (d.Provisional || d.Kind != Workday) {
			t.Errorf("2027-10-02 = %+v, want the stored workday", d)
		}
	}
	want := map[int]int{2026: 13, 2027: 12, 2028: 12, 2029: 13}
	for y := 2024; y <= 2031; y++ {
		if byYear[y] != want[y] {
			t.Errorf("%d: %d provisional days, want %d", y, byYear[y], want[y])
		}
	}
	if _, err := New(got, DefaultWorkHours()); err != nil {
		t.Errorf("New(WithProvisional(...)): %v", err)
	}
	for _, tc := range []struct {
		name string
		days []Day
		now  int
		want int
	}{
		{"the last schedule is ahead", stored, 2026, 2030 + ProvisionalAhead},
		{"no schedule", nil, 2026, 2026 + ProvisionalAhead},
		{"this year is ahead", stored, 2031, 2031 + ProvisionalAhead},
		{"a hand-set day far ahead", []Day{{Date: D(MaxYear, 1, 1), Kind: Holiday, Source: sourceManual}}, 2026, 2026 + ProvisionalAhead},
		{"a schedule far ahead", []Day{{Date: D(MaxYear, 1, 1), Kind: Holiday, Source: sourceImport}}, 2026, 2026 + ProvisionalAhead},
	} {
		if got := ProvisionalThrough(tc.days, tc.now); got != tc.want {
			t.Errorf("ProvisionalThrough, %s: got %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestProvisionalArithmetic is issue 13 item 11: 2027 has no official
// schedule, and a time limit running over New Year must skip 2027-01-01
// (and 春节) instead of counting them as working days.
func TestProvisionalArithmetic(t *testing.T) {
	c := provisionalCal(t)
	if c.Covers(2027) || !c.IsProvisional(2027) || c.IsProvisional(2026) || c.IsProvisional(2031) {
		t.Errorf("Covers(2027) %v, IsProvisional 2027 %v, 2026 %v, 2031 %v; want false, true, false, false",
			c.Covers(2027), c.IsProvisional(2027), c.IsProvisional(2026), c.IsProvisional(2031))
	}
	if got, want := c.Years(), []int{2025, 2026}; !slices.Equal(got, want) {
		t.Errorf("Years() = %v, want %v (schedules only)", got, want)
	}
	for _, tc := range []struct {
		name  string
		start string
		d     time.Duration
		want  string
	}{
		{"over New Year 2027 (Friday 01-01 is 元旦)", "2026-12-31 17:00", time.Hour, "2027-01-04 09:00"},
		{"a working day and a half from New Year's Eve", "2026-12-31 08:30", 11*time.Hour + 15*time.Minute, "2027-01-04 13:45"},
		{"over 春节 2027 (除夕 Friday 02-05 to 初三 Monday 02-08)", "2027-02-04 17:00", time.Hour, "2027-02-09 09:00"},
		{"over 清明 2027 (Monday 04-05)", "2027-04-02 17:00", time.Hour, "2027-04-06 09:00"},
		{"over 国庆 2027 (Friday 10-01)", "2027-09-30 17:00", time.Hour, "2027-10-04 09:00"},
		{"backwards over New Year", "2027-01-04 09:00", -time.Hour, "2026-12-31 17:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := c.AddWorkingDuration(at(t, tc.start), tc.d)
			if want := at(t, tc.want); !got.Equal(want) {
				t.Errorf("AddWorkingDuration(%s, %v) = %s, want %s", tc.start, tc.d, got, want)
			}
		})
	}
	// 2 working days from Thursday 2026-12-31 10:00: Monday 01-04 10:00.
	if got, want := c.AddWorkingDays(at(t, "2026-12-31 10:00"), 2), at(t, "2027-01-05 10:00"); !got.Equal(want) {
		t.Errorf("AddWorkingDays(2026-12-31 10:00, 2) = %s, want %s", got, want)
	}
	if got, want := c.WorkingBetween(at(t, "2026-12-31 08:30"), at(t, "2027-01-05 08:30")), 2*c.DailyHours(); got != want {
		t.Errorf("WorkingBetween(2026-12-31, 2027-01-05) = %v, want %v", got, want)
	}
	// 261 weekdays − 7 provisional holidays on weekdays; no 调休 invented.
	n := 0
	for d := D(2027, 1, 1); d.Year == 2027; d = d.AddDays(1) {
		if c.IsWorkday(d) {
			n++
		}
		if d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
			if c.IsWorkday(d) {
				t.Errorf("%s (a %s) is a working day: a provisional year invents no 调休", d, d.Weekday())
			}
		}
	}
	if n != 254 {
		t.Errorf("2027 has %d working days, want 254", n)
	}
	if !c.ProvisionalBetween(at(t, "2026-12-31 10:00"), at(t, "2027-01-05 10:00")) || c.ProvisionalBetween(at(t, "2026-03-01 10:00"), at(t, "2026-12-31 17:00")) {
		t.Errorf("ProvisionalBetween: want true across New Year 2027, false inside 2026")
	}
}
