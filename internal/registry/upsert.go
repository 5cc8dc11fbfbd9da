package registry

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// RowError is a refused row of a batch: its index in the batch (from 0)
// and a message per field.
type RowError struct {
	Row    int                 `json:"row"`
	Fields map[string]errs.Msg `json:"fields"`
}

// BatchError lists the refused rows of a batch, in row order; nothing of
// the batch was written. It unwraps to an Invalid *errs.Error.
type BatchError struct {
	Rows []RowError
}

// Error names the first refused rows.
func (e *BatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "registry: %d rows refused", len(e.Rows))
	for i, r := range e.Rows {
		if i == 3 {
			b.WriteString(" …")
			break
		}
		keys := make([]string, 0, len(r.Fields))
		for k := range r.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "; row %d: %s: %s", r.Row, k, r.Fields[k].Key)
		}
	}
	return b.String()
}

// Unwrap makes a BatchError an Invalid error for errs.CodeOf.
func (e *BatchError) Unwrap() error { return errs.E(errs.Invalid, "registry.err.batch", len(e.Rows)) }

func (e *BatchError) add(row int, fe *errs.Error) {
	e.Rows = append(e.Rows, RowError{Row: row, Fields: fe.Fields})
}

func (e *BatchError) orNil() error {
	if len(e.Rows) == 0 {
		return nil
	}
	sort.SliceStable(e.Rows, func(i, j int) bool { return e.Rows[i].Row < e.Rows[j].Row })
	return e
}

// UpsertResult counts what a batch did; IDs are the ids of the batch's
// rows, in order.
type UpsertResult struct {
	Created   int     `json:"created"`
	Updated   int     `json:"updated"`
	Unchanged int     `json:"unchanged"`
	IDs       []int64 `json:"ids"`
}

// chunk is the number of rows of one multi-row statement.
const chunk = 500

// batchRow is a validated row of a batch: its key and its grid's path. Its
// written values and its fields for the diff come from the spec's args and
// vals by the row's index, only when the row is written, so that a batch
// of a million rows holds no million argument lists and value maps.
type batchRow struct {
	key  string // the identity number or credit code
	path string
}

// existing is a stored record found by its key.
type existing struct {
	id   int64
	path string
	vals values
}

// upsertSpec describes the table of a batch.
type upsertSpec struct {
	table   string // reg_people
	hist    string // TablePeople
	key     string // id_number
	cols    string // the written columns, key first, created_at and updated_at last
	width   int
	load    func(ctx context.Context, tx *db.Tx, keys []any) (map[string]existing, error)
	keyName string // the field a row error on the key names
	// args appends the values of cols of row i to dst.
	args func(dst []any, i int) []any
	// vals are the fields of row i, for the diff.
	vals func(i int) values
	// after, when set, writes what follows from the rows in the same
	// transaction, once they are all written (their ids in res.IDs); a
	// refused row is a *BatchError and rolls everything back.
	after func(ctx context.Context, tx *db.Tx, res *UpsertResult) error
}

// gridCache resolves grid paths once per batch.
type gridCache struct {
	s     *Store
	sc    account.Scope
	paths map[string]string
}

func (g *gridCache) path(code string) (string, bool) {
	if p, ok := g.paths[code]; ok {
		return p, p != ""
	}
	p, err := g.s.gridPath(g.sc, code)
	if err != nil {
		p = ""
	}
	g.paths[code] = p
	return p, p != ""
}

// pending is a row of a batch to write: new (old nil) or changed.
type pending struct {
	i    int
	old  *existing
	vals values
}

// upserter writes the changed rows of a batch, chunk rows a statement,
// each with its history row; every full statement has the same text, so
// the connection's statement cache prepares it once.
type upserter struct {
	tx    *db.Tx
	spec  upsertSpec
	rows  []batchRow
	actor audit.Actor
	res   *UpsertResult
	q     string // the statement of a full chunk
	args  []any
	hist  []histRow
}

func (u *upserter) query(n int) string {
	if n == chunk && u.q != "" {
		return u.q
	}
	q := `INSERT INTO ` + u.spec.table + ` (` + u.spec.cols + `) VALUES ` + db.Placeholders(u.tx.Dialect(), n, u.spec.width) +
		` ON CONFLICT (` + u.spec.key + `) DO UPDATE SET ` + upsertSet(u.spec.cols) + ` RETURNING id, ` + u.spec.key
	if n == chunk {
		u.q = q
	}
	return q
}

