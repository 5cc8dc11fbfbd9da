package benchreport

import (
	"math"
	"strconv"
	"strings"
)

// Num formats a figure with about three significant digits, and thousands
// separators from 1,000 up: 0.0123, 4.56, 47.9, 734, 1,571.
func Num(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "—"
	case a == 0:
		return "0"
	case a >= 1000:
		return commas(int64(math.Round(v)))
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 2-int(math.Floor(math.Log10(a))), 64)
}

func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Rate formats a rate with k or M: 20.9 M, 8.7 k, 292.
func Rate(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return Num(v/1e6) + " M"
	case a >= 1e4:
		return Num(v/1e3) + " k"
	}
	return Num(v)
}

// RatioText formats a ratio: 1,745×, 15×, 2.4×, 0.072×; "—" when missing.
func RatioText(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "—"
	case a >= 10:
		return commas(int64(math.Round(v))) + "×"
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 1, 64) + "×"
	case a >= 0.1:
		return strconv.FormatFloat(v, 'f', 2, 64) + "×"
	}
	return strconv.FormatFloat(v, 'f', 3, 64) + "×"
}

// Fig formats a spread with f: "47.9 (47.1–49.0)", or only the median
// when there was one run or all runs agree; "—" when not measured.
func Fig(s Spread, f func(float64) string) string {
	if !s.Ok() {
		return "—"
	}
	m := f(s.Median)
	lo, hi := f(s.Min), f(s.Max)
	if s.N == 1 || lo == hi {
		return m
	}
	return m + " (" + lo + "–" + hi + ")"
}

// Bytes formats a size in MiB or GiB.
func Bytes(v float64) string {
	if v >= 1<<30 {
		return Num(v/(1<<30)) + " GiB"
	}
	return Num(v/(1<<20)) + " MiB"
}

// Duration formats seconds as "42 s", "13.5 min" or "2.1 h".
func Duration(sec float64) string {
	switch {
	case sec >= 2*3600:
		return Num(sec/3600) + " h"
	case sec >= 120:
		return Num(sec/60) + " min"
	}
	return Num(sec) + " s"
}
