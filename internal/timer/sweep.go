package timer

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"whistle/internal/db"
	"whistle/internal/errs"
)

// Touch records that the keys of kind were seen at at, inside tx: the sweep
// mode's re-arm. A key seen again after its silence fired is live again
// and may fall silent once more. A touch older than the key's last one
// changes nothing, and a late message stamped before its key's silence
// fired does not end that silence, so messages that arrive out of order
// neither move a key back in time nor make a silence fire twice.
//
// The keys travel as one JSON array parameter, whatever their number: one
// statement text, prepared once, and no per-key parameters (binding $N
// parameters by name costs SQLite time quadratic in their number).
func Touch(ctx context.Context, tx *db.Tx, kind string, keys []string, at time.Time) (err error) {
	defer errs.Wrapf(&err, "timer.Touch(%s, %d)", kind, len(keys))
	return touch(ctx, tx, kind, keys, at, 0)
}

// TouchRounded is Touch with the time a key was seen rounded up to a
// multiple of res (a minute for "no data for 12 hours", say): a key
// touched again within the same step is already up to date, and its touch
// reads the row without writing it. That is what lets a store keep up
// with sensors that report far more often than res (docs/BENCHMARKS.md,
// re-arming). A silence then fires between 0 and res after the exact
// one, never before it; a touch after a silence fired still ends it,
// whatever the rounding. res <= 0 is Touch.
func TouchRounded(ctx context.Context, tx *db.Tx, kind string, keys []string, at time.Time, res time.Duration) (err error) {
	defer errs.Wrapf(&err, "timer.TouchRounded(%s, %d, %v)", kind, len(keys), res)
	return touch(ctx, tx, kind, keys, at, res)
}

func touch(ctx context.Context, tx *db.Tx, kind string, keys []string, at time.Time, res time.Duration) error {
	if kind == "" {
		return errs.E(errs.Invalid, "timer.key").WithReason("Touch needs a kind")
	}
	if len(keys) == 0 {
		return nil
	}
	at = at.UTC().Truncate(time.Microsecond)
	q, args, err := touchStmt(tx.Dialect(), kind, uniqueSorted(keys), at, res)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, q, args...)
	return err
}

// uniqueSorted is keys sorted, each once: the upsert walks the primary key
// in order (fewer pages read and dirtied on SQLite), and concurrent
// touches on PostgreSQL lock their rows in one order, so they cannot
// deadlock.
func uniqueSorted(keys []string) []string {
	uniq := slices.Clone(keys)
	slices.Sort(uniq)
	return slices.Compact(uniq)
}

// touchStmt is the upsert of a touch of keys (sorted, unique) at at,
// rounded up to res.
func touchStmt(d db.Dialect, kind string, keys []string, at time.Time, res time.Duration) (string, []any, error) {
	seen := roundUp(at, res)
	arr, err := json.Marshal(keys)
	if err != nil {
		return "", nil, err
	}
	// "WHERE true" tells SQLite's parser that ON CONFLICT belongs to the
	// INSERT, not to a join in the SELECT. SET reads the row as it was: a
	// touch ($4, the exact time) at or before the moment its silence fired
	// is a late message from within the silence. A row is written only if
	// the rounded time is later than the stored one, or if the touch ends
	// a silence (rounding may have moved last_seen past the firing already,
	// through a late message).
	src := `SELECT $1, value, $2 FROM json_each($3) WHERE true`
	exact := `$4`
	if d == db.Postgres {
		src = `SELECT $1, value, $2::timestamptz FROM jsonb_array_elements_text($3::jsonb) AS value`
		exact = `$4::timestamptz`
	}
	return `INSERT INTO kernel_sweep (kind, key, last_seen) ` + src + `
		ON CONFLICT (kind, key) DO UPDATE SET
			last_seen = CASE WHEN kernel_sweep.last_seen < excluded.last_seen THEN excluded.last_seen ELSE kernel_sweep.last_seen END,
			silenced_at = CASE WHEN ` + exact + ` <= kernel_sweep.silenced_at THEN kernel_sweep.silenced_at END
		WHERE kernel_sweep.last_seen < excluded.last_seen OR kernel_sweep.silenced_at < ` + exact, []any{kind, seen, string(arr), at}, nil
}

// Seen is one process's memory of its own touches: for each key it
// touched, the rounded time it stored, kept only when the key's silence
// was off after that touch. Seen.TouchRounded leaves out of its statement
// the keys whose touch could change nothing: the store already holds a
// last seen at least the touch's rounded time, and the key's silence
// cannot have fired since before the touch (a silence fires a whole
// silence length after the stored last seen, so after any touch that
// rounds to it, which it then does not end). A sensor reporting more
// often than the rounding then costs no statement for most of its
// readings. Other processes' touches only move a key's last seen on, so
// what they store makes a key here touched again at worst; a key deleted
// by Forget in another process may be left unwatched until its next step
// of res.
type Seen struct {
	mu sync.Mutex
	m  map[seenKey]time.Time
}

