package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// inboxMsg is a message as GET /api/v1/inbox lists it.
type inboxMsg struct {
	ID       int64    `json:"id"`
	CaseID   int64    `json:"case_id"`
	Kind     string   `json:"kind"`
	Action   string   `json:"action"`
	Expected []string `json:"expected"`
	Text     string   `json:"text"`
}

// waitTold polls the user's inbox (the notifications come from the change
// feed, after the commit) until a message about the case after action
// names the expected action, or the deadline passes.
func waitTold(t *testing.T, app *testApp, token string, caseID int64, action, expected string) inboxMsg {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last []inboxMsg
	for time.Now().Before(deadline) {
		var in struct {
			Messages []inboxMsg `json:"messages"`
		}
		if code := do(t, "GET", app.URL+"/api/v1/inbox?limit=20", token, nil, &in); code != 200 {
			t.Fatalf("inbox: %d", code)
		}
		for _, m := range in.Messages {
			if m.CaseID == caseID && m.Action == action && slices.Contains(m.Expected, expected) {
				return m
			}
		}
		last = in.Messages
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("after %s, no message naming %s about case %d; the inbox: %+v", action, expected, caseID, last)
	return inboxMsg{}
}

// TestUrbanLoopTellsTheNextActor (issue 15, Build 1): through the whole
// server, each step of the urban loop reaches the inbox of whoever acts
// next, naming what they are expected to do: the street staff to
// register and dispatch, the department to handle, the street staff to
// decide a postponement, the grid worker to verify (待核查). Bad
// notification settings are field errors in zh and en.
func TestUrbanLoopTellsTheNextActor(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			app := startApp(t, "demo", dataArgs(t, d))
			grid := login(t, app, "demo-grid")
			street := login(t, app, "demo-street")
			dept := login(t, app, "demo-dept")
			lat, lng := interior(t, app, "330303001011001")
			var c caseResp
			if code := do(t, "POST", app.URL+"/api/v1/cases", grid, map[string]any{"category": "SJ0101", "description": "路灯不亮", "lat": lat, "lng": lng}, &c); code != 201 {
				t.Fatalf("submit: %d", code)
			}
			act := func(token, action string, body map[string]any) {
				t.Helper()
				var e apiError
				if code := do(t, "POST", app.URL+fmt.Sprintf("/api/v1/cases/%d/actions/%s", c.ID, action), token, body, &e); code != 200 {
					t.Fatalf("%s: %d %+v", action, code, e)
				}
			}
			m := waitTold(t, app, street, c.ID, "submit", "register")
			if m.Text == "" || m.Kind != "next" {
				t.Errorf("submit message: %+v, want a next-actor text", m)
			}
			act(street, "register", nil)
			waitTold(t, app, street, c.ID, "register", "dispatch")
			act(street, "dispatch", map[string]any{"target": map[string]any{"department": "CG"}})
			// By when, in the limit's unit, with the deadline's date and time.
			byWhen := regexp.MustCompile(`剩余 [0-9.]+ 个工作(小时|日)，截止 [0-9]+月[0-9]+日 [0-9]{2}:[0-9]{2}。`)
			if m := waitTold(t, app, dept, c.ID, "dispatch", "resolve"); !byWhen.MatchString(m.Text) {
				t.Errorf("dispatch message %q: want the time left in the limit's unit and the deadline", m.Text)
			}
			act(dept, "postpone_request", map[string]any{"reason": "需协调管线单位", "hours": 8})
			if m := waitTold(t, app, street, c.ID, "postpone_request", "postpone_approve"); !regexp.MustCompile(`申请延期 [0-9.]+ 个工作(小时|日)，理由：需协调管线单位。`).MatchString(m.Text) {
				t.Errorf("postponement message %q: want the hours asked in the limit's unit", m.Text)
			}
			act(street, "postpone_approve", nil)
			if m := waitTold(t, app, dept, c.ID, "postpone_approve", "resolve"); !strings.Contains(m.Text, "延期已批准，时限延长 ") || !byWhen.MatchString(m.Text) {
				t.Errorf("approval message %q: want what the postponement added and the time left", m.Text)
			}
			act(dept, "resolve", map[string]any{"note": "已更换灯泡"})
			waitTold(t, app, grid, c.ID, "resolve", "verify")

			for _, lang := range []string{"zh-CN", "en"} {
				var e apiError
				code := do(t, "PUT", app.URL+"/api/v1/me/notification-settings", grid, map[string]any{"channels": []string{"pigeon"}, "quiet_from": "25:00", "quiet_to": "07:00"}, &e,
					"Accept-Language", lang)
				if code != 422 || e.Error.Fields["channels"] == "" || e.Error.Fields["quiet_from"] == "" {
					t.Errorf("%s: bad settings answered %d %+v, want 422 with fields channels and quiet_from", lang, code, e)
				}
			}
			var st struct {
				Channels  []string `json:"channels"`
				Available []string `json:"available"`
			}
			if code := do(t, "GET", app.URL+"/api/v1/me/notification-settings", grid, nil, &st); code != 200 || len(st.Channels) != 0 || !slices.Contains(st.Available, "sms") {
				t.Errorf("settings after bad input: %d %+v, want nothing chosen and sms on offer", code, st)
			}
			if code := do(t, "PUT", app.URL+"/api/v1/me/notification-settings", grid, map[string]any{"channels": []string{"sms"}, "quiet_from": "22:00", "quiet_to": "07:00"}, &st); code != 200 || !slices.Equal(st.Channels, []string{"sms"}) {
				t.Errorf("settings: %d %+v, want sms", code, st)
			}
		})
	}
}

