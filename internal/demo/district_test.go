package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// district runs District(seed) or stops the test.
func district(t *testing.T, seed int64) []Node {
	t.Helper()
	nodes, err := District(seed)
	if err != nil {
		t.Fatalf("District(%d): %v", seed, err)
	}
	return nodes
}

// byLevel returns the nodes of one level, in order.
func byLevel(nodes []Node, level string) []Node {
	var out []Node
	for _, n := range nodes {
		if n.Level == level {
			out = append(out, n)
		}
	}
	return out
}

func TestDistrictCounts(t *testing.T) {
	nodes := district(t, 1)
	counts := map[string]int{}
	for _, n := range nodes {
		counts[n.Level]++
	}
	for _, tt := range []struct {
		level    string
		min, max int
	}{
		{LevelCity, 1, 1},
		{LevelDistrict, 1, 1},
		{LevelStreet, 10, 10},
		{LevelCommunity, 123, 123},
		{LevelGrid, 600, 123 * 7},
	} {
		if got := counts[tt.level]; got < tt.min || got > tt.max {
			t.Errorf("%d %s nodes, want %d..%d", got, tt.level, tt.min, tt.max)
		}
	}
	if got, want := len(nodes), counts[LevelCity]+counts[LevelDistrict]+counts[LevelStreet]+counts[LevelCommunity]+counts[LevelGrid]; got != want {
		t.Errorf("%d nodes, but only %d have a known level", got, want)
	}
	t.Logf("%d grids", counts[LevelGrid])
}

// TestDistrictTree checks codes, names and parent links: codes are unique,
// every parent exists one level up and comes earlier (tree order), the
// real divisions are all there with their real names, and grids are
// numbered 1..n per community with 4..7 grids each.
func TestDistrictTree(t *testing.T) {
	nodes := district(t, 1)
	divs, err := Divisions()
	if err != nil {
		t.Fatal(err)
	}
	parentLevel := map[string]string{
		LevelDistrict: LevelCity, LevelStreet: LevelDistrict,
		LevelCommunity: LevelStreet, LevelGrid: LevelCommunity,
	}
	seen := map[string]Node{}
	grids := map[string]int{} // community code → grids so far
	for i, n := range nodes {
		if _, dup := seen[n.Code]; dup {
			t.Errorf("node %d: duplicate code %s", i, n.Code)
		}
		if n.Level == LevelCity {
			if n.ParentCode != "" || n.Code != "330300" || n.Name != "温州市" {
				t.Errorf("city node is %s %s parent %q, want 330300 温州市 parent \"\"", n.Code, n.Name, n.ParentCode)
			}
		} else {
			p, ok := seen[n.ParentCode]
			switch {
			case !ok:
				t.Errorf("node %d %s: parent %q not listed before it", i, n.Code, n.ParentCode)
			case p.Level != parentLevel[n.Level]:
				t.Errorf("node %s (%s): parent %s is a %s, want a %s", n.Code, n.Level, p.Code, p.Level, parentLevel[n.Level])
			case n.Level == LevelGrid:
				grids[p.Code]++
				serial := grids[p.Code]
				if want := fmt.Sprintf("%s%03d", p.Code, serial); n.Code != want {
					t.Errorf("grid %d of %s has code %s, want %s", serial, p.Code, n.Code, want)
				}
				if want := fmt.Sprintf("%s第%d网格", p.Name, serial); n.Name != want {
					t.Errorf("grid %s has name %s, want %s", n.Code, n.Name, want)
				}
			}
		}
		seen[n.Code] = n
	}
	for _, d := range divs {
		n, ok := seen[d.Code]
		if !ok {
			t.Errorf("division %s %s missing from the tree", d.Code, d.Name)
			continue
		}
		if n.Name != d.Name || n.Level != d.Level || n.ParentCode != d.ParentCode {
			t.Errorf("node %+v does not match division %+v", n, d)
		}
	}
	for code, n := range grids {
		if n < MinGridsPerCommunity || n > MaxGridsPerCommunity {
			t.Errorf("community %s has %d grids, want %d..%d", code, n, MinGridsPerCommunity, MaxGridsPerCommunity)
		}
	}
	if got, want := len(grids), 123; got != want {
		t.Errorf("%d communities have grids, want %d", got, want)
	}
	if n, ok := seen["330303001011001"]; !ok || n.Name != "万顺社区第1网格" {
		t.Errorf("grid 330303001011001 = %+v, want 万顺社区第1网格", n)
	}
}

