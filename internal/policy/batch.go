package policy

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/feed"
	"whistle/internal/registry"
)

// Letters of a packed result: one byte per policy of a run.
const (
	letterEligible = 'E'
	letterNot      = 'N'
	letterMay      = 'M'
	letterNone     = '-' // the policy does not target this kind of subject
)

func letterOf(result string) byte {
	switch result {
	case Eligible:
		return letterEligible
	case NotEligible:
		return letterNot
	}
	return letterMay
}

// Table is a columnar snapshot of subjects for the batch: each field's
// values dictionary-encoded (code 0 is unknown), so that a policy is
// evaluated once per distinct tuple of the fields it reads.
type Table struct {
	Kind  string
	IDs   []int64
	Paths []string
	cols  map[string]*column
	// sizeHint is how many subjects the table is expected to hold
	// (NewTableSized): each column's codes are made that large at once.
	sizeHint int
}

type column struct {
	codes []uint32
	dict  []any // dict[0] is nil: unknown
	index map[any]uint32
}

// NewTable returns an empty table of subjects of a kind.
func NewTable(kind string) *Table { return NewTableSized(kind, 0) }

// NewTableSized returns an empty table of subjects of a kind made for
// about n subjects, which it may exceed.
func NewTableSized(kind string, n int) *Table {
	n = max(0, min(n, 1<<22)) // a hint from an id span: sparse ids overstate it
	return &Table{Kind: kind, cols: map[string]*column{}, sizeHint: n, IDs: make([]int64, 0, n), Paths: make([]string, 0, n)}
}

// Len is the number of subjects.
func (t *Table) Len() int { return len(t.IDs) }

// Add appends a subject with its known values (keys of undeclared fields
// and mistyped values are unknown).
func (t *Table) Add(id int64, path string, values map[string]any) {
	n := len(t.IDs)
	t.IDs = append(t.IDs, id)
	t.Paths = append(t.Paths, path)
	target := t.Kind
	if target == KindPerson {
		target = KindHousehold
	}
	fields := fieldIndexCached(target)
	for k, v := range values {
		f, ok := fields[k]
		if !ok {
			continue
		}
		cv, ok := coerce(f, v)
		if !ok {
			continue
		}
		c := t.cols[k]
		if c == nil {
			c = &column{codes: make([]uint32, 0, max(t.sizeHint, n+1)), dict: []any{nil}, index: map[any]uint32{}}
			t.cols[k] = c
		}
		if cap(c.codes) <= n {
			// Doubling: append grows a large slice by a quarter, and a
			// column of a million codes was copied some 4 times over.
			c.codes = append(make([]uint32, 0, 2*(n+1)), c.codes...)
		}
		if len(c.codes) < n {
			c.codes = c.codes[:n] // zeroed: unknown
		}
		key := cv
		if l, ok := cv.([]string); ok {
			key = "\x01" + strings.Join(l, "\x00") // a list is not comparable; ["a b"] and ["a", "b"] differ
		}
		code, ok := c.index[key]
		if !ok {
			code = uint32(len(c.dict))
			c.dict = append(c.dict, cv)
			c.index[key] = code
		}
		c.codes = append(c.codes, code)
	}
}

// pad gives every column a code for every subject.
func (t *Table) pad() {
	for _, c := range t.cols {
		if n := t.Len(); len(c.codes) < n {
			c.codes = append(c.codes, make([]uint32, n-len(c.codes))...)
		}
	}
}

var fieldCache = map[string]map[string]Field{
	KindPerson: fieldIndex(KindPerson), KindHousehold: fieldIndex(KindHousehold), KindOrganisation: fieldIndex(KindOrganisation),
}

func fieldIndexCached(target string) map[string]Field { return fieldCache[target] }

// memo evaluates one policy over a table with CEL once per distinct tuple
// of the fields each condition reads (ages, yes/no facts, bands: a few
// hundred tuples a condition, whatever the number of subjects), and
// combines the conditions' three values under the rule once per
// combination; the rest is array lookups. A memo belongs to one
// goroutine.
type memo struct {
	c     *compiled
	conds []condMemo
	// combo is the policy's letter per combination of its conditions'
	// values (base 3, the first condition most significant); 0 = not yet.
	combo     []byte
	perRecord bool // too many tuples or conditions to index: CEL per subject
	evals     int
}

