package web

// Fuzz targets for the decoders the HTTP adapter runs on outside input: the
// JSON case submission, action bodies, multipart photo uploads, the session
// token (bearer header and cookie), the session CSRF header, the login
// form's double-submit CSRF token, and the Open311 forms, queries and path
// segments. Each drives the real Server (middleware,
// routes, casework, SQLite) through an httptest server and asserts that bad
// input is refused with a 4xx: never a 5xx, never a panic.
//
// Run one for a while with, for example:
//
//	go test ./internal/web -run '^$' -fuzz '^FuzzCaseSubmit$' -fuzztime 5m

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/notify"
	"whistle/internal/worldtest"
)

// panicWatch is a slog handler that counts error records, so a fuzz target
// notices a recovered panic or a logged 5xx even when the status hid it.
type panicWatch struct {
	slog.Handler
	errors atomic.Int64
	last   atomic.Value // string
}

func (p *panicWatch) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelError {
		p.errors.Add(1)
		var b strings.Builder
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
		p.last.Store(b.String())
	}
	return nil
}

func (p *panicWatch) Enabled(context.Context, slog.Level) bool { return true }
func (p *panicWatch) WithAttrs([]slog.Attr) slog.Handler       { return p }
func (p *panicWatch) WithGroup(string) slog.Handler            { return p }

// fuzzWorld is a small seeded district behind a real Server.
type fuzzWorld struct {
	ts     *httptest.Server
	watch  *panicWatch
	tokens map[string]string // username → bearer token
	csrf   map[string]string // username → the session's CSRF token
	caseID int64             // a case in community A, reported by "res"
	urban  int64             // an urban case
	apiKey string            // an Open311 API key
	person int64             // a registry person (eligibility facts)
}

// newFuzzWorld builds the world once per fuzz worker process.
func newFuzzWorld(tb testing.TB) *fuzzWorld {
	tb.Helper()
	ctx := context.Background()
	users := []worldtest.User{
		{Name: "admin", Region: "330303", Role: account.Admin}, {Name: "res", Region: "330303001001", Role: account.Resident},
		{Name: "staff", Region: "330303001001", Role: account.CommunityStaff}, {Name: "cg-handler", Region: "330303", Role: account.DepartmentHandler, Department: "CG"},
		{Name: "grid", Region: "330303001001001", Role: account.GridWorker}, {Name: "leader", Region: "330303", Role: account.Leader},
	}
	watch := &panicWatch{}
	logger := slog.New(watch)
	d := dbtest.MustOpenDB(tb, db.SQLite, clock.Real{})
	wt := worldtest.New(tb, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Departments: worldtest.Departments("CG", "SW"),
		Users: users, Phone: "13912345678", Logger: logger})
	_, ts := serve(tb, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: wt.Accounts, Regions: wt.Regions, Cases: wt.Cases, Categories: wt.Categories, Logger: logger})
	w := &fuzzWorld{ts: ts, watch: watch, tokens: map[string]string{}, csrf: map[string]string{}}
	for _, u := range users {
		tok, _, sess, err := wt.Accounts.Login(ctx, u.Name, worldtest.Password, account.WebSession, account.Client{IP: "127.0.0.1"})
		if err != nil {
			tb.Fatal(err)
		}
		w.tokens[u.Name], w.csrf[u.Name] = tok, sess.CSRF
	}
	var err error
	if w.apiKey, _, err = wt.Accounts.CreateAPIKey(ctx, audit.System("fuzz"), "fuzz"); err != nil {
		tb.Fatal(err)
	}
	w.caseID = w.submit(tb, `{"category":"ZL0601","description":"楼道堆放杂物","lat":27.005,"lng":120.005}`)
	w.urban = w.submit(tb, `{"category":"SJ0101","description":"违章搭建","lat":27.005,"lng":120.005}`)
	return w
}

func (w *fuzzWorld) submit(tb testing.TB, body string) int64 {
	tb.Helper()
	code, raw := w.do(tb, "POST", "/api/v1/cases", "res", "application/json", []byte(body))
	if code != http.StatusCreated {
		tb.Fatalf("seed case: %d %s", code, raw)
	}
	var c struct{ ID int64 }
	if err := json.Unmarshal(raw, &c); err != nil {
		tb.Fatal(err)
	}
	return c.ID
}

