package benchmark

import (
	"math"
	"math/bits"
	"slices"
)

// Series is one indicator's values in a Data: Values[p][u] is unit u's
// value in period p, NaN when missing; Version[p] is the definition
// version the period's values were measured under.
type Series struct {
	Key     string
	Lower   bool // lower is better
	Weight  float64
	Version []int
	Values  [][]float64
}

// Data is the values of one peer group: Units sorted by code (ties are
// broken by code), Periods ascending and of one kind (months, quarters
// or years).
type Data struct {
	Units   []string
	Periods []string
	Series  []Series
}

// ranking is one indicator's order in one period: the units with a value,
// best first (ties by code), and per unit its competition rank (0 when
// missing) and the end of its tie block in order.
type ranking struct {
	order  []int32
	rank   []int32
	tieEnd []int32
}

// Result is the engine's analysis of a whole Data: every indicator's
// ranking in every period, the goalposts, and the composite with its Monte
// Carlo ranks in the analysed period.
type Result struct {
	d       *Data
	window  int
	ranks   [][]ranking // [series][period]
	posts   [][][2]float64
	comp    *compositeResult
	compPer int
}

// span is the goalposts' span of series s at period p.
func (r *Result) span(s, p int) float64 {
	g := r.posts[s][p]
	return g[1] - g[0]
}

// score turns a value into "higher is better".
func score(v float64, lower bool) float64 {
	if lower {
		return -v
	}
	return v
}

// sortable maps a float64 to a uint64 of the same order.
func sortable(f float64) uint64 {
	b := math.Float64bits(f)
	if b>>63 == 1 {
		return ^b
	}
	return b | 1<<63
}

// scratch is a worker's reusable sort buffers.
type scratch struct {
	keys, tmp []uint64
}

func newScratch(n int) *scratch {
	return &scratch{keys: make([]uint64, 0, n), tmp: make([]uint64, n)}
}

// radixSort sorts keys ascending, with tmp (at least as long) as scratch,
// and returns the sorted slice (keys or tmp). Keys must be below
// 2^(8·width). It is an LSD radix sort on bytes that skips the bytes all
// keys share (a score's sign and exponent, mostly): a handful of linear
// passes instead of pdqsort's n log n comparisons, which dominated the
// analysis (docs/BENCHMARKS.md).
func radixSort(keys, tmp []uint64, width int) []uint64 {
	n := len(keys)
	if n < 128 {
		slices.Sort(keys)
		return keys
	}
	var counts [8][256]int32
	if width <= 2 { // unrolled: a loop over the bytes costs more than the passes
		for _, k := range keys {
			counts[0][byte(k)]++
			counts[1][byte(k>>8)]++
		}
	} else {
		for _, k := range keys {
			counts[0][byte(k)]++
			counts[1][byte(k>>8)]++
			counts[2][byte(k>>16)]++
			counts[3][byte(k>>24)]++
			counts[4][byte(k>>32)]++
			counts[5][byte(k>>40)]++
			counts[6][byte(k>>48)]++
			counts[7][byte(k>>56)]++
		}
		width = 8
	}
	src, dst := keys, tmp[:n]
	for b := range width {
		sh := uint(8 * b)
		c := &counts[b]
		if c[byte(src[0]>>sh)] == int32(n) {
			continue // every key has this byte
		}
		var sum int32
		for i, x := range c {
			c[i] = sum
			sum += x
		}
		for _, k := range src {
			d := byte(k >> sh)
			dst[c[d]] = k
			c[d]++
		}
		src, dst = dst, src
	}
	return src
}

// keyBits is the width of rankOne's sort keys: 48 bits sort in at most
// six byte passes, and leave a score at least 35 bits (more precision
// than a float32's) with up to 8,192 units.
const keyBits = 48

