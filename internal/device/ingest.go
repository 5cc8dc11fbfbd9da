package device

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"whistle/internal/db"
	"whistle/internal/errs"
)

// Reasons a message is refused, counted per device in dev_malformed.
const (
	ReasonJSON          = "not_json"       // not a JSON object
	ReasonType          = "wrong_type"     // a field of the wrong JSON type
	ReasonRange         = "out_of_range"   // outside the profile's range or values
	ReasonUnknownField  = "unknown_field"  // a field the profile lacks
	ReasonUnknownDevice = "unknown_device" // no such device (counted on device 0), or out of the sender's scope
	ReasonOversized     = "oversized"      // larger than the message limit
	ReasonTime          = "bad_time"       // ts unparsable or too far in the future
	ReasonWrongDevice   = "wrong_device"   // the payload names another device than its topic
	ReasonRetired       = "retired"        // the device is retired
	ReasonEmpty         = "no_values"      // no values at all
)

// IngestConfig sets the limits and the keeping of readings.
type IngestConfig struct {
	// MaxBytes bounds one message (default 4 KiB).
	MaxBytes int
	// Resolution is the aggregates' bucket (default one minute), and how
	// far behind a device's stored last seen may be.
	Resolution time.Duration
	// Retention is how long raw readings are kept (default 7 days).
	Retention time.Duration
	// MaxSkew is how far in the future a timestamp may be (default 5 min).
	MaxSkew time.Duration
}

func (c IngestConfig) withDefaults() IngestConfig {
	if c.MaxBytes <= 0 {
		c.MaxBytes = 4 << 10
	}
	if c.Resolution <= 0 {
		c.Resolution = time.Minute
	}
	if c.Retention <= 0 {
		c.Retention = 7 * 24 * time.Hour
	}
	if c.MaxSkew <= 0 {
		c.MaxSkew = 5 * time.Minute
	}
	return c
}

// Ingester validates telemetry and commits each batch in one transaction:
// raw readings, the batch's aggregates (queued, see FlushAggregates), the
// devices' last seen (to within the resolution), status and battery, the
// malformed counters, and every Sink.
type Ingester struct {
	store *Store
	cfg   IngestConfig
	sinks []Sink
	// flushMu keeps this process's aggregate flushes one at a time.
	flushMu sync.Mutex
	// placed are the devices' ingest columns by id, as stored at the
	// devices' generation gen (see devices).
	placedMu sync.Mutex
	placed   map[int64]Device
	gen      int64
}

// NewIngester returns an Ingester on s.
func NewIngester(s *Store, cfg IngestConfig) *Ingester {
	return &Ingester{store: s, cfg: cfg.withDefaults()}
}

// Config is the ingester's configuration, defaults filled in.
func (in *Ingester) Config() IngestConfig { return in.cfg }

// UseSink adds a sink; sinks are called in the order added, in the batch's
// transaction. Call before ingesting.
func (in *Ingester) UseSink(k Sink) { in.sinks = append(in.sinks, k) }

// Message is one raw message of a device, from MQTT.
type Message struct {
	// Device is the id in the topic (0 when it had none).
	Device   int64
	Data     []byte
	Received time.Time
	// Seq and Epoch identify a JetStream message (its stream sequence and
	// the stream's creation); a message already committed is skipped.
	Seq, Epoch int64
}

// Item is one decoded reading of a device: an element of the HTTP batch.
type Item struct {
	Device int64          `json:"device"`
	TS     string         `json:"ts"`
	Values map[string]any `json:"values"`
}

// Refusal is one refused message: its index in the batch, its device and
// the reason.
type Refusal struct {
	Index  int    `json:"index"`
	Device int64  `json:"device,omitempty"`
	Reason string `json:"reason"`
}

// Result is what a batch did.
type Result struct {
	Accepted   int       `json:"accepted"`
	Duplicates int       `json:"duplicates,omitempty"`
	Refused    []Refusal `json:"refused,omitempty"`
}

// pending is a message on its way through a batch.
type pending struct {
	idx        int
	device     int64
	ts         string
	values     map[string]any
	received   time.Time
	seq, epoch int64
	bad        string // the decoding's reason
	reason     string
	sample     string
	reading    Reading
}

// payload is an MQTT message's body.
type payload struct {
	Device *int64         `json:"device"`
	TS     string         `json:"ts"`
	Values map[string]any `json:"values"`
}

// decodeMessage parses one MQTT payload into p, or sets its reason.
func (in *Ingester) decodeMessage(m Message, p *pending) {
	p.bad = in.decode(m, p)
}

// decode parses m into p and returns the reason of a refusal, or "".
func (in *Ingester) decode(m Message, p *pending) string {
	p.device, p.received, p.seq, p.epoch = m.Device, m.Received, m.Seq, m.Epoch
	if len(m.Data) > in.cfg.MaxBytes {
		return ReasonOversized
	}
	// The usual shape without reflection (fastItem answers what
	// encoding/json would, or false); a device it reads is positive.
	if it, ok := fastItem(m.Data); ok {
		if it.Device != 0 && it.Device != m.Device {
			return ReasonWrongDevice
		}
		p.ts, p.values = it.TS, it.Values
		return ""
	}
	var pl payload
	if err := json.Unmarshal(m.Data, &pl); err != nil {
		p.sample = sample(m.Data)
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return ReasonType
		}
		return ReasonJSON
	}
	if pl.Device != nil && *pl.Device != m.Device {
		return ReasonWrongDevice
	}
	p.ts, p.values = pl.TS, pl.Values
	return ""
}

// sample keeps the start of a bad message for the admin page.
func sample(b []byte) string {
	const n = 120
	s := strings.ToValidUTF8(string(b[:min(len(b), n)]), "?")
	return s
}

// IngestMessages validates and commits a batch of MQTT messages. Refused
// messages are counted, never an error; the error is the database's, and
// then nothing of the batch was committed.
func (in *Ingester) IngestMessages(ctx context.Context, msgs []Message) (_ Result, err error) {
	defer errs.Wrapf(&err, "device.Ingester.IngestMessages(%d)", len(msgs))
	ps := make([]pending, len(msgs))
	for i, m := range msgs {
		ps[i].idx = i
		in.decodeMessage(m, &ps[i])
	}
	return in.commit(ctx, ps, nil)
}

