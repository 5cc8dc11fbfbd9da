package bus

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// openEmbeddedBus starts an embedded bus on random ports in a temp dir.
func openEmbeddedBus(t *testing.T, cfg Config) *natsBus {
	t.Helper()
	if cfg.DataDir == "" {
		cfg.DataDir = t.TempDir()
	}
	b, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatalf("Open(embedded): %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b.(*natsBus)
}

// freePort finds a port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// takenPort holds a port for the rest of the test.
func takenPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func TestEmbedded(t *testing.T) {
	dir := t.TempDir()
	b := openEmbeddedBus(t, Config{DataDir: dir})
	testBus(t, b)

	t.Run("JetStream stores under DataDir/nats", func(t *testing.T) {
		if _, err := os.Stat(filepath.Join(dir, "nats", "jetstream")); err != nil {
			t.Errorf("JetStream storage: %v", err)
		}
	})

	t.Run("listens on loopback for other clients", func(t *testing.T) {
		u, err := url.Parse(b.clientURL())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := u.Hostname(), "127.0.0.1"; got != want {
			t.Errorf("client host: got %q, want %q", got, want)
		}
		if u.Port() == "4222" {
			t.Errorf("embedded server took 4222, the system NATS's port")
		}
		nc, err := nats.Connect(b.clientURL())
		if err != nil {
			t.Fatalf("connect over TCP: %v", err)
		}
		defer nc.Close()
		ch, unsub := collector(t, b, "case.tcp.created")
		defer unsub()
		if err := nc.Publish("case.tcp.created", []byte("from outside")); err != nil {
			t.Fatal(err)
		}
		if got, want := recv(t, ch, "TCP client's message"), (msg{"case.tcp.created", "from outside"}); got != want {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})

	t.Run("a panicking subscriber is contained", func(t *testing.T) {
		unsubBad, err := b.Subscribe("case.panic.x", func(string, []byte) { panic("subscriber bug") })
		if err != nil {
			t.Fatal(err)
		}
		defer unsubBad()
		ch, unsub := collector(t, b, "case.panic.x")
		defer unsub()
		// One message for the panicking subscriber, one to see that its
		// delivery goroutine still works.
		before := b.Stats().SubscriberFailed
		mustPublish(t, b, "case.panic.x", "1")
		mustPublish(t, b, "case.panic.x", "2")
		recv(t, ch, "first")
		recv(t, ch, "second")
		// The panicking subscription has a goroutine of its own, so its
		// count may lag the other subscriber; wait for it, within bounds.
		for deadline := time.Now().Add(waitLimit); b.Stats().SubscriberFailed < before+2 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		if got, want := b.Stats().SubscriberFailed, before+2; got != want {
			t.Errorf("SubscriberFailed: got %d, want %d", got, want)
		}
	})

	t.Run("unsubscribe removes the interest", func(t *testing.T) {
		n := b.nc.NumSubscriptions()
		_, unsub := collector(t, b, "case.interest.x")
		if got, want := b.nc.NumSubscriptions(), n+1; got != want {
			t.Errorf("subscriptions after Subscribe: got %d, want %d", got, want)
		}
		unsub()
		if got, want := b.nc.NumSubscriptions(), n; got != want {
			t.Errorf("subscriptions after unsubscribe: got %d, want %d", got, want)
		}
	})

	if got := b.Stats().Published; got == 0 {
		t.Errorf("Published: got 0 after the tests above, want more")
	}
	testClosed(t, b, b.Stats)
	if b.srv.Running() {
		t.Errorf("embedded server still running after Close")
	}
}

func TestEmbeddedPortInUse(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(port int) Config
		flag string
	}{
		{"client port", func(p int) Config { return Config{Port: p} }, "--nats-port"},
		{"MQTT port", func(p int) Config { return Config{MQTTPort: p} }, "--mqtt-port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := takenPort(t)
			cfg := tc.cfg(port)
			cfg.DataDir = t.TempDir()
			b, err := Open(context.Background(), cfg, nil)
			if err == nil {
				b.Close()
				t.Fatalf("Open on taken port %d: got nil error, want one", port)
			}
			if !strings.Contains(err.Error(), tc.flag) {
				t.Errorf("error %q does not name %s", err, tc.flag)
			}
			if !errors.Is(err, syscall.EADDRINUSE) {
				t.Errorf("error %q: errors.Is(EADDRINUSE) = false, want true", err)
			}
		})
	}
}

func TestEmbeddedBadConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string // in the error
	}{
		{"no data dir", Config{}, "--data"},
		{"negative port", Config{DataDir: "x", Port: -1}, "--nats-port"},
		{"port too big", Config{DataDir: "x", Port: 70000}, "--nats-port"},
		{"negative MQTT port", Config{DataDir: "x", MQTTPort: -5}, "--mqtt-port"},
		{"same port twice", Config{DataDir: "x", Port: 5000, MQTTPort: 5000}, "--mqtt-port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Open(context.Background(), tc.cfg, nil)
			if err == nil {
				b.Close()
				t.Fatalf("got nil error, want one naming %s", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not name %s", err, tc.want)
			}
		})
	}
}

