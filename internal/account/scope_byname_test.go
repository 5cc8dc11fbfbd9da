package account_test

import (
	"context"
	"testing"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
)

// TestUserByNameScope: a lookup by username is scoped like a lookup by id:
// a name outside the scope does not exist (make mutate drops this filter).
func TestUserByNameScope(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		seedRegions(t, d)
		s := mustStore(t, d)
		staffA := mustAdd(t, s, "staff-a", "330303001001", account.CommunityStaff)
		mustAdd(t, s, "resident-a", "330303001001", account.Resident)
		mustAdd(t, s, "resident-b", "330303001002", account.Resident)
		street := mustAdd(t, s, "street", "330303001", account.StreetStaff)
		for _, tc := range []struct {
			name   string
			viewer *account.User
			target string
			found  bool
		}{
			{"community staff finds their resident", staffA, "resident-a", true},
			{"community staff finds them in any case", staffA, "RESIDENT-A", true},
			{"community staff cannot find community B's", staffA, "resident-b", false},
			{"community staff cannot find the street's staff", staffA, "street", false},
			{"street staff finds community B's", street, "resident-b", true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				u, err := s.UserByName(context.Background(), account.ScopeOf(tc.viewer), tc.target)
				switch {
				case tc.found && (err != nil || u == nil):
					t.Errorf("UserByName(%q) = %v, %v; want the user", tc.target, u, err)
				case !tc.found && errs.CodeOf(err) != errs.NotFound:
					t.Errorf("UserByName(%q) = %v, %v; want not_found", tc.target, u, err)
				}
			})
		}
		if _, err := s.UserByName(context.Background(), account.Scope{}, "resident-a"); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("the zero scope finds resident-a: %v, want not_found (default deny)", err)
		}
	})
}
