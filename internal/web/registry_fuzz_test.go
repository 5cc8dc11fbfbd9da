package web

// Fuzz targets for the registry's decoders (api_registry.go): the JSON
// bodies of people, buildings, houses, links and organisations, and the
// list queries. Each drives a real Server as grid worker "grid" of grid
// A1 and checks apiAnswer's invariants, plus: a 201 passed the domain's
// validation and reads back in the caller's grid; a 200 list holds only
// records of the caller's grid; no answer shows a personal value planted
// in the clear.
//
//	go test ./internal/web -run '^$' -fuzz '^FuzzRegistryPersonJSON$' -fuzztime 30s

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/idcode"
	"whistle/internal/notify"
	"whistle/internal/registry"
	"whistle/internal/worldtest"
)

const fuzzGridA = "330303001001001"

// registryWorld is a fuzzWorld with the registry behind the server and a
// person, a building and a house of grid A1 in it.
type registryWorld struct {
	*fuzzWorld
	reg      *registry.Store
	person   int64
	building int64
	house    int64
	secret   string // the planted person's identity number
}

func fuzzID(first17 string) string { return first17 + string(idcode.ResidentCheck(first17)) }

func newRegistryWorld(tb testing.TB) *registryWorld {
	tb.Helper()
	ctx := context.Background()
	users := []worldtest.User{{Name: "grid", Region: fuzzGridA, Role: account.GridWorker}, {Name: "staff", Region: "330303001001", Role: account.CommunityStaff}}
	watch := &panicWatch{}
	logger := slog.New(watch)
	d := dbtest.MustOpenDB(tb, db.SQLite, clock.Real{})
	wt := worldtest.New(tb, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Users: users, Logger: logger})
	reg := registry.NewStore(registry.Deps{DB: d, Regions: wt.Regions, Cases: wt.Cases})
	_, ts := serve(tb, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: wt.Accounts, Regions: wt.Regions, Cases: wt.Cases,
		Categories: wt.Categories, BaseData: reg, Logger: logger})
	w := &registryWorld{fuzzWorld: &fuzzWorld{ts: ts, watch: watch, tokens: map[string]string{}, csrf: map[string]string{}}, reg: reg}
	for _, u := range users {
		tok, _, sess, err := wt.Accounts.Login(ctx, u.Name, worldtest.Password, account.WebSession, account.Client{IP: "127.0.0.1"})
		if err != nil {
			tb.Fatal(err)
		}
		w.tokens[u.Name], w.csrf[u.Name] = tok, sess.CSRF
	}
	sc, sys := account.SystemScope(), audit.System("fuzz")
	w.secret = fuzzID("33030319800101001")
	p, err := reg.AddPerson(ctx, sc, sys, registry.PersonInput{IDNumber: w.secret, Name: "王五", Phone: "13955556666", Status: "resident", GridCode: fuzzGridA})
	if err != nil {
		tb.Fatal(err)
	}
	b, err := reg.AddBuilding(ctx, sc, sys, registry.BuildingInput{Address: "一路1号", Lat: 27.005, Lng: 120.005})
	if err != nil {
		tb.Fatal(err)
	}
	h, err := reg.AddHouse(ctx, sc, sys, registry.HouseInput{BuildingID: b.ID, Room: "101"})
	if err != nil {
		tb.Fatal(err)
	}
	w.person, w.building, w.house = p.ID, b.ID, h.ID
	return w
}

// clearShown fails when a body shows the planted personal data.
func (w *registryWorld) clearShown(t *testing.T, what string, raw []byte) {
	t.Helper()
	if strings.Contains(string(raw), w.secret) || strings.Contains(string(raw), "13955556666") {
		t.Fatalf("%s shows personal data in the clear: %.300s", what, raw)
	}
}

// inGridA fails unless a created or listed record lies in grid A1.
func inGridA(t *testing.T, what string, grid string) {
	t.Helper()
	if grid != fuzzGridA {
		t.Fatalf("%s: a record of grid %q, want %s", what, grid, fuzzGridA)
	}
}

