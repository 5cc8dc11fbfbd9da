package policy_test

import (
	"testing"

	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/policy"
)

// TestDemoPolicies: the demo ships at least 20 resident and 10 enterprise
// policies, every one valid, every condition citing its source.
func TestDemoPolicies(t *testing.T) {
	ps, err := policy.DemoPolicies()
	if err != nil {
		t.Fatal(err)
	}
	d := dbtest.MustOpenDB(t, db.SQLite, nil)
	eng, err := policy.New(policy.Deps{DB: d})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, p := range ps {
		kinds[p.Kind]++
		if probs := eng.Validate(p.Draft); len(probs) > 0 {
			t.Errorf("%s: got problems %+v, want none", p.Key, probs)
		}
		for _, c := range p.Version.Conditions {
			if len([]rune(c.Source)) < 6 {
				t.Errorf("%s.%s: source %q does not cite a document and article", p.Key, c.ID, c.Source)
			}
		}
	}
	if kinds[policy.Resident] < 20 || kinds[policy.Enterprise] < 10 {
		t.Errorf("got %v, want at least 20 resident and 10 enterprise policies", kinds)
	}
}

// TestBenchPolicies: the benchmark's 100 policies are valid drafts with
// distinct keys, the variants' thresholds shifted from the demo's.
func TestBenchPolicies(t *testing.T) {
	ps, err := policy.BenchPolicies(100)
	if err != nil {
		t.Fatal(err)
	}
	d := dbtest.MustOpenDB(t, db.SQLite, nil)
	eng, err := policy.New(policy.Deps{DB: d})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, p := range ps {
		if probs := eng.Validate(p.Draft); len(probs) > 0 {
			t.Errorf("%s: %+v", p.Key, probs)
		}
		keys[p.Key] = true
	}
	if len(ps) != 100 || len(keys) != 100 {
		t.Errorf("got %d policies, %d keys; want 100 each", len(ps), len(keys))
	}
	if ps[33].Key != "elderly_allowance_v1" || ps[33].Version.Conditions[0].Expr != "age >= 81" {
		t.Errorf("the first variant: %s %q, want elderly_allowance_v1 with age >= 81", ps[33].Key, ps[33].Version.Conditions[0].Expr)
	}
	if _, err := policy.NewBatch(ps); err != nil {
		t.Fatal(err)
	}
}