// do sends a request as user ("" for anonymous) with a bearer token.
func (w *fuzzWorld) do(tb testing.TB, method, path, user, ctype string, body []byte, hdr ...string) (int, []byte) {
	tb.Helper()
	req, err := http.NewRequest(method, w.ts.URL+path, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if user != "" {
		req.Header.Set("Authorization", "Bearer "+w.tokens[user])
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return w.send(tb, req)
}

func (w *fuzzWorld) send(tb testing.TB, req *http.Request) (int, []byte) {
	tb.Helper()
	before := w.watch.errors.Load()
	resp, err := w.ts.Client().Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 500 {
		tb.Fatalf("%s %s: status %d: %s (log: %v)", req.Method, req.URL.Path, resp.StatusCode, raw, w.watch.last.Load())
	}
	if w.watch.errors.Load() != before {
		tb.Fatalf("%s %s: status %d but the server logged an error: %v", req.Method, req.URL.Path, resp.StatusCode, w.watch.last.Load())
	}
	return resp.StatusCode, raw
}

// validHeader reports whether v can be sent as a header value at all.
func validHeader(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// FuzzCaseSubmit posts arbitrary JSON to POST /api/v1/cases, anonymously
// or as a resident, with an arbitrary Content-Type and Idempotency-Key.
func FuzzCaseSubmit(f *testing.F) {
	seeds := []string{
		`{"category":"ZL0601","description":"楼道堆放杂物","lat":27.005,"lng":120.005}`,
		`{"category":"ZL0601","description":"x","lat":27.005,"lng":120.005,"crs":"gcj02","anonymous":true,"phone":"13912345678"}`,
		`{"category":"SJ0101","description":"违章搭建","lat":27.005,"lng":120.015,"fields":{"a":"b"},"urgent":true,"visibility":"private"}`,
		`{"category":"ZL0601","description":"x","lat":1e309,"lng":-0}`,
		`{"category":"","description":"","lat":null}`,
		`{"workflow":"urban","category":"ZL0601","description":"d","lat":27.005,"lng":120.005,"source":"hotline"}`,
		`{"category":"ZL0601","description":"d","lat":27.005,"lng":120.005,"crs":"bd09","address":"万顺路 1 号"}`,
		`{"category":"ZL0601","unknown":1}`,
		`[]`, `null`, `"x"`, `{}`, `{"lat":"27"}`, `{} {}`, ``, `{"description":"\ud800"}`,
	}
	for i, s := range seeds {
		f.Add([]byte(s), "application/json", fmt.Sprintf("seed-%d", i), i%2 == 0)
	}
	f.Add([]byte(`{"category":"ZL0601"}`), "text/plain", "", false)
	w := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, body []byte, ctype, key string, anonymous bool) {
		if !validHeader(ctype) || !validHeader(key) {
			t.Skip()
		}
		user := "res"
		if anonymous {
			user = ""
		}
		code, raw := w.do(t, "POST", "/api/v1/cases", user, ctype, body, "Idempotency-Key", key)
		switch {
		case code == http.StatusCreated:
			var c struct {
				ID     int64
				Status string
			}
			if err := json.Unmarshal(raw, &c); err != nil || c.ID == 0 || c.Status == "" {
				t.Fatalf("201 without a case: %s", raw)
			}
		case code >= 400 && code < 500:
			var e errorBody
			if err := json.Unmarshal(raw, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("status %d without a JSON error body: %s", code, raw)
			}
		default:
			t.Fatalf("unexpected status %d: %s", code, raw)
		}
	})
}

// FuzzCaseAction posts an arbitrary action name and body to
// POST /api/v1/cases/{id}/actions/{action} as one of several roles, on a
// 红哨 and a 数字城管 case (whose states drift as the fuzzer succeeds).
func FuzzCaseAction(f *testing.F) {
	users := []string{"admin", "staff", "cg-handler", "grid", "leader", "res"}
	seeds := []struct {
		action, body string
	}{
		{"accept", `{"note":"ok"}`}, {"reject", `{"reason":"重复"}`}, {"dispatch", `{"target":{"department":"CG"}}`},
		{"dispatch", `{"target":{"user":1}}`}, {"open_for_claim", ``}, {"claim", `{}`}, {"start", `{"note":"x"}`},
		{"resolve", `{"note":"done","photos":[1,2]}`}, {"verify", `{"passed":false,"note":"redo"}`}, {"verify", `{"passed":true}`},
		{"rate", `{"stars":1,"comment":"bad"}`}, {"rate", `{"stars":99}`}, {"close", ``}, {"register", ``}, {"decline", `{"reason":"r"}`},
		{"return", `{"reason":"r"}`}, {"postpone_request", `{"reason":"r","hours":48}`}, {"postpone_request", `{"reason":"r","hours":-1}`},
		{"postpone_approve", `{}`}, {"postpone_refuse", `{"reason":"no"}`}, {"suspend", `{"reason":"wait"}`}, {"resume", ``},
		{"supervise", `{"note":"hurry","deadline":"2026-12-01T08:00:00+08:00"}`}, {"reply", `{"note":"on it"}`},
		{"revisit", `{"result":"satisfied"}`}, {"merge", `{"parent":1}`}, {"merge", `{"parent":-5}`}, {"submit", `{}`},
		{"nope", `{}`}, {"accept", `{"version":-1}`}, {"accept", `{"note":1}`}, {"accept", `{"stars":"x"}`}, {"accept", `{"x":1}`},
		{"", ``}, {"accept", `{"deadline":"yesterday"}`},
	}
	for i, s := range seeds {
		f.Add(s.action, []byte(s.body), uint8(i), i%3 == 0)
	}
	w := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, action string, body []byte, who uint8, urban bool) {
		id := w.caseID
		if urban {
			id = w.urban
		}
		user := users[int(who)%len(users)]
		path := fmt.Sprintf("/api/v1/cases/%d/actions/%s", id, url.PathEscape(action))
		req, err := http.NewRequest("POST", w.ts.URL+path, bytes.NewReader(body))
		if err != nil {
			t.Skip()
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+w.tokens[user])
		code, raw := w.send(t, req)
		if code != http.StatusOK && (code < 400 || code >= 500) {
			t.Fatalf("%s as %s: unexpected status %d: %s", action, user, code, raw)
		}
	})
}

