// Package geo holds the geometry primitives of Whistle: conversion between the
// coordinate systems used in China, validation of imported region polygons and
// a fast point-location index that maps a position to the grid containing it.
//
// All geometry uses github.com/paulmach/orb: orb.Point is {lng, lat} in
// WGS-84 degrees unless a function says otherwise.
package geo

import (
	"fmt"
	"math"
	"strings"

	"github.com/paulmach/orb"
)

// CRS names a geographic coordinate system in which clients may send positions.
type CRS string

// Supported coordinate systems.
const (
	// WGS84 is the GPS datum used internally by Whistle.
	WGS84 CRS = "wgs84"
	// GCJ02 is the obfuscated datum mandated for published maps in China
	// (AMap/Gaode, Tencent, Apple Maps in China).
	GCJ02 CRS = "gcj02"
	// BD09 is Baidu's datum, a further offset of GCJ02.
	BD09 CRS = "bd09"
)

// ParseCRS parses a coordinate-system name case-insensitively. The empty
// string means WGS84. The hyphenated spellings used by map vendors' documents
// ("WGS-84", "GCJ-02", "BD-09") are accepted too.
func ParseCRS(s string) (CRS, error) {
	norm := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "-", "")
	switch norm {
	case "", string(WGS84):
		return WGS84, nil
	case string(GCJ02):
		return GCJ02, nil
	case string(BD09):
		return BD09, nil
	}
	return "", fmt.Errorf("geo: unknown coordinate system %q (want wgs84, gcj02 or bd09)", s)
}

// ToWGS84 converts p from coordinate system c to WGS-84. An unknown c is
// treated as WGS84 (p is returned unchanged); validate input with ParseCRS.
func ToWGS84(c CRS, p orb.Point) orb.Point {
	switch c {
	case GCJ02:
		return GCJ02ToWGS84(p)
	case BD09:
		return BD09ToWGS84(p)
	}
	return p
}

// FromWGS84 converts the WGS-84 point p to coordinate system c. An unknown c
// is treated as WGS84 (p is returned unchanged); validate input with ParseCRS.
func FromWGS84(c CRS, p orb.Point) orb.Point {
	switch c {
	case GCJ02:
		return WGS84ToGCJ02(p)
	case BD09:
		return WGS84ToBD09(p)
	}
	return p
}

// Parameters of the public GCJ-02 formula: the Krasovsky 1940 ellipsoid.
const (
	krasovskyA  = 6378245.0
	krasovskyEE = 0.00669342162296594323
	// bdXPi is the angular factor of Baidu's BD-09 rotation.
	bdXPi = math.Pi * 3000.0 / 180.0
)

// convergence limits for the iterative inverses. 1e-12 degrees is about
// 0.1 µm, far below the required sub-centimetre accuracy; the iteration is a
// contraction with a factor of roughly 1e-3, so it needs 3–4 steps.
const (
	inverseTolerance = 1e-12
	inverseMaxSteps  = 20
)

// OutOfChina reports whether p (lng, lat) lies outside the rough mainland
// China bounding box in which GCJ-02 applies its shift. The box is the one
// used by the public reference implementations; it is deliberately coarse.
func OutOfChina(p orb.Point) bool {
	lng, lat := p[0], p[1]
	return !(lng >= 72.004 && lng <= 137.8347 && lat >= 0.8293 && lat <= 55.8271)
}

// gcjDelta returns the GCJ-02 shift (dLng, dLat) in degrees at WGS-84 point (lng, lat).
func gcjDelta(lng, lat float64) (float64, float64) {
	x, y := lng-105.0, lat-35.0
	dLat := gcjTransformLat(x, y)
	dLng := gcjTransformLng(x, y)
	radLat := lat / 180.0 * math.Pi
	magic := math.Sin(radLat)
	magic = 1 - krasovskyEE*magic*magic
	sqrtMagic := math.Sqrt(magic)
	dLat = (dLat * 180.0) / ((krasovskyA * (1 - krasovskyEE)) / (magic * sqrtMagic) * math.Pi)
	dLng = (dLng * 180.0) / (krasovskyA / sqrtMagic * math.Cos(radLat) * math.Pi)
	return dLng, dLat
}