// TestNotificationSettingsForm (issue 15, Build 1): the inbox page's
// settings form shows a bad quiet-hours time as an error on its field
// (422) and stores nothing; a good one is stored and shown checked.
func TestNotificationSettingsForm(t *testing.T) {
	app := startApp(t, "demo", dataArgs(t, "sqlite"))
	send := inboxFormClient(t, app, "demo-street")
	var page string
	_, page = send("GET", "/inbox", nil)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, `action="/inbox/settings"`) {
		t.Fatal("no settings form on the inbox page")
	}
	code, page := send("POST", "/inbox/settings", url.Values{"csrf_token": {m[1]}, "channel": {"sms"}, "quiet_from": {"25:00"}, "quiet_to": {"07:00"}})
	if code != 422 || !strings.Contains(page, "请按 时:分 填写") {
		t.Errorf("bad time: %d, want 422 with the field's message", code)
	}
	_, page = send("GET", "/inbox", nil)
	if strings.Contains(page, `value="sms" checked`) {
		t.Error("the bad form was stored")
	}
	if code, _ := send("POST", "/inbox/settings", url.Values{"csrf_token": {m[1]}, "channel": {"sms"}, "quiet_from": {"22:00"}, "quiet_to": {"07:00"}}); code != 303 {
		t.Errorf("good form: %d, want 303 to the inbox", code)
	}
	_, page = send("GET", "/inbox", nil)
	if !strings.Contains(page, `value="sms" checked`) || !strings.Contains(page, `value="22:00"`) {
		t.Error("the stored settings are not shown")
	}
}

// inboxFormClient signs username in through the login form, in a client
// with cookies, and returns how to send it a request (a form when form is
// set), answering the status and the body.
func inboxFormClient(t *testing.T, app *testApp, username string) func(method, path string, form url.Values) (int, string) {
	t.Helper()
	_, send := formSession(t, app, username)
	return send
}

// formSession signs username in through the login form and returns the
// browser-like client (cookies kept, redirects not followed) and a send
// function over it.
func formSession(t *testing.T, app *testApp, username string) (*http.Client, func(method, path string, form url.Values) (int, string)) {
	t.Helper()
	c := browser(t)
	send := func(method, path string, form url.Values) (int, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, app.URL+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	_, page := send("GET", "/login?next=/inbox", nil)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token on the login form")
	}
	if code, _ := send("POST", "/login", url.Values{"username": {username}, "password": {"whistle-demo"}, "csrf_token": {m[1]}, "next": {"/inbox"}}); code != 303 {
		t.Fatalf("login: %d", code)
	}
	return c, send
}