// condMemo is one condition's memo: the codes of the fields it reads that
// some subject has (a field nobody has is unknown for all and adds
// nothing to the key), their dictionaries' sizes, and the condition's
// value per tuple: 1 pass, 2 fail, 3 unknown, 0 not yet evaluated.
type condMemo struct {
	cc    *ccond
	cols  [][]uint32
	radix []uint64
	dense []byte
	tuple map[uint64]byte
}

const (
	denseMax = 1 << 22
	// maxConds bounds the combinations table (3^12 = 531,441 bytes).
	maxConds = 12
)

func newMemo(c *compiled, t *Table) *memo {
	m := &memo{c: c}
	if len(c.conds) > maxConds {
		m.perRecord = true
		return m
	}
	n := 1
	for range c.conds {
		n *= 3
	}
	m.combo = make([]byte, n)
	for ci := range c.conds {
		cm := condMemo{cc: &c.conds[ci]}
		prod := uint64(1)
		for _, f := range cm.cc.reads {
			col := t.cols[f]
			if col == nil {
				continue
			}
			n := uint64(len(col.dict))
			if prod > (1<<63)/n {
				m.perRecord = true
				return m
			}
			cm.cols = append(cm.cols, col.codes)
			cm.radix = append(cm.radix, n)
			prod *= n
		}
		if prod <= denseMax {
			cm.dense = make([]byte, prod)
		} else {
			cm.tuple = map[uint64]byte{}
		}
		m.conds = append(m.conds, cm)
	}
	return m
}

// fill writes the letters of subjects lo to hi into buf (row stride,
// column p).
func (m *memo) fill(t *Table, lo, hi int, buf []byte, stride, p int) {
	if m.perRecord {
		for i := lo; i < hi; i++ {
			buf[i*stride+p] = m.eval(t, i)
		}
		return
	}
	for i := lo; i < hi; i++ {
		combo := 0
		for ci := range m.conds {
			cm := &m.conds[ci]
			var k uint64
			for j, c := range cm.cols {
				k = k*cm.radix[j] + uint64(c[i])
			}
			var v byte
			if cm.dense != nil {
				v = cm.dense[k]
			} else {
				v = cm.tuple[k]
			}
			if v == 0 {
				m.evals++
				v = condCode(threeValued(evalCEL(cm.cc.prg, cm.cc.reads, t.known(cm.cc.reads, i))))
				if cm.dense != nil {
					cm.dense[k] = v
				} else {
					cm.tuple[k] = v
				}
			}
			combo = combo*3 + int(v-1)
		}
		b := m.combo[combo]
		if b == 0 {
			b = m.combine(combo)
			m.combo[combo] = b
		}
		buf[i*stride+p] = b
	}
}

// condCode is a condition's value as a memo keeps it.
func condCode(v string) byte {
	switch v {
	case Pass:
		return 1
	case Fail:
		return 2
	}
	return 3
}

// combine is the policy's letter for a combination of its conditions'
// values.
func (m *memo) combine(combo int) byte {
	vals := make([]string, len(m.conds))
	for ci := len(vals) - 1; ci >= 0; ci-- {
		vals[ci] = [3]string{Pass, Fail, Unknown}[combo%3]
		combo /= 3
	}
	switch m.c.combine(m.c.v.Rule, vals, true) {
	case Pass:
		return letterEligible
	case Fail:
		return letterNot
	}
	return letterMay
}

// eval is CEL's answer for subject i: the oracle.
func (m *memo) eval(t *Table, i int) byte {
	m.evals++
	return letterOf(m.c.outcome(t.known(m.c.condReads, i)))
}

// known are subject i's known values of the fields.
func (t *Table) known(fields []string, i int) map[string]any {
	k := make(map[string]any, len(fields))
	for _, f := range fields {
		if c := t.cols[f]; c != nil && i < len(c.codes) {
			if code := c.codes[i]; code != 0 {
				k[f] = c.dict[code]
			}
		}
	}
	return k
}

