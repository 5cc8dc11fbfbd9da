package open311_test

import (
	"testing"

	"whistle/internal/casework"
	"whistle/internal/open311"
)

// TestStatusFollowsTerminalStates: a request is closed exactly when its case
// is in a terminal state of its workflow's definition.
func TestStatusFollowsTerminalStates(t *testing.T) {
	for name, w := range casework.Workflows() {
		for _, s := range w.States {
			want := "open"
			if w.IsTerminal(s) {
				want = "closed"
			}
			if got := open311.Status(s); got != want {
				t.Errorf("%s: Status(%s) = %q, want %q", name, s, got, want)
			}
		}
	}
}
