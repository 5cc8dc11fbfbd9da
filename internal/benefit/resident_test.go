package benefit_test

import (
	"context"
	"testing"

	"whistle/internal/account"
	"whistle/internal/benefit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/idcode"
	"whistle/internal/registry"
	"whistle/internal/worldtest"
)

// TestResidentLinkedByPhone: a resident whose account carries no identity
// number, only a phone, is linked to the registry person with that phone
// once they have proven it by SMS code (phone_logins), and then sees
// their policies and applies with one click as one linked by identity
// number does (before, Me and Apply looked at the identity number only:
// NotFound). An unproven phone links nothing; a proven phone two people
// share links nobody (NotFound, reason "ambiguous") and creates nothing.
func TestResidentLinkedByPhone(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		const phone = "13905771234"
		person := func(ymd, seq, name string) benefit.Subject {
			t.Helper()
			first := "330303" + ymd + seq
			p, err := f.reg.AddPerson(ctx, account.SystemScope(), worldtest.Actor(), registry.PersonInput{IDNumber: first + string(idcode.ResidentCheck(first)),
				Name: name, Phone: phone, Status: registry.StatusResident, GridCode: gridB1})
			if err != nil {
				t.Fatal(err)
			}
			return benefit.Subject{Kind: benefit.Person, ID: p.ID}
		}
		li := person("19420505", "321", "李阿姨")
		f.eng.set(li, oldAge())
		exec := func(q string, args ...any) {
			t.Helper()
			if err := d.InTx(ctx, func(tx *db.Tx) error { _, err := tx.Exec(ctx, q, args...); return err }); err != nil {
				t.Fatal(err)
			}
		}
		u := f.Users["resident-b"]
		if u.IDNumber != "" {
			t.Fatalf("resident-b has an identity number: the test proves nothing")
		}
		exec(`UPDATE users SET phone = $1 WHERE id = $2`, phone, u.ID)
		u.Phone = phone
		me := f.as("resident-b")

		// The account's phone, never proven: no link.
		if _, err := f.svc.Me(ctx, me); !errs.Is(err, errs.NotFound) {
			t.Errorf("an unproven phone links: %v, want NotFound", err)
		}
		if _, err := f.svc.Apply(ctx, me, benefit.NewApplication{Policy: "gaoling"}); !errs.Is(err, errs.NotFound) {
			t.Errorf("applying with an unproven phone: %v, want NotFound", err)
		}

		// Proven by an SMS sign-in: linked, sees the policies, applies.
		exec(`INSERT INTO phone_logins (phone, user_id, verified_at) VALUES ($1, $2, $3)`, phone, u.ID, t0)
		if got, err := f.svc.Me(ctx, me); err != nil || got != li {
			t.Fatalf("Me: %+v, %v; want 李阿姨 %+v", got, err, li)
		}
		ms, err := f.svc.Matches(ctx, me, benefit.Subject{})
		if err != nil || len(ms) != 1 || ms[0].Policy != "gaoling" {
			t.Fatalf("matches: %+v, %v", ms, err)
		}
		a, err := f.svc.Apply(ctx, me, benefit.NewApplication{Policy: "gaoling"})
		if err != nil || a.Subject != li || a.SubjectName != "李阿姨" {
			t.Fatalf("one click: %+v, %v", a, err)
		}
		if got, err := f.svc.Get(ctx, me, a.ID, false); err != nil || got.ID != a.ID {
			t.Errorf("the applicant reads the application: %v", err)
		}
		mine, _, err := f.svc.List(ctx, me, benefit.Filter{Mine: true})
		if err != nil || len(mine) != 1 || mine[0].ID != a.ID {
			t.Errorf("their applications: %d (%v), want 1", len(mine), err)
		}
		// Staff applying for her make the application hers: she reads it
		// among her own.
		byStaff, err := f.svc.Apply(ctx, f.as("staff-b"), benefit.NewApplication{Policy: "gaoling", Subject: li, Period: "2026-12"})
		if err != nil {
			t.Fatal(err)
		}
		mine, _, err = f.svc.List(ctx, me, benefit.Filter{Mine: true})
		if err != nil || len(mine) != 2 {
			t.Errorf("after staff applied for her: %d of her own (%v), want 2", len(mine), err)
		}
		if _, err := f.svc.Get(ctx, me, byStaff.ID, false); err != nil {
			t.Errorf("she reads the application staff made for her: %v", err)
		}
		// Naming another person is still refused.
		if _, err := f.svc.Apply(ctx, me, benefit.NewApplication{Policy: "gaoling", Subject: f.old}); !errs.Is(err, errs.NotFound) {
			t.Errorf("applying for 王大爷: %v, want NotFound", err)
		}

		// A second person with the same phone: nobody is linked, and
		// nothing is created.
		daughter := person("19700606", "322", "李阿姨之女")
		f.eng.set(daughter, oldAge())
		_, err = f.svc.Me(ctx, me)
		if e, ok := errs.As(err); !ok || e.Code != errs.NotFound || e.Reason != "ambiguous" || e.Msg.Key != "benefit.person_ambiguous" {
			t.Errorf("an ambiguous phone: %v, want NotFound benefit.person_ambiguous (ambiguous)", err)
		}
		if _, err := f.svc.Apply(ctx, me, benefit.NewApplication{Policy: "gaoling", Period: "2026-12"}); !errs.Is(err, errs.NotFound) {
			t.Errorf("applying with an ambiguous phone: %v, want NotFound", err)
		}
		if _, err := f.svc.Get(ctx, me, a.ID, false); err != nil {
			t.Errorf("their own application stays theirs: %v", err)
		}
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM benefit_applications`).Scan(&n); err != nil || n != 2 {
			t.Errorf("%d applications (%v), want 2", n, err)
		}
	})
}
