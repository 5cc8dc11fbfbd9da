package patrol_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
	"whistle/internal/patrol"
	"whistle/internal/worldtest"
)

var t0 = time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC)

type world struct {
	*worldtest.World
	s   *patrol.Store
	clk *clock.Fake
}

// newWorld is worldtest.OneStreet with its users and a second grid worker
// of the same grid (grid-a2), and a patrol store of radius 30 m.
func newWorld(t *testing.T, d *db.DB, clk *clock.Fake, cfg patrol.Config) *world {
	t.Helper()
	clk.Set(t0) // the clock is shared by the dialects' runs
	users := append(worldtest.OneStreetUsers(), worldtest.User{Name: "grid-a2", Region: "330303001001001", Role: account.GridWorker},
		worldtest.User{Name: "grid-b", Region: "330303001002001", Role: account.GridWorker})
	wt := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Departments: worldtest.CatalogueDepartments(), Users: users})
	return &world{World: wt, s: patrol.NewStore(d, wt.Regions, cfg), clk: clk}
}

func f(v float64) *float64 { return &v }

// pt is a fix at lat, lng, accuracy acc, sec seconds after t0.
func pt(lat, lng, acc float64, sec int) patrol.PointIn {
	return patrol.PointIn{Lat: f(lat), Lng: f(lng), Accuracy: f(acc), At: t0.Add(time.Duration(sec) * time.Second)}
}

func (w *world) start(t *testing.T, who string) *patrol.Patrol {
	t.Helper()
	p, err := w.s.Start(context.Background(), worldtest.Actor(), w.Users[who], "")
	if err != nil {
		t.Fatalf("start by %s: %v", who, err)
	}
	return p
}

