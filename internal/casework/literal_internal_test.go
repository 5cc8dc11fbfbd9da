package casework

import (
	"reflect"
	"testing"

	"whistle/internal/account"
)

var (
	staffWhistle   = []account.Role{account.CommunityStaff, account.StreetStaff, account.Admin}
	commandCentre  = []account.Role{account.StreetStaff, account.Admin}
	verifiers      = []account.Role{account.CommunityStaff, account.GridWorker, account.StreetStaff, account.Admin}
	urbanVerifiers = []account.Role{account.GridWorker, account.StreetStaff, account.Admin}
	supervisors    = []account.Role{account.Leader, account.Admin}
)

// common returns the steps both workflows share; active lists the states
// in which handling is under way.
func commonLit(active, open []State, approvers []account.Role) []Transition {
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
	w.Trans = append(w.Trans, commonLit(active, open, staffWhistle)...)
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
	w.Trans = append(w.Trans, commonLit(active, open, commandCentre)...)
	return w.index()
}

// TestFilesEqualLiterals checks that the workflow files say exactly what
// the Go literals they replace said, row by row.
func TestFilesEqualLiterals(t *testing.T) {
	files := Workflows()
	for name, lit := range map[string]*Workflow{"whistle": Whistle(), "urban": Urban()} {
		got := *files[name]
		if got.Version != 1 {
			t.Errorf("%s: version %d, want 1", name, got.Version)
		}
		for i := range got.Trans {
			got.Trans[i].def = nil
		}
		got.Def, got.Version, got.row = nil, 0, nil
		lit.Version, lit.row = 0, nil
		if !reflect.DeepEqual(&got, lit) {
			t.Errorf("%s: the file differs from the literal:\n got %+v\nwant %+v", name, got, *lit)
		}
	}
}
