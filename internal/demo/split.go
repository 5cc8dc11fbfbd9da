package demo

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/paulmach/orb"
)

// ErrBadCut reports that a line cannot split a region cleanly: it passes
// exactly through a vertex (a tangency the crossing pairing cannot
// classify), or it would leave a piece smaller than MinPieceArea. The
// remedy is always to move the line a little, which is what Partition does.
var ErrBadCut = errors.New("demo: bad cut line")

// MinPieceArea is the smallest piece, in square degrees (about 0.01 m² at
// Wenzhou's latitude), that SplitByLine will produce. Anything smaller is
// a numerical sliver rather than land, so the cut is rejected instead.
const MinPieceArea = 1e-12

// SplitByLine splits region by the axis-parallel line along = c (x = c for
// AxisX, y = c for AxisY) into the parts with a smaller coordinate (low)
// and a larger one (high). Each polygon of region must be a single simple
// ring (holes are rejected); either orientation is accepted, and every
// output ring is closed, counter-clockwise and free of repeated points.
//
// Unlike Sutherland–Hodgman clipping, which joins the separate parts of a
// concave polygon with zero-width bridges along the line, a line crossing
// a polygon several times yields several pieces. The crossings are
// inserted into the ring and sorted along the line; for a simple polygon
// they pair up (0,1), (2,3), … as the intervals of the line inside it,
// and each piece is traced by following the ring on its side and jumping
// across an interval wherever the ring leaves that side.
//
// Every crossing has its fixed coordinate equal to c exactly, so a piece's
// cut edge lies exactly on the line, and both sides share the same
// crossing points bit for bit. If any vertex lies exactly on the line, or
// a piece would be smaller than MinPieceArea, the error wraps ErrBadCut.
// A line missing a polygon leaves it whole on its side.
func SplitByLine(region orb.MultiPolygon, axis Axis, c float64) (low, high orb.MultiPolygon, err error) {
	if axis != AxisX && axis != AxisY {
		return nil, nil, fmt.Errorf("demo: unknown axis %v", axis)
	}
	polys, err := normalise(region)
	if err != nil {
		return nil, nil, err
	}
	for i, poly := range polys {
		l, h, err := splitRing(poly[0], axis, c)
		if err != nil {
			return nil, nil, fmt.Errorf("polygon %d: %w", i, err)
		}
		low = append(low, l...)
		high = append(high, h...)
	}
	return low, high, nil
}

// vertex is one point of a ring augmented with its crossings.
type vertex struct {
	p orb.Point
	// side is -1 below the line, +1 above it, and 0 for a crossing.
	side int
	// partner is, for a crossing, the index of the crossing at the other
	// end of the inside interval of the line that this one bounds.
	partner int
}

// splitRing splits one closed counter-clockwise ring without repeated
// points; see SplitByLine.
func splitRing(ring orb.Ring, axis Axis, c float64) (low, high orb.MultiPolygon, err error) {
	pts := ring[:len(ring)-1]
	n := len(pts)
	sides := make([]int, n)
	nLow := 0
	for i, p := range pts {
		switch v := axis.along(p); {
		case v < c:
			sides[i] = -1
			nLow++
		case v > c:
			sides[i] = 1
		default:
			return nil, nil, fmt.Errorf("%w: vertex %d %v lies on %v = %v", ErrBadCut, i, p, axis, c)
		}
	}
	switch nLow {
	case n:
		return orb.MultiPolygon{{ring}}, nil, nil
	case 0:
		return nil, orb.MultiPolygon{{ring}}, nil
	}

	aug := make([]vertex, 0, n+8)
	var cross []int
	for i, p := range pts {
		aug = append(aug, vertex{p: p, side: sides[i]})
		j := (i + 1) % n
		if sides[i] != sides[j] {
			cross = append(cross, len(aug))
			aug = append(aug, vertex{p: crossing(axis, c, p, pts[j])})
		}
	}
	// A closed ring changes side an even number of times, so the sorted
	// crossings always come in pairs.
	slices.SortFunc(cross, func(a, b int) int {
		return cmp.Compare(axis.across(aug[a].p), axis.across(aug[b].p))
	})
	for k := 1; k < len(cross); k++ {
		if axis.across(aug[cross[k-1]].p) == axis.across(aug[cross[k]].p) {
			// Two edges meeting on the line would make the pairing
			// ambiguous and the pieces touch at a point.
			return nil, nil, fmt.Errorf("%w: two edges cross %v = %v at the same point", ErrBadCut, axis, c)
		}
	}
	for k := 0; k < len(cross); k += 2 {
		a, b := cross[k], cross[k+1]
		// One end of an inside interval is where the ring leaves the low
		// side and the other where it comes back; anything else means the
		// ring was not simple and the pairing is meaningless.
		if exitsLow(aug, a) == exitsLow(aug, b) {
			return nil, nil, fmt.Errorf("%w: crossings on %v = %v do not pair (ring not simple?)", ErrBadCut, axis, c)
		}
		aug[a].partner, aug[b].partner = b, a
	}

	low, err = trace(aug, -1)
	if err != nil {
		return nil, nil, err
	}
	high, err = trace(aug, 1)
	if err != nil {
		return nil, nil, err
	}
	return low, high, nil
}

// exitsLow reports whether the ring passes from the low side to the high
// side at crossing i.
func exitsLow(aug []vertex, i int) bool {
	return aug[(i+len(aug)-1)%len(aug)].side == -1
}

// trace returns the pieces on one side (-1 or +1) of the line. Starting
// from each ring vertex on that side not yet used, it walks the ring
// forward; at a crossing where the ring leaves the side it jumps along the
// line to the partner crossing, where the ring comes back. Since the ring
// is counter-clockwise with the polygon on its left, so is each piece.
func trace(aug []vertex, side int) (orb.MultiPolygon, error) {
	m := len(aug)
	used := make([]bool, m)
	var out orb.MultiPolygon
	for start := range aug {
		if aug[start].side != side || used[start] {
			continue
		}
		var pts []orb.Point
		for i := start; ; {
			used[i] = true
			pts = append(pts, aug[i].p)
			if aug[i].side == 0 && aug[(i+1)%m].side != side {
				i = aug[i].partner
				pts = append(pts, aug[i].p)
			}
			i = (i + 1) % m
			if i == start {
				break
			}
			if len(pts) > m {
				// Only a non-simple ring can make a walk longer than the
				// ring itself; stop rather than loop forever.
				return nil, fmt.Errorf("%w: tracing did not close (ring not simple?)", ErrBadCut)
			}
		}
		r := closeRing(pts)
		if a := ringArea(r); a < MinPieceArea {
			return nil, fmt.Errorf("%w: piece of area %g deg² is a sliver", ErrBadCut, a)
		}
		out = append(out, orb.Polygon{r})
	}
	return out, nil
}
