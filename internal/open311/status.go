package open311

import (
	"strings"

	"whistle/internal/casework"
)

// Status is a request's GeoReport status: closed once the case is closed,
// rejected, declined or merged, open before.
func Status(s casework.State) string {
	if casework.IsTerminalState(s) {
		return "closed"
	}
	return "open"
}

// The extended statuses of mySociety's servicerequestupdates, in lower case
// as GET shows them (POST sends them in upper case).
const (
	StatusOpen                      = "open"
	StatusClosed                    = "closed"
	StatusFixed                     = "fixed"
	StatusInProgress                = "in_progress"
	StatusActionScheduled           = "action_scheduled"
	StatusInvestigating             = "investigating"
	StatusDuplicate                 = "duplicate"
	StatusNotCouncilsResponsibility = "not_councils_responsibility"
	StatusNoFurtherAction           = "no_further_action"
	StatusInternalReferral          = "internal_referral"
	StatusReopen                    = "reopen"
)

// StatusRow is one line of the extended-status table.
type StatusRow struct {
	// States are the case states after the step; Action, when set, narrows
	// the row to steps of that action (and takes precedence).
	States []casework.State
	Action casework.Action
	Status string
	Why    string
}

// StatusTable is the mapping from our states to the extended statuses,
// most specific rows first. It is data so that the documentation can show
// it.
func StatusTable() []StatusRow {
	return []StatusRow{
		{Action: casework.ActReturn, States: []casework.State{casework.Registered}, Status: StatusInternalReferral,
			Why: "退单: the department hands the case back to the command centre for another dispatch"},
		{Action: casework.ActRate, States: []casework.State{casework.InProgress}, Status: StatusReopen,
			Why: "a rating of 1–2 stars reopens the case"},
		{States: []casework.State{casework.Submitted}, Status: StatusOpen, Why: "reported, awaiting review"},
		{States: []casework.State{casework.Accepted, casework.Registered}, Status: StatusInvestigating,
			Why: "受理/立案: accepted, deciding who handles it"},
		{States: []casework.State{casework.Claimable, casework.Dispatched}, Status: StatusActionScheduled,
			Why: "待认领/已派遣: a handler is being found or has been assigned"},
		{States: []casework.State{casework.InProgress, casework.Resolved}, Status: StatusInProgress,
			Why: "处理中, and 已处置 until the fix is verified on site"},
		{States: []casework.State{casework.Verified, casework.Closed}, Status: StatusFixed,
			Why: "已核查/已结案: the fix was verified"},
		{States: []casework.State{casework.Rejected}, Status: StatusNoFurtherAction, Why: "驳回: not taken up"},
		{States: []casework.State{casework.Declined}, Status: StatusNotCouncilsResponsibility,
			Why: "不予受理: outside the remit of urban management"},
		{States: []casework.State{casework.Merged}, Status: StatusDuplicate, Why: "merged into another case"},
		{States: []casework.State{casework.Suspended}, Status: StatusInvestigating, Why: "挂起: on hold"},
	}
}

// ExtendedStatus maps a public step (its action and the state it led to)
// to an extended status by StatusTable; an unknown state is "open".
func ExtendedStatus(a casework.Action, to casework.State) string {
	for _, row := range StatusTable() {
		if row.Action != "" && row.Action != a {
			continue
		}
		for _, s := range row.States {
			if s == to {
				return row.Status
			}
		}
	}
	return StatusOpen
}

// ParseUpdateStatus checks a status sent to POST servicerequestupdates
// (upper case by the extension, any case accepted) and returns it in lower
// case.
func ParseUpdateStatus(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	switch s {
	case StatusOpen, StatusClosed, StatusFixed, StatusInProgress, StatusActionScheduled, StatusInvestigating, StatusDuplicate,
		StatusNotCouncilsResponsibility, StatusNoFurtherAction, StatusInternalReferral, StatusReopen:
		return s, true
	}
	return "", false
}

// UpdateAction is the workflow action an incoming update with this status
// asks for, if Whistle lets an integration take any: FIXED and CLOSED ask
// to close the case. Whether the case's workflow allows it now is for the
// caller to check.
func UpdateAction(status string) (casework.Action, bool) {
	switch status {
	case StatusFixed, StatusClosed:
		return casework.ActClose, true
	}
	return "", false
}
