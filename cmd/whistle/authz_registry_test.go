package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/idcode"
	"whistle/internal/registry"
)

// The registry's part of the authorization matrix (issue 16): grid
// workers see their grid, community staff their community, street staff
// their street, leaders and admins the district; residents, party members
// and department handlers get 404 on everything.
var (
	seeRegIn    = []who{grid, community, street, leader, admin}
	seeRegOut   = []who{leader, admin}
	regTargets  = []target{in, out, other}
	regSecretPh = "13905774321"
)

func regSees() map[target][]who { return map[target][]who{in: seeRegIn, out: seeRegOut, other: {}} }

// registryFixture are the registry records the matrix names: a person, a
// building, a house and an organisation in each target's grid.
type registryFixture struct {
	grid     map[target]string
	person   map[target]int64
	idNumber map[target]string
	building map[target]int64
	house    map[target]int64
	org      map[target]int64
}

// plantRegistry adds the registry records of each target; their phones
// and identity numbers join the secrets no answer may show.
func (f *authzFixture) plantRegistry() {
	ctx := context.Background()
	st, sc, sys := f.w.registry, account.SystemScope(), audit.System("authz test")
	r := &registryFixture{grid: map[target]string{}, person: map[target]int64{}, idNumber: map[target]string{}, building: map[target]int64{},
		house: map[target]int64{}, org: map[target]int64{}}
	for i, tg := range regTargets {
		g := f.userRegion[tg]
		r.grid[tg] = g
		p := f.interior[g]
		b, err := st.AddBuilding(ctx, sc, sys, registry.BuildingInput{Address: "矩阵路 " + strconv.Itoa(i+1) + " 号", Lat: p.Lat(), Lng: p.Lon()})
		if err != nil {
			f.t.Fatalf("building %s: %v", tg, err)
		}
		h, err := st.AddHouse(ctx, sc, sys, registry.HouseInput{BuildingID: b.ID, Unit: "1", Room: "101"})
		if err != nil {
			f.t.Fatalf("house %s: %v", tg, err)
		}
		id := idNumber(fmt.Sprintf("33030319700101%03d", 700+i))
		person, err := st.AddPerson(ctx, sc, sys, registry.PersonInput{IDNumber: id, Name: "矩阵居民", Phone: regSecretPh, Status: registry.StatusResident,
			GridCode: g, HouseID: h.ID, HouseRelation: registry.RelOwner})
		if err != nil {
			f.t.Fatalf("person %s: %v", tg, err)
		}
		o, err := st.AddOrganisation(ctx, sc, sys, registry.OrganisationInput{CreditCode: f.creditCode(), Name: "矩阵单位", Address: "矩阵路", HouseID: h.ID})
		if err != nil {
			f.t.Fatalf("organisation %s: %v", tg, err)
		}
		r.building[tg], r.house[tg], r.person[tg], r.idNumber[tg], r.org[tg] = b.ID, h.ID, person.ID, id, o.ID
		f.secrets = append(f.secrets, id)
	}
	f.secrets = append(f.secrets, regSecretPh)
	f.reg = r
}

// relink links target t's person to its house again as owner (a route
// that unlinks them finds the link whoever called it before).
func (f *authzFixture) relink(t target) {
	if err := f.w.registry.Link(context.Background(), account.SystemScope(), audit.System("authz test"), f.reg.person[t], f.reg.house[t], registry.RelOwner); err != nil {
		f.t.Fatalf("link %s: %v", t, err)
	}
}

