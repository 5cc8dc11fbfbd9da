package casework

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/category"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/workflow"
)

// Target names whom a case is dispatched to: a person or a department.
type Target struct {
	User       int64  `json:"user,omitempty"`
	Department string `json:"department,omitempty"`
}

// Input carries an action's fields. Pointers tell "absent" from "zero".
type Input struct {
	Note    string  `json:"note,omitempty"`
	Reason  string  `json:"reason,omitempty"`
	Target  *Target `json:"target,omitempty"`
	Stars   *int    `json:"stars,omitempty"`
	Passed  *bool   `json:"passed,omitempty"`
	Result  string  `json:"result,omitempty"`
	Parent  int64   `json:"parent,omitempty"`
	Hours   *int    `json:"hours,omitempty"`
	Photos  []int64 `json:"photos,omitempty"`
	Comment string  `json:"comment,omitempty"` // rating comment; stored as the note
	// Deadline is a supervision's answer-by time (督办时限).
	Deadline *time.Time `json:"deadline,omitempty"`
	// Version, when set, must equal the case's version (optimistic locking
	// across a user's think time).
	Version int `json:"version,omitempty"`
	// auto is the routing decision behind an automatic dispatch; no caller
	// can set it (it is not decoded), only autoDispatch.
	auto *category.Routing
}

func (in Input) has(field string) bool {
	switch field {
	case FieldNote:
		return strings.TrimSpace(in.Note) != "" || strings.TrimSpace(in.Comment) != ""
	case FieldReason:
		return strings.TrimSpace(in.Reason) != ""
	case FieldTarget:
		return in.Target != nil && (in.Target.User != 0 || in.Target.Department != "")
	case FieldStars:
		return in.Stars != nil
	case FieldPassed:
		return in.Passed != nil
	case FieldResult:
		return in.Result != ""
	case FieldParent:
		return in.Parent != 0
	case FieldHours:
		return in.Hours != nil
	case FieldPhotos:
		return len(in.Photos) > 0
	}
	return false
}

// value returns an input field as an int for conditions (bools as 0/1).
func (in Input) value(field string) (int, bool) {
	switch field {
	case FieldStars:
		if in.Stars != nil {
			return *in.Stars, true
		}
	case FieldPassed:
		if in.Passed != nil {
			if *in.Passed {
				return 1, true
			}
			return 0, true
		}
	}
	return 0, false
}

func caseValue(c *Case, field string) int {
	switch field {
	case "case.reopens":
		return c.Reopens
	case "case.rework":
		return c.Rework
	case "case.postpone_pending":
		if c.PostponeHours > 0 {
			return 1
		}
	case "case.supervised":
		if c.Supervised {
			return 1
		}
	}
	return 0
}

// holds evaluates the guard with the engine, on the case's counters and
// the caller's input.
func (cd Cond) holds(c *Case, in Input) bool {
	return workflow.Cond(cd).Holds(caseAttrs{c}, inputValues{&in})
}

// caseAttrs shows a case's counters to the engine's guards.
type caseAttrs struct{ c *Case }

// Attr returns a case counter (case.reopens…).
func (a caseAttrs) Attr(name string) (int, bool) { return caseValue(a.c, name), true }

// inputValues shows an action's input to the engine's guards.
type inputValues struct{ in *Input }

// Value returns an input field as a number.
func (v inputValues) Value(name string) (int, bool) { return v.in.value(name) }

// isAssignee: the assigned person, or a handler of the assigned department.
func isAssignee(c *Case, u *account.User) bool {
	if u == nil {
		return false
	}
	if c.AssigneeID != 0 {
		return c.AssigneeID == u.ID
	}
	return c.DepartmentID != 0 && u.Has(account.DepartmentHandler) && u.DepartmentID == c.DepartmentID
}

// mayTake reports whether the caller may take t on c, and in which role:
// the engine checks the definition's roles and relations, casework says
// which relations the caller has to the case.
func mayTake(t Transition, c *Case, caller Caller) (string, bool) {
	by, relation, ok := t.def.Allowed(actingOn{c, &caller})
	switch {
	case !ok:
		return "", false
	case !relation:
		return by, true
	case by == ActorSystem:
		return "system", true
	case by == ActorReporter:
		return string(account.Resident), true
	}
	return roleFor(caller, nil), true
}

// actingOn is a caller as the engine's allowed check sees them on a case.
type actingOn struct {
	c      *Case
	caller *Caller
}

