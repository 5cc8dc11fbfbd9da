package feed

import (
	"context"
	"errors"
	"strings"
	"testing"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
)

var errRollback = errors.New("rollback")

// TestPastCursorUsesThePositionIndex (PostgreSQL, where the runner asks
// it before each step): with 20,000 events and no statistics yet, as
// after a bulk import, the plan reads the positions' index. Written as a
// join of the events and the cursors it planned a scan of the whole feed.
func TestPastCursorUsesThePositionIndex(t *testing.T) {
	dbtest.Each(t, clock.Real{}, func(t *testing.T, d *db.DB) {
		if d.Dialect() != db.Postgres {
			t.Skip("the query runs on PostgreSQL only")
		}
		ctx := context.Background()
		var plan []string
		err := d.InTx(ctx, func(tx *db.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO feed_events (position, subject_kind, subject_id, kind, at)
				SELECT g, 'case', g, 'x', now() FROM generate_series(1, 20000) g`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO feed_cursors (consumer, position, updated_at) VALUES ('c', 19990, now())`); err != nil {
				return err
			}
			texts, err := dbtest.QueryTexts(ctx, tx, `EXPLAIN `+pastCursorQuery, "c")
			if err != nil {
				return err
			}
			for _, f := range texts {
				plan = append(plan, f[len(f)-1])
			}
			return errRollback
		})
		if !errors.Is(err, errRollback) {
			t.Fatal(err)
		}
		got := strings.Join(plan, "; ")
		if !strings.Contains(got, "Index") || strings.Contains(got, "Seq Scan on feed_events") {
			t.Errorf("plan %q: want the positions' index, no scan of feed_events", got)
		}
	})
}
