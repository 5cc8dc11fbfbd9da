package worldtest_test

import (
	"context"
	"testing"
	"time"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/worldtest"
)

// TestOneStreet builds the one-street world, reports a case in each grid,
// and opens a second set of services on the same database.
func TestOneStreet(t *testing.T) {
	worldtest.Each(t, time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC), func(t *testing.T, d *db.DB, _ *clock.Fake) {
		ctx := context.Background()
		w := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Departments: worldtest.CatalogueDepartments(),
			Users: worldtest.OneStreetUsers(), Calendar: true})
		if got, want := len(w.Users), len(worldtest.OneStreetUsers()); got != want {
			t.Errorf("got %d users, want %d", got, want)
		}
		tests := []struct {
			name                 string
			lng                  float64
			grid, community, who string
		}{
			{"community A", 120.005, "330303001001001", "330303001001", "resident"},
			{"community B", 120.015, "330303001002001", "330303001002", "resident"},
		}
		var ids []int64
		for _, tc := range tests {
			lat, lng := 27.005, tc.lng
			c := w.Submit(t, tc.who, casework.SubmitInput{Category: "ZL0302", Description: "楼道堆放杂物", Lat: &lat, Lng: &lng})
			if c.GridCode != tc.grid || c.CommunityCode != tc.community {
				t.Errorf("%s: got grid %s in %s, want %s in %s", tc.name, c.GridCode, c.CommunityCode, tc.grid, tc.community)
			}
			ids = append(ids, c.ID)
		}
		o := worldtest.Open(t, d, worldtest.Options{})
		if len(o.Users) != 0 {
			t.Errorf("Open: got %d users, want none", len(o.Users))
		}
		for _, id := range ids {
			if _, err := o.Cases.Get(ctx, o.As("system"), id); err != nil {
				t.Errorf("Open: case %d: %v", id, err)
			}
		}
	})
}
