package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"whistle/internal/demo"
)

// TestBrowserVisit: the demo grid worker, on a 390×844 phone whose position
// is chromium's geolocation override, puts a person of a new house in the
// group elderly_alone (the API the registry pages use), opens /visits,
// finds the visit first in walking order (stop 1, about 22 m), records it with a photo and reports a
// problem from it; the case exists and the visit names it; the person's
// page then shows the visit with its case and photo to the worker and to
// the community worker. Screenshots
// docs/screenshots/visits-390.png and visits-1366.png
// (WHISTLE_UPDATE_SCREENSHOTS=1).
func TestBrowserVisit(t *testing.T) {
	s := newBrowserSuite(t, 390, 844)
	resp, err := http.Get(s.app.URL + "/api/v1/regions/" + demo.DemoGrid)
	if err != nil {
		t.Fatal(err)
	}
	var grid struct {
		BBox []float64 `json:"bbox"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&grid); err != nil || len(grid.BBox) != 4 {
		t.Fatalf("the demo grid's bbox: %v %v", grid.BBox, err)
	}
	resp.Body.Close()
	lng, lat := (grid.BBox[0]+grid.BBox[2])/2, (grid.BBox[1]+grid.BBox[3])/2

	g := s.as(t, "demo-grid", 390, 844)
	if _, err := chromedp.CallBrowser(g.ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
		Permission: &cdpbrowser.PermissionDescriptor{Name: "geolocation"}, Setting: cdpbrowser.PermissionSettingGranted,
		Origin: s.app.URL, BrowserContextID: chromedp.FromContext(g.ctx).BrowserContextID}); err != nil {
		t.Fatalf("grant geolocation: %v", err)
	}
	here := lat + 0.0002 // about 22 m from the house
	acc := 5.0
	if _, err := chromedp.Call(g.ctx, emulation.SetGeolocationOverride, emulation.SetGeolocationOverrideParams{Latitude: &here, Longitude: &lng, Accuracy: &acc}); err != nil {
		t.Fatalf("geolocation override: %v", err)
	}
	g.open("/visits")
	// The house, its resident and the group, through the API as the worker.
	address := "走访测试路 8 号"
	setup := fmt.Sprintf(`(async function(){
	  var csrf = document.querySelector('meta[name="csrf-token"]').content;
	  async function post(u, b){ var r = await fetch(u, {method:'POST', credentials:'same-origin', headers:{'Content-Type':'application/json','X-CSRF-Token':csrf}, body: JSON.stringify(b)}); var j = await r.json().catch(function(){return {}}); if (!r.ok) throw new Error(u+' '+r.status+' '+JSON.stringify(j)); return j; }
	  var b = await post('/api/v1/buildings', {address: %q, lat: %v, lng: %v});
	  var h = await post('/api/v1/houses', {building_id: b.id, room: '101'});
	  var p = await post('/api/v1/people', {id_number: %q, name: '走访对象', status: 'resident', grid_code: %q, house_id: h.id, house_relation: 'owner'});
	  await post('/api/v1/people/' + p.id + '/groups', {group: 'elderly_alone', note: '浏览器测试'});
	  return 'ok ' + p.id;
	})().catch(function(e){ return String(e); })`, address, lat, lng, idNumber("33030319400202123"), demo.DemoGrid)
	var person int64
	if got := eval[string](g, setup); !strings.HasPrefix(got, "ok ") {
		t.Fatalf("setup: %s", got)
	} else if person, err = strconv.ParseInt(strings.TrimPrefix(got, "ok "), 10, 64); err != nil {
		t.Fatalf("setup: %s", got)
	}
	g.open("/visits")
	g.waitText("[data-visit-status]", "已定位")
	item := `[data-visit-list] li[data-visit-id]`
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(g.text(item), address) {
		if time.Now().After(deadline) {
			g.shot("failure")
			t.Fatalf("the first visit %q is not the new house's", g.text(item))
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := g.text(item); !strings.Contains(got, "约 22 米") && !strings.Contains(got, "约 2") {
		t.Errorf("the first visit %q shows no distance of about 22 m", got)
	}
	// The first stop of the walking route, 22 m due south on foot.
	if got := g.text(item); !strings.Contains(got, "第 1 站，累计步行约 22 米") {
		t.Errorf("the first visit %q is not shown as stop 1, about 22 m walked", got)
	}
	g.docShot("list", "visits-390.png")
	g.do(chromedp.Click(chromedp.CSS(item + " [data-visit-open]")))
	form := item + " form"
	g.do(chromedp.WaitVisible(chromedp.CSS(form)),
		chromedp.SendKeys(chromedp.CSS(form+" textarea[name=notes]"), "老人身体尚可，独自在家"),
		chromedp.SetUploadFiles(chromedp.CSS(form+" input[name=photo]"), []string{s.photo}),
		chromedp.Click(chromedp.CSS(form+" input[name=found]")),
		chromedp.SendKeys(chromedp.CSS(form+" textarea[name=description]"), "楼道堆放杂物，影响老人出行"))
	g.docShot("form", "visit-form-390.png")
	g.do(chromedp.Click(chromedp.CSS(form + " button[type=submit]")))
	g.waitText("[data-visit-done]", "已上报案件")
	var id int64
	if _, err := fmt.Sscanf(g.text("[data-visit-done]")[strings.Index(g.text("[data-visit-done]"), "编号 ")+len("编号 "):], "%d", &id); err != nil || id == 0 {
		t.Fatalf("the page names no case: %q", g.text("[data-visit-done]"))
	}
	if got := eval[int](g, fmt.Sprintf(`fetch('/api/v1/cases/%d').then(function(r){return r.status})`, id)); got != http.StatusOK {
		t.Errorf("GET /api/v1/cases/%d as the worker: got %d, want 200", id, got)
	}
	staff := s.as(t, "demo-grid", 1366, 900)
	staff.open("/visits")
	staff.waitText("h1", "走访")
	staff.docShot("desk", "visits-1366.png")

	// The person's page shows the recorded visit: its notes, the case and
	// the photo, to the worker and to the community above the grid.
	for _, u := range []*user{g, s.as(t, "demo-community", 1366, 900)} {
		u.open(fmt.Sprintf("/people/%d", person))
		u.waitText("#person-visits", "老人身体尚可")
		if n := eval[int](u, fmt.Sprintf(`document.querySelectorAll('#person-visits a[href="/cases/%d"]').length`, id)); n != 1 {
			t.Errorf("%s: the visit links to case %d %d times, want once", u.name, id, n)
		}
		// The thumbnails load lazily: bring the first into view, as the
		// reader scrolling down to the visits does (the page has grown
		// above them).
		img := `#person-visits .thumbs img`
		deadline := time.Now().Add(20 * time.Second)
		for eval[int](u, `(function(i){ if (i) { i.scrollIntoView({block: 'center'}); } return i && i.complete ? i.naturalWidth : 0 })(document.querySelector('`+img+`'))`) == 0 {
			if time.Now().After(deadline) {
				u.shot("failure")
				t.Fatalf("%s: the visit's photo never loaded on the person page", u.name)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if alt := eval[string](u, `document.querySelector('`+img+`').alt`); !strings.Contains(alt, "走访照片 1") {
			t.Errorf("%s: the photo's text %q", u.name, alt)
		}
		u.noOverflow("/people/{id} with a visit")
		u.shot("person")
	}
}
