package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/sms"
)

// pageBody GETs path with the client and returns the status and body.
func pageBody(t *testing.T, c *http.Client, url string, hdr ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestAnonymousReportPage: a visitor without a session gets the report
// form (no photo uploader, which needs an account, and a receipt block
// instead of the staff case page); a resident with a session gets the
// uploader and no receipt. A visitor's report with a phone number is
// filed and the number is masked in the staff view.
func TestAnonymousReportPage(t *testing.T) {
	app := startApp(t, "demo", dataArgs(t, "sqlite"))
	c := browser(t)
	code, body := pageBody(t, c, app.URL+"/report")
	if code != 200 {
		t.Fatalf("GET /report without a session: got %d, want 200", code)
	}
	for _, want := range []string{`id="report-form"`, `data-receipt`, `name="phone"`, "/login?next=/report"} {
		if !strings.Contains(body, want) {
			t.Errorf("visitor's form lacks %q", want)
		}
	}
	if strings.Contains(body, "data-queue") {
		t.Error("visitor's form has the photo uploader, whose upload needs an account")
	}
	code, body = pageBody(t, c, app.URL+"/report", "Authorization", "Bearer "+login(t, app, "demo-resident"))
	if code != 200 || !strings.Contains(body, "data-queue") || strings.Contains(body, "data-receipt") {
		t.Errorf("resident's form: got %d, uploader %v, receipt %v; want 200, an uploader and no receipt",
			code, strings.Contains(body, "data-queue"), strings.Contains(body, "data-receipt"))
	}

	lat, lng := interior(t, app, demoGrid)
	var created struct {
		ID         int64  `json:"id"`
		Number     string `json:"number"`
		Visibility string `json:"visibility"`
	}
	if code := do(t, "POST", app.URL+"/api/v1/cases", "", map[string]any{"category": "ZL0601", "description": "楼道灯坏了（游客）",
		"lat": lat, "lng": lng, "phone": "13912340001", "anonymous": true}, &created); code != 201 || created.Number == "" {
		t.Fatalf("anonymous report: got %d %+v, want 201 with a number", code, created)
	}
	var staff struct {
		Reporter struct {
			Phone string `json:"phone"`
		} `json:"reporter"`
	}
	admin := login(t, app, "demo-admin")
	if code := do(t, "GET", app.URL+"/api/v1/cases/"+strconv.FormatInt(created.ID, 10), admin, nil, &staff); code != 200 || staff.Reporter.Phone != "139****0001" {
		t.Errorf("staff view of the phone: got %d %q, want 200 139****0001", code, staff.Reporter.Phone)
	}
}

// residentApp wires the demo app on dialect d (as serve does, SMS going to
// the sms.Log double) behind a test server, with the given limits.
func residentApp(t *testing.T, d string, extra ...string) (string, *wired) {
	t.Helper()
	var o options
	fs := flag.NewFlagSet("resident", flag.ContinueOnError)
	o.serveFlags(fs)
	e := env{getenv: func(string) string { return "" }, stdout: io.Discard, stderr: io.Discard}
	if _, err := parse(fs, append(append(dataArgs(t, d), "--log-level", "error"), extra...), e); err != nil {
		t.Fatal(err)
	}
	o.seed, o.demoPassword = 1, "whistle-demo"
	w, err := wire(context.Background(), &o, e, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.close)
	ts := httptest.NewServer(w.srv)
	t.Cleanup(ts.Close)
	return ts.URL, w
}

// postJSON posts body and returns the status, the raw body and the headers.
func postJSON(t *testing.T, c *http.Client, url string, body any, hdr ...string) (int, []byte, http.Header) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, resp.Header
}

func smsCodeOf(t *testing.T, w *wired, phone string) string {
	t.Helper()
	m, ok := w.sms.(*sms.Log).Last(phone)
	if !ok {
		t.Fatalf("no SMS recorded for %s", phone)
	}
	return m.Params["code"]
}

