package patrol_test

import (
	"context"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/patrol"
	"whistle/internal/worldtest"
)

// walk is n fixes 5 s apart zigzagging north–south across grid A1.
func walk(n int) []patrol.Point {
	pts := make([]patrol.Point, n)
	for i := range pts {
		col, row := (i/200)%16, i%200
		if col%2 == 1 {
			row = 199 - row
		}
		pts[i] = patrol.Point{Lat: 27 + float64(row)*0.00005, Lng: 120.0005 + float64(col)*0.0006, Accuracy: 8, At: t0.Add(time.Duration(i) * 5 * time.Second)}
	}
	return pts
}

// BenchmarkCoverage: the share of grid A1 (1.1 km²) covered by a four-hour
// patrol (2,880 fixes) buffered by 30 m.
func BenchmarkCoverage(b *testing.B) {
	grid := orb.MultiPolygon{worldtest.Square(120, 27, 120.01, 27.01)}
	pts := walk(2880)
	for b.Loop() {
		patrol.Coverage(grid, pts, 30)
	}
}

// BenchmarkAddPoints: a minute of fixes (12) added to a patrol that holds
// three hours (2,160) on SQLite, with the summary recomputed.
func BenchmarkAddPoints(b *testing.B) {
	clk := clock.NewFake(t0)
	d := dbtest.MustOpenDB(b, db.SQLite, clk)
	wt := worldtest.New(b, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Departments: worldtest.CatalogueDepartments(), Users: worldtest.OneStreetUsers()})
	s := patrol.NewStore(d, wt.Regions, patrol.Config{})
	ctx := context.Background()
	u := wt.Users["grid-a"]
	p, err := s.Start(ctx, worldtest.Actor(), u, "")
	if err != nil {
		b.Fatal(err)
	}
	all := walk(2160 + 12*20000)
	in := func(pts []patrol.Point) []patrol.PointIn {
		out := make([]patrol.PointIn, len(pts))
		for i := range pts {
			out[i] = patrol.PointIn{Lat: &pts[i].Lat, Lng: &pts[i].Lng, Accuracy: &pts[i].Accuracy, At: pts[i].At}
		}
		return out
	}
	clk.Set(all[2159].At)
	for i := 0; i < 2160; i += 500 {
		if _, err := s.AddPoints(ctx, worldtest.Actor(), u, p.ID, in(all[i:min(i+500, 2160)])); err != nil {
			b.Fatal(err)
		}
	}
	next := 2160
	for b.Loop() {
		batch := all[next : next+12]
		next += 12
		clk.Set(batch[11].At)
		if _, err := s.AddPoints(ctx, worldtest.Actor(), u, p.ID, in(batch)); err != nil {
			b.Fatal(err)
		}
	}
}
