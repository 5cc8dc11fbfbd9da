package main

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestAdminLoginsPaged: /admin/logins shows its total, numbered pages of
// 50 and headings that sort either way; an unknown sort key is 422 with
// its message, in zh and en.
func TestAdminLoginsPaged(t *testing.T) {
	app := startApp(t, "demo", dataArgs(t, "sqlite"), "--limit-login", "100000")
	admin := login(t, app, "demo-admin")
	for i := range 60 {
		do(t, "POST", app.URL+"/api/v1/session", "", map[string]string{"username": fmt.Sprintf("ghost-%02d", i), "password": "x"}, nil)
	}
	get := func(path, lang string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", app.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Accept-Language", lang)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	user := regexp.MustCompile(`<td class="mono">(ghost-\d\d|demo-admin)</td>`)
	names := func(page string) []string {
		var out []string
		for _, m := range user.FindAllStringSubmatch(page, -1) {
			out = append(out, m[1])
		}
		return out
	}
	code, page := get("/admin/logins?failed=1", "zh-CN")
	if code != 200 || !strings.Contains(page, "共 60 条") {
		t.Fatalf("failed logins: %d, want 200 with 共 60 条", code)
	}
	if got := names(page); len(got) != 50 || got[0] != "ghost-59" {
		t.Errorf("first page: %d rows starting %v, want 50 newest first (ghost-59)", len(got), got[:min(1, len(got))])
	}
	if !strings.Contains(page, `href="/admin/logins?failed=1&amp;p=2"`) || !strings.Contains(page, `aria-current="page">1<`) {
		t.Error("first page: no link to page 2, or page 1 not marked current")
	}
	_, page = get("/admin/logins?failed=1&p=2", "zh-CN")
	if got := names(page); len(got) != 10 || got[9] != "ghost-00" {
		t.Errorf("second page: %v, want the 10 oldest ending with ghost-00", got)
	}
	_, page = get("/admin/logins?failed=1&sort=username", "zh-CN")
	if got := names(page); len(got) != 50 || got[0] != "ghost-00" || got[49] != "ghost-49" {
		t.Errorf("sorted by name: %d rows from %v, want ghost-00 … ghost-49", len(got), got[:min(1, len(got))])
	}
	if !strings.Contains(page, `aria-sort="ascending"><a href="/admin/logins?failed=1&amp;sort=-username">`) {
		t.Error("sorted by name: the heading is not marked ascending with a link that reverses it")
	}
	_, page = get("/admin/logins?failed=1&sort=-username&p=2", "zh-CN")
	if got := names(page); len(got) != 10 || got[0] != "ghost-09" {
		t.Errorf("by name descending, page 2: %v, want ghost-09 … ghost-00", got)
	}
	for lang, want := range map[string]string{"zh-CN": "不支持按 password 排序", "en": "Cannot sort by password"} {
		code, page = get("/admin/logins?sort=password", lang)
		if code != http.StatusUnprocessableEntity || !strings.Contains(page, want) || len(names(page)) != 0 {
			t.Errorf("sort=password in %s: %d, want 422 naming the sort (%q) and no rows", lang, code, want)
		}
	}
}
