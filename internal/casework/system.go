package casework

import (
	"context"

	"whistle/internal/db"
	"whistle/internal/errs"
)

// System steps: what the scheduler records on a case, not actions a caller
// can take. They go through the same path as a caller's action (apply).
const (
	ActWarning  Action = "sla_warning" // 预警: a share of the time limit has passed
	ActBreach   Action = "sla_breach"  // 超时: the time limit has passed
	ActEscalate Action = "escalate"    // 自动督办 at the next level up
	ActAnswered Action = "supervision_answered"
)

// Step is a step the system takes on a case outside its workflow's
// transitions (a warning, a breach, an automatic supervision, a deadline
// recomputed): it keeps the case's status, and its Effects are applied as
// a transition's are (EffSupervise flags the case, EffNotifyHandler names
// its handlers to the notifications' feed consumer).
type Step struct {
	Action  Action
	Note    string
	Data    map[string]any
	Effects []Effect
	// NotifyKind is the kind of the inbox entries EffNotifyHandler asks
	// for (default "task"); Notify, optional, returns further recipients
	// (supervisors) for the case as it stands before the step. Both travel
	// in the step's feed event (StepFacts).
	NotifyKind string
	Notify     func(c *Case) ([]int64, error)
}

// SystemStep takes step on case id as the system inside tx (the
// transaction of the timer that called for it), through the path every
// action takes: the case's columns, the timeline, the
// deadline computation, the rollups and the event. A step that changes
// only the SLA state leaves the case's version alone, as the system's
// bookkeeping is no edit a person's form could conflict with. It returns
// the case after the step.
func (s *Service) SystemStep(ctx context.Context, tx *db.Tx, id int64, step Step) (_ *Case, err error) {
	defer errs.Wrapf(&err, "casework.SystemStep(%d, %s)", id, step.Action)
	c, err := s.caseInTx(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	w, err := s.workflowOf(ctx, c)
	if err != nil {
		return nil, err
	}
	var extra []int64
	if step.Notify != nil {
		if extra, err = step.Notify(c); err != nil {
			return nil, err
		}
	}
	t := Transition{Action: step.Action, Actors: []string{ActorSystem}, Effects: step.Effects}
	return s.step(ctx, tx, Caller{System: true}, c, w, t, "system", Input{Note: step.Note}, stepOpts{system: true, data: step.Data,
		notifyKind: step.NotifyKind, notify: extra})
}
