// Package db opens Whistle's database (SQLite by default, PostgreSQL in
// production), applies the embedded migrations, runs transactions with a fixed
// "now" from an injected clock, and translates driver errors into errs codes.
package db

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"whistle/internal/clock"
	"whistle/internal/errs"
)

// Dialect names the SQL dialect in use.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open database. For SQLite it keeps one writer connection and a
// pool of readers, because SQLite allows one writer at a time and WAL lets
// readers proceed beside it.
type DB struct {
	w, r *sql.DB
	// unsynced, on PostgreSQL, is a small pool whose sessions commit
	// without waiting for the WAL flush (see QueryRowUnsynced).
	unsynced *sql.DB
	dialect  Dialect
	clock    clock.Clock
	ckpt     *checkpointer // SQLite only
	// sync is the SQLite writer's synchronous level as opened (2 FULL;
	// 0 on the soak's synchronous(OFF) build): InTxDerived lowers it to
	// NORMAL for its transaction and puts this level back.
	sync int
	// ids, on PostgreSQL, are row ids taken from the tables' sequences
	// ahead of the statements that use them (Tx.Insert).
	ids *idPool
	// Source describes where the data lives, for logs (no password).
	Source string
}

// Config says which database to open.
type Config struct {
	// URL selects PostgreSQL when it starts with postgres:// or postgresql://.
	URL string
	// DataDir holds the SQLite file (whistle.db) when URL is empty.
	DataDir string
	// SearchPath, for PostgreSQL, sets the schema (tests use one per test).
	SearchPath string
}

// Open opens the database described by cfg. It does not migrate.
func Open(ctx context.Context, cfg Config, clk clock.Clock) (*DB, error) {
	if clk == nil {
		clk = clock.Real{}
	}
	if strings.HasPrefix(cfg.URL, "postgres://") || strings.HasPrefix(cfg.URL, "postgresql://") {
		return openPostgres(ctx, cfg, clk)
	}
	if cfg.URL != "" {
		return nil, fmt.Errorf("db: unsupported database URL %q: use postgres://… or leave it empty for SQLite in --data", redact(cfg.URL))
	}
	return openSQLite(ctx, cfg, clk)
}