// IngestItems validates and commits a batch of decoded items (HTTP);
// allowed says which devices the sender may report for (nil: all), the
// others are refused as unknown. received is the time they arrived.
func (in *Ingester) IngestItems(ctx context.Context, items []Item, received time.Time, allowed func(*Device) bool) (_ Result, err error) {
	defer errs.Wrapf(&err, "device.Ingester.IngestItems(%d)", len(items))
	ps := make([]pending, len(items))
	for i, it := range items {
		ps[i] = pending{idx: i, device: it.Device, ts: it.TS, values: it.Values, received: received}
	}
	return in.commit(ctx, ps, allowed)
}

// commit loads the batch's devices, validates, writes and calls the sinks,
// in one transaction. A batch without stream sequences whose devices are
// all kept (a gateway's, most of the time) is validated and encoded
// before the transaction, on the caller's goroutine, where batches run in
// parallel; the transaction then checks that the devices' generation has
// not moved since (else it does the work again inside), so that SQLite's
// single writer spends its time on writing alone.
func (in *Ingester) commit(ctx context.Context, ps []pending, allowed func(*Device) bool) (Result, error) {
	pre, err := in.prepare(ps, allowed)
	if err != nil {
		return Result{}, err
	}
	var res Result
	err = in.store.db.InTx(ctx, func(tx *db.Tx) error {
		var w *work
		if pre != nil {
			g, err := generation(ctx, tx)
			if err != nil {
				return err
			}
			if g == pre.gen {
				w = pre
			}
		}
		if w == nil {
			var err error
			if w, err = in.work(ctx, tx, ps, allowed); err != nil {
				return err
			}
		}
		res = w.res
		if err := in.write(ctx, tx, w); err != nil {
			return err
		}
		if err := in.countRefused(ctx, tx, w.ps, w.devs, tx.Now()); err != nil {
			return err
		}
		if len(w.ok) == 0 {
			return nil
		}
		rs := make([]Reading, len(w.ok))
		for i, p := range w.ok {
			rs[i] = p.reading
		}
		for _, k := range in.sinks {
			if err := k.Readings(ctx, tx, w.devs, rs); err != nil {
				return err
			}
		}
		return nil
	})
	return res, err
}

// work is a batch validated against its devices, as of the devices'
// generation gen, with its block and aggregates encoded.
type work struct {
	gen  int64
	now  time.Time
	ps   []pending
	devs map[int64]*Device
	ok   []*pending
	res  Result
	// block is the readings without a sequence, encoded (nil if none).
	block            []byte
	lo, hi, received time.Time
	blockN           int
	agg              string // the aggregates, encoded ("" if none)
	aggN             int
}

// prepare validates and encodes ps before the transaction when no
// message has a stream sequence (no duplicate to find) and every device
// is kept; otherwise it returns nil. It works on a copy of ps.
func (in *Ingester) prepare(ps []pending, allowed func(*Device) bool) (*work, error) {
	ids := make([]int64, 0, len(ps))
	for _, p := range ps {
		if p.seq > 0 {
			return nil, nil
		}
		if p.device > 0 {
			ids = append(ids, p.device)
		}
	}
	devs, g, ok := in.kept(ids)
	if !ok {
		return nil, nil
	}
	w := &work{gen: g, now: in.store.db.Now(), ps: slices.Clone(ps), devs: devs}
	for i := range w.ps {
		w.ps[i].reason, w.ps[i].reading = w.ps[i].bad, Reading{}
	}
	return w, in.finish(w, allowed)
}

// work validates and encodes ps inside tx, reading its duplicates and
// devices.
func (in *Ingester) work(ctx context.Context, tx *db.Tx, ps []pending, allowed func(*Device) bool) (*work, error) {
	w := &work{now: tx.Now(), ps: ps}
	for i := range ps {
		ps[i].reason, ps[i].reading = ps[i].bad, Reading{} // a retried transaction starts afresh
	}
	if err := in.dedupe(ctx, tx, ps, &w.res); err != nil {
		return nil, err
	}
	var err error
	if w.devs, w.gen, err = in.devices(ctx, tx, ps); err != nil {
		return nil, err
	}
	return w, in.finish(w, allowed)
}

// finish validates w's messages against w.devs and encodes the accepted.
func (in *Ingester) finish(w *work, allowed func(*Device) bool) error {
	for i := range w.ps {
		p := &w.ps[i]
		if p.reason == "dup" {
			continue
		}
		if p.reason == "" {
			in.validate(p, w.devs, allowed, w.now)
		}
		if p.reason != "" {
			w.res.Refused = append(w.res.Refused, Refusal{Index: p.idx, Device: p.device, Reason: p.reason})
			continue
		}
		w.ok = append(w.ok, p)
	}
	w.res.Accepted = len(w.ok)
	var block []Reading
	for _, p := range w.ok {
		if p.seq <= 0 {
			if block == nil {
				block = make([]Reading, 0, len(w.ok))
				w.received = p.reading.Received
			}
			block = append(block, p.reading)
			if p.reading.Received.Before(w.received) {
				w.received = p.reading.Received
			}
		}
	}
	if len(block) > 0 {
		var err error
		if w.block, w.lo, w.hi, err = encodeBlock(block, w.received); err != nil {
			return err
		}
		w.blockN = len(block)
	}
	set := aggSet{idx: make(map[aggKey]int, len(w.ok)*3)}
	for _, p := range w.ok {
		b := p.reading.TS.Truncate(in.cfg.Resolution).UnixNano()
		for f, v := range p.reading.Values {
			set.add(aggKey{p.reading.Device, b, f}, agg{n: 1, sum: v, min: v, max: v, last: v})
		}
	}
	if len(set.keys) > 0 {
		var err error
		if w.agg, err = set.encode(); err != nil {
			return err
		}
		w.aggN = len(set.keys)
	}
	return nil
}

