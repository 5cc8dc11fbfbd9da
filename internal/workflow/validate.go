package workflow

import (
	"fmt"
	"slices"
	"strings"
)

// Vocab is what the owning module of a subject kind knows: the names a
// definition of that kind may use.
type Vocab struct {
	Kind      string
	Effects   []string
	Fields    []string // input fields an action may require or test
	Attrs     []string // subject attributes a guard may test (case.reopens)
	Roles     []string
	Relations []string
	// AfterEnd are actions allowed to leave a terminal state (casework's
	// revisit, which records a return visit and keeps the state).
	AfterEnd []string
	// Terminal, when set, lists the states the module can treat as ends
	// (casework writes them into SQL); another terminal state is refused.
	Terminal []string
	// Resolved, when set, lists the states the module can count as solved
	// (its indicators are derived from them); another resolved state is
	// refused.
	Resolved []string
	// Stages, when set, lists the time-limit stages the module knows (it
	// keeps limits per stage); a state naming another one is refused.
	Stages []string
}

// Problem is one thing wrong with a definition: a message key of the
// i18n catalogues and its arguments, and the English text.
type Problem struct {
	Key  string
	Args []any
}

// problemText is the English of each problem; the catalogues carry the
// same keys in both languages.
var problemText = map[string]string{
	"workflow.bad_kind":          "kind %q is not %q",
	"workflow.no_name":           "the workflow has no name",
	"workflow.bad_version":       "version %d is not a positive number",
	"workflow.bad_initial":       "initial state %q is not declared",
	"workflow.no_states":         "the workflow declares no state",
	"workflow.duplicate_state":   "state %q is declared twice",
	"workflow.no_terminal":       "no state is terminal",
	"workflow.initial_terminal":  "initial state %q is terminal",
	"workflow.no_action_name":    "action %d has no name",
	"workflow.no_from":           "action %q leaves no state",
	"workflow.unknown_from":      "action %q leaves unknown state %q",
	"workflow.unknown_to":        "action %q leads to unknown state %q",
	"workflow.nobody":            "nobody may take action %q",
	"workflow.unknown_role":      "action %q names unknown role %q",
	"workflow.unknown_relation":  "action %q names unknown relation %q",
	"workflow.unknown_field":     "action %q names unknown field %q",
	"workflow.unknown_effect":    "action %q names unknown effect %q",
	"workflow.unknown_guard":     "action %q tests unknown field %q",
	"workflow.bad_op":            "action %q compares with unknown operator %q",
	"workflow.duplicate_action":  "action %q from %q is declared twice with the same guards",
	"workflow.terminal_exit":     "terminal state %q has an exit: action %q",
	"workflow.unreachable":       "state %q is unreachable from %q",
	"workflow.dead_end":          "state %q is a dead end: no action leaves it",
	"workflow.no_way_to_end":     "state %q has no path to a terminal state",
	"workflow.resume_unpaused":   "action %q resumes from %q, which is not a paused state",
	"workflow.terminal_and_paus": "state %q is both terminal and paused",
	"workflow.unknown_terminal":  "terminal state %q is not one the module knows as an end",
	"workflow.unknown_stage":     "state %q names unknown time-limit stage %q",
	"workflow.unknown_resolved":  "state %q is marked resolved, which the module does not count as solved",
	"workflow.undeclared_stage":  "state %q names stage %q, which the stages do not declare",
	"workflow.duplicate_stage":   "stage %q is declared twice",
	"workflow.unused_stage":      "stage %q is declared but no state names it",
	"workflow.bad_limit_unit":    "stage %q has a time limit in unknown unit %q",
	"workflow.bad_limit":         "stage %q has time limit %d, which is not between 1 and the calendar's bound",
	"workflow.bad_warn":          "stage %q warns at %d%%, which is not between 0 and 99",
}

// Error is the English message of the problem.
func (p Problem) Error() string {
	f, ok := problemText[p.Key]
	if !ok {
		return p.Key
	}
	return fmt.Sprintf(f, p.Args...)
}

// Problems is every problem of a definition, in a stable order.
type Problems []Problem

func (ps Problems) Error() string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Error()
	}
	return "workflow: " + strings.Join(s, "; ")
}

