package casework

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
)

var errRollback = errors.New("roll back")

// TestPublicEventsUseThePublicIndex: the public feed's query reads the
// partial index case_events_public_at (the public steps by time), which
// holds only public steps so that the scheduler's many private ones cost
// it nothing. Without the query's condition on public neither planner may
// use the index (seen: both took case_events_at).

func TestPublicEventsUseThePublicIndex(t *testing.T) {
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		name     string
		from, to time.Time
	}{{"a window", from, from.AddDate(0, 1, 0)}, {"open ended", from, time.Time{}}} {
		t.Run(tt.name, func(t *testing.T) {
			dbtest.Each(t, clock.Real{}, func(t *testing.T, d *db.DB) {
				ctx := context.Background()
				q, args := publicEventsQuery(tt.from, tt.to, 1000)
				var plan []string
				err := d.InTx(ctx, func(tx *db.Tx) error {
					explain := `EXPLAIN QUERY PLAN `
					if tx.Dialect() == db.Postgres {
						// The tables are empty: leave the planner this index
						// or a scan it is told to avoid, so that the plan
						// shows whether it can use the index at all (the
						// transaction is rolled back).
						if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
							return err
						}
						if _, err := tx.Exec(ctx, `DROP INDEX case_events_case, case_events_at`); err != nil {
							return err
						}
						explain = `EXPLAIN `
					}
					texts, err := dbtest.QueryTexts(ctx, tx, explain+q, args...)
					if err != nil {
						return err
					}
					for _, f := range texts {
						plan = append(plan, f[len(f)-1]) // SQLite's detail, PostgreSQL's only column
					}
					return errRollback
				})
				if err != errRollback {
					t.Fatal(err)
				}
				if got := strings.Join(plan, "; "); !strings.Contains(got, "case_events_public_at") {
					t.Errorf("%s: plan %q: want the index case_events_public_at", tt.name, got)
				}
			})
		})
	}
}
