package device_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/device"
	"whistle/internal/worldtest"
)

// aggRow is one row of dev_aggregates (or its recomputation).
type aggRow struct {
	n             int64
	sum, min, max float64
}

type aggID struct {
	device int64
	bucket int64 // unix ns
	field  string
}

// storedAggregates reads dev_aggregates.
func storedAggregates(t *testing.T, d *db.DB) map[aggID]aggRow {
	t.Helper()
	rows, err := d.Query(context.Background(), `SELECT device_id, bucket, field, n, sum, min, max FROM dev_aggregates`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[aggID]aggRow{}
	for rows.Next() {
		var k aggID
		var b db.Time
		var a aggRow
		if err := rows.Scan(&k.device, &b, &k.field, &a.n, &a.sum, &a.min, &a.max); err != nil {
			t.Fatal(err)
		}
		k.bucket = b.UnixNano()
		out[k] = a
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// recomputed is the aggregates as the raw readings make them: the MQTT
// messages' rows and the gateways' blocks (Store.RawReadings).
func recomputed(t *testing.T, s *device.Store, res time.Duration) map[aggID]aggRow {
	t.Helper()
	rs, err := s.RawReadings(context.Background(), 0, time.Time{}, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	out := map[aggID]aggRow{}
	for _, r := range rs {
		for f, x := range r.Values {
			k := aggID{r.Device, r.TS.Truncate(res).UnixNano(), f}
			a, ok := out[k]
			if !ok {
				a = aggRow{min: math.Inf(1), max: math.Inf(-1)}
			}
			a.n++
			a.sum += x
			a.min, a.max = min(a.min, x), max(a.max, x)
			out[k] = a
		}
	}
	return out
}

func sameAggregates(t *testing.T, when string, got, want map[aggID]aggRow) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d aggregate rows, want %d (recomputed from the raw readings)", when, len(got), len(want))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || g.n != w.n || math.Abs(g.sum-w.sum) > 1e-6 || g.min != w.min || g.max != w.max {
			t.Errorf("%s: aggregate %+v = %+v (present %v), want %+v", when, k, g, ok, w)
		}
	}
}

// TestAggregatesSurviveACrashBeforeTheFlush: the per-field aggregates are
// queued with the raw readings and added later; an ingester that stops
// before its flush (a crash: nothing of it is used again) loses nothing,
// a new one's flush makes them equal to a recomputation from the raw
// readings, and flushing again, or two flushes at once, counts nothing
// twice.
func TestAggregatesSurviveACrashBeforeTheFlush(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		p := f.person(t, "001")
		var ids []int64
		for i := range 4 {
			ids = append(ids, f.create(t, device.NewDevice{Type: "smart_watch", Serial: fmt.Sprintf("W%d", i), OwnerKind: device.OwnerPerson, OwnerID: p.ID}).ID)
		}
		ingest := func(in *device.Ingester, round int) {
			t.Helper()
			// HTTP items over two buckets, some stamped in the past, and
			// MQTT messages with a redelivery (not counted twice).
			var items []device.Item
			for i := range 30 {
				ts := clk.Now().Add(-time.Duration(i*7) * time.Second).Format(time.RFC3339Nano)
				items = append(items, device.Item{Device: ids[i%len(ids)], TS: ts,
					Values: map[string]any{"heart_rate": float64(60 + i + round), "steps": float64(i * 10), "fall": i%5 == 0}})
			}
			if res, err := in.IngestItems(ctx, items, clk.Now(), nil); err != nil || res.Accepted != len(items) {
				t.Fatalf("items: %+v, %v", res, err)
			}
			var msgs []device.Message
			for i := range 6 {
				seq := int64(round*100 + i/2) // each message twice
				msgs = append(msgs, device.Message{Device: ids[i%2], Seq: seq, Epoch: 1, Received: clk.Now(),
					Data: fmt.Appendf(nil, `{"values":{"heart_rate":%d,"battery":%d}}`, 70+round, 50+i/2)})
			}
			if _, err := in.IngestMessages(ctx, msgs); err != nil {
				t.Fatal(err)
			}
			clk.Advance(40 * time.Second)
		}
		for round := range 3 {
			ingest(f.ing, round)
		}
		// The first ingester stops here, before any flush.
		if got := storedAggregates(t, d); len(got) != 0 {
			t.Fatalf("%d aggregate rows before any flush; the test needs them queued", len(got))
		}
		in := device.NewIngester(f.store, device.IngestConfig{})
		if _, err := in.FlushAggregates(ctx); err != nil {
			t.Fatal(err)
		}
		res := in.Config().Resolution
		sameAggregates(t, "after the restart's flush", storedAggregates(t, d), recomputed(t, f.store, res))
		if _, err := in.FlushAggregates(ctx); err != nil {
			t.Fatal(err)
		}
		sameAggregates(t, "after a second flush", storedAggregates(t, d), recomputed(t, f.store, res))

		// Two ingesters (two replicas) flushing at once count each batch once.
		for round := 3; round < 8; round++ {
			ingest(in, round)
		}
		other := device.NewIngester(f.store, device.IngestConfig{})
		var wg sync.WaitGroup
		errc := make(chan error, 2)
		for _, x := range []*device.Ingester{in, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := x.FlushAggregates(ctx)
				errc <- err
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatal(err)
			}
		}
		sameAggregates(t, "after two flushes at once", storedAggregates(t, d), recomputed(t, f.store, res))
	})
}

