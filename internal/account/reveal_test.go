package account_test

import (
	"context"
	"testing"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
)

func TestReveal(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		seedRegions(t, d)
		s := mustStore(t, d)
		ctx := context.Background()
		staff := mustAdd(t, s, "staff", "330303001001", account.CommunityStaff)
		grid := mustAdd(t, s, "grid", "330303001001", account.GridWorker)
		for _, tc := range []struct {
			name    string
			who     *account.User
			subject string
			fields  []string
			want    bool
			summary string // of the one audit row; "" means no row
		}{
			{"with the permission, two fields", staff, "user:7", []string{"phone", "id_number"}, true, "phone, id_number"},
			{"with the permission, one field", staff, "case:2026-000001", []string{"reporter phone (page)"}, true, "reporter phone (page)"},
			{"without the permission", grid, "case:2026-000002", []string{"reporter phone"}, false, ""},
			{"nobody", nil, "case:2026-000003", []string{"reporter phone"}, false, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				actor := audit.Actor{Name: "tester", IP: "192.0.2.1"}
				if tc.who != nil {
					actor.UserID, actor.Name = tc.who.ID, tc.who.Username
				}
				got, err := s.Reveal(ctx, tc.who, actor, tc.subject, tc.fields...)
				if err != nil {
					t.Fatalf("Reveal: %v", err)
				}
				if got != tc.want {
					t.Errorf("Reveal(%s) = %v, want %v", tc.subject, got, tc.want)
				}
				rows, err := audit.List(ctx, d, audit.Filter{Action: "personal.unmask", Q: tc.subject})
				if err != nil {
					t.Fatal(err)
				}
				if tc.summary == "" {
					if len(rows) != 0 {
						t.Errorf("audit rows for %s = %+v, want none", tc.subject, rows)
					}
					return
				}
				if len(rows) != 1 {
					t.Fatalf("audit rows for %s = %d, want 1", tc.subject, len(rows))
				}
				e := rows[0]
				if e.Target != tc.subject || e.Summary != tc.summary || e.ActorID != actor.UserID || e.Actor != actor.Name || e.IP != actor.IP {
					t.Errorf("audit row = %+v, want target %q summary %q by %d %q from %q", e, tc.subject, tc.summary, actor.UserID, actor.Name, actor.IP)
				}
			})
		}

		// When the audit record cannot be written, nothing is revealed.
		t.Run("failing audit write", func(t *testing.T) {
			if err := d.InTx(ctx, func(tx *db.Tx) error {
				_, err := tx.Exec(ctx, `DROP TABLE audit_log`)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			got, err := s.Reveal(ctx, staff, audit.Actor{UserID: staff.ID, Name: staff.Username}, "case:2026-000004", "reporter phone")
			if err == nil {
				t.Error("Reveal with no audit log: got nil error, want one")
			}
			if got {
				t.Error("Reveal with no audit log = true, want false")
			}
		})
	})
}
