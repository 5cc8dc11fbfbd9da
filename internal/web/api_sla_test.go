package web

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/notify"
	"whistle/internal/sla"
	"whistle/internal/worldtest"
)

// newSLAServer starts a server on d with a street of two communities, the
// default catalogue, calendar and time limits, one 红哨 case in community A
// submitted at the clock's time, and users admin, leader, street, staff-a,
// staff-b and res (resident). It returns the server and the case's id.
func newSLAServer(t *testing.T, d *db.DB, clk clock.Clock) (*httptest.Server, int64) {
	t.Helper()
	ctx := context.Background()
	w := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("龙湾区", "永中街道"), Departments: []worldtest.Department{{Code: "CG", Name: "城管"}},
		Users: []worldtest.User{
			{Name: "admin", Region: "330303", Role: account.Admin}, {Name: "leader", Region: "330303", Role: account.Leader},
			{Name: "street", Region: "330303001", Role: account.StreetStaff}, {Name: "staff-a", Region: "330303001001", Role: account.CommunityStaff},
			{Name: "staff-b", Region: "330303001002", Role: account.CommunityStaff}, {Name: "res", Region: "330303001001", Role: account.Resident},
		},
		Calendar: true})
	eng, err := sla.New(ctx, sla.Deps{DB: d, Cases: w.Cases, Calendar: w.Calendar, Categories: w.Categories, Regions: w.Regions, Accounts: w.Accounts})
	if err != nil {
		t.Fatal(err)
	}
	w.Cases.UseDeadlines(eng)
	st := w.AddStats(t, eng.Calendar)
	lat, lng := 27.005, 120.005
	c, _, err := w.Cases.Submit(ctx, casework.Caller{User: w.Users["res"]}, casework.SubmitInput{Category: "ZL0302", Description: "楼道堆放杂物",
		Lat: &lat, Lng: &lng})
	if err != nil {
		t.Fatal(err)
	}
	_, ts := serve(t, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: w.Accounts, Regions: w.Regions, Cases: w.Cases, Categories: w.Categories, SLA: eng, Stats: st, Clock: clk})
	return ts, c.ID
}

