package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"whistle/internal/clock"
	"whistle/internal/db"
)

// newScreenSuite is the browser suite at 1920×1080 on a demo with a few
// thousand historical cases, so that the screen has something to show.
func newScreenSuite(t *testing.T) *browserSuite {
	t.Helper()
	return newBrowserSuite(t, 1920, 1080, "--cases", "3000")
}

// kiosk opens a browser context that sends a bearer token with every
// request (pages, API calls and the event stream), as a wall display
// behind a kiosk proxy does, instead of logging in.
func (s *browserSuite) kiosk(t *testing.T, name, token string, w, h int64) *user {
	t.Helper()
	ctx, cancel := chromedp.NewContext(s.browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancelTime := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(cancelTime)
	u := &user{s: s, t: t, name: name, ctx: ctx}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": "Bearer " + token}}); err != nil {
		t.Fatal(err)
	}
	u.do(chromedp.EmulateViewport(w, h))
	return u
}

// children counts a region's children through the API.
func children(t *testing.T, app *testApp, code string) []struct {
	Code string `json:"code"`
	Name string `json:"name"`
	P    struct {
		Lat float64 `json:"lat"`
		Lng float64 `json:"lng"`
	} `json:"interior_point"`
} {
	t.Helper()
	var out struct {
		Children []struct {
			Code string `json:"code"`
			Name string `json:"name"`
			P    struct {
				Lat float64 `json:"lat"`
				Lng float64 `json:"lng"`
			} `json:"interior_point"`
		} `json:"children"`
	}
	if status := do(t, "GET", app.URL+"/api/v1/regions/"+code+"/children", "", nil, &out); status != 200 || len(out.Children) == 0 {
		t.Fatalf("children of %s: %d %+v", code, status, out)
	}
	return out.Children
}

// screenReady waits until the screen shows the map of code with its areas
// drawn by ECharts, and returns how many areas the chart has.
func (u *user) screenReady(code string) int {
	u.t.Helper()
	expr := `(function(){var el=document.getElementById('sc-map');if(!el||!window.echarts||el.getAttribute('data-region')!==` + fmt.Sprintf("%q", code) + `)return -1;
		var c=echarts.getInstanceByDom(el);if(!c)return -1;var o=c.getOption();if(!o.series||!o.series.length||!o.series[0].data||!o.series[0].data.length)return -1;
		var m=echarts.getMap('r'+` + fmt.Sprintf("%q", code) + `);var n=m&&(m.geoJSON||m.geoJson);
		if(!n||n.features.length!==o.series[0].data.length||Number(el.getAttribute('data-areas'))!==n.features.length)return -1;
		return document.querySelector('[data-kpi="open"] b').textContent==='–'?-1:n.features.length})()`
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if n := eval[int](u, expr); n >= 0 {
			return n
		}
		time.Sleep(100 * time.Millisecond)
	}
	u.shot("failure")
	u.t.Fatalf("%s: the screen of %s never drew its map (at %s)", u.name, code, u.url())
	return 0
}

// clickArea clicks the middle of a child area on the screen's map.
func (u *user) clickArea(lat, lng float64) {
	u.t.Helper()
	xy := eval[[]float64](u, fmt.Sprintf(`(function(){var el=document.getElementById('sc-map');var c=echarts.getInstanceByDom(el);
		var p=c.convertToPixel({seriesIndex:0},[%f,%f]);var r=el.getBoundingClientRect();return [r.left+p[0],r.top+p[1]]})()`, lng, lat))
	u.do(chromedp.MouseClickXY(xy[0], xy[1]))
}

