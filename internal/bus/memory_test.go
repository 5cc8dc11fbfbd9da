package bus

import (
	"testing"
)

func TestMemory(t *testing.T) {
	var b Bus = NewMemory(nil)
	testBus(t, b)
	if got, want := b.(*Memory).Stats().PublishFailed, uint64(0); got != want {
		t.Errorf("PublishFailed before Close: got %d, want %d", got, want)
	}
	testClosed(t, b, b.(*Memory).Stats)
}

func TestMemoryDeliversBeforePublishReturns(t *testing.T) {
	m := NewMemory(nil)
	defer m.Close()
	var got []string
	unsub, err := m.Subscribe("case.>", func(s string, _ []byte) { got = append(got, s) })
	if err != nil {
		t.Fatal(err)
	}
	defer unsub()
	mustPublish(t, m, "case.1.created", "")
	mustPublish(t, m, "case.1.closed", "")
	if want := []string{"case.1.created", "case.1.closed"}; len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := m.Stats().Published, uint64(2); got != want {
		t.Errorf("Published: got %d, want %d", got, want)
	}
}

func TestMemorySubscriberMayPublishAndUnsubscribe(t *testing.T) {
	m := NewMemory(nil)
	defer m.Close()
	var echoes, firsts int
	var unsubFirst func()
	unsubFirst, err := m.Subscribe("case.1.created", func(string, []byte) {
		firsts++
		unsubFirst() // would deadlock if delivery held the lock
		mustPublish(t, m, "case.1.echo", "")
	})
	if err != nil {
		t.Fatal(err)
	}
	unsubEcho, err := m.Subscribe("case.1.echo", func(string, []byte) { echoes++ })
	if err != nil {
		t.Fatal(err)
	}
	defer unsubEcho()
	mustPublish(t, m, "case.1.created", "")
	mustPublish(t, m, "case.1.created", "")
	if firsts != 1 || echoes != 1 {
		t.Errorf("got %d deliveries and %d echoes, want 1 and 1", firsts, echoes)
	}
}

func TestMemoryEachSubscriberGetsItsOwnCopy(t *testing.T) {
	m := NewMemory(nil)
	defer m.Close()
	var second string
	for i := range 2 {
		unsub, err := m.Subscribe("x", func(_ string, d []byte) {
			if i == 0 {
				copy(d, "zz")
				return
			}
			second = string(d)
		})
		if err != nil {
			t.Fatal(err)
		}
		defer unsub()
	}
	mustPublish(t, m, "x", "ab")
	if got, want := second, "ab"; got != want {
		t.Errorf("second subscriber saw %q, want %q", got, want)
	}
}

func TestMemoryPanicReachesPublisher(t *testing.T) {
	m := NewMemory(nil)
	defer m.Close()
	unsub, err := m.Subscribe("x", func(string, []byte) { panic("subscriber bug") })
	if err != nil {
		t.Fatal(err)
	}
	defer unsub()
	defer func() {
		if got, want := recover(), "subscriber bug"; got != want {
			t.Errorf("recovered %v, want %q", got, want)
		}
	}()
	_ = m.Publish("x", nil)
	t.Error("Publish returned; want the subscriber's panic")
}