func TestSLAAPI(t *testing.T) {
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			// Friday 2025-09-26 16:00 in Shanghai.
			clk := clock.NewFake(time.Date(2025, 9, 26, 8, 0, 0, 0, time.UTC))
			ts, caseID := newSLAServer(t, dbtest.MustOpenDB(t, dialect, clk), clk)
			do := func(method, path, token, ctype, body string) (int, string) {
				t.Helper()
				status, b, _ := call(t, ts, method, path, token, ctype, body)
				return status, b
			}
			admin, street, staffA, staffB, res := login(t, ts, "admin"), login(t, ts, "street"), login(t, ts, "staff-a"), login(t, ts, "staff-b"), login(t, ts, "res")
			id := strconv.FormatInt(caseID, 10)
			const js = "application/json"
			malformed := "date,kind,name\n2027-02-30,holiday,春节\n2027-10-01,holiday,国庆节\n2027-10-01,workday,国庆节\n27-01-01,holiday,元旦\n"
			tests := []struct {
				name                          string
				method, path, token, ct, body string
				status                        int
				contains                      []string
			}{
				{"the case's time limit", "GET", "/api/v1/cases/" + id + "/sla", staffA, "", "", 200,
					[]string{`"sla":"ok"`, `"stage":{"id":1,"stage":"accept"`, `"deadline":"2025-09-28T01:00:00Z"`, `"remaining_minutes":120`}},
				{"the case in the case view", "GET", "/api/v1/cases/" + id, staffA, "", "", 200, []string{`"deadline":"2025-09-28T09:00:00+08:00"`, `"sla":"ok"`}},
				{"another community's case", "GET", "/api/v1/cases/" + id + "/sla", staffB, "", "", 404, nil},

				{"calendar of 2025", "GET", "/api/v1/calendar?year=2025", staffA, "", "", 200,
					[]string{`"covered":true`, `{"date":"2025-01-26","kind":"workday"`, `"work_hours":"08:30-12:00,13:30-17:30"`, `"workdays":248`}},
				{"calendar of a bad year", "GET", "/api/v1/calendar?year=twenty", staffA, "", "", 422, []string{`"year"`}},
				{"calendar needs a login", "GET", "/api/v1/calendar", "", "", "", 401, nil},
				{"set a day", "PUT", "/api/v1/calendar/days/2027-01-01", admin, js, `{"kind":"holiday","name":"元旦"}`, 200, []string{`"kind":"holiday"`}},
				{"set a day: not an admin", "PUT", "/api/v1/calendar/days/2027-01-01", street, js, `{"kind":"holiday","name":"元旦"}`, 403, nil},
				{"set a day that does not exist", "PUT", "/api/v1/calendar/days/2027-02-30", admin, js, `{"kind":"holiday"}`, 422, []string{`"date"`}},
				{"set a day of an unknown kind", "PUT", "/api/v1/calendar/days/2027-01-02", admin, js, `{"kind":"party"}`, 422, []string{`"kind"`}},
				{"the day is listed", "GET", "/api/v1/calendar?year=2027", admin, "", "", 200, []string{`"covered":false`, `"provisional":true`, `"date":"2027-01-01","kind":"holiday","name":"元旦","source":"manual"}`}},
				{"delete the day", "DELETE", "/api/v1/calendar/days/2027-01-01", admin, "", "", 204, nil},
				{"delete it again", "DELETE", "/api/v1/calendar/days/2027-01-01", admin, "", "", 404, nil},
				{"working hours", "PUT", "/api/v1/calendar/hours", admin, js, `{"work_hours":"09:00-12:00,13:00-17:00"}`, 200, []string{`"daily_hours":7`}},
				{"bad working hours", "PUT", "/api/v1/calendar/hours", admin, js, `{"work_hours":"17:00-09:00"}`, 422, []string{`"work_hours"`}},
				{"import preview", "POST", "/api/v1/calendar/import?format=csv&preview=1", admin, "text/csv", "date,kind,name\n2027-01-01,holiday,元旦\n2027-02-07,workday,春节\n", 200,
					[]string{`"preview":true`, `"years":[2027]`, `"date":"2027-02-07"`}},
				{"a preview saves nothing", "GET", "/api/v1/calendar?year=2027", admin, "", "", 200, []string{`"covered":false`, `"provisional":true`, `{"date":"2027-01-01","kind":"holiday","name":"元旦","source":"provisional`}},
				{"a malformed import is refused line by line", "POST", "/api/v1/calendar/import?format=csv", admin, "text/csv", malformed, 422,
					[]string{`"line[2]"`, `"line[4]"`, `"line[5]"`, `2027-10-01 既是休息日又是工作日`}},
				{"an unknown format", "POST", "/api/v1/calendar/import?format=xls", admin, "", "x", 422, []string{`"format"`}},
				{"import", "POST", "/api/v1/calendar/import?format=json", admin, js, `[{"date":"2027-01-01","kind":"holiday","name":"元旦"}]`, 200,
					[]string{`"preview":false`, `"added":[{"date":"2027-01-01"`}},
				{"import: not an admin", "POST", "/api/v1/calendar/import?format=json", staffA, js, `[]`, 403, nil},
				{"the import is saved", "GET", "/api/v1/calendar?year=2027", admin, "", "", 200, []string{`"covered":true`, `"name":"元旦","source":"import"`}},

				{"time limits: the workflows' defaults are not rules", "GET", "/api/v1/time-limits", admin, "", "", 200, []string{`{"time_limits":[]}`}},
				{"time limits: not an admin", "GET", "/api/v1/time-limits", street, "", "", 403, nil},
				{"add a time limit", "POST", "/api/v1/time-limits", admin, js, `{"workflow":"whistle","stage":"handle","category_prefix":"ZL03","region_code":"330303001","limit":"1wd","warn_percent":75}`, 201,
					[]string{`"id":1,`, `"limit":"1wd"`, `"warn_percent":75`}},
				{"add it again", "POST", "/api/v1/time-limits", admin, js, `{"workflow":"whistle","stage":"handle","category_prefix":"ZL03","region_code":"330303001","limit":"2wd"}`, 409, nil},
				{"a bad time limit", "POST", "/api/v1/time-limits", admin, js, `{"workflow":"whistle","stage":"lunch","category_prefix":"NOPE","region_code":"999","limit":"2 days","warn_percent":120}`, 422,
					[]string{`"stage"`, `"category_prefix"`, `"region_code"`, `"limit"`, `"warn_percent"`}},
				{"change it", "PUT", "/api/v1/time-limits/1", admin, js, `{"workflow":"whistle","stage":"handle","category_prefix":"ZL03","limit":"3wd"}`, 200, []string{`"limit":"3wd"`, `"region_code":""`}},
				{"change one that does not exist", "PUT", "/api/v1/time-limits/99", admin, js, `{"workflow":"whistle","stage":"handle","limit":"3wd"}`, 404, nil},
				{"delete it", "DELETE", "/api/v1/time-limits/1", admin, "", "", 204, nil},
				{"delete it again", "DELETE", "/api/v1/time-limits/1", admin, "", "", 404, nil},

				{"unit statistics", "GET", "/api/v1/stats/units?region=330303001&from=2025-09-01&to=2025-09-30", street, "", "", 200,
					[]string{`"region":{"code":"330303001","name":"永中街道","level":"street","cases":1`, `"regions":[{"code":"330303001001","name":"社区A","level":"community","cases":1`}},
				{"unit statistics: the caller's own node by default", "GET", "/api/v1/stats/units", staffA, "", "", 200, []string{`"code":"330303001001"`, `"cases":1`}},
				{"unit statistics: a bad date", "GET", "/api/v1/stats/units?from=yesterday", street, "", "", 422, []string{`"from"`}},
				{"unit statistics: an unknown region", "GET", "/api/v1/stats/units?region=999", street, "", "", 404, nil},
				{"unit statistics: not for residents", "GET", "/api/v1/stats/units", res, "", "", 403, nil},
			}
			for _, tt := range tests {
				status, body := do(tt.method, tt.path, tt.token, tt.ct, tt.body)
				ok := status == tt.status
				for _, c := range tt.contains {
					ok = ok && strings.Contains(body, c)
				}
				if !ok {
					if len(body) > 600 {
						body = body[:600] + "…"
					}
					t.Errorf("%s: %s %s: got %d %s, want %d containing %q", tt.name, tt.method, tt.path, status, body, tt.status, tt.contains)
				}
			}
		})
	}
}
