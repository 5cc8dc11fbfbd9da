package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"whistle/internal/db"
	"whistle/internal/soak"
)

// cmdBenchCrash runs the crash test (`whistle bench crash`): the server as
// a child process on SQLite and, with --db, on a fresh PostgreSQL schema,
// under load, killed with SIGKILL --kills times on each. It prints one
// summary line per database and fails on any loss or duplicate, any
// answer the load did not expect, a cycle that acknowledged too little,
// too few timers fired, and (on SQLite, under strace) any acknowledged
// write answered before an fsync of the write-ahead log.
func cmdBenchCrash(ctx context.Context, args []string, e env) error {
	var dbURL, data, bin, strace, natsURL string
	var kills, workers, minAcks, minFired int
	var minUp, maxUp time.Duration
	var seed uint64
	var sqlite, keep bool
	fs := flag.NewFlagSet("bench crash", flag.ContinueOnError)
	fs.IntVar(&kills, "kills", 20, "how many times to kill -9 the server on each database")
	fs.StringVar(&dbURL, "db", "", "PostgreSQL URL: also run on a fresh schema there (the server is killed, not the database)")
	fs.BoolVar(&sqlite, "sqlite", true, "run on SQLite")
	fs.StringVar(&data, "data", "", "directory for the runs' data (default: a new temp dir, removed afterwards)")
	fs.IntVar(&workers, "workers", 8, "concurrent clients")
	fs.DurationVar(&minUp, "min-up", 300*time.Millisecond, "shortest time under load before a kill")
	fs.DurationVar(&maxUp, "max-up", 2*time.Second, "longest time under load before a kill")
	fs.Uint64Var(&seed, "seed", 0, "random seed of the kill times and the load (0: new each run)")
	fs.StringVar(&bin, "bin", "", "the whistle binary to run as the server (default: this one)")
	fs.BoolVar(&keep, "keep", false, "keep the data directories and the PostgreSQL schema")
	fs.StringVar(&strace, "strace", "auto", "strace binary to run the SQLite server under, checking that every acknowledged write was fsync'd first (auto: from PATH; off: no check)")
	fs.IntVar(&minAcks, "min-acks", 10, "fewest writes each cycle must get acknowledged")
	fs.StringVar(&natsURL, "nats", "", "external NATS (nats://127.0.0.1:4222) for the server's bus: after the last kill every case event on the change feed must have been published there (empty: not checked)")
	fs.IntVar(&minFired, "min-fired", 1, "fewest SLA timers that must fire during the run (0: none required)")
	if _, err := parse(fs, args, e); err != nil {
		return err
	}
	if !sqlite && dbURL == "" {
		return errors.New("bench crash: nothing to do: --sqlite=false and no --db")
	}
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return err
		}
		bin = exe
	}
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	switch strace {
	case "off":
		strace = ""
	case "auto":
		p, err := exec.LookPath("strace")
		if err != nil {
			return errors.New("bench crash: strace not found: install it (apt-get install -y strace) or pass --strace off to skip the fsync check")
		}
		strace = p
	}
	var failed []string
	if data == "" {
		dir, err := os.MkdirTemp("", "whistle-crash-")
		if err != nil {
			return err
		}
		data = dir
		// Keep the evidence of a failure.
		defer func() {
			if !keep && len(failed) == 0 {
				os.RemoveAll(dir)
			}
		}()
	} else if err := os.MkdirAll(data, 0o750); err != nil {
		return err
	}
	// The child gets a clean environment: no WHISTLE_* setting of this
	// shell may change what it serves.
	var childEnv []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "LANG"} {
		if v := e.getenv(k); v != "" {
			childEnv = append(childEnv, k+"="+v)
		}
	}
	fmt.Fprintf(e.stdout, "crash test: %s demo as the server, %d kills per database, %d clients, up %s–%s before each kill, seed %d\n",
		bin, kills, workers, minUp, maxUp, seed)
	if strace != "" {
		fmt.Fprintf(e.stdout, "crash test: the SQLite server runs under %s; data on %s\n", strace, mountOf(data))
	} else {
		fmt.Fprintln(e.stdout, "crash test: fsync not checked (--strace off)")
	}
	base := soak.Config{Server: []string{bin, "demo", "--seed", "1"}, Env: childEnv, Kills: kills, Workers: workers,
		MinUp: minUp, MaxUp: maxUp, Seed: seed, Log: e.stdout, Strace: strace, TraceDir: data, MinAcks: minAcks, MinFired: minFired, KeepTraces: keep, NATS: natsURL}
	runOne := func(cfg soak.Config, logFile string) error {
		f, err := os.Create(logFile)
		if err != nil {
			return err
		}
		defer f.Close()
		cfg.ServerLog = f
		rep, err := soak.Run(ctx, cfg)
		if rep != nil {
			fmt.Fprintf(e.stdout, "crash test %s: %s\n", cfg.Name, rep.Summary())
			fmt.Fprintf(e.stdout, "  %s\n", rep.Detail())
			for _, n := range rep.Notes {
				fmt.Fprintf(e.stdout, "  %s\n", n)
			}
			for _, p := range rep.Problems {
				fmt.Fprintf(e.stdout, "  FAIL: %s\n", p)
			}
		}
		if err != nil {
			failed = append(failed, fmt.Sprintf("%s: %v (server log: %s)", cfg.Name, err, logFile))
			return nil
		}
		if !rep.OK() {
			failed = append(failed, fmt.Sprintf("%s: %s (server log: %s)", cfg.Name, rep.Summary(), logFile))
		}
		return nil
	}
	if sqlite {
		dir := filepath.Join(data, "sqlite")
		cfg := base
		cfg.Name, cfg.DataArgs, cfg.DB = "sqlite", []string{"--data", dir}, db.Config{DataDir: dir}
		if err := runOne(cfg, filepath.Join(data, "sqlite-server.log")); err != nil {
			return err
		}
	}
	if dbURL != "" {
		schema, drop, err := soak.NewSchema(ctx, dbURL)
		if err != nil {
			return err
		}
		if keep {
			fmt.Fprintf(e.stdout, "crash test postgres: schema %s is kept\n", schema)
		} else {
			defer drop()
		}
		dir := filepath.Join(data, "postgres")
		cfg := base
		cfg.Name = "postgres"
		cfg.DataArgs = []string{"--data", dir, "--db", soak.WithSearchPath(dbURL, schema)}
		cfg.DB = db.Config{URL: dbURL, SearchPath: schema}
		if err := runOne(cfg, filepath.Join(data, "postgres-server.log")); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(e.stdout, "crash test postgres: not run (give --db postgres://…)")
	}
	if minFired == 0 {
		fmt.Fprintln(e.stdout, "crash test: no timer firing required (--min-fired 0)")
	}
	if keep || len(failed) > 0 {
		fmt.Fprintf(e.stdout, "crash test data kept in %s\n", data)
	}
	if len(failed) > 0 {
		return fmt.Errorf("bench crash failed: %s", strings.Join(failed, "; "))
	}
	return nil
}

// mountOf names the file system under dir and its mount options, as
// findmnt prints them, for the record of a durability figure.
func mountOf(dir string) string {
	out, err := exec.Command("findmnt", "-no", "FSTYPE,OPTIONS", "-T", dir).Output()
	if err != nil {
		return "an unknown file system (findmnt: " + err.Error() + ")"
	}
	return strings.Join(strings.Fields(string(out)), " ")
}
