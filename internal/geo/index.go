package geo

import (
	"math"
	"math/bits"
	"slices"

	"github.com/paulmach/orb"
)

// EarthRadiusMeters is the mean earth radius (IUGG) used for the local
// metric approximations in this package.
const EarthRadiusMeters = 6371008.8

// Tuning of the index.
const (
	// cellsPerPiece trades memory for speed: smaller cells are more often
	// entirely inside one item and hold fewer edges when they are not.
	cellsPerPiece = 16.0
	// cellsPerEdge keeps cells small for items with very many vertices.
	cellsPerEdge = 0.5
	// maxCells bounds the memory of the cell table.
	maxCells = 1 << 25
)

// Index answers "which grid contains this point?" for a fixed set of
// (multi)polygons. It is immutable after NewIndex and safe for concurrent use.
//
// A uniform grid of cells covers the bounding box of all items (about 16
// cells per polygon). A cell that lies entirely inside an item stores that
// item directly, so most lookups need no geometry at all. Any other cell
// points to a list, in item order, of the polygons whose boundary can
// matter for points in the cell, with exactly the data the crossing-number
// test needs there:
//
//   - edges left of the cell are never crossed by a ray going right, so
//     they are dropped;
//   - edges right of the cell are crossed exactly when the point's y is in
//     their y-range, so they reduce to a parity that flips at a few
//     "toggle" heights (usually none: consecutive edges cancel out);
//   - only the few edges passing through the cell are tested, and an edge
//     shared by two neighbouring items is stored and tested once.
//
// A lookup reads one int32 and, for a boundary cell, one short contiguous
// run of words; it does not allocate.
type Index struct {
	items int

	// The cell grid.
	minX, minY, maxX, maxY float64
	invCellW, invCellH     float64
	cellW, cellH           float64
	nx, ny                 int
	// cells[c] < 0 means cell c is inside item ^cells[c]; otherwise the
	// cell's list starts at blob[cells[c]] (see appendCell for the layout;
	// blob[0] is the empty list).
	cells []int32
	blob  []uint64

	// Cold data for Nearest: the polygons whose boundary touches each cell
	// (nearPieces[nearStart[c]:nearStart[c+1]]) and their vertices.
	nearStart  []int32
	nearPieces []int32
	pieces     []piece
	ringStart  []int32 // vertices of ring r are verts[ringStart[r]:ringStart[r+1]]
	verts      []orb.Point
}

// piece is one polygon (outer ring plus holes) of an item.
type piece struct {
	minX, minY, maxX, maxY float64
	item                   int32
	ring0, ring1           int32
}

// edge is a non-horizontal edge normalised so that (x, ylo) is its lower
// endpoint and k = dx/dy. Two polygons sharing an edge hold bit-identical
// values, so they compute bit-identical crossings: this is what sends a
// point on a shared edge to exactly one of them.
type edge struct {
	ylo, yhi, x, k float64
}

// xAt returns the edge's x at height y, exactly as Locate computes it.
func (e *edge) xAt(y float64) float64 { return e.x + (y-e.ylo)*e.k }

// NewIndex builds an index over items; item i is identified by i. A single
// polygon is passed as a one-element MultiPolygon. Rings may be open or
// closed and oriented either way. Items are expected to be valid (see
// ValidateGeometry); polygons with non-finite coordinates are ignored.
func NewIndex(items []orb.MultiPolygon) *Index {
	ix := &Index{items: len(items)}
	// Sizing the big slices up front avoids repeated growth, which
	// dominated build time for tens of thousands of grids.
	nPoly, nRing, nVert := 0, 0, 0
	for _, mp := range items {
		nPoly += len(mp)
		for _, poly := range mp {
			nRing += len(poly)
			for _, r := range poly {
				nVert += len(r)
			}
		}
	}
	ix.pieces = make([]piece, 0, nPoly)
	ix.ringStart = make([]int32, 0, nRing+1)
	ix.verts = make([]orb.Point, 0, nVert)
	for it, mp := range items {
		for _, poly := range mp {
			ix.addPiece(int32(it), poly)
		}
	}
	ix.ringStart = append(ix.ringStart, int32(len(ix.verts)))
	ix.buildGrid()
	return ix
}

// Len returns the number of items the index was built from.
func (ix *Index) Len() int { return ix.items }

