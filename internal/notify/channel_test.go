package notify_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/i18n"
	"whistle/internal/notify"
	"whistle/internal/sms"
	"whistle/internal/worldtest"
)

// smtpServer is a small SMTP server: it accepts every message and keeps
// what it was handed.
type smtpServer struct {
	addr string
	mu   sync.Mutex
	got  []string // RCPT and DATA of each message
}

func startSMTP(t *testing.T) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{addr: ln.Addr().String()}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(l string) { _, _ = c.Write([]byte(l + "\r\n")) }
	say("220 test ESMTP")
	var rcpt string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250 test")
		case strings.HasPrefix(cmd, "MAIL FROM"):
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO"):
			rcpt = strings.TrimSpace(line[len("RCPT TO:"):])
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var body strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				body.WriteString(l)
			}
			s.mu.Lock()
			s.got = append(s.got, rcpt+"\n"+body.String())
			s.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}

func (s *smtpServer) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{}, s.got...)
}

// failing is a channel that fails until told otherwise.
type failing struct {
	mu   sync.Mutex
	fail bool
	sent []string
}

func (f *failing) Name() string { return "webhook" }
func (f *failing) Send(ctx context.Context, to notify.Address, subject, text string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errors.New("gateway down")
	}
	f.sent = append(f.sent, text)
	return nil
}

// TestChannels (issue 15, Build 1): a user who chose e-mail and SMS gets
// the inbox entry's text through a real SMTP exchange and the SMS
// channel (internal/sms's logging double) after the notifier's commit; a
// channel that fails is tried again later and the copy is sent once it
// recovers; bad settings are field errors that write nothing.
func TestChannels(t *testing.T) {
	worldtest.Each(t, time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := walkWorld(t, d)
		ctx := context.Background()
		cat, err := i18n.Load()
		if err != nil {
			t.Fatal(err)
		}
		srv := startSMTP(t)
		texts := sms.NewLog(nil)
		hook := &failing{fail: true}
		out := notify.NewOutbox(d, cat, nil, &notify.SMTP{Addr: srv.addr, From: "whistle@example.cn"}, &notify.SMS{Sender: texts}, hook)
		street := w.Users["street"]
		bad := []struct {
			name  string
			in    notify.Settings
			field string
		}{
			{"unknown channel", notify.Settings{Channels: []string{"pigeon"}}, "channels"},
			{"email without an address", notify.Settings{Channels: []string{"email"}}, "email"},
			{"bad address", notify.Settings{Email: "nobody"}, "email"},
			{"bad time", notify.Settings{QuietFrom: "25:00", QuietTo: "07:00"}, "quiet_from"},
			{"half a period", notify.Settings{QuietFrom: "22:00"}, "quiet_to"},
		}
		for _, tt := range bad {
			err := out.SetSettings(ctx, street.ID, tt.in)
			var e *errs.Error
			if !errors.As(err, &e) || e.Fields[tt.field].Key == "" {
				t.Errorf("%s: got %v, want a field error on %s", tt.name, err, tt.field)
			}
		}
		if got, err := out.Settings(ctx, street.ID); err != nil || len(got.Channels) != 0 {
			t.Fatalf("after bad input: %+v, %v; want nothing stored", got, err)
		}
		if err := out.SetSettings(ctx, street.ID, notify.Settings{Channels: []string{"sms", "email", "webhook"}, Email: "street@example.cn"}); err != nil {
			t.Fatal(err)
		}
		setPhone(t, d, street.ID, "13900000002")
		c := w.Submit(t, "resident", casework.SubmitInput{Category: leaf(t, w, "ZL06"), Description: "楼道堆放杂物，影响通行", Lat: ptr(27.005), Lng: ptr(120.005)})
		r := runner(t, w, notify.NewNotifier(w.Cases, nil).WithOutbox(out))
		if err := r.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		n, err := out.Deliver(ctx)
		if err != nil || n != 2 {
			t.Fatalf("delivered %d, %v; want 2 (e-mail and SMS; the webhook fails)", n, err)
		}
		mails := srv.messages()
		if len(mails) != 1 || !strings.HasPrefix(mails[0], "<street@example.cn>") || !strings.Contains(mails[0], c.Number) || !strings.Contains(mails[0], "受理") {
			t.Errorf("mail: got %q, want one to street@example.cn naming %s and 受理", mails, c.Number)
		}
		m, ok := texts.Last("13900000002")
		if !ok || !strings.Contains(m.Params["text"], c.Number) || m.Template != sms.TemplateNotify {
			t.Errorf("sms: got %+v, want the notify template naming %s", m, c.Number)
		}
		// The webhook failed: tried again after its delay, not before.
		hook.mu.Lock()
		hook.fail = false
		hook.mu.Unlock()
		if n, _ := out.Deliver(ctx); n != 0 {
			t.Errorf("retried at once: %d sent", n)
		}
		clk.Advance(time.Minute)
		if n, err := out.Deliver(ctx); n != 1 || err != nil {
			t.Errorf("after the delay: %d sent, %v; want 1", n, err)
		}
		if len(hook.sent) != 1 || len(srv.messages()) != 1 {
			t.Errorf("webhook %d, mail %d copies; want one each", len(hook.sent), len(srv.messages()))
		}
	})
}

