package registry_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
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
		checkEachFactSet(t, w, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), 5, 1)
	})
}

// sameFactSet reports where the batch's fact set got differs from the
// single subject's want.
func sameFactSet(t *testing.T, kind string, got, want *registry.FactSet) {
	t.Helper()
	if fmt.Sprint(got.Values) != fmt.Sprint(want.Values) || fmt.Sprint(got.Verified) != fmt.Sprint(want.Verified) || got.RegionPath != want.RegionPath || got.GridCode != want.GridCode {
		t.Errorf("%s %d: batch %v %v %s, single %v %v %s", kind, got.ID, got.Values, got.Verified, got.RegionPath, want.Values, want.Verified, want.RegionPath)
	}
}

// checkEachFactSet compares every fact set EachFactSet gives with the
// single subject's FactSet (which reads the rows, not the snapshot), and
// counts them.
func checkEachFactSet(t *testing.T, w *world, date time.Time, people, orgs int) {
	t.Helper()
	ctx := context.Background()
	sc := account.SystemScope()
	for kind, want := range map[string]int{registry.FactPerson: people, registry.FactOrganisation: orgs} {
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
			sameFactSet(t, kind, got, want)
			return nil
		})
		if err != nil || seen != want {
			t.Fatalf("%s: %v, %d subjects, want %d", kind, err, seen, want)
		}
	}
}

// checkFactSetsOf compares the batch's fact sets of the subjects ids of
// a kind (EachFactSetIn over each one's range) with FactSet's.
func checkFactSetsOf(t *testing.T, w *world, date time.Time, kind string, ids ...int64) {
	t.Helper()
	ctx := context.Background()
	one := kind
	if kind == registry.FactPerson {
		one = registry.FactHousehold
	}
	for _, id := range ids {
		seen := 0
		err := w.reg.EachFactSetIn(ctx, kind, date, []int64{id, id + 1}, func(_ int, got *registry.FactSet) error {
			seen++
			want, err := w.reg.FactSet(ctx, account.SystemScope(), one, id, date)
			if err != nil {
				return err
			}
			sameFactSet(t, kind, got, want)
			return nil
		})
		if err != nil || seen != 1 {
			t.Fatalf("%s %d: %v, seen %d times", kind, id, err, seen)
		}
	}
}

