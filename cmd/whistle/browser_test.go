package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/xuri/excelize/v2"
)

// The browser tests drive the real pages in Debian's chromium through
// chromedp, against the whole app started by run() with the demo district.
// Without chromium they skip, except under CI=true, where they fail.

const chromiumPath = "/usr/bin/chromium"

// browserSuite is one chromium shared by the tests; each user gets a
// browser context of their own (separate cookies).
type browserSuite struct {
	t        *testing.T
	app      *testApp
	browser  context.Context
	shots    string
	photo    string
	docsShot string
}

// newBrowserSuite starts a demo (with extra demo flags) and a headless
// chromium whose default window is w×h, or skips (fails under CI=true)
// when chromium or the front-end assets are missing.
func newBrowserSuite(t *testing.T, w, h int, demo ...string) *browserSuite {
	t.Helper()
	path := chromiumPath
	if p := os.Getenv("WHISTLE_CHROMIUM"); p != "" {
		path = p
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium is missing at %s; CI must run the browser tests (apt-get install chromium)", path)
		}
		t.Skipf("chromium is missing at %s: skipping the browser tests", path)
	}
	for _, f := range []string{"htmx.min.js", "echarts.min.js", "leaflet.js"} {
		if _, err := os.Stat(filepath.Join("..", "..", "internal", "web", "static", "vendor", f)); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("the front-end assets are missing (%s): run `make assets` first", f)
			}
			t.Skipf("the front-end assets are missing (%s): run `make assets` first", f)
		}
	}
	s := &browserSuite{t: t}
	s.shots = os.Getenv("WHISTLE_ARTIFACTS")
	if s.shots == "" {
		s.shots = t.TempDir()
	} else if err := os.MkdirAll(s.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("WHISTLE_UPDATE_SCREENSHOTS") != "" {
		s.docsShot = filepath.Join("..", "..", "docs", "screenshots")
		if err := os.MkdirAll(s.docsShot, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.photo = writeTestPhoto(t)
	s.app = startApp(t, "demo", dataArgs(t, "sqlite"), demo...)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("disable-extensions", true),
		chromedp.Flag("lang", "zh-CN"), chromedp.Flag("accept-lang", "zh-CN,zh"), chromedp.WindowSize(w, h),
		chromedp.UserDataDir(t.TempDir()))
	browser, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithLogf(func(string, ...any) {}), chromedp.WithErrorf(func(string, ...any) {}))
	t.Cleanup(func() { cancelBrowser(); cancelAlloc() })
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	s.browser = browser
	return s
}

