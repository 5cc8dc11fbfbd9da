package demo

import (
	"fmt"
	"math"
	"math/big"
	"testing"

	"github.com/paulmach/orb"
)

// ringProblem returns why r is not a valid ring for this package, or ""
// if it is: closed, at least 4 positions, no repeated consecutive points,
// counter-clockwise, and simple (no two edges meet except consecutive ones
// at their shared vertex). The simplicity check compares every pair of
// edges, which is fine for rings of a few hundred points.
func ringProblem(r orb.Ring) string {
	if len(r) < 4 {
		return fmt.Sprintf("%d positions, want >= 4", len(r))
	}
	if r[0] != r[len(r)-1] {
		return fmt.Sprintf("not closed: %v != %v", r[0], r[len(r)-1])
	}
	for i := 1; i < len(r); i++ {
		if r[i] == r[i-1] {
			return fmt.Sprintf("repeated point %v at %d", r[i], i)
		}
	}
	if a := ringArea(r); !(a > 0) {
		return fmt.Sprintf("signed area %g, want > 0 (counter-clockwise)", a)
	}
	n := len(r) - 1 // edges; edge i runs from r[i] to r[i+1]
	for i := 0; i < n; i++ {
		for j := i + 1; j < n; j++ {
			a, b, c, d := r[i], r[i+1], r[j], r[j+1]
			switch {
			case j == i+1:
				// Consecutive edges share b == c; they may only touch
				// there, so neither far end may lie on the other edge.
				if onSegment(a, b, d) || onSegment(c, d, a) {
					return fmt.Sprintf("edges %d and %d fold back on each other at %v", i, j, b)
				}
			case i == 0 && j == n-1:
				// The closing edge and the first share r[0].
				if onSegment(a, b, c) || onSegment(c, d, b) {
					return fmt.Sprintf("edges %d and %d fold back on each other at %v", i, j, a)
				}
			default:
				if segmentsMeet(a, b, c, d) {
					return fmt.Sprintf("edges %d (%v-%v) and %d (%v-%v) meet", i, a, b, j, c, d)
				}
			}
		}
	}
	return ""
}

// orient returns the sign of the cross product (b-a)×(c-a): +1 for a left
// turn, -1 for a right turn, 0 for collinear. It is exact: when the float
// result is too small to trust, it recomputes with rationals, because
// crossing points make nearly collinear triples common.
func orient(a, b, c orb.Point) int {
	l := (b[0] - a[0]) * (c[1] - a[1])
	r := (b[1] - a[1]) * (c[0] - a[0])
	det := l - r
	if bound := 1e-14 * (math.Abs(l) + math.Abs(r)); det > bound {
		return 1
	} else if det < -bound {
		return -1
	}
	rat := func(f float64) *big.Rat { return new(big.Rat).SetFloat64(f) }
	sub := func(x, y float64) *big.Rat { return new(big.Rat).Sub(rat(x), rat(y)) }
	lr := new(big.Rat).Mul(sub(b[0], a[0]), sub(c[1], a[1]))
	rr := new(big.Rat).Mul(sub(b[1], a[1]), sub(c[0], a[0]))
	return lr.Cmp(rr)
}

// onSegment reports whether p lies on the closed segment a–b.
func onSegment(a, b, p orb.Point) bool {
	return orient(a, b, p) == 0 &&
		min(a[0], b[0]) <= p[0] && p[0] <= max(a[0], b[0]) &&
		min(a[1], b[1]) <= p[1] && p[1] <= max(a[1], b[1])
}

// segmentsMeet reports whether the closed segments a–b and c–d share any
// point, touching included.
func segmentsMeet(a, b, c, d orb.Point) bool {
	if max(a[0], b[0]) < min(c[0], d[0]) || max(c[0], d[0]) < min(a[0], b[0]) ||
		max(a[1], b[1]) < min(c[1], d[1]) || max(c[1], d[1]) < min(a[1], b[1]) {
		return false
	}
	o1, o2 := orient(a, b, c), orient(a, b, d)
	o3, o4 := orient(c, d, a), orient(c, d, b)
	if o1*o2 < 0 && o3*o4 < 0 {
		return true
	}
	return onSegment(a, b, c) || onSegment(a, b, d) || onSegment(c, d, a) || onSegment(c, d, b)
}

// multiPolygonProblem applies ringProblem to every ring of mp and also
// rejects holes, which this package never produces.
func multiPolygonProblem(mp orb.MultiPolygon) string {
	if len(mp) == 0 {
		return "empty"
	}
	for i, p := range mp {
		if len(p) != 1 {
			return fmt.Sprintf("polygon %d has %d rings, want 1", i, len(p))
		}
		if msg := ringProblem(p[0]); msg != "" {
			return fmt.Sprintf("polygon %d: %s", i, msg)
		}
	}
	return ""
}

// distToSegment returns the distance from p to the segment a–b.
func distToSegment(p, a, b orb.Point) float64 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	t := 0.0
	if l2 := dx*dx + dy*dy; l2 > 0 {
		t = max(0, min(1, ((p[0]-a[0])*dx+(p[1]-a[1])*dy)/l2))
	}
	return math.Hypot(p[0]-(a[0]+t*dx), p[1]-(a[1]+t*dy))
}

// nearBoundary reports whether p is within tol of an edge of any ring of
// the given multipolygons.
func nearBoundary(p orb.Point, tol float64, mps ...orb.MultiPolygon) bool {
	for _, mp := range mps {
		for _, poly := range mp {
			for _, r := range poly {
				for i := 0; i+1 < len(r); i++ {
					if distToSegment(p, r[i], r[i+1]) <= tol {
						return true
					}
				}
			}
		}
	}
	return false
}

// TestRingProblem shows that the validity check used by the other tests
// rejects each kind of bad ring.
func TestRingProblem(t *testing.T) {
	tests := []struct {
		name  string
		ring  orb.Ring
		valid bool
	}{
		{"square", orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}, true},
		{"collinear vertex", orb.Ring{{0, 0}, {1, 0}, {2, 0}, {2, 1}, {0, 1}, {0, 0}}, true},
		{"open", orb.Ring{{0, 0}, {1, 0}, {1, 1}, {0, 1}}, false},
		{"too short", orb.Ring{{0, 0}, {1, 0}, {0, 0}}, false},
		{"repeated point", orb.Ring{{0, 0}, {1, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}, false},
		{"clockwise", orb.Ring{{0, 0}, {0, 1}, {1, 1}, {1, 0}, {0, 0}}, false},
		// Lobes of unequal size, so the area alone does not give it away.
		{"bow tie", orb.Ring{{0, 0}, {4, 0}, {0, 2}, {1, 2}, {0, 0}}, false},
		{"pinched at a vertex", orb.Ring{{0, 0}, {2, 0}, {2, 2}, {3, 2}, {3, 3}, {2, 2}, {0, 2}, {0, 0}}, false},
		{"vertex touching an edge", orb.Ring{{0, 0}, {4, 0}, {4, 4}, {2, 0}, {0, 4}, {0, 0}}, false},
		{"fold back", orb.Ring{{0, 0}, {2, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}, false},
		{"near miss", orb.Ring{{0, 0}, {4, 0}, {4, 4}, {2, 1e-15}, {0, 4}, {0, 0}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := ringProblem(tt.ring)
			if got := msg == ""; got != tt.valid {
				t.Errorf("ringProblem = %q; valid %v, want %v", msg, got, tt.valid)
			}
		})
	}
}
