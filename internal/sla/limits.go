package sla

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/sla/calendar"
	"whistle/internal/workflow"
)

// TimeLimit is a time-limit rule: the limit of a workflow stage for the
// categories under CategoryPrefix ("" for all) in the region subtree of
// RegionCode ("" for the whole district).
type TimeLimit struct {
	ID             int64  `json:"id"`
	Workflow       string `json:"workflow"`
	Stage          string `json:"stage"`
	CategoryPrefix string `json:"category_prefix"`
	RegionCode     string `json:"region_code"`
	// Limit is a calendar limit: "2h", "30m", "1h30m" (working time), "2wd"
	// (working days) or "6ch" (natural hours).
	Limit string `json:"limit"`
	// UseCategory prefers the category's own time limit, when it has one.
	UseCategory bool `json:"use_category"`
	// WarnPercent is the share of the limit at which the warning comes; 0
	// means the engine's default.
	WarnPercent int       `json:"warn_percent"`
	UpdatedAt   time.Time `json:"updated_at"`
	regionPath  string
}

const limitCols = `id, workflow, stage, category_prefix, region_code, region_path, limit_spec, use_category, warn_pct, updated_at`

func scanLimit(sc scanner) (*TimeLimit, error) {
	var l TimeLimit
	var at db.Time
	if err := sc.Scan(&l.ID, &l.Workflow, &l.Stage, &l.CategoryPrefix, &l.RegionCode, &l.regionPath, &l.Limit, &l.UseCategory, &l.WarnPercent, &at); err != nil {
		return nil, err
	}
	l.UpdatedAt = at.Time
	return &l, nil
}

