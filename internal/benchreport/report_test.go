package benchreport

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
)

func file(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }

// calendarRun is one run of the calendar benchmarks with the given ns/op
// for AddWorkingDuration.
func calendarRun(ns float64) *fstest.MapFile {
	return file(fmt.Sprintf("pkg: whistle/internal/sla/calendar\nBenchmarkAddWorkingDuration-2 \t 1000 \t %g ns/op \t 0 B/op \t 0 allocs/op\n"+
		"BenchmarkDeadline-2 \t 1000 \t 100 ns/op \t 0 B/op \t 0 allocs/op\n", ns))
}

func intakeRun(store string, whistle, p99, base float64) *fstest.MapFile {
	return file(fmt.Sprintf("intake baseline (bare net/http JSON handler), 32 clients: 1 requests in 10.0s: %g/s, p50 1.00ms, p95 2.00ms, p99 3.00ms, max 4.0ms, errors 0\n"+
		"intake whistle (%s: auth, validate, locate, route, commit, publish), 32 clients: 1 requests in 10.0s: %g/s, p50 10.00ms, p95 20.00ms, p99 %gms, max 90.0ms, errors 0\n", base, store, whistle, p99))
}

func pointRun(locate, baseline float64) *fstest.MapFile {
	return file(fmt.Sprintf("BenchmarkLocate/grids=50000-2 \t 1000 \t %g ns/op \t 1 lookups/s \t 0 B/op \t 0 allocs/op\n"+
		"BenchmarkLocateBaseline/grids=50000-2 \t 1000 \t %g ns/op \t 1 lookups/s \t 0 B/op \t 0 allocs/op\n", locate, baseline))
}

// timersRun is one run of TestFireRate on SQLite: warnings and breaches
// a second (100 per transaction) and the bare kernel's baseline.
func timersRun(warn, breach, bare, claimMs, seconds float64) *fstest.MapFile {
	line := "    bench_test.go:152: firerate store=sqlite round=%s group=100 fired=10000 pending=%d seconds=1.000 per_second=%g\n"
	return file(fmt.Sprintf("=== RUN   TestFireRate/sqlite\n    bench_test.go:151: firerate store=sqlite claim_ms=%g pending=1000000 due=10000\n", claimMs) +
		fmt.Sprintf(line, "warnings", 1_000_000, warn) + fmt.Sprintf(line, "breaches", 990_000, breach) +
		fmt.Sprintf(line, "bare", 1_000_000, bare) + fmt.Sprintf("--- PASS: TestFireRate (%gs)\n", seconds))
}

func rollupRun(sum, groupBy, rss float64) *fstest.MapFile {
	return file(fmt.Sprintf("rollup bench on sqlite: 20000 cases; 200 runs per query (GROUP BY baseline: 5)\n"+
		"330303 龙湾区\tdistrict\tsummary (rollups)\t%g\t1.00\n"+
		"330303 龙湾区\tdistrict\tsummary (GROUP BY over cases)\t%g\t90.00\tratio p50 1×\n"+
		"HTTP http://x (end to end, one client)\n"+
		"330303 龙湾区\tdistrict\tGET /api/v1/stats/summary?region=330303\t2.00\t3.00\n"+
		"server resident memory: %g MiB (process_resident_memory_bytes)\n", sum, groupBy, rss))
}

func consoleRun(all, me, rss float64) *fstest.MapFile {
	return file(fmt.Sprintf("kind\tquery\tp50 ms\tp95 ms\nbaseline\tGET /api/v1/me\t%g\t1.00\nlist\tGET /cases?queue=all\t%g\t250.00\n"+
		"server resident memory: %g MiB (process_resident_memory_bytes)\n", me, all, rss))
}

