package region_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
	"whistle/internal/i18n"
	"whistle/internal/region"
)

var t0 = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)

// square returns a closed counter-clockwise square ring.
func square(x0, y0, x1, y1 float64) orb.Ring {
	return orb.Ring{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}
}

func geom(g orb.Geometry) string {
	b, err := json.Marshal(map[string]any{"type": g.GeoJSONType(), "coordinates": g})
	if err != nil {
		panic(err)
	}
	return string(b)
}

type feat struct {
	code, name, level, parent string
	g                         string // raw GeoJSON geometry
}

func collection(fs ...feat) string {
	var parts []string
	for _, f := range fs {
		parts = append(parts, fmt.Sprintf(`{"type":"Feature","properties":{"code":%q,"name":%q,"level":%q,"parent_code":%q},"geometry":%s}`,
			f.code, f.name, f.level, f.parent, f.g))
	}
	return `{"type":"FeatureCollection","features":[` + strings.Join(parts, ",") + `]}`
}

// tree is a small district: D (0..4 × 0..2) with street S, communities C1
// (left half) and C2 (right half, with a hole), and grids:
//
//	G1 = C1's left square, G2 = C1's right square (sharing the edge x=1),
//	G3 = C2 minus the hole, and G4 = an island inside the hole (also in C2),
//	G5 = a MultiPolygon of two squares in C2's top strip... kept simple:
//	C2 = 2..4 × 0..2 with a hole 2.5..3.5 × 0.5..1.5; G3 = C2 with that hole;
//	G4 = the island 2.8..3.2 × 0.8..1.2 inside the hole.
//
// Coordinates are offset to lie near Wenzhou.
func tree() []feat {
	ox, oy := 120.0, 27.0
	sq := func(x0, y0, x1, y1 float64) orb.Ring { return square(ox+x0*0.01, oy+y0*0.01, ox+x1*0.01, oy+y1*0.01) }
	hole := sq(2.5, 0.5, 3.5, 1.5)
	hole.Reverse()
	return []feat{
		{"330300", "市", "city", "", geom(orb.Polygon{sq(0, 0, 4, 2)})},
		{"330303", "区", "district", "330300", geom(orb.Polygon{sq(0, 0, 4, 2)})},
		{"330303001", "街道", "street", "330303", geom(orb.Polygon{sq(0, 0, 4, 2)})},
		{"330303001001", "社区一", "community", "330303001", geom(orb.Polygon{sq(0, 0, 2, 2)})},
		{"330303001002", "社区二", "community", "330303001", geom(orb.Polygon{sq(2, 0, 4, 2)})},
		{"330303001001001", "网格一", "grid", "330303001001", geom(orb.Polygon{sq(0, 0, 1, 2)})},
		{"330303001001002", "网格二", "grid", "330303001001", geom(orb.Polygon{sq(1, 0, 2, 2)})},
		{"330303001002001", "网格三", "grid", "330303001002", geom(orb.Polygon{sq(2, 0, 4, 2), hole})},
		{"330303001002002", "网格四", "grid", "330303001002", geom(orb.MultiPolygon{{sq(2.8, 0.8, 3.2, 1.2)}})},
	}
}

func mustImport(t *testing.T, s *region.Store, doc string) region.ImportResult {
	t.Helper()
	feats, issues, err := region.ParseFeatures(strings.NewReader(doc))
	if err != nil || len(issues) > 0 {
		t.Fatalf("parse: %v %v", err, issues)
	}
	res, err := s.Import(context.Background(), audit.System("test"), feats)
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return res
}