func fuzzPNG() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

// FuzzPhotoUpload posts an arbitrary multipart body under an arbitrary
// Content-Type (boundary included) to POST /api/v1/cases/{id}/photos.
func FuzzPhotoUpload(f *testing.F) {
	var good bytes.Buffer
	mw := multipart.NewWriter(&good)
	_ = mw.WriteField("kind", "before")
	fw, _ := mw.CreateFormFile("photo", "a.png")
	_, _ = fw.Write(fuzzPNG())
	_ = mw.Close()
	f.Add(good.Bytes(), mw.FormDataContentType(), "")
	f.Add(good.Bytes(), mw.FormDataContentType(), "after")
	f.Add(good.Bytes(), "multipart/form-data; boundary=other", "before")
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"x.jpg\"\r\n\r\n\xff\xd8\xff\xe0\r\n--b--\r\n"),
		"multipart/form-data; boundary=b", "before")
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"photo\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\r\n--b\r\nContent-Disposition: form-data; name=\"photo\"\r\n\r\nx\r\n--b--\r\n"),
		"multipart/form-data; boundary=b", "")
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name=\"kind\"\r\n\r\nsideways\r\n--b--\r\n"), "multipart/form-data; boundary=b", "")
	f.Add([]byte("--b\r\nContent-Disposition: form-data; name*=UTF-8''%E2%82%AC\r\n\r\n\r\n--b"), "multipart/form-data; boundary=\"b\"", "")
	f.Add([]byte(""), "multipart/mixed", "")
	f.Add([]byte("{}"), "application/json", "")
	w := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, body []byte, ctype, kind string) {
		if !validHeader(ctype) {
			t.Skip()
		}
		path := fmt.Sprintf("/api/v1/cases/%d/photos?kind=%s", w.caseID, url.QueryEscape(kind))
		code, raw := w.do(t, "POST", path, "res", ctype, body)
		if code != http.StatusCreated && (code < 400 || code >= 500) {
			t.Fatalf("unexpected status %d: %s", code, raw)
		}
	})
}

