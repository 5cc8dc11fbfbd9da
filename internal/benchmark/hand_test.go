package benchmark

import (
	"math"
	"slices"
	"testing"
)

// nan is a missing value in the hand-made tables.
var nan = math.NaN()

// handData is one higher-is-better series "sat" over four months for
// units a to e, and a second series "inc" whose definition changes in the
// third month:
//
//	sat   a   b   c   d   e        inc (version)  a   b
//	p0   90  80  80  70  60        p0 (1)        10  20
//	p1   92  80  81  70   -        p1 (1)        12  20
//	p2   94  80  82  70   -        p2 (2)        50  40
//	p3   96  80  83  70  65        p3 (2)        55  40
func handData() *Data {
	return &Data{
		Units:   []string{"a", "b", "c", "d", "e"},
		Periods: []string{"2026-09", "2026-10", "2026-11", "2026-12"},
		Series: []Series{
			{Key: "sat", Weight: 1, Version: []int{1, 1, 1, 1}, Values: [][]float64{
				{90, 80, 80, 70, 60}, {92, 80, 81, 70, nan}, {94, 80, 82, 70, nan}, {96, 80, 83, 70, 65}}},
			{Key: "inc", Weight: 1, Version: []int{1, 1, 2, 2}, Values: [][]float64{
				{10, 20, nan, nan, nan}, {12, 20, nan, nan, nan}, {50, 40, nan, nan, nan}, {55, 40, nan, nan, nan}}},
		},
	}
}

// TestHandTrends: the trends of the gaps over the four months, with the
// tie of b and c in the first and e missing in the middle two. The
// tolerance is 5 % of sat's goalposts, 60 to 96: 1.8.
//
//   - b's gap to the leader is 10, 12, 14, 16: a perfect line of slope 2,
//     pulling away. Its chaser is d (behind the tie block of b and c in p0,
//     behind b alone after): 10 each month, stable.
//   - c's gap to the leader is 10, 11, 12, 13: pulling away. Its chaser is d
//     in p0 (tied with b, the next block is d), then b: 10, 1, 2, 3. Least
//     squares slope −2, residuals 3, −4, −1, 2, standard error √3 = 1.73;
//     with 2 degrees of freedom t = 4.303 and 2 < 4.303 · 1.73: not
//     significant, and (2 + 7.45) · 3 > 1.8: too noisy.
//   - a leads throughout: gap 0, stable; its chaser's distance (b and c at
//     80, then c at 81, 82, 83) is 10, 11, 12, 13: the chaser falls back,
//     pulling_away.
//   - d's gap is 20, 22, 24, 26, pulling away; its chaser e is there in p0
//     (distance 10) and p3 (5) only: two points, too noisy.
//   - e has values in p0 and p3 only: two points of its gap, too noisy; in
//     p1 it has no rank, and the peers are the four with a value.
func TestHandTrends(t *testing.T) {
	d := handData()
	r := Analyse(d, 3, 6, 0, 1)
	for _, tc := range []struct {
		u           int
		lead, chase string
	}{
		{1, PullingAway, Stable},
		{2, PullingAway, TooNoisy},
		{0, Stable, PullingAway},
		{3, PullingAway, TooNoisy},
		{4, TooNoisy, TooNoisy},
	} {
		a := r.Of(0, 3, tc.u)
		if a.Trend != tc.lead || a.ChaserTrend != tc.chase || a.CrossesDefinitionChange {
			t.Errorf("%s: trends %s/%s (crosses %v), want %s/%s", d.Units[tc.u], a.Trend, a.ChaserTrend, a.CrossesDefinitionChange, tc.lead, tc.chase)
		}
	}
	// The tie in p0: b and c share rank 2, their block is [2, 3], each
	// cannot be told from the other, the unit above both is a, the chaser
	// of both is d.
	for _, u := range []int{1, 2} {
		a := r.Of(0, 0, u)
		if a.Rank != 2 || a.RankRange != [2]int{2, 3} || a.Above.Unit != "a" || *a.GapToAbove != 10 || a.Chaser.Unit != "d" || *a.ChaserDistance != 10 ||
			!slices.Equal(a.CannotTellApart, []string{d.Units[3-u]}) {
			t.Errorf("%s in p0: rank %d %v, above %v %v, chaser %v %v, cannot tell apart %v", d.Units[u], a.Rank, a.RankRange, a.Above, fp(a.GapToAbove),
				a.Chaser, fp(a.ChaserDistance), a.CannotTellApart)
		}
	}
	// d in p0: the unit above is the tie block's first, b; in p3 the
	// block is gone and c (83) is above b (80), so b is above d.
	if a := r.Of(0, 0, 3); a.Rank != 4 || a.Above.Unit != "b" || *a.GapToAbove != 10 {
		t.Errorf("d in p0: rank %d above %v", a.Rank, a.Above)
	}
	// Missing: e has no rank in p1, and the peers are the four others.
	if a := r.Of(0, 1, 4); a.Rank != 0 || a.Value != nil || a.Peers != 4 || a.GapToLeader != nil || a.Leader != nil {
		t.Errorf("e in p1 (missing): %+v", a)
	}
	if a := r.Of(0, 1, 3); a.Rank != 4 || a.Peers != 4 || a.Chaser != nil || a.Percentile != 0 {
		t.Errorf("d in p1, last of four: rank %d of %d, chaser %v, percentile %v", a.Rank, a.Peers, a.Chaser, a.Percentile)
	}
	// Distance to frontier on sat's goalposts 60 to 96: b's 80 is 55.56.
	if a := r.Of(0, 3, 1); math.Abs(a.DTF-100*20.0/36) > 1e-9 {
		t.Errorf("b's DTF %v, want %v", a.DTF, 100*20.0/36)
	}
}

