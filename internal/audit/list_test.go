package audit_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
)

// TestListSortCountActions: the log sorts only by its whitelisted keys
// (anything else is a field error, never SQL), pages by offset, counts a
// filter's total and lists its actions for the filter.
func TestListSortCountActions(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		log := audit.NewLog(d)
		for _, e := range []struct{ actor, action string }{{"carol", "user.add"}, {"alice", "user.update"}, {"bob", "user.add"}, {"alice", "case.dispatch"}} {
			if err := d.InTx(ctx, func(tx *db.Tx) error {
				return audit.Record(ctx, tx, audit.Actor{Name: e.actor}, e.action, "user:1", "")
			}); err != nil {
				t.Fatal(err)
			}
			clk.Advance(time.Minute)
		}
		actors := func(f audit.Filter) string {
			es, err := log.List(ctx, f)
			if err != nil {
				t.Fatalf("List(%+v): %v", f, err)
			}
			var out []string
			for _, e := range es {
				out = append(out, e.Actor+":"+e.Action)
			}
			return strings.Join(out, " ")
		}
		for _, tc := range []struct {
			name string
			f    audit.Filter
			want string
		}{
			{"newest first", audit.Filter{}, "alice:case.dispatch bob:user.add alice:user.update carol:user.add"},
			{"oldest first", audit.Filter{Sort: "at"}, "carol:user.add alice:user.update bob:user.add alice:case.dispatch"},
			{"by actor, newest first among equals", audit.Filter{Sort: "actor"}, "alice:case.dispatch alice:user.update bob:user.add carol:user.add"},
			{"by action descending", audit.Filter{Sort: "-action"}, "alice:user.update bob:user.add carol:user.add alice:case.dispatch"},
			{"second page of two", audit.Filter{Sort: "actor", Limit: 2, Offset: 2}, "bob:user.add carol:user.add"},
			{"one action", audit.Filter{Action: "user.add"}, "bob:user.add carol:user.add"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := actors(tc.f); got != tc.want {
					t.Errorf("got %q, want %q", got, tc.want)
				}
			})
		}
		for _, bad := range []string{"summary", "id; DROP TABLE audit_log", "-", "actor desc"} {
			_, err := log.List(ctx, audit.Filter{Sort: bad})
			if e, ok := errs.As(err); !ok || e.Code != errs.Invalid || e.Fields["sort"].Key != "field.unknown_sort" {
				t.Errorf("sort %q: err = %v, want a field error on sort", bad, err)
			}
		}
		if n, err := log.Count(ctx, audit.Filter{Action: "user.add", Limit: 1, Offset: 1}); err != nil || n != 2 {
			t.Errorf("Count(user.add) = %d, %v; want 2", n, err)
		}
		acts, err := log.Actions(ctx)
		if err != nil || strings.Join(acts, ",") != "case.dispatch,user.add,user.update" {
			t.Errorf("Actions = %v, %v", acts, err)
		}
	})
}