// Keys lists the message keys a problem may carry, for the catalogue test.
func Keys() []string {
	out := make([]string, 0, len(problemText))
	for k := range problemText {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

var ops = []string{"eq", "le", "ge", "lt", "gt"}

// Validate checks d against the vocabulary of its owning module and its
// own structure, and returns every problem found (nil if none): unknown
// names, unreachable states, dead ends, duplicate states and actions, and
// terminal states with exits.
func Validate(d *Definition, v Vocab) Problems {
	var ps Problems
	add := func(key string, args ...any) { ps = append(ps, Problem{Key: key, Args: args}) }
	if v.Kind != "" && d.Kind != v.Kind {
		add("workflow.bad_kind", d.Kind, v.Kind)
	}
	if d.Name == "" {
		add("workflow.no_name")
	}
	if d.Version < 1 {
		add("workflow.bad_version", d.Version)
	}
	if len(d.States) == 0 {
		add("workflow.no_states")
	}
	states := map[string]State{}
	hasTerminal := false
	for _, s := range d.States {
		if _, dup := states[s.Name]; dup {
			add("workflow.duplicate_state", s.Name)
			continue
		}
		states[s.Name] = s
		hasTerminal = hasTerminal || s.Terminal
		if s.Terminal && v.Terminal != nil && !slices.Contains(v.Terminal, s.Name) {
			add("workflow.unknown_terminal", s.Name)
		}
		if s.Resolved && v.Resolved != nil && !slices.Contains(v.Resolved, s.Name) {
			add("workflow.unknown_resolved", s.Name)
		}
		if s.Stage != "" && v.Stages != nil && !slices.Contains(v.Stages, s.Stage) {
			add("workflow.unknown_stage", s.Name, s.Stage)
		}
		if s.Terminal && s.Paused {
			add("workflow.terminal_and_paus", s.Name)
		}
	}
	ps = append(ps, stages(d)...)
	if len(d.States) > 0 && !hasTerminal {
		add("workflow.no_terminal")
	}
	if s, ok := states[d.Initial]; !ok {
		add("workflow.bad_initial", d.Initial)
	} else if s.Terminal {
		add("workflow.initial_terminal", d.Initial)
	}
	type dupKey struct{ action, from, guards string }
	seen := map[dupKey]bool{}
	for i, a := range d.Actions {
		if a.Name == "" {
			add("workflow.no_action_name", i+1)
			continue
		}
		if len(a.From) == 0 {
			add("workflow.no_from", a.Name)
		}
		guards := guardKey(a.When)
		for _, f := range a.From {
			s, ok := states[f]
			switch {
			case !ok:
				add("workflow.unknown_from", a.Name, f)
			case s.Terminal && !slices.Contains(v.AfterEnd, a.Name):
				add("workflow.terminal_exit", f, a.Name)
			case a.To == Resume && !s.Paused:
				add("workflow.resume_unpaused", a.Name, f)
			}
			k := dupKey{a.Name, f, guards}
			if seen[k] {
				add("workflow.duplicate_action", a.Name, f)
			}
			seen[k] = true
		}
		if _, ok := states[a.To]; !ok && a.To != "" && a.To != Resume {
			add("workflow.unknown_to", a.Name, a.To)
		}
		if len(a.Roles) == 0 && len(a.Relations) == 0 {
			add("workflow.nobody", a.Name)
		}
		for _, r := range a.Roles {
			if !slices.Contains(v.Roles, r) {
				add("workflow.unknown_role", a.Name, r)
			}
		}
		for _, r := range a.Relations {
			if !slices.Contains(v.Relations, r) {
				add("workflow.unknown_relation", a.Name, r)
			}
		}
		for _, f := range append(append([]string{}, a.Requires...), a.Optional...) {
			if !slices.Contains(v.Fields, f) {
				add("workflow.unknown_field", a.Name, f)
			}
		}
		for _, e := range a.Effects {
			if !slices.Contains(v.Effects, e) {
				add("workflow.unknown_effect", a.Name, e)
			}
		}
		for _, c := range a.When {
			if IsAttr(c.Field) && !slices.Contains(v.Attrs, c.Field) || !IsAttr(c.Field) && !slices.Contains(v.Fields, c.Field) {
				add("workflow.unknown_guard", a.Name, c.Field)
			}
			if !slices.Contains(ops, c.Op) {
				add("workflow.bad_op", a.Name, c.Op)
			}
		}
	}
	if _, ok := states[d.Initial]; ok {
		ps = append(ps, structure(d, states)...)
	}
	return ps
}

// stages checks the declared time-limit stages: each named once, named by
// some state, with a limit in a known unit and within bounds; and that
// every stage a state names is declared. A definition declaring no stage
// at all is one stored before stages were declared, and is not checked.
func stages(d *Definition) Problems {
	if len(d.Stages) == 0 {
		return nil
	}
	var ps Problems
	add := func(key string, args ...any) { ps = append(ps, Problem{Key: key, Args: args}) }
	used := map[string]bool{}
	for _, s := range d.States {
		used[s.Stage] = true
	}
	declared := map[string]bool{}
	for _, st := range d.Stages {
		if declared[st.Name] {
			add("workflow.duplicate_stage", st.Name)
			continue
		}
		declared[st.Name] = true
		if !used[st.Name] {
			add("workflow.unused_stage", st.Name)
		}
		if l := st.Limit; l != nil {
			if !slices.Contains(Units(), l.Unit) {
				add("workflow.bad_limit_unit", st.Name, l.Unit)
			} else if !l.inRange() {
				add("workflow.bad_limit", st.Name, l.Amount)
			}
		}
		if st.WarnPercent < 0 || st.WarnPercent > 99 {
			add("workflow.bad_warn", st.Name, st.WarnPercent)
		}
	}
	reported := map[string]bool{}
	for _, s := range d.States {
		if s.Stage != "" && !declared[s.Stage] && !reported[s.Stage] {
			reported[s.Stage] = true
			add("workflow.undeclared_stage", s.Name, s.Stage)
		}
	}
	return ps
}

func guardKey(cs []Cond) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = fmt.Sprintf("%s %s %d", c.Field, c.Op, c.Value)
	}
	slices.Sort(s)
	return strings.Join(s, ",")
}

