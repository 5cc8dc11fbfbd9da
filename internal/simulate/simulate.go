// Package simulate publishes realistic device telemetry over real MQTT
// (issue 17, Build 6): elderly residents' water meters and watches, a
// resident who stops using water, a leak, a fall, and parking sensors at
// a realistic turnover. Each device connects with its own credentials and
// publishes QoS 1 JSON on its own topic, exactly as a device in the field
// does; the server cannot tell it from one. It serves demos, soak tests
// and the big screen.
package simulate

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Device is one simulated device: its credentials and scenario.
type Device struct {
	ID       int64
	Type     string
	District string
	Username string
	Password string
	Scenario string
}

// Topic is the device's MQTT telemetry topic.
func (d Device) Topic() string {
	return "whistle/" + d.District + "/dev/" + strconv.FormatInt(d.ID, 10) + "/tele"
}

// Config is a simulation run.
type Config struct {
	// URL is the MQTT broker, tcp://host:port.
	URL     string
	Devices []Device
	// Rate is the messages a second, over every device: each device
	// reports every len(Devices)/Rate seconds, the devices staggered.
	Rate float64
	// Speed is simulated seconds per wall second (default 1): at 60 a
	// report covers a minute of the day per second of the run.
	Speed float64
	// Onset is when, in simulated time after the start, the special
	// scenarios begin (the water stops, the leak starts, the fall).
	Onset time.Duration
	// Seed makes the run repeatable (the same draws per device).
	Seed uint64
	// InFlight bounds the publishes awaiting their PUBACK (default 1,000).
	InFlight int
	// Report, if set, is called with the running totals every ReportEvery
	// (default 5 s) and once at the end.
	Report      func(Stats)
	ReportEvery time.Duration
	Logger      *slog.Logger
	// Now is the wall clock (default time.Now).
	Now func() time.Time
}

// Stats are a run's totals.
type Stats struct {
	// Connected devices, and Refused connections (bad credentials, a
	// broker that is down).
	Connected, Refused int
	// Published messages, Acked by the broker (QoS 1 PUBACK), Failed
	// (refused or timed out), and Skipped when the run fell more than a
	// second behind its rate.
	Published, Acked, Failed, Skipped int64
}

// errNoDevices is a run without devices.
var errNoDevices = errors.New("simulate: no devices")

// Run connects every device and publishes at cfg.Rate until ctx ends,
// then waits for the publishes in flight (at most 5 s), disconnects every
// device and returns the totals. A stop through ctx is the normal end,
// not an error; a run in which no device could connect is one.
func Run(ctx context.Context, cfg Config) (Stats, error) {
	var st Stats
	if len(cfg.Devices) == 0 {
		return st, errNoDevices
	}
	if cfg.Rate <= 0 {
		return st, fmt.Errorf("simulate: the rate must be positive")
	}
	if cfg.Speed <= 0 {
		cfg.Speed = 1
	}
	if cfg.InFlight <= 0 {
		cfg.InFlight = 1000
	}
	if cfg.ReportEvery <= 0 {
		cfg.ReportEvery = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	clients, refused := connectAll(ctx, cfg)
	st.Connected, st.Refused = len(clients), refused
	defer disconnectAll(clients)
	if len(clients) == 0 {
		if ctx.Err() != nil {
			return st, nil
		}
		return st, fmt.Errorf("simulate: none of the %d devices could connect to %s", len(cfg.Devices), cfg.URL)
	}
	start := cfg.Now()
	onset := start.Add(cfg.Onset)
	for _, c := range clients {
		c.model = newModel(c.dev.Scenario, start, onset, rand.New(rand.NewPCG(cfg.Seed, uint64(c.dev.ID))))
	}
	var published, acked, failed, skipped atomic.Int64
	snapshot := func() Stats {
		s := st
		s.Published, s.Acked, s.Failed, s.Skipped = published.Load(), acked.Load(), failed.Load(), skipped.Load()
		return s
	}
	sem := make(chan struct{}, cfg.InFlight)
	var wg sync.WaitGroup
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	lastReport := start
	var sent int64
	next := 0
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
		}
		now := cfg.Now()
		due := int64(cfg.Rate * now.Sub(start).Seconds())
		if behind := due - sent - int64(cfg.Rate); behind > 0 {
			// More than a second behind: drop the backlog rather than
			// burst it (the broker or the server is the limit).
			skipped.Add(behind)
			sent += behind
		}
		sim := start.Add(time.Duration(float64(now.Sub(start)) * cfg.Speed))
		for ; sent < due; sent++ {
			c := clients[next]
			next = (next + 1) % len(clients)
			body, _ := json.Marshal(map[string]any{"ts": now.UTC().Format(time.RFC3339Nano), "values": c.model.next(sim)})
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				break loop
			}
			tok := c.client.Publish(c.dev.Topic(), 1, false, body)
			published.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				if !tok.WaitTimeout(30*time.Second) || tok.Error() != nil {
					failed.Add(1)
					return
				}
				acked.Add(1)
			}()
		}
		if cfg.Report != nil && now.Sub(lastReport) >= cfg.ReportEvery {
			cfg.Report(snapshot())
			lastReport = now
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cfg.Logger.Warn("simulate: publishes still awaiting their PUBACK at the stop")
	}
	out := snapshot()
	if cfg.Report != nil {
		cfg.Report(out)
	}
	return out, nil
}

