package stats

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"whistle/internal/casework"
	"whistle/internal/db"
	"whistle/internal/region"
)

// isOpen reports whether a case in status st is still being handled: not in
// a terminal state of its workflow.
func isOpen(st string) bool { return !casework.IsTerminalState(casework.State(st)) }

// openSQL is the SQL condition "status is open" on column col.
func openSQL(col string) string { return casework.OpenSQL(col) }

// facts is what one case contributes to the rollups.
type facts struct {
	path       string
	category   string
	source     string
	status     string
	sla        string // "" for finished cases
	supervised bool   // false for finished cases
	created    string // day of submission
	closedDay  string // day of closing; "" unless status is closed
	onTime     bool
	rated      bool
	satisfied  bool
	stars      int
	handled    bool
	handlingS  int64
	// The closing's facts for the indicators (internal/indicator): the
	// first stage (红哨 accept, 数字城管 register) ended, in time, and
	// whether the case was ever reworked or returned.
	firstDue, firstMet bool
	reworked, returned bool
	// dept is the handling department (0 for none): its pseudo-node
	// (DepartmentNode) gets the flow, status and source counts too.
	dept int64
}

// row is a case's columns as the rollups read them.
type row struct {
	id         int64
	path       string
	category   string
	source     string
	status     string
	sla        string
	supervised bool
	created    time.Time
	closed     time.Time
	rating     int
	revisit    string
	late       bool
	dept       int64
	rework     int
	returns    int
	first      int // the first stage of a closed case: 0 not ended, 1 missed, 2 met
}

// lateSQL is true when a case has an assessed stage (as its workflow
// version declared the stage on entry: every stage the handling units own,
// not the resident's rating) that breached, ended late, or is still open
// past its deadline at the closing.
const lateSQL = `EXISTS (SELECT 1 FROM sla_stages s WHERE s.case_id = c.id AND s.assessed
	AND (s.breached_at IS NOT NULL OR s.outcome = 'missed' OR (s.ended_at IS NULL AND s.deadline_at IS NOT NULL AND s.deadline_at < c.closed_at)))`

// firstSQL is the outcome of a case's first stage (the SLA stage of its
// workflow's initial state: 红哨 accept, 数字城管 register; its first row of
// that stage): 2 met (or without a limit), 1 missed or breached, 0 still
// running or none. The stage names come from the shipped workflow
// definitions, once: they are embedded and immutable, like
// casework.TerminalStates.
var firstSQL = sync.OnceValue(func() string {
	var whens []string
	wfs := casework.Workflows()
	for _, name := range slices.Sorted(maps.Keys(wfs)) {
		wf := wfs[name]
		if st := wf.Stages[wf.Initial]; st != "" {
			whens = append(whens, "WHEN '"+strings.ReplaceAll(name, "'", "''")+"' THEN '"+strings.ReplaceAll(st, "'", "''")+"'")
		}
	}
	stage := "''"
	if len(whens) > 0 {
		stage = "CASE c.workflow " + strings.Join(whens, " ") + " ELSE '' END"
	}
	return `COALESCE((SELECT CASE WHEN s.outcome IN ('met', 'none') THEN 2 WHEN s.outcome = 'missed' OR s.breached_at IS NOT NULL THEN 1 ELSE 0 END
	FROM sla_stages s WHERE s.case_id = c.id AND s.stage = ` + stage + ` ORDER BY s.id LIMIT 1), 0)`
})

// rowCols reads a row; the lateness and first-stage checks run for closed
// cases only.
func rowCols() string {
	return `c.id, c.region_path, c.category_code, c.source, c.status, c.sla_state, c.supervised, c.created_at, c.closed_at,
	COALESCE(c.rating, 0), c.revisit_result, CASE WHEN c.status = 'closed' AND ` + lateSQL + ` THEN 1 ELSE 0 END,
	COALESCE(c.department_id, 0), c.rework, c.returns, CASE WHEN c.status = 'closed' THEN ` + firstSQL() + ` ELSE 0 END`
}

type scanner interface{ Scan(...any) error }

func scanRow(sc scanner) (row, error) {
	var r row
	var created db.Time
	var closed db.NullTime
	var late int
	err := sc.Scan(&r.id, &r.path, &r.category, &r.source, &r.status, &r.sla, &r.supervised, &created, &closed, &r.rating, &r.revisit, &late,
		&r.dept, &r.rework, &r.returns, &r.first)
	r.created, r.closed, r.late = created.Time, closed.Time, late == 1
	return r, err
}

