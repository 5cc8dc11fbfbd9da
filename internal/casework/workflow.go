package casework

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"sync"

	"whistle/internal/account"
	"whistle/internal/workflow"
)

// State is a case status.
type State string

// The states of both shipped workflows (workflows/*.json). submitted,
// in_progress, resolved and closed are canonical; docs/WORKFLOWS.md,
// generated from the files, documents the others.
const (
	Submitted  State = "submitted"   // 待受理 / 上报待立案
	Accepted   State = "accepted"    // 已受理，待派遣 (红哨)
	Registered State = "registered"  // 已立案，待派遣 (数字城管)
	Claimable  State = "claimable"   // 待认领 (红哨)
	Dispatched State = "dispatched"  // 已派遣，待处置
	InProgress State = "in_progress" // 处理中
	Resolved   State = "resolved"    // 已处置，待核查
	Verified   State = "verified"    // 已核查，待评价 / 待结案
	Closed     State = "closed"      // 已结案
	Rejected   State = "rejected"    // 已驳回 (红哨)
	Declined   State = "declined"    // 不予受理 (数字城管)
	Merged     State = "merged"      // 已合并到另一案件
	Suspended  State = "suspended"   // 挂起
)

// Action is a step a caller can take on a case.
type Action string

// The canonical action names.
const (
	ActAccept          Action = "accept"
	ActReject          Action = "reject"
	ActDispatch        Action = "dispatch"
	ActOpenForClaim    Action = "open_for_claim"
	ActClaim           Action = "claim"
	ActStart           Action = "start"
	ActResolve         Action = "resolve"
	ActVerify          Action = "verify"
	ActRate            Action = "rate"
	ActClose           Action = "close"
	ActRegister        Action = "register"
	ActDecline         Action = "decline"
	ActReturn          Action = "return"
	ActPostponeRequest Action = "postpone_request"
	ActPostponeApprove Action = "postpone_approve"
	ActPostponeRefuse  Action = "postpone_refuse"
	ActSuspend         Action = "suspend"
	ActResume          Action = "resume"
	ActSupervise       Action = "supervise"
	ActRevisit         Action = "revisit"
	ActMerge           Action = "merge"
	// ActSubmit is the timeline entry of a new case; it is not an action a
	// caller can take on an existing case.
	ActSubmit Action = "submit"
	// ActReply is the handler's answer to a supervision (督办回复).
	ActReply Action = "reply"
)

// Actor rules name who, besides holders of the listed roles, may act.
const (
	ActorAssignee = "assignee" // the handler: the assigned person, or a handler of the assigned department
	ActorReporter = "reporter" // the resident who reported the case
	ActorSystem   = "system"   // the scheduler (auto-close) and automatic dispatch on acceptance
)

// Input fields an action may require.
const (
	FieldNote   = "note"
	FieldReason = "reason"
	FieldTarget = "target" // {"user": id} or {"department": code}
	FieldStars  = "stars"
	FieldPassed = "passed"
	FieldResult = "result" // revisit: satisfied | basically_satisfied | dissatisfied
	FieldParent = "parent" // merge: the case to merge into
	FieldHours  = "hours"  // postpone: extra working hours requested
	FieldPhotos = "photos" // ids of photos uploaded to the case
)

// Effect is a side effect of a transition, applied in the same transaction.
type Effect string

// The effects.
const (
	EffAssign          Effect = "assign"           // set handler from target
	EffAssignSelf      Effect = "assign_self"      // the caller becomes the handler (claim)
	EffUnassign        Effect = "unassign"         // clear the handler (return)
	EffRework          Effect = "rework"           // count a rework (返工)
	EffReturned        Effect = "returned"         // count a return (退单)
	EffReopen          Effect = "reopen"           // count a reopening after a low rating
	EffSupervise       Effect = "supervise"        // flag for supervision (督办)
	EffSuperviseClear  Effect = "supervise_clear"  // the handler answered the supervision
	EffSuperviseOrder  Effect = "supervise_order"  // a leader's 督办: a supervision with the note as its instruction
	EffRate            Effect = "rate"             // record stars and comment
	EffRevisit         Effect = "revisit"          // record the return visit's result
	EffPostponeRequest Effect = "postpone_request" // record a pending request
	EffPostponeClear   Effect = "postpone_clear"   // clear it (approved or refused)
	EffPostponeGrant   Effect = "postpone_grant"   // the pending request is granted: the time limit grows by its hours
	EffSuspend         Effect = "suspend"          // remember the state to resume to
	EffMerge           Effect = "merge"            // link to the parent; the reporter follows it
	EffClose           Effect = "close"            // stamp closed_at
	EffNotifyReporter  Effect = "notify_reporter"
	EffNotifyHandler   Effect = "notify_handler"
	EffNotifyClaimers  Effect = "notify_claimers" // party members of the community
)

