package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/notify"
	"whistle/internal/worldtest"
)

// dispatchWorld is OneStreet with its staff, the catalogue's departments,
// a routing rule sending 邻里求助 (ZL0601) on the street to ZJ, and a server.
func dispatchWorld(t *testing.T, d *db.DB) (*worldtest.World, *Server, func(method, path, who, form string) (int, string, http.Header)) {
	t.Helper()
	w := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Departments: worldtest.CatalogueDepartments(),
		Users: worldtest.OneStreetUsers()})
	if _, err := w.Categories.AddRule(context.Background(), worldtest.Actor(), category.Rule{CategoryCode: "ZL0601", RegionCode: "330303001", Department: "ZJ"}); err != nil {
		t.Fatal(err)
	}
	s, ts := serve(t, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: w.Accounts, Regions: w.Regions, Cases: w.Cases, Categories: w.Categories})
	tokens := map[string]string{}
	do := func(method, path, who, form string) (int, string, http.Header) {
		t.Helper()
		if tokens[who] == "" {
			tokens[who] = login(t, ts, who)
		}
		ctype := ""
		switch {
		case strings.HasPrefix(form, "{"):
			ctype = "application/json"
		case form != "":
			ctype = "application/x-www-form-urlencoded"
		}
		return call(t, ts, method, path, tokens[who], ctype, form, "Accept-Language", "en")
	}
	return w, s, do
}

// accepted submits a case of category code in community A as the resident
// and accepts it as staff-a.
func accepted(t *testing.T, w *worldtest.World, code string) *casework.Case {
	t.Helper()
	lat, lng := 27.005, 120.005
	c := w.Submit(t, "resident", casework.SubmitInput{Category: code, Description: "楼道里有老人需要帮忙", Lat: &lat, Lng: &lng})
	return w.Act(t, "staff-a", c.ID, casework.ActAccept, casework.Input{})
}

// TestDispatchPreselectsRoutedTarget (issue 13 item 12): the case page's
// dispatch form and the queue's bulk form preselect the routed target, and
// bulk dispatch can send each case to its own routed department.
func TestDispatchPreselectsRoutedTarget(t *testing.T) {
	dbtest.Each(t, clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)), func(t *testing.T, d *db.DB) {
		w, _, do := dispatchWorld(t, d)
		routed := accepted(t, w, "ZL0601")
		unrouted := accepted(t, w, "ZL0602") // no rule, no default department
		if routed.RoutedDept != "ZJ" || unrouted.RoutedDept != "" {
			t.Fatalf("routed departments: got %q and %q, want ZJ and none", routed.RoutedDept, unrouted.RoutedDept)
		}

		status, body, _ := do("GET", "/cases/"+strconv.FormatInt(routed.ID, 10), "staff-a", "")
		if status != http.StatusOK || !strings.Contains(body, `<option value="d:ZJ" selected>`) || !strings.Contains(body, "Routing suggests") {
			t.Errorf("case page of a routed case: got %d without the routed department preselected", status)
		}
		if n := strings.Count(body, " selected>"); n != 1 {
			t.Errorf("case page of a routed case: got %d selected options, want 1", n)
		}
		_, body, _ = do("GET", "/cases/"+strconv.FormatInt(unrouted.ID, 10), "staff-a", "")
		if strings.Contains(body, `" selected>`) || strings.Contains(body, "Routing suggests") {
			t.Errorf("case page of an unrouted case: got a preselected target")
		}

		status, body, _ = do("GET", "/cases?queue=to_dispatch", "staff-a", "")
		if status != http.StatusOK || !strings.Contains(body, `<option value="routed" selected>`) || !strings.Contains(body, "Routed: ZJ") {
			t.Errorf("dispatch queue: got %d without the routed target preselected", status)
		}

		form := url.Values{"target": {"routed"}, "ids": {strconv.FormatInt(routed.ID, 10), strconv.FormatInt(unrouted.ID, 10)}}
		status, _, hdr := do("POST", "/cases/dispatch", "staff-a", form.Encode())
		loc := hdr.Get("Location")
		wantFailed := "failed=" + url.QueryEscape(strconv.FormatInt(unrouted.ID, 10)+":no_route")
		if status != http.StatusSeeOther || !strings.Contains(loc, "dispatched=1") || !strings.Contains(loc, wantFailed) {
			t.Errorf("bulk dispatch to routed departments: got %d %s, want 303 with dispatched=1 and %s", status, loc, wantFailed)
		}
		got, err := w.Cases.Get(context.Background(), w.As("admin"), routed.ID)
		if err != nil || got.Status != casework.Dispatched || got.DepartmentCode != "ZJ" {
			t.Errorf("routed case after bulk dispatch: got %+v, %v, want dispatched to ZJ", got, err)
		}
		got, err = w.Cases.Get(context.Background(), w.As("admin"), unrouted.ID)
		if err != nil || got.Status != casework.Accepted {
			t.Errorf("unrouted case after bulk dispatch: got %+v, %v, want still accepted", got, err)
		}
		_, body, _ = do("GET", "/cases?queue=to_dispatch&"+wantFailed, "staff-a", "")
		if !strings.Contains(body, "has no routed department") {
			t.Errorf("dispatch queue after a failed routed dispatch: the failure is not explained")
		}
	})
}

