package notify_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/notify"
	"whistle/internal/worldtest"
)

// wechatServer plays WeChat's official-account API: it issues access
// tokens valid for 7200 s of clk's time, refuses an expired or revoked
// token with errcode 42001 or 40001, and keeps the template messages it
// accepted.
type wechatServer struct {
	clk *clock.Fake
	mu  sync.Mutex
	// tokens are the issued tokens and when each expires.
	tokens  map[string]time.Time
	fetches int
	// refuse is the errcode the next sends answer (0: none), for refusals
	// sends; tokenCode the errcode of the token endpoint.
	refuse    int
	refusals  int
	tokenCode int
	stale     []string // tokens presented after they had expired or were revoked
	got       []map[string]any
}

const (
	wxAppID  = "wx1234567890abcdef"
	wxSecret = "s3cr3t"
	wxOpenID = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
)

func startWeChat(t *testing.T, clk *clock.Fake) (*wechatServer, *httptest.Server) {
	t.Helper()
	ws := &wechatServer{clk: clk, tokens: map[string]time.Time{}}
	srv := httptest.NewServer(ws)
	t.Cleanup(srv.Close)
	return ws, srv
}

func (ws *wechatServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	answer := func(v map[string]any) { _ = json.NewEncoder(w).Encode(v) }
	q := r.URL.Query()
	switch r.URL.Path {
	case "/cgi-bin/token":
		if r.Method != http.MethodGet || q.Get("grant_type") != "client_credential" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if q.Get("appid") != wxAppID || q.Get("secret") != wxSecret {
			answer(map[string]any{"errcode": 40125, "errmsg": "invalid appsecret"})
			return
		}
		if ws.tokenCode != 0 {
			answer(map[string]any{"errcode": ws.tokenCode, "errmsg": "refused"})
			return
		}
		ws.fetches++
		tok := "TOKEN-" + strconv.Itoa(ws.fetches)
		ws.tokens[tok] = ws.clk.Now().Add(7200 * time.Second)
		answer(map[string]any{"access_token": tok, "expires_in": 7200})
	case "/cgi-bin/message/template/send":
		tok := q.Get("access_token")
		exp, ok := ws.tokens[tok]
		switch {
		case !ok:
			ws.stale = append(ws.stale, tok)
			answer(map[string]any{"errcode": 40001, "errmsg": "invalid credential"})
			return
		case !ws.clk.Now().Before(exp):
			ws.stale = append(ws.stale, tok)
			answer(map[string]any{"errcode": 42001, "errmsg": "access_token expired"})
			return
		}
		if ws.refusals > 0 {
			ws.refusals--
			answer(map[string]any{"errcode": ws.refuse, "errmsg": "refused"})
			return
		}
		var msg map[string]any
		if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
			answer(map[string]any{"errcode": 47001, "errmsg": "data format error"})
			return
		}
		ws.got = append(ws.got, msg)
		answer(map[string]any{"errcode": 0, "errmsg": "ok", "msgid": len(ws.got)})
	default:
		http.NotFound(w, r)
	}
}

// revoke makes every issued token invalid (as when the secret is reset or
// another server fetched a new token).
func (ws *wechatServer) revoke() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	ws.tokens = map[string]time.Time{}
}

// expire makes every issued token expire now (WeChat may end a token
// before its announced time).
func (ws *wechatServer) expire() {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for k := range ws.tokens {
		ws.tokens[k] = ws.clk.Now()
	}
}

func (ws *wechatServer) state() (fetches int, stale []string, got []map[string]any) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return ws.fetches, append([]string{}, ws.stale...), append([]map[string]any{}, ws.got...)
}

func (ws *wechatServer) set(f func(ws *wechatServer)) {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	f(ws)
}

func field(msg map[string]any, name string) string {
	data, _ := msg["data"].(map[string]any)
	v, _ := data[name].(map[string]any)
	s, _ := v["value"].(string)
	return s
}

// TestWeChat: the channel fetches an access token once and reuses it,
// renews it before its announced expiry, fetches a new one and sends
// again when WeChat answers 42001 (expired) or 40001 (invalid), and
// returns an error for any other errcode, a refused token or a user
// without an openid.
func TestWeChat(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC))
	ws, srv := startWeChat(t, clk)
	ctx := context.Background()
	wx := &notify.WeChat{AppID: wxAppID, Secret: wxSecret, TemplateID: "TPL-1", API: srv.URL, Link: "https://whistle.example.cn/", Clock: clk}
	to := notify.Address{UserID: 7, OpenID: wxOpenID}
	m := notify.Message{CaseID: 42, Args: []any{"WH20261207-0001"}, Text: "案件 WH20261207-0001：请您办理：受理。"}
	steps := []struct {
		name        string
		before      func()
		wantErr     bool
		wantFetches int
	}{
		{"first send fetches a token", nil, false, 1},
		{"second send reuses it", nil, false, 1},
		{"renewed before it expires", func() { clk.Advance(7200*time.Second - 4*time.Minute) }, false, 2},
		{"expired early: errcode 42001, fetched again, sent", ws.expire, false, 3},
		{"revoked: errcode 40001, fetched again, sent", ws.revoke, false, 4},
		{"other errcode: an error", func() { ws.set(func(ws *wechatServer) { ws.refuse, ws.refusals = 43004, 1 }) }, true, 4},
		{"token refused: an error", func() { ws.revoke(); ws.set(func(ws *wechatServer) { ws.tokenCode = 40164 }) }, true, 4},
	}
	sent := 0
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		err := wx.SendCase(ctx, to, m, "吹哨：您有新的待办")
		if (err != nil) != st.wantErr {
			t.Fatalf("%s: got %v, want error %v", st.name, err, st.wantErr)
		}
		if err == nil {
			sent++
		}
		fetches, _, got := ws.state()
		if fetches != st.wantFetches || len(got) != sent {
			t.Errorf("%s: %d token fetches, %d messages; want %d and %d", st.name, fetches, len(got), st.wantFetches, sent)
		}
	}
	_, stale, got := ws.state()
	// Only the tokens the server ended early (42001, 40001, and the one
	// revoked before the refused fetch) were ever presented stale: the
	// first was renewed before its announced expiry.
	if want := []string{"TOKEN-2", "TOKEN-3", "TOKEN-4"}; !slices.Equal(stale, want) {
		t.Errorf("stale tokens presented: %v, want %v", stale, want)
	}
	msg := got[0]
	if msg["touser"] != wxOpenID || msg["template_id"] != "TPL-1" || msg["url"] != "https://whistle.example.cn/cases/42" {
		t.Errorf("message %v: want touser %s, template TPL-1, url https://whistle.example.cn/cases/42", msg, wxOpenID)
	}
	if field(msg, "first") != "吹哨：您有新的待办" || field(msg, "keyword1") != "WH20261207-0001" || field(msg, "keyword2") != m.Text {
		t.Errorf("data %v: want first the subject, keyword1 the number, keyword2 the text", msg["data"])
	}
	if err := wx.SendCase(ctx, notify.Address{UserID: 8}, m, "x"); err == nil {
		t.Errorf("no openid: got nil, want an error")
	}
}

