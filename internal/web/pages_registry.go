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
	"whistle/internal/policy"
	"whistle/internal/registry"
	"whistle/internal/visit"
)

// registryView is what the registry's pages show: a grid summary, lists,
// one record, and the add form's state.
type registryView struct {
	Grid      *registry.GridSummary
	Workers   []*account.User
	Groups    []registry.Group
	People    []registry.Person
	Buildings []registry.Building
	Houses    []registry.House
	Orgs      []registry.Organisation
	Person    *registry.Person
	House     *registry.House
	Org       *registry.Organisation
	Links     []registry.HouseLink
	Residents []registry.Resident
	InGroups  []string
	// Query is the list's filter, echoed into the form and the links.
	Query url.Values
	Form  *formState
	// Next is the link to the next page ("" on the last).
	Next      string
	Statuses  []string
	Uses      []string
	Relations []string
	MayUnmask bool
	Clear     bool
	// Map is the grid page's map: buildings and recent patrol tracks;
	// Patrols lists those patrols.
	Map     *gridMap
	Patrols []patrolRow
	// History is the person's changes, newest first (masked).
	History []historyItem
	// LinkTo are the houses of the person's grid the link form offers.
	LinkTo []registry.House
	// Joinable are the groups the person is not in, for the join form.
	Joinable []registry.Group
	// Visits are the person's recorded visits in the caller's scope,
	// newest first, with their photos.
	Visits []visitRow
	// Facts are the person's missing facts that eligibility asks, the
	// most deciding first, for the form that records them.
	Facts []factQuestion
}

// factQuestion is a missing fact as the person page asks it: the field,
// its type (the input it takes) and how many policies it would decide.
type factQuestion struct {
	Key, Type, Unit string
	Label           string
	Decides         int
}

// visitRow is a recorded visit as the person page shows it.
type visitRow struct {
	visit.Task
	At, Datetime string
	// Pictures are the visit's photos (served by apiPhotoGet).
	Pictures []visitPicture
}

// visitPicture is a visit's photo: where it is served and its text.
type visitPicture struct{ URL, Alt string }

// personVisits are the person's recorded visits the caller may see (none
// without the visits store).
func (s *registryAPI) personVisits(r *http.Request, id int64) ([]visitRow, error) {
	if s.Visits == nil {
		return nil, nil
	}
	ts, err := s.Visits.Recorded(r.Context(), userOf(r), id, 20)
	if err != nil {
		return nil, err
	}
	out := make([]visitRow, 0, len(ts))
	for _, t := range ts {
		row := visitRow{Task: t}
		if t.VisitedAt != nil {
			row.At, row.Datetime = shanghaiTime(*t.VisitedAt), t.VisitedAt.UTC().Format(time.RFC3339)
		}
		for i, k := range t.Photos {
			row.Pictures = append(row.Pictures, visitPicture{URL: visitPhotoURL(t.ID, k), Alt: s.Catalog.T(langOf(r), "regpages.visit_photo", row.At, i+1)})
		}
		out = append(out, row)
	}
	return out, nil
}

func (s *registryAPI) newRegistryPage(r *http.Request) *registryView {
	return &registryView{Query: r.URL.Query(), Form: &formState{}, Statuses: registry.Statuses(), Uses: registry.HouseUses(),
		Relations: registry.HouseRelations(), MayUnmask: userOf(r).Can(account.PermUnmask)}
}

// nextLink is the list's link to the page after pg when it is full.
func nextLink(r *http.Request, n int, pg registry.Page) string {
	if n < pg.Limit {
		return ""
	}
	q := r.URL.Query()
	q.Set("offset", strconv.Itoa(pg.Offset+n))
	return r.URL.Path + "?" + q.Encode()
}

