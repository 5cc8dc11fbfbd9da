package main

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// postAdminForm posts a form with a bearer token and answers the status
// and the page (redirects are not followed).
func postAdminForm(t *testing.T, u, token string, v url.Values, lang string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", u, strings.NewReader(v.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept-Language", lang)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAdminDicts: an administrator adds and edits dictionary items through
// the API and the /admin/dicts forms on both dialects; bad input is 422
// with messages per field in zh and en and writes nothing.
func TestAdminDicts(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			app := startApp(t, "demo", dataArgs(t, dialect))
			admin := login(t, app, "demo-admin")
			type answer struct {
				Code  string `json:"code"`
				Label string `json:"label"`
				Items []struct {
					Code    string `json:"code"`
					Label   string `json:"label"`
					Enabled bool   `json:"enabled"`
				} `json:"items"`
				Error struct {
					Fields map[string]string `json:"fields"`
				} `json:"error"`
			}
			var a answer
			if code := do(t, "POST", app.URL+"/api/v1/dicts/case_source/items", admin, map[string]any{"code": "wechat", "label": "微信公众号", "sort": 80}, &a); code != 201 || a.Label != "微信公众号" {
				t.Fatalf("add wechat: %d %+v, want 201", code, a)
			}
			a = answer{}
			if code := do(t, "POST", app.URL+"/api/v1/dicts/case_source/items", admin, map[string]any{"code": "Bad Code", "label": ""}, &a, "Accept-Language", "en"); code != 422 ||
				a.Error.Fields["code"] == "" || !strings.Contains(a.Error.Fields["label"], "Required") {
				t.Errorf("bad item: %d %v, want 422 with en messages on code and label", code, a.Error.Fields)
			}
			a = answer{}
			if code := do(t, "PATCH", app.URL+"/api/v1/dicts/case_source/items/visit", admin, map[string]any{"label": " "}, &a); code != 422 || !strings.Contains(a.Error.Fields["label"], "必填") {
				t.Errorf("blank label: %d %v, want 422 with a zh message on label", code, a.Error.Fields)
			}
			if code := do(t, "GET", app.URL+"/api/v1/dicts/nope", admin, nil, nil); code != 404 {
				t.Errorf("unknown dictionary: %d, want 404", code)
			}

			// The page: a bad add keeps the input and names the field; an
			// edit saved in place disables the item.
			code, page := postAdminForm(t, app.URL+"/admin/dicts/case_source/items", admin, url.Values{"code": {"x y"}, "label": {"坏代码"}, "sort": {"abc"}}, "zh-CN")
			if code != 422 || !strings.Contains(page, "坏代码") || !strings.Contains(page, `aria-invalid="true"`) {
				t.Errorf("bad add form: %d, want 422 showing the input with field errors", code)
			}
			code, _ = postAdminForm(t, app.URL+"/admin/dicts/case_source/items/visit", admin, url.Values{"label": {"上门来访"}, "label_en": {"Walk-in"}, "sort": {"40"}}, "zh-CN")
			if code != http.StatusSeeOther {
				t.Errorf("edit form: %d, want 303", code)
			}
			a = answer{}
			do(t, "GET", app.URL+"/api/v1/dicts/case_source", admin, nil, &a)
			var got []string
			for _, it := range a.Items {
				s := it.Code + "=" + it.Label
				if !it.Enabled {
					s += "(off)"
				}
				got = append(got, s)
			}
			if want := "hotline=12345热线 resident=居民上报 grid_patrol=网格员巡查 visit=上门来访(off) staff=工作人员代报 open311=Open311 接口 sensor=物联感知 wechat=微信公众号"; strings.Join(got, " ") != want {
				t.Errorf("items: got %s, want %s", strings.Join(got, " "), want)
			}
			page = pageText(t, app.URL+"/admin/dicts?type=case_source", admin)
			for _, want := range []string{"字典管理", "事件来源", "居民身份类型", "微信公众号", "上门来访"} {
				if !strings.Contains(page, want) {
					t.Errorf("/admin/dicts lacks %q", want)
				}
			}
		})
	}
}