// dedupe marks the messages of ps already committed (by stream sequence).
func (in *Ingester) dedupe(ctx context.Context, tx *db.Tx, ps []pending, res *Result) error {
	byEpoch := map[int64][]int64{}
	for _, p := range ps {
		if p.seq > 0 {
			byEpoch[p.epoch] = append(byEpoch[p.epoch], p.seq)
		}
	}
	seen := map[[2]int64]bool{}
	for epoch, seqs := range byEpoch {
		lo, hi := seqs[0], seqs[0]
		for _, s := range seqs {
			lo, hi = min(lo, s), max(hi, s)
		}
		rows, err := tx.Query(ctx, `SELECT seq FROM dev_readings WHERE seq >= $1 AND seq <= $2 AND epoch = $3`, lo, hi, epoch)
		if err != nil {
			return db.Translate(err)
		}
		for rows.Next() {
			var s int64
			if err := rows.Scan(&s); err != nil {
				rows.Close()
				return db.Translate(err)
			}
			seen[[2]int64{epoch, s}] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return db.Translate(err)
		}
	}
	for i := range ps {
		if ps[i].seq <= 0 {
			continue
		}
		// A message twice in one batch (redelivered while the fetch ran)
		// counts once: its second row would break the unique index.
		k := [2]int64{ps[i].epoch, ps[i].seq}
		if seen[k] {
			ps[i].reason = "dup"
			res.Duplicates++
		}
		seen[k] = true
	}
	return nil
}

// devices loads the devices the batch names, and returns them with the
// devices' generation (dev_gen) they are as of. A device's ingest columns
// (ingestCols: its placement, status, last seen and battery) are kept in
// memory after its first load, as stored, for as long as the generation
// stays: every write of a device's row but the ingest's own sets its
// updated_at, which counts the generation up (migration 0063), and the
// ingest keeps what it writes (keep). A batch of known devices then reads
// one row, not its devices. Each call returns its own copies.
//
// What another process's ingest writes (a later last seen, a battery)
// does not count the generation: this one may then write a device's last
// seen sooner than it needed to (the write never moves it back), and
// its battery is that process's until a write of its own.
func (in *Ingester) devices(ctx context.Context, tx *db.Tx, ps []pending) (map[int64]*Device, int64, error) {
	set := map[int64]bool{}
	for _, p := range ps {
		if p.device > 0 {
			set[p.device] = true
		}
	}
	devs := make(map[int64]*Device, len(set))
	g, err := generation(ctx, tx)
	if err != nil {
		return nil, 0, err
	}
	if len(set) == 0 {
		return devs, g, nil
	}
	var unknown []int64
	in.placedMu.Lock()
	if in.placed == nil || in.gen != g {
		in.placed, in.gen = map[int64]Device{}, g
	}
	for id := range set {
		if d, ok := in.placed[id]; ok {
			devs[id] = &d
		} else {
			unknown = append(unknown, id)
		}
	}
	in.placedMu.Unlock()
	slices.Sort(unknown)
	const chunk = 900
	var loaded []Device
	for start := 0; start < len(unknown); start += chunk {
		part := unknown[start:min(start+chunk, len(unknown))]
		list, args := db.InList(tx.Dialect(), 0, part)
		rows, err := tx.Query(ctx, `SELECT `+ingestCols+` FROM devices WHERE id IN (`+list+`)`, args...)
		if err != nil {
			return nil, 0, db.Translate(err)
		}
		for rows.Next() {
			d, err := scanIngestDevice(rows)
			if err != nil {
				rows.Close()
				return nil, 0, db.Translate(err)
			}
			devs[d.ID] = d
			loaded = append(loaded, *d)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, 0, db.Translate(err)
		}
	}
	// Read in this transaction after the generation: at least as new as
	// it (a later write counts it up again, and the next batch reloads).
	in.keep(g, loaded)
	return devs, g, nil
}

// generation reads the devices' generation (migration 0063).
func generation(ctx context.Context, tx *db.Tx) (int64, error) {
	var g int64
	err := tx.QueryRow(ctx, `SELECT n FROM dev_gen WHERE id = 1`).Scan(&g)
	return g, db.Translate(err)
}

// kept returns copies of the kept devices ids and the generation they are
// as of, if every one of them is kept.
func (in *Ingester) kept(ids []int64) (map[int64]*Device, int64, bool) {
	devs := make(map[int64]*Device, len(ids))
	in.placedMu.Lock()
	defer in.placedMu.Unlock()
	if in.placed == nil {
		return nil, 0, false
	}
	for _, id := range ids {
		if _, ok := devs[id]; ok {
			continue
		}
		d, ok := in.placed[id]
		if !ok {
			return nil, 0, false
		}
		devs[id] = &d
	}
	return devs, in.gen, true
}

// keep records ds as stored at generation g, unless the generation has
// moved on since.
func (in *Ingester) keep(g int64, ds []Device) {
	if len(ds) == 0 {
		return
	}
	in.placedMu.Lock()
	defer in.placedMu.Unlock()
	if in.placed == nil || in.gen != g {
		return
	}
	if len(in.placed)+len(ds) > maxPlaced {
		in.placed = map[int64]Device{}
	}
	for _, d := range ds {
		in.placed[d.ID] = d
	}
}

// maxPlaced bounds the devices an Ingester keeps (a few hundred bytes
// each); beyond it they are forgotten and loaded again.
const maxPlaced = 1 << 20