// pageGrid is a grid at a glance (/grids/{code}): its workers, counts of
// people by status and group, buildings, houses, organisations, open
// cases and visits due, with the first records of each.
func (s *registryAPI) pageGrid(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	ctx, sc, code := r.Context(), registry.ScopeOf(userOf(r)), r.PathValue("code")
	d := s.newRegistryPage(r)
	if d.Grid, err = st.GridSummary(ctx, sc, code); err != nil {
		return err
	}
	first := registry.Page{Limit: 20}
	if d.Groups, err = st.Groups(ctx); err != nil {
		return err
	}
	if d.People, err = st.People(ctx, sc, registry.PeopleFilter{GridCode: code}, first); err != nil {
		return err
	}
	if d.Buildings, err = st.Buildings(ctx, sc, code, registry.Page{Limit: 500}); err != nil {
		return err
	}
	if d.Map, d.Patrols, err = s.gridMapOf(r, code, d.Buildings); err != nil {
		return err
	}
	d.Buildings = d.Buildings[:min(len(d.Buildings), first.Limit)]
	if d.Houses, err = st.Houses(ctx, sc, registry.HouseFilter{GridCode: code, Vacant: true}, first); err != nil {
		return err
	}
	if d.Orgs, err = st.Organisations(ctx, sc, registry.OrgFilter{GridCode: code}, first); err != nil {
		return err
	}
	if s.Accounts != nil {
		if d.Workers, err = s.Accounts.Users(ctx, account.ScopeOf(userOf(r)), account.UserFilter{Role: account.GridWorker, Region: code, Limit: 20}); err != nil {
			return err
		}
	}
	return s.render(w, r, http.StatusOK, "registry_grid.html", s.newPage(r, "registry.grid", d))
}

// pagePeople lists people (/people?grid=&status=&group=&id_number=) with
// the form to register one.
func (s *registryAPI) pagePeople(w http.ResponseWriter, r *http.Request) error {
	return s.showPeople(w, r, http.StatusOK, nil)
}

func (s *registryAPI) showPeople(w http.ResponseWriter, r *http.Request, status int, form *formState) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	pg, err := registryPage(r)
	if err != nil {
		return err
	}
	d := s.newRegistryPage(r)
	if form != nil {
		d.Form = form
	}
	q := r.URL.Query()
	f := registry.PeopleFilter{GridCode: q.Get("grid"), GroupCode: q.Get("group"), IDNumber: q.Get("id_number")}
	if v := q.Get("status"); v != "" && isOneOf(v, registry.Statuses()) {
		f.Status = v
	}
	if d.People, err = st.People(r.Context(), registry.ScopeOf(userOf(r)), f, pg); err != nil {
		return err
	}
	if d.Groups, err = st.Groups(r.Context()); err != nil {
		return err
	}
	d.Next = nextLink(r, len(d.People), pg)
	return s.render(w, r, status, "registry_people.html", s.newPage(r, "registry.people", d))
}

func isOneOf(v string, list []string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// pagePersonAdd registers a person from the form; bad input shows the
// form again with a message per field.
func (s *registryAPI) pagePersonAdd(w http.ResponseWriter, r *http.Request) error {
	return s.submit(w, r, func(st *registry.Store, f url.Values) (string, error) {
		in := registry.PersonInput{IDNumber: f.Get("id_number"), Name: f.Get("name"), Phone: f.Get("phone"), HukouAddress: f.Get("hukou_address"),
			ResidenceAddress: f.Get("residence_address"), Status: f.Get("status"), RegisteredOn: f.Get("registered_on"), HouseholdID: f.Get("household_id"),
			HouseholdRel: f.Get("household_relation"), GridCode: f.Get("grid_code")}
		p, err := st.AddPerson(r.Context(), registry.ScopeOf(userOf(r)), actorOf(r), in)
		if err != nil {
			return "", err
		}
		return "/people/" + strconv.FormatInt(p.ID, 10), nil
	}, func(status int, fs *formState) error { return s.showPeople(w, r, status, fs) })
}

// pagePerson shows a person with their houses and groups; ?unmask=1
// shows personal data to holders of personal.unmask (audited).
func (s *registryAPI) pagePerson(w http.ResponseWriter, r *http.Request) error {
	return s.showPerson(w, r, http.StatusOK, nil)
}

func (s *registryAPI) showPerson(w http.ResponseWriter, r *http.Request, status int, form *formState) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ctx, sc := r.Context(), registry.ScopeOf(userOf(r))
	d := s.newRegistryPage(r)
	if form != nil {
		d.Form = form
	}
	if d.Person, err = st.Person(ctx, sc, id); err != nil {
		return err
	}
	if d.Clear, err = s.unmask(r, "person:"+strconv.FormatInt(id, 10), "name", "id_number", "phone", "address"); err != nil {
		return err
	}
	if d.Clear {
		if d.Person, err = st.PersonClear(ctx, sc, id); err != nil {
			return err
		}
	}
	if d.Links, err = st.HousesOf(ctx, sc, id); err != nil {
		return err
	}
	if d.InGroups, err = st.GroupsOf(ctx, sc, id); err != nil {
		return err
	}
	if d.History, err = s.personHistory(r, st, sc, id); err != nil {
		return err
	}
	if d.LinkTo, err = st.Houses(ctx, sc, registry.HouseFilter{GridCode: d.Person.GridCode}, registry.Page{Limit: 200}); err != nil {
		return err
	}
	if d.Visits, err = s.personVisits(r, id); err != nil {
		return err
	}
	if d.Facts, err = s.factQuestions(r, sc, id); err != nil {
		return err
	}
	groups, err := st.Groups(ctx)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if !slices.Contains(d.InGroups, g.Code) {
			d.Joinable = append(d.Joinable, g)
		}
	}
	return s.render(w, r, status, "registry_person.html", s.newPage(r, "registry.person", d))
}

