package stats

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/region"
)

// Difference is one stored rollup row that disagrees with the
// recomputation from the cases.
type Difference struct {
	Table string
	Key   string
	// Stored and Computed render the counters; "" means no row.
	Stored   string
	Computed string
}

func (d Difference) String() string {
	st, co := d.Stored, d.Computed
	if st == "" {
		st = "(none)"
	}
	if co == "" {
		co = "(none)"
	}
	return fmt.Sprintf("%s %s: stored %s, computed %s", d.Table, d.Key, st, co)
}

// RebuildOptions tune Rebuild.
type RebuildOptions struct {
	// Report receives every difference found, in a stable order; nil drops
	// them (the report still counts them).
	Report func(Difference)
	// DryRun compares without writing.
	DryRun bool
	// Progress, when set, is told how many cases have been read of how
	// many, after each batch.
	Progress func(done, total int64)
	// BatchSize is the number of cases read per query (default 5000).
	BatchSize int
}

// RebuildReport says what Rebuild found.
type RebuildReport struct {
	Cases       int64            // cases read
	Nodes       int              // region nodes compared
	Rows        int64            // rollup rows recomputed
	Differences int64            // stored rows that differed
	ByTable     map[string]int64 // differences per table
	Elapsed     time.Duration
}

func (r RebuildReport) String() string {
	var parts []string
	for _, t := range []string{"rollup_flow", "rollup_status", "rollup_state", "rollup_source", "rollup_open_cases"} {
		if n := r.ByTable[t]; n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", t, n))
		}
	}
	detail := ""
	if len(parts) > 0 {
		detail = " (" + strings.Join(parts, ", ") + ")"
	}
	return fmt.Sprintf("%d cases, %d nodes, %d rows recomputed, %d differences%s in %s",
		r.Cases, r.Nodes, r.Rows, r.Differences, detail, r.Elapsed.Round(time.Millisecond))
}

// rebuilder is the state of one rebuild.
type rebuilder struct {
	s       *Store
	tx      *db.Tx
	opt     RebuildOptions
	rep     RebuildReport
	acc     map[string]*counts // node → recomputed rows, along one branch
	stack   []string           // codes of the branch being read, root first
	parent  map[string]string  // node → the node above it on the branch
	visited map[string]bool
	open    map[int64]memory
	// depts are the departments' pseudo-nodes, whose cases lie anywhere:
	// they are kept for the whole rebuild (departments × days ×
	// categories) and compared at the end.
	depts map[string]*counts
	total int64
	// none is true when no rollup row is stored (a first build): there is
	// nothing to read back per node.
	none bool
}

// Rebuild recomputes every rollup from the cases, reports each stored row
// that differs and, unless DryRun, replaces it, in one transaction. On
// PostgreSQL it locks the rollup tables against writes for its duration
// (case changes wait; readers do not); on SQLite it holds the write lock.
// Memory stays bounded by one branch of the region tree: the cases are
// read grid by grid in region-path order and each node's rows are compared
// and written as soon as its subtree has been read.
func (s *Store) Rebuild(ctx context.Context, opt RebuildOptions) (rep RebuildReport, err error) {
	defer errs.Wrapf(&err, "stats.Rebuild")
	start := time.Now()
	if opt.BatchSize <= 0 {
		opt.BatchSize = 5000
	}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		b := &rebuilder{s: s, tx: tx, opt: opt, acc: map[string]*counts{}, parent: map[string]string{}, visited: map[string]bool{}, open: map[int64]memory{},
			depts: map[string]*counts{}, rep: RebuildReport{ByTable: map[string]int64{}}}
		if err := b.run(ctx); err != nil {
			return err
		}
		rep = b.rep
		return nil
	})
	rep.Elapsed = time.Since(start)
	return rep, err
}

