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

var t0 = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)

// seedRegions makes district D with two communities A and B under street S.
func seedRegions(t *testing.T, d *db.DB) {
	t.Helper()
	ctx := context.Background()
	rows := []struct{ code, parent, level, path string }{
		{"330303", "", "district", "/330303/"},
		{"330303001", "330303", "street", "/330303/330303001/"},
		{"330303001001", "330303001", "community", "/330303/330303001/330303001001/"},
		{"330303001002", "330303001", "community", "/330303/330303001/330303001002/"},
		{"330304", "", "district", "/330304/"},
	}
	err := d.InTx(ctx, func(tx *db.Tx) error {
		for _, r := range rows {
			var parent any
			if r.parent != "" {
				parent = r.parent
			}
			if _, err := tx.Exec(ctx, `INSERT INTO regions (code, parent_code, name, level, path, geometry, min_lng, min_lat, max_lng, max_lat, interior_lng, interior_lat, created_at, updated_at)
				VALUES ($1, $2, $1, $3, $4, '{}', 0, 0, 1, 1, 0.5, 0.5, $5, $5)`, r.code, parent, r.level, r.path, tx.Now()); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO departments (code, name, region_code, created_at) VALUES ('cg', '城管', '330303', $1)`, tx.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testConfig() account.Config {
	c := account.DefaultConfig()
	c.Argon2 = account.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1} // fast for tests
	return c
}

func mustStore(t *testing.T, d *db.DB) *account.Store {
	t.Helper()
	s, err := account.NewStore(d, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustAdd(t *testing.T, s *account.Store, name string, region string, roles ...account.Role) *account.User {
	t.Helper()
	in := account.NewUser{Username: name, Password: "secret-pass", Roles: roles, RegionCode: region, Phone: "13812341234"}
	for _, r := range roles {
		if r == account.DepartmentHandler {
			in.DepartmentCode = "cg"
		}
	}
	u, err := s.AddUser(context.Background(), audit.System("test"), account.SystemScope(), in)
	if err != nil {
		t.Fatalf("add %s: %v", name, err)
	}
	return u
}

func TestPasswordHash(t *testing.T) {
	p := account.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}
	h, err := account.HashPassword("correct horse", p)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		pw   string
		want bool
	}{{"right", "correct horse", true}, {"wrong", "correct horsE", false}, {"empty", "", false}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := account.VerifyPassword(tc.pw, h)
			if err != nil || got != tc.want {
				t.Errorf("VerifyPassword(%q) = %v, %v; want %v", tc.pw, got, err, tc.want)
			}
		})
	}
	if _, err := account.VerifyPassword("x", "$argon2id$v=19$m=1,t=1$zz$zz"); err == nil {
		t.Error("malformed hash accepted")
	}
	h2, _ := account.HashPassword("correct horse", p)
	if h == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
}

func TestPersonalData(t *testing.T) {
	// Identity numbers are validated by internal/idcode (idcode_test.go)
	// and through AddUser (idnumber_test.go).
	if got, want := account.MaskPhone("13812341234"), "138****1234"; got != want {
		t.Errorf("MaskPhone = %q, want %q", got, want)
	}
	if got, want := account.MaskIDNumber("11010519491231002X"), "110105********002X"; got != want {
		t.Errorf("MaskIDNumber = %q, want %q", got, want)
	}
	if account.ValidPhone("23812341234") || !account.ValidPhone("13812341234") {
		t.Error("ValidPhone is wrong")
	}
}

func TestAddUserValidation(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		seedRegions(t, d)
		s := mustStore(t, d)
		ctx := context.Background()
		cases := []struct {
			name  string
			in    account.NewUser
			field string
		}{
			{"bad username", account.NewUser{Username: "a b", Password: "secret-pass", Roles: []account.Role{account.Admin}, RegionCode: "330303"}, "username"},
			{"short password", account.NewUser{Username: "abc", Password: "short", Roles: []account.Role{account.Admin}, RegionCode: "330303"}, "password"},
			{"unknown role", account.NewUser{Username: "abc", Password: "secret-pass", Roles: []account.Role{"king"}, RegionCode: "330303"}, "roles"},
			{"unknown region", account.NewUser{Username: "abc", Password: "secret-pass", Roles: []account.Role{account.Admin}, RegionCode: "999"}, "region"},
			{"handler without department", account.NewUser{Username: "abc", Password: "secret-pass", Roles: []account.Role{account.DepartmentHandler}, RegionCode: "330303"}, "department"},
			{"unknown department", account.NewUser{Username: "abc", Password: "secret-pass", Roles: []account.Role{account.DepartmentHandler}, RegionCode: "330303", DepartmentCode: "zz"}, "department"},
			{"bad phone", account.NewUser{Username: "abc", Password: "secret-pass", Roles: []account.Role{account.Admin}, RegionCode: "330303", Phone: "123"}, "phone"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.AddUser(ctx, audit.System("test"), account.SystemScope(), tc.in)
				e, ok := errs.As(err)
				if !ok || e.Code != errs.Invalid {
					t.Fatalf("err = %v, want invalid", err)
				}
				if _, ok := e.Fields[tc.field]; !ok {
					t.Errorf("fields = %v, want a message for %q", e.Fields, tc.field)
				}
			})
		}
		if n, _ := s.CountUsers(ctx); n != 0 {
			t.Errorf("users after rejected adds = %d, want 0", n)
		}
		mustAdd(t, s, "dup", "330303", account.Admin)
		_, err := s.AddUser(ctx, audit.System("test"), account.SystemScope(), account.NewUser{Username: "DUP", Password: "secret-pass", Roles: []account.Role{account.Admin}, RegionCode: "330303"})
		if got := errs.CodeOf(err); got != errs.Conflict {
			t.Errorf("duplicate username code = %q, want conflict", got)
		}
	})
}

func TestUserScope(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		seedRegions(t, d)
		s := mustStore(t, d)
		ctx := context.Background()
		staffA := mustAdd(t, s, "staff-a", "330303001001", account.CommunityStaff)
		userA := mustAdd(t, s, "resident-a", "330303001001", account.Resident)
		userB := mustAdd(t, s, "resident-b", "330303001002", account.Resident)
		street := mustAdd(t, s, "street", "330303001", account.StreetStaff)
		handler := mustAdd(t, s, "handler", "330303", account.DepartmentHandler)
		other := mustAdd(t, s, "other-district", "330304", account.Admin)

		cases := []struct {
			name   string
			viewer *account.User
			target *account.User
			found  bool
		}{
			{"community staff sees own community", staffA, userA, true},
			{"community staff cannot see community B", staffA, userB, false},
			{"street staff sees both communities", street, userB, true},
			{"resident sees self", userA, userA, true},
			{"resident cannot see neighbour", userA, staffA, false},
			{"department handler sees own department", handler, handler, true},
			{"department handler cannot see residents", handler, userA, false},
			{"other district cannot see", other, userA, false},
			{"community B cannot see street", staffA, street, false},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.User(ctx, account.ScopeOf(tc.viewer), tc.target.ID)
				if tc.found && err != nil {
					t.Errorf("User() err = %v, want found", err)
				}
				if !tc.found && errs.CodeOf(err) != errs.NotFound {
					t.Errorf("User() err = %v, want not_found", err)
				}
			})
		}
		list, err := s.Users(ctx, account.ScopeOf(staffA), account.UserFilter{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, u := range list {
			got[u.Username] = true
		}
		if !got["staff-a"] || !got["resident-a"] || got["resident-b"] || got["street"] || len(got) != 2 {
			t.Errorf("staff-a's user list = %v, want exactly staff-a and resident-a", got)
		}
		if list, _ := s.Users(ctx, account.Scope{}, account.UserFilter{}); len(list) != 0 {
			t.Errorf("zero scope sees %d users, want 0 (default deny)", len(list))
		}
	})
}

func TestLoginThrottleAndExpiry(t *testing.T) {
	clk := clock.NewFake(t0)
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(t0)
		seedRegions(t, d)
		s := mustStore(t, d)
		ctx := context.Background()
		mustAdd(t, s, "alice", "330303", account.Admin)
		c := account.Client{IP: "10.0.0.1"}
		for i := 0; i < 5; i++ {
			_, _, _, err := s.Login(ctx, "alice", "wrong-pass", account.WebSession, c)
			if got := errs.CodeOf(err); got != errs.Unauthorized {
				t.Fatalf("attempt %d: code %q, want unauthorized", i+1, got)
			}
			clk.Advance(time.Second)
		}
		_, _, _, err := s.Login(ctx, "alice", "secret-pass", account.WebSession, c)
		e, ok := errs.As(err)
		if !ok || e.Code != errs.RateLimited || e.RetryAfter <= 0 {
			t.Fatalf("6th attempt with the right password: %v, want rate_limited with Retry-After", err)
		}
		// Another account from another IP is unaffected.
		mustAdd(t, s, "bob", "330303", account.Admin)
		if _, _, _, err := s.Login(ctx, "bob", "secret-pass", account.WebSession, account.Client{IP: "10.0.0.2"}); err != nil {
			t.Errorf("bob blocked by alice's failures: %v", err)
		}
		clk.Advance(16 * time.Minute)
		tok, u, sess, err := s.Login(ctx, "alice", "secret-pass", account.WebSession, c)
		if err != nil {
			t.Fatalf("login after the window: %v", err)
		}
		if u.Username != "alice" || sess.CSRF == "" || tok == "" {
			t.Errorf("login returned %+v %+v", u, sess)
		}
		log, err := s.LoginLog(ctx, account.LoginLogFilter{Username: "alice"})
		if err != nil {
			t.Fatal(err)
		}
		var fails, oks int
		for _, l := range log {
			if l.Success {
				oks++
			} else {
				fails++
			}
		}
		if fails != 6 || oks != 1 {
			t.Errorf("login log: %d failures, %d successes; want 6 and 1", fails, oks)
		}
		if _, _, err := s.Authenticate(ctx, tok); err != nil {
			t.Errorf("fresh session: %v", err)
		}
		clk.Advance(s.Config().WebIdle + time.Second)
		_, _, err = s.Authenticate(ctx, tok)
		if e, ok := errs.As(err); !ok || e.Reason != "session_expired" {
			t.Errorf("idle session: %v, want session_expired", err)
		}
		// Absolute expiry even with activity.
		tok, _, _, err = s.Login(ctx, "alice", "secret-pass", account.WebSession, c)
		if err != nil {
			t.Fatal(err)
		}
		for el := time.Duration(0); el < s.Config().WebTTL-time.Hour; el += time.Hour {
			clk.Advance(time.Hour)
			if _, _, err := s.Authenticate(ctx, tok); err != nil {
				t.Fatalf("active session failed after %v: %v", el, err)
			}
		}
		clk.Advance(2 * time.Hour)
		if _, _, err := s.Authenticate(ctx, tok); errs.CodeOf(err) != errs.Unauthorized {
			t.Errorf("session past its TTL: %v, want unauthorized", err)
		}
		if _, _, err := s.Authenticate(ctx, "nonsense"); errs.CodeOf(err) != errs.Unauthorized {
			t.Errorf("unknown token: %v", err)
		}
		// A session answers with its own user and session; once the
		// account is disabled, its sessions stop working at once.
		tok, _, want, err := s.Login(ctx, "alice", "secret-pass", account.WebSession, c)
		if err != nil {
			t.Fatal(err)
		}
		got, sess, err := s.Authenticate(ctx, tok)
		if err != nil || got.Username != "alice" || got.Region.Code != "330303" || !got.Has(account.Admin) ||
			sess.ID != want.ID || sess.CSRF != want.CSRF || sess.Kind != account.WebSession || !sess.ExpiresAt.Equal(want.ExpiresAt) {
			t.Fatalf("got user %+v, session %+v, %v; want alice's and session %+v", got, sess, err, want)
		}
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE users SET disabled = $1 WHERE username = $2`, true, "alice")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		_, _, err = s.Authenticate(ctx, tok)
		if e, ok := errs.As(err); !ok || e.Code != errs.Unauthorized || e.Msg.Key != "account.disabled" {
			t.Errorf("disabled account: %v, want unauthorized (account.disabled)", err)
		}
	})
}

