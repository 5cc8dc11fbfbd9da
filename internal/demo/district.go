package demo

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/paulmach/orb"
)

// City of the demo district. It is not in divisions.csv, which starts at
// the district, so its name is fixed here.
const (
	// CityCode is the statistical division code of 温州市.
	CityCode = "330300"
	// CityName is the name of the city node.
	CityName = "温州市"
)

// Grid generation bounds.
const (
	// MinGridsPerCommunity and MaxGridsPerCommunity bound the number of
	// grids a community is split into.
	MinGridsPerCommunity = 4
	// MaxGridsPerCommunity is the upper bound; see MinGridsPerCommunity.
	MaxGridsPerCommunity = 7
	// MinGrids is the least total number of grids District generates, the
	// scale of a real district's grid system.
	MinGrids = 600
)

// weightJitter is the relative spread applied to partition weights, so
// that seeds differ in area as well as in cut choices while areas stay
// roughly proportional to the intended weights.
const weightJitter = 0.1

// Node is one division of the demo tree: the city, the district, a street,
// a community or a grid, with its generated boundary in longitude/latitude
// degrees. Rings are closed and counter-clockwise; a MultiPolygon has
// several polygons only where the district's concave outline left a part
// in several pieces.
type Node struct {
	Code, Name, Level, ParentCode string
	Geometry                      orb.MultiPolygon
}

// District generates the demo division tree of 龙湾区 from the real outline
// and codes: the city node 温州市 (whose geometry is just the district, the
// only part of the city this deployment covers), the district, its 10
// streets, its 123 communities and, for each community, 4 to 7 grids
// (at least MinGrids in all). Streets, communities and grids are made up
// by Partition: streets partition the district with areas weighted by
// their numbers of communities, communities partition their street, grids
// their community, so each level tiles its parent exactly. Grid codes are
// the community code plus a 3-digit serial, grid names the community name
// plus 第N网格.
//
// Nodes come in tree order (depth first, parents before children). The
// same seed always gives the identical tree, bit for bit; another seed
// gives another layout. The boundaries are illustrative (示意): no
// official ones below the district are published.
func District(seed int64) ([]Node, error) {
	divs, err := Divisions()
	if err != nil {
		return nil, err
	}
	outline, err := Outline()
	if err != nil {
		return nil, err
	}
	// The stream constant only separates this use of the seed from any
	// other PCG seeded with the same number.
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6c6f6e6777616e))

	if len(divs) == 0 || divs[0].Level != LevelDistrict || divs[0].Code != DistrictCode {
		return nil, fmt.Errorf("demo: divisions do not start with district %s", DistrictCode)
	}
	district := divs[0]
	if district.ParentCode != CityCode {
		return nil, fmt.Errorf("demo: district parent is %s, want %s", district.ParentCode, CityCode)
	}
	var streets []Division
	children := map[string][]Division{}
	for _, d := range divs[1:] {
		switch d.Level {
		case LevelStreet:
			streets = append(streets, d)
		case LevelCommunity:
			children[d.ParentCode] = append(children[d.ParentCode], d)
		}
	}
	var communities []Division
	streetWeights := make([]float64, len(streets))
	for i, s := range streets {
		if len(children[s.Code]) == 0 {
			return nil, fmt.Errorf("demo: street %s has no communities", s.Code)
		}
		streetWeights[i] = jitter(rng, float64(len(children[s.Code])))
		communities = append(communities, children[s.Code]...)
	}
	grids := gridCounts(rng, len(communities))

	whole := orb.MultiPolygon{outline}
	nodes := []Node{
		{Code: CityCode, Name: CityName, Level: LevelCity, Geometry: whole.Clone()},
		{Code: district.Code, Name: district.Name, Level: LevelDistrict, ParentCode: CityCode, Geometry: whole.Clone()},
	}
	streetShapes, err := Partition(whole, streetWeights, rng)
	if err != nil {
		return nil, fmt.Errorf("demo: streets: %w", err)
	}
	ci := 0 // index into communities and grids, which follow street order
	for i, s := range streets {
		nodes = append(nodes, Node{Code: s.Code, Name: s.Name, Level: LevelStreet, ParentCode: s.ParentCode, Geometry: streetShapes[i]})
		comms := children[s.Code]
		weights := make([]float64, len(comms))
		for j := range comms {
			weights[j] = jitter(rng, 1)
		}
		commShapes, err := Partition(streetShapes[i], weights, rng)
		if err != nil {
			return nil, fmt.Errorf("demo: communities of %s: %w", s.Code, err)
		}
		for j, c := range comms {
			nodes = append(nodes, Node{Code: c.Code, Name: c.Name, Level: LevelCommunity, ParentCode: c.ParentCode, Geometry: commShapes[j]})
			weights := make([]float64, grids[ci])
			for g := range weights {
				weights[g] = jitter(rng, 1)
			}
			ci++
			gridShapes, err := Partition(commShapes[j], weights, rng)
			if err != nil {
				return nil, fmt.Errorf("demo: grids of %s: %w", c.Code, err)
			}
			for g, shape := range gridShapes {
				serial := g + 1
				nodes = append(nodes, Node{
					Code:       fmt.Sprintf("%s%03d", c.Code, serial),
					Name:       c.Name + "第" + strconv.Itoa(serial) + "网格",
					Level:      LevelGrid,
					ParentCode: c.Code,
					Geometry:   shape,
				})
			}
		}
	}
	return nodes, nil
}

// jitter returns w scaled by a random factor within ±weightJitter.
func jitter(rng *rand.Rand, w float64) float64 {
	// The conversion forbids a fused multiply-add, whose rounding would
	// differ between platforms.
	return float64(w * (1 + float64(weightJitter*(2*rng.Float64()-1))))
}

// gridCounts draws how many grids each of n communities gets, uniformly in
// [MinGridsPerCommunity, MaxGridsPerCommunity], then adds grids to random
// communities not yet at the maximum until there are at least MinGrids.
// The expected total (5.5 per community) is already above MinGrids for the
// 123 real communities, so the top-up rarely runs but makes the floor a
// guarantee rather than a likelihood.
func gridCounts(rng *rand.Rand, n int) []int {
	counts := make([]int, n)
	total := 0
	for i := range counts {
		counts[i] = MinGridsPerCommunity + rng.IntN(MaxGridsPerCommunity-MinGridsPerCommunity+1)
		total += counts[i]
	}
	for total < MinGrids && total < n*MaxGridsPerCommunity {
		i := rng.IntN(n)
		if counts[i] < MaxGridsPerCommunity {
			counts[i]++
			total++
		}
	}
	return counts
}
