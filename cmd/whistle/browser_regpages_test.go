package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"whistle/internal/demo"
)

// TestBrowserRegistryPages: the demo grid's worker registers a building
// with two houses and a person, changes the person's phone through PATCH
// and walks a patrol; then, on a 390×844 phone (the grid worker) and at
// 1366 (the community worker), the grid page's map shows the grid with its
// building and the patrol's track, linking to the patrol; the person's
// page shows the change in its history, masked; on the phone the worker
// links the person to a house through the form, after a first try without
// a house that shows the field's error, then unlinks the first house with
// its button (gone both ways, in the history), and puts the person in a
// group with a reason (after a first try without a group), which plans
// their visit, then takes them out again. Neither page overflows 390 px and
// axe-core finds nothing serious or critical. Screenshots
// docs/screenshots/grid-390.png, grid-1366.png, person-390.png and
// person-1366.png (WHISTLE_UPDATE_SCREENSHOTS=1).
func TestBrowserRegistryPages(t *testing.T) {
	s := newBrowserSuite(t, 390, 844)
	app, tok := s.app, login(t, s.app, "demo-grid")
	bbox := demoGridBBox(t, app)
	lng, lat := (bbox[0]+bbox[2])/2, (bbox[1]+bbox[3])/2

	var b, h1, h2, p struct {
		ID int64 `json:"id"`
	}
	must := func(what string, code int) {
		t.Helper()
		if code != http.StatusCreated && code != http.StatusOK {
			t.Fatalf("%s: got %d, want 200/201", what, code)
		}
	}
	must("building", do(t, "POST", app.URL+"/api/v1/buildings", tok, map[string]any{"address": "万顺路 88 号", "lat": lat, "lng": lng, "floors": 6}, &b))
	must("house 1", do(t, "POST", app.URL+"/api/v1/houses", tok, map[string]any{"building_id": b.ID, "unit": "1", "room": "101"}, &h1))
	must("house 2", do(t, "POST", app.URL+"/api/v1/houses", tok, map[string]any{"building_id": b.ID, "unit": "2", "room": "202"}, &h2))
	must("person", do(t, "POST", app.URL+"/api/v1/people", tok, map[string]any{"id_number": idNumber("33030319800101123"), "name": "林小满",
		"phone": "13900001111", "status": "resident", "grid_code": demo.DemoGrid, "house_id": h1.ID, "house_relation": "owner"}, &p))
	const newPhone = "13712345678"
	must("PATCH", do(t, "PATCH", fmt.Sprintf("%s/api/v1/people/%d", app.URL, p.ID), tok, map[string]any{"phone": newPhone}, nil))

	// A patrol of a few fixes walking north through the building.
	var pt struct {
		ID int64 `json:"id"`
	}
	must("patrol", do(t, "POST", app.URL+"/api/v1/patrols", tok, map[string]any{"grid": demo.DemoGrid}, &pt))
	start := time.Now().Add(-60 * time.Second)
	var fixes []map[string]any
	for i := range 6 {
		fixes = append(fixes, map[string]any{"lat": lat + float64(i-3)*20/111195, "lng": lng, "accuracy": 5,
			"at": start.Add(time.Duration(i) * 10 * time.Second).UTC().Format(time.RFC3339Nano)})
	}
	must("points", do(t, "POST", fmt.Sprintf("%s/api/v1/patrols/%d/points", app.URL, pt.ID), tok, map[string]any{"points": fixes}, nil))
	must("stop", do(t, "POST", fmt.Sprintf("%s/api/v1/patrols/%d/stop", app.URL, pt.ID), tok, nil, nil))

	// The history through the API: the PATCH is there, the phone masked.
	var hist struct {
		History []struct {
			Action string                       `json:"action"`
			Diff   map[string]map[string]string `json:"diff"`
		} `json:"history"`
	}
	must("history", do(t, "GET", fmt.Sprintf("%s/api/v1/people/%d/history", app.URL, p.ID), tok, nil, &hist))
	if n := len(hist.History); n < 2 || hist.History[n-1].Action != "update" || hist.History[n-1].Diff["phone"]["new"] != "137****5678" {
		t.Errorf("GET /api/v1/people/%d/history: got %+v, want the create, then the update of the phone to 137****5678", p.ID, hist.History)
	}

	src := axeScript(t)
	check := func(u *user, what string) {
		t.Helper()
		u.noOverflow(what)
		if v := u.axe(src); len(v) > 0 {
			u.shot("failure")
			t.Errorf("%s at %s: axe-core: %s", u.name, what, strings.Join(v, "\n"))
		}
	}
	for _, c := range []struct {
		who  string
		w, h int64
		size string
	}{{"demo-grid", 390, 844, "390"}, {"demo-community", 1366, 900, "1366"}} {
		u := s.as(t, c.who, c.w, c.h)

		// The grid page: the map with the building and the track.
		u.open("/grids/" + demo.DemoGrid)
		deadline := time.Now().Add(20 * time.Second)
		for eval[string](u, `document.querySelector('[data-grid-map]').getAttribute('data-tracks') || ''`) == "" {
			if time.Now().After(deadline) {
				u.shot("failure")
				t.Fatalf("%s: the grid map never drew its layers", u.name)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if got := eval[int](u, `document.querySelectorAll('[data-grid-map] path.leaflet-interactive[stroke="#1664ff"]').length`); got < 1 {
			t.Errorf("%s: got %d patrol tracks on the grid map, want at least 1", u.name, got)
		}
		if got := eval[int](u, `document.querySelectorAll('[data-grid-map] path.leaflet-interactive[fill="#c8102e"]').length`); got < 1 {
			t.Errorf("%s: got %d buildings on the grid map, want at least 1", u.name, got)
		}
		if href := eval[string](u, `(document.querySelector('#grid-patrols a[data-track="`+strconv.FormatInt(pt.ID, 10)+`"]')||{}).getAttribute ? document.querySelector('#grid-patrols a[data-track="`+strconv.FormatInt(pt.ID, 10)+`"]').getAttribute('href') : ''`); href != fmt.Sprintf("/patrols?id=%d", pt.ID) {
			t.Errorf("%s: the grid page's link to patrol %d: got %q", u.name, pt.ID, href)
		}
		if got := u.text("#grid-counts"); !strings.Contains(got, "1") {
			t.Errorf("%s: the counts %q", u.name, got)
		}
		check(u, "/grids/"+demo.DemoGrid)
		u.docShot("grid", "grid-"+c.size+".png")

		// The person's page: the PATCH in the history, masked.
		u.open(fmt.Sprintf("/people/%d", p.ID))
		u.waitText("#person-history", "修改")
		if got := u.text("#person-history"); !strings.Contains(got, "137****5678") || strings.Contains(got, newPhone) {
			t.Errorf("%s: the history %q: want the new phone masked (137****5678), never in clear", u.name, got)
		}
		if c.size == "390" {
			// No house chosen: the field's error, and nothing linked.
			u.do(chromedp.SetValue(chromedp.CSS("#lk-house"), ""), chromedp.Click(chromedp.CSS("#link-form button[type=submit]")))
			u.waitText("#link-form", "请选择要关联的房屋")
			if got := eval[string](u, `document.getElementById('lk-house').getAttribute('aria-invalid') || ''`); got != "true" {
				t.Errorf("the house field after the refusal: aria-invalid %q, want true", got)
			}
			check(u, "the link form's error")
			u.do(chromedp.SetValue(chromedp.CSS("#lk-house"), strconv.FormatInt(h2.ID, 10)), chromedp.SetValue(chromedp.CSS("#lk-rel"), "tenant"),
				chromedp.Click(chromedp.CSS("#link-form button[type=submit]")))
			u.waitText("#person-houses", "2-202")
			u.waitText("#person-history", "关联房屋")
			// Both ways: the house lists the person.
			u.open(fmt.Sprintf("/houses/%d", h2.ID))
			u.waitText("#residents", "租户")
			if got := eval[int](u, fmt.Sprintf(`document.querySelectorAll('#residents a[href="/people/%d"]').length`, p.ID)); got != 1 {
				t.Errorf("house %d's residents link to person %d %d times, want once", h2.ID, p.ID, got)
			}
			check(u, "/houses/{id}")
			// Unlinking the first house: gone from the person's houses, the
			// history says so, and the house no longer lists the person.
			u.open(fmt.Sprintf("/people/%d", p.ID))
			u.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#person-houses li[data-house="%d"] button[type=submit]`, h1.ID))))
			u.waitText("#person-history", "解除房屋关联")
			if got := u.text("#person-houses"); strings.Contains(got, "1-101") || !strings.Contains(got, "2-202") {
				t.Errorf("the person's houses after unlinking 1-101: %q, want only 2-202", got)
			}
			u.open(fmt.Sprintf("/houses/%d", h1.ID))
			if got := eval[int](u, fmt.Sprintf(`document.querySelectorAll('#residents a[href="/people/%d"]').length`, p.ID)); got != 0 {
				t.Errorf("house %d still lists person %d after the unlink (%d links)", h1.ID, p.ID, got)
			}
			u.open(fmt.Sprintf("/people/%d", p.ID))
			joinLeave(t, u, app, tok, p.ID, check)
		} else {
			u.waitText("#person-houses", "2-202")
		}
		check(u, "/people/{id}")
		u.docShot("person", "person-"+c.size+".png")
	}
}

// demoGridBBox is the demo grid's box: west, south, east, north.
func demoGridBBox(t *testing.T, app *testApp) []float64 {
	t.Helper()
	resp, err := http.Get(app.URL + "/api/v1/regions/" + demo.DemoGrid)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var grid struct {
		BBox []float64 `json:"bbox"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&grid); err != nil || len(grid.BBox) != 4 {
		t.Fatalf("the demo grid's bbox: %v %v", grid.BBox, err)
	}
	return grid.BBox
}

// visitsOf counts person's tasks among the grid worker's visits due today.
func visitsOf(t *testing.T, app *testApp, tok string, person int64) int {
	t.Helper()
	var list struct {
		Visits []struct {
			PersonID int64 `json:"person_id"`
		} `json:"visits"`
	}
	if code := do(t, "GET", app.URL+"/api/v1/visits?due=today", tok, nil, &list); code != http.StatusOK {
		t.Fatalf("GET /api/v1/visits?due=today: %d", code)
	}
	n := 0
	for _, v := range list.Visits {
		if v.PersonID == person {
			n++
		}
	}
	return n
}

// joinLeave: on the person page the worker adds the person to the
// elderly living alone with a reason, after a first try without a group
// that shows the field's error; the membership plans their visit and shows
// in the history; then the person leaves the group and the visit is gone.
func joinLeave(t *testing.T, u *user, app *testApp, tok string, person int64, check func(u *user, what string)) {
	t.Helper()
	if n := visitsOf(t, app, tok, person); n != 0 {
		t.Fatalf("visits of person %d before joining: %d, want 0", person, n)
	}
	u.do(chromedp.SetValue(chromedp.CSS("#jg-note"), "子女在外地"), chromedp.Click(chromedp.CSS("#join-form button[type=submit]")))
	u.waitText("#jg-group-err", "请选择人群")
	if got := eval[string](u, `document.getElementById('jg-group').getAttribute('aria-invalid') || ''`); got != "true" {
		t.Errorf("the group field after the refusal: aria-invalid %q, want true", got)
	}
	if got := eval[string](u, `document.getElementById('jg-note').value`); got != "子女在外地" {
		t.Errorf("the reason after the refusal: %q, want it kept", got)
	}
	if got := u.text("#houses"); strings.Contains(got, "请选择人群") {
		t.Errorf("the group form's error shows by the houses too: %q", got)
	}
	check(u, "the group form's error")
	u.do(chromedp.SetValue(chromedp.CSS("#jg-group"), "elderly_alone"), chromedp.Click(chromedp.CSS("#join-form button[type=submit]")))
	u.waitText("#person-groups", "独居老人")
	u.waitText("#person-history", "加入重点人群")
	if got := u.text("#person-history"); !strings.Contains(got, "人群类别 独居老人") {
		t.Errorf("the history names the group in words: %q", got)
	}
	if n := visitsOf(t, app, tok, person); n != 1 {
		t.Errorf("visits of person %d after joining elderly_alone: %d, want 1", person, n)
	}
	if got := eval[int](u, `document.querySelectorAll('#jg-group option[value="elderly_alone"]').length`); got != 0 {
		t.Errorf("the join form still offers the group the person is in")
	}
	check(u, "the person in a group")
	u.do(chromedp.Click(chromedp.CSS(`#person-groups li[data-group="elderly_alone"] button[type=submit]`)))
	u.waitText("#person-history", "移出重点人群")
	if got := u.text("#person-groups"); strings.Contains(got, "独居老人") {
		t.Errorf("the person's groups after leaving: %q", got)
	}
	if n := visitsOf(t, app, tok, person); n != 0 {
		t.Errorf("visits of person %d after leaving: %d, want 0", person, n)
	}
}