func testRuns() fstest.MapFS {
	return fstest.MapFS{
		"env.txt":           file("date: 2026-03-01T10:00Z\ncpu: Test CPU\ncores: 2\ncount: 3\nload_start: 3.50 1.00 0.50\nload_end: 0.20 0.20 0.20\n"),
		"calendar.commands": file("go test -run '^$' -bench . ./internal/sla/calendar/   # the recorded one\n"),
		"calendar.1.txt":    calendarRun(50),
		"calendar.2.txt":    calendarRun(60),
		"calendar.3.txt":    calendarRun(52),
		"queue.1.txt": file("BenchmarkQueuePage/pending-2 \t 20 \t 25000000 ns/op\nBenchmarkQueuePage/all+filter-2 \t 20 \t 250000000 ns/op\n" +
			"BenchmarkQueueCounts/rollup-2 \t 20 \t 400000 ns/op\nBenchmarkQueueCounts/scan-2 \t 20 \t 260000000 ns/op\n"),
		"timers.commands":     file("WHISTLE_BENCH=1 WHISTLE_TEST_POSTGRES='' go test -count 1 -run '^TestFireRate$' -v -timeout 90m ./internal/sla/   # the recorded one\n"),
		"timers.1.txt":        timersRun(12000, 800, 20000, 0.05, 600),
		"timers.2.txt":        timersRun(10000, 1000, 30000, 0.07, 660),
		"timers.3.txt.failed": timersRun(1, 1, 1, 1, 1),
		"point-geo.1.txt":     pointRun(100, 1500),
		"point-geo.2.txt":     pointRun(120, 1700),
		"intake-sqlite.1.txt": intakeRun("sqlite", 300, 60, 4000),
		"intake-sqlite.2.txt": intakeRun("sqlite", 280, 40, 5000),
		"intake-sqlite.3.txt": intakeRun("sqlite", 320, 45, 4500),
		// A run that died before printing its result.
		"intake-sqlite.4.txt":              file("intake baseline (bare net/http JSON handler), 32 clients: 1 requests in 10.0s: 9/s, p50 1.00ms, p95 2.00ms, p99 3.00ms, max 4.0ms, errors 0\n"),
		"intake-sqlite.5.txt.failed":       intakeRun("sqlite", 1, 1, 1),
		"scale-sqlite-20000.meta.txt":      file("cases: 20000\ngenerate_seconds: 810\nstart_seconds: 3\ndb_bytes: 104857600\n"),
		"scale-sqlite-20000.rollup.1.txt":  rollupRun(0.4, 80, 100),
		"scale-sqlite-20000.rollup.2.txt":  rollupRun(0.6, 100, 120),
		"scale-sqlite-20000.console.1.txt": consoleRun(10, 0.5, 110),
		"scale-sqlite-20000.console.2.txt": consoleRun(14, 0.3, 130),
	}
}

func render(t *testing.T, fsys fstest.MapFS) (*Runs, string) {
	t.Helper()
	r, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := Render(&b, r); err != nil {
		t.Fatal(err)
	}
	return r, b.String()
}

// section returns the text from the heading to the next heading of the
// same or a higher level.
func section(t *testing.T, doc, heading string) string {
	t.Helper()
	i := strings.Index(doc, heading+"\n")
	if i < 0 {
		t.Fatalf("no section %q in:\n%s", heading, doc)
	}
	level := heading[:strings.Index(heading, " ")+1]
	rest := doc[i+len(heading):]
	end := len(rest)
	for _, h := range []string{"\n## ", "\n" + level} {
		if j := strings.Index(rest, h); j >= 0 && j < end {
			end = j
		}
	}
	return rest[:end]
}

