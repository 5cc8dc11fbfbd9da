package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/region"
	"whistle/internal/sla/calendar"
	"whistle/internal/stats"
)

// newStats wires the rollup store for a process. cal is the working
// calendar the SLA engine uses ((*sla.Engine).Calendar); without one the
// stored calendar is loaded once.
func newStats(ctx context.Context, a *app, cal func() *calendar.Calendar) (*stats.Store, error) {
	if cal == nil {
		c, err := a.calendar.Load(ctx)
		if err != nil {
			return nil, err
		}
		cal = func() *calendar.Calendar { return c }
	}
	return stats.New(stats.Deps{DB: a.db, Regions: a.regions, Categories: a.categories, Calendar: cal, Accounts: a.accounts})
}

// cmdRollup runs `whistle rollup rebuild` and `whistle rollup bench`.
//
// rebuild recomputes the rollups from the cases, prints every stored row
// that differs and a summary line, and replaces them (unless --dry-run).
// With --check it fails when it found a difference.
//
// bench measures the stats queries on the data: p50 and p95 of the
// summary and the map of the district, a street and a community, in
// process and, with --url, over HTTP against a running server (whose
// resident memory it reads from /metrics), and the same summary computed
// by GROUP BY over the cases.
func cmdRollup(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || (args[0] != "rebuild" && args[0] != "bench") {
		return errors.New("rollup: want rebuild or bench")
	}
	var o options
	fs := flag.NewFlagSet("rollup "+args[0], flag.ContinueOnError)
	o.dataFlags(fs)
	var dry, quiet, check bool
	var runs, baseRuns int
	var url, token, street, community string
	if args[0] == "rebuild" {
		fs.BoolVar(&dry, "dry-run", false, "compare only; write nothing")
		fs.BoolVar(&quiet, "quiet", false, "print the summary line only, not every difference")
		fs.BoolVar(&check, "check", false, "exit with an error when a difference was found")
	} else {
		fs.IntVar(&runs, "runs", 200, "timed calls per query and node")
		fs.IntVar(&baseRuns, "baseline-runs", 5, "timed calls of the GROUP BY baseline per node")
		fs.StringVar(&url, "url", "", "also time the HTTP API of a running server at this URL")
		fs.StringVar(&token, "token", "", "bearer token for --url (a district leader's)")
		fs.StringVar(&street, "street", "", "street to time (default: the district's first)")
		fs.StringVar(&community, "community", "", "community to time (default: the street's first)")
	}
	if _, err := parse(fs, args[1:], e); err != nil {
		return err
	}
	a, err := open(ctx, &o, e)
	if err != nil {
		return err
	}
	defer a.db.Close()
	st, err := newStats(ctx, a, nil)
	if err != nil {
		return err
	}
	if args[0] == "bench" {
		return rollupBench(ctx, e, a, st, benchOptions{runs: runs, baseRuns: baseRuns, url: url, token: token, street: street, community: community})
	}
	bar := &lineProgress{w: e.stderr, label: "rollup rebuild"}
	rep, err := st.Rebuild(ctx, stats.RebuildOptions{DryRun: dry, Progress: bar.update, Report: func(d stats.Difference) {
		if !quiet {
			bar.clear()
			fmt.Fprintln(e.stdout, d)
		}
	}})
	bar.clear()
	if err != nil {
		return err
	}
	mode := "replaced"
	if dry {
		mode = "dry run, nothing written"
	} else if rep.Differences == 0 {
		mode = "nothing to replace"
	}
	fmt.Fprintf(e.stdout, "rollup rebuild: %s (%s)\n", rep, mode)
	if check && rep.Differences > 0 {
		return fmt.Errorf("rollup rebuild: %d differences", rep.Differences)
	}
	return nil
}

// lineProgress draws "label: done/total" on one line of a terminal.
type lineProgress struct {
	w     io.Writer
	label string
	last  time.Time
	shown bool
}

func (p *lineProgress) update(done, total int64) {
	if time.Since(p.last) < 250*time.Millisecond && done < total {
		return
	}
	p.last, p.shown = time.Now(), true
	fmt.Fprintf(p.w, "\r%s: %d/%d cases (%.0f%%)   ", p.label, done, total, 100*float64(done)/math.Max(float64(total), 1))
}

func (p *lineProgress) clear() {
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

type benchOptions struct {
	runs, baseRuns    int
	url, token        string
	street, community string
}

// timings are sorted durations.
type timings []time.Duration

func (t timings) pct(p float64) time.Duration {
	if len(t) == 0 {
		return 0
	}
	return t[min(len(t)-1, int(math.Ceil(p*float64(len(t))))-1)]
}

func timeIt(n int, f func() error) (timings, error) {
	if err := f(); err != nil { // warm-up, and a check that it works
		return nil, err
	}
	out := make(timings, 0, n)
	for i := 0; i < n; i++ {
		start := time.Now()
		if err := f(); err != nil {
			return nil, err
		}
		out = append(out, time.Since(start))
	}
	slices.Sort(out)
	return out, nil
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64)
}

