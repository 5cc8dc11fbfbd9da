package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"whistle/internal/benchmark"
)

// cmdBenchmark runs `whistle benchmark snapshot --period YYYY-MM`.
func cmdBenchmark(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] != "snapshot" {
		return errors.New("benchmark: want snapshot")
	}
	return cmdBenchmarkSnapshot(ctx, args[1:], e)
}

// cmdBenchmarkSnapshot is `whistle benchmark snapshot --period YYYY-MM`:
// it computes the platform's own indicators (every module's, from the one
// indicator registry) for the district's streets and communities over the
// month and stores them for 对标, replacing that month's platform values
// (the server does the same on the first day of each month). It wires the
// server's services to have every module's indicators, so it takes the
// server's flags; an embedded NATS keeps its storage in a temporary
// directory, so that it runs beside a server on the same --data.
func cmdBenchmarkSnapshot(ctx context.Context, args []string, e env) error {
	var o options
	var period string
	fs := flag.NewFlagSet("benchmark snapshot", flag.ContinueOnError)
	o.serveFlags(fs)
	fs.StringVar(&period, "period", "", "the month to snapshot, YYYY-MM (district time)")
	pos, err := parse(fs, args, e)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return fmt.Errorf("benchmark snapshot: unexpected %q", pos[0])
	}
	if _, ok := benchmark.Month(period, time.UTC); !ok {
		return fmt.Errorf("benchmark snapshot: --period must be a month, YYYY-MM (got %q)", period)
	}
	if o.natsURL == "" {
		if o.busDir, err = os.MkdirTemp("", "whistle-snapshot-nats-"); err != nil {
			return err
		}
		defer os.RemoveAll(o.busDir)
	}
	w, err := wire(ctx, &o, e, false)
	if err != nil {
		return err
	}
	defer w.close()
	rep, err := w.snapshots.Snapshot(ctx, period)
	if err != nil {
		return describe(w.app, err)
	}
	printSnapshot(e, rep)
	return nil
}

// printSnapshot prints what a snapshot stored and what it left out.
func printSnapshot(e env, rep *benchmark.SnapshotReport) {
	var keys []string
	for _, in := range rep.Declared {
		keys = append(keys, fmt.Sprintf("%s (v%d)", in.Key, in.DefinitionVersion))
	}
	fmt.Fprintf(e.stdout, "snapshot %s: %d values of %d indicators for %d streets and communities; %d with a changed definition (a new series)\n",
		rep.Period, rep.Values, len(rep.Declared), rep.Units, rep.Changed)
	if len(keys) > 0 {
		fmt.Fprintf(e.stdout, "  indicators: %s\n", strings.Join(keys, ", "))
	}
	why := map[string]string{benchmark.SkipNeutral: "neither higher nor lower is better", benchmark.SkipCurrent: "the state now; a month does not apply",
		benchmark.SkipNoData: "no street or community has a value this month", benchmark.SkipTaken: "an imported indicator has this key"}
	for _, s := range rep.Skipped {
		fmt.Fprintf(e.stdout, "  left out %s: %s\n", s.Indicator, why[s.Reason])
	}
}
