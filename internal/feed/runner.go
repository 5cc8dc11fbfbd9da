package feed

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"whistle/internal/db"
	"whistle/internal/errs"
)

// Consumer reads the feed from its own stored cursor.
//
// Delivery is at least once: Handle gets each batch in position order, and
// the cursor moves past the batch only after Handle returns nil. An error,
// or a crash before the cursor is stored, hands the same events again, so
// Handle must tolerate repeats (a consumer that writes to the database can
// make them harmless by keying its rows on the position).
type Consumer struct {
	// Name keys the stored cursor; renaming a consumer starts it over.
	Name string
	// Handle processes a batch of events.
	Handle func(ctx context.Context, evs []Event) error
	// HandleTx, instead of Handle, processes a batch inside the
	// transaction that then stores the cursor: a consumer that writes to
	// the database (notifications, indicators) has its writes and its
	// progress commit together, so it sees each event exactly once. On
	// SQLite that transaction holds the single writer while HandleTx runs:
	// keep it short.
	HandleTx func(ctx context.Context, tx *db.Tx, evs []Event) error
	// Derive, instead of Handle or HandleTx, is for a consumer whose
	// writes are derived data (results computed from what the events
	// name): it reads and computes outside any write transaction and
	// returns its writes, or nil for none. The runner runs them in the
	// transaction that stores the cursor, which commits without waiting
	// for its flush (db.InTxDerived): a crash may lose the last batches'
	// writes, but then their cursor too, so they are handed over again.
	// Work that must be durable by itself belongs in Derive, before it
	// returns (it is then repeated with the batch after a failure). On
	// SQLite a batch with nothing to write commits nothing at once: its
	// cursor is stored with a later batch, or when the runner is idle
	// (consumeDerived).
	Derive func(ctx context.Context, evs []Event) (write func(ctx context.Context, tx *db.Tx) error, err error)
}

// handlers counts the consumer's handling functions (one is valid).
func (c Consumer) handlers() int {
	n := 0
	for _, set := range []bool{c.Handle != nil, c.HandleTx != nil, c.Derive != nil} {
		if set {
			n++
		}
	}
	return n
}

// RunnerConfig tunes a Runner; zero fields take the defaults.
type RunnerConfig struct {
	// Batch is the most events handed to one Handle call (default 500).
	Batch int
	// Poll is how often the runner looks without being nudged (default
	// 1 s): it catches events other replicas wrote, and retries after an
	// error.
	Poll time.Duration
	// Retain is how long events stay after every consumer has passed
	// them; zero never prunes.
	Retain time.Duration
	// Logger gets consumer errors; nil discards them.
	Logger *slog.Logger
}

// Runner sequences the feed (on PostgreSQL) and runs its consumers. Every
// replica may run one: the sequencer and each consumer take a database lock
// for their step (FOR UPDATE SKIP LOCKED), so on one database one replica
// sequences at a time and one replica runs each consumer at a time. On
// SQLite there is one server per database file.
type Runner struct {
	db        *db.DB
	cfg       RunnerConfig
	consumers []Consumer
	wake      chan struct{}
	lastPrune time.Time
	ensured   bool // every consumer has a cursor row
	statsMu   sync.Mutex
	stats     Stats
	// cursors, on SQLite, are the Derive consumers' positions: the next
	// step reads after one without asking the database (one server runs
	// a file's consumers), and a batch with nothing to write moves it
	// here only (see consumeDerived).
	cursorsMu sync.Mutex
	cursors   map[string]cursorState
}

// cursorState is a Derive consumer's position as this runner knows it.
type cursorState struct {
	pos int64
	// unstored is set while pos is ahead of the stored cursor: since
	// then, the first batch that moved it without a commit.
	unstored time.Time
}

// cursor returns what the runner knows of consumer's position.
func (r *Runner) cursor(consumer string) (cursorState, bool) {
	r.cursorsMu.Lock()
	defer r.cursorsMu.Unlock()
	st, ok := r.cursors[consumer]
	return st, ok
}

// setCursor records consumer's position, or forgets it (known false)
// after a transaction whose outcome is not known.
func (r *Runner) setCursor(consumer string, st cursorState, known bool) {
	r.cursorsMu.Lock()
	defer r.cursorsMu.Unlock()
	if !known {
		delete(r.cursors, consumer)
		return
	}
	if r.cursors == nil {
		r.cursors = map[string]cursorState{}
	}
	r.cursors[consumer] = st
}

// Stats counts what a Runner's consumers were handed.
type Stats struct {
	// Events and Batches count what Handle accepted (repeats included).
	Events, Batches int64
	// LagSum and LagMax measure, per event, the time from its
	// transaction's start (Event.At) to Handle's return: the change's own
	// transaction, its commit, sequencing and the wait for a wake-up.
	LagSum, LagMax time.Duration
}