// pageHouses lists houses (/houses?grid=&use=&vacant=1) with the form to
// register one.
func (s *registryAPI) pageHouses(w http.ResponseWriter, r *http.Request) error {
	return s.showHouses(w, r, http.StatusOK, nil)
}

func (s *registryAPI) showHouses(w http.ResponseWriter, r *http.Request, status int, form *formState) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	pg, err := registryPage(r)
	if err != nil {
		return err
	}
	d := s.newRegistryPage(r)
	if form != nil {
		d.Form = form
	}
	q := r.URL.Query()
	f := registry.HouseFilter{GridCode: q.Get("grid"), Vacant: q.Get("vacant") == "1"}
	if v := q.Get("use"); isOneOf(v, registry.HouseUses()) {
		f.Use = v
	}
	if b, err := strconv.ParseInt(q.Get("building"), 10, 64); err == nil && b > 0 {
		f.BuildingID = b
	}
	sc := registry.ScopeOf(userOf(r))
	if d.Houses, err = st.Houses(r.Context(), sc, f, pg); err != nil {
		return err
	}
	if d.Buildings, err = st.Buildings(r.Context(), sc, f.GridCode, registry.Page{Limit: 200}); err != nil {
		return err
	}
	d.Next = nextLink(r, len(d.Houses), pg)
	return s.render(w, r, status, "registry_houses.html", s.newPage(r, "registry.houses", d))
}

// pageHouseAdd registers a house from the form.
func (s *registryAPI) pageHouseAdd(w http.ResponseWriter, r *http.Request) error {
	return s.submit(w, r, func(st *registry.Store, f url.Values) (string, error) {
		in := registry.HouseInput{Unit: f.Get("unit"), Room: f.Get("room"), Use: f.Get("use")}
		in.BuildingID, _ = strconv.ParseInt(strings.TrimSpace(f.Get("building_id")), 10, 64)
		h, err := st.AddHouse(r.Context(), registry.ScopeOf(userOf(r)), actorOf(r), in)
		if err != nil {
			return "", err
		}
		return "/houses/" + strconv.FormatInt(h.ID, 10), nil
	}, func(status int, fs *formState) error { return s.showHouses(w, r, status, fs) })
}

// pageHouse shows a house and its residents.
func (s *registryAPI) pageHouse(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ctx, sc := r.Context(), registry.ScopeOf(userOf(r))
	d := s.newRegistryPage(r)
	if d.House, err = st.House(ctx, sc, id); err != nil {
		return err
	}
	if d.Residents, err = st.Residents(ctx, sc, id, false); err != nil {
		return err
	}
	if d.Orgs, err = st.Organisations(ctx, sc, registry.OrgFilter{HouseID: id}, registry.Page{Limit: 50}); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "registry_house.html", s.newPage(r, "registry.house", d))
}

// pageOrganisations lists organisations with the form to register one.
func (s *registryAPI) pageOrganisations(w http.ResponseWriter, r *http.Request) error {
	return s.showOrganisations(w, r, http.StatusOK, nil)
}

func (s *registryAPI) showOrganisations(w http.ResponseWriter, r *http.Request, status int, form *formState) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	pg, err := registryPage(r)
	if err != nil {
		return err
	}
	d := s.newRegistryPage(r)
	if form != nil {
		d.Form = form
	}
	if d.Orgs, err = st.Organisations(r.Context(), registry.ScopeOf(userOf(r)), registry.OrgFilter{GridCode: r.URL.Query().Get("grid")}, pg); err != nil {
		return err
	}
	d.Next = nextLink(r, len(d.Orgs), pg)
	return s.render(w, r, status, "registry_orgs.html", s.newPage(r, "registry.orgs", d))
}

