package timer

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
)

// Sizes of the benchmarks: the pending timers, the devices they belong to,
// and the work of one iteration of b.Loop, so that one -benchtime=Nx suits
// every benchmark here.
const (
	benchFar     = 1_000_000 // pending timers that never fall due in the run
	benchNear    = 200_000   // timers that fall due, perIter per iteration
	benchDevices = 100_000
	perIter      = 10_000 // fires, or messages, per iteration
)

// BenchmarkFire measures firing due timers with 1,000,000 pending, each
// fire with a realistic effect in its transaction (an UPDATE of the
// device's row and an INSERT of an event row), with the Runner's default
// Config, two ways on the same database: "each" registers the effect per
// timer (Handle, deviceEffect: two statements per fire), "batch" per
// group (HandleBatch, deviceBatchEffect: two statements per group). Each
// iteration moves the clock so that 10,000 more timers are due and runs
// one RunDue, which must fire exactly them. At most 20 iterations in all
// (benchNear/perIter), so at most -benchtime 10x:
//
//	WHISTLE_TEST_POSTGRES=postgres://… go test -run '^$' -bench Fire -benchtime 10x ./internal/timer/
func BenchmarkFire(b *testing.B) {
	for _, dialect := range dbtest.Dialects() {
		b.Run(string(dialect), func(b *testing.B) {
			ctx := context.Background()
			clk := clock.NewFake(t0)
			d := dbtest.MustOpenDB(b, dialect, clk)
			createDeviceTables(b, d)
			start := time.Now()
			loadDevices(b, d)
			loadTimers(b, d, benchFar, func(i int) Arming {
				return dev(deviceID(i), fmt.Sprintf("far%d", i/benchDevices), t0.Add(365*24*time.Hour))
			})
			loadTimers(b, d, benchNear, func(i int) Arming {
				return dev(deviceID(i), fmt.Sprintf("near%d", i/benchDevices), t0.Add(time.Duration(i+1)*time.Millisecond))
			})
			analyze(b, d, "kernel_timers", "test_devices")
			b.Logf("%s: %d devices, %d pending timers loaded in %v", dialect, benchDevices, benchFar+benchNear, time.Since(start).Round(time.Millisecond))
			round := 0
			for _, way := range []string{"each", "batch"} {
				b.Run(way, func(b *testing.B) {
					r := NewRunner(d, Config{})
					if way == "each" {
						r.Handle(kindDevice, deviceEffect)
					} else {
						r.HandleBatch(kindDevice, deviceBatchEffect)
					}
					before := count(b, d, `SELECT COUNT(*) FROM test_device_events`)
					fired := 0
					for b.Loop() {
						round++
						if round*perIter > benchNear {
							b.Fatalf("only %d iterations in all fit in %d due timers; lower -benchtime", benchNear/perIter, benchNear)
						}
						clk.Set(t0.Add(time.Duration(round*perIter) * time.Millisecond))
						n, err := r.RunDue(ctx)
						if err != nil {
							b.Fatal(err)
						}
						if n != perIter {
							b.Fatalf("round %d: fired %d, want %d", round, n, perIter)
						}
						fired += n
					}
					b.StopTimer()
					if got := count(b, d, `SELECT COUNT(*) FROM test_device_events`) - before; got != fired {
						b.Fatalf("%d events for %d fires", got, fired)
					}
					b.ReportMetric(float64(fired)/b.Elapsed().Seconds(), "fires/s")
					b.ReportMetric(0, "ns/op")
					b.Logf("timerbench store=%s op=fire-%s group=%d workers=%d fired=%d pending=%d seconds=%.3f per_second=%.1f",
						dialect, way, r.cfg.Group, r.cfg.Workers, fired, benchFar+benchNear-(round*perIter-fired), b.Elapsed().Seconds(), float64(fired)/b.Elapsed().Seconds())
				})
			}
		})
	}
}

