package device_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/device"
)

// BenchmarkIngestItems commits batches of 1,000 smart-watch readings
// (three fields each) from 5,000 devices through IngestItems, flushing
// the queued aggregates every ten batches, on each store: the device
// store's share of POST /api/v1/telemetry.
func BenchmarkIngestItems(b *testing.B) {
	for _, dialect := range dbtest.Dialects() {
		b.Run(string(dialect), func(b *testing.B) {
			clk := clock.NewFake(t0)
			d := dbtest.MustOpenDB(b, dialect, clk)
			f := newFixture(b, d, clk)
			for _, q := range benchSQL() {
				if err := d.InTx(context.Background(), func(tx *db.Tx) error { _, err := tx.Exec(context.Background(), q); return err }); err != nil {
					b.Fatal(err)
				}
			}
			ctx := context.Background()
			p := f.person(b, "001")
			var ids []int64
			nDev := 5000
			if v, err := strconv.Atoi(os.Getenv("BENCH_DEVICES")); err == nil {
				nDev = v
			}
			for lo := 0; lo < nDev; lo += 500 {
				nds := make([]device.NewDevice, 500)
				for i := range nds {
					nds[i] = device.NewDevice{Type: "smart_watch", Serial: fmt.Sprintf("B%d", lo+i), OwnerKind: device.OwnerPerson, OwnerID: p.ID}
				}
				cs, err := f.store.CreateMany(ctx, f.scope("admin"), nds)
				if err != nil {
					b.Fatal(err)
				}
				for _, c := range cs {
					ids = append(ids, c.ID)
				}
			}
			items := make([]device.Item, 1000)
			b.ResetTimer()
			c0 := cpuTime()
			for n := 0; n < b.N; n++ {
				for i := range items {
					items[i] = device.Item{Device: ids[(n*1000+i)%len(ids)], Values: map[string]any{"heart_rate": 72.0, "steps": 800.0, "battery": 80.0}}
				}
				clk.Advance(time.Second)
				res, err := f.ing.IngestItems(ctx, items, clk.Now(), nil)
				if err != nil || res.Accepted != len(items) {
					b.Fatalf("%+v %v", res.Refused, err)
				}
				if n%10 == 9 || n == b.N-1 {
					// The queued aggregates' flush is the ingest's cost too.
					if _, err := f.ing.FlushAggregates(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.N*len(items))/b.Elapsed().Seconds(), "readings/s")
			b.ReportMetric(float64((cpuTime()-c0).Microseconds())/float64(b.N*len(items)), "cpu-µs/reading")
		})
	}
}

var _ = db.SQLite

// cpuTime is the process's user and system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchSQL() []string {
	var out []string
	for _, q := range strings.Split(os.Getenv("BENCH_SQL"), ";") {
		if strings.TrimSpace(q) != "" {
			out = append(out, q)
		}
	}
	return out
}

// BenchmarkDecodeItems decodes a body of 1,000 smart-watch readings, as
// POST /api/v1/telemetry receives it.
func BenchmarkDecodeItems(b *testing.B) {
	items := make([]map[string]any, 1000)
	for i := range items {
		items[i] = map[string]any{"device": i + 1, "ts": "2026-11-23T02:00:00Z", "values": map[string]any{"heart_rate": 72, "steps": 800, "battery": 80}}
	}
	body, _ := json.Marshal(items)
	for b.Loop() {
		if got, _, _, err := device.DecodeItems(body); err != nil || len(got) != 1000 {
			b.Fatal(len(got), err)
		}
	}
}
