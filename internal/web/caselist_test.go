package web

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/worldtest"
)

// TestCaseListPagesAndSorts: the staff case list shows its scoped total,
// numbered pages of listPageSize cases and sortable headings that keep the
// filter; a sort key it does not know is a 422 with the field's message in
// zh and en, never a query (issue 15 item 4).
func TestCaseListPagesAndSorts(t *testing.T) {
	worldtest.Each(t, edgeStart(), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newEdgeWorld(t, d, clk, nil)
		lat, lngA, lngB := 27.005, 120.005, 120.015
		for i := 0; i < listPageSize+1; i++ {
			w.Submit(t, "resident", casework.SubmitInput{Category: "ZL0601", Description: "楼道堆放杂物，影响通行", Lat: &lat, Lng: &lngA})
		}
		w.Submit(t, "resident", casework.SubmitInput{Category: "ZL0601", Description: "楼道堆放杂物，影响通行", Lat: &lat, Lng: &lngB})
		get := func(t *testing.T, who, path, lang string) (int, string) {
			t.Helper()
			resp, body := w.do(t, edgeReq{method: "GET", path: path, cookies: []*http.Cookie{w.webLogin(t, who, "")}, hdr: []string{"Accept-Language", lang}})
			return resp.StatusCode, body
		}
		rowRe := regexp.MustCompile(`<td class="mono c-num"><a href="/cases/\d+">`)
		pages := []struct {
			name, who, path string
			rows            int
			want            []string
		}{
			{"street staff, page 1", "street", "/cases?queue=all", listPageSize,
				[]string{"共 52 条", `href="/cases?p=2&amp;queue=all"`, `aria-current="page">1<`}},
			{"street staff, page 2", "street", "/cases?queue=all&p=2", 2,
				[]string{"共 52 条", `aria-current="page">2<`, `rel="prev"`}},
			{"community staff A, its own only", "staff-a", "/cases?queue=all&p=2", 1, []string{"共 51 条"}},
			{"community staff B, one page", "staff-b", "/cases?queue=all", 1, []string{"共 1 条"}},
			{"sorted by number, descending", "street", "/cases?queue=all&sort=-number", listPageSize,
				[]string{`aria-sort="descending"><a href="/cases?queue=all&amp;sort=number">案件编号 ▼`,
					`href="/cases?p=2&amp;queue=all&amp;sort=-number"`}},
		}
		for _, p := range pages {
			t.Run(p.name, func(t *testing.T) {
				status, body := get(t, p.who, p.path, "zh-CN")
				if status != http.StatusOK {
					t.Fatalf("got %d, want 200", status)
				}
				if got := len(rowRe.FindAllString(body, -1)); got != p.rows {
					t.Errorf("rows: got %d, want %d", got, p.rows)
				}
				for _, want := range p.want {
					if !strings.Contains(body, want) {
						t.Errorf("the page lacks %q", want)
					}
				}
			})
		}
		token := login(t, w.ts, "street")
		apis := []struct {
			name, path   string
			cases, total int // total -1: none in the answer
		}{
			{"cursor client, unchanged", "/api/v1/cases?limit=10", 10, -1},
			{"last numbered page", "/api/v1/cases?sort=-created&offset=50&limit=50", 2, 52},
			{"offset alone", "/api/v1/cases?offset=51", 1, 52},
		}
		for _, a := range apis {
			t.Run("api "+a.name, func(t *testing.T) {
				status, body, _ := jsonCall(t, w.ts, "GET", a.path, token, "")
				if status != http.StatusOK {
					t.Fatalf("got %d %s, want 200", status, body)
				}
				var got struct {
					Cases []json.RawMessage `json:"cases"`
					Total *int              `json:"total"`
				}
				if err := json.Unmarshal([]byte(body), &got); err != nil {
					t.Fatal(err)
				}
				if len(got.Cases) != a.cases {
					t.Errorf("cases: got %d, want %d", len(got.Cases), a.cases)
				}
				switch {
				case a.total < 0 && got.Total != nil:
					t.Errorf("total: got %d, want none", *got.Total)
				case a.total >= 0 && (got.Total == nil || *got.Total != a.total):
					t.Errorf("total: got %v, want %d", got.Total, a.total)
				}
			})
		}
		for _, q := range []string{"sort=description", "offset=-1", "offset=x"} {
			if status, body, _ := jsonCall(t, w.ts, "GET", "/api/v1/cases?"+q, token, ""); status != http.StatusUnprocessableEntity {
				t.Errorf("api ?%s: got %d %s, want 422", q, status, body)
			}
		}
		for _, bad := range []struct{ lang, want string }{{"zh-CN", "不支持按 description 排序"}, {"en", "Cannot sort by description"}} {
			status, body := get(t, "street", "/cases?queue=all&sort=description", bad.lang)
			if status != http.StatusUnprocessableEntity || !strings.Contains(body, bad.want) {
				t.Errorf("sort=description in %s: got %d, want 422 with %q", bad.lang, status, bad.want)
			}
		}
	})
}
