package device_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/device"
	"whistle/internal/worldtest"
)

func TestIngestCountsMalformedAndKeepsGoing(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		p := f.person(t, "001")
		w := f.create(t, device.NewDevice{Type: "water_meter", Serial: "W1", OwnerKind: device.OwnerPerson, OwnerID: p.ID})
		sp := f.space(t, "P1", true)
		ps := f.create(t, device.NewDevice{Type: "parking_sensor", Serial: "S1", OwnerKind: device.OwnerParkingSpace, OwnerID: sp.ID})
		now := clk.Now()
		msg := func(dev int64, body string) device.Message {
			return device.Message{Device: dev, Data: []byte(body), Received: now}
		}
		tests := []struct {
			name   string
			m      device.Message
			dev    int64 // the counter's device
			reason string
		}{
			{"good water", msg(w.ID, `{"values":{"water_m3":0.02,"battery":80}}`), 0, ""},
			{"good parking", msg(ps.ID, `{"ts":"2026-11-23T01:59:00Z","values":{"state":"occupied"}}`), 0, ""},
			{"not json", msg(w.ID, `{"values":`), w.ID, device.ReasonJSON},
			{"wrong type", msg(w.ID, `{"values":{"water_m3":"lots"}}`), w.ID, device.ReasonType},
			{"values not an object", msg(w.ID, `{"values":[1]}`), w.ID, device.ReasonType},
			{"out of range", msg(w.ID, `{"values":{"water_m3":-1}}`), w.ID, device.ReasonRange},
			{"bad enum", msg(ps.ID, `{"values":{"state":"flying"}}`), ps.ID, device.ReasonRange},
			{"unknown field", msg(w.ID, `{"values":{"kwh":1}}`), w.ID, device.ReasonUnknownField},
			{"unknown device", msg(999999, `{"values":{"water_m3":1}}`), 0, device.ReasonUnknownDevice},
			{"oversized", msg(w.ID, `{"values":{"water_m3":1},"pad":"`+strings.Repeat("x", 5000)+`"}`), w.ID, device.ReasonOversized},
			{"future ts", msg(w.ID, `{"ts":"2027-01-01T00:00:00Z","values":{"water_m3":1}}`), w.ID, device.ReasonTime},
			{"other device in payload", msg(w.ID, `{"device":1234,"values":{"water_m3":1}}`), w.ID, device.ReasonWrongDevice},
			{"no values", msg(w.ID, `{}`), w.ID, device.ReasonEmpty},
		}
		msgs := make([]device.Message, len(tests))
		for i, tt := range tests {
			msgs[i] = tt.m
		}
		res, err := f.ing.IngestMessages(ctx, msgs)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := res.Accepted, 2; got != want {
			t.Errorf("accepted %d, want %d (refused %+v)", got, want, res.Refused)
		}
		for _, tt := range tests {
			if tt.reason == "" {
				continue
			}
			if got := f.malformed(t, tt.dev, tt.reason); got < 1 {
				t.Errorf("%s: counter (%d, %s) = %d, want ≥ 1", tt.name, tt.dev, tt.reason, got)
			}
		}
		if got, want := f.sink.n(), 2; got != want {
			t.Errorf("sink got %d readings, want %d", got, want)
		}
		// The stream goes on: the next batch is accepted and the counter adds up.
		if _, err := f.ing.IngestMessages(ctx, []device.Message{msg(w.ID, `{"values":{"water_m3":0.01}}`), msg(w.ID, `nope`)}); err != nil {
			t.Fatal(err)
		}
		if got, want := f.readings(t, w.ID), 2; got != want {
			t.Errorf("water readings %d, want %d", got, want)
		}
		if got, want := f.malformed(t, w.ID, device.ReasonJSON), int64(2); got != want {
			t.Errorf("not_json counter %d, want %d", got, want)
		}
		got, err := f.store.Get(ctx, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != device.StatusOnline || got.Battery != 80 || !got.LastSeen.Equal(now) {
			t.Errorf("device after readings: %s battery %v seen %v; want online, 80, %v", got.Status, got.Battery, got.LastSeen, now)
		}
		if _, err := f.ing.FlushAggregates(ctx); err != nil {
			t.Fatal(err)
		}
		var n, sum float64
		if err := d.QueryRow(ctx, `SELECT SUM(n), SUM(sum) FROM dev_aggregates WHERE device_id = $1 AND field = 'water_m3'`, w.ID).Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		if n != 2 || sum < 0.0299 || sum > 0.0301 {
			t.Errorf("aggregate n %v sum %v, want 2 and 0.03", n, sum)
		}
	})
}

