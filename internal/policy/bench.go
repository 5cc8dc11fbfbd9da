package policy

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"time"

	"whistle/internal/errs"
	"whistle/internal/registry"
)

// Baseline is the per-record evaluation the batch is measured against.
type Baseline struct {
	Subjects    int           `json:"subjects"`
	Policies    int           `json:"policies"`
	Evaluations int64         `json:"evaluations"`
	Took        time.Duration `json:"took"`
	// Mismatches counts the (subject, policy) answers that differ from the
	// batch's (the memo's): it must be 0.
	Mismatches int `json:"mismatches"`
}

var errEnough = errors.New("enough subjects")

// BaselinePerRecord evaluates every active policy for the first n people
// of the registry the plain way — cel-go per record and policy, no memo
// and no index — timing only the evaluations, and checks each answer
// against the batch's memo on the same records.
func (e *Engine) BaselinePerRecord(ctx context.Context, n int) (_ Baseline, err error) {
	defer errs.Wrapf(&err, "policy.Engine.BaselinePerRecord(%d)", n)
	date := chinaDate(e.db.Now())
	cs, err := e.active(ctx, date, nil, nil)
	if err != nil {
		return Baseline{}, err
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].key < cs[j].key })
	t := NewTable(KindPerson)
	var values []map[string]any
	var verified []map[string]bool
	err = e.registry.EachFactSet(ctx, KindPerson, date, func(fs *registry.FactSet) error {
		if t.Len() >= n {
			return errEnough
		}
		t.Add(fs.ID, fs.RegionPath, fs.Values)
		values, verified = append(values, maps.Clone(fs.Values)), append(verified, maps.Clone(fs.Verified))
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return Baseline{}, err
	}
	memo, _ := EvaluateTable(cs, t)
	b := Baseline{Subjects: t.Len(), Policies: len(cs)}
	got := make([]byte, len(cs))
	for i := range values {
		start := time.Now()
		for p, c := range cs {
			if !appliesTo(c, KindPerson) {
				got[p] = letterNone
				continue
			}
			got[p] = letterOf(c.outcome(newFacts(values[i], verified[i], c.fields).known))
			b.Evaluations++
		}
		b.Took += time.Since(start)
		for p := range cs {
			if got[p] != memo[i][p] {
				b.Mismatches++
			}
		}
	}
	return b, nil
}

// BenchPolicies are n policies for benchmarks: the demo's, then variants
// of them (the key suffixed _v1, _v2 …, each condition's first whole
// number shifted by the variant's number) until n.
func BenchPolicies(n int) ([]DemoPolicy, error) {
	ps, err := DemoPolicies()
	if err != nil {
		return nil, err
	}
	num := regexp.MustCompile(`\b[0-9]+\b`)
	out := make([]DemoPolicy, 0, n)
	for i := range n {
		src := ps[i%len(ps)]
		shift := i / len(ps)
		if shift == 0 {
			out = append(out, src)
			continue
		}
		p := src
		p.Key = src.Key + "_v" + strconv.Itoa(shift)
		p.Version.Conditions = slices.Clone(src.Version.Conditions)
		for j := range p.Version.Conditions {
			done := false
			p.Version.Conditions[j].Expr = num.ReplaceAllStringFunc(p.Version.Conditions[j].Expr, func(s string) string {
				if done {
					return s
				}
				done = true
				v, _ := strconv.Atoi(s)
				return strconv.Itoa(v + shift)
			})
		}
		out = append(out, p)
	}
	return out, nil
}

// Batch is a set of compiled policies evaluated in memory, for the
// benchmarks that compare the batch with other evaluators in one
// process.
type Batch struct {
	cs []*compiled
}

// NewBatch compiles the policies, in their order.
func NewBatch(ps []DemoPolicy) (*Batch, error) {
	en, err := newEnvs()
	if err != nil {
		return nil, err
	}
	b := &Batch{}
	for _, p := range ps {
		c, probs := en.compileVersion(p.Key, p.Kind, p.Version)
		if len(probs) > 0 {
			return nil, fmt.Errorf("%s: %v", p.Key, probs)
		}
		b.cs = append(b.cs, c)
	}
	return b, nil
}

// Evaluate answers every policy for every subject of the table, one
// letter per policy (E eligible, N not, M may be, - another kind), and
// how many CEL evaluations the memos made.
func (b *Batch) Evaluate(t *Table) ([][]byte, int) { return EvaluateTable(b.cs, t) }

// PerRecord answers every policy for one subject's values with cel-go,
// without the memo: the baseline.
func (b *Batch) PerRecord(kind string, values map[string]any) []byte {
	out := make([]byte, len(b.cs))
	for p, c := range b.cs {
		if !appliesTo(c, kind) {
			out[p] = letterNone
			continue
		}
		out[p] = letterOf(c.outcome(newFacts(values, nil, c.fields).known))
	}
	return out
}
