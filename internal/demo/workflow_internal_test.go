package demo

import (
	"testing"

	"whistle/internal/casework"
)

// TestOpenStatesFollowTheWorkflows: the history leaves open cases in the
// states derived from casework's definitions, each with the SLA stage the
// engine would run there, starting from where a case starts.
func TestOpenStatesFollowTheWorkflows(t *testing.T) {
	for name, w := range casework.Workflows() {
		states := openStates(w)
		if len(states) == 0 || states[0] != string(w.Initial) {
			t.Errorf("%s: open states %v, want them to start at %s", name, states, w.Initial)
		}
		for _, s := range states {
			if w.IsTerminal(casework.State(s)) {
				t.Errorf("%s: open state %s is terminal", name, s)
			}
			if w.Stages[casework.State(s)] == "" {
				t.Errorf("%s: open state %s has no SLA stage in the definition", name, s)
			}
		}
	}
}
