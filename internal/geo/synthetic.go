package geo

import (
	"math"
	"math/rand/v2"

	"github.com/paulmach/orb"
)

// The rectangle around Wenzhou tiled by SyntheticGrids.
const (
	synthMinLng, synthMaxLng = 120.6, 120.9
	synthMinLat, synthMaxLat = 27.85, 28.05
)

// SyntheticGrids returns n grid polygons, for tests and benchmarks only. They
// tile the rectangle lng 120.6–120.9, lat 27.85–28.05 (around Wenzhou)
// with no gaps or overlaps: a quadrilateral lattice whose interior vertices
// are moved randomly and whose edges are subdivided by 2–4 slightly offset
// points, so a typical grid has 12–20 vertices. Neighbours share every
// vertex of their common boundary exactly. To reach exactly n grids, the
// cells of the last two columns are merged pairwise in a few rows (those
// grids have more vertices). The result depends only on n and seed. Rings
// are closed and counter-clockwise.
func SyntheticGrids(n int, seed int64) []orb.MultiPolygon {
	if n <= 0 {
		return nil
	}
	x0, y0, x1, y1 := synthMinLng, synthMinLat, synthMaxLng, synthMaxLat
	// Aim for roughly square cells on the ground.
	aspect := (x1 - x0) * math.Cos((y0+y1)/2*math.Pi/180) / (y1 - y0)
	rows := min(max(1, int(math.Round(math.Sqrt(float64(n)/aspect)))), n)
	cols := (n + rows - 1) / rows
	merges := rows*cols - n // < rows, and cols >= 2 whenever merges > 0

	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed_6e0))
	dx, dy := (x1-x0)/float64(cols), (y1-y0)/float64(rows)

	// Lattice vertices; boundary vertices only slide along the boundary.
	const jitter = 0.2
	vert := func(i, j int) int { return j*(cols+1) + i }
	verts := make([]orb.Point, (cols+1)*(rows+1))
	for j := 0; j <= rows; j++ {
		for i := 0; i <= cols; i++ {
			x, y := x0+float64(i)*dx, y0+float64(j)*dy
			if i == cols {
				x = x1
			}
			if j == rows {
				y = y1
			}
			if i > 0 && i < cols {
				x += (2*rng.Float64() - 1) * jitter * dx
			}
			if j > 0 && j < rows {
				y += (2*rng.Float64() - 1) * jitter * dy
			}
			verts[vert(i, j)] = orb.Point{x, y}
		}
	}

	// chain returns the points strictly between the ends of lattice edge
	// a→b: 2–4 points, offset sideways by up to 5 % of the edge length
	// unless the edge is on the outer boundary (which stays straight).
	chain := func(a, b orb.Point, boundary bool) []orb.Point {
		k := 2 + rng.IntN(3)
		pts := make([]orb.Point, k)
		ex, ey := b[0]-a[0], b[1]-a[1]
		for m := range pts {
			t := 0.15 + 0.7*(float64(m)+0.2+0.6*rng.Float64())/float64(k)
			off := 0.0
			if !boundary {
				off = (2*rng.Float64() - 1) * 0.05
			}
			// The normal (-ey, ex) scaled by off is off·length sideways.
			pts[m] = orb.Point{a[0] + t*ex - off*ey, a[1] + t*ey + off*ex}
		}
		return pts
	}
	hChain := make([][]orb.Point, cols*(rows+1)) // (i,j)→(i+1,j)
	for j := 0; j <= rows; j++ {
		for i := range cols {
			hChain[j*cols+i] = chain(verts[vert(i, j)], verts[vert(i+1, j)], j == 0 || j == rows)
		}
	}
	vChain := make([][]orb.Point, (cols+1)*rows) // (i,j)→(i,j+1)
	for j := range rows {
		for i := 0; i <= cols; i++ {
			vChain[j*(cols+1)+i] = chain(verts[vert(i, j)], verts[vert(i, j+1)], i == 0 || i == cols)
		}
	}

	var ring orb.Ring
	fwd := func(p orb.Point, c []orb.Point) {
		ring = append(ring, p)
		ring = append(ring, c...)
	}
	rev := func(p orb.Point, c []orb.Point) {
		ring = append(ring, p)
		for m := len(c) - 1; m >= 0; m-- {
			ring = append(ring, c[m])
		}
	}
	out := make([]orb.MultiPolygon, 0, n)
	for j := range rows {
		merged := j < merges
		for i := range cols {
			if merged && i == cols-1 {
				continue // already part of the cell to its left
			}
			right := i + 1
			if merged && i == cols-2 {
				right = cols
			}
			ring = nil
			for c := i; c < right; c++ { // bottom, left to right
				fwd(verts[vert(c, j)], hChain[j*cols+c])
			}
			fwd(verts[vert(right, j)], vChain[j*(cols+1)+right]) // right side, upwards
			for c := right - 1; c >= i; c-- {                    // top, right to left
				rev(verts[vert(c+1, j+1)], hChain[(j+1)*cols+c])
			}
			rev(verts[vert(i, j+1)], vChain[j*(cols+1)+i]) // left side, downwards
			ring = append(ring, ring[0])
			out = append(out, orb.MultiPolygon{orb.Polygon{ring}})
		}
	}
	return out
}