func (b *rebuilder) run(ctx context.Context) error {
	tx := b.tx
	if tx.Dialect() == db.Postgres {
		if _, err := tx.Exec(ctx, `LOCK TABLE rollup_flow, rollup_status, rollup_state, rollup_source, rollup_open_cases IN EXCLUSIVE MODE`); err != nil {
			return err
		}
	}
	restore, err := BigCache(ctx, tx)
	if err != nil {
		return err
	}
	defer restore(tx)
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM cases`).Scan(&b.total); err != nil {
		return db.Translate(err)
	}
	var stored int
	if err := tx.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM rollup_flow LIMIT 1) a) + (SELECT COUNT(*) FROM (SELECT 1 FROM rollup_status LIMIT 1) b)
		+ (SELECT COUNT(*) FROM (SELECT 1 FROM rollup_state LIMIT 1) c) + (SELECT COUNT(*) FROM (SELECT 1 FROM rollup_source LIMIT 1) d)`).Scan(&stored); err != nil {
		return db.Translate(err)
	}
	b.none = stored == 0
	paths, err := b.paths(ctx)
	if err != nil {
		return err
	}
	for _, p := range paths {
		if err := b.enter(ctx, region.PathCodes(p)); err != nil {
			return err
		}
		if err := b.read(ctx, p); err != nil {
			return err
		}
	}
	if err := b.enter(ctx, nil); err != nil {
		return err
	}
	for _, dn := range sortedKeys(b.depts, strings.Compare) {
		b.visited[dn] = true
		b.acc[dn] = b.depts[dn]
		if err := b.flush(ctx, dn); err != nil {
			return err
		}
	}
	if b.rep.Cases != b.total {
		return fmt.Errorf("read %d cases of %d: cases changed during the rebuild", b.rep.Cases, b.total)
	}
	if err := b.leftovers(ctx); err != nil {
		return err
	}
	return b.memories(ctx)
}

