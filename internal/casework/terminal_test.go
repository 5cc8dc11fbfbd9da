package casework_test

import (
	"context"
	"slices"
	"testing"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
)

// TestTerminalStatesAgree checks the derived terminal list against each
// workflow's own definition, state by state: a state a workflow ends in
// that the list misses, or a state terminal in one workflow but open in
// another (which no single list could express), fails here.
func TestTerminalStatesAgree(t *testing.T) {
	for name, w := range casework.Workflows() {
		for _, s := range w.Terminal {
			if !w.IsTerminal(s) {
				t.Errorf("%s: %s is in Terminal but IsTerminal says no", name, s)
			}
		}
		for _, s := range w.States {
			if got, want := casework.IsTerminalState(s), w.IsTerminal(s); got != want {
				t.Errorf("%s: IsTerminalState(%s) = %v, want %v (the workflow's definition)", name, s, got, want)
			}
			c := &casework.Case{Workflow: name, Status: s}
			if got, want := c.IsOpen(), !w.IsTerminal(s); got != want {
				t.Errorf("%s: case in %s: IsOpen() = %v, want %v", name, s, got, want)
			}
		}
	}
	listed := map[casework.State]bool{}
	for _, s := range casework.TerminalStates() {
		listed[s] = true
		found := false
		for _, w := range casework.Workflows() {
			found = found || w.IsTerminal(s)
		}
		if !found {
			t.Errorf("TerminalStates lists %s, which no workflow ends in", s)
		}
	}
	for name, w := range casework.Workflows() {
		for _, s := range w.Terminal {
			if !listed[s] {
				t.Errorf("TerminalStates misses %s, terminal in %s", s, name)
			}
		}
	}
}

// TestTerminalSQL runs OpenSQL and TerminalSQL on both databases for every
// state of every workflow and compares them with the definitions.
func TestTerminalSQL(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		for name, w := range casework.Workflows() {
			for _, s := range w.States {
				for _, tc := range []struct {
					cond string
					want bool
				}{
					{casework.OpenSQL("t.status"), !w.IsTerminal(s)},
					{casework.TerminalSQL("t.status"), w.IsTerminal(s)},
				} {
					var n int
					if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT CAST($1 AS TEXT) AS status) t WHERE `+tc.cond, string(s)).Scan(&n); err != nil {
						t.Fatal(err)
					}
					if got := n == 1; got != tc.want {
						t.Errorf("%s: %s for %s = %v, want %v", name, tc.cond, s, got, tc.want)
					}
				}
			}
		}
	})
}

// TestResolvedStates: the states counted as solved come from the workflow
// files' resolved flags, and an end without a solution is not one.
func TestResolvedStates(t *testing.T) {
	got := casework.ResolvedStates()
	want := []casework.State{casework.Closed, casework.Resolved, casework.Verified}
	if !slices.Equal(got, want) {
		t.Errorf("ResolvedStates() = %v, want %v", got, want)
	}
	// The union is exact only if every workflow that declares a state
	// agrees on its flag.
	for name, w := range casework.Workflows() {
		own := w.Def.ResolvedStates()
		for _, s := range w.States {
			if got, want := casework.IsResolvedState(s), slices.Contains(own, string(s)); got != want {
				t.Errorf("%s: IsResolvedState(%s) = %v, but the workflow's file says %v", name, s, got, want)
			}
		}
	}
}