// submit handles a registry form: add makes the record from the form and
// returns where to go next; a refusal shows the list again (show) with the
// form's messages.
func (s *registryAPI) submit(w http.ResponseWriter, r *http.Request, add func(st *registry.Store, f url.Values) (string, error),
	show func(status int, fs *formState) error) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return formErr(err)
	}
	next, err := add(st, r.PostForm)
	if err != nil {
		fs := &formState{Values: r.PostForm}
		status, err := s.failForm(r, fs, err)
		if err != nil {
			return err
		}
		return show(status, fs)
	}
	return s.redirect(w, r, next)
}

// pageOrganisationAdd registers an organisation from the form.
func (s *registryAPI) pageOrganisationAdd(w http.ResponseWriter, r *http.Request) error {
	return s.submit(w, r, func(st *registry.Store, f url.Values) (string, error) {
		in := registry.OrganisationInput{CreditCode: f.Get("credit_code"), Name: f.Get("name"), Address: f.Get("address"), ContactName: f.Get("contact_name"),
			ContactPhone: f.Get("contact_phone"), Industry: f.Get("industry"), GridCode: f.Get("grid_code")}
		o, err := st.AddOrganisation(r.Context(), registry.ScopeOf(userOf(r)), actorOf(r), in)
		if err != nil {
			return "", err
		}
		return "/organisations/" + strconv.FormatInt(o.ID, 10), nil
	}, func(status int, fs *formState) error { return s.showOrganisations(w, r, status, fs) })
}

// pageOrganisation shows one organisation.
func (s *registryAPI) pageOrganisation(w http.ResponseWriter, r *http.Request) error {
	st, err := s.store()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d := s.newRegistryPage(r)
	if d.Org, err = st.Organisation(r.Context(), registry.ScopeOf(userOf(r)), id); err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "registry_org.html", s.newPage(r, "registry.org", d))
}

// maxFactQuestions is how many missing facts the person page asks.
const maxFactQuestions = 8

// factQuestions are the person's missing facts that eligibility asks
// today, the most deciding first, with their field types.
func (s *registryAPI) factQuestions(r *http.Request, sc account.Scope, id int64) ([]factQuestion, error) {
	if s.Eligibility == nil || s.Clock == nil {
		return nil, nil
	}
	rs, err := s.Eligibility.Evaluate(r.Context(), sc, policy.Subject{Kind: policy.KindPerson, ID: id}, policy.ChinaDate(s.Clock.Now()))
	if err != nil {
		return nil, err
	}
	fields := map[string]policy.Field{}
	for _, f := range s.Eligibility.Fields(policy.KindPerson) {
		fields[f.Key] = f
	}
	zh := langOf(r) != "en"
	var out []factQuestion
	for _, q := range policy.Questions(rs) {
		f, ok := fields[q.Key]
		if !ok || f.Derived || len(out) == maxFactQuestions {
			continue
		}
		label := q.Label.EN
		if zh {
			label = q.Label.ZH
		}
		out = append(out, factQuestion{Key: q.Key, Type: f.Type, Unit: f.Unit, Label: label, Decides: q.Decides})
	}
	return out, nil
}

// pagePersonFacts records the person's missing facts from the person
// page's form: each answered "facts.<key>" goes to the eligibility engine
// as yes/no, a number or text, which checks it against the field's type.
func (s *registryAPI) pagePersonFacts(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	return s.submit(w, r, func(_ *registry.Store, f url.Values) (string, error) {
		if s.Eligibility == nil {
			return "", errs.E(errs.Unavailable, "error.unavailable")
		}
		in := policy.FactsInput{Facts: map[string]any{}, Verified: f.Get("verified") == "1", Source: strings.TrimSpace(f.Get("source"))}
		for k, vs := range f {
			key, ok := strings.CutPrefix(k, "facts.")
			if !ok || len(vs) == 0 || strings.TrimSpace(vs[0]) == "" {
				continue
			}
			in.Facts[key] = formFact(strings.TrimSpace(vs[0]))
		}
		if err := s.Eligibility.RecordFacts(r.Context(), registry.ScopeOf(userOf(r)), actorOf(r), id, in); err != nil {
			return "", err
		}
		return "/people/" + strconv.FormatInt(id, 10) + "#facts", nil
	}, func(status int, fs *formState) error { return s.showPerson(w, r, status, fs) })
}

// formFact reads a form's answer as yes/no, a number, or else text; the
// engine refuses it when the field wants another type.
func formFact(v string) any {
	switch v {
	case "true":
		return true
	case "false":
		return false
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		return n
	}
	return v
}
