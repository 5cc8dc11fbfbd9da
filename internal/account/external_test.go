package account_test

import (
	"context"
	"testing"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
)

// TestLoginExternal: a proven identity opens a session only for an
// existing, enabled, unlocked staff account, audited as session.login with
// the method; every refusal is Forbidden, opens nothing and audits nothing.
func TestLoginExternal(t *testing.T) {
	clk := clock.NewFake(t0)
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		seedRegions(t, d)
		users := mustStore(t, d)
		ctx := context.Background()
		c := account.Client{IP: "198.51.100.9"}
		staff := mustAdd(t, users, "alice", "330303", account.Admin)
		mustAdd(t, users, "rita", "330303", account.Resident)
		dis := mustAdd(t, users, "dora", "330303", account.Admin)
		lock := mustAdd(t, users, "lola", "330303", account.Admin)
		yes := true
		if _, err := users.UpdateUser(ctx, audit.System("test"), account.SystemScope(), dis.ID, account.UserChange{Disabled: &yes}); err != nil {
			t.Fatal(err)
		}
		if err := users.SetLocked(ctx, audit.System("test"), account.SystemScope(), lock.ID, true); err != nil {
			t.Fatal(err)
		}
		audited := func() int {
			var n int
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = $1 AND summary = $2`, account.ActionSessionLogin, "method oidc").Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}

		tok, u, sess, err := users.LoginExternal(ctx, " Alice ", "oidc", account.WebSession, c)
		if err != nil || u.ID != staff.ID || sess.CSRF == "" {
			t.Fatalf("staff: got %v %v %v, want alice's session", u, sess, err)
		}
		if got, _, err := users.Authenticate(ctx, tok); err != nil || got.ID != staff.ID {
			t.Errorf("the token authenticates %v %v, want alice", got, err)
		}
		if got := audited(); got != 1 {
			t.Errorf("audit entries: got %d, want 1", got)
		}
		for _, tc := range []struct{ name, username string }{
			{"unknown", "nobody"},
			{"empty", ""},
			{"resident", "rita"},
			{"disabled", "dora"},
			{"locked", "lola"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, _, _, err := users.LoginExternal(ctx, tc.username, "oidc", account.WebSession, c); errs.CodeOf(err) != errs.Forbidden {
					t.Errorf("got %v, want forbidden", err)
				}
				if got := audited(); got != 1 {
					t.Errorf("audit entries: got %d, want still 1", got)
				}
			})
		}
	})
}
