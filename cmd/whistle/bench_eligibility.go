package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"slices"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/demo"
	"whistle/internal/errs"
	"whistle/internal/feed"
	"whistle/internal/policy"
	"whistle/internal/registry"
)

// cmdBenchEligibility is `whistle bench eligibility` (issue 18): on a demo
// registry of N people (generated into --data unless it holds people
// already, with its organisations and facts) and P policies (the demo's,
// and variants of them with shifted thresholds up to P), it runs the full
// batch twice — the first writes every result, the second only what
// changed (nothing) — then the baseline in the same process: cel-go per
// record and policy without the memo or any index, over a sample of
// people, extrapolated to all of them and checked against the batch's
// answers; then C single-fact changes, each timed from its commit to its
// stored results and cursor through the change feed's runner.
func cmdBenchEligibility(ctx context.Context, args []string, e env) error {
	var o options
	var people, policies, sample, changes int
	fs := flag.NewFlagSet("bench eligibility", flag.ContinueOnError)
	o.dataFlags(fs)
	fs.IntVar(&people, "people", 1000000, "people in the generated registry (when --data holds none)")
	fs.IntVar(&policies, "policies", 100, "active policies (the demo's and variants of them)")
	fs.IntVar(&sample, "sample", 20000, "people evaluated by the per-record baseline")
	fs.IntVar(&changes, "changes", 2000, "single-fact changes re-checked from the feed")
	var fresh bool
	fs.BoolVar(&fresh, "fresh", false, "forget the stored results of earlier runs on --data, so that the first run writes every row again")
	var profiles profileFlags
	profiles.register(fs, "the full runs (with --profile-recheck, of the incremental changes)")
	var profileRecheck, floor bool
	fs.BoolVar(&profileRecheck, "profile-recheck", false, "profile the incremental changes instead of the full runs")
	fs.BoolVar(&floor, "floor", false, "after the full runs, time the database driver alone on the same rows: the load's queries scanned bare, and as many rows as the first run wrote inserted bare into a table of the same shape")
	if _, err := parse(fs, args, e); err != nil {
		return err
	}
	if o.data == "" && o.dbURL == "" {
		dir, err := os.MkdirTemp("", "whistle-bench-eligibility-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.data = dir
	}
	o.logLevel = "warn"
	a, err := open(ctx, &o, e)
	if err != nil {
		return err
	}
	defer a.db.Close()
	if _, err := demo.Seed(ctx, a.regions, a.accounts, demo.SeedOptions{Seed: 1, Password: "bench-eligibility-password"}); err != nil {
		return err
	}
	reg := registry.NewStore(registry.Deps{DB: a.db, Regions: a.regions})
	t0 := time.Now()
	res, err := demo.GenerateRegistry(ctx, a.db, reg, a.regions, func() demo.RegistryOptions { r := demo.ScaledRegistry(people); r.Seed = 1; return r }(), nil)
	if err != nil {
		return err
	}
	if res.Generated {
		fmt.Fprintf(e.stdout, "generated %d people, %d organisations (%s)\n", res.People, res.Organisations, time.Since(t0).Round(time.Second))
	}
	t0 = time.Now()
	fres, err := demo.GenerateFacts(ctx, a.db, 1)
	if err != nil {
		return err
	}
	if fres.Generated {
		fmt.Fprintf(e.stdout, "generated %d facts of people, %d of organisations (%s)\n", fres.People, fres.Orgs, time.Since(t0).Round(time.Second))
	}
	// What a bulk import leaves for the server's refresh (every minute,
	// registry.Store.RunSnapshot) or, failing that, the next run.
	t0 = time.Now()
	if n, err := reg.RefreshSnapshot(ctx); err != nil {
		return err
	} else if n > 0 {
		fmt.Fprintf(e.stdout, "registry snapshot: %d blocks built from the rows in %.2f s (after an import; not part of a run)\n", n, time.Since(t0).Seconds())
	}
	// On PostgreSQL the import's events wait for their positions, which
	// the server's feed runner gives them as they commit; a run numbers
	// those left first (feed.SequenceAll), so the first run after a bulk
	// import would time the numbering of millions of events.
	if a.db.Dialect() == db.Postgres {
		t0 = time.Now()
		before, err := feed.Last(ctx, a.db)
		if err != nil {
			return err
		}
		if err := feed.SequenceAll(ctx, a.db); err != nil {
			return err
		}
		after, err := feed.Last(ctx, a.db)
		if err != nil {
			return err
		}
		if after > before {
			fmt.Fprintf(e.stdout, "feed: %d events numbered in %.2f s (after an import; the server's feed runner numbers them as they commit; not part of a run)\n", after-before, time.Since(t0).Seconds())
		}
	}
	eng, err := policy.New(policy.Deps{DB: a.db, Registry: reg, Accounts: a.accounts})
	if err != nil {
		return err
	}
	if err := benchPolicies(ctx, eng, policies); err != nil {
		return err
	}
	if fresh {
		if err := eng.ForgetResults(ctx); err != nil {
			return err
		}
	}
	runtime.GC()
	fmt.Fprintf(e.stdout, "load before: %s (%d CPUs)\n", loadAvg(), runtime.NumCPU())
	var full time.Duration
	var evaluated, firstWrote int64
	stop := func() {}
	if !profileRecheck {
		if stop, err = profiles.start(); err != nil {
			return err
		}
	}
	for _, name := range []string{"first full run", "second full run, nothing changed"} {
		runtime.GC()
		c0 := cpuTime()
		st, err := eng.Run(ctx, nil)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%-32s %d subjects × %d policies: %d evaluations (%d by CEL) in %.2f s (load %.2f s, evaluate %.2f s = %.1f ns per evaluation, store %.2f s, %d rows written), CPU %.1f s\n",
			name+":", st.Subjects, st.Policies, st.Evaluated, st.CELEvals, st.Took.Seconds(), st.Load.Seconds(), st.Eval.Seconds(),
			float64(st.Eval.Nanoseconds())/float64(st.Evaluated), st.Store.Seconds(), st.Changed, (cpuTime() - c0).Seconds())
		full, evaluated = st.Eval, st.Evaluated
		if firstWrote == 0 {
			firstWrote = st.Changed
		}
	}
	stop()
	if floor {
		if err := benchFloor(ctx, e.stdout, a.db, firstWrote); err != nil {
			return err
		}
	}
	runtime.GC()
	b, err := eng.BaselinePerRecord(ctx, sample)
	if err != nil {
		return err
	}
	per := float64(b.Took.Nanoseconds()) / float64(b.Evaluations)
	extra := time.Duration(per * float64(evaluated))
	fmt.Fprintf(e.stdout, "baseline cel-go per record, no index: %d people × %d policies, %d evaluations in %.2f s = %.0f ns per evaluation; extrapolated to the full run's %d evaluations: %.1f s (%.0fx the batch's evaluation); %d answers differ from the batch's\n",
		b.Subjects, b.Policies, b.Evaluations, b.Took.Seconds(), per, evaluated, extra.Seconds(), extra.Seconds()/full.Seconds(), b.Mismatches)
	if b.Mismatches != 0 {
		return fmt.Errorf("bench eligibility: %d answers of the batch differ from cel-go per record", b.Mismatches)
	}
	if profileRecheck {
		if stop, err = profiles.start(); err != nil {
			return err
		}
	}
	lat, rechecks, err := benchRecheck(ctx, e.stdout, a.db, reg, eng, changes)
	stop()
	if err != nil {
		return err
	}
	var all, wrote, kept []time.Duration
	var cpu time.Duration
	for _, l := range lat {
		cpu += l.cpu
		all = append(all, l.took)
		if l.commit {
			wrote = append(wrote, l.took)
		} else {
			kept = append(kept, l.took)
		}
	}
	fmt.Fprintf(e.stdout, "incremental: %d single-fact changes, %d policies re-evaluated (%.1f a change), commit → stored results and cursor %s\n",
		len(all), rechecks, float64(rechecks)/float64(max(1, len(all))), quantiles(all))
	fmt.Fprintf(e.stdout, "  of which %d changed a stored result (written with the cursor): %s\n", len(wrote), quantiles(wrote))
	fmt.Fprintf(e.stdout, "  and %d changed none (nothing to commit: the cursor is stored with a later batch): %s\n", len(kept), quantiles(kept))
	fmt.Fprintf(e.stdout, "  process CPU during the re-checks: %.3f ms a change\n", float64(cpu.Microseconds())/1000/float64(max(1, len(lat))))
	// The run a night after a day's changes: their blocks of the
	// registry's snapshot are rebuilt in it, and their results are
	// already stored by the re-checks. Its refresh is timed apart, then
	// the run (which finds it done), by an engine of its own, as
	// `whistle eligibility run` is: the re-checks' engine holds a copy of
	// every stored row (some 190 MB at a million), whose marking by the
	// collector made the run here some 2 s slower than in a process of
	// its own.
	eng, err = policy.New(policy.Deps{DB: a.db, Registry: reg, Accounts: a.accounts})
	if err != nil {
		return err
	}
	runtime.GC()
	c0, t0 := cpuTime(), time.Now()
	n, err := reg.RefreshSnapshot(ctx)
	if err != nil {
		return err
	}
	refresh := time.Since(t0)
	fmt.Fprintf(e.stdout, "the changes' blocks of the registry's snapshot: %d rebuilt in %.2f s (%.0f µs a block), CPU %.2f s\n",
		n, refresh.Seconds(), float64(refresh.Microseconds())/float64(max(1, n)), (cpuTime() - c0).Seconds())
	runtime.GC()
	c0 = cpuTime()
	st, err := eng.Run(ctx, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%-32s %d subjects × %d policies: %d evaluations in %.2f s (load %.2f s, evaluate %.2f s, store %.2f s, %d rows written), CPU %.1f s; with the refresh above %.2f s\n",
		"third full run, after the changes:", st.Subjects, st.Policies, st.Evaluated, st.Took.Seconds(), st.Load.Seconds(), st.Eval.Seconds(), st.Store.Seconds(), st.Changed, (cpuTime() - c0).Seconds(), (st.Took + refresh).Seconds())
	fmt.Fprintf(e.stdout, "load after: %s\n", loadAvg())
	return nil
}