var optionRE = regexp.MustCompile(`<option value="([^"]*)"[^>]*>([^<]*)</option>`)

// sourceSelect returns the options of the page's select named source as
// "value=label" strings.
func sourceSelect(t *testing.T, page string) []string {
	t.Helper()
	i := strings.Index(page, `name="source"`)
	if i < 0 {
		t.Fatal("the page has no source select")
	}
	sel := page[i:]
	sel = sel[:strings.Index(sel, "</select>")]
	var out []string
	for _, m := range optionRE.FindAllStringSubmatch(sel, -1) {
		if m[1] != "" {
			out = append(out, m[1]+"="+html.UnescapeString(m[2]))
		}
	}
	return out
}

// TestSourceOptionsFromDict: the case forms' source options (a staff
// member's report form, the queue's filter) are the case_source
// dictionary's enabled items in its order and language, so renaming,
// reordering or disabling an item on /admin/dicts changes the forms.
func TestSourceOptionsFromDict(t *testing.T) {
	app := startApp(t, "demo", dataArgs(t, "sqlite"))
	admin, street, grid := login(t, app, "demo-admin"), login(t, app, "demo-street"), login(t, app, "demo-grid")
	check := func(name, url, token, want string) {
		t.Helper()
		if got := strings.Join(sourceSelect(t, pageText(t, app.URL+url, token)), " "); got != want {
			t.Errorf("%s: source options\n got %s\nwant %s", name, got, want)
		}
	}
	check("street's report form", "/report", street, "hotline=12345热线 resident=居民上报 visit=来访 staff=工作人员代报")
	check("grid worker's report form", "/report", grid, "hotline=12345热线 resident=居民上报 grid_patrol=网格员巡查 visit=来访 staff=工作人员代报")
	check("queue filter", "/cases", street, "hotline=12345热线 resident=居民上报 grid_patrol=网格员巡查 visit=来访 staff=工作人员代报 open311=Open311 接口 sensor=物联感知")

	// Renamed (in both languages) and moved last; 来访 disabled.
	if code := do(t, "PATCH", app.URL+"/api/v1/dicts/case_source/items/hotline", admin,
		map[string]any{"label": "政务服务热线", "label_en": "Service hotline", "sort": 90}, nil); code != 200 {
		t.Fatalf("rename hotline: %d", code)
	}
	if code := do(t, "PATCH", app.URL+"/api/v1/dicts/case_source/items/visit", admin, map[string]any{"enabled": false}, nil); code != 200 {
		t.Fatalf("disable visit: %d", code)
	}
	check("street's report form after the edit", "/report", street, "resident=居民上报 staff=工作人员代报 hotline=政务服务热线")
	check("street's report form in English", "/report?lang=en", street, "resident=Resident report staff=Reported by staff hotline=Service hotline")
	check("queue filter after the edit", "/cases", street, "resident=居民上报 grid_patrol=网格员巡查 staff=工作人员代报 open311=Open311 接口 sensor=物联感知 hotline=政务服务热线")

	// A source chosen from the form is one casework accepts: 来访 again.
	on := true
	if code := do(t, "PATCH", app.URL+"/api/v1/dicts/case_source/items/visit", admin, map[string]any{"enabled": on}, nil); code != 200 {
		t.Fatalf("enable visit: %d", code)
	}
	var c struct {
		Source string `json:"source"`
	}
	if code := do(t, "POST", app.URL+"/api/v1/cases", street, map[string]any{"category": "ZL0601", "description": "居民来访反映楼道灯不亮，需要维修。",
		"lat": inDemoCommunity[0], "lng": inDemoCommunity[1], "source": "visit"}, &c); code != 201 || c.Source != "visit" {
		t.Errorf("a walk-in case: %d with source %q, want 201 visit", code, c.Source)
	}
}