func openSQLite(ctx context.Context, cfg Config, clk clock.Clock) (*DB, error) {
	dir := cfg.DataDir
	if dir == "" {
		dir = "data"
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("db: create data dir: %w", err)
	}
	file := filepath.Join(dir, "whistle.db")
	uri := sqliteURIPath(file)
	// synchronous(FULL): a 201 must survive a power cut, not only a crash.
	params := "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"
	drv := &sqlite.Driver{}
	// temp_store(MEMORY): inside a transaction, SQLite copies every page a
	// statement changes into a statement journal (and, under group
	// commit's replay, every page a savepoint changes into a sub-journal),
	// so that the statement alone can be undone; in a temp file that is a
	// write(2) per page. These journals only undo statements and
	// savepoints, never recover from a crash (the WAL does), so memory is
	// safe.
	//
	// wal_autocheckpoint(10000): the checkpointer below copies the WAL into
	// the database file from its own connection; SQLite's automatic
	// checkpoint would do it inside the commit that crosses 1,000 pages,
	// stalling every write queued behind it. The writer's own checkpoint
	// still runs at 10,000 pages: under sustained writes the checkpointer
	// never quite catches up with the end of the log, and only a
	// checkpoint in the writer lets the log start over from its beginning,
	// so the WAL file stays under about 40 MB. By then the checkpointer has
	// copied all but the last moments of the log, so it is short.
	//
	// cache_size(-65536): the writer's page cache is 64 MiB, not SQLite's
	// 2 MiB. A bulk transaction (an import of a district's people) inserts
	// into indexes on random keys (identity numbers); once those indexes
	// outgrow the cache, every row reads its pages back from the file and
	// dirty pages spill into the WAL before the commit, so the cost per row
	// grew with the table. Only the one writer connection has it.
	w := sql.OpenDB(cachingConnector{dsn: "file:" + uri + "?" + params +
		"&_pragma=temp_store(MEMORY)&_pragma=wal_autocheckpoint(10000)&_pragma=cache_size(-65536)&_txlock=immediate", drv: drv})
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	// mmap_size on the readers: they read the database file through a
	// memory map, not through SQLite's page cache. This build of SQLite
	// (SQLITE_ENABLE_MEMORY_MANAGEMENT) gives all of a process's
	// connections one budget of cached pages with one LRU list, and a
	// connection past its own cache_size takes the least recently used
	// page of any other: a reader's scan took over the writer's cached
	// pages, and kept them while it sat idle in the pool. The writer, below
	// its own cache_size, never takes pages back, and with the budget spent
	// it drops every page it reads as soon as it is done with it, so its
	// statements read the same pages from the file again and again (six
	// reads a timer in the scheduler's claim, one a row in the foreign-key
	// checks of the timeline and supervisions; docs/BENCHMARKS.md, "Timer
	// scheduler"). Through the map, a reader takes pages of the budget only
	// for what it reads from the WAL. 2 GiB less 64 KiB is SQLite's most on
	// this build; a larger file is read past it as before.
	r := sql.OpenDB(cachingConnector{dsn: "file:" + uri + "?" + params + "&_pragma=query_only(1)&_pragma=mmap_size(2147418112)", drv: drv})
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	ck := sql.OpenDB(cachingConnector{dsn: "file:" + uri + "?" + params, drv: drv})
	ck.SetMaxOpenConns(1)
	d := &DB{w: w, r: r, dialect: SQLite, clock: clk, Source: file}
	if err := d.Ping(ctx); err != nil {
		w.Close()
		r.Close()
		ck.Close()
		return nil, fmt.Errorf("db: open %s: %w", file, err)
	}
	if err := w.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&d.sync); err != nil {
		d.Close()
		return nil, fmt.Errorf("db: synchronous %s: %w", file, err)
	}
	d.ckpt = startCheckpointer(ck, 200*time.Millisecond)
	// Without planner statistics SQLite picks poor plans for the case
	// queues at scale (1.4 s instead of 50 ms on 100,000 cases); optimize
	// analyses what needs it, cheaply, as SQLite recommends at open.
	if _, err := w.ExecContext(ctx, `PRAGMA optimize=0x10002`); err != nil {
		d.Close()
		return nil, fmt.Errorf("db: optimize %s: %w", file, err)
	}
	return d, nil
}

// sqliteURIPath escapes what a SQLite URI filename gives a meaning to: in
// "file:" + path, a "#" starts a fragment and a "?" the query, so a data
// dir named "run#2" opened "run" (a test's temp dir gets such a name when
// a subtest's name repeats), and SQLite decodes "%" escapes.
func sqliteURIPath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}

func openPostgres(ctx context.Context, cfg Config, clk clock.Clock) (*DB, error) {
	dsn := cfg.URL
	if cfg.SearchPath != "" {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		dsn += sep + "search_path=" + cfg.SearchPath
	}
	p, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	p.SetMaxOpenConns(20)
	p.SetMaxIdleConns(20)
	p.SetConnMaxIdleTime(5 * time.Minute)
	// pgx passes parameters it does not know to the server as the
	// session's settings.
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	u, err := sql.Open("pgx", dsn+sep+"synchronous_commit=off")
	if err != nil {
		p.Close()
		return nil, err
	}
	u.SetMaxOpenConns(4)
	u.SetMaxIdleConns(4)
	u.SetConnMaxIdleTime(5 * time.Minute)
	d := &DB{w: p, r: p, unsynced: u, dialect: Postgres, clock: clk, Source: redact(cfg.URL), ids: newIDPool()}
	if err := d.Ping(ctx); err != nil {
		p.Close()
		u.Close()
		return nil, fmt.Errorf("db: connect %s: %w", d.Source, err)
	}
	return d, nil
}

