package main

import (
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestBrowserOIDC signs a street officer in through the single sign-on in
// chromium, against a provider started in the test: the login page's SSO
// button, the provider's page, and the staff home with the officer's
// name. A second sign-in whose cookie was tampered with on the way (its
// state rewritten to one an attacker chose, at the provider's page) is
// refused on a clear login page, without a session.
func TestBrowserOIDC(t *testing.T) {
	p := newFakeOIDC(t)
	s := newBrowserSuite(t, 1366, 900, p.args()...)
	p.set(func(p *fakeOIDC) { p.app = s.app.URL })

	for _, size := range []struct {
		name string
		w, h int64
	}{{"1366", 1366, 900}, {"390", 390, 844}} {
		t.Run("sign in "+size.name, func(t *testing.T) {
			u := s.visitor(t, size.w, size.h)
			u.open("/login")
			u.do(chromedp.WaitVisible(chromedp.CSS("[data-sso]")))
			u.docShot("login", "oidc-login-"+size.name+".png")
			u.do(chromedp.Click(chromedp.CSS("[data-sso]")))
			u.do(chromedp.WaitVisible(chromedp.CSS("#consent")))
			u.do(chromedp.Click(chromedp.CSS("#consent")))
			got := u.waitURL(func(s string) bool { return strings.HasPrefix(s, u.s.app.URL) })
			if got != u.s.app.URL+"/" {
				t.Errorf("after the sign-in: at %s, want the staff home %s/", got, u.s.app.URL)
			}
			u.waitText(".who", "永中街道工作人员")
			if got := eval[string](u, "document.querySelector('.who').title"); got != "demo-street" {
				t.Errorf("signed in as %q, want demo-street", got)
			}
			u.docShot("home", "oidc-home-"+size.name+".png")
		})
	}

	t.Run("tampered state refused", func(t *testing.T) {
		u := s.visitor(t, 1366, 900)
		u.open("/login")
		u.do(chromedp.WaitVisible(chromedp.CSS("[data-sso]")), chromedp.Click(chromedp.CSS("[data-sso]")),
			chromedp.WaitVisible(chromedp.CSS("#consent")))
		// At the provider's page: plant the state of the link in the
		// cookie, as an attacker fixing the sign-in would, keeping the
		// rest (nonce, verifier, signature).
		href := eval[string](u, "document.querySelector('#consent').href")
		state := href[strings.Index(href, "state=")+len("state="):]
		cb := u.s.app.URL + "/login/oidc/callback"
		jar, err := chromedp.Call(u.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{cb}})
		if err != nil {
			t.Fatal(err)
		}
		var old string
		for _, c := range jar.Cookies {
			if c.Name == "whistle_oidc" {
				old = c.Value
			}
		}
		parts := strings.Split(old, ".")
		if len(parts) != 6 {
			t.Fatalf("sign-in cookie %q: got %d parts, want 6", old, len(parts))
		}
		parts[0] = "attacker"
		httpOnly := true
		if _, err := chromedp.Call(u.ctx, network.SetCookie, network.SetCookieParams{Name: "whistle_oidc", Value: strings.Join(parts, "."),
			URL: cb, Path: "/login/oidc", HTTPOnly: &httpOnly}); err != nil {
			t.Fatal(err)
		}
		u.do(chromedp.Navigate(strings.Replace(href, "state="+state, "state=attacker", 1)))
		u.waitText("p.error[role=alert]", "登录请求已失效")
		u.docShot("refused", "oidc-refused-1366.png")
		if got := u.url(); !strings.Contains(got, "/login/oidc/callback") {
			t.Errorf("refused sign-in went on to %s", got)
		}
		u.open("/")
		if got := u.waitURL(func(string) bool { return true }); !strings.Contains(got, "/login") {
			t.Errorf("after the refused sign-in, / is at %s; want the login page (no session)", got)
		}
	})
}