// TestEachFactSetFollowsChanges: the batch's fact sets, read from the
// registry's snapshot, follow every kind of change to the rows they are
// made of — people added and changed (grid, status, household), facts
// set, changed and removed (a person's, a household's, an
// organisation's), organisations added and changed, group members — in
// a random sequence, compared after every few changes.
func TestEachFactSetFollowsChanges(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		sc := account.SystemScope()
		rng := rand.New(rand.NewPCG(7, 18))
		date := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
		var people, orgs []int64
		members := map[int64]bool{}
		addPerson := func() {
			in := person(100 + len(people))
			in.HouseholdID, in.HouseholdRel = fmt.Sprintf("H%d", rng.IntN(4)), "other"
			people = append(people, mustPerson(t, w, sc, in).ID)
		}
		for range 40 {
			addPerson() // more than a block of 32
		}
		addOrg := func() {
			first17 := fmt.Sprintf("91330303MA2AB%04d", len(orgs))
			o, err := w.reg.AddOrganisation(ctx, sc, actor, registry.OrganisationInput{CreditCode: credit(first17), Name: fmt.Sprintf("某公司%d", len(orgs)), Address: "一路1号", GridCode: gridA})
			if err != nil {
				t.Fatal(err)
			}
			orgs = append(orgs, o.ID)
		}
		addOrg()
		checkEachFactSet(t, w, date, len(people), len(orgs))
		values := []any{nil, 1, 2.5, true, false, "低保", []any{"a", "b"}}
		keys := []string{"income_per_head", "dibao", "disability_level", "status"}
		// A third of the changes remove a fact the subject has.
		type subject struct {
			kind string
			id   int64
		}
		has := map[subject][]string{}
		setFact := func(kind string, id int64) {
			in := registry.FactInput{Key: keys[rng.IntN(len(keys))], Value: values[1+rng.IntN(len(values)-1)], Verified: rng.IntN(2) == 0}
			s := subject{kind, id}
			if ks := has[s]; len(ks) > 0 && rng.IntN(3) == 0 {
				in.Key, in.Value = ks[0], nil
				has[s] = ks[1:]
			} else if !slices.Contains(ks, in.Key) {
				has[s] = append(ks, in.Key)
			}
			if err := w.reg.SetFact(ctx, sc, actor, kind, id, in); err != nil {
				t.Fatal(err)
			}
		}
		for step := range 120 {
			p := people[rng.IntN(len(people))]
			switch rng.IntN(9) {
			case 0:
				addPerson()
			case 1:
				setFact(registry.FactPerson, p)
			case 2:
				setFact(registry.FactHousehold, p)
			case 3:
				setFact(registry.FactOrganisation, orgs[rng.IntN(len(orgs))])
			case 4:
				hh := fmt.Sprintf("H%d", rng.IntN(5))
				if _, err := w.reg.UpdatePerson(ctx, sc, actor, p, registry.PersonPatch{HouseholdID: &hh}); err != nil {
					t.Fatal(err)
				}
			case 5:
				grid := []string{gridA, gridB}[rng.IntN(2)]
				status := []string{registry.StatusResident, registry.StatusLodging}[rng.IntN(2)]
				if _, err := w.reg.UpdatePerson(ctx, sc, actor, p, registry.PersonPatch{GridCode: &grid, Status: &status}); err != nil {
					t.Fatal(err)
				}
			case 6:
				addOrg()
			case 7:
				if !members[p] {
					members[p] = true
					if err := w.reg.AddMember(ctx, sc, actor, "elderly_alone", p, ""); err != nil {
						t.Fatal(err)
					}
				}
			case 8:
				in := person(100 + rng.IntN(len(people)))
				in.HouseholdID, in.HouseholdRel = fmt.Sprintf("H%d", rng.IntN(5)), "other"
				in.Status = []string{registry.StatusResident, registry.StatusLodging}[rng.IntN(2)]
				if _, err := w.reg.UpsertPeople(ctx, sc, actor, []registry.PersonInput{in}); err != nil {
					t.Fatal(err)
				}
			}
			// The subjects this step may have changed, at once: a change
			// in the same block later would hide a missed one.
			checkFactSetsOf(t, w, date, registry.FactPerson, p, people[len(people)-1])
			checkFactSetsOf(t, w, date, registry.FactOrganisation, orgs...)
			if step%10 == 9 {
				checkEachFactSet(t, w, date, len(people), len(orgs))
			}
		}
		checkEachFactSet(t, w, date, len(people), len(orgs))
	})
}

// TestSnapshotRefreshRacesWriters: facts change on four goroutines while
// four others refresh the snapshot over and over; once all have stopped,
// the batch's fact sets equal the rows. A refresh that deleted a mark it
// had not read, or two refreshes writing a block's rows read at
// different times in the wrong order (PostgreSQL, without the advisory
// lock), leave a block stale with no mark to rebuild it.
func TestSnapshotRefreshRacesWriters(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		sc := account.SystemScope()
		var people []int64
		for i := range 200 {
			people = append(people, mustPerson(t, w, sc, person(200+i)).ID)
		}
		date := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
		stop := make(chan struct{})
		var writers, refreshers sync.WaitGroup
		errc := make(chan error, 8)
		for g := range 4 {
			writers.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(g), 1))
				for i := 0; i < 400; i++ {
					id := people[rng.IntN(len(people))]
					in := registry.FactInput{Key: "income_per_head", Value: rng.IntN(1000), Verified: rng.IntN(2) == 0}
					if rng.IntN(4) == 0 {
						in.Value = nil
					}
					if err := w.reg.SetFact(ctx, sc, actor, registry.FactPerson, id, in); err != nil && !errs.Is(err, errs.Conflict) {
						errc <- err
						return
					}
				}
			})
		}
		for range 4 {
			refreshers.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := w.reg.RefreshSnapshot(ctx); err != nil {
						errc <- err
						return
					}
				}
			})
		}
		writers.Wait()
		close(stop)
		refreshers.Wait()
		close(errc)
		for err := range errc {
			t.Fatal(err)
		}
		checkEachFactSet(t, w, date, len(people), 0)
	})
}