// TestDistrictValidity checks every ring of every node: closed, >= 4
// positions, no repeated consecutive points, counter-clockwise, simple.
func TestDistrictValidity(t *testing.T) {
	for _, n := range district(t, 1) {
		if msg := multiPolygonProblem(n.Geometry); msg != "" {
			t.Errorf("%s %s %s: %s", n.Level, n.Code, n.Name, msg)
		}
	}
}

// TestDistrictAreas checks that each level tiles its parent by area: the
// grids' areas add up to the outline's, and every node's area equals the
// sum of its children's, within a relative 1e-9.
func TestDistrictAreas(t *testing.T) {
	nodes := district(t, 1)
	outline, err := Outline()
	if err != nil {
		t.Fatal(err)
	}
	whole := planar.Area(outline)
	var grids float64
	for _, n := range byLevel(nodes, LevelGrid) {
		grids += planar.Area(n.Geometry)
	}
	if got, want := grids, whole; math.Abs(got-want) > 1e-9*want {
		t.Errorf("sum of grid areas = %.15g, want the outline's %.15g", got, want)
	}
	children := map[string]float64{}
	for _, n := range nodes {
		children[n.ParentCode] += planar.Area(n.Geometry)
	}
	for _, n := range nodes {
		if n.Level == LevelGrid {
			continue
		}
		if got, want := children[n.Code], planar.Area(n.Geometry); math.Abs(got-want) > 1e-9*want {
			t.Errorf("%s %s: children's areas sum to %.15g, want its own %.15g", n.Level, n.Code, got, want)
		}
	}
	if got, want := planar.Area(nodes[0].Geometry), whole; got != want {
		t.Errorf("city area = %v, want the outline's %v", got, want)
	}
}

// TestDistrictProportions checks that areas follow the weights roughly:
// a street's share of the district is near its share of the communities.
// Weights are jittered by ±10% and a cut may move its share by up to 12%
// to avoid a scattered part, on each of up to four levels of bisection,
// so the bound is loose; it still catches weights applied to the wrong
// street or ignored.
func TestDistrictProportions(t *testing.T) {
	nodes := district(t, 1)
	comms := map[string]int{}
	for _, n := range byLevel(nodes, LevelCommunity) {
		comms[n.ParentCode]++
	}
	whole := planar.Area(nodes[1].Geometry)
	for _, s := range byLevel(nodes, LevelStreet) {
		want := float64(comms[s.Code]) / 123
		got := planar.Area(s.Geometry) / whole
		if ratio := got / want; ratio < 0.6 || ratio > 1.6 {
			t.Errorf("street %s %s has %.3f of the area, want about %.3f (its share of communities)", s.Code, s.Name, got, want)
		}
	}
}

