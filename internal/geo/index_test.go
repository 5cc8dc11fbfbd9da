package geo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

func mp(polys ...orb.Polygon) orb.MultiPolygon { return orb.MultiPolygon(polys) }

type locateCase struct {
	name   string
	p      orb.Point
	want   int
	wantOK bool
}

func checkLocate(t *testing.T, ix *Index, tests []locateCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ix.Locate(tt.p)
			if ok != tt.wantOK || (ok && got != tt.want) {
				t.Errorf("Locate(%v) = %d, %v, want %d, %v", tt.p, got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func TestLocateHoles(t *testing.T) {
	ix := NewIndex([]orb.MultiPolygon{
		mp(orb.Polygon{rect(0, 0, 10, 10), reversed(rect(4, 4, 6, 6))}), // 0: square with a hole
		mp(orb.Polygon{rect(4.5, 4.5, 5.5, 5.5)}),                       // 1: island inside the hole
		mp(orb.Polygon{rect(10, 0, 20, 10), rect(12, 2, 18, 8)}),        // 2: hole given counter-clockwise
	})
	checkLocate(t, ix, []locateCase{
		{name: "in square", p: orb.Point{2, 2}, want: 0, wantOK: true},
		{name: "in hole", p: orb.Point{4.2, 4.2}, wantOK: false},
		{name: "in island inside hole", p: orb.Point{5, 5}, want: 1, wantOK: true},
		{name: "between island and hole edge", p: orb.Point{5.8, 5}, wantOK: false},
		{name: "in ring of second item", p: orb.Point{11, 5}, want: 2, wantOK: true},
		{name: "in hole of second item", p: orb.Point{15, 5}, wantOK: false},
		{name: "outside everything", p: orb.Point{25, 5}, wantOK: false},
		{name: "below everything", p: orb.Point{5, -1}, wantOK: false},
	})
	if got := ix.Len(); got != 3 {
		t.Errorf("Len() = %d, want 3", got)
	}
}

func TestLocateMultiPolygon(t *testing.T) {
	ix := NewIndex([]orb.MultiPolygon{
		mp(orb.Polygon{rect(0, 0, 1, 1)}, orb.Polygon{rect(8, 8, 9, 9)}), // 0: two far-apart parts
		mp(orb.Polygon{rect(4, 4, 5, 5)}),                                // 1: in between
		{},                                                               // 2: empty item
		mp(orb.Polygon{rect(1, 0, 2, 1)}, orb.Polygon{rect(2, 0, 3, 1)}), // 3: parts sharing an edge
	})
	checkLocate(t, ix, []locateCase{
		{name: "first part", p: orb.Point{0.5, 0.5}, want: 0, wantOK: true},
		{name: "second part", p: orb.Point{8.5, 8.5}, want: 0, wantOK: true},
		{name: "other item between parts", p: orb.Point{4.5, 4.5}, want: 1, wantOK: true},
		{name: "gap between parts", p: orb.Point{6.5, 6.5}, wantOK: false},
		{name: "inside first part of item 3", p: orb.Point{1.5, 0.5}, want: 3, wantOK: true},
		{name: "on edge between parts of item 3", p: orb.Point{2, 0.5}, want: 3, wantOK: true},
	})
	if got := ix.Len(); got != 4 {
		t.Errorf("Len() = %d, want 4", got)
	}
}

func TestLocateOverlapLowestIndex(t *testing.T) {
	ix := NewIndex([]orb.MultiPolygon{
		mp(orb.Polygon{rect(5, 5, 6, 6)}),   // 0: far away
		mp(orb.Polygon{rect(0, 0, 3, 3)}),   // 1
		mp(orb.Polygon{rect(1, 1, 4, 4)}),   // 2: overlaps 1
		mp(orb.Polygon{rect(-1, -1, 5, 5)}), // 3: covers 1 and 2 entirely
	})
	checkLocate(t, ix, []locateCase{
		{name: "only in 1 and 3", p: orb.Point{0.5, 0.5}, want: 1, wantOK: true},
		{name: "in 1, 2 and 3", p: orb.Point{2, 2}, want: 1, wantOK: true},
		{name: "only in 2 and 3", p: orb.Point{3.5, 3.5}, want: 2, wantOK: true},
		{name: "only in 3", p: orb.Point{4.5, 0.5}, want: 3, wantOK: true},
	})
}

func TestLocateOutside(t *testing.T) {
	ix := NewIndex([]orb.MultiPolygon{mp(orb.Polygon{rect(120.70, 27.95, 120.71, 27.96)})})
	checkLocate(t, ix, []locateCase{
		{name: "inside", p: orb.Point{120.705, 27.955}, want: 0, wantOK: true},
		{name: "west", p: orb.Point{120.69, 27.955}, wantOK: false},
		{name: "north", p: orb.Point{120.705, 27.97}, wantOK: false},
		{name: "origin", p: orb.Point{0, 0}, wantOK: false},
		{name: "nan", p: orb.Point{math.NaN(), 27.955}, wantOK: false},
		{name: "infinity", p: orb.Point{math.Inf(1), math.Inf(-1)}, wantOK: false},
	})

	empty := NewIndex(nil)
	if got, ok := empty.Locate(orb.Point{0, 0}); ok {
		t.Errorf("empty index: Locate = %d, true, want false", got)
	}
	if got, _, ok := empty.Nearest(orb.Point{0, 0}, 1e6); ok {
		t.Errorf("empty index: Nearest = %d, true, want false", got)
	}
	if got := empty.Len(); got != 0 {
		t.Errorf("empty index: Len() = %d, want 0", got)
	}
}

// claims returns the items whose own single-item index contains p. Single
// indexes have no "lowest index wins" tie-break, so this exposes whether
// the boundary rule itself gives a point to exactly one item.
func claims(single []*Index, p orb.Point) []int {
	var out []int
	for i, ix := range single {
		if _, ok := ix.Locate(p); ok {
			out = append(out, i)
		}
	}
	return out
}

func singleIndexes(items []orb.MultiPolygon) []*Index {
	out := make([]*Index, len(items))
	for i, it := range items {
		out[i] = NewIndex([]orb.MultiPolygon{it})
	}
	return out
}

// checkPartition checks that every point is claimed by exactly one item,
// that the combined index agrees with that item, and that repeated lookups
// and a second index built from the same data give the same answer.
func checkPartition(t *testing.T, items []orb.MultiPolygon, pts []orb.Point) {
	t.Helper()
	ix, again := NewIndex(items), NewIndex(items)
	single := singleIndexes(items)
	for _, p := range pts {
		c := claims(single, p)
		if len(c) != 1 {
			t.Errorf("point %.15g,%.15g is claimed by items %v, want exactly one", p[0], p[1], c)
			continue
		}
		got, ok := ix.Locate(p)
		if !ok || got != c[0] {
			t.Errorf("Locate(%.15g,%.15g) = %d, %v, want %d", p[0], p[1], got, ok, c[0])
		}
		for range 3 {
			if g, ok := ix.Locate(p); !ok || g != got {
				t.Fatalf("Locate(%v) changed its answer: %d, %v then %d, %v", p, got, true, g, ok)
			}
		}
		if g, ok := again.Locate(p); !ok || g != got {
			t.Errorf("rebuilt index: Locate(%v) = %d, %v, want %d", p, g, ok, got)
		}
	}
}

func TestLocateSharedEdgesSquareLattice(t *testing.T) {
	// 10×10 unit squares. Coordinates are exact in binary, so points are
	// exactly on edges and vertices.
	const n = 10
	var items []orb.MultiPolygon
	for j := range n {
		for i := range n {
			items = append(items, mp(orb.Polygon{rect(float64(i), float64(j), float64(i+1), float64(j+1))}))
		}
	}
	var pts []orb.Point
	for j := 0; j <= n; j++ {
		for i := 0; i <= n; i++ {
			interiorX, interiorY := i > 0 && i < n, j > 0 && j < n
			x, y := float64(i), float64(j)
			if interiorX && interiorY {
				pts = append(pts, orb.Point{x, y}) // vertex shared by four squares
			}
			if interiorX && j < n {
				pts = append(pts, orb.Point{x, y + 0.5}, orb.Point{x, y + 0.125}) // on a vertical shared edge
			}
			if interiorY && i < n {
				pts = append(pts, orb.Point{x + 0.5, y}, orb.Point{x + 0.875, y}) // on a horizontal shared edge
			}
		}
	}
	checkPartition(t, items, pts)

	// The rule is half-open: a point on a shared edge goes to the item on
	// its right/upper side, which makes the answers predictable.
	ix := NewIndex(items)
	checkLocate(t, ix, []locateCase{
		{name: "vertical edge goes right", p: orb.Point{3, 2.5}, want: 2*n + 3, wantOK: true},
		{name: "horizontal edge goes up", p: orb.Point{3.5, 2}, want: 2*n + 3, wantOK: true},
		{name: "vertex goes up-right", p: orb.Point{3, 2}, want: 2*n + 3, wantOK: true},
		{name: "left outer edge is inside", p: orb.Point{0, 2.5}, want: 2 * n, wantOK: true},
		{name: "right outer edge is outside", p: orb.Point{n, 2.5}, wantOK: false},
	})
}

func TestLocateSharedEdgesJitteredLattice(t *testing.T) {
	items := SyntheticGrids(100, 5)
	var pts []orb.Point
	inside := func(p orb.Point) bool { // off the outer boundary of the union
		return p[0] > synthMinLng && p[0] < synthMaxLng && p[1] > synthMinLat && p[1] < synthMaxLat
	}
	for _, it := range items {
		ring := it[0][0]
		for k := 0; k+1 < len(ring); k++ {
			a, b := ring[k], ring[k+1]
			// Shared vertices, and points on (or within rounding of) shared
			// edges between two jittered vertices.
			for _, p := range []orb.Point{a, {(a[0] + b[0]) / 2, (a[1] + b[1]) / 2}, {a[0] + (b[0]-a[0])/3, a[1] + (b[1]-a[1])/3}} {
				if inside(p) {
					pts = append(pts, p)
				}
			}
		}
	}
	if len(pts) < 1000 {
		t.Fatalf("only %d boundary points, want at least 1000", len(pts))
	}
	checkPartition(t, items, pts)
}

// gridsWithHoles takes SyntheticGrids and cuts a square hole into every
// third grid; every other hole gets an island item of the same shape, so
// the result still tiles the rectangle except for the empty holes.
func gridsWithHoles(n int, seed int64) []orb.MultiPolygon {
	items := SyntheticGrids(n, seed)
	for i := 0; i < len(items); i += 3 {
		outer := items[i][0][0]
		b := outer.Bound()
		c := b.Center()
		h := 0.08 * min(b.Max[0]-b.Min[0], b.Max[1]-b.Min[1])
		hole := rect(c[0]-h, c[1]-h, c[0]+h, c[1]+h)
		items[i] = mp(orb.Polygon{outer, reversed(hole)})
		if i%2 == 0 {
			items = append(items, mp(orb.Polygon{hole}))
		}
	}
	return items
}

func TestLocateMatchesOracle(t *testing.T) {
	items := gridsWithHoles(2000, 3)
	for i, it := range items {
		if err := ValidateGeometry(it); err != nil {
			t.Fatalf("test data: item %d invalid: %v", i, err)
		}
	}
	bounds := make([]orb.Bound, len(items))
	for i, it := range items {
		bounds[i] = it.Bound()
	}
	ix := NewIndex(items)

	rng := rand.New(rand.NewPCG(1, 2))
	var inside, outside, skipped int
	const pad = 0.01 // also sample around the tiled rectangle
	for range 20000 {
		p := orb.Point{
			synthMinLng - pad + rng.Float64()*(synthMaxLng-synthMinLng+2*pad),
			synthMinLat - pad + rng.Float64()*(synthMaxLat-synthMinLat+2*pad),
		}
		want, near := -1, false
		for i, it := range items {
			if !bounds[i].Contains(p) {
				continue
			}
			// Stay clear of boundaries, where conventions may differ.
			for _, poly := range it {
				for _, r := range poly {
					if ringDistance(r, p) < 1e-9 {
						near = true
					}
				}
			}
			if want < 0 && planar.MultiPolygonContains(it, p) {
				want = i
			}
		}
		if near {
			skipped++
			continue
		}
		got, ok := ix.Locate(p)
		if ok != (want >= 0) || (ok && got != want) {
			t.Errorf("Locate(%.12f, %.12f) = %d, %v, want %d (brute force)", p[0], p[1], got, ok, want)
		}
		if want >= 0 {
			inside++
		} else {
			outside++
		}
	}
	// Make sure the sample exercised both outcomes, holes included.
	if inside < 15000 || outside < 500 {
		t.Errorf("sample has %d inside and %d outside points, want >= 15000 and >= 500", inside, outside)
	}
	if skipped > 10 {
		t.Errorf("%d points skipped as too close to a boundary, want almost none", skipped)
	}
}

// ringDistance is the planar distance in degrees from p to ring r.
func ringDistance(r orb.Ring, p orb.Point) float64 {
	d := math.Inf(1)
	for i := 0; i+1 < len(r); i++ {
		d = min(d, planar.DistanceFromSegment(r[i], r[i+1], p))
	}
	return d
}

// metresToLng converts an east-west distance at latitude lat to degrees,
// with the same local approximation as Nearest.
func metresToLng(m, lat float64) float64 {
	return m / (EarthRadiusMeters * math.Pi / 180 * math.Cos(lat*math.Pi/180))
}

func TestNearest(t *testing.T) {
	const lat = 27.955
	a := rect(120.70, 27.95, 120.71, 27.96)
	// Item 1 starts 60 m east of item 0, leaving a gap.
	gapW := metresToLng(60, lat)
	b := rect(120.71+gapW, 27.95, 120.72+gapW, 27.96)
	// Items 2 and 3 are identical, far from the others, to test ties.
	c := rect(120.80, 27.95, 120.81, 27.96)
	ix := NewIndex([]orb.MultiPolygon{mp(orb.Polygon{a}), mp(orb.Polygon{b}), mp(orb.Polygon{c}), mp(orb.Polygon{c})})

	east := func(x, m float64) orb.Point { return orb.Point{x + metresToLng(m, lat), lat} }
	tests := []struct {
		name       string
		p          orb.Point
		max        float64
		want       int
		wantMetres float64
		wantOK     bool
	}{
		{name: "inside", p: orb.Point{120.705, lat}, max: 50, want: 0, wantMetres: 0, wantOK: true},
		{name: "20 m from 0, 40 m from 1", p: east(120.71, 20), max: 50, want: 0, wantMetres: 20, wantOK: true},
		{name: "45 m from 0, 15 m from 1", p: east(120.71, 45), max: 50, want: 1, wantMetres: 15, wantOK: true},
		{name: "30 m east of the tied pair", p: east(120.81, 30), max: 50, want: 2, wantMetres: 30, wantOK: true},
		{name: "30 m north of 0", p: orb.Point{120.705, 27.96 + 30/(EarthRadiusMeters*math.Pi/180)}, max: 50, want: 0, wantMetres: 30, wantOK: true},
		{name: "80 m east of the tied pair", p: east(120.81, 80), max: 50, wantOK: false},
		{name: "80 m west of 0", p: east(120.70, -80), max: 50, wantOK: false},
		{name: "80 m west of 0 with a larger radius", p: east(120.70, -80), max: 100, want: 0, wantMetres: 80, wantOK: true},
		{name: "far away", p: orb.Point{121.5, 31.2}, max: 50, wantOK: false},
		{name: "negative radius", p: east(120.71, 20), max: -1, wantOK: false},
		{name: "nan point", p: orb.Point{math.NaN(), lat}, max: 50, wantOK: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, metres, ok := ix.Nearest(tt.p, tt.max)
			if ok != tt.wantOK || (ok && got != tt.want) {
				t.Fatalf("Nearest(%v, %g) = %d, %.3f m, %v, want %d, %v", tt.p, tt.max, got, metres, ok, tt.want, tt.wantOK)
			}
			if ok && math.Abs(metres-tt.wantMetres) > 0.01 {
				t.Errorf("Nearest(%v, %g) distance = %.4f m, want %.4f m", tt.p, tt.max, metres, tt.wantMetres)
			}
		})
	}
}

// gappedLattice returns n×n squares of side 0.001° (about 100 m) with
// gaps of 0.0004° (about 40 m) between them, near Wenzhou.
func gappedLattice(n int) []orb.MultiPolygon {
	var items []orb.MultiPolygon
	for j := range n {
		for i := range n {
			x, y := 120.7+float64(i)*0.0014, 27.9+float64(j)*0.0014
			items = append(items, mp(orb.Polygon{rect(x, y, x+0.001, y+0.001)}))
		}
	}
	return items
}

func TestNearestMatchesBruteForce(t *testing.T) {
	tests := []struct {
		name  string
		items []orb.MultiPolygon
		maxM  float64
	}{
		// Empty holes leave gaps inside grids; the rectangle's surroundings
		// are outside everything.
		{name: "grids with holes", items: gridsWithHoles(300, 9), maxM: 150},
		// Many small items: cells are smaller than the search radius, so
		// the nearest edge is often in a neighbouring cell.
		{name: "gapped lattice", items: gappedLattice(40), maxM: 50},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := NewIndex(tt.items)
			b := tt.items[0].Bound()
			for _, it := range tt.items {
				b = b.Union(it.Bound())
			}
			b = b.Pad(0.003) // about 300 m
			rng := rand.New(rand.NewPCG(3, 4))
			checked, found := 0, 0
			for range 3000 {
				p := orb.Point{
					b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]),
					b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1]),
				}
				if _, ok := ix.Locate(p); ok {
					continue
				}
				checked++
				my := EarthRadiusMeters * math.Pi / 180
				mx := my * math.Cos(p[1]*math.Pi/180)
				want, wantD := -1, math.Inf(1)
				for i, it := range tt.items {
					for _, poly := range it {
						for _, r := range poly {
							for k := 0; k+1 < len(r); k++ {
								d := segmentDistance((r[k][0]-p[0])*mx, (r[k][1]-p[1])*my, (r[k+1][0]-p[0])*mx, (r[k+1][1]-p[1])*my)
								if d < wantD {
									want, wantD = i, d
								}
							}
						}
					}
				}
				got, d, ok := ix.Nearest(p, tt.maxM)
				if wantD > tt.maxM {
					if ok {
						t.Errorf("Nearest(%v) = %d, %.2f m, want none within %g m (nearest is %.2f m)", p, got, d, tt.maxM, wantD)
					}
					continue
				}
				found++
				if !ok || math.Abs(d-wantD) > 1e-6 {
					t.Errorf("Nearest(%v) = %d, %.4f m, %v, want %d, %.4f m", p, got, d, ok, want, wantD)
				}
			}
			if checked < 100 || found < 50 || checked-found < 50 {
				t.Errorf("%d points outside all items, %d of them within range: want a mix", checked, found)
			}
		})
	}
}

