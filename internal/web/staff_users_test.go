package web

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/worldtest"
)

// TestUserEditAndReassignAPI: PATCH /api/v1/users/{id} edits and disables
// a user (who then cannot log in), POST …/reassign moves their open case to
// a colleague; bad input gets a field message in zh and en and changes
// nothing.
func TestUserEditAndReassignAPI(t *testing.T) {
	worldtest.Each(t, edgeStart(), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newEdgeWorld(t, d, clk, nil)
		ctx := context.Background()
		admin := login(t, w.ts, "admin")
		gridA := w.Users["grid-a"]
		id := strconv.FormatInt(gridA.ID, 10)
		mate, err := w.Accounts.AddUser(ctx, audit.System("test"), account.SystemScope(), account.NewUser{Username: "grid-a2",
			Password: worldtest.Password, Roles: []account.Role{account.GridWorker}, RegionCode: gridA.Region.Code})
		if err != nil {
			t.Fatal(err)
		}
		staffA := casework.Caller{User: w.Users["staff-a"]}
		c := w.Submit(t, "resident", casework.SubmitInput{Category: "ZL0601", Description: "楼道堆放杂物，影响通行", Lat: ptrF(27.005), Lng: ptrF(120.005)})
		for _, a := range []struct {
			act casework.Action
			in  casework.Input
		}{{casework.ActAccept, casework.Input{}}, {casework.ActDispatch, casework.Input{Target: &casework.Target{User: gridA.ID}}}} {
			if _, err := w.Cases.Act(ctx, staffA, c.ID, a.act, a.in); err != nil {
				t.Fatal(err)
			}
		}

		bad := []struct {
			name, method, path, body, field, zh, en string
		}{
			{"nothing to change", "PATCH", "/api/v1/users/" + id, `{}`, "disabled", "没有要修改的内容", "Nothing to change"},
			{"bad phone", "PATCH", "/api/v1/users/" + id, `{"phone":"12","display_name":"改名"}`, "phone", "手机号", "mobile number"},
			{"unknown role", "PATCH", "/api/v1/users/" + id, `{"roles":["king"]}`, "roles", "未知角色", "Unknown role"},
			{"unknown region", "PATCH", "/api/v1/users/" + id, `{"region":"999"}`, "region", "未知区划", "Unknown region"},
			{"no colleague", "POST", "/api/v1/users/" + id + "/reassign", `{}`, "to", "必填", "Required"},
			{"colleague of another role", "POST", "/api/v1/users/" + id + "/reassign",
				`{"to":` + strconv.FormatInt(w.Users["cg-handler"].ID, 10) + `}`, "to", "没有可办理这些案件的角色", "holds no role"},
		}
		for _, b := range bad {
			t.Run(b.name, func(t *testing.T) {
				for lang, want := range map[string]string{"zh-CN": b.zh, "en": b.en} {
					status, body, _ := jsonCall(t, w.ts, b.method, b.path, admin, b.body, "Accept-Language", lang)
					var v struct {
						Error struct{ Fields map[string]string } `json:"error"`
					}
					_ = json.Unmarshal([]byte(body), &v)
					if status != http.StatusUnprocessableEntity || !strings.Contains(v.Error.Fields[b.field], want) {
						t.Errorf("%s: %d %s, want 422 with %q on %s", lang, status, body, want, b.field)
					}
				}
			})
		}
		u, err := w.Accounts.User(ctx, account.SystemScope(), gridA.ID)
		if err != nil {
			t.Fatal(err)
		}
		if u.DisplayName != "" || u.Phone != "" || u.Disabled {
			t.Errorf("grid-a changed by refused requests: %+v", u)
		}
		if got, _ := w.Cases.Get(ctx, staffA, c.ID); got.AssigneeID != gridA.ID {
			t.Errorf("case moved by refused requests to %d", got.AssigneeID)
		}

		status, body, _ := jsonCall(t, w.ts, "PATCH", "/api/v1/users/"+id, admin, `{"display_name":"王五","disabled":true}`)
		if status != http.StatusOK || !jsonHas(body, "disabled") || !strings.Contains(body, "王五") {
			t.Fatalf("disable: %d %s", status, body)
		}
		if status, _, _ := jsonCall(t, w.ts, "POST", "/api/v1/session", "", `{"username":"grid-a","password":"`+worldtest.Password+`"}`); status != http.StatusForbidden {
			t.Errorf("disabled user's login: %d, want 403", status)
		}
		status, body, _ = jsonCall(t, w.ts, "POST", "/api/v1/users/"+id+"/reassign", admin, `{"to":`+strconv.FormatInt(mate.ID, 10)+`}`)
		if status != http.StatusOK || !strings.Contains(body, `"moved":1`) || !strings.Contains(body, c.Number) {
			t.Fatalf("reassign: %d %s", status, body)
		}
		if got, _ := w.Cases.Get(ctx, staffA, c.ID); got.AssigneeID != mate.ID {
			t.Errorf("case assignee after reassign = %d, want grid-a2 (%d)", got.AssigneeID, mate.ID)
		}
	})
}

func ptrF(v float64) *float64 { return &v }

// TestUsersPageSortAndPages: the users page shows its total, sorts by a
// whitelisted column from its heading and refuses any other sort key.
func TestUsersPageSortAndPages(t *testing.T) {
	worldtest.Each(t, edgeStart(), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newEdgeWorld(t, d, clk, nil)
		sess := w.webLogin(t, "admin", "")
		get := func(path string) (int, string) {
			resp, body := w.do(t, edgeReq{method: "GET", path: path, cookies: []*http.Cookie{sess}, hdr: []string{"Accept-Language", "zh-CN"}})
			return resp.StatusCode, body
		}
		status, page := get("/admin/users?sort=-username&role=community_staff")
		if status != http.StatusOK || !strings.Contains(page, "共 2 条") || !strings.Contains(page, `aria-sort="descending"`) {
			t.Fatalf("users page: %d, want 200 with 共 2 条, sorted descending", status)
		}
		if a, b := strings.Index(page, ">staff-b<"), strings.Index(page, ">staff-a<"); a < 0 || b < 0 || a > b {
			t.Errorf("staff-b at %d, staff-a at %d: want staff-b first by username descending", a, b)
		}
		if status, page := get("/admin/users?sort=password_hash"); status != http.StatusUnprocessableEntity || !strings.Contains(page, "不支持按 password_hash 排序") {
			t.Errorf("bad sort: %d, want 422 with a message", status)
		}
	})
}
