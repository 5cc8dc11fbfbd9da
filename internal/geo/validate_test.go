package geo

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

// rect returns a closed counter-clockwise rectangle ring.
func rect(x0, y0, x1, y1 float64) orb.Ring {
	return orb.Ring{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}
}

// reversed returns r in the opposite orientation (clockwise for holes).
func reversed(r orb.Ring) orb.Ring {
	out := make(orb.Ring, len(r))
	for i, p := range r {
		out[len(r)-1-i] = p
	}
	return out
}

// circleRing returns a closed ring of n vertices approximating a circle.
func circleRing(cx, cy, rad float64, n int) orb.Ring {
	r := make(orb.Ring, 0, n+1)
	for i := range n {
		a := 2 * math.Pi * float64(i) / float64(n)
		r = append(r, orb.Point{cx + rad*math.Cos(a), cy + rad*math.Sin(a)})
	}
	return append(r, r[0])
}

func TestValidatePolygonValid(t *testing.T) {
	tests := []struct {
		name string
		poly orb.Polygon
	}{
		{name: "square", poly: orb.Polygon{rect(0, 0, 4, 4)}},
		{name: "clockwise square", poly: orb.Polygon{reversed(rect(0, 0, 4, 4))}},
		{name: "triangle", poly: orb.Polygon{{{0, 0}, {4, 0}, {2, 3}, {0, 0}}}},
		{name: "square with hole", poly: orb.Polygon{rect(0, 0, 4, 4), reversed(rect(1, 1, 3, 3))}},
		{name: "square with two holes", poly: orb.Polygon{rect(0, 0, 10, 4), rect(1, 1, 3, 3), rect(6, 1, 8, 3)}},
		{name: "concave u shape", poly: orb.Polygon{{{0, 0}, {3, 0}, {3, 3}, {2, 3}, {2, 1}, {1, 1}, {1, 3}, {0, 3}, {0, 0}}}},
		{name: "collinear vertex on an edge", poly: orb.Polygon{{{0, 0}, {2, 0}, {4, 0}, {4, 4}, {0, 4}, {0, 0}}}},
		{name: "repeated consecutive point", poly: orb.Polygon{{{0, 0}, {4, 0}, {4, 0}, {4, 4}, {0, 4}, {0, 0}}}},
		{name: "wenzhou coordinates", poly: orb.Polygon{rect(120.70, 27.95, 120.71, 27.96)}},
		{name: "5000-vertex circle", poly: orb.Polygon{circleRing(120.75, 27.95, 0.01, 5000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := ValidatePolygon(tt.poly); err != nil {
				t.Errorf("ValidatePolygon() = %v, want nil", err)
			}
		})
	}
}

func TestValidatePolygonErrors(t *testing.T) {
	square := rect(0, 0, 4, 4)
	// A 5000-vertex star whose vertex 2500 is pulled across the ring, so
	// its edges cross edges on the far side.
	bigBad := circleRing(0, 0, 1, 5000)
	bigBad[2500] = orb.Point{1.5, 0.001}

	tests := []struct {
		name       string
		poly       orb.Polygon
		wantReason Reason
		wantRing   int
		wantVertex int // -1: not checked
	}{
		{name: "no rings", poly: orb.Polygon{}, wantReason: ReasonEmpty, wantRing: -1, wantVertex: -1},
		{name: "outer ring with 3 positions", poly: orb.Polygon{{{0, 0}, {1, 0}, {0, 0}}}, wantReason: ReasonTooFewPoints, wantRing: 0, wantVertex: -1},
		{name: "hole with 3 positions", poly: orb.Polygon{square, {{1, 1}, {2, 1}, {1, 1}}}, wantReason: ReasonTooFewPoints, wantRing: 1, wantVertex: -1},
		{name: "ring not closed", poly: orb.Polygon{{{0, 0}, {4, 0}, {4, 4}, {0, 4}}}, wantReason: ReasonNotClosed, wantRing: 0, wantVertex: 3},
		{name: "longitude above 180", poly: orb.Polygon{{{179, 0}, {181, 0}, {181, 1}, {179, 0}}}, wantReason: ReasonOutOfRange, wantRing: 0, wantVertex: 1},
		{name: "latitude below -90", poly: orb.Polygon{{{0, -89}, {1, -89}, {1, -91}, {0, -89}}}, wantReason: ReasonOutOfRange, wantRing: 0, wantVertex: 2},
		{name: "nan coordinate", poly: orb.Polygon{{{0, 0}, {1, 0}, {math.NaN(), 1}, {0, 0}}}, wantReason: ReasonOutOfRange, wantRing: 0, wantVertex: 2},
		{name: "infinite coordinate in hole", poly: orb.Polygon{square, {{1, 1}, {2, 1}, {2, math.Inf(1)}, {1, 1}}}, wantReason: ReasonOutOfRange, wantRing: 1, wantVertex: 2},
		{name: "collinear ring has zero area", poly: orb.Polygon{{{0, 0}, {1, 1}, {2, 2}, {0, 0}}}, wantReason: ReasonZeroArea, wantRing: 0, wantVertex: -1},
		{name: "bow tie", poly: orb.Polygon{{{0, 0}, {2, 2}, {2, 0}, {0, 2}, {0, 0}}}, wantReason: ReasonSelfIntersection, wantRing: 0, wantVertex: 0},
		{name: "ring touches itself at a vertex", poly: orb.Polygon{{{0, 0}, {2, 0}, {2, 2}, {1, 0}, {0, 2}, {0, 0}}}, wantReason: ReasonSelfIntersection, wantRing: 0, wantVertex: 0},
		{name: "spike doubles back", poly: orb.Polygon{{{0, 0}, {4, 0}, {4, 4}, {4, 6}, {4, 4}, {0, 4}, {0, 0}}}, wantReason: ReasonSelfIntersection, wantRing: 0, wantVertex: -1},
		{name: "collinear overlap", poly: orb.Polygon{{{0, 0}, {4, 0}, {4, 2}, {3, 0}, {1, 0}, {0, 2}, {0, 0}}}, wantReason: ReasonSelfIntersection, wantRing: 0, wantVertex: 0},
		{name: "self-intersecting hole", poly: orb.Polygon{square, {{1, 1}, {3, 3}, {3, 1}, {1, 3}, {1, 1}}}, wantReason: ReasonSelfIntersection, wantRing: 1, wantVertex: 0},
		{name: "5000-vertex ring crossing itself", poly: orb.Polygon{bigBad}, wantReason: ReasonSelfIntersection, wantRing: 0, wantVertex: -1},
		{name: "hole crosses outer ring", poly: orb.Polygon{square, rect(3, 1, 5, 2)}, wantReason: ReasonHoleCrossesOuter, wantRing: 1, wantVertex: -1},
		{name: "hole touches outer ring at a vertex", poly: orb.Polygon{square, {{0, 2}, {2, 1}, {2, 3}, {0, 2}}}, wantReason: ReasonHoleCrossesOuter, wantRing: 1, wantVertex: 0},
		{name: "holes cross each other", poly: orb.Polygon{square, rect(1, 1, 2.5, 2.5), rect(2, 2, 3, 3)}, wantReason: ReasonHolesCross, wantRing: 2, wantVertex: -1},
		{name: "hole outside outer ring", poly: orb.Polygon{square, rect(10, 10, 11, 11)}, wantReason: ReasonHoleOutside, wantRing: 1, wantVertex: 0},
		{name: "hole inside another hole", poly: orb.Polygon{square, rect(1, 1, 3, 3), rect(1.5, 1.5, 2.5, 2.5)}, wantReason: ReasonNestedHole, wantRing: 2, wantVertex: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidatePolygon(tt.poly)
			var ge *GeometryError
			if !errors.As(err, &ge) {
				t.Fatalf("ValidatePolygon() = %v, want *GeometryError with reason %q", err, tt.wantReason)
			}
			if ge.Reason != tt.wantReason {
				t.Errorf("reason: got %q, want %q (error: %v)", ge.Reason, tt.wantReason, err)
			}
			if ge.Ring != tt.wantRing {
				t.Errorf("ring: got %d, want %d (error: %v)", ge.Ring, tt.wantRing, err)
			}
			if tt.wantVertex >= 0 && ge.Vertex != tt.wantVertex {
				t.Errorf("vertex: got %d, want %d (error: %v)", ge.Vertex, tt.wantVertex, err)
			}
			if !strings.Contains(err.Error(), string(tt.wantReason)) {
				t.Errorf("message %q does not name the reason %q", err.Error(), tt.wantReason)
			}
		})
	}
}

