package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserUrbanInbox walks the urban loop of issue 15 item 1 in
// chromium: after every step the next actor logs in and finds, on their
// inbox page, a message naming the step and the action expected of them;
// the approver finds the request in the 待审批延期 queue with its count,
// the grid worker the resolved case in 待核查.
func TestBrowserUrbanInbox(t *testing.T) {
	s := newBrowserSuite(t, 1366, 900)
	t.Run("Loop", s.urbanInbox)
}

// told opens the inbox and waits for a message on case id that names the
// step taken and asks for the expected action (both as the zh labels).
func (u *user) told(id int64, step, expected string) {
	u.t.Helper()
	u.open("/inbox")
	u.do(chromedp.WaitVisible(chromedp.CSS("#inbox")))
	sel := strconv.Quote(fmt.Sprintf(`#inbox a[href="/cases/%d"]`, id))
	js := "Array.from(document.querySelectorAll(" + sel + ")).some(function(a){var s=a.innerText;return s.indexOf(" +
		strconv.Quote("："+step+"，") + ")>=0&&s.indexOf(" + strconv.Quote("请您办理：") + ")>=0&&s.split(" +
		strconv.Quote("请您办理：") + ")[1].indexOf(" + strconv.Quote(expected) + ")>=0})"
	deadline := time.Now().Add(20 * time.Second)
	for !eval[bool](u, js) {
		if time.Now().After(deadline) {
			u.shot("failure")
			u.t.Fatalf("%s: no inbox message on case %d saying %s and asking for %s; the inbox shows:\n%s", u.name, id, step, expected, u.text("#inbox"))
		}
		time.Sleep(300 * time.Millisecond)
		u.open("/inbox")
		u.do(chromedp.WaitVisible(chromedp.CSS("#inbox")))
	}
}

// shotBoth saves docs screenshots at phone (390×844) and desktop sizes.
func (u *user) shotBoth(name, docBase string) {
	u.t.Helper()
	u.do(chromedp.EmulateViewport(390, 844))
	u.docShot(name+"-390", docBase+"-390.png")
	u.do(chromedp.EmulateViewport(1366, 900))
	u.docShot(name+"-desktop", docBase+"-desktop.png")
}

func (s *browserSuite) urbanInbox(t *testing.T) {
	// The grid worker reports in their own grid (the page's map would pick
	// the middle of the district, another grid whose worker verifies).
	lat, lng := interior(t, s.app, "330303001011001")
	var c caseResp
	if code := do(t, "POST", s.app.URL+"/api/v1/cases", login(t, s.app, "demo-grid"),
		map[string]any{"category": "SJ0504", "description": "水果摊占用人行道经营，行人需绕行机动车道。", "lat": lat, "lng": lng}, &c); code != 201 {
		t.Fatalf("report: %d", code)
	}
	id := c.ID
	grid := s.as(t, "demo-grid", 1366, 900)

	street := s.as(t, "demo-street", 1366, 900)
	street.told(id, "上报", "立案")
	street.act(id, "register")
	street.told(id, "立案", "派单")
	street.act(id, "dispatch", chromedp.SetValue(chromedp.CSS("#dispatch-target"), "d:CG"),
		chromedp.SendKeys(chromedp.CSS("#dispatch-note"), "请城管中队尽快处置。"))

	dept := s.as(t, "demo-dept", 1366, 900)
	dept.told(id, "派单", "处置完成")
	dept.act(id, "postpone_request", chromedp.SendKeys(chromedp.CSS("#postpone_request-reason"), "需协调管线单位迁移。"),
		chromedp.SetValue(chromedp.CSS("#postpone_request-hours"), "8"))

	street.told(id, "申请延期", "批准延期")
	street.shotBoth("inbox", "inbox")
	street.open("/cases?queue=postpone")
	street.waitCount(fmt.Sprintf(`#queue a[href="/cases/%d"]`, id), 1)
	if n := street.text(`.queues [data-queue="postpone"]`); n != "1" {
		t.Errorf("the 待审批延期 tab counts %q, want 1", n)
	}
	street.waitText(`.queues a[aria-current="page"]`, "待审批延期")
	street.shotBoth("queue-postpone", "queue-postpone")
	street.do(chromedp.Click(chromedp.CSS(fmt.Sprintf(`#queue a[href="/cases/%d"]`, id))))
	street.waitURL(func(u string) bool { return strings.HasSuffix(u, fmt.Sprintf("/cases/%d", id)) })
	street.act(id, "postpone_approve")
	// The demo's handling limit counts working time: the entry says so.
	street.waitText(".timeline", "延期 8 个工作小时")
	street.open("/cases?queue=postpone")
	street.waitCount(`.queues [data-queue="postpone"]`, 1)
	if n := street.text(`.queues [data-queue="postpone"]`); n != "0" {
		t.Errorf("after approval the 待审批延期 tab counts %q, want 0", n)
	}

	dept.told(id, "批准延期", "处置完成")
	dept.act(id, "resolve", chromedp.SendKeys(chromedp.CSS("#resolve-note"), "已劝离摊贩，恢复人行道通行。"))

	grid.told(id, "处置完成", "核查")
	grid.open("/cases?queue=to_verify")
	grid.waitCount(fmt.Sprintf(`#queue a[href="/cases/%d"]`, id), 1)
	grid.act(id, "verify", chromedp.Click(chromedp.CSS(`label[for="verify-passed-1"]`)))
	grid.waitText(".timeline", "核查")
}
