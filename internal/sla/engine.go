package sla

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync/atomic"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/region"
	"whistle/internal/sla/calendar"
	"whistle/internal/workflow"
)

// Categories is what the engine needs of the category catalogue: a
// category's own time limit, urgency and parent. *category.Store has it.
type Categories interface {
	Get(ctx context.Context, code string) (*category.Category, error)
}

// Config tunes the engine.
type Config struct {
	// WarnPercent is the share of a limit, in percent, at which the yellow
	// warning comes, unless a rule sets its own (default 80).
	WarnPercent int
	// AutoSupervisionLimit is the deadline of an automatic supervision,
	// as a calendar limit (default "1wd").
	AutoSupervisionLimit string
	// ManualSupervisionLimit is the deadline of a leader's supervision when
	// the leader gives none (default "2wd").
	ManualSupervisionLimit string
	// Replica names this process in the timeline data (fired_by) of the
	// warnings and breaches its timers fire (default: host name/process
	// id), so that one can tell which replica fired a timer.
	Replica string
}

// DefaultConfig returns the production defaults.
func DefaultConfig() Config {
	return Config{WarnPercent: 80, AutoSupervisionLimit: "1wd", ManualSupervisionLimit: "2wd"}
}

// Deps are the Engine's collaborators.
type Deps struct {
	DB *db.DB
	// Cases takes the system steps of warnings, breaches and supervisions
	// (casework.Service.SystemSteps).
	Cases *casework.Service
	// Calendar is the stored working calendar; the engine loads it at New
	// and on ReloadCalendar.
	Calendar   *calendar.Store
	Categories Categories
	Regions    *region.Store
	Accounts   *account.Store
	Logger     *slog.Logger
	Config     Config
}

// Engine keeps cases to their time limits. It is the case service's
// casework.Deadlines (casework.Service.UseDeadlines): casework calls it in
// every change's transaction and writes the deadline and SLA state it
// returns. It owns the time-limit rules, the stage deadlines, the
// supervisions and the timers, and writes no case row; a timer.Runner
// fires the timers (RegisterTimers), whose steps go through
// casework.Service.SystemSteps. It is
// safe for concurrent use.
type Engine struct {
	db        *db.DB
	cases     *casework.Service
	calStore  *calendar.Store
	cats      Categories
	regions   *region.Store
	accounts  *account.Store
	logger    *slog.Logger
	cfg       Config
	autoLimit calendar.Limit
	manualLim calendar.Limit
	cal       atomic.Pointer[calendar.Calendar]
	// shipped are the definitions in the binary, only for the stages of
	// a version stored before stages were declared (stageOf).
	shipped map[string]*workflow.Definition
}

