package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// caseList: the staff case list shows its total and numbered pages, its
// headings sort (and reverse) the list, and a page link leads to the next
// page, at 1366 px and on a 390 px phone without a horizontal scroll
// (issue 15 item 4).
func (s *browserSuite) caseList(t *testing.T) {
	resident := login(t, s.app, "demo-resident")
	var before struct {
		Total int `json:"total"`
	}
	if code := do(t, "GET", s.app.URL+"/api/v1/cases?offset=0&limit=1", login(t, s.app, "demo-community"), nil, &before); code != 200 {
		t.Fatalf("count: %d", code)
	}
	for i := before.Total; i <= 50; i++ {
		s.submitInCommunity(t, resident, fmt.Sprintf("第 %d 处楼道堆放杂物，影响通行。", i+1))
	}
	for _, size := range []struct{ w, h int64 }{{1366, 900}, {390, 844}} {
		u := s.as(t, "demo-community", size.w, size.h)
		u.open("/cases?queue=all")
		u.waitText(".list-head", "共 ")
		if n := u.count("nav.pager a.btn"); n == 0 {
			t.Fatalf("%d px: no page links with more than 50 cases", size.w)
		}
		u.do(chromedp.Click(chromedp.CSS(`th a[href*="sort=number"]`)))
		u.waitCount(`th[aria-sort="ascending"]`, 1)
		first := u.text("td.c-num a")
		u.do(chromedp.Click(chromedp.CSS(`th[aria-sort="ascending"] a`)))
		u.waitCount(`th[aria-sort="descending"]`, 1)
		if last := u.text("td.c-num a"); last <= first {
			t.Errorf("%d px: reversed sort starts with %q, want after %q", size.w, last, first)
		}
		u.do(chromedp.Click(chromedp.CSS(`nav.pager a[rel="next"]`)))
		u.waitCount(`nav.pager [aria-current="page"]`, 1)
		if cur := strings.TrimSpace(u.text(`nav.pager [aria-current="page"]`)); cur != "2" {
			t.Errorf("%d px: after the next link the current page is %q, want 2", size.w, cur)
		}
		u.noOverflow(fmt.Sprintf("the case list at %d px", size.w))
		u.docShot(fmt.Sprintf("caselist-%d", size.w), fmt.Sprintf("staff-case-list-%d.png", size.w))
	}
}
