package demo

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/paulmach/orb"
)

// Tuning of Partition. They are constants rather than options because
// only the demo district uses them and its tests pin the behaviour.
const (
	// nudgeGap is how far (in degrees, about 0.1 m) a cut line is kept
	// from any vertex coordinate, so that it never touches a vertex and
	// never slices off needle-thin triangles next to one.
	nudgeGap = 1e-6
	// piecePenalty is the score of one extra disconnected piece, in units
	// of bounding-box elongation: a fragment is worse than any ordinary
	// difference in shape, so parts stay whole wherever an alternative
	// cut allows it.
	piecePenalty = 10.0
	// scoreJitter is the random spread added to candidate scores, so that
	// near-equal choices of cut depend on the seed.
	scoreJitter = 0.5
	// shiftPenalty is the score of moving a cut off its exact share, per
	// unit of relative change in the first half's area.
	shiftPenalty = 10.0
	// maxNudges bounds the attempts to move a bad cut line.
	maxNudges = 9
)

// Partition splits region into len(weights) parts whose areas are
// roughly proportional to weights, returned in the order of weights.
// Region's polygons must be single simple rings without holes; coordinates
// are read as longitude/latitude degrees, which only matters for judging
// shapes. The error wraps ErrBadCut if no clean cut can be found.
//
// It bisects recursively, k-d style: the weights are halved, and the
// region is cut by an axis-parallel line placed, by bisection search, where
// the area on one side matches that half's share. Each cut considers both
// axes, both assignments of the halves to the sides, and several ways of
// halving the weights (the middle, both middles of an odd count, and one
// off the middle from four parts up). It keeps the candidate that leaves
// the fewest disconnected pieces and, after that, the least elongated
// parts. Where the exact cut would leave a side in pieces it also tries
// moving the cut by up to 12% of the share, so a part is a MultiPolygon
// only where a concave outline makes that hard to avoid; elsewhere shares
// are exact up to the 1e-6° kept between a cut and any vertex. Because
// every part is cut out of its parent, the parts tile the region exactly.
//
// rng breaks near-ties between candidates, so different generators give
// different layouts; a nil rng gives a fixed layout. The same generator
// state always gives the same, bit-identical result.
func Partition(region orb.MultiPolygon, weights []float64, rng *rand.Rand) ([]orb.MultiPolygon, error) {
	if len(weights) == 0 {
		return nil, errors.New("demo: partition needs at least one weight")
	}
	for i, w := range weights {
		if !(w > 0) || math.IsInf(w, 0) {
			return nil, fmt.Errorf("demo: weight %d is %v, want a finite positive number", i, w)
		}
	}
	polys, err := normalise(region)
	if err != nil {
		return nil, err
	}
	if len(polys) == 0 {
		return nil, errors.New("demo: cannot partition an empty region")
	}
	lat := polys.Bound().Center().Y()
	p := partitioner{rng: rng, xScale: math.Cos(max(-89, min(89, lat)) * math.Pi / 180)}
	out := make([]orb.MultiPolygon, len(weights))
	if err := p.split(polys, weights, out); err != nil {
		return nil, err
	}
	return out, nil
}

// partitioner carries what the recursion of Partition shares.
type partitioner struct {
	rng *rand.Rand
	// xScale converts degrees of longitude to degrees of latitude in
	// length, so "elongated" means elongated on the ground.
	xScale float64
}

// candidate is one way of making the first cut of a region.
type candidate struct {
	k         int
	firstLow  bool
	low, high orb.MultiPolygon
	score     float64
}

// split fills out (parallel to weights) with the parts of region.
func (p *partitioner) split(region orb.MultiPolygon, weights []float64, out []orb.MultiPolygon) error {
	if len(weights) == 1 {
		out[0] = region
		return nil
	}
	var total float64
	for _, w := range weights {
		total += w
	}
	whole := area(region)
	// Relative changes to the first half's area share: the exact one, then
	// alternatives for when it leaves a part in pieces, because giving up
	// a few percent of proportionality is cheaper than a scattered part.
	shareShifts := [...]float64{0, -0.04, 0.04, -0.08, 0.08, -0.12, 0.12}
	b := region.Bound()
	// Ways to halve the weights: the middle (both middles for an odd
	// count) and, from four parts up, one off the middle, which gives
	// more cut positions to choose from when the outline is awkward.
	n := len(weights)
	ks := []int{n / 2}
	if n%2 == 1 {
		ks = append(ks, n/2+1)
	}
	if n >= 4 {
		ks = append(ks, n/2-1)
		if n%2 == 0 {
			ks = append(ks, n/2+1)
		}
	}

	var best *candidate
	for _, k := range ks {
		var first float64
		for _, w := range weights[:k] {
			first += w
		}
		for _, axis := range []Axis{AxisX, AxisY} {
			for _, firstLow := range []bool{true, false} {
				// Nearby positions are tried only when the exact one leaves
				// a side in pieces, so convex regions get exact shares.
				for _, shift := range shareShifts {
					share := float64(first / total * (1 + shift))
					if share <= 0 || share >= 1 {
						continue
					}
					if !firstLow {
						share = 1 - share
					}
					c := solveCut(region, axis, share*whole, b)
					low, high, err := cutNear(region, axis, c, b)
					if errors.Is(err, ErrBadCut) {
						continue
					}
					if err != nil {
						return err
					}
					score := p.score(low, high) + float64(shiftPenalty*math.Abs(shift))
					if best == nil || score < best.score {
						best = &candidate{k: k, firstLow: firstLow, low: low, high: high, score: score}
					}
					if shift == 0 && len(low) == 1 && len(high) == 1 {
						break
					}
				}
			}
		}
	}
	if best == nil {
		return fmt.Errorf("%w: no clean cut found for %d parts in region %v", ErrBadCut, len(weights), b)
	}
	first, second := best.low, best.high
	if !best.firstLow {
		first, second = second, first
	}
	if err := p.split(first, weights[:best.k], out[:best.k]); err != nil {
		return err
	}
	return p.split(second, weights[best.k:], out[best.k:])
}

