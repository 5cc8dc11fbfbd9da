package casework_test

import (
	"context"
	"testing"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/worldtest"
)

// BenchmarkActions measures what the workflow layer costs a case page:
// the case's own workflow version, every candidate's guards and the
// allowed check for one caller, with no database round trip.
func BenchmarkActions(b *testing.B) {
	d := dbtest.MustOpenDB(b, db.SQLite, clock.NewFake(t0))
	w := worldtest.New(b, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Departments: worldtest.CatalogueDepartments(),
		Users: worldtest.OneStreetUsers(), Phone: "13912345678"})
	c := w.Submit(b, "resident", casework.SubmitInput{Category: "ZL0601", Description: "楼道堆放杂物，影响通行",
		Lat: f64(inA[0]), Lng: f64(inA[1]), Address: "万顺路 1 号"})
	c, err := w.Cases.Get(context.Background(), w.As("staff-a"), c.ID)
	if err != nil {
		b.Fatal(err)
	}
	caller := w.As("staff-a")
	for b.Loop() {
		if len(w.Cases.Actions(c, caller)) == 0 {
			b.Fatal("no action offered")
		}
	}
}