// Cond is a guard on a transition: an input value or a case counter
// compared with a constant (see workflow.Cond).
type Cond workflow.Cond

// Transition is one row of a workflow: from these states, this action by
// these roles or actors, with these inputs, leads to To. It is casework's
// typed view of a workflow.Action.
type Transition struct {
	Action   Action
	From     []State
	To       State // "" keeps the state; Resume returns to the remembered state
	Roles    []account.Role
	Actors   []string
	Requires []string
	Optional []string
	When     []Cond
	Effects  []Effect
	// Public marks timeline steps shown to residents and Open311 clients.
	Public bool
	// def is the row of the definition, for the engine's checks.
	def *workflow.Action
}

// Workflow is casework's typed view of one version of a workflow
// definition (internal/workflow), loaded from data, not written in code.
type Workflow struct {
	Name     string
	Version  int
	Prefix   string // case number prefix
	Initial  State
	States   []State
	Terminal []State
	Paused   []State
	Stages   map[State]string // SLA stage of each waiting state
	Trans    []Transition
	// Def is the definition this view was made from.
	Def      *workflow.Definition
	byAction map[Action][]int
	terminal map[State]bool
	row      map[*workflow.Action]int
}

// Resume is the pseudo-target of the resume action.
const Resume State = workflow.Resume

func (w *Workflow) index() *Workflow {
	w.byAction = map[Action][]int{}
	w.row = map[*workflow.Action]int{}
	for i, t := range w.Trans {
		w.byAction[t.Action] = append(w.byAction[t.Action], i)
		if t.def != nil {
			w.row[t.def] = i
		}
	}
	w.terminal = map[State]bool{}
	for _, s := range w.Terminal {
		w.terminal[s] = true
	}
	return w
}

// IsTerminal reports whether s ends the case.
func (w *Workflow) IsTerminal(s State) bool { return w.terminal[s] }

// Knows reports whether a is an action of this workflow.
func (w *Workflow) Knows(a Action) bool { _, ok := w.byAction[a]; return ok }

