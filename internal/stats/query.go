package stats

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/indicator"
)

// Window is the number of days, today included, the rates and top lists
// cover.
const Window = 30

// Count is a named count in a top list.
type Count struct {
	Code   string `json:"code"`
	Name   string `json:"name,omitempty"`
	NameEN string `json:"name_en,omitempty"`
	N      int64  `json:"n"`
}

// KPI are the figures of the screen's cards, each read from the indicator
// registry (CaseIndicators).
type KPI struct {
	ReportsToday int64 `json:"reports_today"`
	Open         int64 `json:"open"`
	ClosedToday  int64 `json:"closed_today"`
	// The rates and means cover the window (ResolutionRate its
	// submissions, the others its closings); null when there is nothing
	// to measure.
	OnTimeRate       *float64 `json:"on_time_rate"`
	Satisfaction     *float64 `json:"satisfaction"`
	AvgStars         *float64 `json:"avg_stars"`
	AvgHandlingHours *float64 `json:"avg_handling_hours"`
	ResponseRate     *float64 `json:"response_rate"`
	ResolutionRate   *float64 `json:"resolution_rate"`
	ReworkRate       *float64 `json:"rework_rate"`
	ReturnRate       *float64 `json:"return_rate"`
	Supervised       int64    `json:"supervised"`
	Overdue          int64    `json:"overdue"`
	Warning          int64    `json:"warning"`
}

// WindowIndicators are the indicators the screen's summary shows over the
// window; TodayIndicators those it shows for today.
var (
	WindowIndicators = []string{IndReceived, IndClosed, IndOnTime, IndSatisfaction, IndStars, IndHandling, IndResponse, IndResolution,
		IndRework, IndReturn, IndOpen, IndOverdue, IndWarning, IndSupervised}
	TodayIndicators = []string{IndReceived, IndClosed}
)

// Totals are the window's sums the rates come from.
type Totals struct {
	Reports   int64 `json:"reports"`
	Closed    int64 `json:"closed"`
	OnTime    int64 `json:"on_time"`
	Rated     int64 `json:"rated"`
	Satisfied int64 `json:"satisfied"`
	StarsN    int64 `json:"stars_n"`
	StarsSum  int64 `json:"stars_sum"`
	Handled   int64 `json:"handled"`
	HandlingS int64 `json:"handling_s"`
	FirstDue  int64 `json:"first_due"`
	FirstMet  int64 `json:"first_met"`
	Reworked  int64 `json:"reworked"`
	Returned  int64 `json:"returned"`
	// Valid and Resolved are of the cases submitted in the window.
	Valid    int64 `json:"valid"`
	Resolved int64 `json:"resolved"`
}

// Summary is everything the screen shows of one node but its map, trend
// and lists.
type Summary struct {
	Region     Node    `json:"region"`
	Today      string  `json:"today"`
	From       string  `json:"from"` // first day of the window
	KPI        KPI     `json:"kpi"`
	Totals     Totals  `json:"window"`
	Status     []Count `json:"status"`     // open cases by status
	Categories []Count `json:"categories"` // top categories reported in the window
	Sources    []Count `json:"sources"`    // reports in the window by source
}

// TopCategories is the length of the summary's category list.
const TopCategories = 10

// today returns today's date and the window's first date.
func (s *Store) today() (string, string) {
	now := s.db.Now().In(s.loc)
	return now.Format(time.DateOnly), now.AddDate(0, 0, -(Window - 1)).Format(time.DateOnly)
}

func rate(n, d int64) *float64 {
	if d == 0 {
		return nil
	}
	r := float64(n) / float64(d)
	return &r
}

