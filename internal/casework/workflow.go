package casework

import (
	"fmt"
	"sort"

	"whistle/internal/account"
)

// State is a case status.
type State string

// The states of both workflows. submitted, in_progress, resolved and closed
// are canonical; the others are documented in docs/WORKFLOWS.md.
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
	EffRate            Effect = "rate"             // record stars and comment
	EffRevisit         Effect = "revisit"          // record the return visit's result
	EffPostponeRequest Effect = "postpone_request" // record a pending request
	EffPostponeClear   Effect = "postpone_clear"   // clear it (approved or refused)
	EffSuspend         Effect = "suspend"          // remember the state to resume to
	EffMerge           Effect = "merge"            // link to the parent; the reporter follows it
	EffClose           Effect = "close"            // stamp closed_at
	EffNotifyReporter  Effect = "notify_reporter"
	EffNotifyHandler   Effect = "notify_handler"
	EffNotifyClaimers  Effect = "notify_claimers" // party members of the community
)

// Cond is a guard on a transition: an input value or a case counter
// compared with a constant.
type Cond struct {
	// Field is an input field (stars, passed) or a case attribute
	// prefixed with "case." (case.reopens, case.postpone_pending).
	Field string
	Op    string // eq, le, ge, lt, gt
	Value int    // booleans are 0 and 1
}

// Transition is one row of a workflow: from these states, this action by
// these roles or actors, with these inputs, leads to To.
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
}

// Workflow is a declarative state machine: data, not switch statements.
type Workflow struct {
	Name     string
	Prefix   string // case number prefix
	Initial  State
	States   []State
	Terminal []State
	Paused   []State
	Stages   map[State]string // SLA stage of each waiting state
	Trans    []Transition
	byAction map[Action][]int
	terminal map[State]bool
}

// Resume is the pseudo-target of the resume action.
const Resume State = "@resume"

