package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"

	"whistle/internal/benchreport"
)

// cmdBenchReport runs `whistle bench report`: it reads the raw outputs
// scripts/bench.sh saved in --in and writes the Markdown document to --out
// (docs/BENCHMARKS.md), replacing it only once the whole document is
// written.
func cmdBenchReport(_ context.Context, args []string, e env) error {
	var in, out string
	fs := flag.NewFlagSet("bench report", flag.ContinueOnError)
	fs.StringVar(&in, "in", "bench-out", "directory of raw outputs written by scripts/bench.sh")
	fs.StringVar(&out, "out", "", "Markdown file to write (required), e.g. docs/BENCHMARKS.md")
	if _, err := parse(fs, args, e); err != nil {
		return err
	}
	if out == "" {
		return errors.New("bench report: --out is required")
	}
	runs, err := benchreport.Load(os.DirFS(in))
	if err != nil {
		return fmt.Errorf("bench report: %w", err)
	}
	// A run that did not record the machine is described by this one,
	// which is the same machine when called by bench.sh.
	if runs.Env["cpu"] == "" {
		if f, err := os.Open("/proc/cpuinfo"); err == nil {
			runs.Env["cpu"] = benchreport.CPUModel(f)
			f.Close()
		}
	}
	if runs.Env["cores"] == "" {
		runs.Env["cores"] = strconv.Itoa(runtime.NumCPU())
	}
	if runs.Env["date"] == "" {
		runs.Env["date"] = time.Now().UTC().Format("2006-01-02T15:04Z")
	}
	var b bytes.Buffer
	if err := benchreport.Render(&b, runs); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".benchmarks-*.md")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b.Bytes()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	for _, p := range runs.Problems {
		fmt.Fprintln(e.stderr, "bench report: skipped", p)
	}
	fmt.Fprintf(e.stdout, "bench report: wrote %s from %s\n", out, in)
	return nil
}