func TestNearestTieGoesToLowestIndex(t *testing.T) {
	// Two squares at exactly the same distance (2^-10 degrees, binary
	// exact) east and west of p. The higher index is on the west side, so
	// it is met first by the west-to-east scan of cells.
	const d = 1.0 / 1024
	p := orb.Point{120.75, 27.9}
	ix := NewIndex([]orb.MultiPolygon{
		mp(orb.Polygon{rect(p[0]+d, 27.89, p[0]+2*d, 27.91)}), // 0: east
		mp(orb.Polygon{rect(p[0]-2*d, 27.89, p[0]-d, 27.91)}), // 1: west
	})
	got, metres, ok := ix.Nearest(p, 200)
	if !ok || got != 0 {
		t.Errorf("Nearest(%v) = %d, %.3f m, %v, want 0", p, got, metres, ok)
	}
}

func TestInteriorPoint(t *testing.T) {
	// A C shape opening to the east: its centroid (1.7, 2) lies in
	// the notch, outside the polygon.
	cShape := orb.Polygon{{{0, 0}, {4, 0}, {4, 1}, {1, 1}, {1, 3}, {4, 3}, {4, 4}, {0, 4}, {0, 0}}}
	// A U shape whose bounding-box centre is in the notch.
	uShape := orb.Polygon{{{0, 0}, {3, 0}, {3, 3}, {2, 3}, {2, 1}, {1, 1}, {1, 3}, {0, 3}, {0, 0}}}
	donut := orb.Polygon{rect(0, 0, 10, 10), reversed(rect(1, 1, 9, 9))}
	// The scan line through the middle passes exactly through vertices.
	diamond := orb.Polygon{{{0, 1}, {1, 0}, {2, 1}, {1, 2}, {0, 1}}}

	tests := []struct {
		name      string
		mp        orb.MultiPolygon
		wantIn    orb.Polygon
		centreOut bool // the naive answer is wrong, so the test is meaningful
	}{
		{name: "c shape", mp: mp(cShape), wantIn: cShape, centreOut: true},
		{name: "u shape", mp: mp(uShape), wantIn: uShape, centreOut: true},
		{name: "donut", mp: mp(donut), wantIn: donut, centreOut: true},
		{name: "diamond through vertices", mp: mp(diamond), wantIn: diamond},
		{name: "largest part of a multipolygon", mp: mp(orb.Polygon{rect(20, 20, 21, 21)}, cShape), wantIn: cShape},
		{name: "open ring", mp: mp(orb.Polygon{{{0, 0}, {4, 0}, {4, 4}, {0, 4}}}), wantIn: orb.Polygon{rect(0, 0, 4, 4)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := InteriorPoint(tt.mp)
			if !planar.PolygonContains(tt.wantIn, got) {
				t.Errorf("InteriorPoint() = %v, not inside %v", got, tt.wantIn)
			}
			for _, r := range tt.wantIn {
				if d := ringDistance(append(r, r[0]), got); d < 1e-9 {
					t.Errorf("InteriorPoint() = %v is on the boundary (distance %g)", got, d)
				}
			}
			if tt.centreOut {
				cen, _ := planar.CentroidArea(tt.wantIn)
				bc := tt.wantIn.Bound().Center()
				if planar.PolygonContains(tt.wantIn, cen) && planar.PolygonContains(tt.wantIn, bc) {
					t.Errorf("centroid %v and box centre %v are inside: the case does not test anything", cen, bc)
				}
			}
		})
	}
	if got := InteriorPoint(nil); got != (orb.Point{}) {
		t.Errorf("InteriorPoint(nil) = %v, want zero point", got)
	}

	// Every synthetic grid's interior point must locate to that grid.
	items := SyntheticGrids(300, 2)
	ix := NewIndex(items)
	for i, it := range items {
		if got, ok := ix.Locate(InteriorPoint(it)); !ok || got != i {
			t.Errorf("grid %d: Locate(InteriorPoint) = %d, %v, want %d", i, got, ok, i)
		}
	}
}