// rankOne ranks one period of one series, with sc's buffers. It sorts
// keys that pack the descending score with the unit's index in the low
// bits, then repairs by exact comparison the order of scores that differ
// only below the packed bits (an insertion pass, linear when the order is
// already right).
func rankOne(vals []float64, lower bool, ubits uint, sc *scratch, rk ranking) ranking {
	n := len(vals)
	keys := sc.keys[:0]
	mask := uint64(1)<<ubits - 1
	for u, v := range vals {
		if math.IsNaN(v) {
			continue
		}
		// Descending score: invert the sortable bits. Keys are keyBits
		// wide: the score's top bits, then the unit's index.
		k := ^sortable(score(v, lower)) >> (64 - keyBits + ubits)
		keys = append(keys, k<<ubits|uint64(u))
	}
	sc.keys = keys
	keys = radixSort(keys, sc.tmp, keyBits/8)
	order := rk.order[:len(keys)]
	for i, k := range keys {
		order[i] = int32(k & mask)
	}
	better := func(a, b int32) bool { // a strictly before b
		sa, sb := score(vals[a], lower), score(vals[b], lower)
		return sa > sb || sa == sb && a < b
	}
	// Keys whose packed scores differ are in the scores' order already;
	// only a run of equal packed scores may need the exact comparison.
	for i := 0; i < len(keys); {
		j := i + 1
		for j < len(keys) && keys[j]>>ubits == keys[i]>>ubits {
			j++
		}
		switch {
		case j-i > 16: // many scores close together: no quadratic pass
			slices.SortFunc(order[i:j], func(a, b int32) int {
				switch {
				case a == b:
					return 0
				case better(a, b):
					return -1
				}
				return 1
			})
		default:
			for x := i + 1; x < j; x++ {
				for y := x; y > i && better(order[y], order[y-1]); y-- {
					order[y], order[y-1] = order[y-1], order[y]
				}
			}
		}
		i = j
	}
	for u := 0; u < n; u++ {
		rk.rank[u] = 0
	}
	for i := 0; i < len(order); {
		j := i + 1
		for j < len(order) && vals[order[j]] == vals[order[i]] {
			j++
		}
		for k := i; k < j; k++ {
			rk.rank[order[k]] = int32(i + 1)
			rk.tieEnd[order[k]] = int32(j)
		}
		i = j
	}
	rk.order = order
	return rk
}

// Analyse ranks every series in every period of d, fixes the goalposts,
// and computes the composite and its Monte Carlo ranks (draws of them) in
// period index per. It is the fast implementation; the tests hold it to
// the straightforward one (oracle_test.go).
func Analyse(d *Data, per, window, draws int, seed uint64) *Result {
	if window <= 0 {
		window = 6
	}
	nu, np := len(d.Units), len(d.Periods)
	r := &Result{d: d, window: window, compPer: per}
	r.ranks = make([][]ranking, len(d.Series))
	r.posts = make([][][2]float64, len(d.Series))
	ubits := uint(bits.Len(uint(nu)))
	// One slab for all rankings: fewer, larger allocations.
	slab := make([]int32, 3*nu*np*len(d.Series))
	parallel(len(d.Series), func(next func() (int, bool)) {
		sc := newScratch(nu)
		for j, ok := next(); ok; j, ok = next() {
			s := &d.Series[j]
			rs := make([]ranking, np)
			for p := 0; p < np; p++ {
				off := (j*np + p) * 3 * nu
				rk := ranking{order: slab[off : off+nu], rank: slab[off+nu : off+2*nu], tieEnd: slab[off+2*nu : off+3*nu]}
				rs[p] = rankOne(s.Values[p], s.Lower, ubits, sc, rk)
			}
			r.ranks[j] = rs
			r.posts[j] = goalposts(s)
		}
	})
	if per >= 0 && per < np {
		r.comp = composite(d, r, per, draws, seed)
	}
	return r
}

