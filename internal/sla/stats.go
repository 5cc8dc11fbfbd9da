package sla

import (
	"context"
	"sort"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// Figures are one unit's measures over the cases submitted in a period.
// Rates are shares in [0, 1], null when nothing was measured.
type Figures struct {
	// Cases counts the cases submitted in the period.
	Cases int `json:"cases"`
	// ResponseRate (响应率) is the share of cases whose first stage (红哨
	// accept, 数字城管 register) was met, among those whose first stage has
	// ended or is overdue.
	Responded    int      `json:"responded"`
	ResponseDue  int      `json:"response_due"`
	ResponseRate *float64 `json:"response_rate"`
	// ResolutionRate (解决率) is the share of resolved, verified or closed
	// cases among those not rejected, declined or merged.
	Resolved       int      `json:"resolved"`
	Valid          int      `json:"valid"`
	ResolutionRate *float64 `json:"resolution_rate"`
	// SatisfactionRate (满意率) is the share of satisfied cases among the
	// rated: a return visit's satisfied or basically satisfied, or, without
	// a return visit, a rating of 4 or 5 stars.
	Rated            int      `json:"rated"`
	Satisfied        int      `json:"satisfied"`
	SatisfactionRate *float64 `json:"satisfaction_rate"`
	// OnTimeRate (按时办结率) is the share of closed cases whose every stage
	// that the handling units own (all but the resident's rating) was met.
	Closed     int      `json:"closed"`
	OnTime     int      `json:"on_time"`
	OnTimeRate *float64 `json:"on_time_rate"`
	// Overdue counts cases that breached a stage's limit at least once.
	Overdue int `json:"overdue"`
	// AvgHandlingHours is the mean working time from submission to the
	// (last) resolution, in working hours, over the resolved cases.
	AvgHandlingHours *float64 `json:"avg_handling_hours"`
	// Rework counts the reworks (返工) after failed verifications.
	Rework int `json:"rework"`

	handlingSum time.Duration
	handlingN   int
}

// Unit is a region node or a handling department with its figures.
type Unit struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Level string `json:"level,omitempty"`
	Figures
}

// UnitStats are the figures of a region node, of its child nodes and of the
// departments that handled its cases.
type UnitStats struct {
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	Region      Unit      `json:"region"`
	Regions     []Unit    `json:"regions"`
	Departments []Unit    `json:"departments"`
}

// StatsQuery selects the cases measured: submitted in [From, To) in the
// subtree of Region.
type StatsQuery struct {
	Region   string
	From, To time.Time
}

type caseFacts struct {
	path        string
	dept        int64
	status      string
	rating      int
	revisit     string
	rework      int
	created     time.Time
	firstMet    bool
	firstDue    bool
	anyBreach   bool
	allOwnedMet bool
	resolvedAt  time.Time
	haveFirst   bool
}