// redact hides a password in a URL for logs.
func redact(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 {
		return u
	}
	cred := u[scheme+3 : at]
	if i := strings.Index(cred, ":"); i >= 0 {
		return u[:scheme+3] + cred[:i] + ":***" + u[at:]
	}
	return u
}

// Dialect returns the dialect in use.
func (d *DB) Dialect() Dialect { return d.dialect }

// Clock returns the injected clock.
func (d *DB) Clock() clock.Clock { return d.clock }

// Ping checks both pools.
func (d *DB) Ping(ctx context.Context) error {
	if err := d.w.PingContext(ctx); err != nil {
		return err
	}
	return d.r.PingContext(ctx)
}

// Close closes the pools.
func (d *DB) Close() error {
	if d.ckpt != nil {
		d.ckpt.close()
	}
	err := d.w.Close()
	if d.unsynced != nil {
		if e := d.unsynced.Close(); err == nil {
			err = e
		}
	}
	if d.r != d.w {
		if e := d.r.Close(); err == nil {
			err = e
		}
	}
	return err
}

// Now is the clock's time truncated to microseconds, the precision both
// databases keep, so a written time reads back equal.
func (d *DB) Now() time.Time { return d.clock.Now().UTC().Truncate(time.Microsecond) }

// Query runs a read query on the reader pool (inside a transaction with
// a context from ReadingIn).
func (d *DB) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if tx := readingIn(ctx, d); tx != nil {
		return tx.Query(ctx, q, args...)
	}
	rows, err := d.reader(ctx).QueryContext(ctx, q, args...)
	return rows, Translate(err)
}

// readingInKey marks a context whose reads run inside a transaction
// (ReadingIn).
type readingInKey struct{}

// ReadingIn returns ctx marked so that Query and QueryRow on tx's
// database with it run inside tx, on its connection, one after the other
// (on SQLite it returns ctx: a read there never waits for a network
// round trip). It is for the reads a feed consumer's Derive makes while
// its step's transaction holds the cursor on PostgreSQL: they take no
// pooled connection, whose server process may have to be woken. The reads see
// what tx has written, and a read's error aborts tx; never iterate one
// read's rows while making another with the context.
func ReadingIn(ctx context.Context, tx *Tx) context.Context {
	if tx.conn == nil {
		return ctx
	}
	return context.WithValue(ctx, readingInKey{}, tx)
}

// readingIn is the transaction ctx's reads on d run in, or nil.
func readingIn(ctx context.Context, d *DB) *Tx {
	tx, _ := ctx.Value(readingInKey{}).(*Tx)
	if tx == nil || tx.db != d {
		return nil
	}
	return tx
}

// onWriterKey marks a context whose reads run on the writer (OnWriter).
type onWriterKey struct{}

// OnWriter returns ctx marked so that Query and QueryRow with it run on
// SQLite's writer connection instead of the reader pool (on PostgreSQL
// nothing changes). SQLite empties a connection's page cache when its
// read transaction begins after another connection wrote, so a reader
// answers the first query after each write from the file; the writer,
// which made the writes, keeps its cache. It is for short reads right
// after a write that touch pages written recently (the eligibility
// re-check of a change). The writer is one connection: never use the
// context inside InTx or a group commit (the read would wait for the
// transaction that waits for it), and not for long scans.
func OnWriter(ctx context.Context) context.Context {
	return context.WithValue(ctx, onWriterKey{}, true)
}

// reader is the pool a read with ctx runs on.
func (d *DB) reader(ctx context.Context) *sql.DB {
	if d.dialect == SQLite && ctx.Value(onWriterKey{}) != nil {
		return d.w
	}
	return d.r
}

// QueryRow runs a single-row read query on the reader pool (inside a
// transaction with a context from ReadingIn).
func (d *DB) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if tx := readingIn(ctx, d); tx != nil {
		return tx.QueryRow(ctx, q, args...)
	}
	return d.reader(ctx).QueryRowContext(ctx, q, args...)
}

