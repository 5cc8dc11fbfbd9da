package policy

import (
	"math/rand/v2"
	"testing"
)

// TestRecheckMemo: the re-check's memo answers what CEL per record does
// (the oracle) for every demo policy over random subjects with many facts
// unknown, each subject asked twice (the second time from the memo),
// including a list field whose values would collide if joined, and
// numbers that would if their fields were not kept apart.
func TestRecheckMemo(t *testing.T) {
	en, cs := compiledDemos(t)
	for _, x := range []struct{ key, expr string }{
		{"groups", "'a b' in groups"},
		// Either field known alone can decide it: an absent field must
		// keep its place in the key.
		{"either", "age > 1 || income_per_head > 1.0"},
	} {
		c, probs := en.compileVersion(x.key, Resident, Version{Target: KindPerson, Period: "once", Conditions: []Condition{{ID: "g", Text: Text{"a", "a"}, Source: "s", Expr: x.expr}}})
		if len(probs) > 0 {
			t.Fatal(x.key, probs)
		}
		cs = append(cs, c)
	}
	ix := &index{comp: cs, memos: make([]outcomeMemo, len(cs))}
	r := rand.New(rand.NewPCG(18, 7))
	for _, kind := range []string{KindPerson, KindOrganisation} {
		var values []map[string]any
		for range 400 {
			v := randomFacts(r, kind, 3, 3, 1)
			values = append(values, v)
		}
		for round := range 2 {
			for i, v := range values {
				for p, c := range cs {
					if !appliesTo(c, kind) {
						continue
					}
					f := newFacts(v, nil, c.fields)
					want := letterOf(c.outcome(f.known))
					if got := ix.letter(p, f); got != want {
						t.Fatalf("round %d, %s %d, %s: memo %c, CEL per record %c (%v)", round, kind, i, c.key, got, want, f.known)
					}
				}
			}
		}
	}
}
