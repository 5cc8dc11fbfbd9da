package benchmark

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// MaxMissing is the missing-data rule of the composite: a unit missing
// more than this share of the indicators has no composite.
const MaxMissing = 0.2

// compositeResult is the composite score in one period: the indicators
// with data then, each unit's score (NaN when the 20 % rule excludes it)
// and competition rank, and the Monte Carlo median rank and 5–95 % range.
type compositeResult struct {
	included []int
	score    []float64
	rank     []int32
	tieEnd   []int32
	peers    int
	median   []float64
	lo, hi   []int32
}

// The normalisations and imputations the Monte Carlo draws from (JRC/OECD
// handbook, COINr): distance to frontier on the fixed goalposts (the base),
// z-scores within the period, and percentile ranks; a missing value is
// imputed with the peers' median (the base) or mean.
const (
	normDTF = iota
	normZ
	normRank
	nNorm
)

// eligible reports whether a unit missing m of n indicators has a
// composite: no more than MaxMissing of them missing.
func eligible(m, n int) bool { return n > 0 && float64(m) <= MaxMissing*float64(n)+1e-9 }

// composite computes the composite in period p and its rank uncertainty
// over draws Monte Carlo draws of weights (each ×U(0.5, 1.5)),
// normalisation and imputation.
func composite(d *Data, r *Result, p, draws int, seed uint64) *compositeResult {
	nu := len(d.Units)
	c := &compositeResult{score: make([]float64, nu), rank: make([]int32, nu), tieEnd: make([]int32, nu)}
	for s := range d.Series {
		if len(r.ranks[s][p].order) > 0 {
			c.included = append(c.included, s)
		}
	}
	ni := len(c.included)
	var units []int // eligible units
	for u := 0; u < nu; u++ {
		m := 0
		for _, s := range c.included {
			if math.IsNaN(d.Series[s].Values[p][u]) {
				m++
			}
		}
		c.score[u] = math.NaN()
		if eligible(m, ni) {
			units = append(units, u)
		}
	}
	ne := len(units)
	c.peers = ne
	c.median = make([]float64, nu)
	c.lo, c.hi = make([]int32, nu), make([]int32, nu)
	if ne == 0 {
		return c
	}
	// mats[norm*2+imp] is the ne × ni matrix of normalised values.
	mats := make([][]float64, nNorm*2)
	col := make([]float64, ne)
	for k := range mats {
		mats[k] = make([]float64, ne*ni)
	}
	for j, s := range c.included {
		ser := &d.Series[s]
		vals := ser.Values[p]
		var zm, zsd float64
		present := 0
		for _, u := range units {
			if v := vals[u]; !math.IsNaN(v) {
				zm += score(v, ser.Lower)
				present++
			}
		}
		zm /= float64(max(present, 1))
		for _, u := range units {
			if v := vals[u]; !math.IsNaN(v) {
				x := score(v, ser.Lower) - zm
				zsd += x * x
			}
		}
		zsd = math.Sqrt(zsd / float64(max(present, 1)))
		for norm := 0; norm < nNorm; norm++ {
			col = col[:0]
			for _, u := range units {
				v := vals[u]
				if math.IsNaN(v) {
					continue
				}
				var x float64
				switch norm {
				case normDTF:
					x = dtf(v, r.posts[s][p], ser.Lower)
				case normZ:
					if zsd > 0 {
						x = (score(v, ser.Lower) - zm) / zsd
					}
				case normRank:
					rk := r.ranks[s][p]
					x = percentile(int(rk.rank[u]), len(rk.order))
				}
				col = append(col, x)
			}
			med, mean := medianMean(col)
			k := 0
			for i, u := range units {
				v := vals[u]
				if math.IsNaN(v) {
					mats[norm*2][i*ni+j] = med
					mats[norm*2+1][i*ni+j] = mean
					continue
				}
				mats[norm*2][i*ni+j] = col[k]
				mats[norm*2+1][i*ni+j] = col[k]
				k++
			}
		}
	}
	base := make([]float64, ni)
	for j, s := range c.included {
		base[j] = d.Series[s].Weight
		if base[j] <= 0 {
			base[j] = 1
		}
	}
	ubits := uint(bits.Len(uint(ne)))
	keys := make([]uint64, 0, ne)
	comp := make([]float64, ne)
	rk := ranking{order: make([]int32, ne), rank: make([]int32, ne), tieEnd: make([]int32, ne)}
	dot(mats[normDTF*2], base, comp)
	rk = rankOne(comp, false, ubits, keys, rk)
	var wsum float64
	for _, w := range base {
		wsum += w
	}
	for i, u := range units {
		c.score[u] = comp[i] / wsum
		c.rank[u] = rk.rank[i]
		c.tieEnd[u] = rk.tieEnd[i]
	}
	if draws <= 0 {
		for _, u := range units {
			c.median[u] = float64(c.rank[u])
			c.lo[u], c.hi[u] = c.rank[u], c.tieEnd[u]
		}
		return c
	}
	// Draw the choices first, in order, so that the result depends on the
	// seed only, not on how the draws are shared among the workers.
	rng := rand.New(rand.NewPCG(seed, 0x6d62))
	variant := make([]int, draws)
	weights := make([]float64, draws*ni)
	for k := 0; k < draws; k++ {
		variant[k] = rng.IntN(len(mats))
		for j := range base {
			weights[k*ni+j] = base[j] * (0.5 + rng.Float64())
		}
	}
	ranks := make([]int32, ne*draws) // [unit][draw]
	const workers = 2
	done := make(chan struct{})
	for w := 0; w < workers; w++ {
		go func() {
			keys := make([]uint64, 0, ne)
			comp := make([]float64, ne)
			rk := ranking{order: make([]int32, ne), rank: make([]int32, ne), tieEnd: make([]int32, ne)}
			for k := w; k < draws; k += workers {
				dot(mats[variant[k]], weights[k*ni:(k+1)*ni], comp)
				rk = rankOne(comp, false, ubits, keys, rk)
				for i := 0; i < ne; i++ {
					ranks[i*draws+k] = rk.rank[i]
				}
			}
			done <- struct{}{}
		}()
	}
	for w := 0; w < workers; w++ {
		<-done
	}
	lo, hi := int(math.Floor(0.05*float64(draws-1))), int(math.Ceil(0.95*float64(draws-1)))
	for i, u := range units {
		rs := ranks[i*draws : (i+1)*draws]
		slices.Sort(rs)
		c.median[u] = float64(rs[(draws-1)/2]+rs[draws/2]) / 2
		c.lo[u], c.hi[u] = rs[lo], rs[hi]
	}
	return c
}