// QueryRowUnsynced runs one statement in a transaction of its own whose
// commit does not wait for its WAL flush (PostgreSQL's
// synchronous_commit=off; on SQLite an ordinary write on the writer
// connection). It is for allocations (a block of numbers) whose only
// durable use is by a later transaction that commits synchronously: that
// commit flushes the WAL up to its own record, which lies after the
// allocation's, so a crash can lose an allocation only if nothing durable
// used it.
func (d *DB) QueryRowUnsynced(ctx context.Context, q string, args ...any) *sql.Row {
	if d.unsynced == nil {
		return d.w.QueryRowContext(ctx, q, args...)
	}
	return d.unsynced.QueryRowContext(ctx, q, args...)
}

// Tx is a write transaction with a fixed "now".
type Tx struct {
	// tx runs the statements: the *sql.Tx on SQLite; on PostgreSQL the
	// connection itself, whose BEGIN and COMMIT are sent in the pipelines
	// (see inTxAt).
	tx session
	// stx is the SQLite transaction (nil on PostgreSQL).
	stx *sql.Tx
	// conn, on PostgreSQL, is the connection tx runs on: queued
	// statements and a Deferred flush go through it in pipelines.
	conn *sql.Conn
	now  time.Time
	db   *DB
	// piping is set while the Deferreds flush on PostgreSQL: Exec then
	// queues its statement in piped, sent at the end of the flush.
	piping bool
	piped  []pipedStmt
	// pipeErr is the error of a pipeline sent before a query.
	pipeErr error
	// trips counts the round trips to PostgreSQL (BatchStats.Trips).
	trips int
	// stmtFailed is set when a statement of a pipeline, not its COMMIT,
	// failed (the batch then replays its writes one by one).
	stmtFailed bool
	// lastTag is the command tag of the last statement of the last
	// pipeline (commit checks it).
	lastTag string
	// ids are the row ids reserved for this transaction, by table
	// (PostgreSQL; see Insert); those left at its end go back to db.ids.
	ids map[string][]int64
	// memo holds what Memo loaded, by key.
	memo map[any]any
	// afterCommit runs after a successful commit (e.g. publishing events).
	afterCommit []func()
	// deferred is flushed once before the commit (see Defer).
	deferred []deferredEntry
}

type deferredEntry struct {
	key any
	d   Deferred
}

// Deferred is work a transaction gathers from its writes and does once,
// just before it commits: counters that many writes add to, which group
// commit would otherwise update once per write.
//
// On PostgreSQL the statements a Flush runs with Exec are pipelined: they
// are queued and sent together, in one round trip, when the flush ends
// (or before a query the flush makes). Their Exec returns no error and a
// result without a row count (RowsAffected fails); an error of theirs is
// the error of the flush. The rows a batch's last statements lock (the
// rollup counters every write adds to) are then held for one round trip
// and the commit, not one round trip a statement.
type Deferred interface {
	Flush(ctx context.Context, tx *Tx) error
}

// Defer returns the transaction's Deferred under key, made by mk on first
// use. Its Flush runs once, before the commit; under group commit's
// savepoint replay, at the end of each write, inside its savepoint, so a
// failed write takes its share with it. Nothing in the transaction may
// read what a Deferred will write before it is flushed.
func (t *Tx) Defer(key any, mk func() Deferred) Deferred {
	for _, e := range t.deferred {
		if e.key == key {
			return e.d
		}
	}
	d := mk()
	t.deferred = append(t.deferred, deferredEntry{key, d})
	return d
}

// flushDeferred runs and forgets the gathered Deferreds, and on
// PostgreSQL sends the statements they and the writes queued in one
// pipeline.
func (t *Tx) flushDeferred(ctx context.Context) error {
	if err := t.queueDeferred(ctx); err != nil {
		return err
	}
	return t.sync(ctx)
}

