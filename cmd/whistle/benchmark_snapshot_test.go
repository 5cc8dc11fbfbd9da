package main

import (
	"context"
	"strings"
	"testing"
)

// TestCLIBenchmarkSnapshot: `whistle benchmark snapshot --period` stores
// the platform's indicators of every module (here over a district without
// cases: the counts are 0, the rates have no data) as Source "platform",
// running it again changes nothing, and a period that is not a month is
// refused before anything is opened.
func TestCLIBenchmarkSnapshot(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			data := oneStreetData(t, dialect)
			stored := func() (src string, vals int) {
				d := openData(t, data)
				ctx := context.Background()
				if err := d.QueryRow(ctx, `SELECT source FROM bm_indicators WHERE key = 'closed'`).Scan(&src); err != nil {
					t.Fatal(err)
				}
				if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM bm_values WHERE period = '2026-11' AND indicator = 'closed' AND value = 0`).Scan(&vals); err != nil {
					t.Fatal(err)
				}
				d.Close()
				return src, vals
			}
			var first int
			for run := range 2 {
				out, stderr, err := cliErr(append([]string{"benchmark", "snapshot", "--period", "2026-11", "--log-level", "error"}, data...)...)
				if err != nil {
					t.Fatalf("run %d: %v (stderr %q)", run, err, stderr)
				}
				if !strings.HasPrefix(out, "snapshot 2026-11: ") || !strings.Contains(out, "closed (v1)") || !strings.Contains(out, "left out received: neither higher nor lower is better") ||
					!strings.Contains(out, "left out open: the state now") {
					t.Fatalf("run %d: stdout %q", run, out)
				}
				src, n := stored()
				if src != "platform" || n == 0 || (run == 1 && n != first) {
					t.Fatalf("run %d: closed is %q with %d zero values (first run %d)", run, src, n, first)
				}
				first = n
			}
			if _, _, err := cliErr(append([]string{"benchmark", "snapshot", "--period", "2026-Q4"}, data...)...); err == nil || !strings.Contains(err.Error(), "YYYY-MM") {
				t.Fatalf("a quarter: got %v, want refused", err)
			}
		})
	}
}
