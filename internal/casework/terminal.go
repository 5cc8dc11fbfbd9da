package casework

import (
	"slices"
	"strings"
	"sync"
)

// terminal is the union of the shipped workflows' terminal states, computed
// once: the workflows are code, and the open/closed test runs per case in
// the rollups.
var terminal = sync.OnceValue(func() map[State]bool {
	m := map[State]bool{}
	for _, w := range Workflows() {
		for _, s := range w.Terminal {
			m[s] = true
		}
	}
	return m
})

// resolved is the union of the shipped workflows' resolved states (where
// the problem counts as solved), computed once like terminal.
var resolved = sync.OnceValue(func() map[State]bool {
	m := map[State]bool{}
	for _, d := range builtin() {
		for _, s := range d.ResolvedStates() {
			m[State(s)] = true
		}
	}
	return m
})

// IsResolvedState reports whether a case in s counts as solved (解决): a
// state flagged resolved in the workflow files (resolved, verified and
// closed today). A terminal state that is not resolved ends a case
// without a solution (rejected, declined, merged).
func IsResolvedState(s State) bool { return resolved()[s] }

// ResolvedStates lists, sorted, the states of IsResolvedState.
func ResolvedStates() []State {
	out := make([]State, 0, len(resolved()))
	for s := range resolved() {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// TerminalStates lists, sorted, every state in which a case of some shipped
// workflow has ended. It is derived from the workflow definitions; no other
// code writes the list out. A state is terminal in every workflow that
// declares it (TestTerminalStatesAgree), so the union is exact for any case.
func TerminalStates() []State {
	out := make([]State, 0, len(terminal()))
	for s := range terminal() {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// IsTerminalState reports whether s ends a case (see TerminalStates).
func IsTerminalState(s State) bool { return terminal()[s] }

// TerminalSQL is the SQL condition that column col holds a terminal state.
// The states are identifiers from the definitions, never input, so they are
// written as literals: placeholders would renumber every query's $n, and a
// literal list lets the planner treat it as a constant.
func TerminalSQL(col string) string { return col + " IN (" + quotedTerminal() + ")" }

// OpenSQL is the SQL condition that column col holds a state in which the
// case is still being handled.
func OpenSQL(col string) string { return col + " NOT IN (" + quotedTerminal() + ")" }

func quotedTerminal() string {
	var b strings.Builder
	for i, s := range TerminalStates() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("'" + strings.ReplaceAll(string(s), "'", "''") + "'")
	}
	return b.String()
}
