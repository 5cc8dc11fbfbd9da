package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/worldtest"
)

// `rollup bench` compares the rollups with a GROUP BY over the cases; it
// must refuse to time them when they disagree (issue 13, item 19), or it
// would compare two different answers.
func TestRollupBenchChecksTheSameAnswer(t *testing.T) {
	worldtest.Each(t, time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC), func(t *testing.T, d *db.DB, _ *clock.Fake) {
		ctx := context.Background()
		w := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Departments: worldtest.CatalogueDepartments(),
			Users: worldtest.OneStreetUsers()})
		st := w.AddStats(t, nil)
		lat, lng := 27.005, 120.005
		for i := 0; i < 3; i++ {
			w.Submit(t, "resident", casework.SubmitInput{Category: "ZL0302", Description: "楼道堆放杂物，影响通行", Lat: &lat, Lng: &lng, Address: "万顺路 1 号"})
		}
		sys := account.SystemScope()
		for _, code := range []string{"330303", "330303001", "330303001001"} {
			if err := sameSummary(ctx, st, sys, code); err != nil {
				t.Fatalf("%s: %v", code, err)
			}
		}
		// A rollup counter off by one: the benchmark must stop.
		err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE rollup_source SET n = n + 1 WHERE node = $1`, "330303")
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		err = sameSummary(ctx, st, sys, "330303")
		if err == nil || !strings.Contains(err.Error(), "differs from the GROUP BY answer") {
			t.Fatalf("sameSummary after a rollup counter changed: %v, want a difference", err)
		}
	})
}
