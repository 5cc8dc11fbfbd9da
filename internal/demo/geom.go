package demo

import (
	"errors"
	"fmt"
	"math"

	"github.com/paulmach/orb"
)

// Axis names the coordinate that a cut line holds constant.
type Axis int

const (
	// AxisX is the vertical line x = c (constant longitude).
	AxisX Axis = iota
	// AxisY is the horizontal line y = c (constant latitude).
	AxisY
)

// String returns "x" or "y", for error messages and test names.
func (a Axis) String() string {
	switch a {
	case AxisX:
		return "x"
	case AxisY:
		return "y"
	}
	return fmt.Sprintf("Axis(%d)", int(a))
}

// along returns the coordinate of p that the cut line for axis a fixes.
func (a Axis) along(p orb.Point) float64 {
	if a == AxisY {
		return p[1]
	}
	return p[0]
}

// across returns the coordinate of p that varies along the cut line.
func (a Axis) across(p orb.Point) float64 {
	if a == AxisY {
		return p[0]
	}
	return p[1]
}

// point builds the point whose along-coordinate is c and across-coordinate is o.
func (a Axis) point(c, o float64) orb.Point {
	if a == AxisY {
		return orb.Point{o, c}
	}
	return orb.Point{c, o}
}

// errHoles is returned for polygons with inner rings: the generated regions
// never have holes, and supporting them would double the splitting code for
// no use in this package.
var errHoles = errors.New("demo: polygons with holes are not supported")

// ringArea returns the signed shoelace area of a closed ring, positive when
// counter-clockwise. Coordinates are taken relative to the first vertex
// because at 120°E the raw products are ~3000 times the area of a grid and
// would cost most of the float64 precision. The explicit float64
// conversions forbid the compiler from fusing multiply-adds (the spec allows
// that on arm64 and others), so results are bit-identical on every platform.
func ringArea(r orb.Ring) float64 {
	if len(r) < 4 {
		return 0
	}
	ox, oy := r[0][0], r[0][1]
	var s float64
	for i := 1; i+1 < len(r); i++ {
		s += float64((r[i][0]-ox)*(r[i+1][1]-oy)) - float64((r[i+1][0]-ox)*(r[i][1]-oy))
	}
	return s / 2
}

// area returns the total area of a multipolygon whose outer rings are
// counter-clockwise, as normalise and SplitByLine produce them.
func area(mp orb.MultiPolygon) float64 {
	var s float64
	for _, p := range mp {
		if len(p) == 0 {
			continue
		}
		s += ringArea(p[0])
		for _, hole := range p[1:] {
			s -= math.Abs(ringArea(hole))
		}
	}
	return s
}

// crossing returns the point where the segment p–q crosses the line
// along = c. The caller guarantees that p and q lie strictly on opposite
// sides. The segment is first ordered lower endpoint first, so the same
// edge seen from either neighbour (in either direction) yields the
// bit-identical point; the along-coordinate is c itself, not a computed
// value, so that later cuts meeting this line find points exactly on it.
func crossing(axis Axis, c float64, p, q orb.Point) orb.Point {
	if axis.along(p) > axis.along(q) {
		p, q = q, p
	}
	pa, qa := axis.along(p), axis.along(q)
	po, qo := axis.across(p), axis.across(q)
	o := po + float64(float64((c-pa)*(qo-po))/(qa-pa))
	// Rounding may step a hair outside the segment; clamping keeps the
	// crossing on it, which matters when the segment is itself axis-parallel
	// (then po == qo and o is exact anyway).
	lo, hi := min(po, qo), max(po, qo)
	o = max(lo, min(hi, o))
	return axis.point(c, o)
}

// openRing returns the distinct vertices of r in order, without the closing
// point and without consecutive repeats.
func openRing(r orb.Ring) []orb.Point {
	pts := make([]orb.Point, 0, len(r))
	for _, p := range r {
		if len(pts) == 0 || pts[len(pts)-1] != p {
			pts = append(pts, p)
		}
	}
	for len(pts) > 1 && pts[len(pts)-1] == pts[0] {
		pts = pts[:len(pts)-1]
	}
	return pts
}

// closeRing turns an open vertex list into a closed orb.Ring.
func closeRing(pts []orb.Point) orb.Ring {
	r := make(orb.Ring, 0, len(pts)+1)
	r = append(r, pts...)
	return append(r, pts[0])
}

// normalise returns region as fresh polygons of one counter-clockwise,
// closed ring each, without repeated points, dropping empty polygons.
// It rejects holes and rings that enclose no area.
func normalise(region orb.MultiPolygon) (orb.MultiPolygon, error) {
	out := make(orb.MultiPolygon, 0, len(region))
	for i, poly := range region {
		if len(poly) == 0 {
			continue
		}
		if len(poly) > 1 {
			return nil, fmt.Errorf("polygon %d: %w", i, errHoles)
		}
		pts := openRing(poly[0])
		if len(pts) < 3 {
			return nil, fmt.Errorf("demo: polygon %d has %d distinct vertices, need 3", i, len(pts))
		}
		r := closeRing(pts)
		a := ringArea(r)
		if a == 0 {
			return nil, fmt.Errorf("demo: polygon %d has zero area", i)
		}
		if a < 0 {
			r.Reverse()
		}
		out = append(out, orb.Polygon{r})
	}
	return out, nil
}