type seenKey struct{ kind, key string }

// maxSeen bounds the keys a Seen remembers; beyond it, it starts afresh.
const maxSeen = 1 << 21

// TouchRounded is the package's TouchRounded, leaving out the keys whose
// touch would change nothing (see Seen), and remembering after the
// commit the keys it stored.
func (s *Seen) TouchRounded(ctx context.Context, tx *db.Tx, kind string, keys []string, at time.Time, res time.Duration) (err error) {
	defer errs.Wrapf(&err, "timer.Seen.TouchRounded(%s, %d, %v)", kind, len(keys), res)
	if kind == "" {
		return errs.E(errs.Invalid, "timer.key").WithReason("Touch needs a kind")
	}
	at = at.UTC().Truncate(time.Microsecond)
	seen := roundUp(at, res)
	need := make([]string, 0, len(keys))
	s.mu.Lock()
	for _, k := range keys {
		if stored, ok := s.m[seenKey{kind, k}]; !ok || stored.Before(seen) {
			need = append(need, k)
		}
	}
	s.mu.Unlock()
	if len(need) == 0 {
		return nil
	}
	q, args, err := touchStmt(tx.Dialect(), kind, uniqueSorted(need), at, res)
	if err != nil {
		return err
	}
	// The rows written come back: those whose silence is off are known.
	rows, err := tx.Query(ctx, q+` RETURNING key, silenced_at IS NULL`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	var live []string
	for rows.Next() {
		var k string
		var off bool
		if err := rows.Scan(&k, &off); err != nil {
			return err
		}
		if off {
			live = append(live, k)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(live) > 0 {
		tx.AfterCommit(func() { s.remember(kind, live, seen) })
	}
	return nil
}

// remember records that keys of kind hold seen as their last seen.
func (s *Seen) remember(kind string, keys []string, seen time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil || len(s.m)+len(keys) > maxSeen {
		s.m = make(map[seenKey]time.Time, len(keys))
	}
	for _, k := range keys {
		if old, ok := s.m[seenKey{kind, k}]; !ok || old.Before(seen) {
			s.m[seenKey{kind, k}] = seen
		}
	}
}

// roundUp is t rounded up to a multiple of res (t itself for res <= 0).
func roundUp(t time.Time, res time.Duration) time.Time {
	if res <= 0 {
		return t
	}
	if r := t.Truncate(res); r.Before(t) {
		return r.Add(res)
	}
	return t
}

// Forget stops watching the keys of kind (a device taken out of service),
// inside tx.
func Forget(ctx context.Context, tx *db.Tx, kind string, keys []string) (err error) {
	defer errs.Wrapf(&err, "timer.Forget(%s, %d)", kind, len(keys))
	arr, err := json.Marshal(keys)
	if err != nil {
		return err
	}
	src := `SELECT value FROM json_each($2)`
	if tx.Dialect() == db.Postgres {
		src = `SELECT jsonb_array_elements_text($2::jsonb)`
	}
	_, err = tx.Exec(ctx, `DELETE FROM kernel_sweep WHERE kind = $1 AND key IN (`+src+`)`, kind, string(arr))
	return err
}

// sweepQuery marks up to $4 keys of kind $2 silent since $3 as silenced
// at $1 and returns them. On PostgreSQL the keys are chosen and locked
// once (an InitPlan, SKIP LOCKED), then updated through the primary key:
// written as key IN (… FOR UPDATE SKIP LOCKED) beside the same
// conditions, the planner could drive the join from kernel_sweep_live and
// rescan the locking subquery for every live row — minutes a round at
// 100,000 armed keys before the table was analysed, with every touch of
// the ingest waiting on its locks.
func sweepQuery(d db.Dialect) string {
	if d == db.Postgres {
		return `UPDATE kernel_sweep SET silenced_at = $1
			WHERE kind = $2 AND key = ANY(ARRAY(SELECT key FROM kernel_sweep
				WHERE kind = $2 AND silenced_at IS NULL AND last_seen <= $3 ORDER BY last_seen LIMIT $4 FOR UPDATE SKIP LOCKED))
			RETURNING key, last_seen`
	}
	return `UPDATE kernel_sweep SET silenced_at = $1
		WHERE kind = $2 AND silenced_at IS NULL AND last_seen <= $3 AND key IN (SELECT key FROM kernel_sweep
			WHERE kind = $2 AND silenced_at IS NULL AND last_seen <= $3 ORDER BY last_seen LIMIT $4)
		RETURNING key, last_seen`
}

// sweepBatch finds up to Group silent keys of kind with one range scan of
// the partial index kernel_sweep_live, marks them silenced and runs the
// kind's handler for each, all in one transaction, so that a silence
// fires once across replicas (on PostgreSQL, SKIP LOCKED keeps
// concurrent sweepers apart). If a handler fails, each key is swept in
// its own transaction; a key whose handler fails stays live and is tried
// again in the next round.
func (r *Runner) sweepBatch(ctx context.Context, kind string) (fired, n int, err error) {
	r.smu.Lock()
	s := r.silences[kind]
	r.smu.Unlock()
	var batch []Timer
	err = r.d.InTx(ctx, func(tx *db.Tx) error {
		batch = batch[:0]
		now, err := dbNow(ctx, tx, r.d.Clock())
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, sweepQuery(tx.Dialect()), now, kind, now.Add(-s.after), r.cfg.Group)
		if err != nil {
			return err
		}
		batch, err = scanSilences(rows, kind, s.after, batch)
		if err != nil {
			return db.Translate(err)
		}
		for _, t := range batch {
			if err := s.h(ctx, tx, t); err != nil {
				return &handlerError{key: t.Key, err: err}
			}
		}
		return nil
	})
	if err == nil || len(batch) == 0 {
		return len(batch), len(batch), err
	}
	var first error
	for _, t := range batch {
		ok, err := r.sweepOne(ctx, s, t.Key)
		if err != nil {
			r.cfg.Logger.Warn("timer silence handler failed", "key", t.Key.String(), "err", err)
			if first == nil {
				first = err
			}
		}
		if ok {
			fired++
		}
	}
	return fired, len(batch), first
}

// sweepOne sweeps one key of a failed batch in its own transaction, if it
// is still silent.
func (r *Runner) sweepOne(ctx context.Context, s silence, key Key) (fired bool, err error) {
	err = r.d.InTx(ctx, func(tx *db.Tx) error {
		now, err := dbNow(ctx, tx, r.d.Clock())
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `UPDATE kernel_sweep SET silenced_at = $1
			WHERE kind = $2 AND key = $3 AND silenced_at IS NULL AND last_seen <= $4 RETURNING key, last_seen`,
			now, key.Kind, key.Subject, now.Add(-s.after))
		if err != nil {
			return err
		}
		got, err := scanSilences(rows, key.Kind, s.after, nil)
		if err != nil || len(got) == 0 {
			return db.Translate(err)
		}
		if err := s.h(ctx, tx, got[0]); err != nil {
			return fmt.Errorf("silence %v: %w", key, err)
		}
		fired = true
		return nil
	})
	return fired, err
}

func scanSilences(rows *sql.Rows, kind string, after time.Duration, out []Timer) ([]Timer, error) {
	defer rows.Close()
	for rows.Next() {
		var key string
		var seen db.Time
		if err := rows.Scan(&key, &seen); err != nil {
			return nil, err
		}
		out = append(out, Timer{Key: Key{Kind: kind, Subject: key}, Due: seen.Add(after), Payload: []byte("null")})
	}
	return out, rows.Err()
}

// Toucher gathers the touches of one kind from concurrent callers, each
// with a key or a few (a message from one sensor), into one shared
// transaction and one upsert: group commit for the sweep mode. Touch
// returns only after the commit, so an acknowledged touch is durable. The
// keys are stamped with the transaction's time, in commit order; a caller
// that must stamp a message with its own time uses Touch in its own
// transaction.
type Toucher struct {
	b    *db.Batcher
	kind string
	res  time.Duration
}

// NewToucher starts a Toucher for kind that rounds the times it records up
// to a multiple of res (see TouchRounded; 0 records them exactly) and
// commits the touches of up to maxBatch callers at once. Close stops it.
func NewToucher(d *db.DB, kind string, res time.Duration, maxBatch int) *Toucher {
	return &Toucher{b: db.NewBatcher(d, maxBatch), kind: kind, res: res}
}

// Touch records that keys were seen now and returns after the commit.
func (t *Toucher) Touch(ctx context.Context, keys ...string) (err error) {
	defer errs.Wrapf(&err, "timer.Toucher.Touch(%s, %d)", t.kind, len(keys))
	if t.kind == "" {
		return errs.E(errs.Invalid, "timer.key").WithReason("Touch needs a kind")
	}
	if len(keys) == 0 {
		return nil
	}
	return t.b.Do(ctx, func(tx *db.Tx) error {
		p := tx.Defer(t, func() db.Deferred { return &touches{t: t} }).(*touches)
		p.keys = append(p.keys, keys...)
		return nil
	})
}

// Close stops the Toucher after the touches already queued.
func (t *Toucher) Close() { t.b.Close() }

// touches are the keys a transaction's callers touched, upserted once
// just before its commit.
type touches struct {
	t    *Toucher
	keys []string
}

// Flush implements db.Deferred.
func (p *touches) Flush(ctx context.Context, tx *db.Tx) error {
	return touch(ctx, tx, p.t.kind, p.keys, tx.Now(), p.t.res)
}
