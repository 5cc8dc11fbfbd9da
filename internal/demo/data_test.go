package demo

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

func TestDivisions(t *testing.T) {
	divs, err := Divisions()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	perStreet := map[string]int{}
	for _, d := range divs {
		counts[d.Level]++
		if d.Level == LevelCommunity {
			perStreet[d.ParentCode]++
		}
	}
	for level, want := range map[string]int{LevelDistrict: 1, LevelStreet: 10, LevelCommunity: 123} {
		if got := counts[level]; got != want {
			t.Errorf("%d %s rows, want %d", got, level, want)
		}
	}
	if got, want := divs[0], (Division{"330303", "龙湾区", LevelDistrict, "330300"}); got != want {
		t.Errorf("first row = %+v, want %+v", got, want)
	}
	// Spot checks against the source file, so a mangled copy is caught.
	for _, want := range []Division{
		{"330303001", "永中街道", LevelStreet, "330303"},
		{"330303015", "星海街道", LevelStreet, "330303"},
		{"330303001011", "万顺社区", LevelCommunity, "330303001"},
	} {
		if !slices.Contains(divs, want) {
			t.Errorf("divisions lack %+v", want)
		}
	}
	if got, want := perStreet["330303001"], 22; got != want {
		t.Errorf("永中街道 has %d communities, want %d", got, want)
	}
}

func TestParseDivisionsErrors(t *testing.T) {
	const header = "code,name,level,parent_code\n"
	tests := []struct {
		name, csv, want string // want: a fragment of the error
	}{
		{"empty", "", "header"},
		{"wrong header", "code,name,level\n", "header"},
		{"no rows", header, "no rows"},
		{"short row", header + "330303,龙湾区,district\n", "fields"},
		{"unknown level", header + "330303,龙湾区,county,330300\n", "unknown level"},
		{"duplicate", header + "330303,龙湾区,district,330300\n330303001,永中街道,street,330303\n330303001,永中街道,street,330303\n", "duplicate"},
		{"orphan street", header + "330303,龙湾区,district,330300\n330303001,永中街道,street,330304\n", "parent"},
		{"community under district", header + "330303,龙湾区,district,330300\n330303001011,万顺社区,community,330303\n", "parent"},
		{"empty name", header + "330303,,district,330300\n", "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseDivisions(strings.NewReader(tt.csv))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one mentioning %q", err, tt.want)
			}
		})
	}
}

// TestOutline checks that the cleaned outline is a valid simple polygon
// and differs from the stored one only by the dropped lobe: the same
// bounding box and, within 1e-4, the same area.
func TestOutline(t *testing.T) {
	outline, err := Outline()
	if err != nil {
		t.Fatal(err)
	}
	if len(outline) != 1 {
		t.Fatalf("outline has %d rings, want 1", len(outline))
	}
	if msg := ringProblem(outline[0]); msg != "" {
		t.Errorf("outline ring invalid: %s", msg)
	}
	raw, err := data.ReadFile("data/district.geojson")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := rawOutline(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(ring), 764; got != want {
		t.Errorf("stored outline has %d points, want %d", got, want)
	}
	if got, want := outline.Bound(), ring.Bound(); got != want {
		t.Errorf("outline bound = %v, want the stored %v", got, want)
	}
	got, want := planar.Area(outline), math.Abs(ringArea(ring))
	if d := want - got; d < 0 || d > 1e-4*want {
		t.Errorf("outline area = %v, want slightly less than the stored %v", got, want)
	}
	// About 294 km²: 1° of latitude is 111.2 km, of longitude 111.2 km ×
	// cos 27.9°.
	km2 := got * 111.2 * 111.2 * math.Cos(27.9*math.Pi/180)
	if km2 < 280 || km2 > 310 {
		t.Errorf("outline is %.0f km², want about 294", km2)
	}
	for _, p := range outline[0] {
		if p[0]*1024 != math.Round(p[0]*1024) || p[1]*1024 != math.Round(p[1]*1024) {
			t.Fatalf("outline vertex %v is not on the 1/1024° lattice", p)
		}
	}
}

func TestCleanRing(t *testing.T) {
	sq := []orb.Point{{0, 0}, {4, 0}, {4, 4}, {0, 4}}
	tests := []struct {
		name string
		in   []orb.Point
		want []orb.Point // open, counter-clockwise
	}{
		{"already clean", sq, sq},
		{"clockwise", []orb.Point{{0, 0}, {0, 4}, {4, 4}, {4, 0}}, []orb.Point{{0, 0}, {4, 0}, {4, 4}, {0, 4}}},
		{"repeats", []orb.Point{{0, 0}, {0, 0}, {4, 0}, {4, 4}, {4, 4}, {0, 4}}, sq},
		{"spike out and back", []orb.Point{{0, 0}, {4, 0}, {6, 0}, {4, 0}, {4, 4}, {0, 4}}, sq},
		// As in the outline near x = 123637/1024°: along the top edge the
		// ring steps back to 2, forward to 3, then on to 1.
		{"overlapping backtrack", []orb.Point{{0, 0}, {4, 0}, {4, 4}, {2, 4}, {3, 4}, {1, 4}, {0, 4}}, []orb.Point{{0, 0}, {4, 0}, {4, 4}, {3, 4}, {1, 4}, {0, 4}}},
		// A small loop pinched off at (4,4) is dropped.
		{"pinched lobe", []orb.Point{{0, 0}, {4, 0}, {4, 4}, {5, 4}, {5, 5}, {4, 4}, {0, 4}}, sq},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cleanRing(closeRing(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if msg := ringProblem(got); msg != "" {
				t.Errorf("cleaned ring invalid: %s", msg)
			}
			if want := closeRing(tt.want); !sameCycle(got, want) {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
	if _, err := cleanRing(closeRing([]orb.Point{{0, 0}, {1, 0}, {2, 0}})); err == nil {
		t.Error("cleanRing of a flat ring: got no error, want one")
	}
}

// sameCycle reports whether two closed rings list the same vertices in the
// same cyclic order, whatever the starting vertex.
func sameCycle(a, b orb.Ring) bool {
	x, y := a[:len(a)-1], b[:len(b)-1]
	if len(x) != len(y) {
		return false
	}
	for s := range y {
		if slices.Equal(x, append(slices.Clone(y[s:]), y[:s]...)) {
			return true
		}
	}
	return false
}
