package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestEligibilityCommand: on the demo's data (200 people with their facts) (its policies seeded by the
// demo command), `whistle eligibility run` evaluates every active policy
// over the registry and prints the count and the time; a second run
// writes nothing; --policies narrows the run and an unknown key is an
// error.
func TestEligibilityCommand(t *testing.T) {
	data := dataArgs(t, "sqlite")
	startApp(t, "demo", data, "--people", "200")
	withData := func(args ...string) []string { return append(args, data...) }
	re := regexp.MustCompile(`evaluated (\d+) \((\d+) subjects × (\d+) policies where they apply\) in \S+; (\d+) stored results changed; (\d+) eligible`)
	out, err := cli(t, withData("eligibility", "run")...)
	m := re.FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("eligibility run: %v\n%s", err, out)
	}
	if n, _ := strconv.Atoi(m[1]); n == 0 || m[3] != "33" || m[4] == "0" || m[5] == "0" {
		t.Errorf("first run: %q, want a count > 0 over the 33 demo policies, results written and some eligible (the demo's facts)", out)
	}
	out, err = cli(t, withData("eligibility", "run")...)
	if m = re.FindStringSubmatch(out); err != nil || m == nil || m[4] != "0" {
		t.Errorf("second run: %v %q, want 0 results changed", err, out)
	}
	out, err = cli(t, withData("eligibility", "run", "--policies", "elderly_allowance,dibao")...)
	if m = re.FindStringSubmatch(out); err != nil || m == nil || m[3] != "2" {
		t.Errorf("--policies: %v %q, want 2 policies", err, out)
	}
	if _, err := cli(t, withData("eligibility", "run", "--policies", "no_such_policy")...); err == nil || !strings.Contains(err.Error(), "no_such_policy") {
		t.Errorf("an unknown policy: got %v, want an error naming it", err)
	}
}
