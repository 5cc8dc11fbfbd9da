package calendar

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"sort"
	"time"
	_ "time/tzdata" // the zone must load on machines without /usr/share/zoneinfo

	"whistle/internal/errs"
)

// Zone is the time zone of every calendar computation. China has kept one
// offset (UTC+8, no daylight saving) since 1991, so a working day is
// always 24 hours long.
const Zone = "Asia/Shanghai"

// The years a schedule may list. Outside them a date is more likely a typo
// than a plan, and bounding them bounds the day table.
const (
	MinYear = 2000
	MaxYear = 2199
)

// Bounds on a day's name and source, in characters.
const (
	maxName   = 64
	maxSource = 200
)

//go:embed data/*.csv
var officialFS embed.FS

// Calendar is a working calendar: which days are working days, and which
// hours of a working day count. It is immutable once built, so one value
// may be shared by any number of goroutines; rebuild it (New, or
// Store.Load) to change it. Use New or Default: the zero value is not usable.
type Calendar struct {
	loc *time.Location
	// The zone's offset is zoneOff seconds for Unix times in
	// [zoneFrom, zoneTo): the zone period around MinYear's era.
	zoneOff, zoneFrom, zoneTo int64
	hours                     WorkHours
	spans                     []span
	daily                     int64 // working nanoseconds in one working day

	// The day table covers day numbers [lo, hi): whole years from the first
	// to the last year with data. Outside it, Monday to Friday work.
	lo, hi int64
	// rank[i] is the number of working days in [lo, lo+i); len(rank) = hi-lo+1.
	rank []int32
	// nth[j] is the table offset (day - lo) of the table's j-th working day.
	nth []int32
	// base is the number of plain Monday-to-Friday days before lo counted
	// from day 0, so that wrank is one continuous count across the table.
	base int64

	years []int // the years with a schedule (Covers)
	// provisional holds the years whose holidays were generated (see
	// Provisional) because they have no schedule.
	provisional map[int]bool
	days        map[int64]Day
}

// span is a Period in nanoseconds with the working time that precedes it.
type span struct {
	start, end, cum int64
}

// New builds a calendar from the listed days and the working hours. Days
// are validated as an import would be (valid dates from MinYear to MaxYear,
// known kinds, no date twice).
func New(days []Day, hours WorkHours) (*Calendar, error) {
	if err := hours.Validate(); err != nil {
		return nil, err
	}
	if err := validateDays(days); err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(Zone)
	if err != nil {
		return nil, fmt.Errorf("calendar: load zone %s: %w", Zone, err)
	}
	c := &Calendar{loc: loc, hours: slices.Clone(hours), days: make(map[int64]Day, len(days))}
	ref := time.Date(MinYear, time.January, 1, 0, 0, 0, 0, loc)
	_, off := ref.Zone()
	from, to := ref.ZoneBounds()
	c.zoneOff, c.zoneFrom, c.zoneTo = int64(off), math.MinInt64, math.MaxInt64
	if !from.IsZero() {
		c.zoneFrom = from.Unix()
	}
	if !to.IsZero() {
		c.zoneTo = to.Unix()
	}
	var cum int64
	for _, p := range hours {
		s := span{start: int64(p.Start), end: int64(p.End), cum: cum}
		cum += s.end - s.start
		c.spans = append(c.spans, s)
	}
	c.daily = cum

	seen := map[int]bool{}
	var all []int // every year with a day, provisional ones included
	for _, d := range days {
		d.Line = 0
		c.days[d.Date.days()] = d
		if d.Provisional {
			if c.provisional == nil {
				c.provisional = map[int]bool{}
			}
			c.provisional[d.Date.Year] = true
		}
		if !seen[d.Date.Year] {
			seen[d.Date.Year] = true
			all = append(all, d.Date.Year)
		}
	}
	sort.Ints(all)
	for _, y := range all {
		if !c.provisional[y] {
			c.years = append(c.years, y)
		}
	}
	if len(all) > 0 {
		c.lo = Date{all[0], time.January, 1}.days()
		c.hi = Date{all[len(all)-1] + 1, time.January, 1}.days()
	}
	c.base = plainRank(c.lo)
	c.rank = make([]int32, c.hi-c.lo+1)
	for i := int64(0); i < c.hi-c.lo; i++ {
		day := c.lo + i
		work := plainWork(day)
		if d, ok := c.days[day]; ok {
			work = d.Kind == Workday
		}
		c.rank[i+1] = c.rank[i]
		if work {
			c.rank[i+1]++
			c.nth = append(c.nth, int32(i))
		}
	}
	return c, nil
}