// queueDeferred runs and forgets the gathered Deferreds; on PostgreSQL
// the statements they run with Exec stay queued (the commit sends them).
func (t *Tx) queueDeferred(ctx context.Context) error {
	ds := t.deferred
	t.deferred = nil
	if t.pipeErr != nil {
		return t.pipeErr
	}
	if len(ds) == 0 {
		return nil
	}
	t.piping = t.conn != nil
	defer func() { t.piping = false }()
	for _, e := range ds {
		err := e.d.Flush(ctx, t)
		if t.pipeErr != nil {
			// A queued statement failed before a query of the flush,
			// which then failed on the aborted transaction: the cause
			// is the queued statement's error.
			return t.pipeErr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// pipedStmt is a statement queued by Exec during a Deferred flush.
type pipedStmt struct {
	q    string
	args []any
}

// pipedResult is the result of a queued statement: its row count is not
// known when Exec returns.
type pipedResult struct{}

var errPiped = errors.New("db: a statement of a Deferred flush is pipelined: its result is not known")

func (pipedResult) LastInsertId() (int64, error) { return 0, errPiped }
func (pipedResult) RowsAffected() (int64, error) { return 0, errPiped }

// sendPiped sends the queued statements in one pgx batch (one round trip)
// on tx's connection and reads their results. After an error PostgreSQL
// skips the rest, and the transaction is aborted.
func (t *Tx) sendPiped(ctx context.Context) error {
	stmts := t.piped
	t.piped = nil
	if len(stmts) == 0 {
		return nil
	}
	t.trips++
	err := t.sendBatch(ctx, stmts, func(br pgx.BatchResults) error {
		for i := range stmts {
			tag, err := br.Exec()
			if err != nil {
				var pe *pgconn.PgError
				// The server refused a statement before the COMMIT, and
				// so skipped the COMMIT: nothing was committed.
				t.stmtFailed = errors.As(err, &pe) && (i < len(stmts)-1 || stmts[i].q != "COMMIT")
				return err
			}
			t.lastTag = tag.String()
		}
		return nil
	})
	return Translate(err)
}

// syncPiped sends what a flush has queued before a statement whose result
// the flush needs; an error stays in pipeErr for the flush to return (the
// statement then fails on the aborted transaction).
func (t *Tx) syncPiped(ctx context.Context) {
	if len(t.piped) > 0 && t.pipeErr == nil {
		t.pipeErr = t.sendPiped(ctx)
	}
}

// Now is the instant this transaction happens at.
func (t *Tx) Now() time.Time { return t.now }

// Dialect returns the dialect of the transaction's database.
func (t *Tx) Dialect() Dialect { return t.db.dialect }

// Exec runs a statement, after those queued before it (Queue).
func (t *Tx) Exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if t.piping {
		t.piped = append(t.piped, pipedStmt{q, args})
		return pipedResult{}, nil
	}
	if t.syncPiped(ctx); t.pipeErr != nil {
		return nil, t.pipeErr
	}
	t.trips++
	res, err := t.tx.ExecContext(ctx, q, args...)
	return res, Translate(err)
}

// Query runs a query inside the transaction.
func (t *Tx) Query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	t.syncPiped(ctx)
	t.trips++
	rows, err := t.tx.QueryContext(ctx, q, args...)
	return rows, Translate(err)
}

// QueryRow runs a single-row query inside the transaction.
func (t *Tx) QueryRow(ctx context.Context, q string, args ...any) *sql.Row {
	t.syncPiped(ctx)
	t.trips++
	return t.tx.QueryRowContext(ctx, q, args...)
}

// InsertID runs an INSERT … RETURNING id and returns the id.
func (t *Tx) InsertID(ctx context.Context, q string, args ...any) (int64, error) {
	t.syncPiped(ctx)
	t.trips++
	var id int64
	err := t.tx.QueryRowContext(ctx, q, args...).Scan(&id)
	return id, Translate(err)
}

// AfterCommit registers f to run once the transaction has committed. It never
// runs if the transaction rolls back.
func (t *Tx) AfterCommit(f func()) { t.afterCommit = append(t.afterCommit, f) }

// session runs statements: a *sql.Tx or a *sql.Conn.
type session interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// InTx runs fn in a write transaction. fn's error, or a panic, rolls back.
func (d *DB) InTx(ctx context.Context, fn func(*Tx) error) (err error) {
	return d.inTxAt(ctx, d.Now(), nil, func(tx *Tx) error {
		if err := fn(tx); err != nil {
			return tx.cause(err)
		}
		return nil
	})
}

// InTxDerived is InTx for a transaction that writes only derived data —
// what can be computed again from durable data, such as a change feed
// consumer's results stored with its cursor — and whose commit therefore
// does not wait for its flush to disk: on PostgreSQL the transaction
// runs with SET LOCAL synchronous_commit = off; on SQLite the writer
// connection runs it under synchronous=NORMAL, set before its BEGIN and
// put back after its end, while no other write can use the connection.
// A crash (a power cut, on SQLite) can lose its last such commits, never
// a part of one, and never an InTx or group commit: they still flush,
// and their flush covers the derived commits written before them. See
// docs/DECISIONS.md, "Derived writes commit without waiting for fsync".
func (d *DB) InTxDerived(ctx context.Context, fn func(*Tx) error) error {
	return d.inTxOpt(ctx, d.Now(), nil, true, func(tx *Tx) error {
		if err := fn(tx); err != nil {
			return tx.cause(err)
		}
		return nil
	})
}

// inTxAt is InTx at a given instant (group commit reserves numbers for
// it), with ids reserved for it (PostgreSQL, see Tx.Insert; those it does
// not use go back to the pool).
//
// On PostgreSQL the transaction runs on a connection of its own, without
// database/sql's transaction: its BEGIN is queued (Tx.Queue), so that it
// goes to the server with the first statements, and its COMMIT is sent in
// the pipeline of the last ones. A transaction whose statements all queue
// is then one round trip, its commit included.
func (d *DB) inTxAt(ctx context.Context, now time.Time, ids map[string][]int64, fn func(*Tx) error) (err error) {
	return d.inTxOpt(ctx, now, ids, false, fn)
}

// inTxOpt is inTxAt, for derived data (InTxDerived) when derived is set.
func (d *DB) inTxOpt(ctx context.Context, now time.Time, ids map[string][]int64, derived bool, fn func(*Tx) error) (err error) {
	tx := &Tx{now: now, db: d, ids: ids}
	// The ids the transaction did not use serve the next one.
	defer func() { d.giveBackIDs(tx.ids) }()
	// release, for a derived transaction on SQLite, restores and frees
	// the writer connection: once the transaction has ended, and before
	// the AfterCommit callbacks, which may write.
	var release func(committed bool)
	defer func() {
		if release != nil {
			release(false)
		}
	}()
	switch {
	case d.dialect == Postgres:
		conn, err := d.w.Conn(ctx)
		if err != nil {
			return Translate(err)
		}
		defer conn.Close()
		tx.tx, tx.conn = conn, conn
		tx.piped = append(tx.piped, pipedStmt{q: "BEGIN"})
		if derived {
			// LOCAL: the setting ends with the transaction, so the
			// connection goes back to the pool synchronous.
			tx.piped = append(tx.piped, pipedStmt{q: "SET LOCAL synchronous_commit = off"})
		}
	case derived && d.sync > syncNormal:
		// The writer pool has one connection: holding it from the
		// PRAGMA to its restore keeps every other write off it, so no
		// acknowledged write commits under NORMAL.
		conn, err := d.w.Conn(ctx)
		if err != nil {
			return Translate(err)
		}
		if _, err := conn.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); err != nil {
			conn.Close()
			return Translate(err)
		}
		release = func(committed bool) { release = nil; d.restoreSync(conn, committed) }
		stx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return Translate(err)
		}
		tx.tx, tx.stx = stx, stx
	default:
		stx, err := d.w.BeginTx(ctx, nil)
		if err != nil {
			return Translate(err)
		}
		tx.tx, tx.stx = stx, stx
	}
	defer func() {
		if p := recover(); p != nil {
			tx.rollback()
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		tx.rollback()
		return err
	}
	if err := tx.queueDeferred(ctx); err != nil {
		tx.rollback()
		return err
	}
	if err := tx.commit(ctx); err != nil {
		tx.rollback()
		return err
	}
	if release != nil {
		release(true)
	}
	for _, f := range tx.afterCommit {
		f()
	}
	return nil
}

