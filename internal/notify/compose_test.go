package notify_test

import (
	"testing"

	"whistle/internal/casework"
	"whistle/internal/notify"
)

// TestComposeEndsUsersSentencesOnce: a reason, instruction or comment
// typed with its own full stop is not closed twice by the catalogue's.
func TestComposeEndsUsersSentencesOnce(t *testing.T) {
	tests := []struct {
		name string
		nt   casework.Notice
		key  string
		want any
	}{
		{"postpone reason with 。", casework.Notice{Hours: 8, Reason: "需协调管线单位迁移。"}, "notify.postpone", "需协调管线单位迁移"},
		{"postpone reason without", casework.Notice{Hours: 8, Reason: "需协调"}, "notify.postpone", "需协调"},
		{"instruction with ！", casework.Notice{Instruction: "今天必须办结！ "}, "notify.instruction", "今天必须办结"},
		{"comment with .", casework.Notice{Stars: 1, Comment: "not fixed."}, "notify.rating", "not fixed"},
		{"comment only a stop", casework.Notice{Stars: 1, Comment: "。"}, "notify.rating", "—"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, parts := notify.Compose(&tt.nt, casework.Recipient{}, notify.Timing{})
			for _, p := range parts {
				if p.Key == tt.key {
					if got := p.Args[len(p.Args)-1]; got != tt.want {
						t.Errorf("%s: got %q, want %q", tt.key, got, tt.want)
					}
					return
				}
			}
			t.Errorf("no %s part in %+v", tt.key, parts)
		})
	}
}
