package policy

import (
	"context"
	"errors"
	"maps"
	"sort"
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
