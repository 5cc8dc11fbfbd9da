package registry_test

import (
	"context"
	"slices"
	"testing"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/registry"
	"whistle/internal/worldtest"
)

// TestOrganisationsOfAHouse: OrgFilter.HouseID lists the organisations in
// one house (the house page), within the caller's scope.
func TestOrganisationsOfAHouse(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		ctx := context.Background()
		w := newWorld(t, d)
		sc := w.scope("grid-a")
		b, err := w.reg.AddBuilding(ctx, sc, actor, registry.BuildingInput{Address: "永中街道二路2号", Lat: 27.005, Lng: 120.005})
		if err != nil {
			t.Fatal(err)
		}
		var houses []int64
		for _, room := range []string{"101", "102"} {
			h, err := w.reg.AddHouse(ctx, sc, actor, registry.HouseInput{BuildingID: b.ID, Unit: "1", Room: room, Use: "shop"})
			if err != nil {
				t.Fatal(err)
			}
			houses = append(houses, h.ID)
		}
		var inShop int64
		for i, house := range []int64{houses[0], 0} {
			o, err := w.reg.AddOrganisation(ctx, sc, actor, registry.OrganisationInput{CreditCode: credit("91330303MA2AB0CE" + string(rune('1'+i))),
				Name: "店铺", Address: "永中街道二路2号", HouseID: house, GridCode: gridA})
			if err != nil {
				t.Fatal(err)
			}
			if house != 0 {
				inShop = o.ID
			}
		}
		cases := []struct {
			name  string
			scope string
			house int64
			want  []int64
		}{
			{"the shop's organisation", "grid-a", houses[0], []int64{inShop}},
			{"a house without any", "grid-a", houses[1], nil},
			{"outside the scope", "staff-b", houses[0], nil},
		}
		for _, c := range cases {
			list, err := w.reg.Organisations(ctx, w.scope(c.scope), registry.OrgFilter{HouseID: c.house}, registry.Page{})
			var got []int64
			for _, o := range list {
				got = append(got, o.ID)
			}
			if err != nil || !slices.Equal(got, c.want) {
				t.Errorf("%s: got %v, %v, want %v", c.name, got, err, c.want)
			}
		}
	})
}
