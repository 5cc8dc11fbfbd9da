package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/worldtest"
)

// o311LongB is a longitude in community B's grid (community A's is
// o311LongA), at latitude o311LatA.
const o311LongB = "120.015"

// TestOpen311KeyScope is issue 13 item 6: an Open311 key acted for the
// whole district as the system. A key now acts within its region and posts
// only to its services, checked against the key's account.Scope: a key of
// community A cannot create a request at a point in community B, nor post
// an update on a case there, nor post to a service not in its list; and
// nothing is written when it tries.
func TestOpen311KeyScope(t *testing.T) {
	clk := clock.NewFake(o311Start())
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(o311Start())
		w := newO311World(t, d, clk, nil)
		ctx := context.Background()
		sys := audit.System("test")
		keyA, kA, err := w.acc.CreateKey(ctx, sys, account.NewAPIKey{Name: "community-a", Region: "330303001001"})
		if err != nil {
			t.Fatal(err)
		}
		if kA.Region != "330303001001" || len(kA.Services) != 0 {
			t.Fatalf("key A: %+v", kA)
		}
		keyB, _, err := w.acc.CreateKey(ctx, sys, account.NewAPIKey{Name: "community-b", Region: "330303001002"})
		if err != nil {
			t.Fatal(err)
		}
		noiseOnly, _, err := w.acc.CreateKey(ctx, sys, account.NewAPIKey{Name: "noise-only", Services: []string{"ZL05"}})
		if err != nil {
			t.Fatal(err)
		}
		count := func() int {
			cs, _, err := w.cases.List(ctx, casework.Caller{System: true}, casework.Filter{Limit: 500})
			if err != nil {
				t.Fatal(err)
			}
			return len(cs)
		}
		at := func(key, long string) url.Values {
			f := w.noiseForm("fms")
			f.Set("api_key", key)
			f.Set("long", long)
			return f
		}
		inB := func(key string) url.Values {
			f := at(key, "")
			f.Del("lat")
			f.Del("long")
			f.Set("address_id", "330303001002")
			return f
		}
		other := func(key string) url.Values {
			f := at(key, o311LongA)
			f.Set("service_code", "ZL0601")
			for k := range f {
				if strings.HasPrefix(k, "attribute[") {
					f.Del(k)
				}
			}
			return f
		}
		for _, c := range []struct {
			name   string
			form   url.Values
			status int
			says   string
		}{
			{"key A at a point in B", at(keyA, o311LongB), http.StatusForbidden, "330303001001"},
			{"key A at address_id B", inB(keyA), http.StatusForbidden, "330303001001"},
			{"noise-only key posting another service", other(noiseOnly), http.StatusForbidden, "ZL0601"},
		} {
			for _, f := range []string{"json", "xml"} {
				before := count()
				descs := checkErrors(t, w.post(t, "/open311/v2/requests."+f, c.form, "Accept-Language", "en"), f, c.status)
				if !strings.Contains(strings.Join(descs, " "), c.says) {
					t.Errorf("%s.%s: %q does not say %q", c.name, f, descs, c.says)
				}
				if n := count() - before; n != 0 {
					t.Errorf("%s.%s: %d cases written, want none", c.name, f, n)
				}
			}
		}
		// Inside their scopes the keys work.
		w.create(t, at(keyA, o311LongA))
		idB := w.create(t, at(keyB, o311LongB))
		w.create(t, at(noiseOnly, o311LongB))
		// Updates: key A may not touch B's case; key B is answered on the
		// workflow's terms (a new case cannot be closed).
		update := func(key string) url.Values {
			return url.Values{"api_key": {key}, "service_request_id": {idB}, "update_id": {"u-1"}, "status": {"CLOSED"},
				"updated_datetime": {"2026-11-23T12:00:00+08:00"}, "description": {"关闭"}}
		}
		caseB := w.caseOf(t, idB)
		for _, f := range []string{"json", "xml"} {
			descs := checkErrors(t, w.post(t, "/open311/v2/servicerequestupdates."+f, update(keyA), "Accept-Language", "en"), f, http.StatusForbidden)
			if !strings.Contains(strings.Join(descs, " "), "330303001001") {
				t.Errorf("update by key A.%s: %q does not name its region", f, descs)
			}
			checkErrors(t, w.post(t, "/open311/v2/servicerequestupdates."+f, update(keyB), "Accept-Language", "en"), f, http.StatusBadRequest)
		}
		if got := w.caseOf(t, idB); got.Version != caseB.Version || got.Status != caseB.Status {
			t.Errorf("case B changed: version %d → %d, status %s → %s", caseB.Version, got.Version, caseB.Status, got.Status)
		}
	})
}