// satisfiedBy says whether a rated case counts as satisfied, and whether it
// is rated at all: the return visit's result wins over the stars.
func satisfiedBy(revisit string, stars int) (rated, satisfied bool) {
	switch {
	case revisit != "":
		return true, revisit == "satisfied" || revisit == "basically_satisfied"
	case stars > 0:
		return true, stars >= 4
	}
	return false, false
}

// factsOf derives a case's contribution from its row.
func (s *Store) factsOf(r row) facts {
	f := facts{path: r.path, category: r.category, source: r.source, status: r.status, created: s.day(r.created), dept: r.dept}
	if isOpen(r.status) {
		f.sla, f.supervised = r.sla, r.supervised
	}
	if r.status == "closed" {
		f.closedDay = s.day(r.closed)
		f.onTime = !r.late
		f.rated, f.satisfied = satisfiedBy(r.revisit, r.rating)
		f.stars = r.rating
		f.firstDue, f.firstMet = r.first > 0, r.first == 2
		f.reworked, f.returned = r.rework > 0, r.returns > 0
		if !r.closed.IsZero() {
			f.handled = true
			f.handlingS = int64(s.working(r.created, r.closed) / time.Second)
		}
	}
	return f
}

// day is the calendar date of t in Asia/Shanghai.
func (s *Store) day(t time.Time) string { return t.In(s.loc).Format(time.DateOnly) }

// working is the working time between a and b on the calendar, or the
// natural time without one.
func (s *Store) working(a, b time.Time) time.Duration {
	if s.calendar != nil {
		if c := s.calendar(); c != nil {
			return c.WorkingBetween(a, b)
		}
	}
	return b.Sub(a)
}

// The rollup keys.
type (
	flowKey   struct{ node, day, category string }
	statusKey struct{ node, day, category, status string }
	stateKey  struct {
		node, category, status, sla string
		supervised                  bool
	}
	sourceKey struct{ node, day, source string }
)

// flowVal are the counters of one rollup_flow row.
type flowVal struct {
	reports, closed, onTime, rated, satisfied, starsN, starsSum, handled, handlingS int64
	firstDue, firstMet, reworked, returned                                          int64
}

func (v flowVal) plus(w flowVal, sign int64) flowVal {
	return flowVal{v.reports + sign*w.reports, v.closed + sign*w.closed, v.onTime + sign*w.onTime, v.rated + sign*w.rated,
		v.satisfied + sign*w.satisfied, v.starsN + sign*w.starsN, v.starsSum + sign*w.starsSum, v.handled + sign*w.handled,
		v.handlingS + sign*w.handlingS, v.firstDue + sign*w.firstDue, v.firstMet + sign*w.firstMet, v.reworked + sign*w.reworked,
		v.returned + sign*w.returned}
}

// args are the row's counters in the order of flowCounters.
func (v flowVal) args() []any {
	return []any{v.reports, v.closed, v.onTime, v.rated, v.satisfied, v.starsN, v.starsSum, v.handled, v.handlingS,
		v.firstDue, v.firstMet, v.reworked, v.returned}
}

// ptrs are pointers to the row's counters in the order of flowCounters,
// for Scan.
func (v *flowVal) ptrs() []any {
	return []any{&v.reports, &v.closed, &v.onTime, &v.rated, &v.satisfied, &v.starsN, &v.starsSum, &v.handled, &v.handlingS,
		&v.firstDue, &v.firstMet, &v.reworked, &v.returned}
}

func (v flowVal) zero() bool { return v == flowVal{} }

func (v flowVal) negative() bool {
	return v.reports < 0 || v.closed < 0 || v.onTime < 0 || v.rated < 0 || v.satisfied < 0 || v.starsN < 0 || v.starsSum < 0 ||
		v.handled < 0 || v.handlingS < 0 || v.firstDue < 0 || v.firstMet < 0 || v.reworked < 0 || v.returned < 0
}