// fromIndicators fills the KPIs and the window's totals from the
// registry's values over the window (w) and today (d).
func (sm *Summary) fromIndicators(w, d map[string]indicator.Value) {
	k, t := &sm.KPI, &sm.Totals
	k.ReportsToday, k.ClosedToday = d[IndReceived].Num, d[IndClosed].Num
	k.Open, k.Overdue, k.Warning, k.Supervised = w[IndOpen].Num, w[IndOverdue].Num, w[IndWarning].Num, w[IndSupervised].Num
	k.OnTimeRate, k.Satisfaction, k.AvgStars, k.AvgHandlingHours = w[IndOnTime].Value, w[IndSatisfaction].Value, w[IndStars].Value, w[IndHandling].Value
	k.ResponseRate, k.ResolutionRate, k.ReworkRate, k.ReturnRate = w[IndResponse].Value, w[IndResolution].Value, w[IndRework].Value, w[IndReturn].Value
	t.Reports, t.Closed, t.OnTime = w[IndReceived].Num, w[IndClosed].Num, w[IndOnTime].Num
	t.Rated, t.Satisfied = w[IndSatisfaction].Den, w[IndSatisfaction].Num
	t.StarsN, t.StarsSum = w[IndStars].Den, w[IndStars].Num
	t.Handled, t.HandlingS = w[IndHandling].Den, w[IndHandling].Num
	t.FirstDue, t.FirstMet = w[IndResponse].Den, w[IndResponse].Num
	t.Reworked, t.Returned = w[IndRework].Num, w[IndReturn].Num
	t.Valid, t.Resolved = w[IndResolution].Den, w[IndResolution].Num
}

// rates computes the KPI rates from the totals the way CaseIndicators
// defines them, for SummaryFromCases, the check the registry's values
// are held to.
func (sm *Summary) rates() {
	t, k := sm.Totals, &sm.KPI
	k.OnTimeRate, k.Satisfaction, k.AvgStars = rate(t.OnTime, t.Closed), rate(t.Satisfied, t.Rated), rate(t.StarsSum, t.StarsN)
	if t.Handled > 0 {
		h := float64(t.HandlingS) / float64(t.Handled) / 3600
		k.AvgHandlingHours = &h
	}
	k.ResponseRate, k.ResolutionRate = rate(t.FirstMet, t.FirstDue), rate(t.Resolved, t.Valid)
	k.ReworkRate, k.ReturnRate = rate(t.Reworked, t.Closed), rate(t.Returned, t.Closed)
}

// finish sorts and trims the summary's lists.
func (sm *Summary) finish() {
	byN := func(a, b Count) int { return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.Code, b.Code)) }
	slices.SortFunc(sm.Status, byN)
	slices.SortFunc(sm.Sources, byN)
	slices.SortFunc(sm.Categories, byN)
	if len(sm.Categories) > TopCategories {
		sm.Categories = sm.Categories[:TopCategories]
	}
	for _, l := range []*[]Count{&sm.Status, &sm.Sources, &sm.Categories} {
		if *l == nil {
			*l = []Count{}
		}
	}
}

func (s *Store) nameCategories(ctx context.Context, cs []Count) {
	names := s.categoryNames(ctx)
	for i := range cs {
		if n, ok := names[cs[i].Code]; ok {
			cs[i].Name, cs[i].NameEN = n[0], n[1]
		}
	}
}

// Summary reads the KPIs of a node from the rollups. A node outside the
// scope is NotFound.
func (s *Store) Summary(ctx context.Context, sc account.Scope, code string) (_ *Summary, err error) {
	defer errs.Wrapf(&err, "stats.Summary(%s)", code)
	n, err := s.Resolve(ctx, sc, code)
	if err != nil {
		return nil, err
	}
	today, from := s.today()
	sm := &Summary{Region: *n, Today: today, From: from}
	// The KPIs come from the indicator registry, over the window and over
	// today, like every other page's.
	sub := indicator.Subject{Kind: KindRegion, Code: n.Code}
	win, err := s.reg.Batch(ctx, WindowIndicators, []indicator.Subject{sub}, s.WindowPeriod())
	if err != nil {
		return nil, err
	}
	day, err := s.reg.Batch(ctx, TodayIndicators, []indicator.Subject{sub}, s.period(today, today))
	if err != nil {
		return nil, err
	}
	if sm.Categories, err = countRows(s.db.Query(ctx, `SELECT category, SUM(reports) FROM rollup_flow WHERE node = $1 AND day >= $2 AND day <= $3
		GROUP BY category HAVING SUM(reports) > 0 ORDER BY SUM(reports) DESC, category LIMIT `+strconv.Itoa(TopCategories), n.Code, from, today)); err != nil {
		return nil, err
	}
	if err := sm.stateRows(s.db.Query(ctx, `SELECT status, sla_state, supervised, SUM(n) FROM rollup_state WHERE node = $1 AND `+openSQL("status")+`
		GROUP BY status, sla_state, supervised`, n.Code)); err != nil {
		return nil, err
	}
	if sm.Sources, err = countRows(s.db.Query(ctx, `SELECT source, SUM(n) FROM rollup_source WHERE node = $1 AND day >= $2 AND day <= $3 GROUP BY source`, n.Code, from, today)); err != nil {
		return nil, err
	}
	sm.fromIndicators(win[sub], day[sub])
	sm.finish()
	s.nameCategories(ctx, sm.Categories)
	return sm, nil
}

