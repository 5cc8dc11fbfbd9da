package web

import (
	"net/http"
	"net/url"
	"testing"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/worldtest"
)

func TestSafeNext(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"empty", "", "/"},
		{"root", "/", "/"},
		{"path", "/cases?queue=to_dispatch", "/cases?queue=to_dispatch"},
		{"path with escapes", "/cases?q=%E5%99%AA", "/cases?q=%E5%99%AA"},
		{"relative", "cases", "/"},
		{"scheme", "https://evil.example/", "/"},
		{"javascript", "javascript:alert(1)", "/"},
		{"protocol-relative", "//evil.example", "/"},
		{"backslash", `/\evil.example`, "/"},
		{"backslash later", `/x\y`, "/"},
		{"two backslashes", `\\evil.example`, "/"},
		{"encoded backslash", "/%5Cevil.example/x", "/"},
		{"encoded lower-case backslash", "/%5cevil.example", "/"},
		{"encoded slash", "/%2Fevil.example", "/"},
		{"double-encoded slash", "/%252Fevil.example", "/"},
		{"tab inside", "/\t/evil.example", "/"},
		{"newline inside", "/\n/evil.example", "/"},
		{"encoded tab inside", "/%09/evil.example", "/"},
		{"leading space", " //evil.example", "/"},
		{"leading control", "\x01//evil.example", "/"},
		{"trailing space", "/cases ", "/"},
		{"DEL", "/\x7f/evil.example", "/"},
		{"bad escape", "/%zz", "/"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := safeNext(c.in); got != c.want {
				t.Errorf("safeNext(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

// TestRedirectStaysOnSite is issue 13 item 2: the language switch and the
// login form sent the browser to /\evil.example, which browsers read as
// //evil.example.
func TestRedirectStaysOnSite(t *testing.T) {
	worldtest.Each(t, edgeStart(), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newEdgeWorld(t, d, clk, nil)
		base, _ := url.Parse("https://whistle.example/")
		check := func(t *testing.T, resp *http.Response, body string) {
			t.Helper()
			if resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("got %d %.300s, want 303", resp.StatusCode, body)
			}
			loc := resp.Header.Get("Location")
			// A browser reads a backslash as a slash.
			ref, err := url.Parse(browserNormal(loc))
			if err != nil {
				t.Fatalf("Location %q: %v", loc, err)
			}
			if got := base.ResolveReference(ref); got.Host != base.Host {
				t.Errorf("Location %q leads to host %q, want %q", loc, got.Host, base.Host)
			}
		}
		for _, next := range []string{`/\evil.example/x`, "/%5Cevil.example/x", "//evil.example", "/\t/evil.example", "https://evil.example"} {
			t.Run("lang "+url.QueryEscape(next), func(t *testing.T) {
				resp, body := w.do(t, edgeReq{method: "GET", path: "/lang/en?next=" + url.QueryEscape(next)})
				check(t, resp, body)
			})
			t.Run("login "+url.QueryEscape(next), func(t *testing.T) {
				resp, body := w.loginForm(t, "resident", worldtest.Password, next, "")
				if cookie(resp, sessionCookie) == nil {
					t.Fatalf("login failed: %d %.300s", resp.StatusCode, body)
				}
				check(t, resp, body)
			})
		}
		// The literal attack of the report, unescaped in the query string.
		resp, body := w.do(t, edgeReq{method: "GET", path: "/lang/en?next=/%5Cevil.example/x"})
		check(t, resp, body)
		// A same-site next still works.
		resp, _ = w.do(t, edgeReq{method: "GET", path: "/lang/en?next=" + url.QueryEscape("/cases?queue=overdue")})
		if got := resp.Header.Get("Location"); got != "/cases?queue=overdue" {
			t.Errorf("Location = %q, want /cases?queue=overdue", got)
		}
	})
}
