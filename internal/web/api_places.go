package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"whistle/internal/errs"
	"whistle/internal/places"
	"whistle/internal/region"
)

// placeJSON is a search result: GET /api/v1/places/search.
type placeJSON struct {
	Name   string      `json:"name"`
	Kind   places.Kind `json:"kind"`
	Ref    string      `json:"ref"`
	Parent []string    `json:"parent_path"`
	Point  latLng      `json:"point"`
	Source string      `json:"source"`
}

// landmarkJSON is an admin-maintained landmark or road.
type landmarkJSON struct {
	ID        int64       `json:"id"`
	Name      string      `json:"name"`
	Kind      places.Kind `json:"kind"`
	Aliases   []string    `json:"aliases"`
	Point     latLng      `json:"point"`
	CreatedAt time.Time   `json:"created_at"`
	UpdatedAt time.Time   `json:"updated_at"`
}

func toLandmarkJSON(l *places.LandmarkRecord) landmarkJSON {
	return landmarkJSON{ID: l.ID, Name: l.Name, Kind: l.Kind, Aliases: l.Aliases, Point: latLng{Lat: l.Point[1], Lng: l.Point[0]},
		CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt}
}

// placesAPI serves the place search (public: residents search the map
// before they have an account) and the landmarks administrators keep.
type placesAPI struct {
	*view
	Places    *places.Service
	Landmarks *places.LandmarkStore
	// Regions names the district whose grids the landmarks page's map
	// draws.
	Regions *region.Store
}

// apiPlacesSearch answers ?q= with up to places.MaxResults places; lat and
// lng (with crs) rank nearer places first.
func (s *placesAPI) apiPlacesSearch(w http.ResponseWriter, r *http.Request) error {
	if s.Places == nil {
		return errs.E(errs.Unavailable, "error.unavailable")
	}
	q := r.URL.Query()
	var near *orb.Point
	if q.Get("lat") != "" || q.Get("lng") != "" {
		p, err := parseLatLng(q.Get)
		if err != nil {
			return err
		}
		near = &p
	}
	ps, err := s.Places.Search(r.Context(), q.Get("q"), near)
	if err != nil {
		return err
	}
	out := make([]placeJSON, 0, len(ps))
	for _, p := range ps {
		parent := p.Parent
		if parent == nil {
			parent = []string{}
		}
		out = append(out, placeJSON{Name: p.Name, Kind: p.Kind, Ref: p.Ref, Parent: parent,
			Point: latLng{Lat: p.Point[1], Lng: p.Point[0]}, Source: p.Source})
	}
	writeJSON(w, http.StatusOK, map[string]any{"places": out})
	return nil
}

func (s *placesAPI) apiLandmarks(w http.ResponseWriter, r *http.Request) error {
	if s.Landmarks == nil {
		return errs.E(errs.Unavailable, "error.unavailable")
	}
	ls, err := s.Landmarks.List(r.Context())
	if err != nil {
		return err
	}
	out := make([]landmarkJSON, 0, len(ls))
	for i := range ls {
		out = append(out, toLandmarkJSON(&ls[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"landmarks": out})
	return nil
}

// lines is a list of strings that a form may also send as one text, a
// line each.
type lines []string

func (l *lines) UnmarshalJSON(b []byte) error {
	var text string
	if json.Unmarshal(b, &text) == nil {
		*l = strings.Split(text, "\n")
		return nil
	}
	return json.Unmarshal(b, (*[]string)(l))
}

// landmarkBody is the body of POST and PUT /api/v1/landmarks: a WGS-84
// point, and aliases as a list (or a text, a line each).
type landmarkBody struct {
	Name    string   `json:"name"`
	Kind    string   `json:"kind"`
	Aliases lines    `json:"aliases"`
	Lat     *float64 `json:"lat"`
	Lng     *float64 `json:"lng"`
}

func (b landmarkBody) input() places.LandmarkInput {
	return places.LandmarkInput{Name: b.Name, Kind: places.Kind(b.Kind), Aliases: b.Aliases, Lat: b.Lat, Lng: b.Lng}
}

func (s *placesAPI) apiLandmarkCreate(w http.ResponseWriter, r *http.Request) error {
	if s.Landmarks == nil {
		return errs.E(errs.Unavailable, "error.unavailable")
	}
	var in landmarkBody
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	l, err := s.Landmarks.Create(r.Context(), actorOf(r), in.input())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toLandmarkJSON(l))
	return nil
}

func (s *placesAPI) apiLandmarkUpdate(w http.ResponseWriter, r *http.Request) error {
	if s.Landmarks == nil {
		return errs.E(errs.Unavailable, "error.unavailable")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in landmarkBody
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	l, err := s.Landmarks.Update(r.Context(), actorOf(r), id, in.input())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toLandmarkJSON(l))
	return nil
}

func (s *placesAPI) apiLandmarkDelete(w http.ResponseWriter, r *http.Request) error {
	if s.Landmarks == nil {
		return errs.E(errs.Unavailable, "error.unavailable")
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.Landmarks.Delete(r.Context(), actorOf(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// landmarksPage is what admin_landmarks.html shows: the landmarks and
// the district whose grids its map draws.
type landmarksPage struct {
	Landmarks []places.LandmarkRecord
	District  string
}

// pageAdminLandmarks lists the landmarks and roads over a map of the
// district. Clicking the map puts the point in the form (POST
// /api/v1/landmarks); a row's edit button, or its marker, loads it into
// the same form (PUT /api/v1/landmarks/{id}); delete asks first.
func (s *placesAPI) pageAdminLandmarks(w http.ResponseWriter, r *http.Request) error {
	if s.Landmarks == nil {
		return errs.E(errs.Unavailable, "error.unavailable")
	}
	var d landmarksPage
	var err error
	if d.Landmarks, err = s.Landmarks.List(r.Context()); err != nil {
		return err
	}
	if d.District, err = s.Regions.District(r.Context()); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "admin_landmarks.html", s.newPage(r, "admin.landmarks", d))
}
