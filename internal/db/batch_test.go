package db_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
)

func TestBatcher(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		b := db.NewBatcher(d, 16)
		defer b.Close()
		var committed atomic.Int64
		var wg sync.WaitGroup
		results := make([]error, 200)
		for i := range results {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				code := fmt.Sprintf("R%03d", i)
				if i%10 == 0 {
					code = "DUP" // every tenth collides with the others: only one may win
				}
				results[i] = b.Do(ctx, func(tx *db.Tx) error {
					tx.AfterCommit(func() { committed.Add(1) })
					_, err := tx.Exec(ctx, `INSERT INTO regions (code, name, level, path, geometry, min_lng, min_lat, max_lng, max_lat, interior_lng, interior_lat, created_at, updated_at)
						VALUES ($1, 'x', 'city', $2, '{}', 0, 0, 1, 1, 0.5, 0.5, $3, $3)`, code, "/"+code+"/", tx.Now())
					if err == nil && i == 7 {
						return errors.New("caller changed its mind") // rolls back its own insert only
					}
					return err
				})
			}(i)
		}
		wg.Wait()
		ok, dup, other := 0, 0, 0
		for _, err := range results {
			switch {
			case err == nil:
				ok++
			case errs.CodeOf(err) == errs.Conflict:
				dup++
			default:
				other++
			}
		}
		// 180 distinct codes minus the one that changed its mind, plus one DUP.
		if ok != 180 || dup != 19 || other != 1 {
			t.Errorf("ok %d, duplicates %d, other %d; want 180, 19, 1", ok, dup, other)
		}
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM regions`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != ok {
			t.Errorf("%d rows, want %d (one per acknowledged write)", n, ok)
		}
		if got := committed.Load(); got != int64(ok) {
			t.Errorf("%d after-commit callbacks ran, want %d", got, ok)
		}
	})
}

// tally is a Deferred that adds the writes' shares to one counter row.
type tally struct {
	n       int
	flushes *atomic.Int64
}

func (c *tally) Flush(ctx context.Context, tx *db.Tx) error {
	c.flushes.Add(1)
	_, err := tx.Exec(ctx, `UPDATE regions SET name = CAST(CAST(name AS INTEGER) + $1 AS TEXT) WHERE code = 'TALLY'`, c.n)
	return err
}

type tallyKey struct{}

// TestDeferredUnderGroupCommit: the writes of a batch add to one Deferred,
// flushed once per transaction; when the batch is replayed because a write
// failed, the failed write's share is not counted.
func TestDeferredUnderGroupCommit(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO regions (code, name, level, path, geometry, min_lng, min_lat, max_lng, max_lat, interior_lng, interior_lat, created_at, updated_at)
				VALUES ('TALLY', '0', 'city', '/TALLY/', '{}', 0, 0, 1, 1, 0.5, 0.5, $1, $1)`, tx.Now())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		b := db.NewBatcher(d, 32)
		defer b.Close()
		var flushes atomic.Int64
		var wg sync.WaitGroup
		const writes = 100
		results := make([]error, writes)
		for i := range writes {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				results[i] = b.Do(ctx, func(tx *db.Tx) error {
					tx.Defer(tallyKey{}, func() db.Deferred { return &tally{flushes: &flushes} }).(*tally).n++
					if i%25 == 3 {
						return errors.New("this write fails after adding its share")
					}
					return nil
				})
			}(i)
		}
		wg.Wait()
		failed := 0
		for _, err := range results {
			if err != nil {
				failed++
			}
		}
		var got string
		if err := d.QueryRow(ctx, `SELECT name FROM regions WHERE code = 'TALLY'`).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprint(writes - failed); failed != 4 || got != want {
			t.Errorf("tally %s after %d failed writes, want %s after 4", got, failed, want)
		}
		if st := b.Stats(); flushes.Load() >= writes || st.Batches >= writes {
			t.Errorf("%d flushes for %d writes in %d batches: the Deferred was not shared", flushes.Load(), writes, st.Batches)
		}
		// Outside group commit, InTx flushes before its commit.
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			tx.Defer(tallyKey{}, func() db.Deferred { return &tally{flushes: &flushes} }).(*tally).n += 5
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := d.QueryRow(ctx, `SELECT name FROM regions WHERE code = 'TALLY'`).Scan(&got); err != nil || got != fmt.Sprint(writes-failed+5) {
			t.Errorf("after InTx: tally %s (%v), want %d", got, err, writes-failed+5)
		}
	})
}
