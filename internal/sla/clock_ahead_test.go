package sla

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
)

// aheadClock is a replica's wall clock that runs ahead of the others'.
type aheadClock struct{ by time.Duration }

func (c aheadClock) Now() time.Time { return time.Now().UTC().Add(c.by) }

// TestSchedulerClaimsByTheDatabaseClock (issue 13, item 18): a replica
// whose clock runs an hour ahead shares the database with the others; a
// timer due in 30 minutes by the database's clock must not fire, while one
// due a minute ago does.
func TestSchedulerClaimsByTheDatabaseClock(t *testing.T) {
	t.Parallel()
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			var cfg db.Config
			switch dialect {
			case db.SQLite:
				cfg.DataDir = t.TempDir()
			case db.Postgres:
				cfg.URL = dbtest.PostgresURL(t)
				cfg.SearchPath = dbtest.NewSchema(t, cfg.URL)
			}
			open := func(clk clock.Clock) *db.DB {
				d, err := db.Open(ctx, cfg, clk)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { d.Close() })
				if _, err := d.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				return d
			}
			// The district and a case, set up at the real time.
			fake := clock.NewFake(time.Now().UTC().Truncate(time.Second))
			w := newWorld(t, open(fake), fake)
			c := w.submit(t, "resident", "ZL0302", inA)
			st := w.open(t, c.ID)
			if st == nil {
				t.Fatal("the case has no open stage")
			}
			// Only the two timers of this test: one due a minute ago, one
			// due in 30 minutes, by the real clock.
			now := time.Now().UTC()
			ids := map[string]int64{}
			err := w.d.InTx(ctx, func(tx *db.Tx) error {
				if _, err := tx.Exec(ctx, `DELETE FROM timers`); err != nil {
					return err
				}
				for name, due := range map[string]time.Time{"past": now.Add(-time.Minute), "future": now.Add(30 * time.Minute)} {
					id, err := tx.InsertID(ctx, `INSERT INTO timers (due_at, kind, case_id, stage_id, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
						due, kindWarning, c.ID, st.ID, now)
					if err != nil {
						return err
					}
					ids[name] = id
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}

			// The replica whose clock is an hour ahead runs its scheduler.
			ahead := &world{clk: fake, users: w.users}
			ahead.attach(t, open(aheadClock{by: time.Hour}))
			if _, err := ahead.eng.NewScheduler(SchedulerConfig{Owner: "ahead"}).RunDue(ctx); err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string]bool{"past": true, "future": false} {
				var fired db.NullTime
				var owner sql.NullString
				if err := w.d.QueryRow(ctx, `SELECT fired_at, lease_owner FROM timers WHERE id = $1`, ids[name]).Scan(&fired, &owner); err != nil {
					t.Fatal(err)
				}
				if got := fired.Valid; got != want {
					t.Errorf("the timer due %s: fired %v, want %v (claimed by %q)", name, got, want, owner.String)
				}
				if !want && owner.String != "" {
					t.Errorf("the timer due %s was leased to %q, want it unclaimed", name, owner.String)
				}
			}
		})
	}
}
