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
