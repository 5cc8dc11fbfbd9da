package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestUXBrowser walks issue 15's items 5 and 7 in chromium on a demo with
// history: the staff queue on a 390 px phone (cards, folded filters, the
// time left in the limit's unit, a navigation that does not overflow in
// English) and the big screen reached from the leader's navigation, with
// 实时动态 filled on load, the hot-grid list inside its panel and the open
// cases of a community as points that open their case.
func TestUXBrowser(t *testing.T) {
	s := newBrowserSuite(t, 1920, 1080, "--cases", "1500")
	t.Run("PhoneQueue", s.phoneQueue)
	t.Run("ScreenReach", s.screenReach)
	t.Run("RequiredField", s.requiredField)
	t.Run("Accessibility", s.accessibility)
}

// waitEval waits until expr is true.
func (u *user) waitEval(expr string) {
	u.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !eval[bool](u, "!!("+expr+")") {
		if time.Now().After(deadline) {
			u.shot("failure")
			u.t.Fatalf("%s: waited in vain for %s (at %s)", u.name, expr, u.url())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// noOverflow fails when the page is wider than the window.
func (u *user) noOverflow(what string) {
	u.t.Helper()
	if wh := eval[[]int](u, "[document.documentElement.scrollWidth, window.innerWidth]"); wh[0] > wh[1] {
		u.shot("failure")
		u.t.Errorf("%s: the page is %d px wide in a %d px window", what, wh[0], wh[1])
	}
}

func (s *browserSuite) phoneQueue(t *testing.T) {
	// A fresh report waits for acceptance under its working-hours limit.
	_, number := s.submitInCommunity(t, login(t, s.app, "demo-resident"), "小区南门垃圾桶满溢，无人清运。")
	staff := s.as(t, "demo-community", 390, 844)
	staff.open("/cases?queue=pending")
	staff.do(chromedp.WaitVisible(chromedp.CSS("#queue")))
	if eval[bool](staff, "document.querySelector('details.fold').open") {
		t.Error("on a phone the filters are open, want them folded away")
	}
	if d := eval[string](staff, "getComputedStyle(document.querySelector('table.cases tbody tr')).display"); d != "grid" {
		t.Errorf("a queue row displays as %q on a phone, want a card (grid)", d)
	}
	// Each card shows its title, place, status and time left, all visible.
	for _, sel := range []string{".c-cat", ".c-place", ".c-status"} {
		if w := eval[float64](staff, "document.querySelector('table.cases tbody tr "+sel+"').getBoundingClientRect().width"); w <= 0 {
			t.Errorf("the card's %s is not visible", sel)
		}
	}
	card := eval[string](staff, "(function(){var r=[...document.querySelectorAll('table.cases tbody tr')].find(function(r){return r.innerText.indexOf("+strconv.Quote(number)+")>=0});return r?r.innerText:''})()")
	if !strings.Contains(card, "个工作小时") || !strings.Contains(card, "截止") {
		t.Errorf("the new case's card does not say its time left in working hours with the deadline: %q", card)
	}
	staff.noOverflow("the queue on a phone")
	staff.docShot("phone-queue", "queue-cards-390.png")
	staff.do(chromedp.Click(chromedp.CSS("details.fold > summary")))
	staff.do(chromedp.WaitVisible(chromedp.CSS("#f-q")))
	staff.docShot("phone-filters", "queue-filters-390.png")

	// In English the sections wrap inside the window.
	staff.open("/lang/en?next=/cases")
	staff.do(chromedp.WaitVisible(chromedp.CSS("nav.sections")))
	if wh := eval[[]int](staff, "(function(){var n=document.querySelector('nav.sections');return [n.scrollWidth,n.clientWidth]})()"); wh[0] > wh[1] {
		t.Errorf("the English navigation is %d px wide in %d px", wh[0], wh[1])
	}
	staff.noOverflow("the English queue on a phone")
	staff.docShot("phone-queue-en", "queue-cards-390-en.png")

	desk := s.as(t, "demo-community", 1366, 900)
	desk.open("/cases?queue=all")
	desk.do(chromedp.WaitVisible(chromedp.CSS("#f-q")))
	desk.docShot("desktop-queue", "queue-desktop.png")
}

func (s *browserSuite) screenReach(t *testing.T) {
	leader := s.as(t, "demo-leader", 1920, 1080)
	leader.open("/")
	leader.do(chromedp.Click(chromedp.CSS(`nav.sections a[href="/screen"]`)))
	leader.waitURL(func(u string) bool { return strings.HasSuffix(u, "/screen/330303") })
	leader.screenReady("330303")
	// 实时动态 shows the latest events on load, before any new one.
	leader.waitCount("#sc-feed li[data-case]", 1)
	// The hot-grid list fits its panel: no scroll bar, no line cut.
	if hc := eval[[]int](leader, "(function(){var l=document.getElementById('sc-hotspots');return [l.scrollHeight,l.clientHeight,l.children.length]})()"); hc[0] > hc[1]+1 || hc[2] == 0 {
		t.Errorf("the hot-grid list is %d px in %d px with %d lines", hc[0], hc[1], hc[2])
	}
	leader.docShot("screen", "screen-feed-on-load.png")

	// A community: its open cases as points coloured by time state; a
	// click on one opens its case.
	var hot struct {
		Grids []struct {
			Code string `json:"code"`
		} `json:"grids"`
	}
	if code := do(t, "GET", s.app.URL+"/api/v1/stats/hotspots?limit=1", login(t, s.app, "demo-leader"), nil, &hot); code != 200 || len(hot.Grids) == 0 {
		t.Fatalf("hotspots: %d %+v", code, hot)
	}
	community := hot.Grids[0].Code[:12]
	leader.open("/screen/" + community)
	leader.screenReady(community)
	leader.waitEval("document.getElementById('sc-map').getAttribute('data-points')>0")
	pt := eval[[]float64](leader, `(function(){var el=document.getElementById('sc-map');var c=echarts.getInstanceByDom(el);
		var d=c.getOption().series[1].data[0];var p=c.convertToPixel({seriesIndex:1},d.value);var r=el.getBoundingClientRect();return [r.left+p[0],r.top+p[1],d.id]})()`)
	colors := eval[int](leader, `(function(){var c=echarts.getInstanceByDom(document.getElementById('sc-map'));var seen={};
		c.getOption().series[1].data.forEach(function(d){seen[d.sla]=1});return Object.keys(seen).length})()`)
	t.Logf("community %s: %d time states among its points", community, colors)
	leader.docShot("screen-community", "screen-community-points.png")
	leader.do(chromedp.MouseClickXY(pt[0], pt[1]))
	leader.waitURL(func(u string) bool { return strings.HasSuffix(u, fmt.Sprintf("/cases/%d", int64(pt[2]))) })
}

// requiredField: a grid worker reports a 雨水井盖 (one of the manhole-cover
// categories that share the required 井盖状态) without the state. The
// error is on the field in the section on screen, not on another
// category's hidden copy, and the page scrolls to it. The page speaks the
// grid worker's language (上报问题, no 匿名吹哨).
func (s *browserSuite) requiredField(t *testing.T) {
	for _, sz := range []struct {
		name string
		w, h int64
	}{{"phone", 390, 844}, {"desktop", 1366, 900}} {
		grid := s.as(t, "demo-grid", sz.w, sz.h)
		grid.open("/report")
		grid.do(chromedp.WaitVisible(chromedp.CSS("#report-form")))
		if h1 := grid.text("h1"); h1 != "上报问题" {
			t.Errorf("%s: the grid worker's report page is titled %q, want 上报问题", sz.name, h1)
		}
		if n := grid.count("#anonymous"); n != 0 {
			t.Errorf("%s: the grid worker is offered 匿名吹哨", sz.name)
		}
		grid.do(chromedp.Click(chromedp.CSS(`.chips [data-cat="BJ0103"]`)))
		grid.do(chromedp.SendKeys(chromedp.CSS("#description"), "雨水井盖缺失，行人容易踩空。"))
		grid.pickOnMap("[data-map=pick]")
		grid.waitText("[data-loc-readout]", "网格")
		grid.do(chromedp.Click(chromedp.CSS("[data-submit]")))
		field := `[data-fields-for="BJ0103"] [data-error-for="fields.cover_state"]`
		grid.waitEval("document.querySelector('" + field + "') && !document.querySelector('" + field + "').hidden")
		if got := grid.text(field); !strings.Contains(got, "必填") && !strings.Contains(got, "请") {
			t.Errorf("%s: the error on 井盖状态 says %q", sz.name, got)
		}
		if inv := eval[string](grid, `document.querySelector('[data-fields-for="BJ0103"] select').getAttribute('aria-invalid')`); inv != "true" {
			t.Errorf("%s: the visible 井盖状态 select is not marked invalid (aria-invalid=%q)", sz.name, inv)
		}
		// The page scrolls to it: the field ends up inside the window.
		grid.waitEval(`(function(){var r=document.querySelector('[data-fields-for="BJ0103"] select').getBoundingClientRect();return r.top>=0&&r.bottom<=window.innerHeight})()`)
		grid.docShot("required-"+sz.name, "report-required-field-"+sz.name+".png")
	}
}