// TestSnapshotRefreshesTakeTurns (PostgreSQL): a refresh that has read a
// block's rows and not yet written them is overtaken by a change and by
// a second refresh; the block must still end with the change. Without
// the refreshes' advisory lock the second writes the new rows and
// deletes both marks, then the first writes the old rows over them, and
// the change is lost to the batch with no mark left to rebuild it.
func TestSnapshotRefreshesTakeTurns(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		if d.Dialect() == db.SQLite {
			t.Skip("SQLite has one writer: a refresh's transaction holds it, so no change or refresh comes between its read and its write")
		}
		w := newWorld(t, d)
		ctx := context.Background()
		sc := account.SystemScope()
		p := mustPerson(t, w, sc, person(1)).ID
		set := func(v int) {
			t.Helper()
			if err := w.reg.SetFact(ctx, sc, actor, registry.FactPerson, p, registry.FactInput{Key: "income_per_head", Value: v}); err != nil {
				t.Fatal(err)
			}
		}
		set(1)
		if _, err := w.reg.RefreshSnapshot(ctx); err != nil {
			t.Fatal(err)
		}
		set(2)
		read, release := make(chan struct{}), make(chan struct{})
		var calls atomic.Int32
		registry.SetSnapRead(w.reg, func() {
			if calls.Add(1) == 1 {
				close(read)
				<-release
			}
		})
		first := make(chan error, 1)
		go func() { _, err := w.reg.RefreshSnapshot(ctx); first <- err }()
		<-read
		set(3)
		second := make(chan error, 1)
		go func() { _, err := w.reg.RefreshSnapshot(ctx); second <- err }()
		// The second waits for the first's lock; without the lock it
		// ends at once.
		select {
		case err := <-second:
			second <- err
		case <-time.After(500 * time.Millisecond):
		}
		close(release)
		for _, c := range []chan error{first, second} {
			if err := <-c; err != nil {
				t.Fatal(err)
			}
		}
		err := w.reg.EachFactSet(ctx, registry.FactPerson, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), func(fs *registry.FactSet) error {
			if got := fs.Values["income_per_head"]; got != int64(3) {
				t.Errorf("income_per_head: got %v (%T), want 3", got, got)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestHouseholdSizeFollowsMoves: a person's household size is in their
// snapshot block, so a person who joins or leaves a household changes
// the blocks of its members. The households here each live in one block
// of their own, so that no other change marks the block a move must.
func TestHouseholdSizeFollowsMoves(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		sc := account.SystemScope()
		date := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
		var people []int64
		for i := range 100 {
			people = append(people, mustPerson(t, w, sc, person(300+i)).ID)
		}
		household := func(id int64) string { return fmt.Sprintf("B%d", id>>5) }
		move := func(id int64, hh string) {
			t.Helper()
			if _, err := w.reg.UpdatePerson(ctx, sc, actor, id, registry.PersonPatch{HouseholdID: &hh, HouseholdRel: ptr("other")}); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range people {
			move(id, household(id))
		}
		checkEachFactSet(t, w, date, len(people), 0)
		// From the second block's household to the third's: each side's
		// members are marked by that side alone.
		mover := people[40]
		move(mover, household(people[80]))
		checkEachFactSet(t, w, date, len(people), 0)
		// Back, so that the other side is the one that grows.
		move(mover, household(people[40]))
		checkEachFactSet(t, w, date, len(people), 0)
		// A new person joins the first block's household from the last
		// block.
		in := person(500)
		in.HouseholdID, in.HouseholdRel = household(people[0]), "other"
		mustPerson(t, w, sc, in)
		checkEachFactSet(t, w, date, len(people)+1, 0)
	})
}

// TestSnapshotScatteredBlocks: a refresh reads the marked blocks a range
// at a time and writes them many a statement; with every other block of
// 138 marked, each comes back with its change and the blocks between
// stay as they were.
func TestSnapshotScatteredBlocks(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		sc := account.SystemScope()
		var batch []registry.PersonInput
		for n := range 4400 {
			in := person(0)
			in.IDNumber = idn(fmt.Sprintf("3303031990%02d%02d%03d", 1+n/28000, 1+n%28, n/28%1000))
			batch = append(batch, in)
		}
		res, err := w.reg.UpsertPeople(ctx, sc, actor, batch)
		if err != nil {
			t.Fatal(err)
		}
		date := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
		if _, err := w.reg.RefreshSnapshot(ctx); err != nil {
			t.Fatal(err)
		}
		var changed, unchanged []int64
		for _, id := range res.IDs {
			if id%64 == 7 { // every other block of 32
				changed, unchanged = append(changed, id), append(unchanged, id+32)
				if err := w.reg.SetFact(ctx, sc, actor, registry.FactPerson, id, registry.FactInput{Key: "dibao", Value: true}); err != nil {
					t.Fatal(err)
				}
			}
		}
		if len(changed) <= 64 {
			t.Fatalf("%d blocks changed, want more than 64", len(changed))
		}
		// The first call refreshes them all at once.
		checkFactSetsOf(t, w, date, registry.FactPerson, changed...)
		checkFactSetsOf(t, w, date, registry.FactPerson, unchanged[:len(unchanged)-1]...)
	})
}

