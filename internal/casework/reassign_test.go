package casework_test

import (
	"context"
	"testing"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
)

// TestReassign: a departed grid worker's open cases, and only those, move
// to a colleague of the same role whose scope holds them, each with a
// timeline entry naming both; a colleague who cannot hold them is refused
// on field "to" and nothing moves.
func TestReassign(t *testing.T) {
	clk := clock.NewFake(t0)
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(t0)
		photoT = t
		w := newWorld(t, d, clk)
		ctx := context.Background()
		add := func(name, region string, role account.Role) *account.User {
			u, err := w.acc.AddUser(ctx, audit.System("test"), account.SystemScope(), account.NewUser{Username: name, Password: "secret-pass",
				Roles: []account.Role{role}, RegionCode: region})
			if err != nil {
				t.Fatal(err)
			}
			w.users[name] = u
			return u
		}
		mate := add("grid-a2", "330303001001001", account.GridWorker)
		gridB := add("grid-b", "330303001002001", account.GridWorker)
		off := add("grid-off", "330303001001001", account.GridWorker)
		if _, err := w.acc.UpdateUser(ctx, audit.System("test"), account.SystemScope(), off.ID, account.UserChange{Disabled: boolp(true)}); err != nil {
			t.Fatal(err)
		}
		gridA := w.users["grid-a"]
		dispatch := func(target casework.Target) *casework.Case {
			c := w.submit(t, "resident", inA, "whistle")
			w.Act(t, "staff-a", c.ID, casework.ActAccept, casework.Input{})
			return w.Act(t, "staff-a", c.ID, casework.ActDispatch, casework.Input{Target: &target})
		}
		open1 := dispatch(casework.Target{User: gridA.ID})
		open2 := dispatch(casework.Target{User: gridA.ID})
		w.Act(t, "grid-a", open2.ID, casework.ActStart, casework.Input{})
		done := dispatch(casework.Target{User: gridA.ID})
		w.Act(t, "grid-a", done.ID, casework.ActStart, casework.Input{})
		w.Act(t, "grid-a", done.ID, casework.ActResolve, resolveWithPhoto("grid-a")(w, done))
		w.Act(t, "staff-a", done.ID, casework.ActVerify, casework.Input{Passed: boolp(true)})
		done = w.Act(t, "resident", done.ID, casework.ActRate, casework.Input{Stars: intp(5)})
		if done.IsOpen() {
			t.Fatalf("the finished case is still open (%s)", done.Status)
		}
		dept := dispatch(casework.Target{Department: "CG"})
		other := dispatch(casework.Target{User: w.users["staff-a"].ID})

		assignee := func(c *casework.Case) int64 {
			got, err := w.svc.Get(ctx, w.as("admin"), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.AssigneeID
		}
		refusals := []struct {
			name string
			to   int64
			key  string
		}{
			{"no colleague", 0, "field.required"},
			{"the same user", gridA.ID, "user.reassign_self"},
			{"an unknown user", 999999, "user.reassign_unknown"},
			{"a disabled colleague", off.ID, "user.reassign_disabled"},
			{"a colleague without the role", w.users["party-01"].ID, "user.reassign_role"},
			{"a colleague whose scope lacks the cases", gridB.ID, "user.reassign_scope"},
		}
		for _, tc := range refusals {
			t.Run(tc.name, func(t *testing.T) {
				_, err := w.svc.Reassign(ctx, w.as("admin"), gridA.ID, tc.to)
				e, ok := errs.As(err)
				if !ok || e.Code != errs.Invalid {
					t.Fatalf("err = %v, want invalid", err)
				}
				if got := e.Fields["to"].Key; got != tc.key {
					t.Errorf("field to = %q, want %q", got, tc.key)
				}
				if got := assignee(open1); got != gridA.ID {
					t.Errorf("case moved to %d by a refused reassign", got)
				}
			})
		}
		if _, err := w.svc.Reassign(ctx, w.as("staff-b"), gridA.ID, mate.ID); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("staff of community B reassigning A's grid worker: err = %v, want not_found", err)
		}

		moved, err := w.svc.Reassign(ctx, w.as("admin"), gridA.ID, mate.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(moved) != 2 || moved[0] != open1.Number || moved[1] != open2.Number {
			t.Errorf("moved = %v, want [%s %s]", moved, open1.Number, open2.Number)
		}
		for _, c := range []*casework.Case{open1, open2} {
			if got := assignee(c); got != mate.ID {
				t.Errorf("case %s assignee = %d, want grid-a2 (%d)", c.Number, got, mate.ID)
			}
			tl, err := w.svc.Timeline(ctx, w.as("admin"), c.ID, false)
			if err != nil {
				t.Fatal(err)
			}
			last := tl[len(tl)-1]
			if last.Action != casework.ActReassign || last.ActorName != "admin" || last.Data[casework.DataFromUser] != "grid-a" ||
				last.Data[casework.DataTargetUser] != "grid-a2" {
				t.Errorf("case %s last step = %+v, want reassign by admin from grid-a to grid-a2", c.Number, last)
			}
		}
		after, err := w.svc.Get(ctx, w.as("admin"), open2.ID)
		if err != nil {
			t.Fatal(err)
		}
		if after.Status != casework.InProgress {
			t.Errorf("reassigned case status = %s, want %s kept", after.Status, casework.InProgress)
		}
		if got := assignee(done); got != gridA.ID {
			t.Errorf("finished case assignee = %d, want grid-a kept", got)
		}
		if got := assignee(other); got != w.users["staff-a"].ID {
			t.Errorf("staff-a's case assignee = %d, want staff-a kept", got)
		}
		if got := assignee(dept); got != 0 {
			t.Errorf("department case assignee = %d, want none", got)
		}
		// The new holder may act on the cases.
		w.Act(t, "grid-a2", open1.ID, casework.ActStart, casework.Input{})
		again, err := w.svc.Reassign(ctx, w.as("admin"), gridA.ID, mate.ID)
		if err != nil || len(again) != 0 {
			t.Errorf("second reassign = %v, %v; want nothing left to move", again, err)
		}
	})
}
