package visit

import (
	"math"

	"github.com/paulmach/orb"
)

// The walking order of a worker's visits. There is no road network, so
// the order is an estimate, and says so: positions are projected onto a
// local plane in metres (equirectangular, centred on the worker), and the
// distance walked between two points is their Manhattan distance on that
// plane (|Δeast| + |Δnorth|), as if the streets ran north–south and
// east–west; the straight line is a lower bound of it and a walker's real
// path usually lies between the two. The route starts at the worker, is
// open (it does not come back), is built by the nearest-neighbour chain
// and then improved by 2-opt (reversing a stretch of the route while that
// shortens it). It is not the shortest route, but no longer than the
// nearest-neighbour chain, and on a few dozen stops close to it.

// metresPerDegree is the length of a degree of latitude on the sphere of
// radius 6371008.8 m (the haversine's).
const metresPerDegree = 6371008.8 * math.Pi / 180

// XY is a point on the local plane, in metres east and north.
type XY struct{ X, Y float64 }

// Project maps p (orb.Point{lng, lat}) onto the local plane centred on
// origin.
func Project(origin, p orb.Point) XY {
	return XY{X: (p[0] - origin[0]) * metresPerDegree * math.Cos(origin[1]*math.Pi/180), Y: (p[1] - origin[1]) * metresPerDegree}
}

// Walk is the walking distance between a and b: their Manhattan distance
// on the local plane, in metres.
func Walk(a, b XY) float64 { return math.Abs(a.X-b.X) + math.Abs(a.Y-b.Y) }

// maxPasses bounds 2-opt's passes over the route (each at least as short
// as the one before; a few usually suffice).
const maxPasses = 50

// Route orders stops into an open walking route from start: the
// nearest-neighbour chain (ties to the lower index) improved by 2-opt.
// It returns the stops' indices in walking order and, for each, the
// distance walked from start to it along the route.
func Route(start XY, stops []XY) (order []int, walked []float64) {
	n := len(stops)
	order = make([]int, 0, n)
	used := make([]bool, n)
	at := start
	for range n {
		best := -1
		for i, s := range stops {
			if !used[i] && (best < 0 || Walk(at, s) < Walk(at, stops[best])) {
				best = i
			}
		}
		used[best] = true
		order = append(order, best)
		at = stops[best]
	}
	// 2-opt on the path start, order[0], …, order[n-1]: reversing
	// order[i..j] replaces the edges (prev, order[i]) and (order[j],
	// next) with (prev, order[j]) and (order[i], next); the route is open,
	// so a reversal reaching its end has no next edge.
	pt := func(k int) XY {
		if k < 0 {
			return start
		}
		return stops[order[k]]
	}
	for pass := 0; pass < maxPasses; pass++ {
		improved := false
		for i := 0; i < n-1; i++ {
			for j := i + 1; j < n; j++ {
				delta := Walk(pt(i-1), pt(j)) - Walk(pt(i-1), pt(i))
				if j+1 < n {
					delta += Walk(pt(i), pt(j+1)) - Walk(pt(j), pt(j+1))
				}
				if delta < -1e-9 {
					for a, b := i, j; a < b; a, b = a+1, b-1 {
						order[a], order[b] = order[b], order[a]
					}
					improved = true
				}
			}
		}
		if !improved {
			break
		}
	}
	walked = make([]float64, n)
	sum, at := 0.0, start
	for k, i := range order {
		sum += Walk(at, stops[i])
		walked[k], at = sum, stops[i]
	}
	return order, walked
}

// walkingOrder puts ts in walking order from (lat, lng): the tasks with a
// house along the Route, each with its stop number and the distance
// walked to it, then those without a house in their order.
func walkingOrder(lat, lng float64, ts []Task) []Task {
	origin := orb.Point{lng, lat}
	var with, without []Task
	var stops []XY
	for _, t := range ts {
		if t.HouseLat == nil {
			without = append(without, t)
			continue
		}
		with = append(with, t)
		stops = append(stops, Project(origin, orb.Point{*t.HouseLng, *t.HouseLat}))
	}
	order, walked := Route(XY{}, stops)
	out := make([]Task, 0, len(ts))
	for k, i := range order {
		t := with[i]
		t.Stop, t.WalkM = k+1, &walked[k]
		out = append(out, t)
	}
	return append(out, without...)
}
