package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// cmdBenchConsole runs `whistle bench console`: against a running server,
// p50 and p95 of the staff console's list (two server-rendered queues and
// the JSON list) and of the case page (HTML and JSON, cycling through case
// ids sampled from the list at several depths), one client, after a
// warm-up; then the server's resident memory from /metrics. The baseline
// is GET /api/v1/me, the cheapest authenticated request.
//
// Its rows are "kind<TAB>query<TAB>p50 ms<TAB>p95 ms", which
// internal/benchreport reads.
func cmdBenchConsole(ctx context.Context, args []string, e env) error {
	var url, token string
	var runs, warmup, sample int
	fs := flag.NewFlagSet("bench console", flag.ContinueOnError)
	fs.StringVar(&url, "url", "", "base URL of a running server (required)")
	fs.StringVar(&token, "token", "", "bearer token of a staff user (a district leader's sees every case)")
	fs.IntVar(&runs, "runs", 100, "timed requests per query")
	fs.IntVar(&warmup, "warmup", 10, "untimed requests per query before timing")
	fs.IntVar(&sample, "sample", 50, "case ids to sample from the list for the case page")
	if _, err := parse(fs, args, e); err != nil {
		return err
	}
	if url == "" || token == "" {
		return errors.New("bench console: --url and --token are required")
	}
	if runs < 1 || sample < 1 || warmup < 0 {
		return errors.New("bench console: --runs and --sample must be positive, --warmup not negative")
	}
	url = strings.TrimRight(url, "/")
	// Redirects are not followed: a page route that did not accept the
	// token would redirect to /login, and that must fail, not be timed.
	client := &http.Client{Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+path, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return b, nil
	}
	ids, err := sampleCaseIDs(get, sample)
	if err != nil {
		return err
	}
	type query struct {
		kind, label string
		path        func(i int) string
	}
	fixed := func(p string) func(int) string { return func(int) string { return p } }
	byID := func(prefix string) func(int) string {
		return func(i int) string { return prefix + strconv.FormatInt(ids[i%len(ids)], 10) }
	}
	queries := []query{
		{"baseline", "GET /api/v1/me", fixed("/api/v1/me")},
		{"list", "GET /cases?queue=all", fixed("/cases?queue=all")},
		{"list", "GET /cases?queue=handling", fixed("/cases?queue=handling")},
		{"list", "GET /api/v1/cases?limit=50", fixed("/api/v1/cases?limit=50")},
		{"case", "GET /cases/{id}", byID("/cases/")},
		{"case", "GET /api/v1/cases/{id}", byID("/api/v1/cases/")},
	}
	// Warm-up: every query, so that caches and connections are in the
	// state a working console keeps them in before anything is timed.
	for _, q := range queries {
		for i := 0; i < warmup; i++ {
			if _, err := get(q.path(i)); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(e.stdout, "console bench %s: %d runs per query after %d warm-up requests, one client; %d case ids sampled from the list\n",
		url, runs, warmup, len(ids))
	fmt.Fprintln(e.stdout, "kind\tquery\tp50 ms\tp95 ms")
	for _, q := range queries {
		i := 0
		t, err := timeIt(runs, func() error {
			_, err := get(q.path(i))
			i++
			return err
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s\t%s\t%s\t%s\n", q.kind, q.label, ms(t.pct(.5)), ms(t.pct(.95)))
	}
	rss, err := scrapeRSS(ctx, client, url)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "server resident memory: %.0f MiB (process_resident_memory_bytes)\n", rss/(1<<20))
	return nil
}

// sampleCaseIDs takes n case ids from the JSON list: the newest page and
// pages at evenly spaced depths of the id range (the list is newest
// first, paged by `before`), so that the case page is timed on old cases
// as well as on the ones in every cache.
func sampleCaseIDs(get func(string) ([]byte, error), n int) ([]int64, error) {
	page := func(before int64, limit int) ([]int64, error) {
		path := "/api/v1/cases?limit=" + strconv.Itoa(limit)
		if before > 0 {
			path += "&before=" + strconv.FormatInt(before, 10)
		}
		b, err := get(path)
		if err != nil {
			return nil, err
		}
		var v struct {
			Cases []struct {
				ID int64 `json:"id"`
			} `json:"cases"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return nil, fmt.Errorf("GET %s: %w", path, err)
		}
		out := make([]int64, 0, len(v.Cases))
		for _, c := range v.Cases {
			out = append(out, c.ID)
		}
		return out, nil
	}
	const depths = 5
	per := max(1, (n+depths-1)/depths)
	first, err := page(0, per)
	if err != nil {
		return nil, err
	}
	if len(first) == 0 {
		return nil, errors.New("bench console: the list has no cases")
	}
	newest := first[0]
	seen := map[int64]bool{}
	var ids []int64
	add := func(xs []int64) {
		for _, id := range xs {
			if !seen[id] && len(ids) < n {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	add(first)
	for k := 1; k < depths && len(ids) < n; k++ {
		xs, err := page(newest-newest*int64(k)/depths, per)
		if err != nil {
			return nil, err
		}
		add(xs)
	}
	return ids, nil
}
