package sla

import (
	"context"
	"testing"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
	"whistle/internal/timer"
)

// TestTimerOfABusyCaseWaits: on PostgreSQL, a change that holds a case
// locked when its warning falls due neither deadlocks with the runner nor
// loses the warning: the runner puts it off (due time kept) and fires it
// once the change has committed and the hold-back has passed.
func TestTimerOfABusyCaseWaits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clk := clock.NewFake(friday)
	w := newWorld(t, dbtest.MustOpenDB(t, db.Postgres, clk), clk)
	c := w.submit(t, "resident", "ZL0302", inA)
	st := w.open(t, c.ID)
	key := TimerKey(TimerWarning, c.ID, st.ID)
	clk.Set(cst(2025, 9, 28, 8, 50)) // past the accept stage's warning, before its breach

	locked, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- w.d.InTx(ctx, func(tx *db.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT id FROM cases WHERE id = $1 FOR UPDATE`, c.ID); err != nil {
				return err
			}
			close(locked)
			<-release
			return nil
		})
	}()
	<-locked
	w.runDue(t)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := w.open(t, c.ID); !got.WarnedAt.IsZero() {
		t.Fatalf("warned at %v while the case was held by another transaction", got.WarnedAt)
	}
	err := w.d.InTx(ctx, func(tx *db.Tx) error {
		p, err := timer.Pending(ctx, tx, key)
		if err == nil && !p.Due.Equal(st.WarnAt) {
			t.Errorf("put-off warning due %v, want %v as armed", p.Due, st.WarnAt)
		}
		return err
	})
	if err != nil {
		t.Fatalf("the warning was not kept for later: %v", err)
	}
	if n := w.runDue(t); n != 0 {
		t.Errorf("fired %d during the hold-back, want 0", n)
	}
	clk.Advance(busyRetry)
	if n := w.runDue(t); n != 1 {
		t.Errorf("fired %d after the change, want 1", n)
	}
	if got := w.open(t, c.ID); got.WarnedAt.IsZero() {
		t.Error("not warned after the change committed")
	}
	if got := w.count(t, `SELECT COUNT(*) FROM case_events WHERE case_id = $1 AND action = 'sla_warning'`, c.ID); got != 1 {
		t.Errorf("got %d sla_warning steps, want 1", got)
	}
	err = w.d.InTx(ctx, func(tx *db.Tx) error { _, err := timer.Pending(ctx, tx, key); return err })
	if !errs.Is(err, errs.NotFound) {
		t.Errorf("the warning is still pending after firing: %v", err)
	}
}