// FuzzSessionToken presents arbitrary credentials as a bearer token and as
// the session cookie: anything but a live session's token is 401 on an
// authenticated route (and a redirect to the login page on a page).
func FuzzSessionToken(f *testing.F) {
	for _, s := range []string{"", "x", "Bearer", strings.Repeat("a", 43), strings.Repeat("a", 201), "\x00", "ZmFrZQ==", "%00", "tok;en", "é", " "} {
		f.Add(s, false)
		f.Add(s, true)
	}
	w := newFuzzWorld(f)
	live := map[string]bool{}
	for _, tok := range w.tokens {
		live[strings.TrimSpace(tok)] = true
	}
	f.Fuzz(func(t *testing.T, tok string, cookie bool) {
		if !validHeader(tok) || live[strings.TrimSpace(tok)] {
			t.Skip()
		}
		req, err := http.NewRequest("GET", w.ts.URL+"/api/v1/me", nil)
		if err != nil {
			t.Fatal(err)
		}
		if cookie {
			req.Header.Set("Cookie", sessionCookie+"="+tok)
		} else {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		code, raw := w.send(t, req)
		if code != http.StatusUnauthorized {
			t.Fatalf("token %q (cookie %v): status %d, want 401: %s", tok, cookie, code, raw)
		}
	})
}

// FuzzSessionCSRF sends a state-changing request with a live session
// cookie and an arbitrary X-CSRF-Token (or form field): anything but the
// session's own token is 403.
func FuzzSessionCSRF(f *testing.F) {
	w := newFuzzWorld(f)
	good := w.csrf["res"]
	f.Add(good, false)
	f.Add(good[:len(good)-1], false)
	f.Add(good+"=", true)
	f.Add("", false)
	f.Add(strings.ToUpper(good), true)
	f.Add(" "+good, false)
	f.Fuzz(func(t *testing.T, tok string, form bool) {
		if !validHeader(tok) {
			t.Skip()
		}
		var req *http.Request
		var err error
		if form {
			req, err = http.NewRequest("POST", w.ts.URL+"/api/v1/inbox/read", strings.NewReader("csrf_token="+url.QueryEscape(tok)))
			if err == nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
		} else {
			req, err = http.NewRequest("POST", w.ts.URL+"/api/v1/inbox/read", strings.NewReader(`{}`))
			if err == nil {
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-CSRF-Token", tok)
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Cookie", sessionCookie+"="+w.tokens["res"])
		code, raw := w.send(t, req)
		sent := tok
		if !form {
			sent = strings.Trim(tok, " \t") // header values lose surrounding blanks
		}
		if sent == good {
			if code == http.StatusForbidden {
				t.Fatalf("the session's own CSRF token was refused: %s", raw)
			}
			return
		}
		if code != http.StatusForbidden {
			t.Fatalf("CSRF token %q (form %v): status %d, want 403: %s", tok, form, code, raw)
		}
	})
}

// FuzzLoginForm posts an arbitrary form to POST /login with an arbitrary
// login CSRF cookie: a cookie that does not match the form's token is
// always 403, and nothing is ever a 5xx.
func FuzzLoginForm(f *testing.F) {
	f.Add("username=res&password=wrong&csrf_token=abc", "abc")
	f.Add("username=res&password=secret-pass&csrf_token=abc&next=%2Fcases", "abc")
	f.Add("username=&password=&csrf_token=abc", "abc")
	f.Add("username=res&password=x&csrf_token=abc", "abd")
	f.Add("csrf_token=", "")
	f.Add("username=%zz", "")
	f.Add("next=//evil.example&csrf_token=k", "k")
	f.Add(strings.Repeat("a=b&", 100), "x")
	w := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, form, cookie string) {
		// The cookie goes on the wire as it is (http.Request.AddCookie
		// would drop its invalid bytes first). Leave out what the header
		// syntax itself changes: a ';' splits it, quotes are stripped and
		// surrounding blanks are trimmed.
		if !validHeader(cookie) || strings.ContainsAny(cookie, ";\"") || strings.TrimSpace(cookie) != cookie {
			t.Skip()
		}
		req, err := http.NewRequest("POST", w.ts.URL+"/login", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != "" {
			req.Header.Set("Cookie", loginCSRF+"="+cookie)
		}
		client := *w.ts.Client()
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		before := w.watch.errors.Load()
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 || w.watch.errors.Load() != before {
			t.Fatalf("status %d (log %v): %s", resp.StatusCode, w.watch.last.Load(), raw)
		}
		vals, perr := url.ParseQuery(form)
		// The server ignores a cookie with bytes a cookie may not hold.
		valid := !strings.ContainsFunc(cookie, func(r rune) bool { return r < 0x20 || r >= 0x7f || r == '\\' })
		match := perr == nil && cookie != "" && valid && vals.Get("csrf_token") == cookie
		if !match && resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("form %q with cookie %q: status %d, want 403", form, cookie, resp.StatusCode)
		}
		if resp.StatusCode == http.StatusSeeOther {
			if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
				t.Fatalf("login redirected off the site: %q", loc)
			}
		}
	})
}

