package db

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// commit commits the transaction: on PostgreSQL its COMMIT goes in one
// pipeline with the statements still queued.
func (t *Tx) commit(ctx context.Context) error {
	if t.stx != nil {
		return Translate(t.stx.Commit())
	}
	if t.pipeErr != nil {
		return t.pipeErr
	}
	t.piped = append(t.piped, pipedStmt{q: "COMMIT"})
	if err := t.sendPiped(ctx); err != nil {
		return err
	}
	// PostgreSQL answers ROLLBACK to the COMMIT of a failed transaction.
	if t.lastTag != "COMMIT" {
		return fmt.Errorf("db: the transaction did not commit (%q)", t.lastTag)
	}
	return nil
}

// rollback ends the transaction without committing. On PostgreSQL, a
// connection that is still inside a transaction afterwards (its ROLLBACK
// failed) is closed rather than given back to the pool.
func (t *Tx) rollback() {
	t.piped, t.deferred = nil, nil
	if t.stx != nil {
		_ = t.stx.Rollback()
		return
	}
	_ = t.conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return driver.ErrBadConn
		}
		pc := sc.Conn().PgConn()
		if pc.TxStatus() == 'I' {
			return nil
		}
		if _, err := pc.Exec(context.Background(), "ROLLBACK").ReadAll(); err != nil || pc.TxStatus() != 'I' {
			return driver.ErrBadConn
		}
		return nil
	})
}

// Queue runs a statement whose answer the transaction does not need. On
// PostgreSQL it is queued and sent, in one pipeline (one round trip) with
// the others queued, before the next statement that runs at once (Exec,
// Query, QueryRow, InsertID) or before the commit; its error is then that
// statement's error, or the commit's, and the transaction is aborted. On
// SQLite it runs at once.
//
// A write under group commit whose statements all queue makes no round
// trip of its own: the batch's statements go together.
func (t *Tx) Queue(ctx context.Context, q string, args ...any) error {
	if t.conn != nil {
		if t.pipeErr != nil {
			return t.pipeErr
		}
		t.piped = append(t.piped, pipedStmt{q, args})
		return nil
	}
	_, err := t.tx.ExecContext(ctx, q, args...)
	return Translate(err)
}

// Insert inserts one row into table and returns its id. q is the INSERT,
// whose $1 is the row's id, ending in RETURNING id; args are $2 on. On
// PostgreSQL the id is taken from the table's sequence ahead of the
// statement (the group-commit writer reserves a batch's ids before its
// transaction begins), so the INSERT is queued (Queue) and nothing waits
// for its answer. On SQLite $1 is NULL: the row takes its rowid, and the
// INSERT runs at once.
func (t *Tx) Insert(ctx context.Context, table, q string, args ...any) (int64, error) {
	if t.db.ids == nil {
		return t.InsertID(ctx, q, append([]any{nil}, args...)...)
	}
	id, err := t.newID(ctx, table)
	if err != nil {
		return 0, err
	}
	return id, t.Queue(ctx, q, append([]any{id}, args...)...)
}

// Reserve takes n ids of table for this transaction's Inserts, in one
// statement, ahead of a group of Inserts that would otherwise each take one
// from the sequence (on PostgreSQL; on SQLite it does nothing). Those the
// transaction does not use go back to the pool.
func (t *Tx) Reserve(ctx context.Context, table string, n int) error {
	if t.db.ids == nil || n <= len(t.ids[table]) {
		return nil
	}
	got, err := t.db.takeIDs(ctx, []string{table}, n-len(t.ids[table]))
	if err != nil {
		return err
	}
	if t.ids == nil {
		t.ids = map[string][]int64{}
	}
	t.ids[table] = append(t.ids[table], got[table]...)
	return nil
}

