package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/worldtest"
)

// TestAdminLocksAUser is the other half of issue 13 item 5: the hard lock
// is an admin's, through the API and the users page; a locked user cannot
// log in and an unlocked one can.
func TestAdminLocksAUser(t *testing.T) {
	worldtest.Each(t, edgeStart(), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newEdgeWorld(t, d, clk, nil)
		admin := login(t, w.ts, "admin")
		id := strconv.FormatInt(w.Users["street"].ID, 10)
		canLogin := func() int {
			status, _, _ := jsonCall(t, w.ts, "POST", "/api/v1/session", "", `{"username":"street","password":"`+worldtest.Password+`"}`)
			return status
		}
		for _, c := range []struct {
			name, body string
			want       int
		}{{"no field", `{}`, http.StatusUnprocessableEntity}, {"not a bool", `{"locked":"yes"}`, http.StatusUnprocessableEntity}} {
			if status, body, _ := jsonCall(t, w.ts, "PATCH", "/api/v1/users/"+id, admin, c.body); status != c.want {
				t.Errorf("%s: %d %s, want %d", c.name, status, body, c.want)
			}
		}
		if status, body, _ := jsonCall(t, w.ts, "PATCH", "/api/v1/users/"+id, admin, `{"locked":true}`); status != http.StatusOK || !jsonHas(body, "locked") {
			t.Fatalf("lock: %d %s", status, body)
		}
		if got := canLogin(); got != http.StatusForbidden {
			t.Errorf("locked user's login: %d, want 403", got)
		}
		// The page unlocks.
		sess := w.webLogin(t, "admin", "")
		_, s, err := w.Accounts.Authenticate(context.Background(), sess.Value)
		if err != nil {
			t.Fatal(err)
		}
		resp, body := w.do(t, formReq("/admin/users/"+id+"/lock", url.Values{"locked": {"0"}, "csrf_token": {s.CSRF}}, sess))
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("unlock through the page: %d %.300s", resp.StatusCode, body)
		}
		if got := canLogin(); got != http.StatusOK {
			t.Errorf("unlocked user's login: %d, want 200", got)
		}
		// A community's staff may not lock anyone.
		staff := login(t, w.ts, "staff-a")
		if status, _, _ := jsonCall(t, w.ts, "PATCH", "/api/v1/users/"+id, staff, `{"locked":true}`); status != http.StatusForbidden {
			t.Errorf("lock by community staff: %d, want 403", status)
		}
	})
}

// jsonHas reports whether body is a JSON object whose field is true.
func jsonHas(body, field string) bool {
	var v map[string]any
	return json.Unmarshal([]byte(body), &v) == nil && v[field] == true
}
