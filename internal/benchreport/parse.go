// Package benchreport turns the raw outputs that scripts/bench.sh saves
// (one file per run of each benchmark) into docs/BENCHMARKS.md: every
// figure as the median over the runs with its spread, beside its baseline
// and the ratio of the medians.
//
// The parsers read the exact text the benchmarks print: `go test -bench`
// lines, the "firerate" lines of the timer scheduler's TestFireRate,
// `whistle bench intake`, `whistle rollup bench` and `whistle bench
// console`. A line they do not recognise is ignored, so that log lines
// mixed into an output do no harm; a file with none of the expected lines
// is an error, so that a benchmark that changed its output is noticed.
package benchreport

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// BenchLine is one result line of `go test -bench`.
type BenchLine struct {
	// Name is the benchmark's full name without the -GOMAXPROCS suffix,
	// e.g. "BenchmarkLocate/grids=600".
	Name       string
	Iterations int64
	// Metrics maps a unit ("ns/op", "B/op", "allocs/op", "lookups/s") to
	// its value.
	Metrics map[string]float64
}

// ParseGoBench reads the result lines of `go test -bench` output. When
// GOMAXPROCS is above 1, Go appends "-GOMAXPROCS" to every name; that
// suffix is removed when every line of the output ends in the same "-N"
// (a sub-benchmark's own name may end in a number too, as in
// "synthetic-50000", but not all of them with the same one).
func ParseGoBench(r io.Reader) ([]BenchLine, error) {
	var out []BenchLine
	err := eachLine(r, func(line string) {
		f := strings.Fields(line)
		// Name, iterations, then value-unit pairs.
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			return
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			return
		}
		l := BenchLine{Name: f[0], Iterations: n, Metrics: map[string]float64{}}
		ok := true
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				ok = false
				break
			}
			l.Metrics[f[i+1]] = v
		}
		if ok {
			out = append(out, l)
		}
	})
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("benchreport: no benchmark result lines")
	}
	if suffix := procsSuffix(out); suffix != "" {
		for i := range out {
			out[i].Name = strings.TrimSuffix(out[i].Name, suffix)
		}
	}
	return out, nil
}

var numSuffix = regexp.MustCompile(`-\d+$`)

// procsSuffix is the "-N" every name ends in, or "".
func procsSuffix(lines []BenchLine) string {
	suffix := numSuffix.FindString(lines[0].Name)
	for _, l := range lines[1:] {
		if !strings.HasSuffix(l.Name, suffix) || numSuffix.FindString(l.Name) != suffix {
			return ""
		}
	}
	return suffix
}

// Throughput is the result of one load run of `whistle bench intake`.
type Throughput struct {
	Requests  int
	Errors    int
	PerSecond float64
	// Latencies in milliseconds.
	P50, P95, P99 float64
}

// Intake is one run of `whistle bench intake`: Whistle and the bare
// net/http handler measured by the same client in the same process.
type Intake struct {
	// Store is "sqlite" or "postgres".
	Store    string
	Clients  int
	Whistle  Throughput
	Baseline Throughput
}

var (
	intakeLine = regexp.MustCompile(`^intake (baseline|whistle) \(([^)]*)\), (\d+) clients: (\d+) requests in [\d.]+s: ([\d.]+)/s, p50 ([\d.]+)ms, p95 ([\d.]+)ms, p99 ([\d.]+)ms, max [\d.]+ms, errors (\d+)`)
)

// ParseIntake reads the output of `whistle bench intake`.
func ParseIntake(r io.Reader) (Intake, error) {
	var in Intake
	var seen [2]bool
	err := eachLine(r, func(line string) {
		m := intakeLine.FindStringSubmatch(line)
		if m == nil {
			return
		}
		l := Throughput{}
		l.Requests, _ = strconv.Atoi(m[4])
		l.PerSecond, _ = strconv.ParseFloat(m[5], 64)
		l.P50, _ = strconv.ParseFloat(m[6], 64)
		l.P95, _ = strconv.ParseFloat(m[7], 64)
		l.P99, _ = strconv.ParseFloat(m[8], 64)
		l.Errors, _ = strconv.Atoi(m[9])
		clients, _ := strconv.Atoi(m[3])
		if m[1] == "baseline" {
			in.Baseline, seen[0] = l, true
			return
		}
		in.Whistle, seen[1] = l, true
		in.Clients = clients
		in.Store, _, _ = strings.Cut(m[2], ":")
	})
	if err != nil {
		return in, err
	}
	if !seen[0] || !seen[1] {
		return in, fmt.Errorf("benchreport: intake output lacks the whistle or the baseline line")
	}
	return in, nil
}

// Pgbench is one run of pgbench, the PostgreSQL baseline of intake.
type Pgbench struct {
	Clients int
	// TPS is transactions a second without the initial connection time.
	TPS float64
	// LatencyMS is the average latency of a transaction.
	LatencyMS float64
	Failed    int
}

