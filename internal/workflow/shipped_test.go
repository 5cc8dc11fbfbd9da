package workflow_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/workflow"
)

// shippedV is ticket.json as a later binary ships it: version v, with the
// take stage's default limit at hours working hours.
func shippedV(t *testing.T, v, hours int) *workflow.Definition {
	t.Helper()
	d := ticketDef(t)
	d.Version = v
	d.Stages[0].Limit = &workflow.Limit{Amount: hours, Unit: workflow.WorkingHours}
	return d
}

// TestShippedVersions: a binary that ships a higher version of a file
// than the database's latest shipped one activates it at start, unless an
// administrator uploaded a version since; then the administrator's stays
// active and a warning is logged.
func TestShippedVersions(t *testing.T) {
	dbtest.Each(t, clock.NewFake(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		start := func(shipped ...*workflow.Definition) (*workflow.Store, string) {
			t.Helper()
			var log bytes.Buffer
			s := workflow.NewStore(d)
			s.Logger = slog.New(slog.NewTextHandler(&log, nil))
			if err := s.Register(ctx, ticketVocab(), shipped...); err != nil {
				t.Fatal(err)
			}
			return s, log.String()
		}
		active := func(s *workflow.Store) (int, string) {
			t.Helper()
			a, err := s.Active(ctx, "ticket")
			if err != nil {
				t.Fatal(err)
			}
			return a.Version, a.Stages[0].Limit.String()
		}
		start(ticketDef(t))

		t.Run("a newer shipped version is activated", func(t *testing.T) {
			s, _ := start(shippedV(t, 2, 6))
			if v, lim := active(s); v != 2 || lim != "6 working_hours" {
				t.Errorf("active: v%d with take %s, want v2 with 6 working_hours", v, lim)
			}
			vs, err := s.List(ctx, "ticket")
			if err != nil {
				t.Fatal(err)
			}
			want := `stage "take": limit 4 working_hours → 6 working_hours`
			if len(vs) != 2 || vs[1].CreatedBy != workflow.Shipped || len(vs[1].Diff) != 1 || vs[1].Diff[0] != want {
				t.Errorf("versions: %+v, want v2 shipped with the diff %q", vs, want)
			}
			entries, err := audit.List(ctx, d, audit.Filter{Action: "workflow.upload"})
			if err != nil || len(entries) != 1 || entries[0].Target != "workflow:ticket@2" || !strings.Contains(entries[0].Summary, want) {
				t.Errorf("audit: %+v, %v; want the activation of v2 with its diff", entries, err)
			}
			// Starting the same binary again changes nothing.
			if s, _ := start(shippedV(t, 2, 6)); func() int { v, _ := active(s); return v }() != 2 {
				t.Error("a restart moved the active version")
			}
		})

		t.Run("an administrator's upload is kept", func(t *testing.T) {
			s, _ := start(shippedV(t, 2, 6))
			up := shippedV(t, 2, 8)
			body, err := up.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Upload(ctx, audit.Actor{Name: "admin"}, body, true); err != nil {
				t.Fatal(err)
			}
			s, log := start(shippedV(t, 4, 5))
			if v, lim := active(s); v != 3 || lim != "8 working_hours" {
				t.Errorf("active: v%d with take %s, want the administrator's v3 with 8 working_hours", v, lim)
			}
			if !strings.Contains(log, "not activated over an administrator's upload") || !strings.Contains(log, "uploaded_by=admin") {
				t.Errorf("log: %q, want the warning", log)
			}
			if v4, err := s.Get(ctx, "ticket", 4); err != nil || v4.Stages[0].Limit.Amount != 5 {
				t.Errorf("shipped v4: %+v, %v; want it stored, inactive", v4, err)
			}
		})
	})
}
