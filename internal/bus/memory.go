package bus

import (
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
)

// Memory is an in-process Bus for unit tests of other packages. Unlike NATS
// it delivers synchronously: Publish calls every matching subscriber, in
// subscription order, before it returns, so a test can check what was
// published without waiting. A subscriber that panics panics the publisher,
// so that the test fails where the bug is. Each subscriber gets its own copy
// of data, as over the network.
type Memory struct {
	logger *slog.Logger

	mu     sync.Mutex
	subs   []*memSub
	closed bool

	published, publishFailed atomic.Uint64
}

type memSub struct {
	pattern string
	fn      func(string, []byte)
	stopped atomic.Bool
}

// NewMemory returns an open Memory bus. A nil logger discards logs.
func NewMemory(logger *slog.Logger) *Memory {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Memory{logger: logger}
}

// Publish implements Bus. Publishing to a closed Memory is logged and
// counted, as with NATS.
func (m *Memory) Publish(subject string, data []byte) error {
	if err := checkSubject(subject, false); err != nil {
		return err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		m.publishFailed.Add(1)
		m.logger.Warn("bus: publish failed; event dropped", "subject", subject, "bytes", len(data), "err", ErrClosed)
		return nil
	}
	// Deliver outside the lock, so that a subscriber may publish or
	// unsubscribe without deadlocking.
	subs := slices.Clone(m.subs)
	m.mu.Unlock()
	m.published.Add(1)
	for _, s := range subs {
		if !s.stopped.Load() && matchSubject(s.pattern, subject) {
			s.fn(subject, slices.Clone(data))
		}
	}
	return nil
}

// Subscribe implements Bus.
func (m *Memory) Subscribe(subject string, fn func(subject string, data []byte)) (func(), error) {
	if err := checkSubject(subject, true); err != nil {
		return nil, err
	}
	s := &memSub{pattern: subject, fn: fn}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	m.subs = append(m.subs, s)
	return func() {
		s.stopped.Store(true)
		m.mu.Lock()
		defer m.mu.Unlock()
		m.subs = slices.DeleteFunc(m.subs, func(x *memSub) bool { return x == s })
	}, nil
}

// Flush implements Flusher; Memory delivers synchronously, so there is
// nothing to wait for.
func (m *Memory) Flush() error { return nil }

// Close implements Bus; it drops every subscription.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	for _, s := range m.subs {
		s.stopped.Store(true)
	}
	m.subs = nil
	return nil
}

// Stats returns the counters. SubscriberFailed stays zero: a panicking
// subscriber panics the publisher instead.
func (m *Memory) Stats() Stats {
	return Stats{Published: m.published.Load(), PublishFailed: m.publishFailed.Load()}
}