func (t *Totals) add(v flowVal) {
	t.Reports += v.reports
	t.Closed += v.closed
	t.OnTime += v.onTime
	t.Rated += v.rated
	t.Satisfied += v.satisfied
	t.StarsN += v.starsN
	t.StarsSum += v.starsSum
	t.Handled += v.handled
	t.HandlingS += v.handlingS
	t.FirstDue += v.firstDue
	t.FirstMet += v.firstMet
	t.Reworked += v.reworked
	t.Returned += v.returned
}

// addState counts k open cases with an SLA state and flag.
func (sm *Summary) addState(sla string, sup bool, k int64) {
	sm.KPI.Open += k
	switch sla {
	case "overdue":
		sm.KPI.Overdue += k
	case "warning":
		sm.KPI.Warning += k
	}
	if sup {
		sm.KPI.Supervised += k
	}
}

// period is the days from the date from to the date to, both included,
// in Asia/Shanghai.
func (s *Store) period(from, to string) indicator.Period {
	f, _ := time.ParseInLocation(time.DateOnly, from, s.loc)
	t, _ := time.ParseInLocation(time.DateOnly, to, s.loc)
	return indicator.Period{From: f, To: t.AddDate(0, 0, 1)}
}

// WindowPeriod is the screen's window: the last Window days, today
// included.
func (s *Store) WindowPeriod() indicator.Period {
	today, from := s.today()
	return s.period(from, today)
}

// Metrics the map can colour the areas by.
const (
	MetricOpen         = "open"
	MetricOverdue      = "overdue"
	MetricSatisfaction = "satisfaction"
)

// Area is one child of the node on the map with its value: a count of
// cases, or a satisfaction rate in [0, 1] (null when nothing was rated).
type Area struct {
	Node
	Value *float64 `json:"value"`
	// Rated counts the ratings behind a satisfaction value.
	Rated int64 `json:"rated,omitempty"`
}

// MapData is the map of a node: one area per child, or the node itself
// when it has none (a grid).
type MapData struct {
	Region Node   `json:"region"`
	Metric string `json:"metric"`
	Areas  []Area `json:"areas"`
}

// inList returns "$k,$k+1,…" for n parameters after the first k-1.
func inList(first, n int) string {
	ph := make([]string, n)
	for i := range ph {
		ph[i] = "$" + strconv.Itoa(first+i)
	}
	return strings.Join(ph, ",")
}

// Map reads one value per child of the node from the rollups.
func (s *Store) Map(ctx context.Context, sc account.Scope, code, metric string) (_ *MapData, err error) {
	defer errs.Wrapf(&err, "stats.Map(%s, %s)", code, metric)
	if metric == "" {
		metric = MetricOpen
	}
	if metric != MetricOpen && metric != MetricOverdue && metric != MetricSatisfaction {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("metric", "stats.bad_metric", metric)
	}
	n, err := s.Resolve(ctx, sc, code)
	if err != nil {
		return nil, err
	}
	kids, err := s.Children(ctx, n)
	if err != nil {
		return nil, err
	}
	if len(kids) == 0 {
		kids = []Node{*n}
	}
	out := &MapData{Region: *n, Metric: metric, Areas: make([]Area, len(kids))}
	args := make([]any, 0, len(kids)+2)
	idx := map[string]int{}
	for i, k := range kids {
		out.Areas[i].Node = k
		args = append(args, k.Code)
		idx[k.Code] = i
	}
	var q string
	switch metric {
	case MetricOpen:
		q = `SELECT node, SUM(n), 0 FROM rollup_state WHERE node IN (` + inList(1, len(kids)) + `) AND ` + openSQL("status") + ` GROUP BY node`
	case MetricOverdue:
		q = `SELECT node, SUM(n), 0 FROM rollup_state WHERE node IN (` + inList(1, len(kids)) + `) AND sla_state = 'overdue' AND ` + openSQL("status") + ` GROUP BY node`
	case MetricSatisfaction:
		today, from := s.today()
		args = append(args, from, today)
		q = `SELECT node, SUM(satisfied), SUM(rated) FROM rollup_flow WHERE node IN (` + inList(1, len(kids)) + `) AND day >= $` +
			strconv.Itoa(len(kids)+1) + ` AND day <= $` + strconv.Itoa(len(kids)+2) + ` GROUP BY node`
	}
	if metric != MetricSatisfaction {
		for i := range out.Areas {
			zero := 0.0
			out.Areas[i].Value = &zero
		}
	}
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var node string
		var a, b int64
		if err := rows.Scan(&node, &a, &b); err != nil {
			return nil, err
		}
		ar := &out.Areas[idx[node]]
		if metric == MetricSatisfaction {
			ar.Value, ar.Rated = rate(a, b), b
			continue
		}
		v := float64(a)
		ar.Value = &v
	}
	return out, rows.Err()
}

