package stats

import (
	"context"
	"maps"
	"strings"
	"time"

	"whistle/internal/casework"
	"whistle/internal/db"
	"whistle/internal/indicator"
)

// The subject kinds of the case indicators.
const (
	// KindRegion is a region node; its code is the region code.
	KindRegion = "region"
	// KindDepartment is a handling department; its code is the
	// department's code.
	KindDepartment = "department"
)

// The Sources the Store registers, one per rollup table.
const (
	// SourceClosed reads rollup_flow: the cases closed (结案) in the
	// period, counted on their closing day.
	SourceClosed = "cases_closed"
	// SourceReceived reads rollup_status: the cases submitted in the
	// period, by the status they are in now.
	SourceReceived = "cases_received"
	// SourceNow reads rollup_state: the open cases as they stand; it
	// ignores the period and knows no departments.
	SourceNow = "cases_now"
)

// The case indicators' names.
const (
	IndReceived     = "received"
	IndClosed       = "closed"
	IndClosedLate   = "closed_late"
	IndOpen         = "open"
	IndOverdue      = "overdue"
	IndWarning      = "warning"
	IndSupervised   = "supervised"
	IndOnTime       = "on_time_rate"
	IndResponse     = "response_rate"
	IndResolution   = "resolution_rate"
	IndSatisfaction = "satisfaction_rate"
	IndStars        = "mean_stars"
	IndHandling     = "handling_hours"
	IndRework       = "rework_rate"
	IndReturn       = "return_rate"
)

// CaseIndicators are the indicators of casework, defined here once and
// computed from the rollups. Periods are whole days in Asia/Shanghai.
func CaseIndicators() []indicator.Indicator {
	t := func(zh, en string) indicator.Text { return indicator.Text{ZH: zh, EN: en} }
	count := func(name string, dir indicator.Direction, src, fact string, label, def indicator.Text) indicator.Indicator {
		return indicator.Indicator{Name: name, Unit: indicator.Count, Direction: dir, Source: src, Label: label, Definition: def,
			Formula: indicator.Formula{Count: fact}}
	}
	ratio := func(name string, unit indicator.Unit, dir indicator.Direction, src, num, den string, per float64, label, def indicator.Text) indicator.Indicator {
		return indicator.Indicator{Name: name, Unit: unit, Direction: dir, Source: src, Label: label, Definition: def,
			Formula: indicator.Formula{Num: num, Den: den, Per: per}}
	}
	now := func(in indicator.Indicator) indicator.Indicator {
		in.Current = true
		return in
	}
	return []indicator.Indicator{
		count(IndReceived, indicator.Neutral, SourceReceived, "received", t("来件数", "Cases received"),
			t("期间内提交的案件数（按提交日计）。", "Cases submitted in the period (counted on the day of submission).")),
		count(IndClosed, indicator.HigherBetter, SourceClosed, "closed", t("办结数", "Cases closed"),
			t("期间内结案的案件数（按结案日计）。", "Cases closed (结案) in the period (counted on the closing day).")),
		count(IndClosedLate, indicator.LowerBetter, SourceClosed, "late", t("超时办结数", "Closed late"),
			t("期间内结案、且有承办环节（居民评价以外）超时的案件数。",
				"Cases closed in the period of which a stage the handling units own (all but the resident's rating) breached its time limit or ended after its deadline.")),
		now(count(IndOpen, indicator.LowerBetter, SourceNow, "open", t("在办数", "Open cases"),
			t("当前尚未结束（未结案、驳回、不予受理或合并）的案件数；与期间无关，部门无此项。",
				"Cases not yet finished (closed, rejected, declined or merged) now; the period does not apply, and departments have no value."))),
		now(count(IndOverdue, indicator.LowerBetter, SourceNow, "overdue", t("超时在办数", "Overdue"),
			t("当前在办且已超时（红灯）的案件数；与期间无关，部门无此项。",
				"Open cases that are overdue (红灯) now; the period does not apply, and departments have no value."))),
		now(count(IndWarning, indicator.LowerBetter, SourceNow, "warning", t("预警数", "Warnings"),
			t("当前在办且处于预警（黄灯）的案件数；与期间无关，部门无此项。",
				"Open cases in warning (黄灯) now; the period does not apply, and departments have no value."))),
		now(count(IndSupervised, indicator.LowerBetter, SourceNow, "supervised", t("督办中", "Under supervision"),
			t("当前在办且被督办的案件数；与期间无关，部门无此项。",
				"Open cases under supervision (督办) now; the period does not apply, and departments have no value."))),
		ratio(IndOnTime, indicator.Percent, indicator.HigherBetter, SourceClosed, "on_time", "closed", 0, t("按时办结率", "On-time completion"),
			t("期间内结案的案件中，承办环节（居民评价以外）均未超时的比例。",
				"Among the cases closed in the period, the share none of whose stages the handling units own (all but the resident's rating) breached its time limit or ended after its deadline.")),
		ratio(IndResponse, indicator.Percent, indicator.HigherBetter, SourceClosed, "first_met", "first_due", 0, t("响应率", "Response rate"),
			t("期间内结案的案件中，首个环节（红哨受理、数字城管立案）按时完成（或无时限）的比例。",
				"Among the cases closed in the period, the share whose first stage (红哨 accept, 数字城管 register) ended in time, or had no time limit.")),
		ratio(IndResolution, indicator.Percent, indicator.HigherBetter, SourceReceived, "resolved", "valid", 0, t("解决率", "Resolution rate"),
			t("期间内提交的有效案件（驳回、不予受理、合并的除外）中，目前已处置、已核查或已结案的比例。",
				"Among the valid cases submitted in the period (all but the rejected, declined and merged), the share now resolved, verified or closed.")),
		ratio(IndSatisfaction, indicator.Percent, indicator.HigherBetter, SourceClosed, "satisfied", "rated", 0, t("满意率", "Satisfaction"),
			t("期间内结案且有评价的案件中，满意的比例：有回访时以回访结果（满意、基本满意）为准，否则以 4–5 星为满意。",
				"Among the cases closed in the period that were rated, the share satisfied: the return visit's result when there is one (satisfied or basically satisfied), otherwise a rating of 4 or 5 stars.")),
		ratio(IndStars, indicator.Stars, indicator.HigherBetter, SourceClosed, "stars_sum", "stars_n", 0, t("平均星级", "Mean rating"),
			t("期间内结案的案件中，居民评价星级的平均值。", "The mean of the residents' ratings (1–5 stars) of the cases closed in the period.")),
		ratio(IndHandling, indicator.Hours, indicator.LowerBetter, SourceClosed, "handling_s", "handled", 3600, t("平均办理时长", "Mean handling time"),
			t("期间内结案的案件从提交到结案的平均工作时长（小时，按工作日历）；红哨含等待居民评价的时间。",
				"The mean working time from submission to closing of the cases closed in the period, in working hours of the working calendar; for 红哨 it includes the wait for the resident's rating.")),
		ratio(IndRework, indicator.Percent, indicator.LowerBetter, SourceClosed, "reworked", "closed", 0, t("返工率", "Rework rate"),
			t("期间内结案的案件中，曾因核查不通过而返工的比例。", "Among the cases closed in the period, the share reworked (返工) at least once after a failed verification.")),
		ratio(IndReturn, indicator.Percent, indicator.LowerBetter, SourceClosed, "returned", "closed", 0, t("退单率", "Return rate"),
			t("期间内结案的案件中，曾被承办部门退单的比例。", "Among the cases closed in the period, the share a department returned (退单) at least once.")),
	}
}