// outcome is the overall result only (no explanations), for the batch.
func (c *compiled) outcome(known map[string]any) string {
	vals := make([]string, len(c.conds))
	for i, cc := range c.conds {
		vals[i] = threeValued(evalCEL(cc.prg, cc.reads, known))
	}
	switch c.combine(c.v.Rule, vals, true) {
	case Pass:
		return Eligible
	case Fail:
		return NotEligible
	}
	return MayBeEligible
}

// appliesTo reports whether a policy targets subjects of the table's kind.
func appliesTo(c *compiled, kind string) bool {
	switch kind {
	case KindPerson:
		return c.v.Target == KindPerson || c.v.Target == KindHousehold
	case KindOrganisation:
		return c.v.Target == KindOrganisation
	}
	return false
}

// block is how many subjects a worker takes at a time: their letters
// (block × policies bytes) stay in the core's cache while every policy
// writes its column.
const block = 4096

// EvaluateTable answers every policy for every subject of the table: one
// packed string per subject, one letter per policy (letterNone where the
// policy targets another kind), and the number of CEL evaluations the
// memos needed. The subjects are split between the cores, each with its
// own memos (CEL programs are safe to share).
func EvaluateTable(cs []*compiled, t *Table) ([][]byte, int) {
	return evaluateTable(cs, t, max(1, min(runtime.GOMAXPROCS(0), t.Len()/(4*block))), block)
}