// UnitStats measures the cases submitted in the period under q.Region
// that scope lets the caller see, for the node, its children and the
// handling departments.
func (e *Engine) UnitStats(ctx context.Context, scope account.Scope, q StatsQuery) (_ *UnitStats, err error) {
	defer errs.Wrapf(&err, "sla.UnitStats(%s)", q.Region)
	bad := errs.E(errs.Invalid, "error.invalid")
	if q.From.IsZero() {
		bad.Field("from", "field.required")
	}
	if q.To.IsZero() {
		bad.Field("to", "field.required")
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		bad.Field("to", "sla.err.period")
	}
	if len(bad.Fields) > 0 {
		return nil, bad
	}
	if e.regions == nil {
		return nil, errs.E(errs.Unavailable, "error.unavailable")
	}
	node, err := e.regions.Get(ctx, q.Region)
	if err != nil {
		return nil, err
	}
	children, err := e.regions.Children(ctx, q.Region, false)
	if err != nil {
		return nil, err
	}
	var w db.Where
	w.Add("c.region_path >= ? AND c.region_path < ?", node.Path, db.PathUpper(node.Path))
	w.Add("c.created_at >= ? AND c.created_at < ?", q.From.UTC(), q.To.UTC())
	scope.Apply(&w, casework.ScopeColumns("c"))
	facts := map[int64]*caseFacts{}
	rows, err := e.db.Query(ctx, `SELECT c.id, c.workflow, c.region_path, COALESCE(c.department_id, 0), c.status, COALESCE(c.rating, 0), c.revisit_result, c.rework, c.created_at
		FROM cases c`+w.SQL(), w.Args()...)
	if err != nil {
		return nil, err
	}
	first := map[int64]string{}
	for rows.Next() {
		var id int64
		var wf string
		var f caseFacts
		var created db.Time
		if err := rows.Scan(&id, &wf, &f.path, &f.dept, &f.status, &f.rating, &f.revisit, &f.rework, &created); err != nil {
			rows.Close()
			return nil, err
		}
		f.created, f.allOwnedMet = created.Time, true
		facts[id] = &f
		if wf, ok := e.workflows[wf]; ok {
			first[id] = wf.Stages[wf.Initial]
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = e.db.Query(ctx, `SELECT s.case_id, s.stage, s.started_at, s.outcome, s.breached_at FROM sla_stages s JOIN cases c ON c.id = s.case_id`+
		w.SQL()+` ORDER BY s.case_id, s.id`, w.Args()...)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id int64
		var stage, outcome string
		var started db.Time
		var breached db.NullTime
		if err := rows.Scan(&id, &stage, &started, &outcome, &breached); err != nil {
			rows.Close()
			return nil, err
		}
		f := facts[id]
		if f == nil {
			continue
		}
		if !f.haveFirst && stage == first[id] {
			f.haveFirst = true
			switch {
			case outcome == OutcomeMet || outcome == OutcomeNone:
				f.firstDue, f.firstMet = true, true
			case outcome == OutcomeMissed || breached.Valid:
				f.firstDue = true
			}
		}
		if breached.Valid || outcome == OutcomeMissed {
			f.anyBreach = true
			if stage != "rate" {
				f.allOwnedMet = false
			}
		}
		if stage == "verify" {
			f.resolvedAt = started.Time
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	out := &UnitStats{From: q.From, To: q.To, Region: Unit{Code: node.Code, Name: node.Name, Level: string(node.Level)}}
	byChild := map[string]*Unit{}
	for _, ch := range children {
		out.Regions = append(out.Regions, Unit{Code: ch.Code, Name: ch.Name, Level: string(ch.Level)})
	}
	for i := range out.Regions {
		byChild[out.Regions[i].Code] = &out.Regions[i]
	}
	byDept := map[int64]*Unit{}
	cal := e.Calendar()
	for _, f := range facts {
		units := []*Figures{&out.Region.Figures}
		if rest, ok := strings.CutPrefix(f.path, node.Path); ok {
			code, _, _ := strings.Cut(rest, "/")
			if u := byChild[code]; u != nil {
				units = append(units, &u.Figures)
			}
		}
		if f.dept != 0 {
			u := byDept[f.dept]
			if u == nil {
				u = &Unit{}
				byDept[f.dept] = u
			}
			units = append(units, &u.Figures)
		}
		var handling time.Duration
		resolved := f.status == "resolved" || f.status == "verified" || f.status == "closed"
		if resolved && !f.resolvedAt.IsZero() {
			handling = cal.WorkingBetween(f.created, f.resolvedAt)
		}
		for _, u := range units {
			u.add(f, resolved, handling)
		}
	}
	if len(byDept) > 0 && e.accounts != nil {
		depts, err := e.accounts.Departments(ctx)
		if err != nil {
			return nil, err
		}
		for _, d := range depts {
			if u := byDept[d.ID]; u != nil {
				u.Code, u.Name = d.Code, d.Name
			}
		}
	}
	for _, u := range byDept {
		out.Departments = append(out.Departments, *u)
	}
	sort.Slice(out.Departments, func(i, j int) bool { return out.Departments[i].Code < out.Departments[j].Code })
	out.Region.finish()
	for i := range out.Regions {
		out.Regions[i].finish()
	}
	for i := range out.Departments {
		out.Departments[i].finish()
	}
	if out.Regions == nil {
		out.Regions = []Unit{}
	}
	if out.Departments == nil {
		out.Departments = []Unit{}
	}
	return out, nil
}

func (u *Figures) add(f *caseFacts, resolved bool, handling time.Duration) {
	u.Cases++
	if f.firstDue {
		u.ResponseDue++
		if f.firstMet {
			u.Responded++
		}
	}
	// A case that ended other than by closing (rejected, declined, merged:
	// every terminal state but closed) was never a valid case to handle.
	if st := casework.State(f.status); st == casework.Closed || !casework.IsTerminalState(st) {
		u.Valid++
		if resolved {
			u.Resolved++
		}
	}
	switch {
	case f.revisit != "":
		u.Rated++
		if f.revisit == "satisfied" || f.revisit == "basically_satisfied" {
			u.Satisfied++
		}
	case f.rating > 0:
		u.Rated++
		if f.rating >= 4 {
			u.Satisfied++
		}
	}
	if f.status == "closed" {
		u.Closed++
		if f.allOwnedMet {
			u.OnTime++
		}
	}
	if f.anyBreach {
		u.Overdue++
	}
	if resolved && !f.resolvedAt.IsZero() {
		u.handlingSum += handling
		u.handlingN++
	}
	u.Rework += f.rework
}

func ratio(n, d int) *float64 {
	if d == 0 {
		return nil
	}
	r := float64(n) / float64(d)
	return &r
}

func (u *Figures) finish() {
	u.ResponseRate = ratio(u.Responded, u.ResponseDue)
	u.ResolutionRate = ratio(u.Resolved, u.Valid)
	u.SatisfactionRate = ratio(u.Satisfied, u.Rated)
	u.OnTimeRate = ratio(u.OnTime, u.Closed)
	if u.handlingN > 0 {
		h := u.handlingSum.Hours() / float64(u.handlingN)
		u.AvgHandlingHours = &h
	}
}
