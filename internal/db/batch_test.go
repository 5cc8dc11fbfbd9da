package db_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// TestBatcherLanes: with several lanes and numbers reserved outside the
// batch transactions, every acknowledged write is committed with a number
// of its own, the failed writes leave only unused numbers behind, and on
// PostgreSQL two lanes really hold transactions open at once.
func TestBatcherLanes(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `CREATE TABLE test_counters (k TEXT PRIMARY KEY, seq BIGINT NOT NULL)`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var reserveNow []time.Time
		var mu sync.Mutex
		reserve := func(ctx context.Context, key string, n int, now time.Time) (int64, error) {
			mu.Lock()
			reserveNow = append(reserveNow, now)
			mu.Unlock()
			var last int64
			err := d.QueryRowUnsynced(ctx, `INSERT INTO test_counters (k, seq) VALUES ($1, $2)
				ON CONFLICT (k) DO UPDATE SET seq = test_counters.seq + excluded.seq RETURNING seq`, key, n).Scan(&last)
			return last - int64(n) + 1, err
		}
		b := db.NewBatcherWith(d, db.BatcherOptions{MaxBatch: 8, Lanes: 4, Reserve: reserve})
		defer b.Close()
		wantLanes := map[db.Dialect]int{db.SQLite: 1, db.Postgres: 4}[d.Dialect()]
		if got := b.Lanes(); got != wantLanes {
			t.Errorf("lanes: got %d, want %d", got, wantLanes)
		}
		const writes = 200
		results := make([]error, writes)
		seqs := make([]int64, writes)
		var wg sync.WaitGroup
		for i := range writes {
			wg.Go(func() {
				key := []string{"A", "B"}[i%2]
				results[i] = b.DoNumbered(ctx, key, func(tx *db.Tx, seq int64) error {
					if !tx.Now().Equal(d.Now()) { // the fake clock stands still
						return fmt.Errorf("tx.Now %v, want %v", tx.Now(), d.Now())
					}
					seqs[i] = seq
					_, err := tx.Exec(ctx, `INSERT INTO regions (code, name, level, path, geometry, min_lng, min_lat, max_lng, max_lat, interior_lng, interior_lat, created_at, updated_at)
						VALUES ($1, 'x', 'city', $2, '{}', 0, 0, 1, 1, 0.5, 0.5, $3, $3)`, fmt.Sprintf("%s%06d", key, seq), fmt.Sprintf("/%d/", i), tx.Now())
					if err == nil && i%20 == 7 {
						return errors.New("this write fails after using its number")
					}
					return err
				})
			})
		}
		wg.Wait()
		ok, wantRows := map[string]int{}, map[string]int{}
		for i, err := range results {
			if i%20 != 7 {
				wantRows[[]string{"A", "B"}[i%2]]++
			}
			key := []string{"A", "B"}[i%2]
			switch {
			case i%20 == 7 && err == nil:
				t.Errorf("write %d: got no error, want its own", i)
			case i%20 == 7:
			case err != nil:
				t.Errorf("write %d (seq %d): %v", i, seqs[i], err)
			default:
				ok[key]++
				var n int
				if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM regions WHERE code = $1`, fmt.Sprintf("%s%06d", key, seqs[i])).Scan(&n); err != nil || n != 1 {
					t.Errorf("write %d acknowledged with seq %d: %d rows (%v), want 1", i, seqs[i], n, err)
				}
			}
		}
		for _, key := range []string{"A", "B"} {
			var rows, counter int
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM regions WHERE code LIKE $1`, key+"%").Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if err := d.QueryRow(ctx, `SELECT seq FROM test_counters WHERE k = $1`, key).Scan(&counter); err != nil {
				t.Fatal(err)
			}
			// 100 writes a key; the numbers of the failed ones stay unused.
			if rows != ok[key] || rows != wantRows[key] || counter != 100 {
				t.Errorf("key %s: %d rows for %d acknowledged writes, counter %d; want %d, %[4]d, 100", key, rows, ok[key], counter, wantRows[key])
			}
		}
		for _, at := range reserveNow {
			if !at.Equal(d.Now()) {
				t.Errorf("reserved for %v, want the batch's now %v", at, d.Now())
			}
		}
		if st := b.Stats(); st.Reserves >= writes {
			t.Errorf("%d reservations for %d writes: want one per key and batch", st.Reserves, writes)
		}
		if wantLanes < 2 {
			return
		}
		// Two writes in two lanes at once: the first waits, inside its
		// transaction, for the second to start in its own.
		started := make(chan struct{})
		first := make(chan error, 1)
		inFirst := make(chan struct{})
		var once sync.Once // a failed write is replayed
		go func() {
			first <- b.Do(ctx, func(tx *db.Tx) error {
				once.Do(func() { close(inFirst) })
				select {
				case <-started:
					return nil
				case <-time.After(30 * time.Second):
					return errors.New("the second write never started beside the first")
				}
			})
		}()
		<-inFirst
		if err := b.Do(ctx, func(tx *db.Tx) error { close(started); return nil }); err != nil {
			t.Errorf("second write: %v", err)
		}
		if err := <-first; err != nil {
			t.Errorf("first write: %v", err)
		}
	})
}

