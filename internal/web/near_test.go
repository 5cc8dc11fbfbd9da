package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/notify"
	"whistle/internal/worldtest"
)

// TestPartyMembersSeeTheNearestFirst is issue 15, item 5: a party member's
// claimable queue lists the cases nearest first, from the centre of their
// community until the browser gives their location (near=lat,lng), with the
// distance on each card; other queues stay newest first.
func TestPartyMembersSeeTheNearestFirst(t *testing.T) {
	worldtest.Each(t, time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		users := append(worldtest.OneStreetUsers(), worldtest.User{Name: "party", Region: "330303001001", Role: account.PartyMember})
		wt := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("龙湾区", "永中街道"), Departments: worldtest.CatalogueDepartments(), Users: users})
		_, ts := serve(t, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: wt.Accounts, Regions: wt.Regions,
			Cases: wt.Cases, Categories: wt.Categories, Clock: clk})
		staff, party := login(t, ts, "staff-a"), login(t, ts, "party")
		// Community A spans longitudes 120–120.01; its centre is near 120.005.
		var numbers []string
		for _, lng := range []string{"120.0015", "120.009", "120.005"} { // reported in this order: the last is the newest
			clk.Advance(time.Minute)
			code, body, _ := jsonCall(t, ts, "POST", "/api/v1/cases", staff, `{"category":"ZL0601","description":"独居老人需要帮忙买菜","lat":27.005,"lng":`+lng+`}`)
			var c struct {
				ID     int64
				Number string
			}
			if code != http.StatusCreated || json.Unmarshal([]byte(body), &c) != nil {
				t.Fatalf("report: %d %s", code, body)
			}
			for _, a := range []string{"accept", "open_for_claim"} {
				if code, body, _ := jsonCall(t, ts, "POST", "/api/v1/cases/"+strconv.FormatInt(c.ID, 10)+"/actions/"+a, staff, `{}`); code != http.StatusOK {
					t.Fatalf("%s: %d %s", a, code, body)
				}
			}
			numbers = append(numbers, c.Number)
		}
		order := func(body string) []int {
			var got []int
			idx := map[int]int{}
			for i, n := range numbers {
				idx[i] = strings.Index(body, n)
			}
			for len(got) < len(numbers) {
				best := -1
				for i, p := range idx {
					if p >= 0 && (best < 0 || p < idx[best]) {
						best = i
					}
				}
				if best < 0 {
					break
				}
				got = append(got, best)
				delete(idx, best)
			}
			return got
		}
		tests := []struct {
			name, path, token string
			want              []int
			says              string
		}{
			{"from the community's centre", "/cases?queue=claimable", party, []int{2, 0, 1}, "所在网格中心"},
			{"from the browser's location", "/cases?queue=claimable&near=27.005,120.0095", party, []int{1, 2, 0}, "当前位置"},
			{"a bad location falls back to the centre", "/cases?queue=claimable&near=north", party, []int{2, 0, 1}, "所在网格中心"},
			{"staff see the newest first", "/cases?queue=claimable", staff, []int{2, 1, 0}, ""},
		}
		for _, tc := range tests {
			code, body, _ := call(t, ts, "GET", tc.path, tc.token, "", "", "Accept-Language", "zh-CN")
			if code != http.StatusOK {
				t.Fatalf("%s: got %d", tc.name, code)
			}
			if got := order(body); !slices.Equal(got, tc.want) {
				t.Errorf("%s: got the cases in order %v, want %v", tc.name, got, tc.want)
			}
			if tc.says != "" && (!strings.Contains(body, tc.says) || !strings.Contains(body, "米")) {
				t.Errorf("%s: the page does not say it sorts by %s with distances", tc.name, tc.says)
			}
		}
	})
}
