package geo

import (
	"fmt"
	"math/rand/v2"
	"sync"
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

// references caches the brute-force answers per grid count.
var references sync.Map // int → []int32

// referenceFor answers every benchmark point by brute force over the n
// synthetic grids (each bounding box, then orb's point-in-polygon test),
// independently of the index and of the R-tree.
func referenceFor(n int, grids []orb.MultiPolygon) []int32 {
	if v, ok := references.Load(n); ok {
		return v.([]int32)
	}
	pts := benchPoints(benchPointCount)
	bounds := make([]orb.Bound, len(grids))
	for i, g := range grids {
		bounds[i] = g.Bound()
	}
	want := make([]int32, len(pts))
	var wg sync.WaitGroup
	for k := 0; k < 4; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			for j := k; j < len(pts); j += 4 {
				want[j] = -1
				for i := range grids {
					if bounds[i].Contains(pts[j]) && planar.MultiPolygonContains(grids[i], pts[j]) {
						want[j] = int32(i)
						break
					}
				}
			}
		}(k)
	}
	wg.Wait()
	references.Store(n, want)
	return want
}

// runLocate times locate over the benchmark points and reports lookups/s.
// Every answer must be the reference's (want), and, since the grids tile
// the rectangle, every point must be found.
func runLocate(b *testing.B, want []int32, locate func(orb.Point) int) {
	pts := benchPoints(benchPointCount)
	found, i := 0, 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		j := i & (benchPointCount - 1)
		got := locate(pts[j])
		if got != int(want[j]) {
			b.Fatalf("point %d %v: located in grid %d, the reference says %d", j, pts[j], got, want[j])
		}
		if got >= 0 {
			found++
		}
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "lookups/s")
	if found != i {
		b.Fatalf("located %d of %d points", found, i)
	}
}

func BenchmarkLocate(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("grids=%d", n), func(b *testing.B) {
			grids := SyntheticGrids(n, 1)
			want := referenceFor(n, grids)
			ix := NewIndex(grids)
			runLocate(b, want, func(p orb.Point) int {
				i, ok := ix.Locate(p)
				if !ok {
					return -1
				}
				return i
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
			want := referenceFor(n, grids)
			var tr rtree.RTreeG[int]
			for i, g := range grids {
				bd := g.Bound()
				tr.Insert(bd.Min, bd.Max, i)
			}
			runLocate(b, want, func(p orb.Point) int {
				hit := -1
				tr.Search(p, p, func(_, _ [2]float64, id int) bool {
					if planar.MultiPolygonContains(grids[id], p) {
						hit = id
					}
					return hit < 0
				})
				return hit
			})
		})
	}
}
