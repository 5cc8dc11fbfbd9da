package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
)

// insertTimer inserts a kernel_timers row (a table with an id sequence
// and a unique key) through Tx.Insert.
func insertTimer(ctx context.Context, tx *db.Tx, name string) (int64, error) {
	return tx.Insert(ctx, "kernel_timers", `INSERT INTO kernel_timers (id, kind, subject, name, due_at, run_at) VALUES ($1, 'test', 's', $2, $3, $3) RETURNING id`,
		name, tx.Now())
}

// TestInsertAndQueue: Tx.Insert answers the id its row is stored with, the
// statements it and Queue queue land in order before the commit and before
// any statement that runs at once, and a queued statement's failure fails
// its transaction with its own error, even when a later query ran on the
// aborted transaction.
func TestInsertAndQueue(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		ids := map[string]int64{}
		var seen int
		err := d.InTx(ctx, func(tx *db.Tx) error {
			for _, n := range []string{"a", "b", "c"} {
				id, err := insertTimer(ctx, tx, n)
				if err != nil {
					return err
				}
				ids[n] = id
			}
			if err := tx.Queue(ctx, `UPDATE kernel_timers SET payload = '1' WHERE name = 'a'`); err != nil {
				return err
			}
			// A query sees what was queued before it.
			return tx.QueryRow(ctx, `SELECT COUNT(*) FROM kernel_timers WHERE kind = 'test' AND payload = 'null'`).Scan(&seen)
		})
		if err != nil {
			t.Fatalf("InTx: %v", err)
		}
		if seen != 2 {
			t.Errorf("the query saw %d untouched rows, want 2 (b, c)", seen)
		}
		for n, id := range ids {
			var got string
			if err := d.QueryRow(ctx, `SELECT name FROM kernel_timers WHERE id = $1`, id).Scan(&got); err != nil || got != n {
				t.Errorf("row %d: got %q (%v), want %q", id, got, err, n)
			}
		}
		if !(ids["a"] < ids["b"] && ids["b"] < ids["c"]) {
			t.Errorf("ids %v: want them rising in the order of the inserts", ids)
		}

		for _, c := range []struct {
			name  string
			after func(ctx context.Context, tx *db.Tx) error
		}{
			{"nothing after it", func(context.Context, *db.Tx) error { return nil }},
			{"a query after it", func(ctx context.Context, tx *db.Tx) error {
				var n int
				return tx.QueryRow(ctx, `SELECT COUNT(*) FROM kernel_timers`).Scan(&n)
			}},
			{"an exec after it", func(ctx context.Context, tx *db.Tx) error {
				_, err := tx.Exec(ctx, `UPDATE kernel_timers SET attempts = 1 WHERE name = 'b'`)
				return err
			}},
		} {
			t.Run("a duplicate with "+c.name, func(t *testing.T) {
				err := d.InTx(ctx, func(tx *db.Tx) error {
					if _, err := insertTimer(ctx, tx, "d"); err != nil {
						return err
					}
					if _, err := insertTimer(ctx, tx, "a"); err != nil {
						return err
					}
					return c.after(ctx, tx)
				})
				if got := errs.CodeOf(err); got != errs.Conflict {
					t.Errorf("InTx: got %v (code %q), want code %q", err, got, errs.Conflict)
				}
				var n int
				if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM kernel_timers WHERE name = 'd' OR attempts = 1`).Scan(&n); err != nil || n != 0 {
					t.Errorf("%d rows of the failed transaction (%v), want 0", n, err)
				}
			})
		}
	})
}

// TestBatchedInsertsFailAlone: under group commit, writes whose INSERTs are
// queued (Tx.Insert) commit in shared transactions, and one that collides
// gets its own conflict while the others of its batch commit.
func TestBatchedInsertsFailAlone(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		b := db.NewBatcherWith(d, db.BatcherOptions{MaxBatch: 16, Lanes: 3})
		defer b.Close()
		const n = 120
		results := make([]error, n)
		ids := make([]int64, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				name := fmt.Sprintf("t%03d", i)
				if i%10 == 0 {
					name = "dup" // only one of these may commit
				}
				results[i] = b.Do(ctx, func(tx *db.Tx) error {
					id, err := insertTimer(ctx, tx, name)
					ids[i] = id
					return err
				})
			})
		}
		wg.Wait()
		ok, dup := 0, 0
		for i, err := range results {
			switch {
			case err == nil:
				ok++
				var name string
				if err := d.QueryRow(ctx, `SELECT name FROM kernel_timers WHERE id = $1`, ids[i]).Scan(&name); err != nil {
					t.Errorf("write %d: its id %d is not stored: %v", i, ids[i], err)
				}
			case errs.CodeOf(err) == errs.Conflict:
				dup++
			default:
				t.Errorf("write %d: %v", i, err)
			}
		}
		if want := n - n/10 + 1; ok != want || dup != n/10-1 {
			t.Errorf("ok %d, duplicates %d; want %d, %d", ok, dup, want, n/10-1)
		}
		var rows int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM kernel_timers`).Scan(&rows); err != nil || rows != ok {
			t.Errorf("%d rows (%v), want %d", rows, err, ok)
		}
	})
}