func TestIngestSkipsRedeliveredAndRollsBackOnSinkError(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		sp := f.space(t, "P1", true)
		ps := f.create(t, device.NewDevice{Type: "parking_sensor", Serial: "S1", OwnerKind: device.OwnerParkingSpace, OwnerID: sp.ID})
		m := func(seq int64) device.Message {
			return device.Message{Device: ps.ID, Data: []byte(`{"values":{"state":"vacant"}}`), Received: clk.Now(), Seq: seq, Epoch: 7}
		}
		f.sink.fail = errors.New("sink down")
		if _, err := f.ing.IngestMessages(ctx, []device.Message{m(1), m(2)}); err == nil {
			t.Fatal("a failing sink must fail the batch")
		}
		if got := f.readings(t, ps.ID); got != 0 {
			t.Errorf("%d readings kept from a failed batch, want 0", got)
		}
		f.sink.fail = nil
		if res, err := f.ing.IngestMessages(ctx, []device.Message{m(1), m(2)}); err != nil || res.Accepted != 2 {
			t.Fatalf("retry: %+v, %v; want 2 accepted", res, err)
		}
		clk.Advance(time.Second)
		res, err := f.ing.IngestMessages(ctx, []device.Message{m(2), m(3)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Accepted != 1 || res.Duplicates != 1 {
			t.Errorf("redelivery: %+v, want 1 accepted and 1 duplicate", res)
		}
		// A message twice in one batch (redelivered while it was fetched)
		// counts once.
		res, err = f.ing.IngestMessages(ctx, []device.Message{m(4), m(4)})
		if err != nil || res.Accepted != 1 || res.Duplicates != 1 {
			t.Errorf("one message twice in a batch: %+v, %v; want 1 accepted and 1 duplicate", res, err)
		}
		if got, want := f.sink.n(), 4; got != want {
			t.Errorf("sink saw %d readings, want %d (each once)", got, want)
		}
	})
}

