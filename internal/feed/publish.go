package feed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"

	"whistle/internal/bus"
)

// Publisher is the part of the bus that PublishTo needs.
type Publisher interface {
	Publish(subject string, data []byte) error
}

// Subject is the bus subject of an event: "<subject kind>.<district>.<kind>"
// ("case.330303.accept"), or "<subject kind>.<kind>" without a district.
func Subject(ev Event) string {
	if ev.District == "" {
		return ev.SubjectKind + "." + ev.Kind
	}
	return ev.SubjectKind + "." + ev.District + "." + ev.Kind
}

// PrivateKey is the top-level key of an event's payload that only the
// feed's consumers on the database read (who is concerned by a step, for
// the notifications); the bus never carries it.
const PrivateKey = "private"

// Public is payload without its PrivateKey member, as the bus carries it.
func Public(payload json.RawMessage) json.RawMessage {
	if !bytes.Contains(payload, []byte(`"`+PrivateKey+`"`)) {
		return payload
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(payload, &m); err != nil {
		return payload
	}
	delete(m, PrivateKey)
	b, err := json.Marshal(m)
	if err != nil {
		return payload
	}
	return b
}

// PublishTo returns the consumer named "bus", which publishes every event's
// payload on its Subject. Run it once per database (a Runner does: the
// cursor row's lock keeps a second replica out), or subscribers get each
// event once per publisher.
//
// At least once: when pub is a bus.Flusher the batch is flushed to the
// server before the cursor moves, and a publish the bus reports as dropped
// (bus.Stats' PublishFailed grows) fails the batch, so it is published
// again. An event whose subject the bus refuses (a bug: tokens are codes and
// action names) is logged and skipped, so that it cannot stop the feed.
func PublishTo(pub Publisher, logger *slog.Logger) Consumer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	type stater interface{ Stats() bus.Stats }
	return Consumer{Name: "bus", Handle: func(ctx context.Context, evs []Event) error {
		var failed uint64
		st, hasStats := pub.(stater)
		if hasStats {
			failed = st.Stats().PublishFailed
		}
		for _, ev := range evs {
			if err := pub.Publish(Subject(ev), Public(ev.Payload)); err != nil {
				logger.Error("feed: event not published", "position", ev.Position, "subject", strings.ToValidUTF8(Subject(ev), "?"), "err", err)
			}
		}
		if f, ok := pub.(bus.Flusher); ok {
			if err := f.Flush(); err != nil {
				return err
			}
		}
		if hasStats {
			if n := st.Stats().PublishFailed - failed; n > 0 {
				return fmt.Errorf("the bus dropped %d of %d events", n, len(evs))
			}
		}
		return nil
	}}
}
