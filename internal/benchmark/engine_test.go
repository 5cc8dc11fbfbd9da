package benchmark

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"syscall"
	"testing"
	"time"
)

// randomData makes nu units × ns series × np periods: values from a small
// set (ties) or continuous, some a hair apart (below the packed sort key's
// precision), some missing, some series lower-is-better, and definition
// changes at random periods.
func randomData(rng *rand.Rand, nu, ns, np int, missing float64) *Data {
	d := &Data{}
	for u := 0; u < nu; u++ {
		d.Units = append(d.Units, fmt.Sprintf("330303%03d", u))
	}
	for p := 0; p < np; p++ {
		d.Periods = append(d.Periods, fmt.Sprintf("%d-%02d", 2024+p/12, p%12+1))
	}
	for s := 0; s < ns; s++ {
		ser := Series{Key: fmt.Sprintf("i%d", s), Lower: rng.IntN(2) == 0, Weight: float64(1 + rng.IntN(3)), Version: make([]int, np), Values: make([][]float64, np)}
		ver := 1
		discrete := rng.IntN(2) == 0
		for p := 0; p < np; p++ {
			if p > 0 && rng.Float64() < 0.1 {
				ver++
			}
			ser.Version[p] = ver
			vals := make([]float64, nu)
			for u := range vals {
				switch r := rng.Float64(); {
				case r < missing:
					vals[u] = math.NaN()
				case discrete:
					vals[u] = float64(rng.IntN(5))
				case r < missing+0.05 && u > 0 && !math.IsNaN(vals[u-1]):
					vals[u] = vals[u-1] * (1 + 1e-15) // a hair apart
				default:
					vals[u] = rng.NormFloat64()*10 + 50
				}
			}
			ser.Values[p] = vals
		}
		d.Series = append(d.Series, ser)
	}
	return d
}

// TestFastEqualsOracle: on random data the fast engine's ranks, tie
// blocks, leader, unit above, chaser, gaps, trends, definition-change
// flags and base composite equal the straightforward implementation's.
func TestFastEqualsOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 300; i++ {
		nu, ns, np := 1+rng.IntN(40), 1+rng.IntN(6), 1+rng.IntN(14)
		if i%10 == 0 { // past radixSort's threshold
			nu, np = 128+rng.IntN(400), 1+rng.IntN(4)
		}
		missing := []float64{0, 0.1, 0.3, 0.9}[rng.IntN(4)]
		d := randomData(rng, nu, ns, np, missing)
		window := 2 + rng.IntN(6)
		r := Analyse(d, np-1, window, 20, 7)
		all := oracleAll(d)
		name := fmt.Sprintf("case %d (%d units, %d series, %d periods, %.0f%% missing)", i, nu, ns, np, missing*100)
		lead, above, chase := make([]float64, nu), make([]float64, nu), make([]float64, nu)
		for s := range d.Series {
			for p := range d.Periods {
				r.Standings(s, p, lead, above, chase)
				for u := range d.Units {
					got, want := r.Of(s, p, u), all[s][p][u]
					wl, wa, wc := want.gapLeader, want.gapAbove, want.chaserDistance
					if !want.ok {
						wl, wa, wc = math.NaN(), math.NaN(), math.NaN()
					}
					if nanTo(lead[u]) != nanTo(wl) || nanTo(above[u]) != nanTo(wa) || nanTo(chase[u]) != nanTo(wc) {
						t.Fatalf("%s: s%d p%d u%d: standings %v %v %v, want %v %v %v", name, s, p, u, lead[u], above[u], chase[u], wl, wa, wc)
					}
					if !want.ok {
						if got.Rank != 0 || got.Value != nil {
							t.Fatalf("%s: s%d p%d u%d: got rank %d, want none (missing)", name, s, p, u, got.Rank)
						}
						continue
					}
					if got.Rank != want.rank || got.RankRange[1] != want.tieEnd || got.Peers != want.peers || got.Leader.Unit != d.Units[want.leader] ||
						*got.GapToLeader != want.gapLeader || unitOr(got.Above) != unitAt(d, want.above) || unitOr(got.Chaser) != unitAt(d, want.chaser) ||
						valOr(got.GapToAbove) != nanTo(want.gapAbove) || valOr(got.ChaserDistance) != nanTo(want.chaserDistance) {
						t.Fatalf("%s: s%d p%d u%d: got rank %d..%d of %d, leader %s gap %v, above %s %v, chaser %s %v; want %+v",
							name, s, p, u, got.Rank, got.RankRange[1], got.Peers, got.Leader.Unit, *got.GapToLeader, unitOr(got.Above), valOr(got.GapToAbove),
							unitOr(got.Chaser), valOr(got.ChaserDistance), want)
					}
					lead, chase, crosses := oracleTrend(d, all, s, p, u, window, oracleSpan(d, s, p))
					if got.Trend != lead || got.ChaserTrend != chase || got.CrossesDefinitionChange != crosses {
						t.Fatalf("%s: s%d p%d u%d: got trends %s/%s crosses %v, want %s/%s %v", name, s, p, u, got.Trend, got.ChaserTrend,
							got.CrossesDefinitionChange, lead, chase, crosses)
					}
				}
			}
		}
		score, rank := oracleComposite(d, np-1)
		median, lo, hi := oracleMonteCarlo(d, np-1, 20, 7)
		for u := range d.Units {
			got := r.Of(-1, np-1, u)
			if rank[u] != 0 && (got.MedianRank != median[u] || got.RankRange != [2]int{lo[u], hi[u]}) {
				t.Fatalf("%s: composite of u%d: got median rank %v, range %v; want %v, [%d %d]", name, u, got.MedianRank, got.RankRange, median[u], lo[u], hi[u])
			}
			if got.Rank != rank[u] {
				t.Fatalf("%s: composite of u%d: got rank %d, want %d", name, u, got.Rank, rank[u])
			}
			if rank[u] != 0 && *got.Value != score[u] {
				t.Fatalf("%s: composite of u%d: got %v, want %v", name, u, *got.Value, score[u])
			}
		}
	}
}