// BenchmarkRearm measures the sensor case, a "no data for 12 hours" timer
// re-armed by every message, both ways on the same database and the same
// messages: one timer row per message (ArmMany of the batch, and Arm once
// per message), the sweep mode's Touch of the batch's keys, and
// TouchRounded to the minute (a touch of a sensor already seen in the
// same minute reads its row and writes nothing). 100,000 sensors, each
// already armed and touched once; messages from random sensors come in
// transactions of 1,000 and of 10,000 (what a 200 ms group commit holds
// at 50,000 messages a second), stamped as if they came at 50,000 a
// second; an iteration is 10,000 messages, or 300,000 for the rounded
// touch, which starts at a minute's beginning so that -benchtime 10x
// measures one whole minute of messages: each sensor's first message in
// it writes, the others only read (its steady state). It runs after the
// exact ways, whose touches it would otherwise make no-ops by rounding
// last_seen up into their future.
//
//	WHISTLE_TEST_POSTGRES=postgres://… go test -run '^$' -bench Rearm -benchtime 10x ./internal/timer/
func BenchmarkRearm(b *testing.B) {
	for _, dialect := range dbtest.Dialects() {
		b.Run(string(dialect), func(b *testing.B) {
			ctx := context.Background()
			d := dbtest.MustOpenDB(b, dialect, clock.NewFake(t0))
			key := func(i int) Key { return Key{Kind: kindSensor, Subject: deviceID(i), Name: "nodata"} }
			loadTimers(b, d, benchDevices, func(i int) Arming {
				return Arming{Key: key(i), Due: t0.Add(12 * time.Hour)}
			})
			touchAll(b, d)
			analyze(b, d, "kernel_timers", "kernel_sweep")
			ways := []struct {
				name string
				f    func(tx *db.Tx, sensors []int, at time.Time) error
			}{
				{"arm-many", func(tx *db.Tx, sensors []int, at time.Time) error {
					as := make([]Arming, len(sensors))
					for i, s := range sensors {
						as[i] = Arming{Key: key(s), Due: at.Add(12 * time.Hour)}
					}
					return ArmMany(ctx, tx, as)
				}},
				{"arm-each", func(tx *db.Tx, sensors []int, at time.Time) error {
					for _, s := range sensors {
						if err := Arm(ctx, tx, key(s), at.Add(12*time.Hour), nil); err != nil {
							return err
						}
					}
					return nil
				}},
				{"touch", func(tx *db.Tx, sensors []int, at time.Time) error {
					keys := make([]string, len(sensors))
					for i, s := range sensors {
						keys[i] = deviceID(s)
					}
					return Touch(ctx, tx, kindSensor, keys, at)
				}},
				{"touch-1m", func(tx *db.Tx, sensors []int, at time.Time) error {
					keys := make([]string, len(sensors))
					for i, s := range sensors {
						keys[i] = deviceID(s)
					}
					return TouchRounded(ctx, tx, kindSensor, keys, at, time.Minute)
				}},
			}
			at := t0 // every message later than all before it, across the ways
			for _, rounded := range []bool{false, true} {
				for _, batch := range []int{1_000, 10_000} {
					for _, w := range ways {
						if w.name == "arm-each" && batch != 1_000 || (w.name == "touch-1m") != rounded {
							continue
						}
						msgs := perIter
						if rounded {
							at = at.Truncate(time.Minute).Add(time.Minute)
							msgs = 300_000
						}
						rearm(b, d, dialect, w.name, batch, msgs, &at, w.f)
					}
				}
			}
		})
	}
}

// BenchmarkToucher measures the sweep mode's group commit: 64 callers,
// each touching one random sensor of 100,000 per call through one
// Toucher (exact times), as a sensor gateway would for each message; the
// clock runs at 50,000 messages a second. An iteration is 10,000 calls.
//
//	WHISTLE_TEST_POSTGRES=postgres://… go test -run '^$' -bench Toucher -benchtime 10x ./internal/timer/
func BenchmarkToucher(b *testing.B) {
	for _, dialect := range dbtest.Dialects() {
		b.Run(string(dialect), func(b *testing.B) {
			ctx := context.Background()
			clk := clock.NewFake(t0)
			d := dbtest.MustOpenDB(b, dialect, clk)
			touchAll(b, d)
			analyze(b, d, "kernel_sweep")
			tc := NewToucher(d, kindSensor, 0, 1_000)
			defer tc.Close()
			const callers = 64
			msgs := 0
			for b.Loop() {
				var wg sync.WaitGroup
				for c := range callers {
					wg.Go(func() {
						rng := rand.New(rand.NewPCG(uint64(msgs), uint64(c)))
						for range perIter / callers {
							clk.Advance(time.Second / 50_000)
							if err := tc.Touch(ctx, deviceID(rng.IntN(benchDevices))); err != nil {
								b.Error(err)
								return
							}
						}
					})
				}
				wg.Wait()
				msgs += perIter / callers * callers
			}
			st := tc.b.Stats()
			b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
			b.ReportMetric(0, "ns/op")
			b.Logf("timerbench store=%s op=toucher callers=%d msgs=%d transactions=%d seconds=%.3f per_second=%.1f",
				dialect, callers, msgs, st.Batches, b.Elapsed().Seconds(), float64(msgs)/b.Elapsed().Seconds())
		})
	}
}

