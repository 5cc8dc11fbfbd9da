package main

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// oidcRedirect is the callback registered with the test provider; the
// test, acting as the browser, sends its query to the app's real address.
const oidcRedirect = "http://whistle.test/login/oidc/callback"

// fakeOIDC is a small OpenID Connect provider: discovery, an RS256 key
// set, /authorize that signs in user at once and redirects back with a
// code, and /token that checks the client, the code and its PKCE
// verifier and returns a signed ID token carrying the nonce.
type fakeOIDC struct {
	*httptest.Server
	key *rsa.PrivateKey

	mu sync.Mutex
	// user is the preferred_username of the next sign-in.
	user string
	// nonce and aud, when set, replace the ID token's nonce and audience.
	nonce, aud string
	// challenge, when set, replaces the PKCE challenge the client sent.
	challenge string
	codes     map[string]oidcGrant
	// app, when set, is where /authorize sends the browser back (the
	// browser test's app, whose port the registered oidcRedirect cannot
	// know), and /authorize then shows a sign-in page with a button
	// instead of redirecting at once, like a real provider.
	app string
}

type oidcGrant struct{ challenge, nonce, user string }

func newFakeOIDC(t *testing.T) *fakeOIDC {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &fakeOIDC{key: key, user: "demo-street", codes: map[string]oidcGrant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		writeTestJSON(w, 200, map[string]any{"issuer": p.URL, "authorization_endpoint": p.URL + "/authorize",
			"token_endpoint": p.URL + "/token", "jwks_uri": p.URL + "/jwks", "response_types_supported": []string{"code"},
			"subject_types_supported": []string{"public"}, "id_token_signing_alg_values_supported": []string{"RS256"},
			"code_challenge_methods_supported": []string{"S256"}})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		b64 := base64.RawURLEncoding.EncodeToString
		writeTestJSON(w, 200, map[string]any{"keys": []any{map[string]string{"kty": "RSA", "alg": "RS256", "use": "sig", "kid": "k1",
			"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes())}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("client_id") != "whistle" || q.Get("redirect_uri") != oidcRedirect || q.Get("response_type") != "code" ||
			q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("nonce") == "" || q.Get("state") == "" {
			http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		p.mu.Lock()
		g := oidcGrant{challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), user: p.user}
		if p.challenge != "" {
			g.challenge = p.challenge
		}
		code := "code-" + strconv.Itoa(len(p.codes)+1)
		p.codes[code] = g
		app := p.app
		p.mu.Unlock()
		back := "?" + url.Values{"code": {code}, "state": {q.Get("state")}}.Encode()
		if app != "" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(`<!doctype html><title>统一身份认证</title><h1>统一身份认证</h1><p>` + g.user +
				`</p><a id="consent" href="` + app + "/login/oidc/callback" + back + `">同意并登录</a>`))
			return
		}
		http.Redirect(w, r, oidcRedirect+back, http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
		}
		p.mu.Lock()
		g, known := p.codes[r.PostFormValue("code")]
		delete(p.codes, r.PostFormValue("code"))
		nonce, aud := p.nonce, p.aud
		p.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
		switch {
		case id != "whistle" || secret != "s3cret":
			writeTestJSON(w, 401, map[string]string{"error": "invalid_client"})
			return
		case !known || r.PostFormValue("grant_type") != "authorization_code" || r.PostFormValue("redirect_uri") != oidcRedirect:
			writeTestJSON(w, 400, map[string]string{"error": "invalid_grant"})
			return
		case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
			writeTestJSON(w, 400, map[string]string{"error": "invalid_grant", "error_description": "PKCE verifier does not match"})
			return
		}
		if nonce == "" {
			nonce = g.nonce
		}
		if aud == "" {
			aud = "whistle"
		}
		now := time.Now()
		writeTestJSON(w, 200, map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 300,
			"id_token": p.sign(t, map[string]any{"iss": p.URL, "sub": "sso-" + g.user, "aud": aud, "nonce": nonce,
				"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(), "preferred_username": g.user})})
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

// sign returns claims as an RS256 JWT.
func (p *fakeOIDC) sign(t *testing.T, claims map[string]any) string {
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Error(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	msg := enc(map[string]string{"alg": "RS256", "typ": "JWT", "kid": "k1"}) + "." + enc(claims)
	h := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, h[:])
	if err != nil {
		t.Error(err)
	}
	return msg + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func (p *fakeOIDC) set(f func(p *fakeOIDC)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(p)
}

func writeTestJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// args are the flags that point the app at the provider.
func (p *fakeOIDC) args() []string {
	return []string{"--oidc-issuer", p.URL, "--oidc-client-id", "whistle", "--oidc-client-secret", "s3cret", "--oidc-redirect-url", oidcRedirect}
}

// callback walks a browser c through GET /login/oidc and the provider's
// sign-in, and returns the callback URL on the app (not yet requested).
func (p *fakeOIDC) callback(t *testing.T, c *http.Client, appURL, next string) *url.URL {
	t.Helper()
	resp, err := c.Get(appURL + "/login/oidc?next=" + url.QueryEscape(next))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, p.URL+"/authorize?") {
		t.Fatalf("GET /login/oidc: got %d to %q, want 302 to the provider", resp.StatusCode, loc)
	}
	resp, err = c.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("provider's /authorize: got %d, want 302 (the app's request was refused)", resp.StatusCode)
	}
	cb, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	app, _ := url.Parse(appURL)
	cb.Scheme, cb.Host = app.Scheme, app.Host
	return cb
}

// TestOIDCLogin signs staff in through a provider started in the test,
// end to end through run(): the login page offers SSO, a good sign-in
// opens a session and is audited, and each broken step is refused with
// its status and no session.
func TestOIDCLogin(t *testing.T) {
	p := newFakeOIDC(t)
	app := startApp(t, "demo", dataArgs(t, "sqlite"), p.args()...)
	admin := login(t, app, "demo-admin")

	if code, body := pageBody(t, browser(t), app.URL+"/login"); code != 200 || !strings.Contains(body, `href="/login/oidc?next=%2f"`) {
		t.Errorf("login page: got %d, SSO button %v; want 200 with the button; body %s", code, strings.Contains(body, "/login/oidc"), body)
	}
	// me reports who the browser's session cookie belongs to ("" for none).
	me := func(c *http.Client) string {
		resp, err := c.Get(app.URL + "/api/v1/me")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v struct {
			Username string `json:"username"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return v.Username
	}
	audited := func() int {
		var out struct {
			Entries []struct {
				Actor   string `json:"actor"`
				Summary string `json:"summary"`
			} `json:"entries"`
		}
		if code := do(t, "GET", app.URL+"/api/v1/audit?action=session.login", admin, nil, &out); code != 200 {
			t.Fatalf("audit: got %d", code)
		}
		n := 0
		for _, e := range out.Entries {
			if e.Summary == "method oidc" {
				n++
			}
		}
		return n
	}

	t.Run("success", func(t *testing.T) {
		c := browser(t)
		resp, err := c.Get(p.callback(t, c, app.URL, "/queue").String())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/queue" {
			t.Fatalf("callback: got %d to %q, want 303 to /queue", resp.StatusCode, resp.Header.Get("Location"))
		}
		if got := me(c); got != "demo-street" {
			t.Errorf("session user: got %q, want demo-street", got)
		}
		if got := audited(); got != 1 {
			t.Errorf("session.login audit entries with method oidc: got %d, want 1", got)
		}
	})

	cases := []struct {
		name  string
		setup func(p *fakeOIDC)
		// state replaces the callback's state when set.
		state string
		// cookie, when set, rewrites the sign-in cookie the browser holds
		// (state, nonce, verifier, next, issued, signature).
		cookie func(parts []string) []string
		want   int
		text   string
	}{
		{name: "wrong state", state: "forged", want: 400, text: "登录请求已失效"},
		// An attacker who plants a cookie of their own (to fix the state
		// and nonce) must sign it: the state matches the callback's, but
		// the signature does not.
		{name: "tampered cookie", state: "forged", cookie: func(p []string) []string { p[0] = "forged"; return p }, want: 400, text: "登录请求已失效"},
		{name: "unsigned cookie", state: "forged", cookie: func(p []string) []string { return []string{"forged", p[1], p[2], p[3]} }, want: 400, text: "登录请求已失效"},
		{name: "next page changed", cookie: func(p []string) []string { p[3] = "%2Fadmin"; return p }, want: 400, text: "登录请求已失效"},
		{name: "wrong nonce", setup: func(p *fakeOIDC) { p.nonce = "another" }, want: 401, text: "未能确认您的身份"},
		{name: "wrong audience", setup: func(p *fakeOIDC) { p.aud = "someone-else" }, want: 401, text: "未能确认您的身份"},
		{name: "PKCE verifier checked", setup: func(p *fakeOIDC) { p.challenge = "not-the-challenge" }, want: 401, text: "未能确认您的身份"},
		{name: "unknown user", setup: func(p *fakeOIDC) { p.user = "nobody" }, want: 403, text: "没有对应的工作人员账号"},
		{name: "resident account", setup: func(p *fakeOIDC) { p.user = "demo-resident" }, want: 403, text: "没有对应的工作人员账号"},
		{name: "disabled user", setup: func(p *fakeOIDC) { p.user = "demo-party" }, want: 403},
	}
	// demo-party is disabled for its case.
	var party struct {
		ID int64 `json:"id"`
	}
	do(t, "GET", app.URL+"/api/v1/me", login(t, app, "demo-party"), nil, &party)
	if code := do(t, "PATCH", app.URL+"/api/v1/users/"+strconv.FormatInt(party.ID, 10), admin, map[string]any{"disabled": true}, nil); code != 200 {
		t.Fatalf("disabling demo-party: got %d", code)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p.set(func(p *fakeOIDC) { p.user, p.nonce, p.aud, p.challenge = "demo-street", "", "", "" })
			if tc.setup != nil {
				p.set(tc.setup)
			}
			before := audited()
			c := browser(t)
			cb := p.callback(t, c, app.URL, "/")
			if tc.cookie != nil {
				rewriteOIDCCookie(t, c, app.URL, tc.cookie)
			}
			if tc.state != "" {
				q := cb.Query()
				q.Set("state", tc.state)
				cb.RawQuery = q.Encode()
			}
			code, body := pageBody(t, c, cb.String())
			if code != tc.want || !strings.Contains(body, tc.text) {
				t.Errorf("callback: got %d, want %d with %q; body %.300s", code, tc.want, tc.text, body)
			}
			if got := me(c); got != "" {
				t.Errorf("refused sign-in left a session for %q", got)
			}
			if got := audited(); got != before {
				t.Errorf("refused sign-in was audited: %d entries, want %d", got, before)
			}
		})
	}
	p.set(func(p *fakeOIDC) { p.user, p.nonce, p.aud, p.challenge = "demo-street", "", "", "" })
}

// rewriteOIDCCookie replaces the sign-in cookie in c's jar with
// edit(its dot-separated parts).
func rewriteOIDCCookie(t *testing.T, c *http.Client, appURL string, edit func([]string) []string) {
	t.Helper()
	u, _ := url.Parse(appURL + "/login/oidc/callback")
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == "whistle_oidc" {
			parts := strings.Split(ck.Value, ".")
			if len(parts) != 6 {
				t.Fatalf("sign-in cookie %q: got %d parts, want 6 (state, nonce, verifier, next, issued, signature)", ck.Value, len(parts))
			}
			c.Jar.SetCookies(u, []*http.Cookie{{Name: "whistle_oidc", Value: strings.Join(edit(parts), "."), Path: "/login/oidc"}})
			return
		}
	}
	t.Fatal("no sign-in cookie after GET /login/oidc")
}

// TestOIDCConfigChecked: a configuration that cannot work stops the
// server at start-up and names the flag.
func TestOIDCConfigChecked(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close()
	p := newFakeOIDC(t)
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"discovery fails", []string{"--oidc-issuer", dead.URL, "--oidc-client-id", "whistle", "--oidc-redirect-url", oidcRedirect}, "--oidc-issuer " + dead.URL + ": discovery failed"},
		{"no redirect URL", []string{"--oidc-issuer", p.URL, "--oidc-client-id", "whistle"}, "--oidc-redirect-url"},
		{"no client id", []string{"--oidc-issuer", p.URL, "--oidc-redirect-url", oidcRedirect}, "--oidc-client-id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"whistle", "serve", "--addr", "127.0.0.1:0", "--log-level", "error"}, dataArgs(t, "sqlite")...)
			err := run(t.Context(), append(args, tc.args...), func(string) string { return "" }, &syncBuffer{}, &syncBuffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("run: got %v, want an error naming %q", err, tc.want)
			}
		})
	}
}

// TestOIDCCallbackLimited: the callback, which calls the provider, counts
// against --limit-login like the other logins.
func TestOIDCCallbackLimited(t *testing.T) {
	p := newFakeOIDC(t)
	app := startApp(t, "demo", dataArgs(t, "sqlite"), append(p.args(), "--limit-login", "2")...)
	c := browser(t)
	limited := 0
	for range 6 {
		if code, _ := pageBody(t, c, app.URL+"/login/oidc/callback?state=x&code=y"); code == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Error("6 callbacks with --limit-login 2: none refused with 429")
	}
}
