package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
	"whistle/internal/feed"
	"whistle/internal/idcode"
	"whistle/internal/registry"
)

// TestFacts: a fact is set, masked unless asked in the clear, removed by
// a nil value, refused out of scope, and each change puts an event on the
// feed naming the field and never its value.
func TestFacts(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		sc := w.scope("staff-a")
		p := mustPerson(t, w, sc, person(1))
		if err := w.reg.SetFact(ctx, sc, actor, registry.FactPerson, p.ID, registry.FactInput{Key: "income_per_head", Value: 1234.5, Verified: true, Source: "民政核对"}); err != nil {
			t.Fatal(err)
		}
		if err := w.reg.SetFact(ctx, w.scope("staff-b"), actor, registry.FactPerson, p.ID, registry.FactInput{Key: "dibao", Value: true}); !errs.Is(err, errs.NotFound) {
			t.Errorf("out of scope: got %v, want NotFound", err)
		}
		if err := w.reg.SetFact(ctx, sc, actor, registry.FactPerson, p.ID, registry.FactInput{Key: "Bad Key", Value: true}); !errs.Is(err, errs.Invalid) {
			t.Errorf("bad key: got %v, want Invalid", err)
		}
		fs, err := w.reg.Facts(ctx, sc, registry.FactPerson, p.ID, false)
		if err != nil || len(fs) != 1 || fs[0].Value != nil || !fs[0].Masked || !fs[0].Verified {
			t.Fatalf("masked: got %+v, %v; want one masked verified fact", fs, err)
		}
		fs, err = w.reg.Facts(ctx, sc, registry.FactPerson, p.ID, true)
		if err != nil || len(fs) != 1 || fs[0].Value != 1234.5 {
			t.Fatalf("clear: got %+v, %v; want 1234.5", fs, err)
		}
		set, err := w.reg.FactSet(ctx, sc, registry.FactPerson, p.ID, t0)
		if err != nil || set.Values["age"] != int64(36) || set.Values["income_per_head"] != 1234.5 {
			t.Fatalf("fact set: got %+v, %v; want age 36 and the income", set, err)
		}
		if err := w.reg.SetFact(ctx, sc, actor, registry.FactPerson, p.ID, registry.FactInput{Key: "income_per_head"}); err != nil {
			t.Fatal(err)
		}
		if fs, _ := w.reg.Facts(ctx, sc, registry.FactPerson, p.ID, true); len(fs) != 0 {
			t.Errorf("after removal got %+v, want none", fs)
		}
		if _, err := feed.Sequence(ctx, d, 1000); err != nil {
			t.Fatal(err)
		}
		evs, err := feed.Read(ctx, d, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		var facts int
		for _, ev := range evs {
			if ev.SubjectKind == "person" && ev.SubjectID == p.ID && ev.Kind == "registry.fact" {
				facts++
				if got := string(ev.Payload); got != `{"fields":["income_per_head"]}` {
					t.Errorf("payload got %s, want the field name only", got)
				}
			}
			if strings.Contains(string(ev.Payload), "1234") || strings.Contains(string(ev.Payload), "张三") {
				t.Errorf("event %s %s carries personal data: %s", ev.SubjectKind, ev.Kind, ev.Payload)
			}
		}
		if facts != 2 {
			t.Errorf("got %d fact events, want 2 (set, removed)", facts)
		}
		_ = account.SystemScope
	})
}

