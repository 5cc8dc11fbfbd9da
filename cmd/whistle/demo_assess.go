package main

import (
	"context"
	"fmt"
	"time"

	"whistle/internal/account"
	"whistle/internal/benchmark"
	"whistle/internal/demo"
)

// demoAssessment gives the demo district 对标 values and 考核 periods
// (demo.SeedAssessment), once.
func demoAssessment(ctx context.Context, w *wired, o *options, e env) error {
	user := func(name string) (*account.User, error) {
		return w.app.accounts.UserByName(ctx, account.SystemScope(), name)
	}
	admin, err := user("demo-admin")
	if err != nil {
		return err
	}
	community, err := user("demo-community")
	if err != nil {
		return err
	}
	res, err := demo.SeedAssessment(ctx, demo.AssessOptions{Regions: w.app.regions, Benchmark: w.benchmark, Assess: w.assess, Assessor: admin,
		Community: community, Now: time.Now(), Seed: o.seed})
	if err != nil {
		return fmt.Errorf("demo assessment: %w", err)
	}
	if res.Seeded {
		fmt.Fprintf(e.stdout, "whistle: generated 对标 and 考核 data: %d indicator values, period %s published, %s frozen with an appeal pending\n",
			res.Values, res.Published, res.Frozen)
	}
	n, err := demo.SeedContext(ctx, demo.AssessOptions{Regions: w.app.regions, Benchmark: w.benchmark, Now: time.Now(), Seed: o.seed})
	if err != nil {
		return fmt.Errorf("demo context variables: %w", err)
	}
	if n > 0 {
		fmt.Fprintf(e.stdout, "whistle: generated the context variables of similar units (population, area, share aged 60+): %d values\n", n)
	}
	return nil
}

// demoSnapshots stores the platform's indicators of the demo's twelve
// months (those of demo.SeedAssessment), so that 对标 shows them beside
// the imported ones: once, when none is stored yet.
func demoSnapshots(ctx context.Context, w *wired, e env) error {
	ins, err := w.benchmark.Indicators(ctx)
	if err != nil {
		return err
	}
	for _, in := range ins {
		if in.Source == benchmark.SourcePlatform {
			return nil
		}
	}
	months := demo.Months(time.Now())
	values := 0
	for _, m := range months {
		rep, err := w.snapshots.Snapshot(ctx, m)
		if err != nil {
			return fmt.Errorf("demo snapshot %s: %w", m, err)
		}
		values += rep.Values
	}
	fmt.Fprintf(e.stdout, "whistle: stored the platform's indicators for 对标: %d values over %s to %s\n", values, months[0], months[len(months)-1])
	return nil
}
