package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
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

	benchmarkScreen(t, s, frozen)
	indicatorUpload(t, s, a, c, bench, frozen)
}

// benchmarkScreen: with last month published, the district leader's big
// screen shows the 对标 panel: every street of the district in that
// period, each with its rank and rank range and a trend arrow in one of
// the four states, the leader marked 标兵 and the others' gaps to it; no
// overflow at 1920 or 1366 px and no axe violation. The panel's link and
// the navigation's 对标排名 reach the league of the streets.
func benchmarkScreen(t *testing.T, s *browserSuite, period string) {
	t.Helper()
	streets := children(t, s.app, "330303")
	src := axeScript(t)
	for _, size := range [][2]int64{{1920, 1080}, {1366, 768}, {390, 844}} {
		l := s.as(t, "demo-leader", size[0], size[1])
		l.open("/screen/330303")
		l.do(chromedp.WaitVisible(chromedp.CSS(`#sc-bench[data-state="ready"]`)))
		got := eval[[]int](l, `(function(){
		  var rows = document.querySelectorAll('#sc-bench-rows tr[data-unit]'), ranked = 0, arrows = 0, ranges = 0, gaps = 0;
		  var states = {pulling_away: 1, closing_in: 1, stable: 1, too_noisy: 1};
		  rows.forEach(function (r) {
		    if (r.dataset.rank !== '0') { ranked++; }
		    var tr = r.querySelector('td:nth-child(5) [data-trend]');
		    if (tr && states[tr.dataset.trend]) { arrows++; }
		    if (r.querySelector('[data-range]')) { ranges++; }
		    if (r.dataset.rank !== '1' && /\d/.test(r.querySelector('td:nth-child(6)').textContent)) { gaps++; }
		  });
		  return [rows.length, ranked, arrows, ranges, gaps];
		})()`)
		if got[0] != len(streets) || got[1] != len(streets) || got[2] != len(streets) || got[3] != len(streets) || got[4] != len(streets)-1 {
			l.shot("failure")
			t.Fatalf("at %v the 对标 panel shows %d rows, %d ranked, %d trend arrows, %d rank ranges, %d gaps to the leader; want each of the %d streets "+
				"ranked with its range and arrow and all but the leader with a gap", size, got[0], got[1], got[2], got[3], got[4], len(streets))
		}
		if top := l.text(`#sc-bench-rows tr[data-rank="1"] td:nth-child(6)`); top != "标兵" {
			t.Errorf("the top street's gap column shows %q, want 标兵", top)
		}
		l.noOverflow(fmt.Sprintf("/screen with the 对标 panel at %v", size))
		if size[0] < 1200 {
			// One column on a phone: the panel under the trend, not over
			// it; its table scrolls inside the panel.
			if n := eval[int](l, `(function(){var a=document.querySelector('.sc-trendpanel').getBoundingClientRect(),b=document.getElementById('sc-bench').getBoundingClientRect();
			  return b.top >= a.bottom - 1 && b.right <= window.innerWidth + 1 ? 0 : 1})()`); n != 0 {
				t.Errorf("on a phone the 对标 panel is not under the trend within the window")
			}
			continue
		}
		if over := eval[int](l, `[].filter.call(document.querySelectorAll('#sc-bench-rows td'), function (td) {
		  return td.scrollWidth > td.clientWidth + 1 && !td.classList.contains('unit'); }).length`); over > 0 {
			t.Errorf("at %v %d cells of the 对标 panel overflow", size, over)
		}
		if size[0] == 1920 {
			if v := l.axe(src); len(v) > 0 {
				t.Errorf("axe on the screen with the 对标 panel:\n%s", strings.Join(v, "\n"))
			}
			l.docShot("screen-bench", "screen-benchmark.png")
			l.do(chromedp.Click(chromedp.CSS("#sc-bench-link")))
			l.waitURL(func(u string) bool { return strings.Contains(u, "/benchmarking/league?type=street&period="+period) })
			l.waitCount("#bench-league tr[data-unit]", len(streets))
		}
	}
	// The navigation's 对标排名 reaches the league: the streets in the
	// latest published period.
	l := s.as(t, "demo-leader", 1366, 900)
	l.open("/")
	l.do(chromedp.Click(chromedp.CSS(`nav.sections a[href="/benchmarking/league"]`)))
	l.waitURL(func(u string) bool { return strings.HasSuffix(u, "/benchmarking/league") })
	l.waitCount("#bench-league tr[data-unit]", len(streets))
	if n := eval[int](l, `document.querySelectorAll('#bench-league [data-trend]').length`); n != len(streets) {
		t.Errorf("the league from the navigation shows %d trend arrows, want %d", n, len(streets))
	}
	if h := l.text("h1"); !strings.Contains(h, period) {
		t.Errorf("the league from the navigation is of %q, want the latest published period %s", h, period)
	}
}

