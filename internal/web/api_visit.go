package web

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"whistle/internal/account"
	"whistle/internal/category"
	"whistle/internal/region"

	"whistle/internal/errs"
	"whistle/internal/visit"
)

// visitHandlers serve the visits (走访, issue 16): a grid worker's due and
// overdue visits nearest first, recording a visit (with a found problem
// opening a linked case), the overdue count for the staff queues and the
// big screen, and the group memberships the visits follow. Package visit
// decides who sees what (404 outside the caller's scope).
type visitHandlers struct {
	*view
	Visits     *visit.Store
	Categories *category.Store
}

func (h *visitHandlers) store() (*visit.Store, error) {
	if h.Visits == nil {
		return nil, errs.E(errs.Unavailable, "error.unavailable")
	}
	return h.Visits, nil
}

// position reads the optional lat and lng query parameters.
func position(r *http.Request) (lat, lng *float64, err error) {
	q := r.URL.Query()
	e := errs.E(errs.Invalid, "error.invalid")
	read := func(name string) *float64 {
		v := strings.TrimSpace(q.Get(name))
		if v == "" {
			return nil
		}
		f, perr := strconv.ParseFloat(v, 64)
		if perr != nil {
			e.Field(name, "visit.err.position")
			err = e
			return nil
		}
		return &f
	}
	lat, lng = read("lat"), read("lng")
	return lat, lng, err
}

func (h *visitHandlers) apiList(w http.ResponseWriter, r *http.Request) error {
	st, err := h.store()
	if err != nil {
		return err
	}
	lat, lng, err := position(r)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 200)
	if err != nil {
		return err
	}
	ts, err := st.List(r.Context(), userOf(r), visit.Filter{Due: r.URL.Query().Get("due"), Lat: lat, Lng: lng,
		Grid: r.URL.Query().Get("grid"), Limit: limit})
	if err != nil {
		return err
	}
	// distance_m is the straight line; with a position the list is in
	// walking order (visit.Route), walk_m the estimated walk to each stop.
	writeJSON(w, http.StatusOK, map[string]any{"visits": ts, "distance": "straight_line", "order": visitOrder(lat), "walk": "manhattan_local_plane"})
	return nil
}

// visitOrder names the order of a visit list: the walking route from a
// given position, else the due time.
func visitOrder(lat *float64) string {
	if lat != nil {
		return "walking_route"
	}
	return "due"
}