// TestRadixSort: radixSort orders keys as slices.Sort does, whichever
// bytes the keys share.
func TestRadixSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 200; i++ {
		n := rng.IntN(3000)
		keys := make([]uint64, n)
		mask := rng.Uint64() // the bits that vary
		fixed := rng.Uint64() &^ mask
		for j := range keys {
			keys[j] = fixed | rng.Uint64()&mask
		}
		want := slices.Clone(keys)
		slices.Sort(want)
		got := radixSort(keys, make([]uint64, n), 8)
		if !slices.Equal(got, want) {
			t.Fatalf("case %d (%d keys, mask %x): not sorted", i, n, mask)
		}
	}
}

func unitOr(p *Point) string {
	if p == nil {
		return "-"
	}
	return p.Unit
}

func unitAt(d *Data, i int) string {
	if i < 0 {
		return "-"
	}
	return d.Units[i]
}

func valOr(f *float64) float64 {
	if f == nil {
		return -1
	}
	return *f
}

func nanTo(f float64) float64 {
	if math.IsNaN(f) {
		return -1
	}
	return f
}

// The benchmark's data: 5,000 units × 50 indicators × 36 months, 2 %
// missing.
const (
	benchUnits, benchSeries, benchPeriods = 5000, 50, 36
)

var benchData *Data

func benchmarkData() *Data {
	if benchData == nil {
		benchData = randomData(rand.New(rand.NewPCG(3, 4)), benchUnits, benchSeries, benchPeriods, 0.02)
	}
	return benchData
}

// cpuPerOp reports the process's CPU time (user and system) per
// operation beside the wall time: on a shared machine the wall time
// measures the neighbours too. Call the function it returns after the
// loop.
func cpuPerOp(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start := cpu()
	return func() {
		b.ReportMetric(float64((cpu()-start).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
}

// sink keeps the compiler from dropping the benchmarks' work.
var sink float64

// BenchmarkAnalysis times the whole analysis of 5,000 units × 50
// indicators × 36 periods — every unit's rank, tie block, leader, unit
// above and chaser with their gaps in every indicator and period, every
// unit's trends over 6 periods in the last one, and the composite with
// 1,000 Monte Carlo draws — beside the straightforward implementation (a
// sort per indicator and period) computing the same ranks, gaps and trends
// in the same run (no Monte Carlo).
func BenchmarkAnalysis(b *testing.B) {
	d := benchmarkData()
	last := benchPeriods - 1
	b.Run("fast", func(b *testing.B) {
		defer cpuPerOp(b)()
		for b.Loop() {
			r := Analyse(d, last, 6, 1000, 19)
			// Every unit's gaps in every indicator and period, and its
			// trends in the last, the series shared among the cores as
			// Analyse shares them.
			accs := make([]float64, len(d.Series))
			parallel(len(d.Series), func(next func() (int, bool)) {
				lead, above, chase := make([]float64, len(d.Units)), make([]float64, len(d.Units)), make([]float64, len(d.Units))
				for s, ok := next(); ok; s, ok = next() {
					var acc float64
					for p := range d.Periods {
						r.Standings(s, p, lead, above, chase)
						for u := range d.Units {
							if !math.IsNaN(lead[u]) {
								acc += lead[u] + nanTo(above[u]) + nanTo(chase[u])
							}
						}
					}
					for u := range d.Units {
						l, _, _ := r.Trends(s, last, u)
						acc += float64(len(l))
					}
					accs[s] = acc
				}
			})
			var acc float64
			for _, x := range accs {
				acc += x
			}
			acc += r.comp.median[0]
			sink = acc
		}
	})
	b.Run("oracle", func(b *testing.B) {
		defer cpuPerOp(b)()
		for b.Loop() {
			all := oracleAll(d)
			var acc float64
			for s := range d.Series {
				for p := range d.Periods {
					for u := range d.Units {
						if st := all[s][p][u]; st.ok {
							acc += st.gapLeader + nanTo(st.gapAbove) + nanTo(st.chaserDistance)
						}
					}
				}
				tol := oracleSpan(d, s, last)
				for u := range d.Units {
					l, _, _ := oracleTrend(d, all, s, last, u, 6, tol)
					acc += float64(len(l))
				}
			}
			sink = acc
		}
	})
}

// BenchmarkRankOne times one ranking of 5,000 continuous values, the
// analysis's inner step.
func BenchmarkRankOne(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	vals := make([]float64, 5000)
	for i := range vals {
		vals[i] = rng.NormFloat64()*10 + 50
	}
	sc := newScratch(len(vals))
	rk := ranking{order: make([]int32, len(vals)), rank: make([]int32, len(vals)), tieEnd: make([]int32, len(vals))}
	defer cpuPerOp(b)()
	for b.Loop() {
		rk = rankOne(vals, false, 13, sc, rk)
	}
}

// BenchmarkRankQuantiles times sorting one unit's 1,000 Monte Carlo
// ranks among 5,000 units.
func BenchmarkRankQuantiles(b *testing.B) {
	rng := rand.New(rand.NewPCG(7, 8))
	keys, work, tmp := make([]uint64, 1000), make([]uint64, 1000), make([]uint64, 1000)
	for i := range keys {
		keys[i] = uint64(2000 + rng.IntN(600))
	}
	for b.Loop() {
		copy(work, keys)
		radixSort(work, tmp, 2)
	}
}
