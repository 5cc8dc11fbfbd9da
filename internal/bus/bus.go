// Package bus carries committed events: a feature appends each change to the
// change feed in its transaction (package feed), and the feed's consumer
// "bus" publishes it here on a subject such as "case.330303.submit".
// Subscribers (SSE to browsers, other listeners) therefore never see a change
// that rolled back, and a crash between a commit and its publish loses
// nothing: the consumer publishes from its stored cursor after the restart.
// The bus itself is best effort: a failed publish is logged and counted (see
// Stats), and the feed's consumer publishes its batch again.
//
// Open returns NATS: an embedded nats-server (JetStream in DataDir/nats, an
// optional MQTT listener for devices) by default, or an external server when
// Config.URL is set. Memory is an in-process fan-out for unit tests of other
// packages.
package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Bus publishes events and delivers them to subscribers.
//
// Subjects are dot-separated tokens. Subscribe also accepts the NATS
// wildcards: "*" matches one token and a final ">" matches one or more, so
// "case.330303.>" follows every event of one district.
type Bus interface {
	// Publish hands data to the transport and returns without waiting for
	// delivery. It returns an error only for an invalid subject, which is a
	// bug of the caller; transport failures are logged and counted (see
	// Stats) because the caller's change is already committed.
	Publish(subject string, data []byte) error
	// Subscribe calls fn for every message on subject (wildcards allowed)
	// until unsubscribe is called; once unsubscribe returns, fn is not
	// called again, though a call already running may still finish.
	Subscribe(subject string, fn func(subject string, data []byte)) (unsubscribe func(), err error)
	// Close stops delivery and releases the transport. It is idempotent.
	Close() error
}

// Flusher is a Bus that can wait until what it published has reached the
// transport's server. Both buses from Open and NewMemory are Flushers.
type Flusher interface {
	Flush() error
}

// Stats counts what a bus did, for logs and metrics. The buses from Open and
// NewMemory both have a Stats() Stats method; reach it through
// b.(interface{ Stats() bus.Stats }).
type Stats struct {
	// Published counts messages handed to the transport.
	Published uint64
	// PublishFailed counts messages the transport refused (closed bus,
	// reconnect buffer full, broken connection); each was logged and dropped.
	PublishFailed uint64
	// SubscriberFailed counts messages a subscriber lost: a panic in its
	// function, or a message dropped because it fell too far behind.
	SubscriberFailed uint64
}

// ErrClosed is returned by Subscribe on a closed bus.
var ErrClosed = errors.New("bus: closed")

// Config selects and configures the transport. The zero value (plus a
// DataDir) is the embedded default.
type Config struct {
	// URL of an external NATS server (nats://host:4222); empty starts an
	// embedded server. The command-line flag is --nats.
	URL string
	// DataDir is the server's data directory; the embedded server keeps its
	// JetStream storage in DataDir/nats. Required in embedded mode.
	DataDir string
	// Port is the embedded server's client port on 127.0.0.1 (--nats-port);
	// 0 picks a random free port.
	Port int
	// MQTTPort enables the embedded server's MQTT listener on 127.0.0.1
	// (--mqtt-port); 0 leaves MQTT off. MQTT topics map to subjects with
	// "/" for ".", so a device publishing to "case/330303/x" reaches
	// subscribers of "case.330303.x".
	MQTTPort int
	// Auth, when set, authenticates every client of the embedded server
	// but whistle's own connection (the devices on the MQTT listener): it
	// returns the only subjects the client may publish to (it may
	// subscribe to none). nil lets every client in, as before. It runs at
	// CONNECT, so a changed credential applies to new connections.
	Auth func(username, password string) (publish []string, ok bool)
}

// Open connects to the bus that cfg describes. In embedded mode it starts a
// nats-server in this process and stops it again on Close. A nil logger
// discards logs.
func Open(ctx context.Context, cfg Config, logger *slog.Logger) (Bus, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.URL != "" {
		return openExternal(ctx, cfg.URL, logger)
	}
	return openEmbedded(ctx, cfg, logger)
}

// Subject returns the subject of a case event, "case.<district>.<event>".
// Both are tokens of letters, digits, '_' and '-'; anything else (a space, a
// dot, a wildcard, an empty string) would publish to a different subject or
// to none, so Subject panics on it, like regexp.MustCompile: district codes
// and event names come from validated data and constants, and a bad one is
// a bug to find in tests. Use ValidToken to check untrusted input first.
func Subject(district, event string) string {
	for _, t := range [...]string{district, event} {
		if !ValidToken(t) {
			panic(fmt.Sprintf("bus.Subject(%q, %q): %q is not a valid subject token", district, event, t))
		}
	}
	return "case." + district + "." + event
}

// ValidToken reports whether t can be one token of a subject built by
// Subject: non-empty, only ASCII letters, digits, '_' and '-'. The set is
// narrower than NATS allows so that the same subjects are valid MQTT topics.
func ValidToken(t string) bool {
	if t == "" {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// checkSubject validates a subject for publishing (wildcards false) or
// subscribing (wildcards true): non-empty tokens without whitespace or control
// characters; "*" only as a whole token and ">" only as the whole last token.
func checkSubject(s string, wildcards bool) error {
	if s == "" {
		return fmt.Errorf("bus: empty subject")
	}
	tokens := strings.Split(s, ".")
	for i, t := range tokens {
		if t == "" {
			return fmt.Errorf("bus: subject %q has an empty token", s)
		}
		if wildcards && (t == "*" || (t == ">" && i == len(tokens)-1)) {
			continue
		}
		for _, r := range t {
			switch {
			case r <= ' ' || r == 0x7f:
				return fmt.Errorf("bus: subject %q contains whitespace or a control character", s)
			case r == '*' || r == '>':
				if wildcards {
					return fmt.Errorf("bus: subject %q uses a wildcard inside a token or '>' before the end", s)
				}
				return fmt.Errorf("bus: cannot publish to subject %q: it contains a wildcard", s)
			}
		}
	}
	return nil
}

// matchSubject reports whether subject (no wildcards) matches pattern.
func matchSubject(pattern, subject string) bool {
	for {
		p, prest, pmore := strings.Cut(pattern, ".")
		if p == ">" {
			return true // ">" is last and needs at least one token, which we have
		}
		s, srest, smore := strings.Cut(subject, ".")
		if p != "*" && p != s {
			return false
		}
		if !pmore || !smore {
			return pmore == smore
		}
		pattern, subject = prest, srest
	}
}