// registerIndicators adds the Store's Sources and the case indicators to r.
func (s *Store) registerIndicators(r *indicator.Registry) error {
	for name, src := range map[string]indicator.Source{SourceClosed: closedSource{s}, SourceReceived: receivedSource{s}, SourceNow: nowSource{s}} {
		if err := r.AddSource(name, src); err != nil {
			return err
		}
	}
	for _, in := range CaseIndicators() {
		if err := r.Register(in); err != nil {
			return err
		}
	}
	return nil
}

// Indicators returns the registry the Store registered its indicators in.
func (s *Store) Indicators() *indicator.Registry { return s.reg }

// days returns the first and last day of a period: From's day and the day
// of the last instant before To.
func (s *Store) days(p indicator.Period) (string, string) {
	return s.day(p.From), s.day(p.To.Add(-time.Nanosecond))
}

// subjectNodes maps the rollup node of each subject the Store knows (a
// region node of the tree, a department) to the subject; departments only
// when withDepts.
func (s *Store) subjectNodes(ctx context.Context, subjects []indicator.Subject, withDepts bool) (map[string]indicator.Subject, error) {
	out := map[string]indicator.Subject{}
	var depts map[string]int64
	for _, sub := range subjects {
		switch {
		case sub.Kind == KindRegion:
			t, err := s.nodes(ctx)
			if err != nil {
				return nil, err
			}
			if t.nodes[sub.Code] != nil {
				out[sub.Code] = sub
			}
		case sub.Kind == KindDepartment && withDepts:
			if depts == nil {
				var err error
				if depts, err = s.departmentIDs(ctx); err != nil {
					return nil, err
				}
			}
			if id, ok := depts[sub.Code]; ok {
				out[DepartmentNode(id)] = sub
			}
		}
	}
	return out, nil
}

