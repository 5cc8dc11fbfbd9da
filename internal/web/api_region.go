package web

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"strconv"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"whistle/internal/errs"
	"whistle/internal/geo"
	"whistle/internal/region"
)

type latLng struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

type regionJSON struct {
	Code          string       `json:"code"`
	Name          string       `json:"name"`
	Level         region.Level `json:"level"`
	Parent        *region.Ref  `json:"parent"`
	Path          []region.Ref `json:"path"`
	InteriorPoint latLng       `json:"interior_point"`
	Bounds        [4]float64   `json:"bbox"`
	Illustrative  bool         `json:"illustrative"`
}

// parseLatLng reads lat, lng and crs query parameters and converts the
// point to WGS-84, with a message per bad field.
func parseLatLng(get func(string) string) (orb.Point, error) {
	e := errs.E(errs.Invalid, "error.invalid")
	num := func(name string, lo, hi float64) float64 {
		v := get(name)
		if v == "" {
			e.Field(name, "field.required")
			return 0
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			e.Field(name, "field.number")
			return 0
		}
		if f < lo || f > hi {
			e.Field(name, "field.range", lo, hi)
		}
		return f
	}
	lat := num("lat", -90, 90)
	lng := num("lng", -180, 180)
	c, err := geo.ParseCRS(get("crs"))
	if err != nil {
		e.Field("crs", "field.unknown_crs", get("crs"))
	}
	if len(e.Fields) > 0 {
		return orb.Point{}, e
	}
	return geo.ToWGS84(c, orb.Point{lng, lat}), nil
}

// regionAPI serves the region tree: geography is public, importing and
// exporting it an admin's job.
type regionAPI struct {
	Regions *region.Store
}

func (s *regionAPI) apiLocate(w http.ResponseWriter, r *http.Request) error {
	p, err := parseLatLng(r.URL.Query().Get)
	if err != nil {
		return err
	}
	loc, err := s.Regions.Locate(p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"grid": loc.Grid, "path": loc.Path, "snapped_m": loc.Snapped,
		"point": latLng{Lat: p[1], Lng: p[0]}})
	return nil
}

func (s *regionAPI) apiRegion(w http.ResponseWriter, r *http.Request) error {
	n, err := s.Regions.Get(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	path, err := s.Regions.Ancestry(r.Context(), n.Path)
	if err != nil {
		return err
	}
	j := regionJSON{Code: n.Code, Name: n.Name, Level: n.Level, Path: path,
		InteriorPoint: latLng{Lat: n.Interior[1], Lng: n.Interior[0]}, Illustrative: n.Illustrative,
		Bounds: [4]float64{n.Bound.Min[0], n.Bound.Min[1], n.Bound.Max[0], n.Bound.Max[1]}}
	if len(path) > 1 {
		p := path[len(path)-2]
		j.Parent = &p
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

func (s *regionAPI) apiRegionChildren(w http.ResponseWriter, r *http.Request) error {
	kids, err := s.Regions.Children(r.Context(), r.PathValue("code"), false)
	if err != nil {
		return err
	}
	out := make([]map[string]any, 0, len(kids))
	for _, k := range kids {
		out = append(out, map[string]any{"code": k.Code, "name": k.Name, "level": k.Level,
			"interior_point": latLng{Lat: k.Interior[1], Lng: k.Interior[0]}, "illustrative": k.Illustrative})
	}
	writeJSON(w, http.StatusOK, map[string]any{"children": out})
	return nil
}

// apiRegionGeoJSON returns the children of a region as a FeatureCollection
// (what a map of that region draws), or the region itself with ?self=1 or
// when it has no children.
func (s *regionAPI) apiRegionGeoJSON(w http.ResponseWriter, r *http.Request) error {
	code := r.PathValue("code")
	var nodes []region.Node
	if r.URL.Query().Get("self") != "1" {
		kids, err := s.Regions.Children(r.Context(), code, true)
		if err != nil {
			return err
		}
		nodes = kids
	}
	if len(nodes) == 0 {
		n, err := s.Regions.Get(r.Context(), code)
		if err != nil {
			return err
		}
		nodes = []region.Node{*n}
	}
	fc := geojson.NewFeatureCollection()
	for _, n := range nodes {
		f := geojson.NewFeature(n.Geometry)
		f.ID = n.Code
		f.Properties["code"] = n.Code
		f.Properties["name"] = n.Name
		f.Properties["level"] = string(n.Level)
		f.Properties["illustrative"] = n.Illustrative
		fc.Append(f)
	}
	w.Header().Set("Content-Type", "application/geo+json; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	return json.NewEncoder(w).Encode(fc)
}

func (s *regionAPI) apiRegionExport(w http.ResponseWriter, r *http.Request) error {
	var buf bytes.Buffer
	if err := s.Regions.Export(r.Context(), &buf); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/geo+json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="regions.geojson"`)
	_, err := w.Write(buf.Bytes())
	return err
}

// apiRegionImport validates a GeoJSON upload and, unless dry_run=1 asks
// for a preview only, imports it whole.
func (s *regionAPI) apiRegionImport(w http.ResponseWriter, r *http.Request) error {
	feats, issues, err := region.ParseFeatures(r.Body)
	if err != nil {
		return err
	}
	if len(issues) == 0 {
		err = s.Regions.Validate(r.Context(), feats)
	} else {
		err = &region.ImportError{Issues: issues}
	}
	if ie, ok := err.(*region.ImportError); ok {
		if len(issues) > 0 {
			// Report the parse problems and the rest together.
			if more, ok := s.Regions.Validate(r.Context(), feats).(*region.ImportError); ok {
				ie.Issues = append(ie.Issues, more.Issues...)
			}
		}
		return ie.AsErr()
	}
	if err != nil {
		return err
	}
	counts := map[region.Level]int{}
	for _, f := range feats {
		counts[f.Level]++
	}
	if r.URL.Query().Get("dry_run") == "1" {
		writeJSON(w, http.StatusOK, map[string]any{"valid": true, "features": len(feats), "levels": counts})
		return nil
	}
	res, err := s.Regions.Import(r.Context(), actorOf(r), feats)
	if ie, ok := err.(*region.ImportError); ok {
		return ie.AsErr()
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"created": res.Created, "updated": res.Updated, "levels": counts})
	return nil
}
