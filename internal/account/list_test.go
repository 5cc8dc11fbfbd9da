package account_test

import (
	"context"
	"strings"
	"testing"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
)

// TestUsersSortAndCount: users sort only by the whitelisted keys (any
// other is a field error, never SQL), page by offset within scope, and
// CountUsersIn gives the scoped total.
func TestUsersSortAndCount(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		seedRegions(t, d)
		s := mustStore(t, d)
		ctx := context.Background()
		street := mustAdd(t, s, "street", "330303001", account.StreetStaff)
		mustAdd(t, s, "carol", "330303001001", account.GridWorker)
		mustAdd(t, s, "alice", "330303001002", account.GridWorker)
		mustAdd(t, s, "bob", "330303001001", account.GridWorker)
		mustAdd(t, s, "zed", "330304", account.Admin)
		names := func(f account.UserFilter) string {
			us, err := s.Users(ctx, account.ScopeOf(street), f)
			if err != nil {
				t.Fatalf("Users(%+v): %v", f, err)
			}
			var out []string
			for _, u := range us {
				out = append(out, u.Username)
			}
			return strings.Join(out, " ")
		}
		for _, tc := range []struct {
			name string
			f    account.UserFilter
			want string
		}{
			{"by id", account.UserFilter{}, "street carol alice bob"},
			{"by username", account.UserFilter{Sort: "username"}, "alice bob carol street"},
			{"by username descending", account.UserFilter{Sort: "-username"}, "street carol bob alice"},
			{"by region, then id", account.UserFilter{Sort: "region"}, "street carol bob alice"},
			{"second page", account.UserFilter{Sort: "username", Limit: 2, Offset: 2}, "carol street"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := names(tc.f); got != tc.want {
					t.Errorf("got %q, want %q", got, tc.want)
				}
			})
		}
		for _, bad := range []string{"password_hash", "u.id; DROP TABLE users", "-"} {
			_, err := s.Users(ctx, account.ScopeOf(street), account.UserFilter{Sort: bad})
			if e, ok := errs.As(err); !ok || e.Code != errs.Invalid || e.Fields["sort"].Key != "field.unknown_sort" {
				t.Errorf("sort %q: err = %v, want a field error on sort", bad, err)
			}
		}
		if n, err := s.CountUsersIn(ctx, account.ScopeOf(street), account.UserFilter{Role: account.GridWorker, Limit: 1, Offset: 5}); err != nil || n != 3 {
			t.Errorf("CountUsersIn(grid workers in the street) = %d, %v; want 3", n, err)
		}
	})
}
