package account_test

import (
	"context"
	"slices"
	"testing"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
)

func TestUsersWithRole(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		seedRegions(t, d)
		s := mustStore(t, d)
		ctx := context.Background()
		several := mustAdd(t, s, "several", "330303001001", account.GridWorker, account.PartyMember, account.CommunityStaff)
		single := mustAdd(t, s, "single", "330303001001", account.PartyMember)
		other := mustAdd(t, s, "other", "330303001002", account.PartyMember)
		street := mustAdd(t, s, "street", "330303001", account.PartyMember, account.StreetStaff)
		elsewhere := mustAdd(t, s, "elsewhere", "330304", account.PartyMember)
		off := mustAdd(t, s, "off", "330303001001", account.PartyMember)
		lookalike := mustAdd(t, s, "lookalike", "330303001001", account.GridWorker)
		// "_" is a LIKE wildcard: a stored role that differs only there must
		// not match.
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE users SET disabled = $1 WHERE id = $2`, true, off.ID); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `UPDATE users SET roles = $1 WHERE id = $2`, "grid_worker,partyxmember", lookalike.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			role account.Role
			at   account.RoleRegion
			want []int64
		}{
			{"at community", account.PartyMember, account.AtRegion("330303001001"), []int64{several.ID, single.ID}},
			{"at street excludes communities below", account.PartyMember, account.AtRegion("330303001"), []int64{street.ID}},
			{"under community", account.PartyMember, account.UnderPath("/330303/330303001/330303001001/"), []int64{several.ID, single.ID}},
			{"under street", account.PartyMember, account.UnderPath("/330303/330303001/"), []int64{several.ID, single.ID, other.ID, street.ID}},
			{"under district excludes other district", account.PartyMember, account.UnderPath("/330303/"), []int64{several.ID, single.ID, other.ID, street.ID}},
			{"middle of several roles", account.CommunityStaff, account.AtRegion("330303001001"), []int64{several.ID}},
			{"last of several roles", account.StreetStaff, account.UnderPath("/330303/"), []int64{street.ID}},
			{"other district", account.PartyMember, account.UnderPath("/330304/"), []int64{elsewhere.ID}},
			{"nobody", account.Leader, account.UnderPath("/330303/"), nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var got []int64
				err := d.InTx(ctx, func(tx *db.Tx) error {
					var err error
					got, err = account.UsersWithRole(ctx, tx, tc.role, tc.at)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("UsersWithRole(%s, %+v) = %v, want %v", tc.role, tc.at, got, tc.want)
				}
			})
		}
		// HoldersAt answers, for every role and code it read, what
		// UsersWithRole answers at that code.
		codes := []string{"330303", "330303001", "330303001001", "330303001002", "330304", "nowhere"}
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			h, err := account.HoldersAt(ctx, tx, codes)
			if err != nil {
				return err
			}
			for _, code := range codes {
				for _, r := range []account.Role{account.PartyMember, account.GridWorker, account.CommunityStaff, account.StreetStaff, account.Leader} {
					want, err := account.UsersWithRole(ctx, tx, r, account.AtRegion(code))
					if err != nil {
						return err
					}
					if got := h.At(r, code); !slices.Equal(got, want) {
						t.Errorf("HoldersAt(...).At(%s, %s) = %v, want %v", r, code, got, want)
					}
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := account.UsersWithRole(ctx, tx, account.PartyMember, account.RoleRegion{})
			return err
		}); err == nil {
			t.Error("UsersWithRole with no region: got nil error, want one")
		}
	})
}