func (w *Workflow) index() *Workflow {
	w.byAction = map[Action][]int{}
	for i, t := range w.Trans {
		w.byAction[t.Action] = append(w.byAction[t.Action], i)
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

// Candidates returns the transitions of action a that leave state s.
func (w *Workflow) Candidates(a Action, s State) []Transition {
	var out []Transition
	for _, i := range w.byAction[a] {
		t := w.Trans[i]
		for _, f := range t.From {
			if f == s {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

var (
	staffWhistle   = []account.Role{account.CommunityStaff, account.StreetStaff, account.Admin}
	commandCentre  = []account.Role{account.StreetStaff, account.Admin}
	verifiers      = []account.Role{account.CommunityStaff, account.GridWorker, account.StreetStaff, account.Admin}
	urbanVerifiers = []account.Role{account.GridWorker, account.StreetStaff, account.Admin}
	supervisors    = []account.Role{account.Leader, account.Admin}
)

// common returns the steps both workflows share; active lists the states
// in which handling is under way.
func common(active, open []State, approvers []account.Role) []Transition {
	return []Transition{
		{Action: ActPostponeRequest, From: active, Actors: []string{ActorAssignee}, Requires: []string{FieldReason, FieldHours},
			When: []Cond{{"case.postpone_pending", "eq", 0}}, Effects: []Effect{EffPostponeRequest}},
		{Action: ActPostponeApprove, From: active, Roles: approvers, Optional: []string{FieldNote},
			When: []Cond{{"case.postpone_pending", "eq", 1}}, Effects: []Effect{EffPostponeClear, EffNotifyHandler}},
		{Action: ActPostponeRefuse, From: active, Roles: approvers, Requires: []string{FieldReason},
			When: []Cond{{"case.postpone_pending", "eq", 1}}, Effects: []Effect{EffPostponeClear, EffNotifyHandler}},
		{Action: ActSuspend, From: open, To: Suspended, Roles: approvers, Requires: []string{FieldReason}, Effects: []Effect{EffSuspend}, Public: true},
		{Action: ActResume, From: []State{Suspended}, To: Resume, Roles: approvers, Optional: []string{FieldNote}, Public: true},
		{Action: ActSupervise, From: append(append([]State{}, open...), Suspended), Roles: supervisors, Requires: []string{FieldNote},
			Effects: []Effect{EffSupervise, EffNotifyHandler}},
		{Action: ActReply, From: append(append([]State{}, open...), Suspended), Actors: []string{ActorAssignee}, Requires: []string{FieldNote},
			When: []Cond{{"case.supervised", "eq", 1}}, Effects: []Effect{EffSuperviseClear}},
		{Action: ActRevisit, From: []State{Resolved, Verified, Closed}, Roles: staffWhistle, Requires: []string{FieldResult},
			Optional: []string{FieldNote}, Effects: []Effect{EffRevisit}},
	}
}

// Whistle is 红哨: a resident blows the whistle, the community reviews and
// dispatches or opens it for claiming, a handler resolves it, staff verify,
// and the resident's rating closes the loop.
func Whistle() *Workflow {
	active := []State{Dispatched, InProgress}
	open := []State{Submitted, Accepted, Claimable, Dispatched, InProgress, Resolved, Verified}
	w := &Workflow{
		Name: "whistle", Prefix: "WS", Initial: Submitted,
		States:   []State{Submitted, Accepted, Claimable, Dispatched, InProgress, Resolved, Verified, Closed, Rejected, Merged, Suspended},
		Terminal: []State{Closed, Rejected, Merged},
		Paused:   []State{Suspended},
		Stages:   map[State]string{Submitted: "accept", Accepted: "dispatch", Claimable: "claim", Dispatched: "handle", InProgress: "handle", Resolved: "verify", Verified: "rate"},
		Trans: []Transition{
			{Action: ActAccept, From: []State{Submitted}, To: Accepted, Roles: staffWhistle, Optional: []string{FieldNote}, Effects: []Effect{EffNotifyReporter}, Public: true},
			{Action: ActReject, From: []State{Submitted}, To: Rejected, Roles: staffWhistle, Requires: []string{FieldReason}, Effects: []Effect{EffNotifyReporter, EffClose}, Public: true},
			// The system dispatches on acceptance when the category says so
			// (category.Category.AutoDispatch), to the routed department.
			{Action: ActDispatch, From: []State{Accepted, Claimable}, To: Dispatched, Roles: staffWhistle, Actors: []string{ActorSystem},
				Requires: []string{FieldTarget}, Optional: []string{FieldNote}, Effects: []Effect{EffAssign, EffNotifyHandler}, Public: true},
			{Action: ActOpenForClaim, From: []State{Accepted}, To: Claimable, Roles: staffWhistle, Optional: []string{FieldNote}, Effects: []Effect{EffNotifyClaimers}, Public: true},
			{Action: ActClaim, From: []State{Claimable}, To: InProgress, Roles: []account.Role{account.PartyMember, account.CommunityStaff, account.StreetStaff},
				Optional: []string{FieldNote}, Effects: []Effect{EffAssignSelf, EffNotifyReporter}, Public: true},
			{Action: ActStart, From: []State{Dispatched}, To: InProgress, Actors: []string{ActorAssignee}, Optional: []string{FieldNote}, Public: true},
			{Action: ActResolve, From: []State{InProgress}, To: Resolved, Actors: []string{ActorAssignee}, Requires: []string{FieldNote, FieldPhotos}, Public: true},
			{Action: ActVerify, From: []State{Resolved}, To: Verified, Roles: verifiers, Requires: []string{FieldPassed}, Optional: []string{FieldNote},
				When: []Cond{{FieldPassed, "eq", 1}}, Effects: []Effect{EffNotifyReporter}, Public: true},
			{Action: ActVerify, From: []State{Resolved}, To: InProgress, Roles: verifiers, Requires: []string{FieldPassed, FieldNote},
				When: []Cond{{FieldPassed, "eq", 0}}, Effects: []Effect{EffRework, EffNotifyHandler}, Public: true},
			// A low rating reopens the case once, to the same handler, under supervision.
			{Action: ActRate, From: []State{Verified}, To: InProgress, Actors: []string{ActorReporter}, Requires: []string{FieldStars}, Optional: []string{FieldNote},
				When: []Cond{{FieldStars, "le", 2}, {"case.reopens", "eq", 0}}, Effects: []Effect{EffRate, EffReopen, EffSupervise, EffNotifyHandler}, Public: true},
			{Action: ActRate, From: []State{Verified}, To: Closed, Actors: []string{ActorReporter}, Requires: []string{FieldStars}, Optional: []string{FieldNote},
				Effects: []Effect{EffRate, EffClose}, Public: true},
			{Action: ActClose, From: []State{Verified}, To: Closed, Roles: staffWhistle, Actors: []string{ActorSystem}, Optional: []string{FieldNote},
				Effects: []Effect{EffClose, EffNotifyReporter}, Public: true},
			{Action: ActMerge, From: []State{Submitted, Accepted, Claimable}, To: Merged, Roles: staffWhistle, Requires: []string{FieldParent},
				Optional: []string{FieldNote}, Effects: []Effect{EffMerge, EffClose, EffNotifyReporter}, Public: true},
		},
	}
	w.Trans = append(w.Trans, common(active, open, staffWhistle)...)
	return w.index()
}

// Urban is 数字城管 (GB/T 30428, CJ/T 214): a grid worker reports, the
// command centre registers and dispatches, a department handles (or returns
// it), a grid worker verifies on site, and the centre closes it.
func Urban() *Workflow {
	active := []State{Dispatched, InProgress}
	open := []State{Submitted, Registered, Dispatched, InProgress, Resolved, Verified}
	w := &Workflow{
		Name: "urban", Prefix: "CG", Initial: Submitted,
		States:   []State{Submitted, Registered, Dispatched, InProgress, Resolved, Verified, Closed, Declined, Merged, Suspended},
		Terminal: []State{Closed, Declined, Merged},
		Paused:   []State{Suspended},
		Stages:   map[State]string{Submitted: "register", Registered: "dispatch", Dispatched: "handle", InProgress: "handle", Resolved: "verify", Verified: "close"},
		Trans: []Transition{
			{Action: ActRegister, From: []State{Submitted}, To: Registered, Roles: commandCentre, Optional: []string{FieldNote}, Public: true},
			{Action: ActDecline, From: []State{Submitted}, To: Declined, Roles: commandCentre, Requires: []string{FieldReason}, Effects: []Effect{EffNotifyReporter, EffClose}, Public: true},
			{Action: ActDispatch, From: []State{Registered}, To: Dispatched, Roles: commandCentre, Actors: []string{ActorSystem},
				Requires: []string{FieldTarget}, Optional: []string{FieldNote}, Effects: []Effect{EffAssign, EffNotifyHandler}, Public: true},
			{Action: ActReturn, From: []State{Dispatched, InProgress}, To: Registered, Actors: []string{ActorAssignee}, Requires: []string{FieldReason},
				Effects: []Effect{EffUnassign, EffReturned}, Public: true},
			{Action: ActStart, From: []State{Dispatched}, To: InProgress, Actors: []string{ActorAssignee}, Optional: []string{FieldNote}, Public: true},
			{Action: ActResolve, From: []State{Dispatched, InProgress}, To: Resolved, Actors: []string{ActorAssignee}, Requires: []string{FieldNote},
				Optional: []string{FieldPhotos}, Public: true},
			{Action: ActVerify, From: []State{Resolved}, To: Verified, Roles: urbanVerifiers, Requires: []string{FieldPassed}, Optional: []string{FieldNote},
				When: []Cond{{FieldPassed, "eq", 1}}, Public: true},
			{Action: ActVerify, From: []State{Resolved}, To: Dispatched, Roles: urbanVerifiers, Requires: []string{FieldPassed, FieldNote},
				When: []Cond{{FieldPassed, "eq", 0}}, Effects: []Effect{EffRework, EffNotifyHandler}, Public: true},
			{Action: ActClose, From: []State{Verified}, To: Closed, Roles: commandCentre, Optional: []string{FieldNote}, Effects: []Effect{EffClose, EffNotifyReporter}, Public: true},
			{Action: ActMerge, From: []State{Submitted, Registered}, To: Merged, Roles: commandCentre, Requires: []string{FieldParent},
				Optional: []string{FieldNote}, Effects: []Effect{EffMerge, EffClose}, Public: true},
		},
	}
	w.Trans = append(w.Trans, common(active, open, commandCentre)...)
	return w.index()
}

// Workflows returns the shipped workflows by name.
func Workflows() map[string]*Workflow {
	return map[string]*Workflow{"whistle": Whistle(), "urban": Urban()}
}

// Validate checks a workflow's internal consistency: every state named in a
// transition is declared, terminal states have no exits, and every
// non-terminal state can reach a terminal one.
func (w *Workflow) Validate() error {
	known := map[State]bool{Resume: true}
	for _, s := range w.States {
		known[s] = true
	}
	for _, t := range w.Trans {
		for _, f := range t.From {
			if !known[f] {
				return fmt.Errorf("workflow %s: %s from unknown state %s", w.Name, t.Action, f)
			}
			if w.terminal[f] && t.Action != ActRevisit {
				return fmt.Errorf("workflow %s: %s leaves terminal state %s", w.Name, t.Action, f)
			}
		}
		if t.To != "" && !known[t.To] {
			return fmt.Errorf("workflow %s: %s to unknown state %s", w.Name, t.Action, t.To)
		}
		if len(t.Roles) == 0 && len(t.Actors) == 0 {
			return fmt.Errorf("workflow %s: nobody may take %s", w.Name, t.Action)
		}
	}
	// Reachability of an end from every state.
	reach := map[State]bool{}
	for s := range w.terminal {
		reach[s] = true
	}
	for changed := true; changed; {
		changed = false
		for _, t := range w.Trans {
			to := t.To
			if to == Resume {
				to = Submitted // resume may return anywhere open; any open state reaches an end
			}
			if to == "" || !reach[to] {
				continue
			}
			for _, f := range t.From {
				if !reach[f] {
					reach[f], changed = true, true
				}
			}
		}
	}
	for _, s := range w.States {
		if !reach[s] {
			return fmt.Errorf("workflow %s: no way to finish from %s", w.Name, s)
		}
	}
	return nil
}