// HasRole reports whether the caller holds role r.
func (a actingOn) HasRole(r string) bool {
	return a.caller.User != nil && a.caller.User.Has(account.Role(r))
}

// HasRelation reports whether the caller is the case's assignee, its
// reporter, or the system.
func (a actingOn) HasRelation(rel string) bool {
	switch rel {
	case ActorSystem:
		return a.caller.System
	case ActorAssignee:
		return isAssignee(a.c, a.caller.User)
	case ActorReporter:
		u := a.caller.User
		return u != nil && a.c.ReporterID != 0 && a.c.ReporterID == u.ID
	}
	return false
}

// roleFor is the role recorded in the timeline: the first of the caller's
// roles among allowed (or their first role).
func roleFor(c Caller, allowed []account.Role) string {
	if c.System {
		return "system"
	}
	if c.User == nil {
		return "anonymous"
	}
	for _, r := range allowed {
		if c.User.Has(r) {
			return string(r)
		}
	}
	if len(c.User.Roles) > 0 {
		return string(c.User.Roles[0])
	}
	return ""
}

// Available is an action the caller may take now, with the fields its form needs.
type Available struct {
	Action   Action   `json:"action"`
	Requires []string `json:"requires"`
	Optional []string `json:"optional"`
}

// Actions lists what the caller may do on c now, in workflow order.
func (s *Service) Actions(c *Case, caller Caller) []Available {
	if c.Followed {
		return nil
	}
	// The store caches each version after its first read.
	w, err := s.workflowOf(context.Background(), c)
	if err != nil {
		return nil
	}
	seen := map[Action]int{}
	var out []Available
	for _, t := range w.Trans {
		if !contains(t.From, c.Status) {
			continue
		}
		if _, ok := mayTake(t, c, caller); !ok {
			continue
		}
		if !casePrecondition(t, c) {
			continue
		}
		if i, dup := seen[t.Action]; dup {
			out[i].Requires = union(out[i].Requires, t.Requires)
			out[i].Optional = union(out[i].Optional, t.Optional)
			continue
		}
		seen[t.Action] = len(out)
		out = append(out, Available{Action: t.Action, Requires: append([]string{}, t.Requires...), Optional: append([]string{}, t.Optional...)})
	}
	// A field required by one branch (verify failed needs a note) is
	// optional for the form as a whole.
	for i := range out {
		var req []string
		for _, f := range out[i].Requires {
			if allBranchesRequire(w, out[i].Action, c.Status, f) {
				req = append(req, f)
			} else {
				out[i].Optional = union(out[i].Optional, []string{f})
			}
		}
		out[i].Requires = req
		if out[i].Requires == nil {
			out[i].Requires = []string{}
		}
		if out[i].Optional == nil {
			out[i].Optional = []string{}
		}
	}
	return out
}

func allBranchesRequire(w *Workflow, a Action, s State, f string) bool {
	for _, t := range w.Candidates(a, s) {
		if !containsStr(t.Requires, f) {
			return false
		}
	}
	return true
}

// casePrecondition checks the conditions that depend only on the case, so
// that a postponement decision is offered only while one is pending.
func casePrecondition(t Transition, c *Case) bool {
	for _, cd := range t.When {
		if strings.HasPrefix(cd.Field, "case.") && !cd.holds(c, Input{}) {
			// Rate has an alternative branch without this guard.
			if t.Action == ActRate {
				continue
			}
			return false
		}
	}
	return true
}

