package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// waitShown waits until the element is shown (not hidden) with text
// containing want, and returns its text.
func (u *user) waitShown(sel, want string) string {
	u.t.Helper()
	q := strconv.Quote(sel)
	js := "(function(){var e=document.querySelector(" + q + ");return e&&!e.hidden&&e.offsetParent!==null?e.innerText:''})()"
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if s := eval[string](u, js); s != "" && strings.Contains(s, want) {
			return s
		}
		time.Sleep(100 * time.Millisecond)
	}
	u.shot("failure")
	u.t.Fatalf("%s: %s was never shown with %q; it shows %q (at %s)", u.name, sel, want, eval[string](u, js), u.url())
	return ""
}

// dialogs answers the page's JavaScript dialogs (confirm): each one's
// message is sent on asked, and it is accepted or dismissed as the next
// value sent on answer says.
func (u *user) dialogs() (asked <-chan string, answer chan<- bool) {
	events := chromedp.Events(u.ctx, page.JavascriptDialogOpening)
	q, a := make(chan string, 4), make(chan bool, 4)
	go func() {
		for ev, err := range events {
			if err != nil {
				return
			}
			q <- ev.Message
			_, _ = chromedp.Call(u.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: <-a})
		}
	}()
	return q, a
}

// adminSLA: an administrator adds a time limit and a calendar day through
// the forms of /admin/sla, sees the field errors of bad ones, and deletes
// both again; the API agrees at every step.
func (s *browserSuite) adminSLA(t *testing.T) {
	admin := s.as(t, "demo-admin", 1366, 900)
	tok := login(t, s.app, "demo-admin")
	type limit struct {
		ID             int64  `json:"id"`
		Workflow       string `json:"workflow"`
		Stage          string `json:"stage"`
		CategoryPrefix string `json:"category_prefix"`
		Limit          string `json:"limit"`
		WarnPercent    int    `json:"warn_percent"`
	}
	find := func() *limit {
		var v struct {
			Limits []limit `json:"time_limits"`
		}
		if code := do(t, "GET", s.app.URL+"/api/v1/time-limits", tok, nil, &v); code != 200 {
			t.Fatalf("time limits: %d", code)
		}
		for i := range v.Limits {
			if v.Limits[i].CategoryPrefix == "ZL0699" {
				return &v.Limits[i]
			}
		}
		return nil
	}
	admin.open("/admin/sla")
	form := `form[data-action="/api/v1/time-limits"]`
	admin.do(chromedp.WaitVisible(chromedp.CSS(form)),
		chromedp.SetValue(chromedp.CSS("#l-wf"), "whistle"), chromedp.SetValue(chromedp.CSS("#l-stage"), "handle"),
		chromedp.SendKeys(chromedp.CSS("#l-limit"), "三天"), chromedp.SendKeys(chromedp.CSS("#l-cat"), "ZL0699"),
		chromedp.SendKeys(chromedp.CSS("#l-warn"), "70"), chromedp.Click(chromedp.CSS(form+" button[type=submit]")))
	admin.waitShown(form+` [data-error-for="limit"]`, "无效")
	if find() != nil {
		t.Fatal("a time limit with a bad limit was saved")
	}
	admin.shot("limit-error")
	admin.do(chromedp.SetValue(chromedp.CSS("#l-limit"), "3wd"), chromedp.Click(chromedp.CSS(form+" button[type=submit]")))
	var l *limit
	for deadline := time.Now().Add(15 * time.Second); l == nil && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		l = find()
	}
	if l == nil || l.Workflow != "whistle" || l.Stage != "handle" || l.Limit != "3wd" || l.WarnPercent != 70 {
		t.Fatalf("saved limit: %+v, want whistle handle ZL0699 3wd at 70%%", l)
	}
	del := `[data-json-delete="/api/v1/time-limits/` + strconv.FormatInt(l.ID, 10) + `"]`
	admin.do(chromedp.WaitVisible(chromedp.CSS(del)))
	admin.shot("limit-added")

	// Edited in place: a bad warning percentage is named by its label in
	// the row (its message names no field) and nothing is saved; a good
	// edit is saved on the same rule.
	id := strconv.FormatInt(l.ID, 10)
	row := `form#e-limit-` + id
	rowLimit, rowWarn := `input[form="e-limit-`+id+`"][name="limit"]`, `input[form="e-limit-`+id+`"][name="warn_percent"]`
	admin.do(chromedp.SetValue(chromedp.CSS(rowLimit), "5wd"), chromedp.SetValue(chromedp.CSS(rowWarn), "150"),
		chromedp.Click(chromedp.CSS(row+" button[type=submit]")))
	admin.waitShown(row+` [data-error-for="warn_percent"]`, "预警比例 %：超出范围")
	if got := find(); got == nil || got.Limit != "3wd" {
		t.Fatalf("after a bad in-place edit: %+v, want 3wd kept", got)
	}
	admin.do(chromedp.SetValue(chromedp.CSS(rowWarn), "70"), chromedp.Click(chromedp.CSS(row+" button[type=submit]")))
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if got := find(); got != nil && got.Limit == "5wd" && got.ID == l.ID && got.WarnPercent == 70 && got.Stage == "handle" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("in-place edit: %+v, want the same rule with 5wd", find())
		}
	}

	// Delete asks first; the test accepts the dialog and keeps its text.
	asked, answer := admin.dialogs()
	answer <- true
	admin.do(chromedp.WaitVisible(chromedp.CSS(del)), chromedp.Click(chromedp.CSS(del)))
	select {
	case q := <-asked:
		if !strings.Contains(q, "确定删除") {
			t.Errorf("delete confirmation: %q, want 确定删除…", q)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("deleting a time limit asked nothing")
	}
	for deadline := time.Now().Add(15 * time.Second); find() != nil; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the time limit was not deleted")
		}
	}

	// Working hours: a bad value is refused next to the field.
	hours := `form[data-action="/api/v1/calendar/hours"]`
	admin.open("/admin/sla")
	admin.do(chromedp.WaitVisible(chromedp.CSS(hours)), chromedp.SetValue(chromedp.CSS("#c-hours"), "17:30-08:30"),
		chromedp.Click(chromedp.CSS(hours+" button[type=submit]")))
	admin.waitShown(hours+` [data-error-for="work_hours"]`, "工作时段")

	// A calendar day: without a date the form says so; with one it is set,
	// listed, and deleted again.
	day := `form[data-action="/api/v1/calendar/days/{date}"]`
	admin.do(chromedp.SetValue(chromedp.CSS("#c-kind"), "holiday"), chromedp.SendKeys(chromedp.CSS("#c-name"), "测试停工日"),
		chromedp.Click(chromedp.CSS(day+" button[type=submit]")))
	admin.waitShown(day+` [data-error-for="date"]`, "必填")
	year := time.Now().In(time.FixedZone("CST", 8*3600)).Year()
	date := strconv.Itoa(year) + "-12-14"
	admin.do(chromedp.SetValue(chromedp.CSS("#c-date"), date), chromedp.Click(chromedp.CSS(day+" button[type=submit]")))
	delDay := `[data-json-delete="/api/v1/calendar/days/` + date + `"]`
	admin.do(chromedp.WaitVisible(chromedp.CSS(delDay)))
	calendarHas := func() bool {
		var c struct {
			Days []struct {
				Date string `json:"date"`
				Kind string `json:"kind"`
				Name string `json:"name"`
			} `json:"days"`
		}
		do(t, "GET", s.app.URL+"/api/v1/calendar?year="+strconv.Itoa(year), tok, nil, &c)
		for _, d := range c.Days {
			if d.Date == date {
				if d.Kind != "holiday" || d.Name != "测试停工日" {
					t.Errorf("calendar day %s: %+v, want a holiday named 测试停工日", date, d)
				}
				return true
			}
		}
		return false
	}
	if !calendarHas() {
		t.Fatalf("the calendar API lacks %s after the form set it", date)
	}
	admin.shot("day-set")
	answer <- true // its confirmation
	admin.do(chromedp.Click(chromedp.CSS(delDay)))
	for deadline := time.Now().Add(15 * time.Second); calendarHas(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the calendar day %s was not deleted", date)
		}
	}
}

