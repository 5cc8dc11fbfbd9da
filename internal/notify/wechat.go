package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// WeChat sends 微信公众号 template messages (模板消息) to the users who
// bound their openid under the official account. It fetches the
// account's access_token (GET /cgi-bin/token, client_credential) and
// keeps it until shortly before it expires, or until the API answers
// that it is invalid or expired (errcode 40001, 40014, 42001): then it
// fetches a new one and tries the message once more. Any other failure is
// returned, and the Outbox tries the copy again later.
//
// A message fills the template's fields first (the subject), keyword1
// (the case number), keyword2 (the message text) and links to the case
// page, Link + "/cases/{id}".
type WeChat struct {
	AppID, Secret string
	TemplateID    string
	// API is the base of WeChat's API ("https://api.weixin.qq.com"; a
	// test server in tests).
	API string
	// OAuth is the base of WeChat's authorisation page, to which a user
	// is sent to bind their openid ("https://open.weixin.qq.com" when
	// empty; a test server in tests).
	OAuth string
	// Link is the public base URL of this application, whose case pages
	// the messages open; empty: the messages link nowhere.
	Link   string
	Client *http.Client                 // nil: a client with a 10 s timeout
	Clock  interface{ Now() time.Time } // nil: the wall clock

	mu      sync.Mutex
	token   string
	expires time.Time // when to fetch a new token
}

// tokenMargin is how long before its announced expiry a token is renewed.
const tokenMargin = 5 * time.Minute

// Name is "wechat".
func (w *WeChat) Name() string { return "wechat" }

// Send sends subject and text as a template message without a case.
func (w *WeChat) Send(ctx context.Context, to Address, subject, text string) error {
	return w.SendCase(ctx, to, Message{Text: text}, subject)
}

// SendCase sends m (rendered) to to.OpenID as a template message linking
// to m's case.
func (w *WeChat) SendCase(ctx context.Context, to Address, m Message, subject string) error {
	if to.OpenID == "" {
		return errors.New("notify: no WeChat openid")
	}
	msg := wechatMessage{ToUser: to.OpenID, TemplateID: w.TemplateID, Data: map[string]wechatValue{
		"first": {Value: subject}, "keyword1": {Value: caseNumber(m)}, "keyword2": {Value: m.Text},
	}}
	if w.Link != "" && m.CaseID > 0 {
		msg.URL = strings.TrimRight(w.Link, "/") + "/cases/" + strconv.FormatInt(m.CaseID, 10)
	}
	body, _ := json.Marshal(msg)
	for try := 0; ; try++ {
		token, err := w.accessToken(ctx)
		if err != nil {
			return err
		}
		code, errmsg, err := w.call(ctx, http.MethodPost, "/cgi-bin/message/template/send?access_token="+url.QueryEscape(token), body, nil)
		if err != nil {
			return fmt.Errorf("notify: wechat for user %d: %w", to.UserID, err)
		}
		switch code {
		case 0:
			return nil
		case 40001, 40014, 42001: // invalid credential, invalid token, token expired
			w.forget(token)
			if try == 0 {
				continue
			}
		}
		return fmt.Errorf("notify: wechat for user %d: errcode %d: %s", to.UserID, code, errmsg)
	}
}

type wechatMessage struct {
	ToUser     string                 `json:"touser"`
	TemplateID string                 `json:"template_id"`
	URL        string                 `json:"url,omitempty"`
	Data       map[string]wechatValue `json:"data"`
}

type wechatValue struct {
	Value string `json:"value"`
}

// caseNumber is the case number a step's message names first.
func caseNumber(m Message) string {
	if len(m.Args) > 0 {
		if s, ok := m.Args[0].(string); ok && !strings.HasPrefix(s, "t:") {
			return s
		}
	}
	return ""
}

func (w *WeChat) now() time.Time {
	if w.Clock != nil {
		return w.Clock.Now()
	}
	return time.Now()
}

// accessToken returns the cached token, or fetches a new one when there
// is none or it is about to expire.
func (w *WeChat) accessToken(ctx context.Context) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.token != "" && w.now().Before(w.expires) {
		return w.token, nil
	}
	q := url.Values{"grant_type": {"client_credential"}, "appid": {w.AppID}, "secret": {w.Secret}}
	var ans struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	code, errmsg, err := w.call(ctx, http.MethodGet, "/cgi-bin/token?"+q.Encode(), nil, &ans)
	if err != nil {
		return "", fmt.Errorf("notify: wechat token: %w", err)
	}
	if code != 0 || ans.AccessToken == "" {
		return "", fmt.Errorf("notify: wechat token: errcode %d: %s", code, errmsg)
	}
	w.token = ans.AccessToken
	w.expires = w.now().Add(time.Duration(ans.ExpiresIn)*time.Second - tokenMargin)
	return w.token, nil
}

// forget drops token if it is still the cached one.
func (w *WeChat) forget(token string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.token == token {
		w.token = ""
	}
}

// call makes one API request and reads its errcode (absent: 0) and, when
// out is set, the rest of the answer into out.
func (w *WeChat) call(ctx context.Context, method, path string, body []byte, out any) (int, string, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(w.API, "/")+path, rd)
	if err != nil {
		return 0, "", err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
	}
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return 0, "", fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var ans struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil {
		return 0, "", fmt.Errorf("answer is not JSON: %w", err)
	}
	if out != nil && ans.ErrCode == 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return 0, "", err
		}
	}
	return ans.ErrCode, ans.ErrMsg, nil
}

// AuthorizeURL is where a user's browser inside WeChat goes to hand this
// server their openid under the official account (网页授权, the silent
// snsapi_base scope): WeChat sends it back to redirectURI with a one-time
// code and state. OAuth is the base of that page
// ("https://open.weixin.qq.com"; a test server in tests).
func (w *WeChat) AuthorizeURL(redirectURI, state string) string {
	q := url.Values{"appid": {w.AppID}, "redirect_uri": {redirectURI}, "response_type": {"code"}, "scope": {"snsapi_base"}, "state": {state}}
	base := w.OAuth
	if base == "" {
		base = "https://open.weixin.qq.com"
	}
	// WeChat reads the parameters in this order and wants the fragment.
	return strings.TrimRight(base, "/") + "/connect/oauth2/authorize?appid=" + q.Get("appid") + "&redirect_uri=" + url.QueryEscape(redirectURI) +
		"&response_type=code&scope=snsapi_base&state=" + url.QueryEscape(state) + "#wechat_redirect"
}

// OpenID exchanges the one-time code of AuthorizeURL's redirect for the
// user's openid (GET /sns/oauth2/access_token). A refused code (used,
// expired, forged) or an answer without a well-formed openid is an error.
func (w *WeChat) OpenID(ctx context.Context, code string) (string, error) {
	q := url.Values{"appid": {w.AppID}, "secret": {w.Secret}, "code": {code}, "grant_type": {"authorization_code"}}
	var ans struct {
		OpenID string `json:"openid"`
	}
	errcode, errmsg, err := w.call(ctx, http.MethodGet, "/sns/oauth2/access_token?"+q.Encode(), nil, &ans)
	if err != nil {
		return "", fmt.Errorf("notify: wechat oauth: %w", err)
	}
	if errcode != 0 {
		return "", fmt.Errorf("notify: wechat oauth: errcode %d: %s", errcode, errmsg)
	}
	if !validOpenID(ans.OpenID) {
		return "", fmt.Errorf("notify: wechat oauth: no openid in the answer")
	}
	return ans.OpenID, nil
}
