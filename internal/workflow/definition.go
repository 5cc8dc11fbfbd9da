// Package workflow is the definition layer and the engine of every kind of
// work the platform runs: a workflow is data (states, actions, who may take
// them, required fields, guards and effects), parsed from a versioned JSON
// file, validated against the vocabulary of the module that owns the
// subject, and stored with its versions so that a running item keeps the
// version it started with.
//
// The owning module (casework for cases) supplies who the caller is to the
// subject (its relations) and what each effect does to its own rows; this
// package supplies the transition check: the candidates of an action in a
// state, the guards and the allowed check.
package workflow

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// Resume is the pseudo-target of an action that returns an item to the
// state it left when it was paused (casework's resume).
const Resume = "@resume"

// Label is a name in both languages of the interface.
type Label struct {
	Zh string `json:"zh"`
	En string `json:"en"`
}

// State is one state of a workflow.
type State struct {
	Name  string `json:"name"`
	Label Label  `json:"label"`
	// Terminal states end the item; only the module's after-end actions
	// (Vocab.AfterEnd) may leave them.
	Terminal bool `json:"terminal,omitempty"`
	// Paused states stop the clock of the time limits.
	Paused bool `json:"paused,omitempty"`
	// Resolved states are those in which the problem counts as solved
	// (解决): the indicators' resolution rate counts them, and a terminal
	// state that is not resolved is an end without a solution (rejected,
	// declined, merged).
	Resolved bool `json:"resolved,omitempty"`
	// Stage names the time-limit stage counted while the item waits here.
	Stage       string `json:"stage,omitempty"`
	Description string `json:"description,omitempty"`
}

// Stage is a time-limit stage: the states naming it count its clock.
type Stage struct {
	Name  string `json:"name"`
	Label Label  `json:"label"`
	// Limit is the default time limit, which a district's rule for a
	// category or region overrides; nil means the stage has none.
	Limit *Limit `json:"limit,omitempty"`
	// UseCategory prefers the category's own time limit to Limit.
	UseCategory bool `json:"use_category,omitempty"`
	// WarnPercent is the share of the limit at which the warning comes;
	// 0 means the module's default.
	WarnPercent int `json:"warn_percent,omitempty"`
	// Assessed stages count in the on-time indicators (考核); the others
	// (the resident's rating) are timed but not held against a unit.
	Assessed bool `json:"assessed"`
}

// The units of a Limit.
const (
	WorkingDays    = "working_days"    // 工作日, keeping the clock time
	WorkingHours   = "working_hours"   // 工作时
	WorkingMinutes = "working_minutes" // 工作时, in minutes
	NaturalHours   = "natural_hours"   // 自然时
	NaturalDays    = "natural_days"    // 自然日, 24 natural hours each
)

// Units lists the units a Limit may have.
func Units() []string {
	return []string{WorkingDays, WorkingHours, WorkingMinutes, NaturalHours, NaturalDays}
}

// The bounds of a limit, the calendar's: 1,000 working days, or 10,000
// hours of any other unit.
const (
	MaxLimitDays  = 1000
	MaxLimitHours = 10000
)

// Limit is a time limit: an amount of a unit.
type Limit struct {
	Amount int    `json:"amount"`
	Unit   string `json:"unit"`
}

// Spec writes l in the form of the calendar's limits ("2wd", "2h", "30m",
// "6ch"), or "" for an unknown unit.
func (l Limit) Spec() string {
	switch l.Unit {
	case WorkingDays:
		return fmt.Sprintf("%dwd", l.Amount)
	case WorkingHours:
		return fmt.Sprintf("%dh", l.Amount)
	case WorkingMinutes:
		return fmt.Sprintf("%dm", l.Amount)
	case NaturalHours:
		return fmt.Sprintf("%dch", l.Amount)
	case NaturalDays:
		return fmt.Sprintf("%dch", l.Amount*24)
	}
	return ""
}

// String writes l as "2 working_days", or "none" for no limit.
func (l *Limit) String() string {
	if l == nil {
		return "none"
	}
	return fmt.Sprintf("%d %s", l.Amount, l.Unit)
}

// inRange reports whether l is positive and within the bounds.
func (l Limit) inRange() bool {
	if l.Amount <= 0 {
		return false
	}
	switch l.Unit {
	case WorkingDays:
		return l.Amount <= MaxLimitDays
	case WorkingMinutes:
		return l.Amount <= MaxLimitHours*60
	case NaturalDays:
		return l.Amount <= MaxLimitHours/24
	}
	return l.Amount <= MaxLimitHours
}

// Cond is a guard: an input field or a subject attribute compared with a
// constant. A field with a dot (case.reopens) is an attribute of the
// subject; any other is an input field.
type Cond struct {
	Field string `json:"field"`
	Op    string `json:"op"` // eq, le, ge, lt, gt
	Value int    `json:"value"`
}

