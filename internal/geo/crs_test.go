package geo

import (
	"fmt"
	"math"
	"testing"

	"github.com/paulmach/orb"
)

// Reference vectors. Only the numbers are taken from these projects:
//
//   - eviltransform: github.com/googollee/eviltransform, go/transform_test.go
//     (the same three pairs appear in its javascript/test.js): WGS-84 → GCJ-02
//     for Shanghai, Shenzhen and Beijing, printed to full precision.
//   - coordtransform: github.com/wandergis/coordtransform, README.md, the
//     documented results of each conversion applied to (116.404, 39.915).
//   - gcoord: github.com/hujiulong/gcoord, test/unit/crs/GCJ02.spec.ts,
//     BD09.spec.ts and transform.spec.ts (conversions of (123, 45), 8 decimals),
//     and test/fixtures/china-cities.json (per-city WGS84/GCJ02/BD09 triples
//     with 7 decimals; we use 温州市 鹿城区, Wenzhou).
//
// Points are {lng, lat}.
var (
	refShanghaiWGS = orb.Point{121.5272106, 31.1774276}
	refShanghaiGCJ = orb.Point{121.531541859215, 31.17530398364597}
	refShenzhenWGS = orb.Point{113.912316, 22.543847}
	refShenzhenGCJ = orb.Point{113.9171764808363, 22.540796131694766}
	refBeijingWGS  = orb.Point{116.377817, 39.911954}
	refBeijingGCJ  = orb.Point{116.38404722455657, 39.91334545536069}
	refWenzhouWGS  = orb.Point{120.6953127, 27.9971173}
	refWenzhouGCJ  = orb.Point{120.6993688, 27.9938322}
	refWenzhouBD   = orb.Point{120.7058483, 28.0000072}
)

func pointDiff(a, b orb.Point) float64 {
	return max(math.Abs(a[0]-b[0]), math.Abs(a[1]-b[1]))
}

