package web

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/worldtest"
)

// TestClientBehindProxies is issue 13 item 5's proxy half: X-Forwarded-For
// and X-Forwarded-Proto count only when the peer is a trusted proxy, and
// then the client is the rightmost hop that is not a trusted proxy.
func TestClientBehindProxies(t *testing.T) {
	lan, err := ParseProxies("10.0.0.0/8, ::1")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		trusted   []netip.Prefix
		remote    string
		xff       []string
		proto     string
		wantIP    string
		wantHTTPS bool
	}{
		{"no proxies: forged XFF ignored", nil, "203.0.113.5:4000", []string{"198.51.100.7"}, "https", "203.0.113.5", false},
		{"untrusted peer forging XFF", lan, "203.0.113.5:4000", []string{"10.0.0.1"}, "https", "203.0.113.5", false},
		{"trusted proxy", lan, "10.0.0.9:4000", []string{"198.51.100.7"}, "https", "198.51.100.7", true},
		{"trusted proxy, client forged a hop", lan, "10.0.0.9:4000", []string{"1.1.1.1, 198.51.100.7"}, "http", "198.51.100.7", false},
		{"two trusted proxies", lan, "10.0.0.9:4000", []string{"198.51.100.7", "10.0.0.5"}, "", "198.51.100.7", false},
		{"trusted proxy without XFF", lan, "10.0.0.9:4000", nil, "", "10.0.0.9", false},
		{"trusted proxy, garbage hop", lan, "10.0.0.9:4000", []string{"198.51.100.7, nonsense"}, "", "10.0.0.9", false},
		{"IPv6 trusted proxy", lan, "[::1]:4000", []string{"2001:db8::7"}, "HTTPS", "2001:db8::7", true},
		{"IPv4-mapped hop", lan, "10.0.0.9:4000", []string{"::ffff:198.51.100.7"}, "", "198.51.100.7", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newServer(t, Deps{TrustedProxies: c.trusted})
			r, _ := http.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.remote
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if c.proto != "" {
				r.Header.Set("X-Forwarded-Proto", c.proto)
			}
			ip, https := s.client(r)
			if ip != c.wantIP || https != c.wantHTTPS {
				t.Errorf("client = %s, https %v; want %s, https %v", ip, https, c.wantIP, c.wantHTTPS)
			}
		})
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "10.0.0.1/8/2"} {
		if _, err := ParseProxies(bad); err == nil {
			t.Errorf("ParseProxies(%q) accepted", bad)
		}
	}
}

// TestLoginThrottleBehindProxy is issue 13 item 5 end to end: behind a
// trusted proxy every client has the proxy's address, so the throttle
// must key on the forwarded one. An attacker's failed logins through the
// proxy do not stop the user logging in through it; an attacker who talks
// to the server directly cannot escape its throttle by forging
// X-Forwarded-For.
func TestLoginThrottleBehindProxy(t *testing.T) {
	worldtest.Each(t, edgeStart(), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		lan, _ := ParseProxies("10.0.0.0/8")
		w := newEdgeWorld(t, d, clk, func(d *Deps) { d.TrustedProxies = lan })
		const proxy = "10.0.0.9:4000"
		loginAs := func(t *testing.T, user, pw, remote string, xff string) int {
			t.Helper()
			q := edgeReq{method: "POST", path: "/api/v1/session", ctype: "application/json",
				body: `{"username":"` + user + `","password":"` + pw + `"}`, remote: remote}
			if xff != "" {
				q.hdr = []string{"X-Forwarded-For", xff}
			}
			resp, _ := w.do(t, q)
			return resp.StatusCode
		}
		for i := 0; i < 8; i++ {
			loginAs(t, "street", "guess", proxy, "203.0.113.66")
		}
		if got := loginAs(t, "street", worldtest.Password, proxy, "203.0.113.66"); got != http.StatusTooManyRequests {
			t.Errorf("attacker through the proxy with the right password: %d, want 429", got)
		}
		if got := loginAs(t, "street", worldtest.Password, proxy, "198.51.100.7"); got != http.StatusOK {
			t.Errorf("the user through the same proxy after the attacker's failures: %d, want 200", got)
		}
		// Directly, forging a fresh X-Forwarded-For each time.
		for i := 0; i < 8; i++ {
			loginAs(t, "admin", "guess", "203.0.113.99:5000", "10.0.0."+string(rune('1'+i)))
		}
		if got := loginAs(t, "admin", worldtest.Password, "203.0.113.99:5000", "10.0.0.200"); got != http.StatusTooManyRequests {
			t.Errorf("direct attacker forging XFF: %d, want 429", got)
		}
		log, err := w.Accounts.LoginLog(context.Background(), account.LoginLogFilter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, e := range log {
			seen[e.IP]++
		}
		for ip := range seen {
			if ip != "203.0.113.66" && ip != "198.51.100.7" && ip != "203.0.113.99" {
				t.Errorf("login log holds client %q: want only the forwarded clients and the direct peer", ip)
			}
		}
	})
}

