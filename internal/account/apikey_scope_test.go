package account_test

import (
	"context"
	"strings"
	"testing"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
)

// TestAPIKeyScope: a key's scope is an account.Scope over its region
// subtree, and its services bound what it may post to (issue 13 item 6).
func TestAPIKeyScope(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		seedRegions(t, d)
		s := mustStore(t, d)
		ctx := context.Background()
		sys := audit.System("test")
		keyA, _, err := s.CreateKey(ctx, sys, account.NewAPIKey{Name: "a", Region: "330303001001", Services: []string{" ", ""}})
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.CheckAPIKey(ctx, keyA)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			path string
			want bool
		}{
			{"/330303/330303001/330303001001/", true},
			{"/330303/330303001/330303001001/330303001001001/", true},
			{"/330303/330303001/330303001002/", false},
			{"/330303/330303001/", false},
			{"/330304/", false},
			{"", false},
		} {
			if got := a.Scope().Covers(c.path); got != c.want {
				t.Errorf("key of 330303001001 covers %q = %v, want %v", c.path, got, c.want)
			}
		}
		if !a.MayPost("ZL05") || len(a.Services) != 0 {
			t.Errorf("a key without services: %+v, want every service", a)
		}
		// The default region is the district.
		keyD, _, err := s.CreateAPIKey(ctx, sys, "district")
		if err != nil {
			t.Fatal(err)
		}
		if k, err := s.CheckAPIKey(ctx, keyD); err != nil || k.Region != "330303" || !k.Scope().Covers("/330303/330303001/") || k.Scope().Covers("/330304/") {
			t.Errorf("a key made without a region: %+v, %v; want district 330303", k, err)
		}
		if _, _, err := s.CreateKey(ctx, sys, account.NewAPIKey{Name: "bad", Region: "999"}); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("unknown region: %v, want invalid", err)
		}
		// A key whose region is gone may do nothing.
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE api_keys SET region_code = $1 WHERE name = $2`, "gone", "a")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if k, err := s.CheckAPIKey(ctx, keyA); err != nil || !k.Scope().Denies() || k.Scope().Covers("/330303/330303001/330303001001/") {
			t.Errorf("a key of a vanished region: %+v, %v; want a scope that denies", k, err)
		}
		var zero account.Scope
		if zero.Covers("/330303/") || !account.SystemScope().Covers("/anything/") {
			t.Error("the zero scope must cover nothing and the system scope everything")
		}
	})
}

// TestLegacyKeysMigrateToTheDistrict runs migration 0010's update of the
// keys made before key scopes on both dialects: they get the district
// (here 330303, the shallowest district, though 330304 is one too) and
// every service, and keep working.
func TestLegacyKeysMigrateToTheDistrict(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		seedRegions(t, d)
		s := mustStore(t, d)
		ctx := context.Background()
		key, _, err := s.CreateAPIKey(ctx, audit.System("test"), "legacy")
		if err != nil {
			t.Fatal(err)
		}
		ms, err := db.Migrations(d.Dialect())
		if err != nil {
			t.Fatal(err)
		}
		var update string
		for _, m := range ms {
			if m.Version == 10 {
				_, after, ok := strings.Cut(m.SQL, "UPDATE api_keys")
				if !ok {
					t.Fatal("0010 has no UPDATE api_keys")
				}
				update = "UPDATE api_keys" + after
			}
		}
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE api_keys SET region_code = NULL, services = ''`); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, update)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		k, err := s.CheckAPIKey(ctx, key)
		if err != nil || k.Region != "330303" || len(k.Services) != 0 || !k.MayPost("ZL05") {
			t.Errorf("legacy key after 0010: %+v, %v; want district 330303 and every service", k, err)
		}
	})
}
