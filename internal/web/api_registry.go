package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"whistle/internal/account"

	"whistle/internal/errs"
	"whistle/internal/patrol"
	"whistle/internal/policy"
	"whistle/internal/registry"
	"whistle/internal/visit"
)

// registryAPI serves the grid's base data (issue 16): people, buildings,
// houses, organisations and a grid's summary. Every call is scoped by
// registry.ScopeOf: a caller outside the registry's roles gets 404.
type registryAPI struct {
	*view
	Registry *registry.Store
	Accounts *account.Store
	// Patrols gives the grid page its recent tracks (optional).
	Patrols *patrol.Store
	// Visits changes group memberships from the person page, with their
	// visit tasks (optional: without it the forms answer 503).
	Visits *visit.Store
	// Eligibility asks the person page's missing facts and records them
	// (optional: without it the page has no facts form and the form
	// answers 503).
	Eligibility *policy.Engine
	Clock       interface{ Now() time.Time }
}

func (s *registryAPI) store() (*registry.Store, error) {
	if s.Registry == nil {
		return nil, errs.E(errs.Unavailable, "error.unavailable")
	}
	return s.Registry, nil
}

// page reads limit and offset.
func registryPage(r *http.Request) (registry.Page, error) {
	limit, err := queryInt(r, "limit", registry.DefaultLimit)
	if err != nil {
		return registry.Page{}, err
	}
	offset, err := queryInt(r, "offset", 0)
	if err != nil {
		return registry.Page{}, err
	}
	return registry.Page{Limit: min(max(limit, 1), registry.MaxLimit), Offset: offset}, nil
}

// choice checks an optional query value against its codes.
func choice(e *errs.Error, q url.Values, name string, codes []string) string {
	v := q.Get(name)
	if v != "" && !slices.Contains(codes, v) {
		e.Field(name, "registry.err.choice", strings.Join(codes, ", "))
	}
	return v
}

// unmask asks account.Store.Reveal whether the caller may see subject's
// personal data in the clear (?unmask=1), which audits the view.
func (s *registryAPI) unmask(r *http.Request, subject string, fields ...string) (bool, error) {
	if r.URL.Query().Get("unmask") != "1" || s.Accounts == nil {
		return false, nil
	}
	return s.Accounts.Reveal(r.Context(), userOf(r), actorOf(r), subject, fields...)
}

// withNext answers a page of items, with "next" (the next offset) when
// the page is full.
func withNext(key string, items any, n int, pg registry.Page) map[string]any {
	resp := map[string]any{key: items}
	if n == pg.Limit {
		resp["next"] = pg.Offset + n
	}
	return resp
}

func (s *registryAPI) apiPeople(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	pg, err := registryPage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	e := errs.E(errs.Invalid, "error.invalid")
	f := registry.PeopleFilter{GridCode: q.Get("grid"), Status: choice(e, q, "status", registry.Statuses()), GroupCode: q.Get("group"),
		HouseholdID: q.Get("household"), IDNumber: q.Get("id_number")}
	if len(e.Fields) > 0 {
		return e
	}
	if f.Clear, err = s.unmask(r, "people?"+q.Encode(), "name", "id_number", "phone", "address"); err != nil {
		return err
	}
	people, err := st.People(r.Context(), registry.ScopeOf(userOf(r)), f, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, withNext("people", people, len(people), pg))
	return nil
}

