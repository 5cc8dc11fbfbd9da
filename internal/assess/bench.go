package assess

import (
	"context"

	"whistle/internal/account"
	"whistle/internal/benchmark"
	"whistle/internal/errs"
)

// Benchmark adapts the benchmark module to Values, Publisher and Peers:
// the production source of indicator values, weak points and improvers.
type Benchmark struct {
	Store *benchmark.Store
}

// PublishPeriod implements Publisher.
func (b Benchmark) PublishPeriod(ctx context.Context, period string) error {
	return b.Store.PublishPeriod(ctx, period)
}

// Value implements Values: the unit's stored value, read with the
// system's scope (scores are the assessors'). It is one row, not an
// analysis: a freeze reads it for every unit and indicator item.
func (b Benchmark) Value(ctx context.Context, indicator, unit, period string) (float64, bool, error) {
	return b.Store.Value(ctx, indicator, unit, period)
}

// WeakPoints implements Peers: the benchmark's weak points in the
// caller's scope, each with its rank range and trend from the analysis.
func (b Benchmark) WeakPoints(ctx context.Context, sc account.Scope, unit, period string) ([]WeakPoint, error) {
	weak, err := b.Store.WeakPoints(ctx, sc, unit, period)
	if err != nil {
		return nil, err
	}
	out := make([]WeakPoint, 0, len(weak))
	for _, w := range weak {
		wp := WeakPoint{Indicator: w.Indicator, Rank: w.Rank, Peers: w.Peers, Percentile: w.Percentile, RankRange: [2]int{w.Rank, w.Rank},
			Suggested: []Improver{}}
		a, err := b.Store.Analyse(ctx, sc, benchmark.Query{Unit: unit, Indicator: w.Indicator, Period: period})
		if err != nil {
			return nil, err
		}
		wp.RankRange, wp.Trend = a.RankRange, a.Trend
		for _, s := range w.Suggested {
			wp.Suggested = append(wp.Suggested, Improver{Unit: s.Unit, Change: s.Improvement, Value: s.To})
		}
		out = append(out, wp)
	}
	return out, nil
}

// Standing implements Peers: the analysis in the caller's scope; a unit
// the caller may not see, or without a value, is not ok.
func (b Benchmark) Standing(ctx context.Context, sc account.Scope, unit, indicator, period string) (BenchStanding, bool, error) {
	a, err := b.Store.Analyse(ctx, sc, benchmark.Query{Unit: unit, Indicator: indicator, Period: period})
	if errs.Is(err, errs.NotFound) || errs.Is(err, errs.Invalid) {
		return BenchStanding{}, false, nil
	}
	if err != nil || a.Value == nil {
		return BenchStanding{}, false, err
	}
	st := BenchStanding{Rank: a.Rank, RankRange: a.RankRange, Peers: a.Peers, Value: a.Value, Trend: a.Trend,
		GapToLeader: a.GapToLeader, ChaserDistance: a.ChaserDistance}
	if a.Leader != nil {
		st.Leader = a.Leader.Unit
	}
	if a.Chaser != nil {
		st.Chaser, st.ChaserTrend = a.Chaser.Unit, a.ChaserTrend
	}
	return st, true, nil
}
