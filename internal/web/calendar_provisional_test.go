package web

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db/dbtest"
)

// TestCalendarProvisional is issue 13 item 11 through the API and the admin
// page: 2027 has no official schedule, so GET /api/v1/calendar?year=2027
// lists its statutory holidays marked provisional, and the admin page
// tags them 暂定; an imported schedule replaces them.
func TestCalendarProvisional(t *testing.T) {
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			clk := clock.NewFake(time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC))
			ts, _ := newSLAServer(t, dbtest.MustOpenDB(t, dialect, clk), clk)
			admin, staff := login(t, ts, "admin"), login(t, ts, "staff-a")
			type year struct {
				Covered     bool `json:"covered"`
				Provisional bool `json:"provisional"`
				Workdays    int  `json:"workdays"`
				Days        []struct {
					Date        string `json:"date"`
					Kind        string `json:"kind"`
					Name        string `json:"name"`
					Provisional bool   `json:"provisional"`
				} `json:"days"`
			}
			get := func(path string) year {
				t.Helper()
				status, body, _ := call(t, ts, "GET", path, staff, "", "")
				var y year
				if err := json.Unmarshal([]byte(body), &y); status != 200 || err != nil {
					t.Fatalf("GET %s: %d %s (%v)", path, status, body, err)
				}
				return y
			}

			y := get("/api/v1/calendar?year=2027")
			var provisional []string
			for _, d := range y.Days {
				if d.Provisional && d.Kind == "holiday" {
					provisional = append(provisional, d.Date)
				}
			}
			for _, want := range []string{"2027-01-01", "2027-02-05", "2027-02-06", "2027-02-07", "2027-02-08", "2027-05-01", "2027-10-01", "2027-10-02", "2027-10-03"} {
				if !slices.Contains(provisional, want) {
					t.Errorf("2027: %s is not a provisional holiday (provisional: %v)", want, provisional)
				}
			}
			if y.Covered || !y.Provisional || len(provisional) != len(y.Days) || y.Workdays != 254 {
				t.Errorf("2027: covered %v provisional %v, %d of %d days provisional, %d workdays; want false, true, all, 254",
					y.Covered, y.Provisional, len(provisional), len(y.Days), y.Workdays)
			}
			if y := get("/api/v1/calendar?year=2026"); !y.Covered || y.Provisional || y.Workdays != 248 {
				t.Errorf("2026: covered %v provisional %v workdays %d; want true, false, 248", y.Covered, y.Provisional, y.Workdays)
			}

			_, page, _ := call(t, ts, "GET", "/admin/sla?year=2027", admin, "", "")
			if n := strings.Count(page, "<tr data-provisional>"); n != len(y.Days) {
				t.Errorf("admin page for 2027: %d rows tagged provisional, want %d", n, len(y.Days))
			}
			if !strings.Contains(page, `<span class="tag"`) || !strings.Contains(page, "暂定") || !strings.Contains(page, "data-provisional-year") {
				t.Errorf("admin page for 2027 shows no 暂定 tag and notice")
			}

			official := `[{"date":"2027-01-01","kind":"holiday","name":"元旦"},{"date":"2027-01-02","kind":"holiday","name":"元旦"},{"date":"2027-01-03","kind":"holiday","name":"元旦"}]`
			if status, body, _ := call(t, ts, "POST", "/api/v1/calendar/import?format=json", admin, "application/json", official); status != 200 {
				t.Fatalf("import: %d %s", status, body)
			}
			y = get("/api/v1/calendar?year=2027")
			if !y.Covered || y.Provisional || len(y.Days) != 3 {
				t.Errorf("after the import: covered %v provisional %v, %d days; want true, false, 3", y.Covered, y.Provisional, len(y.Days))
			}
			for _, d := range y.Days {
				if d.Provisional {
					t.Errorf("after the import %s is still provisional", d.Date)
				}
			}
			_, page, _ = call(t, ts, "GET", "/admin/sla?year=2027", admin, "", "")
			if strings.Contains(page, "data-provisional") {
				t.Errorf("admin page for 2027 after the import still shows provisional days")
			}
		})
	}
}
