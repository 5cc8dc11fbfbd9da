package main

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserWorkflow walks /admin/workflows in chromium: the admin
// changes the accept stage's time limit, previews the diff and activates
// it; a case submitted after gets the new limit, one submitted before
// keeps its own.
func TestBrowserWorkflow(t *testing.T) {
	s := newBrowserSuite(t, 1366, 900)
	resident := login(t, s.app, "demo-resident")
	token := login(t, s.app, "demo-admin")
	submit := lampCases(t, s.app, resident)
	acceptLimit := func(c caseResp) string {
		t.Helper()
		var st struct {
			Stages []struct{ Stage, Limit string } `json:"stages"`
		}
		if code := do(t, "GET", s.app.URL+"/api/v1/cases/"+fmt.Sprint(c.ID)+"/sla", token, nil, &st); code != 200 || len(st.Stages) == 0 {
			t.Fatalf("case %d sla: %d %+v", c.ID, code, st)
		}
		return st.Stages[0].Limit
	}
	before := submit()

	admin := s.as(t, "demo-admin", 1366, 900)
	admin.open("/admin/workflows?name=whistle")
	amount := `input[name="stage.accept.amount"]`
	admin.do(chromedp.WaitVisible(chromedp.CSS(amount)), chromedp.SetValue(chromedp.CSS(amount), "6"),
		chromedp.Click(chromedp.CSS("#wf-preview")))
	admin.waitShown("#preview", "limit 2 working_hours → 6 working_hours")
	admin.docShot("preview", "admin-workflow-preview.png")
	if got := acceptLimit(submit()); got != "2h" {
		t.Fatalf("after the preview a new case gets %s, want 2h", got)
	}
	// The preview keeps the edit in the form: activate it.
	admin.do(chromedp.Click(chromedp.CSS("#wf-activate")))
	admin.waitShown(".notice.ok", "已启用")
	admin.docShot("activated", "admin-workflow.png")
	if got := acceptLimit(submit()); got != "6h" {
		t.Errorf("a new case's accept limit: %s, want 6h", got)
	}
	if got := acceptLimit(before); got != "2h" {
		t.Errorf("the older case's accept limit: %s, want 2h (its own version)", got)
	}

	// On a 390 px phone the editor and its preview fit the screen.
	phone := s.as(t, "demo-admin", 390, 844)
	phone.open("/admin/workflows?name=whistle")
	phone.do(chromedp.WaitVisible(chromedp.CSS(amount)), chromedp.SetValue(chromedp.CSS(amount), "8"),
		chromedp.Click(chromedp.CSS("#wf-preview")))
	phone.waitShown("#preview", "limit 6 working_hours → 8 working_hours")
	phone.noOverflow("/admin/workflows at 390 px")
	phone.docShot("phone-preview", "admin-workflow-preview-390.png")
}
