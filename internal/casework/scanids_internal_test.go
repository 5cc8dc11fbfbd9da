package casework

import (
	"context"
	"errors"
	"testing"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
)

// TestScanIDsReportsACutShortRead (issue 13 item 14): a result cut short
// (here by a cancelled context, as a dropped connection would) is an
// error, not a shorter list of ids: the notification loops used scanIDs's
// pattern without rows.Err() and would have notified only some users.
func TestScanIDsReportsACutShortRead(t *testing.T) {
	dbtest.Each(t, clock.Real{}, func(t *testing.T, d *db.DB) {
		q := `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1000000) SELECT x FROM n`
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		rows, err := d.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close() // scanIDs closes it too; closing twice is harmless
		// Cancel once the first row is in: the rest of the million never
		// arrives.
		if !rows.Next() {
			t.Fatalf("no first row: %v", rows.Err())
		}
		cancel()
		ids, err := scanIDs(rows)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("a read cut short: got %d ids and error %v, want context.Canceled", len(ids), err)
		}
	})
}
