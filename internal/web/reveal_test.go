package web

import (
	"context"
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

// TestUnmaskGoesThroughReveal is issue 14, Build 4: the three places that
// show masked personal data (a user by API, a case by API, the case page)
// reveal it through account.Store.Reveal, and write exactly the audit rows
// they wrote before it: one per unmasked view, none for a caller without
// personal.unmask, who keeps seeing the masked data.
func TestUnmaskGoesThroughReveal(t *testing.T) {
	worldtest.Each(t, time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		wt := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("龙湾区", "永中街道"), Departments: worldtest.CatalogueDepartments(),
			Users: worldtest.OneStreetUsers(), Phone: "13912345678"})
		_, ts := serve(t, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: wt.Accounts, Regions: wt.Regions, Cases: wt.Cases, Categories: wt.Categories, Clock: clk})
		ctx := context.Background()
		const reporterPhone = "13700001111"
		code, body, _ := jsonCall(t, ts, "POST", "/api/v1/cases", login(t, ts, "resident"),
			`{"category":"ZL0601","description":"楼道堆放杂物","lat":27.005,"lng":120.005,"phone":"`+reporterPhone+`"}`)
		if code != http.StatusCreated {
			t.Fatalf("report: got %d %s, want 201", code, body)
		}
		var c struct {
			ID     int64
			Number string
		}
		if err := json.Unmarshal([]byte(body), &c); err != nil || c.Number == "" {
			t.Fatalf("report: %v in %s", err, body)
		}
		id := strconv.FormatInt(c.ID, 10)
		resident := strconv.FormatInt(wt.Users["resident"].ID, 10)
		page := func(user, path string) (int, string) {
			t.Helper()
			tok, _, _, err := wt.Accounts.Login(ctx, user, worldtest.Password, account.WebSession, account.Client{IP: "127.0.0.1"})
			if err != nil {
				t.Fatal(err)
			}
			code, body, _ := call(t, ts, "GET", path, "", "", "", "Cookie", sessionCookie+"="+tok)
			return code, body
		}
		api := func(user, path string) (int, string) {
			t.Helper()
			code, body, _ := jsonCall(t, ts, "GET", path, login(t, ts, user), "")
			return code, body
		}
		type row struct{ actor, target, summary string }
		for _, tc := range []struct {
			name   string
			user   string
			get    func(user, path string) (int, string)
			path   string
			secret string
			shown  bool
			want   *row
		}{
			{"staff unmask a case by API", "staff-a", api, "/api/v1/cases/" + id + "?unmask=1", reporterPhone, true,
				&row{"staff-a", "case:" + c.Number, "reporter phone"}},
			{"staff unmask the case page", "staff-a", page, "/cases/" + id + "?unmask=1", reporterPhone, true,
				&row{"staff-a", "case:" + c.Number, "reporter phone (page)"}},
			{"admin unmasks a user", "admin", api, "/api/v1/users/" + resident + "?unmask=1", "13912345678", true,
				&row{"admin", "user:" + resident, "phone, id_number"}},
			{"staff read a case masked", "staff-a", api, "/api/v1/cases/" + id, reporterPhone, false, nil},
			{"leader may not unmask a case", "leader", api, "/api/v1/cases/" + id + "?unmask=1", reporterPhone, false, nil},
			{"leader may not unmask the case page", "leader", page, "/cases/" + id + "?unmask=1", reporterPhone, false, nil},
			{"leader may not unmask a user", "leader", api, "/api/v1/users/" + resident + "?unmask=1", "13912345678", false, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before, err := audit.List(ctx, d, audit.Filter{Action: "personal.unmask"})
				if err != nil {
					t.Fatal(err)
				}
				code, body := tc.get(tc.user, tc.path)
				if code != http.StatusOK {
					t.Fatalf("GET %s as %s: got %d %.300s, want 200", tc.path, tc.user, code, body)
				}
				if got := strings.Contains(body, tc.secret); got != tc.shown {
					t.Errorf("GET %s as %s: shows %s %v, want %v", tc.path, tc.user, tc.secret, got, tc.shown)
				}
				after, err := audit.List(ctx, d, audit.Filter{Action: "personal.unmask"})
				if err != nil {
					t.Fatal(err)
				}
				var got []row
				for _, e := range after[:len(after)-len(before)] {
					got = append(got, row{e.Actor, e.Target, e.Summary})
				}
				var want []row
				if tc.want != nil {
					want = []row{*tc.want}
				}
				if !slices.Equal(got, want) {
					t.Errorf("GET %s as %s: new personal.unmask rows %+v, want %+v", tc.path, tc.user, got, want)
				}
			})
		}
	})
}