// Memo returns what load returns for key, loading it once per
// transaction: for a read that every write of a group-committed batch
// would otherwise repeat (rules that rarely change), and which would
// make each write wait for its answer. load runs inside the transaction;
// nothing in the transaction may change what it read. A failed load is
// not kept.
func (t *Tx) Memo(key any, load func() (any, error)) (any, error) {
	if v, ok := t.memo[key]; ok {
		return v, nil
	}
	v, err := load()
	if err != nil {
		return nil, err
	}
	if t.memo == nil {
		t.memo = map[any]any{}
	}
	t.memo[key] = v
	return v, nil
}

// sync sends the queued statements and returns the first error of any
// pipeline sent in this transaction.
func (t *Tx) sync(ctx context.Context) error {
	t.syncPiped(ctx)
	return t.pipeErr
}

// cause is the error a failed write reports: a queued statement's error,
// when one failed, rather than the error of the statement that then ran
// on the aborted transaction.
func (t *Tx) cause(err error) error {
	if t.pipeErr != nil {
		return t.pipeErr
	}
	return err
}

// dropQueued forgets the queued statements and their error, after a
// rollback to a savepoint has undone the write that queued them.
func (t *Tx) dropQueued() { t.piped, t.pipeErr = nil, nil }

// newID takes an id of table reserved for this transaction, or one from
// the pool.
func (t *Tx) newID(ctx context.Context, table string) (int64, error) {
	if ids := t.ids[table]; len(ids) > 0 {
		t.ids[table] = ids[1:]
		return ids[0], nil
	}
	got, err := t.db.takeIDs(ctx, []string{table}, 1)
	if err != nil {
		return 0, err
	}
	return got[table][0], nil
}

// idPool holds row ids taken from the tables' sequences (PostgreSQL) and
// not used yet: a transaction gives back those it did not use, and the
// next one takes them first, so ids are handed out in nearly the order of
// the sequence.
type idPool struct {
	mu   sync.Mutex
	seq  map[string]string  // table → its id sequence
	free map[string][]int64 // ascending
}

func newIDPool() *idPool {
	return &idPool{seq: map[string]string{}, free: map[string][]int64{}}
}

// idTables returns the tables whose ids Insert has taken so far.
func (d *DB) idTables() []string {
	if d.ids == nil {
		return nil
	}
	d.ids.mu.Lock()
	defer d.ids.mu.Unlock()
	out := make([]string, 0, len(d.ids.seq))
	for t := range d.ids.seq {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// takeIDs returns n ids of each table, the pool's first and the rest from
// the sequences in one statement. nextval is not transactional: a
// sequence value is never handed out twice, whether or not the row that
// used it commits. Its WAL record precedes that of any commit that uses
// it, so a crash cannot hand out again an id that a committed row holds.
func (d *DB) takeIDs(ctx context.Context, tables []string, n int) (map[string][]int64, error) {
	if d.ids == nil || len(tables) == 0 || n < 1 {
		return nil, nil
	}
	p := d.ids
	out := make(map[string][]int64, len(tables))
	var short []string
	shortN := 0
	p.mu.Lock()
	for _, t := range tables {
		free := p.free[t]
		k := min(n, len(free))
		out[t] = append([]int64(nil), free[:k]...)
		p.free[t] = free[k:]
		if k < n {
			short = append(short, t)
			shortN = max(shortN, n-k)
		}
	}
	p.mu.Unlock()
	if len(short) == 0 {
		return out, nil
	}
	seqs := make([]string, len(short))
	for i, t := range short {
		s, err := d.idSequence(ctx, t)
		if err != nil {
			d.giveBackIDs(out)
			return nil, err
		}
		seqs[i] = s
	}
	var q strings.Builder
	args := make([]any, 0, len(seqs)+1)
	q.WriteString("SELECT ")
	for i, s := range seqs {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "nextval($%d::regclass)", i+1)
		args = append(args, s)
	}
	fmt.Fprintf(&q, " FROM generate_series(1, $%d)", len(seqs)+1)
	args = append(args, shortN)
	rows, err := d.unsynced.QueryContext(ctx, q.String(), args...)
	if err != nil {
		d.giveBackIDs(out)
		return nil, Translate(err)
	}
	defer rows.Close()
	got := make([]int64, len(seqs))
	dest := make([]any, len(seqs))
	for i := range got {
		dest[i] = &got[i]
	}
	extra := map[string][]int64{}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			d.giveBackIDs(out)
			return nil, Translate(err)
		}
		for i, t := range short {
			if len(out[t]) < n {
				out[t] = append(out[t], got[i])
			} else {
				extra[t] = append(extra[t], got[i])
			}
		}
	}
	if err := rows.Err(); err != nil {
		d.giveBackIDs(out)
		return nil, Translate(err)
	}
	d.giveBackIDs(extra)
	return out, nil
}

