package sla

import (
	"context"
	"time"

	"whistle/internal/casework"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/sla/calendar"
)

// The SLA states, which casework writes on cases.sla_state.
const (
	StateOK      = "ok"
	StateWarning = "warning"
	StateOverdue = "overdue"
	StatePaused  = "paused"
	StateNone    = "none"
)

// The outcomes of a stage.
const (
	OutcomeOpen   = "open"   // the case is still in the stage
	OutcomeMet    = "met"    // left at or before the deadline, never breached
	OutcomeMissed = "missed" // left late, or breached
	OutcomeNone   = "none"   // the stage had no limit
)

// Stage is one stage a case entered, with the deadline it was given.
type Stage struct {
	ID     int64  `json:"id"`
	CaseID int64  `json:"-"`
	Stage  string `json:"stage"`
	// Status is the case's status on entry.
	Status string `json:"status"`
	// Limit is the limit applied ("2wd", "30m", "6ch"); "" when none.
	Limit   string `json:"limit,omitempty"`
	RuleID  int64  `json:"rule_id,omitempty"`
	Natural bool   `json:"natural,omitempty"`
	// WarnPercent is the share of the limit at which the warning comes.
	WarnPercent int `json:"warn_percent"`
	// Assessed says the stage counts in the on-time indicators, as the
	// case's workflow version declared it on entry.
	Assessed bool `json:"assessed"`
	// Budget is the length of the limit including extensions, on the
	// working clock (natural time when Natural).
	Budget time.Duration `json:"-"`
	// Paused is the working time spent suspended; Extended the
	// postponements granted.
	Paused   time.Duration `json:"-"`
	Extended time.Duration `json:"-"`

	StartedAt  time.Time `json:"started_at"`
	Deadline   time.Time `json:"deadline,omitzero"`
	WarnAt     time.Time `json:"warn_at,omitzero"`
	PausedAt   time.Time `json:"paused_at,omitzero"`
	WarnedAt   time.Time `json:"warned_at,omitzero"`
	BreachedAt time.Time `json:"breached_at,omitzero"`
	EndedAt    time.Time `json:"ended_at,omitzero"`
	Outcome    string    `json:"outcome"`
	// Provisional says the deadline was computed across a year whose
	// calendar is provisional; it is recomputed when that year's official
	// schedule arrives (see Engine.ReloadCalendar).
	Provisional bool `json:"provisional,omitempty"`
}

// State returns the SLA state the stage gives its case.
func (s *Stage) State() string {
	switch {
	case s == nil || !s.EndedAt.IsZero():
		return StateNone
	case !s.PausedAt.IsZero():
		return StatePaused // suspended, with or without a limit
	case s.Deadline.IsZero():
		return StateNone
	case !s.BreachedAt.IsZero():
		return StateOverdue
	case !s.WarnedAt.IsZero():
		return StateWarning
	}
	return StateOK
}

const stageCols = `id, case_id, stage, status, limit_spec, COALESCE(rule_id, 0), natural_time, warn_pct, budget_ns, paused_ns, extended_ns,
	started_at, deadline_at, warn_at, paused_at, warned_at, breached_at, ended_at, outcome, provisional, assessed`

type scanner interface{ Scan(...any) error }

func scanStage(sc scanner) (*Stage, error) {
	var s Stage
	var budget, paused, extended int64
	var started db.Time
	var deadline, warn, pausedAt, warned, breached, ended db.NullTime
	err := sc.Scan(&s.ID, &s.CaseID, &s.Stage, &s.Status, &s.Limit, &s.RuleID, &s.Natural, &s.WarnPercent, &budget, &paused, &extended,
		&started, &deadline, &warn, &pausedAt, &warned, &breached, &ended, &s.Outcome, &s.Provisional, &s.Assessed)
	if err != nil {
		return nil, err
	}
	s.Budget, s.Paused, s.Extended = time.Duration(budget), time.Duration(paused), time.Duration(extended)
	s.StartedAt = started.Time
	s.Deadline, s.WarnAt, s.PausedAt = deadline.Time, warn.Time, pausedAt.Time
	s.WarnedAt, s.BreachedAt, s.EndedAt = warned.Time, breached.Time, ended.Time
	return &s, nil
}

// null turns the zero time into NULL and any other into UTC.
func null(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// openStages returns the open stages of cases ids, by case, in one query.
func openStages(ctx context.Context, tx *db.Tx, ids []int64) (map[int64]*Stage, error) {
	out := map[int64]*Stage{}
	if len(ids) == 0 {
		return out, nil
	}
	in, args := db.InList(tx.Dialect(), 0, ids)
	err := scanStages(ctx, tx, `SELECT `+stageCols+` FROM sla_stages WHERE case_id IN (`+in+`) AND ended_at IS NULL`, args, func(s *Stage) {
		out[s.CaseID] = s
	})
	return out, err
}

// stagesByID returns the stages ids, by id, in one query.
func stagesByID(ctx context.Context, tx *db.Tx, ids []int64) (map[int64]*Stage, error) {
	out := map[int64]*Stage{}
	if len(ids) == 0 {
		return out, nil
	}
	in, args := db.InList(tx.Dialect(), 0, ids)
	err := scanStages(ctx, tx, `SELECT `+stageCols+` FROM sla_stages WHERE id IN (`+in+`)`, args, func(s *Stage) { out[s.ID] = s })
	return out, err
}

// scanStages runs a query of stageCols and hands each stage to f.
func scanStages(ctx context.Context, tx *db.Tx, q string, args []any, f func(*Stage)) error {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return db.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		s, err := scanStage(rows)
		if err != nil {
			return db.Translate(err)
		}
		f(s)
	}
	return db.Translate(rows.Err())
}