// dot sets out[i] to row i of m (len(w) wide) times w.
func dot(m, w, out []float64) {
	n := len(w)
	for i := range out {
		row := m[i*n : (i+1)*n]
		var s float64
		for j, x := range row {
			s += x * w[j]
		}
		out[i] = s
	}
}

// medianMean returns the median and mean of xs (0, 0 when empty); it does
// not reorder xs.
func medianMean(xs []float64) (med, mean float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	for _, x := range s {
		mean += x
	}
	n := len(s)
	return (s[(n-1)/2] + s[n/2]) / 2, mean / float64(n)
}

// compositeOf fills a with unit u's composite in the analysed period.
func (r *Result) compositeOf(u int, a Analysis) Analysis {
	a.Indicator = Composite
	c := r.comp
	if c == nil {
		return a
	}
	a.Peers = c.peers
	if c.rank[u] == 0 {
		return a
	}
	v := c.score[u]
	a.Value = &v
	a.Rank = int(c.rank[u])
	a.RankRange = [2]int{int(c.lo[u]), int(c.hi[u])}
	a.MedianRank = c.median[u]
	a.Percentile = percentile(a.Rank, c.peers)
	for x := range r.d.Units {
		if x != u && c.rank[x] != 0 && c.lo[x] <= c.hi[u] && c.hi[x] >= c.lo[u] {
			a.CannotTellApart = append(a.CannotTellApart, r.d.Units[x])
		}
	}
	return a
}