func TestIPThrottle(t *testing.T) {
	clk := clock.NewFake(t0)
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		seedRegions(t, d)
		s := mustStore(t, d)
		ctx := context.Background()
		mustAdd(t, s, "carol", "330303", account.Admin)
		c := account.Client{IP: "10.9.9.9"}
		for i := 0; i < s.Config().MaxFailsPerIP; i++ {
			// A different unknown username each time: only the IP limit applies.
			_, _, _, _ = s.Login(ctx, "nobody"+string(rune('a'+i%26))+string(rune('a'+i/26)), "x", account.WebSession, c)
		}
		_, _, _, err := s.Login(ctx, "carol", "secret-pass", account.WebSession, c)
		if got := errs.CodeOf(err); got != errs.RateLimited {
			t.Errorf("login from a throttled IP: %q, want rate_limited", got)
		}
		if _, _, _, err := s.Login(ctx, "carol", "secret-pass", account.WebSession, account.Client{IP: "10.1.1.1"}); err != nil {
			t.Errorf("login from another IP: %v", err)
		}
	})
}

func TestAPIKeys(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		s := mustStore(t, d)
		ctx := context.Background()
		key, k, err := s.CreateAPIKey(ctx, audit.System("test"), "fixmystreet")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.CheckAPIKey(ctx, key); err != nil || got.ID != k.ID {
			t.Fatalf("CheckAPIKey = %v, %v", got, err)
		}
		if _, _, err := s.CreateAPIKey(ctx, audit.System("test"), "fixmystreet"); errs.CodeOf(err) != errs.Conflict {
			t.Errorf("duplicate name: %v, want conflict", err)
		}
		if err := s.RevokeAPIKey(ctx, audit.System("test"), "fixmystreet"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CheckAPIKey(ctx, key); errs.CodeOf(err) != errs.Forbidden {
			t.Errorf("revoked key: %v, want forbidden", err)
		}
		if err := s.RevokeAPIKey(ctx, audit.System("test"), "nope"); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("revoke unknown: %v, want not_found", err)
		}
		entries, err := audit.List(ctx, d, audit.Filter{Action: "apikey.create"})
		if err != nil || len(entries) != 1 {
			t.Errorf("audit entries for apikey.create = %d, %v; want 1", len(entries), err)
		}
	})
}