func TestSweepPrunesRawAndMarksOffline(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		sp := f.space(t, "P1", true)
		ps := f.create(t, device.NewDevice{Type: "parking_sensor", Serial: "S1", OwnerKind: device.OwnerParkingSpace, OwnerID: sp.ID})
		if _, err := f.ing.IngestMessages(ctx, []device.Message{{Device: ps.ID, Data: []byte(`{"values":{"state":"vacant"}}`), Received: clk.Now()}}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(2 * time.Hour) // within 3 intervals of 1 h
		if _, off, err := f.ing.Sweep(ctx); err != nil || off != 0 {
			t.Fatalf("sweep at 2 h: offline %d, %v; want 0", off, err)
		}
		clk.Advance(2 * time.Hour)
		if _, off, err := f.ing.Sweep(ctx); err != nil || off != 1 {
			t.Fatalf("sweep at 4 h: offline %d, %v; want 1", off, err)
		}
		clk.Advance(7 * 24 * time.Hour)
		pruned, _, err := f.ing.Sweep(ctx)
		if err != nil || pruned != 1 {
			t.Fatalf("sweep after the retention: pruned %d, %v; want 1", pruned, err)
		}
		if _, err := f.ing.FlushAggregates(ctx); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM dev_aggregates WHERE device_id = $1`, ps.ID).Scan(&n); err != nil || n != 0 {
			// parking readings are text only: no aggregate rows
			t.Errorf("aggregates %d, %v; want 0 for a text-only device", n, err)
		}
	})
}

// TestIngestRereadsAMovedDevice: the ingest keeps a device in memory
// after its first batch; a write that moves the device (and sets
// updated_at) is seen by the next batch, with whatever else is stored
// then (another process's battery), and the sweep's offline mark too.
func TestIngestRereadsAMovedDevice(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		p := f.person(t, "001")
		w := f.create(t, device.NewDevice{Type: "water_meter", Serial: "W1", OwnerKind: device.OwnerPerson, OwnerID: p.ID})
		send := func(body string) device.Device {
			t.Helper()
			if res, err := f.ing.IngestMessages(ctx, []device.Message{{Device: w.ID, Data: []byte(body), Received: clk.Now()}}); err != nil || res.Accepted != 1 {
				t.Fatalf("%+v %v", res, err)
			}
			return f.sink.dev(w.ID)
		}
		first := send(`{"values":{"water_m3":0.01,"battery":80}}`)
		if first.GridCode != gridA1 || first.PersonID != p.ID || first.Status != device.StatusOnline {
			t.Fatalf("first batch's device %+v; want grid %s, person %d, online", first, gridA1, p.ID)
		}
		clk.Advance(time.Second)
		exec := func(q string, args ...any) {
			t.Helper()
			if err := d.InTx(ctx, func(tx *db.Tx) error { _, err := tx.Exec(ctx, q, args...); return err }); err != nil {
				t.Fatal(err)
			}
		}
		exec(`UPDATE devices SET grid_code = $1, lat = 27.5, updated_at = $2 WHERE id = $3`, gridB1, clk.Now(), w.ID)
		// Another writer's battery (a second process's ingest).
		exec(`UPDATE devices SET battery = 42 WHERE id = $1`, w.ID)
		clk.Advance(time.Second)
		got := send(`{"values":{"water_m3":0.01}}`)
		if got.GridCode != gridB1 || got.Lat != 27.5 || got.PersonID != p.ID {
			t.Errorf("after the move: grid %s, lat %v, person %d; want %s, 27.5, %d", got.GridCode, got.Lat, got.PersonID, gridB1, p.ID)
		}
		if got.Battery != 42 {
			t.Errorf("battery %v, want the stored 42", got.Battery)
		}
		// Offline, by the sweep: the next batch's device is online again
		// and says so in its row.
		clk.Advance(2 * time.Hour)
		if _, off, err := f.ing.Sweep(ctx); err != nil || off != 1 {
			t.Fatalf("sweep: offline %d, %v; want 1", off, err)
		}
		if got := send(`{"values":{"water_m3":0.01}}`); got.Status != device.StatusOnline || got.GridCode != gridB1 {
			t.Errorf("after the sweep: %s, grid %s; want online, %s", got.Status, got.GridCode, gridB1)
		}
		if st, err := f.store.Get(ctx, w.ID); err != nil || st.Status != device.StatusOnline {
			t.Errorf("stored after the sweep and a message: %+v %v; want online", st, err)
		}
	})
}

// TestLastSeenWithinTheResolution: a device reporting more often than the
// resolution has its row written only when its last seen moves on by the
// resolution, its battery changes or it comes back online; the offline
// sweep goes by its last message all the same, never before three
// intervals after it.
func TestLastSeenWithinTheResolution(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		p := f.person(t, "001")
		w := f.create(t, device.NewDevice{Type: "water_meter", Serial: "W1", OwnerKind: device.OwnerPerson, OwnerID: p.ID}) // interval 30 min
		send := func(body string) {
			t.Helper()
			if res, err := f.ing.IngestMessages(ctx, []device.Message{{Device: w.ID, Data: []byte(body), Received: clk.Now()}}); err != nil || res.Accepted != 1 {
				t.Fatalf("%+v %v", res, err)
			}
		}
		seen := func() *device.Device {
			t.Helper()
			got, err := f.store.Get(ctx, w.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		start := clk.Now()
		send(`{"values":{"water_m3":0.01,"battery":80}}`)
		clk.Advance(50 * time.Second)

		send(`{"values":{"water_m3":0.01,"battery":80}}`)
		if got := seen(); !got.LastSeen.Equal(start) || got.Status != device.StatusOnline {
			t.Errorf("50 s later: last seen %v (%s), want %v: within the resolution, unwritten", got.LastSeen, got.Status, start)
		}
		// Three intervals after the stored last seen but not after the
		// last message: still online.
		clk.Advance(90*time.Minute - 20*time.Second)
		if _, off, err := f.ing.Sweep(ctx); err != nil || off != 0 {
			t.Fatalf("sweep 90 min after the first message, 89:20 after the last: offline %d, %v; want 0", off, err)
		}
		clk.Advance(2 * time.Minute)
		if _, off, err := f.ing.Sweep(ctx); err != nil || off != 1 {
			t.Fatalf("sweep over 90 min after the last message: offline %d, %v; want 1", off, err)
		}
		// Back online at once, whatever the resolution.
		send(`{"values":{"water_m3":0.01}}`)
		if got := seen(); got.Status != device.StatusOnline || !got.LastSeen.Equal(clk.Now()) {
			t.Errorf("back: %s, last seen %v; want online at %v", got.Status, got.LastSeen, clk.Now())
		}
		// A battery change is written within the resolution.
		clk.Advance(10 * time.Second)
		send(`{"values":{"battery":79}}`)
		if got := seen(); got.Battery != 79 {
			t.Errorf("battery %v, want 79", got.Battery)
		}
		// A minute on, last seen moves.
		clk.Advance(time.Minute)
		send(`{"values":{"water_m3":0.01}}`)
		if got := seen(); !got.LastSeen.Equal(clk.Now()) {
			t.Errorf("a minute on: last seen %v, want %v", got.LastSeen, clk.Now())
		}
	})
}

// TestIngestKeepsDevicesUntilTheGenerationMoves: two ingesters (two
// processes) keep the devices they have read; a write that sets
// updated_at in any process (here a device taken out of service) counts
// the devices' generation up, and the other's next batch reads the device
// again and refuses it. A stale kept last seen never moves the stored one
// back.
func TestIngestKeepsDevicesUntilTheGenerationMoves(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		p := f.person(t, "001")
		w := f.create(t, device.NewDevice{Type: "smart_watch", Serial: "W1", OwnerKind: device.OwnerPerson, OwnerID: p.ID})
		other := device.NewIngester(f.store, device.IngestConfig{})
		send := func(in *device.Ingester) device.Result {
			t.Helper()
			res, err := in.IngestItems(ctx, []device.Item{{Device: w.ID, Values: map[string]any{"heart_rate": 70.0}}}, clk.Now(), nil)
			if err != nil {
				t.Fatal(err)
			}
			return res
		}
		start := clk.Now()
		if res := send(f.ing); res.Accepted != 1 {
			t.Fatalf("first: %+v", res)
		}
		// The other process writes a later last seen; this one, keeping
		// the first, writes an earlier (but a resolution on) one after it.
		clk.Advance(2 * time.Minute)
		if res := send(other); res.Accepted != 1 {
			t.Fatalf("other's: %+v", res)
		}
		later := clk.Now()
		clk.Advance(-50 * time.Second)
		if res := send(f.ing); res.Accepted != 1 {
			t.Fatalf("second: %+v", res)
		}
		if got, err := f.store.Get(ctx, w.ID); err != nil || !got.LastSeen.Equal(later) {
			t.Errorf("last seen %v (%v), want the later %v, not moved back (first %v)", got.LastSeen, err, later, start)
		}
		clk.Advance(time.Minute)
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE devices SET status = 'retired', updated_at = $1 WHERE id = $2`, clk.Now(), w.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for name, in := range map[string]*device.Ingester{"this": f.ing, "other": other} {
			if res := send(in); res.Accepted != 0 || len(res.Refused) != 1 || res.Refused[0].Reason != device.ReasonRetired {
				t.Errorf("%s ingester after the retirement: %+v, want refused as retired", name, res)
			}
		}
	})
}
