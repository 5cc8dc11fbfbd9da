package sms_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/sms"
)

// gateway is a small SMS gateway: it checks the signature, timestamp and
// nonce the way a provider does and answers with the code the test sets
// for the number.
type gateway struct {
	t      *testing.T
	secret string
	clock  clock.Clock
	mu     sync.Mutex
	nonces map[string]bool
	got    []sms.Request
	codes  map[string]string // phone → code to answer
	status int               // when set, answer this status with a non-JSON body
}

func (g *gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.status != 0 {
		http.Error(w, "upstream down", g.status)
		return
	}
	body, _ := io.ReadAll(r.Body)
	answer := func(code string) {
		_ = json.NewEncoder(w).Encode(sms.Response{Code: code, Message: "test " + code, RequestID: "req-1"})
	}
	if r.Header.Get("X-Sms-Access-Key") != "key-1" {
		answer("InvalidAccessKeyId.NotFound")
		return
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-Sms-Timestamp"), 10, 64)
	if err != nil || g.clock.Now().Sub(time.Unix(ts, 0)).Abs() > 5*time.Minute {
		answer("InvalidTimeStamp.Expired")
		return
	}
	nonce := r.Header.Get("X-Sms-Nonce")
	if len(nonce) != 32 || g.nonces[nonce] {
		answer("SignatureNonceUsed")
		return
	}
	g.nonces[nonce] = true
	want := sms.Sign(g.secret, sms.Canonical(r.Method, r.URL.EscapedPath(), r.Header.Get("X-Sms-Timestamp"), nonce, body))
	if r.Header.Get("X-Sms-Signature") != want {
		answer("SignatureDoesNotMatch")
		return
	}
	var req sms.Request
	if err := json.Unmarshal(body, &req); err != nil {
		answer("isv.INVALID_JSON_PARAM")
		return
	}
	g.got = append(g.got, req)
	if c, ok := g.codes[req.Phone]; ok {
		answer(c)
		return
	}
	answer("OK")
}

func newGateway(t *testing.T, clk clock.Clock) (*gateway, *httptest.Server) {
	g := &gateway{t: t, secret: "s3cret", clock: clk, nonces: map[string]bool{}, codes: map[string]string{
		"13800000001": "isv.MOBILE_NUMBER_ILLEGAL",
		"13800000002": "isv.BUSINESS_LIMIT_CONTROL",
		"13800000003": "isv.SOMETHING_NEW",
	}}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	return g, srv
}

func TestHTTPSend(t *testing.T) {
	clk := clock.NewFake(time.Now())
	g, srv := newGateway(t, clk)
	cfg := sms.Config{URL: srv.URL + "/sms/send", AccessKey: "key-1", Secret: "s3cret", SignName: "吹哨",
		Templates: map[string]string{sms.TemplateLoginCode: "SMS_100"}}
	h, err := sms.NewHTTP(cfg, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	h = h.WithClock(clk)
	msg := func(phone string) sms.Message {
		return sms.Message{Phone: phone, Template: sms.TemplateLoginCode, Params: map[string]string{"code": "123456", "minutes": "5"}}
	}
	ctx := context.Background()

	t.Run("accepted", func(t *testing.T) {
		if err := h.Send(ctx, msg("13912345678")); err != nil {
			t.Fatalf("got %v, want nil", err)
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		got := g.got[len(g.got)-1]
		if got.Phone != "13912345678" || got.SignName != "吹哨" || got.TemplateCode != "SMS_100" || got.TemplateParam != `{"code":"123456","minutes":"5"}` {
			t.Errorf("got request %+v", got)
		}
	})
	t.Run("two sends use two nonces", func(t *testing.T) {
		// The gateway refuses a reused nonce; a second send must pass.
		if err := h.Send(ctx, msg("13912345678")); err != nil {
			t.Fatalf("got %v, want nil", err)
		}
	})

	wrongSecret, _ := sms.NewHTTP(sms.Config{URL: cfg.URL, AccessKey: "key-1", Secret: "other", SignName: "吹哨", Templates: cfg.Templates}, srv.Client())
	wrongKey, _ := sms.NewHTTP(sms.Config{URL: cfg.URL, AccessKey: "key-2", Secret: "s3cret", SignName: "吹哨", Templates: cfg.Templates}, srv.Client())
	late := h.WithClock(clock.NewFake(clk.Now().Add(-10 * time.Minute)))
	tests := []struct {
		name     string
		h        *sms.HTTP
		msg      sms.Message
		wantKind error
		wantCode string
	}{
		{"number refused", h, msg("13800000001"), sms.ErrBadNumber, "isv.MOBILE_NUMBER_ILLEGAL"},
		{"provider throttles", h, msg("13800000002"), sms.ErrRateLimited, "isv.BUSINESS_LIMIT_CONTROL"},
		{"unknown code", h, msg("13800000003"), nil, "isv.SOMETHING_NEW"},
		{"wrong secret", wrongSecret, msg("13912345678"), sms.ErrConfig, "SignatureDoesNotMatch"},
		{"wrong key", wrongKey, msg("13912345678"), sms.ErrConfig, "InvalidAccessKeyId.NotFound"},
		{"stale timestamp", late, msg("13912345678"), sms.ErrConfig, "InvalidTimeStamp.Expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.h.Send(ctx, tc.msg)
			var pe *sms.ProviderError
			if !errors.As(err, &pe) {
				t.Fatalf("got %v, want a *sms.ProviderError", err)
			}
			if pe.Code != tc.wantCode {
				t.Errorf("got code %q, want %q", pe.Code, tc.wantCode)
			}
			for _, k := range []error{sms.ErrBadNumber, sms.ErrRateLimited, sms.ErrConfig, sms.ErrUnavailable} {
				if got, want := errors.Is(err, k), k == tc.wantKind; got != want {
					t.Errorf("errors.Is(err, %v) = %v, want %v", k, got, want)
				}
			}
		})
	}

	t.Run("template not configured", func(t *testing.T) {
		err := h.Send(ctx, sms.Message{Phone: "13912345678", Template: sms.TemplateNotify})
		if !errors.Is(err, sms.ErrConfig) {
			t.Errorf("got %v, want ErrConfig", err)
		}
	})
	t.Run("gateway down", func(t *testing.T) {
		g.mu.Lock()
		g.status = http.StatusBadGateway
		g.mu.Unlock()
		defer func() { g.mu.Lock(); g.status = 0; g.mu.Unlock() }()
		if err := h.Send(ctx, msg("13912345678")); !errors.Is(err, sms.ErrUnavailable) {
			t.Errorf("got %v, want ErrUnavailable", err)
		}
	})
	t.Run("gateway unreachable", func(t *testing.T) {
		off, _ := sms.NewHTTP(sms.Config{URL: "http://127.0.0.1:1/x", AccessKey: "k", Secret: "s", SignName: "n", Templates: cfg.Templates}, nil)
		if err := off.Send(ctx, msg("13912345678")); !errors.Is(err, sms.ErrUnavailable) {
			t.Errorf("got %v, want ErrUnavailable", err)
		}
	})
}

func TestNewHTTPRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  sms.Config
	}{
		{"not a URL", sms.Config{URL: "ftp://x", AccessKey: "k", Secret: "s", SignName: "n"}},
		{"no key", sms.Config{URL: "https://sms.example/send", Secret: "s", SignName: "n"}},
		{"no secret", sms.Config{URL: "https://sms.example/send", AccessKey: "k", SignName: "n"}},
		{"no signature", sms.Config{URL: "https://sms.example/send", AccessKey: "k", Secret: "s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := sms.NewHTTP(tc.cfg, nil); err == nil {
				t.Error("got nil, want an error")
			}
		})
	}
}

