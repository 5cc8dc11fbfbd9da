package sla

import (
	"context"
	"time"

	"whistle/internal/casework"
	"whistle/internal/db"
)

// fireGroup applies a group of due timers, at most one a case, inside tx,
// with a constant number of statements for the group. It reads the
// group's stages and supervisions (one query each), drops the timers
// their case has made moot, stamps the warnings and breaches on them (one
// UPDATE each), and takes the steps on the cases through casework's one
// change path as the system (casework.Service.SystemSteps: the timeline,
// the notifications, the cases' SLA state and the rollups, each written
// once for the group). Each breach then opens its automatic supervision
// one level up (escalations), whose steps casework takes after the
// breaches' and writes with them (casework.Service.SystemStepsThen: one
// UPDATE, one timeline INSERT for both). A timer fired alone takes the
// same path, with a group of one.
func (e *Engine) fireGroup(ctx context.Context, tx *db.Tx, memo staffMemo, ds []due) error {
	now := tx.Now()
	loc := e.Calendar().Location()
	var stageIDs, supIDs []int64
	for _, d := range ds {
		if d.kind == TimerSupervision {
			supIDs = append(supIDs, d.id)
		} else if d.kind == TimerWarning || d.kind == TimerBreach {
			stageIDs = append(stageIDs, d.id)
		}
	}
	stages, err := stagesByID(ctx, tx, stageIDs)
	if err != nil {
		return err
	}
	sups, err := supervisionsByID(ctx, tx, supIDs)
	if err != nil {
		return err
	}
	// The stages that fire are their cases' open stages, as the deadline
	// computation of the steps below would read them again (openStagesKey).
	known := map[int64]*Stage{}
	ctx = context.WithValue(ctx, openStagesKey{}, known)
	var warned, breached, supBreached []int64
	var steps []casework.CaseStep
	var escalations []escalation
	for _, t := range ds {
		switch t.kind {
		case TimerWarning, TimerBreach:
			st := stages[t.id]
			if st == nil || !st.EndedAt.IsZero() || !st.PausedAt.IsZero() || !st.BreachedAt.IsZero() || (t.kind == TimerWarning && !st.WarnedAt.IsZero()) {
				continue // moot
			}
			if st.CaseID == t.caseID {
				known[t.caseID] = st
			}
			action, kind := casework.ActWarning, "sla_warning"
			if t.kind == TimerWarning {
				st.WarnedAt = now
				warned = append(warned, st.ID)
			} else {
				st.BreachedAt = now
				breached = append(breached, st.ID)
				action, kind = casework.ActBreach, "sla_breach"
				escalations = append(escalations, escalation{caseID: t.caseID, reason: ReasonStageBreach, stageID: st.ID, since: t.at})
			}
			data := map[string]any{"stage": st.Stage, "limit": st.Limit, "deadline": st.Deadline.In(loc).Format(time.RFC3339),
				"due_at": t.at.In(loc).Format(time.RFC3339), "fired_by": e.cfg.Replica}
			steps = append(steps, casework.CaseStep{CaseID: t.caseID, Step: casework.Step{Action: action, Data: data,
				Effects: []casework.Effect{casework.EffNotifyHandler}, NotifyKind: kind,
				Notify: func(c *casework.Case) ([]int64, error) { return supervisors(ctx, tx, memo, c) }}})
		case TimerSupervision:
			sv := sups[t.id]
			if sv == nil || sv.Status != SupOpen || !sv.BreachedAt.IsZero() {
				continue // moot
			}
			supBreached = append(supBreached, sv.ID)
			escalations = append(escalations, escalation{caseID: t.caseID, reason: ReasonSupBreach, stageID: sv.StageID, parentID: sv.ID, since: t.at})
			data := map[string]any{"supervision": sv.ID, "level": sv.Level, "kind": sv.Kind, "deadline": sv.Deadline.In(loc).Format(time.RFC3339),
				"due_at": t.at.In(loc).Format(time.RFC3339), "fired_by": e.cfg.Replica}
			level, code := sv.Level, sv.RegionCode
			steps = append(steps, casework.CaseStep{CaseID: t.caseID, Step: casework.Step{Action: casework.ActBreach, Data: data,
				Effects: []casework.Effect{casework.EffNotifyHandler}, NotifyKind: "sla_breach",
				Notify: func(*casework.Case) ([]int64, error) { return levelStaff(ctx, tx, memo, level, code) }}})
		}
	}
	for _, u := range []struct {
		table, col string
		ids        []int64
	}{{"sla_stages", "warned_at", warned}, {"sla_stages", "breached_at", breached}, {"supervisions", "breached_at", supBreached}} {
		if err := stampAll(ctx, tx, u.table, u.col, now, u.ids); err != nil {
			return err
		}
	}
	if len(steps) == 0 {
		return nil
	}
	var then func([]*casework.Case) ([]casework.CaseStep, error)
	if len(escalations) > 0 {
		then = func(cases []*casework.Case) ([]casework.CaseStep, error) {
			after := make(map[int64]*casework.Case, len(cases))
			for _, c := range cases {
				after[c.ID] = c
			}
			for i := range escalations {
				escalations[i].c = after[escalations[i].caseID]
			}
			return e.escalations(ctx, tx, memo, escalations, now)
		}
	}
	_, err = e.cases.SystemStepsThen(ctx, tx, steps, then)
	return err
}

// stampAll sets column col of the rows ids of table to at, in one
// statement, queued (db.Tx.Queue): nothing waits for its answer.
func stampAll(ctx context.Context, tx *db.Tx, table, col string, at time.Time, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	in, args := db.InList(tx.Dialect(), 1, ids)
	return tx.Queue(ctx, `UPDATE `+table+` SET `+col+` = `+db.Param(tx.Dialect(), 1)+` WHERE id IN (`+in+`)`, append([]any{at}, args...)...)
}