// querier reads inside or outside a transaction.
type querier interface {
	Query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func queryLimits(ctx context.Context, q querier, where string, args ...any) ([]TimeLimit, error) {
	rows, err := q.Query(ctx, `SELECT `+limitCols+` FROM time_limits`+where+` ORDER BY workflow, stage, category_prefix, region_code`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TimeLimit
	for rows.Next() {
		l, err := scanLimit(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *l)
	}
	return out, rows.Err()
}

// TimeLimits lists the rules, by workflow, stage, category and region.
func (e *Engine) TimeLimits(ctx context.Context) (_ []TimeLimit, err error) {
	defer errs.Wrapf(&err, "sla.TimeLimits")
	return queryLimits(ctx, e.db, "")
}

// TimeLimit returns one rule.
func (e *Engine) TimeLimit(ctx context.Context, id int64) (_ *TimeLimit, err error) {
	defer errs.Wrapf(&err, "sla.TimeLimit(%d)", id)
	ls, err := queryLimits(ctx, e.db, ` WHERE id = $1`, id)
	if err != nil {
		return nil, err
	}
	if len(ls) == 0 {
		return nil, errs.E(errs.NotFound, "sla.limit_not_found", id)
	}
	return &ls[0], nil
}

// check validates a rule and fills its region path.
func (e *Engine) check(ctx context.Context, l *TimeLimit) error {
	l.Workflow, l.Stage = strings.TrimSpace(l.Workflow), strings.TrimSpace(l.Stage)
	l.CategoryPrefix, l.RegionCode = strings.TrimSpace(l.CategoryPrefix), strings.TrimSpace(l.RegionCode)
	l.Limit = strings.TrimSpace(l.Limit)
	bad := errs.E(errs.Invalid, "error.invalid")
	if w, ok := e.cases.Workflow(ctx, l.Workflow); !ok {
		bad.Field("workflow", "sla.err.workflow", l.Workflow)
	} else if names := stageNames(w); !slices.Contains(names, l.Stage) {
		bad.Field("stage", "sla.err.stage", l.Stage, strings.Join(names, ", "))
	}
	if l.Limit == "" {
		bad.Field("limit", "field.required")
	} else if _, err := calendar.ParseLimit(l.Limit); err != nil {
		bad.Field("limit", "calendar.err.limit", l.Limit)
	}
	if l.WarnPercent < 0 || l.WarnPercent > 99 {
		bad.Field("warn_percent", "field.range", 0, 99)
	}
	if l.CategoryPrefix != "" {
		if _, err := e.cats.Get(ctx, l.CategoryPrefix); errs.Is(err, errs.NotFound) {
			bad.Field("category_prefix", "sla.err.category", l.CategoryPrefix)
		} else if err != nil {
			return err
		}
	}
	l.regionPath = ""
	if l.RegionCode != "" {
		if e.regions == nil {
			return fmt.Errorf("sla: no region store to check region %s", l.RegionCode)
		}
		n, err := e.regions.Get(ctx, l.RegionCode)
		if errs.Is(err, errs.NotFound) {
			bad.Field("region_code", "field.unknown_region", l.RegionCode)
		} else if err != nil {
			return err
		} else {
			l.regionPath = n.Path
		}
	}
	if len(bad.Fields) > 0 {
		return bad
	}
	return nil
}

func (l TimeLimit) summary() string {
	s := l.Workflow + "/" + l.Stage + " " + l.Limit
	if l.CategoryPrefix != "" {
		s += " category " + l.CategoryPrefix
	}
	if l.RegionCode != "" {
		s += " region " + l.RegionCode
	}
	if l.UseCategory {
		s += " (category's own limit first)"
	}
	if l.WarnPercent > 0 {
		s += " warn at " + strconv.Itoa(l.WarnPercent) + "%"
	}
	return s
}

// AddTimeLimit creates a rule. A rule for the same workflow, stage,
// category prefix and region is a Conflict. Running deadlines keep theirs.
func (e *Engine) AddTimeLimit(ctx context.Context, actor audit.Actor, in TimeLimit) (_ *TimeLimit, err error) {
	defer errs.Wrapf(&err, "sla.AddTimeLimit")
	if err := e.check(ctx, &in); err != nil {
		return nil, err
	}
	err = e.db.InTx(ctx, func(tx *db.Tx) error {
		id, err := tx.InsertID(ctx, `INSERT INTO time_limits (workflow, stage, category_prefix, region_code, region_path, limit_spec, use_category, warn_pct, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			in.Workflow, in.Stage, in.CategoryPrefix, in.RegionCode, in.regionPath, in.Limit, in.UseCategory, in.WarnPercent, tx.Now())
		if errs.Is(err, errs.Conflict) {
			return errs.E(errs.Conflict, "sla.limit_exists", in.Workflow, in.Stage)
		}
		if err != nil {
			return err
		}
		in.ID, in.UpdatedAt = id, tx.Now()
		return audit.Record(ctx, tx, actor, "sla.limit_add", "time_limits/"+strconv.FormatInt(id, 10), in.summary())
	})
	if err != nil {
		return nil, err
	}
	return &in, nil
}

// UpdateTimeLimit replaces a rule's attributes. Deadlines already running
// are not rewritten: each stage keeps the limit it entered with.
func (e *Engine) UpdateTimeLimit(ctx context.Context, actor audit.Actor, id int64, in TimeLimit) (_ *TimeLimit, err error) {
	defer errs.Wrapf(&err, "sla.UpdateTimeLimit(%d)", id)
	if err := e.check(ctx, &in); err != nil {
		return nil, err
	}
	err = e.db.InTx(ctx, func(tx *db.Tx) error {
		old, err := queryLimits(ctx, tx, ` WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if len(old) == 0 {
			return errs.E(errs.NotFound, "sla.limit_not_found", id)
		}
		_, err = tx.Exec(ctx, `UPDATE time_limits SET workflow = $1, stage = $2, category_prefix = $3, region_code = $4, region_path = $5,
			limit_spec = $6, use_category = $7, warn_pct = $8, updated_at = $9 WHERE id = $10`,
			in.Workflow, in.Stage, in.CategoryPrefix, in.RegionCode, in.regionPath, in.Limit, in.UseCategory, in.WarnPercent, tx.Now(), id)
		if errs.Is(err, errs.Conflict) {
			return errs.E(errs.Conflict, "sla.limit_exists", in.Workflow, in.Stage)
		}
		if err != nil {
			return err
		}
		in.ID, in.UpdatedAt = id, tx.Now()
		return audit.Record(ctx, tx, actor, "sla.limit_update", "time_limits/"+strconv.FormatInt(id, 10), in.summary()+" (was "+old[0].summary()+")")
	})
	if err != nil {
		return nil, err
	}
	return &in, nil
}

// DeleteTimeLimit removes a rule; a stage it matched then has the next most
// specific rule's limit, or none.
func (e *Engine) DeleteTimeLimit(ctx context.Context, actor audit.Actor, id int64) (err error) {
	defer errs.Wrapf(&err, "sla.DeleteTimeLimit(%d)", id)
	return e.db.InTx(ctx, func(tx *db.Tx) error {
		old, err := queryLimits(ctx, tx, ` WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if len(old) == 0 {
			return errs.E(errs.NotFound, "sla.limit_not_found", id)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM time_limits WHERE id = $1`, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor, "sla.limit_delete", "time_limits/"+strconv.FormatInt(id, 10), "removed "+old[0].summary())
	})
}

// BestRule returns the rule that applies to a case in category whose grid
// has regionPath: among the rules of one workflow stage, those whose
// category prefix and region match, the longest category prefix first,
// then the deepest region.
func BestRule(rules []TimeLimit, category, regionPath string) (TimeLimit, bool) {
	best, found := TimeLimit{}, false
	for _, r := range rules {
		if !strings.HasPrefix(category, r.CategoryPrefix) || !strings.HasPrefix(regionPath, r.regionPath) {
			continue
		}
		if r.RegionCode != "" && r.regionPath == "" {
			continue // a region that no longer exists matches nothing
		}
		if !found || len(r.CategoryPrefix) > len(best.CategoryPrefix) ||
			(len(r.CategoryPrefix) == len(best.CategoryPrefix) && len(r.regionPath) > len(best.regionPath)) {
			best, found = r, true
		}
	}
	return best, found
}

// stageNames lists the time-limit stages of w, sorted: those it declares,
// or, for a version stored before stages were declared, those its states
// name.
func stageNames(w *casework.Workflow) []string {
	var names []string
	for _, st := range w.Def.Stages {
		names = append(names, st.Name)
	}
	if len(names) == 0 {
		for _, st := range w.Stages {
			if !slices.Contains(names, st) {
				names = append(names, st)
			}
		}
	}
	sort.Strings(names)
	return names
}

// stageOf returns the declaration of stage in w, the version the case
// follows. A version stored before stages were declared has none: the
// shipped definition of the same workflow then says.
func (e *Engine) stageOf(w *casework.Workflow, stage string) (workflow.Stage, bool) {
	if len(w.Def.Stages) == 0 {
		if d, ok := e.shipped[w.Name]; ok {
			return d.Stage(stage)
		}
	}
	return w.Def.Stage(stage)
}

// limitFor returns the limit case c gets on entering stage: the best rule
// of the district's table, else the default of the stage in w (the
// version c follows); the category's own limit instead when the rule or
// the stage defers to it; in natural time for urgent cases. The rule
// returned has ID 0 when the stage's default applies. ok is false when
// neither gives a limit.
func (e *Engine) limitFor(ctx context.Context, tx *db.Tx, c *casework.Case, w *casework.Workflow, stage string) (calendar.Limit, TimeLimit, bool, error) {
	// Read once per transaction, and as committed, outside it: under
	// group commit every submission of a batch needs the rules of its
	// first stage, and a read inside the transaction would have to send
	// the statements queued before it (db.Tx.Queue) and wait for them.
	v, err := tx.Memo(limitsKey{c.Workflow, stage}, func() (any, error) {
		return queryLimits(ctx, e.db, ` WHERE workflow = $1 AND stage = $2`, c.Workflow, stage)
	})
	rules, _ := v.([]TimeLimit)
	if err != nil {
		return calendar.Limit{}, TimeLimit{}, false, err
	}
	rule, ok := BestRule(rules, c.CategoryCode, c.RegionPath)
	if !ok {
		st, found := e.stageOf(w, stage)
		if !found || st.Limit == nil {
			return calendar.Limit{}, TimeLimit{}, false, nil
		}
		rule = TimeLimit{Workflow: c.Workflow, Stage: stage, Limit: st.Limit.Spec(), UseCategory: st.UseCategory, WarnPercent: st.WarnPercent}
	}
	lim, err := calendar.ParseLimit(rule.Limit)
	if err != nil {
		return calendar.Limit{}, TimeLimit{}, false, fmt.Errorf("time limit %d (%s/%s): %w", rule.ID, c.Workflow, stage, err)
	}
	if rule.UseCategory {
		own, found, err := e.categoryLimit(ctx, c.CategoryCode)
		if err != nil {
			return calendar.Limit{}, TimeLimit{}, false, err
		}
		if found {
			lim = own
		}
	}
	if c.Urgent {
		lim = Natural(lim)
	}
	return lim, rule, true, nil
}

// limitsKey keys a transaction's memo of the time-limit rules of a
// workflow stage (limitFor).
type limitsKey struct{ workflow, stage string }

// Natural converts a limit to natural time, for urgent cases: N working
// hours become N natural hours, N working days N×24 natural hours.
func Natural(l calendar.Limit) calendar.Limit {
	switch l.Unit {
	case calendar.WorkingTime:
		return calendar.Limit{Unit: calendar.NaturalTime, Duration: l.Duration}
	case calendar.WorkingDays:
		return calendar.Limit{Unit: calendar.NaturalTime, Duration: time.Duration(l.Days) * 24 * time.Hour}
	}
	return l
}

// categoryLimit returns the time limit of a category, or of its nearest
// ancestor that has one.
func (e *Engine) categoryLimit(ctx context.Context, code string) (calendar.Limit, bool, error) {
	for depth := 0; code != "" && depth < 16; depth++ {
		c, err := e.cats.Get(ctx, code)
		if errs.Is(err, errs.NotFound) || errors.Is(err, sql.ErrNoRows) {
			return calendar.Limit{}, false, nil
		}
		if err != nil {
			return calendar.Limit{}, false, err
		}
		if c.TimeLimit != "" {
			l, err := calendar.ParseLimit(c.TimeLimit)
			if err != nil {
				e.logger.Warn("category time limit unreadable", "category", code, "time_limit", c.TimeLimit)
				return calendar.Limit{}, false, nil
			}
			return l, true, nil
		}
		code = c.ParentCode
	}
	return calendar.Limit{}, false, nil
}
