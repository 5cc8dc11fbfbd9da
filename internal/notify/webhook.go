package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Webhook posts work messages to a 钉钉/浙政钉-style custom robot: a JSON
// text message to one URL (a group the staff are in), signed with the
// robot's secret when one is set. The robot answers 200 with errcode 0;
// anything else is a failure the Outbox retries.
type Webhook struct {
	URL    string
	Secret string                       // empty: the robot does not check signatures
	Client *http.Client                 // nil: a client with a 10 s timeout
	Clock  interface{ Now() time.Time } // nil: the wall clock (clock.Clock)
}

// Name is "work".
func (w *Webhook) Name() string { return "work" }

// WebhookSign is DingTalk's robot signature of a millisecond timestamp:
// base64(HMAC-SHA256(secret, timestamp + "\n" + secret)).
func WebhookSign(timestamp, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp + "\n" + secret))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Send posts subject and text as one text message to the group, @-ing
// the recipient by phone number when there is one (the robot then
// alerts that member).
func (w *Webhook) Send(ctx context.Context, to Address, subject, text string) error {
	u, err := url.Parse(w.URL)
	if err != nil {
		return fmt.Errorf("notify: webhook url: %w", err)
	}
	if w.Secret != "" {
		now := time.Now()
		if w.Clock != nil {
			now = w.Clock.Now()
		}
		ts := strconv.FormatInt(now.UnixMilli(), 10)
		q := u.Query()
		q.Set("timestamp", ts)
		q.Set("sign", WebhookSign(ts, w.Secret))
		u.RawQuery = q.Encode()
	}
	var msg struct {
		MsgType string `json:"msgtype"`
		Text    struct {
			Content string `json:"content"`
		} `json:"text"`
		At struct {
			AtMobiles []string `json:"atMobiles,omitempty"`
		} `json:"at"`
	}
	msg.MsgType = "text"
	msg.Text.Content = subject + "\n" + text
	if to.Phone != "" {
		msg.Text.Content += " @" + to.Phone
		msg.At.AtMobiles = []string{to.Phone}
	}
	body, _ := json.Marshal(msg)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("notify: webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("notify: webhook: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("notify: webhook for user %d: HTTP %d", to.UserID, resp.StatusCode)
	}
	var ans struct {
		ErrCode *int   `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}
	if err := json.Unmarshal(raw, &ans); err != nil || ans.ErrCode == nil {
		return errors.New("notify: webhook: answer without errcode")
	}
	if *ans.ErrCode != 0 {
		return fmt.Errorf("notify: webhook for user %d: errcode %d: %s", to.UserID, *ans.ErrCode, ans.ErrMsg)
	}
	return nil
}
