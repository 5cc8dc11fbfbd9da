package region_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/paulmach/orb"

	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/region"
)

// FuzzParseFeatures feeds arbitrary bytes to the GeoJSON region import and
// validates what parses against a stored district, as `region import
// --dry-run` and POST /api/v1/regions/import do. A refusal must be an
// *errs.Error or an *region.ImportError (a 4xx on the wire), never a panic
// or another error.
func FuzzParseFeatures(f *testing.F) {
	seeds := []string{
		`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"330303001","name":"街道","level":"street","parent_code":"330303"},
			"geometry":{"type":"Polygon","coordinates":[[[120,27],[120.01,27],[120.01,27.01],[120,27.01],[120,27]]]}}]}`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"330303001","name":"街道","level":"street","parent_code":"330303"},
			"geometry":{"type":"MultiPolygon","coordinates":[[[[120,27],[120.01,27],[120.01,27.01],[120,27]]],[[[120.02,27],[120.03,27],[120.03,27.01],[120.02,27]]]]}}]}`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"330303001","level":"street","parent_code":"330303"},
			"geometry":{"type":"Polygon","coordinates":[[[120,27],[120.01,27.01],[120.01,27],[120,27.01],[120,27]]]}}]}`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"x","level":"planet"},"geometry":{"type":"Point","coordinates":[1,2]}}]}`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"330303001"},"geometry":null},{"type":"Feature"},1,"x"]}`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"330303001","name":"a","level":"street","parent_code":"330303001"},
			"geometry":{"type":"Polygon","coordinates":[[[1e308,-1e308],[0,0],[1,1],[1e308,-1e308]]]}}]}`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"330303","name":"区","level":"district"},
			"geometry":{"type":"Polygon","coordinates":[[[120,27],[120.02,27],[120.02,27.01],[120,27.01],[120,27]],[[120.005,27.002],[120.006,27.002],[120.006,27.003],[120.005,27.002]]]}}]}`,
		`{"type":"FeatureCollection","features":[]}`,
		`{"type":"Feature"}`, `[]`, `null`, ``, `{"type":"FeatureCollection","features":{"a":1}}`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"330303001","name":"s","level":"street","parent_code":"330303"},"geometry":{"type":"Polygon","coordinates":[]}}]}`,
		`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"330303001","name":"s","level":"street","parent_code":"330303"},"geometry":{"type":"GeometryCollection","geometries":[]}}]}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	ctx := context.Background()
	d, err := db.Open(ctx, db.Config{DataDir: f.TempDir()}, clock.Real{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx); err != nil {
		f.Fatal(err)
	}
	store := region.NewStore(d)
	district := []region.Feature{{Index: 1, Code: "330303", Name: "区", Level: region.District,
		Geometry: orb.Polygon{{{120, 27}, {120.02, 27}, {120.02, 27.01}, {120, 27.01}, {120, 27}}}}}
	if _, err := store.Import(ctx, audit.System("fuzz"), district); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		feats, issues, err := region.ParseFeatures(bytes.NewReader(data))
		if err != nil {
			if _, ok := errs.As(err); !ok {
				t.Fatalf("a refusal that is not an errs.Error: %T %v", err, err)
			}
			return
		}
		if len(issues) > 0 {
			ie := &region.ImportError{Issues: issues}
			_ = ie.Error()
			_ = ie.AsErr()
			return
		}
		err = store.Validate(ctx, feats)
		var ie *region.ImportError
		if err != nil && !errors.As(err, &ie) {
			if _, ok := errs.As(err); !ok {
				t.Fatalf("validation failed with %T %v", err, err)
			}
		}
		if ie != nil {
			_ = ie.AsErr()
		}
	})
}