// benchFloor times the database driver alone on the full run's data, so
// that its load and store phases can be read against what reading and
// writing that many rows costs at all: the queries that load the people
// (registry.Store.EachFactSet's, scanned into typed values and dropped),
// and n rows of the stored results' shape (kind, id, path, 100 letters,
// run) inserted as the store inserts them (500 a statement, 20
// statements a transaction, both keys indexed) into a table made for it
// and dropped after.
func benchFloor(ctx context.Context, w io.Writer, d *db.DB, n int64) error {
	var scanned int64
	var scanCPU time.Duration
	start := time.Now()
	for _, q := range []string{
		`SELECT id, grid_code, region_path, sex, status, birth_date, household_id FROM reg_people ORDER BY id`,
		`SELECT subject_id, key, value, verified FROM reg_facts WHERE subject_kind = 'person' ORDER BY subject_id, key`,
		`SELECT subject_id, key, value, verified FROM reg_facts WHERE subject_kind = 'household' ORDER BY subject_id, key`,
	} {
		c0 := cpuTime()
		rows, err := d.Query(ctx, q)
		if err != nil {
			return err
		}
		cols, err := rows.Columns()
		if err != nil {
			rows.Close()
			return err
		}
		var id int64
		strs := make([]string, len(cols)-1)
		dst := []any{&id}
		for i := range strs {
			dst = append(dst, &strs[i])
		}
		for rows.Next() {
			if err := rows.Scan(dst...); err != nil {
				rows.Close()
				return err
			}
			scanned++
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
		scanCPU += cpuTime() - c0
	}
	fmt.Fprintf(w, "floor, the load's person queries scanned bare, one after the other: %d rows in %.2f s, CPU %.2f s (%.2f µs a row)\n",
		scanned, time.Since(start).Seconds(), scanCPU.Seconds(), float64(scanCPU.Microseconds())/float64(max(1, scanned)))
	if n == 0 {
		return nil
	}
	const table = "bench_floor_rows"
	if err := d.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `CREATE TABLE `+table+` (subject_kind TEXT NOT NULL, subject_id BIGINT NOT NULL, region_path TEXT NOT NULL, packed TEXT NOT NULL, run_id BIGINT NOT NULL, PRIMARY KEY (subject_kind, subject_id))`)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `CREATE INDEX `+table+`_path ON `+table+` (region_path)`)
		return err
	}); err != nil {
		return err
	}
	defer func() {
		_ = d.InTx(context.WithoutCancel(ctx), func(tx *db.Tx) error { _, err := tx.Exec(ctx, `DROP TABLE `+table); return err })
	}()
	packed := string(slices.Repeat([]byte("NNNNENNNMN"), 10))
	start, c0 := time.Now(), cpuTime()
	const chunk, perTx = 500, 20
	for lo := int64(0); lo < n; lo += chunk * perTx {
		err := d.InTx(ctx, func(tx *db.Tx) error {
			for a := lo; a < min(lo+chunk*perTx, n); a += chunk {
				b := min(a+chunk, n)
				args := make([]any, 0, 5*(b-a))
				for i := a; i < b; i++ {
					args = append(args, policy.KindPerson, i+1, fmt.Sprintf("330000/%03d/%03d/%03d", i%97, i%89, i%83), packed, 0)
				}
				if _, err := tx.Exec(ctx, `INSERT INTO `+table+` (subject_kind, subject_id, region_path, packed, run_id) VALUES `+db.Placeholders(tx.Dialect(), int(b-a), 5), args...); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	cpu := cpuTime() - c0
	fmt.Fprintf(w, "floor, %d rows of the results' shape inserted bare: %.2f s, CPU %.2f s (%.2f µs a row)\n",
		n, time.Since(start).Seconds(), cpu.Seconds(), float64(cpu.Microseconds())/float64(n))
	return nil
}

// vacuumForBench runs on PostgreSQL what its autovacuum would have done
// by now to the tables the timed changes use, after the generation and
// the full runs: a sequenced feed event leaves its unsequenced version
// behind, and an index scan for the next ones to number steps over every
// such dead entry until a vacuum removes them (0.3–2 ms a step at 150,000
// events). This machine's server runs with autovacuum off; a production
// server's would be on.
func vacuumForBench(ctx context.Context, w io.Writer, d *db.DB) error {
	if d.Dialect() != db.Postgres {
		return nil
	}
	var on string
	if err := d.QueryRow(ctx, `SHOW autovacuum`).Scan(&on); err != nil {
		return err
	}
	t0 := time.Now()
	tables := []string{"feed_events", "feed_cursors", "feed_sequence", "elig_blocks", "elig_gen", "elig_runs",
		"reg_people", "reg_facts", "reg_snap", "reg_snap_dirty", "reg_history", "audit_log"}
	for _, t := range tables {
		rows, err := d.Query(ctx, `VACUUM (ANALYZE) `+t)
		if err != nil {
			return fmt.Errorf("vacuum %s: %w", t, err)
		}
		rows.Close()
	}
	fmt.Fprintf(w, "postgres (autovacuum %s): VACUUM (ANALYZE) of the %d tables the changes use, before them: %.2f s\n", on, len(tables), time.Since(t0).Seconds())
	return nil
}

// quantiles formats p50, p95, p99 and the maximum of latencies.
func quantiles(lat []time.Duration) string {
	if len(lat) == 0 {
		return "none"
	}
	slices.Sort(lat)
	q := func(f float64) float64 {
		return float64(lat[min(len(lat)-1, int(f*float64(len(lat))))].Microseconds()) / 1000
	}
	return fmt.Sprintf("p50 %.3f ms, p95 %.3f ms, p99 %.3f ms, max %.3f ms", q(0.5), q(0.95), q(0.99), q(1))
}

// recheckLatency is one change's time from its commit to its stored
// results, and whether the re-check had to commit.
type recheckLatency struct {
	took   time.Duration
	commit bool
	// cpu is the process's CPU time during the step (both cores, the
	// runtime's and SQLite's own work included): under load, less noisy
	// than the wall time.
	cpu time.Duration
}

// benchPolicies saves and publishes policy.BenchPolicies(n).
func benchPolicies(ctx context.Context, eng *policy.Engine, n int) error {
	ps, err := policy.BenchPolicies(n)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if _, err := eng.Policy(ctx, p.Key); err == nil {
			continue
		}
		v, err := eng.Save(ctx, audit.System("bench"), p.Draft)
		if err != nil {
			return fmt.Errorf("%s: %w", p.Key, err)
		}
		if err := eng.Publish(ctx, audit.System("bench"), p.Key, v.Version, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
			return err
		}
	}
	return nil
}

// benchRecheck makes n single-fact changes of random people one after the
// other and times each from its commit to its stored results and the
// consumer's stored cursor, through the feed's runner as a server runs
// it (feed.Runner.Step: Sequence, Read after the cursor, the consumer's
// Derive, its writes and cursor committed together).
func benchRecheck(ctx context.Context, w io.Writer, d *db.DB, reg *registry.Store, eng *policy.Engine, n int) ([]recheckLatency, int64, error) {
	var maxID int64
	if err := d.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM reg_people`).Scan(&maxID); err != nil {
		return nil, 0, err
	}
	if maxID == 0 {
		return nil, 0, fmt.Errorf("bench eligibility: no people")
	}
	// On PostgreSQL the feed numbers events after their commit: without
	// this the cursor would start below the registry's generation, and
	// the timed steps would re-check its events a thousand at a time.
	if err := feed.SequenceAll(ctx, d); err != nil {
		return nil, 0, err
	}
	pos, err := feed.Last(ctx, d)
	if err != nil {
		return nil, 0, err
	}
	if err := vacuumForBench(ctx, w, d); err != nil {
		return nil, 0, err
	}
	runner, err := feed.NewRunner(d, feed.RunnerConfig{Batch: 1000}, eng.Consumer())
	if err != nil {
		return nil, 0, err
	}
	// The consumer starts at the end of the feed: the generated registry's
	// events were re-checked by the full runs.
	if err := d.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO feed_cursors (consumer, position, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (consumer) DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`, policy.ConsumerName, pos, tx.Now())
		return err
	}); err != nil {
		return nil, 0, err
	}
	if _, err := runner.Step(ctx); err != nil {
		return nil, 0, err
	}
	// A new seed each time: on a reused --data the same values would
	// change nothing and put nothing on the feed.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 18))
	keys := []string{"income_per_head", "disability_grade", "hukou_local", "pension", "care_level", "unemployed_registered"}
	var before int64
	var setTook time.Duration
	var sets int
	out := make([]recheckLatency, 0, n)
	// The first change after a run is not timed: its re-check loads the
	// engine's copy of the stored rows (once a run), reported apart.
	for i := -1; i < n; i++ {
		if i == 0 {
			before = eng.Stats().Rechecks.Load()
		}
		id := 1 + rng.Int64N(maxID)
		k := keys[rng.IntN(len(keys))]
		var v any
		switch k {
		case "income_per_head", "pension":
			v = float64(rng.IntN(50) * 100)
		case "disability_grade", "care_level":
			v = int64(rng.IntN(4))
		default:
			v = rng.IntN(2) == 0
		}
		set := time.Now()
		err := reg.SetFact(ctx, account.SystemScope(), audit.System("bench"), registry.FactPerson, id, registry.FactInput{Key: k, Value: v, Verified: true})
		if i >= 0 {
			setTook += time.Since(set)
			sets++
		}
		if err != nil {
			if errs.Is(err, errs.NotFound) {
				if i < 0 {
					i-- // the untimed first change is still to come
				}
				continue // a gap in the ids
			}
			return nil, 0, err
		}
		start, commits, c0 := time.Now(), eng.Stats().Commits.Load(), cpuTime()
		handed, err := runner.Step(ctx)
		if err != nil {
			return nil, 0, err
		}
		switch {
		case i < 0 && handed == 0:
			i-- // the value it had: nothing on the feed, nothing loaded yet
		case i < 0:
			fmt.Fprintf(w, "first change after the runs, untimed below (the re-check loads the stored rows into the engine): %.1f ms\n", float64(time.Since(start).Microseconds())/1000)
		case handed > 0:
			out = append(out, recheckLatency{time.Since(start), eng.Stats().Commits.Load() != commits, cpuTime() - c0})
		}
	}
	fmt.Fprintf(w, "the changes themselves (registry.Store.SetFact, each committed before its timed step): %.3f ms a change on average\n",
		float64(setTook.Microseconds())/1000/float64(max(1, sets)))
	return out, eng.Stats().Rechecks.Load() - before, nil
}