func TestRender(t *testing.T) {
	t.Parallel()
	r, doc := render(t, testRuns())
	if len(r.Problems) != 1 || !strings.HasPrefix(r.Problems[0], "intake-sqlite.4.txt:") {
		t.Errorf("problems = %q, want the truncated intake run only", r.Problems)
	}
	tests := []struct {
		heading string
		want    []string
	}{
		{"# Benchmarks", []string{
			"run by `make bench` on 2026-03-01T10:00Z",
			"Test CPU (`grep 'model name' /proc/cpuinfo`), 2 cores",
			"3.50 1.00 0.50 at the start, 0.20 0.20 0.20 at the end. The machine had more runnable work than cores",
			"the median of 3 runs",
			"`intake-sqlite.4.txt: benchreport: intake output lacks the whistle or the baseline line`",
		}},
		// Calendar: 50, 60, 52 → median 52, spread 50–60; the recorded
		// command, not the default.
		{`## Working calendar (issue "Time limits")`, []string{
			"| `AddWorkingDuration` | 52.0 (50.0–60.0) | 0 | 0 |",
			"| `AddWorkingDays` | not measured | | |",
			"| a stage deadline plus its 80% warning (`sla.PlanDeadline`) | 100 | 0 | 0 |",
			"# the recorded one",
		}},
		// Point: two runs, so medians are means of two: Whistle 110 ns,
		// R-tree 1,600 ns; the speed ratio 1600/110 = 14.5.
		{`## Point location (issue "Foundation")`, []string{
			"| 50,000 synthetic grids, another point set | 110 (100–120) ns/op, **9.09 M lookups/s** (`geo.Index`) | 1,600 (1,500–1,700) ns/op, 625 k lookups/s | — | — | 15× | — | — |",
			"All Whistle figures are 0 B/op and 0 allocs/op.",
			"is met: the slowest Whistle row does 9.09 M lookups/s",
			"The PostGIS baseline was not measured in this run",
		}},
		// Timers: warnings 12,000/10,000 → 11,000 (met), breaches
		// 800/1,000 → 900 (11.1× short); the bare kernel 20,000/30,000 →
		// 25,000: ratios 0.44 and 0.036.
		{`## Timer scheduler (issue "Time limits")`, []string{
			"`TestFireRate`: 1,000,000 pending kernel timers (`WHISTLE_BENCH_TIMERS`), 10,000 of them due",
			"its default 100 timers per transaction",
			"| store | round | run 1 | run 2 | median | bare kernel, median | SLA / bare |",
			"| SQLite | warnings | 12,000 | 10,000 | 11,000 | 25,000 (20,000–30,000) | 0.44× |",
			"| SQLite | breaches (with escalation) | 800 | 1,000 | 900 | 25,000 (20,000–30,000) | 0.036× |",
			"| PostgreSQL | not measured in this run | | | | |",
			"Bare kernel, per run: SQLite 20,000, 30,000 timers/s.",
			"at the medians: SQLite warnings 11,000/s, met; SQLite breaches 900/s, 11.1× short of 10,000.",
			"picks 100 due timers out of the 1,000,000 pending (the due range of `kernel_timers_run`) in 0.0600 (0.0500–0.0700) ms on SQLite.",
			"The figures are the median of 2 runs (`TIMERS_COUNT`, default 1, because one run of the test takes 10.5 min here), not over the `COUNT` runs",
			"# the recorded one",
		}},
		// Intake: medians 300 cases/s, p99 45 ms, bare handler 4,500 → 0.067.
		{`## Durable intake (issue "The case loop")`, []string{
			"| SQLite | 300 (280–320) | 10.0 | 20.0 | 45.0 (40.0–60.0) | 4,500 (4,000–5,000) | 0.067× |",
			"| PostgreSQL | not measured in this run | | | | | |",
			"is **not met** in this run: 300 cases/s, p99 45.0 ms",
		}},
		// Queue: one run, in ms; 250 ms is over the 200 ms budget; the
		// scan takes 650 times the counters.
		{`## Staff queue page (issue "The web UI")`, []string{
			"| pending queue (待受理) | 25.0 | 0.12× |",
			"| all cases, with a text and a category filter | 250 | 1.2× |",
			"**Over budget** at the median: all cases, with a text and a category filter.",
			"| all nine queues, 100,000 cases | 0.400 ms | 260 ms | 650× |",
			"go test -run '^$' -bench 'QueuePage|QueueCounts' -benchtime 20x -count 1 ./internal/web/",
		}},
		{`## Data at scale (issue "Evidence")`, []string{
			"| 20,000 | SQLite | 20,000 | 13.5 min | 3.00 s | 100 MiB |",
			"Not measured in this run: 1,000,000 cases on SQLite; 1,000,000 cases on PostgreSQL; 10,000,000 cases on SQLite; 10,000,000 cases on PostgreSQL.",
			"./bin/whistle bench console --url URL --token TOKEN",
		}},
		// Console: all 10/14 → 12; baseline 0.5/0.3 → 0.4; 12/0.4 = 30.
		{"### Staff console and case page", []string{
			"| 20,000 | SQLite | `GET /cases?queue=all` | 12.0 (10.0–14.0) | 250 | 0.400 (0.300–0.500) | 30× |",
			"**Over the 200 ms budget at p95**: `GET /cases?queue=all` at 20,000 cases on SQLite.",
		}},
		// Statistics: rollups 0.4/0.6 → 0.5; GROUP BY 80/100 → 90; 90/0.5 = 180;
		// the HTTP summary 2.00 against the same baseline: 45.
		{"### Command-centre statistics", []string{
			"| 20,000 | SQLite | 330303 龙湾区 (district) | summary (rollups) | 0.500 (0.400–0.600) | 1.00 | 90.0 (80.0–100) | 180× |",
			"| 20,000 | SQLite | 330303 龙湾区 (district) | `GET /api/v1/stats/summary` | 2.00 | 3.00 | 90.0 (80.0–100) | 45× |",
		}},
		// Memory: readings 100, 120, 110, 130 → 115; 115 MiB / 100 MiB.
		{"### Resident memory", []string{
			"| 20,000 | SQLite | 115 (100–130) MiB | 100 MiB | 1.1× |",
		}},
		{`## Crash test (issue "Evidence")`, []string{"crash test sqlite: acknowledged", "*Not rerun by `make bench`"}},
		{`## Fuzzing (issue "Evidence")`, []string{"| FuzzCaseSubmit |"}},
	}
	for _, tt := range tests {
		sec := section(t, doc, tt.heading)
		for _, w := range tt.want {
			if !strings.Contains(sec, w) {
				t.Errorf("%s: missing %q in:\n%s", tt.heading, w, sec)
			}
		}
	}
	if strings.Contains(doc, "1.00/s") || strings.Contains(doc, "intake-sqlite.5") || strings.Contains(doc, "timers.3") {
		t.Error("a failed run's output was counted")
	}
	if strings.Contains(doc, "ratio p50") {
		t.Error("the raw output's own ratio column leaked into the document")
	}
}