// saveStage writes the stage's mutable columns.
func saveStage(ctx context.Context, tx *db.Tx, s *Stage) error {
	_, err := tx.Exec(ctx, `UPDATE sla_stages SET budget_ns = $1, paused_ns = $2, extended_ns = $3, deadline_at = $4, warn_at = $5,
		paused_at = $6, warned_at = $7, breached_at = $8, ended_at = $9, outcome = $10, provisional = $11 WHERE id = $12`,
		int64(s.Budget), int64(s.Paused), int64(s.Extended), null(s.Deadline), null(s.WarnAt), null(s.PausedAt), null(s.WarnedAt),
		null(s.BreachedAt), null(s.EndedAt), s.Outcome, s.Provisional && s.EndedAt.IsZero(), s.ID)
	return err
}

// advance moves t forward by d on the stage's clock: working time, or
// natural time for natural limits. d may be negative.
func advance(cal *calendar.Calendar, natural bool, t time.Time, d time.Duration) time.Time {
	if natural {
		return t.Add(d)
	}
	return cal.AddWorkingDuration(t, d)
}

// share returns pct percent of d, exactly and without overflow.
func share(d time.Duration, pct int) time.Duration {
	p := time.Duration(pct)
	return d/100*p + d%100*p/100
}

// Plan is a stage's deadline and warning computed from its start.
type Plan struct {
	Deadline, WarnAt time.Time
	// Budget is the limit's length on the clock it runs on.
	Budget time.Duration
}

// PlanDeadline computes when a limit started at start runs out and when its
// warning (at warnPct percent of it) comes, on cal.
func PlanDeadline(cal *calendar.Calendar, start time.Time, l calendar.Limit, warnPct int) Plan {
	d := cal.Deadline(start, l)
	natural := l.Unit == calendar.NaturalTime
	var budget time.Duration
	if natural {
		budget = d.Sub(start)
	} else {
		budget = cal.WorkingBetween(start, d)
	}
	return Plan{Deadline: d, Budget: budget, WarnAt: advance(cal, natural, start, share(budget, warnPct))}
}

// limitText writes a limit as ParseLimit reads it, or, for natural time
// that is not whole hours (an urgent case's "30m"), as "30m natural".
func limitText(l calendar.Limit) string {
	if l.Unit == calendar.NaturalTime && l.Duration%time.Hour != 0 {
		return calendar.Limit{Unit: calendar.WorkingTime, Duration: l.Duration}.String() + " natural"
	}
	return l.String()
}

// enterStage opens the stage name for case c, which follows w, at now,
// with the limit its rules or w give, and schedules its timers.
func (e *Engine) enterStage(ctx context.Context, tx *db.Tx, cal *calendar.Calendar, c *casework.Case, w *casework.Workflow, name string, now time.Time) (*Stage, error) {
	s, err := e.planStage(ctx, tx, cal, c, w, name, now)
	if err != nil {
		return nil, err
	}
	return s, insertStage(ctx, tx, s)
}

// planStage is the stage of name that c enters at now, with its limit,
// deadline and warning, before anything is written: enterStage writes it
// at once, NewCaseDeadline once the new case's row is written.
func (e *Engine) planStage(ctx context.Context, tx *db.Tx, cal *calendar.Calendar, c *casework.Case, w *casework.Workflow, name string, now time.Time) (*Stage, error) {
	s := &Stage{CaseID: c.ID, Stage: name, Status: string(c.Status), StartedAt: now, WarnPercent: e.cfg.WarnPercent, Outcome: OutcomeOpen, Assessed: true}
	if st, ok := e.stageOf(w, name); ok {
		s.Assessed = st.Assessed
	}
	lim, rule, ok, err := e.limitFor(ctx, tx, c, w, name)
	if err != nil {
		return nil, err
	}
	if ok {
		if rule.WarnPercent > 0 {
			s.WarnPercent = rule.WarnPercent
		}
		p := PlanDeadline(cal, now, lim, s.WarnPercent)
		s.Limit, s.RuleID, s.Natural = limitText(lim), rule.ID, lim.Unit == calendar.NaturalTime
		s.Deadline, s.WarnAt, s.Budget = p.Deadline.UTC(), p.WarnAt.UTC(), p.Budget
		markProvisional(cal, s)
	}
	return s, nil
}

