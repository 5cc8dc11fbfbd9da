package timer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// Handler applies a due timer's effect inside tx, the transaction that
// also deletes the timer: if the handler fails, neither happens and the
// timer is retried later.
type Handler func(ctx context.Context, tx *db.Tx, t Timer) error

// BatchHandler applies the effects of several due timers of one kind
// inside tx at once, so that a module can apply them set-wise (one UPDATE
// and one INSERT for the batch instead of one of each per timer). If it
// fails, none of them fires; they are retried one per call, so that one
// bad timer holds up no other.
type BatchHandler func(ctx context.Context, tx *db.Tx, ts []Timer) error

// Config tunes a Runner.
type Config struct {
	// Group is how many timers one transaction claims and fires (default
	// DefaultGroup): one commit, and so one disk flush, for the group. A
	// group is all or nothing; if a handler fails, the group's timers are
	// fired one transaction each, so that one bad timer holds up no other.
	Group int
	// Workers is how many firing transactions run at once (default 1 on
	// SQLite, whose writes are serial anyway, and 4 on PostgreSQL, where
	// SKIP LOCKED gives each its own timers).
	Workers int
	// Backoff is how long a timer whose handler failed waits before its
	// next attempt (default 10 s), doubling with each failure up to
	// MaxBackoff (default 1 h).
	Backoff, MaxBackoff time.Duration
	// Logger receives failed handlers (default: discarded).
	Logger *slog.Logger
}

// DefaultGroup is a Runner's Group unless its Config says otherwise: 500
// timers a transaction on SQLite, 100 on PostgreSQL. SQLite's commit has a
// fixed cost (the WAL's frames for the pages every group rewrites, the page
// cache's sweep, the flush) that a group of 100 SLA breaches paid about a
// fifth of its time for; its writes are serial anyway, so the larger group
// holds the one writer longer (about 0.1 s for 500 breaches) but not more
// in all. PostgreSQL's four workers fire groups side by side, and a group
// holds its district's rollup rows until it commits, which intake's
// transactions wait for: there the groups stay small.
func DefaultGroup(d db.Dialect) int {
	if d == db.SQLite {
		return 500
	}
	return 100
}

type silence struct {
	after time.Duration
	h     Handler
}

// Runner claims due timers and fires them through the handlers registered
// for their kinds. Any number of runners, in one process or in replicas
// sharing one database, may run at once: each timer fires exactly once.
// Register every handler before the first RunDue.
type Runner struct {
	d        *db.DB
	cfg      Config
	handlers map[string]BatchHandler
	share    map[string]string // a kind's first kind among those sharing its handler
	kinds    []string
	// smu guards silences and sKinds: a module may register a silence
	// while the runner runs (a rule added at run time).
	smu      sync.Mutex
	silences map[string]silence
	sKinds   []string
}

