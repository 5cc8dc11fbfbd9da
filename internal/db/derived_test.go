package db_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
)

// syncSetting is the writer's commit setting as a transaction sees it:
// SQLite's synchronous level (2 FULL, 1 NORMAL), PostgreSQL's
// synchronous_commit.
func syncSetting(ctx context.Context, t *testing.T, tx *db.Tx) string {
	t.Helper()
	q := `SELECT current_setting('synchronous_commit')`
	if tx.Dialect() == db.SQLite {
		q = `SELECT CAST(synchronous AS TEXT) FROM pragma_synchronous`
	}
	var s string
	if err := tx.QueryRow(ctx, q).Scan(&s); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestInTxDerived checks that a derived transaction commits without
// waiting for its flush, and that the writer is synchronous again after
// it, whether it committed, failed or panicked; an ordinary write after
// it must flush.
func TestInTxDerived(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		synced, unsynced := "2", "1"
		if d.Dialect() == db.Postgres {
			synced, unsynced = "on", "off"
		}
		writerSetting := func() string {
			var s string
			if err := d.InTx(ctx, func(tx *db.Tx) error { s = syncSetting(ctx, t, tx); return nil }); err != nil {
				t.Fatal(err)
			}
			return s
		}
		if got := writerSetting(); got != synced {
			t.Fatalf("an ordinary transaction runs with %s, want %s", got, synced)
		}
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `CREATE TABLE derived_rows (id INTEGER PRIMARY KEY, v TEXT NOT NULL)`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		count := func() int {
			var n int
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM derived_rows`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		// Committed: the row is there, the transaction ran unsynced.
		err := d.InTxDerived(ctx, func(tx *db.Tx) error {
			if got := syncSetting(ctx, t, tx); got != unsynced {
				t.Errorf("the derived transaction runs with %s, want %s", got, unsynced)
			}
			_, err := tx.Exec(ctx, `INSERT INTO derived_rows (id, v) VALUES ($1, $2)`, 1, "a")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := count(); n != 1 {
			t.Errorf("after a committed derived transaction: %d rows, want 1", n)
		}
		if got := writerSetting(); got != synced {
			t.Errorf("after a committed derived transaction the writer runs with %s, want %s", got, synced)
		}

		// Failed after a write: nothing stays, the writer is synced.
		boom := errors.New("boom")
		err = d.InTxDerived(ctx, func(tx *db.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO derived_rows (id, v) VALUES ($1, $2)`, 2, "b"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("failed derived transaction: %v, want boom", err)
		}
		if n := count(); n != 1 {
			t.Errorf("after a failed derived transaction: %d rows, want 1", n)
		}
		if got := writerSetting(); got != synced {
			t.Errorf("after a failed derived transaction the writer runs with %s, want %s", got, synced)
		}

		// Panicked: the same.
		func() {
			defer func() { _ = recover() }()
			_ = d.InTxDerived(ctx, func(tx *db.Tx) error { panic("derived") })
		}()
		if got := writerSetting(); got != synced {
			t.Errorf("after a panicking derived transaction the writer runs with %s, want %s", got, synced)
		}

		// Its AfterCommit callbacks run once the writer is back to synced
		// and free: one that writes neither waits for the derived
		// transaction (a deadlock, cut here by the timeout) nor commits
		// unsynced.
		var after string
		var afterErr error
		err = d.InTxDerived(ctx, func(tx *db.Tx) error {
			tx.AfterCommit(func() {
				actx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				afterErr = d.InTx(actx, func(tx *db.Tx) error { after = syncSetting(actx, t, tx); return nil })
			})
			return nil
		})
		if err != nil || afterErr != nil {
			t.Fatalf("a write after a derived commit: %v, %v", err, afterErr)
		}
		if after != synced {
			t.Errorf("a write after a derived commit runs with %s, want %s", after, synced)
		}

		// Group commit after it commits synced too.
		b := db.NewBatcher(d, 4)
		defer b.Close()
		var inBatch string
		if err := b.Do(ctx, func(tx *db.Tx) error { inBatch = syncSetting(ctx, t, tx); return nil }); err != nil {
			t.Fatal(err)
		}
		if inBatch != synced {
			t.Errorf("group commit after a derived transaction runs with %s, want %s", inBatch, synced)
		}
	})
}

// TestOnWriter checks that a read with an OnWriter context runs on
// SQLite's writer connection (the readers are query_only) and that
// without it reads stay on the reader pool; PostgreSQL ignores the mark.
func TestOnWriter(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		if d.Dialect() != db.SQLite {
			var n int
			if err := d.QueryRow(db.OnWriter(context.Background()), `SELECT 1`).Scan(&n); err != nil || n != 1 {
				t.Errorf("a read on PostgreSQL with OnWriter: %d, %v", n, err)
			}
			return
		}
		queryOnly := func(ctx context.Context) int {
			var n int
			if err := d.QueryRow(ctx, `SELECT query_only FROM pragma_query_only`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			rows, err := d.Query(ctx, `SELECT query_only FROM pragma_query_only`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var m int
				if err := rows.Scan(&m); err != nil {
					t.Fatal(err)
				}
				if m != n {
					t.Errorf("Query ran with query_only %d, QueryRow with %d", m, n)
				}
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if got := queryOnly(context.Background()); got != 1 {
			t.Errorf("a plain read ran with query_only %d, want 1 (a reader)", got)
		}
		if got := queryOnly(db.OnWriter(context.Background())); got != 0 {
			t.Errorf("a read with OnWriter ran with query_only %d, want 0 (the writer)", got)
		}
	})
}
