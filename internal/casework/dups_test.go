package casework_test

import (
	"context"
	"testing"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/worldtest"
)

// TestDuplicatesNearestInABusyArea (issue 13 item 13): with more open
// cases in the search box than the answer holds, the nearest still comes
// first. The busy cases are reported first and lie south of the new
// report, the nearest one last and just north of it, so that every order a
// database falls back to without ORDER BY (insertion, id, created_at, the
// lat/lng index) puts it after the 200th row.
func TestDuplicatesNearestInABusyArea(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newWorld(t, d, clk)
		ctx := context.Background()
		cat := leafOf(t, w, "ZL06")
		here := [2]float64{27.005, 120.005}
		report := func(lat, lng float64) *casework.Case {
			return w.Submit(t, "resident", casework.SubmitInput{Category: cat, Description: "楼道堆放杂物，影响通行",
				Lat: f64(lat), Lng: f64(lng), Visibility: "public"})
		}
		const busy = 230
		for i := range busy {
			// 33 to 89 metres south, spread east–west.
			report(here[0]-0.0003-float64(i%50)*0.00001, here[1]-0.0004+float64(i/50)*0.0002)
		}
		nearest := report(here[0]+0.00003, here[1]) // about 3 metres north
		got, err := w.svc.Duplicates(ctx, cat, here[0], here[1], "wgs84")
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 200 {
			t.Fatalf("got %d hints, want 200", len(got))
		}
		if got[0].ID != nearest.ID {
			t.Errorf("nearest hint: got %s at %.1f m, want %s", got[0].Number, got[0].Distance, nearest.Number)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Distance < got[i-1].Distance {
				t.Fatalf("hint %d at %.1f m comes after one at %.1f m", i, got[i].Distance, got[i-1].Distance)
			}
		}
		if last := got[len(got)-1].Distance; last > 100 {
			t.Errorf("farthest hint at %.1f m, beyond the 100 m radius", last)
		}
	})
}
