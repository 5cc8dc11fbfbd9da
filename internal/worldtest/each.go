package worldtest

import (
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
)

// Each runs f as a subtest on a fresh database of each dialect, each with
// its own fake clock set to start.
func Each(t *testing.T, start time.Time, f func(t *testing.T, d *db.DB, clk *clock.Fake)) {
	t.Helper()
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			clk := clock.NewFake(start)
			f(t, dbtest.MustOpenDB(t, dialect, clk), clk)
		})
	}
}
