package policy

import (
	"math/rand/v2"
	"testing"
)

// TestEvaluateTableSplit: the table split between workers in small
// blocks, each worker with its own memos, answers exactly what one worker
// does and what CEL per record does (the oracle), for every demo policy
// over random subjects with many facts unknown — including a list field
// whose values would collide if joined with a space.
func TestEvaluateTableSplit(t *testing.T) {
	en, cs := compiledDemos(t)
	// A policy over groups: ["a b"] must not be taken for ["a", "b"].
	c, probs := en.compileVersion("groups", Resident, Version{Target: KindPerson, Period: "once", Conditions: []Condition{{ID: "g", Text: Text{"a", "a"}, Source: "s", Expr: "'a b' in groups"}}})
	if len(probs) > 0 {
		t.Fatal(probs)
	}
	cs = append(cs, c)
	r := rand.New(rand.NewPCG(18, 4))
	for _, kind := range []string{KindPerson, KindOrganisation} {
		tb := NewTable(kind)
		var values []map[string]any
		for i := range 600 {
			v := randomFacts(r, kind, 100, 40, 100)
			tb.Add(int64(i+1), "/330303/", v)
			values = append(values, v)
		}
		one, _ := evaluateTable(cs, tb, 1, 4096)
		split, _ := evaluateTable(cs, tb, 3, 7)
		for i := range values {
			for p, c := range cs {
				want := byte(letterNone)
				if appliesTo(c, kind) {
					want = letterOf(c.outcome(newFacts(values[i], nil, c.fields).known))
				}
				if one[i][p] != want || split[i][p] != want {
					t.Fatalf("%s %d, %s: one worker %c, split %c, CEL per record %c", kind, i, c.key, one[i][p], split[i][p], want)
				}
			}
		}
	}
}

// compiledDemos compiles every demo policy, for the tests that hold the
// table's answers to CEL per record.
func compiledDemos(t *testing.T) (*envs, []*compiled) {
	t.Helper()
	en, err := newEnvs()
	if err != nil {
		t.Fatal(err)
	}
	ps, err := DemoPolicies()
	if err != nil {
		t.Fatal(err)
	}
	var cs []*compiled
	for _, p := range ps {
		c, probs := en.compileVersion(p.Key, p.Kind, p.Version)
		if len(probs) > 0 {
			t.Fatal(probs)
		}
		cs = append(cs, c)
	}
	return en, cs
}

// randomFacts is a subject of kind with about a third of its fields
// unknown: integers below ints, doubles below doubles times scale, and
// strings and lists that would collide if joined.
func randomFacts(r *rand.Rand, kind string, ints, doubles int, scale float64) map[string]any {
	v := map[string]any{}
	for _, f := range FieldsOf(kind) {
		if r.IntN(3) == 0 {
			continue // unknown
		}
		switch f.Type {
		case TInt:
			v[f.Key] = int64(r.IntN(ints))
		case TDouble:
			v[f.Key] = float64(r.IntN(doubles)) * scale
		case TBool:
			v[f.Key] = r.IntN(2) == 0
		case TString:
			v[f.Key] = []string{"micro", "small", "company", "A", "resident", "M"}[r.IntN(6)]
		case TList:
			v[f.Key] = [][]string{{"a b"}, {"a", "b"}, {}}[r.IntN(3)]
		}
	}
	return v
}