// goalposts returns per period the [worst, best] values of the series over
// all periods of the same definition version, in the raw unit.
func goalposts(s *Series) [][2]float64 {
	out := make([][2]float64, len(s.Values))
	type mm struct{ lo, hi float64 }
	byV := map[int]*mm{}
	for p, vals := range s.Values {
		m := byV[s.Version[p]]
		if m == nil {
			m = &mm{math.Inf(1), math.Inf(-1)}
			byV[s.Version[p]] = m
		}
		for _, v := range vals {
			if v < m.lo {
				m.lo = v
			}
			if v > m.hi {
				m.hi = v
			}
		}
	}
	for p := range s.Values {
		m := byV[s.Version[p]]
		out[p] = [2]float64{m.lo, m.hi}
	}
	return out
}

// dtf is the distance to frontier of v, 0 to 100, on goalposts g.
func dtf(v float64, g [2]float64, lower bool) float64 {
	if g[1] <= g[0] {
		return 100
	}
	x := (v - g[0]) / (g[1] - g[0]) * 100
	if lower {
		x = 100 - x
	}
	return x
}

// pos is a unit's standing on one series in one period, the fast path's
// answer before it becomes an Analysis.
type pos struct {
	rank, tieEnd, peers   int
	leader, above, chaser int // unit indexes, -1 when none
}

func (r *Result) pos(s, p, u int) (pos, bool) {
	rk := r.ranks[s][p]
	if rk.rank[u] == 0 {
		return pos{}, false
	}
	o := pos{rank: int(rk.rank[u]), tieEnd: int(rk.tieEnd[u]), peers: len(rk.order), leader: int(rk.order[0]), above: -1, chaser: -1}
	if o.rank > 1 {
		prev := rk.order[o.rank-2]
		o.above = int(rk.order[rk.rank[prev]-1])
	}
	if o.tieEnd < o.peers {
		o.chaser = int(rk.order[o.tieEnd])
	}
	return o, true
}

// gaps returns the gap to the leader and the chaser's distance of unit u
// (NaN when there is none).
func (r *Result) gaps(s, p, u int) (lead, chase float64) {
	o, ok := r.pos(s, p, u)
	if !ok {
		return math.NaN(), math.NaN()
	}
	vals := r.d.Series[s].Values[p]
	lead = math.Abs(vals[o.leader] - vals[u])
	chase = math.NaN()
	if o.chaser >= 0 {
		chase = math.Abs(vals[u] - vals[o.chaser])
	}
	return lead, chase
}

// Standings sets, for every unit of series s in period p, its gap to the
// leader, its gap to the unit above and its chaser's distance: NaN where
// there is none (no value, no unit above, no chaser). It walks the
// ranking in order, so it is the cheap way to every unit's gaps.
func (r *Result) Standings(s, p int, lead, above, chase []float64) {
	rk := r.ranks[s][p]
	vals := r.d.Series[s].Values[p]
	for u := range lead {
		lead[u], above[u], chase[u] = math.NaN(), math.NaN(), math.NaN()
	}
	n := len(rk.order)
	if n == 0 {
		return
	}
	best, prev := vals[rk.order[0]], math.NaN()
	for i := 0; i < n; {
		v := vals[rk.order[i]]
		j := int(rk.tieEnd[rk.order[i]])
		next := math.NaN()
		if j < n {
			next = vals[rk.order[j]]
		}
		gl, ga, gc := math.Abs(best-v), math.Abs(prev-v), math.Abs(v-next)
		for _, u := range rk.order[i:j] {
			lead[u], above[u], chase[u] = gl, ga, gc
		}
		prev = v
		i = j
	}
}

