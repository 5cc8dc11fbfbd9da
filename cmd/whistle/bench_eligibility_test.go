package main

import (
	"context"
	"regexp"
	"strconv"
	"testing"
)

// TestBenchEligibilitySmall runs `whistle bench eligibility` at a toy size
// on both stores (the real run is in docs/BENCHMARKS.md): both full runs,
// the driver's floor, the baseline and the re-checks report, the second
// run writes nothing, and each timed change re-evaluates only the
// policies of its own subject: the cursor starts at the end of the feed.
// On PostgreSQL, where the feed numbers events after their commit, it
// once started below the registry's generation, whose events the timed
// steps then re-checked a thousand at a time (4,000 people make more
// than one step's worth; with no sequencing before the cursor is taken
// this fails).
func TestBenchEligibilitySmall(t *testing.T) {
	for _, d := range []string{"sqlite", "postgres"} {
		t.Run(d, func(t *testing.T) {
			var out, errOut syncBuffer
			args := append([]string{"whistle", "bench", "eligibility", "--people", "4000", "--policies", "40", "--sample", "50", "--changes", "30", "--floor"}, dataArgs(t, d)...)
			if err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut); err != nil {
				t.Fatalf("bench eligibility: %v\n%s", err, errOut.String())
			}
			s := out.String()
			first := regexp.MustCompile(`first full run: +(\d+) subjects × 40 policies: .* (\d+) rows written\)`).FindStringSubmatch(s)
			if first == nil {
				t.Fatalf("no first run in the report:\n%s", s)
			}
			if first[1] != first[2] || first[1] == "0" {
				t.Errorf("the first run wrote %s rows for %s subjects, want one each", first[2], first[1])
			}
			for _, re := range []string{`second full run, nothing changed: +\d+ subjects .* 0 rows written\)`,
				`floor, the load's person queries scanned bare, one after the other: [1-9]\d* rows in`,
				`floor, ` + first[2] + ` rows of the results' shape inserted bare: `,
				`baseline cel-go per record, no index: 50 people .* 0 answers differ`,
				`the changes themselves \(registry.Store.SetFact, .*\): \d+\.\d+ ms a change on average`} {
				if !regexp.MustCompile(re).MatchString(s) {
					t.Errorf("the report lacks %s:\n%s", re, s)
				}
			}
			m := regexp.MustCompile(`incremental: (\d+) single-fact changes, (\d+) policies re-evaluated`).FindStringSubmatch(s)
			if m == nil {
				t.Fatalf("no re-checks in the report:\n%s", s)
			}
			n, _ := strconv.Atoi(m[1])
			evals, _ := strconv.Atoi(m[2])
			if n == 0 || evals > 40*n {
				t.Errorf("%d changes re-evaluated %d policies, want at most 40 a change (the change's own subject)", n, evals)
			}
		})
	}
}
