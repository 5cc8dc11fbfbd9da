package casework_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
)

// TestCaseKeepsItsWorkflowVersion uploads a whistle v2 in which only the
// admin may accept: a case submitted before keeps v1, under which
// community staff accept; a case submitted after follows v2.
func TestCaseKeepsItsWorkflowVersion(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w := newWorld(t, d, clock.NewFake(t0))
		before := w.submit(t, "resident", inA, "whistle")

		store := w.svc.WorkflowStore()
		v1, err := store.Active(ctx, "whistle")
		if err != nil {
			t.Fatal(err)
		}
		v2 := *v1
		v2.Actions = slices.Clone(v1.Actions)
		v2.Actions[0].Roles = []string{"admin"} // accept
		body, err := json.Marshal(&v2)
		if err != nil {
			t.Fatal(err)
		}
		up, err := store.Upload(ctx, audit.Actor{Name: "admin"}, body, true)
		if err != nil {
			t.Fatal(err)
		}
		// The shipped file is the first version stored on a new database.
		if up.Version != v1.Version+1 {
			t.Fatalf("uploaded as version %d, want %d", up.Version, v1.Version+1)
		}
		after := w.submit(t, "resident", inA, "whistle")
		if before.WorkflowVersion != v1.Version || after.WorkflowVersion != up.Version {
			t.Fatalf("workflow versions: before %d, after %d; want %d and %d", before.WorkflowVersion, after.WorkflowVersion, v1.Version, up.Version)
		}

		offered := func(c *casework.Case, who string) bool {
			got, err := w.svc.Get(ctx, w.as(who), c.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range w.svc.Actions(got, w.as(who)) {
				if a.Action == casework.ActAccept {
					return true
				}
			}
			return false
		}
		if !offered(before, "staff-a") || offered(after, "staff-a") || !offered(after, "admin") {
			t.Errorf("accept offered to staff-a on the old case %v (want true), on the new one %v (want false); to admin on the new one %v (want true)",
				offered(before, "staff-a"), offered(after, "staff-a"), offered(after, "admin"))
		}
		if _, err := w.svc.Act(ctx, w.as("staff-a"), after.ID, casework.ActAccept, casework.Input{}); !errs.Is(err, errs.Forbidden) {
			t.Errorf("staff-a accepts the new case: %v, want Forbidden (v2)", err)
		}
		if c, err := w.svc.Act(ctx, w.as("staff-a"), before.ID, casework.ActAccept, casework.Input{}); err != nil || c.Status != casework.Accepted {
			t.Errorf("staff-a accepts the old case: %v, want accepted (v1)", err)
		}
		if c, err := w.svc.Act(ctx, w.as("admin"), after.ID, casework.ActAccept, casework.Input{}); err != nil || c.Status != casework.Accepted || c.WorkflowVersion != up.Version {
			t.Errorf("admin accepts the new case: %v, want accepted under v2", err)
		}
	})
}
