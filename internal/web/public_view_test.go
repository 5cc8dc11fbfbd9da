package web

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/notify"
	"whistle/internal/worldtest"
)

// TestFollowerNeverSeesTheReporter is issue 13, item 3: anyone may follow a
// public case, and then reads it, and its timeline, as the public does:
// no actor of any step, no reporter, no phone. Staff in scope still see
// who acted.
func TestFollowerNeverSeesTheReporter(t *testing.T) {
	worldtest.Each(t, time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		users := append(worldtest.OneStreetUsers(),
			worldtest.User{Name: "reporter-zhang", Region: "330303001001", Role: account.Resident},
			worldtest.User{Name: "follower-li", Region: "330303001002", Role: account.Resident})
		wt := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("龙湾区", "永中街道"), Departments: worldtest.CatalogueDepartments(),
			Users: users, Phone: "13912345678"})
		_, ts := serve(t, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: wt.Accounts, Regions: wt.Regions, Cases: wt.Cases, Categories: wt.Categories, Clock: clk})
		reporter, follower, staff := login(t, ts, "reporter-zhang"), login(t, ts, "follower-li"), login(t, ts, "staff-a")

		code, body, _ := jsonCall(t, ts, "POST", "/api/v1/cases", reporter,
			`{"category":"ZL0601","description":"楼道堆放杂物","lat":27.005,"lng":120.005,"phone":"13700001111"}`)
		if code != http.StatusCreated {
			t.Fatalf("report: got %d %s, want 201", code, body)
		}
		var c struct{ ID int64 }
		if err := json.Unmarshal([]byte(body), &c); err != nil {
			t.Fatal(err)
		}
		id := strconv.FormatInt(c.ID, 10)
		if code, body, _ := jsonCall(t, ts, "POST", "/api/v1/cases/"+id+"/actions/accept", staff, `{"note":"已受理"}`); code != http.StatusOK {
			t.Fatalf("accept: got %d %s, want 200", code, body)
		}
		if code, body, _ := jsonCall(t, ts, "POST", "/api/v1/cases/"+id+"/follow", follower, ""); code != http.StatusNoContent {
			t.Fatalf("follow: got %d %s, want 204", code, body)
		}
		reporterID := strconv.FormatInt(wt.Users["reporter-zhang"].ID, 10)
		forbidden := []string{"reporter-zhang", "staff-a", `"actor"`, `"actor_id"`, `"reporter"`, "1111", "13912345678", "5678",
			`"id":` + reporterID + `,"name"`}
		reads := []struct{ name, token, path string }{
			{"the follower reads the timeline", follower, "/api/v1/cases/" + id + "/timeline"},
			{"the follower reads the case", follower, "/api/v1/cases/" + id},
			{"the public reads the case", "", "/api/v1/public/cases/" + id},
			{"the public lists the cases", "", "/api/v1/public/cases?bbox=120,27,120.02,27.01"},
		}
		for _, r := range reads {
			code, body, _ := jsonCall(t, ts, "GET", r.path, r.token, "")
			if code != http.StatusOK {
				t.Errorf("%s: got %d %s, want 200", r.name, code, body)
				continue
			}
			for _, f := range forbidden {
				if strings.Contains(body, f) {
					t.Errorf("%s: the answer contains %s: %s", r.name, f, body)
				}
			}
			if !strings.Contains(body, `"role":"resident"`) && strings.Contains(r.path, "timeline") {
				t.Errorf("%s: got %s, want the submit step with its role", r.name, body)
			}
		}
		// Staff in scope see who acted.
		code, body, _ = jsonCall(t, ts, "GET", "/api/v1/cases/"+id+"/timeline", staff, "")
		var tl struct{ Timeline []casework.Event }
		if err := json.Unmarshal([]byte(body), &tl); code != http.StatusOK || err != nil || len(tl.Timeline) < 2 ||
			tl.Timeline[0].ActorName != "reporter-zhang" || tl.Timeline[1].ActorName != "staff-a" {
			t.Errorf("staff read the timeline: got %d %s, want the reporter and staff-a as actors", code, body)
		}
	})
}
