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
