package main

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/device"
	"whistle/internal/sensing"
)

// The sensing part of the authorization matrix (issue 17): rules are the
// admins'; an alarm, an away period and a family contact follow the
// registry's scope (staff in scope; leaders and admins the district;
// residents, party members and department handlers nothing, 404).

// plantSensing adds the matrix's rule (a water meter reading above 3 m³)
// and, through the real ingest and its sink, an alarm on each target's
// registry person.
func (f *authzFixture) plantSensing() {
	adm, err := f.w.app.accounts.UserByName(context.Background(), account.SystemScope(), "demo-admin")
	if err != nil {
		f.t.Fatal(err)
	}
	expr := "water_m3 > 3"
	name, kind, typ := "矩阵用水", "threshold", "water_meter"
	r, err := f.w.sensing.CreateRule(context.Background(), sensing.Caller{User: adm}, sensing.RuleInput{Name: &name, Kind: &kind, DeviceType: &typ, Expr: &expr})
	if err != nil {
		f.t.Fatal(err)
	}
	f.sensingRule = strconv.FormatInt(r.ID, 10)
	for _, tg := range regTargets {
		f.sensingAlarm(tg)
	}
}

// sensingAlarm sends a reading of 4 m³ from t's water meter and returns
// the active alarm of t's person (new, or the open one counted again).
func (f *authzFixture) sensingAlarm(t target) string {
	ctx := context.Background()
	res, err := f.w.ingest.IngestItems(ctx, []device.Item{{Device: f.devices[t], TS: time.Now().UTC().Format(time.RFC3339Nano),
		Values: map[string]any{"water_m3": 4.0}}}, time.Now(), nil)
	if err != nil || res.Accepted != 1 {
		f.t.Fatalf("reading of %s: %+v %v", t, res, err)
	}
	as, err := f.w.sensing.Alarms(ctx, sensing.System(), sensing.AlarmFilter{Status: "active", Limit: 500})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, a := range as {
		if a.PersonID == f.reg.person[t] {
			return strconv.FormatInt(a.ID, 10)
		}
	}
	f.t.Fatalf("no active alarm of the %s person (the ingest's sink is not the rules?)", t)
	return ""
}

// sensingMatrix is the sensing expectations, merged into matrix.
func sensingMatrix() map[string]spec {
	scoped := func(req func(f *authzFixture, w who, t target) *http.Request) spec {
		return spec{targets: regTargets, sees: regSees(), req: req}
	}
	return map[string]spec{
		"GET /admin/rules": {allow: adminOnly, req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/admin/rules", nil, "")
		}},
		"GET /api/v1/rules": {allow: adminOnly, req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/api/v1/rules", nil, "")
		}},
		"POST /api/v1/rules": {allow: adminOnly, req: func(f *authzFixture, w who, t target) *http.Request {
			return f.jsonRequest(w, "POST", "/api/v1/rules", map[string]any{"name": f.unique("矩阵规则"), "kind": "absence", "device_type": "smart_watch",
				"seconds": 6 * 3600, "enabled": false})
		}},
		"PATCH /api/v1/rules/{id}": {allow: adminOnly, req: func(f *authzFixture, w who, t target) *http.Request {
			return f.jsonRequest(w, "PATCH", "/api/v1/rules/"+f.sensingRule, map[string]any{"severity": "major"})
		}},
		// The list answers everyone logged in: what it holds is the
		// caller's scope (TestSensingAuthorizationEffect).
		"GET /api/v1/alarms": {req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/api/v1/alarms?status=active", nil, "")
		}},
		"GET /api/v1/alarms/{id}": scoped(func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/api/v1/alarms/"+f.sensingAlarm(t), nil, "")
		}),
		// Clearing (with its reason) on the person's active alarm: the
		// next call finds a new one.
		"POST /api/v1/alarms/{id}/actions/{action}": scoped(func(f *authzFixture, w who, t target) *http.Request {
			return f.jsonRequest(w, "POST", "/api/v1/alarms/"+f.sensingAlarm(t)+"/actions/clear", map[string]any{"reason": "real"})
		}),
		"POST /api/v1/away": scoped(func(f *authzFixture, w who, t target) *http.Request {
			now := time.Now().UTC()
			return f.jsonRequest(w, "POST", "/api/v1/away", map[string]any{"person_id": f.reg.person[t], "from": now.Format(time.RFC3339),
				"to": now.Add(time.Hour).Format(time.RFC3339)})
		}),
		// The contact's phone is a secret: the answer masks it.
		"POST /api/v1/people/{id}/contacts": scoped(func(f *authzFixture, w who, t target) *http.Request {
			return f.jsonRequest(w, "POST", "/api/v1/people/"+strconv.FormatInt(f.reg.person[t], 10)+"/contacts",
				map[string]any{"name": "矩阵家属", "phone": regSecretPh, "relation": "女儿"})
		}),
	}
}

