package geo

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/paulmach/orb"
)

// Reason is a machine-readable code for why a geometry was rejected. The
// values are short English phrases; user-facing code should translate them
// rather than show them verbatim.
type Reason string

// Reasons reported by ValidatePolygon and ValidateGeometry.
const (
	// ReasonUnsupportedType: the geometry is not a Polygon or MultiPolygon.
	ReasonUnsupportedType Reason = "unsupported geometry type"
	// ReasonEmpty: a polygon without rings or a multipolygon without polygons.
	ReasonEmpty Reason = "empty geometry"
	// ReasonTooFewPoints: a ring with fewer than 4 positions.
	ReasonTooFewPoints Reason = "too few points"
	// ReasonNotClosed: a ring whose first and last positions differ.
	ReasonNotClosed Reason = "ring not closed"
	// ReasonOutOfRange: a longitude outside −180..180 or a latitude outside
	// −90..90, or a NaN or infinite coordinate.
	ReasonOutOfRange Reason = "coordinate out of range"
	// ReasonZeroArea: a ring that encloses no area (for example all points collinear).
	ReasonZeroArea Reason = "zero area"
	// ReasonSelfIntersection: two edges of one ring cross, touch or overlap,
	// or a ring doubles back on itself (a spike).
	ReasonSelfIntersection Reason = "self-intersection"
	// ReasonHoleCrossesOuter: a hole crosses or touches the outer ring.
	ReasonHoleCrossesOuter Reason = "hole crosses outer ring"
	// ReasonHolesCross: two holes cross or touch each other.
	ReasonHolesCross Reason = "holes cross each other"
	// ReasonHoleOutside: a hole lies outside its outer ring.
	ReasonHoleOutside Reason = "hole outside outer ring"
	// ReasonNestedHole: a hole lies inside another hole.
	ReasonNestedHole Reason = "hole inside another hole"
	// ReasonPolygonsOverlap: two polygons of a multipolygon cross, touch or
	// contain one another.
	ReasonPolygonsOverlap Reason = "polygons overlap"
)

// GeometryError describes why and where a geometry is invalid. Indexes are
// zero-based; -1 means "not applicable". Ring 0 is the outer ring, rings 1..
// are holes. For a plain Polygon, Polygon is 0.
type GeometryError struct {
	Reason Reason
	// Polygon, Ring and Vertex locate the problem. For an edge, Vertex is
	// the index of the edge's first position.
	Polygon, Ring, Vertex int
	// At is the position of Vertex when Vertex >= 0.
	At orb.Point
	// OtherPolygon, OtherRing and OtherVertex locate the second edge of an
	// intersection or the ring that contains a misplaced ring; -1 otherwise.
	OtherPolygon, OtherRing, OtherVertex int
	// Detail carries extra context, such as the rejected geometry type.
	Detail string
}

