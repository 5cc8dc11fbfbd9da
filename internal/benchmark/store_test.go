package benchmark_test

import (
	"context"
	"slices"
	"testing"

	"whistle/internal/benchmark"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/worldtest"
)

func fp(f *float64) float64 {
	if f == nil {
		return -1
	}
	return *f
}

func pt(p *benchmark.Point) string {
	if p == nil {
		return "-"
	}
	return p.Unit
}

// TestAnalyseHandComputed ranks four communities with a tie, both ways
// round: sat (higher is better) A 90, B 80, C 80, D 70; late (lower is
// better) A 5, B 3, C 3, D 1.
func TestAnalyseHandComputed(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.declare(t, "sat", benchmark.HigherBetter)
		f.declare(t, "late", benchmark.LowerBetter)
		f.put(t, "sat", "2026-11", map[string]float64{cA: 90, cB: 80, cC: 80, cD: 70})
		f.put(t, "late", "2026-11", map[string]float64{cA: 5, cB: 3, cC: 3, cD: 1})
		type want struct {
			rank           int
			rng            [2]int
			pct            float64
			leader         string
			gapLeader      float64
			above          string
			gapAbove       float64
			chaser         string
			chaserDistance float64
			apart          []string
		}
		for _, tc := range []struct {
			name, ind, unit string
			want            want
		}{
			{"leader", "sat", cA, want{1, [2]int{1, 1}, 100, cA, 0, "-", -1, cB, 10, []string{}}},
			{"tied second", "sat", cB, want{2, [2]int{2, 3}, 100 * 2.0 / 3, cA, 10, cA, 10, cD, 10, []string{cC}}},
			{"tied second, other", "sat", cC, want{2, [2]int{2, 3}, 100 * 2.0 / 3, cA, 10, cA, 10, cD, 10, []string{cB}}},
			{"last", "sat", cD, want{4, [2]int{4, 4}, 0, cA, 20, cB, 10, "-", -1, []string{}}},
			{"lower is better, last", "late", cA, want{4, [2]int{4, 4}, 0, cD, 4, cB, 2, "-", -1, []string{}}},
			{"lower is better, leader", "late", cD, want{1, [2]int{1, 1}, 100, cD, 0, "-", -1, cB, 2, []string{}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				a, err := f.st.Analyse(ctx, f.scope(t, "admin"), benchmark.Query{Unit: tc.unit, Indicator: tc.ind, Period: "2026-11"})
				if err != nil {
					t.Fatal(err)
				}
				got := want{a.Rank, a.RankRange, a.Percentile, pt(a.Leader), fp(a.GapToLeader), pt(a.Above), fp(a.GapToAbove), pt(a.Chaser), fp(a.ChaserDistance), a.CannotTellApart}
				if got.pct-tc.want.pct < -1e-9 || got.pct-tc.want.pct > 1e-9 {
					t.Errorf("percentile: got %v, want %v", got.pct, tc.want.pct)
				}
				got.pct = tc.want.pct
				if !slices.Equal(got.apart, tc.want.apart) {
					t.Errorf("cannot tell apart: got %v, want %v", got.apart, tc.want.apart)
				}
				got.apart = tc.want.apart
				if a.Peers != 4 {
					t.Errorf("peers: got %d, want 4", a.Peers)
				}
				if got.rank != tc.want.rank || got.rng != tc.want.rng || got.leader != tc.want.leader || got.gapLeader != tc.want.gapLeader ||
					got.above != tc.want.above || got.gapAbove != tc.want.gapAbove || got.chaser != tc.want.chaser || got.chaserDistance != tc.want.chaserDistance {
					t.Errorf("got %+v, want %+v", got, tc.want)
				}
			})
		}
	})
}

// TestAnalyseScope: a community sees its peers' values only once the
// period is published, and a peer's analysis not before.
func TestAnalyseScope(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.declare(t, "sat", benchmark.HigherBetter)
		f.put(t, "sat", "2026-11", map[string]float64{cA: 70, cB: 80, cC: 90, cD: 60})
		staff := f.scope(t, "staff-a")
		q := benchmark.Query{Unit: cA, Indicator: "sat", Period: "2026-11"}
		a, err := f.st.Analyse(ctx, staff, q)
		if err != nil {
			t.Fatal(err)
		}
		if a.Peers != 1 || a.Rank != 1 || a.Leader.Unit != cA || a.Published {
			t.Errorf("unpublished: got peers %d rank %d leader %s published %v, want 1 1 %s false", a.Peers, a.Rank, a.Leader.Unit, a.Published, cA)
		}
		if _, err := f.st.Analyse(ctx, staff, benchmark.Query{Unit: cB, Indicator: "sat", Period: "2026-11"}); !errs.Is(err, errs.NotFound) {
			t.Errorf("a peer's unpublished analysis: got %v, want not found", err)
		}
		if err := f.st.PublishPeriod(ctx, "2026-11"); err != nil {
			t.Fatal(err)
		}
		a, err = f.st.Analyse(ctx, staff, q)
		if err != nil {
			t.Fatal(err)
		}
		if a.Peers != 4 || a.Rank != 3 || a.Leader.Unit != cC || !a.Published {
			t.Errorf("published: got peers %d rank %d leader %s published %v, want 4 3 %s true", a.Peers, a.Rank, a.Leader.Unit, a.Published, cC)
		}
		if _, err := f.st.Analyse(ctx, staff, benchmark.Query{Unit: cB, Indicator: "sat", Period: "2026-11"}); err != nil {
			t.Errorf("a peer's published analysis: got %v, want it", err)
		}
	})
}

