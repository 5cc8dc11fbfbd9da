package benchreport

import (
	"math"
	"reflect"
	"strings"
	"testing"
)

// Samples of real outputs (trimmed), as the benchmarks print them.
const (
	calendarOut = `goos: linux
goarch: amd64
pkg: whistle/internal/sla/calendar
cpu: Oxide Virtual Turin-like Processor             
BenchmarkAddWorkingDuration-2   	    2000	        50.38 ns/op	       0 B/op	       0 allocs/op
BenchmarkAddWorkingDays-2       	    2000	        41.88 ns/op	       0 B/op	       0 allocs/op
PASS
ok  	whistle/internal/sla/calendar	0.071s
pkg: whistle/internal/sla
BenchmarkDeadline-2   	    2000	       114.1 ns/op	       0 B/op	       0 allocs/op
PASS
`
	regionOut1Proc = `pkg: whistle/internal/region
BenchmarkLocator/demo-longwan-689         	    2000	       121.7 ns/op	   8217838 lookups/s	       0 B/op	       0 allocs/op
BenchmarkLocator/synthetic-50000          	    2000	       410.1 ns/op	   2438581 lookups/s	       0 B/op	       0 allocs/op
--- FAIL: BenchmarkPostGISContains
ok  	whistle/internal/region	1.828s
`
	intakeOut = `server: {"time":"…","level":"INFO","msg":"group commit","batches":812,"writes":9120}
intake baseline (bare net/http JSON handler), 32 clients: 40710 requests in 10.0s: 4071/s, p50 6.10ms, p95 20.00ms, p99 41.30ms, max 120.0ms, errors 0
intake whistle (sqlite: auth, validate, locate, route, commit, publish), 32 clients: 2920 requests in 10.0s: 292/s, p50 56.80ms, p95 404.00ms, p99 858.00ms, max 1200.0ms, errors 3
intake ratio whistle/baseline: 0.072 (statuses map[201:2917 500:3])
`
	rollupOut = `{"time":"…","level":"INFO","msg":"migrated"}
rollup bench on postgres: 1000000 cases; 200 runs per query (GROUP BY baseline: 5)
node	level	query	p50 ms	p95 ms
330303 龙湾区	district	summary (rollups)	0.21	0.35
330303 龙湾区	district	map open (rollups)	0.50	0.80
330303 龙湾区	district	summary (GROUP BY over cases)	420.00	450.00	ratio p50 2000×
330303001 永中街道	street	summary (rollups)	0.18	0.30
HTTP http://127.0.0.1:4321 (end to end, one client)
330303 龙湾区	district	GET /api/v1/stats/summary?region=330303	0.90	1.20
330303 龙湾区	district	GET /api/v1/stats/map?metric=open&region=330303	1.50	2.10
server resident memory: 85 MiB (process_resident_memory_bytes)
`
	fireRateOut = `=== RUN   TestFireRate
=== RUN   TestFireRate/sqlite
    bench_test.go:131: sqlite: 1000 cases with open stages (2000 timers) in 412ms
    bench_test.go:151: sqlite: the claim's query picks 100 due timers out of 50000 pending in 0.075 ms
    bench_test.go:151: firerate store=sqlite claim_ms=0.075 pending=50000 due=1000
    bench_test.go:152: sqlite: warnings, 20 per transaction: fired 1000 of 50000 pending in 869ms: 1150 timers/s, 869µs per timer
    bench_test.go:152: firerate store=sqlite round=warnings group=20 fired=1000 pending=50000 seconds=0.869 per_second=1150.2
    bench_test.go:154: firerate store=sqlite round=breaches group=20 fired=1000 pending=49000 seconds=1.288 per_second=776.1
    bench_test.go:163: firerate store=sqlite round=warnings group=1 fired=1000 pending=51000 seconds=2.659 per_second=376.0
    bench_test.go:165: firerate store=sqlite round=breaches group=1 fired=1000 pending=50000 seconds=3.727 per_second=268.3
=== RUN   TestFireRate/postgres
    bench_test.go:152: firerate store=postgres round=warnings group=20 fired=1000 pending=50000 seconds=3.634 per_second=275.2
--- PASS: TestFireRate (37.97s)
    --- PASS: TestFireRate/sqlite (10.74s)
    --- PASS: TestFireRate/postgres (27.23s)
PASS
`
	consoleOut = `console bench http://127.0.0.1:4321: 100 runs per query after 10 warm-up requests, one client; 50 case ids sampled from the list
kind	query	p50 ms	p95 ms
baseline	GET /api/v1/me	0.40	0.70
list	GET /cases?queue=all	12.50	30.00
case	GET /cases/{id}	3.00	5.25
server resident memory: 91 MiB (process_resident_memory_bytes)
`
)

