package feed_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/feed"
)

// payload is about the size of a case event's JSON.
var payload = json.RawMessage(`{"case_id":123456,"number":"WS20261206000123","action":"submit","status":"submitted","region_path":"/330300/330303/330303001/330303001015/330303001015002/","at":"2026-12-06T11:55:26.27822Z","reporter_id":8}`)

// BenchmarkAppend is the cost of one Append inside a writer's
// transaction, in transactions of 64 (a group commit's batch): "commit"
// includes the commit (its fsync shared by the 64), "rollback" is the
// append alone, what it adds to a transaction that commits anyway, and
// "rollback-all" the same with one AppendAll of the 64 (as casework does
// once per transaction). ns/op is per event.
func BenchmarkAppend(b *testing.B) {
	errRollback := errors.New("rollback")
	for _, dia := range dbtest.Dialects() {
		for _, end := range []string{"commit", "rollback", "rollback-all"} {
			b.Run(string(dia)+"/"+end, func(b *testing.B) {
				d := dbtest.MustOpenDB(b, dia, clock.Real{})
				ctx := context.Background()
				b.ResetTimer()
				for i := 0; i < b.N; {
					err := d.InTx(ctx, func(tx *db.Tx) error {
						var all []feed.Event
						for j := 0; j < 64 && i < b.N; j, i = j+1, i+1 {
							ev := feed.Event{SubjectKind: kind, SubjectID: int64(i), District: "330303", Kind: "submit", Payload: payload}
							if end == "rollback-all" {
								all = append(all, ev)
							} else if err := feed.Append(ctx, tx, ev); err != nil {
								return err
							}
						}
						if end == "rollback-all" {
							if err := feed.AppendAll(ctx, tx, all); err != nil {
								return err
							}
						}
						if end != "commit" {
							return errRollback
						}
						return nil
					})
					if err != nil && !errors.Is(err, errRollback) {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkConsume is a Runner's throughput on a backlog: sequencing (on
// PostgreSQL), reading, a Handle that does nothing and storing the cursor,
// in batches of 500; ns/op is per event.
func BenchmarkConsume(b *testing.B) {
	for _, dia := range dbtest.Dialects() {
		b.Run(string(dia), func(b *testing.B) {
			d := dbtest.MustOpenDB(b, dia, clock.Real{})
			ctx := context.Background()
			for i := 0; i < b.N; i += 500 {
				err := d.InTx(ctx, func(tx *db.Tx) error {
					for j := i; j < i+500 && j < b.N; j++ {
						if err := feed.Append(ctx, tx, feed.Event{SubjectKind: kind, SubjectID: int64(j), Kind: "submit", Payload: payload}); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			n := 0
			r, err := feed.NewRunner(d, feed.RunnerConfig{Batch: 500}, feed.Consumer{Name: "bench", Handle: func(_ context.Context, evs []feed.Event) error {
				n += len(evs)
				return nil
			}})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			if err := r.Drain(ctx); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if n != b.N {
				b.Fatalf("handled %d of %d", n, b.N)
			}
		})
	}
}
