package web

import (
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/notify"
	"whistle/internal/worldtest"
)

// edgeStart is 10:00 in Wenzhou on 23 November 2026.
func edgeStart() time.Time { return time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC) }

// edgeWorld is worldtest's one-street district with its users behind a
// whole Server, for the tests of the web edge (redirects, CSRF, login
// throttling, proxies and cookies).
type edgeWorld struct {
	*worldtest.World
	srv  *Server
	ts   *httptest.Server
	clk  *clock.Fake
	deps Deps
}

// newEdgeWorld builds the world on d; tweak, when set, adjusts the
// server's Deps before it starts.
func newEdgeWorld(t *testing.T, d *db.DB, clk *clock.Fake, tweak func(*Deps)) *edgeWorld {
	t.Helper()
	wt := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("龙湾区", "永中街道"),
		Departments: worldtest.CatalogueDepartments(), Users: worldtest.OneStreetUsers()})
	deps := Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: wt.Accounts, Regions: wt.Regions, Cases: wt.Cases, Categories: wt.Categories, Clock: clk}
	if tweak != nil {
		tweak(&deps)
	}
	srv, ts := serve(t, deps)
	return &edgeWorld{World: wt, srv: srv, ts: ts, clk: clk, deps: deps}
}

// variant is another server on w's world, with its Deps adjusted by tweak.
func (w *edgeWorld) variant(t *testing.T, tweak func(*Deps)) *edgeWorld {
	t.Helper()
	deps := w.deps
	tweak(&deps)
	srv, ts := serve(t, deps)
	return &edgeWorld{World: w.World, srv: srv, ts: ts, clk: w.clk, deps: deps}
}

// edgeReq is a request to the edge world: a body of type ctype (none when
// empty), cookies and more header name/value pairs.
type edgeReq struct {
	method, path, ctype, body string
	cookies                   []*http.Cookie
	hdr                       []string
	// remote, when set, is the peer address the server sees.
	remote string
	// tls makes the request arrive over TLS.
	tls bool
}

// do sends q, follows no redirect and returns the response with its body
// read into body.
func (w *edgeWorld) do(t *testing.T, q edgeReq) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(q.method, q.path, strings.NewReader(q.body))
	if q.ctype != "" {
		req.Header.Set("Content-Type", q.ctype)
	}
	for _, c := range q.cookies {
		req.AddCookie(c)
	}
	for i := 0; i+1 < len(q.hdr); i += 2 {
		req.Header.Set(q.hdr[i], q.hdr[i+1])
	}
	if q.remote != "" {
		req.RemoteAddr = q.remote
	}
	if q.tls {
		req.TLS = &tls.ConnectionState{}
	}
	rec := httptest.NewRecorder()
	w.srv.ServeHTTP(rec, req)
	resp := rec.Result()
	return resp, rec.Body.String()
}

// formReq is a form-encoded POST of v.
func formReq(path string, v url.Values, cookies ...*http.Cookie) edgeReq {
	return edgeReq{method: "POST", path: path, ctype: "application/x-www-form-urlencoded", body: v.Encode(), cookies: cookies}
}

// cookie returns the cookie named name that resp sets, or nil.
func cookie(resp *http.Response, name string) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// webLogin logs user in through the login form from client (a peer
// address; the default when empty) and returns the session cookie.
func (w *edgeWorld) webLogin(t *testing.T, user, client string) *http.Cookie {
	t.Helper()
	resp, body := w.loginForm(t, user, worldtest.Password, "/", client)
	c := cookie(resp, sessionCookie)
	if resp.StatusCode != http.StatusSeeOther || c == nil {
		t.Fatalf("login %s: got %d %.300s, want 303 and a session cookie", user, resp.StatusCode, body)
	}
	return c
}

// loginForm posts the login form with a valid login CSRF pair.
func (w *edgeWorld) loginForm(t *testing.T, user, password, next, client string) (*http.Response, string) {
	t.Helper()
	const tok = "login-csrf-token"
	q := formReq("/login", url.Values{"username": {user}, "password": {password}, "next": {next}, "csrf_token": {tok}},
		&http.Cookie{Name: loginCSRF, Value: tok})
	q.remote = client
	return w.do(t, q)
}

// jsonHasCode reports whether body is a JSON error whose code is code.
func jsonHasCode(body, code string) bool {
	var v struct {
		Error struct{ Code string } `json:"error"`
	}
	return json.Unmarshal([]byte(body), &v) == nil && v.Error.Code == code
}
