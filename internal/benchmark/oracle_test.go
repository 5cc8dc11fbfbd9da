package benchmark

import (
	"math"
	"slices"
	"sort"
)

// The straightforward implementation: per indicator and period, one sort
// of the units with a value by (score desc, code), then each unit's
// standing read off the sorted list by counting. The property test holds
// the fast engine to it, and BenchmarkAnalysis times it as the baseline.

// oStanding is one unit's standing as the oracle computes it.
type oStanding struct {
	ok                    bool
	rank, tieEnd, peers   int
	leader, above, chaser int
	gapLeader, gapAbove   float64
	chaserDistance        float64
}

// oracleRank ranks one period of one series: standings per unit.
func oracleRank(vals []float64, lower bool, out []oStanding) {
	var idx []int
	for u, v := range vals {
		out[u] = oStanding{}
		if !math.IsNaN(v) {
			idx = append(idx, u)
		}
	}
	sort.Slice(idx, func(i, j int) bool {
		a, b := score(vals[idx[i]], lower), score(vals[idx[j]], lower)
		if a != b {
			return a > b
		}
		return idx[i] < idx[j]
	})
	// Walk the sorted list block by block (a block: equal values).
	n := len(idx)
	prevStart := -1
	for i := 0; i < n; {
		j := i
		for j < n && vals[idx[j]] == vals[idx[i]] {
			j++
		}
		for k := i; k < j; k++ {
			u := idx[k]
			st := oStanding{ok: true, peers: n, rank: i + 1, tieEnd: j, leader: idx[0], above: -1, chaser: -1, gapAbove: math.NaN(), chaserDistance: math.NaN()}
			st.gapLeader = math.Abs(vals[idx[0]] - vals[u])
			if prevStart >= 0 {
				st.above = idx[prevStart]
				st.gapAbove = math.Abs(vals[st.above] - vals[u])
			}
			if j < n {
				st.chaser = idx[j]
				st.chaserDistance = math.Abs(vals[u] - vals[st.chaser])
			}
			out[u] = st
		}
		prevStart = i
		i = j
	}
}

// oracleAll computes every unit's standing on every series in every
// period: [series][period][unit].
func oracleAll(d *Data) [][][]oStanding {
	out := make([][][]oStanding, len(d.Series))
	for s := range d.Series {
		out[s] = make([][]oStanding, len(d.Periods))
		for p := range d.Periods {
			out[s][p] = make([]oStanding, len(d.Units))
			oracleRank(d.Series[s].Values[p], d.Series[s].Lower, out[s][p])
		}
	}
	return out
}

// oracleSpan is 5 % of the span of series s's values over the periods
// of p's definition version: the trends' tolerance.
func oracleSpan(d *Data, s, p int) float64 {
	ser := &d.Series[s]
	lo, hi := math.Inf(1), math.Inf(-1)
	for q := range d.Periods {
		if ser.Version[q] != ser.Version[p] {
			continue
		}
		for _, v := range ser.Values[q] {
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if hi > lo {
		return 0.05 * (hi - lo)
	}
	return 0
}

// oracleTrend is the trend of unit u's gap to the leader and of its
// chaser's distance on series s at period p over window periods, from the
// oracle's standings, with the definition-change flag; tol is
// oracleSpan's.
func oracleTrend(d *Data, all [][][]oStanding, s, p, u, window int, tol float64) (lead, chase string, crosses bool) {
	ser := &d.Series[s]
	var xs, ys, cxs, cys []float64
	for q := max(0, p-window+1); q <= p; q++ {
		if ser.Version[q] != ser.Version[p] {
			crosses = true
			continue
		}
		st := all[s][q][u]
		if !st.ok {
			continue
		}
		xs, ys = append(xs, float64(q)), append(ys, st.gapLeader)
		if st.chaser >= 0 {
			cxs, cys = append(cxs, float64(q)), append(cys, st.chaserDistance)
		}
	}
	return Trend(xs, ys, tol), Trend(cxs, cys, tol), crosses
}

// oracleComposite is the base composite in period p: per unit the
// weighted mean of its distances to frontier, a missing one imputed with
// the median of the others', NaN for a unit missing more than 20 %; and
// its competition rank (0 without a composite).
func oracleComposite(d *Data, p int) (score []float64, rank []int) {
	nu := len(d.Units)
	score, rank = make([]float64, nu), make([]int, nu)
	var inc []int
	for s := range d.Series {
		for _, v := range d.Series[s].Values[p] {
			if !math.IsNaN(v) {
				inc = append(inc, s)
				break
			}
		}
	}
	ok := make([]bool, nu)
	for u := range d.Units {
		m := 0
		for _, s := range inc {
			if math.IsNaN(d.Series[s].Values[p][u]) {
				m++
			}
		}
		ok[u] = len(inc) > 0 && float64(m) <= 0.2*float64(len(inc))+1e-9
	}
	for u := range score {
		score[u] = math.NaN()
		if ok[u] {
			score[u] = 0
		}
	}
	var wsum float64
	for _, s := range inc {
		ser := &d.Series[s]
		w := ser.Weight
		if w <= 0 {
			w = 1
		}
		wsum += w
		lo, hi := math.Inf(1), math.Inf(-1)
		for q := range d.Periods {
			if ser.Version[q] == ser.Version[p] {
				for _, v := range ser.Values[q] {
					if !math.IsNaN(v) {
						lo, hi = math.Min(lo, v), math.Max(hi, v)
					}
				}
			}
		}
		norm := func(v float64) float64 {
			if hi <= lo {
				return 100
			}
			x := (v - lo) / (hi - lo) * 100
			if ser.Lower {
				x = 100 - x
			}
			return x
		}
		var col []float64
		for u, v := range ser.Values[p] {
			if ok[u] && !math.IsNaN(v) {
				col = append(col, norm(v))
			}
		}
		slices.Sort(col)
		med := 0.0 // the same for every unit: no order
		if len(col) > 0 {
			med = (col[(len(col)-1)/2] + col[len(col)/2]) / 2
		}
		for u, v := range ser.Values[p] {
			if !ok[u] {
				continue
			}
			x := med
			if !math.IsNaN(v) {
				x = norm(v)
			}
			score[u] += w * x
		}
	}
	for u := range score {
		score[u] /= wsum
	}
	for u := range score {
		if math.IsNaN(score[u]) {
			continue
		}
		rank[u] = 1
		for x := range score {
			if !math.IsNaN(score[x]) && score[x] > score[u] {
				rank[u]++
			}
		}
	}
	return score, rank
}
