package visit_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/visit"
)

// benchMembers puts n people of grid A in the monthly group "disabled",
// written directly (the registry's own import is benchmarked there).
func benchMembers(b *testing.B, d *db.DB, path string, n int) {
	b.Helper()
	ctx := context.Background()
	const chunk = 500
	now := d.Now()
	for from := 0; from < n; from += chunk {
		rows := min(chunk, n-from)
		args := make([]any, 0, rows*6)
		for i := from; i < from+rows; i++ {
			args = append(args, fmt.Sprintf("B%017d", i), fmt.Sprintf("成员%d", i), gridA, path, now, now)
		}
		vals := strings.ReplaceAll(db.Placeholders(d.Dialect(), rows, 6), ")", ",'F','1950-01-01','resident')")
		q := `INSERT INTO reg_people (id_number, name, grid_code, region_path, created_at, updated_at, sex, birth_date, status) VALUES ` + vals
		if err := d.InTx(ctx, func(tx *db.Tx) error { _, err := tx.Exec(ctx, q, args...); return err }); err != nil {
			b.Fatal(err)
		}
	}
	if err := d.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO reg_group_members (group_code, person_id, since, note) SELECT 'disabled', id, $1, '' FROM reg_people`, now)
		return err
	}); err != nil {
		b.Fatal(err)
	}
}

func clearTasks(b *testing.B, d *db.DB) {
	b.Helper()
	ctx := context.Background()
	if err := d.InTx(ctx, func(tx *db.Tx) error { _, err := tx.Exec(ctx, `DELETE FROM visit_tasks`); return err }); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPlanMonth creates the month's visit tasks of 20,000 members of a
// monthly group (visit.Store.PlanPeriod: one INSERT … SELECT in one
// transaction) against a baseline in the same run: a plain multi-row
// INSERT of the same 20,000 rows, built beforehand, 500 rows a statement
// in one transaction. Target: under 10 s.
//
//	WHISTLE_TEST_POSTGRES=… go test -run '^$' -bench PlanMonth -benchtime 3x ./internal/visit/
func BenchmarkPlanMonth(b *testing.B) {
	const members = 20000
	for _, dialect := range dbtest.Dialects() {
		b.Run(string(dialect), func(b *testing.B) {
			clk := clock.NewFake(t0)
			d := dbtest.MustOpenDB(b, dialect, clk)
			w := newWorld(b, d, clk, visit.Config{})
			n, err := w.Regions.Get(context.Background(), gridA)
			if err != nil {
				b.Fatal(err)
			}
			benchMembers(b, d, n.Path, members)
			ctx := context.Background()
			b.Run("plan", func(b *testing.B) {
				for b.Loop() {
					b.StopTimer()
					clearTasks(b, d)
					b.StartTimer()
					got, err := w.vis.PlanPeriod(ctx, visit.Monthly, t0)
					if err != nil || got != members {
						b.Fatalf("planned %d, %v; want %d", got, err, members)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/month")
			})
			b.Run("baseline-insert", func(b *testing.B) {
				var ids []int64
				rows, err := d.Query(ctx, `SELECT person_id FROM reg_group_members ORDER BY person_id`)
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
					var id int64
					if err := rows.Scan(&id); err != nil {
						b.Fatal(err)
					}
					ids = append(ids, id)
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				rows.Close()
				due := time.Date(2026, 11, 30, 16, 0, 0, 0, time.UTC)
				for b.Loop() {
					b.StopTimer()
					clearTasks(b, d)
					b.StartTimer()
					now := d.Now()
					err := d.InTx(ctx, func(tx *db.Tx) error {
						const chunk = 500
						for from := 0; from < len(ids); from += chunk {
							part := ids[from:min(from+chunk, len(ids))]
							args := make([]any, 0, len(part)*8)
							for _, id := range part {
								args = append(args, id, "disabled", gridA, n.Path, "2026-11-01", "2026-11-30", due, now)
							}
							if _, err := tx.Exec(ctx, `INSERT INTO visit_tasks (person_id, group_code, grid_code, region_path, period_start, due_on, due_at, created_at) VALUES `+
								db.Placeholders(d.Dialect(), len(part), 8), args...); err != nil {
								return err
							}
						}
						return nil
					})
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/month")
			})
		})
	}
}
