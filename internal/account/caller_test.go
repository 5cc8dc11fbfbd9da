package account

import (
	"testing"

	"whistle/internal/audit"
)

func TestCaller(t *testing.T) {
	u := &User{ID: 7, Username: "grid-1", Roles: []Role{GridWorker}, RegionPath: "/330303/a/b/"}
	tests := []struct {
		name       string
		c          Caller
		wantSystem bool
		wantUser   int64
		wantActor  audit.Actor
		wantAll    bool // sees every region
	}{
		{"system", SystemCaller(), true, 0, audit.Actor{Name: "system"}, true},
		{"user", CallerOf(u, "10.0.0.1"), false, 7, audit.Actor{UserID: 7, Name: "grid-1", IP: "10.0.0.1"}, false},
		{"anonymous", Caller{IP: "10.0.0.2"}, false, 0, audit.Actor{IP: "10.0.0.2"}, false},
		// A request cannot make a system caller: the zero value with a
		// user is that user.
		{"literal", Caller{User: u}, false, 7, audit.Actor{UserID: 7, Name: "grid-1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.IsSystem(); got != tt.wantSystem {
				t.Errorf("IsSystem: got %v, want %v", got, tt.wantSystem)
			}
			if got := tt.c.UserID(); got != tt.wantUser {
				t.Errorf("UserID: got %d, want %d", got, tt.wantUser)
			}
			if got := tt.c.Actor(); got != tt.wantActor {
				t.Errorf("Actor: got %+v, want %+v", got, tt.wantActor)
			}
			if got := tt.c.Scope().Covers("/330303/x/y/"); got != tt.wantAll {
				t.Errorf("Scope covers another street: got %v, want %v", got, tt.wantAll)
			}
		})
	}
}
