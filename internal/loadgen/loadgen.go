// Package loadgen drives HTTP load against a server for benchmarks: a fixed
// number of workers for a fixed time, with per-request latencies, so that
// Whistle and a baseline can be measured by the same client in one run.
package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Request builds the i-th request of worker w.
type Request func(w, i int) (*http.Request, error)

// Result summarises a run. Only the answers with the wanted status count
// as requests, in the rate and in the latencies: for intake, a 201 is a
// case, and a refusal answered quickly must not pass for throughput.
type Result struct {
	// Requests are the answers with the wanted status; PerSecond their
	// rate, P50…Max their latencies.
	Requests  int
	PerSecond float64
	P50, P95  time.Duration
	P99, Max  time.Duration
	// Errors counts the other answers and the requests that got none.
	Errors int
	// Status counts every answer by status; NoAnswer the transport errors.
	Status   map[int]int
	NoAnswer int
	Duration time.Duration
}

// String formats the result on one line, with every status other than
// the wanted one.
func (r Result) String() string {
	s := fmt.Sprintf("%d requests in %.1fs: %.0f/s, p50 %.2fms, p95 %.2fms, p99 %.2fms, max %.1fms, errors %d",
		r.Requests, r.Duration.Seconds(), r.PerSecond, ms(r.P50), ms(r.P95), ms(r.P99), ms(r.Max), r.Errors)
	if r.Errors > 0 {
		s += fmt.Sprintf(" (statuses %v, no answer %d)", r.Status, r.NoAnswer)
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Run sends requests from workers goroutines until d has passed. Only the
// answers with status want count as requests; the others are errors,
// counted by status. A run in which none had status want fails.
func Run(ctx context.Context, client *http.Client, workers int, d time.Duration, want int, build Request) (Result, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	res := Result{Status: map[int]int{}}
	var firstErr error
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var mine []time.Duration
			status := map[int]int{}
			errors, noAnswer := 0, 0
			for i := 0; ctx.Err() == nil; i++ {
				req, err := build(w, i)
				if err != nil {
					mu.Lock()
					firstErr = err
					mu.Unlock()
					return
				}
				t0 := time.Now()
				resp, err := client.Do(req.WithContext(context.WithoutCancel(ctx)))
				if err != nil {
					errors++
					noAnswer++
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				took := time.Since(t0)
				status[resp.StatusCode]++
				if resp.StatusCode != want {
					errors++
					continue
				}
				mine = append(mine, took)
			}
			mu.Lock()
			lat = append(lat, mine...)
			for k, v := range status {
				res.Status[k] += v
			}
			res.Errors += errors
			res.NoAnswer += noAnswer
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	res.Duration = time.Since(start)
	if firstErr != nil {
		return res, firstErr
	}
	res.Requests = len(lat)
	if len(lat) == 0 {
		return res, fmt.Errorf("loadgen: no request answered %d (statuses %v, no answer %d)", want, res.Status, res.NoAnswer)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	res.P50, res.P95, res.P99, res.Max = q(0.50), q(0.95), q(0.99), lat[len(lat)-1]
	res.PerSecond = float64(len(lat)) / res.Duration.Seconds()
	return res, nil
}

// JSONPost builds a POST with a JSON body and optional headers.
func JSONPost(url string, body []byte, headers ...string) (*http.Request, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return req, nil
}

// Client returns an HTTP client with enough idle connections for workers.
func Client(workers int) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = workers * 2
	t.MaxIdleConnsPerHost = workers * 2
	return &http.Client{Transport: t, Timeout: 30 * time.Second}
}