// TestWeChatChannel: a user binds their openid (checked, shown masked,
// kept when the masked form comes back) and chooses WeChat; the inbox
// entry of a new case goes out as a template message linking to the case
// once WeChat stops refusing it, retried through the Outbox.
func TestWeChatChannel(t *testing.T) {
	worldtest.Each(t, time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := walkWorld(t, d)
		ctx := context.Background()
		ws, srv := startWeChat(t, clk)
		out := notify.NewOutbox(d, mustCatalog(t), nil, &notify.WeChat{AppID: wxAppID, Secret: wxSecret, TemplateID: "TPL-1", API: srv.URL, Link: "https://whistle.example.cn", Clock: clk})
		street := w.Users["street"]
		bad := []struct {
			name string
			in   notify.Settings
			key  string
		}{
			{"wechat without an openid", notify.Settings{Channels: []string{"wechat"}}, "field.required"},
			{"openid too short", notify.Settings{Channels: []string{"wechat"}, OpenID: "oUpF8u"}, "notify2.bad_openid"},
			{"openid with a space", notify.Settings{OpenID: "oUpF8uMuAJO M2pxb1Q9zNjWeS6o"}, "notify2.bad_openid"},
			{"a masked openid never stored", notify.Settings{OpenID: "oUp*********************eS6o"}, "notify2.bad_openid"},
		}
		for _, tt := range bad {
			err := out.SetSettings(ctx, street.ID, tt.in)
			var e *errs.Error
			if !errors.As(err, &e) || e.Fields["openid"].Key != tt.key {
				t.Errorf("%s: got %v, want %s on openid", tt.name, err, tt.key)
			}
		}
		if got, err := out.Settings(ctx, street.ID); err != nil || len(got.Channels) != 0 || got.OpenID != "" {
			t.Fatalf("after bad input: %+v, %v; want nothing stored", got, err)
		}
		if err := out.SetSettings(ctx, street.ID, notify.Settings{Channels: []string{"wechat"}, OpenID: wxOpenID}); err != nil {
			t.Fatal(err)
		}
		shown, err := out.Settings(ctx, street.ID)
		if err != nil || shown.OpenID == wxOpenID || !strings.HasSuffix(shown.OpenID, "eS6o") || !strings.Contains(shown.OpenID, "***") {
			t.Fatalf("settings shown: %+v, %v; want the openid masked", shown, err)
		}
		// The settings form sends the masked openid back unchanged.
		if err := out.SetSettings(ctx, street.ID, shown); err != nil {
			t.Fatalf("masked openid handed back: %v", err)
		}
		ws.set(func(ws *wechatServer) { ws.refuse, ws.refusals = 45009, 1 }) // quota reached
		c := w.Submit(t, "resident", casework.SubmitInput{Category: leaf(t, w, "ZL06"), Description: "楼道堆放杂物，影响通行", Lat: ptr(27.005), Lng: ptr(120.005)})
		if err := runner(t, w, notify.NewNotifier(w.Cases, nil).WithOutbox(out)).Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := out.Deliver(ctx); n != 0 || err != nil {
			t.Fatalf("WeChat refusing: %d sent, %v; want 0 and no error", n, err)
		}
		if n, _ := out.Deliver(ctx); n != 0 {
			t.Errorf("retried at once: %d sent", n)
		}
		clk.Advance(time.Minute)
		if n, err := out.Deliver(ctx); n != 1 || err != nil {
			t.Fatalf("after the delay: %d sent, %v; want 1", n, err)
		}
		_, _, got := ws.state()
		if len(got) != 1 {
			t.Fatalf("WeChat kept %d messages, want 1", len(got))
		}
		msg := got[0]
		wantURL := "https://whistle.example.cn/cases/" + strconv.FormatInt(c.ID, 10)
		if msg["touser"] != wxOpenID || msg["url"] != wantURL || field(msg, "keyword1") != c.Number || !strings.Contains(field(msg, "keyword2"), c.Number) {
			t.Errorf("message %v: want touser %s (the stored openid), url %s, keyword1 %s", msg, wxOpenID, wantURL, c.Number)
		}
	})
}
