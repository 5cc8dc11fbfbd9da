package web

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/worldtest"
)

// TestAuditPageAndExport: the audit log page filters by action from a list,
// names actions and fields in the reader's language, shows its total, and
// exports exactly the filtered entries as CSV and Excel; an unknown sort
// key or a bad date is a field error, never a query.
func TestAuditPageAndExport(t *testing.T) {
	worldtest.Each(t, edgeStart(), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newEdgeWorld(t, d, clk, nil)
		admin := login(t, w.ts, "admin")
		for _, u := range []string{"grid-a", "staff-b"} {
			id := strconv.FormatInt(w.Users[u].ID, 10)
			if status, body, _ := jsonCall(t, w.ts, "PATCH", "/api/v1/users/"+id, admin, `{"disabled":true}`); status != http.StatusOK {
				t.Fatalf("disable %s: %d %s", u, status, body)
			}
		}
		sess := w.webLogin(t, "admin", "")
		get := func(path, lang string) (int, string, http.Header) {
			resp, body := w.do(t, edgeReq{method: "GET", path: path, cookies: []*http.Cookie{sess}, hdr: []string{"Accept-Language", lang}})
			return resp.StatusCode, body, resp.Header
		}
		status, page, _ := get("/admin/audit?action=user.update&sort=-actor", "zh-CN")
		if status != http.StatusOK {
			t.Fatalf("audit page: %d", status)
		}
		for _, want := range []string{"共 2 条", `<option value="user.update" selected>修改用户</option>`, "停用: 否 → 是", `aria-sort="descending"`,
			`href="/admin/audit/export.csv?action=user.update&amp;sort=-actor"`} {
			if !strings.Contains(page, want) {
				t.Errorf("the audit page lacks %q", want)
			}
		}
		if strings.Contains(page, "user.add") && strings.Contains(page, ">新建用户</td>") {
			t.Error("the page filtered by user.update lists user.add entries")
		}

		status, csv, hdr := get("/admin/audit/export.csv?action=user.update&sort=-actor", "en")
		if status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") {
			t.Fatalf("csv: %d %s", status, hdr.Get("Content-Type"))
		}
		lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(csv, "\uFEFF")), "\n")
		if len(lines) != 3 || lines[0] != "Time,Actor,Action,Action code,Target,Summary,IP" {
			t.Fatalf("csv lines = %q, want a heading and two entries", lines)
		}
		for i, target := range []string{"user:" + strconv.FormatInt(w.Users["staff-b"].ID, 10), "user:" + strconv.FormatInt(w.Users["grid-a"].ID, 10)} {
			if !strings.Contains(lines[i+1], ",admin,User edited,user.update,"+target+",disabled: no → yes,") {
				t.Errorf("csv line %d = %q, want admin's User edited of %s", i+1, lines[i+1], target)
			}
		}

		status, xlsx, _ := get("/admin/audit/export.xlsx?action=user.update", "zh-CN")
		if status != http.StatusOK {
			t.Fatalf("xlsx: %d", status)
		}
		f, err := excelize.OpenReader(strings.NewReader(xlsx))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := f.GetRows("操作日志")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 3 || rows[0][2] != "操作" || rows[1][2] != "修改用户" || rows[1][5] != "停用: 否 → 是" {
			t.Errorf("xlsx rows = %q", rows)
		}

		for _, bad := range []struct{ query, zh string }{
			{"sort=summary", "不支持按 summary 排序"},
			{"from=2026-13-01", "日期"},
			{"from=2026-12-02&to=2026-12-01", "结束日期不能早于开始日期"},
		} {
			status, page, _ := get("/admin/audit?"+bad.query, "zh-CN")
			if status != http.StatusUnprocessableEntity || !strings.Contains(page, bad.zh) {
				t.Errorf("page ?%s: %d, want 422 with %q", bad.query, status, bad.zh)
			}
			if status, _, hdr := get("/admin/audit/export.csv?"+bad.query, "en"); status != http.StatusUnprocessableEntity || strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") {
				t.Errorf("export ?%s: %d %s, want a 422 page", bad.query, status, hdr.Get("Content-Type"))
			}
		}
	})
}

// TestLoginLogExport: the login log's reasons are translated and its CSV
// export holds exactly the filtered entries (failed only).
func TestLoginLogExport(t *testing.T) {
	worldtest.Each(t, edgeStart(), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newEdgeWorld(t, d, clk, nil)
		jsonCall(t, w.ts, "POST", "/api/v1/session", "", `{"username":"street","password":"wrong-password"}`)
		sess := w.webLogin(t, "admin", "")
		resp, csv := w.do(t, edgeReq{method: "GET", path: "/admin/logins/export.csv?failed=1", cookies: []*http.Cookie{sess}, hdr: []string{"Accept-Language", "zh-CN"}})
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("export: %d", resp.StatusCode)
		}
		lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(csv, "\uFEFF")), "\n")
		if len(lines) != 2 || !strings.Contains(lines[1], ",street,") || !strings.Contains(lines[1], ",失败,密码错误") {
			t.Errorf("csv = %q, want street's one failed login, reason 密码错误", lines)
		}
		_, page := w.do(t, edgeReq{method: "GET", path: "/admin/logins?failed=1", cookies: []*http.Cookie{sess}, hdr: []string{"Accept-Language", "en"}})
		if !strings.Contains(page, "<td>wrong password</td>") {
			t.Error("the login log page does not translate the reason")
		}
	})
}
