package main

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// inDemoCommunity is a point in demo-community's grid (lat, lng).
var inDemoCommunity = [2]float64{27.8907, 120.7842}

// submitInCommunity reports a 红哨 case in demo-community through the API as
// the demo resident and returns its id and number.
func (s *browserSuite) submitInCommunity(t *testing.T, token, description string) (int64, string) {
	t.Helper()
	var c struct {
		ID     int64  `json:"id"`
		Number string `json:"number"`
	}
	if code := do(t, "POST", s.app.URL+"/api/v1/cases", token, map[string]any{"category": "ZL0601", "description": description,
		"lat": inDemoCommunity[0], "lng": inDemoCommunity[1]}, &c); code != 201 {
		t.Fatalf("submit %q: %d", description, code)
	}
	return c.ID, c.Number
}

// count is the number of elements matching sel.
func (u *user) count(sel string) int {
	u.t.Helper()
	return eval[int](u, "document.querySelectorAll("+strconv.Quote(sel)+").length")
}

// bulkDispatch: the community's "to dispatch" queue dispatches the cases
// ticked to one department in one go; without a target it says what is
// missing and dispatches nothing.
func (s *browserSuite) bulkDispatch(t *testing.T) {
	resident, staff := login(t, s.app, "demo-resident"), login(t, s.app, "demo-community")
	var ids []int64
	for _, d := range []string{"小区东门路灯不亮，晚上出行不便。", "小区西门路灯闪烁，存在安全隐患。"} {
		id, _ := s.submitInCommunity(t, resident, d)
		if code := do(t, "POST", fmt.Sprintf("%s/api/v1/cases/%d/actions/accept", s.app.URL, id), staff, map[string]any{}, nil); code != 200 {
			t.Fatalf("accept %d: %d", id, code)
		}
		ids = append(ids, id)
	}
	community := s.as(t, "demo-community", 1366, 900)
	tick := func() {
		t.Helper()
		community.open("/cases?queue=to_dispatch")
		for _, id := range ids {
			community.do(chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf(`#bulk input[name=ids][value="%d"]`, id))),
				chromedp.Click(chromedp.CSS(fmt.Sprintf(`#bulk input[name=ids][value="%d"]`, id))))
		}
	}
	// No target: an error, and both cases stay where they were. (The
	// select may come preselected with "each to its routed department"
	// when a listed case has one: clear it.)
	tick()
	community.do(chromedp.SetValue(chromedp.CSS("#bulk-target"), ""), chromedp.Click(chromedp.CSS("#bulk button[type=submit]")))
	community.waitURL(func(s string) bool { return strings.Contains(s, "failed=target") })
	community.waitText("p.error", "请选择派单对象")
	status := func(id int64) (string, string) {
		var c struct {
			Status     string `json:"status"`
			Department *struct {
				Code string `json:"code"`
			} `json:"department"`
		}
		do(t, "GET", fmt.Sprintf("%s/api/v1/cases/%d", s.app.URL, id), staff, nil, &c)
		if c.Department == nil {
			return c.Status, ""
		}
		return c.Status, c.Department.Code
	}
	for _, id := range ids {
		if st, _ := status(id); st != "accepted" {
			t.Errorf("case %d after a bulk dispatch without a target: %s, want accepted", id, st)
		}
	}
	// With a target: both dispatched to 城管 with the note.
	tick()
	community.do(chromedp.SetValue(chromedp.CSS("#bulk-target"), "d:CG"),
		chromedp.SendKeys(chromedp.CSS("#bulk-note"), "路灯问题统一派城管处理。"),
		chromedp.Click(chromedp.CSS("#bulk button[type=submit]")))
	community.waitURL(func(s string) bool { return strings.Contains(s, "dispatched=") })
	community.waitText(".notice.ok", "已派单 2 件")
	community.shot("bulk-dispatched")
	for _, id := range ids {
		if st, dept := status(id); st != "dispatched" || dept != "CG" {
			t.Errorf("case %d after the bulk dispatch: %s to %q, want dispatched to CG", id, st, dept)
		}
		if n := community.count(fmt.Sprintf(`#bulk input[name=ids][value="%d"]`, id)); n != 0 {
			t.Errorf("case %d is still in the to-dispatch queue", id)
		}
	}
}

// liveQueue: a staff queue shows a case reported meanwhile without being
// reloaded (server-sent events, then htmx swaps the queue in place).
func (s *browserSuite) liveQueue(t *testing.T) {
	community := s.as(t, "demo-community", 1366, 900)
	// Count the event streams the page opens: wrap EventSource before the
	// page's own scripts run, so the case is reported only once the
	// stream is connected.
	if _, err := chromedp.Call(community.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `(function () {
		var E = window.EventSource;
		if (!E) return;
		window.__streamsOpen = 0;
		window.EventSource = function (u, o) {
			var es = new E(u, o);
			es.addEventListener('open', function () { window.__streamsOpen++; });
			return es;
		};
		window.EventSource.prototype = E.prototype;
	})()`}); err != nil {
		t.Fatal(err)
	}
	community.open("/cases?queue=pending")
	community.do(chromedp.WaitVisible(chromedp.CSS("#queue")))
	// A marker on the window: a reload would drop it.
	eval[bool](community, "(window.__sameDocument = true)")
	deadline := time.Now().Add(15 * time.Second)
	for !eval[bool](community, "window.__streamsOpen > 0") {
		if time.Now().After(deadline) {
			community.shot("failure")
			t.Fatal("the queue page never opened its event stream")
		}
		time.Sleep(100 * time.Millisecond)
	}
	id, number := s.submitInCommunity(t, login(t, s.app, "demo-resident"), "楼道里堆放的纸箱挡住了消防通道。")
	community.waitCount(fmt.Sprintf(`#queue a[href="/cases/%d"]`, id), 1)
	if !eval[bool](community, "window.__sameDocument === true") {
		t.Error("the queue page was reloaded; want the queue swapped in place")
	}
	if got := community.text("#queue"); !strings.Contains(got, number) {
		t.Errorf("the live queue lacks %s", number)
	}
	community.shot("live")
}