// regionImport: the admin's region import previews a file before writing:
// a broken file lists its problems and offers no import; the district's own
// export previews clean, imports, and leaves the tree as it was.
func (s *browserSuite) regionImport(t *testing.T) {
	tok := login(t, s.app, "demo-admin")
	children := func() int {
		var v struct {
			Children []struct {
				Code string `json:"code"`
			} `json:"children"`
		}
		do(t, "GET", s.app.URL+"/api/v1/regions/330303/children", "", nil, &v)
		return len(v.Children)
	}
	before := children()
	req, _ := http.NewRequest("GET", s.app.URL+"/api/v1/regions/export", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	export, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 || len(export) < 1000 {
		t.Fatalf("export: %d, %d bytes, %v", resp.StatusCode, len(export), err)
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "district.geojson")
	bad := filepath.Join(dir, "broken.geojson")
	if err := os.WriteFile(good, export, 0o644); err != nil {
		t.Fatal(err)
	}
	broken := `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"name":"没有编码的网格"},
		"geometry":{"type":"Polygon","coordinates":[[[120.70,27.90],[120.71,27.90],[120.71,27.91],[120.70,27.90]]]}}]}`
	if err := os.WriteFile(bad, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	admin := s.as(t, "demo-admin", 1366, 900)
	admin.open("/admin/regions")
	admin.do(chromedp.WaitVisible(chromedp.CSS("[data-region-import]")),
		chromedp.SetUploadFiles(chromedp.CSS("#geojson-file"), []string{bad}, chromedp.NodeReady),
		chromedp.Click(chromedp.CSS(`[data-import-mode="preview"]`)))
	admin.waitCount("[data-import-result] ul.issues li", 1)
	if eval[bool](admin, `!document.querySelector('[data-import-mode="commit"]').hidden`) {
		t.Error("a broken file offers the import")
	}
	admin.shot("import-broken")
	admin.do(chromedp.SetUploadFiles(chromedp.CSS("#geojson-file"), []string{good}, chromedp.NodeReady),
		chromedp.Click(chromedp.CSS(`[data-import-mode="preview"]`)))
	admin.do(chromedp.WaitVisible(chromedp.CSS(`[data-import-mode="commit"]`)))
	admin.waitShown("[data-import-result] .notice.ok", "")
	admin.shot("import-preview")
	admin.do(chromedp.Click(chromedp.CSS(`[data-import-mode="commit"]`)))
	deadline := time.Now().Add(30 * time.Second)
	for !eval[bool](admin, `document.querySelector('[data-import-mode="commit"]').hidden && !!document.querySelector('[data-import-result] .notice.ok')`) {
		if time.Now().After(deadline) {
			admin.shot("failure")
			t.Fatalf("the import did not finish: %q", admin.text("[data-import-result]"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if after := children(); after != before {
		t.Errorf("the district has %d streets after re-importing its own export, want %d", after, before)
	}
	admin.shot("imported")
}