// score rates a cut: lower is better. Extra pieces cost piecePenalty
// each; each side adds how far its bounding box is from square. (The
// float64 conversions here and elsewhere stop the compiler from fusing
// multiply-adds, which it may do on some platforms, so that choices and
// hence layouts do not depend on the platform.)
func (p *partitioner) score(low, high orb.MultiPolygon) float64 {
	s := float64(piecePenalty * float64(len(low)+len(high)-2))
	s += p.elongation(low) + p.elongation(high)
	if p.rng != nil {
		s += float64(scoreJitter * p.rng.Float64())
	}
	return s
}

// elongation returns long/short side of mp's bounding box on the ground,
// minus one: zero for a square.
func (p *partitioner) elongation(mp orb.MultiPolygon) float64 {
	b := mp.Bound()
	w := (b.Max[0] - b.Min[0]) * p.xScale
	h := b.Max[1] - b.Min[1]
	if w <= 0 || h <= 0 {
		return math.Inf(1)
	}
	return max(w, h)/min(w, h) - 1
}

// solveCut returns the position of a line across axis below which region
// has the target area, by bisection: that area only grows with the
// position, and 100 halvings exhaust float64 precision.
func solveCut(region orb.MultiPolygon, axis Axis, target float64, b orb.Bound) float64 {
	lo, hi := axis.along(b.Min), axis.along(b.Max)
	for range 100 {
		mid := lo + (hi-lo)/2
		if mid <= lo || mid >= hi {
			break
		}
		if areaBelow(region, axis, mid) < target {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo + (hi-lo)/2
}

// cutNear splits region by a line across axis as close to c as it can
// while keeping nudgeGap from every vertex coordinate. If the line still
// gives a bad cut it tries a few positions on either side. Both sides of
// the result are non-empty.
func cutNear(region orb.MultiPolygon, axis Axis, c float64, b orb.Bound) (low, high orb.MultiPolygon, err error) {
	var coords []float64
	for _, poly := range region {
		for _, pt := range poly[0] {
			coords = append(coords, axis.along(pt))
		}
	}
	slices.Sort(coords)
	coords = slices.Compact(coords)
	lo, hi := axis.along(b.Min), axis.along(b.Max)
	step := max(16*nudgeGap, (hi-lo)*1e-4)
	for attempt := range maxNudges {
		// Offsets 0, +1, -1, +2, -2, … steps.
		off := float64(float64((attempt+1)/2) * step)
		if attempt%2 == 0 {
			off = -off
		}
		cc, ok := avoidVertices(coords, c+off)
		if !ok || cc <= lo || cc >= hi {
			continue
		}
		low, high, err = SplitByLine(region, axis, cc)
		if errors.Is(err, ErrBadCut) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if len(low) == 0 || len(high) == 0 {
			continue
		}
		return low, high, nil
	}
	return nil, nil, fmt.Errorf("%w: no usable %v cut near %v", ErrBadCut, axis, c)
}

// avoidVertices returns the position nearest to c that is at least
// nudgeGap from every value in the sorted slice coords, looking only
// among c itself and the positions just beside the nearby vertices.
func avoidVertices(coords []float64, c float64) (float64, bool) {
	tooClose := func(x float64) bool {
		j := sort.SearchFloat64s(coords, x)
		return (j < len(coords) && coords[j]-x < nudgeGap) || (j > 0 && x-coords[j-1] < nudgeGap)
	}
	if !tooClose(c) {
		return c, true
	}
	j := sort.SearchFloat64s(coords, c)
	best, found := 0.0, false
	for i := max(0, j-4); i < min(len(coords), j+4); i++ {
		for _, x := range []float64{coords[i] - 1.5*nudgeGap, coords[i] + 1.5*nudgeGap} {
			if tooClose(x) {
				continue
			}
			if !found || math.Abs(x-c) < math.Abs(best-c) {
				best, found = x, true
			}
		}
	}
	return best, found
}

// areaBelow returns the area of the part of region where the axis
// coordinate is below c. Clipping each ring to the half-plane the
// Sutherland–Hodgman way would join separate pieces with zero-width
// bridges, but those add no area, so this is exact for the area alone and
// much cheaper than SplitByLine inside the bisection loop.
func areaBelow(region orb.MultiPolygon, axis Axis, c float64) float64 {
	var total float64
	for _, poly := range region {
		r := poly[0]
		o := r[0]
		var first, prev orb.Point
		started := false
		var s float64
		emit := func(q orb.Point) {
			if !started {
				first, prev, started = q, q, true
				return
			}
			s += float64((prev[0]-o[0])*(q[1]-o[1])) - float64((q[0]-o[0])*(prev[1]-o[1]))
			prev = q
		}
		for i := 0; i+1 < len(r); i++ {
			a, b := r[i], r[i+1]
			ain, bin := axis.along(a) < c, axis.along(b) < c
			switch {
			case ain && bin:
				emit(b)
			case ain:
				emit(crossing(axis, c, a, b))
			case bin:
				emit(crossing(axis, c, a, b))
				emit(b)
			}
		}
		if started {
			s += float64((prev[0]-o[0])*(first[1]-o[1])) - float64((first[0]-o[0])*(prev[1]-o[1]))
		}
		total += s / 2
	}
	return total
}