func TestSyntheticGrids(t *testing.T) {
	for _, n := range []int{1, 2, 7, 100, 101, 997} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			items := SyntheticGrids(n, 1)
			if len(items) != n {
				t.Fatalf("got %d grids, want %d", len(items), n)
			}
			var area float64
			for i, it := range items {
				if err := ValidateGeometry(it); err != nil {
					t.Fatalf("grid %d: %v", i, err)
				}
				if v := len(it[0][0]) - 1; v < 12 || v > 40 {
					t.Errorf("grid %d has %d vertices, want 12–40", i, v)
				}
				area += planar.Area(it)
			}
			// Valid pieces whose areas add up to the rectangle's, with the
			// partition test above, mean no gaps and no overlaps.
			want := (synthMaxLng - synthMinLng) * (synthMaxLat - synthMinLat)
			if math.Abs(area-want) > 1e-9*want {
				t.Errorf("total area %.15g, want %.15g", area, want)
			}
		})
	}
	a, b, c := SyntheticGrids(50, 1), SyntheticGrids(50, 1), SyntheticGrids(50, 2)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("same seed gave different grids")
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Error("different seeds gave identical grids")
	}
	if got := SyntheticGrids(0, 1); got != nil {
		t.Errorf("SyntheticGrids(0) = %v, want nil", got)
	}
}

