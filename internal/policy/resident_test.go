package policy_test

import (
	"context"
	"testing"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
	"whistle/internal/policy"
	"whistle/internal/registry"
)

// TestResidentByProvenPhone: a resident without an identity number on
// their account gets their eligibility through the one registry person
// with a phone they proved by SMS code; the account's phone alone (an
// admin may type any number) links nothing (before, it linked), and a
// proven phone two people share links nobody: NotFound with the reason
// "ambiguous" and its own message.
func TestResidentByProvenPhone(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		w.publish(t, elderly(80), "2026-01-01")
		const phone = "13905775678"
		add := func(first17, name string) int64 {
			t.Helper()
			p, err := w.reg.AddPerson(ctx, account.SystemScope(), actor, registry.PersonInput{IDNumber: idn(first17), Name: name, Phone: phone,
				Status: registry.StatusResident, GridCode: gridA})
			if err != nil {
				t.Fatal(err)
			}
			return p.ID
		}
		id := add("33030319400101201", "钱奶奶")
		w.fact(t, id, "hukou_local", true, true)
		u := w.Users["resident"]
		u.IDNumber, u.Phone = "", phone
		exec := func(q string, args ...any) {
			t.Helper()
			if err := d.InTx(ctx, func(tx *db.Tx) error { _, err := tx.Exec(ctx, q, args...); return err }); err != nil {
				t.Fatal(err)
			}
		}
		exec(`UPDATE users SET phone = $1, id_number = '' WHERE id = $2`, phone, u.ID)
		if _, err := w.eng.EvaluateResident(ctx, u, t0); !errs.Is(err, errs.NotFound) {
			t.Errorf("an unproven phone: %v, want NotFound", err)
		}
		exec(`INSERT INTO phone_logins (phone, user_id, verified_at) VALUES ($1, $2, $3)`, phone, u.ID, t0)
		rs, err := w.eng.EvaluateResident(ctx, u, t0)
		if err != nil {
			t.Fatalf("a proven phone: %v", err)
		}
		if r := resultOf(t, rs, "elderly_allowance"); r.Result != policy.Eligible {
			t.Errorf("钱奶奶's elderly allowance: %s, want eligible", r.Result)
		}
		add("33030319720101202", "钱奶奶之子")
		_, err = w.eng.EvaluateResident(ctx, u, t0)
		if e, ok := errs.As(err); !ok || e.Code != errs.NotFound || e.Reason != "ambiguous" || e.Msg.Key != "policy.person_ambiguous" {
			t.Errorf("a shared phone: %v, want NotFound policy.person_ambiguous (ambiguous)", err)
		}
	})
}