func (u *upserter) write(ctx context.Context, part []pending) error {
	if len(part) == 0 {
		return nil
	}
	u.args = u.args[:0]
	for _, p := range part {
		u.args = u.spec.args(u.args, p.i)
	}
	ids, err := returnedIDs(ctx, u.tx, u.query(len(part)), u.args)
	clear(u.args)
	if err != nil {
		return err
	}
	u.hist = u.hist[:0]
	for _, p := range part {
		r := u.rows[p.i]
		id, ok := ids[r.key]
		if !ok {
			return fmt.Errorf("registry: upsert of %s returned no id", u.spec.table)
		}
		u.res.IDs[p.i] = id
		h := histRow{table: u.spec.hist, id: id, path: r.path}
		if p.old != nil {
			h.action, h.changes = "update", diff(p.old.vals, p.vals)
			u.res.Updated++
		} else {
			h.action, h.changes = "create", diff(nil, p.vals)
			u.res.Created++
		}
		u.hist = append(u.hist, h)
	}
	err = writeHistory(ctx, u.tx, u.actor, u.hist)
	clear(u.hist)
	return err
}

// upsert writes rows in one transaction: new keys are inserted, changed
// ones updated, unchanged ones left alone (so a batch is idempotent), each
// write with its history row, and one audit entry for the batch. A key
// stored outside the scope refuses its row, and any refused row the batch.
// The rows are looked up and written chunk by chunk; once a row is refused
// nothing more is written, but the lookups go on so that the error names
// every refused row.
func (s *Store) upsert(ctx context.Context, sc account.Scope, actor audit.Actor, spec upsertSpec, rows []batchRow) (UpsertResult, error) {
	res := UpsertResult{IDs: make([]int64, len(rows))}
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		u := &upserter{tx: tx, spec: spec, rows: rows, actor: actor, res: &res, args: make([]any, 0, chunk*spec.width)}
		bad := &BatchError{}
		keys := make([]any, 0, chunk)
		var todo []pending
		for lo := 0; lo < len(rows); lo += chunk {
			hi := min(lo+chunk, len(rows))
			keys = keys[:0]
			for _, r := range rows[lo:hi] {
				keys = append(keys, r.key)
			}
			m, err := spec.load(ctx, tx, keys)
			if err != nil {
				return err
			}
			for i := lo; i < hi; i++ {
				e, ok := m[rows[i].key]
				if ok && !sc.Covers(e.path) {
					bad.add(i, invalid().Field(spec.keyName, "registry.err.elsewhere"))
					continue
				}
				if len(bad.Rows) > 0 {
					continue
				}
				vals := spec.vals(i)
				switch {
				case !ok:
					todo = append(todo, pending{i: i, vals: vals})
				case !same(e.vals, vals):
					todo = append(todo, pending{i: i, old: &e, vals: vals})
				default:
					res.IDs[i] = e.id
					res.Unchanged++
				}
			}
			for len(todo) >= chunk && len(bad.Rows) == 0 {
				if err := u.write(ctx, todo[:chunk]); err != nil {
					return err
				}
				todo = append(todo[:0], todo[chunk:]...)
			}
			if hi < len(rows) {
				reportProgress(ctx, hi, len(rows))
			}
		}
		if err := bad.orNil(); err != nil {
			return err
		}
		if err := u.write(ctx, todo); err != nil {
			return err
		}
		if spec.after != nil {
			if err := spec.after(ctx, tx, &res); err != nil {
				return err
			}
		}
		reportProgress(ctx, len(rows), len(rows))
		if res.Created+res.Updated == 0 {
			return nil
		}
		return audit.Record(ctx, tx, actor, "registry."+spec.hist+".import", spec.hist,
			"created="+strconv.Itoa(res.Created)+" updated="+strconv.Itoa(res.Updated)+" unchanged="+strconv.Itoa(res.Unchanged))
	})
	if err != nil {
		return UpsertResult{}, err
	}
	return res, nil
}

// upsertSet is the SET list of an upsert: every column but the key and
// created_at takes the new value.
func upsertSet(cols string) string {
	var parts []string
	for i, c := range strings.Split(cols, ",") {
		c = strings.TrimSpace(c)
		if i == 0 || c == "created_at" {
			continue
		}
		parts = append(parts, c+" = excluded."+c)
	}
	return strings.Join(parts, ", ")
}

