package region_test

import (
	"context"
	"testing"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/region"
)

// TestDistrict (issue 14, Build 4): the district the installation serves
// comes from the region store, "" before any region is loaded, so that
// internal/web runs no SQL of its own for it.
func TestDistrict(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := region.NewStore(d)
		got, err := s.District(ctx)
		if err != nil {
			t.Fatalf("no regions: %v", err)
		}
		if got != "" {
			t.Errorf("no regions: got %q, want \"\"", got)
		}
		mustImport(t, s, collection(tree()...))
		got, err = s.District(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := "330303"; got != want {
			t.Errorf("district: got %q, want %q", got, want)
		}
	})
}
