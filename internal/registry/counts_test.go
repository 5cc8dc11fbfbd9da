package registry_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/registry"
	"whistle/internal/worldtest"
)

// countNodes are every node of worldtest.OneStreet above and at its grids.
var countNodes = []string{"330303", "330303001", "330303001001", "330303001002", gridA, gridB}

// scanned counts a node's records by scanning the tables under its path:
// the oracle that reg_counts must equal.
func scanned(t *testing.T, d *db.DB, node string) registry.BaseCounts {
	t.Helper()
	ctx := context.Background()
	b := registry.BaseCounts{Node: node, ByStatus: map[string]int{}, ByGroup: map[string]int{}, HousesByUse: map[string]int{}}
	for _, st := range registry.Statuses() {
		b.ByStatus[st] = 0
	}
	for _, u := range registry.HouseUses() {
		b.HousesByUse[u] = 0
	}
	like := "%/" + node + "/%"
	for _, q := range []struct {
		sql string
		m   map[string]int
	}{
		{`SELECT status, COUNT(*) FROM reg_people WHERE region_path LIKE $1 GROUP BY status`, b.ByStatus},
		{`SELECT m.group_code, COUNT(*) FROM reg_group_members m JOIN reg_people p ON p.id = m.person_id WHERE p.region_path LIKE $1 GROUP BY m.group_code`, b.ByGroup},
		{`SELECT use, COUNT(*) FROM reg_houses WHERE region_path LIKE $1 GROUP BY use`, b.HousesByUse},
	} {
		rows, err := d.Query(ctx, q.sql, like)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			q.m[k] = n
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
	}
	for _, n := range b.ByStatus {
		b.People += int64(n)
	}
	for _, n := range b.HousesByUse {
		b.Houses += int64(n)
	}
	if err := d.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM reg_buildings WHERE region_path LIKE $1), (SELECT COUNT(*) FROM reg_organisations WHERE region_path LIKE $1)`,
		like).Scan(&b.Buildings, &b.Organisations); err != nil {
		t.Fatal(err)
	}
	return b
}

// sameCounts reports the differences between the rollup and the oracle.
func sameCounts(t *testing.T, w *world, d *db.DB, when string) {
	t.Helper()
	got, err := w.reg.Counts(context.Background(), account.SystemScope(), countNodes...)
	if err != nil {
		t.Fatal(err)
	}
	for i, node := range countNodes {
		if g, want := fmt.Sprintf("%+v", got[i]), fmt.Sprintf("%+v", scanned(t, d, node)); g != want {
			t.Errorf("%s, node %s:\nrollup %s\nscan   %s", when, node, g, want)
		}
	}
}

// TestCountsRollUp: after a random sequence of the store's writes (people
// added, moved between grids and between statuses, joined to and taken out
// of groups, bulk upserts, buildings, houses and organisations), the
// counts of every node read from reg_counts equal a scan of the tables;
// RebuildCounts gives the same.
func TestCountsRollUp(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		ctx := context.Background()
		w := newWorld(t, d)
		sc := account.SystemScope()
		rng := rand.New(rand.NewPCG(20261206, 36))
		grids := []string{gridA, gridB}
		lng := map[string]float64{gridA: 120.005, gridB: 120.015}
		statuses := registry.Statuses()
		groups := []string{"elderly_alone", "disabled", "veteran"}
		var people []int64
		var buildings []int64
		next := 1
		for step := range 150 {
			switch r := rng.IntN(10); {
			case r < 3 || len(people) == 0:
				in := person(next)
				next++
				in.GridCode = grids[rng.IntN(2)]
				if rng.IntN(3) == 0 {
					in.Status, in.RegisteredOn = registry.StatusFloating, "2026-03-01"
				}
				people = append(people, mustPerson(t, w, sc, in).ID)
			case r == 3:
				id := people[rng.IntN(len(people))]
				g, st := grids[rng.IntN(2)], statuses[rng.IntN(len(statuses))]
				p := registry.PersonPatch{GridCode: &g, Status: &st}
				if st == registry.StatusFloating {
					on := "2026-04-01"
					p.RegisteredOn = &on
				}
				if _, err := w.reg.UpdatePerson(ctx, sc, actor, id, p); err != nil {
					t.Fatalf("step %d: update %d: %v", step, id, err)
				}
			case r == 4:
				_ = w.reg.AddMember(ctx, sc, actor, groups[rng.IntN(len(groups))], people[rng.IntN(len(people))], "")
			case r == 5:
				_ = w.reg.RemoveMember(ctx, sc, actor, groups[rng.IntN(len(groups))], people[rng.IntN(len(people))])
			case r == 6:
				// A bulk upsert: two new people and one existing moved.
				var in []registry.PersonInput
				for range 2 {
					p := person(next)
					next++
					p.GridCode = grids[rng.IntN(2)]
					in = append(in, p)
				}
				moved := person(1 + rng.IntN(next-1))
				moved.GridCode = grids[rng.IntN(2)]
				in = append(in, moved)
				if _, err := w.reg.UpsertPeople(ctx, sc, actor, in); err != nil {
					t.Fatalf("step %d: upsert: %v", step, err)
				}
			case r == 7 || len(buildings) == 0:
				g := grids[rng.IntN(2)]
				b, err := w.reg.AddBuilding(ctx, sc, actor, registry.BuildingInput{Address: fmt.Sprintf("路%d号", step), Lat: 27.005, Lng: lng[g]})
				if err != nil {
					t.Fatalf("step %d: building: %v", step, err)
				}
				buildings = append(buildings, b.ID)
			case r == 8:
				uses := registry.HouseUses()
				if _, err := w.reg.AddHouse(ctx, sc, actor, registry.HouseInput{BuildingID: buildings[rng.IntN(len(buildings))], Room: fmt.Sprint(100 + step),
					Use: uses[rng.IntN(len(uses))]}); err != nil {
					t.Fatalf("step %d: house: %v", step, err)
				}
			default:
				if _, err := w.reg.AddOrganisation(ctx, sc, actor, registry.OrganisationInput{CreditCode: credit(fmt.Sprintf("91330303MA2AB%04d", step)),
					Name: fmt.Sprintf("店%d", step), Address: "一路1号", GridCode: grids[rng.IntN(2)]}); err != nil {
					t.Fatalf("step %d: organisation: %v", step, err)
				}
			}
			// After each step, not only at the end: a later write to a
			// grid recounts it whole, which would hide a step that left a
			// grid stale (a move out of it) until then.
			sameCounts(t, w, d, fmt.Sprintf("step %d", step))
			if t.Failed() {
				return
			}
		}
		// Every metric of the oracle is exercised, so a metric left out of
		// the rollup would show above.
		all := scanned(t, d, "330303")
		if all.People == 0 || all.ByStatus[registry.StatusFloating] == 0 || all.Houses == 0 || all.Buildings == 0 || all.Organisations == 0 ||
			all.ByGroup["elderly_alone"]+all.ByGroup["disabled"]+all.ByGroup["veteran"] == 0 {
			t.Errorf("the sequence left a metric empty: %+v", all)
		}
		if a, b := scanned(t, d, gridA), scanned(t, d, gridB); a.People == 0 || b.People == 0 {
			t.Errorf("the sequence left a grid empty: %d in A, %d in B", a.People, b.People)
		}
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE reg_counts SET n = n + 7 WHERE metric <> '_lock'`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if n, err := w.reg.RebuildCounts(ctx); err != nil || n != 2 {
			t.Fatalf("rebuild: %d grids, %v; want 2", n, err)
		}
		sameCounts(t, w, d, "after RebuildCounts")
	})
}

// TestCountsOfConcurrentWriters: writers adding people to the same grids
// at once (on PostgreSQL, in transactions that overlap) leave the counts
// exact: each grid's recount waits for the other's commit.
func TestCountsOfConcurrentWriters(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		w := newWorld(t, d)
		var wg sync.WaitGroup
		errc := make(chan error, 64)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 6 {
					in := person(100 + g*10 + i)
					in.GridCode = []string{gridA, gridB}[(g+i)%2]
					if _, err := w.reg.AddPerson(context.Background(), account.SystemScope(), actor, in); err != nil {
						errc <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if !strings.Contains(err.Error(), "deadlock") {
				t.Fatal(err)
			}
			t.Fatalf("deadlock: %v", err)
		}
		sameCounts(t, w, d, "after concurrent writers")
		if c, _ := w.reg.Counts(context.Background(), account.SystemScope(), "330303"); c[0].People != 48 {
			t.Errorf("district people: got %d, want 48", c[0].People)
		}
	})
}