func TestValidateGeometry(t *testing.T) {
	square := rect(0, 0, 4, 4)
	tests := []struct {
		name        string
		geom        orb.Geometry
		wantReason  Reason // "" means valid
		wantPolygon int
	}{
		{name: "polygon", geom: orb.Polygon{square}},
		{name: "polygon with hole", geom: orb.Polygon{square, rect(1, 1, 3, 3)}},
		{name: "multipolygon of disjoint squares", geom: orb.MultiPolygon{{square}, {rect(5, 0, 6, 1)}}},
		{
			name: "multipolygon with island in a hole",
			geom: orb.MultiPolygon{{square, rect(1, 1, 3, 3)}, {rect(1.5, 1.5, 2.5, 2.5)}},
		},
		{name: "point", geom: orb.Point{1, 2}, wantReason: ReasonUnsupportedType, wantPolygon: -1},
		{name: "line string", geom: orb.LineString{{0, 0}, {1, 1}}, wantReason: ReasonUnsupportedType, wantPolygon: -1},
		{name: "bare ring", geom: square, wantReason: ReasonUnsupportedType, wantPolygon: -1},
		{name: "nil", geom: nil, wantReason: ReasonUnsupportedType, wantPolygon: -1},
		{name: "empty multipolygon", geom: orb.MultiPolygon{}, wantReason: ReasonEmpty, wantPolygon: -1},
		{name: "second polygon invalid", geom: orb.MultiPolygon{{square}, {{{5, 0}, {6, 0}, {5, 0}}}}, wantReason: ReasonTooFewPoints, wantPolygon: 1},
		{name: "overlapping polygons", geom: orb.MultiPolygon{{square}, {rect(3, 3, 5, 5)}}, wantReason: ReasonPolygonsOverlap, wantPolygon: 1},
		{name: "polygons sharing an edge", geom: orb.MultiPolygon{{square}, {rect(4, 0, 5, 4)}}, wantReason: ReasonPolygonsOverlap, wantPolygon: 1},
		{name: "polygon inside another", geom: orb.MultiPolygon{{square}, {rect(1, 1, 2, 2)}}, wantReason: ReasonPolygonsOverlap, wantPolygon: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateGeometry(tt.geom)
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("ValidateGeometry() = %v, want nil", err)
				}
				return
			}
			var ge *GeometryError
			if !errors.As(err, &ge) {
				t.Fatalf("ValidateGeometry() = %v, want *GeometryError with reason %q", err, tt.wantReason)
			}
			if ge.Reason != tt.wantReason {
				t.Errorf("reason: got %q, want %q (error: %v)", ge.Reason, tt.wantReason, err)
			}
			if ge.Polygon != tt.wantPolygon {
				t.Errorf("polygon: got %d, want %d (error: %v)", ge.Polygon, tt.wantPolygon, err)
			}
		})
	}
}

