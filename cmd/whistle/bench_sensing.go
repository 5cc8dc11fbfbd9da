package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/bus"
	"whistle/internal/db"
	"whistle/internal/device"
	"whistle/internal/loadgen"
	"whistle/internal/registry"
	"whistle/internal/sensing"
	"whistle/internal/simulate"
	"whistle/internal/timer"
)

// cmdBenchSensing is `whistle bench sensing` (issue 17's figures), in one
// process and one script:
//
//  1. the baseline: raw QoS 1 publish → subscribe through an embedded NATS
//     MQTT listener, no authentication, for --baseline;
//  2. the server as `serve` wires it (demo district and registry, the MQTT
//     listener with device authentication, the durable consumer, the rules
//     in the ingest transaction, the kernel's timers and sweep), with
//     --devices watches and two rules: heart_rate > 150 and absence for
//     --absence. One message per device arms every absence silence; then
//     the same publishers send --messages as fast as the broker takes
//     them while --silent devices say nothing (their silences fire under
//     the load). Sustained rate = readings committed through the rules /
//     time to the last commit; lost = acknowledged − committed; the
//     silences' lateness; then, at half that rate for --latency-duration,
//     one message in 100 a device's first trip: p50/p99 from publish to the
//     committed alarm; RSS;
//  3. HTTP batch ingest, --batch readings a request, through the real
//     POST /api/v1/telemetry against a bare handler that decodes the same
//     JSON with the same decoder.
//
// The whole bench, baseline included, runs with serve's garbage-collector
// setting (--gc-percent, 400 unless GOGC is set), as the server would.
//
// The publishers are MQTT clients of the same process; they connect as one
// bench user allowed every device's topic (authentication is per
// connection, so this changes nothing per message).
func cmdBenchSensing(ctx context.Context, args []string, e env) error {
	var data, dbURL string
	var devices, silent, publishers, inflight, people, batch, workers int
	var base, dur, absence, httpDur time.Duration
	fs := flag.NewFlagSet("bench sensing", flag.ContinueOnError)
	fs.StringVar(&data, "data", "", "data dir (default: a new temp dir)")
	fs.StringVar(&dbURL, "db", "", "PostgreSQL URL (a fresh database or schema); empty uses SQLite in the data dir")
	fs.IntVar(&devices, "devices", 100000, "simulated watches, each with its absence timer armed")
	fs.IntVar(&silent, "silent", 100, "of them, those that go silent after arming (their absence alarms are timed)")
	fs.IntVar(&people, "people", 20000, "the demo registry's people (the devices are placed in their houses)")
	fs.IntVar(&publishers, "publishers", 8, "MQTT publisher connections")
	fs.IntVar(&inflight, "inflight", 256, "publishes awaiting their PUBACK per connection")
	fs.DurationVar(&base, "baseline", 20*time.Second, "how long the raw broker baseline runs")
	var messages int64
	fs.Int64Var(&messages, "messages", 150000, "messages of the sustained run (enough to last longer than --absence, so that the silent devices fire under load)")
	fs.DurationVar(&dur, "latency-duration", 20*time.Second, "how long the latency run publishes, at half the sustained rate")
	fs.DurationVar(&absence, "absence", time.Minute, "the absence rule's time (at least 1m)")
	fs.IntVar(&batch, "batch", 1000, "readings per HTTP request")
	fs.IntVar(&workers, "http-workers", 4, "concurrent HTTP clients")
	fs.DurationVar(&httpDur, "http-duration", 15*time.Second, "how long each HTTP measurement runs")
	var gcPercent int
	fs.IntVar(&gcPercent, "gc-percent", 400, "Go garbage collector target percentage for the whole bench, baseline included: serve's default (GOGC in the environment wins; 0 leaves Go's)")
	var profiles profileFlags
	profiles.register(fs, "the sustained MQTT run and the HTTP ingest")
	if _, err := parse(fs, args, e); err != nil {
		return err
	}
	gc := "GOGC " + e.getenv("GOGC")
	if e.getenv("GOGC") == "" && gcPercent > 0 {
		prev := debug.SetGCPercent(gcPercent)
		defer debug.SetGCPercent(prev)
		gc = "GC percent " + strconv.Itoa(gcPercent) + " (serve's --gc-percent)"
	} else if e.getenv("GOGC") == "" {
		gc = "Go's default GC percent"
	}
	if devices < 1000 || silent < 0 || silent >= devices || absence < time.Minute {
		return errors.New("bench sensing: --devices at least 1000, --silent fewer (or 0: no absence timing), --absence at least 1m")
	}
	if data == "" {
		dir, err := os.MkdirTemp("", "whistle-bench-sensing-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		data = dir
	}
	say := func(format string, a ...any) { fmt.Fprintf(e.stdout, format+"\n", a...) }
	say("bench sensing: %d CPUs, GOMAXPROCS %d, %s, %s", runtime.NumCPU(), runtime.GOMAXPROCS(0), storeName(dbURL), gc)
	body := func(hr float64) []byte {
		b, _ := json.Marshal(map[string]any{"ts": time.Now().UTC().Format(time.RFC3339Nano), "values": map[string]any{"heart_rate": hr, "steps": 1200, "battery": 80}})
		return b
	}

	// 1. The raw broker.
	c0 := cpuTime()
	raw, err := rawBroker(ctx, data, publishers, inflight, base, body)
	if err != nil {
		return err
	}
	// The process's CPU a message: on a shared machine the figure to
	// compare (the rates follow the load).
	rawCPU := perMessage(cpuTime()-c0, raw.received)
	say("raw broker: %d published, %d acknowledged, %d received in %.1fs: %.0f msg/s (lost %d); process CPU %.1f µs a message",
		raw.Published, raw.Acked, raw.received, raw.Elapsed.Seconds(), raw.rate, raw.Acked-raw.received, rawCPU)

	// 2. The server's pipeline.
	port, err := freeTCPPort()
	if err != nil {
		return err
	}
	pw := randomPassword()
	var o options
	sfs := flag.NewFlagSet("bench", flag.ContinueOnError)
	o.serveFlags(sfs)
	pargs := []string{"--data", data, "--log-level", "warn", "--mqtt-port", strconv.Itoa(port)}
	if dbURL != "" {
		pargs = append(pargs, "--db", dbURL)
	}
	if _, err := parse(sfs, pargs, env{getenv: func(string) string { return "" }, stdout: io.Discard, stderr: e.stderr}); err != nil {
		return err
	}
	o.seed, o.demoPassword, o.demoPeople = 1, "bench-sensing-password", people
	o.benchUser, o.benchPassword = "bench", pw
	t0 := time.Now()
	w, err := wire(ctx, &o, env{getenv: e.getenv, stdout: io.Discard, stderr: e.stderr}, true)
	if err != nil {
		return err
	}
	defer w.close()
	w.devices.SetHashParams(account.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}) // the bench publishes as one user
	ids, district, err := benchDevices(ctx, w, devices)
	if err != nil {
		return err
	}
	say("setup: demo district, %d people, %d watches in %.0fs", people, len(ids), time.Since(t0).Seconds())
	sys := sensing.System()
	hr, kind, typ := "heart_rate > 150", "threshold", "smart_watch"
	name := "心率过高"
	if _, err := w.sensing.CreateRule(ctx, sys, sensing.RuleInput{Name: &name, Kind: &kind, DeviceType: &typ, Expr: &hr}); err != nil {
		return err
	}
	secs, akind, aname := int64(absence/time.Second), "absence", "手表失联"
	if _, err := w.sensing.CreateRule(ctx, sys, sensing.RuleInput{Name: &aname, Kind: &akind, DeviceType: &typ, Seconds: &secs}); err != nil {
		return err
	}
	probe := &benchSink{}
	w.ingest.UseSink(probe)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	var bg sync.WaitGroup
	defer bg.Wait()
	defer stop()
	timers := timer.NewRunner(w.app.db, timer.Config{Logger: w.app.logger})
	w.sensing.RegisterTimers(timers)
	if err := w.sensing.Reload(rctx); err != nil {
		return err
	}
	js, err := bus.JetStream(w.bus)
	if err != nil {
		return err
	}
	for _, f := range []func(){
		func() { _ = timers.Run(rctx, time.Second) },
		func() { w.sensing.Run(rctx, time.Second) },
		func() { _ = w.feed.Run(rctx) },
		func() { _ = device.NewConsumer(js, w.ingest, device.ConsumerConfig{}, w.app.logger).Run(rctx) },
		func() { w.ingest.RunFlush(rctx, aggregateFlushEvery, w.app.logger.Info) }, // as serve does: its cost is the ingest's
	} {
		bg.Add(1)
		go func() { defer bg.Done(); f() }()
	}
	url := fmt.Sprintf("tcp://127.0.0.1:%d", port)
	mqttTopic := func(id int64) string { return "whistle/" + district + "/dev/" + strconv.FormatInt(id, 10) + "/tele" }

	// Arm: one message from every device.
	t1 := time.Now()
	armed, err := simulate.Flood(ctx, simulate.FloodConfig{URL: url, User: "bench", Password: pw, Clients: publishers, InFlight: inflight, N: int64(len(ids)),
		Message: func(i int64) (string, []byte) { return mqttTopic(ids[i]), body(70) }})
	if err != nil {
		return err
	}
	if err := probe.wait(ctx, armed.Acked, 10*time.Minute); err != nil {
		return err
	}
	say("arming: %d messages, one a device, committed in %.1fs (%.0f/s)", armed.Acked, time.Since(t1).Seconds(), float64(armed.Acked)/time.Since(t1).Seconds())

	// Sustained: --messages from every device but the silent ones, round
	// robin, as fast as the broker takes them; the rate is the readings
	// committed through the rules over the time to the last commit.
	live := ids[silent:]
	message := func(trip int64) func(i int64) (string, []byte) {
		var trips atomic.Int64
		return func(i int64) (string, []byte) {
			if trip > 0 && i%trip == trip-1 {
				// A device's first trip: a new alarm, not a repeat.
				if k := trips.Add(1) - 1; k < int64(len(live)) {
					return mqttTopic(live[(int64(len(live))-1-k)%int64(len(live))]), body(170)
				}
			}
			return mqttTopic(live[i%int64(len(live))]), body(70)
		}
	}
	// The arming's aggregates are flushed before the sustained run starts,
	// so that its conservative rate (below) pays for its own readings'
	// aggregates and not for the arming's.
	t3 := time.Now()
	queued, queuedRows, err := queuedAggregates(ctx, w)
	if err != nil {
		return err
	}
	if _, err := w.ingest.FlushAggregates(ctx); err != nil {
		return err
	}
	say("arming's aggregates: %d (in %d rows) still queued after its last commit, flushed in %.1fs before the sustained run", queued, queuedRows, time.Since(t3).Seconds())
	stopProfiles, err := profiles.start()
	if err != nil {
		return err
	}
	defer stopProfiles()
	before := probe.committed.Load()
	t2, c2 := time.Now(), cpuTime()
	st, err := simulate.Flood(ctx, simulate.FloodConfig{URL: url, User: "bench", Password: pw, Clients: publishers, InFlight: inflight, N: messages,
		Message: message(0)})
	if err != nil {
		return err
	}
	published := time.Since(t2)
	if err := probe.wait(ctx, before+st.Acked, 15*time.Minute); err != nil {
		say("sustained: %v", err)
	}
	elapsed := time.Since(t2)
	committed := probe.committed.Load() - before
	rate := float64(committed) / elapsed.Seconds()
	say("sustained: %d published, %d acknowledged, %d failed in %.1fs (the broker's intake: %.0f msg/s); %d committed through the rules by %.1fs: %.0f msg/s = %.2f× the raw broker; lost %d",
		st.Published, st.Acked, st.Failed, published.Seconds(), float64(st.Acked)/published.Seconds(), committed, elapsed.Seconds(), rate, rate/raw.rate, st.Acked-committed)
	// The per-field aggregates are queued with the readings and added to
	// dev_aggregates in the background (device.Ingester.RunFlush): what is
	// still queued is work the sustained rate did not pay.
	if queued, queuedRows, err := queuedAggregates(ctx, w); err == nil {
		say("aggregates still queued at the last commit: %d (in %d rows), flushed in the background", queued, queuedRows)
	}
	// The conservative rate: the same readings over the time until their
	// aggregates are in dev_aggregates too (the queue drained now, with
	// the background flush still running beside it).
	if _, err := w.ingest.FlushAggregates(ctx); err != nil {
		say("sustained, flushed: %v", err)
	} else {
		drained, cpu := time.Since(t2), cpuTime()-c2
		flushed := float64(committed) / drained.Seconds()
		say("sustained with the aggregates flushed: %d readings by %.1fs (the queue drained %.1fs after the last commit): %.0f msg/s = %.2f× the raw broker",
			committed, drained.Seconds(), (drained - elapsed).Seconds(), flushed, flushed/raw.rate)
		say("sustained's process CPU: %.1fs = %.1f µs a message (publishers, broker, ingest, rules and flush; the raw broker's run %.1f µs a message)",
			cpu.Seconds(), perMessage(cpu, committed), rawCPU)
	}
	say("RSS: %s", rss())

	// Latency: at half the sustained rate, one message in 100 a device's
	// first trip; from the publish to the commit of its alarm.
	probe.reset()
	before = probe.committed.Load()
	lctx, lstop := context.WithTimeout(ctx, dur)
	lt, err := simulate.Flood(lctx, simulate.FloodConfig{URL: url, User: "bench", Password: pw, Clients: publishers, InFlight: inflight, Rate: rate / 2,
		Message: message(100)})
	lstop()
	if err != nil {
		return err
	}
	if err := probe.wait(ctx, before+lt.Acked, 5*time.Minute); err != nil {
		say("latency run: %v", err)
	}
	lat := probe.latencies()
	// The silent devices' absence alarms: due --absence after arming; the
	// others, publishing every few seconds, stay armed.
	loadEnd := time.Now()
	for silent > 0 && (time.Since(t1) < absence+5*time.Second || w.sensing.SilenceStats().Fired < silent) {
		if time.Since(t1) > absence+2*time.Minute || ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	ss := w.sensing.SilenceStats()
	when := "after the load"
	if t1.Add(absence).Before(loadEnd) {
		when = "under load"
	}
	say("absence (%s, %d armed, %d silent): %d fired %s, lateness p50 %s, p99 %s, max %s", absence, len(ids), silent, ss.Fired, when,
		ss.P50.Round(time.Millisecond), ss.P99.Round(time.Millisecond), ss.Max.Round(time.Millisecond))
	say("publish → alarm at %.0f msg/s (threshold rule, %d alarms): p50 %s, p99 %s, max %s; lost %d", rate/2, len(lat), pct(lat, 0.5), pct(lat, 0.99), pct(lat, 1),
		lt.Acked-(probe.committed.Load()-before))
	say("RSS: %s", rss())

	// 3. HTTP batch ingest against a bare decoding handler.
	hb, err := benchHTTP(ctx, w, ids[silent:], batch, workers, httpDur)
	if err != nil {
		return err
	}
	say("HTTP bare decode: %s → %.0f readings/s; process CPU %.1f µs a reading", hb.bare, hb.bare.PerSecond*float64(batch),
		perMessage(hb.bareCPU, int64(hb.bare.Requests*batch)))
	say("HTTP POST /api/v1/telemetry: %s → %.0f readings/s = %.2f× the bare handler; process CPU %.1f µs a reading (clients included)", hb.whistle, hb.whistle.PerSecond*float64(batch),
		hb.whistle.PerSecond/hb.bare.PerSecond, perMessage(hb.whistleCPU, int64(hb.whistle.Requests*batch)))
	say("HTTP: %d absence alarms fired meanwhile (devices the batches do not name, silent since the latency run)", hb.silences)
	say("RSS: %s", rss())
	return nil
}

// queuedAggregates is how many aggregates (and rows) dev_agg_pending holds.
func queuedAggregates(ctx context.Context, w *wired) (n, rows int64, err error) {
	err = w.devices.DB().QueryRow(ctx, `SELECT COALESCE(SUM(n), 0), COUNT(*) FROM dev_agg_pending`).Scan(&n, &rows)
	return n, rows, err
}

func storeName(dbURL string) string {
	if dbURL != "" {
		return "PostgreSQL"
	}
	return "SQLite"
}

func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randomPassword() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// rawResult is the raw broker's run.
type rawResult struct {
	simulate.FloodStats
	received int64
	rate     float64
}

// rawBroker measures QoS 1 publish → subscribe through an embedded NATS
// MQTT listener without authentication: the same publishers, the same
// message size, one QoS 1 subscriber counting.
func rawBroker(ctx context.Context, data string, publishers, inflight int, d time.Duration, body func(float64) []byte) (rawResult, error) {
	var out rawResult
	port, err := freeTCPPort()
	if err != nil {
		return out, err
	}
	dir, err := os.MkdirTemp(data, "raw-")
	if err != nil {
		return out, err
	}
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b, err := bus.Open(bctx, bus.Config{DataDir: dir, MQTTPort: port}, nil)
	if err != nil {
		return out, err
	}
	defer b.Close()
	url := fmt.Sprintf("tcp://127.0.0.1:%d", port)
	var got atomic.Int64
	sub := mqtt.NewClient(mqtt.NewClientOptions().AddBroker(url).SetClientID("bench-raw-sub").SetCleanSession(true).SetOrderMatters(false).
		SetAutoReconnect(false))
	if tok := sub.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return out, fmt.Errorf("raw subscriber: %v", tok.Error())
	}
	defer sub.Disconnect(250)
	if tok := sub.Subscribe("bench/raw/#", 1, func(mqtt.Client, mqtt.Message) { got.Add(1) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return out, fmt.Errorf("raw subscribe: %v", tok.Error())
	}
	pctx, stop := context.WithTimeout(ctx, d)
	defer stop()
	start := time.Now()
	st, err := simulate.Flood(pctx, simulate.FloodConfig{URL: url, Clients: publishers, InFlight: inflight,
		Message: func(i int64) (string, []byte) { return "bench/raw/" + strconv.FormatInt(i%1000, 10), body(70) }})
	if err != nil {
		return out, err
	}
	for deadline := time.Now().Add(2 * time.Minute); got.Load() < st.Acked && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	out.FloodStats, out.received = st, got.Load()
	out.rate = float64(out.received) / time.Since(start).Seconds()
	return out, nil
}

// benchDevices registers n watches in the demo registry's houses (500 to
// a transaction) and returns their ids and district.
func benchDevices(ctx context.Context, w *wired, n int) ([]int64, string, error) {
	var houses []int64
	for off := 0; len(houses) < n; off += 1000 {
		hs, err := w.registry.Houses(ctx, account.SystemScope(), registry.HouseFilter{}, registry.Page{Limit: 1000, Offset: off})
		if err != nil {
			return nil, "", err
		}
		for _, h := range hs {
			houses = append(houses, h.ID)
		}
		if len(hs) < 1000 {
			break
		}
	}
	if len(houses) == 0 {
		return nil, "", errors.New("bench sensing: the demo registry has no houses (raise --people)")
	}
	ids, district := make([]int64, 0, n), ""
	for lo := 0; lo < n; lo += 500 {
		nds := make([]device.NewDevice, 0, 500)
		for i := lo; i < min(lo+500, n); i++ {
			nds = append(nds, device.NewDevice{Type: "smart_watch", Model: "bench", Serial: fmt.Sprintf("B-%07d", i), OwnerKind: device.OwnerHouse, OwnerID: houses[i%len(houses)]})
		}
		cs, err := w.devices.CreateMany(ctx, account.SystemScope(), nds)
		if err != nil {
			return nil, "", err
		}
		for _, c := range cs {
			ids = append(ids, c.ID)
			district = c.District
		}
	}
	return ids, district, nil
}

// benchSink counts the committed readings and times the threshold trips
// from their publish (the payload's ts) to the commit of their alarm.
type benchSink struct {
	committed atomic.Int64
	mu        sync.Mutex
	lat       []time.Duration
}

func (b *benchSink) Readings(_ context.Context, tx *db.Tx, _ map[int64]*device.Device, rs []device.Reading) error {
	var trips []time.Time
	for _, r := range rs {
		if r.Values["heart_rate"] > 150 {
			trips = append(trips, r.TS)
		}
	}
	n := int64(len(rs))
	tx.AfterCommit(func() {
		now := time.Now()
		b.committed.Add(n)
		if len(trips) > 0 {
			b.mu.Lock()
			for _, t := range trips {
				b.lat = append(b.lat, now.Sub(t))
			}
			b.mu.Unlock()
		}
	})
	return nil
}

func (b *benchSink) reset() {
	b.mu.Lock()
	b.lat = nil
	b.mu.Unlock()
}

func (b *benchSink) latencies() []time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := slices.Clone(b.lat)
	slices.Sort(out)
	return out
}

