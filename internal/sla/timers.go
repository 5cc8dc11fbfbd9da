package sla

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"whistle/internal/db"
	"whistle/internal/timer"
)

// The kinds of the engine's kernel timers (package timer). The subject is
// the case id; the name is the stage id for a warning or a breach and the
// supervision id for a supervision.
const (
	TimerWarning     = "sla.warning"     // a stage's yellow warning
	TimerBreach      = "sla.breach"      // a stage's deadline
	TimerSupervision = "sla.supervision" // a supervision's deadline
)

// TimerKey is the key of the engine's timer of kind for case caseID and
// stage or supervision id.
func TimerKey(kind string, caseID, id int64) timer.Key {
	return timer.Key{Kind: kind, Subject: strconv.FormatInt(caseID, 10), Name: strconv.FormatInt(id, 10)}
}

// stageTimers returns the timers s's state calls for: none once it ended,
// while it is paused, without a limit or once breached; otherwise a
// warning (unless it fired or comes no earlier than the deadline) and a
// breach.
func stageTimers(s *Stage) []timer.Arming {
	if !s.EndedAt.IsZero() || !s.PausedAt.IsZero() || s.Deadline.IsZero() || !s.BreachedAt.IsZero() {
		return nil
	}
	var out []timer.Arming
	if s.WarnedAt.IsZero() && s.WarnAt.Before(s.Deadline) {
		out = append(out, timer.Arming{Key: TimerKey(TimerWarning, s.CaseID, s.ID), Due: s.WarnAt})
	}
	return append(out, timer.Arming{Key: TimerKey(TimerBreach, s.CaseID, s.ID), Due: s.Deadline})
}

// addStageTimers arms a new stage's timers, in one statement (this runs in
// every submission's transaction).
func addStageTimers(ctx context.Context, tx *db.Tx, s *Stage) error {
	as := stageTimers(s)
	if len(as) == 0 {
		return nil
	}
	return timer.ArmMany(ctx, tx, as)
}

// scheduleStage replaces s's pending timers with those its state calls
// for: it re-arms those (an upsert moves the due time) and cancels the
// others.
func scheduleStage(ctx context.Context, tx *db.Tx, s *Stage) error {
	as := stageTimers(s)
	var cancel []timer.Key
	for _, kind := range []string{TimerWarning, TimerBreach} {
		k, armed := TimerKey(kind, s.CaseID, s.ID), false
		for _, a := range as {
			armed = armed || a.Key == k
		}
		if !armed {
			cancel = append(cancel, k)
		}
	}
	if len(cancel) > 0 {
		if _, err := timer.CancelMany(ctx, tx, cancel); err != nil {
			return err
		}
	}
	if len(as) == 0 {
		return nil
	}
	return timer.ArmMany(ctx, tx, as)
}

// cancelSupervisionTimers cancels every pending supervision timer of a
// case.
func cancelSupervisionTimers(ctx context.Context, tx *db.Tx, caseID int64) error {
	_, err := timer.CancelSubject(ctx, tx, TimerSupervision, strconv.FormatInt(caseID, 10))
	return err
}

// RegisterTimers registers the engine's handlers for its timer kinds with
// r, which fires them (cmd/whistle runs one Runner for every kind).
func (e *Engine) RegisterTimers(r *timer.Runner) {
	// One handler for the three, so that they fire in due order across
	// kinds (a case's warning before its breach, as the restart test
	// checks).
	r.HandleBatchKinds([]string{TimerWarning, TimerBreach, TimerSupervision}, e.fireTimers)
}

// busyRetry is how long a timer whose case was busy waits before a runner
// takes it again: long enough for the change holding the case to commit,
// short enough that its effect is not noticeably late.
const busyRetry = time.Second

// due is a claimed timer of the engine, parsed.
type due struct {
	kind       string
	caseID, id int64
	at         time.Time
}