// FuzzOpen311 sends arbitrary form bodies, query strings and path
// segments to the Open311 GeoReport v2 routes (with or without a valid
// api_key): never a 5xx, and every answer is a well-formed document in the
// format the path asked for.
func FuzzOpen311(f *testing.F) {
	f.Add(uint8(0), false, "", "service_code=ZL0601&lat=27.005&long=120.005&description=%E8%B7%AF%E7%81%AF%E4%B8%8D%E4%BA%AE&attribute[floor]=3", true)
	f.Add(uint8(0), true, "", "service_code=ZL0601&address_string=x&lat=91&long=200&phone=%2B86+139+1234+5678&media_url=javascript:alert(1)", true)
	f.Add(uint8(0), false, "", "service_code=SJ0101&lat=27.005&long=120.005&description=x&attribute[]=1&attribute[a][][]=2", false)
	f.Add(uint8(1), false, "", "start_date=2026-11-01T00:00:00%2B08:00&end_date=2026-11-23T00:00:00Z&status=open,closed&service_code=ZL0601", false)
	f.Add(uint8(1), true, "", "start_date=2026-11-01&end_date=2020-01-01T00:00:00Z&page=-1&page_size=99999", false)
	f.Add(uint8(1), false, "", "service_request_id=WS1,WS2,%00&lat=27&long=120&radius=1e309", false)
	f.Add(uint8(2), false, "WS20261123000001.json", "", false)
	f.Add(uint8(2), true, "x.xml", "jurisdiction_id=330303", false)
	f.Add(uint8(3), false, "ZL0601.json", "", false)
	f.Add(uint8(3), true, "..%2F..%2Fetc.xml", "", false)
	f.Add(uint8(4), false, "", "service_request_id=WS1&status=closed&description=done&updated_datetime=2026-11-23T10:00:00Z", true)
	f.Add(uint8(5), true, "", "start_date=2026-11-20T00:00:00Z&end_date=2026-11-23T00:00:00Z", false)
	f.Add(uint8(6), false, "tok.json", "", false)
	w := newFuzzWorld(f)
	f.Fuzz(func(t *testing.T, which uint8, asXML bool, seg, params string, withKey bool) {
		ext := ".json"
		if asXML {
			ext = ".xml"
		}
		method, path := "GET", ""
		switch which % 7 {
		case 0:
			method, path = "POST", "/open311/v2/requests"+ext
		case 1:
			path = "/open311/v2/requests" + ext
		case 2:
			path = "/open311/v2/requests/" + url.PathEscape(seg)
		case 3:
			path = "/open311/v2/services/" + url.PathEscape(seg)
		case 4:
			method, path = "POST", "/open311/v2/servicerequestupdates"+ext
		case 5:
			path = "/open311/v2/servicerequestupdates" + ext
		case 6:
			path = "/open311/v2/tokens/" + url.PathEscape(seg)
		}
		var req *http.Request
		var err error
		if method == "POST" {
			body := params
			if withKey {
				body += "&api_key=" + url.QueryEscape(w.apiKey)
			}
			req, err = http.NewRequest(method, w.ts.URL+path, strings.NewReader(body))
			if err == nil {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
		} else {
			req, err = http.NewRequest(method, w.ts.URL+path+"?"+params, nil)
		}
		if err != nil {
			t.Skip()
		}
		before := w.watch.errors.Load()
		resp, err := w.ts.Client().Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 || w.watch.errors.Load() != before {
			t.Fatalf("%s %s?%s: status %d: %s (log: %v)", method, path, params, resp.StatusCode, raw, w.watch.last.Load())
		}
		ct := resp.Header.Get("Content-Type")
		switch {
		case strings.Contains(ct, "json"):
			if !json.Valid(raw) {
				t.Fatalf("%s %s: invalid JSON (%d): %q", method, path, resp.StatusCode, raw)
			}
		case strings.Contains(ct, "xml"):
			dec := xml.NewDecoder(bytes.NewReader(raw))
			for {
				_, err := dec.Token()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatalf("%s %s: malformed XML (%d): %v: %q", method, path, resp.StatusCode, err, raw)
				}
			}
		}
	})
}
