package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"whistle/internal/account"
	"whistle/internal/errs"
	"whistle/internal/patrol"
	"whistle/internal/region"
)

// patrolHandlers serve patrols (巡查) with GPS tracks: the API a grid
// worker's phone records with, the phone page (/patrol) and the list and
// map of patrols (/patrols). Tracks are personal data; package patrol
// decides who sees which.
type patrolHandlers struct {
	*view
	Patrols *patrol.Store
	Regions *region.Store
}

func (h *patrolHandlers) store() (*patrol.Store, error) {
	if h.Patrols == nil {
		return nil, errs.E(errs.Unavailable, "error.unavailable")
	}
	return h.Patrols, nil
}

func patrolID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.E(errs.NotFound, "patrol.not_found")
	}
	return id, nil
}

// target is the store and the patrol id of a request on /patrols/{id}.
func (h *patrolHandlers) target(r *http.Request) (*patrol.Store, int64, error) {
	st, err := h.store()
	if err != nil {
		return nil, 0, err
	}
	id, err := patrolID(r)
	return st, id, err
}

func (h *patrolHandlers) apiStart(w http.ResponseWriter, r *http.Request) error {
	st, err := h.store()
	if err != nil {
		return err
	}
	var in struct {
		Grid string `json:"grid"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	p, err := st.Start(r.Context(), actorOf(r), userOf(r), strings.TrimSpace(in.Grid))
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/patrols/"+strconv.FormatInt(p.ID, 10))
	writeJSON(w, http.StatusCreated, p)
	return nil
}

// pointsRequest is the body of POST /api/v1/patrols/{id}/points.
type pointsRequest struct {
	Points []fixJSON `json:"points"`
}

type fixJSON struct {
	Lat      *float64 `json:"lat"`
	Lng      *float64 `json:"lng"`
	Accuracy *float64 `json:"accuracy"`
	// At is the fix's time, RFC 3339 with a zone (JavaScript's
	// toISOString()).
	At string `json:"at"`
}

// pointsIn converts a decoded batch of fixes. A time that does not parse
// is a field error naming the fix, like the store's own checks.
func pointsIn(in pointsRequest) ([]patrol.PointIn, error) {
	e := errs.E(errs.Invalid, "error.invalid")
	out := make([]patrol.PointIn, len(in.Points))
	for i, p := range in.Points {
		out[i] = patrol.PointIn{Lat: p.Lat, Lng: p.Lng, Accuracy: p.Accuracy}
		if p.At == "" {
			continue // the store names the missing time
		}
		t, err := time.Parse(time.RFC3339Nano, p.At)
		if err != nil || t.Year() < 2000 || t.Year() > 9999 {
			e.Field(fmt.Sprintf("points[%d].at", i), "patrol.err.at")
			continue
		}
		out[i].At = t
	}
	if len(e.Fields) > 0 {
		return nil, e
	}
	return out, nil
}

func (h *patrolHandlers) apiPoints(w http.ResponseWriter, r *http.Request) error {
	st, id, err := h.target(r)
	if err != nil {
		return err
	}
	var in pointsRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	pts, err := pointsIn(in)
	if err != nil {
		return err
	}
	res, err := st.AddPoints(r.Context(), actorOf(r), userOf(r), id, pts)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (h *patrolHandlers) apiStop(w http.ResponseWriter, r *http.Request) error {
	st, id, err := h.target(r)
	if err != nil {
		return err
	}
	p, err := st.Stop(r.Context(), actorOf(r), userOf(r), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// patrolFilter reads ?grid=&worker=&limit=.
func patrolFilter(r *http.Request) (patrol.Filter, error) {
	q := r.URL.Query()
	f := patrol.Filter{Grid: strings.TrimSpace(q.Get("grid"))}
	e := errs.E(errs.Invalid, "error.invalid")
	if v := q.Get("worker"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			e.Field("worker", "patrol.err.worker")
		}
		f.WorkerID = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			e.Field("limit", "field.range", 1, 200)
		}
		f.Limit = n
	}
	if len(e.Fields) > 0 {
		return f, e
	}
	return f, nil
}

func (h *patrolHandlers) apiList(w http.ResponseWriter, r *http.Request) error {
	st, err := h.store()
	if err != nil {
		return err
	}
	f, err := patrolFilter(r)
	if err != nil {
		return err
	}
	list, err := st.List(r.Context(), userOf(r), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"patrols": list})
	return nil
}

// patrolDetail is a patrol with its track as a GeoJSON FeatureCollection.
type patrolDetail struct {
	*patrol.Patrol
	Track *geojson.FeatureCollection `json:"track"`
}

// trackGeoJSON is the track: a LineString (a Point for one fix) of the
// counted fixes with their times, and a MultiPoint of the flagged ones.
func trackGeoJSON(pts []patrol.Point) *geojson.FeatureCollection {
	fc := geojson.NewFeatureCollection()
	var line orb.LineString
	var times []string
	var flagged orb.MultiPoint
	for _, p := range pts {
		if p.Flagged {
			flagged = append(flagged, orb.Point{p.Lng, p.Lat})
			continue
		}
		line = append(line, orb.Point{p.Lng, p.Lat})
		times = append(times, p.At.UTC().Format(time.RFC3339Nano))
	}
	switch len(line) {
	case 0:
	case 1:
		f := geojson.NewFeature(line[0])
		f.Properties = geojson.Properties{"kind": "track", "times": times}
		fc.Append(f)
	default:
		f := geojson.NewFeature(line)
		f.Properties = geojson.Properties{"kind": "track", "times": times}
		fc.Append(f)
	}
	if len(flagged) > 0 {
		f := geojson.NewFeature(flagged)
		f.Properties = geojson.Properties{"kind": "flagged"}
		fc.Append(f)
	}
	return fc
}

func (h *patrolHandlers) detail(ctx context.Context, u *account.User, id int64) (*patrolDetail, error) {
	st, err := h.store()
	if err != nil {
		return nil, err
	}
	p, err := st.Get(ctx, u, id)
	if err != nil {
		return nil, err
	}
	pts, err := st.Track(ctx, u, id)
	if err != nil {
		return nil, err
	}
	return &patrolDetail{Patrol: p, Track: trackGeoJSON(pts)}, nil
}

func (h *patrolHandlers) apiGet(w http.ResponseWriter, r *http.Request) error {
	id, err := patrolID(r)
	if err != nil {
		return err
	}
	d, err := h.detail(r.Context(), userOf(r), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// patrolPage is the phone page's data.
type patrolPage struct {
	Grid     string
	GridName string
	// Every is how often, in seconds, a fix is recorded (?every=, 1–60).
	Every int
	// JS are the messages of patrol.js, in the page's language.
	JS map[string]string
}

// patrolJSKeys are the catalogue keys patrol.js shows.
var patrolJSKeys = []string{"patrol.js.queued", "patrol.js.sent", "patrol.js.offline", "patrol.js.no_gps", "patrol.js.gps_error",
	"patrol.js.started", "patrol.js.stopped", "patrol.js.rejected", "patrol.js.summary", "patrol.js.stopping", "patrol.js.failed"}

func (h *patrolHandlers) jsMessages(r *http.Request) map[string]string {
	lang := langOf(r)
	m := make(map[string]string, len(patrolJSKeys))
	for _, k := range patrolJSKeys {
		m[strings.TrimPrefix(k, "patrol.js.")] = h.Catalog.T(lang, k)
	}
	return m
}

// pagePatrol is the grid worker's phone page: start, record, stop.
// Only grid workers patrol; for anyone else the page does not exist.
func (h *patrolHandlers) pagePatrol(w http.ResponseWriter, r *http.Request) error {
	u := userOf(r)
	if !u.Has(account.GridWorker) || u.Region.Level != region.Grid {
		return errs.E(errs.NotFound, "error.not_found")
	}
	d := &patrolPage{Grid: u.Region.Code, GridName: u.Region.Name, Every: 5, JS: h.jsMessages(r)}
	if v, err := strconv.Atoi(r.URL.Query().Get("every")); err == nil && v >= 1 && v <= 60 {
		d.Every = v
	}
	return h.render(w, r, http.StatusOK, "patrol.html", h.newPage(r, "patrol.title", d))
}

// patrolRow is a patrol as the list shows it.
type patrolRow struct {
	patrol.Patrol
	Started  string
	Duration string
	Distance string
	Coverage string
	Selected bool
}

// patrolsPage is the list and map of patrols.
type patrolsPage struct {
	Rows     []patrolRow
	Region   string // the map's outline: the caller's region
	Selected int64
	JS       map[string]string
}

// pagePatrols lists the recent patrols the caller may see, with a map
// that shows the selected one's track over the grids.
func (h *patrolHandlers) pagePatrols(w http.ResponseWriter, r *http.Request) error {
	st, err := h.store()
	if err != nil {
		return err
	}
	u := userOf(r)
	f := patrol.Filter{Grid: r.URL.Query().Get("grid"), Limit: 50}
	list, err := st.List(r.Context(), u, f)
	if err != nil {
		return err
	}
	lang := langOf(r)
	d := &patrolsPage{Region: u.Region.Code, JS: h.jsMessages(r)}
	if id, err := strconv.ParseInt(r.URL.Query().Get("id"), 10, 64); err == nil {
		d.Selected = id
	}
	for _, p := range list {
		row := patrolRow{Patrol: p, Started: p.StartedAt.In(shanghai).Format("2006-01-02 15:04"),
			Duration: (time.Duration(p.DurationS) * time.Second).String(),
			Distance: h.Catalog.T(lang, "patrol.metres", int(p.DistanceM+0.5)),
			Coverage: strconv.FormatFloat(p.Coverage*100, 'f', 1, 64) + "%"}
		if d.Selected == 0 {
			d.Selected = p.ID
		}
		row.Selected = p.ID == d.Selected
		d.Rows = append(d.Rows, row)
	}
	return h.render(w, r, http.StatusOK, "patrols.html", h.newPage(r, "patrols.title", d))
}

// duringPatrol is the patrol a report by u is made during: the patrol id
// given, which must be u's own running patrol (else a field error), or u's
// running patrol if any.
func (s *caseHandlers) duringPatrol(ctx context.Context, u *account.User, id int64) (*patrol.Patrol, error) {
	if id == 0 {
		if s.Patrols == nil || u == nil {
			return nil, nil
		}
		return s.Patrols.Current(ctx, u)
	}
	bad := errs.E(errs.Invalid, "error.invalid").Field("patrol_id", "patrol.err.patrol")
	if s.Patrols == nil || u == nil {
		return nil, bad
	}
	p, err := s.Patrols.Running(ctx, u, id)
	if errs.CodeOf(err) == errs.NotFound {
		return nil, bad
	}
	return p, err
}