// TestSMSSignInFindsAnonymousReport is issue 15's "an anonymous phone
// report, then an SMS sign-in that finds it", through the API on both
// dialects, with the answers that must not tell numbers apart.
func TestSMSSignInFindsAnonymousReport(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			if d == "postgres" && os.Getenv("WHISTLE_TEST_POSTGRES") == "" {
				t.Skip("WHISTLE_TEST_POSTGRES not set")
			}
			base, w := residentApp(t, d)
			ctx := context.Background()
			lat, lng := 0.0, 0.0
			{
				var r struct {
					P struct{ Lat, Lng float64 } `json:"interior_point"`
				}
				do(t, "GET", base+"/api/v1/regions/"+demoGrid, "", nil, &r)
				lat, lng = r.P.Lat, r.P.Lng
			}
			const phone = "13912340002"
			visitor := browser(t)
			code, raw, _ := postJSON(t, visitor, base+"/api/v1/cases", map[string]any{"category": "ZL0601", "description": "路灯不亮（匿名）",
				"lat": lat, "lng": lng, "phone": phone, "anonymous": true})
			var c struct {
				ID     int64  `json:"id"`
				Number string `json:"number"`
			}
			if err := json.Unmarshal(raw, &c); code != 201 || err != nil || c.Number == "" {
				t.Fatalf("anonymous report: got %d %s", code, raw)
			}

			// Non-enumeration: a number with an account (a resident signed
			// in before), a staff member's users.phone and a number never
			// seen get the same status and the same body.
			// The known number is linked as a sign-in would link it, without
			// a code sent now (which would start its resend interval).
			known := "13912340003"
			resident, err := w.app.accounts.UserByName(ctx, account.SystemScope(), "demo-resident")
			if err != nil {
				t.Fatal(err)
			}
			if err := w.app.db.InTx(ctx, func(tx *db.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO phone_logins (phone, user_id, verified_at) VALUES ($1, $2, $3)`, known, resident.ID, tx.Now())
				return err
			}); err != nil {
				t.Fatal(err)
			}
			staff, err := w.app.accounts.UserByName(ctx, account.SystemScope(), "demo-grid")
			if err != nil || staff.Phone == "" {
				t.Fatalf("demo-grid's phone: %v %v", staff, err)
			}
			var bodies []string
			for _, n := range []string{known, staff.Phone, "13912349999", phone} {
				code, raw, _ := postJSON(t, browser(t), base+"/api/v1/session/sms-code", map[string]string{"phone": n})
				if code != 202 {
					t.Errorf("code for %s: got %d %s, want 202", n, code, raw)
				}
				bodies = append(bodies, string(raw))
			}
			for i, b := range bodies[1:] {
				if b != bodies[0] {
					t.Errorf("answer %d differs: got %q, want %q", i+2, b, bodies[0])
				}
			}

			// The resident signs in with the number of the report.
			res := browser(t)
			code, raw, _ = postJSON(t, res, base+"/api/v1/session/sms", map[string]string{"phone": phone, "code": smsCodeOf(t, w, phone)})
			var sess struct {
				Token string `json:"token"`
				CSRF  string `json:"csrf_token"`
			}
			if err := json.Unmarshal(raw, &sess); code != 200 || err != nil || sess.Token == "" || sess.CSRF == "" {
				t.Fatalf("sign in: got %d %s, want 200 with token and csrf_token", code, raw)
			}
			code, body := pageBody(t, res, base+"/my")
			if code != 200 || !strings.Contains(body, c.Number) {
				t.Errorf("我的 after the SMS sign-in: got %d, case %s listed %v", code, c.Number, strings.Contains(body, c.Number))
			}
			var one struct {
				Number string `json:"number"`
			}
			if code := do(t, "GET", base+"/api/v1/cases/"+strconv.FormatInt(c.ID, 10), sess.Token, nil, &one); code != 200 || one.Number != c.Number {
				t.Errorf("the claimed case through the API: got %d %q", code, one.Number)
			}
			// Another resident does not see it.
			other := login(t, &testApp{URL: base}, "demo-resident")
			code, _ = pageBody(t, http.DefaultClient, base+"/api/v1/cases/"+strconv.FormatInt(c.ID, 10), "Authorization", "Bearer "+other)
			if code != 404 {
				t.Errorf("another resident reading the case: got %d, want 404", code)
			}
			// The staff view keeps it anonymous, with the phone masked.
			var staffView struct {
				Anonymous bool `json:"anonymous"`
				Reporter  struct {
					ID    int64  `json:"id"`
					Name  string `json:"name"`
					Phone string `json:"phone"`
				} `json:"reporter"`
			}
			do(t, "GET", base+"/api/v1/cases/"+strconv.FormatInt(c.ID, 10), login(t, &testApp{URL: base}, "demo-admin"), nil, &staffView)
			if !staffView.Anonymous || staffView.Reporter.ID != 0 || staffView.Reporter.Name != "" || staffView.Reporter.Phone != "139****0002" {
				t.Errorf("staff view after the claim: got %+v, want anonymous with the phone masked", staffView)
			}
		})
	}
}

// TestSMSEndpointsBadInput: bad input on both endpoints is a 422 with a
// message per field in zh and en, and sends and stores nothing; a code
// asked for again within a minute is 429 with Retry-After; a wrong code
// is 401.
func TestSMSEndpointsBadInput(t *testing.T) {
	base, w := residentApp(t, "sqlite")
	type answer struct {
		Error struct {
			Fields map[string]string `json:"fields"`
		} `json:"error"`
	}
	cases := []struct {
		name, path string
		body       any
		field      string
		zh, en     string
	}{
		{"code: no phone", "/api/v1/session/sms-code", map[string]string{}, "phone", "必填", "Required"},
		{"code: bad phone", "/api/v1/session/sms-code", map[string]string{"phone": "12345"}, "phone", "11 位", "11 digits"},
		{"sign in: no code", "/api/v1/session/sms", map[string]string{"phone": "13912340004"}, "code", "必填", "Required"},
		{"sign in: short code", "/api/v1/session/sms", map[string]string{"phone": "13912340004", "code": "123"}, "code", "6 位数字", "6 digits"},
		{"sign in: bad phone", "/api/v1/session/sms", map[string]string{"phone": "139", "code": "123456"}, "phone", "11 位", "11 digits"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for lang, want := range map[string]string{"zh-CN": tc.zh, "en": tc.en} {
				code, raw, _ := postJSON(t, browser(t), base+tc.path, tc.body, "Accept-Language", lang)
				var a answer
				_ = json.Unmarshal(raw, &a)
				if code != 422 || !strings.Contains(a.Error.Fields[tc.field], want) {
					t.Errorf("%s: got %d %s, want 422 with %s: %q", lang, code, raw, tc.field, want)
				}
			}
		})
	}
	if n := len(w.sms.(*sms.Log).Messages()); n != 0 {
		t.Errorf("got %d messages sent after bad input, want none", n)
	}
	var n int
	if err := w.app.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM sms_codes`).Scan(&n); err != nil || n != 0 {
		t.Errorf("got %d codes stored (%v), want none", n, err)
	}
	c := browser(t)
	if code, raw, _ := postJSON(t, c, base+"/api/v1/session/sms-code", map[string]string{"phone": "13912340004"}); code != 202 {
		t.Fatalf("first code: %d %s", code, raw)
	}
	code, raw, hdr := postJSON(t, c, base+"/api/v1/session/sms-code", map[string]string{"phone": "13912340004"})
	if code != 429 || hdr.Get("Retry-After") == "" {
		t.Errorf("second code at once: got %d %s Retry-After %q, want 429 with Retry-After", code, raw, hdr.Get("Retry-After"))
	}
	good := smsCodeOf(t, w, "13912340004")
	bad := "000000"
	if good == bad {
		bad = "000001"
	}
	if code, raw, _ := postJSON(t, c, base+"/api/v1/session/sms", map[string]string{"phone": "13912340004", "code": bad}); code != 401 {
		t.Errorf("wrong code: got %d %s, want 401", code, raw)
	}
}