var (
	pgbenchTPS     = regexp.MustCompile(`^tps = ([\d.]+) \(without initial connection time\)`)
	pgbenchClients = regexp.MustCompile(`^number of clients: (\d+)`)
	pgbenchLatency = regexp.MustCompile(`^latency average = ([\d.]+) ms`)
	pgbenchFailed  = regexp.MustCompile(`^number of failed transactions: (\d+)`)
)

// ParsePgbench reads the output of `pgbench`.
func ParsePgbench(r io.Reader) (Pgbench, error) {
	var p Pgbench
	seen := false
	err := eachLine(r, func(line string) {
		if m := pgbenchTPS.FindStringSubmatch(line); m != nil {
			p.TPS, _ = strconv.ParseFloat(m[1], 64)
			seen = true
		}
		if m := pgbenchClients.FindStringSubmatch(line); m != nil {
			p.Clients, _ = strconv.Atoi(m[1])
		}
		if m := pgbenchLatency.FindStringSubmatch(line); m != nil {
			p.LatencyMS, _ = strconv.ParseFloat(m[1], 64)
		}
		if m := pgbenchFailed.FindStringSubmatch(line); m != nil {
			p.Failed, _ = strconv.Atoi(m[1])
		}
	})
	if err != nil {
		return p, err
	}
	if !seen {
		return p, fmt.Errorf("benchreport: pgbench output lacks its tps line")
	}
	return p, nil
}

// Latency is one timed query: p50 and p95 in milliseconds.
type Latency struct {
	// Node is the region node ("330303 龙湾区") for stats queries.
	Node string
	// Level is the node's level, or for the console the kind of query:
	// "baseline", "list" or "case".
	Level string
	// Query names what was timed: "summary (rollups)", "GET /cases?queue=all"…
	Query    string
	P50, P95 float64
}

// Rollup is one run of `whistle rollup bench`.
type Rollup struct {
	Dialect string
	Cases   int64
	// InProcess are the store's queries called in process; HTTP the same
	// through the server's API, when the run was given --url.
	InProcess []Latency
	HTTP      []Latency
	// RSSMiB is the server's resident memory, 0 when not reported.
	RSSMiB float64
}

var (
	rollupHeader = regexp.MustCompile(`^rollup bench on (\w+): (\d+) cases`)
	rssLine      = regexp.MustCompile(`^server resident memory: ([\d.]+) MiB`)
)

// ParseRollup reads the output of `whistle rollup bench`.
func ParseRollup(r io.Reader) (Rollup, error) {
	var out Rollup
	header, http := false, false
	err := eachLine(r, func(line string) {
		if m := rollupHeader.FindStringSubmatch(line); m != nil {
			out.Dialect = m[1]
			out.Cases, _ = strconv.ParseInt(m[2], 10, 64)
			header = true
			return
		}
		if strings.HasPrefix(line, "HTTP ") {
			http = true
			return
		}
		if m := rssLine.FindStringSubmatch(line); m != nil {
			out.RSSMiB, _ = strconv.ParseFloat(m[1], 64)
			return
		}
		l, ok := latencyRow(line)
		if !ok {
			return
		}
		if http {
			out.HTTP = append(out.HTTP, l)
		} else {
			out.InProcess = append(out.InProcess, l)
		}
	})
	if err != nil {
		return out, err
	}
	if !header || len(out.InProcess) == 0 {
		return out, fmt.Errorf("benchreport: no rollup bench results")
	}
	return out, nil
}

// latencyRow reads "node<TAB>level<TAB>query<TAB>p50<TAB>p95[<TAB>…]".
func latencyRow(line string) (Latency, bool) {
	f := strings.Split(line, "\t")
	if len(f) < 5 {
		return Latency{}, false
	}
	p50, err1 := strconv.ParseFloat(strings.TrimSpace(f[3]), 64)
	p95, err2 := strconv.ParseFloat(strings.TrimSpace(f[4]), 64)
	if err1 != nil || err2 != nil {
		return Latency{}, false
	}
	return Latency{Node: f[0], Level: f[1], Query: f[2], P50: p50, P95: p95}, true
}

// Console is one run of `whistle bench console`.
type Console struct {
	// Rows have Level "baseline", "list" or "case" and an empty Node.
	Rows   []Latency
	RSSMiB float64
}

// ParseConsole reads the output of `whistle bench console`, whose rows are
// "kind<TAB>query<TAB>p50 ms<TAB>p95 ms".
func ParseConsole(r io.Reader) (Console, error) {
	var out Console
	err := eachLine(r, func(line string) {
		if m := rssLine.FindStringSubmatch(line); m != nil {
			out.RSSMiB, _ = strconv.ParseFloat(m[1], 64)
			return
		}
		f := strings.Split(line, "\t")
		if len(f) != 4 {
			return
		}
		p50, err1 := strconv.ParseFloat(f[2], 64)
		p95, err2 := strconv.ParseFloat(f[3], 64)
		if err1 != nil || err2 != nil {
			return
		}
		out.Rows = append(out.Rows, Latency{Level: f[0], Query: f[1], P50: p50, P95: p95})
	})
	if err != nil {
		return out, err
	}
	if len(out.Rows) == 0 {
		return out, fmt.Errorf("benchreport: no console bench results")
	}
	return out, nil
}