// waitFeed waits at most within for the live feed to show want, and
// reports whether it did. The bound is the acceptance criterion ("a new
// case appears within 2 seconds"), checked as a deadline, not measured.
func (u *user) waitFeed(want string, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for {
		if strings.Contains(u.text("#sc-feed"), want) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitChange waits until the element's text is no longer old.
func (u *user) waitChange(sel, old string) {
	u.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for u.text(sel) == old {
		if time.Now().After(deadline) {
			u.shot("failure")
			u.t.Fatalf("%s: %s still shows %q", u.name, sel, old)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitLive waits until the screen's event stream is connected.
func (u *user) waitLive() {
	u.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for eval[string](u, "document.getElementById('sc-live').getAttribute('data-state')") != "open" {
		if time.Now().After(deadline) {
			u.shot("failure")
			u.t.Fatalf("%s: the event stream never connected", u.name)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// report submits a case as the demo resident at a grid's inside point and
// returns its number.
func report(t *testing.T, app *testApp, token, grid string) string {
	t.Helper()
	lat, lng := interior(t, app, grid)
	var c caseResp
	if status := do(t, "POST", app.URL+"/api/v1/cases", token, map[string]any{"category": "ZL0302", "description": "大屏测试：楼道堆放杂物",
		"lat": lat, "lng": lng}, &c); status != 201 {
		t.Fatalf("report in %s: %d", grid, status)
	}
	return c.Number
}

// TestScreenBrowser drives the big screen in chromium: the map has one area
// per child, a click drills down and the breadcrumb leads back, a case
// reported through the API appears in the live feed within 2 seconds, and
// a street leader (created through the API, on a kiosk with a bearer
// token) sees that street only.
func TestScreenBrowser(t *testing.T) {
	s := newScreenSuite(t)
	app := s.app
	resident := login(t, app, "demo-resident")

	// A grid worker registers two people (one floating): the base-data
	// panel counts them from the registry's rollup.
	gridWorker := login(t, app, "demo-grid")
	for i, status := range []string{"resident", "floating"} {
		in := map[string]any{"id_number": idNumber(fmt.Sprintf("33030319800101%03d", 500+i)), "name": "大屏人口", "status": status, "grid_code": "330303001011001"}
		if status == "floating" {
			in["registered_on"] = "2026-01-05"
		}
		if code := do(t, "POST", app.URL+"/api/v1/people", gridWorker, in, nil); code != 201 {
			t.Fatalf("register a person: %d", code)
		}
	}
	var base struct {
		People   int            `json:"people"`
		ByStatus map[string]int `json:"people_by_status"`
	}
	if code := do(t, "GET", app.URL+"/api/v1/regions/330303/base-counts", login(t, app, "demo-leader"), nil, &base); code != 200 || base.People < 2 || base.ByStatus["floating"] < 1 {
		t.Fatalf("district base counts: %d %+v", code, base)
	}

	// The district leader logs in and opens /screen: their own district.
	leader := s.as(t, "demo-leader", 1920, 1080)
	leader.open("/screen")
	leader.waitURL(func(u string) bool { return strings.HasSuffix(u, "/screen/330303") })
	streets := children(t, app, "330303")
	if got := leader.screenReady("330303"); got != len(streets) {
		t.Errorf("the district's map has %d areas, want its %d streets", got, len(streets))
	}
	for _, k := range []string{"open", "reports_today", "on_time_rate", "satisfaction", "avg_handling_hours"} {
		if v := leader.text(`[data-kpi="` + k + `"] b`); v == "" || v == "–" {
			t.Errorf("KPI %s shows %q", k, v)
		}
	}
	if n := eval[int](leader, "document.querySelectorAll('#sc-hotspots li:not(.empty)').length"); n == 0 {
		t.Error("no hotspot grids listed")
	}
	leader.waitShown(`[data-base="people"] b`, fmt.Sprint(base.People))
	leader.waitShown(`[data-base="floating"] b`, fmt.Sprint(base.ByStatus["floating"]))
	// No 考核 period is published in this demo: the 对标 panel says so.
	leader.do(chromedp.WaitVisible(chromedp.CSS(`#sc-bench[data-state="none"]`)))
	if got := leader.text("#sc-bench-rows"); !strings.Contains(got, "尚无已发布的考核周期") {
		t.Errorf("the 对标 panel without a published period shows %q", got)
	}
	if !strings.Contains(leader.text("#sc-note"), "示意") {
		t.Error("the generated boundaries are not marked 示意")
	}
	leader.waitLive()
	leader.shot("district")

	// A case reported through the API shows in the live feed within 2 s.
	reportsBefore := leader.text(`[data-kpi="reports_today"] b`)
	number := report(t, app, resident, "330303001011001")
	if !leader.waitFeed(number, 2*time.Second) {
		leader.shot("failure")
		t.Errorf("case %s did not appear in the live feed within 2 seconds; the feed shows %q", number, leader.text("#sc-feed"))
	}
	// The event makes the screen re-read its figures: today's reports go up.
	leader.waitChange(`[data-kpi="reports_today"] b`, reportsBefore)
	leader.docShot("feed", "screen.png")

	// Clicking a street drills down to its communities; the breadcrumb
	// leads back up.
	st := streets[0]
	leader.clickArea(st.P.Lat, st.P.Lng)
	leader.waitURL(func(u string) bool { return strings.HasSuffix(u, "/screen/"+st.Code) })
	if got, want := leader.screenReady(st.Code), len(children(t, app, st.Code)); got != want {
		t.Errorf("%s's map has %d areas, want its %d communities", st.Name, got, want)
	}
	if crumbs := leader.text("#sc-crumbs"); !strings.Contains(crumbs, "龙湾区") || !strings.Contains(crumbs, st.Name) {
		t.Errorf("breadcrumb %q, want 龙湾区 › %s", crumbs, st.Name)
	}
	leader.shot("street")
	leader.do(chromedp.Click(chromedp.CSS(`#sc-crumbs a[data-code="330303"]`)))
	leader.waitURL(func(u string) bool { return strings.HasSuffix(u, "/screen/330303") })
	leader.screenReady("330303")

	// On a laptop the screen still draws its map at a usable size.
	laptop := s.as(t, "demo-leader", 1366, 768)
	laptop.open("/screen/330303")
	laptop.screenReady("330303")
	if wh := eval[[]float64](laptop, "(function(){var r=document.getElementById('sc-map').getBoundingClientRect();return [r.width,r.height]})()"); wh[0] < 400 || wh[1] < 250 {
		t.Errorf("on a 1366×768 laptop the map is %v px", wh)
	}
	laptop.docShot("laptop", "screen-1366.png")

	// On a 390 px phone the leader still gets the map and the figures.
	phone := s.as(t, "demo-leader", 390, 844)
	phone.open("/screen/330303")
	phone.screenReady("330303")
	if v := phone.text(`[data-kpi="open"] b`); v == "" || v == "–" {
		t.Errorf("on a phone the open KPI shows %q", v)
	}
	// One column: no panel is drawn over another, nothing is wider than
	// the phone.
	if n := eval[int](phone, `(function(){var r=[].map.call(document.querySelectorAll('.sc-panel'),function(e){return e.getBoundingClientRect()}),n=0;
		for(var i=0;i<r.length;i++)for(var j=i+1;j<r.length;j++)if(r[i].top<r[j].bottom-1&&r[j].top<r[i].bottom-1&&r[i].left<r[j].right-1&&r[j].left<r[i].right-1)n++;return n})()`); n > 0 {
		t.Errorf("on a 390 px phone %d pairs of the screen's panels overlap", n)
	}
	phone.noOverflow("/screen at 390 px")
	phone.docShot("phone", "screen-390.png")

	// A street leader, created through the API, on a kiosk: that street only.
	admin := login(t, app, "demo-admin")
	other := streets[1]
	if status := do(t, "POST", app.URL+"/api/v1/users", admin, map[string]any{"username": "screen-leader", "password": "screen-leader-pass",
		"roles": []string{"leader"}, "region": other.Code}, nil); status != 201 {
		t.Fatalf("create the street leader: %d", status)
	}
	var tok struct {
		Token string `json:"token"`
	}
	if status := do(t, "POST", app.URL+"/api/v1/session", "", map[string]string{"username": "screen-leader", "password": "screen-leader-pass"}, &tok); status != 200 {
		t.Fatalf("street leader login: %d", status)
	}
	kiosk := s.kiosk(t, "screen-leader", tok.Token, 1920, 1080)
	kiosk.open("/screen")
	kiosk.waitURL(func(u string) bool { return strings.HasSuffix(u, "/screen/"+other.Code) })
	if got, want := kiosk.screenReady(other.Code), len(children(t, app, other.Code)); got != want {
		t.Errorf("the street leader's map has %d areas, want %d", got, want)
	}
	if crumbs := eval[int](kiosk, "document.querySelectorAll('#sc-crumbs a').length"); crumbs != 1 {
		t.Errorf("the street leader's breadcrumb has %d links, want only the street", crumbs)
	}
	page := kiosk.text("body")
	for _, s := range streets {
		if s.Code != other.Code && strings.Contains(page, s.Name) {
			t.Errorf("the street leader's screen names another street, %s", s.Name)
		}
	}
	kiosk.waitLive()
	outside := report(t, app, resident, "330303001011001") // in 永中街道, not theirs
	inside := report(t, app, resident, children(t, app, children(t, app, other.Code)[0].Code)[0].Code)
	if !kiosk.waitFeed(inside, 2*time.Second) {
		t.Errorf("case %s in the street did not appear in its leader's feed within 2 seconds", inside)
	}
	if strings.Contains(kiosk.text("#sc-feed"), outside) {
		t.Errorf("case %s in another street appears in the street leader's feed", outside)
	}
	kiosk.shot("street-leader")
	kiosk.open("/screen/330303")
	if !strings.Contains(kiosk.text("body"), "页面不存在") {
		t.Errorf("the district's screen for a street leader: %q, want the 404 page", kiosk.text("body"))
	}
}

// TestRollupCommand runs `whistle rollup rebuild` next to a running demo
// with history: no difference at first; a corrupted row is reported, with
// --check an error, and replaced.
func TestRollupCommand(t *testing.T) {
	data := dataArgs(t, "sqlite")
	startApp(t, "demo", data, "--cases", "800")
	withData := func(args ...string) []string { return append(args, data...) }
	out, err := cli(t, withData("rollup", "rebuild", "--dry-run")...)
	if err != nil || !strings.Contains(out, "800 cases") || !strings.Contains(out, " 0 differences") {
		t.Fatalf("rebuild --dry-run: %v\n%s", err, out)
	}
	d, err := db.Open(context.Background(), db.Config{DataDir: data[1]}, clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.InTx(context.Background(), func(tx *db.Tx) error {
		_, err := tx.Exec(context.Background(), `UPDATE rollup_state SET n = n + 7 WHERE node = '330303' AND status = 'closed'
			AND category = (SELECT MIN(category) FROM rollup_state WHERE node = '330303' AND status = 'closed')`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	out, err = cli(t, withData("rollup", "rebuild", "--check")...)
	if err == nil || !strings.Contains(out, "rollup_state node=330303 category=") || !strings.Contains(out, " 1 differences") {
		t.Errorf("rebuild --check after corrupting a row: %v\n%s", err, out)
	}
	out, err = cli(t, withData("rollup", "rebuild", "--check", "--quiet")...)
	if err != nil || !strings.Contains(out, " 0 differences") || strings.Contains(out, "rollup_state node=") {
		t.Errorf("rebuild after the repair: %v\n%s", err, out)
	}
}
