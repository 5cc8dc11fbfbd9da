package web

// Fuzz targets for the decoders fuzz_test.go does not reach: the JSON
// login, every admin JSON body, the page forms (a case action with its
// target, bulk dispatch, the admin forms) and the query parsers (case
// filters, statistics, locate, duplicates, bounding boxes, audit). Each
// drives the real Server with the SLA engine and the rollups, and checks
// the same answer invariants (apiAnswer, pageAnswer): never a 5xx or a
// logged error, never a panic; a 4xx is a JSON error with a code and a
// translated message, and a 422 names its fields, each with a translated
// message. Each target adds a property checked apart from the decoder: a
// login succeeds only with the right password, what an admin body created
// reads back the same, a form that answered success changed the database
// (and one that failed did not), what a query returns lies inside what it
// asked for.
//
// Run one for a while with, for example:
//
//	go test ./internal/web -run '^$' -fuzz '^FuzzAdminUserJSON$' -fuzztime 30s

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/dispute"
	"whistle/internal/notify"
	"whistle/internal/sla"
	"whistle/internal/worldtest"
)

// decoderWorld is fuzzWorld with the SLA engine, the calendar and the
// rollups behind the server, and the stores for checking effects.
type decoderWorld struct {
	*fuzzWorld
	w    *worldtest.World
	eng  *sla.Engine
	db   *db.DB
	sys  casework.Caller
	user map[string]*account.User
}

func newDecoderWorld(tb testing.TB) *decoderWorld {
	tb.Helper()
	ctx := context.Background()
	users := []worldtest.User{
		{Name: "admin", Region: "330303", Role: account.Admin}, {Name: "leader", Region: "330303", Role: account.Leader},
		{Name: "street", Region: "330303001", Role: account.StreetStaff}, {Name: "staff", Region: "330303001001", Role: account.CommunityStaff},
		{Name: "res", Region: "330303001001", Role: account.Resident}, {Name: "grid", Region: "330303001001001", Role: account.GridWorker},
		{Name: "cg-handler", Region: "330303", Role: account.DepartmentHandler, Department: "CG"},
		{Name: "login", Region: "330303001001", Role: account.Resident}, {Name: "pw-target", Region: "330303001001", Role: account.GridWorker},
	}
	watch := &panicWatch{}
	logger := slog.New(watch)
	d := dbtest.MustOpenDB(tb, db.SQLite, clock.Real{})
	wt := worldtest.New(tb, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Departments: worldtest.Departments("CG", "SW"),
		Users: users, Phone: "13912345678", Calendar: true, Logger: logger})
	eng, err := sla.New(ctx, sla.Deps{DB: d, Cases: wt.Cases, Calendar: wt.Calendar, Categories: wt.Categories, Regions: wt.Regions, Accounts: wt.Accounts})
	if err != nil {
		tb.Fatal(err)
	}
	wt.Cases.UseDeadlines(eng)
	st := wt.AddStats(tb, eng.Calendar)
	disputes, err := dispute.NewService(ctx, dispute.Deps{DB: d, Regions: wt.Regions, Accounts: wt.Accounts, Workflows: wt.Cases.WorkflowStore(), Logger: logger})
	if err != nil {
		tb.Fatal(err)
	}
	_, ts := serve(tb, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: wt.Accounts, Regions: wt.Regions, Cases: wt.Cases, Categories: wt.Categories, SLA: eng, Stats: st,
		Disputes: disputes, Logger: logger})
	fw := &fuzzWorld{ts: ts, watch: watch, tokens: map[string]string{}, csrf: map[string]string{}}
	w := &decoderWorld{fuzzWorld: fw, w: wt, eng: eng, db: d, sys: casework.Caller{System: true}, user: map[string]*account.User{}}
	for _, u := range users {
		if u.Name == "login" {
			continue // FuzzLoginJSON's, whose failures may throttle it
		}
		tok, usr, sess, err := wt.Accounts.Login(ctx, u.Name, worldtest.Password, account.WebSession, account.Client{IP: "127.0.0.1"})
		if err != nil {
			tb.Fatal(err)
		}
		fw.tokens[u.Name], fw.csrf[u.Name], w.user[u.Name] = tok, sess.CSRF, usr
	}
	fw.caseID = w.submit(tb, `{"category":"ZL0601","description":"楼道堆放杂物","lat":27.005,"lng":120.005}`)
	fw.urban = w.submit(tb, `{"category":"SJ0101","description":"违章搭建","lat":27.005,"lng":120.005}`)
	return w
}

