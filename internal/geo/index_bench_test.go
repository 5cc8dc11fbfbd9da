package geo

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
	"github.com/tidwall/rtree"
)

// benchSizes are the grid counts benchmarked: about a demo district and a
// large city.
var benchSizes = []int{600, 50000}

// benchPointCount query points, a power of two so the loop can index with a
// mask; enough that answers are not simply cached.
const benchPointCount = 1 << 16

// benchPoints returns n reproducible uniform random points in the rectangle
// tiled by SyntheticGrids.
func benchPoints(n int) []orb.Point {
	rng := rand.New(rand.NewPCG(7, 7))
	pts := make([]orb.Point, n)
	for i := range pts {
		pts[i] = orb.Point{
			synthMinLng + rng.Float64()*(synthMaxLng-synthMinLng),
			synthMinLat + rng.Float64()*(synthMaxLat-synthMinLat),
		}
	}
	return pts
}

// runLocate times locate over the benchmark points and reports lookups/s.
func runLocate(b *testing.B, locate func(orb.Point) bool) {
	pts := benchPoints(benchPointCount)
	found, i := 0, 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if locate(pts[i&(benchPointCount-1)]) {
			found++
		}
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "lookups/s")
	// The grids tile the rectangle, so every point must be found; this
	// also keeps the compiler from discarding the lookups.
	if found != i {
		b.Fatalf("located %d of %d points", found, i)
	}
}

func BenchmarkLocate(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("grids=%d", n), func(b *testing.B) {
			ix := NewIndex(SyntheticGrids(n, 1))
			runLocate(b, func(p orb.Point) bool {
				_, ok := ix.Locate(p)
				return ok
			})
		})
	}
}

// BenchmarkLocateBaseline is the plain approach the Index replaces: an
// R-tree of the grids' bounding boxes, then orb's point-in-polygon test on
// each candidate. Same grids, same points.
func BenchmarkLocateBaseline(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("grids=%d", n), func(b *testing.B) {
			grids := SyntheticGrids(n, 1)
			var tr rtree.RTreeG[int]
			for i, g := range grids {
				bd := g.Bound()
				tr.Insert(bd.Min, bd.Max, i)
			}
			runLocate(b, func(p orb.Point) bool {
				hit := false
				tr.Search(p, p, func(_, _ [2]float64, id int) bool {
					hit = planar.MultiPolygonContains(grids[id], p)
					return !hit
				})
				return hit
			})
		})
	}
}
