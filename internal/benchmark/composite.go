package benchmark

import (
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
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
	sc := newScratch(ne)
	comp := make([]float64, ne)
	rk := ranking{order: make([]int32, ne), rank: make([]int32, ne), tieEnd: make([]int32, ne)}
	dot(mats[normDTF*2], base, comp)
	var wsum float64
	for _, w := range base {
		wsum += w
	}
	// Rank the scores as shown: dividing can make two sums equal.
	for i := range comp {
		comp[i] /= wsum
	}
	rk = rankOne(comp, false, ubits, sc, rk)
	for i, u := range units {
		c.score[u] = comp[i]
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
	// Draws of one matrix go together, four at a time: each row of the
	// matrix is read once for the four and their sums are independent,
	// so they overlap in the processor instead of waiting on each other.
	var quads [][4]int // draw numbers, -1 for none
	byVariant := make([][]int, len(mats))
	for k, v := range variant {
		byVariant[v] = append(byVariant[v], k)
	}
	for _, ks := range byVariant {
		for len(ks) > 0 {
			q := [4]int{-1, -1, -1, -1}
			copy(q[:], ks[:min(4, len(ks))])
			quads = append(quads, q)
			ks = ks[min(4, len(ks)):]
		}
	}
	ranks := make([]int32, draws*ne) // [draw][unit]
	parallel(len(quads), func(next func() (int, bool)) {
		sc := newScratch(ne)
		comp := make([]float64, 4*ne)
		wt := make([]float64, 4*ni)
		rk := ranking{order: make([]int32, ne), rank: make([]int32, ne), tieEnd: make([]int32, ne)}
		for x, ok := next(); ok; x, ok = next() {
			q := quads[x]
			clear(wt)
			for c, k := range q {
				if k >= 0 {
					for j := range ni {
						wt[j*4+c] = weights[k*ni+j]
					}
				}
			}
			dot4(mats[variant[q[0]]], wt, comp, ne)
			for c, k := range q {
				if k < 0 {
					continue
				}
				rk = rankOne(comp[c*ne:(c+1)*ne], false, ubits, sc, rk)
				copy(ranks[k*ne:(k+1)*ne], rk.rank)
			}
		}
	})
	// Each unit's ranks over the draws, sorted, give its median and its
	// 5–95 % range. Units go in blocks of 16, so that reading a draw's
	// ranks of the block is one cache line.
	lo, hi := int(math.Floor(0.05*float64(draws-1))), int(math.Ceil(0.95*float64(draws-1)))
	const block = 16
	parallel((ne+block-1)/block, func(next func() (int, bool)) {
		buf := make([]uint64, block*draws)
		tmp := make([]uint64, draws)
		width := (bits.Len(uint(ne)) + 7) / 8 // a rank's bytes
		for b, ok := next(); ok; b, ok = next() {
			i0 := b * block
			nb := min(block, ne-i0)
			for k := range draws {
				for x, r := range ranks[k*ne+i0 : k*ne+i0+nb] {
					buf[x*draws+k] = uint64(r)
				}
			}
			for x := range nb {
				rs := radixSort(buf[x*draws:(x+1)*draws], tmp, width)
				u := units[i0+x]
				c.median[u] = float64(rs[(draws-1)/2]+rs[draws/2]) / 2
				c.lo[u], c.hi[u] = int32(rs[lo]), int32(rs[hi])
			}
		}
	})
	return c
}

// parallel runs work on GOMAXPROCS goroutines (at most n), each taking
// the items 0 to n-1 by calling next until it reports none left.
func parallel(n int, work func(next func() (int, bool))) {
	var at atomic.Int64
	next := func() (int, bool) {
		i := int(at.Add(1) - 1)
		return i, i < n
	}
	workers := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() { work(next) })
	}
	wg.Wait()
}

// dot4 sets out[c*n+i] to row i of m times column c of the four-column
// weights wt (wt[j*4+c]), for rows 0 to n-1: four draws at once.
func dot4(m, wt, out []float64, n int) {
	ni := len(wt) / 4
	for i := range n {
		row := m[i*ni : (i+1)*ni]
		var s0, s1, s2, s3 float64
		for j, x := range row {
			w := wt[j*4 : j*4+4 : j*4+4]
			s0 += x * w[0]
			s1 += x * w[1]
			s2 += x * w[2]
			s3 += x * w[3]
		}
		out[i], out[n+i], out[2*n+i], out[3*n+i] = s0, s1, s2, s3
	}
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
