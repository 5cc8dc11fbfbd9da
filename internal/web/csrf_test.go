package web

import (
	"context"
	"net/http"
	"testing"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/worldtest"
)

// TestCSRFOnPublicWrites is issue 13 item 4: POST /api/v1/cases is a
// public route, and with the session cookie and no CSRF token it filed a
// case as the cookie's user. Every state-changing request that a cookie
// authenticates needs the token; a bearer token or no credential at all
// needs none.
func TestCSRFOnPublicWrites(t *testing.T) {
	worldtest.Each(t, edgeStart(), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newEdgeWorld(t, d, clk, nil)
		sess := w.webLogin(t, "resident", "")
		ri, s, err := w.Accounts.Authenticate(context.Background(), sess.Value)
		if err != nil {
			t.Fatal(err)
		}
		bearer := login(t, w.ts, "resident")
		const body = `{"category":"ZL0601","description":"楼道堆放杂物","lat":27.005,"lng":120.005}`
		mine := func() int {
			t.Helper()
			cs, _, err := w.Cases.List(context.Background(), casework.Caller{User: ri}, casework.Filter{Mine: true, Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			return len(cs)
		}
		for _, c := range []struct {
			name    string
			req     edgeReq
			want    int
			wantNew int // cases filed as the resident
		}{
			{"cookie without token", edgeReq{cookies: []*http.Cookie{sess}}, http.StatusForbidden, 0},
			{"cookie with a wrong token", edgeReq{cookies: []*http.Cookie{sess}, hdr: []string{"X-CSRF-Token", "nope"}}, http.StatusForbidden, 0},
			{"cookie with the token", edgeReq{cookies: []*http.Cookie{sess}, hdr: []string{"X-CSRF-Token", s.CSRF}}, http.StatusCreated, 1},
			{"bearer", edgeReq{hdr: []string{"Authorization", "Bearer " + bearer}}, http.StatusCreated, 1},
			{"anonymous", edgeReq{}, http.StatusCreated, 0},
		} {
			t.Run(c.name, func(t *testing.T) {
				before := mine()
				q := c.req
				q.method, q.path, q.ctype, q.body = "POST", "/api/v1/cases", "application/json", body
				resp, got := w.do(t, q)
				if resp.StatusCode != c.want {
					t.Fatalf("got %d %.300s, want %d", resp.StatusCode, got, c.want)
				}
				if c.want == http.StatusForbidden && !jsonHasCode(got, "csrf") {
					t.Errorf("body %.300s, want the csrf reason", got)
				}
				if n := mine() - before; n != c.wantNew {
					t.Errorf("%d cases filed as the resident, want %d", n, c.wantNew)
				}
			})
		}
		// The logins keep their own protection and do not ask for the
		// session's token: a logged-in browser may log in again.
		resp, body2 := w.loginForm(t, "resident", worldtest.Password, "/", "")
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("login form with a session cookie present: got %d %.300s, want 303", resp.StatusCode, body2)
		}
	})
}
