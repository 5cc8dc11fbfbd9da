package category_test

import (
	"context"
	"strings"
	"testing"

	"whistle/internal/category"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
)

// TestPage: categories page by a whitelisted key in either direction, the
// name by the language shown, with the total of all; any other key is a
// field error on sort.
func TestPage(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		seedRegions(t, d)
		s := category.NewStore(d)
		n, err := s.SeedDefaults(ctx, actor)
		if err != nil {
			t.Fatal(err)
		}
		all, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name string
			f    category.PageFilter
			less func(a, b *category.Category) bool
		}{
			{"by code", category.PageFilter{}, func(a, b *category.Category) bool { return a.Code < b.Code }},
			{"by code descending, second page", category.PageFilter{Sort: "-code", Limit: 10, Offset: 10}, func(a, b *category.Category) bool { return a.Code > b.Code }},
			{"by English name", category.PageFilter{Sort: "name", English: true, Limit: 20}, func(a, b *category.Category) bool {
				return strings.ToLower(a.NameEN) <= strings.ToLower(b.NameEN) || a.NameEN == "" || b.NameEN == ""
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, total, err := s.Page(ctx, tt.f)
				if err != nil || total != n || total != len(all) {
					t.Fatalf("got total %d, %v; want %d", total, err, n)
				}
				if want := min(len(all)-tt.f.Offset, tt.f.Limit); tt.f.Limit > 0 && len(got) != want {
					t.Errorf("got %d rows, want %d", len(got), want)
				}
				for i := 1; i < len(got); i++ {
					if !tt.less(got[i-1], got[i]) {
						t.Errorf("row %d %s (%s) before %s (%s): out of order", i-1, got[i-1].Code, got[i-1].NameEN, got[i].Code, got[i].NameEN)
					}
				}
			})
		}
		first, _, _ := s.Page(ctx, category.PageFilter{Sort: "-code", Limit: 1})
		second, _, _ := s.Page(ctx, category.PageFilter{Sort: "-code", Limit: 10, Offset: 10})
		if len(first) != 1 || len(second) == 0 || first[0].Code <= second[0].Code {
			t.Errorf("descending pages: first %v, second page %v", first, second)
		}
		for _, bad := range []string{"fields", "-name_en", "code; DROP TABLE categories"} {
			_, _, err := s.Page(ctx, category.PageFilter{Sort: bad})
			if e, ok := errs.As(err); !ok || e.Code != errs.Invalid || e.Fields["sort"].Key != "field.unknown_sort" {
				t.Errorf("sort %q: err = %v, want a field error on sort", bad, err)
			}
		}
	})
}