func (v flowVal) String() string {
	return "reports=" + itoa(v.reports) + " closed=" + itoa(v.closed) + " on_time=" + itoa(v.onTime) + " rated=" + itoa(v.rated) +
		" satisfied=" + itoa(v.satisfied) + " stars_n=" + itoa(v.starsN) + " stars_sum=" + itoa(v.starsSum) +
		" handled=" + itoa(v.handled) + " handling_s=" + itoa(v.handlingS) + " first_due=" + itoa(v.firstDue) +
		" first_met=" + itoa(v.firstMet) + " reworked=" + itoa(v.reworked) + " returned=" + itoa(v.returned)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// The parts of a case's contribution.
const (
	partFlow = 1 << iota
	partStatus
	partState
	partSource
	partAll = partFlow | partStatus | partState | partSource
)

// counts are rollup counters keyed by row: a difference to apply, or a
// node's recomputed rows.
type counts struct {
	flow   map[flowKey]flowVal
	status map[statusKey]int64
	state  map[stateKey]int64
	source map[sourceKey]int64
}

func newCounts() *counts {
	return &counts{flow: map[flowKey]flowVal{}, status: map[statusKey]int64{}, state: map[stateKey]int64{}, source: map[sourceKey]int64{}}
}

// add adds sign times the parts of f's contribution, to every node on its
// path and, but for rollup_state, to its department's pseudo-node.
func (c *counts) add(f *facts, sign int64, parts int) {
	for _, node := range region.PathCodes(f.path) {
		c.addNode(node, f, sign, parts)
	}
	if f.dept != 0 && parts&^partState != 0 {
		c.addNode(DepartmentNode(f.dept), f, sign, parts&^partState)
	}
}

// deptPrefix starts the node of a department's pseudo-node; region codes
// are digits, so the two never meet.
const deptPrefix = "dept:"

// DepartmentNode is the rollup node of a department: the flow, status and
// source counts of the cases it handles (the department they are assigned
// to now), wherever they lie. rollup_state, the open cases as they stand,
// has no department rows.
func DepartmentNode(id int64) string { return deptPrefix + itoa(id) }

// addNode adds f's contribution to one node.
func (c *counts) addNode(node string, f *facts, sign int64, parts int) {
	if parts&partFlow != 0 {
		k := flowKey{node, f.created, f.category}
		c.flow[k] = c.flow[k].plus(flowVal{reports: 1}, sign)
		if f.closedDay != "" {
			k := flowKey{node, f.closedDay, f.category}
			c.flow[k] = c.flow[k].plus(flowVal{closed: 1, onTime: b2i(f.onTime), rated: b2i(f.rated), satisfied: b2i(f.satisfied),
				starsN: b2i(f.stars > 0), starsSum: int64(f.stars), handled: b2i(f.handled), handlingS: f.handlingS,
				firstDue: b2i(f.firstDue), firstMet: b2i(f.firstMet), reworked: b2i(f.reworked), returned: b2i(f.returned)}, sign)
		}
	}
	if parts&partStatus != 0 {
		c.status[statusKey{node, f.created, f.category, f.status}] += sign
	}
	if parts&partState != 0 {
		c.state[stateKey{node, f.category, f.status, f.sla, f.supervised}] += sign
	}
	if parts&partSource != 0 {
		c.source[sourceKey{node, f.created, f.source}] += sign
	}
}

// merge adds the rows of o, another node's, to c's rows of node.
func (c *counts) merge(node string, o *counts) {
	for k, v := range o.flow {
		k.node = node
		c.flow[k] = c.flow[k].plus(v, 1)
	}
	for k, v := range o.status {
		k.node = node
		c.status[k] += v
	}
	for k, v := range o.state {
		k.node = node
		c.state[k] += v
	}
	for k, v := range o.source {
		k.node = node
		c.source[k] += v
	}
}

// addAll adds every row of o to c.
func (c *counts) addAll(o *counts) {
	for k, v := range o.flow {
		c.flow[k] = c.flow[k].plus(v, 1)
	}
	for k, v := range o.status {
		c.status[k] += v
	}
	for k, v := range o.state {
		c.state[k] += v
	}
	for k, v := range o.source {
		c.source[k] += v
	}
}

// pending gathers the differences of a transaction's case changes, so that
// a group-committed batch updates each rollup row once (the batch's cases
// share their district, street and often community and day).
type pending struct{ c *counts }

// Flush implements db.Deferred.
func (p *pending) Flush(ctx context.Context, tx *db.Tx) error { return apply(ctx, tx, p.c) }

type pendingKey struct{}

// applyLater adds d to the transaction's pending differences.
func applyLater(tx *db.Tx, d *counts) {
	p := tx.Defer(pendingKey{}, func() db.Deferred { return &pending{c: newCounts()} }).(*pending)
	p.c.addAll(d)
}

// addState adds sign to the rollup_state row of a case counted with the
// given status, SLA state and flag.
func (c *counts) addState(path, category string, m memory, sign int64) {
	f := facts{path: path, category: category, status: m.status, sla: m.sla, supervised: m.supervised}
	c.add(&f, sign, partState)
}

// prune drops the keys whose difference is zero.
func (c *counts) prune() {
	isZero := func(n int64) bool { return n == 0 }
	deleteIf(c.flow, flowVal.zero)
	deleteIf(c.status, isZero)
	deleteIf(c.state, isZero)
	deleteIf(c.source, isZero)
}

func deleteIf[K comparable, V any](m map[K]V, drop func(V) bool) {
	for k, v := range m {
		if drop(v) {
			delete(m, k)
		}
	}
}

// sortedKeys returns m's keys in a fixed order, so that concurrent
// transactions lock rows in the same order (no deadlocks on PostgreSQL).
func sortedKeys[K comparable, V any](m map[K]V, cmpf func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmpf)
	return keys
}

