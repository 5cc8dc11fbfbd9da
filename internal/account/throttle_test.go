package account_test

import (
	"context"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
)

// TestFailedLoginsLockNobodyOut is issue 13 item 5: five failed logins
// from one client locked a known username for everyone. An attacker's
// failures now slow the attacker alone, with a delay that doubles with
// each failure, and the user logs in from their own client at once.
func TestFailedLoginsLockNobodyOut(t *testing.T) {
	clk := clock.NewFake(t0)
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(t0)
		seedRegions(t, d)
		s := mustStore(t, d)
		ctx := context.Background()
		mustAdd(t, s, "alice", "330303", account.Admin)
		cfg := s.Config()
		attacker, user := account.Client{IP: "203.0.113.66"}, account.Client{IP: "198.51.100.7"}
		// The free failures answer at once.
		for i := 0; i < cfg.FreeFails; i++ {
			if _, _, _, err := s.Login(ctx, "alice", "guess", account.WebSession, attacker); errs.CodeOf(err) != errs.Unauthorized {
				t.Fatalf("free failure %d: %v, want unauthorized", i+1, err)
			}
		}
		// Then each failure doubles the attacker's wait, counted from it.
		for i, want := range []int{1, 2, 4, 8, 16} {
			if _, _, _, err := s.Login(ctx, "alice", "guess", account.WebSession, attacker); errs.CodeOf(err) != errs.Unauthorized {
				t.Fatalf("failure %d after the free ones: %v, want unauthorized", i+1, err)
			}
			_, _, _, err := s.Login(ctx, "alice", "guess", account.WebSession, attacker)
			e, ok := errs.As(err)
			if !ok || e.Code != errs.RateLimited || e.RetryAfter != want {
				t.Fatalf("attempt right after failure %d: %v, want rate_limited with Retry-After %d", cfg.FreeFails+i+1, err, want)
			}
			clk.Advance(time.Duration(want) * time.Second)
		}
		// The attacker is throttled, also with the right password...
		if _, _, _, err := s.Login(ctx, "alice", "guess", account.WebSession, attacker); errs.CodeOf(err) != errs.Unauthorized {
			t.Fatalf("one more failure: %v", err)
		}
		if _, _, _, err := s.Login(ctx, "alice", "secret-pass", account.WebSession, attacker); errs.CodeOf(err) != errs.RateLimited {
			t.Errorf("attacker's client with the right password: %v, want rate_limited", err)
		}
		// ...and the user, from their own client, is not.
		if _, _, _, err := s.Login(ctx, "alice", "secret-pass", account.WebSession, user); err != nil {
			t.Fatalf("alice from her own client after %d failures elsewhere: %v", cfg.FreeFails+6, err)
		}
		// The user's success does not clear the attacker's count.
		if _, _, _, err := s.Login(ctx, "alice", "guess", account.WebSession, attacker); errs.CodeOf(err) != errs.RateLimited {
			t.Errorf("attacker after alice's success: %v, want still rate_limited", err)
		}
		// The delay never exceeds MaxDelay.
		clk.Advance(cfg.MaxDelay)
		if _, _, _, err := s.Login(ctx, "alice", "secret-pass", account.WebSession, attacker); err != nil {
			t.Errorf("attacker's client with the right password after MaxDelay: %v", err)
		}
	})
}

// TestAdminLock: the hard lock is an admin's: a locked account cannot log
// in from anywhere, its sessions end, and unlocking lets it in again.
func TestAdminLock(t *testing.T) {
	clk := clock.NewFake(t0)
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		seedRegions(t, d)
		s := mustStore(t, d)
		ctx := context.Background()
		admin := mustAdd(t, s, "root", "330303", account.Admin)
		alice := mustAdd(t, s, "alice", "330303001001", account.CommunityStaff)
		other := mustAdd(t, s, "zed", "330304", account.Admin)
		c := account.Client{IP: "10.0.0.1"}
		tok, _, _, err := s.Login(ctx, "alice", "secret-pass", account.WebSession, c)
		if err != nil {
			t.Fatal(err)
		}
		actor := audit.Actor{UserID: admin.ID, Name: admin.Username}
		// Out of scope reads as unknown.
		if err := s.SetLocked(ctx, actor, account.ScopeOf(other), alice.ID, true); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("lock by another district's admin: %v, want not_found", err)
		}
		if err := s.SetLocked(ctx, actor, account.ScopeOf(admin), alice.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Authenticate(ctx, tok); errs.CodeOf(err) != errs.Unauthorized {
			t.Errorf("session of a locked account: %v, want unauthorized", err)
		}
		_, _, _, err = s.Login(ctx, "alice", "secret-pass", account.WebSession, account.Client{IP: "10.0.0.2"})
		if e, ok := errs.As(err); !ok || e.Code != errs.Forbidden || e.Msg.Key != "account.locked" {
			t.Errorf("login of a locked account: %v, want forbidden (account.locked)", err)
		}
		if _, _, _, err := s.Login(ctx, "alice", "wrong-pass", account.WebSession, account.Client{IP: "10.0.0.3"}); errs.CodeOf(err) != errs.Unauthorized {
			t.Errorf("wrong password on a locked account: %v, want unauthorized (the lock is not revealed)", err)
		}
		if u, err := s.User(ctx, account.SystemScope(), alice.ID); err != nil || !u.Locked {
			t.Errorf("User after lock: %+v, %v; want Locked", u, err)
		}
		if err := s.SetLocked(ctx, actor, account.ScopeOf(admin), alice.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := s.Login(ctx, "alice", "secret-pass", account.WebSession, c); err != nil {
			t.Errorf("login after unlock: %v", err)
		}
		for _, action := range []string{"user.lock", "user.unlock"} {
			if entries, err := audit.List(ctx, d, audit.Filter{Action: action}); err != nil || len(entries) != 1 {
				t.Errorf("audit %s: %d entries, %v; want 1", action, len(entries), err)
			}
		}
	})
}