// linked reports whether target t's person is linked to its house.
func (f *authzFixture) linked(t target) bool {
	var n int
	if err := f.w.app.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM reg_person_houses WHERE person_id = $1 AND house_id = $2`,
		f.reg.person[t], f.reg.house[t]).Scan(&n); err != nil {
		f.t.Fatal(err)
	}
	return n == 1
}

// creditCode is a fresh valid unified social credit code.
func (f *authzFixture) creditCode() string {
	s := fmt.Sprintf("91330303MA%07d", f.seq.Add(1))
	return s + string(idcode.CreditCheck(s))
}

// registryMatrix is the registry's expectations, merged into matrix.
func registryMatrix() map[string]spec {
	scoped := func(req func(f *authzFixture, w who, t target) *http.Request) spec {
		return spec{targets: regTargets, sees: regSees(), req: req}
	}
	get := func(path func(f *authzFixture, t target) string) spec {
		return scoped(func(f *authzFixture, w who, t target) *http.Request { return f.request(w, "GET", path(f, t), nil, "") })
	}
	post := func(method string, path func(f *authzFixture, t target) string, body func(f *authzFixture, t target) any) spec {
		return scoped(func(f *authzFixture, w who, t target) *http.Request {
			return f.jsonRequest(w, method, path(f, t), body(f, t))
		})
	}
	form := func(path func(f *authzFixture, t target) string, vals func(f *authzFixture, t target) url.Values) spec {
		return scoped(func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "POST", path(f, t), strings.NewReader(vals(f, t).Encode()), "application/x-www-form-urlencoded")
		})
	}
	fixed := func(p string) func(*authzFixture, target) string {
		return func(*authzFixture, target) string { return p }
	}
	person := func(suffix string) func(*authzFixture, target) string {
		return func(f *authzFixture, t target) string {
			return "/api/v1/people/" + strconv.FormatInt(f.reg.person[t], 10) + suffix
		}
	}
	inGrid := func(base string) func(*authzFixture, target) string {
		return func(f *authzFixture, t target) string { return base + "?grid=" + f.reg.grid[t] }
	}
	return map[string]spec{
		"GET /api/v1/people": get(inGrid("/api/v1/people")),
		"POST /api/v1/people": post("POST", fixed("/api/v1/people"), func(f *authzFixture, t target) any {
			return map[string]any{"id_number": idNumber(fmt.Sprintf("33030319900101%03d", f.seq.Add(1)%1000)), "name": "矩阵新人",
				"status": "lodging", "grid_code": f.reg.grid[t]}
		}),
		"GET /api/v1/people/{id}":   get(person("")),
		"PATCH /api/v1/people/{id}": post("PATCH", person(""), func(*authzFixture, target) any { return map[string]any{"household_id": ""} }),
		"POST /api/v1/people/{id}/houses": post("POST", person("/houses"), func(f *authzFixture, t target) any {
			return map[string]any{"house_id": f.reg.house[t], "relation": "owner"}
		}),
		"DELETE /api/v1/people/{id}/houses/{house}": scoped(func(f *authzFixture, w who, t target) *http.Request {
			// Every caller finds the person linked to the house.
			f.relink(t)
			return f.request(w, "DELETE", person("/houses/"+strconv.FormatInt(f.reg.house[t], 10))(f, t), nil, "")
		}),
		"GET /api/v1/people/{id}/history": get(person("/history")),
		"GET /api/v1/buildings":           get(inGrid("/api/v1/buildings")),
		"POST /api/v1/buildings": post("POST", fixed("/api/v1/buildings"), func(f *authzFixture, t target) any {
			p := f.interior[f.reg.grid[t]]
			return map[string]any{"address": f.unique("矩阵楼"), "lat": p.Lat(), "lng": p.Lon()}
		}),
		"GET /api/v1/houses": get(inGrid("/api/v1/houses")),
		"POST /api/v1/houses": post("POST", fixed("/api/v1/houses"), func(f *authzFixture, t target) any {
			return map[string]any{"building_id": f.reg.building[t], "room": f.unique("r")}
		}),
		"GET /api/v1/houses/{id}/residents": get(func(f *authzFixture, t target) string {
			return "/api/v1/houses/" + strconv.FormatInt(f.reg.house[t], 10) + "/residents"
		}),
		"GET /api/v1/organisations": get(inGrid("/api/v1/organisations")),
		"POST /api/v1/organisations": post("POST", fixed("/api/v1/organisations"), func(f *authzFixture, t target) any {
			return map[string]any{"credit_code": f.creditCode(), "name": f.unique("矩阵公司"), "address": "矩阵路 1 号", "grid_code": f.reg.grid[t]}
		}),
		"GET /api/v1/grids/{code}/summary": get(func(f *authzFixture, t target) string { return "/api/v1/grids/" + f.reg.grid[t] + "/summary" }),
		"GET /api/v1/regions/{code}/base-counts": get(func(f *authzFixture, t target) string {
			return "/api/v1/regions/" + f.reg.grid[t] + "/base-counts"
		}),

		// Pages.
		"GET /grids/{code}": get(func(f *authzFixture, t target) string { return "/grids/" + f.reg.grid[t] }),
		"GET /people":       get(inGrid("/people")),
		"POST /people": form(fixed("/people"), func(f *authzFixture, t target) url.Values {
			return url.Values{"id_number": {idNumber(fmt.Sprintf("33030319910101%03d", f.seq.Add(1)%1000))}, "name": {"矩阵表单"},
				"status": {"resident"}, "grid_code": {f.reg.grid[t]}}
		}),
		"GET /people/{id}": get(func(f *authzFixture, t target) string { return "/people/" + strconv.FormatInt(f.reg.person[t], 10) }),
		"POST /people/{id}/houses": form(func(f *authzFixture, t target) string {
			return "/people/" + strconv.FormatInt(f.reg.person[t], 10) + "/houses"
		}, func(f *authzFixture, t target) url.Values {
			return url.Values{"house_id": {strconv.FormatInt(f.reg.house[t], 10)}, "relation": {"family"}}
		}),
		"POST /people/{id}/houses/{house}/delete": scoped(func(f *authzFixture, w who, t target) *http.Request {
			f.relink(t)
			path := "/people/" + strconv.FormatInt(f.reg.person[t], 10) + "/houses/" + strconv.FormatInt(f.reg.house[t], 10) + "/delete"
			return f.request(w, "POST", path, strings.NewReader(""), "application/x-www-form-urlencoded")
		}),
		"POST /people/{id}/groups": form(func(f *authzFixture, t target) string {
			return "/people/" + strconv.FormatInt(f.reg.person[t], 10) + "/groups"
		}, func(*authzFixture, target) url.Values {
			return url.Values{"group": {"left_behind_child"}, "note": {"矩阵表单"}, "form": {"group"}}
		}),
		"POST /people/{id}/groups/{group}/delete": scoped(func(f *authzFixture, w who, t target) *http.Request {
			// Every caller finds the person in the group.
			if err := f.w.visits.Join(context.Background(), account.SystemScope(), audit.System("authz test"), "petitioner", f.reg.person[t], ""); err != nil {
				f.t.Fatalf("join: %v", err)
			}
			path := "/people/" + strconv.FormatInt(f.reg.person[t], 10) + "/groups/petitioner/delete"
			return f.request(w, "POST", path, strings.NewReader("form=group"), "application/x-www-form-urlencoded")
		}),
		"GET /houses": get(inGrid("/houses")),
		"POST /houses": form(fixed("/houses"), func(f *authzFixture, t target) url.Values {
			return url.Values{"building_id": {strconv.FormatInt(f.reg.building[t], 10)}, "room": {f.unique("f")}}
		}),
		"GET /houses/{id}":   get(func(f *authzFixture, t target) string { return "/houses/" + strconv.FormatInt(f.reg.house[t], 10) }),
		"GET /organisations": get(inGrid("/organisations")),
		"POST /organisations": form(fixed("/organisations"), func(f *authzFixture, t target) url.Values {
			return url.Values{"credit_code": {f.creditCode()}, "name": {f.unique("矩阵表单单位")}, "address": {"矩阵路"}, "grid_code": {f.reg.grid[t]}}
		}),
		"GET /organisations/{id}": get(func(f *authzFixture, t target) string {
			return "/organisations/" + strconv.FormatInt(f.reg.org[t], 10)
		}),
	}
}

// TestRegistryScope checks what the registry answers with a 200: each
// caller finds exactly the planted people of their scope by identity
// number, the grid summary counts them, and only the holders of
// personal.unmask see a person in the clear, with the view audited.
func TestRegistryScope(t *testing.T) {
	f := newAuthzFixture(t)
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(w who, path string, v any) int {
		t.Helper()
		resp, err := client.Do(f.request(w, "GET", path, nil, ""))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			readSome(resp)
			return resp.StatusCode
		}
		jsonBody(t, resp, v)
		return resp.StatusCode
	}
	for _, tg := range regTargets {
		for _, w := range loggedIn {
			sees := slices.Contains(regSees()[tg], w)
			var list struct{ People []registry.Person }
			code := get(w, "/api/v1/people?id_number="+url.QueryEscape(strings.ToLower(f.reg.idNumber[tg])), &list)
			var ids []int64
			for _, p := range list.People {
				ids = append(ids, p.ID)
			}
			want := []int64(nil)
			if sees {
				want = []int64{f.reg.person[tg]}
			}
			if !slices.Equal(ids, want) {
				t.Errorf("GET /api/v1/people?id_number= as %s, target %s: got %v (%d), want %v", w, tg, ids, code, want)
			}
			var sum registry.GridSummary
			code = get(w, "/api/v1/grids/"+f.reg.grid[tg]+"/summary", &sum)
			if sees && (code != http.StatusOK || sum.People < 1 || sum.Houses < 1 || sum.GridCode != f.reg.grid[tg]) {
				t.Errorf("summary of %s as %s: %d %+v", tg, w, code, sum)
			}
			if !sees && code != http.StatusNotFound {
				t.Errorf("summary of %s as %s: got %d, want 404", tg, w, code)
			}
			// The rollup's counts of the grid agree with its summary.
			var bc registry.BaseCounts
			code = get(w, "/api/v1/regions/"+f.reg.grid[tg]+"/base-counts", &bc)
			if sees && (code != http.StatusOK || bc.People != int64(sum.People) || bc.Houses != int64(sum.Houses) || bc.Node != f.reg.grid[tg]) {
				t.Errorf("base counts of %s as %s: %d %+v, summary %+v", tg, w, code, bc, sum)
			}
			if !sees && code != http.StatusNotFound {
				t.Errorf("base counts of %s as %s: got %d, want 404", tg, w, code)
			}
		}
	}
	// The case reported in the demo grid is open: the summary counts it.
	var sum registry.GridSummary
	if get(admin, "/api/v1/grids/"+f.reg.grid[in]+"/summary", &sum); sum.OpenCases < 1 {
		t.Errorf("open cases of the demo grid: got %d, want at least 1", sum.OpenCases)
	}
	// Unmasking: community and street staff and admins (personal.unmask).
	path := "/api/v1/people/" + strconv.FormatInt(f.reg.person[in], 10) + "?unmask=1"
	for _, w := range seeRegIn {
		var p registry.Person
		get(w, path, &p)
		mayUnmask := w == community || w == street || w == admin
		if got := p.IDNumber == f.reg.idNumber[in] && !p.Masked; got != mayUnmask {
			t.Errorf("GET %s as %s: clear %v (%s), want %v", path, w, got, p.IDNumber, mayUnmask)
		}
	}
	n, err := audit.NewLog(f.w.app.db).Count(context.Background(), audit.Filter{Action: account.ActionUnmask, Q: "person:" + strconv.FormatInt(f.reg.person[in], 10)})
	if err != nil || n != 3 {
		t.Errorf("unmask audit entries: got %d, %v; want 3", n, err)
	}
}

// TestRegistryAuthorizationEffect: the person page's writes (unlinking a
// house, joining and leaving a group) and the unlink API, as every caller on a target in scope, in another street
// and in another district. Besides the status, an allowed call changed the
// data (the link gone) and a refused one left it as it was.
func TestRegistryAuthorizationEffect(t *testing.T) {
	f := newAuthzFixture(t)
	client := &http.Client{Timeout: 30 * time.Second}
	rows := matrix()
	member := func(tg target, group string) string {
		var n int
		if err := f.w.app.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM reg_group_members WHERE person_id = $1 AND group_code = $2`,
			f.reg.person[tg], group).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(n == 1)
	}
	for _, c := range []struct {
		route         string
		prepare       func(tg target)
		state         func(tg target) string
		before, after string
	}{
		{"DELETE /api/v1/people/{id}/houses/{house}", nil, func(tg target) string { return fmt.Sprint(f.linked(tg)) }, "true", "false"},
		{"POST /people/{id}/houses/{house}/delete", nil, func(tg target) string { return fmt.Sprint(f.linked(tg)) }, "true", "false"},
		{"POST /people/{id}/groups", func(tg target) {
			if err := f.w.app.db.InTx(context.Background(), func(tx *db.Tx) error {
				_, err := tx.Exec(context.Background(), `DELETE FROM reg_group_members WHERE person_id = $1 AND group_code = 'left_behind_child'`, f.reg.person[tg])
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}, func(tg target) string { return member(tg, "left_behind_child") }, "false", "true"},
		{"POST /people/{id}/groups/{group}/delete", nil, func(tg target) string { return member(tg, "petitioner") }, "true", "false"},
	} {
		sp := rows[c.route]
		for _, tg := range regTargets {
			for _, w := range callers {
				if c.prepare != nil {
					c.prepare(tg)
				}
				req := sp.req(f, w, tg)
				if got := c.state(tg); got != c.before {
					t.Fatalf("%s on %s: before the call got %s, want %s", c.route, tg, got, c.before)
				}
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body := readSome(resp)
				want := sp.want(w, tg)
				where := fmt.Sprintf("%s as %s on %s", c.route, w, tg)
				if got := classify(resp); got != want {
					t.Errorf("%s: got %s (%d %s), want %s", where, got, resp.StatusCode, firstLine(body), want)
				}
				got := c.state(tg)
				switch {
				case want == ok && got != c.after:
					t.Errorf("%s: allowed, but the state is %s, want %s", where, got, c.after)
				case want != ok && got != c.before:
					t.Errorf("%s: refused, but the state changed to %s", where, got)
				}
			}
		}
	}
}