// TestDistrictTiling checks with points that the grids tile the outline
// with no gap and no overlap, and that the levels nest: every point of
// the outline is in exactly one grid, one community and one street, which
// are parent and child; every point outside is in none. It tries 20,000
// random points in the outline's bounding box and a 120×120 lattice, each
// against all nodes of a level, brute force.
func TestDistrictTiling(t *testing.T) {
	nodes := district(t, 1)
	outline, err := Outline()
	if err != nil {
		t.Fatal(err)
	}
	b := outline.Bound()
	var pts []orb.Point
	rng := rand.New(rand.NewPCG(20, 26))
	for range 20000 {
		pts = append(pts, orb.Point{
			b.Min[0] + rng.Float64()*(b.Max[0]-b.Min[0]),
			b.Min[1] + rng.Float64()*(b.Max[1]-b.Min[1]),
		})
	}
	// The lattice steps are not multiples of 1/1024°, so lattice points do
	// not line up with the outline's vertices.
	const side = 120
	for i := range side {
		for j := range side {
			pts = append(pts, orb.Point{
				b.Min[0] + (float64(i)+0.5)/side*(b.Max[0]-b.Min[0]),
				b.Min[1] + (float64(j)+0.5)/side*(b.Max[1]-b.Min[1]),
			})
		}
	}

	levels := []string{LevelGrid, LevelCommunity, LevelStreet}
	sets := make([][]Node, len(levels))
	for i, l := range levels {
		sets[i] = byLevel(nodes, l)
	}
	var inside, outside, skipped, failures int
	for _, p := range pts {
		in := planar.PolygonContains(outline, p)
		containing := make([][]Node, len(levels))
		ok := true
		for i, set := range sets {
			for _, n := range set {
				if planar.MultiPolygonContains(n.Geometry, p) {
					containing[i] = append(containing[i], n)
				}
			}
			want := 0
			if in {
				want = 1
			}
			ok = ok && len(containing[i]) == want
		}
		if ok && in {
			g, c, s := containing[0][0], containing[1][0], containing[2][0]
			ok = g.ParentCode == c.Code && c.ParentCode == s.Code
		}
		if !ok {
			// orb counts a point on an edge as inside, so a point on a
			// shared edge is in two nodes and a point on the outline is
			// "in" it but may miss the grids by rounding. Only such points,
			// within 1e-12° (0.1 µm) of an edge, are excused.
			var all []orb.MultiPolygon
			all = append(all, orb.MultiPolygon{outline})
			for _, set := range sets {
				for _, n := range set {
					all = append(all, n.Geometry)
				}
			}
			if nearBoundary(p, 1e-12, all...) {
				skipped++
				continue
			}
			failures++
			if failures <= 10 {
				var names []string
				for i, c := range containing {
					for _, n := range c {
						names = append(names, levels[i]+" "+n.Code)
					}
				}
				t.Errorf("point %v (inside outline: %v) is in [%s]", p, in, strings.Join(names, ", "))
			}
			continue
		}
		if in {
			inside++
		} else {
			outside++
		}
	}
	t.Logf("%d points inside, %d outside, %d skipped on an edge", inside, outside, skipped)
	if failures > 0 {
		t.Errorf("%d points not covered exactly once", failures)
	}
	// The outline fills about half its bounding box; a test that sampled
	// almost nothing inside or outside would prove little.
	if inside < len(pts)/4 || outside < len(pts)/10 {
		t.Errorf("only %d points inside and %d outside of %d, want a real sample of both", inside, outside, len(pts))
	}
	if skipped > len(pts)/1000 {
		t.Errorf("%d points skipped as on an edge, want almost none", skipped)
	}
}

func TestDistrictDeterminism(t *testing.T) {
	a, b := district(t, 1), district(t, 1)
	if d := firstDifference(a, b); d != "" {
		t.Errorf("District(1) twice differs: %s", d)
	}
	c := district(t, 2)
	if firstDifference(a, c) == "" {
		t.Error("District(2) is identical to District(1), want a different layout")
	}
}

// firstDifference describes the first difference between two trees,
// comparing coordinates bit for bit, or returns "" if they are identical.
func firstDifference(a, b []Node) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d nodes vs %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Code != y.Code || x.Name != y.Name || x.Level != y.Level || x.ParentCode != y.ParentCode {
			return fmt.Sprintf("node %d: %+v vs %+v", i, x, y)
		}
		if len(x.Geometry) != len(y.Geometry) {
			return fmt.Sprintf("node %s: %d polygons vs %d", x.Code, len(x.Geometry), len(y.Geometry))
		}
		for j := range x.Geometry {
			for k := range x.Geometry[j] {
				rx, ry := x.Geometry[j][k], y.Geometry[j][k]
				if len(rx) != len(ry) {
					return fmt.Sprintf("node %s ring %d/%d: %d points vs %d", x.Code, j, k, len(rx), len(ry))
				}
				for m := range rx {
					for d := range 2 {
						if math.Float64bits(rx[m][d]) != math.Float64bits(ry[m][d]) {
							return fmt.Sprintf("node %s point %d: %v vs %v", x.Code, m, rx[m], ry[m])
						}
					}
				}
			}
		}
	}
	return ""
}

func TestGridCounts(t *testing.T) {
	for _, tt := range []struct {
		name string
		n    int
	}{
		{"real district", 123},
		// With 100 communities even 6 each only reaches 600, so the
		// top-up must run for almost every seed.
		{"top-up needed", 100},
		{"cannot reach the floor", 50},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(20) {
				counts := gridCounts(rand.New(rand.NewPCG(seed, 0)), tt.n)
				total := 0
				for i, c := range counts {
					if c < MinGridsPerCommunity || c > MaxGridsPerCommunity {
						t.Fatalf("seed %d: community %d gets %d grids, want %d..%d", seed, i, c, MinGridsPerCommunity, MaxGridsPerCommunity)
					}
					total += c
				}
				if want := min(MinGrids, tt.n*MaxGridsPerCommunity); total < want {
					t.Errorf("seed %d: %d grids, want at least %d", seed, total, want)
				}
			}
		})
	}
}

func BenchmarkDistrict(b *testing.B) {
	for b.Loop() {
		if _, err := District(1); err != nil {
			b.Fatal(err)
		}
	}
}