// FuzzRegistryPersonJSON posts arbitrary JSON to POST /api/v1/people or
// PATCH /api/v1/people/{id}: a person created passed ValidatePerson, lies
// in the caller's grid and reads back; a patched one stays in it.
func FuzzRegistryPersonJSON(f *testing.F) {
	id := fuzzID("33030319900101123")
	for i, s := range []string{
		`{"id_number":"` + id + `","name":"张三","status":"resident","grid_code":"` + fuzzGridA + `"}`,
		`{"id_number":"` + strings.ToLower(fuzzID("11010519491231002")) + `","name":"李四","sex":"女","birth_date":"1949-12-31","status":"floating","registered_on":"2026-01-01","grid_code":"` + fuzzGridA + `"}`,
		`{"id_number":"` + id[:17] + `0","name":"x","status":"resident","grid_code":"` + fuzzGridA + `"}`,
		`{"id_number":"` + fuzzID("33030319900101125") + `","name":"x","status":"resident","grid_code":"330303001002001"}`,
		`{"id_number":"` + id + `","name":"x","status":"resident","house_id":1,"house_relation":"tenant"}`,
		`{"name":"张三","phone":"1","status":"visitor"}`, `{"household_id":"H1","household_relation":"boss"}`, `{"grid_code":"330303001001001"}`,
		`{"status":"floating"}`, `{"id_number":null}`, `{"id_number":12}`, `{}`, `null`, `[]`, `{"x":1}`,
	} {
		f.Add([]byte(s), i%3 == 2, i%2 == 0)
	}
	w := newRegistryWorld(f)
	f.Fuzz(func(t *testing.T, body []byte, patch, en bool) {
		path, method, ok := "/api/v1/people", "POST", http.StatusCreated
		if patch {
			path, method, ok = "/api/v1/people/"+strconv.FormatInt(w.person, 10), "PATCH", http.StatusOK
		}
		before := w.people(t)
		code, raw := w.do(t, method, path, "grid", "application/json", body, lang(en)...)
		w.clearShown(t, method+" person", raw)
		if !apiAnswer(t, method+" person", code, raw, ok) {
			if after := w.people(t); after != before {
				t.Fatalf("%s answered %d but changed the people: %s -> %s", method, code, before, after)
			}
			return
		}
		var out registry.Person
		if err := json.Unmarshal(raw, &out); err != nil || out.ID == 0 || !out.Masked {
			t.Fatalf("%d without a masked person: %s", code, raw)
		}
		inGridA(t, method+" person", out.GridCode)
		if !patch {
			var in registry.PersonInput
			if err := json.Unmarshal(body, &in); err != nil {
				t.Fatalf("201 from a body that is not a person: %s", body)
			}
			if _, err := registry.ValidatePerson(in, time.Now()); err != nil {
				t.Fatalf("201 for a person ValidatePerson refuses (%v): %s", err, body)
			}
		}
		code, back := w.get(t, "/api/v1/people/"+strconv.FormatInt(out.ID, 10), "grid")
		var got registry.Person
		if code != http.StatusOK || json.Unmarshal(back, &got) != nil || got.IDNumber != out.IDNumber || got.Name != out.Name {
			t.Fatalf("person %d reads back as %d %s, answered %s", out.ID, code, back, raw)
		}
	})
}

// people is every stored person, as text, to compare before and after.
func (w *registryWorld) people(t *testing.T) string {
	t.Helper()
	ps, err := w.reg.People(context.Background(), account.SystemScope(), registry.PeopleFilter{Clear: true}, registry.Page{Limit: registry.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(ps)
}

// get sends a GET as user.
func (w *registryWorld) get(t testing.TB, path, user string) (int, []byte) {
	t.Helper()
	return w.do(t, "GET", path, user, "", nil)
}

// FuzzRegistryPlaceJSON posts arbitrary JSON to POST /api/v1/buildings,
// /api/v1/houses or /api/v1/people/{id}/houses (by which): what was
// created lies in the caller's grid and reads back.
func FuzzRegistryPlaceJSON(f *testing.F) {
	for i, s := range []string{
		`{"address":"二路2号","lat":27.005,"lng":120.005,"floors":6,"units":2}`, `{"address":"x","lat":27.005,"lng":120.015}`,
		`{"address":"x","lat":91,"lng":0}`, `{"address":"","lat":"27"}`, `{"building_id":1,"unit":"1","room":"102","use":"shop"}`,
		`{"building_id":1,"room":"101"}`, `{"building_id":99,"room":"1"}`, `{"building_id":1,"room":"1","use":"castle","area":-1}`,
		`{"house_id":1,"relation":"tenant"}`, `{"house_id":1,"relation":"friend"}`, `{"house_id":99,"relation":"owner"}`, `{}`, `null`,
	} {
		f.Add([]byte(s), uint8(i), i%2 == 0)
	}
	w := newRegistryWorld(f)
	f.Fuzz(func(t *testing.T, body []byte, which uint8, en bool) {
		paths := []string{"/api/v1/buildings", "/api/v1/houses", "/api/v1/people/" + strconv.FormatInt(w.person, 10) + "/houses"}
		path := paths[int(which)%len(paths)]
		ok := http.StatusCreated
		if which%3 == 2 {
			ok = http.StatusOK
		}
		code, raw := w.do(t, "POST", path, "grid", "application/json", body, lang(en)...)
		if !apiAnswer(t, path, code, raw, ok) {
			return
		}
		switch which % 3 {
		case 0:
			var b registry.Building
			if json.Unmarshal(raw, &b) != nil || b.ID == 0 {
				t.Fatalf("201 without a building: %s", raw)
			}
			inGridA(t, "building", b.GridCode)
			if b.Lng < 120 || b.Lng > 120.01 || b.Lat < 27 || b.Lat > 27.01 {
				t.Fatalf("building at %v,%v placed in grid A1", b.Lat, b.Lng)
			}
		case 1:
			var h registry.House
			if json.Unmarshal(raw, &h) != nil || h.ID == 0 {
				t.Fatalf("201 without a house: %s", raw)
			}
			inGridA(t, "house", h.GridCode)
			code, back := w.get(t, "/api/v1/houses/"+strconv.FormatInt(h.ID, 10)+"/residents", "grid")
			if code != http.StatusOK {
				t.Fatalf("house %d: residents %d %s", h.ID, code, back)
			}
		default:
			var l struct{ Houses []registry.HouseLink }
			if json.Unmarshal(raw, &l) != nil || len(l.Houses) == 0 {
				t.Fatalf("200 without the person's houses: %s", raw)
			}
			for _, h := range l.Houses {
				inGridA(t, "linked house", h.GridCode)
			}
		}
	})
}

// FuzzRegistryOrganisationJSON posts arbitrary JSON to POST
// /api/v1/organisations: one created has a valid credit code and lies in
// the caller's grid.
func FuzzRegistryOrganisationJSON(f *testing.F) {
	code := "91330303MA2AB0CD1"
	code += string(idcode.CreditCheck(code))
	codeB := "91330303MA2AB0CD2"
	codeB += string(idcode.CreditCheck(codeB))
	for i, s := range []string{
		`{"credit_code":"` + code + `","name":"某公司","address":"一路1号","grid_code":"` + fuzzGridA + `"}`,
		`{"credit_code":"` + strings.ToLower(code) + `","name":"店","address":"一路1号","house_id":1,"kind":"shop","size":"micro","safety_category":"key"}`,
		`{"credit_code":"` + code[:17] + `I","name":"x","address":"x","grid_code":"` + fuzzGridA + `"}`,
		`{"credit_code":"` + codeB + `","name":"x","address":"x","grid_code":"330303001002001"}`,
		`{"credit_code":"1","contact_phone":"abc","size":"huge"}`, `{"house_id":-1}`, `{}`, `null`,
	} {
		f.Add([]byte(s), i%2 == 0)
	}
	w := newRegistryWorld(f)
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		status, raw := w.do(t, "POST", "/api/v1/organisations", "grid", "application/json", body, lang(en)...)
		if !apiAnswer(t, "organisation", status, raw, http.StatusCreated) {
			return
		}
		var o registry.Organisation
		if json.Unmarshal(raw, &o) != nil || o.ID == 0 {
			t.Fatalf("201 without an organisation: %s", raw)
		}
		if c, err := idcode.CreditCode(o.CreditCode); err != nil || c != o.CreditCode {
			t.Fatalf("organisation with the credit code %q (%v)", o.CreditCode, err)
		}
		inGridA(t, "organisation", o.GridCode)
	})
}

