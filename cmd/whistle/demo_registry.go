package main

import (
	"context"
	"fmt"

	"whistle/internal/demo"
	"whistle/internal/registry"
)

// defaultDemoPeople is the size of `whistle demo`'s registry unless
// --people says otherwise: none, so that the tests and benchmarks that
// start the demo stay as fast as before; `make run` asks for 100,000 and
// --people 400000 is the full district (docs/BENCHMARKS.md has the times).
const defaultDemoPeople = 0

// demoRegistry generates the demo registry into an empty one.
func demoRegistry(ctx context.Context, a *app, o *options, e env) error {
	if o.demoPeople <= 0 {
		return nil
	}
	reg := registry.NewStore(registry.Deps{DB: a.db, Regions: a.regions})
	opt := demo.ScaledRegistry(o.demoPeople)
	opt.Seed = o.seed
	res, err := demo.GenerateRegistry(ctx, a.db, reg, a.regions, opt, e.stderr)
	if err != nil {
		return err
	}
	if res.Generated {
		fmt.Fprintf(e.stdout, "whistle: generated the demo registry: %d people (%d in groups needing attention), %d houses in %d buildings, %d organisations\n",
			res.People, res.Members, res.Houses, res.Buildings, res.Organisations)
	}
	// The facts the benefit policies read (issue 18).
	fres, err := demo.GenerateFacts(ctx, a.db, o.seed)
	if err != nil {
		return err
	}
	if fres.Generated {
		fmt.Fprintf(e.stdout, "whistle: generated %d facts of people and %d of organisations for the benefit policies\n", fres.People, fres.Orgs)
	}
	return nil
}