// countPoints counts the stored fixes of patrol id (of every patrol for 0).
func countPoints(t *testing.T, d *db.DB, id int64) int {
	t.Helper()
	var n int
	if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM patrol_points WHERE patrol_id = $1 OR $1 = 0`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func fields(err error) map[string]bool {
	out := map[string]bool{}
	if e, ok := errs.As(err); ok {
		for k := range e.Fields {
			out[k] = true
		}
	}
	return out
}

// TestIdempotentResend: a batch sent twice (the answer lost with the
// signal) stores its fixes once; a batch overlapping the stored fixes
// stores only the new ones.
func TestIdempotentResend(t *testing.T) {
	clk := clock.NewFake(t0)
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, clk, patrol.Config{})
		ctx := context.Background()
		p := w.start(t, "grid-a")
		clk.Advance(time.Minute)
		batch := []patrol.PointIn{pt(27.001, 120.005, 5, 0), pt(27.0015, 120.005, 5, 10), pt(27.002, 120.005, 5, 20)}
		steps := []struct {
			name     string
			batch    []patrol.PointIn
			new, dup int
			points   int
		}{
			{"first send", batch, 3, 0, 3},
			{"resend", batch, 0, 3, 3},
			{"overlap", append(batch[1:], pt(27.0025, 120.005, 5, 30)), 1, 2, 4},
			{"duplicate inside the batch", []patrol.PointIn{pt(27.003, 120.005, 5, 40), pt(27.003, 120.005, 5, 40)}, 1, 1, 5},
		}
		for _, st := range steps {
			res, err := w.s.AddPoints(ctx, worldtest.Actor(), w.Users["grid-a"], p.ID, st.batch)
			if err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if res.New != st.new || res.Duplicates != st.dup || res.Patrol.Points != st.points {
				t.Errorf("%s: got new=%d dup=%d points=%d, want %d %d %d", st.name, res.New, res.Duplicates, res.Patrol.Points, st.new, st.dup, st.points)
			}
		}
		if n := countPoints(t, d, p.ID); n != 5 {
			t.Errorf("stored points: got %d, want 5", n)
		}
	})
}

// TestPointChecks: bad fixes are field errors naming the fix, and the
// batch writes nothing; an absurd speed is flagged, not dropped.
func TestPointChecks(t *testing.T) {
	clk := clock.NewFake(t0)
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, clk, patrol.Config{})
		ctx := context.Background()
		p := w.start(t, "grid-a")
		clk.Advance(10 * time.Minute)
		if _, err := w.s.AddPoints(ctx, worldtest.Actor(), w.Users["grid-a"], p.ID, []patrol.PointIn{pt(27.001, 120.005, 5, 300)}); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name   string
			batch  []patrol.PointIn
			fields []string
		}{
			{"latitude out of range", []patrol.PointIn{pt(27.001, 120.005, 5, 310), pt(91, 120, 5, 320)}, []string{"points[1].lat"}},
			{"longitude missing and NaN accuracy", []patrol.PointIn{{Lat: f(27), At: t0.Add(330 * time.Second), Accuracy: f(math.NaN())}},
				[]string{"points[0].lng", "points[0].accuracy"}},
			{"time missing", []patrol.PointIn{{Lat: f(27), Lng: f(120)}}, []string{"points[0].at"}},
			{"out of order beyond the bound", []patrol.PointIn{pt(27.001, 120.005, 5, 300-121)}, []string{"points[0].at"}},
			{"in the future", []patrol.PointIn{pt(27.001, 120.005, 5, 600+121)}, []string{"points[0].at"}},
			{"empty batch", nil, []string{"points"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := w.s.AddPoints(ctx, worldtest.Actor(), w.Users["grid-a"], p.ID, c.batch)
				if errs.CodeOf(err) != errs.Invalid {
					t.Fatalf("got %v, want Invalid", err)
				}
				got := fields(err)
				for _, f := range c.fields {
					if !got[f] {
						t.Errorf("fields: got %v, want %s", got, f)
					}
				}
				if len(got) != len(c.fields) {
					t.Errorf("fields: got %v, want exactly %v", got, c.fields)
				}
				if n := countPoints(t, d, p.ID); n != 1 {
					t.Errorf("stored points: got %d, want 1 (nothing written)", n)
				}
			})
		}
		// Within the bound, out of order is fine. A jump of ~1.1 km in
		// 10 s (400 km/h) is kept and flagged, and the next fix, near the
		// last good one, counts again.
		res, err := w.s.AddPoints(ctx, worldtest.Actor(), w.Users["grid-a"], p.ID, []patrol.PointIn{
			pt(27.0005, 120.005, 5, 290), pt(27.011, 120.005, 5, 310), pt(27.0015, 120.005, 5, 320)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Patrol.Points != 4 || res.Patrol.Flagged != 1 {
			t.Errorf("points, flagged: got %d %d, want 4 1", res.Patrol.Points, res.Patrol.Flagged)
		}
		// 27.0005 → 27.0015 along a meridian: 111.2 m; the flagged fix adds nothing.
		if got := res.Patrol.DistanceM; math.Abs(got-111.2) > 0.5 {
			t.Errorf("distance: got %.1f m, want 111.2", got)
		}
	})
}

// TestDistanceJitter: fixes wandering within their accuracy add nothing;
// a straight walk adds its length however small the steps.
func TestDistanceJitter(t *testing.T) {
	var still, walk []patrol.Point
	for i := 0; i < 20; i++ {
		// ±3 m around one place, accuracy 10 m.
		d := 3e-5 * float64(i%2*2-1)
		still = append(still, patrol.Point{Lat: 27.005 + d, Lng: 120.005, Accuracy: 10})
		// 2 m steps north, accuracy 10 m: 38 m in all.
		walk = append(walk, patrol.Point{Lat: 27.005 + float64(i)*2/111195.0, Lng: 120.005, Accuracy: 10})
	}
	cases := []struct {
		name      string
		pts       []patrol.Point
		want, tol float64
	}{
		{"standing still", still, 0, 0},
		{"slow walk", walk, 38, 12}, // counted in jumps longer than the accuracy
		{"one fix", walk[:1], 0, 0},
	}
	for _, c := range cases {
		if got := patrol.Distance(c.pts); math.Abs(got-c.want) > c.tol {
			t.Errorf("%s: got %.1f m, want %.1f±%.0f", c.name, got, c.want, c.tol)
		}
	}
}

// TestCoverage: on grid A1 (0.01° × 0.01° at 27°N: 992 m × 1112 m) the
// share covered by a buffered track is its area over the grid's.
func TestCoverage(t *testing.T) {
	grid := orb.MultiPolygon{worldtest.Square(120, 27, 120.01, 27.01)}
	w := 0.01 * 111195.0 * math.Cos(27.005*math.Pi/180) // east-west extent, metres
	h := 0.01 * 111195.0
	line := func(lat0, lng0, lat1, lng1 float64) []patrol.Point {
		return []patrol.Point{{Lat: lat0, Lng: lng0}, {Lat: lat1, Lng: lng1}}
	}
	cases := []struct {
		name string
		pts  []patrol.Point
		want float64
	}{
		// A meridian across the grid: a 60 m band of height h.
		{"across north-south", line(27.0, 120.005, 27.01, 120.005), 60 * h / (w * h)},
		// Half of it lies outside the grid: only the inside counts.
		{"along the west edge", line(27.0, 120.0, 27.01, 120.0), 30 * h / (w * h)},
		{"one point", []patrol.Point{{Lat: 27.005, Lng: 120.005}}, math.Pi * 30 * 30 / (w * h)},
		{"outside", line(28, 121, 28.001, 121), 0},
	}
	for _, c := range cases {
		got := patrol.Coverage(grid, c.pts, 30)
		if math.Abs(got-c.want) > 0.003 {
			t.Errorf("%s: got %.4f, want %.4f", c.name, got, c.want)
		}
	}
}

// TestStoredSummary: the stored summary of a patrol walked across grid A1
// has its distance, duration and coverage.
func TestStoredSummary(t *testing.T) {
	clk := clock.NewFake(t0)
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, clk, patrol.Config{CoverageRadius: 30})
		ctx := context.Background()
		p := w.start(t, "grid-a")
		// 101 fixes 10 s apart walking north along 120.005 from 27.00 to 27.01.
		var batch []patrol.PointIn
		for i := 0; i <= 100; i++ {
			batch = append(batch, pt(27+float64(i)*0.0001, 120.005, 8, i*10))
		}
		clk.Advance(1000 * time.Second)
		if _, err := w.s.AddPoints(ctx, worldtest.Actor(), w.Users["grid-a"], p.ID, batch); err != nil {
			t.Fatal(err)
		}
		clk.Advance(20 * time.Second)
		got, err := w.s.Stop(ctx, worldtest.Actor(), w.Users["grid-a"], p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got.DistanceM-1112) > 2 {
			t.Errorf("distance: got %.1f, want 1112±2", got.DistanceM)
		}
		if got.DurationS != 1020 {
			t.Errorf("duration: got %d s, want 1020", got.DurationS)
		}
		if want := 60 / (0.01 * 111195.0 * math.Cos(27.005*math.Pi/180)); math.Abs(got.Coverage-want) > 0.003 {
			t.Errorf("coverage: got %.4f, want %.4f", got.Coverage, want)
		}
		if got.StoppedAt == nil {
			t.Error("stopped_at: got nil, want set")
		}
		if _, err := w.s.AddPoints(ctx, worldtest.Actor(), w.Users["grid-a"], p.ID, []patrol.PointIn{pt(27.005, 120.005, 5, 1010)}); errs.CodeOf(err) != errs.Conflict {
			t.Errorf("points after stop: got %v, want Conflict", err)
		}
	})
}

// TestScope: a patrol is seen by its worker and the staff above its grid
// only; only its worker writes to it.
func TestScope(t *testing.T) {
	clk := clock.NewFake(t0)
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, clk, patrol.Config{})
		ctx := context.Background()
		p := w.start(t, "grid-a")
		pb := w.start(t, "grid-b")
		cases := []struct {
			who   string
			see   bool
			list  int // patrols listed; -1: NotFound
			write errs.Code
		}{
			{"grid-a", true, 1, ""},
			{"grid-a2", false, 0, errs.NotFound},
			{"grid-b", false, 1, errs.NotFound},
			{"staff-a", true, 1, errs.Forbidden},
			{"staff-b", false, 1, errs.NotFound},
			{"street", true, 2, errs.Forbidden},
			{"admin", true, 2, errs.Forbidden},
			{"leader", true, 2, errs.Forbidden},
			{"cg-handler", false, -1, errs.NotFound},
			{"resident", false, -1, errs.NotFound},
		}
		for _, c := range cases {
			t.Run(c.who, func(t *testing.T) {
				u := w.Users[c.who]
				_, err := w.s.Get(ctx, u, p.ID)
				if c.see && err != nil {
					t.Errorf("get: got %v, want the patrol", err)
				}
				if !c.see && errs.CodeOf(err) != errs.NotFound {
					t.Errorf("get: got %v, want NotFound", err)
				}
				if _, err := w.s.Track(ctx, u, p.ID); c.see != (err == nil) {
					t.Errorf("track: got %v, want visible=%v", err, c.see)
				}
				list, err := w.s.List(ctx, u, patrol.Filter{})
				switch {
				case c.list < 0 && errs.CodeOf(err) != errs.NotFound:
					t.Errorf("list: got %v, want NotFound", err)
				case c.list >= 0 && (err != nil || len(list) != c.list):
					t.Errorf("list: got %d patrols (%v), want %d", len(list), err, c.list)
				}
				_, err = w.s.AddPoints(ctx, worldtest.Actor(), u, p.ID, []patrol.PointIn{pt(27.005, 120.005, 5, 1)})
				if c.write == "" && err != nil || c.write != "" && errs.CodeOf(err) != c.write {
					t.Errorf("add points: got %v, want %q", err, c.write)
				}
			})
		}
		if list, err := w.s.List(ctx, w.Users["street"], patrol.Filter{Grid: "330303001002001"}); err != nil || len(list) != 1 || list[0].ID != pb.ID {
			t.Errorf("street's list of grid B1: got %v %v, want patrol %d", list, err, pb.ID)
		}
		if list, err := w.s.List(ctx, w.Users["admin"], patrol.Filter{WorkerID: w.Users["grid-a"].ID}); err != nil || len(list) != 1 || list[0].ID != p.ID {
			t.Errorf("admin's list of grid-a: got %v %v, want patrol %d", list, err, p.ID)
		}
		// Starting: grid workers only, in their own grids.
		if _, err := w.s.Start(ctx, worldtest.Actor(), w.Users["staff-a"], "330303001001001"); errs.CodeOf(err) != errs.Forbidden {
			t.Errorf("start by staff: got %v, want Forbidden", err)
		}
		if _, err := w.s.Start(ctx, worldtest.Actor(), w.Users["grid-a"], "330303001002001"); !fields(err)["grid"] {
			t.Errorf("start in another grid: got %v, want a grid field error", err)
		}
	})
}

// TestRetention: Prune deletes patrols started before the retention
// period with their points, and keeps the rest.
func TestRetention(t *testing.T) {
	clk := clock.NewFake(t0)
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, clk, patrol.Config{Retention: 30 * 24 * time.Hour})
		ctx := context.Background()
		old := w.start(t, "grid-a")
		clk.Advance(time.Minute)
		if _, err := w.s.AddPoints(ctx, worldtest.Actor(), w.Users["grid-a"], old.ID, []patrol.PointIn{pt(27.005, 120.005, 5, 30)}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(20 * 24 * time.Hour)
		recent := w.start(t, "grid-a") // stops the old one
		clk.Advance(11 * 24 * time.Hour)
		n, err := w.s.Prune(ctx, worldtest.Actor())
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("pruned: got %d, want 1", n)
		}
		if _, err := w.s.Get(ctx, w.Users["grid-a"], old.ID); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("old patrol: got %v, want NotFound", err)
		}
		if _, err := w.s.Get(ctx, w.Users["grid-a"], recent.ID); err != nil {
			t.Errorf("recent patrol: got %v, want kept", err)
		}
		if pts := countPoints(t, d, 0); pts != 0 {
			t.Errorf("points left: got %d, want 0", pts)
		}
		if n, err := w.s.Prune(ctx, worldtest.Actor()); err != nil || n != 0 {
			t.Errorf("second prune: got %d %v, want 0", n, err)
		}
	})
}
