package main

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestBrowserPatrol: the demo grid worker records a patrol on a 390×844
// phone with the position given by chromium's geolocation override. For a
// while every request for points fails (the points URL is taken offline),
// and the fixes wait in the phone's queue; when it returns they are sent,
// none lost and none twice. The worker stops, and the track shows on the
// map of /patrols, on the phone and, for the community staff, at 1366.
// Screenshots docs/screenshots/patrol-390.png, patrols-390.png and
// patrols-1366.png (WHISTLE_UPDATE_SCREENSHOTS=1).
func TestBrowserPatrol(t *testing.T) {
	s := newBrowserSuite(t, 390, 844)
	// The demo grid's box: the walk goes up its middle.
	bbox := demoGridBBox(t, s.app)
	lng := (bbox[0] + bbox[2]) / 2
	lat0, lat1 := bbox[1], bbox[3]

	g := s.as(t, "demo-grid", 390, 844)
	if _, err := chromedp.CallBrowser(g.ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
		Permission: &cdpbrowser.PermissionDescriptor{Name: "geolocation"}, Setting: cdpbrowser.PermissionSettingGranted,
		Origin: s.app.URL, BrowserContextID: chromedp.FromContext(g.ctx).BrowserContextID}); err != nil {
		t.Fatalf("grant geolocation: %v", err)
	}
	step := 0
	walk := func() {
		t.Helper()
		step++
		// 2 m a poll, a walking pace: no fix is flagged as too fast.
		lat := lat0 + (lat1-lat0)*0.3 + float64(step)*2/111195
		acc := 5.0
		if _, err := chromedp.Call(g.ctx, emulation.SetGeolocationOverride, emulation.SetGeolocationOverrideParams{Latitude: &lat, Longitude: &lng, Accuracy: &acc}); err != nil {
			t.Fatalf("geolocation override: %v", err)
		}
	}
	recorded := func() int { n, _ := strconv.Atoi(g.text("[data-patrol-points]")); return n }
	queued := func() int { n, _ := strconv.Atoi(g.text("[data-patrol-queued]")); return n }
	// waitFor polls cond while walking on, a fix a poll.
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				g.shot("failure")
				t.Fatalf("waited in vain for %s (recorded %d, queued %d, status %q)", what, recorded(), queued(), g.text("[data-patrol-status]"))
			}
			walk()
			time.Sleep(300 * time.Millisecond)
		}
	}

	walk()
	g.open("/patrol?every=1")
	g.waitText("h1", "巡查")
	g.do(chromedp.Click(chromedp.CSS("[data-patrol-start]")))
	g.waitText("[data-patrol-status]", "巡查已开始")
	waitFor("three fixes sent", func() bool { return recorded() >= 3 && queued() == 0 })

	// The server becomes unreachable for the points: the fixes queue up.
	offline := []*network.Conditions{{URLPattern: s.app.URL + "/api/v1/patrols/*/points", Offline: true, DownloadThroughput: -1, UploadThroughput: -1}}
	if _, err := chromedp.Call(g.ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(g.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: offline}); err != nil {
		t.Fatalf("take the points offline: %v", err)
	}
	waitFor("four fixes queued while offline", func() bool { return queued() >= 4 })
	g.waitText("[data-patrol-status]", "网络不通")
	g.docShot("offline", "patrol-offline-390.png")
	if _, err := chromedp.Call(g.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{MatchedNetworkConditions: []*network.Conditions{}}); err != nil {
		t.Fatalf("bring the points back: %v", err)
	}
	waitFor("the queue resent", func() bool { return queued() == 0 })
	g.docShot("recording", "patrol-390.png")

	g.do(chromedp.Click(chromedp.CSS("[data-patrol-stop]")))
	g.waitText("[data-patrol-status]", "巡查已结束")
	n, _ := strconv.Atoi(eval[string](g, `document.querySelector('[data-patrol]').getAttribute('data-recorded') || ''`))
	id := eval[string](g, `document.querySelector('[data-patrol]').getAttribute('data-stopped') || ''`)
	if id == "" {
		t.Fatal("the page shows no stopped patrol")
	}
	var p struct {
		Points    int     `json:"points"`
		DistanceM float64 `json:"distance_m"`
		Coverage  float64 `json:"coverage"`
		StoppedAt *string `json:"stopped_at"`
		Track     struct {
			Features []struct {
				Geometry struct {
					Type string `json:"type"`
				} `json:"geometry"`
			} `json:"features"`
		} `json:"track"`
	}
	raw := eval[string](g, `fetch('/api/v1/patrols/`+id+`').then(function(r){return r.text()})`)
	if err := json.Unmarshal([]byte(raw), &p); err != nil {
		t.Fatalf("GET /api/v1/patrols/%s: %v: %s", id, err, raw)
	}
	if p.Points != n {
		t.Errorf("stored points: got %d, want the %d the phone recorded (none lost, none twice)", p.Points, n)
	}
	if p.StoppedAt == nil || p.DistanceM <= 0 || p.Coverage <= 0 {
		t.Errorf("summary: got stopped %v, distance %.1f, coverage %.4f; want stopped, both above 0", p.StoppedAt, p.DistanceM, p.Coverage)
	}
	if len(p.Track.Features) == 0 || p.Track.Features[0].Geometry.Type != "LineString" {
		t.Errorf("track: got %+v, want a LineString first", p.Track.Features)
	}

	// The track on the map: the worker's phone, then the community staff's desk.
	showsTrack := func(u *user) {
		t.Helper()
		u.open("/patrols?id=" + id)
		deadline := time.Now().Add(20 * time.Second)
		for eval[string](u, `(document.querySelector('[data-patrols-map]')||{getAttribute:function(){return ''}}).getAttribute('data-shown')||''`) != id {
			if time.Now().After(deadline) {
				u.shot("failure")
				t.Fatalf("%s: the map never showed patrol %s", u.name, id)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if got := eval[int](u, `document.querySelectorAll('[data-patrols-map] path.leaflet-interactive[stroke="#1664ff"]').length`); got < 1 {
			t.Errorf("%s: the track's line is not on the map (%d paths)", u.name, got)
		}
		if got := u.text("#patrol-list"); !strings.Contains(got, "万顺社区网格员") {
			t.Errorf("%s: the list %q does not name the worker", u.name, got)
		}
	}
	showsTrack(g)
	g.docShot("list", "patrols-390.png")
	staff := s.as(t, "demo-community", 1366, 900)
	showsTrack(staff)
	staff.docShot("list", "patrols-1366.png")
}