func cmpFlow(a, b flowKey) int {
	return cmp.Or(cmp.Compare(a.node, b.node), cmp.Compare(a.day, b.day), cmp.Compare(a.category, b.category))
}

func cmpStatus(a, b statusKey) int {
	return cmp.Or(cmp.Compare(a.node, b.node), cmp.Compare(a.day, b.day), cmp.Compare(a.category, b.category), cmp.Compare(a.status, b.status))
}

func cmpState(a, b stateKey) int {
	return cmp.Or(cmp.Compare(a.node, b.node), cmp.Compare(a.category, b.category), cmp.Compare(a.status, b.status),
		cmp.Compare(a.sla, b.sla), cmp.Compare(b2i(a.supervised), b2i(b.supervised)))
}

func cmpSource(a, b sourceKey) int {
	return cmp.Or(cmp.Compare(a.node, b.node), cmp.Compare(a.day, b.day), cmp.Compare(a.source, b.source))
}

// maxRows bounds the rows of one multi-row statement (SQLite allows 32766
// parameters, PostgreSQL 65535).
const maxRows = 500

// upsert writes rows of width columns in statements of at most maxRows:
// head is "INSERT INTO t (cols) VALUES", tail the ON CONFLICT clause.
func upsert(ctx context.Context, tx *db.Tx, head, tail string, width int, args []any) error {
	rows := len(args) / width
	for start := 0; start < rows; start += maxRows {
		end := min(start+maxRows, rows)
		q := head + " " + db.Placeholders(tx.Dialect(), end-start, width) + " " + tail
		if _, err := tx.Exec(ctx, q, args[start*width:end*width]...); err != nil {
			return err
		}
	}
	return nil
}

// deleteKeys deletes the rows of table whose key columns match one of
// keys (each of len(cols) values) and that satisfy extra ("" for none).
func deleteKeys(ctx context.Context, tx *db.Tx, table string, cols []string, extra string, keys []any) error {
	width := len(cols)
	rows := len(keys) / width
	for start := 0; start < rows; start += maxRows {
		end := min(start+maxRows, rows)
		var b strings.Builder
		b.WriteString("DELETE FROM " + table + " WHERE ")
		if extra != "" {
			b.WriteString(extra + " AND ")
		}
		b.WriteByte('(')
		n := 0
		for i := start; i < end; i++ {
			if i > start {
				b.WriteString(" OR ")
			}
			b.WriteByte('(')
			for j, c := range cols {
				if j > 0 {
					b.WriteString(" AND ")
				}
				n++
				b.WriteString(c + " = " + db.Param(tx.Dialect(), n))
			}
			b.WriteByte(')')
		}
		b.WriteByte(')')
		if _, err := tx.Exec(ctx, b.String(), keys[start*width:end*width]...); err != nil {
			return err
		}
	}
	return nil
}

// flowZeroSQL is true for a rollup_flow row whose counters are all zero.
var flowZeroSQL = strings.Join(flowCounters, " = 0 AND ") + " = 0"

// flowCounters are rollup_flow's counter columns, in the order of
// flowVal.args.
var flowCounters = []string{"reports", "closed", "on_time", "rated", "satisfied", "stars_n", "stars_sum", "handled", "handling_s",
	"first_due", "first_met", "reworked", "returned"}

