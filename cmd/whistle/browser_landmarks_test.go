package main

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// landmarkAnswer is one landmark of GET /api/v1/landmarks.
type landmarkAnswer struct {
	ID      int64    `json:"id"`
	Name    string   `json:"name"`
	Kind    string   `json:"kind"`
	Aliases []string `json:"aliases"`
	Point   struct {
		Lat float64 `json:"lat"`
		Lng float64 `json:"lng"`
	} `json:"point"`
}

// TestBrowserLandmarks: on /admin/landmarks an administrator clicks the
// map (the point fills the form), is told the missing name next to its
// field, adds the landmark, edits it in place (the row's edit button
// loads it into the form, a second click on the map moves it), sees a bad
// latitude refused in English next to its field, and deletes it after a
// confirmation (declined once, then accepted); the API agrees at every
// step. Screenshots at 1366 and 390 px; the page does not overflow at 390.
func TestBrowserLandmarks(t *testing.T) {
	s := newBrowserSuite(t, 1366, 900)
	tok := login(t, s.app, "demo-admin")
	list := func() []landmarkAnswer {
		var v struct {
			Landmarks []landmarkAnswer `json:"landmarks"`
		}
		if code := do(t, "GET", s.app.URL+"/api/v1/landmarks", tok, nil, &v); code != 200 {
			t.Fatalf("GET /api/v1/landmarks: %d", code)
		}
		return v.Landmarks
	}
	// waitList waits until the API's landmarks satisfy ok.
	waitList := func(what string, ok func([]landmarkAnswer) bool) []landmarkAnswer {
		t.Helper()
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if l := list(); ok(l) {
				return l
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: landmarks are %+v", what, list())
			}
		}
	}
	admin := s.as(t, "demo-admin", 1366, 900)
	admin.open("/admin/landmarks")
	mapSel := "[data-map=landmarks]"
	admin.pickOnMap(mapSel)
	point := func() [2]float64 {
		v := eval[[]string](admin, `[document.querySelector('#lm-lat').value, document.querySelector('#lm-lng').value]`)
		lat, err1 := strconv.ParseFloat(v[0], 64)
		lng, err2 := strconv.ParseFloat(v[1], 64)
		if err1 != nil || err2 != nil {
			admin.shot("failure")
			t.Fatalf("the form's point after a click on the map: %q", v)
		}
		return [2]float64{lat, lng}
	}
	first := point()
	submit := chromedp.Click(chromedp.CSS("#lm-form button[type=submit]"))

	// No name: the message is next to the name field, nothing is saved.
	admin.do(submit)
	admin.waitShown(`#lm-form [data-error-for="name"]`, "必填")
	if l := list(); len(l) != 0 {
		t.Fatalf("a landmark without a name was saved: %+v", l)
	}
	admin.do(chromedp.SendKeys(chromedp.CSS("#lm-name"), "万顺公园"), chromedp.SendKeys(chromedp.CSS("#lm-aliases"), "公园\n万顺绿地"), submit)
	l := waitList("add", func(l []landmarkAnswer) bool { return len(l) == 1 })[0]
	if l.Name != "万顺公园" || strings.Join(l.Aliases, ",") != "公园,万顺绿地" || math.Abs(l.Point.Lat-first[0]) > 1e-6 || math.Abs(l.Point.Lng-first[1]) > 1e-6 {
		t.Errorf("added: %+v, want 万顺公园 (公园, 万顺绿地) at the clicked %v", l, first)
	}
	id := strconv.FormatInt(l.ID, 10)
	row := "#lm-" + id
	admin.waitText(row, "万顺公园")

	// Edit in place: the row's button loads it into the form; a click
	// elsewhere on the map moves it.
	admin.do(chromedp.Click(chromedp.CSS(row + " [data-lm-edit]")))
	admin.waitText("[data-lm-title]", "修改地标或道路")
	if got := eval[string](admin, `document.querySelector('#lm-name').value`); got != "万顺公园" {
		t.Errorf("the form after edit: name %q, want 万顺公园", got)
	}
	if got := point(); math.Abs(got[0]-first[0]) > 1e-6 || math.Abs(got[1]-first[1]) > 1e-6 {
		t.Errorf("the form after edit: point %v, want the landmark's %v", got, first)
	}
	xy := eval[[]float64](admin, "(function(){var r=document.querySelector('"+mapSel+"').getBoundingClientRect();return [r.left+r.width/2+30, r.top+r.height/2+20]})()")
	admin.do(chromedp.MouseClickXY(xy[0], xy[1]))
	moved := point()
	if moved == first {
		t.Fatal("a second click on the map did not move the point")
	}
	admin.do(chromedp.SetValue(chromedp.CSS("#lm-name"), "万顺公园南门"))
	admin.docShot("editing", "landmarks-edit-1366.png")
	admin.do(submit)
	l = waitList("edit", func(l []landmarkAnswer) bool { return len(l) == 1 && l[0].Name == "万顺公园南门" })[0]
	if strconv.FormatInt(l.ID, 10) != id || math.Abs(l.Point.Lat-moved[0]) > 1e-6 || math.Abs(l.Point.Lng-moved[1]) > 1e-6 {
		t.Errorf("edited: %+v, want landmark %s at %v", l, id, moved)
	}
	admin.waitText(row, "万顺公园南门")

	// In English, a latitude out of range is refused next to its field.
	admin.open("/lang/en?next=/admin/landmarks")
	admin.do(chromedp.WaitVisible(chromedp.CSS(row+" [data-lm-edit]")), chromedp.Click(chromedp.CSS(row+" [data-lm-edit]")))
	admin.waitText("[data-lm-title]", "Edit a landmark or road")
	admin.do(chromedp.SetValue(chromedp.CSS("#lm-lat"), "200"), submit)
	admin.waitShown(`#lm-form [data-error-for="lat"]`, "Out of range")
	admin.docShot("error-en", "landmarks-error-en-1366.png")
	if got := list(); len(got) != 1 || math.Abs(got[0].Point.Lat-moved[0]) > 1e-6 {
		t.Errorf("after a refused edit: %+v, want the point %v kept", got, moved)
	}
	admin.open("/lang/zh-CN?next=/admin/landmarks")

	// Delete asks first: declined, the landmark stays; accepted, it goes.
	asked, accept := admin.dialogs()
	del := row + " [data-json-delete]"
	for _, yes := range []bool{false, true} {
		accept <- yes
		admin.do(chromedp.WaitVisible(chromedp.CSS(del)), chromedp.Click(chromedp.CSS(del)))
		select {
		case q := <-asked:
			if !strings.Contains(q, "确定删除“万顺公园南门”") {
				t.Errorf("delete confirmation: %q, want 确定删除“万顺公园南门”…", q)
			}
		case <-time.After(15 * time.Second):
			t.Fatal("deleting a landmark asked nothing")
		}
		if !yes {
			if got := list(); len(got) != 1 {
				t.Fatalf("declined delete: %d landmarks, want 1", len(got))
			}
		}
	}
	waitList("delete", func(l []landmarkAnswer) bool { return len(l) == 0 })

	// At 390 px: the same page, with a landmark, fits the phone.
	if code := do(t, "POST", s.app.URL+"/api/v1/landmarks", tok, map[string]any{"name": "万顺公园", "kind": "landmark",
		"lat": first[0], "lng": first[1]}, nil); code != 201 {
		t.Fatalf("add a landmark: %d", code)
	}
	phone := s.as(t, "demo-admin", 390, 844)
	phone.open("/admin/landmarks")
	phone.waitText("#landmarks", "万顺公园")
	phone.do(chromedp.Click(chromedp.CSS("#landmarks [data-lm-edit]")))
	phone.waitText("[data-lm-title]", "修改地标或道路")
	phone.waitEval("document.querySelector('" + mapSel + "')._map && document.querySelector('" + mapSel + "')._map._pin")
	phone.noOverflow("/admin/landmarks at 390 px")
	phone.docShot("phone", "landmarks-390.png")
}
