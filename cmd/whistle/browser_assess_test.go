package main

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"

	"whistle/internal/benchmark"
	"whistle/internal/demo"
)

// TestBrowserAssessment: on the demo district's 对标 and 考核 data
// (`demo --assessment`), 万顺社区's worker opens its benchmarking page in
// the published month and finds its weak points with their rank ranges
// and trends, the peers that improved most with their practice notes, and
// the study-tour plan; the printable report draws its chart, and the
// Excel export holds the weak points, peers and practices. In last month,
// frozen and unpublished, the page has no weak points (the community sees
// only itself). The district's assessor decides 万顺社区's pending appeal
// (its 党建 score becomes 19) and publishes last month; the community's
// card shows the decided appeal in its history, and its benchmarking page
// for last month now compares it with its peers. Screenshots
// docs/screenshots/benchmarking-1366.png and assessment-1366.png
// (WHISTLE_UPDATE_SCREENSHOTS=1).
func TestBrowserAssessment(t *testing.T) {
	s := newBrowserSuite(t, 1366, 900, "--assessment")
	published, frozen := demo.AssessmentPeriods(time.Now())
	unit := demo.DemoCommunity
	c := s.as(t, "demo-community", 1366, 900)
	bench := "/benchmarking/units/" + unit + "?period="
	c.open(bench + published)
	c.waitText("#bench-weak", "名次区间")
	got := eval[[]int](c, `(function(){
	  var weak = document.querySelectorAll('#bench-weak [data-weak]');
	  var ranged = document.querySelectorAll('#bench-weak [data-weak] [data-range]');
	  var trends = document.querySelectorAll('#bench-weak [data-weak] [data-trend]');
	  var peers = document.querySelectorAll('#bench-weak [data-peer]');
	  var practices = document.querySelectorAll('#bench-weak [data-practice]');
	  var plan = document.querySelectorAll('#bench-plan > li');
	  return [weak.length, ranged.length, trends.length, peers.length, practices.length, plan.length];
	})()`)
	if got[0] == 0 || got[1] != got[0] || got[2] != got[0] || got[3] == 0 || got[4] == 0 || got[5] == 0 {
		c.shot("failure")
		t.Fatalf("the benchmarking page shows %d weak points, %d rank ranges, %d trends, %d peers, %d practices, %d plan stops; want weak points "+
			"each with its range and trend, peers, practices and a plan", got[0], got[1], got[2], got[3], got[4], got[5])
	}
	weakKey := eval[string](c, `document.querySelector('#bench-weak [data-weak]').dataset.weak`)
	weakName := eval[string](c, `document.querySelector('#bench-weak [data-weak] strong').innerText`)
	if weakName == "" || weakName == weakKey {
		t.Errorf("the weak point %s is shown as %q, not by its name", weakKey, weakName)
	}
	practice := eval[string](c, `document.querySelector('#bench-weak [data-practice] em').innerText`)
	c.docShot("benchmarking", "benchmarking-1366.png")
	// The Excel export, fetched as the page's link does.
	b64 := eval[string](c, `fetch(document.getElementById('bench-xlsx').href, {credentials: 'same-origin'}).then(function (r) {
	  if (!r.ok || r.headers.get('content-type').indexOf('spreadsheetml') < 0) { return 'bad ' + r.status + ' ' + r.headers.get('content-type'); }
	  return r.arrayBuffer().then(function (b) { var s = '', a = new Uint8Array(b); for (var i = 0; i < a.length; i++) { s += String.fromCharCode(a[i]); } return btoa(s); });
	})`)
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatalf("the export: %.80s", b64)
	}
	book, err := excelize.OpenReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("the export is not a workbook: %v", err)
	}
	rows, err := book.GetRows(book.GetSheetList()[0])
	if err != nil {
		t.Fatal(err)
	}
	var cells strings.Builder
	for _, r := range rows {
		cells.WriteString(strings.Join(r, "|") + "\n")
	}
	if len(rows) < 2 || !strings.Contains(cells.String(), weakName) || !strings.Contains(cells.String(), practice) {
		t.Fatalf("the export lacks the weak point %s or the practice %q:\n%s", weakName, practice, cells.String())
	}
	// The printable report draws its chart.
	c.do(chromedp.Click(chromedp.CSS("#bench-report")))
	c.waitURL(func(u string) bool { return strings.Contains(u, "/report") })
	c.do(chromedp.WaitVisible(chromedp.CSS(`#bench-chart[data-drawn="1"]`)))
	c.waitText(".report", weakName)
	// Last month is frozen, not published: the community sees itself alone.
	c.open(bench + frozen)
	c.waitText("#bench-weak", "本期没有短板")
	// The peer-group switch: the similar units on the demo's context
	// variables (population, area, share aged 60+), nearest first with
	// their distances, the community itself first.
	c.open(bench + published)
	c.do(chromedp.Click(chromedp.CSS(`#bench-peer-form input[value="similar"]`)), chromedp.Click(chromedp.CSS(`#bench-peer-form button[type="submit"]`)))
	c.waitText("#bench-similar", "万顺社区")
	if n := eval[int](c, `document.querySelectorAll('#bench-similar tr[data-similar]').length`); n != benchmark.DefaultK {
		c.shot("failure")
		t.Errorf("the similar units: %d rows, want %d", n, benchmark.DefaultK)
	}
	if first := eval[string](c, `document.querySelector('#bench-similar tr[data-similar]').dataset.similar`); first != unit {
		t.Errorf("the similar units start with %s, want the community itself", first)
	}
	if v := c.axe(axeScript(t)); len(v) > 0 {
		t.Errorf("axe-core on the similar units:\n%s", strings.Join(v, "\n"))
	}

	a := s.as(t, "demo-admin", 1366, 900)
	a.open("/assessment?period=" + frozen + "&type=community")
	card := "#assess-appeals [data-appeal]"
	a.waitText(card, "待裁定")
	a.do(chromedp.SetValue(chromedp.CSS(card+` input[name="score"]`), "19"),
		chromedp.SendKeys(chromedp.CSS(card+` input[name="note"]`), "签到表核实属实"),
		chromedp.Click(chromedp.CSS(card+` button[type="submit"]`)))
	a.waitText(card, "已支持")
	a.waitText(card, "签到表核实属实")
	// Publish last month: the button asks first.
	eval[bool](a, `(function () { window.confirm = function () { return true; }; return true; })()`)
	row := `#assess-periods tr[data-period="` + frozen + `"]`
	a.do(chromedp.Click(chromedp.CSS(row + ` [data-assess-post$="/publish"]`)))
	a.waitText(row+" [data-status]", "已发布")
	a.docShot("assessment", "assessment-1366.png")

	c.open("/assessment/units/" + unit + "?period=" + frozen)
	c.waitText("#unit-appeals", "已支持")
	c.waitText("#unit-history", "→ 19")
	c.waitText("#unit-history", "申诉裁定")
	c.open(bench + frozen)
	c.waitText("#bench-weak", "名次区间")
}