// flowWidth is the number of columns of a rollup_flow row.
var flowWidth = 3 + len(flowCounters)

var flowCols = "node, day, category, " + strings.Join(flowCounters, ", ")

const (
	statusCols = "node, day, category, status, n"
	stateCols  = "node, category, status, sla_state, supervised, n"
	sourceCols = "node, day, source, n"
)

// flowSet is the ON CONFLICT clause of rollup_flow: add (delta) or
// replace (rebuild).
func flowSet(add bool) string {
	var parts []string
	for _, c := range flowCounters {
		if add {
			parts = append(parts, c+" = rollup_flow."+c+" + excluded."+c)
		} else {
			parts = append(parts, c+" = excluded."+c)
		}
	}
	return "ON CONFLICT (node, day, category) DO UPDATE SET " + strings.Join(parts, ", ")
}

func nSet(table, conflict string, add bool) string {
	if add {
		return "ON CONFLICT (" + conflict + ") DO UPDATE SET n = " + table + ".n + excluded.n"
	}
	return "ON CONFLICT (" + conflict + ") DO UPDATE SET n = excluded.n"
}

// apply adds a difference to the stored rollups and deletes the rows it
// brings to zero.
func apply(ctx context.Context, tx *db.Tx, d *counts) error {
	d.prune()
	if len(d.flow) > 0 {
		var args, zero []any
		for _, k := range sortedKeys(d.flow, cmpFlow) {
			v := d.flow[k]
			args = append(append(args, k.node, k.day, k.category), v.args()...)
			if v.negative() {
				zero = append(zero, k.node, k.day, k.category)
			}
		}
		if err := upsert(ctx, tx, "INSERT INTO rollup_flow ("+flowCols+") VALUES", flowSet(true), flowWidth, args); err != nil {
			return err
		}
		if len(zero) > 0 {
			if err := deleteKeys(ctx, tx, "rollup_flow", []string{"node", "day", "category"},
				flowZeroSQL, zero); err != nil {
				return err
			}
		}
	}
	if len(d.status) > 0 {
		var args, zero []any
		for _, k := range sortedKeys(d.status, cmpStatus) {
			n := d.status[k]
			args = append(args, k.node, k.day, k.category, k.status, n)
			if n < 0 {
				zero = append(zero, k.node, k.day, k.category, k.status)
			}
		}
		if err := upsert(ctx, tx, "INSERT INTO rollup_status ("+statusCols+") VALUES", nSet("rollup_status", "node, day, category, status", true), 5, args); err != nil {
			return err
		}
		if len(zero) > 0 {
			if err := deleteKeys(ctx, tx, "rollup_status", []string{"node", "day", "category", "status"}, "n = 0", zero); err != nil {
				return err
			}
		}
	}
	if len(d.state) > 0 {
		var args, zero []any
		for _, k := range sortedKeys(d.state, cmpState) {
			n := d.state[k]
			args = append(args, k.node, k.category, k.status, k.sla, b2i(k.supervised), n)
			if n < 0 {
				zero = append(zero, k.node, k.category, k.status, k.sla, b2i(k.supervised))
			}
		}
		if err := upsert(ctx, tx, "INSERT INTO rollup_state ("+stateCols+") VALUES",
			nSet("rollup_state", "node, category, status, sla_state, supervised", true), 6, args); err != nil {
			return err
		}
		if len(zero) > 0 {
			if err := deleteKeys(ctx, tx, "rollup_state", []string{"node", "category", "status", "sla_state", "supervised"}, "n = 0", zero); err != nil {
				return err
			}
		}
	}
	if len(d.source) > 0 {
		var args, zero []any
		for _, k := range sortedKeys(d.source, cmpSource) {
			n := d.source[k]
			args = append(args, k.node, k.day, k.source, n)
			if n < 0 {
				zero = append(zero, k.node, k.day, k.source)
			}
		}
		if err := upsert(ctx, tx, "INSERT INTO rollup_source ("+sourceCols+") VALUES", nSet("rollup_source", "node, day, source", true), 4, args); err != nil {
			return err
		}
		if len(zero) > 0 {
			if err := deleteKeys(ctx, tx, "rollup_source", []string{"node", "day", "source"}, "n = 0", zero); err != nil {
				return err
			}
		}
	}
	return nil
}