// inserts is a Deferred whose Flush inserts its regions with Exec, then
// counts them with a query, as a rollup flush might read what it wrote.
type inserts struct {
	codes []string
	seen  *int
	rows  *error // RowsAffected's error for the first insert
}

func (f *inserts) Flush(ctx context.Context, tx *db.Tx) error {
	for i, code := range f.codes {
		res, err := tx.Exec(ctx, `INSERT INTO regions (code, name, level, path, geometry, min_lng, min_lat, max_lng, max_lat, interior_lng, interior_lat, created_at, updated_at)
			VALUES ($1, 'x', 'city', $2, '{}', 0, 0, 1, 1, 0.5, 0.5, $3, $3)`, code, "/"+code+"/", tx.Now())
		if err != nil {
			return err
		}
		if i == 0 {
			_, *f.rows = res.RowsAffected()
		}
	}
	if f.seen == nil {
		return nil
	}
	return tx.QueryRow(ctx, `SELECT COUNT(*) FROM regions WHERE code LIKE 'P%'`).Scan(f.seen)
}

type insertsKey struct{}

// lastKey keys a second Deferred, flushed last, that runs no query.
type lastKey struct{}

// TestDeferredFlushPipelines: the statements of a Deferred flush all
// land, a query inside the flush sees those queued before it, and a
// failing one fails the flush (and so the transaction) with its own
// error. On PostgreSQL they are pipelined, so their row counts are not
// known; on SQLite they run one by one.
func TestDeferredFlushPipelines(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		for _, c := range []struct {
			name     string
			codes    []string
			wantErr  errs.Code
			wantRows int
		}{
			{"three inserts", []string{"P1", "P2", "P3"}, "", 4},
			{"a duplicate among them", []string{"P4", "P1", "P5"}, errs.Conflict, 4},
		} {
			t.Run(c.name, func(t *testing.T) {
				var seen int
				var rowsErr error
				err := d.InTx(ctx, func(tx *db.Tx) error {
					tx.Defer(insertsKey{}, func() db.Deferred { return &inserts{codes: c.codes, seen: &seen, rows: &rowsErr} })
					// Nothing after this one's statements reads: only
					// the end of the flush sends them.
					var lastRows error
					tx.Defer(lastKey{}, func() db.Deferred { return &inserts{codes: []string{"P" + c.codes[0]}, rows: &lastRows} })
					return nil
				})
				if got := errs.CodeOf(err); got != c.wantErr || (c.wantErr == "" && err != nil) {
					t.Errorf("InTx: got %v (code %q), want code %q", err, got, c.wantErr)
				}
				if err == nil && seen != len(c.codes) {
					t.Errorf("the flush's query saw %d of its %d inserts", seen, len(c.codes))
				}
				if wantPiped := d.Dialect() == db.Postgres; (rowsErr != nil) != wantPiped {
					t.Errorf("RowsAffected of a flush's Exec: got error %v, want one: %v", rowsErr, wantPiped)
				}
				var n int
				if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM regions WHERE code LIKE 'P%'`).Scan(&n); err != nil || n != c.wantRows {
					t.Errorf("%d rows (%v), want %d", n, err, c.wantRows)
				}
			})
		}
	})
}
