package visit_test

import (
	"context"
	"testing"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/visit"
	"whistle/internal/worldtest"
)

// TestJoinLeaveOneTransaction: joining a group and planning the task
// commit together, and so do leaving and cancelling the tasks. With the
// visit_tasks table gone the planning fails, and the membership (and its
// history row) must not have been written; the same for leaving.
func TestJoinLeaveOneTransaction(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		ctx := context.Background()
		w := newWorld(t, d, clk, visit.Config{})
		pid := w.member(t, 1, "elderly_alone", 27.005, 120.005)
		count := func(q string) int {
			t.Helper()
			var n int
			if err := d.QueryRow(ctx, q, pid).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		members := func() int { return count(`SELECT COUNT(*) FROM reg_group_members WHERE person_id = $1`) }
		history := func() int { return count(`SELECT COUNT(*) FROM reg_history WHERE record_id = $1`) }
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `ALTER TABLE visit_tasks RENAME TO visit_tasks_gone`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		m0, h0 := members(), history()
		if err := w.vis.Join(ctx, w.scope("staff-a"), actor, "disabled", pid, ""); err == nil {
			t.Fatal("join: planning without the table succeeded")
		}
		if got, gotH := members(), history(); got != m0 || gotH != h0 {
			t.Errorf("a failed join left %d memberships and %d history rows, want %d and %d", got, gotH, m0, h0)
		}
		if err := w.vis.Leave(ctx, w.scope("staff-a"), actor, "elderly_alone", pid); err == nil {
			t.Fatal("leave: cancelling without the table succeeded")
		}
		if got, gotH := members(), history(); got != m0 || gotH != h0 {
			t.Errorf("a failed leave left %d memberships and %d history rows, want %d and %d", got, gotH, m0, h0)
		}
	})
}