func countRegions(t *testing.T, d *db.DB) int {
	t.Helper()
	var n int
	if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM regions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestImportValidation(t *testing.T) {
	ox, oy := 120.0, 27.0
	good := tree()
	// An asymmetric bow-tie: its signed area is not zero, so only the
	// self-intersection check can catch it.
	bowtie := `{"type":"Polygon","coordinates":[[[120,27],[120.02,27.01],[120.02,27],[120,27.015],[120,27]]]}`
	unclosed := `{"type":"Polygon","coordinates":[[[120,27],[120.01,27],[120.01,27.01],[120,27.01]]]}`
	outOfRange := geom(orb.Polygon{square(ox, oy, 200, oy+0.01)})
	cases := []struct {
		name    string
		mutate  func([]feat) []feat
		feature int    // which feature the message must name
		want    string // a word the English message must contain
	}{
		{"unknown parent", func(f []feat) []feat { f[5].parent = "330303001999"; return f }, 6, "unknown parent"},
		{"duplicate code", func(f []feat) []feat { f[6].code = f[5].code; return f }, 7, "duplicate code"},
		{"self-intersecting ring", func(f []feat) []feat { f[5].g = bowtie; return f }, 6, "self"},
		{"unclosed ring", func(f []feat) []feat { f[5].g = unclosed; return f }, 6, "closed"},
		{"coordinates out of range", func(f []feat) []feat { f[5].g = outOfRange; return f }, 6, "range"},
		{"wrong level under parent", func(f []feat) []feat { f[5].level = "community"; return f }, 6, "parent"},
		{"bad level", func(f []feat) []feat { f[5].level = "village"; return f }, 6, "level"},
		{"point geometry", func(f []feat) []feat { f[5].g = `{"type":"Point","coordinates":[120,27]}`; return f }, 6, "not Point"},
		{"missing name", func(f []feat) []feat { f[5].name = ""; return f }, 6, "name"},
		{"parent cycle", func(f []feat) []feat {
			f[0].parent = "330303001001001"
			return f
		}, 1, "cycle"},
	}
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		s := region.NewStore(d)
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				fs := tc.mutate(append([]feat(nil), good...))
				feats, issues, err := region.ParseFeatures(strings.NewReader(collection(fs...)))
				if err != nil {
					t.Fatal(err)
				}
				if len(issues) == 0 {
					_, err = s.Import(context.Background(), audit.System("test"), feats)
				} else {
					err = &region.ImportError{Issues: issues}
				}
				ie, ok := err.(*region.ImportError)
				if !ok {
					t.Fatalf("err = %v, want an ImportError", err)
				}
				found := false
				for _, is := range ie.Issues {
					msg := cat.T(i18n.EN, is.Msg.Key, is.Msg.Args...)
					if is.Feature == tc.feature && strings.Contains(strings.ToLower(msg), strings.ToLower(tc.want)) {
						found = true
					}
				}
				if !found {
					t.Errorf("issues %v do not name feature #%d with %q", ie.Issues, tc.feature, tc.want)
				}
				if e := ie.AsErr(); e.Code != errs.Invalid || len(e.Fields) == 0 {
					t.Errorf("AsErr = %v, want invalid with fields", e)
				}
				if n := countRegions(t, d); n != 0 {
					t.Errorf("%d regions written by a refused import, want 0", n)
				}
			})
		}
	})
}

func TestImportNotCollection(t *testing.T) {
	for _, doc := range []string{`[]`, `{"type":"Feature"}`, `not json`} {
		if _, _, err := region.ParseFeatures(strings.NewReader(doc)); errs.CodeOf(err) != errs.Invalid {
			t.Errorf("ParseFeatures(%q) = %v, want invalid", doc, err)
		}
	}
}

