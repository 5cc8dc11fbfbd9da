package bus

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// waitLimit only keeps a broken test from hanging; no test asserts timing.
const waitLimit = 10 * time.Second

type msg struct{ subject, data string }

// collector subscribes to pattern and forwards every message to a channel.
func collector(t *testing.T, b Bus, pattern string) (<-chan msg, func()) {
	t.Helper()
	ch := make(chan msg, 100)
	unsub, err := b.Subscribe(pattern, func(s string, d []byte) { ch <- msg{s, string(d)} })
	if err != nil {
		t.Fatalf("Subscribe(%q): %v", pattern, err)
	}
	return ch, unsub
}

func recv(t *testing.T, ch <-chan msg, what string) msg {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(waitLimit):
		t.Fatalf("no message for %s within %s", what, waitLimit)
		return msg{}
	}
}

// none checks that ch holds nothing right now. It is only meaningful after
// a later message on the same path has arrived, so it never waits.
func none(t *testing.T, ch <-chan msg, what string) {
	t.Helper()
	select {
	case m := <-ch:
		t.Fatalf("%s: got %+v, want no message", what, m)
	default:
	}
}

func mustPublish(t *testing.T, b Bus, subject, data string) {
	t.Helper()
	if err := b.Publish(subject, []byte(data)); err != nil {
		t.Fatalf("Publish(%q): %v", subject, err)
	}
}

// randomToken keeps runs on a shared external NATS apart.
func randomToken(t *testing.T) string {
	t.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "t" + hex.EncodeToString(b[:])
}