// indicatorUpload: the administrator opens 指标导入 from the navigation
// (axe finds nothing on it), checks a file with a bad row and reads the
// row's error; then checks and imports a good file declaring a new
// indicator on which 万顺社区 comes last among its street's communities:
// the community's benchmarking page then names it among its weak points.
func indicatorUpload(t *testing.T, s *browserSuite, a, c *user, bench, period string) {
	t.Helper()
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	communities := children(t, s.app, demo.DemoCommunity[:9])
	var good strings.Builder
	good.WriteString("indicator,unit_code,period,value\n")
	for _, k := range communities {
		v := "96.5"
		if k.Code == demo.DemoCommunity {
			v = "41"
		}
		good.WriteString("upload_check," + k.Code + "," + period + "," + v + "\n")
	}
	decl := write("decl.csv", "key,name,unit,direction,name_en\nupload_check,上传核验率,percent,higher_better,Upload check rate\n")
	bad := write("bad.csv", "indicator,unit_code,period,value\nupload_check,"+demo.DemoCommunity+","+period+",41\nupload_check,"+communities[0].Code+","+period+",abc\n")
	goodFile := write("good.csv", good.String())

	a.open("/")
	a.do(chromedp.Click(chromedp.CSS(`nav.sections a[href="/benchmarking/import"]`)))
	a.waitURL(func(u string) bool { return strings.HasSuffix(u, "/benchmarking/import") })
	if v := a.axe(axeScript(t)); len(v) > 0 {
		t.Errorf("axe on /benchmarking/import:\n%s", strings.Join(v, "\n"))
	}
	a.do(chromedp.SetUploadFiles(chromedp.CSS("#bi-file"), []string{bad}, chromedp.NodeReady),
		chromedp.SetUploadFiles(chromedp.CSS("#bi-decl"), []string{decl}, chromedp.NodeReady),
		chromedp.Click(chromedp.CSS("#bi-check")))
	a.waitText("#bi-error-list", "第 3 行：value：不是数字")
	if eval[bool](a, `!document.getElementById('bi-commit').disabled`) {
		t.Error("a file with a bad row may be imported")
	}
	a.noOverflow("/benchmarking/import with a row error")
	a.do(chromedp.SetUploadFiles(chromedp.CSS("#bi-file"), []string{goodFile}, chromedp.NodeReady),
		chromedp.Click(chromedp.CSS("#bi-check")))
	a.do(chromedp.WaitVisible(chromedp.CSS(`#bi-status[data-state="valid"]`)))
	a.do(chromedp.Click(chromedp.CSS("#bi-commit")))
	a.do(chromedp.WaitVisible(chromedp.CSS(`#bi-status[data-state="done"]`)))
	a.waitText("#bi-status", fmt.Sprintf("已导入 %d 条指标值", len(communities)))
	a.docShot("indicator-import", "indicator-import-1366.png")
	c.open(bench + period)
	c.waitText("#bench-weak", "上传核验率")
}
