package places

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"

	"whistle/internal/namematch"
	"whistle/internal/region"
)

// Source is a list of places the Gazetteer searches. The house and building
// records join the search as one more Source.
type Source interface {
	// Places lists the source's places. A place without Parent gets the
	// street and community its point lies in.
	Places(ctx context.Context) ([]Place, error)
	// Stamp changes whenever Places would answer differently on this
	// replica; it must be comparable.
	Stamp() any
}

// MaxResults bounds one search's answer.
const MaxResults = 10

// refreshEvery bounds how stale the index may be when another replica
// changed a source (its Stamp only sees this replica's writes).
const refreshEvery = time.Minute

// Gazetteer is the offline geocoder: names, pinyin and initials of every
// place of its sources, indexed in memory and rebuilt when a source changes.
type Gazetteer struct {
	regions *region.Store
	sources []Source
	now     func() time.Time

	mu     sync.Mutex
	idx    []entry
	stamps []any
	built  time.Time
}

type entry struct {
	p    Place
	keys []namematch.Key
}

// NewGazetteer returns a gazetteer over sources; regions locates the places
// that do not say where they lie. now is the clock (time.Now when nil).
func NewGazetteer(regions *region.Store, now func() time.Time, sources ...Source) *Gazetteer {
	if now == nil {
		now = time.Now
	}
	return &Gazetteer{regions: regions, sources: sources, now: now}
}

// index returns the current index, rebuilding it when a source's stamp
// changed or it is older than refreshEvery.
func (g *Gazetteer) index(ctx context.Context) ([]entry, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	stamps := make([]any, len(g.sources))
	fresh := g.idx != nil && g.now().Sub(g.built) < refreshEvery
	for i, s := range g.sources {
		stamps[i] = s.Stamp()
		if fresh && stamps[i] != g.stamps[i] {
			fresh = false
		}
	}
	if fresh {
		return g.idx, nil
	}
	var idx []entry
	for _, s := range g.sources {
		ps, err := s.Places(ctx)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if p.Parent == nil && g.regions != nil {
				p.Parent = parentsAt(g.regions, p.Point)
			}
			keys := []namematch.Key{namematch.New(p.Name)}
			for _, a := range p.Aliases {
				keys = append(keys, namematch.New(a))
			}
			idx = append(idx, entry{p: p, keys: keys})
		}
	}
	if idx == nil {
		idx = []entry{}
	}
	g.idx, g.stamps, g.built = idx, stamps, g.now()
	return idx, nil
}

// parentsAt names the street and community a point lies in.
func parentsAt(regions *region.Store, p orb.Point) []string {
	loc, ok := regions.Locator().Locate(p)
	if !ok {
		return []string{}
	}
	out := []string{}
	for _, lv := range []region.Level{region.Street, region.Community} {
		if r := loc.At(lv); r.Name != "" {
			out = append(out, r.Name)
		}
	}
	return out
}

// Search returns up to MaxResults places matching q, best first: exact
// names, then prefixes, substrings, pinyin and initials; among equals the
// nearest to near, then the shortest name.
func (g *Gazetteer) Search(ctx context.Context, q string, near *orb.Point) ([]Place, error) {
	idx, err := g.index(ctx)
	if err != nil {
		return nil, err
	}
	nq := namematch.Normalize(q)
	type hit struct {
		e     *entry
		score int
		dist  float64
	}
	var hits []hit
	for i := range idx {
		e := &idx[i]
		s := namematch.Best(nq, e.keys...)
		if s == 0 {
			continue
		}
		h := hit{e: e, score: s}
		if near != nil {
			h.dist = geo.Distance(*near, e.p.Point)
		}
		hits = append(hits, h)
	}
	sort.SliceStable(hits, func(i, j int) bool {
		a, b := hits[i], hits[j]
		if a.score != b.score {
			return a.score > b.score
		}
		if a.dist != b.dist {
			return a.dist < b.dist
		}
		if len(a.e.p.Name) != len(b.e.p.Name) {
			return len(a.e.p.Name) < len(b.e.p.Name)
		}
		return a.e.p.Ref < b.e.p.Ref
	})
	out := make([]Place, 0, min(len(hits), MaxResults))
	for _, h := range hits[:min(len(hits), MaxResults)] {
		out = append(out, h.e.p)
	}
	return out, nil
}

// RegionSource lists the streets, communities and grids of the region tree,
// each with the names of its ancestors below the district.
type RegionSource struct {
	Regions *region.Store
}

// Stamp is the region store's current point-location index, which it
// replaces after every import.
func (s RegionSource) Stamp() any { return s.Regions.Locator() }

// Places lists the regions from the street down.
func (s RegionSource) Places(ctx context.Context) ([]Place, error) {
	nodes, err := s.Regions.All(ctx, false)
	if err != nil {
		return nil, err
	}
	byCode := make(map[string]*region.Node, len(nodes))
	for i := range nodes {
		byCode[nodes[i].Code] = &nodes[i]
	}
	var out []Place
	for _, n := range nodes {
		var kind Kind
		switch n.Level {
		case region.Street:
			kind = Street
		case region.Community:
			kind = Community
		case region.Grid:
			kind = Grid
		default:
			continue
		}
		parent := []string{}
		for _, c := range region.PathCodes(n.Path) {
			a := byCode[c]
			if a == nil || a.Code == n.Code || a.Level.Rank() < region.Street.Rank() {
				continue
			}
			parent = append(parent, a.Name)
		}
		out = append(out, Place{Name: n.Name, Kind: kind, Ref: n.Code, Parent: parent, Point: n.Interior, Source: "gazetteer"})
	}
	return out, nil
}
