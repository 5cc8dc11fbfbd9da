package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserResident is issue 15's "an anonymous phone report, then an
// SMS sign-in that finds it", in chromium on a 390×844 phone: a visitor
// without an account reports with a phone number and gets the case number,
// signs in on the login page's SMS tab with the code read from the sms.Log
// double, and finds the report under 我的. Screenshots at phone and
// desktop sizes (docs/screenshots/resident-*.png with
// WHISTLE_UPDATE_SCREENSHOTS=1).
func TestBrowserResident(t *testing.T) {
	s := newBrowserSuite(t, 390, 844)
	// The app under test is wired here, so that the test can read the
	// codes the sms.Log double recorded.
	base, w := residentApp(t, "sqlite")
	s.app = &testApp{URL: base}
	ctx, cancel := chromedp.NewContext(s.browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancelTime := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(cancelTime)
	v := &user{s: s, t: t, name: "visitor", ctx: ctx}
	v.do(chromedp.EmulateViewport(390, 844))

	var p struct {
		P struct{ Lat, Lng float64 } `json:"interior_point"`
	}
	do(t, "GET", base+"/api/v1/regions/"+demoGrid, "", nil, &p)
	const phone = "13912345601"

	v.open("/report")
	v.do(chromedp.WaitVisible(chromedp.CSS("#report-form")))
	if n := eval[int](v, "document.querySelectorAll('[data-queue]').length"); n != 0 {
		t.Errorf("the visitor's form has %d photo uploaders, want none", n)
	}
	v.do(chromedp.Click(chromedp.CSS(".chip[data-cat]")),
		chromedp.SendKeys(chromedp.CSS("#description"), "小区门口路灯不亮，晚上很黑"),
		chromedp.SendKeys(chromedp.CSS("#phone"), phone))
	eval[bool](v, fmt.Sprintf("(function(){var f=document.getElementById('report-form');f.querySelector('[data-lat]').value='%f';f.querySelector('[data-lng]').value='%f';return true})()", p.P.Lat, p.P.Lng))
	v.do(chromedp.Click(chromedp.CSS("[data-submit]")))
	v.waitText("[data-receipt-number]", time.Now().Format("2006")) // CG2026…, WS2026…
	number := strings.TrimSpace(eval[string](v, "document.querySelector('[data-receipt-number]').innerText"))
	if href := eval[string](v, "document.querySelector('[data-receipt-link]').getAttribute('href')"); !strings.HasPrefix(href, "/public/cases/") {
		t.Errorf("receipt link: got %q, want the public page", href)
	}
	v.docShot("receipt", "resident-anonymous-receipt-390.png")

	v.open("/login?via=sms&next=/my")
	v.do(chromedp.WaitVisible(chromedp.CSS("#sms-phone")), chromedp.SendKeys(chromedp.CSS("#sms-phone"), phone),
		chromedp.Click(chromedp.CSS("[data-send-code]")))
	v.waitText("[data-code-status]", "验证码")
	code := smsCodeOf(t, w, phone)
	v.do(chromedp.SendKeys(chromedp.CSS("#sms-code"), code))
	v.docShot("sms-login", "resident-sms-login-390.png")
	v.do(chromedp.Click(chromedp.CSS("#sms-login button[type=submit]")))
	v.waitURL(func(s string) bool { return strings.HasSuffix(s, "/my") })
	v.waitText("main", number)
	v.docShot("my", "resident-my-390.png")

	// Desktop: the same list, and the SMS tab's field errors.
	v.do(chromedp.EmulateViewport(1366, 900))
	v.open("/my")
	v.waitText("main", number)
	v.docShot("my-desktop", "resident-my-1366.png")

	d := &user{s: s, t: t, name: "desktop visitor", ctx: func() context.Context {
		c, cancel := chromedp.NewContext(s.browser, chromedp.WithNewBrowserContext())
		t.Cleanup(cancel)
		return c
	}()}
	d.do(chromedp.EmulateViewport(1366, 900))
	d.open("/login?via=sms")
	d.do(chromedp.WaitVisible(chromedp.CSS("#sms-phone")), chromedp.SendKeys(chromedp.CSS("#sms-phone"), "12345"),
		chromedp.Click(chromedp.CSS("[data-send-code]")))
	d.waitText(`[data-error-for="phone"]`, "11 位")
	d.docShot("sms-error", "resident-sms-error-1366.png")
}
