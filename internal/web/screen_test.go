package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/notify"
	"whistle/internal/region"
	"whistle/internal/worldtest"
)

// newStatsServer starts a server on d with a district of two streets,
// each with one community one grid wide, the rollups hooked into the case
// service, and users admin, leader (district), leader-1 and leader-2
// (streets), staff-1 (community of street 1) and res (resident).
func newStatsServer(t *testing.T, d *db.DB, clk clock.Clock) *httptest.Server {
	t.Helper()
	sq := func(x0, x1 float64) orb.Polygon { return worldtest.Square(x0, 27, x1, 27.01) }
	w := worldtest.New(t, d, worldtest.Options{
		Regions: []region.Feature{
			{Code: "330303", Name: "龙湾区", Level: region.District, Geometry: sq(120, 120.02)},
			{Code: "330303001", Name: "永中街道", Level: region.Street, ParentCode: "330303", Geometry: sq(120, 120.01)},
			{Code: "330303002", Name: "蒲州街道", Level: region.Street, ParentCode: "330303", Geometry: sq(120.01, 120.02)},
			{Code: "330303001001", Name: "社区A", Level: region.Community, ParentCode: "330303001", Geometry: sq(120, 120.01)},
			{Code: "330303002001", Name: "社区B", Level: region.Community, ParentCode: "330303002", Geometry: sq(120.01, 120.02)},
			{Code: "330303001001001", Name: "网格A1", Level: region.Grid, ParentCode: "330303001001", Geometry: sq(120, 120.01), Illustrative: true},
			{Code: "330303002001001", Name: "网格B1", Level: region.Grid, ParentCode: "330303002001", Geometry: sq(120.01, 120.02), Illustrative: true},
		},
		Users: []worldtest.User{
			{Name: "admin", Region: "330303", Role: account.Admin}, {Name: "leader", Region: "330303", Role: account.Leader},
			{Name: "leader-1", Region: "330303001", Role: account.Leader}, {Name: "leader-2", Region: "330303002", Role: account.Leader},
			{Name: "staff-1", Region: "330303001001", Role: account.CommunityStaff}, {Name: "res", Region: "330303001001", Role: account.Resident},
		},
	})
	w.AddStats(t, nil)
	_, ts := serve(t, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: w.Accounts, Regions: w.Regions, Cases: w.Cases, Categories: w.Categories, Stats: w.Stats, Clock: clk})
	return ts
}

