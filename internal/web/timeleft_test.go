package web

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db/dbtest"
)

// TestTimeLeftInTheLimitsUnit is issue 15, item 6: a case due in 2 working
// hours on Friday 16:00 (the deadline is Sunday 09:00, a make-up workday,
// 41 clock hours away) shows "2 working hours", not "1 day 17 hours", on
// the case page, the queue and the resident's list; an hour after work
// only half an hour is left.
func TestTimeLeftInTheLimitsUnit(t *testing.T) {
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			clk := clock.NewFake(time.Date(2025, 9, 26, 8, 0, 0, 0, time.UTC)) // Friday 16:00 in Shanghai
			ts, id := newSLAServer(t, dbtest.MustOpenDB(t, dialect, clk), clk)
			staff, res := login(t, ts, "staff-a"), login(t, ts, "res")
			path := "/cases/" + strconv.FormatInt(id, 10)
			pages := []struct {
				name, path, token, lang string
				advance                 time.Duration
				want                    []string
			}{
				{"case page", path, staff, "zh-CN", 0, []string{"剩余 2 个工作小时", "2025-09-28 09:00"}},
				{"queue", "/cases?queue=accept", staff, "zh-CN", 0, []string{"剩余 2 个工作小时", "2025-09-28 09:00"}},
				{"case page in English", path, staff, "en", 0, []string{"2 working hours left", "Neglected dirty spots"}},
				{"queue in English", "/cases?queue=accept", staff, "en", 0, []string{"Neglected dirty spots"}},
				{"the resident's list", "/my", res, "zh-CN", 0, []string{"剩余 2 个工作小时"}},
				{"after work", path, staff, "zh-CN", 2 * time.Hour, []string{"剩余 0.5 个工作小时"}},
				{"overdue on Sunday", path, staff, "zh-CN", 39*time.Hour + 30*time.Minute, []string{"已超时 0.5 个工作小时"}},
			}
			for _, p := range pages {
				clk.Advance(p.advance)
				code, body, _ := call(t, ts, "GET", p.path, p.token, "", "", "Accept-Language", p.lang)
				if code != http.StatusOK {
					t.Fatalf("%s: got %d, want 200", p.name, code)
				}
				for _, w := range p.want {
					if !strings.Contains(body, w) {
						t.Errorf("%s: the page lacks %q", p.name, w)
					}
				}
				for _, wall := range []string{"1 天 17 小时", "1 d 17 h", "小时 30 分"} {
					if strings.Contains(body, wall) {
						t.Errorf("%s: the page shows the wall-clock span %q", p.name, wall)
					}
				}
			}
		})
	}
}