// TestFlushReadsTheFirstFormat: a row queued in the first format (JSON by
// column) before an upgrade is still added.
func TestFlushReadsTheFirstFormat(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		b := t0.UnixNano()
		row := fmt.Sprintf(`{"f":["heart_rate","steps"],"d":[7,7],"b":[%d,%d],"i":[0,1],"n":[2,1],"s":[150,800],"lo":[70,800],"hi":[80,800],"l":[80,800]}`, b, b)
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO dev_agg_pending (n, data) VALUES (2, $1)`, row)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if n, err := f.ing.FlushAggregates(ctx); err != nil || n != 1 {
			t.Fatalf("flush: %d rows, %v; want 1", n, err)
		}
		want := map[aggID]aggRow{{7, b, "heart_rate"}: {2, 150, 70, 80}, {7, b, "steps"}: {1, 800, 800, 800}}
		sameAggregates(t, "the first format", storedAggregates(t, d), want)
	})
}

// TestFlushSetsAsideAnUndecodableRow: a queued row the flush cannot
// decode goes to dev_agg_rejected with its reason, adds none of its lines,
// and does not stop the rows around it (before, every later flush failed
// on it and the queue grew behind it).
func TestFlushSetsAsideAnUndecodableRow(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		b := t0.UnixNano()
		good := func(dev int) string {
			return fmt.Sprintf(`{"f":["heart_rate"],"d":[%d],"b":[%d],"i":[0],"n":[1],"s":[70],"lo":[70],"hi":[70],"l":[70]}`, dev, b)
		}
		// A first line that decodes, then one that does not: none of it
		// may count.
		bad := fmt.Sprintf("[\"heart_rate\"]\n8 %d 0 1 90 90 90 90\n8 %d 0 x 1 1 1 1", b, b)
		for _, row := range []string{good(7), bad, good(9)} {
			if err := d.InTx(ctx, func(tx *db.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO dev_agg_pending (n, data) VALUES (1, $1)`, row)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := f.ing.FlushAggregates(ctx); err != nil || n != 2 {
			t.Fatalf("flush: %d rows, %v; want 2", n, err)
		}
		want := map[aggID]aggRow{{7, b, "heart_rate"}: {1, 70, 70, 70}, {9, b, "heart_rate"}: {1, 70, 70, 70}}
		sameAggregates(t, "around the bad row", storedAggregates(t, d), want)
		var data, reason string
		if err := d.QueryRow(ctx, `SELECT data, reason FROM dev_agg_rejected`).Scan(&data, &reason); err != nil {
			t.Fatalf("the rejected row: %v", err)
		}
		if data != bad || reason == "" {
			t.Errorf("rejected %q (reason %q), want %q with a reason", data, reason, bad)
		}
		var queued int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM dev_agg_pending`).Scan(&queued); err != nil || queued != 0 {
			t.Errorf("queued after the flush: %d, %v; want 0", queued, err)
		}
	})
}

// TestConcurrentFlushesOfOneBucket: flushes in several processes (one
// queued row each: the row declares a full flush's worth of entries)
// that add to the same device's bucket at once count every row: each
// reads the bucket's stored row, merges and writes it back, so on
// PostgreSQL they must not interleave.
func TestConcurrentFlushesOfOneBucket(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		b := t0.UnixNano()
		const rows, flushers = 60, 4
		for i := range rows {
			row := fmt.Sprintf("[\"heart_rate\",\"steps\"]\n7 %d 0 1 %d %d %d %d\n7 %d 1 1 1 1 1 1", b, 60+i, 60+i, 60+i, 60+i, b)
			if err := d.InTx(ctx, func(tx *db.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO dev_agg_pending (n, data) VALUES (5000, $1)`, row)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		errc := make(chan error, flushers)
		for range flushers {
			in := device.NewIngester(f.store, device.IngestConfig{})
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					// One row a flush here (it declares 5,000 entries);
					// a flush that finds its rows taken tries again.
					if _, err := in.FlushAggregates(ctx); err != nil {
						errc <- err
						return
					}
					var queued int
					if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM dev_agg_pending`).Scan(&queued); err != nil || queued == 0 {
						errc <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatal(err)
			}
		}
		want := map[aggID]aggRow{{7, b, "heart_rate"}: {rows, 60*rows + rows*(rows-1)/2, 60, 60 + rows - 1}, {7, b, "steps"}: {rows, rows, 1, 1}}
		sameAggregates(t, "after concurrent flushes", storedAggregates(t, d), want)
	})
}

// TestAggregatesMigrateToOneRowABucket runs migration 0057 over per-field
// rows of the old dev_aggregates: the view shows the same aggregates, and
// a flush adds to a migrated bucket.
func TestAggregatesMigrateToOneRowABucket(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		ms, err := db.Migrations(d.Dialect())
		if err != nil {
			t.Fatal(err)
		}
		var up string
		for _, m := range ms {
			if m.Version == 57 {
				up = m.SQL
			}
		}
		if !strings.Contains(up, "dev_agg_buckets") {
			t.Fatal("no migration 0057 making dev_agg_buckets")
		}
		old := `CREATE TABLE dev_aggregates (device_id INTEGER NOT NULL, bucket TIMESTAMP NOT NULL, field TEXT NOT NULL, n INTEGER NOT NULL,
			sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, last REAL NOT NULL, PRIMARY KEY (device_id, field, bucket))`
		if d.Dialect() == db.Postgres {
			old = `CREATE TABLE dev_aggregates (device_id BIGINT NOT NULL, bucket TIMESTAMPTZ NOT NULL, field TEXT NOT NULL, n BIGINT NOT NULL,
				sum DOUBLE PRECISION NOT NULL, min DOUBLE PRECISION NOT NULL, max DOUBLE PRECISION NOT NULL, last DOUBLE PRECISION NOT NULL,
				PRIMARY KEY (device_id, field, bucket))`
		}
		b0, b1 := t0, t0.Add(time.Minute)
		rows := []struct {
			dev   int64
			b     time.Time
			field string
			a     aggRow
		}{
			{7, b0, "heart_rate", aggRow{2, 150.5, 70.25, 80.25}},
			{7, b0, "steps", aggRow{1, 800, 800, 800}},
			{7, b1, "heart_rate", aggRow{3, 0.30000000000000004, 0.1, 0.1}},
			{8, b0, "battery", aggRow{1, 55, 55, 55}},
		}
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			for _, q := range []string{`DROP VIEW dev_aggregates`, `DROP TABLE dev_agg_buckets`, old} {
				if _, err := tx.Exec(ctx, q); err != nil {
					return err
				}
			}
			for _, r := range rows {
				if _, err := tx.Exec(ctx, `INSERT INTO dev_aggregates (device_id, bucket, field, n, sum, min, max, last) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
					r.dev, r.b, r.field, r.a.n, r.a.sum, r.a.min, r.a.max, r.a.max); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, up)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		want := map[aggID]aggRow{}
		for _, r := range rows {
			want[aggID{r.dev, r.b.UnixNano(), r.field}] = r.a
		}
		sameAggregates(t, "after 0057", storedAggregates(t, d), want)
		// A reading of device 7 in b0, through a queued row.
		row := fmt.Sprintf("[\"heart_rate\"]\n7 %d 0 1 90 90 90 90", b0.UnixNano())
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO dev_agg_pending (n, data) VALUES (1, $1)`, row)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.ing.FlushAggregates(ctx); err != nil {
			t.Fatal(err)
		}
		want[aggID{7, b0.UnixNano(), "heart_rate"}] = aggRow{3, 240.5, 70.25, 90}
		sameAggregates(t, "after a flush into a migrated bucket", storedAggregates(t, d), want)
	})
}

// TestFlushStopsYieldingPastTheBacklog: a flush sees the whole queue (not
// only the rows it takes), and past flushBacklog it no longer pauses for
// the ingest, so that a load it cannot follow slows the ingest rather
// than growing the queue without end.
func TestFlushStopsYieldingPastTheBacklog(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		b := t0.UnixNano()
		for i := range 3 {
			row := fmt.Sprintf("[\"heart_rate\"]\n%d %d 0 1 70 70 70 70", 7+i, b)
			if err := d.InTx(ctx, func(tx *db.Tx) error {
				// Each row declares a flush's worth of entries: one a flush.
				_, err := tx.Exec(ctx, `INSERT INTO dev_agg_pending (n, data) VALUES (5000, $1)`, row)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		for _, want := range []int64{15000, 10000, 5000, 0} {
			rows, backlog, err := f.ing.FlushOnce(ctx)
			if err != nil || backlog != want || rows != min(1, int(want)) {
				t.Errorf("flush: %d rows, backlog %d, %v; want %d rows, backlog %d", rows, backlog, err, min(1, int(want)), want)
			}
		}
	})
	took := 10 * time.Millisecond
	for _, c := range []struct {
		backlog int64
		want    time.Duration
	}{
		{0, 2 * took},
		{device.FlushBacklog - 1, 2 * took},
		{device.FlushBacklog, 0},
		{10 * device.FlushBacklog, 0},
	} {
		if got := device.FlushPause(took, c.backlog); got != c.want {
			t.Errorf("pause after %v with %d queued: %v, want %v", took, c.backlog, got, c.want)
		}
	}
}