// simClient is a connected device with its model.
type simClient struct {
	dev    Device
	client mqtt.Client
	model  model
}

// connectAll connects the devices, eight at a time (the server checks
// each password with argon2id), and returns those that connected.
func connectAll(ctx context.Context, cfg Config) ([]*simClient, int) {
	var mu sync.Mutex
	var out []*simClient
	refused := 0
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for _, d := range cfg.Devices {
		if ctx.Err() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			o := mqtt.NewClientOptions().AddBroker(cfg.URL).SetClientID("sim-" + d.Username).SetUsername(d.Username).SetPassword(d.Password).
				SetCleanSession(true).SetAutoReconnect(true).SetConnectRetry(false).SetConnectTimeout(10 * time.Second).
				SetKeepAlive(60 * time.Second).SetOrderMatters(false).SetWriteTimeout(10 * time.Second)
			c := mqtt.NewClient(o)
			tok := c.Connect()
			ok := tok.WaitTimeout(15*time.Second) && tok.Error() == nil
			mu.Lock()
			defer mu.Unlock()
			if !ok {
				refused++
				cfg.Logger.Warn("simulate: device refused", "device", d.ID, "err", tok.Error())
				c.Disconnect(0)
				return
			}
			out = append(out, &simClient{dev: d, client: c})
		}()
	}
	wg.Wait()
	// Publish in the devices' order, whatever order they connected in.
	order := make(map[int64]int, len(cfg.Devices))
	for i, d := range cfg.Devices {
		order[d.ID] = i
	}
	slices.SortFunc(out, func(a, b *simClient) int { return cmp.Compare(order[a.dev.ID], order[b.dev.ID]) })
	return out, refused
}

// disconnectAll disconnects every client, several at a time.
func disconnectAll(cs []*simClient) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for _, c := range cs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c.client.Disconnect(250)
		}()
	}
	wg.Wait()
}

// FloodConfig is a load run for the benchmarks: Clients connections as
// User publish QoS 1 messages as fast as their in-flight windows allow,
// until ctx ends or N messages (0: no limit) are published.
type FloodConfig struct {
	URL, User, Password string
	Clients             int
	// InFlight bounds each connection's publishes awaiting their PUBACK
	// (default 256).
	InFlight int
	N        int64
	// Rate paces the publishes, messages a second over all connections
	// (0: as fast as the windows allow).
	Rate float64
	// Message is the i-th message (0-based, over all connections).
	Message func(i int64) (topic string, body []byte)
}

// FloodStats are a flood's totals.
type FloodStats struct {
	Published, Acked, Failed int64
	Elapsed                  time.Duration
}

// Flood runs a load as FloodConfig says and returns its totals once every
// publish has its PUBACK (or failed).
func Flood(ctx context.Context, cfg FloodConfig) (FloodStats, error) {
	if cfg.Clients <= 0 {
		cfg.Clients = 8
	}
	if cfg.InFlight <= 0 {
		cfg.InFlight = 256
	}
	var st FloodStats
	clients := make([]mqtt.Client, cfg.Clients)
	for i := range clients {
		o := mqtt.NewClientOptions().AddBroker(cfg.URL).SetClientID(fmt.Sprintf("flood-%d-%d", i, time.Now().UnixNano())).
			SetUsername(cfg.User).SetPassword(cfg.Password).SetCleanSession(true).SetAutoReconnect(false).SetOrderMatters(false).
			SetConnectTimeout(10 * time.Second).SetWriteTimeout(30 * time.Second)
		c := mqtt.NewClient(o)
		if tok := c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
			for _, d := range clients[:i] {
				d.Disconnect(0)
			}
			return st, fmt.Errorf("simulate: flood connection %d: %v", i, tok.Error())
		}
		clients[i] = c
	}
	defer func() {
		for _, c := range clients {
			c.Disconnect(250)
		}
	}()
	var next, published, acked, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	// due waits for the i-th message's turn at the paced rate.
	due := func(i int64) bool {
		if cfg.Rate <= 0 {
			return true
		}
		at := start.Add(time.Duration(float64(i) / cfg.Rate * float64(time.Second)))
		t := time.NewTimer(time.Until(at))
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem := make(chan struct{}, cfg.InFlight)
			var inner sync.WaitGroup
			defer inner.Wait()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if cfg.N > 0 && i >= cfg.N || !due(i) {
					return
				}
				topic, body := cfg.Message(i)
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				tok := c.Publish(topic, 1, false, body)
				published.Add(1)
				inner.Add(1)
				go func() {
					defer inner.Done()
					defer func() { <-sem }()
					if !tok.WaitTimeout(60*time.Second) || tok.Error() != nil {
						failed.Add(1)
						return
					}
					acked.Add(1)
				}()
			}
		}()
	}
	wg.Wait()
	st.Published, st.Acked, st.Failed, st.Elapsed = published.Load(), acked.Load(), failed.Load(), time.Since(start)
	return st, nil
}
