package benchmark

import (
	"math"
	"math/rand/v2"
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

// oracleMonteCarlo is the composite's rank uncertainty done plainly: the
// same draws as the engine (the seed's sequence: a variant, then each
// included indicator's weight factor), and for each draw every eligible
// unit's weighted sum of its normalised values (distance to frontier,
// z-score or percentile rank; a missing one the column's median or mean),
// ranked by counting the units strictly ahead. Per unit: the median and
// the 5th and 95th percentiles of its ranks (0 for a unit without a
// composite).
func oracleMonteCarlo(d *Data, p, draws int, seed uint64) (median []float64, lo, hi []int) {
	nu := len(d.Units)
	median, lo, hi = make([]float64, nu), make([]int, nu), make([]int, nu)
	var inc []int
	for s := range d.Series {
		if slices.ContainsFunc(d.Series[s].Values[p], func(v float64) bool { return !math.IsNaN(v) }) {
			inc = append(inc, s)
		}
	}
	var units []int
	for u := range d.Units {
		m := 0
		for _, s := range inc {
			if math.IsNaN(d.Series[s].Values[p][u]) {
				m++
			}
		}
		if len(inc) > 0 && float64(m) <= 0.2*float64(len(inc))+1e-9 {
			units = append(units, u)
		}
	}
	if len(units) == 0 {
		return
	}
	// norm[v][j][i]: variant v (normalisation*2 + imputation), indicator
	// j, eligible unit i.
	norm := make([][][]float64, 6)
	for v := range norm {
		norm[v] = make([][]float64, len(inc))
	}
	for j, s := range inc {
		ser := &d.Series[s]
		vals := ser.Values[p]
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
		var zm, zsd float64
		present := 0
		for _, u := range units {
			if !math.IsNaN(vals[u]) {
				zm += score(vals[u], ser.Lower)
				present++
			}
		}
		zm /= float64(max(present, 1))
		for _, u := range units {
			if !math.IsNaN(vals[u]) {
				x := score(vals[u], ser.Lower) - zm
				zsd += x * x
			}
		}
		zsd = math.Sqrt(zsd / float64(max(present, 1)))
		withValue := 0
		for _, v := range vals {
			if !math.IsNaN(v) {
				withValue++
			}
		}
		for n := 0; n < 3; n++ {
			x := func(v float64) float64 {
				switch n {
				case 0:
					return dtf(v, [2]float64{lo, hi}, ser.Lower)
				case 1:
					if zsd > 0 {
						return (score(v, ser.Lower) - zm) / zsd
					}
					return 0
				}
				rank := 1
				for _, w := range vals {
					if !math.IsNaN(w) && score(w, ser.Lower) > score(v, ser.Lower) {
						rank++
					}
				}
				return percentile(rank, withValue)
			}
			var col []float64
			for _, u := range units {
				if !math.IsNaN(vals[u]) {
					col = append(col, x(vals[u]))
				}
			}
			med, mean := medianMean(col)
			for imp, fill := range []float64{med, mean} {
				out := make([]float64, len(units))
				for i, u := range units {
					out[i] = fill
					if !math.IsNaN(vals[u]) {
						out[i] = x(vals[u])
					}
				}
				norm[n*2+imp][j] = out
			}
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0x6d62))
	ranks := make([][]int, len(units))
	for k := 0; k < draws; k++ {
		v := rng.IntN(6)
		w := make([]float64, len(inc))
		for j, s := range inc {
			b := d.Series[s].Weight
			if b <= 0 {
				b = 1
			}
			w[j] = b * (0.5 + rng.Float64())
		}
		sum := make([]float64, len(units))
		for i := range units {
			for j := range inc {
				sum[i] += norm[v][j][i] * w[j]
			}
		}
		for i := range units {
			r := 1
			for _, x := range sum {
				if x > sum[i] {
					r++
				}
			}
			ranks[i] = append(ranks[i], r)
		}
	}
	l, h := int(math.Floor(0.05*float64(draws-1))), int(math.Ceil(0.95*float64(draws-1)))
	for i, u := range units {
		rs := ranks[i]
		slices.Sort(rs)
		median[u] = float64(rs[(draws-1)/2]+rs[draws/2]) / 2
		lo[u], hi[u] = rs[l], rs[h]
	}
	return median, lo, hi
}