// Default returns the calendar of the official schedules shipped with
// Whistle (see Official) and DefaultWorkHours, without provisional years
// (Store.Load adds them; WithProvisional does for any list of days).
func Default() (*Calendar, error) {
	days, err := Official()
	if err != nil {
		return nil, err
	}
	return New(days, DefaultWorkHours())
}

// Official returns the State Council holiday schedules embedded in the
// binary (data/*.csv; data/README.md names each notice), in date order.
func Official() ([]Day, error) {
	names, err := fs.Glob(officialFS, "data/*.csv")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []Day
	for _, n := range names {
		b, err := officialFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		days, err := ParseImport("csv", bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("calendar: embedded %s: %w", n, err)
		}
		out = append(out, days...)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date.Before(out[j].Date) })
	return out, nil
}

// where names a day in error fields.
func (d Day) where(i int) string {
	if d.Line > 0 {
		return fmt.Sprintf("line[%d]", d.Line)
	}
	return fmt.Sprintf("day[%d]", i+1)
}

// lineOr returns the day's line, or for a day that did not come from a
// file its position in days (from 1), for messages that point at it.
func (d Day) lineOr(i int) int {
	if d.Line > 0 {
		return d.Line
	}
	return i + 1
}

// problems collects validation failures so that a file reports all of them
// at once (up to a bound), each under the line it concerns.
type problems struct {
	fields []string
	e      *errs.Error
}

// maxProblems bounds the report for a file that is wrong everywhere.
const maxProblems = 100

func (p *problems) add(field, key string, args ...any) {
	if p.e == nil {
		p.e = errs.E(errs.Invalid, "calendar.import_invalid")
	}
	if _, dup := p.e.Fields[field]; dup || len(p.fields) >= maxProblems {
		return // the first problem of a line is the one worth fixing first
	}
	p.fields = append(p.fields, field)
	p.e.Field(field, key, args...)
}

func (p *problems) err() error {
	if p.e == nil {
		return nil
	}
	p.e.Msg.Args = []any{len(p.fields)}
	return p.e
}

// Covers reports whether the calendar has a schedule for year. A year
// without one is computed on its provisional holidays (IsProvisional) or,
// outside the provisional range, as plain Monday to Friday, which is wrong
// around its holidays; callers should warn when a deadline falls in such a
// year.
func (c *Calendar) Covers(year int) bool {
	_, ok := slices.BinarySearch(c.years, year)
	return ok
}

// Years lists the years with a schedule, in order (not the provisional ones).
func (c *Calendar) Years() []int { return slices.Clone(c.years) }

// Location returns the calendar's zone (Asia/Shanghai).
func (c *Calendar) Location() *time.Location { return c.loc }

// WorkHours returns the working periods of a working day.
func (c *Calendar) WorkHours() WorkHours { return slices.Clone(c.hours) }

// DailyHours returns the working time of one working day (7h30m by default).
func (c *Calendar) DailyHours() time.Duration { return time.Duration(c.daily) }

// DateOf returns the date of t in the calendar's zone.
func (c *Calendar) DateOf(t time.Time) Date {
	day, _ := c.split(t)
	return dateOfDay(day)
}

// IsWorkday reports whether d is a working day: Monday to Friday unless
// listed as a holiday, or a weekend day listed as a make-up workday.
func (c *Calendar) IsWorkday(d Date) bool { return c.isWork(d.days()) }

// Lookup returns the listed entry for d, if d is a holiday or a listed
// workday; unlisted dates follow the Monday-to-Friday rule.
func (c *Calendar) Lookup(d Date) (Day, bool) {
	day, ok := c.days[d.days()]
	return day, ok
}

// Days lists the calendar's entries for year, in date order.
func (c *Calendar) Days(year int) []Day {
	var out []Day
	for _, d := range c.days {
		if d.Date.Year == year {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date.Before(out[j].Date) })
	return out
}

// IsWorkingTime reports whether t lies inside a working period of a working
// day. Periods are half-open: 08:30 is working time, 12:00 is not.
func (c *Calendar) IsWorkingTime(t time.Time) bool {
	day, tod := c.split(t)
	if !c.isWork(day) {
		return false
	}
	for _, s := range c.spans {
		if tod < s.end {
			return tod >= s.start
		}
	}
	return false
}
