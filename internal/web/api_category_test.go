package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/i18n"
	"whistle/internal/notify"
	"whistle/internal/region"
	"whistle/internal/worldtest"
)

// newServer builds a server on d with the message catalogue and, unless
// d has one, a logger that discards.
func newServer(tb testing.TB, d Deps) *Server {
	tb.Helper()
	catalog, err := i18n.Load()
	if err != nil {
		tb.Fatal(err)
	}
	d.Catalog = catalog
	if d.ReadyCheck == nil { // tests without a database: /readyz passes
		d.ReadyCheck = func(context.Context) error { return nil }
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := NewServer(d)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// serve starts newServer(tb, d) behind an httptest server closed when tb
// ends.
func serve(tb testing.TB, d Deps) (*Server, *httptest.Server) {
	tb.Helper()
	s := newServer(tb, d)
	ts := httptest.NewServer(s)
	tb.Cleanup(ts.Close)
	return s, ts
}

// call sends a request to ts with a bearer token (none when empty) and a
// body of type ctype (no Content-Type when empty); hdr are more header
// name/value pairs. It follows no redirect, and returns the status, the
// body and the header.
func call(tb testing.TB, ts *httptest.Server, method, path, token, ctype, body string, hdr ...string) (int, string, http.Header) {
	tb.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

// jsonCall is call with a JSON body, or none when body is empty.
func jsonCall(tb testing.TB, ts *httptest.Server, method, path, token, body string, hdr ...string) (int, string, http.Header) {
	tb.Helper()
	ctype := ""
	if body != "" {
		ctype = "application/json"
	}
	return call(tb, ts, method, path, token, ctype, body, hdr...)
}

// login signs user in on ts with worldtest.Password and returns the
// session token.
func login(tb testing.TB, ts *httptest.Server, user string) string {
	tb.Helper()
	status, body, _ := jsonCall(tb, ts, "POST", "/api/v1/session", "", `{"username":"`+user+`","password":"`+worldtest.Password+`"}`)
	var v struct{ Token string }
	if err := json.Unmarshal([]byte(body), &v); status != http.StatusOK || err != nil || v.Token == "" {
		tb.Fatalf("login %s: got %d %s", user, status, body)
	}
	return v.Token
}

// newCategoryServer starts a server on d with district 330303, departments
// CG and SW, the default catalogue and the users admin and res (resident).
func newCategoryServer(t *testing.T, d *db.DB) *httptest.Server {
	t.Helper()
	w := worldtest.New(t, d, worldtest.Options{
		Regions:     []region.Feature{{Code: "330303", Name: "龙湾区", Level: region.District, Geometry: worldtest.Square(120, 27, 120.02, 27.01)}},
		Departments: []worldtest.Department{{Code: "CG", Name: "城管"}, {Code: "SW", Name: "水务"}},
		Users:       []worldtest.User{{Name: "admin", Region: "330303", Role: account.Admin}, {Name: "res", Region: "330303", Role: account.Resident}},
	})
	_, ts := serve(t, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: w.Accounts, Regions: w.Regions, Categories: w.Categories})
	return ts
}

func TestCategoryAPI(t *testing.T) {
	dbtest.Each(t, clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)), func(t *testing.T, d *db.DB) {
		ts := newCategoryServer(t, d)
		do := func(method, path, token, body string) (int, string) {
			t.Helper()
			status, b, _ := jsonCall(t, ts, method, path, token, body)
			return status, b
		}
		admin, res := login(t, ts, "admin"), login(t, ts, "res")
		tests := []struct {
			method, path, token, body string
			status                    int
			contains                  string
		}{
			{"GET", "/api/v1/categories", "", "", 200, `{"categories":[{"code":"ZL","name":"基层治理","name_en":"Grassroots governance"`},
			{"GET", "/api/v1/categories?inactive=1", "", "", 401, `"unauthorized"`},
			{"GET", "/api/v1/categories?inactive=1", res, "", 403, `"forbidden"`},
			{"GET", "/api/v1/categories?inactive=1", admin, "", 200, `"code":"BJ0101"`},
			{"GET", "/api/v1/categories/BJ0101", "", "", 200, `"department":"SW","time_limit":"6ch"`},
			{"GET", "/api/v1/categories/BJ0101", "", "", 200, `"key":"cover_state"`},
			{"GET", "/api/v1/categories/ZL06", "", "", 200, `"children":[{"code":"ZL0601"`},
			{"GET", "/api/v1/categories/NOPE", "", "", 404, `"not_found"`},
			{"POST", "/api/v1/categories", "", `{"code":"ZL0105","parent_code":"ZL01","name":"婚恋纠纷"}`, 401, ""},
			{"POST", "/api/v1/categories", res, `{"code":"ZL0105","parent_code":"ZL01","name":"婚恋纠纷"}`, 403, ""},
			{"POST", "/api/v1/categories", admin, `{"code":"ZL0105","parent_code":"ZL01","name":"婚恋纠纷","fields":[{"key":"x","label":"X","datatype":"blob"}]}`, 422, `"fields[0].datatype"`},
			{"POST", "/api/v1/categories", admin, `{"code":"ZL0105","parent_code":"ZL01","name":"婚恋纠纷","name_en":"Relationship disputes","open311":true}`, 201, `"workflow":"whistle"`},
			{"POST", "/api/v1/categories", admin, `{"code":"ZL0105","parent_code":"ZL01","name":"婚恋纠纷"}`, 409, `"conflict"`},
			{"PATCH", "/api/v1/categories/ZL0105", admin, `{"department":"SW","active":false}`, 200, `"department":"SW"`},
			{"GET", "/api/v1/categories/ZL0105", "", "", 200, `"active":false`},
			{"PATCH", "/api/v1/categories/ZL0105", admin, `{"workflow":"x"}`, 422, `"workflow"`},
			{"PATCH", "/api/v1/categories/ZL0105", admin, `{"bogus":1}`, 400, `bogus`},
			{"PATCH", "/api/v1/categories/NOPE", admin, `{"name":"x"}`, 404, ""},
			{"PATCH", "/api/v1/categories/ZL0105", res, `{"name":"x"}`, 403, ""},
			{"POST", "/api/v1/routing-rules", admin, `{"category_code":"BJ01","region_code":"330303","department":"CG","priority":1}`, 201, `"region_name":"龙湾区"`},
			{"POST", "/api/v1/routing-rules", admin, `{"category_code":"BJ01","region_code":"330303","department":"CG","priority":1}`, 409, ""},
			{"POST", "/api/v1/routing-rules", admin, `{"category_code":"BJ01","region_code":"999","department":"CG"}`, 422, `"region_code"`},
			{"GET", "/api/v1/routing-rules", admin, "", 200, `"category_name":"公用设施"`},
			{"GET", "/api/v1/routing-rules", res, "", 403, ""},
			{"DELETE", "/api/v1/routing-rules/1", res, "", 403, ""},
			{"DELETE", "/api/v1/routing-rules/1", admin, "", 204, ""},
			{"DELETE", "/api/v1/routing-rules/1", admin, "", 404, ""},
			{"GET", "/api/v1/routing-rules", admin, "", 200, `{"rules":[]}`},
		}
		for _, tt := range tests {
			status, body := do(tt.method, tt.path, tt.token, tt.body)
			if status != tt.status || !strings.Contains(body, tt.contains) {
				if len(body) > 300 {
					body = body[:300] + "…"
				}
				t.Errorf("%s %s: got %d %s, want %d containing %s", tt.method, tt.path, status, body, tt.status, tt.contains)
			}
		}
	})
}