func TestParseCRS(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    CRS
		wantErr bool
	}{
		{name: "empty means wgs84", in: "", want: WGS84},
		{name: "wgs84", in: "wgs84", want: WGS84},
		{name: "upper case", in: "WGS84", want: WGS84},
		{name: "gcj02", in: "gcj02", want: GCJ02},
		{name: "mixed case", in: "Gcj02", want: GCJ02},
		{name: "hyphenated", in: "GCJ-02", want: GCJ02},
		{name: "bd09", in: "bd09", want: BD09},
		{name: "bd09 with spaces", in: " BD-09 ", want: BD09},
		{name: "unknown", in: "mars", wantErr: true},
		{name: "baidu mercator is not supported", in: "bd09mc", wantErr: true},
		{name: "epsg code is not supported", in: "EPSG:4326", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCRS(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseCRS(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("ParseCRS(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestWGS84ToGCJ02Reference(t *testing.T) {
	tests := []struct {
		name   string
		in     orb.Point
		want   orb.Point
		tolDeg float64
	}{
		{name: "eviltransform shanghai", in: refShanghaiWGS, want: refShanghaiGCJ, tolDeg: 1e-9},
		{name: "eviltransform shenzhen", in: refShenzhenWGS, want: refShenzhenGCJ, tolDeg: 1e-9},
		{name: "eviltransform beijing", in: refBeijingWGS, want: refBeijingGCJ, tolDeg: 1e-9},
		{name: "coordtransform readme", in: orb.Point{116.404, 39.915}, want: orb.Point{116.41024449916938, 39.91640428150164}, tolDeg: 1e-9},
		{name: "gcoord 123,45", in: orb.Point{123, 45}, want: orb.Point{123.00607541, 45.00197815}, tolDeg: 1e-8},
		// The city fixture comes from a map service rather than the formula;
		// gcoord itself only checks it to 4 decimals. 1e-5° is about 1 m.
		{name: "gcoord fixture wenzhou", in: refWenzhouWGS, want: refWenzhouGCJ, tolDeg: 1e-5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := WGS84ToGCJ02(tt.in)
			if d := pointDiff(got, tt.want); d > tt.tolDeg {
				t.Errorf("WGS84ToGCJ02(%v) = %.12f, %.12f, want %.12f, %.12f (off by %.3g°, tolerance %.0g°)",
					tt.in, got[0], got[1], tt.want[0], tt.want[1], d, tt.tolDeg)
			}
		})
	}
}

func TestGCJ02ToWGS84Reference(t *testing.T) {
	tests := []struct {
		name   string
		in     orb.Point
		want   orb.Point
		tolDeg float64
	}{
		// The forward vectors read backwards: an exact inverse must land on
		// the original WGS-84 input (1e-8° ≈ 1 mm).
		{name: "eviltransform shanghai", in: refShanghaiGCJ, want: refShanghaiWGS, tolDeg: 1e-8},
		{name: "eviltransform shenzhen", in: refShenzhenGCJ, want: refShenzhenWGS, tolDeg: 1e-8},
		{name: "eviltransform beijing", in: refBeijingGCJ, want: refBeijingWGS, tolDeg: 1e-8},
		// gcoord's own inverse stops iterating early; it agrees to 5 decimals.
		{name: "gcoord 123,45", in: orb.Point{123, 45}, want: orb.Point{122.99395597, 44.99804071}, tolDeg: 1e-6},
		// coordtransform documents the one-step approximation, which is off
		// by 5e-7° here (up to 5e-5° elsewhere); ours is exact, so allow for that.
		{name: "coordtransform readme (one-step)", in: orb.Point{116.404, 39.915}, want: orb.Point{116.39775550083061, 39.91359571849836}, tolDeg: 2e-6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := GCJ02ToWGS84(tt.in)
			if d := pointDiff(got, tt.want); d > tt.tolDeg {
				t.Errorf("GCJ02ToWGS84(%v) = %.12f, %.12f, want %.12f, %.12f (off by %.3g°, tolerance %.0g°)",
					tt.in, got[0], got[1], tt.want[0], tt.want[1], d, tt.tolDeg)
			}
		})
	}
}

func TestGCJ02ToBD09Reference(t *testing.T) {
	tests := []struct {
		name   string
		in     orb.Point
		want   orb.Point
		tolDeg float64
	}{
		{name: "coordtransform readme", in: orb.Point{116.404, 39.915}, want: orb.Point{116.41036949371029, 39.92133699351021}, tolDeg: 1e-9},
		{name: "gcoord 123,45", in: orb.Point{123, 45}, want: orb.Point{123.00636499, 45.00636899}, tolDeg: 1e-8},
		{name: "gcoord fixture wenzhou", in: refWenzhouGCJ, want: refWenzhouBD, tolDeg: 1e-7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := GCJ02ToBD09(tt.in)
			if d := pointDiff(got, tt.want); d > tt.tolDeg {
				t.Errorf("GCJ02ToBD09(%v) = %.12f, %.12f, want %.12f, %.12f (off by %.3g°, tolerance %.0g°)",
					tt.in, got[0], got[1], tt.want[0], tt.want[1], d, tt.tolDeg)
			}
		})
	}
}

func TestBD09ToGCJ02Reference(t *testing.T) {
	// Both references use Baidu's one-step inverse, which is itself off by
	// up to about 2e-6°; ours is refined to be exact (see the round trips).
	tests := []struct {
		name   string
		in     orb.Point
		want   orb.Point
		tolDeg float64
	}{
		{name: "coordtransform readme", in: orb.Point{116.404, 39.915}, want: orb.Point{116.39762729119315, 39.90865673957631}, tolDeg: 1e-6},
		{name: "gcoord 123,45", in: orb.Point{123, 45}, want: orb.Point{122.99363304, 44.99365430}, tolDeg: 1e-6},
		{name: "gcoord fixture wenzhou", in: refWenzhouBD, want: refWenzhouGCJ, tolDeg: 1e-6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BD09ToGCJ02(tt.in)
			if d := pointDiff(got, tt.want); d > tt.tolDeg {
				t.Errorf("BD09ToGCJ02(%v) = %.12f, %.12f, want %.12f, %.12f (off by %.3g°, tolerance %.0g°)",
					tt.in, got[0], got[1], tt.want[0], tt.want[1], d, tt.tolDeg)
			}
		})
	}
}

func TestWGS84BD09Reference(t *testing.T) {
	tests := []struct {
		name   string
		conv   func(orb.Point) orb.Point
		in     orb.Point
		want   orb.Point
		tolDeg float64
	}{
		// gcoord BD09.spec.ts; its inverse chain is approximate (see above).
		{name: "gcoord bd09 to wgs84 123,45", conv: BD09ToWGS84, in: orb.Point{123, 45}, want: orb.Point{122.98762210, 44.99171540}, tolDeg: 2e-6},
		{name: "gcoord fixture wenzhou wgs84 to bd09", conv: WGS84ToBD09, in: refWenzhouWGS, want: refWenzhouBD, tolDeg: 1e-5},
		{name: "gcoord fixture wenzhou bd09 to wgs84", conv: BD09ToWGS84, in: refWenzhouBD, want: refWenzhouWGS, tolDeg: 1e-5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.conv(tt.in)
			if d := pointDiff(got, tt.want); d > tt.tolDeg {
				t.Errorf("got %.12f, %.12f, want %.12f, %.12f (off by %.3g°, tolerance %.0g°)",
					got[0], got[1], tt.want[0], tt.want[1], d, tt.tolDeg)
			}
		})
	}
}