// Of returns unit u's analysis on series s in period p (the composite when
// s is -1).
func (r *Result) Of(s, p, u int) Analysis {
	d := r.d
	a := Analysis{Unit: d.Units[u], Period: d.Periods[p], CannotTellApart: []string{}, SuggestedPeers: []Suggestion{}}
	if s < 0 {
		return r.compositeOf(u, a)
	}
	ser := &d.Series[s]
	a.Indicator = ser.Key
	o, ok := r.pos(s, p, u)
	a.Peers = len(r.ranks[s][p].order)
	if !ok {
		return a
	}
	vals := ser.Values[p]
	v := vals[u]
	a.Value = &v
	a.Rank = o.rank
	a.RankRange = [2]int{o.rank, o.tieEnd}
	for _, x := range r.ranks[s][p].order[o.rank-1 : o.tieEnd] {
		if int(x) != u {
			a.CannotTellApart = append(a.CannotTellApart, d.Units[x])
		}
	}
	a.Percentile = percentile(o.rank, o.peers)
	a.Leader = &Point{d.Units[o.leader], vals[o.leader]}
	g := math.Abs(vals[o.leader] - v)
	a.GapToLeader = &g
	if o.above >= 0 {
		a.Above = &Point{d.Units[o.above], vals[o.above]}
		g := math.Abs(vals[o.above] - v)
		a.GapToAbove = &g
	}
	if o.chaser >= 0 {
		a.Chaser = &Point{d.Units[o.chaser], vals[o.chaser]}
		g := math.Abs(v - vals[o.chaser])
		a.ChaserDistance = &g
	}
	a.DTF = dtf(v, r.posts[s][p], ser.Lower)
	a.SuggestedPeers = r.improvers(s, p, u)
	a.Trend, a.ChaserTrend, a.CrossesDefinitionChange = r.Trends(s, p, u)
	return a
}

// Trends returns the trends of unit u's gap to the leader and of its
// chaser's distance on series s over the window ending at period p, and
// whether the window met an earlier definition (whose periods it skips).
func (r *Result) Trends(s, p, u int) (lead, chase string, crosses bool) {
	ser := &r.d.Series[s]
	var leadGaps, chaseGaps, xs, cxs []float64
	for q := max(0, p-r.window+1); q <= p; q++ {
		if ser.Version[q] != ser.Version[p] {
			crosses = true
			continue
		}
		l, c := r.gaps(s, q, u)
		if !math.IsNaN(l) {
			leadGaps, xs = append(leadGaps, l), append(xs, float64(q))
		}
		if !math.IsNaN(c) {
			chaseGaps, cxs = append(chaseGaps, c), append(cxs, float64(q))
		}
	}
	tol := 0.05 * r.span(s, p)
	return Trend(xs, leadGaps, tol), Trend(cxs, chaseGaps, tol), crosses
}

// percentile is 100 × the share of the other peers ranked behind.
func percentile(rank, peers int) float64 {
	if peers <= 1 {
		return 100
	}
	return 100 * float64(peers-rank) / float64(peers-1)
}

// tCrit95 is Student's t two-sided 95 % quantile for 1..30 degrees of
// freedom; beyond, 1.96.
var tCrit95 = [...]float64{12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
	2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
	2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042}

// Trend classifies a gap's series ys at period indexes xs in four states.
// The guard is a slope test against the series' own noise: the least
// squares slope b and its standard error se (from the residuals, n−2
// degrees of freedom). |b| ≥ t·se: the gap grows (pulling_away) or shrinks
// (closing_in). Otherwise, when the whole window's change b·(n−1) is
// within ±tol even at the 95 % bound (|b|+t·se)·(n−1) ≤ tol, the gap is
// stable; else the noise hides the trend (too_noisy). Fewer than three
// points cannot measure noise: too_noisy.
func Trend(xs, ys []float64, tol float64) string {
	n := len(ys)
	if n < 3 {
		return TooNoisy
	}
	var mx, my float64
	for i := range ys {
		mx += xs[i]
		my += ys[i]
	}
	mx /= float64(n)
	my /= float64(n)
	var sxx, sxy float64
	for i := range ys {
		dx := xs[i] - mx
		sxx += dx * dx
		sxy += dx * (ys[i] - my)
	}
	b := sxy / sxx
	var ssr float64
	for i := range ys {
		e := ys[i] - my - b*(xs[i]-mx)
		ssr += e * e
	}
	se := math.Sqrt(ssr / float64(n-2) / sxx)
	t := 1.96
	if n-2 <= len(tCrit95) {
		t = tCrit95[n-3]
	}
	// Round-off leaves residuals of a perfect line near 1e-16 of the
	// values; below that, the slope is exact.
	if se <= 1e-12*(math.Abs(my)+1) {
		se = 0
	}
	if math.Abs(b) <= 1e-12*(math.Abs(my)+1) {
		b = 0
	}
	switch {
	case b != 0 && math.Abs(b) >= t*se:
		if b > 0 {
			return PullingAway
		}
		return ClosingIn
	case (math.Abs(b)+t*se)*(xs[n-1]-xs[0]) <= tol:
		return Stable
	}
	return TooNoisy
}

