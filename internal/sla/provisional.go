package sla

import (
	"context"
	"fmt"
	"time"

	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/sla/calendar"
)

// ActRecomputed is the timeline step of a deadline recomputed on an
// official schedule that replaced a provisional calendar.
const ActRecomputed casework.Action = "sla_recomputed"

// markProvisional records whether s's deadline was computed across a
// provisional year (natural time does not depend on the calendar).
func markProvisional(cal *calendar.Calendar, s *Stage) {
	s.Provisional = s.Provisional || (!s.Natural && !s.Deadline.IsZero() && cal.ProvisionalBetween(s.StartedAt, s.Deadline))
}

// recomputeBatch bounds the stages recomputed in one transaction.
const recomputeBatch = 200

// recomputeProvisional recomputes, on cal, the open stages whose deadline
// was computed across a provisional year that cal now has a schedule for.
// Each changed deadline is written with its timers, mirrored on the case,
// recorded on the case's timeline (sla_recomputed) and in the audit log.
// Stages already breached keep their deadline (their breach and
// supervisions stand) and lose the mark. It returns how many deadlines
// moved.
func (e *Engine) recomputeProvisional(ctx context.Context, cal *calendar.Calendar) (moved int, err error) {
	defer errs.Wrapf(&err, "sla.recomputeProvisional")
	ids, err := e.staleProvisional(ctx, cal)
	if err != nil {
		return 0, err
	}
	for len(ids) > 0 {
		batch := ids[:min(len(ids), recomputeBatch)]
		ids = ids[len(batch):]
		n := 0
		err := e.db.InTx(ctx, func(tx *db.Tx) error {
			n = 0
			for _, id := range batch {
				changed, err := e.recomputeStage(ctx, tx, cal, id)
				if err != nil {
					return err
				}
				if changed {
					n++
				}
			}
			return nil
		})
		if err != nil {
			return moved, err
		}
		moved += n
	}
	if moved > 0 {
		e.logger.Info("sla: deadlines recomputed on the official calendar", "stages", moved)
	}
	return moved, nil
}

// staleProvisional lists the open marked stages whose dates no longer touch
// a provisional year of cal.
func (e *Engine) staleProvisional(ctx context.Context, cal *calendar.Calendar) ([]int64, error) {
	rows, err := e.db.Query(ctx, `SELECT id, started_at, deadline_at FROM sla_stages WHERE provisional AND ended_at IS NULL ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		var start db.Time
		var deadline db.NullTime
		if err := rows.Scan(&id, &start, &deadline); err != nil {
			return nil, err
		}
		if deadline.Time.IsZero() || !cal.ProvisionalBetween(start.Time, deadline.Time) {
			ids = append(ids, id)
		}
	}
	return ids, rows.Err()
}

// recomputeStage recomputes one stage inside tx, if it is still open,
// marked and off every provisional year; it reports whether its deadline
// or warning moved.
func (e *Engine) recomputeStage(ctx context.Context, tx *db.Tx, cal *calendar.Calendar, id int64) (bool, error) {
	// Lock the case first, as casework's changes and the scheduler do, so
	// that a recomputation and a change of the same case serialise instead
	// of deadlocking.
	var caseID int64
	if err := tx.QueryRow(ctx, `SELECT case_id FROM sla_stages WHERE id = $1`, id).Scan(&caseID); err != nil {
		return false, db.Translate(err)
	}
	if err := tx.QueryRow(ctx, `SELECT id FROM cases WHERE id = $1`+forUpdate(tx), caseID).Scan(&caseID); err != nil {
		return false, db.Translate(err)
	}
	s, err := scanStage(tx.QueryRow(ctx, `SELECT `+stageCols+` FROM sla_stages WHERE id = $1`, id))
	if err != nil {
		return false, db.Translate(err)
	}
	if !s.Provisional || !s.EndedAt.IsZero() || (!s.Deadline.IsZero() && cal.ProvisionalBetween(s.StartedAt, s.Deadline)) {
		return false, nil // another replica got here first, or still provisional
	}
	s.Provisional = false
	lim, err := calendar.ParseLimit(s.Limit)
	if s.Natural || s.Deadline.IsZero() || !s.BreachedAt.IsZero() || err != nil {
		return false, saveStage(ctx, tx, s)
	}
	old := *s
	now := tx.Now()
	// The stage as enterStage would have planned it on cal, then the
	// working time it stood paused and the postponements granted.
	d0 := cal.Deadline(s.StartedAt, lim)
	s.Budget = cal.WorkingBetween(s.StartedAt, d0) + s.Extended
	s.Deadline = advance(cal, false, d0, s.Paused+s.Extended).UTC()
	if s.Extended == 0 {
		s.WarnAt = advance(cal, false, s.StartedAt, share(s.Budget, s.WarnPercent)+s.Paused).UTC()
	} else {
		s.WarnAt = advance(cal, false, s.Deadline, -(s.Budget - share(s.Budget, s.WarnPercent))).UTC()
	}
	if !s.WarnedAt.IsZero() && s.WarnAt.After(now) {
		s.WarnedAt = time.Time{} // the warning comes again, for the later deadline
	}
	markProvisional(cal, s)
	if err := saveStage(ctx, tx, s); err != nil {
		return false, err
	}
	if s.Deadline.Equal(old.Deadline) && s.WarnAt.Equal(old.WarnAt) {
		return false, nil
	}
	if err := scheduleStage(ctx, tx, s); err != nil {
		return false, err
	}
	// The recomputed step goes through casework's change path, which takes
	// the case's new deadline and SLA state from CaseDeadline (reading the
	// stage just saved) and counts it in the rollups.
	loc := cal.Location()
	data := map[string]any{"stage": s.Stage, "limit": s.Limit, "old_deadline": old.Deadline.In(loc).Format(time.RFC3339),
		"deadline": s.Deadline.In(loc).Format(time.RFC3339)}
	if _, err := e.cases.SystemStep(ctx, tx, s.CaseID, casework.Step{Action: ActRecomputed, Data: data}); err != nil {
		return false, err
	}
	return true, audit.Record(ctx, tx, audit.System("sla"), "sla.recompute", fmt.Sprintf("case:%d", s.CaseID),
		fmt.Sprintf("stage %s (%s): deadline %s → %s, warning %s → %s; the official schedule replaced the provisional calendar",
			s.Stage, s.Limit, old.Deadline.In(loc).Format(time.DateTime), s.Deadline.In(loc).Format(time.DateTime),
			old.WarnAt.In(loc).Format(time.DateTime), s.WarnAt.In(loc).Format(time.DateTime)))
}