// TestMemo: a transaction loads a memo once; a failed load is not kept.
func TestMemo(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		loads := 0
		boom := errors.New("boom")
		err := d.InTx(ctx, func(tx *db.Tx) error {
			for i, want := range []error{boom, nil, nil} {
				v, err := tx.Memo("k", func() (any, error) {
					loads++
					if loads == 1 {
						return nil, boom
					}
					return loads, nil
				})
				if !errors.Is(err, want) || (err == nil && v != 2) {
					t.Errorf("call %d: got %v, %v; want 2, %v", i, v, err, want)
				}
			}
			return nil
		})
		if err != nil || loads != 2 {
			t.Errorf("InTx: %v; %d loads, want 2", err, loads)
		}
	})
}

// TestQueryEach: the statements queued before QueryEach (and on
// PostgreSQL the transaction's BEGIN) go in the query's round trip, the
// query sees them, and its rows scan into the types Query scans into; a
// queued statement's failure is QueryEach's error and fails the
// transaction; a row callback's error stops the rows and is returned.
func TestQueryEach(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		type row struct {
			name string
			at   db.Time
			pay  sql.NullString
		}
		var got []row
		var trips int
		err := d.InTx(ctx, func(tx *db.Tx) error {
			for _, n := range []string{"a", "b"} {
				if _, err := insertTimer(ctx, tx, n); err != nil {
					return err
				}
			}
			err := tx.QueryEach(ctx, `SELECT name, due_at, NULLIF(payload, 'null') FROM kernel_timers WHERE kind = $1 ORDER BY name`, []any{"test"},
				func(scan func(...any) error) error {
					var r row
					if err := scan(&r.name, &r.at, &r.pay); err != nil {
						return err
					}
					got = append(got, r)
					return nil
				})
			trips = db.Trips(tx)
			return err
		})
		if err != nil {
			t.Fatalf("InTx: %v", err)
		}
		if len(got) != 2 || got[0].name != "a" || got[1].name != "b" {
			t.Fatalf("got rows %+v, want a and b, queued before the query", got)
		}
		for _, r := range got {
			if !r.at.Equal(t0) || r.pay.Valid {
				t.Errorf("row %s: got at %v and payload %v, want %v and NULL", r.name, r.at.Time, r.pay, t0)
			}
		}
		if want := 1; d.Dialect() == db.Postgres && trips != want {
			t.Errorf("got %d round trips for BEGIN, two queued INSERTs and the query, want %d", trips, want)
		}

		// A queued statement that fails: its error, not the query's.
		err = d.InTx(ctx, func(tx *db.Tx) error {
			if _, err := insertTimer(ctx, tx, "a"); err != nil {
				return err
			}
			return tx.QueryEach(ctx, `SELECT name FROM kernel_timers`, nil, func(func(...any) error) error {
				t.Error("a row after a failed statement")
				return nil
			})
		})
		if !errs.Is(err, errs.Conflict) {
			t.Errorf("a duplicate queued before the query: got %v, want a Conflict", err)
		}

		// The callback's error stops the rows.
		stop := errors.New("stop")
		calls := 0
		err = d.InTx(ctx, func(tx *db.Tx) error {
			return tx.QueryEach(ctx, `SELECT name FROM kernel_timers ORDER BY name`, nil, func(func(...any) error) error {
				calls++
				return stop
			})
		})
		if !errors.Is(err, stop) || calls != 1 {
			t.Errorf("got %v after %d rows, want the callback's error after 1", err, calls)
		}
	})
}

// TestReadingIn: on PostgreSQL a read with ReadingIn's context runs inside
// the transaction (it sees the transaction's own row, which no other
// connection sees before the commit); on SQLite the context is unchanged
// and the read runs outside.
func TestReadingIn(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var inside, outside int
		err := d.InTx(ctx, func(tx *db.Tx) error {
			if _, err := insertTimer(ctx, tx, "uncommitted"); err != nil {
				return err
			}
			const q = `SELECT COUNT(*) FROM kernel_timers WHERE name = 'uncommitted'`
			if err := d.QueryRow(db.ReadingIn(ctx, tx), q).Scan(&inside); err != nil {
				return err
			}
			rows, err := d.Query(db.ReadingIn(ctx, tx), q)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var n int
				if err := rows.Scan(&n); err != nil {
					return err
				}
				inside += n
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if d.Dialect() == db.Postgres {
				return d.QueryRow(ctx, q).Scan(&outside)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("InTx: %v", err)
		}
		want := 2 // QueryRow and Query each see the row
		if d.Dialect() == db.SQLite {
			want = 0 // outside: SQLite's readers do not see the writer's transaction
		}
		if inside != want || outside != 0 {
			t.Errorf("got %d rows seen by the reads with ReadingIn and %d without, want %d and 0", inside, outside, want)
		}
	})
}