// validate checks a decoded message against its device's profile and
// builds its reading, or sets its reason.
func (in *Ingester) validate(p *pending, devs map[int64]*Device, allowed func(*Device) bool, now time.Time) {
	d := devs[p.device]
	if d == nil || allowed != nil && !allowed(d) {
		p.reason = ReasonUnknownDevice
		return
	}
	if d.Status == StatusRetired {
		p.reason = ReasonRetired
		return
	}
	prof := in.store.Profiles[d.Type]
	if prof == nil {
		p.reason = ReasonUnknownDevice
		return
	}
	r := Reading{Device: d.ID, Received: p.received, TS: p.received, Values: make(map[string]float64, len(p.values))}
	if r.Received.IsZero() {
		r.Received, r.TS = now, now
	}
	if p.ts != "" {
		ts, err := time.Parse(time.RFC3339Nano, p.ts)
		if err != nil || ts.After(now.Add(in.cfg.MaxSkew)) || ts.Year() < 2000 {
			p.reason = ReasonTime
			return
		}
		r.TS = ts.UTC()
	}
	if len(p.values) == 0 {
		p.reason = ReasonEmpty
		return
	}
	for name, v := range p.values {
		f, ok := prof.Fields[name]
		if !ok {
			p.reason = ReasonUnknownField
			return
		}
		if reason := f.check(name, v, &r); reason != "" {
			p.reason = reason
			return
		}
	}
	p.reading = r
}

// readingData is a reading's data column: {"v":{…},"t":{…}}, each
// omitted when empty, exactly as encoding/json writes it (names in order,
// numbers as its float encoder writes them), without its reflection.
func readingData(v map[string]float64, t map[string]string) ([]byte, error) {
	if !jsonPlain(v, t) {
		return json.Marshal(struct {
			V map[string]float64 `json:"v,omitempty"`
			T map[string]string  `json:"t,omitempty"`
		}{v, t})
	}
	b := make([]byte, 0, 16+len(v)*32+len(t)*32)
	b = append(b, '{')
	if len(v) > 0 {
		b = append(b, `"v":{`...)
		for i, name := range sortedKeys(v) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(append(append(b, '"'), name...), `":`...)
			b = appendJSONFloat(b, v[name])
		}
		b = append(b, '}')
	}
	if len(t) > 0 {
		if len(v) > 0 {
			b = append(b, ',')
		}
		b = append(b, `"t":{`...)
		for i, name := range sortedKeys(t) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(append(append(b, '"'), name...), `":"`...)
			b = append(append(b, t[name]...), '"')
		}
		b = append(b, '}')
	}
	return append(b, '}'), nil
}