// departmentIDs returns the departments' ids by code.
func (s *Store) departmentIDs(ctx context.Context) (map[string]int64, error) {
	out := map[string]int64{}
	if s.accounts == nil {
		return out, nil
	}
	ds, err := s.accounts.Departments(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		out[d.Code] = d.ID
	}
	return out, nil
}

// nodeArgs returns the nodes as arguments after the first k-1 and their
// IN list.
func nodeArgs(nodes map[string]indicator.Subject, k int) ([]any, string) {
	args := make([]any, 0, len(nodes))
	for n := range nodes {
		args = append(args, n)
	}
	return args, inList(k, len(args))
}

// sumRows reads rows of (node, counters…) into facts named by names, for
// the subjects of nodes; every subject gets facts, zero when it has no row.
func sumRows(ctx context.Context, d *db.DB, q string, args []any, nodes map[string]indicator.Subject, names []string) (map[indicator.Subject]indicator.Facts, error) {
	out := make(map[indicator.Subject]indicator.Facts, len(nodes))
	for _, sub := range nodes {
		out[sub] = indicator.Facts{}
	}
	if len(nodes) == 0 {
		return out, nil
	}
	rows, err := d.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	vals := make([]int64, len(names))
	dst := make([]any, 1+len(names))
	var node string
	dst[0] = &node
	for i := range vals {
		dst[i+1] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(dst...); err != nil {
			return nil, err
		}
		sub, ok := nodes[node]
		if !ok {
			continue
		}
		f := out[sub]
		for i, n := range names {
			f[n] += vals[i]
		}
	}
	return out, rows.Err()
}

// closedSource reads rollup_flow.
type closedSource struct{ s *Store }

// Facts implements indicator.Source: the sums of rollup_flow's counters
// over the period's days, and late = closed − on_time.
func (c closedSource) Facts(ctx context.Context, subjects []indicator.Subject, p indicator.Period) (map[indicator.Subject]indicator.Facts, error) {
	s := c.s
	nodes, err := s.subjectNodes(ctx, subjects, true)
	if err != nil {
		return nil, err
	}
	from, to := s.days(p)
	args, in := nodeArgs(nodes, 3)
	sums := make([]string, len(flowCounters))
	for i, col := range flowCounters {
		sums[i] = "CAST(COALESCE(SUM(" + col + "), 0) AS BIGINT)"
	}
	out, err := sumRows(ctx, s.db, `SELECT node, `+strings.Join(sums, ", ")+` FROM rollup_flow WHERE day >= $1 AND day <= $2 AND node IN (`+in+`) GROUP BY node`,
		append([]any{from, to}, args...), nodes, flowCounters)
	if err != nil {
		return nil, err
	}
	for _, f := range out {
		f["late"] = f["closed"] - f["on_time"]
	}
	return out, nil
}

// receivedSource reads rollup_status.
type receivedSource struct{ s *Store }

// Facts implements indicator.Source: of the cases submitted in the
// period, received (all), valid (all but those rejected, declined or
// merged: every terminal state but closed) and resolved (valid ones now
// resolved, verified or closed).
func (c receivedSource) Facts(ctx context.Context, subjects []indicator.Subject, p indicator.Period) (map[indicator.Subject]indicator.Facts, error) {
	s := c.s
	nodes, err := s.subjectNodes(ctx, subjects, true)
	if err != nil {
		return nil, err
	}
	from, to := s.days(p)
	args, in := nodeArgs(nodes, 3)
	out := make(map[indicator.Subject]indicator.Facts, len(nodes))
	for _, sub := range nodes {
		out[sub] = indicator.Facts{"received": 0, "valid": 0, "resolved": 0}
	}
	if len(nodes) == 0 {
		return out, nil
	}
	rows, err := s.db.Query(ctx, `SELECT node, status, CAST(SUM(n) AS BIGINT) FROM rollup_status WHERE day >= $1 AND day <= $2 AND node IN (`+in+`) GROUP BY node, status`,
		append([]any{from, to}, args...)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var node, status string
		var n int64
		if err := rows.Scan(&node, &status, &n); err != nil {
			return nil, err
		}
		f := out[nodes[node]]
		if f == nil {
			continue
		}
		f["received"] += n
		st := casework.State(status)
		if casework.IsResolvedState(st) || !casework.IsTerminalState(st) {
			f["valid"] += n
			if casework.IsResolvedState(st) {
				f["resolved"] += n
			}
		}
	}
	return out, rows.Err()
}