// FireRound is one round of TestFireRate (internal/sla): one scheduler
// firing the timers of one kind that were due, Group timers per
// transaction.
type FireRound struct {
	// Store is "sqlite" or "postgres".
	Store string
	// Round is the kind of timers fired: "warnings" or "breaches".
	Round string
	// Group is how many timers fired in one transaction: the scheduler's
	// default, or 1 for the baseline.
	Group int
	// Fired is how many timers fired; Pending how many were pending (due
	// or not) when the round began.
	Fired, Pending int
	Seconds        float64
	PerSecond      float64
}

// FireClaim is the time the scheduler's claim query took to pick a batch
// of due timers out of the pending ones.
type FireClaim struct {
	Store        string
	Ms           float64
	Pending, Due int
}

// FireRate is one run of TestFireRate.
type FireRate struct {
	Rounds []FireRound
	Claims []FireClaim
	// Seconds is the whole test's duration, 0 when not reported.
	Seconds float64
}

var fireRatePass = regexp.MustCompile(`^--- PASS: TestFireRate \(([\d.]+)s\)`)

// ParseFireRate reads the output of `go test -run TestFireRate -v
// ./internal/sla/`: the lines it logs, as
//
//	bench_test.go:152: firerate store=sqlite round=warnings group=20 fired=10000 pending=1000000 seconds=9.520 per_second=1050.4
//	bench_test.go:151: firerate store=sqlite claim_ms=0.052 pending=1000000 due=10000
//
// and the test's duration. An output without a round is an error.
func ParseFireRate(r io.Reader) (FireRate, error) {
	var out FireRate
	err := eachLine(r, func(line string) {
		if m := fireRatePass.FindStringSubmatch(line); m != nil {
			out.Seconds, _ = strconv.ParseFloat(m[1], 64)
			return
		}
		kv, ok := fireRateFields(line)
		if !ok {
			return
		}
		if kv["round"] != "" {
			if rd, ok := fireRound(kv); ok {
				out.Rounds = append(out.Rounds, rd)
			}
			return
		}
		ms, err1 := strconv.ParseFloat(kv["claim_ms"], 64)
		pending, err2 := strconv.Atoi(kv["pending"])
		due, err3 := strconv.Atoi(kv["due"])
		if kv["store"] != "" && err1 == nil && err2 == nil && err3 == nil {
			out.Claims = append(out.Claims, FireClaim{Store: kv["store"], Ms: ms, Pending: pending, Due: due})
		}
	})
	if err != nil {
		return out, err
	}
	if len(out.Rounds) == 0 {
		return out, fmt.Errorf("benchreport: no firerate round lines")
	}
	return out, nil
}

// fireRateFields reads the key=value pairs after the word "firerate",
// which starts the line or follows the test log's "file.go:N:" prefix.
func fireRateFields(line string) (map[string]string, bool) {
	f := strings.Fields(line)
	if len(f) > 0 && strings.HasSuffix(f[0], ":") {
		f = f[1:]
	}
	if len(f) < 2 || f[0] != "firerate" {
		return nil, false
	}
	kv := map[string]string{}
	for _, p := range f[1:] {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return nil, false
		}
		kv[k] = v
	}
	return kv, true
}

// fireRound reads a round's fields; a line missing one is not a round.
func fireRound(kv map[string]string) (FireRound, bool) {
	rd := FireRound{Store: kv["store"], Round: kv["round"]}
	var errs [5]error
	rd.Group, errs[0] = strconv.Atoi(kv["group"])
	rd.Fired, errs[1] = strconv.Atoi(kv["fired"])
	rd.Pending, errs[2] = strconv.Atoi(kv["pending"])
	rd.Seconds, errs[3] = strconv.ParseFloat(kv["seconds"], 64)
	rd.PerSecond, errs[4] = strconv.ParseFloat(kv["per_second"], 64)
	for _, err := range errs {
		if err != nil {
			return FireRound{}, false
		}
	}
	return rd, rd.Store != "" && rd.Group > 0
}

// ParseKV reads "key: value" lines (the environment and metadata files
// bench.sh writes); later lines win, other lines are ignored.
func ParseKV(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.ContainsAny(k, " \t") || k == "" {
			continue
		}
		out[k] = strings.TrimSpace(v)
	}
	return out, sc.Err()
}

// CPUModel returns the first "model name" of a /proc/cpuinfo, or "".
func CPUModel(cpuinfo io.Reader) string {
	sc := bufio.NewScanner(cpuinfo)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == "model name" {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return ""
}

// eachLine calls f with every line of r (lines of up to 1 MiB: some
// benchmark outputs carry long progress lines).
func eachLine(r io.Reader, f func(line string)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f(sc.Text())
	}
	return sc.Err()
}
