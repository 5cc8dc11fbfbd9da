package patrol

import (
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// earthRadius is the mean Earth radius in metres (the haversine's sphere).
const earthRadius = 6371008.8

// Haversine returns the great-circle distance in metres between two
// WGS-84 points given as orb.Point{lng, lat}.
func Haversine(a, b orb.Point) float64 {
	const rad = math.Pi / 180
	dLat := (b[1] - a[1]) * rad
	dLng := (b[0] - a[0]) * rad
	s := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a[1]*rad)*math.Cos(b[1]*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * earthRadius * math.Asin(math.Min(1, math.Sqrt(s)))
}

// Distance sums the haversine distances along pts (in time order, flagged
// points already left out), ignoring GPS jitter: a fix closer to the last
// counted fix than the larger of the two accuracies is noise around one
// position, so it is skipped and the next fix is measured from the last
// counted one. Walking on, the distance from that fix grows past the
// accuracy and is counted whole, so slow walking is not lost.
func Distance(pts []Point) float64 {
	if len(pts) == 0 {
		return 0
	}
	anchor := pts[0]
	var sum float64
	for _, p := range pts[1:] {
		d := Haversine(orb.Point{anchor.Lng, anchor.Lat}, orb.Point{p.Lng, p.Lat})
		if d <= math.Max(anchor.Accuracy, p.Accuracy) {
			continue
		}
		sum += d
		anchor = p
	}
	return sum
}

// maxCells bounds the raster of Coverage, whatever the grid's size.
const maxCells = 250_000

// Coverage returns the share (0…1) of the area of grid covered by the
// track pts buffered by radius metres.
//
// Method: orb has no buffer or polygon intersection, so the share is
// measured on a raster. The grid and the track are projected to metres
// on a local equirectangular plane centred on the grid's bounding box
// (errors well under 1% across a grid of a few kilometres). The grid's
// box is cut into square cells of radius/5 metres (larger for a large
// grid, so that there are at most 250,000 cells); a cell counts as in
// the grid when its centre is in the polygon (planar.MultiPolygonContains)
// and as covered when its centre is also within radius of a segment of
// the track. The share is covered cells over cells in the grid. A single
// point covers a disk. The raster error is about the cell size along the
// buffer's edge: under 0.5 percentage points for a 30 m buffer.
func Coverage(grid orb.MultiPolygon, pts []Point, radius float64) float64 {
	if len(grid) == 0 || len(pts) == 0 || radius <= 0 {
		return 0
	}
	b := grid.Bound()
	lat0 := (b.Min[1] + b.Max[1]) / 2
	lng0 := (b.Min[0] + b.Max[0]) / 2
	kx := earthRadius * math.Pi / 180 * math.Cos(lat0*math.Pi/180)
	ky := earthRadius * math.Pi / 180
	proj := func(lng, lat float64) orb.Point { return orb.Point{(lng - lng0) * kx, (lat - lat0) * ky} }
	mp := make(orb.MultiPolygon, len(grid))
	for i, poly := range grid {
		mp[i] = make(orb.Polygon, len(poly))
		for j, ring := range poly {
			r := make(orb.Ring, len(ring))
			for k, p := range ring {
				r[k] = proj(p[0], p[1])
			}
			mp[i][j] = r
		}
	}
	mb := mp.Bound()
	w, h := mb.Max[0]-mb.Min[0], mb.Max[1]-mb.Min[1]
	cell := radius / 5
	if n := w * h / (cell * cell); n > maxCells {
		cell = math.Sqrt(w * h / maxCells)
	}
	nx, ny := int(math.Ceil(w/cell)), int(math.Ceil(h/cell))
	if nx <= 0 || ny <= 0 {
		return 0
	}
	centre := func(ix, iy int) orb.Point {
		return orb.Point{mb.Min[0] + (float64(ix)+0.5)*cell, mb.Min[1] + (float64(iy)+0.5)*cell}
	}
	inside := 0
	in := make([]bool, nx*ny)
	for iy := 0; iy < ny; iy++ {
		for ix := 0; ix < nx; ix++ {
			if planar.MultiPolygonContains(mp, centre(ix, iy)) {
				in[iy*nx+ix] = true
				inside++
			}
		}
	}
	if inside == 0 {
		return 0
	}
	covered := make([]bool, nx*ny)
	hits := 0
	mark := func(a, c orb.Point) {
		x0 := int(math.Floor((math.Min(a[0], c[0]) - radius - mb.Min[0]) / cell))
		x1 := int(math.Floor((math.Max(a[0], c[0]) + radius - mb.Min[0]) / cell))
		y0 := int(math.Floor((math.Min(a[1], c[1]) - radius - mb.Min[1]) / cell))
		y1 := int(math.Floor((math.Max(a[1], c[1]) + radius - mb.Min[1]) / cell))
		for iy := max(y0, 0); iy <= min(y1, ny-1); iy++ {
			for ix := max(x0, 0); ix <= min(x1, nx-1); ix++ {
				k := iy*nx + ix
				if covered[k] || !in[k] {
					continue
				}
				if segmentDistance(centre(ix, iy), a, c) <= radius {
					covered[k] = true
					hits++
				}
			}
		}
	}
	prev := proj(pts[0].Lng, pts[0].Lat)
	mark(prev, prev)
	for _, p := range pts[1:] {
		q := proj(p.Lng, p.Lat)
		mark(prev, q)
		prev = q
	}
	return float64(hits) / float64(inside)
}

// segmentDistance is the planar distance from p to the segment a–b.
func segmentDistance(p, a, b orb.Point) float64 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	t := 0.0
	if l2 := dx*dx + dy*dy; l2 > 0 {
		t = math.Max(0, math.Min(1, ((p[0]-a[0])*dx+(p[1]-a[1])*dy)/l2))
	}
	ex, ey := a[0]+t*dx-p[0], a[1]+t*dy-p[1]
	return math.Hypot(ex, ey)
}
