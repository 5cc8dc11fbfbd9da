package demo

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

func TestPartition(t *testing.T) {
	rect := poly(orb.Point{0, 0}, orb.Point{3, 0}, orb.Point{3, 1}, orb.Point{0, 1})
	tests := []struct {
		name    string
		region  orb.MultiPolygon
		weights []float64
		rng     *rand.Rand
		// tol is the allowed relative error of each part's area. Convex
		// regions get exact shares (up to the 1e-6° nudge off vertices);
		// concave ones may move a cut by up to 12% a level to keep parts
		// whole.
		tol float64
	}{
		{"one part", poly(unitSquare()...), []float64{1}, nil, 1e-12},
		{"halves", poly(unitSquare()...), []float64{1, 1}, nil, 1e-5},
		{"unequal", poly(unitSquare()...), []float64{1, 2, 3, 4, 5}, nil, 1e-5},
		{"rectangle", rect, []float64{2, 1, 1, 3, 1, 2, 1}, nil, 1e-5},
		{"many with rng", rect, []float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, rand.New(rand.NewPCG(1, 1)), 1e-5},
		{"comb", poly(comb()...), []float64{1, 1, 1, 1}, rand.New(rand.NewPCG(2, 2)), 0.3},
		{"U", poly(uShape()...), []float64{3, 1, 2}, rand.New(rand.NewPCG(3, 3)), 0.3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts, err := Partition(tt.region, tt.weights, tt.rng)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := len(parts), len(tt.weights); got != want {
				t.Fatalf("got %d parts, want %d", got, want)
			}
			whole := planar.Area(tt.region)
			var wsum, sum float64
			for _, w := range tt.weights {
				wsum += w
			}
			for i, p := range parts {
				if msg := multiPolygonProblem(p); msg != "" {
					t.Errorf("part %d invalid: %s", i, msg)
				}
				a := planar.Area(p)
				sum += a
				if want := whole * tt.weights[i] / wsum; math.Abs(a-want) > tt.tol*want {
					t.Errorf("part %d: area %v, want %v within %v", i, a, want, tt.tol)
				}
			}
			if math.Abs(sum-whole) > 1e-12*whole {
				t.Errorf("parts' areas sum to %v, want the whole %v", sum, whole)
			}
			checkCover(t, tt.region, parts)
		})
	}
}

// checkCover checks with a lattice of points that parts cover region once:
// every point of region is in exactly one part, every other point in none.
// Points within 1e-12 of an edge are skipped, because orb counts them as
// inside every polygon whose edge they are on.
func checkCover(t *testing.T, region orb.MultiPolygon, parts []orb.MultiPolygon) {
	t.Helper()
	b := region.Bound()
	const side = 97 // prime, so the lattice does not line up with the cuts
	for i := range side {
		for j := range side {
			p := orb.Point{
				b.Min[0] + (float64(i)+0.5)/side*(b.Max[0]-b.Min[0]),
				b.Min[1] + (float64(j)+0.5)/side*(b.Max[1]-b.Min[1]),
			}
			want := 0
			if planar.MultiPolygonContains(region, p) {
				want = 1
			}
			got := 0
			for _, part := range parts {
				if planar.MultiPolygonContains(part, p) {
					got++
				}
			}
			if got != want && !nearBoundary(p, 1e-12, append(parts, region)...) {
				t.Fatalf("point %v is in %d parts, want %d", p, got, want)
			}
		}
	}
}

func TestPartitionErrors(t *testing.T) {
	sq := poly(unitSquare()...)
	tests := []struct {
		name    string
		region  orb.MultiPolygon
		weights []float64
	}{
		{"no weights", sq, nil},
		{"zero weight", sq, []float64{1, 0}},
		{"negative weight", sq, []float64{1, -1}},
		{"NaN weight", sq, []float64{math.NaN(), 1}},
		{"infinite weight", sq, []float64{math.Inf(1), 1}},
		{"empty region", nil, []float64{1, 1}},
		{"hole", orb.MultiPolygon{{closeRing(unitSquare()), closeRing([]orb.Point{{0.2, 0.2}, {0.2, 0.4}, {0.4, 0.4}, {0.4, 0.2}})}}, []float64{1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if parts, err := Partition(tt.region, tt.weights, nil); err == nil {
				t.Errorf("got %d parts and no error, want an error", len(parts))
			}
		})
	}
}

// TestPartitionDeterminism checks that equal generator states give
// identical parts and that the generator matters.
func TestPartitionDeterminism(t *testing.T) {
	outline, err := Outline()
	if err != nil {
		t.Fatal(err)
	}
	region := orb.MultiPolygon{outline}
	weights := []float64{1, 2, 3, 4, 5, 6, 7}
	run := func(seed uint64) []Node {
		parts, err := Partition(region, weights, rand.New(rand.NewPCG(seed, 0)))
		if err != nil {
			t.Fatal(err)
		}
		nodes := make([]Node, len(parts))
		for i, p := range parts {
			nodes[i] = Node{Geometry: p}
		}
		return nodes
	}
	if d := firstDifference(run(1), run(1)); d != "" {
		t.Errorf("same seed, different parts: %s", d)
	}
	differs := false
	for seed := uint64(2); seed < 6 && !differs; seed++ {
		differs = firstDifference(run(1), run(seed)) != ""
	}
	if !differs {
		t.Error("seeds 1 to 5 all give the same parts, want the generator to matter")
	}
}

func TestAvoidVertices(t *testing.T) {
	coords := []float64{0, 1, 1 + 0.2*nudgeGap, 2}
	// Expected positions are computed from coords at run time, as
	// avoidVertices does, so they match it to the last bit.
	tests := []struct {
		name string
		c    float64
		want float64
	}{
		{"far from vertices", 0.5, 0.5},
		{"midway between vertices", 0.5 * (coords[1] + coords[3]), 0.5 * (coords[1] + coords[3])},
		{"on a vertex, tie goes below", 0, coords[0] - 1.5*nudgeGap},
		{"just above a vertex", 2 + 0.1*nudgeGap, coords[3] + 1.5*nudgeGap},
		{"just below a vertex", 2 - 0.1*nudgeGap, coords[3] - 1.5*nudgeGap},
		{"between close vertices", 1 + 0.05*nudgeGap, coords[2] - 1.5*nudgeGap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := avoidVertices(coords, tt.c)
			if !ok || got != tt.want {
				t.Errorf("avoidVertices(%v) = %v, %v; want %v, true", tt.c, got, ok, tt.want)
			}
		})
	}
}

func TestAreaBelow(t *testing.T) {
	tests := []struct {
		name   string
		region orb.MultiPolygon
		axis   Axis
		c      float64
		want   float64
	}{
		{"square", poly(unitSquare()...), AxisX, 0.3, 0.3},
		{"U arms", poly(uShape()...), AxisY, 2.5, 6},
		{"below everything", poly(uShape()...), AxisY, -1, 0},
		{"above everything", poly(uShape()...), AxisX, 9, 7},
		{"comb", poly(comb()...), AxisX, 3.5, 7.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := areaBelow(tt.region, tt.axis, tt.c); math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("areaBelow = %v, want %v", got, tt.want)
			}
		})
	}
}
