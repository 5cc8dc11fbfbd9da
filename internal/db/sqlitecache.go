package db

import (
	"context"
	"database/sql/driver"
	"reflect"
	"strings"

	"modernc.org/sqlite"
)

// SQLite (modernc) parses and plans every statement run through
// conn.QueryContext and conn.ExecContext; for case intake that was a third
// of the CPU. cachingConnector wraps the driver so each connection keeps
// its prepared statements by query text. database/sql uses a connection
// from one goroutine at a time, so the cache needs no lock; a statement
// whose rows are still open is never reused (a fresh one runs instead).

// maxCachedStmts bounds each connection's cache: queries built from
// optional filters vary, and past the bound they simply run unprepared.
const maxCachedStmts = 256

type cachingConnector struct {
	dsn string
	drv *sqlite.Driver
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return &cachingConn{inner: cn, stmts: map[string]*cachedStmt{}}, nil
}

func (c cachingConnector) Driver() driver.Driver { return c.drv }

type cachedStmt struct {
	s    driver.Stmt
	busy bool
}

type cachingConn struct {
	inner driver.Conn
	stmts map[string]*cachedStmt
}

// stmt returns an idle cached statement for q, preparing it if there is
// room, or nil to run q unprepared.
func (c *cachingConn) stmt(ctx context.Context, q string) *cachedStmt {
	if st, ok := c.stmts[q]; ok {
		if st.busy {
			return nil
		}
		return st
	}
	if len(c.stmts) >= maxCachedStmts || strings.Contains(q, ";") {
		return nil // scripts (migrations) run once
	}
	s, err := c.inner.(driver.ConnPrepareContext).PrepareContext(ctx, q)
	if err != nil {
		return nil // the plain call reports the error
	}
	st := &cachedStmt{s: s}
	c.stmts[q] = st
	return st
}

func (c *cachingConn) QueryContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Rows, error) {
	st := c.stmt(ctx, q)
	if st == nil {
		return c.inner.(driver.QueryerContext).QueryContext(ctx, q, args)
	}
	rows, err := st.s.(driver.StmtQueryContext).QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	st.busy = true
	return &cachedRows{Rows: rows, st: st}, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, q string, args []driver.NamedValue) (driver.Result, error) {
	st := c.stmt(ctx, q)
	if st == nil {
		return c.inner.(driver.ExecerContext).ExecContext(ctx, q, args)
	}
	return st.s.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *cachingConn) Prepare(q string) (driver.Stmt, error) { return c.inner.Prepare(q) }

func (c *cachingConn) PrepareContext(ctx context.Context, q string) (driver.Stmt, error) {
	return c.inner.(driver.ConnPrepareContext).PrepareContext(ctx, q)
}

func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.inner.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *cachingConn) Close() error {
	for _, st := range c.stmts {
		_ = st.s.Close()
	}
	c.stmts = nil
	return c.inner.Close()
}

func (c *cachingConn) Ping(ctx context.Context) error { return c.inner.(driver.Pinger).Ping(ctx) }

func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.inner.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachingConn) IsValid() bool {
	if v, ok := c.inner.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

// cachedRows frees its statement for reuse when closed.
type cachedRows struct {
	driver.Rows
	st *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.st.busy = false
	return err
}

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) ColumnTypeScanType(i int) reflect.Type {
	if t, ok := r.Rows.(driver.RowsColumnTypeScanType); ok {
		return t.ColumnTypeScanType(i)
	}
	return reflect.TypeFor[any]()
}