func finitePoint(p orb.Point) bool {
	return !math.IsNaN(p[0]) && !math.IsNaN(p[1]) && !math.IsInf(p[0], 0) && !math.IsInf(p[1], 0)
}

func (ix *Index) addPiece(item int32, poly orb.Polygon) {
	if len(poly) == 0 || len(poly[0]) < 3 {
		return
	}
	pc := piece{
		minX: math.Inf(1), minY: math.Inf(1), maxX: math.Inf(-1), maxY: math.Inf(-1),
		item: item,
	}
	for _, r := range poly {
		for _, p := range r {
			if !finitePoint(p) {
				return
			}
			pc.minX, pc.maxX = min(pc.minX, p[0]), max(pc.maxX, p[0])
			pc.minY, pc.maxY = min(pc.minY, p[1]), max(pc.maxY, p[1])
		}
	}
	pc.ring0 = int32(len(ix.ringStart))
	for _, r := range poly {
		ix.ringStart = append(ix.ringStart, int32(len(ix.verts)))
		ix.verts = append(ix.verts, r...)
	}
	pc.ring1 = int32(len(ix.ringStart))
	ix.pieces = append(ix.pieces, pc)
}

// ring returns the vertices of ring r.
func (ix *Index) ring(r int32) []orb.Point {
	return ix.verts[ix.ringStart[r]:ix.ringStart[r+1]]
}

// pieceEdges appends the normalised non-horizontal edges of all rings of a
// piece; holes take part in the crossing count like any other ring.
func (ix *Index) pieceEdges(pc *piece, buf []edge) []edge {
	for r := pc.ring0; r < pc.ring1; r++ {
		vs := ix.ring(r)
		for i := range vs {
			a, b := vs[i], vs[(i+1)%len(vs)] // the closing edge is a no-op for closed rings
			if a[1] == b[1] {
				continue // never counted by the half-open rule
			}
			if a[1] > b[1] {
				a, b = b, a
			}
			buf = append(buf, edge{ylo: a[1], yhi: b[1], x: a[0], k: (b[0] - a[0]) / (b[1] - a[1])})
		}
	}
	return buf
}

// cellX and cellY map a coordinate inside the grid's bounding box to a cell
// column and row, exactly as Locate does. Both are monotone.
func (ix *Index) cellX(x float64) int {
	return min(max(int((x-ix.minX)*ix.invCellW), 0), ix.nx-1)
}

func (ix *Index) cellY(y float64) int {
	return min(max(int((y-ix.minY)*ix.invCellH), 0), ix.ny-1)
}

// candidate is one (cell, piece) pair while building.
type candidate struct {
	cell, item int32
	parity     bool
	off        int32 // toggles then edges in the scratch data
	nT, nE     int32
}