// rollupBench prints a table of query latencies; see cmdRollup.
func rollupBench(ctx context.Context, e env, a *app, st *stats.Store, o benchOptions) error {
	sys := account.SystemScope()
	district, err := st.Resolve(ctx, sys, "")
	if err != nil {
		return err
	}
	for district.Level != region.District {
		kids, err := st.Children(ctx, district)
		if err != nil || len(kids) == 0 {
			return fmt.Errorf("rollup bench: no district under %s", district.Code)
		}
		district = &kids[0]
	}
	pick := func(code string, under *stats.Node) (*stats.Node, error) {
		if code != "" {
			return st.Resolve(ctx, sys, code)
		}
		kids, err := st.Children(ctx, under)
		if err != nil || len(kids) == 0 {
			return nil, fmt.Errorf("rollup bench: %s has no children", under.Code)
		}
		return &kids[0], nil
	}
	street, err := pick(o.street, district)
	if err != nil {
		return err
	}
	community, err := pick(o.community, street)
	if err != nil {
		return err
	}
	var cases int64
	if err := a.db.QueryRow(ctx, `SELECT COUNT(*) FROM cases`).Scan(&cases); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "rollup bench on %s: %d cases; %d runs per query (GROUP BY baseline: %d)\n", a.db.Dialect(), cases, o.runs, o.baseRuns)
	fmt.Fprintln(e.stdout, "node\tlevel\tquery\tp50 ms\tp95 ms")
	nodes := []*stats.Node{district, street, community}
	for _, n := range nodes {
		if err := sameSummary(ctx, st, sys, n.Code); err != nil {
			return err
		}
		sum, err := timeIt(o.runs, func() error { _, err := st.Summary(ctx, sys, n.Code); return err })
		if err != nil {
			return err
		}
		mp, err := timeIt(o.runs, func() error { _, err := st.Map(ctx, sys, n.Code, stats.MetricOpen); return err })
		if err != nil {
			return err
		}
		units, err := timeIt(o.runs, func() error { _, err := st.Units(ctx, sys, n.Code, st.WindowPeriod()); return err })
		if err != nil {
			return err
		}
		base, err := timeIt(o.baseRuns, func() error { _, err := st.SummaryFromCases(ctx, sys, n.Code); return err })
		if err != nil {
			return err
		}
		label := n.Code + " " + n.Name
		fmt.Fprintf(e.stdout, "%s\t%s\tsummary (rollups)\t%s\t%s\n", label, n.Level, ms(sum.pct(.5)), ms(sum.pct(.95)))
		fmt.Fprintf(e.stdout, "%s\t%s\tmap open (rollups)\t%s\t%s\n", label, n.Level, ms(mp.pct(.5)), ms(mp.pct(.95)))
		fmt.Fprintf(e.stdout, "%s\t%s\tunit statistics, node, children and departments (registry)\t%s\t%s\n", label, n.Level, ms(units.pct(.5)), ms(units.pct(.95)))
		fmt.Fprintf(e.stdout, "%s\t%s\tsummary (GROUP BY over cases)\t%s\t%s\tratio p50 %.0f×\n", label, n.Level, ms(base.pct(.5)), ms(base.pct(.95)),
			float64(base.pct(.5))/math.Max(float64(sum.pct(.5)), 1))
	}
	if o.url == "" {
		return nil
	}
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(path string) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(o.url, "/")+path, nil)
		if err != nil {
			return err
		}
		if o.token != "" {
			req.Header.Set("Authorization", "Bearer "+o.token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return nil
	}
	fmt.Fprintf(e.stdout, "HTTP %s (end to end, one client)\n", o.url)
	for _, n := range nodes {
		for _, q := range []string{"/api/v1/stats/summary?region=" + n.Code, "/api/v1/stats/map?metric=open&region=" + n.Code} {
			t, err := timeIt(o.runs, func() error { return get(q) })
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s\t%s\tGET %s\t%s\t%s\n", n.Code+" "+n.Name, n.Level, q, ms(t.pct(.5)), ms(t.pct(.95)))
		}
	}
	rss, err := scrapeRSS(ctx, client, o.url)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "server resident memory: %.0f MiB (process_resident_memory_bytes)\n", rss/(1<<20))
	return nil
}

// sameSummary checks that the rollups answer what the GROUP BY baseline
// answers for code, so that the benchmark compares two ways of computing
// one answer. A write between the two reads can make them differ once;
// they are read again before that counts as a difference.
func sameSummary(ctx context.Context, st *stats.Store, sc account.Scope, code string) error {
	var a, b []byte
	for attempt := 0; attempt < 3; attempt++ {
		roll, err := st.Summary(ctx, sc, code)
		if err != nil {
			return err
		}
		base, err := st.SummaryFromCases(ctx, sc, code)
		if err != nil {
			return err
		}
		a, _ = json.Marshal(roll)
		b, _ = json.Marshal(base)
		if bytes.Equal(a, b) {
			return nil
		}
	}
	return fmt.Errorf("rollup bench: the rollups' summary of %s differs from the GROUP BY answer:\nrollups:  %s\nGROUP BY: %s", code, a, b)
}

// scrapeRSS reads process_resident_memory_bytes from a server's /metrics.
func scrapeRSS(ctx context.Context, c *http.Client, base string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "process_resident_memory_bytes "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, errors.New("rollup bench: /metrics has no process_resident_memory_bytes")
}