// Actions lists the workflow's action names, sorted.
func (w *Workflow) Actions() []Action {
	out := make([]Action, 0, len(w.byAction))
	for a := range w.byAction {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Candidates returns the transitions of action a that leave state s, as
// the engine finds them in the definition.
func (w *Workflow) Candidates(a Action, s State) []Transition {
	var out []Transition
	for _, d := range w.Def.Candidates(string(a), string(s)) {
		out = append(out, w.Trans[w.row[d]])
	}
	return out
}

//go:embed workflows/*.json workflows/doc_*.md
var files embed.FS

// Definitions parses the workflow files casework ships, by name. They are
// stored as version 1 (or whichever version they carry) at start.
func Definitions() (map[string]*workflow.Definition, error) {
	names, err := fs.Glob(files, "workflows/*.json")
	if err != nil {
		return nil, err
	}
	out := map[string]*workflow.Definition{}
	for _, n := range names {
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		d, err := workflow.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		out[d.Name] = d
	}
	return out, nil
}

// builtin is the shipped definitions, parsed once: they are part of the
// binary, so a broken file is a build defect that the tests catch.
var builtin = sync.OnceValue(func() map[string]*workflow.Definition {
	d, err := Definitions()
	if err != nil {
		panic(err)
	}
	return d
})

// Workflows returns the shipped workflows by name.
func Workflows() map[string]*Workflow {
	out := map[string]*Workflow{}
	for name, d := range builtin() {
		out[name] = FromDefinition(d)
	}
	return out
}

// FromDefinition makes casework's view of a definition.
func FromDefinition(d *workflow.Definition) *Workflow {
	w := &Workflow{Name: d.Name, Version: d.Version, Prefix: d.Prefix, Initial: State(d.Initial), Stages: map[State]string{}, Def: d}
	for _, s := range d.States {
		w.States = append(w.States, State(s.Name))
		if s.Terminal {
			w.Terminal = append(w.Terminal, State(s.Name))
		}
		if s.Paused {
			w.Paused = append(w.Paused, State(s.Name))
		}
		if s.Stage != "" {
			w.Stages[State(s.Name)] = s.Stage
		}
	}
	for i := range d.Actions {
		a := &d.Actions[i]
		t := Transition{Action: Action(a.Name), To: State(a.To), Actors: a.Relations, Requires: a.Requires, Optional: a.Optional,
			Public: a.Public, def: a}
		for _, f := range a.From {
			t.From = append(t.From, State(f))
		}
		for _, r := range a.Roles {
			t.Roles = append(t.Roles, account.Role(r))
		}
		for _, c := range a.When {
			t.When = append(t.When, Cond(c))
		}
		for _, e := range a.Effects {
			t.Effects = append(t.Effects, Effect(e))
		}
		w.Trans = append(w.Trans, t)
	}
	return w.index()
}

// Vocab is what casework knows, against which every case workflow is
// validated: its effects, input fields, case attributes, roles and actors.
func Vocab() workflow.Vocab {
	v := workflow.Vocab{Kind: "case",
		Effects: []string{string(EffAssign), string(EffAssignSelf), string(EffUnassign), string(EffRework), string(EffReturned), string(EffReopen),
			string(EffSupervise), string(EffSuperviseClear), string(EffSuperviseOrder), string(EffRate), string(EffRevisit), string(EffPostponeRequest),
			string(EffPostponeClear), string(EffPostponeGrant),
			string(EffSuspend), string(EffMerge), string(EffClose), string(EffNotifyReporter), string(EffNotifyHandler), string(EffNotifyClaimers)},
		Fields:    []string{FieldNote, FieldReason, FieldTarget, FieldStars, FieldPassed, FieldResult, FieldParent, FieldHours, FieldPhotos},
		Attrs:     []string{"case.reopens", "case.rework", "case.postpone_pending", "case.supervised"},
		Relations: []string{ActorAssignee, ActorReporter, ActorSystem},
		AfterEnd:  []string{string(ActRevisit)},
	}
	for _, r := range account.Roles() {
		v.Roles = append(v.Roles, string(r))
	}
	// The terminal states are written into SQL (TerminalSQL) from the
	// shipped files: an uploaded version may not end a case elsewhere.
	for _, s := range TerminalStates() {
		v.Terminal = append(v.Terminal, string(s))
	}
	// The indicators count the resolved states of the shipped files
	// (IsResolvedState): an uploaded version may not mark another one.
	for _, s := range ResolvedStates() {
		v.Resolved = append(v.Resolved, string(s))
	}
	// Time limits are kept per stage (internal/sla): an uploaded version
	// may move a state to another known stage, not invent one.
	seen := map[string]bool{}
	for _, d := range builtin() {
		for _, s := range d.States {
			if s.Stage != "" && !seen[s.Stage] {
				seen[s.Stage] = true
				v.Stages = append(v.Stages, s.Stage)
			}
		}
	}
	sort.Strings(v.Stages)
	return v
}

// Validate checks the workflow against casework's vocabulary and its own
// structure (workflow.Validate), returning every problem.
func (w *Workflow) Validate() error {
	if ps := workflow.Validate(w.Def, Vocab()); ps != nil {
		return ps
	}
	return nil
}

// WorkflowsDoc generates docs/WORKFLOWS.md from the shipped workflow
// files: the narrative of workflows/doc_header.md, a section per case
// workflow and workflows/doc_notes.md, then a section per definition of the
// other modules on the kernel (more: disputes, hazards…, in the given
// order; casework does not import them, the caller gathers them).
func WorkflowsDoc(more ...*workflow.Definition) ([]byte, error) {
	header, err := files.ReadFile("workflows/doc_header.md")
	if err != nil {
		return nil, err
	}
	notes, err := files.ReadFile("workflows/doc_notes.md")
	if err != nil {
		return nil, err
	}
	defs, err := Definitions()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(defs))
	for n := range defs {
		names = append(names, n)
	}
	sort.Strings(names)
	cases := make([]*workflow.Definition, 0, len(names))
	for _, n := range names {
		cases = append(cases, defs[n])
	}
	doc := workflow.Doc(header, cases, notes)
	if len(more) > 0 {
		doc = append(doc, workflow.Doc([]byte("\n# The other modules on the kernel\n"), more, nil)...)
	}
	return doc, nil
}
