package sla

import (
	"context"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
	"whistle/internal/timer"
)

// aheadClock is a replica's wall clock that runs ahead of the others'.
type aheadClock struct{ by time.Duration }

func (c aheadClock) Now() time.Time { return time.Now().UTC().Add(c.by) }

// TestTimersFireByTheDatabaseClock (issue 13, item 18): a replica
// whose clock runs an hour ahead shares the database with the others; a
// timer due in 30 minutes by the database's clock must not fire, while one
// due a minute ago does.
func TestTimersFireByTheDatabaseClock(t *testing.T) {
	t.Parallel()
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			cfg := freshDB(t, dialect)
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
			// Only the two timers of this test: the stage's warning due a
			// minute ago, its breach due in 30 minutes, by the real clock.
			now := time.Now().UTC()
			keys := map[string]timer.Key{"past": TimerKey(TimerWarning, c.ID, st.ID), "future": TimerKey(TimerBreach, c.ID, st.ID)}
			err := w.d.InTx(ctx, func(tx *db.Tx) error {
				if _, err := tx.Exec(ctx, `DELETE FROM kernel_timers`); err != nil {
					return err
				}
				return timer.ArmMany(ctx, tx, []timer.Arming{{Key: keys["past"], Due: now.Add(-time.Minute)}, {Key: keys["future"], Due: now.Add(30 * time.Minute)}})
			})
			if err != nil {
				t.Fatal(err)
			}

			// The replica whose clock is an hour ahead runs its timers.
			ahead := &world{clk: fake, users: w.users}
			ahead.attach(t, open(aheadClock{by: time.Hour}))
			if _, err := ahead.runner(timer.Config{}).RunDue(ctx); err != nil {
				t.Fatal(err)
			}
			for name, want := range map[string]bool{"past": true, "future": false} {
				err := w.d.InTx(ctx, func(tx *db.Tx) error {
					_, err := timer.Pending(ctx, tx, keys[name])
					return err
				})
				if got := errs.Is(err, errs.NotFound); got != want {
					t.Errorf("the timer due %s: fired %v, want %v (%v)", name, got, want, err)
				}
			}
			if got := w.open(t, c.ID); got.WarnedAt.IsZero() || !got.BreachedAt.IsZero() {
				t.Errorf("stage warned at %v, breached at %v: want warned and not breached", got.WarnedAt, got.BreachedAt)
			}
		})
	}
}