// giveBackIDs returns unused ids to the pool.
func (d *DB) giveBackIDs(ids map[string][]int64) {
	if d.ids == nil || len(ids) == 0 {
		return
	}
	p := d.ids
	p.mu.Lock()
	defer p.mu.Unlock()
	for t, xs := range ids {
		if len(xs) == 0 {
			continue
		}
		p.free[t] = append(p.free[t], xs...)
		slices.Sort(p.free[t])
	}
}

// idSequence returns the sequence that numbers table's id column, and
// makes table one of those whose ids the group-commit writer reserves.
func (d *DB) idSequence(ctx context.Context, table string) (string, error) {
	p := d.ids
	p.mu.Lock()
	s, ok := p.seq[table]
	p.mu.Unlock()
	if ok {
		return s, nil
	}
	var ns *string
	if err := d.w.QueryRowContext(ctx, `SELECT pg_get_serial_sequence($1, 'id')`, table).Scan(&ns); err != nil {
		return "", Translate(err)
	}
	if ns == nil {
		return "", fmt.Errorf("db: table %s has no id sequence", table)
	}
	p.mu.Lock()
	p.seq[table] = *ns
	p.mu.Unlock()
	return *ns, nil
}

// QueryEach runs a query inside the transaction and calls row for each of
// its rows, with the row's Scan. On PostgreSQL the statements queued
// before it (the transaction's BEGIN among them, see inTxAt) go to the
// server in the same pipeline as the query, one round trip for both,
// where Query sends them first and waits; their error is then the
// query's, and the transaction is aborted. A row's error stops the
// iteration and is returned.
func (t *Tx) QueryEach(ctx context.Context, q string, args []any, row func(scan func(dest ...any) error) error) error {
	if t.conn == nil {
		rows, err := t.Query(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := row(rows.Scan); err != nil {
				return err
			}
		}
		return Translate(rows.Err())
	}
	if t.pipeErr != nil {
		return t.pipeErr
	}
	stmts := t.piped
	t.piped = nil
	t.trips++
	var rowErr error
	err := t.sendBatch(ctx, append(stmts, pipedStmt{q, args}), func(br pgx.BatchResults) error {
		for range stmts {
			if _, err := br.Exec(); err != nil {
				var pe *pgconn.PgError
				t.stmtFailed = errors.As(err, &pe)
				t.pipeErr = Translate(err)
				return err
			}
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		for rows.Next() {
			if rowErr = row(rows.Scan); rowErr != nil {
				break
			}
		}
		rows.Close()
		if rowErr != nil {
			return nil
		}
		return rows.Err()
	})
	if rowErr != nil {
		return rowErr
	}
	return Translate(err)
}

// sendBatch sends stmts in one pgx batch (one round trip) on tx's
// connection and hands its results to read, which must not close them.
func (t *Tx) sendBatch(ctx context.Context, stmts []pipedStmt, read func(pgx.BatchResults) error) error {
	return t.conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("db: pipeline on a %T connection", dc)
		}
		b := &pgx.Batch{}
		for _, st := range stmts {
			b.Queue(st.q, st.args...)
		}
		br := sc.Conn().SendBatch(ctx, b)
		if err := read(br); err != nil {
			_ = br.Close()
			return err
		}
		return br.Close()
	})
}
