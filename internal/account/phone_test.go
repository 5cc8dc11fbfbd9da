package account_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
	"whistle/internal/sms"
)

func phoneStore(t *testing.T, d *db.DB) (*account.Store, *account.PhoneStore, *sms.Log) {
	t.Helper()
	seedRegions(t, d)
	users := mustStore(t, d)
	log := sms.NewLog(nil)
	return users, account.NewPhoneStore(d, users, log, account.DefaultPhoneConfig()), log
}

// lastCode is the code the double recorded for phone.
func lastCode(t *testing.T, l *sms.Log, phone string) string {
	t.Helper()
	m, ok := l.Last(phone)
	if !ok || m.Template != sms.TemplateLoginCode || len(m.Params["code"]) != 6 {
		t.Fatalf("no login code sent to %s: %+v", phone, m)
	}
	return m.Params["code"]
}

// wrong returns a 6-digit code other than code.
func wrong(code string) string {
	if code == "000000" {
		return "000001"
	}
	return "000000"
}

func countCodes(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM sms_codes`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSMSSignIn: a code signs a number in once; the first sign-in creates
// a resident account linked to the number and later ones find it; a staff
// account with the same users.phone is never signed in to.
func TestSMSSignIn(t *testing.T) {
	clk := clock.NewFake(t0)
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(t0)
		users, p, log := phoneStore(t, d)
		ctx := context.Background()
		c := account.Client{IP: "198.51.100.7"}
		staff := mustAdd(t, users, "alice", "330303", account.Admin) // phone 13812341234
		const phone = "13812341234"
		if err := p.SendCode(ctx, phone, c); err != nil {
			t.Fatal(err)
		}
		code := lastCode(t, log, phone)
		if _, _, _, err := p.SignIn(ctx, phone, wrong(code), account.WebSession, c); errs.CodeOf(err) != errs.Unauthorized {
			t.Fatalf("wrong code: got %v, want unauthorized", err)
		}
		tok, u, sess, err := p.SignIn(ctx, phone, code, account.WebSession, c)
		if err != nil {
			t.Fatalf("right code: %v", err)
		}
		if u.ID == staff.ID || u.IsStaff() || !u.Has(account.Resident) || u.Phone != phone || u.DisplayName != "138****1234" {
			t.Errorf("got user %+v, want a new resident with the number", u)
		}
		if sess.Kind != account.WebSession || sess.CSRF == "" {
			t.Errorf("got session %+v", sess)
		}
		if got, _, err := users.Authenticate(ctx, tok); err != nil || got.ID != u.ID {
			t.Errorf("the token authenticates %v %v, want user %d", got, err, u.ID)
		}
		if _, _, _, err := p.SignIn(ctx, phone, code, account.WebSession, c); errs.CodeOf(err) != errs.Unauthorized {
			t.Errorf("the same code twice: got %v, want unauthorized", err)
		}
		clk.Advance(time.Minute)
		if err := p.SendCode(ctx, phone, c); err != nil {
			t.Fatal(err)
		}
		_, again, _, err := p.SignIn(ctx, phone, lastCode(t, log, phone), account.APISession, c)
		if err != nil || again.ID != u.ID {
			t.Errorf("second sign-in: got %v %v, want user %d again", again, err, u.ID)
		}
		if got, err := p.VerifiedPhones(ctx, u.ID); err != nil || len(got) != 1 || got[0] != phone {
			t.Errorf("verified phones: got %v %v", got, err)
		}
		if got, err := p.VerifiedPhones(ctx, staff.ID); err != nil || len(got) != 0 {
			t.Errorf("staff's verified phones: got %v %v, want none", got, err)
		}
	})
}

// TestSMSCodeExpires: a code is dead after CodeTTL.
func TestSMSCodeExpires(t *testing.T) {
	clk := clock.NewFake(t0)
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(t0)
		_, p, log := phoneStore(t, d)
		ctx := context.Background()
		c := account.Client{IP: "198.51.100.7"}
		if err := p.SendCode(ctx, "13900000001", c); err != nil {
			t.Fatal(err)
		}
		clk.Advance(p.Config().CodeTTL)
		if _, _, _, err := p.SignIn(ctx, "13900000001", lastCode(t, log, "13900000001"), account.WebSession, c); errs.CodeOf(err) != errs.Unauthorized {
			t.Errorf("code at its expiry: got %v, want unauthorized", err)
		}
		// Just before the expiry it works.
		clk.Advance(time.Minute)
		if err := p.SendCode(ctx, "13900000001", c); err != nil {
			t.Fatal(err)
		}
		clk.Advance(p.Config().CodeTTL - time.Second)
		if _, _, _, err := p.SignIn(ctx, "13900000001", lastCode(t, log, "13900000001"), account.WebSession, c); err != nil {
			t.Errorf("code a second before its expiry: got %v, want a session", err)
		}
	})
}

// TestSMSCodeAttempts: after MaxAttempts wrong guesses even the right
// code is refused; a new code starts afresh, and replaces the old one.
func TestSMSCodeAttempts(t *testing.T) {
	clk := clock.NewFake(t0)
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(t0)
		_, p, log := phoneStore(t, d)
		ctx := context.Background()
		c := account.Client{IP: "198.51.100.7"}
		const phone = "13900000002"
		if err := p.SendCode(ctx, phone, c); err != nil {
			t.Fatal(err)
		}
		code := lastCode(t, log, phone)
		for i := 0; i < p.Config().MaxAttempts; i++ {
			if _, _, _, err := p.SignIn(ctx, phone, wrong(code), account.WebSession, c); errs.CodeOf(err) != errs.Unauthorized {
				t.Fatalf("guess %d: got %v, want unauthorized", i+1, err)
			}
		}
		if _, _, _, err := p.SignIn(ctx, phone, code, account.WebSession, c); errs.CodeOf(err) != errs.Unauthorized {
			t.Errorf("right code after %d wrong guesses: got %v, want unauthorized", p.Config().MaxAttempts, err)
		}
		clk.Advance(time.Minute)
		if err := p.SendCode(ctx, phone, c); err != nil {
			t.Fatal(err)
		}
		fresh := lastCode(t, log, phone)
		if fresh != code {
			if _, _, _, err := p.SignIn(ctx, phone, code, account.WebSession, c); errs.CodeOf(err) != errs.Unauthorized {
				t.Errorf("the replaced code: got %v, want unauthorized", err)
			}
		}
		if _, _, _, err := p.SignIn(ctx, phone, fresh, account.WebSession, c); err != nil {
			t.Errorf("the new code: got %v, want a session", err)
		}
	})
}

// TestSMSSendLimits: codes per number (one a minute, PerNumber a window)
// and per client address (PerClient a window) are limited, with
// Retry-After; other numbers and clients are not slowed.
func TestSMSSendLimits(t *testing.T) {
	clk := clock.NewFake(t0)
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(t0)
		_, p, _ := phoneStore(t, d)
		ctx := context.Background()
		cfg := p.Config()
		a, b := account.Client{IP: "198.51.100.7"}, account.Client{IP: "203.0.113.9"}
		retry := func(err error) int {
			e, ok := errs.As(err)
			if !ok || e.Code != errs.RateLimited {
				return -1
			}
			return e.RetryAfter
		}
		const phone = "13900000003"
		if err := p.SendCode(ctx, phone, a); err != nil {
			t.Fatal(err)
		}
		if got := retry(p.SendCode(ctx, phone, b)); got != 60 {
			t.Errorf("second code within a minute: Retry-After %d, want 60", got)
		}
		for i := 1; i < cfg.PerNumber; i++ {
			clk.Advance(cfg.Resend)
			if err := p.SendCode(ctx, phone, a); err != nil {
				t.Fatalf("code %d: %v", i+1, err)
			}
		}
		clk.Advance(cfg.Resend)
		// The window opened at t0; now is t0 + PerNumber minutes.
		want := int((cfg.Window - time.Duration(cfg.PerNumber)*cfg.Resend).Seconds())
		if got := retry(p.SendCode(ctx, phone, b)); got != want {
			t.Errorf("code %d in the window: Retry-After %d, want %d", cfg.PerNumber+1, got, want)
		}
		// Client a has sent PerNumber codes; it may send to others up to PerClient.
		for i := cfg.PerNumber; i < cfg.PerClient; i++ {
			if err := p.SendCode(ctx, fmt.Sprintf("1370000%04d", i), a); err != nil {
				t.Fatalf("client's code %d: %v", i+1, err)
			}
		}
		if got := retry(p.SendCode(ctx, "13799999999", a)); got <= 0 {
			t.Errorf("client's code %d: got Retry-After %d, want rate limited", cfg.PerClient+1, got)
		}
		if err := p.SendCode(ctx, "13799999999", b); err != nil {
			t.Errorf("another client: %v, want sent", err)
		}
		clk.Advance(cfg.Window)
		if err := p.SendCode(ctx, phone, a); err != nil {
			t.Errorf("after the window: %v, want sent", err)
		}
	})
}

// TestSMSBadInput: malformed numbers and codes are field errors and write
// nothing.
func TestSMSBadInput(t *testing.T) {
	clk := clock.NewFake(t0)
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(t0)
		_, p, log := phoneStore(t, d)
		ctx := context.Background()
		c := account.Client{IP: "198.51.100.7"}
		for _, tc := range []struct{ name, phone, field, key string }{
			{"empty", "", "phone", "field.required"},
			{"short", "1381234", "phone", "field.phone_format"},
			{"letters", "1381234abcd", "phone", "field.phone_format"},
			{"landline", "05778888888", "phone", "field.phone_format"},
		} {
			err := p.SendCode(ctx, tc.phone, c)
			if e, ok := errs.As(err); !ok || e.Code != errs.Invalid || len(e.Fields) != 1 || e.Fields[tc.field].Key != tc.key {
				t.Errorf("send %s: got %v, want %s %s", tc.name, err, tc.field, tc.key)
			}
		}
		for _, tc := range []struct{ name, phone, code, field, key string }{
			{"no code", "13900000004", "", "code", "field.required"},
			{"five digits", "13900000004", "12345", "code", "sms.code_format"},
			{"letters", "13900000004", "12345a", "code", "sms.code_format"},
			{"bad number", "139", "123456", "phone", "field.phone_format"},
		} {
			_, _, _, err := p.SignIn(ctx, tc.phone, tc.code, account.WebSession, c)
			if e, ok := errs.As(err); !ok || e.Code != errs.Invalid || len(e.Fields) != 1 || e.Fields[tc.field].Key != tc.key {
				t.Errorf("sign in %s: got %v, want %s %s", tc.name, err, tc.field, tc.key)
			}
		}
		if n := countCodes(t, d); n != 0 {
			t.Errorf("got %d codes stored, want none", n)
		}
		if n := len(log.Messages()); n != 0 {
			t.Errorf("got %d messages sent, want none", n)
		}
	})
}
