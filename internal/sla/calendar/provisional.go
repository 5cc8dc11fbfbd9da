package calendar

import (
	"fmt"
	"sort"
	"time"

	lunar "github.com/6tail/lunar-go/calendar"
)

// Provisional calendars. The State Council publishes each year's schedule
// (with its bridge days and 调休) late in the year before; until it is
// imported, a year would otherwise be counted as plain Monday to Friday,
// with 元旦 and 国庆 as working days. For such a year Whistle generates the
// statutory holidays of 全国年节及纪念日放假办法 (as revised in 2024, in
// force from 2025) and marks them provisional: 元旦 (1 day), 春节 (除夕 to
// 初三, 4 days), 清明节 (the solar term's day), 劳动节 (May 1–2), 端午节
// (lunar 5/5), 中秋节 (lunar 8/15) and 国庆节 (October 1–3).
//
// No make-up working day (调休) and no substitute day off (补假) for a
// holiday on a weekend is invented: only the statutory days themselves
// are rest days. Every statutory day is a rest day in every official
// schedule (TestProvisionalWithinOfficial checks 2025 and 2026), so the
// provisional days are a subset of the official ones; a deadline computed
// on them may still move either way once the schedule arrives (bridge
// days push it later, 调休 working weekends pull it earlier), which is why
// the SLA engine recomputes such deadlines.

// ProvisionalFrom is the first year a provisional calendar is generated
// for: the 2024 revision of the regulation is in force from 2025-01-01
// (before it 春节 and 劳动节 had a day less).
const ProvisionalFrom = 2025

// ProvisionalAhead is how many years past the later of this year and the
// last year with a schedule Store.Load fills with provisional calendars.
// Time limits run days to weeks; a few years cover the longest (1000
// working days) a rule may set.
const ProvisionalAhead = 4

// ProvisionalSource is the Source of a provisional day.
const ProvisionalSource = "provisional: 全国年节及纪念日放假办法（2024年修订）"

// Provisional returns the statutory holidays of year, in date order,
// marked Provisional. Lunar dates and the 清明 solar term come from
// github.com/6tail/lunar-go. A year before ProvisionalFrom or after
// MaxYear is an error.
func Provisional(year int) ([]Day, error) {
	if year < ProvisionalFrom || year > MaxYear {
		return nil, fmt.Errorf("calendar: no provisional calendar for %d (only %d to %d)", year, ProvisionalFrom, MaxYear)
	}
	solar := func(s *lunar.Solar) Date { return D(s.GetYear(), time.Month(s.GetMonth()), s.GetDay()) }
	// 除夕 is the day before 初一: the last day of lunar month 12, which
	// is the 29th in a short month.
	newYear := solar(lunar.NewLunarFromYmd(year, 1, 1).GetSolar())
	// The lunar year starting in the solar year's third month holds the
	// 清明 of that solar year in its solar-term table.
	qm, ok := lunar.NewLunarFromYmd(year, 3, 1).GetJieQiTable()["清明"]
	if !ok || qm.GetYear() != year {
		return nil, fmt.Errorf("calendar: lunar-go has no 清明 in %d", year)
	}
	byDate := map[Date]string{}
	add := func(d Date, name string) {
		if old, ok := byDate[d]; ok && old != name {
			name = old + "、" + name // 中秋 on a 国庆 day stays one day off
		}
		byDate[d] = name
	}
	add(D(year, time.January, 1), "元旦")
	for i := -1; i <= 2; i++ {
		add(newYear.AddDays(i), "春节")
	}
	add(solar(qm), "清明节")
	add(D(year, time.May, 1), "劳动节")
	add(D(year, time.May, 2), "劳动节")
	add(solar(lunar.NewLunarFromYmd(year, 5, 5).GetSolar()), "端午节")
	for d := 1; d <= 3; d++ {
		add(D(year, time.October, d), "国庆节")
	}
	add(solar(lunar.NewLunarFromYmd(year, 8, 15).GetSolar()), "中秋节")
	out := make([]Day, 0, len(byDate))
	for d, name := range byDate {
		if d.Year != year {
			return nil, fmt.Errorf("calendar: provisional %s (%s) falls outside %d", d, name, year)
		}
		out = append(out, Day{Date: d, Kind: Holiday, Name: name, Source: ProvisionalSource, Provisional: true})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date.Before(out[j].Date) })
	return out, nil
}

// OfficialYears returns the years in which days lists a holiday that was
// imported or shipped: the years with a schedule. A year with only a
// listed workday (a make-up day that the next year's notice places in
// December) has none, nor has one with only days an administrator set by
// hand (a local closure keeps the year's provisional holidays).
func OfficialYears(days []Day) map[int]bool {
	out := map[int]bool{}
	for _, d := range days {
		if d.Kind == Holiday && !d.Provisional && d.Source != sourceManual {
			out[d.Date.Year] = true
		}
	}
	return out
}

// WithProvisional returns days followed by the provisional holidays of
// every year from ProvisionalFrom through through without a schedule in
// days (see OfficialYears). A date days lists keeps its own entry.
func WithProvisional(days []Day, through int) ([]Day, error) {
	official := OfficialYears(days)
	listed := make(map[Date]bool, len(days))
	for _, d := range days {
		listed[d.Date] = true
	}
	out := append([]Day(nil), days...)
	for y := ProvisionalFrom; y <= min(through, MaxYear); y++ {
		if official[y] {
			continue
		}
		pd, err := Provisional(y)
		if err != nil {
			return nil, err
		}
		for _, d := range pd {
			if !listed[d.Date] {
				out = append(out, d)
			}
		}
	}
	return out, nil
}

// ProvisionalThrough is the last year Store.Load gives a provisional
// calendar, for days as stored and the current year now: ProvisionalAhead
// years past the later of now and the last schedule (a schedule more than
// ProvisionalAhead years ahead, or a day set by hand in 2199, does not
// stretch it, so that loading stays cheap: about 2 ms a year).
func ProvisionalThrough(days []Day, now int) int {
	last := now
	for y := range OfficialYears(days) {
		if y <= now+ProvisionalAhead {
			last = max(last, y)
		}
	}
	return last + ProvisionalAhead
}

// IsProvisional reports whether year's calendar is provisional: it has
// generated holidays and no schedule.
func (c *Calendar) IsProvisional(year int) bool {
	return c.provisional[year]
}

// ProvisionalYears lists the years whose calendar is provisional, in order.
func (c *Calendar) ProvisionalYears() []int {
	out := make([]int, 0, len(c.provisional))
	for y := range c.provisional {
		out = append(out, y)
	}
	sort.Ints(out)
	return out
}

// ProvisionalBetween reports whether the dates from t to u (either order)
// touch a year whose calendar is provisional: whether a deadline computed
// across them may move once that year's schedule arrives (its bridge days
// and make-up workdays may fall on any date of the year).
func (c *Calendar) ProvisionalBetween(t, u time.Time) bool {
	if len(c.provisional) == 0 {
		return false
	}
	a, b := c.DateOf(t), c.DateOf(u)
	if b.Before(a) {
		a, b = b, a
	}
	for y := a.Year; y <= b.Year; y++ {
		if c.provisional[y] {
			return true
		}
	}
	return false
}
