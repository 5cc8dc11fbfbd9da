package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestBenchSensingSmall runs `whistle bench sensing` at a toy size (the
// real run is in docs/BENCHMARKS.md): every phase reports, nothing
// acknowledged is lost, the threshold trips raise alarms, and the HTTP
// phase measures both handlers.
func TestBenchSensingSmall(t *testing.T) {
	var out, errOut syncBuffer
	args := []string{"whistle", "bench", "sensing", "--data", t.TempDir(), "--devices", "1000", "--silent", "0", "--people", "1000",
		"--baseline", "1s", "--messages", "3000", "--latency-duration", "2s", "--http-duration", "1s", "--publishers", "2"}
	if err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("bench sensing: %v\n%s", err, errOut.String())
	}
	s := out.String()
	for _, re := range []string{`bench sensing: \d+ CPUs, GOMAXPROCS \d+, SQLite, GC percent 400 \(serve's --gc-percent\)`, `raw broker: \d+ published, \d+ acknowledged, \d+ received .* \(lost 0\)`, `arming: 1000 messages`,
		`sustained: 3000 published, 3000 acknowledged, 0 failed .* 3000 committed through the rules .*; lost 0`,
		`aggregates still queued at the last commit: \d+ \(in \d+ rows\)`,
		`sustained with the aggregates flushed: 3000 readings by .*: \d+ msg/s`,
		`publish → alarm at \d+ msg/s \(threshold rule, [1-9]\d* alarms\): p50 .*; lost 0`, `HTTP bare decode: [1-9]\d* requests`,
		`HTTP POST /api/v1/telemetry: [1-9]\d* requests in .* errors 0`, `HTTP: \d+ absence alarms fired meanwhile`} {
		if !regexp.MustCompile(re).MatchString(s) {
			t.Errorf("the bench's report lacks %s:\n%s", re, s)
		}
	}
	if strings.Contains(s, "of ") && strings.Contains(s, "readings committed") {
		t.Errorf("the bench timed out waiting for commits:\n%s", s)
	}
}