// evaluateTable is EvaluateTable with the workers and the block size.
func evaluateTable(cs []*compiled, t *Table, workers, block int) ([][]byte, int) {
	t.pad()
	n, w := t.Len(), len(cs)
	buf := make([]byte, n*w)
	out := make([][]byte, n)
	for i := range out {
		out[i] = buf[i*w : (i+1)*w : (i+1)*w]
	}
	evals := make([]int, workers)
	var wg sync.WaitGroup
	for wk := range workers {
		lo, hi := n*wk/workers, n*(wk+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			memos := make([]*memo, w)
			for b := lo; b < hi; b += block {
				e := min(b+block, hi)
				for p, c := range cs {
					if !appliesTo(c, t.Kind) {
						for i := b; i < e; i++ {
							buf[i*w+p] = letterNone
						}
						continue
					}
					if memos[p] == nil {
						memos[p] = newMemo(c, t)
					}
					memos[p].fill(t, b, e, buf, w, p)
				}
			}
			for _, m := range memos {
				if m != nil {
					evals[wk] += m.evals
				}
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, e := range evals {
		total += e
	}
	return out, total
}

// runHeader is what elig_runs.policies holds: the policies of a run in
// the order of the packed letters.
type runHeader struct {
	Keys     []string `json:"keys"`
	Versions []int    `json:"versions"`
	at       time.Time
}

// Run evaluates every active policy (or those named) over the whole
// registry on the clock's date (China's), storing per subject the packed
// results; only the rows that changed since the last run are written.
func (e *Engine) Run(ctx context.Context, policies []string) (_ RunStats, err error) {
	defer errs.Wrapf(&err, "policy.Engine.Run")
	start := time.Now()
	date := chinaDate(e.db.Now())
	cs, err := e.active(ctx, date, nil, policies)
	if err != nil {
		return RunStats{}, err
	}
	for _, k := range policies {
		found := false
		for _, c := range cs {
			found = found || c.key == k
		}
		if !found {
			return RunStats{}, keyNotFound(k)
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].key < cs[j].key })
	st := RunStats{Policies: len(cs)}
	// Changes committed while the run reads and writes may be overwritten
	// by what it read before them: the events after this position are
	// re-checked once the run is stored. Those committed before it are
	// numbered first (PostgreSQL numbers them after their commit): the run
	// reads them, and re-checking them after would be work for nothing (a
	// whole registry's import, the first time).
	if err := feed.SequenceAll(ctx, e.db); err != nil {
		return st, err
	}
	from, err := feed.Last(ctx, e.db)
	if err != nil {
		return st, err
	}
	// The kinds load side by side, and the people in id ranges side by
	// side too: each is mostly the driver's work per row, on connections
	// of its own. A range is a table of its own, evaluated and stored
	// apart; ranges begin at a block's first id, so that no block
	// straddles two (store compares a range's blocks alone).
	parts, err := e.parts(ctx)
	if err != nil {
		return st, err
	}
	tables := make([]*Table, len(parts))
	for i, p := range parts {
		tables[i] = NewTableSized(p.kind, p.size)
	}
	phase := time.Now()
	var wg sync.WaitGroup
	loadErrs := make([]error, 2)
	for k, kind := range []string{KindPerson, KindOrganisation} {
		var bounds []int64
		var index []int
		for i, p := range parts {
			if p.kind == kind {
				bounds, index = append(bounds[:max(0, len(bounds)-1)], p.lo, p.hi), append(index, i)
			}
		}
		wg.Go(func() {
			loadErrs[k] = e.registry.EachFactSetIn(ctx, kind, date, bounds, func(part int, fs *registry.FactSet) error {
				tables[index[part]].Add(fs.ID, fs.RegionPath, fs.Values)
				return nil
			})
		})
	}
	wg.Wait()
	if err := errors.Join(loadErrs...); err != nil {
		return st, err
	}
	h := runHeader{}
	for _, c := range cs {
		h.Keys, h.Versions = append(h.Keys, c.key), append(h.Versions, c.v.Version)
	}
	hb, _ := json.Marshal(h)
	st.Load = time.Since(phase)
	var written int64
	for i, t := range tables {
		phase = time.Now()
		packed, evals := EvaluateTable(cs, t)
		st.Eval += time.Since(phase)
		st.CELEvals += evals
		for _, row := range packed {
			st.Eligible += int64(bytes.Count(row, []byte{letterEligible}))
		}
		st.Subjects += t.Len()
		for _, c := range cs {
			if appliesTo(c, t.Kind) {
				st.Evaluated += int64(t.Len())
			}
		}
		phase = time.Now()
		n, err := e.store(ctx, t, packed, parts[i].lo, parts[i].hi)
		st.Store += time.Since(phase)
		if err != nil {
			return st, err
		}
		written += n
	}
	st.Changed = written
	st.Took = time.Since(start)
	err = e.db.InTx(ctx, func(tx *db.Tx) error {
		if _, err := e.bumpOwnGen(ctx, tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO elig_runs (at, policies, evaluated, changed, took_ms) VALUES ($1, $2, $3, $4, $5)`,
			tx.Now(), string(hb), st.Evaluated, st.Changed, st.Took.Milliseconds())
		return db.Translate(err)
	})
	if err != nil {
		return st, err
	}
	return st, e.catchUp(ctx, from)
}

// catchUp re-checks the registry's events after position from.
func (e *Engine) catchUp(ctx context.Context, from int64) error {
	if err := feed.SequenceAll(ctx, e.db); err != nil {
		return err
	}
	for {
		evs, err := feed.Read(ctx, e.db, from, 1000)
		if err != nil || len(evs) == 0 {
			return err
		}
		if err := e.Recheck(ctx, evs); err != nil {
			return err
		}
		from = evs[len(evs)-1].Position
	}
}

// chinaDate is the calendar date in China at t, as midnight UTC.
func chinaDate(t time.Time) time.Time {
	c := t.In(time.FixedZone("CST", 8*3600))
	return time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, time.UTC)
}

// part is a range of subject ids [lo, hi) of a kind that a run loads,
// evaluates and stores as a table of its own.
type part struct {
	kind   string
	lo, hi int64
	size   int // the subjects expected, 0 unknown
}

// defaultSplitAt is how many people a run loads in one range at most
// before it splits them in two (Engine.splitAt): below it the second
// range's queries cost more than they save.
const defaultSplitAt = 20000

// parts are the ranges of a run: the organisations in one, the people in
// two halves of their ids (at a block's first id) when they are many.
func (e *Engine) parts(ctx context.Context) ([]part, error) {
	ps := []part{{KindPerson, math.MinInt64, math.MaxInt64, 0}, {KindOrganisation, math.MinInt64, math.MaxInt64, 0}}
	lo, hi, err := e.registry.PeopleIDSpan(ctx)
	if err != nil {
		return nil, err
	}
	// The ids' span stands for the count (ids are dense but for the
	// deleted): counting a million rows would cost a scan.
	ps[0].size = int(hi - lo + 1)
	if mid := (lo + (hi-lo)/2) &^ (1<<blockShift - 1); hi-lo+1 >= int64(e.splitAt) && mid > lo {
		ps = []part{{KindPerson, math.MinInt64, mid, int(mid - lo)}, {KindPerson, mid, math.MaxInt64, int(hi - mid + 1)}, ps[1]}
	}
	return ps, nil
}

// store writes the blocks of a table's results that differ from the
// stored ones in its range of ids [lo, hi) (a subject's letters or region changed, a subject new or
// gone from the registry), and returns how many subjects' results it
// wrote or removed. A block's encoding is a function of its entries, so
// a block whose bytes equal the stored ones is skipped without decoding;
// the writes go 100 blocks a statement, 1,000 a transaction.
func (e *Engine) store(ctx context.Context, t *Table, packed [][]byte, lo, hi int64) (int64, error) {
	type storedBlock struct {
		block int64
		data  []byte
	}
	var stored []storedBlock
	// On SQLite's writer connection: it wrote the blocks, so its cache
	// has their pages, where a reader's was emptied by the run's writes
	// (db.OnWriter); the read is short (the blocks are small and few).
	hiBlock := blockOf(hi)
	if hi == math.MaxInt64 {
		hiBlock = math.MaxInt64
	}
	rows, err := e.db.Query(db.OnWriter(ctx), `SELECT block, data FROM elig_blocks WHERE subject_kind = $1 AND block >= $2 AND block < $3 ORDER BY block`, t.Kind, blockOf(lo), hiBlock)
	if err != nil {
		return 0, db.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var b storedBlock
		if err := rows.Scan(&b.block, &b.data); err != nil {
			return 0, db.Translate(err)
		}
		stored = append(stored, b)
	}
	if err := rows.Err(); err != nil {
		return 0, db.Translate(err)
	}
	rows.Close()
	type write struct {
		block int64
		data  []byte // nil: delete the block
	}
	var writes []write
	var total int64
	i, si := 0, 0
	for i < len(t.IDs) || si < len(stored) {
		block := int64(math.MaxInt64)
		if i < len(t.IDs) {
			block = blockOf(t.IDs[i])
		}
		if si < len(stored) && stored[si].block < block {
			block = stored[si].block
		}
		var es []blockEntry
		for ; i < len(t.IDs) && blockOf(t.IDs[i]) == block; i++ {
			es = append(es, blockEntry{id: t.IDs[i], path: t.Paths[i], packed: string(packed[i])})
		}
		var old []byte
		if si < len(stored) && stored[si].block == block {
			old = stored[si].data
			si++
		}
		var data []byte
		if len(es) > 0 {
			if data, err = encodeBlock(es); err != nil {
				return 0, err
			}
		}
		if bytes.Equal(data, old) {
			continue
		}
		n, err := changedEntries(block, old, es)
		if err != nil {
			return 0, err
		}
		total += n
		writes = append(writes, write{block, data})
	}
	const perStmt, perTx = 100, 1000
	for len(writes) > 0 {
		batch := writes[:min(perTx, len(writes))]
		writes = writes[len(batch):]
		err := e.db.InTx(ctx, func(tx *db.Tx) error {
			if _, err := e.bumpOwnGen(ctx, tx); err != nil {
				return err
			}
			var args []any
			flush := func() error {
				if len(args) == 0 {
					return nil
				}
				_, err := tx.Exec(ctx, `INSERT INTO elig_blocks (subject_kind, block, data) VALUES `+db.Placeholders(tx.Dialect(), len(args)/3, 3)+
					` ON CONFLICT (subject_kind, block) DO UPDATE SET data = excluded.data`, args...)
				args = args[:0]
				return db.Translate(err)
			}
			for _, w := range batch {
				if w.data == nil {
					if _, err := tx.Exec(ctx, `DELETE FROM elig_blocks WHERE subject_kind = $1 AND block = $2`, t.Kind, w.block); err != nil {
						return db.Translate(err)
					}
					continue
				}
				if args = append(args, t.Kind, w.block, w.data); len(args) == 3*perStmt {
					if err := flush(); err != nil {
						return err
					}
				}
			}
			return flush()
		})
		if err != nil {
			return 0, err
		}
	}
	return total, nil
}

// changedEntries counts the subjects whose results differ between a
// stored block's data (nil: none) and the entries that replace it.
func changedEntries(block int64, old []byte, es []blockEntry) (int64, error) {
	if old == nil {
		return int64(len(es)), nil
	}
	var n int64
	j := 0
	err := decodeBlock(block, old, func(o blockEntry) error {
		for ; j < len(es) && es[j].id < o.id; j++ {
			n++ // new
		}
		if j < len(es) && es[j].id == o.id {
			if es[j].packed != o.packed || es[j].path != o.path {
				n++
			}
			j++
			return nil
		}
		n++ // gone
		return nil
	})
	return n + int64(len(es)-j), err
}

// ForgetResults deletes every stored result, so that the next run writes
// every row again (the benchmark's --fresh).
func (e *Engine) ForgetResults(ctx context.Context) (err error) {
	defer errs.Wrapf(&err, "policy.Engine.ForgetResults")
	return e.db.InTx(ctx, func(tx *db.Tx) error {
		if _, err := e.bumpOwnGen(ctx, tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM elig_blocks`)
		return db.Translate(err)
	})
}

// lastRun reads the header of the last run; before the first run it is
// NotFound.
func (e *Engine) lastRun(ctx context.Context) (*runHeader, error) {
	var raw string
	var at db.Time
	err := e.db.QueryRow(ctx, `SELECT policies, at FROM elig_runs ORDER BY id DESC LIMIT 1`).Scan(&raw, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "policy.no_run")
	}
	if err != nil {
		return nil, db.Translate(err)
	}
	h := runHeader{at: at.Time}
	return &h, json.Unmarshal([]byte(raw), &h)
}

// LastRun is when the last batch run was made; before the first it is
// the zero time (the 应享未享 list is then empty because nothing was
// evaluated, which the staff's page says rather than "nobody").
func (e *Engine) LastRun(ctx context.Context) (_ time.Time, err error) {
	defer errs.Wrapf(&err, "policy.Engine.LastRun")
	h, err := e.lastRun(ctx)
	if errs.Is(err, errs.NotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, err
	}
	return h.at, nil
}

// Unclaimed lists the subjects under the region node (a code the scope
// covers) that the last run found eligible and that are not receiving
// (应享未享), by policy and subject.
func (e *Engine) Unclaimed(ctx context.Context, sc account.Scope, regionCode string, limit int) (_ []Unclaimed, err error) {
	defer errs.Wrapf(&err, "policy.Engine.Unclaimed(%s)", regionCode)
	if sc.Denies() {
		return nil, errs.E(errs.NotFound, "registry.grid_not_found", regionCode)
	}
	path, err := e.registry.NodePath(ctx, sc, regionCode)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	h, err := e.lastRun(ctx)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return []Unclaimed{}, nil
		}
		return nil, err
	}
	titles := map[string]Text{}
	if ps, err := e.load(ctx, "", ""); err == nil {
		for _, p := range ps {
			titles[p.Key] = p.Title
		}
	}
	// Data scope is tested on each stored subject's region path (the
	// blocks are not by region): what Apply's SQL would have kept.
	upper := db.PathUpper(path)
	out := []Unclaimed{}
	err = e.eachStored(ctx, "", func(kind string, en blockEntry) error {
		if en.path < path || en.path >= upper || !sc.Covers(en.path) {
			return nil
		}
		u := Unclaimed{GridCode: gridOf(en.path), Since: h.at}
		u.Subject.Kind, u.Subject.ID = kind, en.id
		for i := 0; i < len(en.packed) && i < len(h.Keys); i++ {
			if en.packed[i] == letterEligible && len(out) < limit {
				v := u
				v.Policy, v.Title = h.Keys[i], titles[h.Keys[i]]
				out = append(out, v)
			}
		}
		if len(out) >= limit {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return nil, err
	}
	if out, err = e.dropReceiving(ctx, out); err != nil {
		return nil, err
	}
	if err := e.amounts(ctx, sc, out); err != nil {
		return nil, err
	}
	return out, e.names(ctx, sc, out)
}

// amounts fills in what each listed subject would receive: its policy's
// amount evaluated on the subject's facts as they are now (the list is
// the last run's), one evaluation a subject. A policy without an amount
// leaves it unset.
func (e *Engine) amounts(ctx context.Context, sc account.Scope, us []Unclaimed) error {
	date := chinaDate(e.db.Now())
	by := map[Subject]map[string]*float64{}
	for i := range us {
		s := us[i].Subject
		m, ok := by[s]
		if !ok {
			m = map[string]*float64{}
			rs, err := e.Evaluate(ctx, sc, s, date)
			if err != nil && !errs.Is(err, errs.NotFound) {
				return err
			}
			for _, r := range rs {
				m[r.Policy] = r.Amount
			}
			by[s] = m
		}
		us[i].Amount = m[us[i].Policy]
	}
	return nil
}

// names fills in the subjects' names, masked as the registry shows them.
func (e *Engine) names(ctx context.Context, sc account.Scope, us []Unclaimed) error {
	seen := map[Subject]string{}
	for i := range us {
		s := us[i].Subject
		name, ok := seen[s]
		if !ok {
			switch s.Kind {
			case KindOrganisation:
				o, err := e.registry.Organisation(ctx, sc, s.ID)
				if err != nil && !errs.Is(err, errs.NotFound) {
					return err
				}
				if o != nil {
					name = o.Name
				}
			default:
				p, err := e.registry.Person(ctx, sc, s.ID)
				if err != nil && !errs.Is(err, errs.NotFound) {
					return err
				}
				if p != nil {
					name = p.Name
				}
			}
			seen[s] = name
		}
		us[i].Name = name
	}
	return nil
}

// dropReceiving removes the subjects that already receive their policy.
func (e *Engine) dropReceiving(ctx context.Context, us []Unclaimed) ([]Unclaimed, error) {
	e.mu.RLock()
	rec := e.receiving
	e.mu.RUnlock()
	if rec == nil {
		return us, nil
	}
	by := map[string][]Subject{}
	for _, u := range us {
		by[u.Policy] = append(by[u.Policy], u.Subject)
	}
	got := map[string]map[Subject]bool{}
	for p, ss := range by {
		m, err := rec(ctx, p, ss)
		if err != nil {
			return nil, err
		}
		got[p] = m
	}
	out := us[:0]
	for _, u := range us {
		if !got[u.Policy][u.Subject] {
			out = append(out, u)
		}
	}
	return out, nil
}

// gridOf is the last code of a materialised path.
func gridOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	return parts[len(parts)-1]
}

