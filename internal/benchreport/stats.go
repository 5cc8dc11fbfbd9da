package benchreport

import (
	"math"
	"slices"
	"strings"
)

// Spread is a figure measured over several runs: the median and the
// smallest and largest value.
type Spread struct {
	Median, Min, Max float64
	// N is the number of runs; 0 means not measured.
	N int
}

// Summarize returns the median and the range of xs. The median of an even
// number of values is the mean of the two middle ones.
func Summarize(xs []float64) Spread {
	if len(xs) == 0 {
		return Spread{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := s[n/2]
	if n%2 == 0 {
		med = (s[n/2-1] + s[n/2]) / 2
	}
	return Spread{Median: med, Min: s[0], Max: s[n-1], N: n}
}

// Ok reports whether the figure was measured.
func (s Spread) Ok() bool { return s.N > 0 }

// Ratio is the ratio of the medians a / b, NaN when either is missing or b
// is zero.
func Ratio(a, b Spread) float64 {
	if !a.Ok() || !b.Ok() || b.Median == 0 {
		return math.NaN()
	}
	return a.Median / b.Median
}

// Samples collects, per benchmark name and unit, the values of every run.
type Samples map[string]map[string][]float64

// Add records the lines of one run.
func (s Samples) Add(lines []BenchLine) {
	for _, l := range lines {
		m := s[l.Name]
		if m == nil {
			m = map[string][]float64{}
			s[l.Name] = m
		}
		for unit, v := range l.Metrics {
			m[unit] = append(m[unit], v)
		}
	}
}

// Get summarises one benchmark's unit over the runs.
func (s Samples) Get(name, unit string) Spread {
	return Summarize(s[name][unit])
}

// Prefixed returns the one benchmark name that starts with prefix (the
// demo district's benchmark names end in its grid count), or "".
func (s Samples) Prefixed(prefix string) string {
	found := ""
	for name := range s {
		if strings.HasPrefix(name, prefix) {
			if found != "" {
				return ""
			}
			found = name
		}
	}
	return found
}