// NewRunner returns a Runner on d with no handlers.
func NewRunner(d *db.DB, cfg Config) *Runner {
	if cfg.Group <= 0 {
		cfg.Group = DefaultGroup(d.Dialect())
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 1
		if d.Dialect() == db.Postgres {
			cfg.Workers = 4
		}
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 10 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{d: d, cfg: cfg, handlers: map[string]BatchHandler{}, share: map[string]string{}, silences: map[string]silence{}}
}

// Handle registers h for the timers of kind. A runner claims only the
// kinds it has handlers for.
func (r *Runner) Handle(kind string, h Handler) {
	r.HandleBatch(kind, func(ctx context.Context, tx *db.Tx, ts []Timer) error {
		for _, t := range ts {
			if err := h(ctx, tx, t); err != nil {
				return err
			}
		}
		return nil
	})
}

// HandleBatch registers h for the timers of kind, to be given the due
// timers of kind in each claimed group at once, in due order.
func (r *Runner) HandleBatch(kind string, h BatchHandler) { r.HandleBatchKinds([]string{kind}, h) }

// HandleBatchKinds registers h for the timers of several kinds, to be
// given the due timers of all of them in each claimed group at once, in
// due order across the kinds (a module whose kinds' effects must follow
// one another in time, like a warning before a breach).
func (r *Runner) HandleBatchKinds(kinds []string, h BatchHandler) {
	for _, kind := range kinds {
		if _, ok := r.handlers[kind]; !ok {
			r.kinds = append(r.kinds, kind)
		}
		r.handlers[kind] = h
		r.share[kind] = kinds[0]
	}
}

// HandleSilence registers h for the keys of kind touched (see Touch) and
// then not touched again for after: h runs once per silence, with a Timer
// whose Subject is the key and whose Due is the last touch plus after.
// Unlike the other handlers, a silence may be registered (or its after
// changed) while the runner runs.
func (r *Runner) HandleSilence(kind string, after time.Duration, h Handler) {
	r.smu.Lock()
	defer r.smu.Unlock()
	if _, ok := r.silences[kind]; !ok {
		r.sKinds = append(r.sKinds, kind)
	}
	r.silences[kind] = silence{after: after, h: h}
}

// Run fires due timers and silences every interval until ctx ends.
func (r *Runner) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := r.RunDue(ctx); err != nil && ctx.Err() == nil {
			r.cfg.Logger.Warn("timer runner", "err", err, "fired", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunDue fires every timer and silence due now and returns how many fired.
// A timer whose handler failed stays pending, to be retried after a
// backoff; RunDue then returns the first such error after firing the rest
// of that group (the remaining due timers wait for the next round).
func (r *Runner) RunDue(ctx context.Context) (fired int, err error) {
	defer errs.Wrapf(&err, "timer.Runner.RunDue")
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	note := func(n int, err error) {
		mu.Lock()
		defer mu.Unlock()
		fired += n
		if err != nil && first == nil {
			first = err
		}
	}
	if len(r.kinds) > 0 {
		for range r.cfg.Workers {
			wg.Go(func() {
				for ctx.Err() == nil {
					n, claimed, err := r.fireBatch(ctx)
					note(n, err)
					// After a failure, the next round tries again: a
					// failure that could not even be recorded must not
					// spin here.
					if claimed == 0 || err != nil {
						return
					}
				}
			})
		}
		wg.Wait()
	}
	r.smu.Lock()
	sKinds := slices.Clone(r.sKinds)
	r.smu.Unlock()
	for _, kind := range sKinds {
		for ctx.Err() == nil {
			n, claimed, err := r.sweepBatch(ctx, kind)
			note(n, err)
			if claimed == 0 || err != nil {
				break
			}
		}
	}
	if first == nil {
		first = ctx.Err()
	}
	return fired, first
}

// Now is "now" for firing, as runners on clk's database see it (see
// dbNow): a handler that puts a timer off counts from it.
func Now(ctx context.Context, tx *db.Tx, clk clock.Clock) (time.Time, error) {
	return dbNow(ctx, tx, clk)
}

// dbNow is "now" for firing: the database's clock, not this process's.
// Replicas share one database but not one clock; a replica whose clock
// ran an hour ahead would otherwise fire every timer an hour early. A
// database driven by a clock.Fake is the exception: its fake clock stands
// for every clock in a test world, the database's included, so that tests
// move time instead of sleeping.
func dbNow(ctx context.Context, tx *db.Tx, clk clock.Clock) (time.Time, error) {
	if _, fake := clk.(*clock.Fake); fake {
		return tx.Now(), nil
	}
	q := `SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')`
	if tx.Dialect() == db.Postgres {
		q = `SELECT clock_timestamp()`
	}
	var t db.Time
	if err := tx.QueryRow(ctx, q).Scan(&t); err != nil {
		return time.Time{}, db.Translate(err)
	}
	return t.UTC().Truncate(time.Microsecond), nil
}

const timerCols = `id, kind, subject, name, due_at, run_at, payload, attempts`

type claimed struct {
	Timer
	id    int64
	runAt time.Time
}

func scanTimers(rows *sql.Rows) ([]claimed, error) {
	defer rows.Close()
	var out []claimed
	for rows.Next() {
		var c claimed
		var due, run db.Time
		var payload string
		if err := rows.Scan(&c.id, &c.Kind, &c.Subject, &c.Name, &due, &run, &payload, &c.Attempts); err != nil {
			return nil, err
		}
		c.Due, c.runAt, c.Payload = due.Time, run.Time, []byte(payload)
		out = append(out, c)
	}
	return out, rows.Err()
}

// kindsIn returns "IN ($n, …)" for kinds, with its arguments appended.
func kindsIn(kinds []string, args []any) (string, []any) {
	var b strings.Builder
	b.WriteString("IN (")
	for i, k := range kinds {
		if i > 0 {
			b.WriteByte(',')
		}
		args = append(args, k)
		fmt.Fprintf(&b, "$%d", len(args))
	}
	b.WriteByte(')')
	return b.String(), args
}

// dueQuery selects the ids of up to $2 timers due at $1 of the kinds in,
// in due order, locking them on PostgreSQL (SKIP LOCKED). On SQLite, +kind
// keeps the planner off the (kind, subject, name) index, which it would
// otherwise pick for a kind that holds most of the pending timers and then
// sort them all (0.6 s a claim at 100,000 pending); the due range of
// kernel_timers_run is what is small. PostgreSQL plans from statistics.
func dueQuery(d db.Dialect, in string) string {
	if d == db.Postgres {
		return `SELECT id FROM kernel_timers WHERE run_at <= $1 AND kind ` + in + ` ORDER BY run_at, id LIMIT $2 FOR UPDATE SKIP LOCKED`
	}
	return `SELECT id FROM kernel_timers WHERE run_at <= $1 AND +kind ` + in + ` ORDER BY run_at, id LIMIT $2`
}

// fireBatch claims up to Group due timers and fires them in one
// transaction: the DELETE that claims them commits with their effects,
// so a timer is gone exactly when its effect is there. On PostgreSQL,
// SKIP LOCKED lets concurrent workers and replicas take disjoint timers
// without waiting; SQLite's writes are serial. It returns how many fired
// and how many it claimed; if a handler failed, it fires the claimed
// timers one transaction each (see fireOne).
func (r *Runner) fireBatch(ctx context.Context) (fired, n int, err error) {
	var batch []claimed
	err = r.d.InTx(ctx, func(tx *db.Tx) error {
		now, err := dbNow(ctx, tx, r.d.Clock())
		if err != nil {
			return err
		}
		in, args := kindsIn(r.kinds, []any{now, r.cfg.Group})
		rows, err := tx.Query(ctx, `DELETE FROM kernel_timers WHERE id IN (`+dueQuery(tx.Dialect(), in)+`) RETURNING `+timerCols, args...)
		if err != nil {
			return err
		}
		batch, err = scanTimers(rows)
		if err != nil {
			return db.Translate(err)
		}
		sortClaimed(batch)
		// One call per handler, the handlers in the order of their first
		// due timer.
		byKind := map[string][]Timer{}
		var order []string
		for _, c := range batch {
			k := r.share[c.Kind]
			if _, ok := byKind[k]; !ok {
				order = append(order, k)
			}
			byKind[k] = append(byKind[k], c.Timer)
		}
		for _, k := range order {
			if err := r.handlers[k](ctx, tx, byKind[k]); err != nil {
				return &handlerError{key: Key{Kind: k}, err: err}
			}
		}
		return nil
	})
	if err == nil {
		return len(batch), len(batch), nil
	}
	var he *handlerError
	if !errors.As(err, &he) && !retryable(err) || len(batch) == 0 {
		return 0, len(batch), err
	}
	var first error
	for _, c := range batch {
		ok, err := r.fireOne(ctx, c)
		if err != nil && first == nil {
			first = err
		}
		if ok {
			fired++
		}
	}
	return fired, len(batch), first
}

// handlerError marks a handler's failure, to tell it from the store's.
type handlerError struct {
	key Key
	err error
}

func (e *handlerError) Error() string { return fmt.Sprintf("timer %v: %v", e.key, e.err) }
func (e *handlerError) Unwrap() error { return e.err }

// retryable reports whether a transaction lost a race (a PostgreSQL
// deadlock or serialisation failure, SQLite busy) and may succeed again.
func retryable(err error) bool { return errs.Is(err, errs.Conflict) || errs.Is(err, errs.Unavailable) }

func sortClaimed(cs []claimed) {
	sort.Slice(cs, func(i, j int) bool {
		if !cs[i].runAt.Equal(cs[j].runAt) {
			return cs[i].runAt.Before(cs[j].runAt)
		}
		return cs[i].id < cs[j].id
	})
}

// fireOne fires one timer of a failed group in its own transaction, if it
// is still due (it may have been re-armed or cancelled since). If its
// handler fails, it records the failure and moves the timer's next
// attempt back by the backoff.
func (r *Runner) fireOne(ctx context.Context, c claimed) (bool, error) {
	var t claimed
	var herr error
	err := r.d.InTx(ctx, func(tx *db.Tx) error {
		now, err := dbNow(ctx, tx, r.d.Clock())
		if err != nil {
			return err
		}
		// Another worker firing it alone (its own group failed too) has
		// it locked: skip it rather than wait to fail it a second time.
		lock := ""
		if tx.Dialect() == db.Postgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		rows, err := tx.Query(ctx, `DELETE FROM kernel_timers WHERE id IN (SELECT id FROM kernel_timers WHERE id = $1 AND run_at <= $2`+lock+`)
			RETURNING `+timerCols, c.id, now)
		if err != nil {
			return err
		}
		got, err := scanTimers(rows)
		if err != nil || len(got) == 0 {
			return db.Translate(err)
		}
		t = got[0]
		if err := r.handlers[t.Kind](ctx, tx, []Timer{t.Timer}); err != nil {
			herr = err
			return err
		}
		return nil
	})
	if err == nil {
		return t.id != 0, nil
	}
	if herr == nil {
		return false, err
	}
	r.cfg.Logger.Warn("timer handler failed", "timer", t.Key.String(), "attempts", t.Attempts+1, "err", herr)
	ferr := r.d.InTx(ctx, func(tx *db.Tx) error {
		now, err := dbNow(ctx, tx, r.d.Clock())
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE kernel_timers SET attempts = $1, last_error = $2, run_at = $3 WHERE id = $4 AND run_at <= $5`,
			t.Attempts+1, truncate(herr.Error(), 500), now.Add(r.backoff(t.Attempts+1)), t.id, now)
		return err
	})
	if ferr != nil {
		return false, ferr
	}
	return false, fmt.Errorf("timer %v: %w", t.Key, herr)
}

// backoff is the wait before the next attempt after n failures.
func (r *Runner) backoff(n int) time.Duration {
	d := r.cfg.Backoff
	for i := 1; i < n && d < r.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, r.cfg.MaxBackoff)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