// syncNormal is SQLite's synchronous=NORMAL: in WAL mode a commit is
// written to the log without waiting for its fsync.
const syncNormal = 1

// restoreSync puts the writer connection back to its synchronous level
// after a derived transaction (ended, committed or rolled back) and
// releases it. A connection that refuses is closed rather than returned
// to the pool under NORMAL (a new one opens with the DSN's level).
func (d *DB) restoreSync(conn *sql.Conn, committed bool) {
	// Not the caller's context: an ended context must not leave the
	// connection unsynchronised.
	ctx := context.Background()
	_, err := conn.ExecContext(ctx, fmt.Sprintf(`PRAGMA synchronous = %d`, d.sync))
	// SQLite ignores the PRAGMA inside a transaction: after a rollback
	// (a cancelled context's may still be under way in database/sql),
	// read it back. After a commit the transaction has ended.
	level := d.sync
	if err == nil && !committed {
		err = conn.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&level)
	}
	if err != nil || level != d.sync {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	conn.Close()
}

// Translate maps driver errors to errs codes; other errors pass through.
func Translate(err error) error {
	if err == nil || errors.Is(err, sql.ErrNoRows) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if _, ok := errs.As(err); ok {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return errs.E(errs.Conflict, "db.duplicate").Wrap(err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return errs.E(errs.Invalid, "db.reference").Wrap(err)
		case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
			return errs.E(errs.Invalid, "db.check").Wrap(err)
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return errs.E(errs.Unavailable, "db.busy").Wrap(err)
		}
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return errs.E(errs.Conflict, "db.duplicate").Wrap(err)
		case "23503":
			return errs.E(errs.Invalid, "db.reference").Wrap(err)
		case "23514", "23502":
			return errs.E(errs.Invalid, "db.check").Wrap(err)
		case "40001", "40P01", "55P03":
			return errs.E(errs.Conflict, "db.retry").Wrap(err)
		}
	}
	return err
}