// roundTripPoints are the reference inputs plus a spread of points over
// mainland China, including Wenzhou and points near the GCJ-02 box edges.
func roundTripPoints() map[string]orb.Point {
	pts := map[string]orb.Point{
		"shanghai":         refShanghaiWGS,
		"shenzhen":         refShenzhenWGS,
		"beijing":          refBeijingWGS,
		"wenzhou":          {120.75, 27.95},
		"wenzhou fixture":  refWenzhouWGS,
		"urumqi":           {87.6168, 43.8256},
		"lhasa":            {91.1721, 29.6525},
		"harbin":           {126.535, 45.8038},
		"sanya":            {109.512, 18.2528},
		"near west edge":   {72.1, 39.0},
		"near north edge":  {122.0, 55.7},
		"near south edge":  {112.0, 1.0},
		"near east corner": {137.8, 55.8},
	}
	for lng := 75.0; lng <= 135; lng += 15 {
		for lat := 5.0; lat <= 55; lat += 10 {
			pts[fmt.Sprintf("lattice %g,%g", lng, lat)] = orb.Point{lng, lat}
		}
	}
	return pts
}

func TestRoundTrips(t *testing.T) {
	const tol = 1e-7 // degrees, about 1 cm
	for name, p := range roundTripPoints() {
		t.Run(name, func(t *testing.T) {
			if got := GCJ02ToWGS84(WGS84ToGCJ02(p)); pointDiff(got, p) > tol {
				t.Errorf("WGS→GCJ→WGS: got %.12f, %.12f, want %.12f, %.12f", got[0], got[1], p[0], p[1])
			}
			if got := WGS84ToGCJ02(GCJ02ToWGS84(p)); pointDiff(got, p) > tol {
				t.Errorf("GCJ→WGS→GCJ: got %.12f, %.12f, want %.12f, %.12f", got[0], got[1], p[0], p[1])
			}
			if got := BD09ToGCJ02(GCJ02ToBD09(p)); pointDiff(got, p) > tol {
				t.Errorf("GCJ→BD→GCJ: got %.12f, %.12f, want %.12f, %.12f", got[0], got[1], p[0], p[1])
			}
			if got := BD09ToWGS84(WGS84ToBD09(p)); pointDiff(got, p) > tol {
				t.Errorf("WGS→BD→WGS: got %.12f, %.12f, want %.12f, %.12f", got[0], got[1], p[0], p[1])
			}
			// The conversion must actually move points inside China, or the
			// round trips above would pass trivially.
			if pointDiff(WGS84ToGCJ02(p), p) < 1e-4 {
				t.Errorf("WGS84ToGCJ02(%v) moved the point by less than 1e-4°", p)
			}
		})
	}
}

func TestOutsideChinaUnchanged(t *testing.T) {
	tests := []struct {
		name string
		p    orb.Point
	}{
		{name: "paris", p: orb.Point{2.3522, 48.8566}},
		{name: "new york", p: orb.Point{-74.006, 40.7128}},
		{name: "tokyo is east of the box", p: orb.Point{139.6917, 35.6895}},
		{name: "singapore is south of the box", p: orb.Point{103.8198, 1.3521 - 0.6}},
		{name: "north of the box", p: orb.Point{120, 56}},
		{name: "gcoord out of range 183,45", p: orb.Point{183, 45}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !OutOfChina(tt.p) {
				t.Fatalf("OutOfChina(%v) = false, want true", tt.p)
			}
			if got := WGS84ToGCJ02(tt.p); got != tt.p {
				t.Errorf("WGS84ToGCJ02(%v) = %v, want unchanged", tt.p, got)
			}
			if got := GCJ02ToWGS84(tt.p); got != tt.p {
				t.Errorf("GCJ02ToWGS84(%v) = %v, want unchanged", tt.p, got)
			}
			// BD-09 is Baidu's own offset on top of GCJ-02 and applies everywhere.
			if got, want := WGS84ToBD09(tt.p), GCJ02ToBD09(tt.p); got != want {
				t.Errorf("WGS84ToBD09(%v) = %v, want %v (BD offset only)", tt.p, got, want)
			}
		})
	}
}

func TestToFromWGS84(t *testing.T) {
	p := orb.Point{120.75, 27.95} // Wenzhou
	tests := []struct {
		name     string
		crs      CRS
		wantTo   orb.Point
		wantFrom orb.Point
	}{
		{name: "wgs84 is identity", crs: WGS84, wantTo: p, wantFrom: p},
		{name: "gcj02", crs: GCJ02, wantTo: GCJ02ToWGS84(p), wantFrom: WGS84ToGCJ02(p)},
		{name: "bd09", crs: BD09, wantTo: BD09ToWGS84(p), wantFrom: WGS84ToBD09(p)},
		{name: "unknown is identity", crs: CRS("mars"), wantTo: p, wantFrom: p},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ToWGS84(tt.crs, p); got != tt.wantTo {
				t.Errorf("ToWGS84(%q, %v) = %v, want %v", tt.crs, p, got, tt.wantTo)
			}
			if got := FromWGS84(tt.crs, p); got != tt.wantFrom {
				t.Errorf("FromWGS84(%q, %v) = %v, want %v", tt.crs, p, got, tt.wantFrom)
			}
		})
	}
	if ToWGS84(GCJ02, p) == p || ToWGS84(BD09, p) == ToWGS84(GCJ02, p) {
		t.Errorf("conversions of %v are not distinct: gcj %v, bd %v", p, ToWGS84(GCJ02, p), ToWGS84(BD09, p))
	}
}
