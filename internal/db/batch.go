package db

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Batcher is group commit: concurrent writes share one transaction (and so
// one fsync), each inside its own savepoint so that one failing write rolls
// back alone. Do returns only after the shared commit: an acknowledged write
// is durable. SQLite's single writer gains the most; PostgreSQL gains fewer
// WAL flushes, and with several lanes (BatcherOptions.Lanes) keeps that
// many batch transactions in flight at once, so that the writer does not
// wait for one transaction's round trips before starting the next.
type Batcher struct {
	db       *DB
	maxBatch int
	lanes    int
	reserve  ReserveFunc
	jobs     chan *batchJob
	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
	stats    BatchStats
	statsMu  sync.Mutex
}

// BatchStats counts what a Batcher did.
type BatchStats struct {
	Batches int64
	Writes  int64
	Busy    time.Duration // time spent inside batch transactions, summed over the lanes
	Commit  time.Duration // of which committing
	// Reserves counts the ReserveFunc calls (one per key and batch).
	Reserves int64
	// Trips counts the round trips inside the batch transactions on
	// PostgreSQL: each pipeline sent (its BEGIN, queued statements, a
	// Deferred flush, its COMMIT) and each statement run at once. The
	// reservations before them are not counted.
	Trips int64
}

// Stats returns the counters so far.
func (b *Batcher) Stats() BatchStats {
	b.statsMu.Lock()
	defer b.statsMu.Unlock()
	return b.stats
}

type batchJob struct {
	ctx context.Context
	fn  func(*Tx) error
	// key, when not empty, asks for a number reserved under key before
	// the batch's transaction begins (DoNumbered); seq receives it.
	key string
	seq int64
	// tries counts the runs that lost a deadlock (retryable).
	tries int
	done  chan error
}

// maxTries bounds the runs of a write that keeps losing deadlocks.
const maxTries = 4

// retryable reports whether err is PostgreSQL undoing a write to break a
// deadlock or a serialization conflict between concurrent transactions:
// with several lanes, two batches can take the same rows (two repeats of
// one idempotency key) in opposite orders. Such a write did nothing wrong
// and succeeds, or meets the other's committed row, when run again.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// ErrBatcherClosed is returned by Do after Close.
var ErrBatcherClosed = errors.New("db: batcher closed")

// ReserveFunc reserves n consecutive numbers under key for writes that
// will run at now (the batch transaction's Tx.Now), and returns the first.
// It runs outside the batch's transaction, so that a counter row shared
// by every write (a per-district daily number) is locked only for its own
// short statement, not for a whole batch, and parallel lanes do not queue
// on it. A number whose write then fails is not given back.
type ReserveFunc func(ctx context.Context, key string, n int, now time.Time) (first int64, err error)

// BatcherOptions tune a Batcher.
type BatcherOptions struct {
	// MaxBatch is the most writes committed together (at least 1).
	MaxBatch int
	// Lanes is the number of batch transactions in flight at once on
	// PostgreSQL (at least 1). SQLite has one writer connection, so it
	// always gets one lane.
	Lanes int
	// Reserve, optional, allocates the numbers DoNumbered asks for.
	Reserve ReserveFunc
}

// NewBatcher starts a batcher with one lane that commits up to maxBatch
// writes at once.
func NewBatcher(d *DB, maxBatch int) *Batcher {
	return NewBatcherWith(d, BatcherOptions{MaxBatch: maxBatch, Lanes: 1})
}

// NewBatcherWith starts a batcher tuned by o.
func NewBatcherWith(d *DB, o BatcherOptions) *Batcher {
	if o.MaxBatch < 1 {
		o.MaxBatch = 1
	}
	if o.Lanes < 1 || d.Dialect() == SQLite {
		o.Lanes = 1
	}
	b := &Batcher{db: d, maxBatch: o.MaxBatch, lanes: o.Lanes, reserve: o.Reserve, jobs: make(chan *batchJob, o.MaxBatch*4*o.Lanes),
		stop: make(chan struct{}), done: make(chan struct{})}
	var wg sync.WaitGroup
	for range o.Lanes {
		wg.Go(b.loop)
	}
	go func() {
		wg.Wait()
		close(b.done)
	}()
	return b
}

// Lanes returns the number of batch transactions the batcher keeps in
// flight at once.
func (b *Batcher) Lanes() int { return b.lanes }

// Reserves reports whether DoNumbered reserves numbers (the batcher has a
// ReserveFunc).
func (b *Batcher) Reserves() bool { return b.reserve != nil }

// Do runs fn in the next shared transaction and waits for its commit. fn's
// error rolls back fn's own writes only; AfterCommit callbacks registered by
// a failed fn are dropped.
func (b *Batcher) Do(ctx context.Context, fn func(*Tx) error) error {
	return b.enqueue(&batchJob{ctx: ctx, fn: fn, done: make(chan error, 1)})
}

// DoNumbered is Do for a write that needs a number from the batcher's
// ReserveFunc under key: fn gets it. The numbers of one batch and key are
// reserved together, in one call, before the batch's transaction begins,
// for the instant that transaction's Tx.Now will be. If fn fails or its
// batch does not commit, its number stays unused.
func (b *Batcher) DoNumbered(ctx context.Context, key string, fn func(tx *Tx, seq int64) error) error {
	if b.reserve == nil {
		return errors.New("db: DoNumbered on a batcher without a ReserveFunc")
	}
	j := &batchJob{ctx: ctx, key: key, done: make(chan error, 1)}
	j.fn = func(tx *Tx) error { return fn(tx, j.seq) }
	return b.enqueue(j)
}

func (b *Batcher) enqueue(j *batchJob) error {
	select {
	case b.jobs <- j:
	case <-b.stop:
		return ErrBatcherClosed
	case <-j.ctx.Done():
		return j.ctx.Err()
	}
	// Once queued, wait for the outcome even if ctx ends: the write may
	// commit, and the caller must not report a failure for a success.
	return <-j.done
}

// Close stops the batcher after the queued writes are done.
func (b *Batcher) Close() {
	b.once.Do(func() { close(b.stop) })
	<-b.done
}

// loop is one lane: it takes the next batch from the shared queue and
// commits it. Lanes compete for the queue, so a lane that is waiting for
// its database takes nothing from the others.
func (b *Batcher) loop() {
	for {
		var first *batchJob
		select {
		case first = <-b.jobs:
		case <-b.stop:
			// Drain what is queued, then stop.
			for {
				select {
				case j := <-b.jobs:
					b.run([]*batchJob{j})
				default:
					return
				}
			}
		}
		batch := []*batchJob{first}
	fill:
		for len(batch) < b.maxBatch {
			select {
			case j := <-b.jobs:
				batch = append(batch, j)
			default:
				break fill
			}
		}
		b.run(batch)
	}
}

// reserveFor gives each numbered job of batch its number, one ReserveFunc
// call per key, and answers the jobs whose reservation failed. It returns
// the jobs left to run.
func (b *Batcher) reserveFor(batch []*batchJob, now time.Time) []*batchJob {
	var keys []string
	count := map[string]int{}
	for _, j := range batch {
		if j.key == "" {
			continue
		}
		if count[j.key] == 0 {
			keys = append(keys, j.key)
		}
		count[j.key]++
	}
	if len(keys) == 0 {
		return batch
	}
	failed := map[string]error{}
	next := map[string]int64{}
	for _, k := range keys {
		first, err := b.reserve(context.Background(), k, count[k], now)
		if err != nil {
			failed[k] = err
			continue
		}
		next[k] = first
	}
	b.statsMu.Lock()
	b.stats.Reserves += int64(len(keys))
	b.statsMu.Unlock()
	left := batch[:0:0]
	for _, j := range batch {
		if j.key == "" {
			left = append(left, j)
			continue
		}
		if err := failed[j.key]; err != nil {
			j.done <- err
			continue
		}
		j.seq = next[j.key]
		next[j.key]++
		left = append(left, j)
	}
	return left
}

// run commits one batch. The fast path runs every write back to back in
// one transaction; if any write fails, that transaction rolls back and the
// batch is replayed with a savepoint around each write, so a failure
// undoes only its own write. Writes therefore must be safe to run twice
// up to their commit (they only touch the database and AfterCommit).
func (b *Batcher) run(batch []*batchJob) {
	start := time.Now()
	// One instant for the reservations and the transaction, so that a
	// number's day is its write's day.
	now := b.db.Now()
	// One id of each table a write inserts into (Tx.Insert), reserved
	// before the transaction, at the same time as the numbers, so that
	// the writes' statements need no answer and go in one pipeline.
	var ids map[string][]int64
	var idsDone chan struct{}
	if tables := b.db.idTables(); len(tables) > 0 {
		idsDone = make(chan struct{})
		go func() {
			defer close(idsDone)
			// On failure each Insert takes its id itself.
			ids, _ = b.db.takeIDs(context.Background(), tables, len(batch))
		}()
	}
	if b.reserve != nil {
		batch = b.reserveFor(batch, now)
	}
	if idsDone != nil {
		<-idsDone
	}
	if len(batch) == 0 {
		b.db.giveBackIDs(ids)
		return
	}
	var bodyDone time.Time
	errs := make([]error, len(batch))
	failed := errors.New("a write failed")
	var txs []*Tx
	err := b.db.inTxAt(context.Background(), now, ids, func(tx *Tx) error {
		txs = append(txs, tx)
		defer func() { bodyDone = time.Now() }()
		for i, j := range batch {
			if err := j.ctx.Err(); err != nil {
				return failed
			}
			if err := j.fn(tx); err != nil {
				errs[i] = tx.cause(err)
				return failed
			}
		}
		// A failing flush cannot be pinned on one write: replay. On
		// PostgreSQL its statements, and those the writes queued, go
		// with the COMMIT.
		if err := tx.queueDeferred(context.Background()); err != nil {
			return failed
		}
		return nil
	})
	// A statement refused in the COMMIT's pipeline cannot be pinned on
	// one write either; the COMMIT was skipped, so replaying is safe.
	if errors.Is(err, failed) || (err != nil && len(txs) > 0 && txs[0].stmtFailed) {
		errs = make([]error, len(batch))
		// The first transaction gave its ids back; the replay takes
		// them again.
		ids, _ = b.db.takeIDs(context.Background(), b.db.idTables(), len(batch))
		err = b.db.inTxAt(context.Background(), now, ids, func(tx *Tx) error {
			txs = append(txs, tx)
			defer func() { bodyDone = time.Now() }()
			return b.isolated(tx, batch, errs)
		})
	}
	end := time.Now()
	b.statsMu.Lock()
	b.stats.Batches++
	b.stats.Writes += int64(len(batch))
	b.stats.Busy += end.Sub(start)
	for _, tx := range txs {
		b.stats.Trips += int64(tx.trips)
	}
	if !bodyDone.IsZero() {
		b.stats.Commit += end.Sub(bodyDone)
	}
	b.statsMu.Unlock()
	var again []*batchJob
	for i, j := range batch {
		if err != nil && errs[i] == nil {
			errs[i] = err // the commit failed: nothing of the batch is durable
		}
		if retryable(errs[i]) && j.tries+1 < maxTries && j.ctx.Err() == nil {
			// The rest of the batch has committed and let go of its rows:
			// run the loser again, in a batch of its own retries.
			j.tries++
			again = append(again, j)
			continue
		}
		j.done <- errs[i]
	}
	if len(again) > 0 {
		b.run(again)
	}
}

// isolated runs each write under its own savepoint.
func (b *Batcher) isolated(tx *Tx, batch []*batchJob, errs []error) error {
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		sp := fmt.Sprintf("w%d", i)
		if _, err := tx.Exec(j.ctx, "SAVEPOINT "+sp); err != nil {
			return err
		}
		mark := len(tx.afterCommit)
		// The write's queued statements are sent before its savepoint
		// ends (flushDeferred), so that their error is the write's.
		err := j.fn(tx)
		if err == nil {
			err = tx.flushDeferred(j.ctx)
		}
		if err != nil {
			errs[i] = tx.cause(err)
			tx.deferred = nil
			tx.afterCommit = tx.afterCommit[:mark]
			tx.dropQueued()
			if _, rerr := tx.Exec(context.Background(), "ROLLBACK TO SAVEPOINT "+sp); rerr != nil {
				return rerr
			}
		}
		if _, err := tx.Exec(context.Background(), "RELEASE SAVEPOINT "+sp); err != nil {
			return err
		}
	}
	return nil
}