func (ix *Index) buildGrid() {
	if len(ix.pieces) == 0 {
		ix.nx, ix.ny = 1, 1
		ix.minX, ix.minY, ix.maxX, ix.maxY = 1, 1, -1, -1 // empty box: nothing matches
		ix.cells = []int32{0}
		ix.blob = []uint64{0}
		ix.nearStart = []int32{0, 0}
		return
	}
	ix.minX, ix.minY = math.Inf(1), math.Inf(1)
	ix.maxX, ix.maxY = math.Inf(-1), math.Inf(-1)
	for i := range ix.pieces {
		pc := &ix.pieces[i]
		ix.minX, ix.maxX = min(ix.minX, pc.minX), max(ix.maxX, pc.maxX)
		ix.minY, ix.maxY = min(ix.minY, pc.minY), max(ix.maxY, pc.maxY)
	}
	w, h := ix.maxX-ix.minX, ix.maxY-ix.minY
	target := min(max(cellsPerPiece*float64(len(ix.pieces)), cellsPerEdge*float64(len(ix.verts))), maxCells)
	ix.nx, ix.ny = 1, 1
	if w > 0 && h > 0 { // otherwise nothing has area: one cell will do
		side := math.Sqrt(w * h / target)
		ix.nx = max(int(min(math.Ceil(w/side), maxCells)), 1)
		ix.ny = max(int(min(math.Ceil(h/side), maxCells/float64(ix.nx))), 1)
	}
	ix.cellW, ix.cellH = w/float64(ix.nx), h/float64(ix.ny)
	if w > 0 {
		ix.invCellW = float64(ix.nx) / w
	}
	if h > 0 {
		ix.invCellH = float64(ix.ny) / h
	}
	nCells := ix.nx * ix.ny

	// Cells are widened by eps so that the rounding in cellX/cellY can
	// never put a point outside the box its cell was prepared for. That
	// rounding is a few ulps of the coordinates; 1e-13 relative is hundreds
	// of ulps (2e-11° at 180°) and still far below any real distance.
	mag := max(math.Abs(ix.minX), math.Abs(ix.maxX), math.Abs(ix.minY), math.Abs(ix.maxY), 1)
	epsX, epsY := ix.cellW*1e-9+mag*1e-13, ix.cellH*1e-9+mag*1e-13

	// Every candidate and every near pair lies in its piece's box of
	// cells, which bounds their number.
	boxCells := 0
	for i := range ix.pieces {
		pc := &ix.pieces[i]
		boxCells += (ix.cellX(pc.maxX+epsX) - ix.cellX(pc.minX-epsX) + 1) *
			(ix.cellY(pc.maxY+epsY) - ix.cellY(pc.minY-epsY) + 1)
	}
	var (
		cands   = make([]candidate, 0, boxCells)
		data    = make([]uint64, 0, 4*boxCells) // toggles and edges of all candidates
		edges   []edge
		band    []edge
		toggles []float64
		mids    []edge
	)
	type nearPair struct{ cell, piece int32 }
	near := make([]nearPair, 0, boxCells)
	stamp := make([]int32, nCells) // stamp[c] == piece+1: piece already listed for c
	for pi := range ix.pieces {
		pc := &ix.pieces[pi]
		edges = ix.pieceEdges(pc, edges[:0])
		cx0, cx1 := ix.cellX(pc.minX-epsX), ix.cellX(pc.maxX+epsX)
		cy0, cy1 := ix.cellY(pc.minY-epsY), ix.cellY(pc.maxY+epsY)
		for cy := cy0; cy <= cy1; cy++ {
			lo := ix.minY + float64(cy)*ix.cellH - epsY
			hi := ix.minY + float64(cy+1)*ix.cellH + epsY
			// Edges that can be counted for some y in [lo, hi].
			band = band[:0]
			for _, e := range edges {
				if e.ylo <= hi && e.yhi > lo {
					band = append(band, e)
				}
			}
			for cx := cx0; cx <= cx1; cx++ {
				x0 := ix.minX + float64(cx)*ix.cellW - epsX
				x1 := ix.minX + float64(cx+1)*ix.cellW + epsX
				toggles, mids = toggles[:0], mids[:0]
				parity := false
				for i := range band {
					e := &band[i]
					// xAt is monotone in y, so these bound every x that
					// Locate can compute for this edge inside the band.
					xa, xb := e.xAt(max(e.ylo, lo)), e.xAt(min(e.yhi, hi))
					switch {
					case max(xa, xb) < x0: // left of the cell: never crossed
					case min(xa, xb) > x1: // right: crossed iff ylo <= y < yhi
						for _, t := range [2]float64{e.ylo, e.yhi} {
							switch {
							case t < lo:
								parity = !parity
							case t <= hi:
								toggles = append(toggles, t)
							}
						}
					default:
						mids = append(mids, *e)
					}
				}
				toggles = cancelPairs(toggles)
				if len(mids) == 0 && len(toggles) == 0 && !parity {
					continue // the cell is outside this piece
				}
				cands = append(cands, candidate{
					cell: int32(cy*ix.nx + cx), item: pc.item, parity: parity,
					off: int32(len(data)), nT: int32(len(toggles)), nE: int32(len(mids)),
				})
				for _, t := range toggles {
					data = append(data, math.Float64bits(t))
				}
				for _, e := range mids {
					data = append(data, math.Float64bits(e.ylo), math.Float64bits(e.yhi),
						math.Float64bits(e.x), math.Float64bits(e.k))
				}
			}
		}
		// Cells the boundary passes through, horizontal edges included, for Nearest.
		mark := int32(pi) + 1
		for r := pc.ring0; r < pc.ring1; r++ {
			vs := ix.ring(r)
			for i := range vs {
				a, b := vs[i], vs[(i+1)%len(vs)]
				bx0, bx1 := ix.cellX(min(a[0], b[0])-epsX), ix.cellX(max(a[0], b[0])+epsX)
				by0, by1 := ix.cellY(min(a[1], b[1])-epsY), ix.cellY(max(a[1], b[1])+epsY)
				for cy := by0; cy <= by1; cy++ {
					for cx := bx0; cx <= bx1; cx++ {
						c := cy*ix.nx + cx
						if stamp[c] == mark {
							continue
						}
						if bx0 == bx1 && by0 == by1 || segmentHitsBox(a, b,
							ix.minX+float64(cx)*ix.cellW-epsX, ix.minY+float64(cy)*ix.cellH-epsY,
							ix.minX+float64(cx+1)*ix.cellW+epsX, ix.minY+float64(cy+1)*ix.cellH+epsY) {
							stamp[c] = mark
							near = append(near, nearPair{int32(c), int32(pi)})
						}
					}
				}
			}
		}
	}

	// Offsets are int32 to keep the tables small; that allows 16 GiB.
	if len(data)+3*len(cands)+1 > math.MaxInt32 {
		panic("geo: NewIndex: index larger than 2^31 words")
	}

	// Group candidates by cell with a stable counting sort: pieces were
	// visited in item order, so each cell's list is ordered by item, which
	// makes "lowest index wins" a matter of stopping at the first hit.
	order := make([]int32, len(cands))
	start := countingSort(nCells, len(cands), func(i int) int32 { return cands[i].cell }, order)
	ix.cells = make([]int32, nCells)
	ix.blob = make([]uint64, 1, 1+len(data)+3*len(cands)) // blob[0] is the shared empty list
	var shared [][4]uint64
	for c := range nCells {
		list := order[start[c]:start[c+1]]
		if len(list) == 0 {
			continue
		}
		// A candidate without edges or toggles contains the whole cell
		// (its parity is set, or it would not exist): items after it can
		// never win, and if it comes first the cell needs no list at all.
		for i, ci := range list {
			if cands[ci].nT == 0 && cands[ci].nE == 0 {
				list = list[:i+1]
				break
			}
		}
		if first := &cands[list[0]]; first.nT == 0 && first.nE == 0 {
			ix.cells[c] = ^first.item
			continue
		}
		ix.cells[c] = int32(len(ix.blob))
		ix.blob, shared = appendCell(ix.blob, list, cands, data, shared[:0])
	}
	ix.blob = slices.Clip(ix.blob)

	nearOrder := make([]int32, len(near))
	ix.nearStart = countingSort(nCells, len(near), func(i int) int32 { return near[i].cell }, nearOrder)
	ix.nearPieces = make([]int32, len(near))
	for i, ni := range nearOrder {
		ix.nearPieces[i] = near[ni].piece
	}
}

