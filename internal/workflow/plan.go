package workflow

import (
	"time"

	"whistle/internal/errs"
	"whistle/internal/sla/calendar"
)

// Planned is the outcome of Plan: the action row to take, the state it
// leads to and what allowed the caller (a role or a relation).
type Planned struct {
	Action *Action
	// Next is the state after the step (the current one when the action
	// keeps it).
	Next string
	// By is the role or relation that allowed the caller; Relation says
	// which of the two it is.
	By       string
	Relation bool
}

// Fields is Inputs that also says which fields are present, so that Plan
// can check an action's required fields.
type Fields interface {
	Inputs
	Has(name string) bool
}

// Plan is the transition check of any subject kind's step, in the order
// that tells a caller no more than they may know: the action must be one
// of the workflow's (else Invalid, field "action"), it must leave state
// (else Conflict workflow.illegal_transition), the caller must be allowed
// by one of its candidates (else Forbidden), a candidate's guards must
// hold (else Invalid naming the missing guard fields, or Conflict), and
// its required fields must be present (else Invalid, each field named).
// A module whose items pause (Resume) keeps the state they left: prev.
// casework, older than this function, runs the same check in its plan
// with its case-specific preconditions (docs/DECISIONS.md).
func (d *Definition) Plan(action, state, prev string, s Subject, in Fields, c Caller) (*Planned, error) {
	if !d.Knows(action) {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("action", "workflow.step.unknown_action", action, d.Name)
	}
	cands := d.Candidates(action, state)
	if len(cands) == 0 {
		return nil, errs.E(errs.Conflict, "workflow.step.illegal", action, state).WithReason("illegal_transition")
	}
	permitted := false
	for _, a := range cands {
		if _, _, ok := a.Allowed(c); ok {
			permitted = true
			break
		}
	}
	if !permitted {
		return nil, errs.E(errs.Forbidden, "workflow.step.not_permitted", action)
	}
	var a *Action
	for _, cand := range cands {
		if _, _, ok := cand.Allowed(c); ok && cand.GuardsHold(s, in) {
			a = cand
			break
		}
	}
	if a == nil {
		e := errs.E(errs.Invalid, "error.invalid")
		for _, cd := range cands[0].When {
			if !IsAttr(cd.Field) && !in.Has(cd.Field) {
				e.Field(cd.Field, "field.required")
			}
		}
		if len(e.Fields) > 0 {
			return nil, e
		}
		return nil, errs.E(errs.Conflict, "workflow.step.illegal", action, state).WithReason("illegal_transition")
	}
	by, rel, _ := a.Allowed(c)
	e := errs.E(errs.Invalid, "error.invalid")
	for _, f := range a.Requires {
		if !in.Has(f) {
			e.Field(f, "field.required")
		}
	}
	if len(e.Fields) > 0 {
		return nil, e
	}
	next := a.To
	switch next {
	case "":
		next = state
	case Resume:
		next = prev
		if next == "" {
			next = d.Initial
		}
	}
	return &Planned{Action: a, Next: next, By: by, Relation: rel}, nil
}

// Due is when a time limit of l that starts at start ends on cal: working
// days keep the clock time, working hours and minutes count the working
// hours only, natural hours and days count every hour. A nil calendar
// counts working time as natural time.
func (l Limit) Due(cal *calendar.Calendar, start time.Time) time.Time {
	switch l.Unit {
	case WorkingDays:
		if cal != nil {
			return cal.AddWorkingDays(start, l.Amount)
		}
		return start.Add(time.Duration(l.Amount) * 24 * time.Hour)
	case WorkingHours:
		if cal != nil {
			return cal.AddWorkingDuration(start, time.Duration(l.Amount)*time.Hour)
		}
		return start.Add(time.Duration(l.Amount) * time.Hour)
	case WorkingMinutes:
		if cal != nil {
			return cal.AddWorkingDuration(start, time.Duration(l.Amount)*time.Minute)
		}
		return start.Add(time.Duration(l.Amount) * time.Minute)
	case NaturalDays:
		return start.Add(time.Duration(l.Amount) * 24 * time.Hour)
	}
	return start.Add(time.Duration(l.Amount) * time.Hour)
}