// Error implements error.
func (e *GeometryError) Error() string {
	var b strings.Builder
	b.WriteString("geo: invalid geometry: ")
	b.WriteString(string(e.Reason))
	if loc := location(e.Polygon, e.Ring, e.Vertex); loc != "" {
		b.WriteString(" at ")
		b.WriteString(loc)
		if e.Vertex >= 0 {
			fmt.Fprintf(&b, " (%g, %g)", e.At[0], e.At[1])
		}
	}
	if loc := location(e.OtherPolygon, e.OtherRing, e.OtherVertex); loc != "" {
		b.WriteString(" with ")
		b.WriteString(loc)
	}
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

func location(poly, ring, vertex int) string {
	var parts []string
	if poly >= 0 {
		parts = append(parts, fmt.Sprintf("polygon %d", poly))
	}
	if ring >= 0 {
		kind := "outer"
		if ring > 0 {
			kind = "hole"
		}
		parts = append(parts, fmt.Sprintf("ring %d (%s)", ring, kind))
	}
	if vertex >= 0 {
		parts = append(parts, fmt.Sprintf("vertex %d", vertex))
	}
	return strings.Join(parts, " ")
}

func newGeometryError(r Reason, poly, ring, vertex int, at orb.Point) *GeometryError {
	return &GeometryError{
		Reason: r, Polygon: poly, Ring: ring, Vertex: vertex, At: at,
		OtherPolygon: -1, OtherRing: -1, OtherVertex: -1,
	}
}

// ValidateGeometry validates a region boundary. Only orb.Polygon and
// orb.MultiPolygon are accepted; see ValidatePolygon for the rules. The
// polygons of a multipolygon must not cross, touch or contain each other.
// The returned error, if any, is a *GeometryError.
func ValidateGeometry(g orb.Geometry) error {
	switch g := g.(type) {
	case orb.Polygon:
		return validatePolygons([]orb.Polygon{g})
	case orb.MultiPolygon:
		if len(g) == 0 {
			return newGeometryError(ReasonEmpty, -1, -1, -1, orb.Point{})
		}
		return validatePolygons(g)
	}
	e := newGeometryError(ReasonUnsupportedType, -1, -1, -1, orb.Point{})
	e.Detail = fmt.Sprintf("%T, want Polygon or MultiPolygon", g)
	return e
}

// ValidatePolygon checks that p is a valid simple polygon for region import:
// every ring has at least 4 positions, is closed, has coordinates within
// lng −180..180 and lat −90..90, encloses a non-zero area and does not
// intersect itself; holes lie inside the outer ring and do not cross or
// touch it or each other. This is stricter than OGC simple features, which
// allow rings to touch at single points. Consecutive duplicate positions are
// tolerated. The returned error, if any, is a *GeometryError.
func ValidatePolygon(p orb.Polygon) error {
	return validatePolygons([]orb.Polygon{p})
}

// vEdge is one non-degenerate edge of a ring, tagged with where it came from.
type vEdge struct {
	ax, ay, bx, by float64
	poly, ring     int32
	vertex         int32 // index of the first position in the ring
	seq            int32 // position among the ring's non-degenerate edges
	ringEdges      int32 // number of non-degenerate edges in the ring
}

func validatePolygons(polys []orb.Polygon) error {
	var edges []vEdge
	for pi, p := range polys {
		if len(p) == 0 {
			return newGeometryError(ReasonEmpty, pi, -1, -1, orb.Point{})
		}
		for ri, r := range p {
			if err := checkRing(pi, ri, r); err != nil {
				return err
			}
			edges = appendRingEdges(edges, pi, ri, r)
		}
	}
	if err := checkIntersections(edges); err != nil {
		return err
	}
	return checkNesting(polys)
}

// checkRing performs the per-ring checks that need no other ring.
func checkRing(pi, ri int, r orb.Ring) error {
	if len(r) < 4 {
		return newGeometryError(ReasonTooFewPoints, pi, ri, -1, orb.Point{})
	}
	for vi, pt := range r {
		if !(pt[0] >= -180 && pt[0] <= 180 && pt[1] >= -90 && pt[1] <= 90) {
			return newGeometryError(ReasonOutOfRange, pi, ri, vi, pt)
		}
	}
	if r[0] != r[len(r)-1] {
		return newGeometryError(ReasonNotClosed, pi, ri, len(r)-1, r[len(r)-1])
	}
	if collinear(r) {
		return newGeometryError(ReasonZeroArea, pi, ri, -1, orb.Point{})
	}
	return nil
}

// collinear reports whether all positions of r lie on one line (within a
// relative 1e-12 for rounding), so the ring encloses no area. Other rings
// with zero signed area, like a symmetric bow tie, self-intersect and are
// reported as such by checkIntersections.
func collinear(r orb.Ring) bool {
	p0 := r[0]
	var far orb.Point
	var l2 float64
	for _, v := range r {
		if d := (v[0]-p0[0])*(v[0]-p0[0]) + (v[1]-p0[1])*(v[1]-p0[1]); d > l2 {
			far, l2 = v, d
		}
	}
	if l2 == 0 {
		return true // all positions equal
	}
	for _, v := range r {
		// orient is |p0 far| times the distance of v from the line.
		if math.Abs(orient(p0[0], p0[1], far[0], far[1], v[0], v[1])) > 1e-12*l2 {
			return false
		}
	}
	return true
}

// ringArea2 returns twice the signed area of a ring. Coordinates are taken
// relative to the first vertex to limit cancellation; that also makes the
// closing term vanish, so open rings work too.
func ringArea2(r orb.Ring) float64 {
	ox, oy := r[0][0], r[0][1]
	var s float64
	for i := 1; i+1 < len(r); i++ {
		s += (r[i][0]-ox)*(r[i+1][1]-oy) - (r[i+1][0]-ox)*(r[i][1]-oy)
	}
	return s
}

func appendRingEdges(edges []vEdge, pi, ri int, r orb.Ring) []vEdge {
	start := len(edges)
	for i := 0; i+1 < len(r); i++ {
		a, b := r[i], r[i+1]
		if a == b {
			continue // repeated position: not an edge
		}
		edges = append(edges, vEdge{
			ax: a[0], ay: a[1], bx: b[0], by: b[1],
			poly: int32(pi), ring: int32(ri), vertex: int32(i),
			seq: int32(len(edges) - start),
		})
	}
	n := int32(len(edges) - start)
	for i := start; i < len(edges); i++ {
		edges[i].ringEdges = n
	}
	return edges
}

// checkIntersections finds the first pair of edges that touch where they
// must not. It sweeps along the axis on which edges overlap least, so rings
// with thousands of short edges cost O(n log n + k) rather than O(n²).
func checkIntersections(edges []vEdge) error {
	if len(edges) == 0 {
		return nil
	}
	// Pick the sweep axis: the expected number of candidate pairs grows with
	// the summed edge extent relative to the total extent along that axis.
	minX, minY := math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	var sumX, sumY float64
	for _, e := range edges {
		minX, maxX = min(minX, e.ax, e.bx), max(maxX, e.ax, e.bx)
		minY, maxY = min(minY, e.ay, e.by), max(maxY, e.ay, e.by)
		sumX += math.Abs(e.bx - e.ax)
		sumY += math.Abs(e.by - e.ay)
	}
	sweepX := sumX*(maxY-minY) <= sumY*(maxX-minX)

	type span struct {
		lo, hi, olo, ohi float64 // along the sweep axis, and the other axis
		i                int
	}
	spans := make([]span, len(edges))
	for i, e := range edges {
		a0, a1, b0, b1 := e.ax, e.bx, e.ay, e.by
		if !sweepX {
			a0, a1, b0, b1 = e.ay, e.by, e.ax, e.bx
		}
		spans[i] = span{min(a0, a1), max(a0, a1), min(b0, b1), max(b0, b1), i}
	}
	slices.SortFunc(spans, func(a, b span) int {
		return cmp.Or(cmp.Compare(a.lo, b.lo), cmp.Compare(a.i, b.i))
	})

	// Collect the offending pair that comes first in ring order, so the
	// reported location does not depend on the sweep axis.
	var worst *GeometryError
	for si := range spans {
		s := spans[si]
		for sj := si + 1; sj < len(spans) && spans[sj].lo <= s.hi; sj++ {
			t := spans[sj]
			if t.olo > s.ohi || t.ohi < s.olo {
				continue
			}
			if err := checkPair(&edges[s.i], &edges[t.i]); err != nil && earlier(err, worst) {
				worst = err
			}
		}
	}
	if worst != nil {
		return worst
	}
	return nil
}

func earlier(a, b *GeometryError) bool {
	if b == nil {
		return true
	}
	return cmp.Or(
		cmp.Compare(a.Polygon, b.Polygon), cmp.Compare(a.Ring, b.Ring), cmp.Compare(a.Vertex, b.Vertex),
		cmp.Compare(a.OtherPolygon, b.OtherPolygon), cmp.Compare(a.OtherRing, b.OtherRing),
		cmp.Compare(a.OtherVertex, b.OtherVertex),
	) < 0
}

// checkPair reports whether two edges touch in a forbidden way. Edges that
// follow each other in a ring share an endpoint by construction; they are
// only rejected when they overlap (the ring doubles back).
func checkPair(e, f *vEdge) *GeometryError {
	// Order the pair so the error names the earlier location first.
	if f.poly < e.poly || (f.poly == e.poly && (f.ring < e.ring || (f.ring == e.ring && f.vertex < e.vertex))) {
		e, f = f, e
	}
	if e.poly == f.poly && e.ring == f.ring {
		d := f.seq - e.seq
		switch {
		case d == 1:
			if !spike(e.ax, e.ay, e.bx, e.by, f.bx, f.by) {
				return nil
			}
		case d == e.ringEdges-1: // last edge followed by the first
			if !spike(f.ax, f.ay, f.bx, f.by, e.bx, e.by) {
				return nil
			}
		default:
			if !segmentsTouch(e.ax, e.ay, e.bx, e.by, f.ax, f.ay, f.bx, f.by) {
				return nil
			}
		}
		return pairError(ReasonSelfIntersection, e, f)
	}
	if !segmentsTouch(e.ax, e.ay, e.bx, e.by, f.ax, f.ay, f.bx, f.by) {
		return nil
	}
	switch {
	case e.poly != f.poly:
		return pairError(ReasonPolygonsOverlap, f, e)
	case e.ring == 0:
		return pairError(ReasonHoleCrossesOuter, f, e)
	default:
		return pairError(ReasonHolesCross, f, e)
	}
}

func pairError(r Reason, e, f *vEdge) *GeometryError {
	err := newGeometryError(r, int(e.poly), int(e.ring), int(e.vertex), orb.Point{e.ax, e.ay})
	err.OtherPolygon, err.OtherRing, err.OtherVertex = int(f.poly), int(f.ring), int(f.vertex)
	return err
}

// spike reports whether the path a→b→c turns back on itself, i.e. c lies
// on the ray from b through a, so edges ab and bc overlap.
func spike(ax, ay, bx, by, cx, cy float64) bool {
	if orient(ax, ay, bx, by, cx, cy) != 0 {
		return false
	}
	return (ax-bx)*(cx-bx)+(ay-by)*(cy-by) > 0
}

// orient returns twice the signed area of triangle abc: > 0 when c is left of ab.
func orient(ax, ay, bx, by, cx, cy float64) float64 {
	return (bx-ax)*(cy-ay) - (by-ay)*(cx-ax)
}

func sgn(v float64) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// segmentsTouch reports whether closed segments ab and cd share any point.
func segmentsTouch(ax, ay, bx, by, cx, cy, dx, dy float64) bool {
	o1 := sgn(orient(ax, ay, bx, by, cx, cy))
	o2 := sgn(orient(ax, ay, bx, by, dx, dy))
	o3 := sgn(orient(cx, cy, dx, dy, ax, ay))
	o4 := sgn(orient(cx, cy, dx, dy, bx, by))
	if o1*o2 < 0 && o3*o4 < 0 {
		return true
	}
	return (o1 == 0 && inBox(ax, ay, bx, by, cx, cy)) ||
		(o2 == 0 && inBox(ax, ay, bx, by, dx, dy)) ||
		(o3 == 0 && inBox(cx, cy, dx, dy, ax, ay)) ||
		(o4 == 0 && inBox(cx, cy, dx, dy, bx, by))
}

// inBox reports whether p lies in the bounding box of segment ab; for a
// point already known to be collinear with ab that means it lies on ab.
func inBox(ax, ay, bx, by, px, py float64) bool {
	return px >= min(ax, bx) && px <= max(ax, bx) && py >= min(ay, by) && py <= max(ay, by)
}

// checkNesting verifies, once no two rings touch, that every hole is inside
// its outer ring and outside the other holes, and that no polygon lies
// inside another. Since rings do not touch, testing one vertex is enough.
func checkNesting(polys []orb.Polygon) error {
	for pi, p := range polys {
		outer := p[0]
		ob := outer.Bound()
		for hi := 1; hi < len(p); hi++ {
			v := p[hi][0]
			if !ob.Contains(v) || !ringContainsStrict(outer, v) {
				e := newGeometryError(ReasonHoleOutside, pi, hi, 0, v)
				e.OtherPolygon, e.OtherRing = pi, 0
				return e
			}
			for hj := 1; hj < len(p); hj++ {
				if hj != hi && p[hj].Bound().Contains(v) && ringContainsStrict(p[hj], v) {
					e := newGeometryError(ReasonNestedHole, pi, hi, 0, v)
					e.OtherPolygon, e.OtherRing = pi, hj
					return e
				}
			}
		}
	}
	if len(polys) < 2 {
		return nil
	}
	bounds := make([]orb.Bound, len(polys))
	for i, p := range polys {
		bounds[i] = p[0].Bound()
	}
	for pi, p := range polys {
		v := p[0][0]
		for pj, q := range polys {
			if pj == pi || !bounds[pj].Contains(v) || !ringContainsStrict(q[0], v) {
				continue
			}
			inHole := false
			for _, h := range q[1:] {
				if ringContainsStrict(h, v) {
					inHole = true
					break
				}
			}
			if !inHole {
				e := newGeometryError(ReasonPolygonsOverlap, pi, 0, 0, v)
				e.OtherPolygon, e.OtherRing = pj, 0
				return e
			}
		}
	}
	return nil
}

// ringContainsStrict is the crossing-number test; callers guarantee that p
// is not on the ring, so the boundary convention does not matter.
func ringContainsStrict(r orb.Ring, p orb.Point) bool {
	in := false
	for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
		a, b := r[i], r[j]
		if (a[1] > p[1]) != (b[1] > p[1]) {
			x := a[0] + (p[1]-a[1])*(b[0]-a[0])/(b[1]-a[1])
			if p[0] < x {
				in = !in
			}
		}
	}
	return in
}
