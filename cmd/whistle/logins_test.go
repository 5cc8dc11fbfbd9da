package main

import (
	"encoding/json"
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

	// The API sorts and pages the same way, with the total.
	var log struct {
		Entries []struct {
			Username string `json:"username"`
		} `json:"entries"`
		Total int `json:"total"`
	}
	code, body := get("/api/v1/login-log?failed=1&sort=-username&offset=50&limit=50", "en")
	if err := json.Unmarshal([]byte(body), &log); code != 200 || err != nil {
		t.Fatalf("API sorted by name descending: %d %v", code, err)
	}
	var got []string
	for _, e := range log.Entries {
		got = append(got, e.Username)
	}
	if log.Total != 60 || len(got) != 10 || got[0] != "ghost-09" || got[9] != "ghost-00" {
		t.Errorf("API by name descending from 50: total %d, %v; want 60 and ghost-09 … ghost-00", log.Total, got)
	}
	for lang, want := range map[string]string{"zh-CN": "不支持按 password 排序", "en": "Cannot sort by password"} {
		var e apiError
		code, body = get("/api/v1/login-log?sort=password", lang)
		if err := json.Unmarshal([]byte(body), &e); code != http.StatusUnprocessableEntity || err != nil || !strings.HasPrefix(e.Error.Fields["sort"], want) {
			t.Errorf("API sort=password in %s: %d %s, want 422 with %q on sort", lang, code, body, want)
		}
	}
}

// TestAdminRoutingRulesPaged: the routing rules on /admin/categories have
// their own total, numbered pages (?rp=) and sortable headings (?rsort=),
// which keep the category list's sort; an unknown key is 422. On both
// dialects.
func TestAdminRoutingRulesPaged(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			app := startApp(t, "demo", dataArgs(t, dialect))
			admin := login(t, app, "demo-admin")
			var before struct {
				Rules []json.RawMessage `json:"routing_rules"`
			}
			if code := do(t, "GET", app.URL+"/api/v1/routing-rules", admin, nil, &before); code != 200 {
				t.Fatalf("routing rules: %d", code)
			}
			for i := 1; i <= 55; i++ {
				if code := do(t, "POST", app.URL+"/api/v1/routing-rules", admin, map[string]any{"category_code": "BJ02", "region_code": "330303001",
					"department": "CG", "priority": 100 + i}, nil); code != 201 {
					t.Fatalf("add rule %d: %d", i, code)
				}
			}
			total := len(before.Rules) + 55
			get := func(path string) (int, string) {
				t.Helper()
				req, _ := http.NewRequest("GET", app.URL+path, nil)
				req.Header.Set("Authorization", "Bearer "+admin)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(b)
			}
			rules := func(page string) string {
				i := strings.Index(page, `id="rules"`)
				if i < 0 {
					t.Fatal("no rules section")
				}
				return page[i:]
			}
			prio := regexp.MustCompile(`<td class="mono">CG</td><td>(\d+)</td>`)
			prios := func(section string) []string {
				var out []string
				for _, m := range prio.FindAllStringSubmatch(section, -1) {
					out = append(out, m[1])
				}
				return out
			}
			code, page := get("/admin/categories?rsort=-priority&sort=name")
			sec := rules(page)
			if code != 200 || !strings.Contains(sec, fmt.Sprintf("共 %d 条", total)) {
				t.Fatalf("rules by priority: %d, want 200 with 共 %d 条", code, total)
			}
			if got := prios(sec); len(got) < 50 || got[0] != "155" || got[1] != "154" {
				t.Errorf("rules by priority, highest first: %v…, want 155, 154 …", got[:min(3, len(got))])
			}
			if !strings.Contains(sec, `href="/admin/categories?rp=2&amp;rsort=-priority&amp;sort=name#rules"`) {
				t.Error("no link to the rules' page 2 keeping both sorts")
			}
			if !strings.Contains(sec, `aria-sort="descending"><a href="/admin/categories?rsort=priority&amp;sort=name#rules"`) {
				t.Error("the priority heading is not marked descending with a link that reverses it")
			}
			_, page = get("/admin/categories?rsort=priority&rp=2")
			if got := prios(rules(page)); len(got) == 0 || got[len(got)-1] != "155" {
				t.Errorf("rules by priority, page 2: %v, want it to end with 155", got)
			}
			if code, page = get("/admin/categories?rsort=password"); code != http.StatusUnprocessableEntity || !strings.Contains(rules(page), "不支持按 password 排序") {
				t.Errorf("rsort=password: %d, want 422 with the message in the rules section", code)
			}
		})
	}
}