func returnedIDs(ctx context.Context, tx *db.Tx, q string, args []any) (map[string]int64, error) {
	rs, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	ids := map[string]int64{}
	for rs.Next() {
		var id int64
		var k string
		if err := rs.Scan(&id, &k); err != nil {
			return nil, err
		}
		ids[k] = id
	}
	return ids, db.Translate(rs.Err())
}

// inList is "($1,$2,…)" for n values.
func inList(d db.Dialect, n int) string { return db.Placeholders(d, 1, n) }

// UpsertPeople adds or updates people by identity number in one
// transaction: the import's bulk path. Every row is validated first
// (ValidatePerson, its grid in scope, no identity number twice); any
// refused row returns a *BatchError and writes nothing. Re-running the
// same batch changes nothing and writes no history. A row with HouseID
// links the person to that house (in scope) with HouseRelation in the same
// transaction, as Link does: an existing link with the same relation is
// left alone, and a house not in scope refuses the row on house_id.
func (s *Store) UpsertPeople(ctx context.Context, sc account.Scope, actor audit.Actor, in []PersonInput) (_ UpsertResult, err error) {
	defer errs.Wrapf(&err, "registry.Store.UpsertPeople")
	if seesNothing(sc) {
		return UpsertResult{}, denied()
	}
	now := s.db.Now()
	grids := &gridCache{s: s, sc: sc, paths: map[string]string{}}
	bad := &BatchError{}
	seen := make(map[string]int, len(in))
	rows := make([]batchRow, len(in))
	norm := make([]PersonInput, len(in))
	for i := range in {
		p := &norm[i]
		*p = in[i]
		e := invalid()
		checkPerson(e, p, now)
		if strings.TrimSpace(p.GridCode) == "" && p.HouseID != 0 {
			// The batch writes the grid's path before any house is read.
			e.Field("grid_code", "field.required")
		}
		if p.GridCode != "" {
			if _, ok := grids.path(p.GridCode); !ok {
				e.Field("grid_code", keyGridNotFound, p.GridCode)
			}
		}
		if j, dup := seen[p.IDNumber]; dup && p.IDNumber != "" {
			e.Field("id_number", "registry.err.duplicate_row", j+1)
		}
		seen[p.IDNumber] = i
		if len(e.Fields) > 0 {
			bad.add(i, e)
			continue
		}
		path, _ := grids.path(p.GridCode)
		rows[i] = batchRow{key: p.IDNumber, path: path}
	}
	if err := bad.orNil(); err != nil {
		return UpsertResult{}, err
	}
	var at any = now
	return s.upsert(ctx, sc, actor, upsertSpec{table: "reg_people", hist: TablePeople, key: "id_number", cols: personWrite,
		width: personWidth, keyName: "id_number", load: loadPeople,
		args: func(dst []any, i int) []any { return norm[i].appendArgs(dst, rows[i].path, at) },
		vals: func(i int) values { return norm[i].values() },
		after: func(ctx context.Context, tx *db.Tx, res *UpsertResult) error {
			for i := range norm {
				if norm[i].HouseID == 0 {
					continue
				}
				err := s.link(ctx, tx, sc, actor, res.IDs[i], norm[i].HouseID, norm[i].HouseRelation)
				if errs.Is(err, errs.NotFound) {
					bad.add(i, invalid().Field("house_id", keyHouseNotFound, norm[i].HouseID))
					continue
				}
				if err != nil {
					return err
				}
			}
			return bad.orNil()
		}}, rows)
}

func loadPeople(ctx context.Context, tx *db.Tx, keys []any) (map[string]existing, error) {
	rs, err := tx.Query(ctx, `SELECT `+personCols+` FROM reg_people p WHERE p.id_number IN `+inList(tx.Dialect(), len(keys)), keys...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	m := make(map[string]existing, len(keys))
	for rs.Next() {
		p, err := scanPerson(rs)
		if err != nil {
			return nil, err
		}
		in := p.input()
		m[p.IDNumber] = existing{id: p.ID, path: p.RegionPath, vals: in.values()}
	}
	return m, db.Translate(rs.Err())
}