// rearm runs one way of BenchmarkRearm with batch messages per
// transaction and perIter messages per iteration.
func rearm(b *testing.B, d *db.DB, dialect db.Dialect, name string, batch, perIter int, clk *time.Time, f func(tx *db.Tx, sensors []int, at time.Time) error) {
	ctx := context.Background()
	b.Run(fmt.Sprintf("%s/batch=%d", name, batch), func(b *testing.B) {
		rng := rand.New(rand.NewPCG(14, 2)) // the same messages for every way
		msgs := 0
		sensors := make([]int, batch)
		for b.Loop() {
			for range perIter / batch {
				*clk = clk.Add(time.Duration(batch) * time.Second / 50_000)
				at := *clk
				for i := range sensors {
					sensors[i] = rng.IntN(benchDevices)
				}
				if err := d.InTx(ctx, func(tx *db.Tx) error { return f(tx, sensors, at) }); err != nil {
					b.Fatal(err)
				}
				msgs += batch
			}
		}
		b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
		b.ReportMetric(0, "ns/op")
		b.Logf("timerbench store=%s op=%s batch=%d msgs=%d seconds=%.3f per_second=%.1f",
			dialect, name, batch, msgs, b.Elapsed().Seconds(), float64(msgs)/b.Elapsed().Seconds())
	})
}

func deviceID(i int) string { return fmt.Sprintf("dev%06d", i%benchDevices) }

// loadDevices inserts the benchmark's devices.
func loadDevices(b *testing.B, d *db.DB) {
	b.Helper()
	const chunk = 500
	for i := 0; i < benchDevices; i += chunk {
		inTx(b, d, func(tx *db.Tx) error {
			q := `INSERT INTO test_devices (id) VALUES `
			args := make([]any, 0, chunk)
			for j := i; j < min(i+chunk, benchDevices); j++ {
				if j > i {
					q += ","
				}
				args = append(args, deviceID(j))
				q += fmt.Sprintf("($%d)", len(args))
			}
			_, err := tx.Exec(context.Background(), q, args...)
			return err
		})
	}
}

// loadTimers arms n timers made by mk, 50,000 per transaction.
func loadTimers(b *testing.B, d *db.DB, n int, mk func(i int) Arming) {
	b.Helper()
	const perTx = 50_000
	for i := 0; i < n; i += perTx {
		as := make([]Arming, 0, perTx)
		for j := i; j < min(i+perTx, n); j++ {
			as = append(as, mk(j))
		}
		arm(b, d, as...)
	}
}

// touchAll touches every sensor of the benchmarks at t0, 10,000 per
// transaction.
func touchAll(b *testing.B, d *db.DB) {
	b.Helper()
	for i := 0; i < benchDevices; i += 10_000 {
		keys := make([]string, 0, 10_000)
		for j := i; j < min(i+10_000, benchDevices); j++ {
			keys = append(keys, deviceID(j))
		}
		inTx(b, d, func(tx *db.Tx) error { return Touch(context.Background(), tx, kindSensor, keys, t0) })
	}
}

// analyze refreshes the planner's statistics after a bulk load.
func analyze(b *testing.B, d *db.DB, tables ...string) {
	b.Helper()
	for _, t := range tables {
		q := `ANALYZE ` + t
		inTx(b, d, func(tx *db.Tx) error { _, err := tx.Exec(context.Background(), q); return err })
	}
}