func TestImportExportRoundTrip(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		s := region.NewStore(d)
		doc := collection(tree()...)
		res := mustImport(t, s, doc)
		if res.Created != 9 {
			t.Errorf("created %d, want 9", res.Created)
		}
		var out bytes.Buffer
		if err := s.Export(context.Background(), &out); err != nil {
			t.Fatal(err)
		}
		a, _, err := region.ParseFeatures(strings.NewReader(doc))
		if err != nil {
			t.Fatal(err)
		}
		b, issues, err := region.ParseFeatures(bytes.NewReader(out.Bytes()))
		if err != nil || len(issues) > 0 {
			t.Fatalf("re-parse export: %v %v", err, issues)
		}
		if len(a) != len(b) {
			t.Fatalf("export has %d features, want %d", len(b), len(a))
		}
		byCode := map[string]region.Feature{}
		for _, f := range b {
			byCode[f.Code] = f
		}
		for _, f := range a {
			g, ok := byCode[f.Code]
			if !ok {
				t.Errorf("%s missing from export", f.Code)
				continue
			}
			if g.Name != f.Name || g.Level != f.Level || g.ParentCode != f.ParentCode || !orb.Equal(g.Geometry, f.Geometry) {
				t.Errorf("%s: exported %+v, want %+v", f.Code, g, f)
			}
		}
		// Re-importing the export updates in place and changes nothing.
		res = mustImport(t, s, out.String())
		if res.Created != 0 || res.Updated != 9 {
			t.Errorf("re-import: %+v, want 0 created, 9 updated", res)
		}
		var again bytes.Buffer
		if err := s.Export(context.Background(), &again); err != nil {
			t.Fatal(err)
		}
		if again.String() != out.String() {
			t.Error("export after re-import differs from the first export")
		}
		// Subtree and children use the materialised path.
		sub, err := s.Subtree(context.Background(), "330303001002", false)
		if err != nil {
			t.Fatal(err)
		}
		if len(sub) != 3 {
			t.Errorf("subtree of 社区二 has %d nodes, want 3", len(sub))
		}
		kids, err := s.Children(context.Background(), "330303001", false)
		if err != nil || len(kids) != 2 {
			t.Errorf("children of 街道 = %d, %v; want 2", len(kids), err)
		}
		if _, err := s.Get(context.Background(), "999"); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("Get(999) = %v, want not_found", err)
		}
		entries, _ := audit.List(context.Background(), d, audit.Filter{Action: "region.import"})
		if len(entries) != 2 {
			t.Errorf("audit has %d region.import entries, want 2", len(entries))
		}
	})
}

func TestLocate(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		s := region.NewStore(d)
		mustImport(t, s, collection(tree()...))
		at := func(x, y float64) orb.Point { return orb.Point{120.0 + x*0.01, 27.0 + y*0.01} }
		cases := []struct {
			name string
			p    orb.Point
			want string // grid code, or "" for outside
		}{
			{"inside grid one", at(0.5, 1), "330303001001001"},
			{"inside grid two", at(1.5, 1), "330303001001002"},
			{"in the hole's ring, not the hole", at(2.2, 1), "330303001002001"},
			{"inside the island in the hole", at(3, 1), "330303001002002"},
			{"in the hole, 100 m from any grid", at(2.6, 1), ""},
			{"in the hole, 20 m from its edge", at(2.52, 1), "330303001002001"},
			{"far outside", at(10, 10), ""},
			// 0.01° of longitude is about 992 m at 27°N.
			{"30 m outside the west edge", at(-0.03, 1), "330303001001001"},
			{"80 m outside the west edge", at(-0.08, 1), ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				loc, err := s.Locate(tc.p)
				if tc.want == "" {
					if e, ok := errs.As(err); !ok || e.Reason != "outside_jurisdiction" {
						t.Errorf("Locate(%v) = %+v, %v; want outside_jurisdiction", tc.p, loc.Grid, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Locate(%v): %v", tc.p, err)
				}
				if loc.Grid.Code != tc.want {
					t.Errorf("Locate(%v) = %s, want %s", tc.p, loc.Grid.Code, tc.want)
				}
				if got := loc.At(region.Street).Code; got != "330303001" {
					t.Errorf("street = %q, want 330303001", got)
				}
			})
		}
		// A point exactly on the shared edge x=1 goes to exactly one grid, the
		// same one every time.
		edge := at(1, 1)
		first, err := s.Locate(edge)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 10; i++ {
			again, _ := s.Locate(edge)
			if again.Grid.Code != first.Grid.Code {
				t.Fatalf("shared-edge point moved from %s to %s", first.Grid.Code, again.Grid.Code)
			}
		}
	})
}
