package device

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"whistle/internal/errs"
)

// The NATS MQTT listener stores every QoS 1 PUBLISH in the stream
// $MQTT_msgs, under "$MQTT.msgs.<subject>", and sends the PUBACK only once
// that store is acknowledged (nats-server mqttInitiateMsgDelivery: the
// pipeline's PUBACK follows the JetStream store). A plain stream of our own
// on the telemetry subjects would capture the message asynchronously, after
// or around the PUBACK, so a crash could lose a message the device was told
// was received. The consumer therefore reads $MQTT_msgs itself.
const (
	mqttStream = "$MQTT_msgs"
	// TelemetryFilter is the stream subject filter of device telemetry.
	TelemetryFilter = "$MQTT.msgs.whistle.*.dev.*.tele"
	// ConsumerName is the durable consumer's name.
	ConsumerName = "whistle-ingest"
)

// Credentials authenticates MQTT clients for the embedded server
// (bus.Config.Auth): a device by its user name and password, allowed to
// publish only on its own telemetry subject.
func (s *Store) Credentials(ctx context.Context) func(username, password string) ([]string, bool) {
	return func(username, password string) ([]string, bool) {
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		d, err := s.Authenticate(c, username, password)
		if err != nil || d == nil {
			return nil, false
		}
		return []string{d.Subject()}, true
	}
}

// ConsumerConfig tunes the MQTT consumer.
type ConsumerConfig struct {
	// Batch is the most messages committed in one transaction (default
	// 1,000).
	Batch int
	// Wait is how long a fetch waits for a batch to fill (default 100 ms).
	Wait time.Duration
}

// Consumer reads the devices' QoS 1 telemetry from JetStream in batches,
// commits each through the Ingester and acknowledges it after the commit.
// A message redelivered after a crash between commit and ack is skipped by
// its stream sequence, stored with the reading; a failed commit is retried
// (the batch is not acknowledged), so nothing is lost or applied twice.
type Consumer struct {
	js     jetstream.JetStream
	ing    *Ingester
	cfg    ConsumerConfig
	logger *slog.Logger
}

// NewConsumer returns a Consumer; Run starts it.
func NewConsumer(js jetstream.JetStream, ing *Ingester, cfg ConsumerConfig, logger *slog.Logger) *Consumer {
	if cfg.Batch <= 0 {
		cfg.Batch = 1000
	}
	if cfg.Wait <= 0 {
		cfg.Wait = 100 * time.Millisecond
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Consumer{js: js, ing: ing, cfg: cfg, logger: logger}
}

// Setup makes sure the MQTT message stream and the durable consumer exist,
// so that telemetry published from now on is kept until consumed (the
// stream keeps a message only while a consumer is interested). It creates
// the stream with the MQTT listener's own configuration when no MQTT
// client has connected yet.
func (c *Consumer) Setup(ctx context.Context) (_ jetstream.Consumer, epoch int64, err error) {
	defer errs.Wrapf(&err, "device.Consumer.Setup")
	st, err := c.js.Stream(ctx, mqttStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		st, err = c.js.CreateStream(ctx, jetstream.StreamConfig{Name: mqttStream, Subjects: []string{"$MQTT.msgs.>"},
			Storage: jetstream.FileStorage, Retention: jetstream.InterestPolicy, Replicas: 1})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			st, err = c.js.Stream(ctx, mqttStream)
		}
	}
	if err != nil {
		return nil, 0, err
	}
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       ConsumerName,
		FilterSubject: TelemetryFilter,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       time.Minute,
		MaxAckPending: 50_000,
		DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return nil, 0, err
	}
	return cons, st.CachedInfo().Created.UnixNano(), nil
}

// Run consumes until ctx ends. It fetches the next batch while the
// previous one commits (one batch ahead, not yet acknowledged), so that
// the broker's delivery overlaps the commit and its fsync; the batches
// still commit one after the other, in order, and each is acknowledged
// only after its commit.
func (c *Consumer) Run(ctx context.Context) error {
	var cons jetstream.Consumer
	var epoch int64
	for {
		var err error
		if cons, epoch, err = c.Setup(ctx); err == nil {
			break
		}
		c.logger.Warn("device: MQTT consumer set-up failed; retrying", "err", err)
		if !sleep(ctx, time.Second) {
			return nil
		}
	}
	c.logger.Info("device: consuming MQTT telemetry", "stream", mqttStream, "filter", TelemetryFilter)
	batches := make(chan []jetstream.Msg)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for msgs := range batches {
			if err := c.Process(ctx, msgs, epoch); err != nil && ctx.Err() == nil {
				c.logger.Error("device: MQTT batch failed", "err", err)
			}
		}
	}()
	defer func() {
		close(batches)
		<-done
	}()
	for ctx.Err() == nil {
		batch, err := cons.Fetch(c.cfg.Batch, jetstream.FetchMaxWait(c.cfg.Wait))
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			c.logger.Warn("device: MQTT fetch failed", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		var msgs []jetstream.Msg
		for m := range batch.Messages() {
			msgs = append(msgs, m)
		}
		if len(msgs) == 0 {
			continue
		}
		select {
		case batches <- msgs:
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// Process commits one fetched batch, retrying a failed commit until it
// succeeds or ctx ends, then acknowledges every message.
func (c *Consumer) Process(ctx context.Context, msgs []jetstream.Msg, epoch int64) error {
	in := make([]Message, len(msgs))
	for i, m := range msgs {
		in[i] = toMessage(m, epoch)
	}
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, 10*time.Second) {
		_, err := c.ing.IngestMessages(ctx, in)
		if err == nil {
			break
		}
		c.logger.Warn("device: MQTT batch not committed; retrying", "n", len(in), "err", err)
		if !sleep(ctx, wait) {
			return err
		}
	}
	var failed error
	for _, m := range msgs {
		if err := m.Ack(); err != nil && failed == nil {
			failed = fmt.Errorf("device: ack: %w", err)
		}
	}
	return failed
}

// toMessage reads a stored MQTT message: its device from the subject
// "$MQTT.msgs.whistle.<district>.dev.<id>.tele", its stream sequence and
// the time the stream stored it.
func toMessage(m jetstream.Msg, epoch int64) Message {
	out := Message{Device: DeviceOfSubject(strings.TrimPrefix(m.Subject(), "$MQTT.msgs.")), Data: m.Data(), Epoch: epoch}
	if md, err := m.Metadata(); err == nil {
		out.Seq = int64(md.Sequence.Stream)
		out.Received = md.Timestamp.UTC()
	}
	return out
}

// DeviceOfSubject is the device id of a telemetry subject
// "whistle.<district>.dev.<id>.tele", or 0.
func DeviceOfSubject(s string) int64 {
	parts := strings.Split(s, ".")
	if len(parts) != 5 || parts[0] != "whistle" || parts[2] != "dev" || parts[4] != "tele" {
		return 0
	}
	id, err := strconv.ParseInt(parts[3], 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

// sleep waits d or until ctx ends; false when it ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
