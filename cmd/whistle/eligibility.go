package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"whistle/internal/audit"
	"whistle/internal/policy"
	"whistle/internal/registry"
)

// cmdEligibility runs `whistle eligibility run [--policies a,b]`: every
// active policy (or those named) over the whole registry, the results
// stored (only what changed since the last run is written); it prints
// the count evaluated and the time taken. `whistle eligibility seed`
// adds the demo policies.
func cmdEligibility(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || (args[0] != "run" && args[0] != "seed") {
		return errors.New("eligibility: want run [--policies a,b] or seed")
	}
	var o options
	var keys string
	fs := flag.NewFlagSet("eligibility "+args[0], flag.ContinueOnError)
	o.dataFlags(fs)
	fs.StringVar(&keys, "policies", "", "comma-separated policy keys (default: every active policy)")
	if _, err := parse(fs, args[1:], e); err != nil {
		return err
	}
	a, err := open(ctx, &o, e)
	if err != nil {
		return err
	}
	defer a.db.Close()
	eng, err := policy.New(policy.Deps{DB: a.db, Registry: registry.NewStore(registry.Deps{DB: a.db, Regions: a.regions}), Accounts: a.accounts})
	if err != nil {
		return err
	}
	if args[0] == "seed" {
		n, err := eng.SeedDemo(ctx, audit.System("eligibility seed"))
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "whistle: %d demo policies added\n", n)
		return nil
	}
	var names []string
	for _, k := range strings.Split(keys, ",") {
		if k = strings.TrimSpace(k); k != "" {
			names = append(names, k)
		}
	}
	st, err := eng.Run(ctx, names)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "whistle: evaluated %d (%d subjects × %d policies where they apply) in %s; %d stored results changed; %d eligible\n",
		st.Evaluated, st.Subjects, st.Policies, st.Took.Round(1e6), st.Changed, st.Eligible)
	return nil
}
