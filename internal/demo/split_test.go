package demo

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// poly builds a one-ring multipolygon from open vertex lists, so cases
// read as plain coordinates.
func poly(pts ...orb.Point) orb.MultiPolygon {
	return orb.MultiPolygon{{closeRing(pts)}}
}

// Hand-made shapes, as functions so that no test can change another's.

// unitSquare is [0,1]².
func unitSquare() []orb.Point { return []orb.Point{{0, 0}, {1, 0}, {1, 1}, {0, 1}} }

// uShape opens upwards: a 3×1 base with two 1-wide arms up to y = 3.
func uShape() []orb.Point {
	return []orb.Point{{0, 0}, {3, 0}, {3, 3}, {2, 3}, {2, 1}, {1, 1}, {1, 3}, {0, 3}}
}

// comb has a 5×1 base with three 1-wide teeth up to y = 3.
func comb() []orb.Point {
	return []orb.Point{{0, 0}, {5, 0}, {5, 3}, {4, 3}, {4, 1}, {3, 1}, {3, 3}, {2, 3}, {2, 1}, {1, 1}, {1, 3}, {0, 3}}
}

// cShape is the U turned to open to the right, for cuts at x = c.
func cShape() []orb.Point {
	return []orb.Point{{0, 0}, {3, 0}, {3, 1}, {1, 1}, {1, 2}, {3, 2}, {3, 3}, {0, 3}}
}

func TestSplitByLine(t *testing.T) {
	tests := []struct {
		name              string
		region            orb.MultiPolygon
		axis              Axis
		c                 float64
		lowArea, highArea []float64 // piece areas, in output order
	}{
		{"square x", poly(unitSquare()...), AxisX, 0.25, []float64{0.25}, []float64{0.75}},
		{"square y", poly(unitSquare()...), AxisY, 0.5, []float64{0.5}, []float64{0.5}},
		{"square clockwise input", poly(orb.Point{0, 1}, orb.Point{1, 1}, orb.Point{1, 0}, orb.Point{0, 0}), AxisX, 0.75, []float64{0.75}, []float64{0.25}},
		{"U across both arms", poly(uShape()...), AxisY, 2.5, []float64{6}, []float64{0.5, 0.5}},
		{"U through the base", poly(uShape()...), AxisY, 0.5, []float64{1.5}, []float64{5.5}},
		{"U down the middle", poly(uShape()...), AxisX, 1.5, []float64{3.5}, []float64{3.5}},
		{"comb across the teeth", poly(comb()...), AxisY, 2, []float64{8}, []float64{1, 1, 1}},
		{"comb along a gap", poly(comb()...), AxisX, 3.5, []float64{7.5}, []float64{3.5}},
		{"C across both arms", poly(cShape()...), AxisX, 2, []float64{5}, []float64{1, 1}},
		{"line misses below", poly(unitSquare()...), AxisY, -1, nil, []float64{1}},
		{"line misses above", poly(unitSquare()...), AxisX, 2, []float64{1}, nil},
		{
			"multipolygon", append(poly(unitSquare()...), poly(orb.Point{2, 0}, orb.Point{3, 0}, orb.Point{3, 1}, orb.Point{2, 1})...),
			AxisX, 2.5, []float64{1, 0.5}, []float64{0.5},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			low, high, err := SplitByLine(tt.region, tt.axis, tt.c)
			if err != nil {
				t.Fatalf("SplitByLine: %v", err)
			}
			checkPieces(t, "low", low, tt.lowArea, tt.axis, tt.c, -1)
			checkPieces(t, "high", high, tt.highArea, tt.axis, tt.c, 1)
			if got, want := planar.Area(low)+planar.Area(high), planar.Area(tt.region); math.Abs(got-want) > 1e-12 {
				t.Errorf("low+high area = %v, want the whole %v", got, want)
			}
		})
	}
}

// checkPieces checks one side of a split: its piece areas, validity, and
// that every vertex is on that side or exactly on the line.
func checkPieces(t *testing.T, side string, got orb.MultiPolygon, wantAreas []float64, axis Axis, c float64, sign float64) {
	t.Helper()
	if len(got) != len(wantAreas) {
		t.Fatalf("%s: got %d pieces, want %d (%v)", side, len(got), len(wantAreas), got)
	}
	for i, p := range got {
		if msg := multiPolygonProblem(orb.MultiPolygon{p}); msg != "" {
			t.Errorf("%s piece %d invalid: %s", side, i, msg)
		}
		if got, want := planar.Area(p), wantAreas[i]; math.Abs(got-want) > 1e-12 {
			t.Errorf("%s piece %d: area %v, want %v", side, i, got, want)
		}
		for _, pt := range p[0] {
			if d := (axis.along(pt) - c) * sign; d < 0 {
				t.Errorf("%s piece %d: vertex %v is on the wrong side of %v = %v", side, i, pt, axis, c)
			}
		}
	}
}