// ChinaDate is the calendar date in China at t, as midnight UTC: the date
// the batch and the routes answer for by default.
func ChinaDate(t time.Time) time.Time { return chinaDate(t) }

// Stored returns the last run's stored results of a kind of subject, by
// subject id and policy key.
func (e *Engine) Stored(ctx context.Context, kind string) (_ map[int64]map[string]string, err error) {
	defer errs.Wrapf(&err, "policy.Engine.Stored(%s)", kind)
	h, err := e.lastRun(ctx)
	if err != nil {
		return nil, err
	}
	out := map[int64]map[string]string{}
	err = e.eachStored(ctx, kind, func(_ string, en blockEntry) error {
		m := map[string]string{}
		for i := 0; i < len(en.packed) && i < len(h.Keys); i++ {
			switch en.packed[i] {
			case letterEligible:
				m[h.Keys[i]] = Eligible
			case letterNot:
				m[h.Keys[i]] = NotEligible
			case letterMay:
				m[h.Keys[i]] = MayBeEligible
			}
		}
		out[en.id] = m
		return nil
	})
	return out, err
}

// EachEligible calls fn with every (subject, policy) pair that the stored
// results under a region path (every region when path is "") find
// eligible, with the subject's region path, in subject order: what the
// indicators of 应享未享 and uptake count. Before the first run there is
// nothing to call it with.
func (e *Engine) EachEligible(ctx context.Context, path string, fn func(s Subject, regionPath, policy string) error) (err error) {
	defer errs.Wrapf(&err, "policy.Engine.EachEligible(%s)", path)
	h, err := e.lastRun(ctx)
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	upper := db.PathUpper(path)
	return e.eachStored(ctx, "", func(kind string, en blockEntry) error {
		if path != "" && (en.path < path || en.path >= upper) {
			return nil
		}
		s := Subject{Kind: kind, ID: en.id}
		for i := 0; i < len(en.packed) && i < len(h.Keys); i++ {
			if en.packed[i] == letterEligible {
				if err := fn(s, en.path, h.Keys[i]); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