// TestSensingAuthorizationEffect: beside the status, what each caller's
// alarm list holds (the demo grid worker their grid's alarms only, the
// leader and admin every target of the district, residents and
// departments none), and that an action refused out of scope changed
// nothing while one in scope cleared the alarm.
func TestSensingAuthorizationEffect(t *testing.T) {
	f := newAuthzFixture(t)
	ctx := context.Background()
	client := &http.Client{Timeout: 30 * time.Second}
	ids := map[target]string{}
	for _, tg := range regTargets {
		ids[tg] = f.sensingAlarm(tg)
	}
	for _, w := range callers[1:] {
		resp, err := client.Do(f.request(w, "GET", "/api/v1/alarms?status=active&limit=500", nil, ""))
		if err != nil {
			t.Fatal(err)
		}
		var out struct{ Alarms []sensing.Alarm }
		if err := json.Unmarshal(readSome(resp), &out); err != nil {
			t.Fatalf("list as %s: %v", w, err)
		}
		seen := map[target]bool{}
		for _, a := range out.Alarms {
			for tg, id := range ids {
				if strconv.FormatInt(a.ID, 10) == id {
					seen[tg] = true
				}
			}
			if w == grid && a.GridCode != demoGrid {
				t.Errorf("the grid worker sees alarm %d of grid %s", a.ID, a.GridCode)
			}
		}
		for _, tg := range regTargets {
			if want := regSees()[tg]; seen[tg] != slices.Contains(want, w) {
				t.Errorf("the active alarms as %s: the %s alarm listed %v, want %v", w, tg, seen[tg], slices.Contains(want, w))
			}
		}
	}
	// Acknowledging as every caller: only a caller who sees the alarm
	// changes it; the others get 404 and leave it active.
	for _, tg := range regTargets {
		for _, w := range callers {
			id := f.sensingAlarm(tg)
			resp, err := client.Do(f.jsonRequest(w, "POST", "/api/v1/alarms/"+id+"/actions/acknowledge", map[string]any{}))
			if err != nil {
				t.Fatal(err)
			}
			readSome(resp)
			n, _ := strconv.ParseInt(id, 10, 64)
			a, err := f.w.sensing.Alarm(ctx, sensing.System(), n)
			if err != nil {
				t.Fatal(err)
			}
			want := w != anon && slices.Contains(regSees()[tg], w)
			if (a.Status == "acknowledged") != want {
				t.Errorf("acknowledge as %s on %s: %d, status %s, want changed %v", w, tg, resp.StatusCode, a.Status, want)
			}
			if !want && resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("acknowledge as %s on %s: %d, want 404", w, tg, resp.StatusCode)
			}
			if a.Status == "acknowledged" {
				if _, err := f.w.sensing.Act(ctx, sensing.System(), n, "clear", sensing.AlarmInput{Reason: sensing.ReasonReal}); err == nil {
					continue
				}
				// The system takes no person's step: clear as the admin.
				adm, _ := f.w.app.accounts.UserByName(ctx, account.SystemScope(), "demo-admin")
				if _, err := f.w.sensing.Act(ctx, sensing.Caller{User: adm}, n, "clear", sensing.AlarmInput{Reason: sensing.ReasonReal}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}