// accepted returns n 红哨 cases of community A waiting to be dispatched,
// accepting new ones while there are fewer.
func (w *decoderWorld) accepted(tb testing.TB, n int) []int64 {
	tb.Helper()
	ctx := context.Background()
	st := casework.Accepted
	cs, _, err := w.w.Cases.List(ctx, w.sys, casework.Filter{Status: []casework.State{st}, Limit: n})
	if err != nil {
		tb.Fatal(err)
	}
	var ids []int64
	for _, c := range cs {
		ids = append(ids, c.ID)
	}
	for len(ids) < n {
		lat, lng := 27.005, 120.005
		c, _, err := w.w.Cases.Submit(ctx, casework.Caller{User: w.user["res"]}, casework.SubmitInput{Category: "ZL0601", Description: "堆物",
			Lat: &lat, Lng: &lng})
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := w.w.Cases.Act(ctx, casework.Caller{User: w.user["admin"]}, c.ID, casework.ActAccept, casework.Input{}); err != nil {
			tb.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	return ids
}

// count runs a COUNT(*) query.
func (w *decoderWorld) count(tb testing.TB, q string, args ...any) int {
	tb.Helper()
	var n int
	if err := w.db.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

// keyLike is a catalogue key: a message the catalogue did not translate.
var keyLike = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)+$`)

// apiAnswer checks a JSON API answer: one of the ok statuses, or a 4xx
// whose body is an error with a code and a translated message, and whose
// fields (a 422 has at least one) each carry a translated message. It
// reports whether the call succeeded. fuzzWorld.send has already failed
// the test on a 5xx or a logged error.
func apiAnswer(t *testing.T, what string, code int, raw []byte, ok ...int) bool {
	t.Helper()
	if slices.Contains(ok, code) {
		return true
	}
	if code < 400 || code >= 500 {
		t.Fatalf("%s: unexpected status %d: %s", what, code, raw)
	}
	var e errorBody
	if err := json.Unmarshal(raw, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("%s: status %d without a JSON error with a code and a message: %s", what, code, raw)
	}
	if keyLike.MatchString(e.Error.Message) {
		t.Fatalf("%s: status %d with the untranslated message %q", what, code, e.Error.Message)
	}
	if code == http.StatusUnprocessableEntity && len(e.Error.Fields) == 0 {
		t.Fatalf("%s: 422 without a field message: %s", what, raw)
	}
	for f, m := range e.Error.Fields {
		if f == "" || m == "" || keyLike.MatchString(m) {
			t.Fatalf("%s: status %d with the field message %q = %q", what, code, f, m)
		}
	}
	return false
}

// pageAnswer checks a form's answer: a redirect within the site or an
// htmx redirect (success), or a 4xx page that shows the error in an alert.
func pageAnswer(t *testing.T, what string, code int, hdr http.Header, raw []byte) bool {
	t.Helper()
	switch {
	case code == http.StatusSeeOther || code == http.StatusFound:
		loc := hdr.Get("Location")
		if !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
			t.Fatalf("%s: redirected to %q", what, loc)
		}
		return true
	case code == http.StatusOK && hdr.Get("HX-Redirect") != "", code == http.StatusCreated:
		// An htmx redirect, or a page that shows what it made (a new API key).
		return true
	case code >= 400 && code < 500:
		// The form's alert, or the error page's status and message.
		if !strings.Contains(string(raw), `role="alert"`) && !strings.Contains(string(raw), `<p class="status">`) {
			t.Fatalf("%s: status %d without an error shown: %.300s", what, code, raw)
		}
		return false
	}
	t.Fatalf("%s: unexpected status %d: %.300s", what, code, raw)
	return false
}

// form posts a urlencoded body as user and returns the status, header and body.
func (w *decoderWorld) form(t *testing.T, path, user, body string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", w.ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Skip()
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+w.tokens[user])
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := *w.ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	before := w.watch.errors.Load()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 || w.watch.errors.Load() != before {
		t.Fatalf("POST %s %q: status %d (log %v): %.300s", path, body, resp.StatusCode, w.watch.last.Load(), raw)
	}
	return resp.StatusCode, resp.Header, raw
}

// get sends a GET as user and skips inputs that are not a request at all:
// a request target with a blank, a control or a non-ASCII byte, or a
// fragment, never reaches a handler (net/http answers its own 400).
func (w *decoderWorld) get(t *testing.T, path, user string, hdr ...string) (int, []byte) {
	t.Helper()
	if strings.ContainsFunc(path, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == '#' }) {
		t.Skip()
	}
	req, err := http.NewRequest("GET", w.ts.URL+path, nil)
	if err != nil {
		t.Skip()
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+w.tokens[user])
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return w.send(t, req)
}

// lang picks the answer's language from a fuzzed bit, so that both
// catalogues are checked for untranslated messages.
func lang(en bool) []string {
	if en {
		return []string{"Accept-Language", "en"}
	}
	return []string{"Accept-Language", "zh-CN"}
}

// FuzzLoginJSON posts arbitrary JSON to POST /api/v1/session: it answers
// a token only for the one right username and password.
func FuzzLoginJSON(f *testing.F) {
	for _, s := range []string{
		`{"username":"login","password":"` + worldtest.Password + `"}`, `{"username":" LOGIN ","password":"` + worldtest.Password + `"}`,
		`{"username":"login","password":"wrong-pass"}`, `{"username":"login"}`, `{"password":"x"}`, `{"username":"","password":""}`,
		`{"username":"nobody","password":"` + worldtest.Password + `"}`, `{"username":1}`, `{"username":"login","password":"` + worldtest.Password + `","x":1}`,
		`{"username":"login","password":null}`, `[]`, `{`, ``, `{"username":"\u0000","password":"\ud800"}`,
	} {
		f.Add([]byte(s), false)
	}
	w := newDecoderWorld(f)
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		code, raw := w.do(t, "POST", "/api/v1/session", "", "application/json", body, lang(en)...)
		if !apiAnswer(t, "login", code, raw, http.StatusOK) {
			return
		}
		var in struct{ Username, Password string }
		_ = json.Unmarshal(body, &in)
		if !strings.EqualFold(strings.TrimSpace(in.Username), "login") || in.Password != worldtest.Password {
			t.Fatalf("logged in with %q: %s", body, raw)
		}
		var out struct{ Token string }
		if err := json.Unmarshal(raw, &out); err != nil || out.Token == "" {
			t.Fatalf("200 without a token: %s", raw)
		}
	})
}

// FuzzAdminUserJSON posts arbitrary JSON to POST /api/v1/users and to
// POST /api/v1/users/{id}/password as the administrator: a user is created
// only with a password of at least account.MinPasswordLen characters and a
// role, and reads back as it was answered.
func FuzzAdminUserJSON(f *testing.F) {
	for i, s := range []string{
		`{"username":"u1","password":"long-enough","roles":["grid_worker"],"region":"330303001001001","phone":"13700001111"}`,
		`{"username":"u2","password":"long-enough","roles":["department_handler"],"region":"330303","department":"CG","display_name":"张三"}`,
		`{"username":"u3","password":"long-enough","roles":["community_staff","party_member"],"region":"330303001002","id_number":"11010519491231002X"}`,
		`{"username":"U4 ","password":"short","roles":["admin"],"region":"330303"}`, `{"username":"u5","password":"long-enough","roles":["king"],"region":"330303"}`,
		`{"username":"u6","password":"long-enough","roles":[],"region":"330303"}`, `{"username":"u7","password":"long-enough","roles":["resident"],"region":"999999"}`,
		`{"username":"a b/c","password":"long-enough","roles":["resident"],"region":"330303001001","phone":"12"}`, `{"roles":"admin"}`,
		`{"password":"long-enough"}`, `{"password":"é"}`, `{"password":""}`, `{}`, `null`,
	} {
		f.Add([]byte(s), i%5 == 4, i%2 == 0)
	}
	w := newDecoderWorld(f)
	target := strconv.FormatInt(w.user["pw-target"].ID, 10)
	f.Fuzz(func(t *testing.T, body []byte, password, en bool) {
		var in newUserRequest
		_ = json.Unmarshal(body, &in)
		if password {
			code, raw := w.do(t, "POST", "/api/v1/users/"+target+"/password", "admin", "application/json", body, lang(en)...)
			if apiAnswer(t, "password", code, raw, http.StatusOK, http.StatusNoContent) && utf8.RuneCountInString(in.Password) < account.MinPasswordLen {
				t.Fatalf("password %q accepted", in.Password)
			}
			return
		}
		code, raw := w.do(t, "POST", "/api/v1/users", "admin", "application/json", body, lang(en)...)
		if !apiAnswer(t, "add user", code, raw, http.StatusCreated) {
			return
		}
		if utf8.RuneCountInString(in.Password) < account.MinPasswordLen || len(in.Roles) == 0 {
			t.Fatalf("user created from %s", body)
		}
		var out struct {
			ID       int64  `json:"id"`
			Username string `json:"username"`
		}
		if err := json.Unmarshal(raw, &out); err != nil || out.ID == 0 {
			t.Fatalf("201 without a user: %s", raw)
		}
		code, back := w.get(t, "/api/v1/users/"+strconv.FormatInt(out.ID, 10), "admin")
		var got struct {
			Username string `json:"username"`
		}
		if code != http.StatusOK || json.Unmarshal(back, &got) != nil || got.Username != out.Username {
			t.Fatalf("user %d reads back as %d %s, answered %s", out.ID, code, back, raw)
		}
	})
}

// FuzzAdminCategoryJSON posts arbitrary JSON to POST /api/v1/categories or
// PATCH /api/v1/categories/ZL0199: what was answered reads back.
func FuzzAdminCategoryJSON(f *testing.F) {
	for i, s := range []string{
		`{"code":"ZL0150","parent_code":"ZL01","name":"测试","name_en":"Test"}`, `{"code":"ZL0151","parent_code":"ZL01","name":"x","time_limit":"2wd","department":"CG"}`,
		`{"code":"zl0152","parent_code":"ZL01","name":"x"}`, `{"code":"ZL01","parent_code":"ZL","name":"dup"}`, `{"code":"ZL0153","parent_code":"XX","name":"x"}`,
		`{"code":"ZL0154","parent_code":"ZL01","name":""}`, `{"code":"ZL0155","parent_code":"ZL01","name":"x","time_limit":"forever"}`,
		`{"name":"邻里互助"}`, `{"name_en":"Help"}`, `{"workflow":"urban"}`, `{"workflow":"none"}`, `{"department":"NOPE"}`, `{"time_limit":"0h"}`,
		`{"urgent":true,"auto_dispatch":true}`, `{"name":null}`, `{"name":1}`, `{}`,
	} {
		f.Add([]byte(s), i >= 7, i%2 == 0)
	}
	w := newDecoderWorld(f)
	f.Fuzz(func(t *testing.T, body []byte, patch, en bool) {
		method, path, want := "POST", "/api/v1/categories", http.StatusCreated
		if patch {
			method, path, want = "PATCH", "/api/v1/categories/ZL0199", http.StatusOK
		}
		code, raw := w.do(t, method, path, "admin", "application/json", body, lang(en)...)
		if !apiAnswer(t, method+" category", code, raw, want) {
			return
		}
		var out struct {
			Code, Name string
		}
		if err := json.Unmarshal(raw, &out); err != nil || out.Code == "" || out.Name == "" {
			t.Fatalf("%d without a named category: %s", code, raw)
		}
		code, back := w.get(t, "/api/v1/categories/"+url.PathEscape(out.Code), "")
		var got struct{ Code, Name string }
		if code != http.StatusOK || json.Unmarshal(back, &got) != nil || got != out {
			t.Fatalf("category %s reads back as %d %s, answered %s", out.Code, code, back, raw)
		}
	})
}

// FuzzAdminRoutingRuleJSON posts arbitrary JSON to POST
// /api/v1/routing-rules: a created rule is listed as it was answered.
func FuzzAdminRoutingRuleJSON(f *testing.F) {
	for _, s := range []string{
		`{"category_code":"BJ02","region_code":"330303001001001","department":"CG","priority":1}`,
		`{"category_code":"ZL06","region_code":"330303001","department":"SW","priority":-3}`, `{"category_code":"ZL9999","region_code":"330303","department":"CG"}`,
		`{"category_code":"BJ02","region_code":"000000","department":"CG"}`, `{"category_code":"BJ02","region_code":"330303","department":"XX"}`,
		`{"category_code":"","region_code":"","department":""}`, `{"priority":"1"}`, `{"priority":1e99}`, `{}`,
	} {
		f.Add([]byte(s), false)
	}
	w := newDecoderWorld(f)
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		code, raw := w.do(t, "POST", "/api/v1/routing-rules", "admin", "application/json", body, lang(en)...)
		if !apiAnswer(t, "routing rule", code, raw, http.StatusCreated) {
			return
		}
		var out ruleJSON
		if err := json.Unmarshal(raw, &out); err != nil || out.ID == 0 {
			t.Fatalf("201 without a rule: %s", raw)
		}
		_, list := w.get(t, "/api/v1/routing-rules", "admin")
		var all struct{ Rules []ruleJSON }
		if err := json.Unmarshal(list, &all); err != nil {
			t.Fatalf("rules: %v: %.300s", err, list)
		}
		i := slices.IndexFunc(all.Rules, func(r ruleJSON) bool { return r.ID == out.ID })
		if i < 0 || all.Rules[i].CategoryCode != out.CategoryCode || all.Rules[i].RegionCode != out.RegionCode ||
			all.Rules[i].Department != out.Department || all.Rules[i].Priority != out.Priority {
			t.Fatalf("rule %d is not listed as answered (%s)", out.ID, raw)
		}
	})
}

// limitGrammar is the time-limit syntax of docs and ParseLimit's comment,
// written out apart from it: "<n>wd", "<n>ch", "<n>h", "<n>m", "<n>h<n>m".
var limitGrammar = regexp.MustCompile(`^(\d{1,9}wd|\d{1,9}ch|\d{1,9}h|\d{1,9}m|\d{1,9}h\d{1,9}m)$`)

// FuzzAdminTimeLimitJSON posts arbitrary JSON to POST /api/v1/time-limits
// and PUT /api/v1/time-limits/{id}: a limit is stored only in the
// documented syntax, and reads back as answered.
func FuzzAdminTimeLimitJSON(f *testing.F) {
	for i, s := range []string{
		`{"workflow":"whistle","stage":"handle","category_prefix":"ZL02","region_code":"330303001","limit":"2wd"}`,
		`{"workflow":"urban","stage":"handle","region_code":"330303001001001","limit":"1h30m","warn_percent":80}`,
		`{"workflow":"whistle","stage":"accept","limit":"6ch","use_category":true}`, `{"workflow":"whistle","stage":"nope","limit":"2h"}`,
		`{"workflow":"x","stage":"handle","limit":"2h"}`, `{"workflow":"whistle","stage":"handle","limit":"0wd"}`,
		`{"workflow":"whistle","stage":"handle","limit":" 3WD "}`, `{"workflow":"whistle","stage":"handle","limit":"h30m"}`,
		`{"workflow":"whistle","stage":"handle","limit":"2h","warn_percent":150}`, `{"workflow":"whistle","stage":"handle","region_code":"999","limit":"2h"}`,
		`{"limit":2}`, `{}`,
	} {
		f.Add([]byte(s), i%3 == 2, i%2 == 0)
	}
	w := newDecoderWorld(f)
	l, err := w.eng.AddTimeLimit(context.Background(), worldtest.Actor(), sla.TimeLimit{Workflow: "urban", Stage: "handle",
		RegionCode: "330303001002", Limit: "3wd"})
	if err != nil {
		f.Fatal(err)
	}
	put := "/api/v1/time-limits/" + strconv.FormatInt(l.ID, 10)
	f.Fuzz(func(t *testing.T, body []byte, update, en bool) {
		method, path, want := "POST", "/api/v1/time-limits", http.StatusCreated
		if update {
			method, path, want = "PUT", put, http.StatusOK
		}
		code, raw := w.do(t, method, path, "admin", "application/json", body, lang(en)...)
		if !apiAnswer(t, method+" time limit", code, raw, want) {
			return
		}
		var in, out sla.TimeLimit
		_ = json.Unmarshal(body, &in)
		if err := json.Unmarshal(raw, &out); err != nil || out.ID == 0 {
			t.Fatalf("%d without a time limit: %s", code, raw)
		}
		if !limitGrammar.MatchString(strings.ToLower(strings.TrimSpace(in.Limit))) {
			t.Fatalf("limit %q stored (%s)", in.Limit, raw)
		}
		_, list := w.get(t, "/api/v1/time-limits", "admin")
		var all struct {
			Limits []sla.TimeLimit `json:"time_limits"`
		}
		_ = json.Unmarshal(list, &all)
		if i := slices.IndexFunc(all.Limits, func(x sla.TimeLimit) bool { return x.ID == out.ID }); i < 0 || all.Limits[i].Limit != out.Limit {
			t.Fatalf("time limit %d is not listed as answered (%s): %.300s", out.ID, raw, list)
		}
	})
}

// FuzzAdminCalendarDayJSON puts arbitrary dates and bodies to PUT
// /api/v1/calendar/days/{date}: only a real date of the supported years is
// stored, and the year's calendar then lists it with the kind answered.
func FuzzAdminCalendarDayJSON(f *testing.F) {
	for _, s := range []struct{ date, body string }{
		{"2027-03-03", `{"kind":"holiday","name":"测试"}`}, {"2027-03-06", `{"kind":"workday","name":"调休"}`}, {"2027-03-04", `{"kind":"休"}`},
		{"2027-02-30", `{"kind":"holiday"}`}, {"1899-12-31", `{"kind":"holiday"}`}, {"20270303", `{"kind":"holiday"}`}, {"2027-3-3", `{"kind":"holiday"}`},
		{"2027-03-05", `{"kind":"party"}`}, {"2027-03-05", `{"kind":""}`}, {"2027-03-05", `{"name":"` + strings.Repeat("长", 300) + `"}`},
		{"", `{}`}, {"../x", `{"kind":"holiday"}`},
	} {
		f.Add(s.date, []byte(s.body), false)
	}
	w := newDecoderWorld(f)
	f.Fuzz(func(t *testing.T, date string, body []byte, en bool) {
		code, raw := w.do(t, "PUT", "/api/v1/calendar/days/"+url.PathEscape(date), "admin", "application/json", body, lang(en)...)
		if !apiAnswer(t, "calendar day", code, raw, http.StatusOK) {
			return
		}
		d, err := time.Parse("2006-01-02", date)
		if err != nil {
			t.Fatalf("date %q accepted: %s", date, raw)
		}
		var out struct{ Date, Kind string }
		if err := json.Unmarshal(raw, &out); err != nil || out.Date != date || (out.Kind != "holiday" && out.Kind != "workday") {
			t.Fatalf("answer for %s: %s", date, raw)
		}
		code, back := w.get(t, "/api/v1/calendar?year="+strconv.Itoa(d.Year()), "admin")
		var year struct{ Days []struct{ Date, Kind string } }
		if code != http.StatusOK || json.Unmarshal(back, &year) != nil ||
			!slices.ContainsFunc(year.Days, func(x struct{ Date, Kind string }) bool { return x.Date == out.Date && x.Kind == out.Kind }) {
			t.Fatalf("%s is not listed as a %s in its year: %d %.300s", date, out.Kind, code, back)
		}
	})
}

// FuzzAdminCalendarHoursJSON puts arbitrary bodies to PUT
// /api/v1/calendar/hours: the hours answered are ordered HH:MM periods
// with breaks between them, and the calendar then shows them.
func FuzzAdminCalendarHoursJSON(f *testing.F) {
	for _, s := range []string{
		`{"work_hours":"08:30-12:00,13:30-17:30"}`, `{"work_hours":"09:00-17:00"}`, `{"work_hours":" 00:00-24:00 "}`, `{"work_hours":"13:00-12:00"}`,
		`{"work_hours":"08:00-12:00,12:00-13:00"}`, `{"work_hours":"8:30-12:00"}`, `{"work_hours":"24:01-25:00"}`, `{"work_hours":""}`,
		`{"work_hours":"08:30-12:00,"}`, `{"work_hours":1}`, `{}`,
	} {
		f.Add([]byte(s), false)
	}
	w := newDecoderWorld(f)
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		code, raw := w.do(t, "PUT", "/api/v1/calendar/hours", "admin", "application/json", body, lang(en)...)
		if !apiAnswer(t, "work hours", code, raw, http.StatusOK) {
			return
		}
		var out struct {
			WorkHours string `json:"work_hours"`
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
		if msg := checkPeriods(out.WorkHours); msg != "" {
			t.Fatalf("work hours %q answered for %s: %s", out.WorkHours, body, msg)
		}
		_, back := w.get(t, "/api/v1/calendar", "admin")
		var cal struct {
			WorkHours string `json:"work_hours"`
		}
		if json.Unmarshal(back, &cal) != nil || cal.WorkHours != out.WorkHours {
			t.Fatalf("the calendar shows %q, answered %q", cal.WorkHours, out.WorkHours)
		}
	})
}

// checkPeriods reads "HH:MM-HH:MM,…" on its own and says what is wrong.
func checkPeriods(s string) string {
	prev := -1
	for _, p := range strings.Split(s, ",") {
		var h1, m1, h2, m2 int
		if len(p) != 11 {
			return "not HH:MM-HH:MM: " + p
		}
		if _, err := fmt.Sscanf(p, "%02d:%02d-%02d:%02d", &h1, &m1, &h2, &m2); err != nil {
			return err.Error()
		}
		a, b := h1*60+m1, h2*60+m2
		if m1 > 59 || m2 > 59 || a >= b || b > 24*60 || a <= prev {
			return "period " + p
		}
		prev = b
	}
	return ""
}

// FuzzAdminAPIKeyJSON posts arbitrary JSON to POST /api/v1/apikeys: a key
// is made only with a name, and it is listed under that name.
func FuzzAdminAPIKeyJSON(f *testing.F) {
	for _, s := range []string{`{"name":"接入方"}`, `{"name":"  "}`, `{"name":""}`, `{"name":"` + strings.Repeat("k", 300) + `"}`, `{"name":1}`, `{}`, `[]`} {
		f.Add([]byte(s), false)
	}
	w := newDecoderWorld(f)
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		code, raw := w.do(t, "POST", "/api/v1/apikeys", "admin", "application/json", body, lang(en)...)
		if !apiAnswer(t, "api key", code, raw, http.StatusCreated) {
			return
		}
		var in struct{ Name string }
		_ = json.Unmarshal(body, &in)
		var out struct {
			Key    string `json:"key"`
			APIKey struct {
				ID   int64  `json:"id"`
				Name string `json:"name"`
			} `json:"api_key"`
		}
		if err := json.Unmarshal(raw, &out); err != nil || out.Key == "" || out.APIKey.ID == 0 {
			t.Fatalf("201 without a key: %s", raw)
		}
		if strings.TrimSpace(in.Name) == "" || out.APIKey.Name != strings.TrimSpace(in.Name) {
			t.Fatalf("key named %q made from %q", out.APIKey.Name, in.Name)
		}
	})
}

// FuzzCaseActionForm posts an arbitrary action form (its target "u:ID" or
// "d:CODE", stars, hours, parent, photos, version) to POST
// /cases/{id}/act/{action} as one of several roles: a success added one
// step to the timeline, a refusal none, and shows why.
func FuzzCaseActionForm(f *testing.F) {
	users := []string{"admin", "staff", "cg-handler", "grid", "leader", "res", "street"}
	for i, s := range []struct{ action, form string }{
		{"accept", "note=%E5%8F%97%E7%90%86"}, {"dispatch", "target=d%3ACG&note=x"}, {"dispatch", "target=u%3A1"}, {"dispatch", "target=u%3Ax"},
		{"dispatch", "target=x%3A1"}, {"dispatch", "target=d%3A"}, {"open_for_claim", ""}, {"claim", ""}, {"start", ""},
		{"resolve", "note=done&photos=1&photos=x"}, {"verify", "passed=0&note=redo"}, {"verify", "passed=maybe"}, {"rate", "stars=5&comment=good"},
		{"rate", "stars=abc"}, {"postpone_request", "reason=r&hours=8"}, {"postpone_request", "reason=r&hours=1e3"}, {"merge", "parent=WS2026"},
		{"merge", "parent=-1"}, {"supervise", "note=hurry"}, {"suspend", "reason=wait&version=x"}, {"resume", "version=999"}, {"revisit", "result=meh"},
		{"register", ""}, {"nope", "a=%zz"}, {"accept", strings.Repeat("note=x&", 50)},
	} {
		f.Add(s.action, s.form, uint8(i), i%3 == 0, i%2 == 0)
	}
	w := newDecoderWorld(f)
	f.Fuzz(func(t *testing.T, action, form string, who uint8, urban, htmx bool) {
		id := w.caseID
		if urban {
			id = w.urban
		}
		user := users[int(who)%len(users)]
		tl, err := w.w.Cases.Timeline(context.Background(), w.sys, id, false)
		if err != nil {
			t.Fatal(err)
		}
		var hdr []string
		if htmx {
			hdr = []string{"HX-Request", "true"}
		}
		path := fmt.Sprintf("/cases/%d/act/%s", id, url.PathEscape(action))
		code, h, raw := w.form(t, path, user, form, hdr...)
		done := pageAnswer(t, path, code, h, raw)
		after, err := w.w.Cases.Timeline(context.Background(), w.sys, id, false)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(after)-len(tl), map[bool]int{true: 1, false: 0}[done]; got != want {
			t.Fatalf("%s %q as %s: status %d, and the timeline grew by %d, want %d", path, form, user, code, got, want)
		}
	})
}

// FuzzBulkDispatchForm posts an arbitrary form to POST /cases/dispatch:
// it always answers 303 to the to-dispatch queue, and the count it reports
// is the number of cases that really went to dispatched.
func FuzzBulkDispatchForm(f *testing.F) {
	users := []string{"admin", "staff", "street", "leader", "cg-handler", "res"}
	for i, s := range []string{
		"ids=@0&target=d%3ACG", "ids=@0&ids=@1&target=d%3ASW&note=%E6%89%B9%E9%87%8F", "ids=@0&target=u%3A1", "ids=@0&target=",
		"target=d%3ACG", "ids=x&ids=-1&ids=@1&target=d%3ACG", "ids=@0&ids=@0&target=d%3ACG", "ids=@1&target=d%3ANOPE", "a=%zz", "",
	} {
		f.Add(s, uint8(i))
	}
	w := newDecoderWorld(f)
	f.Fuzz(func(t *testing.T, form string, who uint8) {
		ids := w.accepted(t, 2)
		form = strings.NewReplacer("@0", strconv.FormatInt(ids[0], 10), "@1", strconv.FormatInt(ids[1], 10)).Replace(form)
		user := users[int(who)%len(users)]
		const q = `SELECT COUNT(*) FROM cases WHERE status = 'dispatched'`
		before := w.count(t, q)
		code, h, raw := w.form(t, "/cases/dispatch", user, form)
		moved := w.count(t, q) - before
		loc := h.Get("Location")
		if code != http.StatusSeeOther && !pageAnswer(t, "bulk dispatch", code, h, raw) {
			if moved != 0 {
				t.Fatalf("form %q as %s: refused with %d, but %d cases were dispatched", form, user, code, moved)
			}
			return // a body that is no form at all
		}
		if code != http.StatusSeeOther || !strings.HasPrefix(loc, "/cases?queue=to_dispatch&") {
			t.Fatalf("form %q as %s: %d to %q, want 303 to the queue: %.200s", form, user, code, loc, raw)
		}
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatal(err)
		}
		q2 := u.Query()
		if n := q2.Get("dispatched"); n != "" && n != strconv.Itoa(moved) || n == "" && moved != 0 {
			t.Fatalf("form %q as %s: reports dispatched=%q, but %d cases were dispatched", form, user, n, moved)
		}
	})
}

// FuzzAdminForms posts arbitrary forms to the admin pages' forms (users,
// passwords, routing rules, API keys, auto-dispatch, deletions by id): a
// success is a redirect within the site, a refusal a page that shows why,
// and a user the form says it created exists.
func FuzzAdminForms(f *testing.F) {
	for _, s := range []struct {
		which uint8
		seg   string
		form  string
	}{
		{0, "", "username=page-user&password=long-enough&roles=grid_worker&region=330303001001001"},
		{0, "", "username=page-user2&password=short&roles=admin&region=330303"}, {0, "", "username=&roles=king&roles=admin"},
		{1, "", "password=another-password"}, {1, "", "password=x"}, {2, "", "category_code=BJ02&region_code=330303001&department=CG&priority=1"},
		{2, "", "category_code=BJ02&region_code=330303001&department=CG&priority=x"}, {3, "", "name=page-key"}, {3, "", "name="},
		{4, "", "auto_category=ZL0601&auto_dispatch=1"}, {4, "", "auto_category=NOPE"}, {5, "1", ""}, {5, "x", ""}, {6, "1", ""}, {6, "%00", ""},
	} {
		f.Add(s.which, s.seg, s.form, false)
	}
	w := newDecoderWorld(f)
	target := strconv.FormatInt(w.user["pw-target"].ID, 10)
	f.Fuzz(func(t *testing.T, which uint8, seg, form string, en bool) {
		paths := []string{"/admin/users", "/admin/users/" + target + "/password", "/admin/routing-rules", "/admin/apikeys",
			"/admin/categories/auto-dispatch", "/admin/routing-rules/" + url.PathEscape(seg) + "/delete", "/admin/apikeys/" + url.PathEscape(seg) + "/revoke"}
		path := paths[int(which)%len(paths)]
		code, h, raw := w.form(t, path, "admin", form, lang(en)...)
		if code == http.StatusNotFound || code == http.StatusMethodNotAllowed {
			// A deletion of an unknown id, or a route another version lacks.
			return
		}
		if !pageAnswer(t, path, code, h, raw) || path != "/admin/users" {
			return
		}
		vals, _ := url.ParseQuery(form)
		name := strings.ToLower(strings.TrimSpace(vals.Get("username")))
		if _, err := w.w.Accounts.UserByName(context.Background(), account.SystemScope(), name); err != nil {
			t.Fatalf("form %q created no user %q: %v", form, name, err)
		}
		if utf8.RuneCountInString(vals.Get("password")) < account.MinPasswordLen {
			t.Fatalf("form %q created a user with a short password", form)
		}
	})
}

// FuzzCaseQuery sends an arbitrary query string to GET /api/v1/cases and
// to the /cases page as the staff of community A: every case listed lies
// in that community.
func FuzzCaseQuery(f *testing.F) {
	for _, s := range []string{
		"status=submitted&status=accepted", "status=submitted,accepted&category=ZL06&region=330303001001&limit=5", "q=WS&source=resident&before=10",
		"from=2026-01-01&to=2026-12-31", "from=yesterday", "limit=-1", "limit=100000", "sla=overdue,warning", "sla=late", "supervised=1&mine=1",
		"queue=to_dispatch", "queue=nope&page=2", "status=%zz", "region=330303", "before=9223372036854775808",
	} {
		f.Add(s, false, false)
		f.Add(s, true, true)
	}
	w := newDecoderWorld(f)
	f.Fuzz(func(t *testing.T, query string, page, en bool) {
		if page {
			code, raw := w.get(t, "/cases?"+query, "staff", lang(en)...)
			if code != http.StatusOK && (code < 400 || code >= 500) {
				t.Fatalf("/cases?%s: %d %.200s", query, code, raw)
			}
			return
		}
		code, raw := w.get(t, "/api/v1/cases?"+query, "staff", lang(en)...)
		if !apiAnswer(t, "cases?"+query, code, raw, http.StatusOK) {
			return
		}
		var out struct {
			Cases []struct {
				ID     int64
				Region struct {
					Path []struct{ Code string }
				}
			}
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("cases?%s: %v: %.300s", query, err, raw)
		}
		for _, c := range out.Cases {
			cs, err := w.w.Cases.Get(context.Background(), w.sys, c.ID)
			if err != nil || cs.CommunityCode != "330303001001" {
				t.Fatalf("cases?%s lists case %d of %v to the staff of 330303001001", query, c.ID, cs)
			}
		}
	})
}

// FuzzStatsQuery sends an arbitrary query string to each statistics route
// as the staff of community A: a node outside the community is never
// answered (except by the unit figures, which count only what the scope
// sees).
func FuzzStatsQuery(f *testing.F) {
	routes := []string{"summary", "map", "trend", "hotspots", "overdue", "units"}
	for i, s := range []string{
		"region=330303001001", "region=330303001&metric=open", "metric=nope", "days=7", "days=0", "days=100000", "region=330303001001&from=2026-01-01&to=2026-12-31",
		"from=2026-13-01", "limit=5", "limit=x", "region=", "region=%00", "category=ZL06&level=grid",
	} {
		f.Add(uint8(i), s, false)
	}
	w := newDecoderWorld(f)
	f.Fuzz(func(t *testing.T, which uint8, query string, en bool) {
		route := routes[int(which)%len(routes)]
		code, raw := w.get(t, "/api/v1/stats/"+route+"?"+query, "staff", lang(en)...)
		if !apiAnswer(t, route+"?"+query, code, raw, http.StatusOK) {
			return
		}
		vals, err := url.ParseQuery(query)
		if err != nil || route == "units" {
			return
		}
		if r := vals.Get("region"); r != "" && !strings.HasPrefix(r, "330303001001") {
			t.Fatalf("stats/%s?%s answered for a node outside the scope: %.200s", route, query, raw)
		}
	})
}

// FuzzLocateQuery sends an arbitrary query string to GET
// /api/v1/regions/locate: a WGS-84 point is located only inside the
// district's square.
func FuzzLocateQuery(f *testing.F) {
	for _, s := range []string{
		"lat=27.005&lng=120.005", "lat=27.005&lng=120.005&crs=gcj02", "lat=27.005&lng=120.005&crs=bd09", "lat=27.005&lng=120.005&crs=utm",
		"lat=91&lng=120", "lat=27.005", "lat=x&lng=y", "lat=NaN&lng=Inf", "lat=1e309&lng=-1e309", "lat=27.0&lng=120.03", "lat=+27.005&lng=120.005",
	} {
		f.Add(s, false)
	}
	w := newDecoderWorld(f)
	f.Fuzz(func(t *testing.T, query string, en bool) {
		code, raw := w.get(t, "/api/v1/regions/locate?"+query, "", lang(en)...)
		if !apiAnswer(t, "locate?"+query, code, raw, http.StatusOK) {
			return
		}
		vals, _ := url.ParseQuery(query)
		if crs := vals.Get("crs"); crs != "" && crs != "wgs84" {
			return
		}
		lat, err1 := strconv.ParseFloat(strings.TrimSpace(vals.Get("lat")), 64)
		lng, err2 := strconv.ParseFloat(strings.TrimSpace(vals.Get("lng")), 64)
		if err1 != nil || err2 != nil || lat < 27 || lat > 27.01 || lng < 120 || lng > 120.02 {
			t.Fatalf("locate?%s found a grid for a point outside the district: %s", query, raw)
		}
	})
}

// FuzzDuplicatesQuery sends an arbitrary query string to GET
// /api/v1/cases/duplicates: answers keep the invariants, and every hint
// is of the category asked for.
func FuzzDuplicatesQuery(f *testing.F) {
	for _, s := range []string{
		"category=ZL0601&lat=27.005&lng=120.005", "category=ZL0601&lat=27.005&lng=120.005&radius=50", "category=ZL0601&lat=27.005&lng=120.005&radius=-1",
		"category=&lat=27.005&lng=120.005", "category=ZL0601&lat=x", "category=ZL0601&lat=27.005&lng=120.005&crs=bd09", "category=ZL0601&lat=1e309&lng=0",
	} {
		f.Add(s, false)
	}
	w := newDecoderWorld(f)
	f.Fuzz(func(t *testing.T, query string, en bool) {
		code, raw := w.get(t, "/api/v1/cases/duplicates?"+query, "", lang(en)...)
		if !apiAnswer(t, "duplicates?"+query, code, raw, http.StatusOK) {
			return
		}
		if !json.Valid(raw) {
			t.Fatalf("duplicates?%s: %s", query, raw)
		}
	})
}

// FuzzBBoxQuery sends an arbitrary bbox (and more parameters) to GET
// /api/v1/public/cases: every case listed lies inside the box, read apart
// from the server as minLng,minLat,maxLng,maxLat.
func FuzzBBoxQuery(f *testing.F) {
	for _, s := range []string{"120,27,120.02,27.01", "120.004,27.004,120.006,27.006", "121,28,120,27", "a,b,c,d", "1,2,3", " 120 , 27 , 121 , 28 ",
		"NaN,NaN,NaN,NaN", "-Inf,-Inf,Inf,Inf", "1e309,0,0,0", ",,,"} {
		f.Add(s, "open=1", false)
	}
	w := newDecoderWorld(f)
	f.Fuzz(func(t *testing.T, bbox, extra string, en bool) {
		code, raw := w.get(t, "/api/v1/public/cases?bbox="+url.QueryEscape(bbox)+"&"+extra, "", lang(en)...)
		if !apiAnswer(t, "bbox "+bbox, code, raw, http.StatusOK) {
			return
		}
		var out struct {
			Cases []struct {
				Location struct{ Lat, Lng float64 }
			}
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
		if len(out.Cases) == 0 {
			return
		}
		parts := strings.Split(bbox, ",")
		var b [4]float64
		for i := range b {
			v, err := strconv.ParseFloat(strings.TrimSpace(parts[i]), 64)
			if err != nil || len(parts) != 4 {
				t.Fatalf("bbox %q listed cases though it is no box", bbox)
			}
			b[i] = v
		}
		for _, c := range out.Cases {
			if p := c.Location; p.Lng < b[0] || p.Lat < b[1] || p.Lng > b[2] || p.Lat > b[3] {
				t.Fatalf("bbox %q lists a case at %v", bbox, p)
			}
		}
	})
}

// FuzzAuditQuery sends an arbitrary query string to GET /api/v1/audit as
// the administrator: never more entries than the limit asked for, and each
// of the action asked for.
func FuzzAuditQuery(f *testing.F) {
	for _, s := range []string{"limit=5", "action=case.accept&limit=10", "actor=admin", "from=2026-01-01&to=2027-01-01", "from=2026-01-01T00:00:00Z",
		"from=yesterday", "before=-1", "limit=0", "limit=100000", "limit=x", "q=%E5%A0%86"} {
		f.Add(s, false)
	}
	w := newDecoderWorld(f)
	f.Fuzz(func(t *testing.T, query string, en bool) {
		code, raw := w.get(t, "/api/v1/audit?"+query, "admin", lang(en)...)
		if !apiAnswer(t, "audit?"+query, code, raw, http.StatusOK) {
			return
		}
		var out struct {
			Entries []struct{ Action string }
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatal(err)
		}
		vals, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		if n, err := strconv.Atoi(vals.Get("limit")); err == nil && n > 0 && len(out.Entries) > n {
			t.Fatalf("audit?%s: %d entries", query, len(out.Entries))
		}
		if a := vals.Get("action"); a != "" {
			for _, e := range out.Entries {
				if !strings.HasPrefix(e.Action, a) {
					t.Fatalf("audit?%s lists the action %q", query, e.Action)
				}
			}
		}
	})
}