// jsonPlain says every name and text of a reading is written by
// encoding/json as it is (printable ASCII, nothing it escapes) and every
// number is finite.
func jsonPlain(v map[string]float64, t map[string]string) bool {
	plain := func(s string) bool {
		for i := 0; i < len(s); i++ {
			if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
				return false
			}
		}
		return true
	}
	for name, x := range v {
		if !plain(name) || math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	for name, x := range t {
		if !plain(name) || !plain(x) {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// appendJSONFloat appends f as encoding/json writes a float64.
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

type aggKey struct {
	device int64
	bucket int64 // unix ns: cheaper to hash than a time.Time
	field  string
}

type agg struct{ n, sum, min, max, last float64 }

type seen struct {
	at      time.Time
	battery float64
}

// write stores the accepted readings, their aggregates and the devices'
// last seen, status and battery. The readings with a stream sequence (MQTT)
// are a row each in dev_readings, whose unique index on the sequence makes
// a redelivered message a duplicate; the others (a gateway's batch) are one
// block of dev_reading_blocks. The aggregates are queued as one row of
// dev_agg_pending, committed with the raw readings: a handful of rows'
// worth of writes a batch instead of an upsert per reading and field.
// FlushAggregates adds them to dev_aggregates later; until then they are
// as durable as the readings. After the commit, the devices written are
// kept as written (at w.gen).
func (in *Ingester) write(ctx context.Context, tx *db.Tx, w *work) error {
	ok, devs := w.ok, w.devs
	if len(ok) == 0 {
		return nil
	}
	d := tx.Dialect()
	const width = 6
	const chunk = 1000
	var rows []*pending
	for _, p := range ok {
		if p.seq > 0 {
			rows = append(rows, p)
		}
	}
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		args := make([]any, 0, len(part)*width)
		for _, p := range part {
			data, err := readingData(p.reading.Values, p.reading.Text)
			if err != nil {
				return err
			}
			args = append(args, p.reading.Device, p.reading.TS, p.reading.Received, string(data), p.seq, p.epoch)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO dev_readings (device_id, ts, received_at, data, seq, epoch) VALUES `+
			db.Placeholders(d, len(part), width), args...); err != nil {
			return db.Translate(err)
		}
	}
	if w.block != nil {
		if err := tx.Queue(ctx, `INSERT INTO dev_reading_blocks (ts_min, ts_max, received_at, n, data) VALUES ($1, $2, $3, $4, $5)`,
			w.lo, w.hi, w.received, w.blockN, string(w.block)); err != nil {
			return db.Translate(err)
		}
	}
	if w.agg != "" {
		if err := tx.Queue(ctx, `INSERT INTO dev_agg_pending (n, data) VALUES ($1, $2)`, w.aggN, w.agg); err != nil {
			return db.Translate(err)
		}
	}
	last := map[int64]*seen{}
	for _, p := range ok {
		s := last[p.reading.Device]
		if s == nil {
			s = &seen{battery: -1}
			last[p.reading.Device] = s
		}
		if p.reading.Received.After(s.at) {
			s.at = p.reading.Received
		}
		if b, ok := p.reading.Values["battery"]; ok {
			s.battery = b
		}
	}
	ids := make([]int64, 0, len(last))
	for id := range last {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	// A device's row is written only when its status or battery changes
	// or its last seen moves on by the resolution or more: a device that
	// reports more often than that costs no write of its row (last_seen
	// is then up to a resolution behind; the offline sweep allows for it).
	changed := ids[:0]
	for _, id := range ids {
		s, dv := last[id], devs[id]
		write := dv.Status != StatusOnline || s.battery >= 0 && s.battery != dv.Battery || s.at.Sub(dv.LastSeen) >= in.cfg.Resolution
		if s.at.After(dv.LastSeen) {
			dv.LastSeen = s.at
		}
		if s.battery >= 0 {
			dv.Battery = s.battery
		}
		dv.Status = StatusOnline
		if write {
			changed = append(changed, id)
		}
	}
	for start := 0; start < len(changed); start += chunk {
		part := changed[start:min(start+chunk, len(changed))]
		args := make([]any, 0, len(part)*3)
		var vals strings.Builder
		for i, id := range part {
			if i > 0 {
				vals.WriteByte(',')
			}
			n := i * 3
			if d == db.SQLite {
				vals.WriteString("(?,?,?)")
			} else {
				vals.WriteString("($" + strconv.Itoa(n+1) + "::bigint,$" + strconv.Itoa(n+2) + "::timestamptz,$" + strconv.Itoa(n+3) + "::float8)")
			}
			args = append(args, id, devs[id].LastSeen, last[id].battery)
		}
		// last_seen never goes back: another process's ingest may have
		// written a later one than the state this one kept.
		if _, err := tx.Exec(ctx, `UPDATE devices SET last_seen = CASE WHEN devices.last_seen IS NULL OR devices.last_seen < v.column2 THEN v.column2 ELSE devices.last_seen END, status = 'online',
			battery = CASE WHEN v.column3 >= 0 THEN v.column3 ELSE devices.battery END, updated_at = devices.updated_at
			FROM (VALUES `+vals.String()+`) AS v WHERE devices.id = v.column1 AND devices.status <> 'retired'`, args...); err != nil {
			return db.Translate(err)
		}
	}
	if len(changed) > 0 {
		written := make([]Device, len(changed))
		for i, id := range changed {
			written[i] = *devs[id]
		}
		tx.AfterCommit(func() { in.keep(w.gen, written) })
	}
	return nil
}

// merge adds every aggregate of o to s, in o's order.
func (s *aggSet) merge(o *aggSet) {
	for i, k := range o.keys {
		s.add(k, o.vals[i])
	}
}

// aggSet is aggregates by key, in the order first added: vals[i] is the
// aggregate of keys[i] (no allocation per key).
type aggSet struct {
	idx  map[aggKey]int
	keys []aggKey
	vals []agg
}

// add merges a into the aggregate of k; a is the later one (its last wins).
func (s *aggSet) add(k aggKey, a agg) {
	if s.idx == nil {
		s.idx = map[aggKey]int{}
	}
	i, ok := s.idx[k]
	if !ok {
		s.idx[k] = len(s.keys)
		s.keys = append(s.keys, k)
		s.vals = append(s.vals, a)
		return
	}
	c := &s.vals[i]
	c.n += a.n
	c.sum += a.sum
	c.min, c.max, c.last = min(c.min, a.min), max(c.max, a.max), a.last
}

// encode is s as a row of dev_agg_pending: the field names as a JSON
// array on the first line, then an aggregate a line, "device bucket(unix
// ns) field(index) n sum min max last", numbers as strconv writes them
// (exact; several times cheaper to write and read than JSON). The
// aggregate of a single reading is written "device bucket field value":
// a batch of one reading a device (a gateway's, most of the time) is
// half the size, to write and to log.
func (s *aggSet) encode() (string, error) {
	fields := map[string]int{}
	var names []string
	for _, k := range s.keys {
		if _, ok := fields[k.field]; !ok {
			fields[k.field] = len(names)
			names = append(names, k.field)
		}
	}
	head, err := json.Marshal(names)
	if err != nil {
		return "", err
	}
	b := make([]byte, 0, len(head)+1+len(s.keys)*72)
	b = append(append(b, head...), '\n')
	for i, k := range s.keys {
		a := &s.vals[i]
		b = strconv.AppendInt(b, k.device, 10)
		b = strconv.AppendInt(append(b, ' '), k.bucket, 10)
		b = strconv.AppendInt(append(b, ' '), int64(fields[k.field]), 10)
		if a.n == 1 && a.sum == a.last && a.min == a.last && a.max == a.last {
			b = strconv.AppendFloat(append(b, ' '), a.last, 'g', -1, 64)
			b = append(b, '\n')
			continue
		}
		b = strconv.AppendInt(append(b, ' '), int64(a.n), 10)
		for _, v := range [...]float64{a.sum, a.min, a.max, a.last} {
			b = strconv.AppendFloat(append(b, ' '), v, 'g', -1, 64)
		}
		b = append(b, '\n')
	}
	return string(b), nil
}

// pendingJSON is the first format of a dev_agg_pending row (8a2cca3),
// still read: the aggregates by column.
type pendingJSON struct {
	Fields []string  `json:"f"`
	Device []int64   `json:"d"`
	Bucket []int64   `json:"b"`
	Field  []int     `json:"i"`
	N      []int64   `json:"n"`
	Sum    []float64 `json:"s"`
	Min    []float64 `json:"lo"`
	Max    []float64 `json:"hi"`
	Last   []float64 `json:"l"`
}

var (
	errPending = errors.New("device: a malformed row of dev_agg_pending")
	errBucket  = errors.New("device: a malformed row of dev_agg_buckets")
)

// decode merges a row of dev_agg_pending into s.
func (s *aggSet) decode(data string) error {
	if strings.HasPrefix(data, "{") {
		return s.decodeJSON(data)
	}
	head, rest, ok := strings.Cut(data, "\n")
	var names []string
	if !ok || json.Unmarshal([]byte(head), &names) != nil {
		return errPending
	}
	var ints [4]int64
	var floats [4]float64
	for rest != "" {
		var line string
		line, rest, _ = strings.Cut(rest, "\n")
		// Four tokens: a single reading's "device bucket field value".
		single := strings.Count(line, " ") == 3
		for i := range 8 {
			tok, more, _ := strings.Cut(line, " ")
			line = more
			var err error
			switch {
			case single && i == 3:
				floats[0], err = strconv.ParseFloat(tok, 64)
				ints[3], floats[1], floats[2], floats[3] = 1, floats[0], floats[0], floats[0]
			case i < 4:
				ints[i], err = strconv.ParseInt(tok, 10, 64)
			default:
				floats[i-4], err = strconv.ParseFloat(tok, 64)
			}
			if err != nil {
				return errPending
			}
			if single && i == 3 {
				break
			}
		}
		if line != "" || ints[2] < 0 || ints[2] >= int64(len(names)) {
			return errPending
		}
		k := aggKey{ints[0], ints[1], names[ints[2]]}
		s.add(k, agg{n: float64(ints[3]), sum: floats[0], min: floats[1], max: floats[2], last: floats[3]})
	}
	return nil
}

// decodeJSON is decode for the first format.
func (s *aggSet) decodeJSON(data string) error {
	var p pendingJSON
	if err := json.Unmarshal([]byte(data), &p); err != nil {
		return err
	}
	n := len(p.Device)
	if len(p.Bucket) != n || len(p.Field) != n || len(p.N) != n || len(p.Sum) != n || len(p.Min) != n || len(p.Max) != n || len(p.Last) != n {
		return errPending
	}
	for i := range n {
		if p.Field[i] < 0 || p.Field[i] >= len(p.Fields) {
			return errPending
		}
		k := aggKey{p.Device[i], p.Bucket[i], p.Fields[p.Field[i]]}
		s.add(k, agg{n: float64(p.N[i]), sum: p.Sum[i], min: p.Min[i], max: p.Max[i], last: p.Last[i]})
	}
	return nil
}

// flushEntries bounds the aggregates one flush transaction writes (about
// 3 µs each on SQLite), so that it holds the writer only briefly (a
// batch's commit waits for it).
const flushEntries = 5000

// FlushAggregates adds the queued aggregates of committed batches
// (dev_agg_pending) to dev_aggregates, deleting them in the same
// transaction: each reading counts exactly once, across crashes and
// concurrent flushes (on PostgreSQL a row deleted by another flush is
// not returned again). It returns how many queued rows it added.
func (in *Ingester) FlushAggregates(ctx context.Context) (rows int, err error) {
	defer errs.Wrapf(&err, "device.Ingester.FlushAggregates")
	for {
		got, _, more, _, err := in.flushOnce(ctx)
		rows += got
		if err != nil || !more {
			return rows, err
		}
	}
}

// flushOnce flushes the oldest queued rows, up to about flushEntries
// aggregates, in one transaction; more says others may be queued. A row
// it cannot decode goes to dev_agg_rejected (counted in rejected) rather
// than stopping every later flush behind it.
//
// backlog is how many aggregates were queued before it (counting at most
// the oldest 1,000 rows).
func (in *Ingester) flushOnce(ctx context.Context) (rows, rejected int, more bool, backlog int64, err error) {
	in.flushMu.Lock()
	defer in.flushMu.Unlock()
	var got, entries int
	// Derived data: a crash that loses this commit loses its delete of
	// the queued rows with it, and the next flush adds them again.
	err = in.store.db.InTxDerived(ctx, func(tx *db.Tx) error {
		got, entries, rejected = 0, 0, 0
		var upto int64
		upto, backlog, err = flushUpTo(ctx, tx)
		if err != nil || upto == 0 {
			return err
		}
		q, err := tx.Query(ctx, `DELETE FROM dev_agg_pending WHERE id <= $1 RETURNING id, n, data`, upto)
		if err != nil {
			return db.Translate(err)
		}
		type row struct {
			id, n int64
			data  string
		}
		var rs []row
		for q.Next() {
			var r row
			if err := q.Scan(&r.id, &r.n, &r.data); err != nil {
				q.Close()
				return db.Translate(err)
			}
			rs = append(rs, r)
		}
		err = q.Err()
		q.Close()
		if err != nil {
			return db.Translate(err)
		}
		// In commit order (on SQLite; near it on PostgreSQL): a later
		// batch's last value wins.
		sort.Slice(rs, func(i, j int) bool { return rs[i].id < rs[j].id })
		var set aggSet
		for _, r := range rs {
			// Each row decodes on its own, so that a bad one adds none of
			// its lines.
			var one aggSet
			if err := one.decode(r.data); err != nil {
				if _, err := tx.Exec(ctx, `INSERT INTO dev_agg_rejected (id, n, data, reason, rejected_at) VALUES ($1, $2, $3, $4, $5)`,
					r.id, r.n, r.data, err.Error(), tx.Now()); err != nil {
					return db.Translate(err)
				}
				rejected++
				continue
			}
			set.merge(&one)
		}
		got, entries = len(rs)-rejected, len(set.keys)
		return upsertAggregates(ctx, tx, &set)
	})
	return got, rejected, err == nil && got+rejected > 0 && entries >= flushEntries/2, backlog, err
}

// flushUpTo is the id up to which one flush takes the queued rows: the
// oldest whose entries add up to about flushEntries (at least one row);
// 0 when none is queued. backlog is the entries of the oldest 1,000 rows.
func flushUpTo(ctx context.Context, tx *db.Tx) (upto, backlog int64, err error) {
	q, err := tx.Query(ctx, `SELECT id, n FROM dev_agg_pending ORDER BY id LIMIT 1000`)
	if err != nil {
		return 0, 0, db.Translate(err)
	}
	defer q.Close()
	var sum int64
	full := false
	for q.Next() {
		var id, n int64
		if err := q.Scan(&id, &n); err != nil {
			return 0, 0, db.Translate(err)
		}
		backlog += n
		if full || upto != 0 && sum+n > flushEntries {
			full = true
			continue
		}
		upto, sum = id, sum+n
	}
	return upto, backlog, db.Translate(q.Err())
}

// aggFlushLock is the PostgreSQL advisory lock that keeps the flushes of
// every process one at a time: each reads a bucket's row, merges and
// writes it back.
const aggFlushLock = 727734

// bucketID names a row of dev_agg_buckets.
type bucketID struct {
	device int64
	bucket int64 // unix ns
}

// upsertAggregates adds s to dev_agg_buckets, one row per device and
// bucket with all its fields, in primary key order: the rows the buckets
// already have are read, merged with s (s is the later) and written back.
func upsertAggregates(ctx context.Context, tx *db.Tx, s *aggSet) error {
	if len(s.keys) == 0 {
		return nil
	}
	if tx.Dialect() == db.Postgres {
		// Another replica's flush between the read and the write would be
		// overwritten: one flush at a time.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, aggFlushLock); err != nil {
			return db.Translate(err)
		}
	}
	byBucket := map[bucketID]map[string]*agg{}
	var ids []bucketID
	for i, k := range s.keys {
		id := bucketID{k.device, k.bucket}
		m := byBucket[id]
		if m == nil {
			m = map[string]*agg{}
			byBucket[id] = m
			ids = append(ids, id)
		}
		m[k.field] = &s.vals[i]
	}
	slices.SortFunc(ids, func(a, b bucketID) int {
		if c := cmp.Compare(a.device, b.device); c != 0 {
			return c
		}
		return cmp.Compare(a.bucket, b.bucket)
	})
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		if err := mergeStored(ctx, tx, part, byBucket); err != nil {
			return err
		}
		args := make([]any, 0, len(part)*3)
		for _, id := range part {
			args = append(args, id.device, time.Unix(0, id.bucket).UTC(), encodeBucket(byBucket[id]))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO dev_agg_buckets (device_id, bucket, data) VALUES `+
			db.Placeholders(tx.Dialect(), len(part), 3)+` ON CONFLICT (device_id, bucket) DO UPDATE SET data = excluded.data`, args...); err != nil {
			return db.Translate(err)
		}
	}
	return nil
}

// mergeStored merges the stored rows of the buckets ids (sorted) into
// byBucket, as the earlier aggregates.
func mergeStored(ctx context.Context, tx *db.Tx, ids []bucketID, byBucket map[bucketID]map[string]*agg) error {
	// One query a bucket (a flush covers a few), so that no row's bucket
	// has to be read back and parsed.
	byB := map[int64][]int64{}
	var buckets []int64
	for _, id := range ids {
		devs, ok := byB[id.bucket]
		if !ok {
			buckets = append(buckets, id.bucket)
		}
		byB[id.bucket] = append(devs, id.device)
	}
	for _, bk := range buckets {
		list, args := db.InList(tx.Dialect(), 1, byB[bk])
		q, err := tx.Query(ctx, `SELECT device_id, data FROM dev_agg_buckets WHERE bucket = $1 AND device_id IN (`+list+`)`,
			append([]any{time.Unix(0, bk).UTC()}, args...)...)
		if err != nil {
			return db.Translate(err)
		}
		err = mergeRows(q, bk, byBucket)
		q.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// mergeRows merges the stored rows q (device_id, data) of bucket bk into
// byBucket.
func mergeRows(q *sql.Rows, bk int64, byBucket map[bucketID]map[string]*agg) error {
	for q.Next() {
		var dev int64
		var data string
		if err := q.Scan(&dev, &data); err != nil {
			return db.Translate(err)
		}
		later := byBucket[bucketID{dev, bk}]
		if later == nil {
			continue
		}
		stored, err := decodeBucket(data)
		if err != nil {
			return fmt.Errorf("device: the aggregates of device %d at %v: %w", dev, time.Unix(0, bk).UTC(), err)
		}
		for _, bf := range stored {
			f, v := bf.name, bf.v
			a := agg{n: v[0], sum: v[1], min: v[2], max: v[3], last: v[4]}
			if l := later[f]; l != nil {
				a.n += l.n
				a.sum += l.sum
				a.min, a.max, a.last = min(a.min, l.min), max(a.max, l.max), l.last
			}
			later[f] = &a
		}
	}
	return db.Translate(q.Err())
}

// encodeBucket is a bucket's aggregates as stored: a JSON object, field →
// [n, sum, min, max, last], fields in name order, numbers as strconv
// writes them (exact).
func encodeBucket(m map[string]*agg) string {
	names := make([]string, 0, len(m))
	for f := range m {
		names = append(names, f)
	}
	slices.Sort(names)
	b := make([]byte, 0, 16+len(m)*64)
	b = append(b, '{')
	for i, f := range names {
		if i > 0 {
			b = append(b, ',')
		}
		if plainName(f) {
			b = append(append(append(b, '"'), f...), '"')
		} else {
			q, _ := json.Marshal(f) // a string always encodes
			b = append(b, q...)
		}
		a := m[f]
		b = strconv.AppendInt(append(b, ":["...), int64(a.n), 10)
		for _, v := range [...]float64{a.sum, a.min, a.max, a.last} {
			b = append(b, ',')
			switch {
			case math.IsInf(v, 1):
				b = append(b, "1e999"...) // JSON has no infinity; read back as +Inf
			case math.IsInf(v, -1):
				b = append(b, "-1e999"...)
			default:
				b = strconv.AppendFloat(b, v, 'g', -1, 64)
			}
		}
		b = append(b, ']')
	}
	return string(append(b, '}'))
}

// plainName says f needs no escaping in JSON.
func plainName(f string) bool {
	for i := 0; i < len(f); i++ {
		if c := f[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// bucketField is one field of a row of dev_agg_buckets.
type bucketField struct {
	name string
	v    [5]float64 // n, sum, min, max, last
}

// decodeBucket reads a row of dev_agg_buckets: field → [n, sum, min,
// max, last]. Numbers beyond float64 read as ±Inf (encodeBucket writes
// infinities as 1e999). The rows as encodeBucket writes them are read by
// hand; anything else (escaped names, spaces) through encoding/json.
func decodeBucket(data string) ([]bucketField, error) {
	if out, ok := decodeBucketFast(data); ok {
		return out, nil
	}
	var raw map[string][]json.Number
	if err := json.Unmarshal([]byte(data), &raw); err != nil {
		return nil, err
	}
	out := make([]bucketField, 0, len(raw))
	for f, vs := range raw {
		if len(vs) != 5 {
			return nil, errBucket
		}
		bf := bucketField{name: f}
		for i, v := range vs {
			x, err := strconv.ParseFloat(string(v), 64)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return nil, err
			}
			bf.v[i] = x
		}
		out = append(out, bf)
	}
	return out, nil
}

// decodeBucketFast reads {"name":[a,b,c,d,e],...} without spaces or
// escapes; ok is false for anything else.
func decodeBucketFast(s string) (out []bucketField, ok bool) {
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return nil, false
	}
	s = s[1 : len(s)-1]
	for s != "" {
		if s[0] != '"' {
			return nil, false
		}
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return nil, false
		}
		bf := bucketField{name: s[1 : 1+end]}
		if strings.IndexByte(bf.name, '\\') >= 0 {
			return nil, false
		}
		s = s[2+end:]
		if !strings.HasPrefix(s, ":[") {
			return nil, false
		}
		s = s[2:]
		for i := range 5 {
			sep := byte(',')
			if i == 4 {
				sep = ']'
			}
			j := strings.IndexByte(s, sep)
			if j < 0 {
				return nil, false
			}
			x, err := strconv.ParseFloat(s[:j], 64)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return nil, false
			}
			bf.v[i] = x
			s = s[j+1:]
		}
		out = append(out, bf)
		if s != "" {
			if s[0] != ',' {
				return nil, false
			}
			s = s[1:]
		}
	}
	return out, true
}

// flushBacklog is the queue (in aggregates) beyond which the flush stops
// yielding to the ingest: about 170,000 readings of three fields.
const flushBacklog int64 = 100 * flushEntries

// flushPause is how long RunFlush waits after a flush of a backlog that
// took took: twice that, so that the ingest keeps the writer two thirds
// of the time, until the queue holds flushBacklog aggregates; then none,
// so that a load the flush cannot follow slows the ingest (its batches
// wait for the writer, the stream holds the messages) instead of growing
// the queue without end.
func flushPause(took time.Duration, backlog int64) time.Duration {
	if backlog >= flushBacklog {
		return 0
	}
	return 2 * took
}

// RunFlush flushes the queued aggregates every interval until ctx ends,
// logging failures (nothing is lost: the queue stays until a flush
// commits). A backlog is flushed a transaction at a time, pausing as
// flushPause says: under a load the flush cannot follow, the aggregates
// lag and catch up after it, up to flushBacklog.
func (in *Ingester) RunFlush(ctx context.Context, every time.Duration, logf func(msg string, args ...any)) {
	for sleep(ctx, every) {
		for {
			start := time.Now()
			_, rejected, more, backlog, err := in.flushOnce(ctx)
			if err != nil && ctx.Err() == nil {
				logf("device: aggregate flush failed", "err", err)
			}
			if rejected > 0 {
				logf("device: queued aggregate rows set aside, undecodable (dev_agg_rejected)", "rows", rejected)
			}
			if err != nil || !more || !sleep(ctx, flushPause(time.Since(start), backlog)) {
				break
			}
		}
	}
}

// countRefused adds the batch's refusals to the malformed counters: per
// known device and reason; an unknown device counts on device 0.
func (in *Ingester) countRefused(ctx context.Context, tx *db.Tx, ps []pending, devs map[int64]*Device, now time.Time) error {
	type key struct {
		device int64
		reason string
	}
	counts := map[key]int64{}
	samples := map[key]string{}
	var keys []key
	for _, p := range ps {
		if p.reason == "" || p.reason == "dup" {
			continue
		}
		dev := p.device
		if devs[dev] == nil || p.reason == ReasonUnknownDevice {
			dev = 0
		}
		k := key{dev, p.reason}
		if _, ok := counts[k]; !ok {
			keys = append(keys, k)
		}
		counts[k]++
		if p.sample != "" {
			samples[k] = p.sample
		}
	}
	if len(keys) == 0 {
		return nil
	}
	const width = 5
	args := make([]any, 0, len(keys)*width)
	for _, k := range keys {
		args = append(args, k.device, k.reason, counts[k], now, samples[k])
	}
	_, err := tx.Exec(ctx, `INSERT INTO dev_malformed (device_id, reason, n, last_at, sample) VALUES `+db.Placeholders(tx.Dialect(), len(keys), width)+`
		ON CONFLICT (device_id, reason) DO UPDATE SET n = dev_malformed.n + excluded.n, last_at = excluded.last_at,
		sample = CASE WHEN excluded.sample <> '' THEN excluded.sample ELSE dev_malformed.sample END`, args...)
	return db.Translate(err)
}

// Sweep deletes the raw readings older than the retention (the aggregates
// stay; a gateway's block goes when its latest reading does) and marks
// offline the online devices silent for three of their profile's
// intervals (and up to a resolution more). It returns how many of each.
func (in *Ingester) Sweep(ctx context.Context) (pruned, offline int64, err error) {
	defer errs.Wrapf(&err, "device.Ingester.Sweep")
	err = in.store.db.InTx(ctx, func(tx *db.Tx) error {
		cut := tx.Now().Add(-in.cfg.Retention)
		res, err := tx.Exec(ctx, `DELETE FROM dev_readings WHERE ts < $1`, cut)
		if err != nil {
			return db.Translate(err)
		}
		if pruned, err = res.RowsAffected(); err != nil {
			return err
		}
		// A block goes when its latest reading does.
		var inBlocks int64
		if err := tx.QueryRow(ctx, `SELECT COALESCE(SUM(n), 0) FROM dev_reading_blocks WHERE ts_max < $1`, cut).Scan(&inBlocks); err != nil {
			return db.Translate(err)
		}
		if inBlocks > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM dev_reading_blocks WHERE ts_max < $1`, cut); err != nil {
				return db.Translate(err)
			}
			pruned += inBlocks
		}
		for _, t := range in.store.Profiles.Types() {
			// last_seen may be up to a resolution behind (write).
			res, err := tx.Exec(ctx, `UPDATE devices SET status = 'offline', updated_at = $1 WHERE status = 'online' AND type = $2 AND last_seen < $3`,
				tx.Now(), t, tx.Now().Add(-3*in.store.Profiles[t].Interval-in.cfg.Resolution))
			if err != nil {
				return db.Translate(err)
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			offline += n
		}
		return nil
	})
	return pruned, offline, err
}

// RunSweep sweeps every interval until ctx ends, logging failures.
func (in *Ingester) RunSweep(ctx context.Context, every time.Duration, logf func(msg string, args ...any)) {
	for sleep(ctx, every) {
		if p, o, err := in.Sweep(ctx); err != nil {
			logf("device: sweep failed", "err", err)
		} else if p > 0 || o > 0 {
			logf("device: sweep", "pruned_readings", p, "offline", o)
		}
	}
}