// Action is one row of a workflow: from these states, this action by these
// roles or relations, with these inputs and guards, leads to To.
type Action struct {
	Name string   `json:"name"`
	From []string `json:"from"`
	// To is the next state; "" keeps the state, Resume returns to the
	// state the item left when it was paused.
	To string `json:"to,omitempty"`
	// Roles and Relations say who may act: a holder of one of the roles,
	// or a caller with one of the relations to the subject (assignee,
	// reporter, system…), which the owning module decides.
	Roles     []string `json:"roles,omitempty"`
	Relations []string `json:"relations,omitempty"`
	Requires  []string `json:"requires,omitempty"`
	Optional  []string `json:"optional,omitempty"`
	When      []Cond   `json:"when,omitempty"`
	// Effects are names the owning module interprets on its own rows.
	Effects []string `json:"effects,omitempty"`
	// Public marks steps shown to the public.
	Public      bool   `json:"public,omitempty"`
	Description string `json:"description,omitempty"`
}

// Definition is one version of one workflow.
type Definition struct {
	// Kind is the subject kind whose module owns the workflow ("case").
	Kind        string `json:"kind"`
	Name        string `json:"name"`
	Version     int    `json:"version"`
	Label       Label  `json:"label"`
	Description string `json:"description,omitempty"`
	// Prefix is the number prefix of the items, if the module numbers them.
	Prefix  string   `json:"prefix,omitempty"`
	Initial string   `json:"initial"`
	States  []State  `json:"states"`
	Actions []Action `json:"actions"`
	// ActionLabels name the actions in both languages.
	ActionLabels map[string]Label `json:"action_labels,omitempty"`
	// Stages are the time-limit stages the states name, with their
	// default limits and whether they count in the assessment.
	Stages []Stage `json:"stages,omitempty"`

	byKey   map[candKey][]*Action
	byName  map[string]bool
	stateIx map[string]int
}

type candKey struct{ action, state string }

// Parse reads a definition from JSON, refusing unknown keys and trailing
// data. It does not validate: see Validate.
func Parse(body []byte) (*Definition, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var d Definition
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("workflow: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("workflow: data after the definition")
	}
	d.index()
	return &d, nil
}

// Marshal writes d as indented JSON, the form of the embedded files.
func (d *Definition) Marshal() ([]byte, error) {
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func (d *Definition) index() {
	d.byKey = map[candKey][]*Action{}
	d.byName = map[string]bool{}
	d.stateIx = map[string]int{}
	for i := range d.States {
		if _, dup := d.stateIx[d.States[i].Name]; !dup {
			d.stateIx[d.States[i].Name] = i
		}
	}
	for i := range d.Actions {
		a := &d.Actions[i]
		d.byName[a.Name] = true
		for _, f := range a.From {
			k := candKey{a.Name, f}
			d.byKey[k] = append(d.byKey[k], a)
		}
	}
}

// State returns the named state.
func (d *Definition) State(name string) (State, bool) {
	i, ok := d.stateIx[name]
	if !ok {
		return State{}, false
	}
	return d.States[i], true
}

// Stage returns the named time-limit stage. A definition stored before
// stages were declared has none: ok is false.
func (d *Definition) Stage(name string) (Stage, bool) {
	for _, s := range d.Stages {
		if s.Name == name {
			return s, true
		}
	}
	return Stage{}, false
}

// AssessedStages lists the stages that count in the assessment, in
// definition order.
func (d *Definition) AssessedStages() []string {
	var out []string
	for _, s := range d.Stages {
		if s.Assessed {
			out = append(out, s.Name)
		}
	}
	return out
}

// Knows reports whether a is an action of the workflow.
func (d *Definition) Knows(action string) bool { return d.byName[action] }

// Candidates returns, in definition order, the actions named action that
// leave state. The slice is shared: do not modify it.
func (d *Definition) Candidates(action, state string) []*Action {
	return d.byKey[candKey{action, state}]
}

// TerminalStates lists the terminal states in definition order.
func (d *Definition) TerminalStates() []string {
	return d.statesWhere(func(s State) bool { return s.Terminal })
}

// ResolvedStates lists the resolved states in definition order.
func (d *Definition) ResolvedStates() []string {
	return d.statesWhere(func(s State) bool { return s.Resolved })
}

// PausedStates lists the paused states in definition order.
func (d *Definition) PausedStates() []string {
	return d.statesWhere(func(s State) bool { return s.Paused })
}

func (d *Definition) statesWhere(f func(State) bool) []string {
	var out []string
	for _, s := range d.States {
		if f(s) {
			out = append(out, s.Name)
		}
	}
	return out
}

// ActionNames lists the distinct action names, sorted.
func (d *Definition) ActionNames() []string {
	out := make([]string, 0, len(d.byName))
	for a := range d.byName {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}