// TestHandDefinitionChange: inc's definition changes in p2. Its goalposts
// are per definition: 10 to 20 before, 40 to 55 after, so a's 12 in p1 is
// 20 and its 55 in p3 is 100. In p3 the trend window meets the old
// definition: the flag is set, the trend uses p2 and p3 only (two points,
// too noisy), and whom b should learn from is a's improvement since p2
// (50 to 55), not since p0 (10 to 55) across the change.
func TestHandDefinitionChange(t *testing.T) {
	d := handData()
	r := Analyse(d, 3, 6, 0, 1)
	if a := r.Of(1, 1, 0); a.DTF != 20 || a.CrossesDefinitionChange {
		t.Errorf("a in p1: DTF %v crosses %v, want 20, false", a.DTF, a.CrossesDefinitionChange)
	}
	a := r.Of(1, 3, 1)
	if a.DTF != 0 || !a.CrossesDefinitionChange || a.Trend != TooNoisy || *a.GapToLeader != 15 {
		t.Errorf("b in p3: DTF %v crosses %v trend %s gap %v, want 0, true, too_noisy, 15", a.DTF, a.CrossesDefinitionChange, a.Trend, fp(a.GapToLeader))
	}
	want := []Suggestion{{Unit: "a", FromPeriod: "2026-11", From: 50, To: 55, Improvement: 5}}
	if !slices.Equal(a.SuggestedPeers, want) {
		t.Errorf("b learns from %+v, want %+v", a.SuggestedPeers, want)
	}
	if a := r.Of(1, 3, 0); a.DTF != 100 {
		t.Errorf("a in p3: DTF %v, want 100", a.DTF)
	}
}

// TestHandComposite: the 20 % missing-data rule over five indicators
// (higher is better, goalposts 0 to 10, so a value's distance to frontier
// is ten times it):
//
//	      i1  i2  i3  i4  i5
//	a     10  10  10  10  10
//	b      0   0   0   0   -    1 of 5 missing (20 %): a composite
//	c      5   -   -   5   5    2 of 5 missing (40 %): none
//	d      5   5   5   5   0
//	e      6   4   6   4   5
//	f      4   6   4   6   5
//
// b's missing i5 takes the median of the eligible units' (a 100, d 0, e
// 50, f 50): 50. Composites: a 100, e 50, f 50, d 40, b (0+0+0+0+50)/5 =
// 10; ranks 1, 2, 2, 4, 5 of 5 peers; c has none. In the Monte Carlo a
// always leads, and e and f swap places with the weights: neither can be
// told from the other.
func TestHandComposite(t *testing.T) {
	rows := [][]float64{
		{10, 10, 10, 10, 10},
		{0, 0, 0, 0, nan},
		{5, nan, nan, 5, 5},
		{5, 5, 5, 5, 0},
		{6, 4, 6, 4, 5},
		{4, 6, 4, 6, 5},
	}
	d := &Data{Units: []string{"a", "b", "c", "d", "e", "f"}, Periods: []string{"2026"}}
	for i := range 5 {
		col := make([]float64, len(rows))
		for u := range rows {
			col[u] = rows[u][i]
		}
		d.Series = append(d.Series, Series{Key: string(rune('1' + i)), Weight: 1, Version: []int{1}, Values: [][]float64{col}})
	}
	r := Analyse(d, 0, 6, 1000, 19)
	for _, tc := range []struct {
		u     int
		value float64
		rank  int
	}{{0, 100, 1}, {1, 10, 5}, {2, -1, 0}, {3, 40, 4}, {4, 50, 2}, {5, 50, 2}} {
		a := r.Of(-1, 0, tc.u)
		if a.Rank != tc.rank || fp(a.Value) != tc.value || a.Peers != 5 {
			t.Errorf("%s: composite %v rank %d of %d, want %v, %d of 5", d.Units[tc.u], fp(a.Value), a.Rank, a.Peers, tc.value, tc.rank)
		}
	}
	if a := r.Of(-1, 0, 0); a.RankRange != [2]int{1, 1} || a.MedianRank != 1 || len(a.CannotTellApart) != 0 {
		t.Errorf("a: range %v median %v cannot tell apart %v, want [1 1], 1, none", a.RankRange, a.MedianRank, a.CannotTellApart)
	}
	e, f := r.Of(-1, 0, 4), r.Of(-1, 0, 5)
	if !slices.Contains(e.CannotTellApart, "f") || !slices.Contains(f.CannotTellApart, "e") || e.RankRange[0] != 2 || e.RankRange[1] < 3 {
		t.Errorf("e: range %v, cannot tell apart %v; f: %v %v; want e and f each in the other's list", e.RankRange, e.CannotTellApart, f.RankRange, f.CannotTellApart)
	}
	if slices.Contains(e.CannotTellApart, "a") || slices.Contains(e.CannotTellApart, "c") {
		t.Errorf("e cannot be told from %v: a always leads and c has no composite", e.CannotTellApart)
	}
}

func fp(f *float64) float64 {
	if f == nil {
		return -1
	}
	return *f
}
