package web

import (
	"bytes"
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
	"whistle/internal/category"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/i18n"
	"whistle/internal/region"
)

// newCategoryServer starts a server on d with district 330303, departments
// CG and SW, the default catalogue and the users admin and res (resident).
func newCategoryServer(t *testing.T, d *db.DB) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	err := d.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO regions (code, parent_code, name, level, path, geometry, min_lng, min_lat, max_lng, max_lat, interior_lng, interior_lat, created_at, updated_at)
			VALUES ('330303', NULL, '龙湾区', 'district', '/330303/', '{}', 0, 0, 1, 1, 0.5, 0.5, $1, $1)`, tx.Now()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO departments (code, name, region_code, created_at) VALUES ('CG', '城管', '330303', $1), ('SW', '水务', '330303', $1)`, tx.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := account.DefaultConfig()
	cfg.Argon2 = account.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}
	acc, err := account.NewStore(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for name, role := range map[string]account.Role{"admin": account.Admin, "res": account.Resident} {
		in := account.NewUser{Username: name, Password: "secret-pass", Roles: []account.Role{role}, RegionCode: "330303"}
		if _, err := acc.AddUser(ctx, audit.System("test"), account.SystemScope(), in); err != nil {
			t.Fatal(err)
		}
	}
	cats := category.NewStore(d)
	if _, err := cats.SeedDefaults(ctx, audit.System("test")); err != nil {
		t.Fatal(err)
	}
	catalog, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(Deps{DB: d, Accounts: acc, Regions: region.NewStore(d), Categories: cats, Catalog: catalog,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return ts
}

func TestCategoryAPI(t *testing.T) {
	dbtest.Each(t, clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)), func(t *testing.T, d *db.DB) {
		ts := newCategoryServer(t, d)
		do := func(method, path, token, body string) (int, string) {
			t.Helper()
			req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if token != "" {
				req.Header.Set("Authorization", "Bearer "+token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b bytes.Buffer
			_, _ = b.ReadFrom(resp.Body)
			return resp.StatusCode, b.String()
		}
		login := func(user string) string {
			t.Helper()
			status, body := do("POST", "/api/v1/session", "", `{"username":"`+user+`","password":"secret-pass"}`)
			var v struct{ Token string }
			if err := json.Unmarshal([]byte(body), &v); status != http.StatusOK || err != nil || v.Token == "" {
				t.Fatalf("login %s: got %d %s", user, status, body)
			}
			return v.Token
		}
		admin, res := login("admin"), login("res")
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
