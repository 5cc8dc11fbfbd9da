// Package places finds places by name: the geocoder behind the map's search
// box and GET /api/v1/places/search. The offline Gazetteer is built from
// Sources (the region tree, the admin-maintained landmarks and roads; the
// house and building records will be one more Source) and matches names,
// pinyin and initials; Tianditu asks 天地图's search API where configured.
package places

import (
	"context"

	"github.com/paulmach/orb"
)

// Kind is what a place is.
type Kind string

// The kinds of place.
const (
	Street    Kind = "street"
	Community Kind = "community"
	Grid      Kind = "grid"
	Landmark  Kind = "landmark"
	Road      Kind = "road"
	// Address is a result of an online geocoder.
	Address Kind = "address"
)

// Place is one search result.
type Place struct {
	Name string
	Kind Kind
	// Ref names the record: a region code, "landmark:ID", or the online
	// provider's identifier.
	Ref string
	// Parent names what the place lies in, street first (永中街道 › 万顺社区),
	// which tells same-named communities apart.
	Parent []string
	// Point is WGS-84 (天地图's CGCS2000 is taken as WGS-84).
	Point orb.Point
	// Aliases are other names it is found by.
	Aliases []string
	// Source is "gazetteer" or the online provider's name.
	Source string
}

// Geocoder finds places by what a resident types. near, when not nil,
// ranks closer places first among equally good matches.
type Geocoder interface {
	Search(ctx context.Context, q string, near *orb.Point) ([]Place, error)
}
