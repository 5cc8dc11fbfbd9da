package web

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db/dbtest"
)

// TestScreenRecentAndPoints is issue 15, item 7: the screen's 实时动态 reads
// the latest steps under the node on load (newest first, only the caller's
// scope), and at community and grid level the open cases come as points
// with their time state; above a community there are none.
func TestScreenRecentAndPoints(t *testing.T) {
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			clk := clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC))
			ts := newStatsServer(t, dbtest.MustOpenDB(t, dialect, clk), clk)
			res, leader1 := login(t, ts, "res"), login(t, ts, "leader-1")
			var numbers []string
			for _, lng := range []string{"120.005", "120.006", "120.015"} { // two in street 1, one in street 2
				clk.Advance(time.Minute)
				code, body, _ := jsonCall(t, ts, "POST", "/api/v1/cases", res, `{"category":"ZL0302","description":"楼道堆放杂物","lat":27.005,"lng":`+lng+`}`)
				var c struct{ Number string }
				if code != 201 || json.Unmarshal([]byte(body), &c) != nil {
					t.Fatalf("submit: %d %s", code, body)
				}
				numbers = append(numbers, c.Number)
			}
			var recent struct {
				Events []struct{ Number, Action, Status, RegionPath string }
			}
			code, body, _ := jsonCall(t, ts, "GET", "/api/v1/stats/recent", leader1, "")
			if code != 200 || json.Unmarshal([]byte(body), &recent) != nil {
				t.Fatalf("recent: got %d %s, want 200", code, body)
			}
			var got []string
			for _, e := range recent.Events {
				got = append(got, e.Number+" "+e.Action+" "+e.Status)
			}
			want := []string{numbers[1] + " submit submitted", numbers[0] + " submit submitted"}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("recent for the street 1 leader: got %v, want %v (newest first, not street 2's)", got, want)
			}
			tests := []struct {
				name, path string
				status     int
				contains   []string
				lacks      []string
			}{
				{"points of a community", "/api/v1/stats/points?region=330303001001", 200,
					[]string{numbers[0], numbers[1], `"sla":"none"`, `"lat":27.005`, `"status_name":"待受理"`}, []string{numbers[2]}},
				{"points of a grid", "/api/v1/stats/points?region=330303001001001", 200, []string{numbers[0], numbers[1]}, nil},
				{"no points for a street", "/api/v1/stats/points?region=330303001", 200, []string{`"cases":[]`}, nil},
				{"another street's community", "/api/v1/stats/points?region=330303002001", 404, nil, nil},
				{"another street's feed", "/api/v1/stats/recent?region=330303002", 404, nil, nil},
				{"too many events", "/api/v1/stats/recent?limit=100000", 422, []string{`"limit"`}, nil},
			}
			for _, tc := range tests {
				code, body, _ := jsonCall(t, ts, "GET", tc.path, leader1, "")
				if code != tc.status {
					t.Errorf("%s: got %d %s, want %d", tc.name, code, body, tc.status)
					continue
				}
				for _, c := range tc.contains {
					if !strings.Contains(body, c) {
						t.Errorf("%s: got %s, want it to contain %s", tc.name, body, c)
					}
				}
				for _, c := range tc.lacks {
					if strings.Contains(body, c) {
						t.Errorf("%s: got %s, want no %s", tc.name, body, c)
					}
				}
			}
		})
	}
}
