package notify_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/i18n"
	"whistle/internal/notify"
	"whistle/internal/worldtest"
)

// robot is a small DingTalk-style custom robot: it checks the timestamp
// (within an hour of its clock) and the signature like DingTalk does,
// and answers as told.
type robot struct {
	secret string
	clk    clock.Clock
	mu     sync.Mutex
	status int // HTTP status to answer; 0: 200
	code   int // errcode to answer when the request is good
	got    []map[string]any
}

func startRobot(t *testing.T, secret string, clk clock.Clock) (*robot, *httptest.Server) {
	t.Helper()
	rb := &robot{secret: secret, clk: clk}
	srv := httptest.NewServer(rb)
	t.Cleanup(srv.Close)
	return rb, srv
}

func (rb *robot) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	answer := func(code int, msg string) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"errcode": code, "errmsg": msg})
	}
	if rb.status != 0 {
		w.WriteHeader(rb.status)
		return
	}
	if r.Method != http.MethodPost || r.URL.Query().Get("access_token") != "tok" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		answer(300001, "bad request")
		return
	}
	ts := r.URL.Query().Get("timestamp")
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || rb.clk.Now().Sub(time.UnixMilli(ms)).Abs() > time.Hour {
		answer(310000, "timestamp")
		return
	}
	m := hmac.New(sha256.New, []byte(rb.secret))
	m.Write([]byte(ts + "\n" + rb.secret))
	if want := base64.StdEncoding.EncodeToString(m.Sum(nil)); r.URL.Query().Get("sign") != want {
		answer(310000, "sign not match")
		return
	}
	var body map[string]any
	raw, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(raw, &body); err != nil {
		answer(300001, "bad json")
		return
	}
	if rb.code != 0 {
		answer(rb.code, "refused")
		return
	}
	rb.got = append(rb.got, body)
	answer(0, "ok")
}

func (rb *robot) set(status, code int) {
	rb.mu.Lock()
	rb.status, rb.code = status, code
	rb.mu.Unlock()
}

func (rb *robot) messages() []map[string]any {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	return append([]map[string]any{}, rb.got...)
}

// TestWebhookSend: a signed text message reaches the robot with the
// subject, text and an @ of the recipient's phone; a wrong secret, a stale
// clock, a non-200 answer and errcode≠0 are errors.
func TestWebhookSend(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC))
	rb, srv := startRobot(t, "SECxyz", clk)
	to := notify.Address{UserID: 7, Phone: "13900000002"}
	ctx := context.Background()
	hook := &notify.Webhook{URL: srv.URL + "/robot/send?access_token=tok", Secret: "SECxyz", Clock: clk}
	if err := hook.Send(ctx, to, "吹哨通知", "案件 A1 待处置"); err != nil {
		t.Fatalf("good request: %v", err)
	}
	got := rb.messages()
	if len(got) != 1 {
		t.Fatalf("robot got %d messages, want 1", len(got))
	}
	b, _ := json.Marshal(got[0])
	for _, want := range []string{`"msgtype":"text"`, `吹哨通知\n案件 A1 待处置 @13900000002`, `"atMobiles":["13900000002"]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("body: got %s, want it to contain %s", b, want)
		}
	}
	bad := []struct {
		name         string
		hook         *notify.Webhook
		status, code int
	}{
		{"wrong secret", &notify.Webhook{URL: hook.URL, Secret: "SECother", Clock: clk}, 0, 0},
		{"no secret", &notify.Webhook{URL: hook.URL, Clock: clk}, 0, 0},
		{"clock two hours off", &notify.Webhook{URL: hook.URL, Secret: "SECxyz", Clock: clock.NewFake(clk.Now().Add(-2 * time.Hour))}, 0, 0},
		{"HTTP 500", hook, http.StatusInternalServerError, 0},
		{"errcode 130101 (too many messages)", hook, 0, 130101},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			rb.set(tt.status, tt.code)
			defer rb.set(0, 0)
			if err := tt.hook.Send(ctx, to, "吹哨通知", "x"); err == nil {
				t.Errorf("got nil, want an error")
			}
		})
	}
	if n := len(rb.messages()); n != 1 {
		t.Errorf("robot kept %d messages, want only the good one", n)
	}
}

// TestWebhookChannel: a user who chose the work message gets the inbox
// entry's text through the Outbox; while the robot refuses (errcode≠0)
// the copy stays unsent and is tried again after its delay.
func TestWebhookChannel(t *testing.T) {
	worldtest.Each(t, time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := walkWorld(t, d)
		ctx := context.Background()
		cat, err := i18n.Load()
		if err != nil {
			t.Fatal(err)
		}
		rb, srv := startRobot(t, "SECxyz", clk)
		rb.set(0, 130101)
		out := notify.NewOutbox(d, cat, nil, &notify.Webhook{URL: srv.URL + "/robot/send?access_token=tok", Secret: "SECxyz", Clock: clk})
		if got := out.Channels(); len(got) != 1 || got[0] != "work" {
			t.Fatalf("channels: got %v, want [work]", got)
		}
		street := w.Users["street"]
		if err := out.SetSettings(ctx, street.ID, notify.Settings{Channels: []string{"work"}}); err != nil {
			t.Fatal(err)
		}
		setPhone(t, d, street.ID, "13900000002")
		c := w.Submit(t, "resident", casework.SubmitInput{Category: leaf(t, w, "ZL06"), Description: "楼道堆放杂物，影响通行", Lat: ptr(27.005), Lng: ptr(120.005)})
		if err := runner(t, w, notify.NewNotifier(w.Cases, nil).WithOutbox(out)).Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := out.Deliver(ctx); n != 0 || err != nil {
			t.Fatalf("robot refusing: %d sent, %v; want 0 and no error", n, err)
		}
		rb.set(0, 0)
		if n, _ := out.Deliver(ctx); n != 0 {
			t.Errorf("retried at once: %d sent", n)
		}
		clk.Advance(time.Minute)
		if n, err := out.Deliver(ctx); n != 1 || err != nil {
			t.Fatalf("after the delay: %d sent, %v; want 1", n, err)
		}
		msgs := rb.messages()
		if len(msgs) != 1 {
			t.Fatalf("robot got %d messages, want 1", len(msgs))
		}
		text, _ := msgs[0]["text"].(map[string]any)["content"].(string)
		if !strings.Contains(text, c.Number) || !strings.Contains(text, "@13900000002") {
			t.Errorf("content %q: want the case number %s and @13900000002", text, c.Number)
		}
	})
}