// TestPeopleTriggerUsesTheHouseholdIndex: on PostgreSQL, the statement
// trigger that marks the blocks of a household's members finds them
// through the household index, not by scanning reg_people, while the
// table has no statistics (a first import, in one transaction). A scan a
// statement made an import quadratic: a million people did not finish.
func TestPeopleTriggerUsesTheHouseholdIndex(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		if d.Dialect() != db.Postgres {
			t.Skip("SQLite's row triggers look each household up by NEW.household_id")
		}
		newWorld(t, d)
		ctx := context.Background()
		var path string
		if err := d.QueryRow(ctx, `SELECT path FROM regions WHERE code = $1`, gridA).Scan(&path); err != nil {
			t.Fatal(err)
		}
		// n people, three a household, in one statement each time; no
		// ANALYZE, as during an import.
		// Person Tg of household H((g-shift)/3).
		insert := func(tx *db.Tx, from, n, shift int) error {
			_, err := tx.Exec(ctx, `INSERT INTO reg_people (id_number, name, sex, birth_date, status, household_id, household_relation, grid_code, region_path, created_at, updated_at)
				SELECT 'T' || g, '张' || g, 'M', '1990-01-01', 'resident', 'H' || ((g - $3::bigint) / 3), 'other', $4, $5, $6, $6
				FROM generate_series($1::bigint, $1::bigint + $2::bigint - 1) g`, from, n, shift, gridA, path, tx.Now())
			return err
		}
		if err := d.InTx(ctx, func(tx *db.Tx) error { return insert(tx, 0, 30000, 0) }); err != nil {
			t.Fatal(err)
		}
		// The backend's counts not yet flushed (at most once a second)
		// show in the view too: the insert's are the difference.
		const scansQuery = `SELECT COALESCE((SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relid = 'reg_people'::regclass), 0)`
		var before, after, marks int64
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			if err := tx.QueryRow(ctx, scansQuery).Scan(&before); err != nil {
				return err
			}
			// T30000 … T30199: households H9966 … H10032, the first
			// ones the first insert's.
			if err := insert(tx, 30000, 200, 100); err != nil {
				return err
			}
			return tx.QueryRow(ctx, scansQuery).Scan(&after)
		}); err != nil {
			t.Fatal(err)
		}
		if after != before {
			t.Errorf("sequential scans of reg_people by a 200-person insert: got %d, want 0", after-before)
		}
		// The members already there are marked too: T29898 (block 934)
		// is of H9966, which T30000 (block 937) joined.
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM reg_snap_dirty WHERE kind = 'person' AND block = (SELECT id >> 5 FROM reg_people WHERE id_number = 'T29898')`).Scan(&marks); err != nil {
			t.Fatal(err)
		}
		if marks != 2 {
			t.Errorf("marks of the block of T29898, whose household the second insert joined: got %d, want 2 (one a statement)", marks)
		}
	})
}
