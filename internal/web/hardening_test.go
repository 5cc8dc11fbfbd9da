package web

import (
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/errs"
)

func TestLimiterLogin(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC))
	l := NewLimiter(Limits{Login: Rate{PerMinute: 6, Burst: 3}}, clk)
	for i := 0; i < 3; i++ {
		if err := l.Check("POST /api/v1/session", "10.0.0.1", false); err != nil {
			t.Fatalf("attempt %d within the burst refused: %v", i+1, err)
		}
	}
	err := l.Check("POST /login", "10.0.0.1", false)
	e, ok := errs.As(err)
	if !ok || e.Code != errs.RateLimited || e.RetryAfter != 10 {
		t.Fatalf("4th attempt: %v, want rate_limited with Retry-After 10 s (6 a minute)", err)
	}
	// Being logged in does not lift the login limit.
	if err := l.Check("POST /login", "10.0.0.1", true); err == nil {
		t.Fatal("a logged-in caller escaped the login limit")
	}
	// Another client is not affected.
	if err := l.Check("POST /login", "10.0.0.2", false); err != nil {
		t.Fatalf("another IP refused: %v", err)
	}
	// The bucket refills at the rate.
	clk.Advance(10 * time.Second)
	if err := l.Check("POST /login", "10.0.0.1", false); err != nil {
		t.Fatalf("after the wait: %v", err)
	}
}

func TestLimiterAnonymous(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC))
	l := NewLimiter(Limits{Anonymous: PerMinute(2)}, clk)
	for i := 0; i < 2; i++ {
		if err := l.Check("POST /api/v1/cases", "10.0.0.1", false); err != nil {
			t.Fatalf("report %d refused: %v", i+1, err)
		}
	}
	if err := l.Check("POST /api/v1/cases", "10.0.0.1", false); err == nil {
		t.Fatal("3rd anonymous report allowed, want 429")
	}
	// Logged-in callers, other routes and login (no Login rate) are not limited.
	for i := 0; i < 10; i++ {
		for _, c := range []struct {
			pattern string
			authed  bool
		}{{"POST /api/v1/cases", true}, {"GET /api/v1/public/cases", false}, {"POST /login", false}} {
			if err := l.Check(c.pattern, "10.0.0.1", c.authed); err != nil {
				t.Fatalf("%s (authed %v) limited: %v", c.pattern, c.authed, err)
			}
		}
	}
}

func TestLimiterOff(t *testing.T) {
	var nilLimiter *Limiter
	off := NewLimiter(Limits{}, nil)
	for i := 0; i < 1000; i++ {
		for _, l := range []*Limiter{nilLimiter, off} {
			if err := l.Check("POST /login", "10.0.0.1", false); err != nil {
				t.Fatal(err)
			}
			if err := l.Check("POST /api/v1/cases", "10.0.0.1", false); err != nil {
				t.Fatal(err)
			}
		}
	}
	if r := PerMinute(0); r != (Rate{}) {
		t.Errorf("PerMinute(0) = %+v, want no limit", r)
	}
	if r := PerMinute(0.5); r.Burst != 1 {
		t.Errorf("PerMinute(0.5).Burst = %d, want 1", r.Burst)
	}
}

func TestLimiterRoutes(t *testing.T) {
	l := NewLimiter(Limits{Anonymous: PerMinute(1), AnonymousRoutes: []string{"POST /open311/v2/requests.json"}}, clock.NewFake(time.Now()))
	for i := 0; i < 5; i++ {
		if err := l.Check("POST /api/v1/cases", "10.0.0.1", false); err != nil {
			t.Fatalf("a route outside AnonymousRoutes was limited: %v", err)
		}
	}
	_ = l.Check("POST /open311/v2/requests.json", "10.0.0.1", false)
	if err := l.Check("POST /open311/v2/requests.json", "10.0.0.1", false); err == nil {
		t.Fatal("the configured route was not limited")
	}
}

func TestLimiterIPv6Prefix(t *testing.T) {
	l := NewLimiter(Limits{Login: Rate{PerMinute: 1, Burst: 1}}, clock.NewFake(time.Now()))
	if err := l.Check("POST /login", "2001:db8:1:2::1", false); err != nil {
		t.Fatal(err)
	}
	if err := l.Check("POST /login", "2001:db8:1:2:ffff::9", false); err == nil {
		t.Fatal("another address of the same /64 escaped the limit")
	}
	if err := l.Check("POST /login", "2001:db8:1:3::1", false); err != nil {
		t.Fatalf("another /64 was limited: %v", err)
	}
	for _, c := range []struct{ in, want string }{{"10.1.2.3", "10.1.2.3"}, {"::ffff:10.1.2.3", "::ffff:10.1.2.3"}, {"x", "x"}, {"fe80::1%eth0", "fe80::/64"}} {
		if got := clientKey(c.in); got != c.want {
			t.Errorf("clientKey(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestLimiterSearch(t *testing.T) {
	l := NewLimiter(Limits{Search: PerMinute(2)}, clock.NewFake(time.Now()))
	for i := 0; i < 2; i++ {
		if err := l.Check("GET /api/v1/places/search", "10.0.0.1", true); err != nil {
			t.Fatalf("search %d: %v", i, err)
		}
	}
	if err := l.Check("GET /api/v1/places/search", "10.0.0.1", true); !errs.Is(err, errs.RateLimited) {
		t.Fatalf("third search a minute, logged in: %v, want rate limited", err)
	}
	if err := l.Check("GET /api/v1/places/search", "10.0.0.2", false); err != nil {
		t.Fatalf("another client: %v", err)
	}
}