// TestAutoDispatchSetting (issue 13 item 12): an admin switches automatic
// dispatch on for a category on the category page (and the API shows and
// changes it); accepting a case then dispatches it, and the case page names
// the rule.
func TestAutoDispatchSetting(t *testing.T) {
	dbtest.Each(t, clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)), func(t *testing.T, d *db.DB) {
		w, _, do := dispatchWorld(t, d)
		tests := []struct {
			name, form string
			status     int
			contains   string
		}{
			{"no category", "auto_category=&auto_dispatch=1", http.StatusUnprocessableEntity, "Required."},
			{"unknown category", "auto_category=NOPE&auto_dispatch=1", http.StatusUnprocessableEntity, "Category NOPE does not exist"},
			{"on", "auto_category=ZL0601&auto_dispatch=1", http.StatusSeeOther, ""},
		}
		for _, tt := range tests {
			status, body, _ := do("POST", "/admin/categories/auto-dispatch", "admin", tt.form)
			if status != tt.status || !strings.Contains(body, tt.contains) {
				t.Errorf("%s: got %d, want %d containing %q", tt.name, status, tt.status, tt.contains)
			}
		}
		if status, _, _ := do("POST", "/admin/categories/auto-dispatch", "staff-a", "auto_category=ZL0602&auto_dispatch=1"); status != http.StatusForbidden {
			t.Errorf("community staff switching automatic dispatch: got %d, want 403", status)
		}
		if _, body, _ := do("GET", "/api/v1/categories/ZL0601", "admin", ""); !strings.Contains(body, `"auto_dispatch":true`) {
			t.Errorf("category after switching on: got %s, want auto_dispatch true", body)
		}
		rules, err := w.Categories.Rules(context.Background())
		if err != nil || len(rules) != 1 {
			t.Fatalf("rules: %v %v", rules, err)
		}
		c := accepted(t, w, "ZL0601")
		if c.Status != casework.Dispatched || c.DepartmentCode != "ZJ" {
			t.Fatalf("accepted with automatic dispatch: got %s to %q, want dispatched to ZJ", c.Status, c.DepartmentCode)
		}
		_, body, _ := do("GET", "/cases/"+strconv.FormatInt(c.ID, 10), "staff-a", "")
		want := "Dispatched automatically by routing rule #" + strconv.FormatInt(rules[0].ID, 10) + " (category ZL0601, region 330303001, priority 0)"
		if !strings.Contains(body, want) {
			t.Errorf("case page after automatic dispatch: no %q", want)
		}

		status, body, _ := do("PATCH", "/api/v1/categories/ZL0601", "admin", `{"auto_dispatch":false}`)
		if status != http.StatusOK || !strings.Contains(body, `"auto_dispatch":false`) {
			t.Errorf("PATCH auto_dispatch false: got %d %s", status, body)
		}
		if c := accepted(t, w, "ZL0601"); c.Status != casework.Accepted {
			t.Errorf("accepted after switching off: got %s, want accepted", c.Status)
		}
	})
}
