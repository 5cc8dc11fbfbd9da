package sla

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"whistle/internal/casework"
	"whistle/internal/db"
)

// fireTimer applies a due timer inside tx. It reports false for a timer
// its case has made moot. The engine updates its own tables (the stage's
// warning or breach, the supervision's breach) and then takes the step on
// the case through casework's one change path as the system
// (casework.Service.SystemStep): the timeline, the notifications, the
// case's SLA state (from CaseDeadline, which reads the stage just
// updated) and the rollups, all in the timer's transaction.
func (e *Engine) fireTimer(ctx context.Context, tx *db.Tx, memo staffMemo, t due) (bool, error) {
	now := tx.Now()
	loc := e.Calendar().Location()
	switch t.kind {
	case TimerWarning, TimerBreach:
		st, err := stageByID(ctx, tx, t.id)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		if err != nil {
			return false, db.Translate(err)
		}
		if !st.EndedAt.IsZero() || !st.PausedAt.IsZero() || !st.BreachedAt.IsZero() || (t.kind == TimerWarning && !st.WarnedAt.IsZero()) {
			return false, nil
		}
		action, kind := casework.ActWarning, "sla_warning"
		if t.kind == TimerWarning {
			st.WarnedAt = now
		} else {
			st.BreachedAt = now
			action, kind = casework.ActBreach, "sla_breach"
		}
		if err := saveStage(ctx, tx, st); err != nil {
			return false, err
		}
		data := map[string]any{"stage": st.Stage, "limit": st.Limit, "deadline": st.Deadline.In(loc).Format(time.RFC3339),
			"due_at": t.at.In(loc).Format(time.RFC3339), "fired_by": e.cfg.Replica}
		c, err := e.cases.SystemStep(ctx, tx, t.caseID, casework.Step{Action: action, Data: data,
			Effects: []casework.Effect{casework.EffNotifyHandler}, NotifyKind: kind,
			Notify: func(c *casework.Case) ([]int64, error) { return supervisors(ctx, tx, memo, c) }})
		if err != nil {
			return false, err
		}
		if t.kind == TimerBreach {
			if err := e.escalate(ctx, tx, memo, c, ReasonStageBreach, st.ID, 0, t.at, now); err != nil {
				return false, err
			}
		}
		return true, nil
	case TimerSupervision:
		sv, err := scanSupervision(tx.QueryRow(ctx, `SELECT `+supCols+` FROM supervisions WHERE id = $1`, t.id))
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		if err != nil {
			return false, db.Translate(err)
		}
		if sv.Status != SupOpen || !sv.BreachedAt.IsZero() {
			return false, nil
		}
		if _, err := tx.Exec(ctx, `UPDATE supervisions SET breached_at = $1 WHERE id = $2`, now, sv.ID); err != nil {
			return false, err
		}
		data := map[string]any{"supervision": sv.ID, "level": sv.Level, "kind": sv.Kind, "deadline": sv.Deadline.In(loc).Format(time.RFC3339),
			"due_at": t.at.In(loc).Format(time.RFC3339), "fired_by": e.cfg.Replica}
		c, err := e.cases.SystemStep(ctx, tx, t.caseID, casework.Step{Action: casework.ActBreach, Data: data,
			Effects: []casework.Effect{casework.EffNotifyHandler}, NotifyKind: "sla_breach",
			Notify: func(*casework.Case) ([]int64, error) { return levelStaff(ctx, tx, memo, sv.Level, sv.RegionCode) }})
		if err != nil {
			return false, err
		}
		if err := e.escalate(ctx, tx, memo, c, ReasonSupBreach, sv.StageID, sv.ID, t.at, now); err != nil {
			return false, err
		}
		return true, nil
	}
	return false, nil
}
