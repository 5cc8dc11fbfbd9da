package sla

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// The kinds of timers.
const (
	kindWarning     = "warning"     // a stage's yellow warning
	kindBreach      = "breach"      // a stage's deadline
	kindSupervision = "supervision" // a supervision's deadline
)

// addTimer schedules a timer inside tx.
func addTimer(ctx context.Context, tx *db.Tx, kind string, due time.Time, caseID, stageID, supID int64) error {
	var stage, sup any
	if stageID != 0 {
		stage = stageID
	}
	if supID != 0 {
		sup = supID
	}
	_, err := tx.Exec(ctx, `INSERT INTO timers (due_at, kind, case_id, stage_id, supervision_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		due.UTC(), kind, caseID, stage, sup, tx.Now())
	return err
}

// SchedulerConfig tunes a Scheduler.
type SchedulerConfig struct {
	// Owner names this scheduler in the timers' lease (default: the host
	// name, the process id and a random part, so that a lease, and the
	// firing it led to, says which replica took it).
	Owner string
	// Batch is how many due timers one claim takes (default 100).
	Batch int
	// Lease is how long a claimed timer stays reserved for this scheduler
	// before another may take it over (default 1 minute): the longest a
	// crash between claiming and firing delays a timer.
	Lease time.Duration
	// Group is how many timers fire in one transaction (default 20): one
	// commit, and so one disk flush, for the group. A group is all or
	// nothing like a single timer; if it fails, its timers are fired one
	// transaction each, so that one bad timer holds up no other.
	Group int
	// ReloadEvery reloads the working calendar every so many rounds of Run
	// (default 30), so that every replica sees an administrator's change.
	ReloadEvery int
}

// Scheduler fires due timers. Any number of schedulers, in one process or
// in several replicas sharing one database, may run at once: each timer
// fires exactly once.
type Scheduler struct {
	e   *Engine
	cfg SchedulerConfig
}

// NewScheduler returns a Scheduler for the engine's timers.
func (e *Engine) NewScheduler(cfg SchedulerConfig) *Scheduler {
	if cfg.Owner == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		host, _ := os.Hostname()
		cfg.Owner = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 100
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	if cfg.Group <= 0 {
		cfg.Group = 20
	}
	if cfg.ReloadEvery <= 0 {
		cfg.ReloadEvery = 30
	}
	return &Scheduler{e: e, cfg: cfg}
}

// Run fires due timers every interval until ctx ends. Timers that fell due
// while no scheduler ran fire on the first round, in due order.
func (s *Scheduler) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for round := 1; ; round++ {
		if n, err := s.RunDue(ctx); err != nil && ctx.Err() == nil {
			s.e.logger.Warn("sla scheduler", "err", err, "fired", n)
		} else if n > 0 {
			s.e.logger.Info("sla timers fired", "n", n)
		}
		if round%s.cfg.ReloadEvery == 0 {
			if err := s.e.ReloadCalendar(ctx); err != nil && ctx.Err() == nil {
				s.e.logger.Warn("sla calendar reload", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// RunDue fires every timer due now, in due order, and returns how many
// fired with an effect (a timer made moot by a change of the case, such
// as a stage that ended, is marked fired without one). It claims timers in
// batches under a lease and fires them in groups, one transaction per
// group (see SchedulerConfig.Group). After a batch in which a timer failed
// it returns the first error; the failed timer is retried once its lease
// expires.
func (s *Scheduler) RunDue(ctx context.Context) (fired int, err error) {
	defer errs.Wrapf(&err, "sla.Scheduler.RunDue")
	for ctx.Err() == nil {
		batch, err := s.claim(ctx)
		if err != nil {
			return fired, err
		}
		if len(batch) == 0 {
			return fired, nil
		}
		var first error
		for len(batch) > 0 {
			group := batch[:min(len(batch), s.cfg.Group)]
			batch = batch[len(group):]
			n, err := s.fireGroup(ctx, group)
			fired += n
			if err != nil && first == nil {
				first = err
			}
		}
		if first != nil {
			return fired, first
		}
	}
	return fired, ctx.Err()
}

// claimNow is "now" for claiming due timers and their leases: the
// database's clock, not this process's. Replicas share one database but
// not one clock; a replica whose clock ran an hour ahead would otherwise
// fire every timer an hour early, and take over others' leases before
// they expire. A test world driven by a clock.Fake is the exception: its
// fake clock stands for every clock in that world, the database's
// included, so that tests move time instead of sleeping.
func claimNow(ctx context.Context, tx *db.Tx, clk clock.Clock) (time.Time, error) {
	if _, fake := clk.(*clock.Fake); fake {
		return tx.Now(), nil
	}
	q := `SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')`
	if tx.Dialect() == db.Postgres {
		q = `SELECT clock_timestamp()`
	}
	var now db.Time
	if err := tx.QueryRow(ctx, q).Scan(&now); err != nil {
		return time.Time{}, db.Translate(err)
	}
	return now.UTC().Truncate(time.Microsecond), nil
}

type claimed struct {
	id  int64
	due time.Time
}

// claim leases a batch of due timers to this scheduler, in due order. On
// PostgreSQL, SKIP LOCKED lets concurrent schedulers take disjoint
// batches without waiting for one another; the lease keeps a timer
// reserved while it is being fired. "Now" is the database's clock (see
// claimNow), so that replicas agree on what is due.
func (s *Scheduler) claim(ctx context.Context) ([]int64, error) {
	var out []claimed
	err := s.e.db.InTx(ctx, func(tx *db.Tx) error {
		out = out[:0]
		lock := ""
		if tx.Dialect() == db.Postgres {
			lock = " FOR UPDATE SKIP LOCKED"
		}
		now, err := claimNow(ctx, tx, s.e.db.Clock())
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `UPDATE timers SET lease_owner = $1, lease_until = $2
			WHERE id IN (SELECT id FROM timers WHERE fired_at IS NULL AND due_at <= $3 AND (lease_until IS NULL OR lease_until <= $3)
				ORDER BY due_at, id LIMIT $4`+lock+`)
			RETURNING id, due_at`, s.cfg.Owner, now.Add(s.cfg.Lease), now, s.cfg.Batch)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var c claimed
			var due db.Time
			if err := rows.Scan(&c.id, &due); err != nil {
				return err
			}
			c.due = due.Time
			out = append(out, c)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].due.Equal(out[j].due) {
			return out[i].due.Before(out[j].due)
		}
		return out[i].id < out[j].id
	})
	ids := make([]int64, len(out))
	for i, c := range out {
		ids[i] = c.id
	}
	return ids, nil
}