// fireTimers is the engine's timer.BatchHandler: it applies ts (of its
// kinds, in due order) inside tx, the transaction that deletes them.
//
// It locks their cases first, in id order. A change of a case locks the
// case and then re-arms or cancels its timers, while the runner has
// already locked the timers it claimed; to keep the two from deadlocking,
// a timer whose case another transaction holds (PostgreSQL: SKIP LOCKED)
// is armed again with its due time, held back for busyRetry, and fires
// in a later round, after the change, which may well have made it moot.
func (e *Engine) fireTimers(ctx context.Context, tx *db.Tx, ts []timer.Timer) (err error) {
	ds := make([]due, 0, len(ts))
	ids := make([]int64, 0, len(ts))
	for _, t := range ts {
		c, err1 := strconv.ParseInt(t.Subject, 10, 64)
		n, err2 := strconv.ParseInt(t.Name, 10, 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("sla timer %v: subject and name must be ids", t.Key)
		}
		ds = append(ds, due{kind: t.Kind, caseID: c, id: n, at: t.Due})
		ids = append(ids, c)
	}
	locked, busy, err := lockCases(ctx, tx, ids)
	if err != nil {
		return err
	}
	var later []timer.Arming
	// The timers fire in groups of consecutive ones (in due order), a new
	// group starting at a case's second timer: a group holds one timer a
	// case and fires as one (fireGroup), so that the timers take effect
	// in due order, a case's each after the one before, as they would one
	// transaction each.
	var rounds [][]due
	inRound := map[int64]bool{}
	for i, d := range ds {
		if busy[d.caseID] {
			now, err := timer.Now(ctx, tx, e.db.Clock())
			if err != nil {
				return err
			}
			later = append(later, timer.Arming{Key: ts[i].Key, Due: ts[i].Due, Payload: ts[i].Payload, NotBefore: now.Add(busyRetry)})
			continue
		}
		if !locked[d.caseID] {
			continue // no such case: nothing to fire
		}
		if len(rounds) == 0 || inRound[d.caseID] {
			rounds = append(rounds, nil)
			clear(inRound)
		}
		inRound[d.caseID] = true
		rounds[len(rounds)-1] = append(rounds[len(rounds)-1], d)
	}
	memo := staffMemo{}
	for _, round := range rounds {
		if err := e.fireGroup(ctx, tx, memo, round); err != nil {
			return fmt.Errorf("sla timers (%d): %w", len(round), err)
		}
	}
	if len(later) > 0 {
		return timer.ArmMany(ctx, tx, later)
	}
	return nil
}

// lockCases locks the cases ids (in id order, as every transaction that
// locks several does) and returns those it locked, and those that another
// transaction holds (PostgreSQL only: SQLite's writer is alone).
func lockCases(ctx context.Context, tx *db.Tx, ids []int64) (locked, busy map[int64]bool, err error) {
	ids = append([]int64(nil), ids...)
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	uniq := ids[:0]
	for i, id := range ids {
		if i == 0 || id != ids[i-1] {
			uniq = append(uniq, id)
		}
	}
	in, args := db.InList(tx.Dialect(), 0, uniq)
	lock := ""
	if tx.Dialect() == db.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	if locked, err = caseIDs(ctx, tx, `SELECT id FROM cases WHERE id IN (`+in+`) ORDER BY id`+lock, args); err != nil {
		return nil, nil, err
	}
	if len(locked) == len(uniq) || lock == "" {
		return locked, nil, nil
	}
	// Skipped: held by another transaction, or no such case.
	exist, err := caseIDs(ctx, tx, `SELECT id FROM cases WHERE id IN (`+in+`)`, args)
	if err != nil {
		return nil, nil, err
	}
	busy = map[int64]bool{}
	for id := range exist {
		if !locked[id] {
			busy[id] = true
		}
	}
	return locked, busy, nil
}

func caseIDs(ctx context.Context, tx *db.Tx, q string, args []any) (map[int64]bool, error) {
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, db.Translate(err)
		}
		out[id] = true
	}
	return out, db.Translate(rows.Err())
}

// RunCalendarReloads reloads the working calendar every interval until ctx
// ends, so that every replica sees an administrator's change.
func (e *Engine) RunCalendarReloads(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := e.ReloadCalendar(ctx); err != nil && ctx.Err() == nil {
			e.logger.Warn("sla calendar reload", "err", err)
		}
	}
}
