package db

import (
	"context"
	"database/sql"
	"testing"

	"modernc.org/sqlite"
)

// TestReaderScanLeavesTheWritersCache: a reader that scans a table larger
// than its own page cache leaves the writer's cached pages alone, so the
// writer reads its pages again without going to the file. All of a
// process's connections share one budget of cached pages (see openSQLite),
// and before the readers read through a memory map, such a scan took the
// writer's pages over: the writer then read every one of them from the
// file again (1,004 misses here). It counts cache misses, not time, and
// does not run in parallel: the budget is the whole process's.
func TestReaderScanLeavesTheWritersCache(t *testing.T) {
	ctx := context.Background()
	d, err := Open(ctx, Config{DataDir: t.TempDir()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	w, err := d.w.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// A row of 3,000 bytes takes a page of its own: hot has 1,000 pages,
	// cold 4,000, eight times a reader's cache of 2 MB.
	for _, q := range []string{`CREATE TABLE hot (id INTEGER PRIMARY KEY, v BLOB)`, `CREATE TABLE cold (id INTEGER PRIMARY KEY, v BLOB)`} {
		if _, err := w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	rows := `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) SELECT randomblob(3000) FROM n`
	for table, n := range map[string]int{"hot": 1000, "cold": 4000} {
		if _, err := w.ExecContext(ctx, `INSERT INTO `+table+` (v) `+rows, n); err != nil {
			t.Fatal(err)
		}
	}
	// The reader reads the file, not the WAL; the writer starts with no
	// pages cached.
	for _, q := range []string{`PRAGMA wal_checkpoint(TRUNCATE)`, `PRAGMA shrink_memory`} {
		if _, err := w.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	sum := func(q *sql.Row) {
		t.Helper()
		var n int64
		if err := q.Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	misses := func() int {
		t.Helper()
		var n int
		err := w.Raw(func(dc any) error {
			var err error
			n, _, err = dc.(*cachingConn).inner.(sqlite.DBStatus).Status(sqlite.DBStatusCacheMiss, false)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	hot := `SELECT SUM(LENGTH(v)) FROM hot`
	sum(w.QueryRowContext(ctx, hot))
	before := misses()
	sum(w.QueryRowContext(ctx, hot))
	if got := misses() - before; got != 0 {
		t.Fatalf("the writer's second read of hot missed %d pages, want 0", got)
	}
	sum(d.r.QueryRowContext(ctx, `SELECT SUM(LENGTH(v)) FROM cold`))
	before = misses()
	sum(w.QueryRowContext(ctx, hot))
	if got := misses() - before; got > 10 {
		t.Errorf("after a reader's scan of cold, the writer's read of hot missed %d of its 1,000 pages, want none", got)
	}
}