// Cell list layouts in Index.blob. Both start with a header word holding
// the number of candidates in the low 32 bits. Each candidate starts with
// a word holding its item (low 32 bits), its number of toggles (bits
// 32–62) and its parity (bit 63).
//
// Shared layout (header bit 63 clear): bits 32–38 of the header give the
// number u <= 64 of distinct edges in the cell, which follow as u groups of
// 4 words (ylo, yhi, x, k as float64 bits). Neighbouring items share their
// common edges, so each is stored and tested once. Each candidate is then:
// item word, a mask of the shared edges it owns, its toggles.
//
// Own layout (header bit 63 set), for cells with more than 64 distinct
// edges: each candidate is item word, edge count, toggles, its edges.
const (
	maxSharedEdges = 64
	ownLayout      = 1 << 63
)

// appendCell appends the list of one boundary cell to blob. shared is
// scratch space, returned for reuse.
func appendCell(blob []uint64, list []int32, cands []candidate, data []uint64, shared [][4]uint64) ([]uint64, [][4]uint64) {
	edgeOf := func(cd *candidate, j int32) [4]uint64 {
		o := cd.off + cd.nT + 4*j
		return [4]uint64(data[o : o+4])
	}
	fits := true
collect:
	for _, ci := range list {
		cd := &cands[ci]
		for j := range cd.nE {
			if e := edgeOf(cd, j); !slices.Contains(shared, e) {
				if len(shared) == maxSharedEdges {
					fits = false
					break collect
				}
				shared = append(shared, e)
			}
		}
	}
	header := func(cd *candidate) uint64 {
		h := uint64(uint32(cd.item)) | uint64(cd.nT)<<32
		if cd.parity {
			h |= 1 << 63
		}
		return h
	}
	toggles := func(cd *candidate) []uint64 { return data[cd.off : cd.off+cd.nT] }

	if !fits {
		blob = append(blob, uint64(len(list))|ownLayout)
		for _, ci := range list {
			cd := &cands[ci]
			blob = append(blob, header(cd), uint64(cd.nE))
			blob = append(blob, data[cd.off:cd.off+cd.nT+4*cd.nE]...)
		}
		return blob, shared
	}
	blob = append(blob, uint64(len(list))|uint64(len(shared))<<32)
	for _, e := range shared {
		blob = append(blob, e[:]...)
	}
	for _, ci := range list {
		cd := &cands[ci]
		var mask uint64
		for j := range cd.nE {
			// XOR, not OR: an edge listed twice crosses twice, i.e. not at all.
			mask ^= 1 << slices.Index(shared, edgeOf(cd, j))
		}
		blob = append(blob, header(cd), mask)
		blob = append(blob, toggles(cd)...)
	}
	return blob, shared
}