// FuzzRegistryQuery sends arbitrary queries to the registry's lists and
// the grid summary: a 200 holds only records of the caller's grid, masked.
func FuzzRegistryQuery(f *testing.F) {
	for i, q := range []string{
		"grid=" + fuzzGridA, "grid=330303001002001", "status=floating&limit=2", "status=x", "limit=-1", "offset=abc", "limit=100000",
		"id_number=" + fuzzID("33030319800101001"), "vacant=1&use=shop", "building=abc", "rental=rented", "kind=shop&safety_category=key",
		"unmask=1", "group=elderly_alone", "grid=%00", "",
	} {
		f.Add(q, uint8(i))
	}
	w := newRegistryWorld(f)
	f.Fuzz(func(t *testing.T, q string, which uint8) {
		paths := []string{"/api/v1/people", "/api/v1/houses", "/api/v1/organisations", "/api/v1/buildings", "/api/v1/grids/"}
		path := paths[int(which)%len(paths)]
		if strings.HasSuffix(path, "/") {
			path += fmt.Sprintf("%s/summary", strings.Map(func(r rune) rune {
				if r == '/' || r == '?' || r == '#' || r == '%' || r < ' ' || r == 0x7f {
					return -1
				}
				return r
			}, q))
		} else {
			vals, err := url.ParseQuery(q)
			if err != nil {
				return // not a query a client can send
			}
			path += "?" + vals.Encode()
		}
		code, raw := w.get(t, path, "grid")
		w.clearShown(t, path, raw)
		if !apiAnswer(t, path, code, raw, http.StatusOK) {
			return
		}
		var out struct {
			People        []registry.Person
			Houses        []registry.House
			Organisations []registry.Organisation
			Buildings     []registry.Building
			GridCode      string `json:"grid_code"`
		}
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s: %v: %s", path, err, raw)
		}
		var grids []string
		for _, p := range out.People {
			grids = append(grids, p.GridCode)
			if !p.Masked {
				t.Fatalf("%s: an unmasked person for a grid worker: %s", path, raw)
			}
		}
		for _, h := range out.Houses {
			grids = append(grids, h.GridCode)
		}
		for _, o := range out.Organisations {
			grids = append(grids, o.GridCode)
		}
		for _, b := range out.Buildings {
			grids = append(grids, b.GridCode)
		}
		if out.GridCode != "" {
			grids = append(grids, out.GridCode)
		}
		for _, g := range grids {
			inGridA(t, path, g)
		}
	})
}
