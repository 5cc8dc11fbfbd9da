package casework

import (
	"context"
	"time"

	"whistle/internal/audit"
	"whistle/internal/db"
)

// Change describes one change of a case, handed to casework's
// collaborators inside the change's transaction: if one fails, the change
// rolls back, so deadlines and rollups never disagree with the cases.
type Change struct {
	Before *Case // nil for a new case
	// After is the case after the change. Deadlines gets a copy it cannot
	// hand on; Rollups gets the case as casework wrote it, with the
	// deadline and SLA state Deadlines returned.
	After *Case
	// Action is the transition's action (or ActSubmit, or a system step's).
	Action Action
	// Effects are the transition's effects: collaborators decide what a
	// change means for them from these, never from the action's name.
	Effects  []Effect
	Input    Input
	Workflow *Workflow
	At       time.Time
	Actor    Caller
}

// Has reports whether the change's transition has effect e.
func (ch Change) Has(e Effect) bool {
	for _, x := range ch.Effects {
		if x == e {
			return true
		}
	}
	return false
}

// SLA is what the deadline computation returns for a case after a change:
// the deadline the case shows (zero for none) and its time-limit state.
type SLA struct {
	Deadline time.Time
	State    string
}

// Deadlines computes a case's time limits inside each change's
// transaction. It keeps its own tables (stages, supervisions, timers) and
// returns the case's deadline and SLA state; casework writes them on the
// case. The SLA engine (*sla.Engine) is one.
type Deadlines interface {
	CaseDeadline(ctx context.Context, tx *db.Tx, ch Change) (SLA, error)
}

// Rollups counts each change inside its transaction, from the case before
// and after it (with the deadline and SLA state Deadlines returned). The
// stats rollups (*stats.Store) are one.
type Rollups interface {
	CaseChanged(ctx context.Context, tx *db.Tx, ch Change) error
}

// UseDeadlines sets the deadline computation, for a Deadlines built after
// the Service (the SLA engine takes the Service). Call it before serving.
func (s *Service) UseDeadlines(d Deadlines) { s.deadlines = d }

// UseRollups sets the rollups, for Rollups built after the Service. Call
// it before serving.
func (s *Service) UseRollups(r Rollups) { s.rollups = r }

// changed runs a change's collaborators in their one fixed order, inside
// tx, after casework wrote the change's own columns: first the deadline
// computation, whose deadline and SLA state casework writes on the case,
// then the rollups, which so always count the case as it now stands; last
// the API client's audit entry. w is the case's workflow (its own
// version), after the case as written (nil: read it inside tx). It returns
// the case after the change.
func (s *Service) changed(ctx context.Context, tx *db.Tx, w *Workflow, before, after *Case, id int64, a Action, effects []Effect, in Input, actor Caller) (*Case, error) {
	if after == nil && (s.deadlines != nil || s.rollups != nil) {
		var err error
		if after, err = s.caseInTx(ctx, tx, id); err != nil {
			return nil, err
		}
	}
	ch := Change{Before: before, After: after, Action: a, Effects: effects, Input: in, Workflow: w, At: tx.Now(), Actor: actor}
	if s.deadlines != nil && w != nil {
		cp := *after
		ch.After = &cp
		sla, err := s.deadlines.CaseDeadline(ctx, tx, ch)
		if err != nil {
			return nil, err
		}
		ch.After = after
		if err := setSLA(ctx, tx, after, sla); err != nil {
			return nil, err
		}
	}
	if s.rollups != nil {
		if err := s.rollups.CaseChanged(ctx, tx, ch); err != nil {
			return nil, err
		}
	}
	if cl, ok := APIClientFrom(ctx); ok {
		if err := auditAPI(ctx, tx, cl, before, after, id, a); err != nil {
			return nil, err
		}
	}
	return after, nil
}

// setSLA writes a case's deadline and SLA state when they changed, and
// updates c to match.
func setSLA(ctx context.Context, tx *db.Tx, c *Case, sla SLA) error {
	if sla.State == "" {
		sla.State = "none"
	}
	d := sla.Deadline.UTC()
	if sla.Deadline.IsZero() {
		d = time.Time{}
	}
	if c.SLAState == sla.State && c.DeadlineAt.Equal(d) {
		return nil
	}
	var v any
	if !d.IsZero() {
		v = d
	}
	if err := tx.Queue(ctx, `UPDATE cases SET deadline_at = $1, sla_state = $2 WHERE id = $3`, v, sla.State, c.ID); err != nil {
		return err
	}
	c.DeadlineAt, c.SLAState = d, sla.State
	return nil
}

// caseInTx reads a case inside tx, unscoped.
func (s *Service) caseInTx(ctx context.Context, tx *db.Tx, id int64) (*Case, error) {
	c, err := scanCase(tx.QueryRow(ctx, `SELECT `+caseCols+caseFrom+` WHERE c.id = $1`, id))
	return c, db.Translate(err)
}

// APIClient is an integration calling through an API key (Open311): the
// key's name, the client's address, and the API it came through, which
// names the audit actions (<Via>.request for a new case, <Via>.update for
// a step).
type APIClient struct {
	KeyName string
	IP      string
	Via     string
}

type apiClientKey struct{}

// WithAPIClient returns ctx carrying the calling integration: every case
// change made with it writes an audit entry by apikey:<key name>, in the
// change's own transaction.
func WithAPIClient(ctx context.Context, c APIClient) context.Context {
	return context.WithValue(ctx, apiClientKey{}, c)
}

// APIClientFrom returns the integration that ctx carries.
func APIClientFrom(ctx context.Context) (APIClient, bool) {
	c, ok := ctx.Value(apiClientKey{}).(APIClient)
	return c, ok
}

// auditAPI writes an API client's audit entry for a change: <via>.request
// for a new case, <via>.update for a step, on the target case:<number>.
func auditAPI(ctx context.Context, tx *db.Tx, cl APIClient, before, after *Case, id int64, a Action) error {
	if after == nil {
		var err error
		var number, cat, status string
		if err = tx.QueryRow(ctx, `SELECT number, category_code, status FROM cases WHERE id = $1`, id).Scan(&number, &cat, &status); err != nil {
			return db.Translate(err)
		}
		after = &Case{Number: number, CategoryCode: cat, Status: State(status)}
	}
	action, summary := cl.Via+".request", after.CategoryCode+" "+after.Number
	if before != nil {
		action, summary = cl.Via+".update", string(a)+": "+string(before.Status)+" → "+string(after.Status)
	}
	return audit.Record(ctx, tx, audit.Actor{Name: "apikey:" + cl.KeyName, IP: cl.IP}, action, "case:"+after.Number, summary)
}