// Day is one day of the trend.
type Day struct {
	Day     string `json:"day"`
	Reports int64  `json:"reports"`
	Closed  int64  `json:"closed"`
	OnTime  int64  `json:"on_time"`
}

// Trend is the daily reports and closures of a node.
type Trend struct {
	Region Node  `json:"region"`
	Days   []Day `json:"days"`
}

// MaxTrendDays bounds the trend's length.
const MaxTrendDays = 366

// Trend reads the reports and closures of the last days days (today
// included) from the rollups; days without any are zero.
func (s *Store) Trend(ctx context.Context, sc account.Scope, code string, days int) (_ *Trend, err error) {
	defer errs.Wrapf(&err, "stats.Trend(%s, %d)", code, days)
	if days == 0 {
		days = Window
	}
	if days < 1 || days > MaxTrendDays {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("days", "field.range", 1, MaxTrendDays)
	}
	n, err := s.Resolve(ctx, sc, code)
	if err != nil {
		return nil, err
	}
	now := s.db.Now().In(s.loc)
	out := &Trend{Region: *n, Days: make([]Day, days)}
	idx := map[string]int{}
	for i := range out.Days {
		d := now.AddDate(0, 0, i-days+1).Format(time.DateOnly)
		out.Days[i].Day, idx[d] = d, i
	}
	rows, err := s.db.Query(ctx, `SELECT day, SUM(reports), SUM(closed), SUM(on_time) FROM rollup_flow WHERE node = $1 AND day >= $2 AND day <= $3 GROUP BY day`,
		n.Code, out.Days[0].Day, out.Days[days-1].Day)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var d Day
		if err := rows.Scan(&d.Day, &d.Reports, &d.Closed, &d.OnTime); err != nil {
			return nil, err
		}
		if i, ok := idx[d.Day]; ok {
			out.Days[i] = d
		}
	}
	return out, rows.Err()
}

// Hotspot is a grid with many open cases.
type Hotspot struct {
	Node
	// Parent names the grid's community.
	Parent  string `json:"parent,omitempty"`
	Open    int64  `json:"open"`
	Overdue int64  `json:"overdue"`
}

// Hotspots lists the grids under a node.
type Hotspots struct {
	Region Node      `json:"region"`
	Grids  []Hotspot `json:"grids"`
}

// MaxHotspots bounds the hotspot list.
const MaxHotspots = 50