func TestGeometryErrorMessage(t *testing.T) {
	tests := []struct {
		name string
		geom orb.Geometry
		want []string
	}{
		{
			name: "hole vertex out of range",
			geom: orb.MultiPolygon{{rect(0, 0, 4, 4)}, {rect(10, 10, 14, 14), {{11, 11}, {12, 11}, {12, 95}, {11, 11}}}},
			want: []string{"coordinate out of range", "polygon 1", "ring 1 (hole)", "vertex 2", "(12, 95)"},
		},
		{
			name: "self-intersection names both edges",
			geom: orb.Polygon{{{0, 0}, {2, 2}, {2, 0}, {0, 2}, {0, 0}}},
			want: []string{"self-intersection", "ring 0 (outer) vertex 0", "with polygon 0 ring 0 (outer) vertex 2"},
		},
		{
			name: "unsupported type names the type",
			geom: orb.LineString{{0, 0}, {1, 1}},
			want: []string{"unsupported geometry type", "orb.LineString"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateGeometry(tt.geom)
			if err == nil {
				t.Fatal("ValidateGeometry() = nil, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message %q: want it to contain %q", err.Error(), w)
				}
			}
		})
	}
}

func TestValidateSyntheticGrids(t *testing.T) {
	for i, g := range SyntheticGrids(500, 11) {
		if err := ValidateGeometry(g); err != nil {
			t.Fatalf("grid %d: got %v, want valid", i, err)
		}
	}
}