// insertStage writes a planned stage, s.ID set to its new row's, and its
// timers.
func insertStage(ctx context.Context, tx *db.Tx, s *Stage) error {
	var ruleID any
	if s.RuleID != 0 {
		ruleID = s.RuleID
	}
	// The stage's id is reserved ahead (PostgreSQL: db.Tx.Insert), so
	// that its timers need not wait for the INSERT's answer.
	var err error
	s.ID, err = tx.Insert(ctx, "sla_stages", `INSERT INTO sla_stages (id, case_id, stage, status, limit_spec, rule_id, natural_time, warn_pct, budget_ns, started_at, deadline_at, warn_at, outcome, provisional, assessed)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id`,
		s.CaseID, s.Stage, s.Status, s.Limit, ruleID, s.Natural, s.WarnPercent, int64(s.Budget), s.StartedAt, null(s.Deadline), null(s.WarnAt), s.Outcome, s.Provisional, s.Assessed)
	if err != nil {
		return err
	}
	// A new stage has no timers yet: nothing to cancel.
	return addStageTimers(ctx, tx, s)
}

// endStage closes s at now as met, missed or none.
func (e *Engine) endStage(ctx context.Context, tx *db.Tx, s *Stage, now time.Time) error {
	s.EndedAt = now
	switch {
	case s.Deadline.IsZero():
		s.Outcome = OutcomeNone
	case !s.BreachedAt.IsZero() || now.After(s.Deadline):
		s.Outcome = OutcomeMissed
	default:
		s.Outcome = OutcomeMet
	}
	if err := saveStage(ctx, tx, s); err != nil {
		return err
	}
	return scheduleStage(ctx, tx, s)
}

// pauseStage stops s's clock at now (suspension).
func (e *Engine) pauseStage(ctx context.Context, tx *db.Tx, s *Stage, now time.Time) error {
	s.PausedAt = now
	if err := saveStage(ctx, tx, s); err != nil {
		return err
	}
	return scheduleStage(ctx, tx, s)
}

// resumeStage restarts s's clock at now, pushing the deadline and the
// warning by the time it stood still.
func (e *Engine) resumeStage(ctx context.Context, tx *db.Tx, cal *calendar.Calendar, s *Stage, now time.Time) error {
	var d time.Duration
	if s.Natural {
		d = now.Sub(s.PausedAt)
	} else {
		d = cal.WorkingBetween(s.PausedAt, now)
	}
	if d > 0 && !s.Deadline.IsZero() {
		s.Deadline = advance(cal, s.Natural, s.Deadline, d).UTC()
		s.WarnAt = advance(cal, s.Natural, s.WarnAt, d).UTC()
		s.Paused += d
		markProvisional(cal, s)
	}
	s.PausedAt = time.Time{}
	if err := saveStage(ctx, tx, s); err != nil {
		return err
	}
	return scheduleStage(ctx, tx, s)
}

// extendStage adds an approved postponement of hours working hours
// (natural hours for a natural limit) to s.
func (e *Engine) extendStage(ctx context.Context, tx *db.Tx, cal *calendar.Calendar, s *Stage, hours int, now time.Time) error {
	if s.Deadline.IsZero() {
		return nil
	}
	ext := time.Duration(hours) * time.Hour
	s.Deadline = advance(cal, s.Natural, s.Deadline, ext).UTC()
	s.Budget += ext
	s.Extended += ext
	rest := s.Budget - share(s.Budget, s.WarnPercent)
	s.WarnAt = advance(cal, s.Natural, s.Deadline, -rest).UTC()
	if !s.WarnedAt.IsZero() && s.BreachedAt.IsZero() && s.WarnAt.After(now) {
		s.WarnedAt = time.Time{} // the warning comes again, for the new deadline
	}
	markProvisional(cal, s)
	if err := saveStage(ctx, tx, s); err != nil {
		return err
	}
	return scheduleStage(ctx, tx, s)
}

// caseDeadline is the deadline a case shows for its current stage s: none
// without a stage or while the stage is paused.
func caseDeadline(s *Stage) time.Time {
	if s != nil && s.PausedAt.IsZero() && !s.Deadline.IsZero() {
		return s.Deadline.UTC()
	}
	return time.Time{}
}

// Stages returns a case's stage history, oldest first. It does not check
// data scope: callers first read the case through casework.
func (e *Engine) Stages(ctx context.Context, caseID int64) (_ []Stage, err error) {
	defer errs.Wrapf(&err, "sla.Engine.Stages")
	rows, err := e.db.Query(ctx, `SELECT `+stageCols+` FROM sla_stages WHERE case_id = $1 ORDER BY id`, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Stage
	for rows.Next() {
		s, err := scanStage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	return out, rows.Err()
}

// Remaining returns the time left to s's deadline at now on the stage's
// clock (working time, or natural time for natural limits); negative when
// overdue. ok is false when the stage has no running deadline.
func (e *Engine) Remaining(s *Stage, now time.Time) (d time.Duration, ok bool) {
	if s == nil || s.Deadline.IsZero() || !s.EndedAt.IsZero() {
		return 0, false
	}
	at := now
	if !s.PausedAt.IsZero() {
		at = s.PausedAt
	}
	if s.Natural {
		return s.Deadline.Sub(at), true
	}
	return e.Calendar().WorkingBetween(at, s.Deadline), true
}