// testBus checks the semantics every Bus shares. Orderings rely only on
// NATS's guarantee that messages from one publisher reach a subscription in
// order, so "nothing before the marker" needs no waiting.
func testBus(t *testing.T, b Bus) {
	district := randomToken(t)
	created := Subject(district, "created")
	closedSubj := Subject(district, "closed")

	t.Run("round trip", func(t *testing.T) {
		ch, unsub := collector(t, b, created)
		defer unsub()
		mustPublish(t, b, created, "hello")
		if got, want := recv(t, ch, created), (msg{created, "hello"}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})

	t.Run("two subscribers both receive", func(t *testing.T) {
		a, unsubA := collector(t, b, created)
		defer unsubA()
		c, unsubC := collector(t, b, created)
		defer unsubC()
		mustPublish(t, b, created, "both")
		for name, ch := range map[string]<-chan msg{"first": a, "second": c} {
			if got, want := recv(t, ch, name), (msg{created, "both"}); got != want {
				t.Errorf("%s subscriber: got %+v, want %+v", name, got, want)
			}
		}
	})

	t.Run("wildcards", func(t *testing.T) {
		all, unsubAll := collector(t, b, "case."+district+".>")
		defer unsubAll()
		star, unsubStar := collector(t, b, "case.*.closed")
		defer unsubStar()
		mustPublish(t, b, created, "1")
		mustPublish(t, b, closedSubj, "2")
		if got, want := recv(t, all, ">"), (msg{created, "1"}); got != want {
			t.Errorf("'>' first: got %+v, want %+v", got, want)
		}
		if got, want := recv(t, all, ">"), (msg{closedSubj, "2"}); got != want {
			t.Errorf("'>' second: got %+v, want %+v", got, want)
		}
		// On a shared external server other districts may close cases too.
		for {
			m := recv(t, star, "*")
			if m.subject == closedSubj {
				if got, want := m.data, "2"; got != want {
					t.Errorf("'*': got %q, want %q", got, want)
				}
				break
			}
			if !strings.HasSuffix(m.subject, ".closed") {
				t.Fatalf("'*' delivered %q", m.subject)
			}
		}
	})

	t.Run("unsubscribe stops delivery", func(t *testing.T) {
		gone, unsubGone := collector(t, b, created)
		stay, unsubStay := collector(t, b, created)
		defer unsubStay()
		mustPublish(t, b, created, "before")
		recv(t, gone, "before, first subscriber")
		recv(t, stay, "before, second subscriber")
		unsubGone()
		unsubGone() // idempotent
		mustPublish(t, b, created, "after")
		if got, want := recv(t, stay, "after"), (msg{created, "after"}); got != want {
			t.Errorf("remaining subscriber: got %+v, want %+v", got, want)
		}
		none(t, gone, "unsubscribed subscriber")
	})

	t.Run("publisher may reuse its buffer", func(t *testing.T) {
		ch, unsub := collector(t, b, created)
		defer unsub()
		buf := []byte("original")
		if err := b.Publish(created, buf); err != nil {
			t.Fatal(err)
		}
		copy(buf, "XXXXXXXX")
		if got, want := recv(t, ch, created).data, "original"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})

	t.Run("invalid subjects refused", func(t *testing.T) {
		for _, s := range []string{"", "case..x", "case.*.x", "case.>", "case.a b.x"} {
			if err := b.Publish(s, nil); err == nil {
				t.Errorf("Publish(%q): got nil error, want one", s)
			}
		}
		for _, s := range []string{"", "case.>.x", "case.a*.x", "case. .x"} {
			if unsub, err := b.Subscribe(s, func(string, []byte) {}); err == nil {
				unsub()
				t.Errorf("Subscribe(%q): got nil error, want one", s)
			}
		}
	})
}

// testClosed checks a bus after Close.
func testClosed(t *testing.T, b Bus, stats func() Stats) {
	t.Helper()
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	before := stats().PublishFailed
	if err := b.Publish(Subject("330303", "created"), []byte("late")); err != nil {
		t.Errorf("Publish after Close: got %v, want nil (logged and counted)", err)
	}
	if got, want := stats().PublishFailed, before+1; got != want {
		t.Errorf("PublishFailed after a late publish: got %d, want %d", got, want)
	}
	if _, err := b.Subscribe("case.>", func(string, []byte) {}); !errors.Is(err, ErrClosed) {
		t.Errorf("Subscribe after Close: got %v, want ErrClosed", err)
	}
}

func TestSubject(t *testing.T) {
	for _, tc := range []struct {
		district, event, want string
	}{
		{"330303", "created", "case.330303.created"},
		{"330303001", "status_changed", "case.330303001.status_changed"},
		{"x-1", "A_b", "case.x-1.A_b"},
	} {
		if got := Subject(tc.district, tc.event); got != tc.want {
			t.Errorf("Subject(%q, %q): got %q, want %q", tc.district, tc.event, got, tc.want)
		}
	}
}

func TestSubjectPanicsOnBadToken(t *testing.T) {
	for _, tc := range []struct{ district, event string }{
		{"", "created"},
		{"330303", ""},
		{"330 303", "created"},
		{"330303", "created.x"},
		{"*", "created"},
		{"330303", ">"},
		{"区", "created"},
		{"330303", "created\n"},
	} {
		func() {
			defer func() {
				if r := recover(); r == nil {
					t.Errorf("Subject(%q, %q): got no panic, want one", tc.district, tc.event)
				}
			}()
			_ = Subject(tc.district, tc.event)
		}()
	}
}

func TestCheckSubject(t *testing.T) {
	for _, tc := range []struct {
		subject            string
		publish, subscribe bool // valid for each
	}{
		{"case.330303.created", true, true},
		{"a", true, true},
		{"case.*.created", false, true},
		{"case.>", false, true},
		{">", false, true},
		{"*", false, true},
		{"case.>.x", false, false},
		{"case.a*.x", false, false},
		{"case.a>", false, false},
		{"", false, false},
		{".case", false, false},
		{"case.", false, false},
		{"case..x", false, false},
		{"case.a b", false, false},
		{"case.a\tb", false, false},
		{"case.\x00", false, false},
		{"case.区", true, true}, // NATS allows it; Subject is stricter
	} {
		if got, want := checkSubject(tc.subject, false) == nil, tc.publish; got != want {
			t.Errorf("publish %q valid: got %v, want %v", tc.subject, got, want)
		}
		if got, want := checkSubject(tc.subject, true) == nil, tc.subscribe; got != want {
			t.Errorf("subscribe %q valid: got %v, want %v", tc.subject, got, want)
		}
	}
}

func TestMatchSubject(t *testing.T) {
	for _, tc := range []struct {
		pattern, subject string
		want             bool
	}{
		{"case.1.created", "case.1.created", true},
		{"case.1.created", "case.1.closed", false},
		{"case.1.created", "case.1", false},
		{"case.1", "case.1.created", false},
		{"case.*.created", "case.1.created", true},
		{"case.*.created", "case.1.2.created", false},
		{"case.*", "case", false},
		{"case.>", "case.1", true},
		{"case.>", "case.1.created", true},
		{"case.>", "case", false},
		{">", "case.1", true},
		{"*.*.*", "case.1.created", true},
		{"*.*", "case.1.created", false},
		{"case.1.>", "case.12.x", false},
	} {
		if got := matchSubject(tc.pattern, tc.subject); got != tc.want {
			t.Errorf("matchSubject(%q, %q): got %v, want %v", tc.pattern, tc.subject, got, tc.want)
		}
	}
}
