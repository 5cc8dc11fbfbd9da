package db

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Batcher is group commit: concurrent writes share one transaction (and so
// one fsync), each inside its own savepoint so that one failing write rolls
// back alone. Do returns only after the shared commit: an acknowledged write
// is durable. SQLite's single writer gains the most; PostgreSQL gains fewer
// WAL flushes.
type Batcher struct {
	db       *DB
	maxBatch int
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
	Busy    time.Duration // time spent inside batch transactions
	Commit  time.Duration // of which committing
}

// Stats returns the counters so far.
func (b *Batcher) Stats() BatchStats {
	b.statsMu.Lock()
	defer b.statsMu.Unlock()
	return b.stats
}

type batchJob struct {
	ctx  context.Context
	fn   func(*Tx) error
	done chan error
}

// ErrBatcherClosed is returned by Do after Close.
var ErrBatcherClosed = errors.New("db: batcher closed")

// NewBatcher starts a batcher that commits up to maxBatch writes at once.
func NewBatcher(d *DB, maxBatch int) *Batcher {
	if maxBatch < 1 {
		maxBatch = 1
	}
	b := &Batcher{db: d, maxBatch: maxBatch, jobs: make(chan *batchJob, maxBatch*4), stop: make(chan struct{}), done: make(chan struct{})}
	go b.loop()
	return b
}

// Do runs fn in the next shared transaction and waits for its commit. fn's
// error rolls back fn's own writes only; AfterCommit callbacks registered by
// a failed fn are dropped.
func (b *Batcher) Do(ctx context.Context, fn func(*Tx) error) error {
	j := &batchJob{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case b.jobs <- j:
	case <-b.stop:
		return ErrBatcherClosed
	case <-ctx.Done():
		return ctx.Err()
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

func (b *Batcher) loop() {
	defer close(b.done)
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

// run commits one batch. The fast path runs every write back to back in
// one transaction; if any write fails, that transaction rolls back and the
// batch is replayed with a savepoint around each write, so a failure
// undoes only its own write. Writes therefore must be safe to run twice
// up to their commit (they only touch the database and AfterCommit).
func (b *Batcher) run(batch []*batchJob) {
	start := time.Now()
	var bodyDone time.Time
	errs := make([]error, len(batch))
	failed := errors.New("a write failed")
	err := b.db.InTx(context.Background(), func(tx *Tx) error {
		defer func() { bodyDone = time.Now() }()
		for i, j := range batch {
			if err := j.ctx.Err(); err != nil {
				return failed
			}
			if err := j.fn(tx); err != nil {
				errs[i] = err
				return failed
			}
		}
		// A failing flush cannot be pinned on one write: replay.
		if err := tx.flushDeferred(context.Background()); err != nil {
			return failed
		}
		return nil
	})
	if errors.Is(err, failed) {
		errs = make([]error, len(batch))
		err = b.db.InTx(context.Background(), func(tx *Tx) error {
			defer func() { bodyDone = time.Now() }()
			return b.isolated(tx, batch, errs)
		})
	}
	end := time.Now()
	b.statsMu.Lock()
	b.stats.Batches++
	b.stats.Writes += int64(len(batch))
	b.stats.Busy += end.Sub(start)
	if !bodyDone.IsZero() {
		b.stats.Commit += end.Sub(bodyDone)
	}
	b.statsMu.Unlock()
	for i, j := range batch {
		if err != nil && errs[i] == nil {
			errs[i] = err // the commit failed: nothing of the batch is durable
		}
		j.done <- errs[i]
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
		err := j.fn(tx)
		if err == nil {
			err = tx.flushDeferred(j.ctx)
		}
		if err != nil {
			errs[i] = err
			tx.deferred = nil
			tx.afterCommit = tx.afterCommit[:mark]
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