func TestStatsAPIAndScreen(t *testing.T) {
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			clk := clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC))
			ts := newStatsServer(t, dbtest.MustOpenDB(t, dialect, clk), clk)
			do := func(method, path, token, body string, hdr ...string) (int, string, http.Header) {
				t.Helper()
				return jsonCall(t, ts, method, path, token, body, hdr...)
			}
			tok := map[string]string{}
			for _, u := range []string{"admin", "leader", "leader-1", "leader-2", "staff-1", "res"} {
				tok[u] = login(t, ts, u)
			}
			// Two reports in street 1, one in street 2, through the API.
			for _, lng := range []string{"120.005", "120.006", "120.015"} {
				if status, body, _ := do("POST", "/api/v1/cases", tok["res"], `{"category":"ZL0302","description":"楼道堆放杂物","lat":27.005,"lng":`+lng+`}`); status != 201 {
					t.Fatalf("submit: %d %s", status, body)
				}
			}
			tests := []struct {
				name, path, token string
				status            int
				contains          []string
			}{
				{"district summary", "/api/v1/stats/summary", "leader", 200,
					[]string{`"code":"330303"`, `"reports_today":3`, `"open":3`, `"children":2`, `"categories":[{"code":"ZL0302","name":"卫生死角","n":3}]`, `"sources":[{"code":"resident","name":"居民吹哨","n":3}]`}},
				{"a street's summary for its leader", "/api/v1/stats/summary?region=330303001", "leader-1", 200, []string{`"reports_today":2`, `"path":[{"code":"330303001"`}},
				{"a street leader's own street by default", "/api/v1/stats/summary", "leader-1", 200, []string{`"code":"330303001"`, `"open":2`}},
				{"a community below the street", "/api/v1/stats/summary?region=330303001001", "leader-1", 200, []string{`"open":2`}},
				{"another street", "/api/v1/stats/summary?region=330303002", "leader-1", 404, []string{`"not_found"`}},
				{"the district above the street", "/api/v1/stats/summary?region=330303", "leader-1", 404, nil},
				{"another street's map", "/api/v1/stats/map?region=330303002", "leader-1", 404, nil},
				{"another street's trend", "/api/v1/stats/trend?region=330303002", "leader-1", 404, nil},
				{"another street's hotspots", "/api/v1/stats/hotspots?region=330303002", "leader-1", 404, nil},
				{"another street's overdue list", "/api/v1/stats/overdue?region=330303002", "leader-1", 404, nil},
				{"a community's staff and the street above", "/api/v1/stats/summary?region=330303001", "staff-1", 404, nil},
				{"a resident may not read statistics", "/api/v1/stats/summary", "res", 403, nil},
				{"no login", "/api/v1/stats/summary", "", 401, nil},
				{"map of the district", "/api/v1/stats/map?metric=open", "leader", 200,
					[]string{`"metric":"open"`, `{"code":"330303001","name":"永中街道","level":"street","level_name":"街道/镇","illustrative":false,"value":2}`, `"value":1}`}},
				{"satisfaction without ratings", "/api/v1/stats/map?metric=satisfaction", "leader", 200, []string{`"value":null`}},
				{"an unknown metric", "/api/v1/stats/map?metric=pink", "leader", 422, []string{`"metric"`}},
				{"trend", "/api/v1/stats/trend?days=2", "leader", 200, []string{`"days":[{"day":"2026-11-22","reports":0,"closed":0,"on_time":0},{"day":"2026-11-23","reports":3`}},
				{"trend too long", "/api/v1/stats/trend?days=400", "leader", 422, []string{`"days"`}},
				{"trend of no days", "/api/v1/stats/trend?days=-3", "leader", 422, []string{`"days"`}},
				{"trend of words", "/api/v1/stats/trend?days=thirty", "leader", 422, []string{`"days"`}},
				{"too many hotspots", "/api/v1/stats/hotspots?limit=100000", "leader", 422, []string{`"limit"`}},
				{"hotspots of words", "/api/v1/stats/hotspots?limit=ten", "leader", 422, []string{`"limit"`}},
				{"a negative overdue list", "/api/v1/stats/overdue?limit=-1", "leader", 422, []string{`"limit"`}},
				{"an unknown region", "/api/v1/stats/summary?region=999999", "leader", 404, []string{`"not_found"`}},
				{"a region code of junk", "/api/v1/stats/map?region=%27%3B--" + strings.Repeat("x", 300), "leader", 404, []string{`"not_found"`}},
				{"an unknown metric, in English", "/api/v1/stats/map?metric=pink&lang=en", "leader", 422, []string{`"metric"`, `"message"`}},
				{"hotspots", "/api/v1/stats/hotspots", "admin", 200, []string{`"code":"330303001001001","name":"网格A1"`, `"community":"社区A","open":2`}},
				{"overdue list", "/api/v1/stats/overdue", "admin", 200, []string{`"cases":[]`}},
				{"in English", "/api/v1/stats/summary?lang=en", "leader", 200, []string{`"level_name":"District"`, `"categories":[{"code":"ZL0302","name":"Neglected dirty spots","n":3}]`, `"name":"Resident"`}},
			}
			for _, tc := range tests {
				status, body, _ := do("GET", tc.path, tok[tc.token], "")
				if status != tc.status {
					t.Errorf("%s: got %d %s, want %d", tc.name, status, body, tc.status)
					continue
				}
				for _, c := range tc.contains {
					if !strings.Contains(body, c) {
						t.Errorf("%s: %s lacks %s", tc.name, body, c)
					}
				}
			}

			// The screen: /screen goes to the viewer's node; a node outside
			// the scope is a 404 page; a bearer token opens it (kiosk mode).
			pages := []struct {
				name, path, token string
				status            int
				location          string
				contains          []string
			}{
				{"own node", "/screen", "leader-1", 303, "/screen/330303001", nil},
				{"the district's", "/screen", "leader", 303, "/screen/330303", nil},
				{"a street", "/screen/330303001", "leader-1", 200, "",
					[]string{`一屏观天下`, `/static/vendor/echarts.min.js`, `/static/screen.js`, `data-region="330303001"`, `"screen.kpi.open":"在办案件"`, `"status.closed":"已结案"`, `>永中街道</a>`,
						`data-kpi="response_rate"><b>–</b><span>响应率</span>`, `data-kpi="resolution_rate"><b>–</b><span>解决率</span>`,
						`id="sc-alarmpanel"`, `id="sc-alarm-layer" aria-pressed="true">告警</button>`, `"screen.alarm.critical":"紧急"`, `"screen.alarms.active_n":"%d 条未解除"`}},
				{"another street", "/screen/330303002", "leader-1", 404, "", []string{"页面不存在"}},
				{"a resident", "/screen", "res", 403, "", nil},
			}
			for _, p := range pages {
				status, body, h := do("GET", p.path, tok[p.token], "")
				if status != p.status || h.Get("Location") != p.location {
					t.Errorf("%s: got %d → %q, want %d → %q", p.name, status, h.Get("Location"), p.status, p.location)
				}
				for _, c := range p.contains {
					if !strings.Contains(body, c) {
						t.Errorf("%s: the page lacks %s", p.name, c)
					}
				}
				if strings.Contains(body, "蒲州街道") && p.token == "leader-1" {
					t.Errorf("%s: a street leader's screen names another street", p.name)
				}
			}
			if status, _, h := do("GET", "/screen", "", ""); status != 303 || !strings.HasPrefix(h.Get("Location"), "/login") {
				t.Errorf("anonymous screen: %d %s, want a redirect to the login", status, h.Get("Location"))
			}
		})
	}
}