// countingSort stably orders n keyed elements by key in [0, buckets),
// writing element indexes to order, and returns the bucket start offsets
// (len buckets+1).
func countingSort(buckets, n int, key func(int) int32, order []int32) []int32 {
	start := make([]int32, buckets+1)
	for i := range n {
		start[key(i)+1]++
	}
	for b := range buckets {
		start[b+1] += start[b]
	}
	fill := slices.Clone(start[:buckets])
	for i := range n {
		k := key(i)
		order[fill[k]] = int32(i)
		fill[k]++
	}
	return start
}

// cancelPairs sorts toggle heights and removes those that occur an even
// number of times: two flips at the same height cancel. This is what makes
// a chain of edges to the right of a cell cost nothing at lookup time.
func cancelPairs(ts []float64) []float64 {
	slices.Sort(ts)
	out := ts[:0]
	for i := 0; i < len(ts); {
		j := i
		for j < len(ts) && ts[j] == ts[i] {
			j++
		}
		if (j-i)%2 == 1 {
			out = append(out, ts[i])
		}
		i = j
	}
	return out
}

// segmentHitsBox reports whether segment ab meets the closed box
// [x0,x1]×[y0,y1] (Liang–Barsky clipping).
func segmentHitsBox(a, b orb.Point, x0, y0, x1, y1 float64) bool {
	t0, t1 := 0.0, 1.0
	dx, dy := b[0]-a[0], b[1]-a[1]
	clip := func(p, q float64) bool {
		switch {
		case p == 0:
			return q >= 0
		case p < 0:
			if r := q / p; r > t1 {
				return false
			} else if r > t0 {
				t0 = r
			}
		default:
			if r := q / p; r < t0 {
				return false
			} else if r < t1 {
				t1 = r
			}
		}
		return true
	}
	return clip(-dx, a[0]-x0) && clip(dx, x1-a[0]) && clip(-dy, a[1]-y0) && clip(dy, y1-a[1])
}

// Locate returns the item containing p. Holes are respected. A point on an
// edge shared by two items belongs to exactly one of them, always the same:
// the test is the half-open crossing rule (an edge counts when
// min(y1,y2) <= y < max(y1,y2) and x is left of the crossing) on edges
// normalised to start at their lower end, so both items compute
// bit-identical crossings and a planar partition is split without gaps or
// double counting. In effect a boundary point goes to the item just east
// of it, or just north of it on an east-west edge; the same holds on the
// outer boundary of the union, so a point there may be in no item (use
// Nearest for that). If items overlap, the lowest index wins. Locate does
// not allocate.
func (ix *Index) Locate(p orb.Point) (int, bool) {
	px, py := p[0], p[1]
	if !(px >= ix.minX && px <= ix.maxX && py >= ix.minY && py <= ix.maxY) {
		return -1, false // also rejects NaN
	}
	cx := min(int((px-ix.minX)*ix.invCellW), ix.nx-1)
	cy := min(int((py-ix.minY)*ix.invCellH), ix.ny-1)
	v := ix.cells[cy*ix.nx+cx]
	if v < 0 {
		return int(^v), true
	}
	b := ix.blob[v:]
	hdr := b[0]
	if hdr&ownLayout != 0 {
		return locateOwn(b[1:], uint32(hdr), px, py)
	}
	// Test each distinct edge of the cell once; bit i of cross is set when
	// the ray from p crosses edge i.
	u := int(hdr>>32) & 0x7f
	es := b[1 : 1+4*u]
	var cross uint64
	for i := 0; i < len(es); i += 4 {
		e := es[i : i+4 : i+4]
		ylo, yhi := math.Float64frombits(e[0]), math.Float64frombits(e[1])
		x, k := math.Float64frombits(e[2]), math.Float64frombits(e[3])
		if py >= ylo && py < yhi && px < x+(py-ylo)*k {
			cross |= 1 << (i / 4)
		}
	}
	c := b[1+4*u:]
	for n := uint32(hdr); n > 0; n-- {
		h, mask := c[0], c[1]
		nt := int(uint32(h>>32) & 0x7fffffff)
		in := uint64(bits.OnesCount64(cross&mask)) ^ h>>63
		for _, t := range c[2 : 2+nt] {
			if py >= math.Float64frombits(t) {
				in ^= 1
			}
		}
		if in&1 != 0 {
			return int(uint32(h)), true
		}
		c = c[2+nt:]
	}
	return -1, false
}

