package main

import (
	"runtime/debug"
	"testing"
)

// TestSetGCPercent: --gc-percent sets the collector's target for the
// command and puts the last one back; GOGC in the environment wins, and
// a value that is not positive leaves the target alone.
func TestSetGCPercent(t *testing.T) {
	tests := []struct {
		name string
		gogc string
		pct  int
		want int
	}{
		{"set", "", 400, 400},
		{"GOGC wins", "200", 400, 77},
		{"zero leaves it", "", 0, 77},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prev := debug.SetGCPercent(77)
			defer debug.SetGCPercent(prev)
			restore := setGCPercent(env{getenv: func(k string) string {
				if k == "GOGC" {
					return tc.gogc
				}
				return ""
			}}, tc.pct)
			if got := debug.SetGCPercent(tc.want); got != tc.want {
				t.Errorf("target during the command = %d, want %d", got, tc.want)
			}
			restore()
			if got := debug.SetGCPercent(77); got != 77 {
				t.Errorf("target after = %d, want 77 back", got)
			}
		})
	}
}
