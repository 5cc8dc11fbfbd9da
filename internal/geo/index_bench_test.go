package geo

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
	"github.com/tidwall/rtree"
)

// benchGrids is the number of grids in the benchmarks: a large city.
var benchGridsList = []int{600, 5000, 50000}

const benchGrids = 50000

// benchPoints returns n reproducible uniform random points in the
// SyntheticGrids rectangle.
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

// Enough points to defeat caching of recent answers, a power of two so
// the loop can index with a mask.
const benchPointCount = 1 << 16

func BenchmarkLocate(b *testing.B) {
	for _, ng := range benchGridsList {
	b.Run(fmt.Sprintf("grids=%d", ng), func(b *testing.B) {
		ix := NewIndex(SyntheticGrids(ng, 1))
		pts := benchPoints(benchPointCount)
		found := 0
		b.ReportAllocs()
		b.ResetTimer()
		i := 0
		for b.Loop() {
			if _, ok := ix.Locate(pts[i&(benchPointCount-1)]); ok {
				found++
			}
			i++
		}
		b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "lookups/s")
		if found == 0 {
			b.Fatal("no point located")
		}
	})
	}
}

// BenchmarkLocateBaseline is the plain approach the index replaces: an
// R-tree of bounding boxes plus orb's point-in-polygon on each candidate.
func BenchmarkLocateBaseline(b *testing.B) {
	b.Run(fmt.Sprintf("grids=%d", benchGrids), func(b *testing.B) {
		grids := SyntheticGrids(benchGrids, 1)
		var tr rtree.RTreeG[int]
		for i, g := range grids {
			bd := g.Bound()
			tr.Insert(bd.Min, bd.Max, i)
		}
		pts := benchPoints(benchPointCount)
		found := 0
		b.ReportAllocs()
		b.ResetTimer()
		i := 0
		for b.Loop() {
			p := pts[i&(benchPointCount-1)]
			hit := -1
			tr.Search(p, p, func(_, _ [2]float64, id int) bool {
				if planar.MultiPolygonContains(grids[id], p) {
					hit = id
					return false
				}
				return true
			})
			if hit >= 0 {
				found++
			}
			i++
		}
		b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "lookups/s")
		if found == 0 {
			b.Fatal("no point located")
		}
	})
}