func gcjTransformLat(x, y float64) float64 {
	r := -100.0 + 2.0*x + 3.0*y + 0.2*y*y + 0.1*x*y + 0.2*math.Sqrt(math.Abs(x))
	r += (20.0*math.Sin(6.0*x*math.Pi) + 20.0*math.Sin(2.0*x*math.Pi)) * 2.0 / 3.0
	r += (20.0*math.Sin(y*math.Pi) + 40.0*math.Sin(y/3.0*math.Pi)) * 2.0 / 3.0
	r += (160.0*math.Sin(y/12.0*math.Pi) + 320*math.Sin(y*math.Pi/30.0)) * 2.0 / 3.0
	return r
}

func gcjTransformLng(x, y float64) float64 {
	r := 300.0 + x + 2.0*y + 0.1*x*x + 0.1*x*y + 0.1*math.Sqrt(math.Abs(x))
	r += (20.0*math.Sin(6.0*x*math.Pi) + 20.0*math.Sin(2.0*x*math.Pi)) * 2.0 / 3.0
	r += (20.0*math.Sin(x*math.Pi) + 40.0*math.Sin(x/3.0*math.Pi)) * 2.0 / 3.0
	r += (150.0*math.Sin(x/12.0*math.Pi) + 300.0*math.Sin(x/30.0*math.Pi)) * 2.0 / 3.0
	return r
}

// WGS84ToGCJ02 converts a WGS-84 point to GCJ-02. Points outside mainland
// China (see OutOfChina) are returned unchanged, as GCJ-02 does not shift them.
func WGS84ToGCJ02(p orb.Point) orb.Point {
	if OutOfChina(p) {
		return p
	}
	dLng, dLat := gcjDelta(p[0], p[1])
	return orb.Point{p[0] + dLng, p[1] + dLat}
}

// GCJ02ToWGS84 converts a GCJ-02 point to WGS-84. GCJ-02 has no closed-form
// inverse; this iterates the forward transform until it reproduces p to
// about 1e-12 degrees, so the result is accurate far below one centimetre
// (the common one-step approximation is off by up to about 6 m in China).
func GCJ02ToWGS84(p orb.Point) orb.Point {
	if OutOfChina(p) {
		return p
	}
	dLng, dLat := gcjDelta(p[0], p[1])
	w := orb.Point{p[0] - dLng, p[1] - dLat}
	for range inverseMaxSteps {
		g := WGS84ToGCJ02(w)
		eLng, eLat := g[0]-p[0], g[1]-p[1]
		w[0] -= eLng
		w[1] -= eLat
		if math.Abs(eLng) < inverseTolerance && math.Abs(eLat) < inverseTolerance {
			break
		}
	}
	return w
}

// GCJ02ToBD09 converts a GCJ-02 point to Baidu's BD-09.
func GCJ02ToBD09(p orb.Point) orb.Point {
	x, y := p[0], p[1]
	z := math.Sqrt(x*x+y*y) + 0.00002*math.Sin(y*bdXPi)
	theta := math.Atan2(y, x) + 0.000003*math.Cos(x*bdXPi)
	return orb.Point{z*math.Cos(theta) + 0.0065, z*math.Sin(theta) + 0.006}
}

// BD09ToGCJ02 converts a Baidu BD-09 point to GCJ-02. It starts from Baidu's
// published one-step inverse (off by up to about 2e-6 degrees, 20 cm) and
// refines it against GCJ02ToBD09 so that round trips are exact to about
// 1e-12 degrees.
func BD09ToGCJ02(p orb.Point) orb.Point {
	x, y := p[0]-0.0065, p[1]-0.006
	z := math.Sqrt(x*x+y*y) - 0.00002*math.Sin(y*bdXPi)
	theta := math.Atan2(y, x) - 0.000003*math.Cos(x*bdXPi)
	g := orb.Point{z * math.Cos(theta), z * math.Sin(theta)}
	for range inverseMaxSteps {
		b := GCJ02ToBD09(g)
		eLng, eLat := b[0]-p[0], b[1]-p[1]
		g[0] -= eLng
		g[1] -= eLat
		if math.Abs(eLng) < inverseTolerance && math.Abs(eLat) < inverseTolerance {
			break
		}
	}
	return g
}

// WGS84ToBD09 converts a WGS-84 point to Baidu's BD-09 (via GCJ-02).
func WGS84ToBD09(p orb.Point) orb.Point {
	return GCJ02ToBD09(WGS84ToGCJ02(p))
}

// BD09ToWGS84 converts a Baidu BD-09 point to WGS-84 (via GCJ-02).
func BD09ToWGS84(p orb.Point) orb.Point {
	return GCJ02ToWGS84(BD09ToGCJ02(p))
}
