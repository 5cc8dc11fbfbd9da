package audit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
)

// TestAuditLogIsAppendOnly tries every statement that could change or empty
// the audit log, on each dialect, and checks that each fails and that the
// entries are all still there (issue 13, item 9: TRUNCATE on PostgreSQL).
func TestAuditLogIsAppendOnly(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const entries = 3
		for i := range entries {
			err := d.InTx(ctx, func(tx *db.Tx) error {
				return audit.Record(ctx, tx, audit.System("test"), "test.action", fmt.Sprintf("target:%d", i), "summary")
			})
			if err != nil {
				t.Fatalf("Record: %v", err)
			}
		}
		attacks := []struct {
			name, sql string
			dialect   db.Dialect // "" = both
		}{
			{"update", `UPDATE audit_log SET summary = 'forged'`, ""},
			{"delete one", `DELETE FROM audit_log WHERE id = (SELECT MIN(id) FROM audit_log)`, ""},
			// SQLite's TRUNCATE: a DELETE without WHERE.
			{"delete all", `DELETE FROM audit_log`, ""},
			{"truncate", `TRUNCATE audit_log`, db.Postgres},
			{"truncate only", `TRUNCATE ONLY audit_log RESTART IDENTITY`, db.Postgres},
			{"truncate cascade", `TRUNCATE TABLE audit_log CASCADE`, db.Postgres},
		}
		for _, a := range attacks {
			if a.dialect != "" && a.dialect != d.Dialect() {
				continue
			}
			t.Run(a.name, func(t *testing.T) {
				err := d.InTx(ctx, func(tx *db.Tx) error {
					_, err := tx.Exec(ctx, a.sql)
					return err
				})
				if err == nil {
					t.Errorf("%s succeeded, want an error", a.sql)
				}
				var n int
				var forged int
				if err := d.QueryRow(ctx, `SELECT COUNT(*), COUNT(CASE WHEN summary = 'forged' THEN 1 END) FROM audit_log`).Scan(&n, &forged); err != nil {
					t.Fatal(err)
				}
				if n != entries || forged != 0 {
					t.Errorf("after %s: got %d entries (%d forged), want %d (0 forged)", a.sql, n, forged, entries)
				}
			})
		}
	})
}
