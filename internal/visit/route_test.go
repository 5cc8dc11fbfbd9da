package visit_test

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/paulmach/orb"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/idcode"
	"whistle/internal/registry"
	"whistle/internal/visit"
	"whistle/internal/worldtest"
)

// TestRoute checks the walking route on hand-computed examples (metres on
// the local plane).
func TestRoute(t *testing.T) {
	for _, c := range []struct {
		name   string
		stops  []visit.XY
		order  []int
		walked []float64
	}{
		{"none", nil, []int{}, []float64{}},
		{"one", []visit.XY{{3, 4}}, []int{0}, []float64{7}},
		// Straight-line nearest is A (5 m against 6 m); walking the
		// streets B is (6 against 7), and B then A is 6 + 5 = 11 < 7 + 5.
		{"manhattan, not straight line", []visit.XY{{3, 4}, {0, 6}}, []int{1, 0}, []float64{6, 11}},
		// On a street: the nearest-neighbour chain goes 1, then back
		// to -2 (3), then out to 5 (7): 11. 2-opt reverses the first
		// two stops: -2 (2), 1 (3), 5 (4): 9.
		{"2-opt improves the chain", []visit.XY{{1, 0}, {-2, 0}, {5, 0}}, []int{1, 0, 2}, []float64{2, 5, 9}},
		// A block 100 × 100 m walked round from its corner, open at the
		// end: north first (the tie goes to the lower index), then east,
		// then south.
		{"block", []visit.XY{{100, 100}, {0, 100}, {100, 0}}, []int{1, 0, 2}, []float64{100, 200, 300}},
		// Ties go to the lower index.
		{"tie", []visit.XY{{0, 10}, {10, 0}}, []int{0, 1}, []float64{10, 30}},
	} {
		t.Run(c.name, func(t *testing.T) {
			order, walked := visit.Route(visit.XY{}, c.stops)
			if !slices.Equal(order, c.order) {
				t.Fatalf("order: got %v, want %v", order, c.order)
			}
			for i := range walked {
				if math.Abs(walked[i]-c.walked[i]) > 1e-9 {
					t.Fatalf("walked: got %v, want %v", walked, c.walked)
				}
			}
		})
	}
}

// TestRouteNoLongerThanChain: on a scatter of 60 stops the improved route
// is no longer than the nearest-neighbour chain (2-opt only shortens)
// and visits every stop once.
func TestRouteNoLongerThanChain(t *testing.T) {
	var stops []visit.XY
	x := uint32(7)
	next := func() float64 { x = x*1664525 + 1013904223; return float64(x>>8) / float64(1<<24) * 1000 }
	for range 60 {
		stops = append(stops, visit.XY{X: next(), Y: next()})
	}
	order, walked := visit.Route(visit.XY{}, stops)
	seen := map[int]bool{}
	for _, i := range order {
		seen[i] = true
	}
	if len(order) != len(stops) || len(seen) != len(stops) {
		t.Fatalf("the route visits %d distinct of %d stops", len(seen), len(stops))
	}
	// The chain, computed here independently.
	used, at, chain := make([]bool, len(stops)), visit.XY{}, 0.0
	for range stops {
		best := -1
		for i, s := range stops {
			if !used[i] && (best < 0 || visit.Walk(at, s) < visit.Walk(at, stops[best])) {
				best = i
			}
		}
		used[best], chain, at = true, chain+visit.Walk(at, stops[best]), stops[best]
	}
	if got := walked[len(walked)-1]; got > chain+1e-6 || got >= chain {
		t.Errorf("route %.1f m, chain %.1f m: want the route shorter on this scatter", got, chain)
	}
}

// TestProject: a thousandth of a degree north is 111.2 m; east at 27° N
// it is cos 27° of that, 99.1 m.
func TestProject(t *testing.T) {
	o := orb.Point{120, 27}
	if p := visit.Project(o, orb.Point{120, 27.001}); math.Abs(p.Y-111.19) > 0.01 || p.X != 0 {
		t.Errorf("north: got %+v, want (0, 111.19)", p)
	}
	if p := visit.Project(o, orb.Point{120.001, 27}); math.Abs(p.X-99.07) > 0.01 || p.Y != 0 {
		t.Errorf("east: got %+v, want (99.07, 0)", p)
	}
}

// TestListWalkingOrder: List with a position orders a grid worker's
// visits along the walking route and gives each its stop and the
// distance walked to it. Houses due north and south of the worker at
// +1, -2 and +5 units of 0.0008° (88.96 m): the chain's 11 units become
// 9 by 2-opt, so the order is the second house, the first, the third,
// reached after 2, 3 and 9 units.
func TestListWalkingOrder(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newWorld(t, d, clk, visit.Config{})
		const lat, lng, u = 27.005, 120.005, 0.0008
		ids := []int64{w.member(t, 1, "elderly_alone", lat+u, lng), w.member(t, 2, "elderly_alone", lat-2*u, lng),
			w.member(t, 3, "elderly_alone", lat+5*u, lng)}
		// A member without a house: last, with no stop.
		first17 := "33030319500101099"
		p, err := w.reg.AddPerson(context.Background(), w.scope("staff-a"), actor, registry.PersonInput{IDNumber: first17 + string(idcode.ResidentCheck(first17)),
			Name: "无房", Status: registry.StatusResident, GridCode: gridA})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.vis.Join(context.Background(), w.scope("staff-a"), actor, "elderly_alone", p.ID, ""); err != nil {
			t.Fatal(err)
		}
		here := []float64{lat, lng}
		ts, err := w.vis.List(context.Background(), w.Users["grid-a"], visit.Filter{Due: visit.DueToday, Lat: &here[0], Lng: &here[1]})
		if err != nil || len(ts) != 4 {
			t.Fatalf("list: got %d, %v; want 4", len(ts), err)
		}
		unit := u * 6371008.8 * math.Pi / 180
		for k, c := range []struct {
			person int64
			walked float64
		}{{ids[1], 2 * unit}, {ids[0], 5 * unit}, {ids[2], 9 * unit}} {
			got := ts[k]
			if got.PersonID != c.person || got.Stop != k+1 || got.WalkM == nil || math.Abs(*got.WalkM-c.walked) > 0.5 {
				t.Errorf("stop %d: got person %d stop %d walked %v, want person %d stop %d walked %.1f", k+1, got.PersonID, got.Stop,
					fmtPtr(got.WalkM), c.person, k+1, c.walked)
			}
		}
		if last := ts[3]; last.Stop != 0 || last.WalkM != nil || last.HouseLat != nil {
			t.Errorf("the task without a house: got stop %d walked %v, want last without either", last.Stop, fmtPtr(last.WalkM))
		}
	})
}

func fmtPtr(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
