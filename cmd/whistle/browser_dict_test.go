package main

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserDicts: an administrator renames a dictionary item in its row
// on /admin/dicts and adds one, at desktop and phone sizes; a bad add shows
// the field's message next to it.
func TestBrowserDicts(t *testing.T) {
	s := newBrowserSuite(t, 1366, 900)
	admin := s.as(t, "demo-admin", 1366, 900)
	admin.open("/admin/dicts?type=case_source")
	label := `input[form="e-visit"][name="label"]`
	admin.do(chromedp.WaitVisible(chromedp.CSS(label)), chromedp.SetValue(chromedp.CSS(label), "上门来访"),
		chromedp.Click(chromedp.CSS(`form#e-visit button[type=submit]`)))
	admin.waitText(".notice.ok", "已保存")
	admin.do(chromedp.SendKeys(chromedp.CSS("#d-code"), "Bad Code"), chromedp.SendKeys(chromedp.CSS("#d-label"), "微信公众号"),
		chromedp.Click(chromedp.CSS(`form[action="/admin/dicts/case_source/items"] button[type=submit]`)))
	admin.waitText("#d-code ~ .field-error, #d-code + .field-error", "代码")
	admin.docShot("error", "dicts-error-1366.png")
	admin.do(chromedp.SetValue(chromedp.CSS("#d-code"), "wechat"), chromedp.Click(chromedp.CSS(`form[action="/admin/dicts/case_source/items"] button[type=submit]`)))
	admin.waitText(".notice.ok", "已保存")
	if got := admin.text("#items tbody"); !strings.Contains(got, "wechat") {
		t.Errorf("items: %q, want wechat listed", got)
	}
	if got := eval[string](admin, `document.querySelector('`+label+`').value`); got != "上门来访" {
		t.Errorf("visit's label after the save: %q, want 上门来访", got)
	}
	admin.docShot("saved", "dicts-1366.png")

	phone := s.as(t, "demo-admin", 390, 844)
	phone.open("/admin/dicts?type=case_source")
	phone.waitText("h1", "字典管理")
	// Usable on a phone: nothing wider than the screen, and axe-core finds
	// no serious or critical violation.
	phone.noOverflow("/admin/dicts at 390 px")
	// Each item is a card: its label field is wide enough to read, and
	// its save button is on screen.
	if got := eval[[]float64](phone, `(function(){var i=document.querySelector('`+label+`').getBoundingClientRect(),b=document.querySelector('form#e-visit button').getBoundingClientRect();return [i.width, b.right]})()`); got[0] < 120 || got[1] > 390 {
		t.Errorf("/admin/dicts at 390 px: the label field is %.0f px wide (want ≥ 120) and the save button ends at %.0f px (want ≤ 390)", got[0], got[1])
	}
	if v := phone.axe(axeScript(t)); len(v) > 0 {
		t.Errorf("/admin/dicts at 390 px: %d serious or critical violations:\n  %s", len(v), strings.Join(v, "\n  "))
	}
	phone.docShot("phone", "dicts-390.png")
}
