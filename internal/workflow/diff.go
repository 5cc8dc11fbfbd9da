package workflow

import (
	"fmt"
	"slices"
	"strings"
)

// Diff describes, one readable line per change, what next changes from
// prev: the workflow's label, states added or removed, their labels,
// terminal and paused flags and time-limit stages, actions added or
// removed, and per action its target, roles, relations, fields, effects
// and visibility. An action row is known by its name, the states it
// leaves and its guards. nil means no change.
func Diff(prev, next *Definition) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if prev.Label != next.Label {
		add("label: %s → %s", label(prev.Label), label(next.Label))
	}
	if prev.Initial != next.Initial {
		add("initial state: %q → %q", prev.Initial, next.Initial)
	}
	if prev.Prefix != next.Prefix {
		add("prefix: %q → %q", prev.Prefix, next.Prefix)
	}
	ps, ns := map[string]State{}, map[string]State{}
	for _, s := range prev.States {
		ps[s.Name] = s
	}
	for _, s := range next.States {
		ns[s.Name] = s
	}
	for _, s := range prev.States {
		if _, ok := ns[s.Name]; !ok {
			add("state %q removed", s.Name)
		}
	}
	for _, s := range next.States {
		p, ok := ps[s.Name]
		if !ok {
			add("state %q added", s.Name)
			continue
		}
		if p.Label != s.Label {
			add("state %q: label %s → %s", s.Name, label(p.Label), label(s.Label))
		}
		if p.Terminal != s.Terminal {
			add("state %q: terminal %v → %v", s.Name, p.Terminal, s.Terminal)
		}
		if p.Paused != s.Paused {
			add("state %q: paused %v → %v", s.Name, p.Paused, s.Paused)
		}
		if p.Resolved != s.Resolved {
			add("state %q: resolved %v → %v", s.Name, p.Resolved, s.Resolved)
		}
		if p.Stage != s.Stage {
			add("state %q: stage %q → %q", s.Name, p.Stage, s.Stage)
		}
	}
	out = append(out, diffStages(prev, next)...)
	pa, na := rows(prev), rows(next)
	for _, k := range pa.order {
		if _, ok := na.byKey[k]; !ok {
			add("action %s removed", k)
		}
	}
	for _, k := range na.order {
		a := na.byKey[k]
		p, ok := pa.byKey[k]
		if !ok {
			add("action %s added", k)
			continue
		}
		if p.To != a.To {
			add("action %s: to %q → %q", k, p.To, a.To)
		}
		for _, f := range []struct {
			what       string
			prev, next []string
		}{
			{"roles", p.Roles, a.Roles}, {"relations", p.Relations, a.Relations}, {"requires", p.Requires, a.Requires},
			{"optional", p.Optional, a.Optional}, {"effects", p.Effects, a.Effects},
		} {
			if !slices.Equal(f.prev, f.next) {
				add("action %s: %s [%s] → [%s]", k, f.what, strings.Join(f.prev, " "), strings.Join(f.next, " "))
			}
		}
		if p.Public != a.Public {
			add("action %s: public %v → %v", k, p.Public, a.Public)
		}
	}
	for _, name := range next.ActionNames() {
		if p, n := prev.ActionLabels[name], next.ActionLabels[name]; p != n {
			add("action %q: label %s → %s", name, label(p), label(n))
		}
	}
	return out
}

// diffStages describes the changes of the time-limit stages: added or
// removed, their labels, limits, warnings and assessment.
func diffStages(prev, next *Definition) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	for _, s := range prev.Stages {
		if _, ok := next.Stage(s.Name); !ok {
			add("stage %q removed", s.Name)
		}
	}
	for _, s := range next.Stages {
		p, ok := prev.Stage(s.Name)
		if !ok {
			add("stage %q added: limit %s, assessed %v", s.Name, s.Limit, s.Assessed)
			continue
		}
		if p.Label != s.Label {
			add("stage %q: label %s → %s", s.Name, label(p.Label), label(s.Label))
		}
		if p.Limit.String() != s.Limit.String() {
			add("stage %q: limit %s → %s", s.Name, p.Limit, s.Limit)
		}
		if p.UseCategory != s.UseCategory {
			add("stage %q: category's own limit first %v → %v", s.Name, p.UseCategory, s.UseCategory)
		}
		if p.WarnPercent != s.WarnPercent {
			add("stage %q: warning at %d%% → %d%%", s.Name, p.WarnPercent, s.WarnPercent)
		}
		if p.Assessed != s.Assessed {
			add("stage %q: assessed %v → %v", s.Name, p.Assessed, s.Assessed)
		}
	}
	return out
}

func label(l Label) string { return fmt.Sprintf("%q/%q", l.Zh, l.En) }

type actionRows struct {
	order []string
	byKey map[string]*Action
}

// rows keys each action by its name, the states it leaves and its guards.
func rows(d *Definition) actionRows {
	r := actionRows{byKey: map[string]*Action{}}
	for i := range d.Actions {
		a := &d.Actions[i]
		k := fmt.Sprintf("%q from [%s]", a.Name, strings.Join(a.From, " "))
		if g := guardKey(a.When); g != "" {
			k += " when " + g
		}
		if _, dup := r.byKey[k]; dup {
			continue
		}
		r.order = append(r.order, k)
		r.byKey[k] = a
	}
	return r
}
