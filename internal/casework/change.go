package casework

import (
	"context"
	"fmt"
	"strings"
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

// DeadlinesBatch is a Deadlines that computes a group of changes at once
// (SystemSteps). CaseDeadlines returns the SLA of each change, in order, as
// CaseDeadline called on each in turn would; a case may change more than
// once in the group.
type DeadlinesBatch interface {
	Deadlines
	CaseDeadlines(ctx context.Context, tx *db.Tx, chs []Change) ([]SLA, error)
}

// DeadlinesAhead is a Deadlines that computes a new case's SLA before the
// case's row is written (Submit), so that the row is inserted with its
// deadline and SLA state rather than inserted and then updated. write
// writes the computation's own rows once the case has its id, in the same
// transaction; ok false means CaseDeadline runs after the write instead.
type DeadlinesAhead interface {
	Deadlines
	NewCaseDeadline(ctx context.Context, tx *db.Tx, ch Change) (sla SLA, write func(ctx context.Context, tx *db.Tx, id int64) error, ok bool, err error)
}

// RollupsBatch is a Rollups that counts a group of changes at once
// (SystemSteps), as CaseChanged called on each in turn would.
type RollupsBatch interface {
	Rollups
	CasesChanged(ctx context.Context, tx *db.Tx, chs []Change) error
}

// pendingChange is a change written on its case, before its collaborators
// have run (changedMany).
type pendingChange struct {
	w             *Workflow
	before, after *Case
	id            int64
	action        Action
	effects       []Effect
	in            Input
	actor         Caller
	// slaDone says that the deadline computation has run for this change
	// already (DeadlinesAhead) and after carries its SLA.
	slaDone bool
}

// changed runs a change's collaborators in their one fixed order, inside
// tx, after casework wrote the change's own columns: first the deadline
// computation, whose deadline and SLA state casework writes on the case,
// then the rollups, which so always count the case as it now stands; last
// the API client's audit entry. w is the case's workflow (its own
// version), after the case as written (nil: read it inside tx). It returns
// the case after the change.
func (s *Service) changed(ctx context.Context, tx *db.Tx, w *Workflow, before, after *Case, id int64, a Action, effects []Effect, in Input, actor Caller) (*Case, error) {
	return s.changedOne(ctx, tx, pendingChange{w: w, before: before, after: after, id: id, action: a, effects: effects, in: in, actor: actor})
}

// changedOne is changed for a pending change.
func (s *Service) changedOne(ctx context.Context, tx *db.Tx, p pendingChange) (*Case, error) {
	out, err := s.changedMany(ctx, tx, []pendingChange{p})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// changedMany runs the collaborators of a group of changes as changed runs
// one's, each collaborator once for the group when it can take one
// (DeadlinesBatch, RollupsBatch), and writes the deadlines that changed in
// one statement. It returns the cases after the changes, in order.
func (s *Service) changedMany(ctx context.Context, tx *db.Tx, ps []pendingChange) ([]*Case, error) {
	now := tx.Now()
	out := make([]*Case, len(ps))
	chs := make([]Change, len(ps))
	for i, p := range ps {
		after := p.after
		if after == nil && (s.deadlines != nil || s.rollups != nil) {
			var err error
			if after, err = s.caseInTx(ctx, tx, p.id); err != nil {
				return nil, err
			}
		}
		out[i] = after
		chs[i] = Change{Before: p.before, After: after, Action: p.action, Effects: p.effects, Input: p.in, Workflow: p.w, At: now, Actor: p.actor}
	}
	if s.deadlines != nil {
		var idx []int
		var dch []Change
		for i, ch := range chs {
			if ch.Workflow == nil || ps[i].slaDone {
				continue
			}
			cp := *ch.After
			ch.After = &cp
			idx, dch = append(idx, i), append(dch, ch)
		}
		slas, err := s.deadlinesOf(ctx, tx, dch)
		if err != nil {
			return nil, err
		}
		cs := make([]*Case, len(idx))
		for j, i := range idx {
			cs[j] = out[i]
		}
		if err := setSLAs(ctx, tx, cs, slas); err != nil {
			return nil, err
		}
	}
	if s.rollups != nil {
		if err := s.rollupsOf(ctx, tx, chs); err != nil {
			return nil, err
		}
	}
	if cl, ok := APIClientFrom(ctx); ok {
		for i, p := range ps {
			if err := auditAPI(ctx, tx, cl, p.before, out[i], p.id, p.action); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// deadlinesOf computes the SLA of each change, in one call when the
// deadline computation takes a group.
func (s *Service) deadlinesOf(ctx context.Context, tx *db.Tx, chs []Change) ([]SLA, error) {
	if b, ok := s.deadlines.(DeadlinesBatch); ok && len(chs) > 1 {
		slas, err := b.CaseDeadlines(ctx, tx, chs)
		if err == nil && len(slas) != len(chs) {
			err = fmt.Errorf("deadlines: %d answers for %d changes", len(slas), len(chs))
		}
		return slas, err
	}
	out := make([]SLA, len(chs))
	for i, ch := range chs {
		var err error
		if out[i], err = s.deadlines.CaseDeadline(ctx, tx, ch); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// rollupsOf counts the changes, in one call when the rollups take a group.
func (s *Service) rollupsOf(ctx context.Context, tx *db.Tx, chs []Change) error {
	if b, ok := s.rollups.(RollupsBatch); ok && len(chs) > 1 {
		return b.CasesChanged(ctx, tx, chs)
	}
	for _, ch := range chs {
		if err := s.rollups.CaseChanged(ctx, tx, ch); err != nil {
			return err
		}
	}
	return nil
}

// stored is the deadline and SLA state as a case's row holds them: UTC,
// zero for none, and "none" for no state.
func (sla SLA) stored() (time.Time, string) {
	state := sla.State
	if state == "" {
		state = "none"
	}
	if sla.Deadline.IsZero() {
		return time.Time{}, state
	}
	return sla.Deadline.UTC(), state
}

// setSLAs writes the deadline and SLA state of each case that changed, in
// one statement (an UPDATE joined to the new values), and updates the
// cases to match. A case appears at most once (changed takes one change;
// SystemSteps writes its deadlines with the cases' columns, updateSystem).
func setSLAs(ctx context.Context, tx *db.Tx, cs []*Case, slas []SLA) error {
	type set struct {
		c        *Case
		deadline time.Time
		state    string
	}
	var sets []set
	var args []any
	for i, c := range cs {
		d, state := slas[i].stored()
		if c.SLAState == state && c.DeadlineAt.Equal(d) {
			continue
		}
		var v any
		if !d.IsZero() {
			v = d
		}
		sets = append(sets, set{c, d, state})
		args = append(args, c.ID, v, state)
	}
	if len(sets) == 0 {
		return nil
	}
	var q string
	switch {
	case len(sets) == 1:
		q = `UPDATE cases SET deadline_at = $2, sla_state = $3 WHERE id = $1`
	case tx.Dialect() == db.Postgres:
		var b strings.Builder
		for i := range sets {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "($%d::bigint, $%d::timestamptz, $%d::text)", 3*i+1, 3*i+2, 3*i+3)
		}
		q = `UPDATE cases SET deadline_at = v.d, sla_state = v.s FROM (VALUES ` + b.String() + `) AS v(id, d, s) WHERE cases.id = v.id`
	default:
		q = `UPDATE cases SET deadline_at = v.column2, sla_state = v.column3 FROM (VALUES ` + db.Placeholders(db.SQLite, len(sets), 3) +
			`) AS v WHERE cases.id = v.column1`
	}
	// Queued (db.Tx.Queue): nothing in the change needs its answer.
	if err := tx.Queue(ctx, q, args...); err != nil {
		return err
	}
	for _, s := range sets {
		s.c.DeadlineAt, s.c.SLAState = s.deadline, s.state
	}
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