// fireGroup fires timers in due order in one transaction and returns how
// many fired with an effect. If the transaction fails, it fires them one
// transaction each and returns the first error.
func (s *Scheduler) fireGroup(ctx context.Context, ids []int64) (int, error) {
	fired := 0
	err := s.e.db.InTx(ctx, func(tx *db.Tx) error {
		fired = 0
		for _, id := range ids {
			ok, err := s.fireIn(ctx, tx, id)
			if err != nil {
				return err
			}
			if ok {
				fired++
			}
		}
		return nil
	})
	if err == nil || len(ids) == 1 && !retryable(err) {
		return fired, err
	}
	fired = 0
	var first error
	for _, id := range ids {
		ok, err := s.fire(ctx, id)
		if err != nil {
			s.e.logger.Warn("sla timer failed", "timer", id, "err", err)
			if first == nil {
				first = err
			}
			continue
		}
		if ok {
			fired++
		}
	}
	return fired, first
}

// retryable reports whether a transaction lost a race (a PostgreSQL
// deadlock or serialisation failure, SQLite busy) and may succeed again.
func retryable(err error) bool { return errs.Is(err, errs.Conflict) || errs.Is(err, errs.Unavailable) }

// fire fires one timer in its own transaction, retrying a transaction that
// lost a race a few times.
func (s *Scheduler) fire(ctx context.Context, id int64) (effective bool, err error) {
	for attempt := 1; ; attempt++ {
		err = s.e.db.InTx(ctx, func(tx *db.Tx) error {
			effective, err = s.fireIn(ctx, tx, id)
			return err
		})
		if err == nil || attempt == 3 || !retryable(err) {
			return effective, err
		}
	}
}

type timer struct {
	id, caseID, stageID, supID int64
	kind                       string
	due                        time.Time
}

// fireIn fires one timer inside tx and reports whether it had an effect.
func (s *Scheduler) fireIn(ctx context.Context, tx *db.Tx, id int64) (bool, error) {
	var caseID int64
	err := tx.QueryRow(ctx, `SELECT case_id FROM timers WHERE id = $1`, id).Scan(&caseID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // cancelled by a change of its case
	}
	if err != nil {
		return false, db.Translate(err)
	}
	// Lock the case first, as casework's changes do, so that a change and
	// a firing of the same case serialise instead of deadlocking.
	if err := tx.QueryRow(ctx, `SELECT id FROM cases WHERE id = $1`+forUpdate(tx), caseID).Scan(&caseID); err != nil {
		return false, db.Translate(err)
	}
	// Marking it fired only if nobody did is what makes it fire once: a
	// second scheduler holding the same timer (after a lease expired)
	// finds it fired and does nothing.
	var t timer
	var due db.Time
	err = tx.QueryRow(ctx, `UPDATE timers SET fired_at = $1 WHERE id = $2 AND fired_at IS NULL
		RETURNING id, kind, case_id, COALESCE(stage_id, 0), COALESCE(supervision_id, 0), due_at`, tx.Now(), id).
		Scan(&t.id, &t.kind, &t.caseID, &t.stageID, &t.supID, &due)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, db.Translate(err)
	}
	t.due = due.Time
	effective, err := s.e.fireTimer(ctx, tx, t)
	if err != nil || !effective {
		return false, err
	}
	_, err = tx.Exec(ctx, `UPDATE timers SET effective = $1 WHERE id = $2`, true, id)
	return err == nil, err
}