// locateOwn scans a cell list in the own-edges layout (see appendCell).
func locateOwn(b []uint64, n uint32, px, py float64) (int, bool) {
	for ; n > 0; n-- {
		h, ne := b[0], int(b[1])
		nt := int(uint32(h>>32) & 0x7fffffff)
		in := h>>63 != 0
		b = b[2:]
		for _, t := range b[:nt] {
			if py >= math.Float64frombits(t) {
				in = !in
			}
		}
		es := b[nt : nt+4*ne]
		b = b[nt+4*ne:]
		for i := 0; i+3 < len(es); i += 4 {
			ylo, yhi := math.Float64frombits(es[i]), math.Float64frombits(es[i+1])
			x, k := math.Float64frombits(es[i+2]), math.Float64frombits(es[i+3])
			if py >= ylo && py < yhi && px < x+(py-ylo)*k {
				in = !in
			}
		}
		if in {
			return int(uint32(h)), true
		}
	}
	return -1, false
}

// Nearest returns the item containing p, with distance 0, or else the item
// whose boundary is closest to p within maxMeters. Distances are measured in
// a local equirectangular projection at p's latitude (earth radius
// EarthRadiusMeters), which is accurate to well under 0.1 % over the
// hundreds of metres this is meant for. Ties go to the lowest index. Only
// cells within range are searched; Nearest does not allocate.
func (ix *Index) Nearest(p orb.Point, maxMeters float64) (item int, meters float64, ok bool) {
	if it, found := ix.Locate(p); found {
		return it, 0, true
	}
	px, py := p[0], p[1]
	if !finitePoint(p) || !(maxMeters >= 0) || len(ix.pieces) == 0 {
		return -1, 0, false
	}
	my := EarthRadiusMeters * math.Pi / 180 // metres per degree of latitude
	mx := my * math.Cos(py*math.Pi/180)     // metres per degree of longitude here
	dy := maxMeters / my
	dx := math.Inf(1)
	if mx > 1e-9 {
		dx = maxMeters / mx
	}
	if px+dx < ix.minX || px-dx > ix.maxX || py+dy < ix.minY || py-dy > ix.maxY {
		return -1, 0, false
	}
	// Clamp before converting: int(±Inf) is not defined.
	cx0, cx1 := ix.cellX(max(px-dx, ix.minX)), ix.cellX(min(px+dx, ix.maxX))
	cy0, cy1 := ix.cellY(max(py-dy, ix.minY)), ix.cellY(min(py+dy, ix.maxY))

	best, bestD := -1, maxMeters
	// A piece usually appears in several neighbouring cells; remember the
	// ones already measured. If this fills up, duplicates are only re-measured.
	var seen [64]int32
	nSeen := 0
	for cy := cy0; cy <= cy1; cy++ {
		for cx := cx0; cx <= cx1; cx++ {
			c := cy*ix.nx + cx
			// p is outside every item, so its nearest boundary point lies in
			// a cell the boundary passes through; those are all listed here.
			for _, v := range ix.nearPieces[ix.nearStart[c]:ix.nearStart[c+1]] {
				if slices.Contains(seen[:nSeen], v) {
					continue
				}
				if nSeen < len(seen) {
					seen[nSeen] = v
					nSeen++
				}
				pc := &ix.pieces[v]
				item := int(pc.item)
				// Distance to the piece's bounding box is a lower bound.
				bx := max(pc.minX-px, 0, px-pc.maxX) * mx
				by := max(pc.minY-py, 0, py-pc.maxY) * my
				if lb := math.Hypot(bx, by); lb > bestD || (lb == bestD && best >= 0 && item > best) {
					continue
				}
				d := ix.pieceDistance(pc, px, py, mx, my)
				if d < bestD || (d == bestD && (best < 0 || item < best)) {
					best, bestD = item, d
				}
			}
		}
	}
	if best < 0 {
		return -1, 0, false
	}
	return best, bestD, true
}

