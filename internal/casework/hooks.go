package casework

import (
	"context"
	"time"

	"whistle/internal/db"
)

// Change describes one committed-to-be change of a case, handed to hooks
// inside the same transaction: if a hook fails, the change rolls back, so
// deadlines and rollups never disagree with the cases.
type Change struct {
	Before *Case // nil for a new case
	// After is the case after the change. A hook that changes the case's
	// row must update After to match, for the hooks after it and for the
	// caller (Submit answers with it).
	After    *Case
	Action   Action
	Input    Input
	Workflow *Workflow
	At       time.Time
	Actor    Caller
}

// Hook observes case changes in their transaction (SLA deadlines, rollups).
type Hook interface {
	CaseChanged(ctx context.Context, tx *db.Tx, ch Change) error
}

// runHooks calls every hook with the case after the change: after, or
// when that is nil the case re-read inside tx. It returns the case as the
// hooks leave it (a hook that changes the case's row, as the SLA engine
// does, updates ch.After too), or nil without hooks.
func (s *Service) runHooks(ctx context.Context, tx *db.Tx, before, after *Case, id int64, a Action, in Input, actor Caller) (*Case, error) {
	if len(s.hooks) == 0 {
		return nil, nil
	}
	if after == nil {
		var err error
		if after, err = scanCase(tx.QueryRow(ctx, `SELECT `+caseCols+caseFrom+` WHERE c.id = $1`, id)); err != nil {
			return nil, err
		}
	}
	ch := Change{Before: before, After: after, Action: a, Input: in, Workflow: s.wfs[after.Workflow], At: tx.Now(), Actor: actor}
	for _, h := range s.hooks {
		if err := h.CaseChanged(ctx, tx, ch); err != nil {
			return nil, err
		}
	}
	return after, nil
}

// System timeline actions: steps the scheduler records, not actions a
// caller can take.
const (
	ActWarning  Action = "sla_warning" // 预警: a share of the time limit has passed
	ActBreach   Action = "sla_breach"  // 超时: the time limit has passed
	ActEscalate Action = "escalate"    // 自动督办 at the next level up
	ActAnswered Action = "supervision_answered"
)

// SystemEvent records a step taken by the system (a warning, a breach, an
// automatic supervision) on a case's timeline inside tx, optionally flags
// the case as supervised, and publishes it after the commit.
func (s *Service) SystemEvent(ctx context.Context, tx *db.Tx, caseID int64, a Action, note string, data map[string]any, supervise bool) error {
	c, err := scanCase(tx.QueryRow(ctx, `SELECT `+caseCols+caseFrom+` WHERE c.id = $1`, caseID))
	if err != nil {
		return err
	}
	if supervise && !c.Supervised {
		if _, err := tx.Exec(ctx, `UPDATE cases SET supervised = $1, version = version + 1, updated_at = $2 WHERE id = $3`, true, tx.Now(), caseID); err != nil {
			return err
		}
	}
	if _, err := s.insertEvent(ctx, tx, eventRow{caseID: caseID, actor: Caller{System: true}, role: "system", action: a,
		from: c.Status, to: c.Status, note: note, data: data, public: false}); err != nil {
		return err
	}
	s.publishAfter(tx, c.District, a, c.ID, c.Number, c.Status, c.RegionPath, c.DepartmentID, c.ReporterID)
	return nil
}

// CaseInTx reads a case inside a transaction, unscoped, for hooks and the
// scheduler.
func (s *Service) CaseInTx(ctx context.Context, tx *db.Tx, id int64) (*Case, error) {
	return scanCase(tx.QueryRow(ctx, `SELECT `+caseCols+caseFrom+` WHERE c.id = $1`, id))
}

// NotifyInTx writes inbox entries for a system step to the case's handlers
// and to extra users (supervisors), inside tx.
func (s *Service) NotifyInTx(ctx context.Context, tx *db.Tx, c *Case, kind string, a Action, extra ...int64) error {
	ids, err := handlerIDs(ctx, tx, c)
	if err != nil {
		return err
	}
	t := Transition{Action: a}
	seen := map[int64]bool{}
	for _, id := range append(ids, extra...) {
		if id == 0 || seen[id] {
			continue
		}
		seen[id] = true
		if err := notifyAdd(ctx, tx, s, id, c, kind, t); err != nil {
			return err
		}
	}
	return nil
}
