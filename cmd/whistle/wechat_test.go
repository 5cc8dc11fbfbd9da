package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestWeChatConfigChecked: a --wechat-appid without its secret or
// template, or a WeChat URL that is not http(s), stops the server, naming
// the flag.
func TestWeChatConfigChecked(t *testing.T) {
	full := []string{"--wechat-appid", "wx1234567890abcdef", "--wechat-secret", "s", "--wechat-template", "TPL"}
	tests := []struct {
		name  string
		flags []string
		want  string
	}{
		{"no secret", []string{"--wechat-appid", "wx1234567890abcdef", "--wechat-template", "TPL"}, "--wechat-secret"},
		{"no template", []string{"--wechat-appid", "wx1234567890abcdef", "--wechat-secret", "s"}, "--wechat-template"},
		{"api not a URL", append(full, "--wechat-url", "api.weixin.qq.com"), "--wechat-url"},
		{"link not http", append(full, "--wechat-link", "ftp://whistle.example.cn"), "--wechat-link"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"whistle", "serve", "--addr", "127.0.0.1:0", "--log-level", "error"}, dataArgs(t, "sqlite")...)
			err := run(t.Context(), append(args, tt.flags...), func(string) string { return "" }, &syncBuffer{}, &syncBuffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run: got %v, want an error naming %s", err, tt.want)
			}
		})
	}
}

