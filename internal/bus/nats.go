package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// Flags named in start-up errors, so that an operator knows what to change.
const (
	flagURL      = "--nats"
	flagPort     = "--nats-port"
	flagMQTTPort = "--mqtt-port"
)

const (
	// startTimeout bounds how long the embedded server may take to listen.
	startTimeout = 10 * time.Second
	// flusherTimeout bounds a socket write inside Publish: nats.go writes
	// synchronously once its 32 KiB buffer is full, and a request must not
	// hang on a stuck server. A timed-out write breaks the connection, which
	// then reconnects and buffers.
	flusherTimeout = 2 * time.Second
	// drainTimeout bounds Close.
	drainTimeout = 5 * time.Second
	// flushTimeout bounds the round trip that makes a new subscription known
	// to the server before Subscribe returns.
	flushTimeout = 5 * time.Second
)

// natsBus is the Bus on a NATS connection, with the embedded server it
// started, if any.
type natsBus struct {
	nc     *nats.Conn
	srv    *server.Server // nil for an external server
	logger *slog.Logger
	closed chan struct{} // closed by nats.go when the connection is closed
	once   sync.Once
	err    error

	published, publishFailed, panics atomic.Uint64

	// subs are the live subscriptions, whose dropped messages Stats adds up;
	// dropped holds the drops of those already gone.
	mu      sync.Mutex
	subs    map[*nats.Subscription]struct{}
	dropped uint64
}

// openEmbedded starts nats-server in this process on 127.0.0.1 and connects
// to it in-process.
func openEmbedded(ctx context.Context, cfg Config, logger *slog.Logger) (Bus, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("bus: the embedded NATS server needs a data directory (--data), or give an external server with " + flagURL)
	}
	if err := checkPortNumber(cfg.Port, flagPort, "a random free port"); err != nil {
		return nil, err
	}
	if err := checkPortNumber(cfg.MQTTPort, flagMQTTPort, "MQTT off"); err != nil {
		return nil, err
	}
	if cfg.Port > 0 && cfg.Port == cfg.MQTTPort {
		return nil, fmt.Errorf("bus: %s and %s are both %d; give them different ports", flagPort, flagMQTTPort, cfg.Port)
	}
	storeDir := filepath.Join(cfg.DataDir, "nats")
	if err := os.MkdirAll(storeDir, 0o750); err != nil {
		return nil, fmt.Errorf("bus: JetStream storage: %w", err)
	}
	opts := &server.Options{
		// MQTT needs an explicit server name; a fixed one also keeps
		// JetStream's storage layout stable across restarts.
		ServerName: "whistle",
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		JetStream:  true,
		StoreDir:   storeDir,
		// The process owns its signals: SIGTERM means graceful shutdown of
		// the whole binary, not of the embedded server alone.
		NoSigs: true,
	}
	if cfg.Port > 0 {
		// nats-server reads 0 as its default 4222, which belongs to a
		// system NATS; only an explicit port is used as given.
		opts.Port = cfg.Port
		if err := checkPortFree(cfg.Port, flagPort); err != nil {
			return nil, err
		}
	}
	if cfg.MQTTPort > 0 {
		opts.MQTT.Host = "127.0.0.1"
		opts.MQTT.Port = cfg.MQTTPort
		if err := checkPortFree(cfg.MQTTPort, flagMQTTPort); err != nil {
			return nil, err
		}
	}
	var self []nats.Option
	if cfg.Auth != nil {
		a, err := newClientAuth(cfg.Auth)
		if err != nil {
			return nil, fmt.Errorf("bus: embedded NATS: %w", err)
		}
		opts.CustomClientAuthentication = a
		self = append(self, nats.UserInfo(selfUser, a.selfPassword))
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("bus: embedded NATS: %w", err)
	}
	sl := &serverLogger{logger: logger.With("component", "nats-server"), fatal: make(chan string, 1)}
	srv.SetLogger(sl, false, false)
	srv.Start()
	if err := waitReady(ctx, srv, sl.fatal); err != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, err
	}
	if !srv.JetStreamEnabled() {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, fmt.Errorf("bus: embedded NATS started without JetStream (storage %s); see the nats-server log lines", storeDir)
	}
	b, err := connect(ctx, "", logger, append(self, nats.InProcessServer(srv))...)
	if err != nil {
		srv.Shutdown()
		srv.WaitForShutdown()
		return nil, err
	}
	b.srv = srv
	attrs := []any{"client_url", srv.ClientURL(), "jetstream", storeDir}
	if cfg.MQTTPort > 0 {
		attrs = append(attrs, "mqtt", net.JoinHostPort(opts.MQTT.Host, strconv.Itoa(cfg.MQTTPort)))
	}
	logger.Info("bus: embedded NATS ready", attrs...)
	return b, nil
}