func (s *registryAPI) apiPersonAdd(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	var in registry.PersonInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, err := st.AddPerson(r.Context(), registry.ScopeOf(userOf(r)), actorOf(r), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/people/"+strconv.FormatInt(p.ID, 10))
	writeJSON(w, http.StatusCreated, p)
	return nil
}

// registryPersonJSON is a person with their houses and groups.
type registryPersonJSON struct {
	*registry.Person
	Houses []registry.HouseLink `json:"houses"`
	Groups []string             `json:"groups"`
}

func (s *registryAPI) apiPerson(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sc := registry.ScopeOf(userOf(r))
	p, err := st.Person(r.Context(), sc, id)
	if err != nil {
		return err
	}
	clear, err := s.unmask(r, "person:"+strconv.FormatInt(id, 10), "name", "id_number", "phone", "address")
	if err != nil {
		return err
	}
	if clear {
		if p, err = st.PersonClear(r.Context(), sc, id); err != nil {
			return err
		}
	}
	out := registryPersonJSON{Person: p}
	if out.Houses, err = st.HousesOf(r.Context(), sc, id); err != nil {
		return err
	}
	if out.Groups, err = st.GroupsOf(r.Context(), sc, id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *registryAPI) apiPersonUpdate(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in registry.PersonPatch
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	p, err := st.UpdatePerson(r.Context(), registry.ScopeOf(userOf(r)), actorOf(r), id, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// linkRequest links a person to a house.
type linkRequest struct {
	HouseID  int64  `json:"house_id"`
	Relation string `json:"relation"`
}

func (s *registryAPI) apiPersonLink(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in linkRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	sc := registry.ScopeOf(userOf(r))
	if err := st.Link(r.Context(), sc, actorOf(r), id, in.HouseID, in.Relation); err != nil {
		return err
	}
	houses, err := st.HousesOf(r.Context(), sc, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"houses": houses})
	return nil
}

// apiPersonUnlink answers DELETE /api/v1/people/{id}/houses/{house}: the
// inverse of apiPersonLink, 204; a person, house or link outside the
// caller's scope is 404.
func (s *registryAPI) apiPersonUnlink(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	hid, err := strconv.ParseInt(r.PathValue("house"), 10, 64)
	if err != nil || hid <= 0 {
		return errs.E(errs.NotFound, "registry.link_not_found")
	}
	if err := st.Unlink(r.Context(), registry.ScopeOf(userOf(r)), actorOf(r), id, hid); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *registryAPI) apiBuildings(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	pg, err := registryPage(r)
	if err != nil {
		return err
	}
	bs, err := st.Buildings(r.Context(), registry.ScopeOf(userOf(r)), r.URL.Query().Get("grid"), pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, withNext("buildings", bs, len(bs), pg))
	return nil
}

func (s *registryAPI) apiBuildingAdd(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	var in registry.BuildingInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	b, err := st.AddBuilding(r.Context(), registry.ScopeOf(userOf(r)), actorOf(r), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, b)
	return nil
}

func (s *registryAPI) apiHouses(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	pg, err := registryPage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	e := errs.E(errs.Invalid, "error.invalid")
	f := registry.HouseFilter{GridCode: q.Get("grid"), Use: choice(e, q, "use", registry.HouseUses()), Rental: choice(e, q, "rental", registry.Rentals()),
		Vacant: q.Get("vacant") == "1"}
	if b := q.Get("building"); b != "" {
		if f.BuildingID, err = strconv.ParseInt(b, 10, 64); err != nil || f.BuildingID <= 0 {
			e.Field("building", "field.number")
		}
	}
	if len(e.Fields) > 0 {
		return e
	}
	hs, err := st.Houses(r.Context(), registry.ScopeOf(userOf(r)), f, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, withNext("houses", hs, len(hs), pg))
	return nil
}

func (s *registryAPI) apiHouseAdd(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	var in registry.HouseInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	h, err := st.AddHouse(r.Context(), registry.ScopeOf(userOf(r)), actorOf(r), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, h)
	return nil
}

func (s *registryAPI) apiHouseResidents(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	sc := registry.ScopeOf(userOf(r))
	if _, err := st.House(r.Context(), sc, id); err != nil {
		return err
	}
	clear, err := s.unmask(r, "house:"+strconv.FormatInt(id, 10)+"/residents", "name", "id_number", "phone", "address")
	if err != nil {
		return err
	}
	rs, err := st.Residents(r.Context(), sc, id, clear)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"residents": rs})
	return nil
}

func (s *registryAPI) apiOrganisations(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	pg, err := registryPage(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	e := errs.E(errs.Invalid, "error.invalid")
	f := registry.OrgFilter{GridCode: q.Get("grid"), Kind: choice(e, q, "kind", registry.OrgKinds()),
		SafetyCategory: choice(e, q, "safety_category", registry.SafetyCategories()), CreditCode: q.Get("credit_code")}
	if len(e.Fields) > 0 {
		return e
	}
	if f.Clear, err = s.unmask(r, "organisations?"+q.Encode(), "contact_name", "contact_phone"); err != nil {
		return err
	}
	orgs, err := st.Organisations(r.Context(), registry.ScopeOf(userOf(r)), f, pg)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, withNext("organisations", orgs, len(orgs), pg))
	return nil
}

func (s *registryAPI) apiOrganisationAdd(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	var in registry.OrganisationInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	o, err := st.AddOrganisation(r.Context(), registry.ScopeOf(userOf(r)), actorOf(r), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, o)
	return nil
}

func (s *registryAPI) apiGridSummary(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	g, err := st.GridSummary(r.Context(), registry.ScopeOf(userOf(r)), r.PathValue("code"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

// apiBaseCounts answers a region node's registry counts (a grid,
// community, street or the district) from the rollup, for the big screen
// and the pages above a grid; 404 for a node outside the caller's scope.
func (s *registryAPI) apiBaseCounts(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	c, err := st.Counts(r.Context(), registry.ScopeOf(userOf(r)), r.PathValue("code"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c[0])
	return nil
}
