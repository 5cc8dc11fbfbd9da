package casework_test

import (
	"testing"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/worldtest"
)

// TestCorruptStoredDataIsAnError: a JSON column that does not decode is
// reported, not shown as a case or a step without its data (issue 13
// item 14: read.go dropped these errors).
func TestCorruptStoredDataIsAnError(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newWorld(t, d, clk)
		ctx := t.Context()
		c := w.Submit(t, "resident", casework.SubmitInput{Category: "ZL0601", Description: "楼道堆放杂物", Lat: f64(inA[0]), Lng: f64(inA[1])})
		tests := []struct {
			name, corrupt, restore string
			read                   func() error
		}{
			{"case fields", `UPDATE cases SET fields = '{"broken' WHERE id = $1`, `UPDATE cases SET fields = '{}' WHERE id = $1`,
				func() error { _, err := w.svc.Get(ctx, w.as("staff-a"), c.ID); return err }},
			{"step data", `UPDATE case_events SET data = '[1,' WHERE case_id = $1`, `UPDATE case_events SET data = '{}' WHERE case_id = $1`,
				func() error { _, err := w.svc.Timeline(ctx, w.as("staff-a"), c.ID, false); return err }},
		}
		exec := func(t *testing.T, q string, args ...any) {
			t.Helper()
			if err := d.InTx(ctx, func(tx *db.Tx) error { _, err := tx.Exec(ctx, q, args...); return err }); err != nil {
				t.Fatal(err)
			}
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := tt.read(); err != nil {
					t.Fatalf("before corrupting: %v", err)
				}
				exec(t, tt.corrupt, c.ID)
				err := tt.read()
				if err == nil {
					t.Errorf("read of a corrupt %s: got no error, want one", tt.name)
				}
				if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Invalid) {
					t.Errorf("read of a corrupt %s: got %v, want an internal error", tt.name, err)
				}
				exec(t, tt.restore, c.ID)
			})
		}
	})
}

// TestFollowLookupFailureIsNotANotFound: when the follower table cannot be
// read, View answers the error instead of a 404 that hides the fault.
func TestFollowLookupFailureIsNotANotFound(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newWorld(t, d, clk)
		ctx := t.Context()
		c := w.Submit(t, "resident", casework.SubmitInput{Category: "ZL0601", Description: "楼道堆放杂物", Lat: f64(inA[0]), Lng: f64(inA[1])})
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `ALTER TABLE case_followers RENAME TO case_followers_gone`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		_, err := w.svc.View(ctx, w.as("neighbour"), c.ID)
		if err == nil || errs.Is(err, errs.NotFound) {
			t.Errorf("View with the follower table unreadable: got %v, want an internal error", err)
		}
	})
}