// LagMean is the mean lag per event.
func (s Stats) LagMean() time.Duration {
	if s.Events == 0 {
		return 0
	}
	return s.LagSum / time.Duration(s.Events)
}

// Stats returns the counters so far.
func (r *Runner) Stats() Stats {
	r.statsMu.Lock()
	defer r.statsMu.Unlock()
	return r.stats
}

// count adds a batch Handle accepted to the counters.
func (r *Runner) count(evs []Event) {
	now := time.Now()
	r.statsMu.Lock()
	defer r.statsMu.Unlock()
	r.stats.Batches++
	for _, e := range evs {
		lag := now.Sub(e.At)
		r.stats.Events++
		r.stats.LagSum += lag
		r.stats.LagMax = max(r.stats.LagMax, lag)
	}
}

// NewRunner returns a Runner of consumers on d. It refuses an empty or
// repeated consumer name, or a consumer without Handle.
func NewRunner(d *db.DB, cfg RunnerConfig, consumers ...Consumer) (*Runner, error) {
	if cfg.Batch <= 0 {
		cfg.Batch = 500
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	seen := map[string]bool{}
	for _, c := range consumers {
		if c.Name == "" || seen[c.Name] || c.handlers() != 1 {
			return nil, fmt.Errorf("feed.NewRunner: consumer %q: a consumer needs a unique name and one of Handle, HandleTx or Derive", c.Name)
		}
		seen[c.Name] = true
	}
	return &Runner{db: d, cfg: cfg, consumers: consumers, wake: make(chan struct{}, 1)}, nil
}

// Add adds a consumer built after the runner (one that needs a service
// the runner was handed to). Call it before Run; it refuses what
// NewRunner refuses.
func (r *Runner) Add(c Consumer) error {
	if c.Name == "" || c.handlers() != 1 {
		return fmt.Errorf("feed.Runner.Add: consumer %q: a consumer needs a name and one of Handle, HandleTx or Derive", c.Name)
	}
	for _, x := range r.consumers {
		if x.Name == c.Name {
			return fmt.Errorf("feed.Runner.Add: consumer %q: the name is taken", c.Name)
		}
	}
	r.consumers = append(r.consumers, c)
	r.ensured = false
	return nil
}

// Nudge wakes the runner now instead of at its next poll. It never blocks,
// and a nil Runner ignores it.
func (r *Runner) Nudge() {
	if r == nil {
		return
	}
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Append is the package's Append, and nudges r after tx commits, so that
// consumers see the event at once rather than at the next poll. A nil
// Runner only appends.
func (r *Runner) Append(ctx context.Context, tx *db.Tx, ev Event) error {
	if err := Append(ctx, tx, ev); err != nil {
		return err
	}
	if r != nil {
		tx.AfterCommit(r.Nudge)
	}
	return nil
}

// Run sequences and consumes until ctx ends, waking on Nudge or every Poll.
// Errors are logged and retried at the next wake-up; Run returns nil when
// ctx ends. Call Drain after it returns to hand over what was committed
// meanwhile.
func (r *Runner) Run(ctx context.Context) error {
	t := time.NewTimer(r.cfg.Poll)
	defer t.Stop()
	for {
		n, err := r.Step(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			r.cfg.Logger.Warn("feed", "err", err)
		}
		if r.cfg.Retain > 0 && time.Since(r.lastPrune) > time.Hour {
			r.lastPrune = time.Now()
			if pruned, err := Prune(ctx, r.db, r.db.Now().Add(-r.cfg.Retain)); err != nil {
				r.cfg.Logger.Warn("feed prune", "err", err)
			} else if pruned > 0 {
				r.cfg.Logger.Info("feed pruned", "events", pruned)
			}
		}
		if n > 0 && err == nil {
			continue // a full batch: more may be waiting
		}
		t.Reset(r.cfg.Poll)
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		case <-t.C:
		}
	}
}

// Drain steps until nothing is left to hand over or ctx ends; a server
// calls it on shutdown, after the last request has committed.
func (r *Runner) Drain(ctx context.Context) error {
	for {
		n, err := r.Step(ctx)
		if err != nil || n == 0 {
			return err
		}
	}
}

// Step sequences once and runs each consumer on one batch. It returns the
// number of events sequenced and handed over, and the first error (the
// other consumers still run).
func (r *Runner) Step(ctx context.Context) (int, error) {
	if !r.ensured {
		// A consumer's cursor row exists from its first run, so that Prune
		// keeps what it has not seen yet.
		err := r.db.InTx(ctx, func(tx *db.Tx) error {
			for _, c := range r.consumers {
				if _, err := tx.Exec(ctx, `INSERT INTO feed_cursors (consumer, position, updated_at) VALUES ($1, 0, $2) ON CONFLICT (consumer) DO NOTHING`, c.Name, tx.Now()); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("feed cursors: %w", err)
		}
		r.ensured = true
	}
	seq, err := Sequence(ctx, r.db, 0)
	total := int(seq)
	for _, c := range r.consumers {
		n, cerr := r.consume(ctx, c, seq > 0)
		if errs.Is(cerr, errs.Conflict) {
			// The consumer's commit found that another writer moved what
			// it had trusted (policy's re-check on PostgreSQL): once more
			// at once, when it reads afresh.
			r.cfg.Logger.Info("feed: a consumer's step is tried again", "consumer", c.Name, "err", cerr)
			n, cerr = r.consume(ctx, c, seq > 0)
		}
		total += n
		if cerr != nil && err == nil {
			err = fmt.Errorf("feed consumer %s: %w", c.Name, cerr)
		}
	}
	return total, err
}

// pastCursorQuery tells whether the feed has an event after a consumer's
// cursor: its last position is past the cursor. MAX of an indexed column
// is one step down the index whatever the statistics; asked as EXISTS of
// a later event, the planner chose a scan of the whole feed until the
// table was analyzed (46 ms at 14,500 events, for every step of every
// consumer after a bulk import).
const pastCursorQuery = `SELECT COALESCE((SELECT MAX(position) FROM feed_events) > (SELECT position FROM feed_cursors WHERE consumer = $1), false)`

// consume hands c one batch after its cursor and then stores the cursor.
// On PostgreSQL the cursor row stays locked from the read to the store, so
// two replicas never hand the same batch to the same consumer; on SQLite
// Handle runs outside any write transaction, so that a slow consumer does
// not hold the single writer. sequenced says that this step has just
// numbered events: they lie after every cursor.
func (r *Runner) consume(ctx context.Context, c Consumer, sequenced bool) (int, error) {
	if r.db.Dialect() == db.Postgres {
		// Nothing after the cursor: answered by a read, without the
		// transaction that locks the cursor row and flushes a commit.
		if !sequenced {
			var more bool
			if err := r.db.QueryRow(ctx, pastCursorQuery, c.Name).Scan(&more); err != nil || !more {
				return 0, err
			}
		}
		n := 0
		inTx := r.db.InTx
		if c.Derive != nil {
			inTx = r.db.InTxDerived
		}
		err := inTx(ctx, func(tx *db.Tx) error {
			evs, locked, err := readLocked(ctx, tx, c.Name, r.cfg.Batch)
			if err != nil || !locked || len(evs) == 0 {
				return err // !locked: another replica runs this consumer now
			}
			if err := c.handle(ctx, tx, evs); err != nil {
				return err
			}
			r.count(evs)
			n = len(evs)
			return storeCursor(ctx, tx, c.Name, evs[len(evs)-1].Position)
		})
		if err != nil {
			return 0, err
		}
		return n, nil
	}
	if c.HandleTx != nil {
		// Read, handle and store in one write transaction.
		var handed []Event
		err := r.db.InTx(ctx, func(tx *db.Tx) error {
			var pos int64
			if err := tx.QueryRow(ctx, `SELECT position FROM feed_cursors WHERE consumer = $1`, c.Name).Scan(&pos); err != nil {
				return err
			}
			evs, err := Read(ctx, tx, pos, r.cfg.Batch)
			if err != nil || len(evs) == 0 {
				return err
			}
			if err := c.HandleTx(ctx, tx, evs); err != nil {
				return err
			}
			handed = evs
			return storeCursor(ctx, tx, c.Name, evs[len(evs)-1].Position)
		})
		if err != nil {
			return 0, err
		}
		// Counted once committed: a failed transaction handed nothing over.
		if len(handed) > 0 {
			r.count(handed)
		}
		return len(handed), nil
	}
	if c.Derive != nil {
		return r.consumeDerived(ctx, c)
	}
	pos, err := Cursor(ctx, r.db, c.Name)
	if err != nil {
		return 0, err
	}
	evs, err := Read(ctx, r.db, pos, r.cfg.Batch)
	if err != nil || len(evs) == 0 {
		return 0, err
	}
	last := evs[len(evs)-1].Position
	if err := c.Handle(ctx, evs); err != nil {
		return 0, err
	}
	r.count(evs)
	err = r.db.InTx(ctx, func(tx *db.Tx) error { return storeCursor(ctx, tx, c.Name, last) })
	if err != nil {
		return 0, err
	}
	return len(evs), nil
}

// consumeDerived is consume for a Derive consumer on SQLite: its writes
// and its cursor commit together, unsynced (db.InTxDerived). A batch with
// nothing to write commits nothing: its position is kept in memory and
// stored with the next batch that writes, by the first step that finds
// nothing after it (an idle runner, Drain), or with the first batch a
// Poll after it. A crash before then hands those events over again, as
// at-least-once delivery allows; they wrote nothing.
func (r *Runner) consumeDerived(ctx context.Context, c Consumer) (int, error) {
	st, known := r.cursor(c.Name)
	if !known {
		pos, err := Cursor(ctx, r.db, c.Name)
		if err != nil {
			return 0, err
		}
		st = cursorState{pos: pos}
	}
	// The events were just written: on the writer connection, whose
	// page cache another connection's write does not empty (see
	// db.OnWriter). The consumer's own reads can do the same.
	evs, err := Read(db.OnWriter(ctx), r.db, st.pos, r.cfg.Batch)
	if err != nil {
		return 0, err
	}
	if len(evs) == 0 {
		if !st.unstored.IsZero() {
			err := r.db.InTxDerived(ctx, func(tx *db.Tx) error { return storeCursor(ctx, tx, c.Name, st.pos) })
			r.setCursor(c.Name, cursorState{pos: st.pos}, err == nil)
			return 0, err
		}
		r.setCursor(c.Name, st, true)
		return 0, nil
	}
	last := evs[len(evs)-1].Position
	write, err := c.Derive(ctx, evs)
	if err != nil {
		return 0, err
	}
	if write == nil && (st.unstored.IsZero() || time.Since(st.unstored) < r.cfg.Poll) {
		if st.unstored.IsZero() {
			st.unstored = time.Now()
		}
		r.setCursor(c.Name, cursorState{pos: last, unstored: st.unstored}, true)
		r.count(evs)
		return len(evs), nil
	}
	err = r.db.InTxDerived(ctx, func(tx *db.Tx) error {
		if write != nil {
			if err := write(ctx, tx); err != nil {
				return err
			}
		}
		return storeCursor(ctx, tx, c.Name, last)
	})
	r.setCursor(c.Name, cursorState{pos: last}, err == nil)
	if err != nil {
		return 0, err
	}
	r.count(evs)
	return len(evs), nil
}

// storeCursor moves consumer's cursor to position inside tx. On
// PostgreSQL the statement is queued (db.Tx.Queue): it goes to the server
// with the commit.
func storeCursor(ctx context.Context, tx *db.Tx, consumer string, position int64) error {
	return tx.Queue(ctx, `UPDATE feed_cursors SET position = $1, updated_at = $2 WHERE consumer = $3`, position, tx.Now(), consumer)
}

// readLockedQuery locks a consumer's cursor row (skipping it when another
// transaction holds it) and reads up to $2 events after it, in one round
// trip. The lock reads the row's newest version, so the events read start
// after the cursor as another replica may have just stored it; events
// sequenced after the statement began are left for the next batch. A
// locked cursor with no event after it comes back as one row of NULLs.
const readLockedQuery = `WITH c AS MATERIALIZED (SELECT position FROM feed_cursors WHERE consumer = $1 FOR UPDATE SKIP LOCKED)
	SELECT e.position, e.subject_kind, e.subject_id, e.district, e.kind, e.payload, e.at
	FROM c LEFT JOIN LATERAL (SELECT position, subject_kind, subject_id, district, kind, payload, at FROM feed_events
		WHERE position > c.position ORDER BY position LIMIT $2) e ON true
	ORDER BY e.position`

// readLocked is Read after consumer's cursor, with the cursor row locked
// until tx ends (PostgreSQL). locked is false when another transaction
// holds the row.
func readLocked(ctx context.Context, tx *db.Tx, consumer string, limit int) (evs []Event, locked bool, err error) {
	// QueryEach: the transaction's BEGIN goes with the query.
	err = tx.QueryEach(ctx, readLockedQuery, []any{consumer, limit}, func(scan func(...any) error) error {
		locked = true
		var pos, id sql.NullInt64
		var kind, subject, district, payload sql.NullString
		var at db.Time
		if err := scan(&pos, &subject, &id, &district, &kind, &payload, &at); err != nil {
			return err
		}
		if !pos.Valid {
			return nil // the cursor, with nothing after it
		}
		evs = append(evs, Event{Position: pos.Int64, SubjectKind: subject.String, SubjectID: id.Int64, District: district.String,
			Kind: kind.String, Payload: json.RawMessage(payload.String), At: at.Time})
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return evs, locked, nil
}

// handle calls the consumer's Handle, its HandleTx inside tx, or its
// Derive and then its writes inside tx.
func (c Consumer) handle(ctx context.Context, tx *db.Tx, evs []Event) error {
	switch {
	case c.HandleTx != nil:
		return c.HandleTx(ctx, tx, evs)
	case c.Derive != nil:
		// The reads on the step's connection (PostgreSQL), not on a
		// pooled one.
		write, err := c.Derive(db.ReadingIn(ctx, tx), evs)
		if err != nil || write == nil {
			return err
		}
		return write(ctx, tx)
	}
	return c.Handle(ctx, evs)
}
