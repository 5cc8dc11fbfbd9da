package sla

import (
	"context"
	"strconv"
	"strings"
	"time"

	"whistle/internal/errs"
	"whistle/internal/i18n"
	"whistle/internal/sla/calendar"
)

// Left is how much of a case's time limit is left, counted in the limit's
// own unit: a working-hours limit in working hours by the calendar, a
// working-days limit in working days, a natural limit in clock time. A
// working-time limit is never shown as a wall-clock span, which would count
// the nights and holidays the limit does not.
type Left struct {
	// Unit is the limit's unit.
	Unit calendar.Unit
	// Remaining is the time left on the limit's clock; negative when
	// overdue.
	Remaining time.Duration
	// Days is Remaining in working days of the calendar's working hours
	// (for WorkingDays limits).
	Days float64
	// Deadline is when the limit runs out; zero while paused.
	Deadline time.Time
	// Paused says the case is suspended: Remaining is what is left at the
	// pause and the clock stands still.
	Paused bool
}

// Overdue says the deadline has passed.
func (l Left) Overdue() bool { return l.Remaining < 0 }

// Hours is Remaining in hours of the limit's clock, rounded to a tenth.
func (l Left) Hours() float64 { return round1(l.Remaining.Hours()) }

func round1(f float64) float64 {
	if f < 0 {
		return -round1(-f)
	}
	return float64(int64(f*10+0.5)) / 10
}

// Words says l as people read it, in the limit's unit: "剩余 1.5 个工作小时"
// (left.working_hours), "已超时 2 个工作日" (left.working_days_over),
// clock time for a natural limit (left.natural, "1 天 3 小时"), wrapped in
// left.paused while the clock stands still. Pages and messages both say
// it so.
func (l Left) Words() i18n.Phrase {
	var p i18n.Phrase
	switch l.Unit {
	case calendar.WorkingDays:
		p = i18n.Phrase{Key: "left.working_days", Args: []any{figure(l.Days)}}
	case calendar.NaturalTime:
		p = i18n.Phrase{Key: "left.natural", Args: []any{clockSpan(l.Remaining)}}
	default:
		p = i18n.Phrase{Key: "left.working_hours", Args: []any{figure(l.Hours())}}
	}
	if l.Overdue() {
		p.Key += "_over"
	}
	if l.Paused {
		p = i18n.Phrase{Key: "left.paused", Args: []any{p}}
	}
	return p
}

// Span says d of a limit's clock in the limit's unit: "2 个工作日"
// (span.working_days, by daily, the calendar's working hours a day),
// "1.5 个工作小时" (span.working_hours), or clock time for a natural
// limit. A postponement's hours are said so.
func Span(unit calendar.Unit, d, daily time.Duration) i18n.Phrase {
	switch {
	case unit == calendar.WorkingDays && daily > 0:
		return i18n.Phrase{Key: "span.working_days", Args: []any{figure(round1(float64(d) / float64(daily)))}}
	case unit == calendar.NaturalTime:
		return clockSpan(d)
	}
	return i18n.Phrase{Key: "span.working_hours", Args: []any{figure(round1(d.Hours()))}}
}

// Words says the cases' running limits at now as messages say them, in
// one read: the time left on each (Left.Words, from TimeLeft; a case
// without a running limit is not in left) and how to say a span of a
// case's limit's clock in its unit (Span, such as a postponement's hours).
// Like TimeLeft it does not check data scope.
func (e *Engine) Words(ctx context.Context, caseIDs []int64, now time.Time) (left map[int64]i18n.Phrase, span func(caseID int64, d time.Duration) i18n.Phrase, err error) {
	defer errs.Wrapf(&err, "sla.Engine.Words(%d)", len(caseIDs))
	m, err := e.TimeLeft(ctx, caseIDs, now)
	if err != nil {
		return nil, nil, err
	}
	left = make(map[int64]i18n.Phrase, len(m))
	for id, l := range m {
		left[id] = l.Words()
	}
	daily := e.Calendar().DailyHours()
	return left, func(id int64, d time.Duration) i18n.Phrase { return Span(m[id].Unit, d, daily) }, nil
}

// figure writes |f| with at most one decimal ("1.5", "2").
func figure(f float64) string {
	if f < 0 {
		f = -f
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// clockSpan says |d| of clock time: days and hours, hours and minutes, or
// minutes.
func clockSpan(d time.Duration) i18n.Phrase {
	if d < 0 {
		d = -d
	}
	days := int(d.Hours()) / 24
	hours := int(d.Hours()) % 24
	mins := int(d.Minutes()) % 60
	switch {
	case days > 0:
		return i18n.Phrase{Key: "time.days_hours", Args: []any{days, hours}}
	case hours > 0:
		return i18n.Phrase{Key: "time.hours_minutes", Args: []any{hours, mins}}
	}
	return i18n.Phrase{Key: "time.minutes", Args: []any{mins}}
}

// unitOf reads the unit of a stage's limit text ("2wd", "4h", "6ch",
// "30m natural").
func unitOf(s *Stage) calendar.Unit {
	switch {
	case s.Natural:
		return calendar.NaturalTime
	case strings.HasSuffix(s.Limit, "wd"):
		return calendar.WorkingDays
	}
	return calendar.WorkingTime
}

// leftOf computes a stage's Left at now on cal; ok is false when the stage
// has no running limit.
func leftOf(cal *calendar.Calendar, s *Stage, now time.Time) (Left, bool) {
	if s == nil || s.Deadline.IsZero() || !s.EndedAt.IsZero() {
		return Left{}, false
	}
	l := Left{Unit: unitOf(s), Deadline: s.Deadline, Paused: !s.PausedAt.IsZero()}
	at := now
	if l.Paused {
		at, l.Deadline = s.PausedAt, time.Time{}
	}
	if s.Natural {
		l.Remaining = s.Deadline.Sub(at)
	} else {
		l.Remaining = cal.WorkingBetween(at, s.Deadline)
	}
	if daily := cal.DailyHours(); daily > 0 {
		l.Days = round1(float64(l.Remaining) / float64(daily))
	}
	return l, true
}

// TimeLeft returns the time left on the open stage of each of the cases
// that has a running limit, in one query, at now. It does not check data
// scope: callers pass cases they read through casework.
func (e *Engine) TimeLeft(ctx context.Context, caseIDs []int64, now time.Time) (_ map[int64]Left, err error) {
	defer errs.Wrapf(&err, "sla.Engine.TimeLeft")
	out := map[int64]Left{}
	if len(caseIDs) == 0 {
		return out, nil
	}
	var b strings.Builder
	args := make([]any, len(caseIDs))
	for i, id := range caseIDs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(i+1))
		args[i] = id
	}
	rows, err := e.db.Query(ctx, `SELECT `+stageCols+` FROM sla_stages WHERE ended_at IS NULL AND case_id IN (`+b.String()+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cal := e.Calendar()
	for rows.Next() {
		s, err := scanStage(rows)
		if err != nil {
			return nil, err
		}
		if l, ok := leftOf(cal, s, now); ok {
			out[s.CaseID] = l
		}
	}
	return out, rows.Err()
}
