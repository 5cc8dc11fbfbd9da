package registry_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/idcode"
	"whistle/internal/registry"
	"whistle/internal/worldtest"
)

var t0 = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)

const (
	gridA = "330303001001001"
	gridB = "330303001002001"
)

// world is worldtest.OneStreet with its staff and a registry store.
type world struct {
	*worldtest.World
	reg *registry.Store
}

func newWorld(t testing.TB, d *db.DB) *world {
	t.Helper()
	wt := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Departments: worldtest.CatalogueDepartments(),
		Users: worldtest.OneStreetUsers()})
	return &world{World: wt, reg: registry.NewStore(registry.Deps{DB: d, Regions: wt.Regions, Cases: wt.Cases})}
}

func (w *world) scope(name string) account.Scope { return account.ScopeOf(w.Users[name]) }

// idn completes 17 digits with their check character.
func idn(first17 string) string { return first17 + string(idcode.ResidentCheck(first17)) }

// credit completes 17 characters with their check character.
func credit(first17 string) string { return first17 + string(idcode.CreditCheck(first17)) }

// person is a valid resident of grid A, numbered n (odd n male).
func person(n int) registry.PersonInput {
	return registry.PersonInput{IDNumber: idn(fmt.Sprintf("33030319900101%03d", n)), Name: "张三" + fmt.Sprint(n), Phone: "13812345678",
		HukouAddress: "温州市龙湾区永中街道一路1号", ResidenceAddress: "温州市龙湾区永中街道二路2号", Status: registry.StatusResident, GridCode: gridA}
}

var actor = worldtest.Actor()

func mustPerson(t *testing.T, w *world, sc account.Scope, in registry.PersonInput) *registry.Person {
	t.Helper()
	p, err := w.reg.AddPerson(context.Background(), sc, actor, in)
	if err != nil {
		t.Fatalf("add person %s: %v", in.IDNumber, err)
	}
	return p
}

