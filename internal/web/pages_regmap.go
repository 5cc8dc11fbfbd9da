package web

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/errs"
	"whistle/internal/i18n"
	"whistle/internal/patrol"
	"whistle/internal/registry"
	"whistle/internal/visit"
)

// gridMap is what the grid page's map draws over the grid's outline: its
// buildings as points and the recent patrol tracks the caller may see.
type gridMap struct {
	Buildings []mapBuilding `json:"buildings"`
	Tracks    []mapTrack    `json:"tracks"`
}

type mapBuilding struct {
	ID      int64   `json:"id"`
	Label   string  `json:"label"`
	Lat     float64 `json:"lat"`
	Lng     float64 `json:"lng"`
	Floors  int     `json:"floors"`
	Houses  string  `json:"href"`
	Address string  `json:"address"`
}

// mapTrack is one patrol's counted fixes as [lat, lng] pairs.
type mapTrack struct {
	ID      int64        `json:"id"`
	Label   string       `json:"label"`
	Href    string       `json:"href"`
	Points  [][2]float64 `json:"points"`
	Running bool         `json:"running"`
}

// gridTracks are the tracks on the map of grid code.
const gridTracks = 5

// gridMapOf collects the map's layers: the buildings (already loaded) and
// the last patrols of the grid that package patrol lets u see; a caller
// who may see no patrol gets a map without tracks.
func (s *registryAPI) gridMapOf(r *http.Request, code string, buildings []registry.Building) (*gridMap, []patrolRow, error) {
	ctx, u := r.Context(), userOf(r)
	m := &gridMap{Buildings: []mapBuilding{}, Tracks: []mapTrack{}}
	for _, b := range buildings {
		label := b.Address
		if b.Name != "" {
			label += " · " + b.Name
		}
		m.Buildings = append(m.Buildings, mapBuilding{ID: b.ID, Label: label, Address: b.Address, Lat: b.Lat, Lng: b.Lng, Floors: b.Floors,
			Houses: "/houses?grid=" + code + "&building=" + strconv.FormatInt(b.ID, 10)})
	}
	if s.Patrols == nil {
		return m, nil, nil
	}
	list, err := s.Patrols.List(ctx, u, patrol.Filter{Grid: code, Limit: gridTracks})
	if errs.CodeOf(err) == errs.NotFound {
		return m, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	rows := make([]patrolRow, 0, len(list))
	for _, p := range list {
		pts, err := s.Patrols.Track(ctx, u, p.ID)
		if err != nil {
			return nil, nil, err
		}
		t := mapTrack{ID: p.ID, Label: p.WorkerName + " " + shanghaiTime(p.StartedAt), Href: "/patrols?id=" + strconv.FormatInt(p.ID, 10),
			Points: make([][2]float64, 0, len(pts)), Running: p.StoppedAt == nil}
		for _, pt := range pts {
			if !pt.Flagged {
				t.Points = append(t.Points, [2]float64{pt.Lat, pt.Lng})
			}
		}
		m.Tracks = append(m.Tracks, t)
		rows = append(rows, patrolRow{Patrol: p, Started: shanghaiTime(p.StartedAt),
			Distance: s.Catalog.T(langOf(r), "patrol.metres", int(p.DistanceM+0.5)), Coverage: strconv.FormatFloat(p.Coverage*100, 'f', 1, 64) + "%"})
	}
	return m, rows, nil
}

// historyItem is one change of the person's timeline.
type historyItem struct {
	At       string
	Datetime string
	Actor    string
	Action   string
	Changes  []fieldChange
}

// fieldChange is one changed field, named in the page's language; the
// values are as history keeps them (personal ones masked).
type fieldChange struct {
	Field, Old, New string
}

// personHistory is a person's history, newest first, for the timeline; a
// person without any recorded change has an empty one.
func (s *registryAPI) personHistory(r *http.Request, st *registry.Store, sc account.Scope, id int64) ([]historyItem, error) {
	h, err := st.History(r.Context(), sc, registry.TablePeople, id)
	if errs.CodeOf(err) == errs.NotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	lang := langOf(r)
	out := make([]historyItem, 0, len(h))
	for i := len(h) - 1; i >= 0; i-- {
		e := h[i]
		it := historyItem{At: shanghaiTime(e.At), Datetime: e.At.UTC().Format(time.RFC3339), Actor: e.Actor,
			Action: s.Catalog.T(lang, "regpages.action."+e.Action)}
		for _, k := range slices.Sorted(maps.Keys(e.Diff)) {
			c := fieldChange{Field: s.say(lang, "registry."+k, k), Old: e.Diff[k].Old, New: e.Diff[k].New}
			// Coded values in words: a link's relation, the sex, the status.
			code := k
			if house, ok := strings.CutPrefix(k, "house:"); ok {
				c.Field, code = s.Catalog.T(lang, "regpages.house")+" "+house, "rel"
			}
			if group, ok := strings.CutPrefix(k, "group:"); ok {
				// A membership: the group's name, "member" (and its note) in words.
				c.Field = s.Catalog.T(lang, "regpages.group") + " " + s.say(lang, "registry.group."+group, group)
				c.Old, c.New = s.memberWords(lang, c.Old), s.memberWords(lang, c.New)
			}
			if code == "rel" || code == "sex" || code == "status" {
				c.Old, c.New = s.say(lang, "registry."+code+"."+c.Old, c.Old), s.say(lang, "registry."+code+"."+c.New, c.New)
			}
			it.Changes = append(it.Changes, c)
		}
		out = append(out, it)
	}
	return out, nil
}

// memberWords says a membership's history value ("member" or "member:
// note") in lang.
func (s *registryAPI) memberWords(lang i18n.Lang, v string) string {
	if rest, ok := strings.CutPrefix(v, "member"); ok {
		return s.Catalog.T(lang, "regpages.member") + rest
	}
	return v
}

// say is the catalogue's text for key, or fallback when it has none.
func (s *registryAPI) say(lang i18n.Lang, key, fallback string) string {
	if fallback == "" {
		return ""
	}
	if t := s.Catalog.T(lang, key); t != key {
		return t
	}
	return fallback
}

// linkForm reads the person page's form that links the person to a house.
// A missing or foreign house is a message on house_id, a bad relation one
// on relation, in the caller's language.
func linkForm(ctx context.Context, st *registry.Store, sc account.Scope, r *http.Request) (int64, string, error) {
	f := r.PostForm
	e := errs.E(errs.Invalid, "error.invalid")
	rel := strings.TrimSpace(f.Get("relation"))
	if !isOneOf(rel, registry.HouseRelations()) {
		e.Field("relation", "regpages.err.relation")
	}
	hid, err := strconv.ParseInt(strings.TrimSpace(f.Get("house_id")), 10, 64)
	if err != nil || hid <= 0 {
		e.Field("house_id", "regpages.err.house_id")
	} else if _, err := st.House(ctx, sc, hid); errs.CodeOf(err) == errs.NotFound {
		e.Field("house_id", "regpages.err.house_unknown")
	} else if err != nil {
		return 0, "", err
	}
	if len(e.Fields) > 0 {
		return 0, "", e
	}
	return hid, rel, nil
}

// pagePersonLink links the person to a house from the person page's form
// (the same store call as POST /api/v1/people/{id}/houses); a refusal
// shows the page again with a message per field.
func (s *registryAPI) pagePersonLink(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ctx, sc := r.Context(), registry.ScopeOf(userOf(r))
	return s.submit(w, r, func(st *registry.Store, _ url.Values) (string, error) {
		if _, err := st.Person(ctx, sc, id); err != nil {
			return "", err
		}
		hid, rel, err := linkForm(ctx, st, sc, r)
		if err != nil {
			return "", err
		}
		if err := st.Link(ctx, sc, actorOf(r), id, hid, rel); err != nil {
			return "", err
		}
		return "/people/" + strconv.FormatInt(id, 10) + "#houses", nil
	}, func(status int, fs *formState) error { return s.showPerson(w, r, status, fs) })
}

// pagePersonUnlink takes the person off a house from the button beside
// the house on the person page (the same store call as DELETE
// /api/v1/people/{id}/houses/{house}); a link already gone shows the page
// again with the message.
func (s *registryAPI) pagePersonUnlink(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	hid, err := strconv.ParseInt(r.PathValue("house"), 10, 64)
	if err != nil || hid <= 0 {
		return errs.E(errs.NotFound, "registry.link_not_found")
	}
	ctx, sc := r.Context(), registry.ScopeOf(userOf(r))
	return s.submit(w, r, func(st *registry.Store, _ url.Values) (string, error) {
		if _, err := st.Person(ctx, sc, id); err != nil {
			return "", err
		}
		if err := st.Unlink(ctx, sc, actorOf(r), id, hid); err != nil {
			return "", err
		}
		return "/people/" + strconv.FormatInt(id, 10) + "#houses", nil
	}, func(status int, fs *formState) error { return s.showPerson(w, r, status, fs) })
}

// visits is the store that changes group memberships from the person
// page.
func (s *registryAPI) visits() (*visit.Store, error) {
	if s.Visits == nil {
		return nil, errs.E(errs.Unavailable, "error.unavailable")
	}
	return s.Visits, nil
}

// pagePersonJoin puts the person in a group, with its reason, from the
// person page's form: visit.Store.Join as POST /api/v1/people/{id}/groups
// (the membership and this period's visit task in one transaction); a
// refusal shows the page again with a message per field.
func (s *registryAPI) pagePersonJoin(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ctx, sc := r.Context(), registry.ScopeOf(userOf(r))
	return s.submit(w, r, func(st *registry.Store, f url.Values) (string, error) {
		vs, err := s.visits()
		if err != nil {
			return "", err
		}
		if _, err := st.Person(ctx, sc, id); err != nil {
			return "", err
		}
		group := strings.TrimSpace(f.Get("group"))
		if group == "" {
			return "", errs.E(errs.Invalid, "error.invalid").Field("group", "visit.err.group")
		}
		if err := vs.Join(ctx, visit.ScopeOf(userOf(r)), actorOf(r), group, id, strings.TrimSpace(f.Get("note"))); err != nil {
			return "", err
		}
		return "/people/" + strconv.FormatInt(id, 10) + "#groups", nil
	}, func(status int, fs *formState) error { return s.showPerson(w, r, status, fs) })
}

// pagePersonLeave takes the person out of a group from the button beside
// it on the person page: visit.Store.Leave as DELETE
// /api/v1/people/{id}/groups/{group} (their open tasks of it cancelled).
func (s *registryAPI) pagePersonLeave(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ctx, sc := r.Context(), registry.ScopeOf(userOf(r))
	return s.submit(w, r, func(st *registry.Store, _ url.Values) (string, error) {
		vs, err := s.visits()
		if err != nil {
			return "", err
		}
		if _, err := st.Person(ctx, sc, id); err != nil {
			return "", err
		}
		if err := vs.Leave(ctx, visit.ScopeOf(userOf(r)), actorOf(r), r.PathValue("group"), id); err != nil {
			return "", err
		}
		return "/people/" + strconv.FormatInt(id, 10) + "#groups", nil
	}, func(status int, fs *formState) error { return s.showPerson(w, r, status, fs) })
}

// apiPersonHistory answers GET /api/v1/people/{id}/history: the person's
// changes, oldest first, personal values masked; a person outside the
// caller's scope is 404 like the person.
func (s *registryAPI) apiPersonHistory(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ctx, sc := r.Context(), registry.ScopeOf(userOf(r))
	if _, err := st.Person(ctx, sc, id); err != nil {
		return err
	}
	h, err := st.History(ctx, sc, registry.TablePeople, id)
	if errs.CodeOf(err) == errs.NotFound {
		h, err = []registry.HistoryEntry{}, nil
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"history": h})
	return nil
}