// structure checks the graph: every state reachable from the initial one,
// every non-terminal state left by some action and able to reach an end.
func structure(d *Definition, states map[string]State) Problems {
	// next lists where each state's actions lead. Resume only returns to
	// a state the item was in, so it reaches nothing new; it leads back to
	// the states from which a reachable action entered the paused state.
	next := map[string][]string{}
	var resumes []Action
	for _, a := range d.Actions {
		for _, f := range a.From {
			switch a.To {
			case "":
			case Resume:
				resumes = append(resumes, a)
			default:
				next[f] = append(next[f], a.To)
			}
		}
	}
	reach := map[string]bool{d.Initial: true}
	queue := []string{d.Initial}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, t := range next[s] {
			if _, ok := states[t]; ok && !reach[t] {
				reach[t] = true
				queue = append(queue, t)
			}
		}
	}
	for _, a := range resumes {
		for _, p := range a.From {
			for _, b := range d.Actions {
				if b.To != p {
					continue
				}
				for _, f := range b.From {
					if reach[f] {
						next[p] = append(next[p], f)
					}
				}
			}
		}
	}
	// ends: the states from which a terminal state can be reached.
	ends := map[string]bool{}
	for _, s := range d.States {
		ends[s.Name] = s.Terminal
	}
	for changed := true; changed; {
		changed = false
		for s, ts := range next {
			if ends[s] {
				continue
			}
			for _, t := range ts {
				if ends[t] {
					ends[s], changed = true, true
					break
				}
			}
		}
	}
	var ps Problems
	done := map[string]bool{}
	for _, s := range d.States {
		if done[s.Name] {
			continue
		}
		done[s.Name] = true
		switch {
		case !reach[s.Name]:
			ps = append(ps, Problem{Key: "workflow.unreachable", Args: []any{s.Name, d.Initial}})
		case s.Terminal:
		case !leaves(next[s.Name], s.Name):
			ps = append(ps, Problem{Key: "workflow.dead_end", Args: []any{s.Name}})
		case !ends[s.Name]:
			ps = append(ps, Problem{Key: "workflow.no_way_to_end", Args: []any{s.Name}})
		}
	}
	return ps
}

func leaves(next []string, s string) bool {
	for _, t := range next {
		if t != s {
			return true
		}
	}
	return false
}