func TestNewDefaultsToLog(t *testing.T) {
	s, err := sms.New(sms.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*sms.Log); !ok {
		t.Errorf("got %T, want *sms.Log", s)
	}
	s, err = sms.New(sms.Config{URL: "https://sms.example/send", AccessKey: "k", Secret: "s", SignName: "n"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.(*sms.HTTP); !ok {
		t.Errorf("got %T, want *sms.HTTP", s)
	}
}

func TestLogRecords(t *testing.T) {
	l := sms.NewLog(nil)
	ctx := context.Background()
	params := map[string]string{"code": "111111"}
	_ = l.Send(ctx, sms.Message{Phone: "13900000001", Template: sms.TemplateLoginCode, Params: params})
	params["code"] = "changed after sending"
	_ = l.Send(ctx, sms.Message{Phone: "13900000002", Template: sms.TemplateLoginCode, Params: map[string]string{"code": "222222"}})
	_ = l.Send(ctx, sms.Message{Phone: "13900000001", Template: sms.TemplateLoginCode, Params: map[string]string{"code": "333333"}})
	if got := len(l.Messages()); got != 3 {
		t.Errorf("got %d messages, want 3", got)
	}
	if got := l.Messages()[0].Params["code"]; got != "111111" {
		t.Errorf("got first code %q, want the one sent", got)
	}
	m, ok := l.Last("13900000001")
	if !ok || m.Params["code"] != "333333" {
		t.Errorf("got %+v %v, want the newest message to 13900000001", m, ok)
	}
	if _, ok := l.Last("13900000009"); ok {
		t.Error("got a message for a number never sent to")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.Send(cctx, sms.Message{Phone: "13900000001"}); err == nil {
		t.Error("got nil for a cancelled context, want an error")
	}
}

func TestParseTemplates(t *testing.T) {
	got, err := sms.ParseTemplates(" login_code=SMS_1, notify=SMS_2 ,")
	if err != nil || len(got) != 2 || got["login_code"] != "SMS_1" || got["notify"] != "SMS_2" {
		t.Errorf("got %v %v", got, err)
	}
	for _, bad := range []string{"login_code", "=SMS_1", "login_code="} {
		if _, err := sms.ParseTemplates(bad); err == nil {
			t.Errorf("ParseTemplates(%q): got nil, want an error", bad)
		}
	}
}