// TestRenderEmpty: a run that measured nothing still yields the whole
// document, every section saying so and quoting its command.
func TestRenderEmpty(t *testing.T) {
	t.Parallel()
	_, doc := render(t, fstest.MapFS{})
	for _, h := range []string{`## Point location (issue "Foundation")`, `## Working calendar (issue "Time limits")`,
		`## Timer scheduler (issue "Time limits")`, `## Durable intake (issue "The case loop")`, `## Staff queue page (issue "The web UI")`, `## Data at scale (issue "Evidence")`,
		"### Staff console and case page", "### Command-centre statistics", "### Resident memory"} {
		if sec := section(t, doc, h); !strings.Contains(sec, "*Not measured in this run.*") {
			t.Errorf("%s: not marked as not measured:\n%s", h, sec)
		}
	}
	for _, c := range []string{"./bin/whistle bench intake --duration 10s --concurrency 32", "./internal/sla/calendar/", "-bench 'Locate'",
		"go test -count 1 -run '^TestFireRate$' -v -timeout 90m ./internal/sla/"} {
		if !strings.Contains(doc, c) {
			t.Errorf("missing the default command %q", c)
		}
	}
	if !strings.Contains(doc, "## Crash test") || !strings.Contains(doc, "## Fuzzing") {
		t.Error("the carried-over sections are missing")
	}
}

// pgbenchRun is pgbench's output with the given tps.
func pgbenchRun(tps float64) *fstest.MapFile {
	return file(fmt.Sprintf("pgbench (15.20 (Debian 15.20-0+deb12u1))\ntransaction type: scripts/pgbench-intake.sql\nscaling factor: 1\nquery mode: simple\n"+
		"number of clients: 32\nnumber of threads: 2\nmaximum number of tries: 1\nduration: 10 s\nnumber of transactions actually processed: 10892\n"+
		"number of failed transactions: 0 (0.000%%)\nlatency average = 28.539 ms\ninitial connection time = 352.000 ms\ntps = %g (without initial connection time)\n", tps))
}

// TestIntakeAgainstPgbench: the PostgreSQL intake rows of the runs before
// and after, and each one's ratio to the pgbench runs of the same rounds.
func TestIntakeAgainstPgbench(t *testing.T) {
	fsys := fstest.MapFS{
		"env.txt":                      file("date: 2026-12-06T12:00Z\ncores: 2\nintake_before: main ab3733f\n"),
		"intake-postgres.1.txt":        intakeRun("postgres", 600, 90, 3000),
		"intake-postgres.2.txt":        intakeRun("postgres", 400, 80, 3000),
		"intake-postgres_before.1.txt": intakeRun("postgres", 200, 300, 3000),
		"intake-pgbench.1.txt":         pgbenchRun(1000),
		"intake-pgbench.2.txt":         pgbenchRun(1000),
		"intake-pgbench.3.txt":         file("pgbench: error: connection refused\n"),
	}
	r, doc := render(t, fsys)
	if len(r.Pgbench) != 2 || r.Pgbench[0].TPS != 1000 || r.Pgbench[0].Clients != 32 || r.Pgbench[0].LatencyMS != 28.539 {
		t.Errorf("pgbench runs: got %+v, want two of 1000 tps, 32 clients, 28.539 ms", r.Pgbench)
	}
	if len(r.Problems) != 1 || !strings.HasPrefix(r.Problems[0], "intake-pgbench.3.txt:") {
		t.Errorf("problems: got %q, want the pgbench run without a tps line", r.Problems)
	}
	sec := section(t, doc, `## Durable intake (issue "The case loop")`)
	for _, want := range []string{
		"| PostgreSQL, before (main ab3733f) | 200 | 10.0 | 20.0 | 300 | 3,000 | 0.067× |",
		"| PostgreSQL | 500 (400–600) |",
		"1,000 transactions a second. Whistle on PostgreSQL / pgbench: **0.50×** (0.20× before).",
		"at least 1,500 cases a second with p99 under 100 ms — is **not met** in this run: 500 cases/s, p99 85.0 ms",
	} {
		if !strings.Contains(sec, want) {
			t.Errorf("intake section lacks %q:\n%s", want, sec)
		}
	}
	if strings.Contains(sec, "SQLite, before") {
		t.Errorf("intake section shows a SQLite before row without its runs:\n%s", sec)
	}
}