// paths lists the distinct region paths of the cases (their grids), in
// byte order, so that every node's subtree is read in one stretch.
func (b *rebuilder) paths(ctx context.Context) ([]string, error) {
	rows, err := b.tx.Query(ctx, `SELECT DISTINCT region_path FROM cases ORDER BY region_path`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(out) // byte order whatever the database's collation
	return out, nil
}

// enter moves the branch to codes: the nodes of the old branch that are
// not on the new one have been read completely and are flushed, deepest
// first.
func (b *rebuilder) enter(ctx context.Context, codes []string) error {
	common := 0
	for common < len(codes) && common < len(b.stack) && codes[common] == b.stack[common] {
		common++
	}
	for i := len(b.stack) - 1; i >= common; i-- {
		if err := b.flush(ctx, b.stack[i]); err != nil {
			return err
		}
	}
	b.stack = append(b.stack[:common], codes[common:]...)
	for i := common; i < len(codes); i++ {
		c := codes[i]
		if b.visited[c] {
			return fmt.Errorf("region %s appears in two stretches of the case paths", c)
		}
		b.visited[c] = true
		b.acc[c] = newCounts()
		if i > 0 {
			b.parent[c] = codes[i-1]
		}
	}
	return nil
}

// read adds the cases of one region path to its deepest node (the grid);
// flush passes each node's counts up to its parent.
func (b *rebuilder) read(ctx context.Context, path string) error {
	codes := region.PathCodes(path)
	leaf := codes[len(codes)-1]
	acc := b.acc[leaf]
	var after int64
	for {
		rows, err := b.tx.Query(ctx, `SELECT `+rowCols()+` FROM cases c WHERE c.region_path = $1 AND c.id > $2 ORDER BY c.id LIMIT $3`,
			path, after, b.opt.BatchSize)
		if err != nil {
			return err
		}
		n := 0
		for rows.Next() {
			r, err := scanRow(rows)
			if err != nil {
				rows.Close()
				return err
			}
			n++
			after = r.id
			f := b.s.factsOf(r)
			acc.addNode(leaf, &f, +1, partAll)
			if f.dept != 0 {
				dn := DepartmentNode(f.dept)
				if b.depts[dn] == nil {
					b.depts[dn] = newCounts()
				}
				b.depts[dn].addNode(dn, &f, +1, partAll&^partState)
			}
			if isOpen(f.status) {
				b.open[r.id] = memoryOf(&f)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		b.rep.Cases += int64(n)
		if b.opt.Progress != nil && n > 0 {
			b.opt.Progress(b.rep.Cases, b.total)
		}
		if n < b.opt.BatchSize {
			return nil
		}
	}
}

// leftovers compares the nodes that have stored rows but no cases.
func (b *rebuilder) leftovers(ctx context.Context) error {
	var nodes []string
	for _, t := range []string{"rollup_flow", "rollup_status", "rollup_state", "rollup_source"} {
		rows, err := b.tx.Query(ctx, `SELECT DISTINCT node FROM `+t)
		if err != nil {
			return err
		}
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			if !b.visited[n] {
				b.visited[n] = true
				nodes = append(nodes, n)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	slices.Sort(nodes)
	for _, n := range nodes {
		b.acc[n] = newCounts()
		if err := b.flush(ctx, n); err != nil {
			return err
		}
	}
	return nil
}

// stored reads a node's rollup rows.
func (b *rebuilder) stored(ctx context.Context, node string) (*counts, error) {
	c := newCounts()
	if b.none {
		return c, nil
	}
	tx := b.tx
	rows, err := tx.Query(ctx, `SELECT day, category, `+strings.Join(flowCounters, ", ")+` FROM rollup_flow WHERE node = $1`, node)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		k := flowKey{node: node}
		var v flowVal
		if err := rows.Scan(append([]any{&k.day, &k.category}, v.ptrs()...)...); err != nil {
			rows.Close()
			return nil, err
		}
		c.flow[k] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT day, category, status, n FROM rollup_status WHERE node = $1`, node)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		k := statusKey{node: node}
		var n int64
		if err := rows.Scan(&k.day, &k.category, &k.status, &n); err != nil {
			rows.Close()
			return nil, err
		}
		c.status[k] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT category, status, sla_state, supervised, n FROM rollup_state WHERE node = $1`, node)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		k := stateKey{node: node}
		var n int64
		if err := rows.Scan(&k.category, &k.status, &k.sla, &k.supervised, &n); err != nil {
			rows.Close()
			return nil, err
		}
		c.state[k] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT day, source, n FROM rollup_source WHERE node = $1`, node)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		k := sourceKey{node: node}
		var n int64
		if err := rows.Scan(&k.day, &k.source, &n); err != nil {
			rows.Close()
			return nil, err
		}
		c.source[k] = n
	}
	rows.Close()
	return c, rows.Err()
}

func (b *rebuilder) differ(table, key, stored, computed string) {
	b.rep.Differences++
	b.rep.ByTable[table]++
	if b.opt.Report != nil {
		b.opt.Report(Difference{Table: table, Key: key, Stored: stored, Computed: computed})
	}
}

// compare reports the keys of one table where stored and computed differ
// and returns them: the ones to write and the ones to delete.
func compare[K comparable, V comparable](b *rebuilder, table string, stored, computed map[K]V, cmpf func(a, b K) int,
	key func(K) string, val func(V) string) (write, del []K) {
	keys := map[K]bool{}
	for k := range stored {
		keys[k] = true
	}
	for k := range computed {
		keys[k] = true
	}
	for _, k := range sortedKeys(keys, cmpf) {
		sv, sok := stored[k]
		cv, cok := computed[k]
		switch {
		case sok && cok && sv == cv:
			continue
		case !cok:
			b.differ(table, key(k), val(sv), "")
			del = append(del, k)
		case !sok:
			b.differ(table, key(k), "", val(cv))
			write = append(write, k)
		default:
			b.differ(table, key(k), val(sv), val(cv))
			write = append(write, k)
		}
	}
	return write, del
}

func nStr(n int64) string { return "n=" + itoa(n) }

// flush compares one node's recomputed rows with the stored ones and
// writes the differences.
func (b *rebuilder) flush(ctx context.Context, node string) error {
	c := b.acc[node]
	delete(b.acc, node)
	if p, ok := b.parent[node]; ok {
		b.acc[p].merge(p, c)
		delete(b.parent, node)
	}
	b.rep.Nodes++
	b.rep.Rows += int64(len(c.flow) + len(c.status) + len(c.state) + len(c.source))
	st, err := b.stored(ctx, node)
	if err != nil {
		return err
	}
	fw, fd := compare(b, "rollup_flow", st.flow, c.flow, cmpFlow,
		func(k flowKey) string { return "node=" + k.node + " day=" + k.day + " category=" + k.category }, flowVal.String)
	sw, sd := compare(b, "rollup_status", st.status, c.status, cmpStatus,
		func(k statusKey) string {
			return "node=" + k.node + " day=" + k.day + " category=" + k.category + " status=" + k.status
		}, nStr)
	tw, td := compare(b, "rollup_state", st.state, c.state, cmpState,
		func(k stateKey) string {
			return "node=" + k.node + " category=" + k.category + " status=" + k.status + " sla_state=" + k.sla +
				" supervised=" + itoa(b2i(k.supervised))
		}, nStr)
	ow, od := compare(b, "rollup_source", st.source, c.source, cmpSource,
		func(k sourceKey) string { return "node=" + k.node + " day=" + k.day + " source=" + k.source }, nStr)
	if b.opt.DryRun {
		return nil
	}
	tx := b.tx
	if len(fd) > 0 {
		var keys []any
		for _, k := range fd {
			keys = append(keys, k.node, k.day, k.category)
		}
		if err := deleteKeys(ctx, tx, "rollup_flow", []string{"node", "day", "category"}, "", keys); err != nil {
			return err
		}
	}
	if len(fw) > 0 {
		var args []any
		for _, k := range fw {
			v := c.flow[k]
			args = append(append(args, k.node, k.day, k.category), v.args()...)
		}
		if err := upsert(ctx, tx, "INSERT INTO rollup_flow ("+flowCols+") VALUES", flowSet(false), flowWidth, args); err != nil {
			return err
		}
	}
	if len(sd) > 0 {
		var keys []any
		for _, k := range sd {
			keys = append(keys, k.node, k.day, k.category, k.status)
		}
		if err := deleteKeys(ctx, tx, "rollup_status", []string{"node", "day", "category", "status"}, "", keys); err != nil {
			return err
		}
	}
	if len(sw) > 0 {
		var args []any
		for _, k := range sw {
			args = append(args, k.node, k.day, k.category, k.status, c.status[k])
		}
		if err := upsert(ctx, tx, "INSERT INTO rollup_status ("+statusCols+") VALUES", nSet("rollup_status", "node, day, category, status", false), 5, args); err != nil {
			return err
		}
	}
	if len(td) > 0 {
		var keys []any
		for _, k := range td {
			keys = append(keys, k.node, k.category, k.status, k.sla, b2i(k.supervised))
		}
		if err := deleteKeys(ctx, tx, "rollup_state", []string{"node", "category", "status", "sla_state", "supervised"}, "", keys); err != nil {
			return err
		}
	}
	if len(tw) > 0 {
		var args []any
		for _, k := range tw {
			args = append(args, k.node, k.category, k.status, k.sla, b2i(k.supervised), c.state[k])
		}
		if err := upsert(ctx, tx, "INSERT INTO rollup_state ("+stateCols+") VALUES",
			nSet("rollup_state", "node, category, status, sla_state, supervised", false), 6, args); err != nil {
			return err
		}
	}
	if len(od) > 0 {
		var keys []any
		for _, k := range od {
			keys = append(keys, k.node, k.day, k.source)
		}
		if err := deleteKeys(ctx, tx, "rollup_source", []string{"node", "day", "source"}, "", keys); err != nil {
			return err
		}
	}
	if len(ow) > 0 {
		var args []any
		for _, k := range ow {
			args = append(args, k.node, k.day, k.source, c.source[k])
		}
		if err := upsert(ctx, tx, "INSERT INTO rollup_source ("+sourceCols+") VALUES", nSet("rollup_source", "node, day, source", false), 4, args); err != nil {
			return err
		}
	}
	return nil
}

// memories compares and replaces what each open case is remembered with.
func (b *rebuilder) memories(ctx context.Context) error {
	stored := map[int64]memory{}
	rows, err := b.tx.Query(ctx, `SELECT case_id, status, sla_state, supervised FROM rollup_open_cases`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var id int64
		var m memory
		if err := rows.Scan(&id, &m.status, &m.sla, &m.supervised); err != nil {
			rows.Close()
			return err
		}
		stored[id] = m
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	show := func(m memory) string {
		return "status=" + m.status + " sla_state=" + m.sla + " supervised=" + itoa(b2i(m.supervised))
	}
	write, del := compare(b, "rollup_open_cases", stored, b.open, cmp.Compare[int64],
		func(id int64) string { return "case_id=" + itoa(id) }, show)
	if b.opt.DryRun {
		return nil
	}
	if len(del) > 0 {
		keys := make([]any, len(del))
		for i, id := range del {
			keys[i] = id
		}
		if err := deleteKeys(ctx, b.tx, "rollup_open_cases", []string{"case_id"}, "", keys); err != nil {
			return err
		}
	}
	if len(write) > 0 {
		var args []any
		for _, id := range write {
			m := b.open[id]
			args = append(args, id, m.status, m.sla, b2i(m.supervised))
		}
		if err := upsert(ctx, b.tx, "INSERT INTO rollup_open_cases (case_id, status, sla_state, supervised) VALUES",
			"ON CONFLICT (case_id) DO UPDATE SET status = excluded.status, sla_state = excluded.sla_state, supervised = excluded.supervised", 4, args); err != nil {
			return err
		}
	}
	return nil
}

// BigCache gives SQLite's writer connection a page cache of 64 MiB and
// in-memory statement journals for a bulk job and returns the function
// that puts the previous settings back, in this or a later transaction
// (SQLite has one writer connection). It does nothing on PostgreSQL.
func BigCache(ctx context.Context, tx *db.Tx) (restore func(*db.Tx), err error) {
	if tx.Dialect() != db.SQLite {
		return func(*db.Tx) {}, nil
	}
	var size, temp int64
	if err := tx.QueryRow(ctx, `PRAGMA cache_size`).Scan(&size); err != nil {
		return nil, db.Translate(err)
	}
	if err := tx.QueryRow(ctx, `PRAGMA temp_store`).Scan(&temp); err != nil {
		return nil, db.Translate(err)
	}
	if _, err := tx.Exec(ctx, `PRAGMA cache_size = -65536`); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, `PRAGMA temp_store = MEMORY`); err != nil {
		return nil, err
	}
	return func(tx *db.Tx) {
		_, _ = tx.Exec(context.Background(), `PRAGMA cache_size = `+itoa(size))
		_, _ = tx.Exec(context.Background(), `PRAGMA temp_store = `+itoa(temp))
	}, nil
}

// EnsureBuilt rebuilds the rollups when cases exist but the rollups are
// empty: an installation that had cases before the rollups did. Call it at
// start-up, before serving.
func (s *Store) EnsureBuilt(ctx context.Context, progress func(done, total int64)) (built bool, err error) {
	defer errs.Wrapf(&err, "stats.Store.EnsureBuilt")
	var cases, rolled int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM cases LIMIT 1) x`).Scan(&cases); err != nil {
		return false, db.Translate(err)
	}
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM rollup_state LIMIT 1) x`).Scan(&rolled); err != nil {
		return false, db.Translate(err)
	}
	if cases == 0 || rolled > 0 {
		return false, nil
	}
	_, err = s.Rebuild(ctx, RebuildOptions{Progress: progress})
	return err == nil, err
}