// waitReady waits until srv listens, failing early with the server's own
// words when it reports a fatal error (a port taken between our check and its
// bind, unusable JetStream storage) instead of waiting out the timeout.
func waitReady(ctx context.Context, srv *server.Server, fatal <-chan string) error {
	deadline := time.Now().Add(startTimeout)
	for !srv.ReadyForConnections(50 * time.Millisecond) {
		select {
		case msg := <-fatal:
			switch {
			case strings.Contains(msg, "MQTT"):
				return fmt.Errorf("bus: embedded NATS could not start: %s; choose another port with %s", msg, flagMQTTPort)
			case strings.Contains(msg, "listening on port"):
				return fmt.Errorf("bus: embedded NATS could not start: %s; choose another port with %s", msg, flagPort)
			}
			return fmt.Errorf("bus: embedded NATS could not start: %s", msg)
		case <-ctx.Done():
			return fmt.Errorf("bus: embedded NATS start: %w", ctx.Err())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bus: embedded NATS did not accept connections within %s", startTimeout)
		}
	}
	return nil
}

// checkPortNumber refuses ports outside 0–65535 with the flag to fix; zero
// tells what 0 means for that flag.
func checkPortNumber(port int, flag, zero string) error {
	if port < 0 || port > 65535 {
		return fmt.Errorf("bus: %s %d is not a port number (use 1–65535, or 0 for %s)", flag, port, zero)
	}
	return nil
}

// checkPortFree tries the port before nats-server does, because the server
// reports a taken port only through its log and would leave us waiting for a
// listener that never comes. The error wraps the listen error, so
// errors.Is(err, syscall.EADDRINUSE) holds for a taken port.
func checkPortFree(port int, flag string) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("bus: port %d on 127.0.0.1 is not available (another program, or another whistle, may be using it); choose a free port with %s: %w", port, flag, err)
	}
	return l.Close()
}

// openExternal connects to an external NATS server.
func openExternal(ctx context.Context, rawURL string, logger *slog.Logger) (Bus, error) {
	b, err := connect(ctx, rawURL, logger)
	if err != nil {
		return nil, fmt.Errorf("%w (the server is set with %s)", err, flagURL)
	}
	logger.Info("bus: connected to NATS", "url", redact(rawURL))
	return b, nil
}

// connect opens the client connection; url is empty for the in-process one.
func connect(ctx context.Context, rawURL string, logger *slog.Logger, extra ...nats.Option) (*natsBus, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("bus: connect: %w", err)
	}
	b := &natsBus{logger: logger, closed: make(chan struct{}), subs: map[*nats.Subscription]struct{}{}}
	opts := []nats.Option{
		nats.Name("whistle"),
		nats.MaxReconnects(-1), // the bus outlives any one outage of NATS
		nats.FlusherTimeout(flusherTimeout),
		nats.DrainTimeout(drainTimeout),
		nats.ClosedHandler(func(*nats.Conn) { close(b.closed) }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				logger.Warn("bus: disconnected from NATS", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			logger.Info("bus: reconnected to NATS", "url", redact(nc.ConnectedUrl()))
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			logger.Warn("bus: asynchronous NATS error", "subject", subject, "err", err)
		}),
	}
	opts = append(opts, extra...)
	nc, err := nats.Connect(rawURL, opts...)
	if err != nil {
		where := "in-process NATS"
		if rawURL != "" {
			where = "NATS at " + redact(rawURL)
		}
		return nil, fmt.Errorf("bus: cannot connect to %s: %w", where, err)
	}
	b.nc = nc
	return b, nil
}

// Publish implements Bus.
func (b *natsBus) Publish(subject string, data []byte) error {
	if err := checkSubject(subject, false); err != nil {
		return err
	}
	if err := b.nc.Publish(subject, data); err != nil {
		b.publishFailed.Add(1)
		b.logger.Warn("bus: publish failed; event dropped", "subject", subject, "bytes", len(data), "err", err)
		return nil
	}
	b.published.Add(1)
	return nil
}

// Flush waits until the server has received everything published so far
// (a round trip), so that a publisher that records its progress afterwards
// (the change feed's bus consumer) never records a message still in the
// client's buffer, which a crash would lose.
func (b *natsBus) Flush() error {
	if err := b.nc.FlushTimeout(flushTimeout); err != nil {
		return fmt.Errorf("bus: flush: %w", err)
	}
	return nil
}