// writeTestPhoto makes a 2000×1500 JPEG, larger than the 1600 px the
// browser shrinks to.
func writeTestPhoto(t *testing.T) string {
	img := image.NewRGBA(image.Rect(0, 0, 2000, 1500))
	for y := 0; y < 1500; y++ {
		for x := 0; x < 2000; x++ {
			img.Set(x, y, color.RGBA{uint8(x / 8), uint8(y / 6), 120, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "scene.jpg")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// user is a logged-in person in a browser context of their own.
type user struct {
	s    *browserSuite
	t    *testing.T
	name string
	ctx  context.Context
}

// as opens a new browser context of width w and logs in through the form.
func (s *browserSuite) as(t *testing.T, name string, w, h int64) *user {
	t.Helper()
	ctx, cancel := chromedp.NewContext(s.browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancelTime := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(cancelTime)
	u := &user{s: s, t: t, name: name, ctx: ctx}
	u.do(chromedp.EmulateViewport(w, h))
	u.login()
	return u
}

// login fills the login form: the one on screen (after a redirect, which
// keeps where to go next) or a fresh one.
func (u *user) login() {
	u.t.Helper()
	if !strings.Contains(u.url(), "/login") {
		u.do(chromedp.Navigate(u.s.app.URL + "/login"))
	}
	u.do(chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), u.name), chromedp.SendKeys(chromedp.CSS("#password"), "whistle-demo"),
		chromedp.Click(chromedp.CSS("form button[type=submit]")))
	u.waitURL(func(s string) bool { return !strings.Contains(s, "/login") })
}

// do runs actions and fails the test with a screenshot if one fails.
func (u *user) do(actions ...chromedp.Action[chromedp.Void]) {
	u.t.Helper()
	if err := chromedp.Do(u.ctx, actions...); err != nil {
		u.shot("failure")
		u.t.Fatalf("%s: %v (at %s)", u.name, err, u.url())
	}
}

func (u *user) url() string {
	s, _ := chromedp.Run(u.ctx, chromedp.Evaluate[string]("location.href"))
	return s
}

// eval evaluates JavaScript and returns its value.
func eval[T any](u *user, expr string) T {
	u.t.Helper()
	for try := 1; ; try++ {
		v, err := chromedp.Run(u.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
		if err == nil {
			return v
		}
		// A click that navigates swaps the document under a polling
		// evaluation (CI: "Inspected target navigated or closed"); the
		// next try runs in the new page.
		if try < 30 && navigating(err) {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		u.shot("failure")
		u.t.Fatalf("%s: eval %q: %v", u.name, expr, err)
		return v
	}
}

// navigating reports whether err is Chrome's answer to an evaluation in
// a page being replaced by a navigation.
func navigating(err error) bool {
	for _, s := range []string{"navigated or closed", "Execution context was destroyed", "Cannot find context with specified id",
		"Not attached to an active page"} {
		if strings.Contains(err.Error(), s) {
			return true
		}
	}
	return false
}

// waitURL waits until the location satisfies ok (navigations included).
func (u *user) waitURL(ok func(string) bool) string {
	u.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		s, err := chromedp.Run(u.ctx, chromedp.Evaluate[string]("document.readyState === 'complete' ? location.href : ''"))
		if err == nil && s != "" && ok(s) {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	u.shot("failure")
	u.t.Fatalf("%s: waited in vain for the page to change; at %s", u.name, u.url())
	return ""
}

// waitText waits until the element's text contains want.
func (u *user) waitText(sel, want string) {
	u.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	q := strconv.Quote(sel)
	for time.Now().Before(deadline) {
		s, err := chromedp.Run(u.ctx, chromedp.Evaluate[string]("(function(){var e=document.querySelector("+q+");return e?e.innerText:''})()"))
		if err == nil && strings.Contains(s, want) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	u.shot("failure")
	got, _ := chromedp.Run(u.ctx, chromedp.Evaluate[string]("(function(){var e=document.querySelector("+q+");return e?e.innerText:'(none)'})()"))
	u.t.Fatalf("%s: %s never showed %q; it shows %q (at %s)", u.name, sel, want, got, u.url())
}

// shot saves a full-page screenshot under the artifacts directory.
func (u *user) shot(name string) string {
	buf, err := chromedp.Run(u.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		u.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	p := filepath.Join(u.s.shots, strings.ReplaceAll(u.t.Name(), "/", "-")+"-"+name+".png")
	if err := os.WriteFile(p, buf, 0o644); err != nil {
		u.t.Logf("screenshot %s: %v", name, err)
	}
	return p
}

// docShot saves a screenshot and, when asked, refreshes docs/screenshots.
func (u *user) docShot(name, docName string) {
	p := u.shot(name)
	if u.s.docsShot == "" || p == "" || docName == "" {
		return
	}
	b, err := os.ReadFile(p)
	if err == nil {
		err = os.WriteFile(filepath.Join(u.s.docsShot, docName), b, 0o644)
	}
	if err != nil {
		u.t.Logf("docs screenshot: %v", err)
	}
}

// open goes to a path of the app. A page may still be reloading itself
// after its last action (a delete reloads the list), and Chrome aborts
// one of the two navigations (net::ERR_ABORTED); open then tries again,
// a few times, rather than fail on the race.
func (u *user) open(path string) {
	u.t.Helper()
	for try := 1; ; try++ {
		err := chromedp.Do(u.ctx, chromedp.Navigate(u.s.app.URL+path))
		if err == nil {
			return
		}
		if !strings.Contains(err.Error(), "ERR_ABORTED") || try == 5 {
			u.shot("failure")
			u.t.Fatalf("%s: %v (at %s)", u.name, err, u.url())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// act opens an action's form on the case page, lets fill complete it and
// submits it, then waits for the page that confirms it.
func (u *user) act(id int64, action string, fill ...chromedp.Action[chromedp.Void]) {
	u.t.Helper()
	u.open(fmt.Sprintf("/cases/%d", id))
	form := "#act-" + action
	u.do(chromedp.WaitVisible(chromedp.CSS(form)))
	// Open the form's <details> rather than clicking its summary: a click
	// toggles, and the page may have opened it already (a restored draft).
	eval[bool](u, "(function(){var d=document.querySelector('"+form+" details');if(d)d.open=true;return true})()")
	u.do(fill...)
	u.do(chromedp.Click(chromedp.CSS(form + " button[type=submit]")))
	u.waitURL(func(s string) bool { return strings.Contains(s, "done="+action) })
}

// reportViaPage fills the report form: a category, a description, a photo
// and a point picked on the map; it returns the new case's id.
func (u *user) reportViaPage(category, description string, photo bool, docName string) int64 {
	u.t.Helper()
	u.open("/report")
	u.do(chromedp.WaitVisible(chromedp.CSS("#report-form")))
	u.do(chromedp.Click(chromedp.CSS(`[data-cat="` + category + `"]`)))
	u.do(chromedp.SendKeys(chromedp.CSS("#description"), description))
	if photo {
		u.do(chromedp.SetUploadFiles(chromedp.CSS("#photo-album"), []string{u.s.photo}, chromedp.NodeReady))
		u.waitCount("[data-queue] [data-previews] img", 1)
	}
	u.pickOnMap("[data-map=pick]")
	u.waitText("[data-loc-readout]", "网格")
	u.do(chromedp.SendKeys(chromedp.CSS("#address"), "万顺路 18 号"))
	u.docShot("report", docName)
	u.do(chromedp.Click(chromedp.CSS("[data-submit]")))
	loc := u.waitURL(func(s string) bool { return regexp.MustCompile(`/cases/\d+\?new=1`).MatchString(s) })
	m := regexp.MustCompile(`/cases/(\d+)`).FindStringSubmatch(loc)
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

// pickOnMap waits for the map and clicks the middle of it.
func (u *user) pickOnMap(sel string) {
	u.t.Helper()
	u.do(chromedp.ScrollIntoView(chromedp.CSS(sel)))
	deadline := time.Now().Add(20 * time.Second)
	for !eval[bool](u, "!!(document.querySelector('"+sel+"')||{})._map") {
		if time.Now().After(deadline) {
			u.shot("failure")
			u.t.Fatalf("%s: the map never drew", u.name)
		}
		time.Sleep(100 * time.Millisecond)
	}
	xy := eval[[]float64](u, "(function(){var r=document.querySelector('"+sel+"').getBoundingClientRect();return [r.left+r.width/2, r.top+r.height/2]})()")
	u.do(chromedp.MouseClickXY(xy[0], xy[1]))
}

func (u *user) waitCount(sel string, n int) {
	u.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for eval[int](u, "document.querySelectorAll('"+sel+"').length") < n {
		if time.Now().After(deadline) {
			u.shot("failure")
			u.t.Fatalf("%s: fewer than %d of %s", u.name, n, sel)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (u *user) text(sel string) string {
	u.t.Helper()
	return eval[string](u, "(function(){var e=document.querySelector('"+sel+"');return e?e.innerText:''})()")
}

func TestBrowser(t *testing.T) {
	s := newBrowserSuite(t, 1366, 900)
	t.Run("WhistleLoop", s.whistleLoop)
	t.Run("UrbanLoop", s.urbanLoop)
	t.Run("Scope", s.scope)
	t.Run("Forms", s.forms)
	t.Run("Export", s.export)
	t.Run("BulkDispatch", s.bulkDispatch)
	t.Run("LiveQueue", s.liveQueue)
	t.Run("CaseList", s.caseList)
	t.Run("AdminSLA", s.adminSLA)
	t.Run("RegionImport", s.regionImport)
}

// whistleLoop is 红哨 from end to end, through the pages only.
func (s *browserSuite) whistleLoop(t *testing.T) {
	resident := s.as(t, "demo-resident", 375, 812)
	id := resident.reportViaPage("ZL0601", "独居老人王阿姨家水管破裂，需要帮忙联系维修。", true, "resident-report-375.png")
	resident.waitText(".notice.ok", "吹哨成功")
	resident.waitCount(".before-after img", 1)
	resident.shot("reported")

	community := s.as(t, "demo-community", 1366, 900)
	community.open("/cases?queue=pending")
	community.waitCount(fmt.Sprintf(`#queue a[href="/cases/%d"]`, id), 1)
	community.docShot("queue", "staff-queue.png")
	community.act(id, "accept")
	community.act(id, "open_for_claim")

	party := s.as(t, "demo-party", 375, 812)
	party.open("/cases?queue=claimable")
	party.shot("claimable")
	party.act(id, "claim")
	party.act(id, "resolve",
		chromedp.SendKeys(chromedp.CSS("#resolve-note"), "已上门联系物业更换水管，现已恢复供水。"),
		chromedp.SetUploadFiles(chromedp.CSS("#resolve-album"), []string{s.photo}, chromedp.NodeReady),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			deadline := time.Now().Add(20 * time.Second)
			for time.Now().Before(deadline) {
				n, err := chromedp.Run(ctx, chromedp.Evaluate[int]("document.querySelectorAll('#act-resolve input[name=photos]').length"))
				if err == nil && n > 0 {
					return nil
				}
				time.Sleep(100 * time.Millisecond)
			}
			return fmt.Errorf("the after-photo was not uploaded")
		}))

	community.act(id, "verify", chromedp.Click(chromedp.CSS(`label[for="verify-passed-1"]`)))

	resident.act(id, "rate", chromedp.Click(chromedp.CSS(`label[for="rate-stars-5"]`)),
		chromedp.SendKeys(chromedp.CSS("#rate-comment"), "处理及时，非常满意！"))
	resident.waitText(".case-head", "已结案")
	steps := resident.text(".timeline")
	for _, want := range []string{"上报", "受理", "发布认领", "认领", "处置完成", "核查", "评价"} {
		if !strings.Contains(steps, want) {
			t.Errorf("the timeline lacks %q:\n%s", want, steps)
		}
	}
	if n := eval[int](resident, "document.querySelectorAll('.before-after img').length"); n < 2 {
		t.Errorf("want photos before and after, got %d", n)
	}
	resident.shot("closed")
	community.open(fmt.Sprintf("/cases/%d", id))
	community.waitText(".case-head", "已结案")
	community.docShot("case", "staff-case.png")
}

// urbanLoop is 数字城管: report, register, dispatch, return, re-dispatch,
// handle, verify, close.
func (s *browserSuite) urbanLoop(t *testing.T) {
	grid := s.as(t, "demo-grid", 1366, 900)
	id := grid.reportViaPage("SJ0504", "水果摊占用人行道经营，行人需绕行机动车道。", false, "")
	grid.shot("reported")
	street := s.as(t, "demo-street", 1366, 900)
	street.act(id, "register")
	dispatch := func() {
		street.act(id, "dispatch", chromedp.SetValue(chromedp.CSS("#dispatch-target"), "d:CG"),
			chromedp.SendKeys(chromedp.CSS("#dispatch-note"), "请城管中队尽快处置。"))
	}
	dispatch()
	dept := s.as(t, "demo-dept", 1366, 900)
	dept.open("/cases?queue=handling")
	dept.shot("queue")
	dept.act(id, "return", chromedp.SendKeys(chromedp.CSS("#return-reason"), "该点位属市场监管职责，请核实后重新派遣。"))
	dispatch()
	dept.act(id, "start")
	dept.act(id, "resolve", chromedp.SendKeys(chromedp.CSS("#resolve-note"), "已劝离摊贩，恢复人行道通行。"))
	grid.act(id, "verify", chromedp.Click(chromedp.CSS(`label[for="verify-passed-1"]`)))
	street.act(id, "close")
	street.waitText(".case-head", "已结案")
	steps := street.text(".timeline")
	for _, want := range []string{"上报", "立案", "派单", "退单", "开始处置", "处置完成", "核查", "结案"} {
		if !strings.Contains(steps, want) {
			t.Errorf("the timeline lacks %q:\n%s", want, steps)
		}
	}
	if c := strings.Count(steps, "派单"); c < 2 {
		t.Errorf("want two dispatches in the timeline, got %d", c)
	}
	street.shot("closed")
}

// scope: a community's staff cannot open another community's case by URL.
func (s *browserSuite) scope(t *testing.T) {
	tok := login(t, s.app, "demo-admin")
	var kids struct {
		Children []struct {
			Code     string `json:"code"`
			Interior struct {
				Lat float64 `json:"lat"`
				Lng float64 `json:"lng"`
			} `json:"interior_point"`
		} `json:"children"`
	}
	// A grid of another street's first community.
	var streets struct {
		Children []struct {
			Code string `json:"code"`
		} `json:"children"`
	}
	do(t, "GET", s.app.URL+"/api/v1/regions/330303/children", "", nil, &streets)
	var comms struct {
		Children []struct {
			Code string `json:"code"`
		} `json:"children"`
	}
	do(t, "GET", s.app.URL+"/api/v1/regions/"+streets.Children[len(streets.Children)-1].Code+"/children", "", nil, &comms)
	do(t, "GET", s.app.URL+"/api/v1/regions/"+comms.Children[0].Code+"/children", "", nil, &kids)
	p := kids.Children[0].Interior
	var c struct {
		ID int64 `json:"id"`
	}
	if code := do(t, "POST", s.app.URL+"/api/v1/cases", tok, map[string]any{"category": "SJ0102", "description": "外社区的暴露垃圾",
		"lat": p.Lat, "lng": p.Lng}, &c); code != 201 {
		t.Fatalf("seed case: %d", code)
	}
	community := s.as(t, "demo-community", 1366, 900)
	community.open(fmt.Sprintf("/cases/%d", c.ID))
	community.waitText("h1", "页面不存在")
	if body := community.text("main"); !strings.Contains(body, "不存在") || strings.Contains(body, "外社区的暴露垃圾") {
		t.Errorf("another community's case leaked: %q", body)
	}
	community.shot("not-found")
}

// forms: bad input shows field errors next to the fields, in Chinese and,
// after the switch, in English; an expired session keeps the work.
func (s *browserSuite) forms(t *testing.T) {
	resident := s.as(t, "demo-resident", 375, 812)
	resident.open("/report")
	resident.do(chromedp.WaitVisible(chromedp.CSS("#report-form")), chromedp.Click(chromedp.CSS("[data-submit]")))
	resident.waitText(`[data-error-for="description"]`, "必填")
	resident.waitText(`[data-error-for="category"]`, "必填")
	resident.waitText(`[data-error-for="lat"]`, "必填")
	resident.shot("errors-zh")
	resident.do(chromedp.Click(chromedp.CSS(`a.lang[lang="en"]`)))
	resident.waitText("h1", "Report a problem")
	resident.do(chromedp.WaitVisible(chromedp.CSS("#report-form")), chromedp.Click(chromedp.CSS("[data-submit]")))
	resident.waitText(`[data-error-for="description"]`, "Required")
	resident.shot("errors-en")

	// Server-rendered (htmx) form errors too: reject without a reason.
	tok := login(t, s.app, "demo-resident")
	var c struct {
		ID int64 `json:"id"`
	}
	do(t, "POST", s.app.URL+"/api/v1/cases", tok, map[string]any{"category": "ZL0601", "description": "楼道灯坏了",
		"lat": 27.8907, "lng": 120.7842}, &c)
	community := s.as(t, "demo-community", 1366, 900)
	community.open(fmt.Sprintf("/cases/%d", c.ID))
	community.do(chromedp.Click(chromedp.CSS("#act-reject summary")), chromedp.Click(chromedp.CSS("#act-reject button[type=submit]")))
	community.waitText("#act-reject", "必填")
	community.shot("htmx-errors-zh")
	community.do(chromedp.Click(chromedp.CSS(`a.lang[lang="en"]`)))
	community.waitText("h1", "WS")
	community.do(chromedp.Click(chromedp.CSS("#act-reject summary")), chromedp.Click(chromedp.CSS("#act-reject button[type=submit]")))
	community.waitText("#act-reject", "Required")
	community.shot("htmx-errors-en")

	// The session ends while the resident writes: the work survives login.
	resident.open("/lang/zh-CN?next=/report")
	resident.do(chromedp.WaitVisible(chromedp.CSS("#report-form")),
		chromedp.SendKeys(chromedp.CSS("#description"), "会话过期前写下的内容"))
	time.Sleep(500 * time.Millisecond) // the draft is saved after a short pause
	if _, err := chromedp.Call(resident.ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	resident.do(chromedp.Click(chromedp.CSS("[data-submit]")))
	resident.waitURL(func(s string) bool { return strings.Contains(s, "/login?next=") })
	resident.shot("expired")
	resident.login()
	resident.waitURL(func(s string) bool { return strings.HasSuffix(s, "/report") })
	resident.do(chromedp.WaitVisible(chromedp.CSS("#description")))
	deadline := time.Now().Add(10 * time.Second)
	for eval[string](resident, "document.getElementById('description').value") != "会话过期前写下的内容" {
		if time.Now().After(deadline) {
			resident.shot("failure")
			t.Fatal("the draft was not restored after logging in again")
		}
		time.Sleep(100 * time.Millisecond)
	}
	resident.shot("draft-restored")
}

// export: the Excel export of a filtered queue holds exactly its rows.
func (s *browserSuite) export(t *testing.T) {
	community := s.as(t, "demo-community", 1366, 900)
	community.open("/cases?queue=all&category=ZL")
	community.do(chromedp.WaitVisible(chromedp.CSS("#queue")))
	numbers := eval[[]string](community, "Array.from(document.querySelectorAll('#queue tbody td.mono a')).map(a => a.textContent.trim())")
	if len(numbers) == 0 {
		t.Fatal("the filtered queue is empty")
	}
	community.shot("filtered")
	href := eval[string](community, "document.querySelector('a[href^=\"/cases/export.xlsx\"]').getAttribute('href')")
	if !strings.Contains(href, "category=ZL") {
		t.Fatalf("the export link drops the filter: %s", href)
	}
	b64 := eval[string](community, "fetch("+strconv.Quote(href)+").then(r => r.arrayBuffer()).then(b => { let s = ''; new Uint8Array(b).forEach(c => s += String.fromCharCode(c)); return btoa(s); })")
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("the export is not a workbook: %v", err)
	}
	defer f.Close()
	rows, err := f.GetRows(f.GetSheetName(0))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 1 || rows[0][0] != "案件编号" || rows[0][1] != "状态" {
		t.Fatalf("want Chinese headers, got %v", rows[0])
	}
	var got []string
	for _, r := range rows[1:] {
		got = append(got, r[0])
		if !strings.HasPrefix(r[0], "WS") {
			t.Errorf("row %v is outside the filter (category ZL = 红哨 cases)", r)
		}
	}
	if strings.Join(got, ",") != strings.Join(numbers, ",") {
		t.Errorf("the export holds %v, the page shows %v", got, numbers)
	}
}