func TestSplitByLineErrors(t *testing.T) {
	tests := []struct {
		name    string
		region  orb.MultiPolygon
		axis    Axis
		c       float64
		wantBad bool // the error must wrap ErrBadCut
	}{
		{"line through a vertex", poly(uShape()...), AxisY, 1, true},
		{"line along an edge", poly(unitSquare()...), AxisX, 0, true},
		{"sliver piece", poly(unitSquare()...), AxisX, 1e-13, true},
		{"hole", orb.MultiPolygon{{closeRing(unitSquare()), closeRing([]orb.Point{{0.2, 0.2}, {0.2, 0.4}, {0.4, 0.4}, {0.4, 0.2}})}}, AxisX, 0.5, false},
		{"degenerate ring", poly(orb.Point{0, 0}, orb.Point{1, 1}), AxisX, 0.5, false},
		{"bad axis", poly(unitSquare()...), Axis(7), 0.5, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := SplitByLine(tt.region, tt.axis, tt.c)
			if err == nil {
				t.Fatal("got no error, want one")
			}
			if got := errors.Is(err, ErrBadCut); got != tt.wantBad {
				t.Errorf("errors.Is(%v, ErrBadCut) = %v, want %v", err, got, tt.wantBad)
			}
		})
	}
}

// TestSplitByLineSharedPoints checks that the crossings both sides get are
// the same points, exactly on the line, for an edge that is not
// axis-parallel, where the crossing is computed.
func TestSplitByLineSharedPoints(t *testing.T) {
	tri := poly(orb.Point{0.1, 0.3}, orb.Point{1.7, 0.2}, orb.Point{0.3, 1.9})
	for _, axis := range []Axis{AxisX, AxisY} {
		t.Run(axis.String(), func(t *testing.T) {
			low, high, err := SplitByLine(tri, axis, 0.7)
			if err != nil {
				t.Fatal(err)
			}
			onLine := func(mp orb.MultiPolygon) map[orb.Point]bool {
				m := map[orb.Point]bool{}
				for _, pt := range mp[0][0] {
					if axis.along(pt) == 0.7 {
						m[pt] = true
					}
				}
				return m
			}
			lo, hi := onLine(low), onLine(high)
			if len(lo) != 2 {
				t.Fatalf("low side has %d points exactly on the line, want 2", len(lo))
			}
			for pt := range lo {
				if !hi[pt] {
					t.Errorf("crossing %v of the low side is not a vertex of the high side %v", pt, hi)
				}
			}
		})
	}
}

// TestSplitByLineRandom cuts random star-shaped polygons, which are simple
// but very concave, at random positions and checks that the pieces are
// valid, keep the area and cover each sample point of the polygon exactly
// once.
func TestSplitByLineRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 200 {
		n := 5 + rng.IntN(40)
		pts := make([]orb.Point, n)
		for i := range pts {
			a := 2 * math.Pi * (float64(i) + 0.8*rng.Float64()) / float64(n)
			r := 0.2 + rng.Float64()
			pts[i] = orb.Point{r * math.Cos(a), r * math.Sin(a)}
		}
		region := poly(pts...)
		axis := Axis(rng.IntN(2))
		c := -1 + 2*rng.Float64()
		low, high, err := SplitByLine(region, axis, c)
		if errors.Is(err, ErrBadCut) {
			continue // a random line may graze a vertex; nothing to check
		}
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		for i, side := range []orb.MultiPolygon{low, high} {
			for _, p := range side {
				if msg := ringProblem(p[0]); msg != "" {
					t.Fatalf("trial %d side %d: invalid piece: %s", trial, i, msg)
				}
			}
		}
		if got, want := planar.Area(low)+planar.Area(high), planar.Area(region); math.Abs(got-want) > 1e-12 {
			t.Errorf("trial %d: low+high area = %v, want %v", trial, got, want)
		}
		for range 50 {
			p := orb.Point{-1.2 + 2.4*rng.Float64(), -1.2 + 2.4*rng.Float64()}
			if nearBoundary(p, 1e-12, region, low, high) {
				continue // boundary points belong to both sides by orb's rule
			}
			in := planar.MultiPolygonContains(region, p)
			got := 0
			for _, side := range []orb.MultiPolygon{low, high} {
				for _, piece := range side {
					if planar.PolygonContains(piece, p) {
						got++
					}
				}
			}
			if want := map[bool]int{true: 1, false: 0}[in]; got != want {
				t.Fatalf("trial %d: point %v is in %d pieces, want %d", trial, p, got, want)
			}
		}
	}
}