func TestLocateDoesNotAllocate(t *testing.T) {
	ix := NewIndex(gridsWithHoles(500, 1))
	pts := benchPoints(256)
	allocs := testing.AllocsPerRun(10, func() {
		for _, p := range pts {
			ix.Locate(p)
		}
	})
	if allocs != 0 {
		t.Errorf("Locate allocates %.1f times per 256 lookups, want 0", allocs)
	}
	nearAllocs := testing.AllocsPerRun(10, func() {
		for _, p := range pts {
			ix.Nearest(p, 50)
		}
	})
	if nearAllocs != 0 {
		t.Errorf("Nearest allocates %.1f times per 256 lookups, want 0", nearAllocs)
	}
}

func TestLocateDenseCell(t *testing.T) {
	// A comb with 300 teeth in the unit square plus a far-away square: the
	// cells are so large that the comb's ~1200 edges share one cell, which
	// takes the layout for cells with more than 64 distinct edges.
	var comb orb.Ring
	const teeth = 300
	comb = append(comb, orb.Point{0, 0}, orb.Point{1, 0})
	for i := range teeth {
		y := (float64(i) + 0.25) / teeth
		comb = append(comb, orb.Point{1, y}, orb.Point{0.1, y}, orb.Point{0.1, y + 0.5/teeth}, orb.Point{1, y + 0.5/teeth})
	}
	comb = append(comb, orb.Point{1, 1}, orb.Point{0, 1}, orb.Point{0, 0})
	items := []orb.MultiPolygon{mp(orb.Polygon{comb}), mp(orb.Polygon{rect(1000, 1000, 1001, 1001)})}
	if err := ValidateGeometry(items[0]); err != nil {
		t.Fatalf("test data: %v", err)
	}
	ix := NewIndex(items)
	if v := ix.cells[0]; v <= 0 || ix.blob[v]&ownLayout == 0 {
		t.Fatalf("the comb's cell does not use the own-edges layout; the test would not cover it")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	in := 0
	for range 5000 {
		p := orb.Point{rng.Float64() * 1.2, rng.Float64()}
		want := planar.PolygonContains(items[0][0], p)
		got, ok := ix.Locate(p)
		if ok != want || (ok && got != 0) {
			t.Errorf("Locate(%v) = %d, %v, want 0, %v", p, got, ok, want)
		}
		if want {
			in++
		}
	}
	if in < 1000 || in > 4000 {
		t.Errorf("%d of 5000 points inside the comb, want a mix", in)
	}
	checkLocate(t, ix, []locateCase{{name: "far square", p: orb.Point{1000.5, 1000.5}, want: 1, wantOK: true}})
}
