package device_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"whistle/internal/bus"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/device"
	"whistle/internal/worldtest"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// broker is the embedded NATS with its MQTT listener, authenticating
// devices against the fixture's store.
type broker struct {
	b      bus.Bus
	port   int
	cancel context.CancelFunc
	done   chan struct{}
}

// openBroker starts the bus in dir on port; consume starts the ingest
// consumer too.
func (f *fixture) openBroker(t *testing.T, dir string, port int, consume bool) *broker {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b, err := bus.Open(ctx, bus.Config{DataDir: dir, MQTTPort: port, Auth: f.store.Credentials(ctx)}, nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	br := &broker{b: b, port: port, cancel: cancel, done: make(chan struct{})}
	if !consume {
		close(br.done)
		return br
	}
	js, err := bus.JetStream(b)
	if err != nil {
		t.Fatal(err)
	}
	c := device.NewConsumer(js, f.ing, device.ConsumerConfig{Wait: 20 * time.Millisecond}, nil)
	if _, _, err := c.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	go func() { defer close(br.done); _ = c.Run(ctx) }()
	return br
}

func (br *broker) close() {
	br.cancel()
	<-br.done
	_ = br.b.Close()
}

// connect is a paho client of a device; it fails the test when refused
// unless refused is expected, and reports whether it connected.
func connect(t *testing.T, port int, user, pw string) (mqtt.Client, error) {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker(fmt.Sprintf("tcp://127.0.0.1:%d", port)).SetClientID(fmt.Sprintf("%s-%d", user, time.Now().UnixNano())).
		SetUsername(user).SetPassword(pw).SetCleanSession(true).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	c := mqtt.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(10 * time.Second) {
		return nil, fmt.Errorf("connect timed out")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return c, nil
}

func publish(t *testing.T, c mqtt.Client, topic, body string) error {
	t.Helper()
	tok := c.Publish(topic, 1, false, body)
	if !tok.WaitTimeout(10 * time.Second) {
		return fmt.Errorf("publish timed out")
	}
	return tok.Error()
}

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMQTTMalformedCountedAndForeignTopicRefused(t *testing.T) {
	worldtest.Each(t, time.Now(), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		sp := f.space(t, "P1", true)
		a := f.create(t, device.NewDevice{Type: "parking_sensor", Serial: "A", OwnerKind: device.OwnerParkingSpace, OwnerID: sp.ID})
		b := f.create(t, device.NewDevice{Type: "parking_sensor", Serial: "B", OwnerKind: device.OwnerParkingSpace, OwnerID: sp.ID})
		br := f.openBroker(t, t.TempDir(), freePort(t), true)
		defer br.close()
		if _, err := connect(t, br.port, a.Username, "wrong"); err == nil {
			t.Fatalf("a wrong password connected")
		}
		c, err := connect(t, br.port, a.Username, a.Password)
		if err != nil {
			t.Fatal(err)
		}
		for _, body := range []string{`{"values":{"state":"occupied"}}`, `not json`, `{"values":{"state":7}}`, `{"values":{"state":"vacant"}}`} {
			if err := publish(t, c, a.Topic(), body); err != nil {
				t.Fatal(err)
			}
		}
		// A's credentials on B's topic: the server drops it.
		_ = publish(t, c, b.Topic(), `{"values":{"state":"occupied"}}`)
		waitFor(t, "A's two good readings", func() bool { return f.readings(t, a.ID) == 2 })
		if got, want := f.malformed(t, a.ID, device.ReasonJSON), int64(1); got != want {
			t.Errorf("not_json %d, want %d", got, want)
		}
		if got, want := f.malformed(t, a.ID, device.ReasonType), int64(1); got != want {
			t.Errorf("wrong_type %d, want %d", got, want)
		}
		// The stream goes on after the bad ones, and B's topic got nothing from A.
		c2, err := connect(t, br.port, b.Username, b.Password)
		if err != nil {
			t.Fatal(err)
		}
		if err := publish(t, c2, b.Topic(), `{"values":{"state":"vacant"}}`); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "B's own reading", func() bool { return f.readings(t, b.ID) >= 1 })
		time.Sleep(200 * time.Millisecond)
		if got, want := f.readings(t, b.ID), 1; got != want {
			t.Errorf("B has %d readings, want %d (A's publish on B's topic must be refused)", got, want)
		}
	})
}

func TestMQTTQoS1SurvivesRestart(t *testing.T) {
	worldtest.Each(t, time.Now(), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		sp := f.space(t, "P1", true)
		a := f.create(t, device.NewDevice{Type: "parking_sensor", Serial: "A", OwnerKind: device.OwnerParkingSpace, OwnerID: sp.ID})
		dir, port := t.TempDir(), freePort(t)
		// The consumer is set up (interest exists) but not running: the
		// messages wait in JetStream when the server stops.
		br := f.openBroker(t, dir, port, false)
		js, _ := bus.JetStream(br.b)
		if _, _, err := device.NewConsumer(js, f.ing, device.ConsumerConfig{}, nil).Setup(context.Background()); err != nil {
			t.Fatal(err)
		}
		c, err := connect(t, port, a.Username, a.Password)
		if err != nil {
			t.Fatal(err)
		}
		const n = 50
		for i := 0; i < n; i++ {
			if err := publish(t, c, a.Topic(), fmt.Sprintf(`{"values":{"state":"occupied","battery":%d}}`, i)); err != nil {
				t.Fatal(err)
			}
		}
		c.Disconnect(0)
		br.close()
		if got := f.readings(t, a.ID); got != 0 {
			t.Fatalf("%d readings before the restart, want 0", got)
		}
		br = f.openBroker(t, dir, port, true)
		defer br.close()
		waitFor(t, "every message after the restart", func() bool { return f.readings(t, a.ID) >= n })
		time.Sleep(300 * time.Millisecond)
		if got := f.readings(t, a.ID); got != n {
			t.Errorf("%d readings, want %d exactly", got, n)
		}
		if got := f.sink.n(); got != n {
			t.Errorf("sink saw %d, want %d exactly", got, n)
		}
	})
}

func TestMQTTRevokeDisconnectsAndRefuses(t *testing.T) {
	worldtest.Each(t, time.Now(), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		sp := f.space(t, "P1", true)
		a := f.create(t, device.NewDevice{Type: "parking_sensor", Serial: "A", OwnerKind: device.OwnerParkingSpace, OwnerID: sp.ID})
		br := f.openBroker(t, t.TempDir(), freePort(t), true)
		defer br.close()
		c, err := connect(t, br.port, a.Username, a.Password)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.Revoke(context.Background(), f.scope("admin"), a.ID); err != nil {
			t.Fatal(err)
		}
		if got := bus.Disconnect(br.b, a.Username); got != 1 {
			t.Errorf("disconnected %d connections, want 1", got)
		}
		waitFor(t, "the live connection closed", func() bool { return !c.IsConnectionOpen() })
		if _, err := connect(t, br.port, a.Username, a.Password); err == nil {
			t.Errorf("a revoked device connected")
		}
		r, err := f.store.Rotate(context.Background(), f.scope("admin"), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := connect(t, br.port, a.Username, r.Password); err != nil {
			t.Errorf("the rotated password: %v", err)
		}
	})
}
