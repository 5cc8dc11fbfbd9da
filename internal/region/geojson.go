package region

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"whistle/internal/errs"
	"whistle/internal/geo"
)

// Feature is one region as read from, or written to, GeoJSON.
type Feature struct {
	Index        int // position in the file, from 1, for error messages
	Code         string
	Name         string
	Level        Level
	ParentCode   string
	Geometry     orb.Geometry
	Illustrative bool
}

// Issue is one validation problem with a feature.
type Issue struct {
	Feature int    // 1-based position in the file
	Code    string // the feature's code, if it had one
	Msg     errs.Msg
}

// ImportError lists every problem found; nothing was written.
type ImportError struct{ Issues []Issue }

// Error implements error.
func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "region import: %d problems", len(e.Issues))
	for i, is := range e.Issues {
		if i == 20 {
			b.WriteString("; …")
			break
		}
		fmt.Fprintf(&b, "; feature #%d (%s): %s %v", is.Feature, is.Code, is.Msg.Key, is.Msg.Args)
	}
	return b.String()
}

// AsErr converts the issues to an errs.Error whose fields are "feature[N]".
func (e *ImportError) AsErr() *errs.Error {
	out := errs.E(errs.Invalid, "region.import_invalid", len(e.Issues)).Wrap(e)
	for _, is := range e.Issues {
		key := fmt.Sprintf("feature[%d]", is.Feature)
		if _, dup := out.Fields[key]; dup {
			continue // keep the first problem of each feature
		}
		out.Field(key, is.Msg.Key, is.Msg.Args...)
	}
	return out
}

// MaxImportBytes bounds the size of an import file.
const MaxImportBytes = 64 << 20

// ParseFeatures reads a GeoJSON FeatureCollection. Structural problems of
// single features become Issues (so that every problem is reported at once);
// a file that is not a FeatureCollection at all is an errs.Invalid error.
func ParseFeatures(r io.Reader) ([]Feature, []Issue, error) {
	body, err := io.ReadAll(io.LimitReader(r, MaxImportBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if len(body) > MaxImportBytes {
		return nil, nil, errs.E(errs.TooLarge, "error.too_large", "64 MiB")
	}
	var raw struct {
		Type     string            `json:"type"`
		Features []json.RawMessage `json:"features"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, nil, errs.E(errs.Invalid, "region.import_not_collection", err.Error())
	}
	if raw.Type != "FeatureCollection" {
		return nil, nil, errs.E(errs.Invalid, "region.import_not_collection", fmt.Sprintf("type %q", raw.Type))
	}
	var feats []Feature
	var issues []Issue
	for i, fr := range raw.Features {
		n := i + 1
		var f struct {
			Type       string          `json:"type"`
			Geometry   json.RawMessage `json:"geometry"`
			Properties map[string]any  `json:"properties"`
		}
		if err := json.Unmarshal(fr, &f); err != nil {
			issues = append(issues, Issue{Feature: n, Msg: errs.Msg{Key: "region.err.geometry", Args: []any{err.Error()}}})
			continue
		}
		ft := Feature{Index: n}
		ft.Code, _ = f.Properties["code"].(string)
		ft.Name, _ = f.Properties["name"].(string)
		lv, _ := f.Properties["level"].(string)
		ft.Level = Level(lv)
		ft.ParentCode, _ = f.Properties["parent_code"].(string)
		ft.Illustrative, _ = f.Properties["illustrative"].(bool)
		if len(f.Geometry) == 0 || bytes.Equal(bytes.TrimSpace(f.Geometry), []byte("null")) {
			issues = append(issues, Issue{Feature: n, Code: ft.Code, Msg: errs.Msg{Key: "region.err.no_geometry"}})
			feats = append(feats, ft)
			continue
		}
		g, err := geojson.UnmarshalGeometry(f.Geometry)
		if err != nil {
			issues = append(issues, Issue{Feature: n, Code: ft.Code, Msg: errs.Msg{Key: "region.err.geometry", Args: []any{err.Error()}}})
			feats = append(feats, ft)
			continue
		}
		ft.Geometry = g.Geometry()
		feats = append(feats, ft)
	}
	return feats, issues, nil
}

// validateFeatures checks everything that does not need the database: fields,
// duplicates and geometry. Parent links are checked by the store.
func validateFeatures(feats []Feature) []Issue {
	var issues []Issue
	add := func(f Feature, key string, args ...any) {
		issues = append(issues, Issue{Feature: f.Index, Code: f.Code, Msg: errs.Msg{Key: key, Args: args}})
	}
	seen := map[string]int{}
	for _, f := range feats {
		switch {
		case f.Code == "":
			add(f, "region.err.missing_code")
		case !allDigits(f.Code):
			add(f, "region.err.bad_code")
		default:
			if first, ok := seen[f.Code]; ok {
				add(f, "region.err.duplicate_code", f.Code, first)
			} else {
				seen[f.Code] = f.Index
			}
		}
		if strings.TrimSpace(f.Name) == "" {
			add(f, "region.err.missing_name")
		}
		if !f.Level.Valid() {
			add(f, "region.err.bad_level", string(f.Level))
		}
		if f.Geometry == nil {
			continue // reported while parsing
		}
		switch f.Geometry.(type) {
		case orb.Polygon, orb.MultiPolygon:
			if err := geo.ValidateGeometry(f.Geometry); err != nil {
				add(f, "region.err.geometry", err.Error())
			}
		default:
			add(f, "region.err.geometry_type", f.Geometry.GeoJSONType())
		}
	}
	return issues
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return len(s) > 0 && len(s) <= 32
}

// WriteFeatureCollection writes nodes as a GeoJSON FeatureCollection with the
// same properties that ParseFeatures reads, so export then import round-trips.
func WriteFeatureCollection(w io.Writer, nodes []Node) error {
	fc := geojson.NewFeatureCollection()
	sorted := append([]Node(nil), nodes...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	for _, n := range sorted {
		f := geojson.NewFeature(n.Geometry)
		f.Properties["code"] = n.Code
		f.Properties["name"] = n.Name
		f.Properties["level"] = string(n.Level)
		f.Properties["parent_code"] = n.ParentCode
		if n.Illustrative {
			f.Properties["illustrative"] = true
		}
		fc.Append(f)
	}
	b, err := json.Marshal(fc)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}