// New builds an Engine and loads the working calendar.
func New(ctx context.Context, d Deps) (*Engine, error) {
	if d.DB == nil || d.Cases == nil || d.Calendar == nil || d.Categories == nil {
		return nil, fmt.Errorf("sla.New: DB, Cases, Calendar and Categories are required")
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	def := DefaultConfig()
	if d.Config.WarnPercent == 0 {
		d.Config.WarnPercent = def.WarnPercent
	}
	if d.Config.AutoSupervisionLimit == "" {
		d.Config.AutoSupervisionLimit = def.AutoSupervisionLimit
	}
	if d.Config.ManualSupervisionLimit == "" {
		d.Config.ManualSupervisionLimit = def.ManualSupervisionLimit
	}
	if d.Config.Replica == "" {
		host, _ := os.Hostname()
		d.Config.Replica = host + "/" + strconv.Itoa(os.Getpid())
	}
	if d.Config.WarnPercent < 1 || d.Config.WarnPercent > 99 {
		return nil, fmt.Errorf("sla.New: WarnPercent %d is outside 1–99", d.Config.WarnPercent)
	}
	auto, err := calendar.ParseLimit(d.Config.AutoSupervisionLimit)
	if err != nil {
		return nil, fmt.Errorf("sla.New: AutoSupervisionLimit: %w", err)
	}
	manual, err := calendar.ParseLimit(d.Config.ManualSupervisionLimit)
	if err != nil {
		return nil, fmt.Errorf("sla.New: ManualSupervisionLimit: %w", err)
	}
	e := &Engine{db: d.DB, cases: d.Cases, calStore: d.Calendar, cats: d.Categories, regions: d.Regions, accounts: d.Accounts,
		logger: d.Logger, cfg: d.Config, autoLimit: auto, manualLim: manual}
	if e.shipped, err = casework.Definitions(); err != nil {
		return nil, err
	}
	if err := e.ReloadCalendar(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// Calendar returns the working calendar in use.
func (e *Engine) Calendar() *calendar.Calendar { return e.cal.Load() }

// CalendarStore returns the stored calendar, for its administration; call
// ReloadCalendar after changing it.
func (e *Engine) CalendarStore() *calendar.Store { return e.calStore }

// ReloadCalendar reloads the working calendar from the database. Deadlines
// already running keep the instants they were given, except those computed
// across a provisional year that now has a schedule: they are recomputed
// on it (see recomputeProvisional), which New also does at start-up, so a
// crash between an import and its recomputation loses nothing.
func (e *Engine) ReloadCalendar(ctx context.Context) (err error) {
	defer errs.Wrapf(&err, "sla.Engine.ReloadCalendar")
	c, err := e.calStore.Load(ctx)
	if err != nil {
		return err
	}
	e.cal.Store(c)
	_, err = e.recomputeProvisional(ctx, c)
	return err
}

// CaseDeadline implements casework.Deadlines: inside the change's
// transaction it closes and opens stage deadlines, pauses, resumes and
// extends them, records supervisions and their answers, and returns the
// deadline and SLA state the case now has, which casework writes. What a
// change means comes from its transition's effects, never from the name of
// its action: casework.EffPostponeGrant extends the stage,
// EffSuperviseOrder opens a leader's supervision, EffSuperviseClear
// answers the open ones.
func (e *Engine) CaseDeadline(ctx context.Context, tx *db.Tx, ch casework.Change) (_ casework.SLA, err error) {
	defer errs.Wrapf(&err, "sla.Engine.CaseDeadline")
	slas, err := e.CaseDeadlines(ctx, tx, []casework.Change{ch})
	if err != nil {
		return casework.SLA{}, err
	}
	return slas[0], nil
}

// CaseDeadlines implements casework.DeadlinesBatch: CaseDeadline for a
// group of changes (a group of timers' steps), with the open stages of
// their cases read in one query. A case's later change in the group sees
// the stage its earlier one left.
func (e *Engine) CaseDeadlines(ctx context.Context, tx *db.Tx, chs []casework.Change) (_ []casework.SLA, err error) {
	defer errs.Wrapf(&err, "sla.Engine.CaseDeadlines(%d)", len(chs))
	known, _ := ctx.Value(openStagesKey{}).(map[int64]*Stage)
	var ids []int64
	for _, ch := range chs {
		if _, ok := known[ch.After.ID]; !ok && ch.Before != nil { // a new case has no stage yet
			ids = append(ids, ch.After.ID)
		}
	}
	open, err := openStages(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]casework.SLA, len(chs))
	for i, ch := range chs {
		id := ch.After.ID
		st, isKnown := known[id]
		if !isKnown && ch.Before != nil {
			st = open[id]
		}
		if out[i], st, err = e.caseDeadline(ctx, tx, ch, st); err != nil {
			return nil, err
		}
		if isKnown {
			known[id] = st
		} else {
			open[id] = st
		}
	}
	return out, nil
}

// NewCaseDeadline implements casework.DeadlinesAhead: a new case's SLA
// computed before its row is written, so that the row is inserted with its
// deadline and SLA state instead of inserted and updated at once (on
// PostgreSQL an update of an indexed column writes the row again with an
// entry in each of its indexes). write inserts the stage and its timers
// once the case has its id. It does what CaseDeadline does for a new case
// entering its workflow's first stage; for a case that starts paused, in a
// terminal state or with effects, ok is false and CaseDeadline runs after
// the write as before.
func (e *Engine) NewCaseDeadline(ctx context.Context, tx *db.Tx, ch casework.Change) (_ casework.SLA, write func(context.Context, *db.Tx, int64) error, ok bool, err error) {
	defer errs.Wrapf(&err, "sla.Engine.NewCaseDeadline")
	c, w := ch.After, ch.Workflow
	if ch.Before != nil || w == nil || len(ch.Effects) > 0 || w.IsTerminal(c.Status) || isPaused(w, c.Status) {
		return casework.SLA{}, nil, false, nil
	}
	name := w.Stages[c.Status]
	if name == "" {
		var none *Stage
		return casework.SLA{Deadline: caseDeadline(none), State: none.State()}, func(context.Context, *db.Tx, int64) error { return nil }, true, nil
	}
	st, err := e.planStage(ctx, tx, e.Calendar(), c, w, name, ch.At.UTC())
	if err != nil {
		return casework.SLA{}, nil, false, err
	}
	return casework.SLA{Deadline: caseDeadline(st), State: st.State()}, func(ctx context.Context, tx *db.Tx, id int64) error {
		st.CaseID = id
		return insertStage(ctx, tx, st)
	}, true, nil
}

// openStagesKey keys, in the context of a firing transaction, the open
// stages of its cases as fireGroup read and stamped them (by case id; nil:
// none open). CaseDeadlines, which the group's steps reach through
// casework.Service.SystemSteps, takes them from there instead of reading
// them again, and keeps them current for the steps that follow (the
// breaches' escalations).
type openStagesKey struct{}

// caseDeadline is CaseDeadline for a change whose case's open stage is st
// (nil for none); it returns the SLA and the open stage after the change.
func (e *Engine) caseDeadline(ctx context.Context, tx *db.Tx, ch casework.Change, st *Stage) (_ casework.SLA, _ *Stage, err error) {
	c, w := ch.After, ch.Workflow
	defer errs.Wrapf(&err, "sla.CaseDeadline(%d, %s)", c.ID, ch.Action)
	now := ch.At.UTC()
	cal := e.Calendar()
	switch {
	case w.IsTerminal(c.Status):
		if st != nil {
			if err := e.endStage(ctx, tx, st, now); err != nil {
				return casework.SLA{}, nil, err
			}
			st = nil
		}
		if err := closeSupervisions(ctx, tx, c.ID, now); err != nil {
			return casework.SLA{}, nil, err
		}
	case isPaused(w, c.Status):
		if st != nil && st.PausedAt.IsZero() {
			if err := e.pauseStage(ctx, tx, st, now); err != nil {
				return casework.SLA{}, nil, err
			}
		}
	default:
		name := w.Stages[c.Status]
		if st != nil && !st.PausedAt.IsZero() {
			if err := e.resumeStage(ctx, tx, cal, st, now); err != nil {
				return casework.SLA{}, nil, err
			}
		}
		if st != nil && st.Stage == name {
			if ch.Has(casework.EffPostponeGrant) && ch.Before.PostponeHours > 0 {
				if err := e.extendStage(ctx, tx, cal, st, ch.Before.PostponeHours, now); err != nil {
					return casework.SLA{}, nil, err
				}
			}
			break
		}
		if st != nil {
			if err := e.endStage(ctx, tx, st, now); err != nil {
				return casework.SLA{}, nil, err
			}
			st = nil
		}
		if name != "" {
			if st, err = e.enterStage(ctx, tx, cal, c, w, name, now); err != nil {
				return casework.SLA{}, nil, err
			}
		}
	}
	if ch.Has(casework.EffSuperviseClear) {
		if err := answerSupervisions(ctx, tx, c.ID, ch.Input.Note, now); err != nil {
			return casework.SLA{}, nil, err
		}
	}
	if ch.Has(casework.EffSuperviseOrder) {
		var stageID int64
		if st != nil {
			stageID = st.ID
		}
		if err := e.manualSupervision(ctx, tx, cal, ch, stageID, now); err != nil {
			return casework.SLA{}, nil, err
		}
	}
	return casework.SLA{Deadline: caseDeadline(st), State: st.State()}, st, nil
}

func isPaused(w *casework.Workflow, s casework.State) bool {
	for _, p := range w.Paused {
		if p == s {
			return true
		}
	}
	return false
}

// forUpdate is the row-locking suffix of a SELECT on PostgreSQL; SQLite's
// write transactions already hold the database's one write lock.
func forUpdate(tx *db.Tx) string {
	if tx.Dialect() == db.Postgres {
		return " FOR UPDATE"
	}
	return ""
}
