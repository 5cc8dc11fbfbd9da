package web

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/errs"
	"whistle/internal/indicator"
	"whistle/internal/region"
	"whistle/internal/sla"
	"whistle/internal/sla/calendar"
	"whistle/internal/stats"
)

// slaHandlers serve time limits (时限), the working calendar, a case's
// SLA stages, the unit statistics and the time-limit admin page.
type slaHandlers struct {
	*view
	SLA     *sla.Engine
	Stats   *stats.Store
	Cases   *casework.Service
	Regions *region.Store
	Clock   clock.Clock
}

// apiStatsUnits answers the figures of a region node, its child nodes and
// the departments serving its subtree over a period, from the indicator
// registry (the same values the big screen's summary shows):
// GET /api/v1/stats/units?region=CODE&from=DATE&to=DATE. region defaults to
// the caller's own node; from and to are dates (YYYY-MM-DD, Asia/Shanghai,
// both days included) or RFC 3339 instants (to excluded; the rollups count
// whole days, so an instant counts its whole day), by default the current
// month up to today included. A node outside the caller's data scope is 404.
func (s *slaHandlers) apiStatsUnits(w http.ResponseWriter, r *http.Request) error {
	if s.Stats == nil {
		return errs.E(errs.Unavailable, "error.unavailable")
	}
	q := r.URL.Query()
	code := strings.TrimSpace(q.Get("region"))
	if code == "" {
		code = userOf(r).Region.Code
	}
	today := time.Now().In(shanghai)
	if s.Clock != nil {
		today = s.Clock.Now().In(shanghai)
	}
	bad := errs.E(errs.Invalid, "error.invalid")
	from, err := statsDay(q.Get("from"), false)
	if err != nil {
		bad.Field("from", "field.date")
	}
	to, err := statsDay(q.Get("to"), true)
	if err != nil {
		bad.Field("to", "field.date")
	}
	if code == "" {
		bad.Field("region", "field.required")
	}
	if len(bad.Fields) > 0 {
		return bad
	}
	if from.IsZero() {
		from = time.Date(today.Year(), today.Month(), 1, 0, 0, 0, 0, shanghai)
	}
	if to.IsZero() {
		to = time.Date(today.Year(), today.Month(), today.Day()+1, 0, 0, 0, 0, shanghai)
	}
	st, err := s.Stats.Units(r.Context(), scopeOf(r), code, indicator.Period{From: from, To: to})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// statsDay reads a date in Asia/Shanghai (the day's start, or with end the
// next day's start, so that a "to" date is included) or an RFC 3339
// instant. An empty value is the zero time.
func statsDay(v string, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation("2006-01-02", v, shanghai)
	if err != nil {
		return time.Time{}, err
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}

// apiTimeLimits lists the time-limit rules.
func (s *slaHandlers) apiTimeLimits(w http.ResponseWriter, r *http.Request) error {
	ls, err := s.SLA.TimeLimits(r.Context())
	if err != nil {
		return err
	}
	if ls == nil {
		ls = []sla.TimeLimit{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"time_limits": ls})
	return nil
}

// timeLimitRequest is the body of POST and PUT /api/v1/time-limits.
type timeLimitRequest struct {
	Workflow       string `json:"workflow"`
	Stage          string `json:"stage"`
	CategoryPrefix string `json:"category_prefix"`
	RegionCode     string `json:"region_code"`
	Limit          string `json:"limit"`
	UseCategory    bool   `json:"use_category"`
	WarnPercent    int    `json:"warn_percent"`
}

func (in timeLimitRequest) limit() sla.TimeLimit {
	return sla.TimeLimit{Workflow: in.Workflow, Stage: in.Stage, CategoryPrefix: in.CategoryPrefix, RegionCode: in.RegionCode,
		Limit: in.Limit, UseCategory: in.UseCategory, WarnPercent: in.WarnPercent}
}

// apiTimeLimitCreate adds a rule; running deadlines keep theirs.
func (s *slaHandlers) apiTimeLimitCreate(w http.ResponseWriter, r *http.Request) error {
	var in timeLimitRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	l, err := s.SLA.AddTimeLimit(r.Context(), actorOf(r), in.limit())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, l)
	return nil
}

// apiTimeLimitUpdate replaces a rule; running deadlines keep theirs.
func (s *slaHandlers) apiTimeLimitUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in timeLimitRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	l, err := s.SLA.UpdateTimeLimit(r.Context(), actorOf(r), id, in.limit())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

// apiTimeLimitDelete removes a rule.
func (s *slaHandlers) apiTimeLimitDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.SLA.DeleteTimeLimit(r.Context(), actorOf(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// calendarYear is the calendar of one year as the API shows it.
type calendarYear struct {
	Year int `json:"year"`
	// Covered says whether the year has a schedule. A year without one
	// is Provisional when the calendar generated its statutory holidays
	// (each listed day then has "provisional": true; no 调休 is invented),
	// and counted as plain Monday to Friday otherwise.
	Covered     bool           `json:"covered"`
	Provisional bool           `json:"provisional"`
	Workdays    int            `json:"workdays"`
	WorkHours   string         `json:"work_hours"`
	DailyHours  float64        `json:"daily_hours"`
	Days        []calendar.Day `json:"days"`
	Years       []int          `json:"years"`
}

// apiCalendar answers a year of the working calendar:
// GET /api/v1/calendar?year=2026 (default: this year).
func (s *slaHandlers) apiCalendar(w http.ResponseWriter, r *http.Request) error {
	cal := s.SLA.Calendar()
	year := time.Now().In(cal.Location()).Year()
	if s.Clock != nil {
		year = s.Clock.Now().In(cal.Location()).Year()
	}
	if v := r.URL.Query().Get("year"); v != "" {
		y, err := strconv.Atoi(v)
		if err != nil || y < calendar.MinYear || y > calendar.MaxYear {
			return errs.E(errs.Invalid, "error.invalid").Field("year", "field.range", calendar.MinYear, calendar.MaxYear)
		}
		year = y
	}
	days, err := s.SLA.CalendarStore().Days(r.Context(), year)
	if err != nil {
		return err
	}
	if days == nil {
		days = []calendar.Day{}
	}
	days = withProvisional(cal, year, days)
	out := calendarYear{Year: year, Covered: cal.Covers(year), WorkHours: cal.WorkHours().String(), DailyHours: cal.DailyHours().Hours(),
		Days: days, Years: cal.Years(), Provisional: cal.IsProvisional(year) && !calendar.OfficialYears(days)[year]}
	for d := calendar.D(year, time.January, 1); d.Year == year; d = d.AddDays(1) {
		if cal.IsWorkday(d) {
			out.Workdays++
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// withProvisional adds to year's stored days the provisional holidays the
// working calendar generated for it, unless the store already has a
// schedule for the year (imported since the calendar was loaded).
func withProvisional(cal *calendar.Calendar, year int, stored []calendar.Day) []calendar.Day {
	if !cal.IsProvisional(year) || calendar.OfficialYears(stored)[year] {
		return stored
	}
	listed := map[calendar.Date]bool{}
	for _, d := range stored {
		listed[d.Date] = true
	}
	out := stored
	for _, d := range cal.Days(year) {
		if d.Provisional && !listed[d.Date] {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date.Before(out[j].Date) })
	return out
}

// calendarDate reads the {date} path value.
func calendarDate(r *http.Request) (calendar.Date, error) {
	d, err := calendar.ParseDate(r.PathValue("date"))
	if err != nil {
		return calendar.Date{}, errs.E(errs.Invalid, "error.invalid").Field("date", "calendar.err.date", r.PathValue("date"))
	}
	return d, nil
}

// apiCalendarSetDay lists a date as a holiday or a workday:
// PUT /api/v1/calendar/days/{date} {"kind": "holiday", "name": "元旦"}.
func (s *slaHandlers) apiCalendarSetDay(w http.ResponseWriter, r *http.Request) error {
	date, err := calendarDate(r)
	if err != nil {
		return err
	}
	var in struct {
		Kind string `json:"kind"`
		Name string `json:"name"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	kind, ok := calendar.ParseKind(in.Kind)
	if !ok {
		return errs.E(errs.Invalid, "error.invalid").Field("kind", "calendar.err.kind", in.Kind)
	}
	if err := s.SLA.CalendarStore().SetDay(r.Context(), actorOf(r), date, kind, in.Name); err != nil {
		return err
	}
	if err := s.SLA.ReloadCalendar(r.Context()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, calendar.Day{Date: date, Kind: kind, Name: strings.TrimSpace(in.Name), Source: "manual"})
	return nil
}

// apiCalendarDeleteDay removes a date's entry: it follows Monday to Friday again.
func (s *slaHandlers) apiCalendarDeleteDay(w http.ResponseWriter, r *http.Request) error {
	date, err := calendarDate(r)
	if err != nil {
		return err
	}
	if err := s.SLA.CalendarStore().DeleteDay(r.Context(), actorOf(r), date); err != nil {
		return err
	}
	if err := s.SLA.ReloadCalendar(r.Context()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// apiCalendarSetHours sets the working hours:
// PUT /api/v1/calendar/hours {"work_hours": "08:30-12:00,13:30-17:30"}.
func (s *slaHandlers) apiCalendarSetHours(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		WorkHours string `json:"work_hours"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.SLA.CalendarStore().SetWorkHours(r.Context(), actorOf(r), in.WorkHours); err != nil {
		if e, ok := errs.As(err); ok && len(e.Fields) == 0 && e.Code == errs.Invalid {
			return errs.E(errs.Invalid, "error.invalid").Field("work_hours", e.Msg.Key, e.Msg.Args...)
		}
		return err
	}
	if err := s.SLA.ReloadCalendar(r.Context()); err != nil {
		return err
	}
	cal := s.SLA.Calendar()
	writeJSON(w, http.StatusOK, map[string]any{"work_hours": cal.WorkHours().String(), "daily_hours": cal.DailyHours().Hours()})
	return nil
}

// apiCalendarImport imports a schedule from the request body:
// POST /api/v1/calendar/import?format=csv|json|ics[&preview=1]. With
// preview it only says what would change. A malformed file is refused
// with a message per line (fields "line[N]") and changes nothing.
func (s *slaHandlers) apiCalendarImport(w http.ResponseWriter, r *http.Request) error {
	format := r.URL.Query().Get("format")
	days, err := calendar.ParseImport(format, r.Body)
	if err != nil {
		return err
	}
	store := s.SLA.CalendarStore()
	if r.URL.Query().Get("preview") == "1" {
		diff, err := store.Preview(r.Context(), days)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"preview": true, "diff": diff})
		return nil
	}
	diff, err := store.Import(r.Context(), actorOf(r), days)
	if err != nil {
		return err
	}
	if err := s.SLA.ReloadCalendar(r.Context()); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"preview": false, "diff": diff})
	return nil
}

// caseSLA is a case's time-limit status and history.
type caseSLA struct {
	State string `json:"sla"`
	// Stage is the current stage, with the working time left (negative
	// when overdue) in minutes.
	Stage            *sla.Stage        `json:"stage,omitempty"`
	RemainingMinutes *int64            `json:"remaining_minutes,omitempty"`
	Stages           []sla.Stage       `json:"stages"`
	Supervisions     []sla.Supervision `json:"supervisions"`
}

// apiCaseSLA answers a case's current deadline, the time left or overdue,
// its stage history and its supervisions: GET /api/v1/cases/{id}/sla.
func (s *slaHandlers) apiCaseSLA(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	c, err := s.Cases.View(r.Context(), callerOf(r), id)
	if err != nil {
		return err
	}
	stages, err := s.SLA.Stages(r.Context(), c.ID)
	if err != nil {
		return err
	}
	sups, err := s.SLA.Supervisions(r.Context(), c.ID)
	if err != nil {
		return err
	}
	out := caseSLA{State: c.SLAState, Stages: stages, Supervisions: sups}
	if out.Stages == nil {
		out.Stages = []sla.Stage{}
	}
	if out.Supervisions == nil {
		out.Supervisions = []sla.Supervision{}
	}
	for i := range stages {
		if stages[i].EndedAt.IsZero() {
			st := stages[i]
			out.Stage = &st
			now := time.Now()
			if s.Clock != nil {
				now = s.Clock.Now()
			}
			if d, ok := s.SLA.Remaining(&st, now); ok {
				m := int64(d / time.Minute)
				out.RemainingMinutes = &m
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