// pieceDistance returns the distance in metres from (px, py) to the nearest
// edge of the piece, using mx, my metres per degree.
func (ix *Index) pieceDistance(pc *piece, px, py, mx, my float64) float64 {
	best := math.Inf(1)
	for r := pc.ring0; r < pc.ring1; r++ {
		vs := ix.verts[ix.ringStart[r]:ix.ringStart[r+1]]
		for i := range vs {
			a, b := vs[i], vs[(i+1)%len(vs)]
			best = min(best, segmentDistance((a[0]-px)*mx, (a[1]-py)*my, (b[0]-px)*mx, (b[1]-py)*my))
		}
	}
	return best
}

// segmentDistance returns the distance from the origin to segment ab.
func segmentDistance(ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	l2 := dx*dx + dy*dy
	t := 0.0
	if l2 > 0 {
		t = min(max(-(ax*dx+ay*dy)/l2, 0), 1)
	}
	return math.Hypot(ax+t*dx, ay+t*dy)
}

// InteriorPoint returns a point strictly inside the largest polygon of mp
// (by area, holes subtracted), never on its boundary, for labels and for
// picking a representative point of a grid. Unlike the centroid it works for
// concave shapes. It intersects a horizontal line with all rings, choosing
// a height between vertex heights so the line meets no vertex, and returns
// the midpoint of the widest inside interval. It returns the zero point if
// mp has no polygon with area.
func InteriorPoint(mp orb.MultiPolygon) orb.Point {
	var poly orb.Polygon
	bestArea := 0.0
	for _, p := range mp {
		if len(p) == 0 || len(p[0]) < 3 {
			continue
		}
		a := math.Abs(ringArea2(p[0]))
		for _, h := range p[1:] {
			if len(h) >= 3 {
				a -= math.Abs(ringArea2(h))
			}
		}
		if a > bestArea {
			poly, bestArea = p, a
		}
	}
	if poly == nil {
		return orb.Point{}
	}

	var ys []float64
	for _, r := range poly {
		for _, v := range r {
			ys = append(ys, v[1])
		}
	}
	slices.Sort(ys)
	ys = slices.Compact(ys)
	if len(ys) < 2 {
		return orb.Point{}
	}
	// Candidate heights: midpoints between consecutive distinct vertex
	// heights, tried from the middle of the polygon outwards. None of them
	// passes through a vertex, so every crossing is a proper one.
	mid := (ys[0] + ys[len(ys)-1]) / 2
	k, _ := slices.BinarySearch(ys, mid)
	k = min(max(k, 1), len(ys)-1) // gap between ys[k-1] and ys[k] holds mid (or is nearest)
	var xs []float64
	for step := 0; step < 2*len(ys); step++ {
		g := k - step/2 // k, k+1, k-1, k+2, k-2, …
		if step%2 == 1 {
			g = k + (step+1)/2
		}
		if g < 1 || g >= len(ys) {
			continue
		}
		y := (ys[g-1] + ys[g]) / 2
		if y <= ys[g-1] || y >= ys[g] {
			continue // adjacent floats: no room for a line between them
		}
		xs = xs[:0]
		for _, r := range poly {
			for i := range r {
				a, b := r[i], r[(i+1)%len(r)]
				if (a[1] < y) != (b[1] < y) {
					xs = append(xs, a[0]+(y-a[1])*(b[0]-a[0])/(b[1]-a[1]))
				}
			}
		}
		slices.Sort(xs)
		// Crossings pair up into inside intervals (even-odd rule).
		bestW, lo, hi := 0.0, 0.0, 0.0
		for i := 0; i+1 < len(xs); i += 2 {
			if w := xs[i+1] - xs[i]; w > bestW {
				bestW, lo, hi = w, xs[i], xs[i+1]
			}
		}
		if x := lo + bestW/2; bestW > 0 && x > lo && x < hi {
			return orb.Point{x, y}
		}
	}
	return orb.Point{}
}