func (h *visitHandlers) apiCount(w http.ResponseWriter, r *http.Request) error {
	st, err := h.store()
	if err != nil {
		return err
	}
	c, err := st.Count(r.Context(), userOf(r), r.URL.Query().Get("region"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// target is the store and the {id} of a request; a bad id is the 404 of
// key.
func (h *visitHandlers) target(r *http.Request, key string) (*visit.Store, int64, error) {
	st, err := h.store()
	if err != nil {
		return nil, 0, err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return nil, 0, errs.E(errs.NotFound, key)
	}
	return st, id, nil
}

func (h *visitHandlers) apiRecord(w http.ResponseWriter, r *http.Request) error {
	st, id, err := h.target(r, "visit.not_found")
	if err != nil {
		return err
	}
	var in visit.RecordInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	t, err := st.Record(r.Context(), userOf(r), actorOf(r), info(r).ip, id, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// joinRequest is the body of POST /api/v1/people/{id}/groups.
type joinRequest struct {
	Group string `json:"group"`
	Note  string `json:"note"`
}

func (h *visitHandlers) apiJoin(w http.ResponseWriter, r *http.Request) error {
	st, id, err := h.target(r, "registry.person_not_found")
	if err != nil {
		return err
	}
	var in joinRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	in.Group = strings.TrimSpace(in.Group)
	if in.Group == "" {
		return errs.E(errs.Invalid, "error.invalid").Field("group", "visit.err.group")
	}
	if err := st.Join(r.Context(), visit.ScopeOf(userOf(r)), actorOf(r), in.Group, id, in.Note); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"person_id": id, "group": in.Group})
	return nil
}

func (h *visitHandlers) apiLeave(w http.ResponseWriter, r *http.Request) error {
	st, id, err := h.target(r, "registry.person_not_found")
	if err != nil {
		return err
	}
	if err := st.Leave(r.Context(), visit.ScopeOf(userOf(r)), actorOf(r), r.PathValue("group"), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *visitHandlers) apiPhoto(w http.ResponseWriter, r *http.Request) error {
	st, id, err := h.target(r, "visit.not_found")
	if err != nil {
		return err
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return errs.E(errs.Invalid, "error.invalid").Field("photo", "case.bad_multipart")
	}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return multipartErr(err)
		}
		if part.FormName() == "photo" {
			key, err := st.AddPhoto(r.Context(), userOf(r), id, part)
			if err != nil {
				return multipartErr(err)
			}
			writeJSON(w, http.StatusCreated, map[string]string{"key": key})
			return nil
		}
		part.Close()
	}
	return errs.E(errs.Invalid, "error.invalid").Field("photo", "field.required")
}

// apiPhotoGet answers GET /api/v1/visits/{id}/photos/{name}: a photo
// its recorded visit names, for the staff whose scope covers the visit
// (visit.Store.OpenPhoto: 404 otherwise).
func (h *visitHandlers) apiPhotoGet(w http.ResponseWriter, r *http.Request) error {
	st, id, err := h.target(r, "visit.not_found")
	if err != nil {
		return err
	}
	rc, mime, err := st.OpenPhoto(r.Context(), userOf(r), id, r.PathValue("name"))
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", mime)
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, err = io.Copy(w, rc)
	return err
}

// visitPhotoURL is where a visit's photo is served (apiPhotoGet).
func visitPhotoURL(id int64, key string) string {
	return "/api/v1/visits/" + strconv.FormatInt(id, 10) + "/photos/" + visit.PhotoName(key)
}

// visitJSKeys are the catalogue keys visit.js shows.
var visitJSKeys = []string{"visit.js.none", "visit.js.distance", "visit.js.walk", "visit.js.due", "visit.js.record", "visit.js.no_gps", "visit.js.located",
	"visit.js.recorded", "visit.js.case_opened", "visit.js.failed"}

// visitsPage is the grid worker's phone page of visits.
type visitsPage struct {
	GridName   string
	Categories []*category.Category
	// JS are visit.js's messages and the groups' names, in the page's
	// language.
	JS map[string]string
}

// pageVisits is the grid worker's phone page: today's and overdue visits
// nearest first, recording one with GPS and a photo, reporting a problem
// from it. Only grid workers visit; for anyone else it does not exist.
func (h *visitHandlers) pageVisits(w http.ResponseWriter, r *http.Request) error {
	u := userOf(r)
	if !u.Has(account.GridWorker) || u.Region.Level != region.Grid {
		return errs.E(errs.NotFound, "error.not_found")
	}
	lang := langOf(r)
	d := &visitsPage{GridName: u.Region.Name, JS: map[string]string{}}
	for _, k := range visitJSKeys {
		d.JS[strings.TrimPrefix(k, "visit.js.")] = h.Catalog.T(lang, k)
	}
	for _, g := range []string{"elderly_alone", "disabled", "dibao", "veteran", "left_behind_child", "community_correction", "mental_illness", "petitioner"} {
		d.JS["group."+g] = h.Catalog.T(lang, "registry.group."+g)
	}
	d.JS["origin.alarm"] = h.Catalog.T(lang, "visit.origin.alarm")
	if h.Categories != nil {
		roots, err := h.Categories.Tree(r.Context(), false)
		if err != nil {
			return err
		}
		var walk func([]*category.Category)
		walk = func(cs []*category.Category) {
			for _, c := range cs {
				if c.Leaf() {
					d.Categories = append(d.Categories, c)
				}
				walk(c.Children)
			}
		}
		walk(roots)
	}
	return h.render(w, r, http.StatusOK, "visits.html", h.newPage(r, "visit.title", d))
}