// TestSecureCookies is issue 13 item 8: every cookie the server sets is
// Secure when the request came over HTTPS (TLS here, or a trusted proxy's
// X-Forwarded-Proto), and with --secure-cookies; not over plain HTTP, nor
// when an untrusted peer claims HTTPS.
func TestSecureCookies(t *testing.T) {
	worldtest.Each(t, edgeStart(), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		lan, _ := ParseProxies("10.0.0.0/8")
		w := newEdgeWorld(t, d, clk, func(d *Deps) { d.TrustedProxies = lan })
		flagged := w.variant(t, func(d *Deps) { d.SecureCookies = true })
		type via struct {
			name   string
			w      *edgeWorld
			remote string
			tls    bool
			hdr    []string
			want   bool
		}
		ways := []via{
			{"plain HTTP", w, "203.0.113.5:4000", false, nil, false},
			{"TLS", w, "203.0.113.5:4000", true, nil, true},
			{"trusted proxy says https", w, "10.0.0.9:4000", false, []string{"X-Forwarded-Proto", "https"}, true},
			{"trusted proxy says http", w, "10.0.0.9:4000", false, []string{"X-Forwarded-Proto", "http"}, false},
			{"untrusted peer says https", w, "203.0.113.5:4000", false, []string{"X-Forwarded-Proto", "https"}, false},
			{"--secure-cookies over plain HTTP", flagged, "203.0.113.5:4000", false, nil, true},
		}
		for _, v := range ways {
			t.Run(v.name, func(t *testing.T) {
				checkSecureCookies(t, v.w, v.remote, v.tls, v.hdr, v.want)
			})
		}
	})
}

// checkSecureCookies makes w set each of its cookies through a request from
// remote and checks their Secure flags against want.
func checkSecureCookies(t *testing.T, w *edgeWorld, remote string, tls bool, hdr []string, want bool) {
	t.Helper()
	const tok = "login-csrf-token"
	reqs := []struct {
		cookie string
		q      edgeReq
	}{
		{loginCSRF, edgeReq{method: "GET", path: "/login"}},
		{langCookie, edgeReq{method: "GET", path: "/lang/en?next=/"}},
		{sessionCookie, formReq("/login", url.Values{"username": {"resident"}, "password": {worldtest.Password}, "next": {"/"}, "csrf_token": {tok}},
			&http.Cookie{Name: loginCSRF, Value: tok})},
		{clientCookie, edgeReq{method: "POST", path: "/api/v1/cases", ctype: "application/json",
			body: `{"category":"ZL0601","description":"楼道堆放杂物","lat":27.005,"lng":120.005}`}},
	}
	for _, r := range reqs {
		q := r.q
		q.remote, q.tls, q.hdr = remote, tls, hdr
		resp, body := w.do(t, q)
		c := cookie(resp, r.cookie)
		if c == nil {
			t.Errorf("%s %s: no %s cookie (got %d %.200s)", q.method, q.path, r.cookie, resp.StatusCode, strings.TrimSpace(body))
			continue
		}
		if c.Secure != want {
			t.Errorf("%s cookie Secure = %v, want %v", r.cookie, c.Secure, want)
		}
	}
}
