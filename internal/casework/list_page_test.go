package casework_test

import (
	"slices"
	"sort"
	"testing"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/worldtest"
)

// TestListCountSortAndPages: Count is the caller's scoped total (never more
// than the list shows), numbered pages by Offset cover the scoped cases once
// each, the sort keys order the list with ties broken by id, and an unknown
// key is Invalid on field sort (issue 15 item 4).
func TestListCountSortAndPages(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newWorld(t, d, clk)
		ctx := t.Context()
		var inAIDs, all []int64
		for i := 0; i < 5; i++ {
			c := w.submit(t, "resident", inA, "whistle")
			inAIDs, all = append(inAIDs, c.ID), append(all, c.ID)
			clk.Advance(1)
		}
		for i := 0; i < 3; i++ {
			all = append(all, w.submit(t, "resident", inB, "whistle").ID)
		}
		scopes := []struct {
			name string
			who  string
			want []int64
		}{
			{"community staff A sees A only", "staff-a", inAIDs},
			{"street staff sees both", "street", all},
		}
		for _, sc := range scopes {
			t.Run(sc.name, func(t *testing.T) {
				n, err := w.svc.Count(ctx, w.as(sc.who), casework.Filter{Before: 1})
				if err != nil {
					t.Fatal(err)
				}
				if n != len(sc.want) {
					t.Errorf("Count: got %d, want %d", n, len(sc.want))
				}
				var seen []int64
				for off := 0; off < len(sc.want)+2; off += 2 {
					cs, next, err := w.svc.List(ctx, w.as(sc.who), casework.Filter{Sort: "created", Limit: 2, Offset: off})
					if err != nil {
						t.Fatal(err)
					}
					if wantLen := min(2, max(0, len(sc.want)-off)); len(cs) != wantLen {
						t.Errorf("page at offset %d: got %d cases, want %d", off, len(cs), wantLen)
					}
					if next != 0 {
						t.Errorf("sorted page at offset %d: got cursor %d, want 0 (it pages by offset)", off, next)
					}
					for _, c := range cs {
						seen = append(seen, c.ID)
					}
				}
				want := slices.Clone(sc.want)
				slices.Sort(want)
				if !slices.Equal(seen, want) {
					t.Errorf("pages oldest first: got %v, want %v", seen, want)
				}
			})
		}

		sorts := []struct {
			sort string
			less func(a, b *casework.Case) bool
		}{
			{"number", func(a, b *casework.Case) bool { return a.Number < b.Number }},
			{"-number", func(a, b *casework.Case) bool { return a.Number > b.Number }},
			{"-created", func(a, b *casework.Case) bool { return a.ID > b.ID }},
			{"grid", func(a, b *casework.Case) bool {
				return a.GridCode < b.GridCode || a.GridCode == b.GridCode && a.ID > b.ID
			}},
			{"-grid", func(a, b *casework.Case) bool {
				return a.GridCode > b.GridCode || a.GridCode == b.GridCode && a.ID > b.ID
			}},
		}
		for _, tt := range sorts {
			t.Run("sort "+tt.sort, func(t *testing.T) {
				cs, _, err := w.svc.List(ctx, w.as("street"), casework.Filter{Sort: tt.sort})
				if err != nil {
					t.Fatal(err)
				}
				if len(cs) != len(all) {
					t.Fatalf("got %d cases, want %d", len(cs), len(all))
				}
				if !sort.SliceIsSorted(cs, func(i, j int) bool { return tt.less(cs[i], cs[j]) }) {
					var got []int64
					for _, c := range cs {
						got = append(got, c.ID)
					}
					t.Errorf("sort %q: got ids %v, not in order", tt.sort, got)
				}
			})
		}
		for _, bad := range []string{"description", "-", "c.id; DROP TABLE cases", "--number"} {
			_, _, err := w.svc.List(ctx, w.as("street"), casework.Filter{Sort: bad})
			if !errs.Is(err, errs.Invalid) {
				t.Errorf("sort %q: got %v, want Invalid", bad, err)
			}
		}
	})
}