// TestWeChatThroughTheServer (issue 15, Build 1): with the --wechat-*
// flags, the street staff bind their openid in the notification settings
// (a bad one is a field error in zh and en; the good one is shown masked)
// and choose WeChat; the grid worker's report, which calls on them to
// register it, reaches a small WeChat API server as a template message
// opening the case page.
func TestWeChatThroughTheServer(t *testing.T) {
	const openid = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
	var mu sync.Mutex
	var got []map[string]any
	wx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/cgi-bin/token":
			_, _ = io.WriteString(w, `{"access_token":"TOKEN","expires_in":7200}`)
		case "/cgi-bin/message/template/send":
			var m map[string]any
			if r.URL.Query().Get("access_token") != "TOKEN" || json.NewDecoder(r.Body).Decode(&m) != nil {
				_, _ = io.WriteString(w, `{"errcode":40001,"errmsg":"invalid credential"}`)
				return
			}
			mu.Lock()
			got = append(got, m)
			mu.Unlock()
			_, _ = io.WriteString(w, `{"errcode":0,"errmsg":"ok","msgid":1}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer wx.Close()
	app := startApp(t, "demo", dataArgs(t, "sqlite"), "--wechat-appid", "wx1234567890abcdef", "--wechat-secret", "s", "--wechat-template", "TPL",
		"--wechat-url", wx.URL, "--wechat-link", "https://whistle.example.cn")
	grid := login(t, app, "demo-grid")
	street := login(t, app, "demo-street")
	for _, lang := range []string{"zh-CN", "en"} {
		var e apiError
		code := do(t, "PUT", app.URL+"/api/v1/me/notification-settings", street, map[string]any{"channels": []string{"wechat"}, "openid": "not an openid"}, &e, "Accept-Language", lang)
		if code != 422 || e.Error.Fields["openid"] == "" {
			t.Errorf("%s: bad openid answered %d %+v, want 422 with a field error on openid", lang, code, e)
		}
	}
	var st struct {
		Channels  []string `json:"channels"`
		OpenID    string   `json:"openid"`
		Available []string `json:"available"`
	}
	if code := do(t, "PUT", app.URL+"/api/v1/me/notification-settings", street, map[string]any{"channels": []string{"wechat"}, "openid": openid}, &st); code != 200 ||
		!slices.Equal(st.Channels, []string{"wechat"}) || st.OpenID == openid || !strings.HasSuffix(st.OpenID, "eS6o") || !slices.Contains(st.Available, "wechat") {
		t.Fatalf("settings: %d %+v, want wechat chosen, on offer, and the openid masked", code, st)
	}
	lat, lng := interior(t, app, "330303001011001")
	var c caseResp
	if code := do(t, "POST", app.URL+"/api/v1/cases", grid, map[string]any{"category": "SJ0101", "description": "路灯不亮", "lat": lat, "lng": lng}, &c); code != 201 {
		t.Fatalf("submit: %d", code)
	}
	want := fmt.Sprintf("https://whistle.example.cn/cases/%d", c.ID)
	deadline := time.Now().Add(20 * time.Second)
	for {
		mu.Lock()
		var found map[string]any
		for _, m := range got {
			if m["url"] == want {
				found = m
			}
		}
		n := len(got)
		mu.Unlock()
		if found != nil {
			if found["touser"] != openid || found["template_id"] != "TPL" {
				t.Errorf("message %v: want touser %s and template TPL", found, openid)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no template message opening %s; WeChat got %d messages", want, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWeChatSettingsForm (issue 15, Build 1): with WeChat on offer the
// inbox page's settings form asks for the openid; a bad one is an error on
// that field (422) and stores nothing; a good one is stored and shown
// masked, and saving the form again with the masked value keeps it.
func TestWeChatSettingsForm(t *testing.T) {
	const openid = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
	app := startApp(t, "demo", dataArgs(t, "sqlite"), "--wechat-appid", "wx1234567890abcdef", "--wechat-secret", "s", "--wechat-template", "TPL")
	send := inboxFormClient(t, app, "demo-street")
	_, page := send("GET", "/inbox", nil)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil || !strings.Contains(page, `name="openid"`) || !strings.Contains(page, `value="wechat"`) {
		t.Fatal("no openid field or WeChat channel on the settings form")
	}
	code, page := send("POST", "/inbox/settings", url.Values{"csrf_token": {m[1]}, "channel": {"wechat"}, "openid": {"not an openid"}})
	if code != 422 || !strings.Contains(page, "微信 openid 格式不正确") {
		t.Errorf("bad openid: %d, want 422 with the field's message", code)
	}
	if _, page = send("GET", "/inbox", nil); strings.Contains(page, `value="wechat" checked`) {
		t.Error("the bad form was stored")
	}
	masked := "oUp*********************eS6o"
	for _, v := range []string{openid, masked} {
		if code, _ := send("POST", "/inbox/settings", url.Values{"csrf_token": {m[1]}, "channel": {"wechat"}, "openid": {v}}); code != 303 {
			t.Errorf("good form with %s: %d, want 303 to the inbox", v, code)
		}
		_, page = send("GET", "/inbox", nil)
		if !strings.Contains(page, `value="wechat" checked`) || !strings.Contains(page, `value="`+masked+`"`) || strings.Contains(page, openid) {
			t.Errorf("after saving %s: want wechat checked and the openid shown masked only", v)
		}
	}
}

// TestWeChatBindThroughWeChat (issue 15, Build 1): inside WeChat a user
// binds their openid without typing it. GET /inbox/wechat sends them to
// WeChat's authorisation page (snsapi_base) with a state kept in a
// cookie; WeChat sends them back with a one-time code, which the server
// exchanges for the openid, stores (shown masked) and turns the WeChat
// channel on. A callback whose state is not the cookie's, or without the
// cookie, is refused (400) and binds nothing; a code WeChat refuses is a
// 503 and binds nothing.
func TestWeChatBindThroughWeChat(t *testing.T) {
	const openid = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
	wx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		switch r.URL.Path {
		case "/connect/oauth2/authorize":
			if q.Get("appid") != "wx1234567890abcdef" || q.Get("scope") != "snsapi_base" || q.Get("response_type") != "code" {
				http.Error(w, "bad authorize request", http.StatusBadRequest)
				return
			}
			back, err := url.Parse(q.Get("redirect_uri"))
			if err != nil {
				http.Error(w, "bad redirect_uri", http.StatusBadRequest)
				return
			}
			back.RawQuery = url.Values{"code": {"GOODCODE"}, "state": {q.Get("state")}}.Encode()
			http.Redirect(w, r, back.String(), http.StatusFound)
		case "/sns/oauth2/access_token":
			if q.Get("appid") != "wx1234567890abcdef" || q.Get("secret") != "s" || q.Get("grant_type") != "authorization_code" || q.Get("code") != "GOODCODE" {
				_, _ = io.WriteString(w, `{"errcode":40029,"errmsg":"invalid code"}`)
				return
			}
			_, _ = io.WriteString(w, `{"access_token":"AT","expires_in":7200,"refresh_token":"RT","openid":"`+openid+`","scope":"snsapi_base"}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer wx.Close()
	app := startApp(t, "demo", dataArgs(t, "sqlite"), "--wechat-appid", "wx1234567890abcdef", "--wechat-secret", "s", "--wechat-template", "TPL",
		"--wechat-url", wx.URL, "--wechat-oauth-url", wx.URL)
	c, send := formSession(t, app, "demo-street")
	if _, page := send("GET", "/inbox", nil); !strings.Contains(page, `href="/inbox/wechat"`) {
		t.Fatal("the settings form offers no binding through WeChat")
	}
	bound := func() bool {
		_, page := send("GET", "/inbox", nil)
		return strings.Contains(page, `value="wechat" checked`)
	}

	// Refused: no cookie yet, then a forged state with the cookie set.
	if code, _ := send("GET", "/inbox/wechat/callback?code=GOODCODE&state=forged", nil); code != 400 {
		t.Errorf("callback without a binding started: %d, want 400", code)
	}
	start := func() *url.URL {
		t.Helper()
		resp, err := c.Get(app.URL + "/inbox/wechat")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		code, loc := resp.StatusCode, resp.Header.Get("Location")
		u, err := url.Parse(loc)
		if code != 302 || err != nil || !strings.HasPrefix(loc, wx.URL+"/connect/oauth2/authorize?") || !strings.HasSuffix(loc, "#wechat_redirect") {
			t.Fatalf("GET /inbox/wechat: %d to %q, want 302 to WeChat's authorisation page", code, loc)
		}
		return u
	}
	start()
	if code, _ := send("GET", "/inbox/wechat/callback?code=GOODCODE&state=forged", nil); code != 400 || bound() {
		t.Errorf("forged state: %d, want 400 and nothing bound", code)
	}

	// WeChat refuses the code: 503, nothing bound.
	u := start()
	if code, _ := send("GET", "/inbox/wechat/callback?code=BADCODE&state="+url.QueryEscape(u.Query().Get("state")), nil); code != 503 || bound() {
		t.Errorf("refused code: %d, want 503 and nothing bound", code)
	}

	// The real round trip through WeChat's page.
	u = start()
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || err != nil || back.Path != "/inbox/wechat/callback" {
		t.Fatalf("WeChat's page: %d to %q, want a redirect to the callback", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code, _ := send("GET", back.RequestURI(), nil); code != 303 {
		t.Fatalf("callback: %d, want 303 to the inbox", code)
	}
	_, page := send("GET", "/inbox?wechat=bound", nil)
	if !strings.Contains(page, `value="wechat" checked`) || !strings.Contains(page, `value="oUp*********************eS6o"`) || strings.Contains(page, openid) {
		t.Error("after binding: want the WeChat channel on and the openid shown masked only")
	}
	if !strings.Contains(page, "已绑定微信") {
		t.Error("after binding: no confirmation on the page")
	}
	// The state is used once.
	if code, _ := send("GET", back.RequestURI(), nil); code != 400 {
		t.Errorf("the same callback again: %d, want 400", code)
	}
}
