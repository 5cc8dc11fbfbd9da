// Package region owns the district's geography: the tree of city, district,
// street, community and grid with their boundaries, GeoJSON import and export,
// and point location ("which grid contains this point").
package region

import (
	"strings"

	"github.com/paulmach/orb"
)

// Level is a tier of the region tree.
type Level string

// The levels, top to bottom.
const (
	City      Level = "city"
	District  Level = "district"
	Street    Level = "street"
	Community Level = "community"
	Grid      Level = "grid"
)

// Levels lists the levels from top to bottom.
func Levels() []Level { return []Level{City, District, Street, Community, Grid} }

// Rank is the depth of a level (city 0 … grid 4), or -1 if unknown.
func (l Level) Rank() int {
	for i, x := range Levels() {
		if x == l {
			return i
		}
	}
	return -1
}

// Valid reports whether l is a known level.
func (l Level) Valid() bool { return l.Rank() >= 0 }

// Ref is the short form of a region used in other records and in the API.
type Ref struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Level Level  `json:"level"`
}

// Node is a region with its boundary.
type Node struct {
	Code         string
	ParentCode   string
	Name         string
	Level        Level
	Path         string // "/330300/330303/…/", this node's code last
	Geometry     orb.Geometry
	Bound        orb.Bound
	Interior     orb.Point
	Illustrative bool // generated boundaries (示意), flagged in the UI
}

// Ref returns the node's short form.
func (n *Node) Ref() Ref { return Ref{Code: n.Code, Name: n.Name, Level: n.Level} }

// MultiPolygon returns the boundary as a MultiPolygon.
func (n *Node) MultiPolygon() orb.MultiPolygon { return AsMulti(n.Geometry) }

// AsMulti converts a Polygon or MultiPolygon to a MultiPolygon.
func AsMulti(g orb.Geometry) orb.MultiPolygon {
	switch v := g.(type) {
	case orb.Polygon:
		return orb.MultiPolygon{v}
	case orb.MultiPolygon:
		return v
	}
	return nil
}

// PathCodes splits a materialised path into its codes, root first.
func PathCodes(path string) []string {
	return strings.FieldsFunc(path, func(r rune) bool { return r == '/' })
}

// ChildPath is the path of a child with the given code under parentPath
// ("" for a root).
func ChildPath(parentPath, code string) string {
	if parentPath == "" {
		return "/" + code + "/"
	}
	return parentPath + code + "/"
}