func fields(err error) []string {
	e, ok := errs.As(err)
	if !ok {
		return nil
	}
	var out []string
	for k := range e.Fields {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestValidatePerson(t *testing.T) {
	good := person(1)
	for _, tc := range []struct {
		name string
		edit func(p *registry.PersonInput)
		want []string // fields refused
	}{
		{"valid", func(p *registry.PersonInput) {}, nil},
		{"check character", func(p *registry.PersonInput) { p.IDNumber = p.IDNumber[:17] + "0" }, []string{"id_number"}},
		{"lower-case x is canonical", func(p *registry.PersonInput) { p.IDNumber = strings.ToLower(idn("11010519491231002")) }, nil},
		{"sex given wrong", func(p *registry.PersonInput) { p.Sex = "F" }, []string{"sex"}},
		{"sex given right in Chinese", func(p *registry.PersonInput) { p.Sex = "男" }, nil},
		{"birth date given wrong", func(p *registry.PersonInput) { p.BirthDate = "1990-01-02" }, []string{"birth_date"}},
		{"birth date given right", func(p *registry.PersonInput) { p.BirthDate = "1990-01-01" }, nil},
		{"floating needs a registration date", func(p *registry.PersonInput) { p.Status = registry.StatusFloating }, []string{"registered_on"}},
		{"floating with date", func(p *registry.PersonInput) { p.Status, p.RegisteredOn = registry.StatusFloating, "2026-01-05" }, nil},
		{"registration date only for floating", func(p *registry.PersonInput) { p.RegisteredOn = "2026-01-05" }, []string{"registered_on"}},
		{"unknown status", func(p *registry.PersonInput) { p.Status = "visitor" }, []string{"status"}},
		{"bad phone", func(p *registry.PersonInput) { p.Phone = "12345" }, []string{"phone"}},
		{"relation without household", func(p *registry.PersonInput) { p.HouseholdRel = "head" }, []string{"household_relation"}},
		{"household needs relation", func(p *registry.PersonInput) { p.HouseholdID = "H1" }, []string{"household_relation"}},
		{"no name, no grid", func(p *registry.PersonInput) { p.Name, p.GridCode = " ", "" }, []string{"grid_code", "name"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := good
			tc.edit(&in)
			out, err := registry.ValidatePerson(in, t0)
			if got := fields(err); !slices.Equal(got, tc.want) {
				t.Fatalf("refused fields: got %v, want %v (%v)", got, tc.want, err)
			}
			if err == nil && (out.Sex == "" || len(out.BirthDate) != 10 || out.IDNumber != strings.ToUpper(strings.TrimSpace(in.IDNumber))) {
				t.Errorf("canonical form: got %+v", out)
			}
		})
	}
	out, _ := registry.ValidatePerson(person(2), t0)
	if got, want := out.Sex+" "+out.BirthDate, "F 1990-01-01"; got != want {
		t.Errorf("derived sex and birth: got %q, want %q", got, want)
	}
}

func TestMask(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{registry.MaskName("张三"), "张*"},
		{registry.MaskName("欧阳娜娜"), "欧***"},
		{registry.MaskIDNumber("330303199001011234"), "3303**********1234"},
		{registry.MaskPhone("13812345678"), "138****5678"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestPeopleScopeAndMask(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		ctx := context.Background()
		w := newWorld(t, d)
		in := person(1)
		p := mustPerson(t, w, w.scope("grid-a"), in)
		if got, want := p.Name+" "+p.IDNumber+" "+p.Phone, "张** 3303**********"+in.IDNumber[14:]+" 138****5678"; got != want || !p.Masked {
			t.Errorf("masked person: got %q masked=%v, want %q", got, p.Masked, want)
		}
		clear, err := w.reg.PersonClear(ctx, w.scope("staff-a"), p.ID)
		if err != nil || clear.IDNumber != in.IDNumber || clear.Name != in.Name || clear.Masked {
			t.Fatalf("clear person: got %+v, %v", clear, err)
		}
		if got, want := clear.Sex+" "+clear.BirthDate, "M 1990-01-01"; got != want {
			t.Errorf("derived: got %q, want %q", got, want)
		}
		for _, tc := range []struct {
			who  string
			sees bool
		}{{"grid-a", true}, {"staff-a", true}, {"street", true}, {"admin", true}, {"staff-b", false}, {"resident", false}, {"cg-handler", false}} {
			sc := w.scope(tc.who)
			_, err := w.reg.Person(ctx, sc, p.ID)
			if got := err == nil; got != tc.sees {
				t.Errorf("%s Person: sees %v, want %v (%v)", tc.who, got, tc.sees, err)
			}
			if !tc.sees && !errs.Is(err, errs.NotFound) {
				t.Errorf("%s Person: got %v, want NotFound", tc.who, err)
			}
			byID, err := w.reg.PersonByIDNumber(ctx, sc, strings.ToLower(in.IDNumber))
			if got := err == nil && byID.ID == p.ID; got != tc.sees {
				t.Errorf("%s PersonByIDNumber: sees %v, want %v (%v)", tc.who, got, tc.sees, err)
			}
			list, err := w.reg.People(ctx, sc, registry.PeopleFilter{}, registry.Page{})
			switch {
			case tc.who == "resident" || tc.who == "cg-handler":
				if !errs.Is(err, errs.NotFound) {
					t.Errorf("%s People: got %v, %v, want NotFound", tc.who, list, err)
				}
			case (len(list) == 1) != tc.sees || err != nil:
				t.Errorf("%s People: got %d people, %v; sees %v", tc.who, len(list), err, tc.sees)
			}
		}
		// A worker of grid A cannot add a person to grid B, nor see B's.
		inB := person(3)
		inB.GridCode = gridB
		if _, err := w.reg.AddPerson(ctx, w.scope("grid-a"), actor, inB); !slices.Equal(fields(err), []string{"grid_code"}) {
			t.Errorf("add to grid B as grid-a: got %v, want a grid_code error", err)
		}
		if _, err := w.reg.AddPerson(ctx, w.scope("resident"), actor, person(5)); !errs.Is(err, errs.NotFound) {
			t.Errorf("add as resident: got %v, want NotFound", err)
		}
		// The same identity number twice is a conflict.
		if _, err := w.reg.AddPerson(ctx, w.scope("grid-a"), actor, in); !errs.Is(err, errs.Conflict) {
			t.Errorf("add twice: got %v, want Conflict", err)
		}
		// Moving the person to grid B takes them out of grid-a's scope.
		if _, err := w.reg.UpdatePerson(ctx, w.scope("staff-b"), actor, p.ID, registry.PersonPatch{GridCode: ptr(gridB)}); !errs.Is(err, errs.NotFound) {
			t.Errorf("staff-b updates A's person: got %v, want NotFound", err)
		}
		if _, err := w.reg.UpdatePerson(ctx, w.scope("street"), actor, p.ID, registry.PersonPatch{GridCode: ptr(gridB)}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.reg.Person(ctx, w.scope("grid-a"), p.ID); !errs.Is(err, errs.NotFound) {
			t.Errorf("after the move, grid-a: got %v, want NotFound", err)
		}
		if _, err := w.reg.Person(ctx, w.scope("staff-b"), p.ID); err != nil {
			t.Errorf("after the move, staff-b: got %v", err)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestHistory(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		ctx := context.Background()
		w := newWorld(t, d)
		sc := w.scope("grid-a")
		p := mustPerson(t, w, sc, person(1))
		newID := idn("33030319850505002")
		if _, err := w.reg.UpdatePerson(ctx, sc, actor, p.ID, registry.PersonPatch{IDNumber: ptr(newID), Phone: ptr("13900001111")}); err != nil {
			t.Fatal(err)
		}
		// No change: no history.
		if _, err := w.reg.UpdatePerson(ctx, sc, actor, p.ID, registry.PersonPatch{Phone: ptr("13900001111")}); err != nil {
			t.Fatal(err)
		}
		h, err := w.reg.History(ctx, sc, registry.TablePeople, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(h), 2; got != want {
			t.Fatalf("history rows: got %d, want %d: %+v", got, want, h)
		}
		if got, want := h[0].Action+" "+h[1].Action, "create update"; got != want {
			t.Errorf("actions: got %q, want %q", got, want)
		}
		up := h[1].Diff
		want := map[string]registry.Change{
			"id_number":  {Old: registry.MaskIDNumber(p.IDNumber[:0] + person(1).IDNumber), New: registry.MaskIDNumber(newID)},
			"phone":      {Old: "138****5678", New: "139****1111"},
			"sex":        {Old: "M", New: "F"},
			"birth_date": {Old: "1990-**-**", New: "1985-**-**"},
		}
		for k, v := range want {
			if up[k] != v {
				t.Errorf("diff %s: got %+v, want %+v", k, up[k], v)
			}
		}
		if len(up) != len(want) {
			t.Errorf("diff fields: got %v, want %d", up, len(want))
		}
		if strings.Contains(fmt.Sprint(h), newID) || strings.Contains(fmt.Sprint(h), "13900001111") {
			t.Errorf("history shows a personal value in the clear: %+v", h)
		}
		if h[1].Actor != actor.Name {
			t.Errorf("actor: got %q, want %q", h[1].Actor, actor.Name)
		}
		if _, err := w.reg.History(ctx, w.scope("staff-b"), registry.TablePeople, p.ID); !errs.Is(err, errs.NotFound) {
			t.Errorf("history out of scope: got %v, want NotFound", err)
		}
	})
}

func TestLinksBothWays(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		ctx := context.Background()
		w := newWorld(t, d)
		sc := w.scope("grid-a")
		b, err := w.reg.AddBuilding(ctx, sc, actor, registry.BuildingInput{Name: "1幢", Address: "永中街道一路1号", Lat: 27.005, Lng: 120.005, Floors: 6, Units: 2})
		if err != nil {
			t.Fatal(err)
		}
		if b.GridCode != gridA {
			t.Errorf("building grid: got %s, want %s", b.GridCode, gridA)
		}
		if _, err := w.reg.AddBuilding(ctx, sc, actor, registry.BuildingInput{Address: "B", Lat: 27.005, Lng: 120.015}); !slices.Equal(fields(err), []string{"lat", "lng"}) {
			t.Errorf("building in grid B as grid-a: got %v, want lat/lng errors", err)
		}
		var houses []*registry.House
		for i, use := range []string{"residential", "residential", "shop", "vacant"} {
			h, err := w.reg.AddHouse(ctx, sc, actor, registry.HouseInput{BuildingID: b.ID, Unit: "1", Room: fmt.Sprint(101 + i), Use: use})
			if err != nil {
				t.Fatal(err)
			}
			houses = append(houses, h)
		}
		if _, err := w.reg.AddHouse(ctx, sc, actor, registry.HouseInput{BuildingID: b.ID, Unit: "1", Room: "101"}); !errs.Is(err, errs.Conflict) {
			t.Errorf("same room twice: got %v, want Conflict", err)
		}
		owner := mustPerson(t, w, sc, person(1))
		in := person(2)
		in.GridCode, in.HouseID, in.HouseRelation = "", houses[0].ID, registry.RelFamily
		family := mustPerson(t, w, sc, in) // grid from the house
		tenant := mustPerson(t, w, sc, person(3))
		links := []struct {
			p   *registry.Person
			h   *registry.House
			rel string
		}{{owner, houses[0], registry.RelOwner}, {owner, houses[2], registry.RelOwner}, {tenant, houses[2], registry.RelTenant}}
		for _, l := range links {
			if err := w.reg.Link(ctx, sc, actor, l.p.ID, l.h.ID, l.rel); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.reg.Link(ctx, sc, actor, owner.ID, houses[0].ID, "friend"); !slices.Equal(fields(err), []string{"relation"}) {
			t.Errorf("unknown relation: got %v", err)
		}
		if err := w.reg.Link(ctx, w.scope("staff-b"), actor, owner.ID, houses[1].ID, registry.RelOwner); !errs.Is(err, errs.NotFound) {
			t.Errorf("link out of scope: got %v, want NotFound", err)
		}
		consistent := func() map[string]string {
			t.Helper()
			fromHouses := map[string]string{}
			for _, h := range houses {
				rs, err := w.reg.Residents(ctx, sc, h.ID, false)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range rs {
					fromHouses[fmt.Sprintf("%d-%d", r.ID, h.ID)] = r.Relation
				}
			}
			fromPeople := map[string]string{}
			for _, p := range []*registry.Person{owner, family, tenant} {
				hs, err := w.reg.HousesOf(ctx, sc, p.ID)
				if err != nil {
					t.Fatal(err)
				}
				for _, h := range hs {
					fromPeople[fmt.Sprintf("%d-%d", p.ID, h.ID)] = h.Relation
				}
			}
			if fmt.Sprint(fromHouses) != fmt.Sprint(fromPeople) {
				t.Errorf("links differ: residents of houses %v, houses of people %v", fromHouses, fromPeople)
			}
			return fromHouses
		}
		if got, want := len(consistent()), 4; got != want {
			t.Errorf("links: got %d, want %d", got, want)
		}
		rs, _ := w.reg.Residents(ctx, sc, houses[2].ID, false)
		if len(rs) != 2 || !rs[0].Masked {
			t.Errorf("residents of the shop: got %+v, want 2 masked", rs)
		}
		// Vacant: the vacant house and the residential one nobody lives in.
		vac, err := w.reg.VacantHouses(ctx, sc, gridA, registry.Page{})
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, h := range vac {
			ids = append(ids, h.ID)
		}
		if want := []int64{houses[1].ID, houses[3].ID}; !slices.Equal(ids, want) {
			t.Errorf("vacant houses: got %v, want %v", ids, want)
		}
		if err := w.reg.Unlink(ctx, w.scope("staff-b"), actor, owner.ID, houses[0].ID); !errs.Is(err, errs.NotFound) {
			t.Errorf("unlink out of scope: got %v, want NotFound", err)
		}
		if got, want := len(consistent()), 4; got != want {
			t.Errorf("links after a refused unlink: got %d, want %d", got, want)
		}
		if err := w.reg.Unlink(ctx, sc, actor, owner.ID, houses[0].ID); err != nil {
			t.Fatal(err)
		}
		after := consistent()
		if got, want := len(after), 3; got != want {
			t.Errorf("links after unlink: got %d, want %d", got, want)
		}
		if _, ok := after[fmt.Sprintf("%d-%d", owner.ID, houses[0].ID)]; ok {
			t.Errorf("the unlinked pair is still listed: %v", after)
		}
		// The other house of the owner stays linked.
		if _, ok := after[fmt.Sprintf("%d-%d", owner.ID, houses[2].ID)]; !ok {
			t.Errorf("unlink took the owner's other house too: %v", after)
		}
		hist, err := w.reg.History(ctx, sc, registry.TablePeople, owner.ID)
		if err != nil {
			t.Fatal(err)
		}
		last := hist[len(hist)-1]
		if c := last.Diff[fmt.Sprintf("house:%d", houses[0].ID)]; last.Action != "unlink" || c.Old != registry.RelOwner || c.New != "" {
			t.Errorf("history after unlink: last entry %+v, want unlink of house %d (was owner)", last, houses[0].ID)
		}
		if err := w.reg.Unlink(ctx, sc, actor, owner.ID, houses[0].ID); !errs.Is(err, errs.NotFound) {
			t.Errorf("unlink twice: got %v, want NotFound", err)
		}
		if n, _ := w.reg.History(ctx, sc, registry.TablePeople, owner.ID); len(n) != len(hist) {
			t.Errorf("a refused unlink wrote history: %d entries, want %d", len(n), len(hist))
		}
		if _, err := w.reg.Residents(ctx, w.scope("staff-b"), houses[0].ID, false); !errs.Is(err, errs.NotFound) {
			t.Errorf("residents out of scope: got %v, want NotFound", err)
		}
	})
}

func TestUpsertPeople(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		ctx := context.Background()
		w := newWorld(t, d)
		sc := w.scope("staff-a")
		var batch []registry.PersonInput
		for i := 1; i <= 7; i++ {
			batch = append(batch, person(i))
		}
		history := func() int {
			var n int
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM reg_history`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		res, err := w.reg.UpsertPeople(ctx, sc, actor, batch)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(res.Created, res.Updated, res.Unchanged, len(res.IDs)), "7 0 0 7"; got != want {
			t.Errorf("first run: got %s, want %s", got, want)
		}
		h1 := history()
		again, err := w.reg.UpsertPeople(ctx, sc, actor, batch)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(again.Created, again.Updated, again.Unchanged), "0 0 7"; got != want || !slices.Equal(again.IDs, res.IDs) {
			t.Errorf("second run: got %s %v, want %s %v", got, again.IDs, want, res.IDs)
		}
		if got := history(); got != h1 {
			t.Errorf("history after an idempotent run: got %d rows, want %d", got, h1)
		}
		batch[2].Phone = "13911112222"
		third, err := w.reg.UpsertPeople(ctx, sc, actor, batch)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(third.Created, third.Updated, third.Unchanged), "0 1 6"; got != want {
			t.Errorf("one changed: got %s, want %s", got, want)
		}
		if got, want := history(), h1+1; got != want {
			t.Errorf("history after one change: got %d, want %d", got, want)
		}
		// A bad row refuses the batch; the good new row is not written.
		bad := []registry.PersonInput{person(8), person(9), person(1)}
		bad[1].IDNumber = bad[1].IDNumber[:17] + "0"
		bad[2].Phone = "13933334444"
		_, err = w.reg.UpsertPeople(ctx, sc, actor, bad)
		var be *registry.BatchError
		if !errors.As(err, &be) || len(be.Rows) != 1 || be.Rows[0].Row != 1 || be.Rows[0].Fields["id_number"].Key == "" {
			t.Fatalf("bad batch: got %v, want row 1 id_number", err)
		}
		if !errs.Is(err, errs.Invalid) {
			t.Errorf("batch error code: got %v, want Invalid", errs.CodeOf(err))
		}
		if _, err := w.reg.PersonByIDNumber(ctx, sc, person(8).IDNumber); !errs.Is(err, errs.NotFound) {
			t.Errorf("row 0 of a refused batch was written: %v", err)
		}
		p1, _ := w.reg.PersonClear(ctx, sc, res.IDs[0])
		if p1.Phone != person(1).Phone {
			t.Errorf("row 2 of a refused batch was written: phone %s", p1.Phone)
		}
		// Duplicates within a batch, and people registered outside the scope.
		dup := []registry.PersonInput{person(10), person(10)}
		if _, err := w.reg.UpsertPeople(ctx, sc, actor, dup); !errors.As(err, &be) || be.Rows[0].Row != 1 {
			t.Errorf("duplicate rows: got %v", err)
		}
		elsewhere := person(1)
		if _, err := w.reg.UpsertPeople(ctx, w.scope("staff-b"), actor, []registry.PersonInput{elsewhere}); !errors.As(err, &be) {
			t.Errorf("grid A's row as staff-b: got %v, want a batch error", err)
		}
		elsewhere.GridCode = gridB
		if _, err := w.reg.UpsertPeople(ctx, w.scope("staff-b"), actor, []registry.PersonInput{elsewhere}); !errors.As(err, &be) || be.Rows[0].Fields["id_number"].Key != "registry.err.elsewhere" {
			t.Errorf("person of grid A moved by staff-b: got %v, want registry.err.elsewhere", err)
		}
		// A batch of more than one chunk (500 rows), refused by a row of its
		// second chunk once the first has been written: nothing stays.
		var long []registry.PersonInput
		for n := 100; n < 700; n++ {
			p := person(n)
			p.GridCode = gridB
			long = append(long, p)
		}
		long[550] = elsewhere
		if _, err := w.reg.UpsertPeople(ctx, w.scope("staff-b"), actor, long); !errors.As(err, &be) || len(be.Rows) != 1 || be.Rows[0].Row != 550 {
			t.Errorf("long batch with row 550 elsewhere: got %v, want row 550 refused", err)
		}
		if _, err := w.reg.PersonByIDNumber(ctx, w.scope("staff-b"), person(100).IDNumber); !errs.Is(err, errs.NotFound) {
			t.Errorf("row 0 of a refused long batch was written: %v", err)
		}
	})
}

func TestOrganisations(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		ctx := context.Background()
		w := newWorld(t, d)
		sc := w.scope("grid-a")
		code := credit("91330303MA2AB0CD1")
		in := registry.OrganisationInput{CreditCode: strings.ToLower(code), Name: "温州某某有限公司", Address: "永中街道一路1号", ContactName: "李四",
			ContactPhone: "13812345678", Industry: "餐饮", Size: "small", SafetyCategory: "key", GridCode: gridA}
		o, err := w.reg.AddOrganisation(ctx, sc, actor, in)
		if err != nil {
			t.Fatal(err)
		}
		if o.CreditCode != code || o.ContactName != "李*" || o.ContactPhone != "138****5678" {
			t.Errorf("organisation: got %+v", o)
		}
		badCode := in
		badCode.CreditCode = code[:17] + "0"
		if code[17] == '0' {
			badCode.CreditCode = code[:17] + "1"
		}
		if _, err := w.reg.AddOrganisation(ctx, sc, actor, badCode); !slices.Equal(fields(err), []string{"credit_code"}) {
			t.Errorf("bad credit code: got %v", err)
		}
		if _, err := w.reg.AddOrganisation(ctx, sc, actor, in); !errs.Is(err, errs.Conflict) {
			t.Errorf("same credit code: got %v, want Conflict", err)
		}
		res, err := w.reg.UpsertOrganisations(ctx, sc, actor, []registry.OrganisationInput{in})
		if err != nil || res.Unchanged != 1 || res.IDs[0] != o.ID {
			t.Errorf("upsert unchanged: got %+v, %v", res, err)
		}
		in.Industry = "零售"
		res, err = w.reg.UpsertOrganisations(ctx, sc, actor, []registry.OrganisationInput{in})
		if err != nil || res.Updated != 1 {
			t.Errorf("upsert changed: got %+v, %v", res, err)
		}
		list, err := w.reg.Organisations(ctx, w.scope("staff-b"), registry.OrgFilter{}, registry.Page{})
		if err != nil || len(list) != 0 {
			t.Errorf("staff-b's organisations: got %v, %v", list, err)
		}
	})
}

func TestGroupsAndSummary(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		ctx := context.Background()
		w := newWorld(t, d)
		sc := w.scope("grid-a")
		gs, err := w.reg.Groups(ctx)
		if err != nil || len(gs) != 8 {
			t.Fatalf("groups: got %d, %v", len(gs), err)
		}
		p1 := mustPerson(t, w, sc, person(1))
		fl := person(2)
		fl.Status, fl.RegisteredOn = registry.StatusFloating, "2026-03-01"
		p2 := mustPerson(t, w, sc, fl)
		if err := w.reg.AddMember(ctx, sc, actor, "elderly_alone", p1.ID, "独居"); err != nil {
			t.Fatal(err)
		}
		if err := w.reg.AddMember(ctx, sc, actor, "nope", p1.ID, ""); !errs.Is(err, errs.NotFound) {
			t.Errorf("unknown group: got %v", err)
		}
		if err := w.reg.AddMember(ctx, w.scope("staff-b"), actor, "veteran", p2.ID, ""); !errs.Is(err, errs.NotFound) {
			t.Errorf("member out of scope: got %v", err)
		}
		ms, err := w.reg.GroupMembers(ctx, sc, "elderly_alone", "", false, registry.Page{})
		if err != nil || len(ms) != 1 || ms[0].ID != p1.ID || !ms[0].Masked {
			t.Errorf("members: got %+v, %v", ms, err)
		}
		if ms, _ := w.reg.GroupMembers(ctx, w.scope("staff-b"), "elderly_alone", "", false, registry.Page{}); len(ms) != 0 {
			t.Errorf("staff-b sees members of A: %+v", ms)
		}
		b, err := w.reg.AddBuilding(ctx, sc, actor, registry.BuildingInput{Address: "一路1号", Lat: 27.005, Lng: 120.005})
		if err != nil {
			t.Fatal(err)
		}
		h, err := w.reg.AddHouse(ctx, sc, actor, registry.HouseInput{BuildingID: b.ID, Room: "101"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.reg.AddOrganisation(ctx, sc, actor, registry.OrganisationInput{CreditCode: credit("91330303MA2AB0CD1"), Name: "店", Address: "一路1号",
			HouseID: h.ID}); err != nil {
			t.Fatal(err)
		}
		cat := leaf(t, w, "ZL06")
		w.Submit(t, "resident", casework.SubmitInput{Category: cat, Description: "楼道堆放杂物，影响通行", Lat: ptr(27.005), Lng: ptr(120.005)})
		w.Submit(t, "resident", casework.SubmitInput{Category: cat, Description: "另一处楼道堆放杂物", Lat: ptr(27.005), Lng: ptr(120.015)})
		s, err := w.reg.GridSummary(ctx, sc, gridA)
		if err != nil {
			t.Fatal(err)
		}
		got := fmt.Sprintf("people=%d %v groups=%d buildings=%d houses=%d vacant=%d orgs=%d cases=%d visits=%d", s.People, s.ByStatus,
			s.ByGroup["elderly_alone"], s.Buildings, s.Houses, s.VacantHouses, s.Organisations, s.OpenCases, s.VisitsDue)
		want := "people=2 map[floating:1 lodging:0 resident:1] groups=1 buildings=1 houses=1 vacant=1 orgs=1 cases=1 visits=0"
		if got != want {
			t.Errorf("summary:\n got %s\nwant %s", got, want)
		}
		if _, err := w.reg.GridSummary(ctx, w.scope("staff-b"), gridA); !errs.Is(err, errs.NotFound) {
			t.Errorf("summary out of scope: got %v, want NotFound", err)
		}
		if _, err := w.reg.GridSummary(ctx, w.scope("resident"), gridA); !errs.Is(err, errs.NotFound) {
			t.Errorf("summary for a resident: got %v, want NotFound", err)
		}
	})
}

// leaf is the first leaf category under code.
func leaf(t *testing.T, w *world, code string) string {
	t.Helper()
	sub, err := category.NewStore(w.DB).Subtree(context.Background(), code, false)
	if err != nil {
		t.Fatal(err)
	}
	for len(sub.Children) > 0 {
		sub = sub.Children[0]
	}
	return sub.Code
}

// TestUpsertPeopleLinksHouses: UpsertPeople links a row with HouseID to
// the house in its transaction (idempotently); a house outside the scope
// or a missing relation refuses the batch, and nothing is written.
// HouseAt finds a house by the houses file's key, the person's grid
// winning when the address is in several grids.
func TestUpsertPeopleLinksHouses(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		ctx := context.Background()
		w := newWorld(t, d)
		sc, street := w.scope("staff-a"), w.scope("street")
		house := func(sc account.Scope, lng float64) *registry.House {
			t.Helper()
			b, err := w.reg.AddBuilding(ctx, sc, actor, registry.BuildingInput{Address: "同名路1号", Lat: 27.005, Lng: lng})
			if err != nil {
				t.Fatal(err)
			}
			h, err := w.reg.AddHouse(ctx, sc, actor, registry.HouseInput{BuildingID: b.ID, Room: "101"})
			if err != nil {
				t.Fatal(err)
			}
			return h
		}
		hA, hB := house(sc, 120.005), house(w.scope("staff-b"), 120.015)
		for _, c := range []struct {
			sc   account.Scope
			grid string
			want int64
			code errs.Code
		}{
			{street, gridA, hA.ID, ""}, {street, gridB, hB.ID, ""}, {street, "", 0, errs.Invalid},
			{sc, "", hA.ID, ""}, {sc, gridB, hA.ID, ""}, {w.scope("resident"), gridA, 0, errs.NotFound},
		} {
			id, err := w.reg.HouseAt(ctx, c.sc, " 同名路1号 ", "", "101", c.grid)
			if id != c.want || errs.CodeOf(err) != c.code {
				t.Errorf("HouseAt in %q (scope %s): got %d %v, want %d %q", c.grid, c.sc.RegionPath, id, err, c.want, c.code)
			}
		}
		if _, err := w.reg.HouseAt(ctx, sc, "同名路1号", "", "102", gridA); !errs.Is(err, errs.NotFound) {
			t.Errorf("HouseAt of a room that does not exist: got %v, want NotFound", err)
		}
		p1, p2 := person(1), person(2)
		p1.HouseID, p1.HouseRelation = hA.ID, registry.RelOwner
		p2.HouseID, p2.HouseRelation = hB.ID, registry.RelTenant
		_, err := w.reg.UpsertPeople(ctx, sc, actor, []registry.PersonInput{p1, p2})
		var be *registry.BatchError
		if !errors.As(err, &be) || len(be.Rows) != 1 || be.Rows[0].Row != 1 || be.Rows[0].Fields["house_id"].Key == "" {
			t.Fatalf("a house outside the scope: got %v, want row 1 on house_id", err)
		}
		norel := p1
		norel.HouseRelation = ""
		if _, err := w.reg.UpsertPeople(ctx, sc, actor, []registry.PersonInput{norel}); !errors.As(err, &be) || be.Rows[0].Fields["house_relation"].Key == "" {
			t.Fatalf("a house without a relation: got %v, want house_relation", err)
		}
		var n int
		if err := d.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM reg_people) + (SELECT COUNT(*) FROM reg_person_houses)`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("after refused batches: %d people and links, %v; want none", n, err)
		}
		for i, want := range []string{"1 0 0", "0 0 1"} {
			res, err := w.reg.UpsertPeople(ctx, sc, actor, []registry.PersonInput{p1})
			if err != nil || fmt.Sprint(res.Created, res.Updated, res.Unchanged) != want {
				t.Fatalf("run %d: got %+v, %v; want %s", i, res, err, want)
			}
			hs, err := w.reg.HousesOf(ctx, sc, res.IDs[0])
			if err != nil || len(hs) != 1 || hs[0].ID != hA.ID || hs[0].Relation != registry.RelOwner {
				t.Fatalf("run %d: the person's houses %+v, %v; want house %d as owner", i, hs, err, hA.ID)
			}
			first, err := w.reg.FirstHouses(ctx, sc, []int64{res.IDs[0], 999999})
			if err != nil || len(first) != 1 || first[res.IDs[0]].ID != hA.ID || first[res.IDs[0]].Room != "101" {
				t.Fatalf("run %d: FirstHouses %+v, %v", i, first, err)
			}
		}
	})
}