// WeakBy is how many percentile points below (above) its overall position
// a unit must rank on an indicator for it to be a weak point (strength).
const WeakBy = 25

// Suggestions is how many peers a weak point suggests learning from.
const Suggestions = 3

// Profile returns unit u's weak points, worst first, and strengths, best
// first, in period p. The overall position is the composite's percentile,
// or without a composite the median of the unit's percentiles.
func (r *Result) Profile(p, u int) (weak, strong []WeakPoint) {
	d := r.d
	type one struct {
		s    int
		o    pos
		pct  float64
		kind int
	}
	var all []one
	var pcts []float64
	for s := range d.Series {
		o, ok := r.pos(s, p, u)
		if !ok {
			continue
		}
		x := percentile(o.rank, o.peers)
		all = append(all, one{s: s, o: o, pct: x})
		pcts = append(pcts, x)
	}
	overall, _ := medianMean(pcts)
	if r.comp != nil && r.compPer == p && r.comp.rank[u] != 0 {
		overall = percentile(int(r.comp.rank[u]), r.comp.peers)
	}
	weak, strong = []WeakPoint{}, []WeakPoint{}
	for _, x := range all {
		w := WeakPoint{Indicator: d.Series[x.s].Key, Rank: x.o.rank, Peers: x.o.peers, Percentile: x.pct, Overall: overall, Suggested: []Suggestion{}}
		switch {
		case x.pct <= overall-WeakBy:
			w.Suggested = r.improvers(x.s, p, u)
			weak = append(weak, w)
		case x.pct >= overall+WeakBy:
			strong = append(strong, w)
		}
	}
	slices.SortStableFunc(weak, func(a, b WeakPoint) int { return cmpFloat(a.Percentile, b.Percentile) })
	slices.SortStableFunc(strong, func(a, b WeakPoint) int { return cmpFloat(b.Percentile, a.Percentile) })
	return weak, strong
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// improvers returns the peers of u that improved most on series s from
// the start of the window to period p (in the better direction, within
// one definition version), best first, at most Suggestions of them.
func (r *Result) improvers(s, p, u int) []Suggestion {
	d := r.d
	ser := &d.Series[s]
	out := []Suggestion{}
	from := max(0, p-r.window+1)
	for from < p && ser.Version[from] != ser.Version[p] {
		from++
	}
	for x := range d.Units {
		if x == u {
			continue
		}
		to := ser.Values[p][x]
		if math.IsNaN(to) {
			continue
		}
		for q := from; q < p; q++ { // the earliest value in the window
			v := ser.Values[q][x]
			if math.IsNaN(v) {
				continue
			}
			imp := score(to, ser.Lower) - score(v, ser.Lower)
			if imp > 0 {
				out = append(out, Suggestion{Unit: d.Units[x], FromPeriod: d.Periods[q], From: v, To: to, Improvement: imp})
			}
			break
		}
	}
	slices.SortStableFunc(out, func(a, b Suggestion) int { return cmpFloat(b.Improvement, a.Improvement) })
	if len(out) > Suggestions {
		out = out[:Suggestions]
	}
	return out
}
