package main

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserStaff walks the staff tools of issue 15 item 4 in chromium:
// editing and disabling a user, and reassigning a departed user's cases.
func TestBrowserStaff(t *testing.T) {
	s := newBrowserSuite(t, 1366, 900)
	t.Run("EditAndDisable", s.staffEditAndDisable)
}

// staffEditAndDisable: the admin edits a grid worker who is leaving (name,
// region through the searchable picker), sees a bad phone refused next to
// the field, disables them (they can no longer log in), and hands their
// open case to a colleague, which the case's timeline records.
func (s *browserSuite) staffEditAndDisable(t *testing.T) {
	admin := login(t, s.app, "demo-admin")
	var ids = map[string]int64{}
	for _, name := range []string{"grid-leaver", "grid-mate"} {
		var u struct {
			ID int64 `json:"id"`
		}
		if code := do(t, "POST", s.app.URL+"/api/v1/users", admin, map[string]any{"username": name, "password": "whistle-demo",
			"roles": []string{"grid_worker"}, "region": "330303001011001"}, &u); code != 201 {
			t.Fatalf("add %s: %d", name, code)
		}
		ids[name] = u.ID
	}
	resident := login(t, s.app, "demo-resident")
	caseID, number := s.submitInCommunity(t, resident, "楼道里堆满纸箱，影响消防通道。")
	for _, a := range []struct {
		action string
		body   map[string]any
	}{{"accept", map[string]any{}}, {"dispatch", map[string]any{"target": map[string]any{"user": ids["grid-leaver"]}}}} {
		if code := do(t, "POST", fmt.Sprintf("%s/api/v1/cases/%d/actions/%s", s.app.URL, caseID, a.action), admin, a.body, nil); code != 200 {
			t.Fatalf("%s %d: %d", a.action, caseID, code)
		}
	}
	leaver := strconv.FormatInt(ids["grid-leaver"], 10)

	u := s.as(t, "demo-admin", 1366, 900)
	u.open("/admin/users?q=grid-leaver")
	u.do(chromedp.WaitVisible(chromedp.CSS(`a[href="/admin/users/`+leaver+`"]`)), chromedp.Click(chromedp.CSS(`a[href="/admin/users/`+leaver+`"]`)))
	u.waitText("h1", "grid-leaver")
	u.waitText("#reassign", "1 件")
	// A bad phone is refused next to the field, and nothing is saved.
	u.do(chromedp.SetValue(chromedp.CSS("#ue-name"), "离职网格员"), chromedp.SendKeys(chromedp.CSS("#ue-phone"), "123"),
		chromedp.Click(chromedp.CSS("#edit-user button[type=submit]")))
	u.waitShown("#edit-user .field-error", "手机号")
	u.docShot("phone-error", "staff-user-error-1366.png")
	var got struct {
		DisplayName string `json:"display_name"`
		Disabled    bool   `json:"disabled"`
		Region      struct {
			Code string `json:"code"`
		} `json:"region"`
	}
	do(t, "GET", s.app.URL+"/api/v1/users/"+leaver, admin, nil, &got)
	if got.DisplayName != "" {
		t.Errorf("a refused edit saved the name %q", got.DisplayName)
	}
	// The region picker filters by name; the grid is picked from its path.
	eval[string](u, `document.querySelector('#ue-phone').value = ''`)
	u.do(chromedp.SendKeys(chromedp.CSS("#ue-region-q"), "万顺"))
	if n := eval[int](u, `Array.prototype.filter.call(document.querySelector('#ue-region').options, function(o){return !o.hidden}).length`); n == 0 {
		t.Fatal("the region filter hides every region")
	}
	if eval[bool](u, `Array.prototype.some.call(document.querySelector('#ue-region').options, function(o){return !o.hidden && o.text.indexOf('万顺')<0})`) {
		t.Error("the region filter shows regions without 万顺 in their path")
	}
	u.do(chromedp.SetValue(chromedp.CSS("#ue-region"), "330303001011001"), chromedp.Click(chromedp.CSS("#ue-disabled")),
		chromedp.Click(chromedp.CSS("#edit-user button[type=submit]")))
	u.waitText(".notice.ok", "已保存")
	do(t, "GET", s.app.URL+"/api/v1/users/"+leaver, admin, nil, &got)
	if got.DisplayName != "离职网格员" || !got.Disabled || got.Region.Code != "330303001011001" {
		t.Errorf("after saving: %+v, want 离职网格员, disabled, in 330303001011001", got)
	}
	if code := do(t, "POST", s.app.URL+"/api/v1/session", "", map[string]string{"username": "grid-leaver", "password": "whistle-demo"}, nil); code != 403 {
		t.Errorf("the disabled user's login: %d, want 403", code)
	}
	// Reassigning: without a colleague the form says so; with one the case moves.
	u.do(chromedp.Click(chromedp.CSS("#reassign button[type=submit]")))
	u.waitShown("#reassign .field-error", "必填")
	u.do(chromedp.SetValue(chromedp.CSS("#ra-to"), strconv.FormatInt(ids["grid-mate"], 10)), chromedp.Click(chromedp.CSS("#reassign button[type=submit]")))
	u.waitText(".notice.ok", "已将 1 件案件转交给 grid-mate")
	u.docShot("reassigned", "staff-user-reassigned-1366.png")
	var tl struct {
		Events []struct {
			Action string         `json:"action"`
			Data   map[string]any `json:"data"`
		} `json:"timeline"`
	}
	do(t, "GET", fmt.Sprintf("%s/api/v1/cases/%d/timeline", s.app.URL, caseID), admin, nil, &tl)
	var last string
	if n := len(tl.Events); n > 0 {
		last = fmt.Sprint(tl.Events[n-1].Action, " ", tl.Events[n-1].Data["from_user"], "→", tl.Events[n-1].Data["target_user"])
	}
	if last != "reassign grid-leaver→grid-mate" {
		t.Errorf("case %s's last timeline entry = %q, want reassign grid-leaver→grid-mate", number, last)
	}
	// The case page shows the step.
	u.open(fmt.Sprintf("/cases/%d", caseID))
	u.waitText("body", "转交")

	phone := s.as(t, "demo-admin", 390, 844)
	phone.open("/admin/users/" + leaver)
	phone.waitText("h1", "grid-leaver")
	phone.docShot("phone", "staff-user-edit-390.png")
	if w := eval[int](phone, "document.documentElement.scrollWidth"); w > 390 {
		t.Errorf("the user page is %d px wide on a 390 px phone", w)
	}
	// Reassigning on the phone: the form and its answer fit the screen.
	phone.do(chromedp.ScrollIntoView(chromedp.CSS("#reassign")),
		chromedp.SetValue(chromedp.CSS("#ra-to"), strconv.FormatInt(ids["grid-mate"], 10)), chromedp.Click(chromedp.CSS("#reassign button[type=submit]")))
	phone.waitText(".notice.ok", "转交给 grid-mate")
	phone.noOverflow("the user page after a reassignment at 390 px")
	phone.docShot("phone-reassigned", "staff-user-reassigned-390.png")
}