// Hotspots reads the grids under a node with the most open cases from the
// rollups, at most limit (default 10).
func (s *Store) Hotspots(ctx context.Context, sc account.Scope, code string, limit int) (_ *Hotspots, err error) {
	defer errs.Wrapf(&err, "stats.Hotspots(%s)", code)
	if limit == 0 {
		limit = 10
	}
	if limit < 1 || limit > MaxHotspots {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("limit", "field.range", 1, MaxHotspots)
	}
	n, err := s.Resolve(ctx, sc, code)
	if err != nil {
		return nil, err
	}
	t, err := s.nodes(ctx)
	if err != nil {
		return nil, err
	}
	grids := t.grids(t.nodes[n.Code])
	args := make([]any, len(grids))
	for i, g := range grids {
		args[i] = g.Code
	}
	rows, err := s.db.Query(ctx, `SELECT node, SUM(n), SUM(CASE WHEN sla_state = 'overdue' THEN n ELSE 0 END) FROM rollup_state
		WHERE node IN (`+inList(1, len(grids))+`) AND `+openSQL("status")+` GROUP BY node`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := &Hotspots{Region: *n, Grids: []Hotspot{}}
	for rows.Next() {
		var h Hotspot
		if err := rows.Scan(&h.Code, &h.Open, &h.Overdue); err != nil {
			return nil, err
		}
		if h.Open == 0 {
			continue
		}
		if g := t.nodes[h.Code]; g != nil {
			h.Node = *g
			if p := t.nodes[g.parent]; p != nil {
				h.Parent = p.Name
			}
		}
		out.Grids = append(out.Grids, h)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.SortFunc(out.Grids, func(a, b Hotspot) int {
		return cmp.Or(cmp.Compare(b.Open, a.Open), cmp.Compare(b.Overdue, a.Overdue), cmp.Compare(a.Code, b.Code))
	})
	if len(out.Grids) > limit {
		out.Grids = out.Grids[:limit]
	}
	return out, nil
}

// OverdueCase is one line of the red list.
type OverdueCase struct {
	ID       int64     `json:"id"`
	Number   string    `json:"number"`
	Category string    `json:"category"`
	Address  string    `json:"address"`
	Status   string    `json:"status"`
	Deadline time.Time `json:"deadline,omitzero"`
	Grid     Node      `json:"grid"`
	Urgent   bool      `json:"urgent"`
}

// MaxOverdue bounds the red list.
const MaxOverdue = 100

// Overdue lists the open overdue cases under a node, the longest overdue
// first, at most limit (default 20). It reads the cases (a short list on
// the SLA-state index), in the caller's data scope.
func (s *Store) Overdue(ctx context.Context, sc account.Scope, code string, limit int) (_ []OverdueCase, err error) {
	defer errs.Wrapf(&err, "stats.Overdue(%s)", code)
	if limit == 0 {
		limit = 20
	}
	if limit < 1 || limit > MaxOverdue {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("limit", "field.range", 1, MaxOverdue)
	}
	n, err := s.Resolve(ctx, sc, code)
	if err != nil {
		return nil, err
	}
	t, err := s.nodes(ctx)
	if err != nil {
		return nil, err
	}
	var w db.Where
	w.Add("c.sla_state = ?", "overdue")
	w.Add("c.region_path >= ? AND c.region_path < ?", n.path, db.PathUpper(n.path))
	w.Add(openSQL("c.status"))
	sc.Apply(&w, casework.ScopeColumns("c"))
	rows, err := s.db.Query(ctx, `SELECT c.id, c.number, c.category_name, c.address, c.status, c.deadline_at, c.grid_code, c.urgent FROM cases c`+
		w.SQL()+` ORDER BY c.deadline_at, c.id LIMIT `+strconv.Itoa(limit), w.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []OverdueCase{}
	for rows.Next() {
		var c OverdueCase
		var deadline db.NullTime
		var grid string
		if err := rows.Scan(&c.ID, &c.Number, &c.Category, &c.Address, &c.Status, &deadline, &grid, &c.Urgent); err != nil {
			return nil, err
		}
		c.Deadline = deadline.Time
		if g := t.nodes[grid]; g != nil {
			c.Grid = *g
		} else {
			c.Grid = Node{Code: grid}
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// countRows reads rows of (code, n), closing them.
func countRows(rows *sql.Rows, err error) ([]Count, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Count
	for rows.Next() {
		var c Count
		if err := rows.Scan(&c.Code, &c.N); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// stateRows adds rows of (status, SLA state, supervised, n) of open cases
// to the summary's counts and its list by status, closing them.
func (sm *Summary) stateRows(rows *sql.Rows, err error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	byStatus := map[string]int64{}
	for rows.Next() {
		var st, sla string
		var sup bool
		var k int64
		if err := rows.Scan(&st, &sla, &sup, &k); err != nil {
			return err
		}
		sm.addState(sla, sup, k)
		byStatus[st] += k
	}
	for st, k := range byStatus {
		sm.Status = append(sm.Status, Count{Code: st, N: k})
	}
	return rows.Err()
}