func TestParseGoBench(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want map[string]map[string]float64
	}{
		{"GOMAXPROCS suffix removed, two packages", calendarOut, map[string]map[string]float64{
			"BenchmarkAddWorkingDuration": {"ns/op": 50.38, "B/op": 0, "allocs/op": 0},
			"BenchmarkAddWorkingDays":     {"ns/op": 41.88, "B/op": 0, "allocs/op": 0},
			"BenchmarkDeadline":           {"ns/op": 114.1, "B/op": 0, "allocs/op": 0},
		}},
		{"one proc: names ending in numbers are kept", regionOut1Proc, map[string]map[string]float64{
			"BenchmarkLocator/demo-longwan-689": {"ns/op": 121.7, "lookups/s": 8217838, "B/op": 0, "allocs/op": 0},
			"BenchmarkLocator/synthetic-50000":  {"ns/op": 410.1, "lookups/s": 2438581, "B/op": 0, "allocs/op": 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, err := ParseGoBench(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]map[string]float64{}
			for _, l := range lines {
				got[l.Name] = l.Metrics
				if l.Iterations != 2000 {
					t.Errorf("%s: iterations %d, want 2000", l.Name, l.Iterations)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v\nwant %v", got, tt.want)
			}
		})
	}
	if _, err := ParseGoBench(strings.NewReader("PASS\nok  \twhistle/internal/geo\t1.3s\n")); err == nil {
		t.Error("an output without results: want an error")
	}
}

func TestParseIntake(t *testing.T) {
	t.Parallel()
	got, err := ParseIntake(strings.NewReader(intakeOut))
	if err != nil {
		t.Fatal(err)
	}
	want := Intake{Store: "sqlite", Clients: 32,
		Whistle:  Throughput{Requests: 2920, Errors: 3, PerSecond: 292, P50: 56.8, P95: 404, P99: 858},
		Baseline: Throughput{Requests: 40710, PerSecond: 4071, P50: 6.1, P95: 20, P99: 41.3}}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	// A run cut short before printing the Whistle figure is an error, not
	// a zero.
	if _, err := ParseIntake(strings.NewReader(strings.SplitN(intakeOut, "\n", 3)[1])); err == nil {
		t.Error("baseline only: want an error")
	}
}

func TestParseRollup(t *testing.T) {
	t.Parallel()
	got, err := ParseRollup(strings.NewReader(rollupOut))
	if err != nil {
		t.Fatal(err)
	}
	want := Rollup{Dialect: "postgres", Cases: 1_000_000, RSSMiB: 85,
		InProcess: []Latency{
			{"330303 龙湾区", "district", "summary (rollups)", 0.21, 0.35},
			{"330303 龙湾区", "district", "map open (rollups)", 0.5, 0.8},
			{"330303 龙湾区", "district", "summary (GROUP BY over cases)", 420, 450},
			{"330303001 永中街道", "street", "summary (rollups)", 0.18, 0.3},
		},
		HTTP: []Latency{
			{"330303 龙湾区", "district", "GET /api/v1/stats/summary?region=330303", 0.9, 1.2},
			{"330303 龙湾区", "district", "GET /api/v1/stats/map?metric=open&region=330303", 1.5, 2.1},
		}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if _, err := ParseRollup(strings.NewReader(consoleOut)); err == nil {
		t.Error("console output read as rollup output: want an error")
	}
}

func TestParseConsole(t *testing.T) {
	t.Parallel()
	got, err := ParseConsole(strings.NewReader(consoleOut))
	if err != nil {
		t.Fatal(err)
	}
	want := Console{RSSMiB: 91, Rows: []Latency{
		{Level: "baseline", Query: "GET /api/v1/me", P50: 0.4, P95: 0.7},
		{Level: "list", Query: "GET /cases?queue=all", P50: 12.5, P95: 30},
		{Level: "case", Query: "GET /cases/{id}", P50: 3, P95: 5.25},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}

func TestParseFireRate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    FireRate
		wantErr bool
	}{
		{"a whole run", fireRateOut, FireRate{
			Seconds: 37.97,
			Claims:  []FireClaim{{Store: "sqlite", Ms: 0.075, Pending: 50000, Due: 1000}},
			Rounds: []FireRound{
				{Store: "sqlite", Round: "warnings", Group: 20, Fired: 1000, Pending: 50000, Seconds: 0.869, PerSecond: 1150.2},
				{Store: "sqlite", Round: "breaches", Group: 20, Fired: 1000, Pending: 49000, Seconds: 1.288, PerSecond: 776.1},
				{Store: "sqlite", Round: "warnings", Group: 1, Fired: 1000, Pending: 51000, Seconds: 2.659, PerSecond: 376},
				{Store: "sqlite", Round: "breaches", Group: 1, Fired: 1000, Pending: 50000, Seconds: 3.727, PerSecond: 268.3},
				{Store: "postgres", Round: "warnings", Group: 20, Fired: 1000, Pending: 50000, Seconds: 3.634, PerSecond: 275.2},
			},
		}, false},
		{"a bare line, without the test log's prefix", "firerate store=postgres round=breaches group=1 fired=10 pending=99 seconds=0.5 per_second=20\n", FireRate{
			Rounds: []FireRound{{Store: "postgres", Round: "breaches", Group: 1, Fired: 10, Pending: 99, Seconds: 0.5, PerSecond: 20}},
		}, false},
		{"malformed and foreign lines are skipped", "x.go:1: firerate store=sqlite round=warnings group=20 fired=10\n" + // fields missing
			"x.go:2: firerate store=sqlite round=warnings group=twenty fired=10 pending=99 seconds=0.5 per_second=20\n" +
			"x.go:3: not firerate store=sqlite round=warnings group=20 fired=10 pending=99 seconds=0.5 per_second=20\n" +
			"x.go:4: firerate store=sqlite round=warnings group=20 fired=10 pending=99 seconds=0.5 per_second=20\n", FireRate{
			Rounds: []FireRound{{Store: "sqlite", Round: "warnings", Group: 20, Fired: 10, Pending: 99, Seconds: 0.5, PerSecond: 20}},
		}, false},
		// A run that failed before its first round, or skipped the test.
		{"no round", "--- SKIP: TestFireRate (0.00s)\n    bench_test.go:118: a benchmark: set WHISTLE_BENCH=1 to run it\n" +
			"    bench_test.go:151: firerate store=sqlite claim_ms=0.075 pending=50000 due=1000\n", FireRate{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFireRate(strings.NewReader(tt.in))
			if tt.wantErr {
				if err == nil {
					t.Errorf("want an error, got %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseKVAndCPU(t *testing.T) {
	t.Parallel()
	kv, err := ParseKV(strings.NewReader("date: 2026-01-02T03:04Z\ncores: 2\nnot a pair\nload_start: 0.5 0.4 0.3\ncores: 4\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"date": "2026-01-02T03:04Z", "cores": "4", "load_start": "0.5 0.4 0.3"}
	if !reflect.DeepEqual(kv, want) {
		t.Errorf("got %v, want %v", kv, want)
	}
	cpu := CPUModel(strings.NewReader("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: Oxide Virtual  Turin-like Processor   \nmodel name\t: other\n"))
	if cpu != "Oxide Virtual Turin-like Processor" {
		t.Errorf("CPUModel = %q", cpu)
	}
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []float64
		want Spread
	}{
		{nil, Spread{}},
		{[]float64{7}, Spread{Median: 7, Min: 7, Max: 7, N: 1}},
		{[]float64{60, 50, 52}, Spread{Median: 52, Min: 50, Max: 60, N: 3}},
		{[]float64{4, 1, 3, 2}, Spread{Median: 2.5, Min: 1, Max: 4, N: 4}},
		{[]float64{10, 200, 11, 12, 9}, Spread{Median: 11, Min: 9, Max: 200, N: 5}},
	}
	for _, tt := range tests {
		if got := Summarize(tt.in); got != tt.want {
			t.Errorf("Summarize(%v) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	if r := Ratio(Summarize([]float64{4500, 4000, 5000}), Summarize([]float64{300, 280, 320})); r != 15 {
		t.Errorf("Ratio = %v, want 15 (4500/300: of the medians)", r)
	}
	if r := Ratio(Spread{Median: 1, N: 1}, Spread{}); !math.IsNaN(r) {
		t.Errorf("Ratio against a missing baseline = %v, want NaN", r)
	}
}

func TestFormat(t *testing.T) {
	t.Parallel()
	tests := []struct{ got, want string }{
		{Num(0.0123), "0.0123"},
		{Num(4.561), "4.56"},
		{Num(47.94), "47.9"},
		{Num(734.4), "734"},
		{Num(1571.4), "1,571"},
		{Num(10_000_000), "10,000,000"},
		{Rate(20_900_000), "20.9 M"},
		{Rate(8_700), "8,700"},
		{Rate(87_000), "87.0 k"},
		{RatioText(1745.2), "1,745×"},
		{RatioText(15.3), "15×"},
		{RatioText(2.44), "2.4×"},
		{RatioText(0.25), "0.25×"},
		{RatioText(0.0721), "0.072×"},
		{RatioText(math.NaN()), "—"},
		{Fig(Spread{Median: 47.9, Min: 47.1, Max: 49.04, N: 5}, Num), "47.9 (47.1–49.0)"},
		{Fig(Spread{Median: 3, Min: 3, Max: 3, N: 1}, Num), "3.00"},
		{Fig(Spread{}, Num), "—"},
		{Bytes(3 << 30), "3.00 GiB"},
		{Bytes(85 << 20), "85.0 MiB"},
		{Duration(42), "42.0 s"},
		{Duration(810), "13.5 min"},
		{Duration(9000), "2.50 h"},
		{RedactURL("--db 'postgres://bench:s3cret@db:5432/x?sslmode=disable' postgres://postgres@h/y"), "--db 'postgres://bench:***@db:5432/x?sslmode=disable' postgres://postgres@h/y"},
	}
	for i, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%d: got %q, want %q", i, tt.got, tt.want)
		}
	}
}
