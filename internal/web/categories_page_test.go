package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"whistle/internal/category"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/worldtest"
)

// TestCategoriesPageSortAndPages: the admin category list shows its total
// and numbered pages of 50, sorts by a whitelisted column from its
// heading (both directions, across pages) and refuses any other sort key
// with a 422 naming it in zh and en.
func TestCategoriesPageSortAndPages(t *testing.T) {
	worldtest.Each(t, edgeStart(), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newEdgeWorld(t, d, clk, nil)
		all, err := category.NewStore(d).List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(all) <= 50 {
			t.Fatalf("%d categories; the test needs more than one page", len(all))
		}
		codes := make([]string, len(all))
		for i, c := range all {
			codes[i] = c.Code
		}
		slices.Sort(codes)
		slices.Reverse(codes)
		sess := w.webLogin(t, "admin", "")
		get := func(path, lang string) (int, string) {
			resp, body := w.do(t, edgeReq{method: "GET", path: path, cookies: []*http.Cookie{sess}, hdr: []string{"Accept-Language", lang}})
			return resp.StatusCode, body
		}
		row := func(code string) string { return `<td class="mono">` + code + `</td>` }
		status, page := get("/admin/categories", "zh-CN")
		if want := fmt.Sprintf("共 %d 条", len(all)); status != http.StatusOK || !strings.Contains(page, want) || !strings.Contains(page, "p=2") {
			t.Fatalf("first page: %d, want 200 with %s and a link to page 2", status, want)
		}
		status, page = get("/admin/categories?sort=-code", "zh-CN")
		if status != http.StatusOK || !strings.Contains(page, `aria-sort="descending"`) {
			t.Fatalf("sorted: %d, want 200 sorted descending", status)
		}
		if !strings.Contains(page, row(codes[0])) || !strings.Contains(page, row(codes[49])) || strings.Contains(page, row(codes[50])) {
			t.Errorf("page 1 by code descending: want %s … %s and not %s", codes[0], codes[49], codes[50])
		}
		if a, b := strings.Index(page, row(codes[0])), strings.Index(page, row(codes[1])); a < 0 || b < 0 || a > b {
			t.Errorf("%s at %d, %s at %d: want descending order", codes[0], a, codes[1], b)
		}
		_, page = get("/admin/categories?sort=-code&p=2", "zh-CN")
		if !strings.Contains(page, row(codes[50])) || strings.Contains(page, row(codes[49])) {
			t.Errorf("page 2 by code descending: want %s and not %s", codes[50], codes[49])
		}
		for lang, want := range map[string]string{"zh-CN": "不支持按 fields 排序", "en": "Cannot sort by fields"} {
			if status, page := get("/admin/categories?sort=fields", lang); status != http.StatusUnprocessableEntity || !strings.Contains(page, want) || !strings.Contains(page, "field-error") {
				t.Errorf("bad sort (%s): %d, want 422 with %q", lang, status, want)
			}
		}
	})
}
