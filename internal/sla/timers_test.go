package sla

import (
	"context"
	"slices"
	"testing"

	"whistle/internal/account"
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

// TestStaffMemo: a firing transaction remembers who holds which roles
// where, keyed by region and roles, so a batch asks once per region and
// still gets each question's own answer.
func TestStaffMemo(t *testing.T) {
	t.Parallel()
	eachWorld(t, friday, func(t *testing.T, w *world) {
		ctx := context.Background()
		district := w.users["leader"].Region.Code
		memo := staffMemo{}
		err := w.d.InTx(ctx, func(tx *db.Tx) error {
			for range 2 {
				for _, c := range []struct {
					role account.Role
					want int64
				}{{account.Leader, w.users["leader"].ID}, {account.Admin, w.users["admin"].ID}} {
					got, err := usersWithRoles(ctx, tx, memo, district, c.role)
					if err != nil {
						return err
					}
					if !slices.Contains(got, c.want) || slices.Contains(got, w.users["street"].ID) {
						t.Errorf("%s at %s: got %v, want %d among them", c.role, district, got, c.want)
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(memo) != 2 {
			t.Errorf("memo holds %d answers, want 2", len(memo))
		}
	})
}