// TestWaitReadyNamesTheFlag covers the race where a port is taken between
// our check and the server's bind: the server's fatal log line must still
// lead to an error naming the flag.
func TestWaitReadyNamesTheFlag(t *testing.T) {
	for _, tc := range []struct{ fatal, want string }{
		{`Error listening on port: 127.0.0.1:4223, "listen tcp 127.0.0.1:4223: bind: address already in use"`, "--nats-port"},
		{"Unable to listen for MQTT connections: listen tcp 127.0.0.1:1883: bind: address already in use", "--mqtt-port"},
		{"Can't start JetStream: permission denied", "JetStream"},
	} {
		srv, err := server.NewServer(&server.Options{Port: server.RANDOM_PORT, NoSigs: true})
		if err != nil {
			t.Fatal(err)
		}
		// Never started, so it never becomes ready.
		fatal := make(chan string, 1)
		fatal <- tc.fatal
		err = waitReady(context.Background(), srv, fatal)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("waitReady with %q: got %v, want an error containing %q", tc.fatal, err, tc.want)
		}
	}
}

func TestMQTTListener(t *testing.T) {
	port := freePort(t)
	b := openEmbeddedBus(t, Config{MQTTPort: port})
	district := randomToken(t)
	ch, unsub := collector(t, b, Subject(district, "ping"))
	defer unsub()

	conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), waitLimit)
	if err != nil {
		t.Fatalf("dial MQTT port: %v", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(waitLimit)); err != nil {
		t.Fatal(err)
	}
	// MQTT 3.1.1 CONNECT with a clean session and client id "whistle-test".
	id := "whistle-test"
	connect := []byte{0x10, byte(12 + len(id)), 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60, 0, byte(len(id))}
	connect = append(connect, id...)
	if _, err := conn.Write(connect); err != nil {
		t.Fatal(err)
	}
	connack := make([]byte, 4)
	if _, err := io.ReadFull(conn, connack); err != nil {
		t.Fatalf("read CONNACK: %v", err)
	}
	if want := []byte{0x20, 2, 0, 0}; !bytes.Equal(connack, want) {
		t.Fatalf("CONNACK: got % x, want % x (accepted)", connack, want)
	}
	// A QoS 0 PUBLISH from a device reaches bus subscribers, "/" becoming ".".
	topic, payload := "case/"+district+"/ping", "from a device"
	publish := []byte{0x30, byte(2 + len(topic) + len(payload)), 0, byte(len(topic))}
	publish = append(append(publish, topic...), payload...)
	if _, err := conn.Write(publish); err != nil {
		t.Fatal(err)
	}
	if got, want := recv(t, ch, "MQTT publish"), (msg{Subject(district, "ping"), payload}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	_, _ = conn.Write([]byte{0xe0, 0}) // DISCONNECT
}

func TestExternal(t *testing.T) {
	u := os.Getenv("WHISTLE_TEST_NATS")
	if u == "" {
		u = "nats://127.0.0.1:4222"
	}
	host := u
	if p, err := url.Parse(u); err == nil && p.Host != "" {
		host = p.Host
	}
	c, err := net.DialTimeout("tcp", host, 2*time.Second)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("NATS at %s is not reachable (%v), and CI=true forbids skipping the external-bus test", u, err)
		}
		t.Skipf("NATS at %s is not reachable (%v); skipping the external-bus test", u, err)
	}
	c.Close()

	b, err := Open(context.Background(), Config{URL: u}, nil)
	if err != nil {
		t.Fatalf("Open(%s): %v", u, err)
	}
	nb := b.(*natsBus)
	if nb.srv != nil {
		t.Errorf("external mode started an embedded server")
	}
	testBus(t, b)
	testClosed(t, b, nb.Stats)
}

func TestExternalUnreachable(t *testing.T) {
	// A port that was free a moment ago refuses the connection at once.
	u := "nats://127.0.0.1:" + strconv.Itoa(freePort(t))
	b, err := Open(context.Background(), Config{URL: u}, nil)
	if err == nil {
		b.Close()
		t.Fatalf("Open(%s): got nil error, want one", u)
	}
	if !strings.Contains(err.Error(), "--nats") {
		t.Errorf("error %q does not name --nats", err)
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://user:secret@10.0.0.1:4222", "nats://user:xxxxx@10.0.0.1:4222"},
	} {
		if got := redact(tc.in); got != tc.want {
			t.Errorf("redact(%q): got %q, want %q", tc.in, got, tc.want)
		}
	}
}