func contains(xs []State, s State) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func containsStr(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func union(a, b []string) []string {
	for _, x := range b {
		if !containsStr(a, x) {
			a = append(a, x)
		}
	}
	return a
}

// Act takes an action on a case. Illegal transitions are Conflict naming
// the state and the action; a caller who may not act is Forbidden; missing
// or bad fields are Invalid with a message per field; a concurrent change
// (another claimant won) is Conflict.
func (s *Service) Act(ctx context.Context, caller Caller, id int64, action Action, in Input) (_ *Case, err error) {
	defer errs.Wrapf(&err, "casework.Act(%d, %s)", id, action)
	c, err := s.Get(ctx, caller, id)
	if err != nil {
		return nil, err
	}
	w, err := s.workflowOf(ctx, c)
	if err != nil {
		return nil, err
	}
	t, role, err := s.plan(c, w, action, caller, in)
	if err != nil {
		return nil, err
	}
	auto, err := s.autoRoute(ctx, c, w, *t)
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, func(tx *db.Tx) error {
		if err := s.apply(ctx, tx, caller, c, w, *t, role, in); err != nil {
			return err
		}
		if auto != nil {
			return s.autoDispatch(ctx, tx, c.ID, w, auto)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.get(ctx, account.SystemScope(), id)
}

// plan decides which transition of action the caller takes on c with in,
// and in which role; every caller of a workflow step (a person through Act,
// the system dispatching on acceptance) goes through it.
func (s *Service) plan(c *Case, w *Workflow, action Action, caller Caller, in Input) (*Transition, string, error) {
	if !w.Knows(action) {
		return nil, "", errs.E(errs.Invalid, "error.invalid").Field("action", "case.unknown_action", string(action), w.Name)
	}
	cands := w.Candidates(action, c.Status)
	if len(cands) == 0 {
		return nil, "", errs.E(errs.Conflict, "case.illegal_transition", string(action), string(c.Status)).WithReason("illegal_transition")
	}
	// Who may act is decided before what they sent: a stranger learns
	// nothing about the fields.
	permitted := false
	for _, t := range cands {
		if _, ok := mayTake(t, c, caller); ok {
			permitted = true
		}
	}
	if !permitted {
		return nil, "", errs.E(errs.Forbidden, "case.not_permitted", string(action))
	}
	if e := validateInput(in); e != nil {
		return nil, "", e
	}
	var t *Transition
	for i := range cands {
		ok := true
		for _, cd := range cands[i].When {
			if !cd.holds(c, in) {
				ok = false
				break
			}
		}
		if ok {
			t = &cands[i]
			break
		}
	}
	if t == nil {
		// Say which input decides, or that the case's state forbids it.
		e := errs.E(errs.Invalid, "error.invalid")
		for _, cd := range cands[0].When {
			if !strings.HasPrefix(cd.Field, "case.") && !in.has(cd.Field) {
				e.Field(cd.Field, "field.required")
			}
		}
		if len(e.Fields) > 0 {
			return nil, "", e
		}
		return nil, "", errs.E(errs.Conflict, "case.illegal_transition", string(action), string(c.Status)).WithReason("illegal_transition")
	}
	role, ok := mayTake(*t, c, caller)
	if !ok {
		return nil, "", errs.E(errs.Forbidden, "case.not_permitted", string(action))
	}
	e := errs.E(errs.Invalid, "error.invalid")
	for _, f := range t.Requires {
		if !in.has(f) {
			e.Field(f, "field.required")
		}
	}
	if len(e.Fields) > 0 {
		return nil, "", e
	}
	if in.Version != 0 && in.Version != c.Version {
		return nil, "", errs.E(errs.Conflict, "case.stale", c.Version).WithReason("stale_version")
	}
	return t, role, nil
}

// validateInput checks the shape of every supplied field.
func validateInput(in Input) *errs.Error {
	e := errs.E(errs.Invalid, "error.invalid")
	if utf8.RuneCountInString(in.Note) > 2000 {
		e.Field(FieldNote, "field.too_long", 2000)
	}
	if utf8.RuneCountInString(in.Comment) > 2000 {
		e.Field("comment", "field.too_long", 2000)
	}
	if utf8.RuneCountInString(in.Reason) > 1000 {
		e.Field(FieldReason, "field.too_long", 1000)
	}
	if in.Stars != nil && (*in.Stars < 1 || *in.Stars > 5) {
		e.Field(FieldStars, "field.range", 1, 5)
	}
	if in.Hours != nil && (*in.Hours < 1 || *in.Hours > 720) {
		e.Field(FieldHours, "field.range", 1, 720)
	}
	switch in.Result {
	case "", "satisfied", "basically_satisfied", "dissatisfied":
	default:
		e.Field(FieldResult, "case.bad_result")
	}
	if len(in.Photos) > 9 {
		e.Field(FieldPhotos, "case.too_many_photos", 9)
	}
	if in.Target != nil && in.Target.User != 0 && in.Target.Department != "" {
		e.Field(FieldTarget, "case.target_one")
	}
	if len(e.Fields) > 0 {
		return e
	}
	return nil
}

// apply performs one transition inside tx.
func (s *Service) apply(ctx context.Context, tx *db.Tx, caller Caller, c *Case, w *Workflow, t Transition, role string, in Input) error {
	_, err := s.step(ctx, tx, caller, c, w, t, role, in, stepOpts{})
	return err
}

// stepOpts are what a system step adds to a transition (see SystemStep).
type stepOpts struct {
	// system marks a system step: it writes only the columns its effects
	// change (and bumps the version only then), and no audit entry.
	system     bool
	data       map[string]any
	notifyKind string
	notify     []int64
}

// step performs one transition, a caller's or the system's, inside tx:
// the case's columns, the timeline, the audit entry,
// the event, then the deadline computation and the rollups (changed). It
// is the one path of every change of an existing case; SystemSteps takes
// the same path for a group of system steps, with each write made once for
// the group (prepare and finish are shared).
func (s *Service) step(ctx context.Context, tx *db.Tx, caller Caller, c *Case, w *Workflow, t Transition, role string, in Input, o stepOpts) (*Case, error) {
	p, err := s.prepare(ctx, tx, caller, c, w, t, role, in, o)
	if err != nil {
		return nil, err
	}
	if err := p.upd.exec(ctx, tx, c.ID, c.Version); err != nil {
		return nil, err
	}
	evID, err := s.insertEvent(ctx, tx, p.event())
	if err != nil {
		return nil, err
	}
	if len(in.Photos) > 0 {
		if err := s.attachPhotos(ctx, tx, c.ID, evID, in.Photos); err != nil {
			return nil, err
		}
	}
	if err := s.finish(ctx, tx, p, evID); err != nil {
		return nil, err
	}
	return s.changed(ctx, tx, w, c, p.known, c.ID, t.Action, t.Effects, in, caller)
}

// stepPlan is a transition worked out on a case before it is written: the
// columns it changes, its timeline entry, the case after it and the facts
// its feed event carries.
type stepPlan struct {
	c      *Case
	w      *Workflow
	t      Transition
	caller Caller
	role   string
	in     Input
	o      stepOpts
	upd    caseUpdate
	next   State
	note   string
	data   map[string]any
	facts  *StepFacts
	// known is the case after a system step (nil for a caller's: changed
	// reads it).
	known *Case
}

// event is the plan's timeline entry.
func (p *stepPlan) event() eventRow {
	return eventRow{caseID: p.c.ID, actor: p.caller, role: p.role, action: p.t.Action, from: p.c.Status, to: p.next,
		note: p.note, data: p.data, public: p.t.Public}
}

// prepare works out transition t on c: the effects (those that need to
// look something up do so inside tx), the update of the case's columns,
// the timeline entry and the case after it. It writes nothing but what an
// effect itself records (a merge's link).
func (s *Service) prepare(ctx context.Context, tx *db.Tx, caller Caller, c *Case, w *Workflow, t Transition, role string, in Input, o stepOpts) (*stepPlan, error) {
	next := c.Status
	switch t.To {
	case "":
	case Resume:
		next = c.PrevStatus
		if next == "" {
			next = w.Initial
		}
	default:
		next = t.To
	}
	upd := caseUpdate{status: next, prev: c.PrevStatus, dept: c.DepartmentID, assignee: c.AssigneeID, touch: !o.system}
	data := map[string]any{}
	for k, v := range o.data {
		data[k] = v
	}
	note := strings.TrimSpace(in.Note)
	if note == "" {
		note = strings.TrimSpace(in.Reason)
	} else if in.Reason != "" {
		data[DataReason] = in.Reason
	}
	if in.auto != nil {
		autoData(data, in.auto)
	}
	supervised := c.Supervised
	var unassigned []int64 // told that the case left them
	for _, eff := range t.Effects {
		switch eff {
		case EffAssign:
			if err := s.resolveTarget(ctx, tx, caller, c, in.Target, &upd, data); err != nil {
				return nil, err
			}
		case EffAssignSelf:
			upd.assignee, upd.dept = caller.id(), 0
			data[DataClaimant] = caller.name()
		case EffUnassign:
			if c.AssigneeID != 0 {
				unassigned = append(unassigned, c.AssigneeID)
			}
			upd.assignee, upd.dept = 0, 0
		case EffRework:
			upd.add("rework = rework + 1")
		case EffReturned:
			upd.add("returns = returns + 1")
		case EffReopen:
			upd.add("reopens = reopens + 1")
		case EffSupervise:
			if o.system && c.Supervised {
				break // a system step that changes nothing is no edit
			}
			upd.set("supervised", true)
			supervised = true
			if in.Deadline != nil {
				data[DataDeadline] = in.Deadline.UTC().Format(time.RFC3339)
			}
		case EffSuperviseClear:
			upd.set("supervised", false)
			supervised = false
		case EffRate:
			upd.set("rating", *in.Stars)
			comment := strings.TrimSpace(in.Comment)
			if comment == "" {
				comment = note
			}
			upd.set("rating_comment", comment)
			data[DataStars] = *in.Stars
			if note == "" {
				note = comment
			}
		case EffRevisit:
			upd.set("revisit_result", in.Result)
			data[DataResult] = in.Result
		case EffPostponeRequest:
			upd.set("postpone_hours", *in.Hours)
			upd.set("postpone_reason", in.Reason)
			data[DataHours] = *in.Hours
		case EffPostponeClear:
			data[DataHours] = c.PostponeHours
			upd.set("postpone_hours", 0)
			upd.set("postpone_reason", "")
		case EffSuspend:
			upd.prev = c.Status
		case EffMerge:
			if err := s.merge(ctx, tx, caller, c, in.Parent, data); err != nil {
				return nil, err
			}
			upd.set("parent_id", in.Parent)
		case EffClose:
			upd.set("closed_at", tx.Now())
		}
	}
	if in.Passed != nil {
		data[DataPassed] = *in.Passed
	}
	if t.To == Resume {
		upd.prev = ""
	}
	if o.system && len(upd.sets) > 0 {
		upd.touch = true
	}
	after := *c
	after.Status, after.AssigneeID, after.DepartmentID, after.Supervised = next, upd.assignee, upd.dept, supervised
	facts := &StepFacts{Workflow: w.Name, WorkflowVersion: c.WorkflowVersion, Effects: t.Effects, NotifyKind: o.notifyKind,
		Notify: append(unassigned, o.notify...)}
	for _, eff := range t.Effects {
		switch eff {
		case EffReopen:
			after.Reopens++
		case EffRework:
			after.Rework++
		case EffPostponeRequest:
			after.PostponeHours = *in.Hours
		case EffPostponeClear:
			after.PostponeHours = 0
		}
	}
	before := snapshotOf(c)
	facts.Before, facts.After = &before, snapshotOf(&after)
	p := &stepPlan{c: c, w: w, t: t, caller: caller, role: role, in: in, o: o, upd: upd, next: next, note: note, data: data, facts: facts}
	if o.system {
		// A system step changes no column but the flag: the case after it
		// is known without a read.
		known := after
		known.Reopens, known.Rework, known.PostponeHours = c.Reopens, c.Rework, c.PostponeHours
		if upd.touch {
			known.Version, known.UpdatedAt = c.Version+1, tx.Now()
		}
		p.known = &known
	}
	return p, nil
}

// finish records a written step's audit entry (a caller's) and appends its
// event, whose timeline entry is evID, to the change feed.
func (s *Service) finish(ctx context.Context, tx *db.Tx, p *stepPlan, evID int64) error {
	c, t := p.c, p.t
	p.facts.EventID = evID
	if !p.o.system {
		summary := fmt.Sprintf("%s: %s → %s", t.Action, c.Status, p.next)
		if err := audit.Record(ctx, tx, audit.Actor{UserID: p.caller.id(), Name: p.caller.name(), IP: p.caller.IP}, "case."+string(t.Action),
			"case:"+c.Number, summary); err != nil {
			return err
		}
	}
	s.publishAfter(tx, c.District, t.Action, c.ID, c.Number, p.next, c.RegionPath, p.upd.dept, c.ReporterID, p.facts)
	return nil
}

// caseUpdate collects the columns a transition changes.
type caseUpdate struct {
	status, prev   State
	dept, assignee int64
	// touch writes the status, the handler, the time and a new version
	// besides the sets (every transition; a system step only with sets).
	touch bool
	sets  []string
	args  []any
	// assigns are the sets as columns and values (or expressions), for
	// a group of system steps (updateSystem).
	assigns []assign
}

// assign is a column's new value, or the expression (expr) of one.
type assign struct {
	col, expr string
	v         any
}

func (u *caseUpdate) set(col string, v any) {
	u.args = append(u.args, v)
	u.sets = append(u.sets, col+" = $"+strconv.Itoa(len(u.args)))
	u.assigns = append(u.assigns, assign{col: col, v: v})
}

// add sets a column to an expression ("rework = rework + 1").
func (u *caseUpdate) add(expr string) {
	u.sets = append(u.sets, expr)
	col, rhs, _ := strings.Cut(expr, " = ")
	u.assigns = append(u.assigns, assign{col: col, expr: rhs})
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// exec writes the update if the version is unchanged; otherwise someone
// else changed the case first (the loser of a claim race) and it is a Conflict.
func (u *caseUpdate) exec(ctx context.Context, tx *db.Tx, id int64, version int) error {
	if !u.touch {
		return nil
	}
	u.set("status", string(u.status))
	u.set("prev_status", string(u.prev))
	u.set("department_id", nullID(u.dept))
	u.set("assignee_id", nullID(u.assignee))
	u.set("updated_at", tx.Now())
	u.add("version = version + 1")
	u.args = append(u.args, id, version)
	n := len(u.args)
	q := `UPDATE cases SET ` + strings.Join(u.sets, ", ") + ` WHERE id = $` + strconv.Itoa(n-1) + ` AND version = $` + strconv.Itoa(n)
	res, err := tx.Exec(ctx, q, u.args...)
	if err != nil {
		return err
	}
	rows, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if rows == 0 {
		return errs.E(errs.Conflict, "case.changed").WithReason("stale_version")
	}
	return nil
}

// resolveTarget checks a dispatch target: a staff user within the
// dispatcher's scope, or a known department.
func (s *Service) resolveTarget(ctx context.Context, tx *db.Tx, caller Caller, c *Case, t *Target, upd *caseUpdate, data map[string]any) error {
	if t.User != 0 {
		u, err := s.accounts.User(ctx, caller.Scope(), t.User)
		if err != nil || !u.IsStaff() || u.Disabled {
			return errs.E(errs.Invalid, "error.invalid").Field(FieldTarget, "case.bad_target_user")
		}
		upd.assignee, upd.dept = u.ID, 0
		data[DataTargetUser] = u.Username
		return nil
	}
	var id int64
	var name string
	err := tx.QueryRow(ctx, `SELECT id, name FROM departments WHERE code = $1`, t.Department).Scan(&id, &name)
	if errors.Is(err, sql.ErrNoRows) {
		return errs.E(errs.Invalid, "error.invalid").Field(FieldTarget, "field.unknown_department", t.Department)
	}
	if err != nil {
		return err
	}
	upd.assignee, upd.dept = 0, id
	data[DataTargetDepartment] = t.Department
	data[DataTargetDepartmentName] = name
	return nil
}

// merge links a duplicate to its parent; the duplicate's reporter follows
// the parent's updates.
func (s *Service) merge(ctx context.Context, tx *db.Tx, caller Caller, c *Case, parentID int64, data map[string]any) error {
	if parentID == c.ID {
		return errs.E(errs.Invalid, "error.invalid").Field(FieldParent, "case.merge_self")
	}
	p, err := s.get(ctx, caller.Scope(), parentID)
	if err != nil {
		return errs.E(errs.Invalid, "error.invalid").Field(FieldParent, "case.not_found")
	}
	if !p.IsOpen() || p.District != c.District {
		return errs.E(errs.Invalid, "error.invalid").Field(FieldParent, "case.merge_closed")
	}
	if _, err := tx.Exec(ctx, `INSERT INTO case_links (case_id, other_id, kind) VALUES ($1, $2, 'duplicate')`, c.ID, p.ID); err != nil {
		return err
	}
	if c.ReporterID != 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO case_followers (case_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, p.ID, c.ReporterID); err != nil {
			return err
		}
	}
	data[DataParent] = p.Number
	return nil
}

// scanIDs reads a one-column result of ids and closes it. An error that
// ends the loop early (a dropped connection, a cancelled context) is
// returned, not taken for the end of the list.
func scanIDs(rows *sql.Rows) ([]int64, error) {
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// AutoClose closes 红哨 cases that have waited for a rating longer than the
// configured period, as the system. It returns how many it closed.
func (s *Service) AutoClose(ctx context.Context) (_ int, err error) {
	defer errs.Wrapf(&err, "casework.Service.AutoClose")
	cutoff := s.db.Now().Add(-s.cfg.AutoCloseAfter)
	rows, err := s.db.Query(ctx, `SELECT id FROM cases WHERE workflow = 'whistle' AND status = $1 AND updated_at <= $2 ORDER BY id LIMIT 1000`,
		string(Verified), cutoff)
	if err != nil {
		return 0, err
	}
	ids, err := scanIDs(rows)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		_, err := s.Act(ctx, Caller{System: true}, id, ActClose, Input{Note: "auto-close: not rated in time"})
		if errs.Is(err, errs.Conflict) {
			continue // rated or changed meanwhile
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