// TestQuietHours: a message written in the quiet period waits for its end
// (the same night or the next morning); outside it, or with no period, it
// goes at once.
func TestQuietHours(t *testing.T) {
	cst := time.FixedZone("CST", 8*3600)
	at := func(h, m int) time.Time { return time.Date(2026, 12, 7, h, m, 0, 0, cst) }
	tests := []struct {
		name     string
		now      time.Time
		from, to int
		want     time.Time
	}{
		{"no period", at(23, 0), 0, 0, at(23, 0)},
		{"overnight, late evening", at(23, 0), 22 * 60, 7*60 + 30, at(7, 30).AddDate(0, 0, 1)},
		{"overnight, early morning", at(6, 0), 22 * 60, 7*60 + 30, at(7, 30)},
		{"overnight, daytime", at(12, 0), 22 * 60, 7*60 + 30, at(12, 0)},
		{"midday rest", at(12, 15), 12 * 60, 14 * 60, at(14, 0)},
		{"at the end", at(14, 0), 12 * 60, 14 * 60, at(14, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := notify.QuietUntil(tt.now, tt.from, tt.to); !got.Equal(tt.want) {
				t.Errorf("got %v, want %v", got.In(cst), tt.want)
			}
		})
	}
}

// TestUrgentIgnoresQuietHours: in quiet hours a 督办 copy is due at once
// and the next-actor copy of a submission waits for the morning.
func TestUrgentIgnoresQuietHours(t *testing.T) {
	// 23:00 in Shanghai.
	worldtest.Each(t, time.Date(2026, 12, 7, 15, 0, 0, 0, time.UTC), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := walkWorld(t, d)
		ctx := context.Background()
		cat, err := i18n.Load()
		if err != nil {
			t.Fatal(err)
		}
		texts := sms.NewLog(nil)
		out := notify.NewOutbox(d, cat, nil, &notify.SMS{Sender: texts})
		for _, u := range []string{"street", "staff-a"} {
			if err := out.SetSettings(ctx, w.Users[u].ID, notify.Settings{Channels: []string{"sms"}, QuietFrom: "22:00", QuietTo: "07:00"}); err != nil {
				t.Fatal(err)
			}
			setPhone(t, d, w.Users[u].ID, "1390000000"+map[string]string{"street": "1", "staff-a": "2"}[u])
		}
		c := w.Submit(t, "resident", casework.SubmitInput{Category: leaf(t, w, "ZL06"), Description: "楼道堆放杂物，影响通行", Lat: ptr(27.005), Lng: ptr(120.005)})
		w.Act(t, "staff-a", c.ID, casework.ActAccept, casework.Input{})
		w.Act(t, "staff-a", c.ID, casework.ActDispatch, casework.Input{Target: &casework.Target{User: w.Users["staff-a"].ID}})
		w.Act(t, "leader", c.ID, casework.ActSupervise, casework.Input{Note: "今晚务必清理"})
		r := runner(t, w, notify.NewNotifier(w.Cases, nil).WithOutbox(out))
		if err := r.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := out.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
		msgs := texts.Messages()
		if len(msgs) != 1 || msgs[0].Phone != "13900000002" || !strings.Contains(msgs[0].Params["text"], "今晚务必清理") {
			t.Fatalf("at 23:00: got %+v, want only the 督办 to staff-a with the instruction", msgs)
		}
		clk.Advance(8 * time.Hour) // 07:00
		if _, err := out.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
		if got := len(texts.Messages()); got < 3 {
			t.Errorf("at 07:00: %d messages sent, want the held ones too", got)
		}
	})
}

func setPhone(t *testing.T, d *db.DB, id int64, phone string) {
	t.Helper()
	err := d.InTx(context.Background(), func(tx *db.Tx) error {
		_, err := tx.Exec(context.Background(), `UPDATE users SET phone = $1 WHERE id = $2`, phone, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