// wait waits until n readings have committed, or d passes.
func (b *benchSink) wait(ctx context.Context, n int64, d time.Duration) error {
	deadline := time.Now().Add(d)
	for b.committed.Load() < n {
		if ctx.Err() != nil || time.Now().After(deadline) {
			return fmt.Errorf("%d of %d readings committed", b.committed.Load(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}

func pct(ds []time.Duration, q float64) string {
	if len(ds) == 0 {
		return "–"
	}
	return ds[min(len(ds)-1, int(q*float64(len(ds))))].Round(100 * time.Microsecond).String()
}

// rss is the process's resident set, now and at its peak.
func rss() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	var now, peak string
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			now = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			peak = strings.TrimSpace(v)
		}
	}
	return now + " (peak " + peak + ")"
}

type httpBench struct {
	bare, whistle       loadgen.Result
	bareCPU, whistleCPU time.Duration // the process's CPU during each
	// silences is how many absence alarms fired during Whistle's run.
	silences int
}

// perMessage is cpu in µs a message of n.
func perMessage(cpu time.Duration, n int64) float64 {
	if n <= 0 {
		return 0
	}
	return float64(cpu.Microseconds()) / float64(n)
}

// benchHTTP posts batches of readings of ids through the real telemetry
// route and to a bare handler that decodes the same body with the same
// decoder.
func benchHTTP(ctx context.Context, w *wired, ids []int64, batch, workers int, d time.Duration) (httpBench, error) {
	var out httpBench
	key, _, err := w.app.accounts.CreateAPIKey(ctx, audit.System("bench sensing"), "bench-gateway")
	if err != nil {
		return out, err
	}
	// The batches name every device in turn, each once a cycle: a device
	// the batches left out would go silent and fire its absence alarm
	// while they are timed (20,007 of them in a 15 s run when 16 batches
	// named 16,000 of the 99,900).
	bodies := make([][]byte, (len(ids)+batch-1)/batch)
	for k := range bodies {
		items := make([]map[string]any, batch)
		for i := range items {
			items[i] = map[string]any{"device": ids[(k*batch+i)%len(ids)], "values": map[string]any{"heart_rate": 72, "steps": 800, "battery": 80}}
		}
		bodies[k], _ = json.Marshal(items)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/telemetry", func(rw http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		items, _, _, err := device.DecodeItems(b)
		if err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(rw).Encode(map[string]any{"accepted": len(items)})
	})
	run := func(h http.Handler) (loadgen.Result, error) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return loadgen.Result{}, err
		}
		srv := &http.Server{Handler: h}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		url := "http://" + ln.Addr().String() + "/api/v1/telemetry"
		var seq atomic.Int64
		return loadgen.Run(ctx, loadgen.Client(workers), workers, d, http.StatusCreated, func(int, int) (*http.Request, error) {
			return loadgen.JSONPost(url, bodies[seq.Add(1)%int64(len(bodies))], "X-API-Key", key)
		})
	}
	c0 := cpuTime()
	if out.bare, err = run(mux); err != nil {
		return out, err
	}
	c1 := cpuTime()
	f0 := w.sensing.SilenceStats().Fired
	out.whistle, err = run(w.srv)
	out.bareCPU, out.whistleCPU = c1-c0, cpuTime()-c1
	out.silences = w.sensing.SilenceStats().Fired - f0
	return out, err
}
