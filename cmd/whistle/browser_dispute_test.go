package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"whistle/internal/demo"
)

// TestBrowserDispute: the demo community worker on a 390×844 phone finds
// 矛盾纠纷 in the navigation, registers a dispute through the list's form,
// accepts it, records a mediation session, reaches an agreement and opens
// the printable agreement; the inbox then tells them, as its mediator, of
// the accepted dispute with a link to its page (the API gives the same
// link); the pages do not overflow the phone. The
// dispute's page is shot at 1366 too. Screenshots
// docs/screenshots/dispute-390.png and dispute-1366.png
// (WHISTLE_UPDATE_SCREENSHOTS=1).
func TestBrowserDispute(t *testing.T) {
	s := newBrowserSuite(t, 390, 844)
	u := s.as(t, "demo-community", 390, 844)
	u.open("/")
	u.do(chromedp.Click(chromedp.CSS(`nav.sections a[href="/disputes"]`)))
	u.waitURL(func(s string) bool { return strings.HasSuffix(s, "/disputes") })
	u.do(chromedp.Click(chromedp.CSS("#new-item > summary")), chromedp.WaitVisible(chromedp.CSS("#new-title")),
		chromedp.SetValue(chromedp.CSS("#new-type"), "neighbour"), chromedp.SendKeys(chromedp.CSS("#new-title"), "楼上漏水纠纷"),
		chromedp.SetValue(chromedp.CSS("#new-region"), demo.DemoGrid),
		chromedp.SetValue(chromedp.CSS("#new-parties-0-role"), "applicant"), chromedp.SendKeys(chromedp.CSS("#new-parties-0-name"), "张三"),
		chromedp.SendKeys(chromedp.CSS("#new-parties-0-phone"), "13800001111"),
		chromedp.SetValue(chromedp.CSS("#new-parties-1-role"), "respondent"), chromedp.SendKeys(chromedp.CSS("#new-parties-1-name"), "李四"),
		chromedp.SendKeys(chromedp.CSS("#new-description"), "楼上卫生间漏水，双方对维修费用有争议。"))
	u.noOverflow("the dispute form on a phone")
	u.do(chromedp.Click(chromedp.CSS("#new-item button[type=submit]")))
	page := u.waitURL(func(s string) bool {
		i := strings.LastIndex(s, "/disputes/")
		return i >= 0 && len(s) > i+len("/disputes/")
	})
	page = page[strings.Index(page, "/disputes/"):]
	u.waitText("h1", "楼上漏水纠纷")
	submit := func(action string) {
		t.Helper()
		u.do(chromedp.Click(chromedp.CSS(`form[action="` + page + `/actions/` + action + `"] button[type=submit]`)))
	}
	submit("accept")
	u.do(chromedp.WaitVisible(chromedp.CSS("#session-notes")), chromedp.SendKeys(chromedp.CSS("#session-participants"), "张三、李四、调解员"),
		chromedp.SendKeys(chromedp.CSS("#session-notes"), "双方陈述意见，李四同意承担一半维修费用。"))
	submit("session")
	u.do(chromedp.WaitVisible(chromedp.CSS("#agree-agreement")), chromedp.SendKeys(chromedp.CSS("#agree-agreement"), "一、李四承担维修费用的一半。"))
	submit("agree")
	u.do(chromedp.WaitVisible(chromedp.CSS(`a[href="` + page + `/agreement"]`)))
	u.noOverflow("the agreed dispute on a phone")
	u.docShot("dispute", "dispute-390.png")
	u.do(chromedp.Click(chromedp.CSS(`a[href="` + page + `/agreement"]`)))
	u.waitURL(func(s string) bool { return strings.HasSuffix(s, page+"/agreement") })
	u.waitText("main", "人民调解协议书")
	u.waitText("main", "一、李四承担维修费用的一半。")
	u.noOverflow("the agreement on a phone")

	// The mediator was told of the accepted dispute: the inbox entry links
	// to its page, in the page and in the API.
	u.open("/inbox")
	deadline := time.Now().Add(20 * time.Second)
	for eval[int](u, `document.querySelectorAll('#inbox a[href="`+page+`"]').length`) == 0 {
		if time.Now().After(deadline) {
			u.shot("failure")
			t.Fatalf("the inbox has no entry linking to %s: %q", page, u.text("#inbox"))
		}
		time.Sleep(200 * time.Millisecond)
		u.open("/inbox")
	}
	if got := eval[string](u, `fetch('/api/v1/inbox').then(function(r){return r.json()}).then(function(j){
	  var m = j.messages.filter(function(m){ return m.link === '`+page+`' })[0];
	  return m ? m.subject_kind + ' ' + m.text : 'none'; })`); !strings.HasPrefix(got, "dispute ") || !strings.Contains(got, "楼上漏水纠纷") {
		t.Errorf("GET /api/v1/inbox: the entry linking to %s: %q, want the dispute's, naming its title", page, got)
	}
	u.do(chromedp.Click(chromedp.CSS(`#inbox a[href="` + page + `"]`)))
	u.waitURL(func(s string) bool { return strings.HasSuffix(s, page) })
	u.waitText("h1", "楼上漏水纠纷")

	desk := s.as(t, "demo-community", 1366, 900)
	desk.open(page)
	desk.waitText("h1", "楼上漏水纠纷")
	desk.docShot("dispute-desk", "dispute-1366.png")
}