// TestBornOnAndHouseholdMoves: BornOn finds the people whose age changes
// on a date (those born on 29 February on 1 March of other years), and a
// household move's feed event names both households in its private part
// (which the bus never carries), not in its public fields.
func TestBornOnAndHouseholdMoves(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		sc := account.SystemScope()
		in := person(1)
		in.IDNumber = idn("33030319480229001")
		leap := mustPerson(t, w, sc, in)
		in = person(2)
		in.IDNumber, in.HouseholdID, in.HouseholdRel = idn("33030319500301002"), "H1", "head"
		march := mustPerson(t, w, sc, in)
		for _, c := range []struct {
			date string
			want []int64
		}{{"2027-03-01", []int64{leap.ID, march.ID}}, {"2028-03-01", []int64{march.ID}}, {"2028-02-29", []int64{leap.ID}}, {"2027-02-28", nil}} {
			day, _ := time.Parse(time.DateOnly, c.date)
			got, err := w.reg.BornOn(ctx, day)
			if err != nil || !slices.Equal(got, c.want) {
				t.Errorf("BornOn(%s): got %v %v, want %v", c.date, got, err, c.want)
			}
		}
		h2, rel := "H2", "head"
		if _, err := w.reg.UpdatePerson(ctx, sc, actor, march.ID, registry.PersonPatch{HouseholdID: &h2, HouseholdRel: &rel}); err != nil {
			t.Fatal(err)
		}
		if _, err := feed.Sequence(ctx, d, 0); err != nil {
			t.Fatal(err)
		}
		evs, err := feed.Read(ctx, d, 0, 100)
		if err != nil || len(evs) == 0 {
			t.Fatal(err)
		}
		last := evs[len(evs)-1]
		var fc registry.FieldsChanged
		if err := json.Unmarshal(last.Payload, &fc); err != nil || fc.Private == nil || !slices.Equal(fc.Private.Households, []string{"H1", "H2"}) {
			t.Errorf("the move's event: %s, want households H1 and H2 in private", last.Payload)
		}
		if pub := string(feed.Public(last.Payload)); strings.Contains(pub, "H1") || !strings.Contains(pub, "household_id") {
			t.Errorf("the public payload %s: want the field named and no household", pub)
		}
		if m, _ := w.reg.HouseholdMembers(ctx, "H2"); !slices.Equal(m, []int64{march.ID}) {
			t.Errorf("members of H2: %v", m)
		}
	})
}

// TestEachFactSetEqualsFactSet: the batch's streamed fact sets are the
// single subject's, fact for fact: person facts, the household's over
// them, facts over the registry's own columns, people without facts, and
// organisations.
func TestEachFactSetEqualsFactSet(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		sc := account.SystemScope()
		var ids []int64
		for i := range 5 {
			in := person(10 + i)
			in.HouseholdID, in.HouseholdRel = "H9", "other"
			ids = append(ids, mustPerson(t, w, sc, in).ID)
		}
		set := func(kind string, id int64, k string, v any, verified bool) {
			if err := w.reg.SetFact(ctx, sc, actor, kind, id, registry.FactInput{Key: k, Value: v, Verified: verified}); err != nil {
				t.Fatal(err)
			}
		}
		set(registry.FactPerson, ids[0], "income_per_head", 900.5, true)
		set(registry.FactHousehold, ids[0], "income_per_head", 700, false)
		set(registry.FactPerson, ids[0], "status", "overridden", true)
		set(registry.FactHousehold, ids[2], "dibao", true, true)
		set(registry.FactPerson, ids[4], "groups_note", []any{"a", "b"}, false)
		first17 := "91330303MA2AB0CD1"
		o, err := w.reg.AddOrganisation(ctx, sc, actor, registry.OrganisationInput{CreditCode: first17 + string(idcode.CreditCheck(first17)), Name: "某公司", Address: "一路1号", GridCode: gridA})
		if err != nil {
			t.Fatal(err)
		}
		set(registry.FactOrganisation, o.ID, "employees", 12, true)
		date := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
		// The facts' readers pass them in chunks: with chunks of one and
		// two facts, every boundary falls between or inside a subject's.
		for _, chunk := range []int{1024, 1, 2} {
			restore := registry.SetFactChunkRows(chunk)
			defer restore()
			for _, kind := range []string{registry.FactPerson, registry.FactOrganisation} {
				seen := 0
				err := w.reg.EachFactSet(ctx, kind, date, func(got *registry.FactSet) error {
					seen++
					one := kind
					if kind == registry.FactPerson {
						one = registry.FactHousehold
					}
					want, err := w.reg.FactSet(ctx, sc, one, got.ID, date)
					if err != nil {
						return err
					}
					if fmt.Sprint(got.Values) != fmt.Sprint(want.Values) || fmt.Sprint(got.Verified) != fmt.Sprint(want.Verified) || got.RegionPath != want.RegionPath {
						t.Errorf("%s %d: batch %v %v, single %v %v", kind, got.ID, got.Values, got.Verified, want.Values, want.Verified)
					}
					return nil
				})
				if err != nil || seen == 0 {
					t.Fatalf("%s: %v, %d subjects", kind, err, seen)
				}
			}
			restore()
		}
	})
}