// Subscribe implements Bus.
func (b *natsBus) Subscribe(subject string, fn func(subject string, data []byte)) (func(), error) {
	if err := checkSubject(subject, true); err != nil {
		return nil, err
	}
	if b.nc.IsClosed() || b.nc.IsDraining() {
		return nil, ErrClosed
	}
	// nats.go may hand over a message it dequeued just before Unsubscribe;
	// the flag keeps the promise that fn is not called after unsubscribe.
	var stopped atomic.Bool
	sub, err := b.nc.Subscribe(subject, func(m *nats.Msg) {
		if stopped.Load() {
			return
		}
		b.deliver(fn, m.Subject, m.Data)
	})
	if err != nil {
		return nil, fmt.Errorf("bus: subscribe %q: %w", subject, err)
	}
	// Make the interest known to the server, so that a message published
	// from any connection after Subscribe returns is delivered.
	if err := b.nc.FlushTimeout(flushTimeout); err != nil {
		_ = sub.Unsubscribe()
		return nil, fmt.Errorf("bus: subscribe %q: %w", subject, err)
	}
	b.mu.Lock()
	b.subs[sub] = struct{}{}
	b.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			stopped.Store(true)
			b.forget(sub)
			if err := sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrBadSubscription) {
				b.logger.Warn("bus: unsubscribe", "subject", subject, "err", err)
			}
		})
	}, nil
}

// forget moves sub's count of dropped messages into b.dropped.
func (b *natsBus) forget(sub *nats.Subscription) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[sub]; !ok {
		return
	}
	delete(b.subs, sub)
	if n, err := sub.Dropped(); err == nil && n > 0 {
		b.dropped += uint64(n)
	}
}

// deliver calls fn, containing a panic: a buggy subscriber must not take the
// whole server down, as nats.go runs callbacks outside any recover.
func (b *natsBus) deliver(fn func(string, []byte), subject string, data []byte) {
	defer func() {
		if r := recover(); r != nil {
			b.panics.Add(1)
			b.logger.Error("bus: subscriber panicked", "subject", subject, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	fn(subject, data)
}

// Close implements Bus: it drains the connection (subscribers get what is
// already queued, buffered publishes are flushed) and then shuts the
// embedded server down.
func (b *natsBus) Close() error {
	b.once.Do(func() {
		b.mu.Lock()
		subs := make([]*nats.Subscription, 0, len(b.subs))
		for sub := range b.subs {
			subs = append(subs, sub)
		}
		b.mu.Unlock()
		for _, sub := range subs {
			b.forget(sub) // keep their counts once the connection is gone
		}
		var errs []error
		// A reconnecting connection cannot drain; nats.go closes it instead.
		if err := b.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) && !errors.Is(err, nats.ErrConnectionReconnecting) {
			errs = append(errs, fmt.Errorf("bus: drain: %w", err))
		}
		select {
		case <-b.closed:
		case <-time.After(drainTimeout + time.Second):
			// nats.go enforces drainTimeout itself; this only guards
			// against waiting forever on a handler that never comes.
			b.nc.Close()
			errs = append(errs, errors.New("bus: drain did not finish"))
		}
		if b.srv != nil {
			b.srv.Shutdown()
			b.srv.WaitForShutdown()
		}
		b.err = errors.Join(errs...)
	})
	return b.err
}

// Stats returns the counters. Messages that nats.go dropped for a slow
// subscriber are read from the live subscriptions.
func (b *natsBus) Stats() Stats {
	b.mu.Lock()
	dropped := b.dropped
	for sub := range b.subs {
		if n, err := sub.Dropped(); err == nil && n > 0 {
			dropped += uint64(n)
		}
	}
	b.mu.Unlock()
	return Stats{
		Published:        b.published.Load(),
		PublishFailed:    b.publishFailed.Load(),
		SubscriberFailed: b.panics.Load() + dropped,
	}
}

// clientURL is the embedded server's TCP address, for tests and tools.
func (b *natsBus) clientURL() string {
	if b.srv == nil {
		return ""
	}
	return b.srv.ClientURL()
}

// redact hides a password in a NATS URL before it is logged.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// serverLogger routes nats-server's log lines to slog. Its notices (a long
// start-up banner) go to debug; Open logs one line of its own instead.
// Fatalf must not exit the process as nats-server's own logger does: it
// reports the message to Open, which fails with it.
type serverLogger struct {
	logger *slog.Logger
	fatal  chan string
}

// Noticef logs at debug level.
func (l *serverLogger) Noticef(format string, v ...any) {
	l.logger.Debug(fmt.Sprintf(format, v...))
}

// Warnf logs at warn level.
func (l *serverLogger) Warnf(format string, v ...any) { l.logger.Warn(fmt.Sprintf(format, v...)) }

// Errorf logs at error level.
func (l *serverLogger) Errorf(format string, v ...any) { l.logger.Error(fmt.Sprintf(format, v...)) }

// Fatalf logs at error level and hands the message to Open.
func (l *serverLogger) Fatalf(format string, v ...any) {
	msg := fmt.Sprintf(format, v...)
	l.logger.Error(msg, "fatal", true)
	select {
	case l.fatal <- msg:
	default: // Open reads only the first
	}
}

// Debugf logs at debug level.
func (l *serverLogger) Debugf(format string, v ...any) { l.logger.Debug(fmt.Sprintf(format, v...)) }

// Tracef logs at debug level; tracing is off unless asked for.
func (l *serverLogger) Tracef(format string, v ...any) { l.logger.Debug(fmt.Sprintf(format, v...)) }
