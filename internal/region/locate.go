package region

import (
	"sort"

	"github.com/paulmach/orb"

	"whistle/internal/geo"
)

// GapTolerance is how far outside every grid a point may be and still be
// assigned to the nearest one: boundaries drawn by hand leave slivers.
const GapTolerance = 50.0 // metres

// Location is the answer to "where is this point": the grid and its ancestry.
type Location struct {
	Grid Ref   `json:"grid"`
	Path []Ref `json:"path"` // root first, the grid last
	// Snapped is the distance in metres to the grid when the point fell in a
	// gap between grids; 0 when the point is inside.
	Snapped float64 `json:"snapped_m,omitempty"`
}

// Community and Street pick levels out of the path ("" when absent).
func (l Location) At(level Level) Ref {
	for _, r := range l.Path {
		if r.Level == level {
			return r
		}
	}
	return Ref{}
}

// Locator answers point-location queries over the grids. It is immutable;
// the Store swaps in a new one after an import.
type Locator struct {
	idx    *geo.Index
	grids  []Location
	byCode map[string]int
}

// NewLocator indexes the grid-level nodes among nodes. Grids are ordered by
// code so that overlapping data resolves to the lowest code, every time.
func NewLocator(nodes []Node) *Locator {
	byCode := make(map[string]*Node, len(nodes))
	for i := range nodes {
		byCode[nodes[i].Code] = &nodes[i]
	}
	var grids []*Node
	for i := range nodes {
		if nodes[i].Level == Grid && nodes[i].Geometry != nil {
			grids = append(grids, &nodes[i])
		}
	}
	sort.Slice(grids, func(i, j int) bool { return grids[i].Code < grids[j].Code })
	polys := make([]orb.MultiPolygon, len(grids))
	locs := make([]Location, len(grids))
	for i, g := range grids {
		polys[i] = g.MultiPolygon()
		var path []Ref
		for _, c := range PathCodes(g.Path) {
			if n, ok := byCode[c]; ok {
				path = append(path, n.Ref())
			}
		}
		locs[i] = Location{Grid: g.Ref(), Path: path}
	}
	gridIdx := make(map[string]int, len(locs))
	for i, l := range locs {
		gridIdx[l.Grid.Code] = i
	}
	return &Locator{idx: geo.NewIndex(polys), grids: locs, byCode: gridIdx}
}

// Grid returns the location of a grid by its code, for naming the regions
// of stored records without a query.
func (l *Locator) Grid(code string) (Location, bool) {
	i, ok := l.byCode[code]
	if !ok {
		return Location{}, false
	}
	return l.grids[i], true
}

// Len is the number of grids indexed.
func (l *Locator) Len() int { return len(l.grids) }

// Locate returns the grid containing p, or the nearest grid within
// GapTolerance; ok is false outside the jurisdiction.
func (l *Locator) Locate(p orb.Point) (Location, bool) {
	if len(l.grids) == 0 {
		return Location{}, false
	}
	if i, ok := l.idx.Locate(p); ok {
		return l.grids[i], true
	}
	if i, m, ok := l.idx.Nearest(p, GapTolerance); ok {
		loc := l.grids[i]
		loc.Snapped = m
		return loc, true
	}
	return Location{}, false
}

// LocateIndex is the allocation-free form of Locate used by benchmarks and
// hot paths: the grid's position, or -1.
func (l *Locator) LocateIndex(p orb.Point) int {
	if i, ok := l.idx.Locate(p); ok {
		return i
	}
	return -1
}
