package policy_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/policy"
	"whistle/internal/registry"
)

// randomFacts sets a random subset of the demo's person facts, so that
// many are unknown.
func (w *world) randomFacts(t *testing.T, r *rand.Rand, id int64) {
	t.Helper()
	bools := []string{"hukou_local", "dibao", "dibao_edge", "tekun", "disability_cert", "unemployed_registered", "severe_illness", "sudden_hardship",
		"living_alone", "veteran", "student", "orphan"}
	for _, k := range bools {
		if r.IntN(3) == 0 {
			w.fact(t, id, k, r.IntN(2) == 0, r.IntN(2) == 0)
		}
	}
	if r.IntN(2) == 0 {
		w.fact(t, id, "income_per_head", float64(r.IntN(30)*100), true)
	}
	if r.IntN(3) == 0 {
		w.fact(t, id, "disability_grade", int64(1+r.IntN(4)), true)
	}
	if r.IntN(3) == 0 {
		w.fact(t, id, "medical_expense", float64(r.IntN(50)*1000), true)
	}
	if r.IntN(4) == 0 {
		w.fact(t, id, "care_level", int64(r.IntN(4)), true)
	}
}

// demoPeople seeds the demo policies and adds n people of random ages
// with random facts, and returns their ids.
func (w *world) demoPeople(t *testing.T, r *rand.Rand, n int) []int64 {
	t.Helper()
	if _, err := w.eng.SeedDemo(context.Background(), actor); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := range n {
		id := w.addPerson(t, fmt.Sprintf("19%02d0%d1%d", 20+r.IntN(80), 1+r.IntN(9), r.IntN(3)), i+10)
		w.randomFacts(t, r, id)
		ids = append(ids, id)
	}
	return ids
}

// TestRunMatchesEvaluate: the batch's stored result of every (subject,
// policy) equals the per-record CEL evaluation (the oracle) on random
// records, and a second run writes nothing.
func TestRunMatchesEvaluate(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		r := rand.New(rand.NewPCG(18, 1))
		ids := w.demoPeople(t, r, 40)
		st, err := w.eng.Run(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Subjects != len(ids) || st.Changed != int64(len(ids)) {
			t.Errorf("first run: got %+v, want %d subjects written", st, len(ids))
		}
		stored, err := w.eng.Stored(ctx, policy.KindPerson)
		if err != nil {
			t.Fatal(err)
		}
		compared := 0
		for _, id := range ids {
			rs, err := w.eng.Evaluate(ctx, account.SystemScope(), policy.Subject{Kind: policy.KindPerson, ID: id}, policy.ChinaDate(t0))
			if err != nil {
				t.Fatal(err)
			}
			for _, res := range rs {
				if got, want := stored[id][res.Policy], res.Result; got != want {
					t.Errorf("person %d, %s: batch got %s, CEL per record %s", id, res.Policy, got, want)
				}
				compared++
			}
		}
		if compared < 40*20 {
			t.Errorf("compared %d results, want at least 800", compared)
		}
		st, err = w.eng.Run(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Changed != 0 {
			t.Errorf("second run wrote %d rows, want 0", st.Changed)
		}
		// A run after some changes counts, and writes, exactly the
		// subjects whose results changed (their blocks hold others too).
		for _, id := range ids[:8] {
			w.randomFacts(t, r, id)
		}
		st, err = w.eng.Run(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		after, err := w.eng.Stored(ctx, policy.KindPerson)
		if err != nil {
			t.Fatal(err)
		}
		differ := 0
		for _, id := range ids {
			if !maps.Equal(stored[id], after[id]) {
				differ++
			}
		}
		if st.Changed != int64(differ) || len(after) != len(ids) {
			t.Errorf("run after changes wrote %d subjects, %d differ; %d stored, want %d", st.Changed, differ, len(after), len(ids))
		}
		stored = after
		if us, err := w.eng.Unclaimed(ctx, registry.ScopeOf(w.Users["staff-a"]), "330303001001", 3); err != nil || len(us) != 3 {
			t.Errorf("unclaimed, at most 3: got %d (%v), want 3", len(us), err)
		}
		us, err := w.eng.Unclaimed(ctx, registry.ScopeOf(w.Users["staff-a"]), "330303001001", 1000)
		if err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, m := range stored {
			for _, v := range m {
				if v == policy.Eligible {
					want++
				}
			}
		}
		if len(us) != want || want == 0 {
			t.Errorf("unclaimed: got %d, want %d (> 0)", len(us), want)
		}
		for _, u := range us {
			if u.Name != "张*" || u.GridCode != gridA || u.Since.IsZero() {
				t.Errorf("unclaimed %+v: want the name masked (张*), grid %s and the run's time", u, gridA)
				break
			}
		}
		// Each entry's amount is its policy's for that person.
		withAmount := 0
		for _, u := range us {
			rs, err := w.eng.Evaluate(ctx, account.SystemScope(), u.Subject, policy.ChinaDate(t0))
			if err != nil {
				t.Fatal(err)
			}
			want := resultOf(t, rs, u.Policy).Amount
			if (u.Amount == nil) != (want == nil) || u.Amount != nil && *u.Amount != *want {
				t.Errorf("unclaimed %d %s: amount %s, want %s", u.Subject.ID, u.Policy, amountText(u.Amount), amountText(want))
			}
			if u.Amount != nil {
				withAmount++
			}
		}
		if withAmount == 0 {
			t.Errorf("no unclaimed entry has an amount")
		}
		if _, err := w.eng.Unclaimed(ctx, registry.ScopeOf(w.Users["staff-b"]), "330303001001", 10); err == nil {
			t.Errorf("unclaimed of another community: got no error, want NotFound")
		}
	})
}

// amountText shows an amount that may be unset.
func amountText(a *float64) string {
	if a == nil {
		return "none"
	}
	return fmt.Sprint(*a)
}

// TestRunInRanges: a run that loads, evaluates and stores the people in
// two ranges of ids stores exactly what a run in one range does, and a
// second run in ranges writes nothing. The ranges begin at a block's
// first id: a block shared by two ranges would lose the first range's
// subjects to the second's store.
func TestRunInRanges(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		w.demoPeople(t, rand.New(rand.NewPCG(18, 7)), 45)
		run := func(splitAt int) (policy.RunStats, map[int64]map[string]string) {
			t.Helper()
			w.eng.SetSplitAt(splitAt)
			st, err := w.eng.Run(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			stored, err := w.eng.Stored(ctx, policy.KindPerson)
			if err != nil {
				t.Fatal(err)
			}
			return st, stored
		}
		st, one := run(1 << 30)
		if st.Changed != 45 {
			t.Fatalf("one range wrote %d subjects, want 45", st.Changed)
		}
		if err := w.eng.ForgetResults(ctx); err != nil {
			t.Fatal(err)
		}
		st, two := run(2)
		if st.Changed != 45 || st.Subjects != 45 {
			t.Errorf("two ranges: %d subjects, %d written, want 45 and 45", st.Subjects, st.Changed)
		}
		if len(two) != len(one) {
			t.Errorf("two ranges stored %d subjects, one range %d", len(two), len(one))
		}
		for id, m := range one {
			if !maps.Equal(two[id], m) {
				t.Errorf("person %d: two ranges stored %v, one range %v", id, two[id], m)
			}
		}
		if st, _ := run(2); st.Changed != 0 {
			t.Errorf("second run in two ranges wrote %d, want 0", st.Changed)
		}
	})
}