// nowSource reads rollup_state.
type nowSource struct{ s *Store }

// Facts implements indicator.Source: the open cases now, overdue, in
// warning and supervised, for region nodes (the period does not apply).
func (c nowSource) Facts(ctx context.Context, subjects []indicator.Subject, _ indicator.Period) (map[indicator.Subject]indicator.Facts, error) {
	s := c.s
	nodes, err := s.subjectNodes(ctx, subjects, false)
	if err != nil {
		return nil, err
	}
	args, in := nodeArgs(nodes, 1)
	out := make(map[indicator.Subject]indicator.Facts, len(nodes))
	for _, sub := range nodes {
		out[sub] = indicator.Facts{"open": 0, "overdue": 0, "warning": 0, "supervised": 0}
	}
	if len(nodes) == 0 {
		return out, nil
	}
	rows, err := s.db.Query(ctx, `SELECT node, sla_state, supervised, CAST(SUM(n) AS BIGINT) FROM rollup_state WHERE node IN (`+in+`) AND `+openSQL("status")+`
		GROUP BY node, sla_state, supervised`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var node, sla string
		var sup bool
		var n int64
		if err := rows.Scan(&node, &sla, &sup, &n); err != nil {
			return nil, err
		}
		f := out[nodes[node]]
		if f == nil {
			continue
		}
		f["open"] += n
		switch sla {
		case "overdue":
			f["overdue"] += n
		case "warning":
			f["warning"] += n
		}
		if sup {
			f["supervised"] += n
		}
	}
	return out, rows.Err()
}

// sourceDocs describe the Sources for docs/INDICATORS.md.
var sourceDocs = map[string]string{
	SourceClosed: "rollup_flow: the cases closed (结案) in the period, counted on their closing day (on-time, first stage, ratings, " +
		"handling time, rework, returns).",
	SourceReceived: "rollup_status: the cases submitted in the period, counted on the day of submission, by the status they are in now.",
	SourceNow:      "rollup_state: the open cases as they stand now, for region nodes; the period does not apply.",
}

const docIntro = `# Indicators · 指标

Every key performance indicator is defined once, in the indicator registry (` + "`internal/indicator`" + `); the big screen
(` + "`GET /api/v1/stats/summary`" + `), the unit statistics (` + "`GET /api/v1/stats/units`" + `) and every later module read
them from it. Casework's indicators below are registered by ` + "`internal/stats`" + ` and computed from the rollups; the other
modules' (visits, disputes, sensing, benefits) by their own packages, each from its own Source.

- **Subjects.** A region node (kind ` + "`region`" + `, its region code: district, street, community or grid), or a handling
  department (kind ` + "`department`" + `, its code: the cases assigned to it now, wherever they lie). Another module registers
  its own subject kind, Sources and indicators.
- **Periods.** Whole calendar days in Asia/Shanghai: a period runs from the day of its start to the day of the last instant
  before its end. The unit statistics take ` + "`from`" + ` and ` + "`to`" + ` dates, both included; the screen's window is the
  last 30 days, today included.
- **Values.** A ratio carries its numerator and denominator, so that values can be summed over units and ranked honestly. A
  ratio over nothing (denominator 0), and any indicator for a subject its Source does not cover, has **no data** (` + "`null`" + `),
  which is not 0.
`

// DocModule is another module's part of docs/INDICATORS.md: its Source's
// name and description and its indicators, as it registers them.
type DocModule struct {
	Source     string
	Doc        string
	Indicators []indicator.Indicator
}

// docSource stands for a module's Source in the registry the document is
// rendered from: nothing is computed.
type docSource struct{}

func (docSource) Facts(context.Context, []indicator.Subject, indicator.Period) (map[indicator.Subject]indicator.Facts, error) {
	return nil, nil
}

// IndicatorsDoc renders docs/INDICATORS.md from a registry holding the
// case indicators, as the Store registers them, and the other modules'
// (the test that checks the document names them: stats does not import
// the modules).
func IndicatorsDoc(modules ...DocModule) ([]byte, error) {
	r := indicator.New()
	if err := (&Store{}).registerIndicators(r); err != nil {
		return nil, err
	}
	docs := maps.Clone(sourceDocs)
	for _, m := range modules {
		if err := r.AddModule(m.Source, docSource{}, m.Indicators); err != nil {
			return nil, err
		}
		docs[m.Source] = m.Doc
	}
	return indicator.Markdown(docIntro, r.List(), docs), nil
}
