package policy

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
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
}

type column struct {
	codes []uint32
	dict  []any // dict[0] is nil: unknown
	index map[string]uint32
}

// NewTable returns an empty table of subjects of a kind.
func NewTable(kind string) *Table { return &Table{Kind: kind, cols: map[string]*column{}} }

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
			c = &column{dict: []any{nil}, index: map[string]uint32{}}
			t.cols[k] = c
		}
		for len(c.codes) < n {
			c.codes = append(c.codes, 0)
		}
		key := fmt.Sprint(cv)
		if l, ok := cv.([]string); ok {
			key = strings.Join(l, "\x00") // ["a b"] and ["a", "b"] differ
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

// code is subject i's code of a field (0: unknown).
func (c *column) code(i int) uint32 {
	if c == nil || i >= len(c.codes) {
		return 0
	}
	return c.codes[i]
}

var fieldCache = map[string]map[string]Field{
	KindPerson: fieldIndex(KindPerson), KindHousehold: fieldIndex(KindHousehold), KindOrganisation: fieldIndex(KindOrganisation),
}

func fieldIndexCached(target string) map[string]Field { return fieldCache[target] }

// memo evaluates one policy over a table once per distinct tuple of the
// fields it reads: with few distinct tuples (ages, yes/no facts, bands)
// a million subjects cost a few thousand CEL evaluations and a million
// array or map lookups.
type memo struct {
	c     *compiled
	cols  []*column
	radix []uint64
	dense []byte // by mixed-radix tuple index; 0 = not yet evaluated
	tuple map[uint64]byte
	evals int
}

const denseMax = 1 << 22

func newMemo(c *compiled, t *Table) *memo {
	m := &memo{c: c}
	prod := uint64(1)
	overflow := false
	for _, f := range c.reads {
		col := t.cols[f]
		m.cols = append(m.cols, col)
		n := uint64(1)
		if col != nil {
			n = uint64(len(col.dict))
		}
		m.radix = append(m.radix, n)
		if prod > (1<<63)/n {
			overflow = true
		}
		prod *= n
	}
	switch {
	case overflow:
		m.radix = nil // fall back to CEL per subject
	case prod <= denseMax:
		m.dense = make([]byte, prod)
	default:
		m.tuple = map[uint64]byte{}
	}
	return m
}

// at is the packed letter of subject i.
func (m *memo) at(t *Table, i int) byte {
	if m.radix == nil {
		return m.eval(t, i)
	}
	var k uint64
	for j, col := range m.cols {
		k = k*m.radix[j] + uint64(col.code(i))
	}
	if m.dense != nil {
		if b := m.dense[k]; b != 0 {
			return b
		}
		b := m.eval(t, i)
		m.dense[k] = b
		return b
	}
	if b, ok := m.tuple[k]; ok {
		return b
	}
	b := m.eval(t, i)
	m.tuple[k] = b
	return b
}

// eval is CEL's answer for subject i: the oracle.
func (m *memo) eval(t *Table, i int) byte {
	m.evals++
	return letterOf(m.c.outcome(t.known(m.c.reads, i)))
}

// known are subject i's known values of the fields.
func (t *Table) known(fields []string, i int) map[string]any {
	k := make(map[string]any, len(fields))
	for _, f := range fields {
		if c := t.cols[f]; c != nil {
			if code := c.code(i); code != 0 {
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

// EvaluateTable answers every policy for every subject of the table: one
// packed string per subject, one letter per policy (letterNone where the
// policy targets another kind), and the number of CEL evaluations the
// memo needed.
func EvaluateTable(cs []*compiled, t *Table) ([][]byte, int) {
	out := make([][]byte, t.Len())
	buf := make([]byte, t.Len()*len(cs))
	for i := range out {
		out[i] = buf[i*len(cs) : (i+1)*len(cs) : (i+1)*len(cs)]
	}
	evals := 0
	for p, c := range cs {
		if !appliesTo(c, t.Kind) {
			for i := range out {
				out[i][p] = letterNone
			}
			continue
		}
		m := newMemo(c, t)
		for i := range out {
			out[i][p] = m.at(t, i)
		}
		evals += m.evals
	}
	return out, evals
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
	// re-checked once the run is stored.
	from, err := feed.Last(ctx, e.db)
	if err != nil {
		return st, err
	}
	var tables []*Table
	for _, kind := range []string{KindPerson, KindOrganisation} {
		t := NewTable(kind)
		if err := e.registry.EachFactSet(ctx, kind, date, func(fs *registry.FactSet) error {
			t.Add(fs.ID, fs.RegionPath, fs.Values)
			return nil
		}); err != nil {
			return st, err
		}
		tables = append(tables, t)
	}
	h := runHeader{}
	for _, c := range cs {
		h.Keys, h.Versions = append(h.Keys, c.key), append(h.Versions, c.v.Version)
	}
	hb, _ := json.Marshal(h)
	var written int64
	for _, t := range tables {
		packed, _ := EvaluateTable(cs, t)
		st.Subjects += t.Len()
		for _, c := range cs {
			if appliesTo(c, t.Kind) {
				st.Evaluated += int64(t.Len())
			}
		}
		n, err := e.store(ctx, t, packed)
		if err != nil {
			return st, err
		}
		written += n
	}
	st.Changed = written
	st.Took = time.Since(start)
	err = e.db.InTx(ctx, func(tx *db.Tx) error {
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
	if _, err := feed.Sequence(ctx, e.db, 0); err != nil {
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

// store writes the packed results of a table that differ from the stored
// ones, in chunks, and returns how many it wrote.
func (e *Engine) store(ctx context.Context, t *Table, packed [][]byte) (int64, error) {
	old := map[int64]string{}
	rows, err := e.db.Query(ctx, `SELECT subject_id, packed FROM elig_results WHERE subject_kind = $1`, t.Kind)
	if err != nil {
		return 0, db.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var p string
		if err := rows.Scan(&id, &p); err != nil {
			return 0, db.Translate(err)
		}
		old[id] = p
	}
	if err := rows.Err(); err != nil {
		return 0, db.Translate(err)
	}
	var changed []int
	for i, p := range packed {
		if o, ok := old[t.IDs[i]]; !ok || o != string(p) {
			changed = append(changed, i)
		}
	}
	total := int64(len(changed))
	const chunk = 500
	for len(changed) > 0 {
		part := changed[:min(chunk, len(changed))]
		changed = changed[len(part):]
		err := e.db.InTx(ctx, func(tx *db.Tx) error {
			args := make([]any, 0, 5*len(part))
			for _, i := range part {
				args = append(args, t.Kind, t.IDs[i], t.Paths[i], string(packed[i]), 0)
			}
			_, err := tx.Exec(ctx, `INSERT INTO elig_results (subject_kind, subject_id, region_path, packed, run_id) VALUES `+
				db.Placeholders(tx.Dialect(), len(part), 5)+` ON CONFLICT (subject_kind, subject_id) DO UPDATE SET region_path = excluded.region_path, packed = excluded.packed`, args...)
			return db.Translate(err)
		})
		if err != nil {
			return 0, err
		}
	}
	return total, nil
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
	var w db.Where
	w.Add("region_path >= ? AND region_path < ?", path, db.PathUpper(path))
	sc.Apply(&w, account.Columns{Path: "region_path"})
	rows, err := e.db.Query(ctx, `SELECT subject_kind, subject_id, region_path, packed FROM elig_results`+w.SQL()+` ORDER BY subject_kind, subject_id`, w.Args()...)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	out := []Unclaimed{}
	for rows.Next() && len(out) < limit {
		var u Unclaimed
		var p, packed string
		if err := rows.Scan(&u.Subject.Kind, &u.Subject.ID, &p, &packed); err != nil {
			return nil, db.Translate(err)
		}
		u.GridCode, u.Since = gridOf(p), h.at
		for i := 0; i < len(packed) && i < len(h.Keys); i++ {
			if packed[i] == letterEligible && len(out) < limit {
				v := u
				v.Policy, v.Title = h.Keys[i], titles[h.Keys[i]]
				out = append(out, v)
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, db.Translate(err)
	}
	if out, err = e.dropReceiving(ctx, out); err != nil {
		return nil, err
	}
	return out, e.names(ctx, sc, out)
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
	rows, err := e.db.Query(ctx, `SELECT subject_id, packed FROM elig_results WHERE subject_kind = $1`, kind)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	out := map[int64]map[string]string{}
	for rows.Next() {
		var id int64
		var p string
		if err := rows.Scan(&id, &p); err != nil {
			return nil, db.Translate(err)
		}
		m := map[string]string{}
		for i := 0; i < len(p) && i < len(h.Keys); i++ {
			switch p[i] {
			case letterEligible:
				m[h.Keys[i]] = Eligible
			case letterNot:
				m[h.Keys[i]] = NotEligible
			case letterMay:
				m[h.Keys[i]] = MayBeEligible
			}
		}
		out[id] = m
	}
	return out, db.Translate(rows.Err())
}
