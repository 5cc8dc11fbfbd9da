package account_test

import (
	"context"
	"strings"
	"testing"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// FuzzAuthenticate presents arbitrary session tokens and API keys. Anything
// but a live token is Unauthorized (a revoked or unknown API key is
// Forbidden), never a panic and never another error; a live token is not
// found by any other string.
func FuzzAuthenticate(f *testing.F) {
	ctx := context.Background()
	d, err := db.Open(ctx, db.Config{DataDir: f.TempDir()}, clock.Real{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx); err != nil {
		f.Fatal(err)
	}
	if err := d.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO regions (code, parent_code, name, level, path, geometry, min_lng, min_lat, max_lng, max_lat, interior_lng, interior_lat, created_at, updated_at)
			VALUES ('330303', NULL, '区', 'district', '/330303/', '{}', 0, 0, 1, 1, 0.5, 0.5, $1, $1)`, tx.Now())
		return err
	}); err != nil {
		f.Fatal(err)
	}
	cfg := account.DefaultConfig()
	cfg.Argon2 = account.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}
	s, err := account.NewStore(d, cfg)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := s.AddUser(ctx, audit.System("fuzz"), account.SystemScope(), account.NewUser{Username: "alice", Password: "secret-pass",
		Roles: []account.Role{account.Admin}, RegionCode: "330303"}); err != nil {
		f.Fatal(err)
	}
	live, _, _, err := s.Login(ctx, "alice", "secret-pass", account.APISession, account.Client{IP: "127.0.0.1"})
	if err != nil {
		f.Fatal(err)
	}
	key, _, err := s.CreateAPIKey(ctx, audit.System("fuzz"), "fuzz")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{"", "x", live[:len(live)-1], live + "=", strings.ToUpper(live), " " + live, strings.Repeat("a", 200),
		strings.Repeat("b", 201), "\x00", "' OR 1=1 --", key[:len(key)-1], "%00"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		if tok == live || tok == key {
			t.Skip()
		}
		u, sess, err := s.Authenticate(ctx, tok)
		if u != nil || sess != nil {
			t.Fatalf("token %q authenticated as %v", tok, u)
		}
		if e, ok := errs.As(err); !ok || e.Code != errs.Unauthorized {
			t.Fatalf("token %q: %v, want Unauthorized", tok, err)
		}
		k, err := s.CheckAPIKey(ctx, tok)
		if k != nil {
			t.Fatalf("key %q accepted", tok)
		}
		if e, ok := errs.As(err); !ok || e.Code != errs.Forbidden {
			t.Fatalf("key %q: %v, want Forbidden", tok, err)
		}
	})
}