// Time scans a timestamp from either driver: time.Time, or text in SQLite.
type Time struct{ time.Time }

// Scan implements sql.Scanner.
func (t *Time) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		t.Time = time.Time{}
		return nil
	case time.Time:
		t.Time = x.UTC()
		return nil
	case string:
		return t.parse(x)
	case []byte:
		return t.parse(string(x))
	case int64:
		t.Time = time.UnixMicro(x).UTC()
		return nil
	}
	return fmt.Errorf("db.Time: cannot scan %T", v)
}

func (t *Time) parse(s string) error {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if p, err := time.Parse(layout, s); err == nil {
			t.Time = p.UTC()
			return nil
		}
	}
	return fmt.Errorf("db.Time: cannot parse %q", s)
}

// NullTime is a Time that may be NULL.
type NullTime struct {
	Time  time.Time
	Valid bool
}

// Scan implements sql.Scanner.
func (n *NullTime) Scan(v any) error {
	if v == nil {
		n.Time, n.Valid = time.Time{}, false
		return nil
	}
	var t Time
	if err := t.Scan(v); err != nil {
		return err
	}
	n.Time, n.Valid = t.Time, true
	return nil
}

// PathUpper returns the exclusive upper bound for a prefix range scan on a
// materialised path that ends in "/": path >= p AND path < PathUpper(p).
// Unlike LIKE, the range uses the index in both databases.
func PathUpper(prefix string) string {
	if prefix == "" {
		return ""
	}
	b := []byte(prefix)
	b[len(b)-1]++
	return string(b)
}