// TestAPIKeyScopeAdmin: the admin API takes a key's region and services,
// refuses unknown ones with field messages, and lists them; a key made
// without a region gets the district.
func TestAPIKeyScopeAdmin(t *testing.T) {
	clk := clock.NewFake(o311Start())
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		w := newO311World(t, d, clk, nil)
		ctx := context.Background()
		tok, _, _, err := w.acc.Login(ctx, "admin", "secret-pass", account.APISession, account.Client{IP: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		post := func(body string) (int, string) {
			req, _ := http.NewRequest("POST", w.url+"/api/v1/apikeys", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+tok)
			a := w.do(t, req)
			return a.status, string(a.body)
		}
		status, body := post(`{"name":"scoped","region":"330303001002","services":["ZL05","ZL0601"]}`)
		var created struct {
			Key    string
			APIKey struct {
				Region   string
				Services []string
			} `json:"api_key"`
		}
		if err := json.Unmarshal([]byte(body), &created); status != http.StatusCreated || err != nil {
			t.Fatalf("create: %d %s", status, body)
		}
		if created.APIKey.Region != "330303001002" || strings.Join(created.APIKey.Services, ",") != "ZL05,ZL0601" {
			t.Errorf("created key %+v, want region 330303001002 and services ZL05,ZL0601", created.APIKey)
		}
		for _, c := range []struct{ name, body, field string }{
			{"unknown region", `{"name":"x1","region":"999999"}`, "region"},
			{"unknown service", `{"name":"x2","services":["NOPE"]}`, "services"},
		} {
			status, body := post(c.body)
			var e struct {
				Error struct{ Fields map[string]string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &e); status != http.StatusUnprocessableEntity || err != nil || e.Error.Fields[c.field] == "" {
				t.Errorf("%s: %d %s, want 422 with a message on %s", c.name, status, body, c.field)
			}
		}
		k, err := w.acc.CheckAPIKey(ctx, w.keys["fms"])
		if err != nil || k.Region != "330303" || len(k.Services) != 0 {
			t.Errorf("a key made with a name only: %+v, %v; want the district 330303 and every service", k, err)
		}
	})
}

// TestAPIKeyScopePage: the admin page creates a key with a region and
// services, and shows a bad region as a field error.
func TestAPIKeyScopePage(t *testing.T) {
	worldtest.Each(t, edgeStart(), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newEdgeWorld(t, d, clk, nil)
		sess := w.webLogin(t, "admin", "")
		_, s, err := w.Accounts.Authenticate(context.Background(), sess.Value)
		if err != nil {
			t.Fatal(err)
		}
		post := func(v url.Values) (*http.Response, string) {
			v.Set("csrf_token", s.CSRF)
			return w.do(t, formReq("/admin/apikeys", v, sess))
		}
		resp, body := post(url.Values{"name": {"page-key"}, "region": {"330303001001"}, "services": {"ZL05, ZL0601"}})
		if resp.StatusCode != http.StatusCreated || !strings.Contains(body, "wk_") {
			t.Fatalf("create: %d %.300s", resp.StatusCode, body)
		}
		keys, err := w.Accounts.APIKeys(context.Background())
		if err != nil || len(keys) != 1 || keys[0].Region != "330303001001" || strings.Join(keys[0].Services, ",") != "ZL05,ZL0601" {
			t.Errorf("keys after the page: %+v, %v", keys, err)
		}
		resp, body = post(url.Values{"name": {"bad-key"}, "region": {"999"}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "999") {
			t.Errorf("bad region: %d %.300s, want 422 naming it", resp.StatusCode, body)
		}
	})
}
