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

// TestAddUserIDNumber checks that AddUser validates identity numbers
// through internal/idcode, answers the reason under the id_number field,
// and stores the canonical form (issue 13, item 10).
func TestAddUserIDNumber(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) { // t0 is 2026-11-23
		seedRegions(t, d)
		s := mustStore(t, d)
		ctx := context.Background()
		cases := []struct {
			name, in string
			want     string // the stored form, or "" when refused
			wantKey  string
		}{
			// Each refused number carries a correct check character, so
			// only the rule the case names can refuse it.
			{name: "1990-13-40", in: "330303199013401237", wantKey: "idcode.err.birth_date"},
			{name: "future date", in: "33030320261124001X", wantKey: "idcode.err.birth_future"},
			{name: "000000 region", in: "00000019900101123X", wantKey: "idcode.err.region"},
			{name: "all zeros", in: "000000000000000000", wantKey: "idcode.err.zeros"},
			{name: "bad check", in: "110105194912310021", wantKey: "idcode.err.check"},
			{name: "lowercase x stored as X", in: "11010519491231002x", want: "11010519491231002X"},
			{name: "valid", in: "330303199001011231", want: "330303199001011231"},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				in := account.NewUser{Username: "idcase" + string(rune('a'+i)), Password: "secret-pass",
					Roles: []account.Role{account.Resident}, RegionCode: "330303", IDNumber: tc.in}
				u, err := s.AddUser(ctx, audit.System("test"), account.SystemScope(), in)
				if tc.wantKey != "" {
					e, ok := errs.As(err)
					if !ok || e.Code != errs.Invalid {
						t.Fatalf("AddUser(id %s) err = %v, want invalid", tc.in, err)
					}
					if got := e.Fields["id_number"].Key; got != tc.wantKey {
						t.Errorf("AddUser(id %s): id_number message %q, want %q", tc.in, got, tc.wantKey)
					}
					return
				}
				if err != nil {
					t.Fatalf("AddUser(id %s): %v", tc.in, err)
				}
				var stored string
				if err := d.QueryRow(ctx, `SELECT id_number FROM users WHERE id = $1`, u.ID).Scan(&stored); err != nil {
					t.Fatal(err)
				}
				if stored != tc.want || u.IDNumber != tc.want {
					t.Errorf("stored id_number %q (user shows %q), want %q", stored, u.IDNumber, tc.want)
				}
			})
		}
	})
}
