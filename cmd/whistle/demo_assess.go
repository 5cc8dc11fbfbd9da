package main

import (
	"context"
	"fmt"
	"time"

	"whistle/internal/account"
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
	return nil
}