// TestAnalyseDefinitionChange: values stored under an indicator's first
// definition keep its version when the definition changes; the analysis
// after the change sets goalposts per definition, flags the trend window
// that meets the old one, and suggests learning from improvements since
// the change only. D has no value in the last month: no rank, and the
// peers are the three with one.
//
//	sat (version)   A    B    C    D
//	2026-09 (1)    10   20   15   12
//	2026-10 (1)    12   20   16   12
//	2026-11 (2)    50   40   45   48
//	2026-12 (2)    55   40   44    -
func TestAnalyseDefinitionChange(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.declare(t, "sat", benchmark.HigherBetter)
		f.put(t, "sat", "2026-09", map[string]float64{cA: 10, cB: 20, cC: 15, cD: 12})
		f.put(t, "sat", "2026-10", map[string]float64{cA: 12, cB: 20, cC: 16, cD: 12})
		in, err := f.st.DeclareIndicator(ctx, benchmark.Indicator{Key: "sat", Name: benchmark.Text{ZH: "sat"}, Unit: "percent", Direction: benchmark.HigherBetter,
			Definition: benchmark.Text{ZH: "新口径"}})
		if err != nil {
			t.Fatal(err)
		}
		if in.DefinitionVersion != 2 {
			t.Fatalf("definition version after the change: %d, want 2", in.DefinitionVersion)
		}
		f.put(t, "sat", "2026-11", map[string]float64{cA: 50, cB: 40, cC: 45, cD: 48})
		f.put(t, "sat", "2026-12", map[string]float64{cA: 55, cB: 40, cC: 44})
		admin := f.scope(t, "admin")
		a, err := f.st.Analyse(ctx, admin, benchmark.Query{Unit: cB, Indicator: "sat", Period: "2026-12"})
		if err != nil {
			t.Fatal(err)
		}
		// Goalposts of version 2: 40 to 55. B's 40 is 0, rank 3 of 3.
		want := []benchmark.Suggestion{{Unit: cA, FromPeriod: "2026-11", From: 50, To: 55, Improvement: 5}}
		if !a.CrossesDefinitionChange || a.DTF != 0 || a.Rank != 3 || a.Peers != 3 || a.Trend != benchmark.TooNoisy || !slices.Equal(a.SuggestedPeers, want) {
			t.Errorf("B in 2026-12: crosses %v DTF %v rank %d of %d trend %s learn from %+v; want true 0 3 of 3 too_noisy %+v",
				a.CrossesDefinitionChange, a.DTF, a.Rank, a.Peers, a.Trend, a.SuggestedPeers, want)
		}
		// Under the first definition, goalposts 10 to 20: A's 12 is 20,
		// tied with D for third.
		a, err = f.st.Analyse(ctx, admin, benchmark.Query{Unit: cA, Indicator: "sat", Period: "2026-10"})
		if err != nil {
			t.Fatal(err)
		}
		if a.CrossesDefinitionChange || a.DTF != 20 || a.Rank != 3 || a.RankRange != [2]int{3, 4} || a.Peers != 4 {
			t.Errorf("A in 2026-10: crosses %v DTF %v rank %d %v of %d; want false 20 3 [3 4] of 4", a.CrossesDefinitionChange, a.DTF, a.Rank, a.RankRange, a.Peers)
		}
		a, err = f.st.Analyse(ctx, admin, benchmark.Query{Unit: cD, Indicator: "sat", Period: "2026-12"})
		if err != nil {
			t.Fatal(err)
		}
		if a.Value != nil || a.Rank != 0 || a.Peers != 3 || a.Leader != nil {
			t.Errorf("D without a value: %+v", a)
		}
	})
}

// TestValue reads one stored value, published or not, and says when
// there is none.
func TestValue(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.declare(t, "sat", benchmark.HigherBetter)
		f.put(t, "sat", "2026-11", map[string]float64{cA: 70.5, cB: 80})
		for _, tc := range []struct {
			unit, period string
			want         float64
			ok           bool
		}{{cA, "2026-11", 70.5, true}, {cB, "2026-11", 80, true}, {cC, "2026-11", 0, false}, {cA, "2026-10", 0, false}} {
			v, ok, err := f.st.Value(ctx, "sat", tc.unit, tc.period)
			if err != nil || v != tc.want || ok != tc.ok {
				t.Errorf("Value(sat, %s, %s) = %v, %v, %v; want %v, %v", tc.unit, tc.period, v, ok, err, tc.want, tc.ok)
			}
		}
	})
}
