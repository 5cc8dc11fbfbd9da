package sla

import (
	"context"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/timer"
)

// TestMigrationMovesPendingTimers: a database made by a binary that kept
// the SLA's timers in their own table (migrations up to 0016) upgrades
// cleanly: the pending warning, breach and supervision timers become
// kernel timers with the same due times, a fired one does not come back,
// and the old table is gone.
func TestMigrationMovesPendingTimers(t *testing.T) {
	t.Parallel()
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			ctx := context.Background()
			cfg := freshDB(t, dialect)
			now := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
			d, err := db.Open(ctx, cfg, clock.NewFake(now))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			ms, err := db.Migrations(dialect)
			if err != nil {
				t.Fatal(err)
			}
			due := map[string]time.Time{"warning": now.Add(time.Hour), "breach": now.Add(2 * time.Hour), "supervision": now.Add(26 * time.Hour)}
			var caseID, stageID, supID int64
			err = d.InTx(ctx, func(tx *db.Tx) error {
				// The schema as the older binary left it.
				if _, err := tx.Exec(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
					return err
				}
				for _, m := range ms {
					if m.Version >= 17 {
						break
					}
					if _, err := tx.Exec(ctx, m.SQL); err != nil {
						t.Fatalf("%s: %v", m.Name, err)
					}
					if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`, m.Version, m.Name, "2026-11-01T00:00:00Z"); err != nil {
						return err
					}
				}
				// A case with an open stage, a supervision and its timers:
				// three pending, one fired.
				if _, err := tx.Exec(ctx, `INSERT INTO regions (code, parent_code, name, level, path, geometry, min_lng, min_lat, max_lng, max_lat, interior_lng, interior_lat, created_at, updated_at)
					VALUES ('330303', NULL, '区', 'district', '/330303/', '{}', 0, 0, 1, 1, 0.5, 0.5, $1, $1)`, now); err != nil {
					return err
				}
				if caseID, err = tx.InsertID(ctx, `INSERT INTO cases (number, district_code, workflow, status, source, category_code, category_name, description,
					lat, lng, grid_code, region_path, visibility, created_at, updated_at)
					VALUES ('WS1', '330303', 'whistle', 'submitted', 'resident', 'ZL0601', 'x', 'x', 0, 0, '330303', '/330303/', 'public', $1, $1) RETURNING id`, now); err != nil {
					return err
				}
				if stageID, err = tx.InsertID(ctx, `INSERT INTO sla_stages (case_id, stage, status, started_at, deadline_at) VALUES ($1, 'accept', 'submitted', $2, $3) RETURNING id`,
					caseID, now, due["breach"]); err != nil {
					return err
				}
				if supID, err = tx.InsertID(ctx, `INSERT INTO supervisions (case_id, kind, level, region_code, reason, opened_at, deadline_at)
					VALUES ($1, 'manual', 'district', '330303', 'manual', $2, $3) RETURNING id`, caseID, now, due["supervision"]); err != nil {
					return err
				}
				for _, r := range []struct {
					kind       string
					due        time.Time
					stage, sup any
					fired      any
				}{
					{"warning", due["warning"], stageID, nil, nil},
					{"breach", due["breach"], stageID, nil, nil},
					{"supervision", due["supervision"], nil, supID, nil},
					{"warning", now.Add(-time.Hour), stageID, nil, now}, // an earlier warning, fired
				} {
					if _, err := tx.Exec(ctx, `INSERT INTO timers (due_at, kind, case_id, stage_id, supervision_id, created_at, fired_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
						r.due, r.kind, caseID, r.stage, r.sup, now, r.fired); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}

			applied, err := d.Migrate(ctx)
			if err != nil {
				t.Fatalf("upgrade: %v", err)
			}
			if len(applied) == 0 || applied[0] != "0017_sla_kernel_timers.sql" {
				t.Fatalf("applied %v, want 0017_sla_kernel_timers.sql first", applied)
			}
			want := map[timer.Key]time.Time{
				TimerKey(TimerWarning, caseID, stageID):   due["warning"],
				TimerKey(TimerBreach, caseID, stageID):    due["breach"],
				TimerKey(TimerSupervision, caseID, supID): due["supervision"],
			}
			var n int
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM kernel_timers`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != len(want) {
				t.Errorf("got %d kernel timers, want %d", n, len(want))
			}
			err = d.InTx(ctx, func(tx *db.Tx) error {
				for k, at := range want {
					got, err := timer.Pending(ctx, tx, k)
					if err != nil {
						t.Errorf("%v: %v", k, err)
						continue
					}
					if !got.Due.Equal(at) {
						t.Errorf("%v: due %v, want %v", k, got.Due, at)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM timers`).Scan(&n); err == nil {
				t.Errorf("the timers table is still there (%d rows)", n)
			}
		})
	}
}
