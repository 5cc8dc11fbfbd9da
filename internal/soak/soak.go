// Package soak is Whistle's crash test. It starts the server as a child
// process, drives a concurrent load of case submissions (each with its own
// Idempotency-Key, retried with the same key after a connection error) and
// workflow transitions through the HTTP API, and kills the child with
// SIGKILL at random moments, restarting it after each kill.
//
// While the child is down, the database is opened directly (package db,
// not the API, so the check does not depend on the server) and compared
// with what the server acknowledged:
//
//   - every case answered 201 exists, with its submit step and every
//     transition answered 200 on its timeline;
//   - no Idempotency-Key produced two cases, and no report was stored twice;
//   - no timer fired twice, and every open running SLA stage still has its
//     breach timer (when the server keeps timers at all);
//   - the rollups equal a recomputation, through the binary's own
//     `rollup rebuild --dry-run` (when the binary has that command).
//
// A check whose feature the binary or the schema lacks is reported as not
// checked, never as passed.
package soak

import (
	"bufio"
	"context"
	crand "crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"whistle/internal/db"
)

// Config describes one crash-test run against one database.
type Config struct {
	// Name labels the run in the report ("sqlite", "postgres").
	Name string
	// Server is the command that starts a server with the demo district,
	// without data or address flags, e.g. {"/usr/bin/whistle", "demo"}.
	// Its first element also runs `rollup rebuild --dry-run`.
	Server []string
	// DataArgs are the flags naming the data: --data DIR and, for
	// PostgreSQL, --db URL (with its search_path).
	DataArgs []string
	// DB opens the same database directly for the checks.
	DB db.Config
	// Env is the child's environment (nil: this process's).
	Env []string
	// Kills is how many times the server is killed (at least 1).
	Kills int
	// Workers is the number of concurrent clients.
	Workers int
	// MinUp and MaxUp bound the random time the server runs under load
	// before each kill, counted from the first write acknowledged after
	// the (re)start.
	MinUp, MaxUp time.Duration
	// Seed makes the kill times and the load's choices repeatable (the
	// interleaving with the server is not).
	Seed uint64
	// Log receives progress lines; nil discards them.
	Log io.Writer
	// ServerLog receives the child's standard error; nil discards it.
	ServerLog io.Writer
}

// Counts compares what the server acknowledged with what the database has.
type Counts struct {
	Acknowledged int
	Found        int
	Lost         int
	Duplicated   int
}

// Report is the outcome of a run.
type Report struct {
	Name  string
	Kills int
	// Cases are the submissions answered 201; Transitions the actions
	// answered 200. Duplicated counts stored cases beyond the first of
	// one Idempotency-Key or one report.
	Cases, Transitions Counts
	// Retried counts submissions re-sent with the same key after a
	// connection error; Replayed those the server answered as a replay.
	Retried, Replayed int
	// Recovered counts the retries answered as replays: the lost answer's
	// case had been committed before the kill.
	Recovered int
	// Conflicts counts transitions answered 409, after which the load
	// re-read the case's timeline.
	Conflicts int
	// Unexpected counts answers that were neither success, a conflict nor
	// a connection error, by status: a 4xx here is a bug in the load, a
	// 5xx a failure of the server (and of the run).
	Unexpected map[int]int
	// Notes say which optional checks ran and what they found.
	Notes []string
	// Problems are the failed checks; a run passes when there are none.
	Problems []string
	Elapsed  time.Duration
}

// OK reports whether nothing was lost or duplicated and every check passed.
func (r *Report) OK() bool {
	return len(r.Problems) == 0 && r.Cases.Lost == 0 && r.Transitions.Lost == 0 && r.Cases.Duplicated == 0
}

// Summary is the one-line result: acknowledged writes (cases and
// transitions) against those found, lost and duplicated.
func (r *Report) Summary() string {
	ack := r.Cases.Acknowledged + r.Transitions.Acknowledged
	found := r.Cases.Found + r.Transitions.Found
	lost := r.Cases.Lost + r.Transitions.Lost
	return fmt.Sprintf("acknowledged %d, found %d, lost %d, duplicated %d", ack, found, lost, r.Cases.Duplicated)
}

// Detail is the breakdown behind Summary.
func (r *Report) Detail() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d kills in %s; cases: acknowledged %d, found %d, lost %d, duplicated %d (%d retried with the same key after a connection error, %d of them found committed; %d answered as replays in all); transitions: acknowledged %d, found %d, lost %d (%d answered 409 and re-read)",
		r.Kills, r.Elapsed.Round(time.Second), r.Cases.Acknowledged, r.Cases.Found, r.Cases.Lost, r.Cases.Duplicated, r.Retried, r.Recovered, r.Replayed,
		r.Transitions.Acknowledged, r.Transitions.Found, r.Transitions.Lost, r.Conflicts)
	if len(r.Unexpected) > 0 {
		fmt.Fprintf(&b, "; unexpected answers %v", r.Unexpected)
	}
	return b.String()
}

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// Run performs the crash test described by cfg.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if len(cfg.Server) == 0 {
		return nil, errors.New("soak: no server command")
	}
	if cfg.Kills < 1 {
		cfg.Kills = 1
	}
	if cfg.Workers < 1 {
		cfg.Workers = 8
	}
	if cfg.MinUp <= 0 {
		cfg.MinUp = 300 * time.Millisecond
	}
	if cfg.MaxUp < cfg.MinUp {
		cfg.MaxUp = cfg.MinUp
	}
	start := time.Now()
	rep := &Report{Name: cfg.Name, Unexpected: map[int]int{}}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed))
	led := newLedger(fmt.Sprintf("soak-%x-", rng.Uint64()>>32))
	var ld *load
	rollups := rollupUnknown
	var rollupNote []string
	for cycle := 1; cycle <= cfg.Kills; cycle++ {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		child, err := startServer(ctx, &cfg)
		if err != nil {
			return rep, fmt.Errorf("soak: start %d: %w", cycle, err)
		}
		if ld == nil {
			if ld, err = newLoad(ctx, child.url, led, rng.Uint64()); err != nil {
				child.kill()
				return rep, fmt.Errorf("soak: prepare the load: %w", err)
			}
		}
		ld.setURL(child.url)
		lctx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		for w := 0; w < cfg.Workers; w++ {
			wg.Add(1)
			go func(seed uint64) {
				defer wg.Done()
				ld.work(lctx, seed)
			}(rng.Uint64())
		}
		// The random wait starts once writes are being acknowledged again,
		// so that each kill lands in the middle of the load rather than
		// in the warm-up after a restart.
		before := led.writes()
		for warm := time.Now(); led.writes() == before && time.Since(warm) < 30*time.Second && ctx.Err() == nil; {
			time.Sleep(5 * time.Millisecond)
		}
		up := cfg.MinUp + time.Duration(rng.Int64N(int64(cfg.MaxUp-cfg.MinUp)+1))
		select {
		case <-time.After(up):
		case <-ctx.Done():
		case err := <-child.exited:
			stop()
			wg.Wait()
			return rep, fmt.Errorf("soak: the server exited by itself in cycle %d: %v", cycle, err)
		}
		child.kill()
		stop()
		wg.Wait()
		rep.Kills = cycle
		res, err := verify(ctx, cfg.DB, led)
		if err != nil {
			return rep, fmt.Errorf("soak: check after kill %d: %w", cycle, err)
		}
		if rollups != rollupMissing {
			rr := &result{}
			rollups = checkRollups(ctx, &cfg, rr)
			rollupNote = rr.notes
			res.problems = append(res.problems, rr.problems...)
		}
		res.notes = append(res.notes, rollupNote...)
		cfg.logf("%s kill %d/%d after %s: %s", cfg.Name, cycle, cfg.Kills, up.Round(time.Millisecond), res.line())
		rep.Cases, rep.Transitions = res.cases, res.trans
		rep.Notes = res.notes
		if len(res.problems) > 0 {
			rep.Problems = res.problems
			break // the evidence is in the database; stop here
		}
	}
	st := led.stats()
	rep.Retried, rep.Replayed, rep.Conflicts, rep.Recovered = st.retried, st.replayed, st.conflicts, st.recovered
	for k, v := range st.unexpected {
		rep.Unexpected[k] = v
		if k >= 500 {
			// A server that is killed answers nothing; a 5xx came from a
			// live server that failed.
			rep.Problems = append(rep.Problems, fmt.Sprintf("the server answered %d %d times (see its log)", k, v))
		}
	}
	rep.Problems = append(rep.Problems, st.problems...)
	if ld != nil && ld.limitsNote != "" {
		rep.Notes = append([]string{ld.limitsNote}, rep.Notes...)
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// child is one running server process.
type child struct {
	cmd    *exec.Cmd
	url    string
	exited chan error
}

var listening = regexp.MustCompile(`listening on (http://\S+)`)

// startServer starts the server on a free loopback port and waits until it
// answers /readyz.
func startServer(ctx context.Context, cfg *Config) (*child, error) {
	args := append(append([]string{}, cfg.Server[1:]...), "--addr", "127.0.0.1:0", "--log-level", "warn")
	args = append(args, cfg.DataArgs...)
	cmd := exec.Command(cfg.Server[0], args...)
	cmd.Env = cfg.Env
	if cfg.ServerLog != nil {
		cmd.Stderr = cfg.ServerLog
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, exited: make(chan error, 1)}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
		c.exited <- cmd.Wait()
	}()
	deadline := time.NewTimer(3 * time.Minute)
	defer deadline.Stop()
	select {
	case c.url = <-urls:
	case err := <-c.exited:
		return nil, fmt.Errorf("the server exited before listening: %v", err)
	case <-deadline.C:
		c.kill()
		return nil, errors.New("the server did not start within 3 minutes")
	case <-ctx.Done():
		c.kill()
		return nil, ctx.Err()
	}
	client := &http.Client{Timeout: 5 * time.Second}
	for i := 0; i < 600; i++ {
		resp, err := client.Get(c.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		select {
		case err := <-c.exited:
			return nil, fmt.Errorf("the server exited before it was ready: %v", err)
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			c.kill()
			return nil, ctx.Err()
		}
	}
	c.kill()
	return nil, errors.New("the server never became ready")
}

// kill sends SIGKILL (kill -9) and waits for the process to be gone.
func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
	}
}

// rollupState remembers whether the binary can check rollups.
type rollupState int

const (
	rollupUnknown rollupState = iota
	rollupMissing
	rollupPresent
)

var differences = regexp.MustCompile(`(\d+) differences`)

// checkRollups runs `rollup rebuild --dry-run` on the stopped server's
// data and records the outcome in res.
func checkRollups(ctx context.Context, cfg *Config, res *result) rollupState {
	args := append([]string{"rollup", "rebuild", "--dry-run", "--log-level", "warn"}, cfg.DataArgs...)
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, cfg.Server[0], args...)
	cmd.Env = cfg.Env
	out, err := cmd.CombinedOutput()
	text := strings.TrimSpace(string(out))
	if err != nil && (strings.Contains(text, `unknown command "rollup"`) || strings.Contains(text, "flag provided but not defined: -dry-run")) {
		res.notes = append(res.notes, "rollups: not checked: this binary has no `whistle rollup rebuild --dry-run` yet")
		return rollupMissing
	}
	m := differences.FindStringSubmatch(text)
	switch {
	case err != nil:
		res.problems = append(res.problems, fmt.Sprintf("rollups: `rollup rebuild --dry-run` failed: %v: %s", err, lastLines(text, 5)))
	case m == nil:
		res.problems = append(res.problems, "rollups: `rollup rebuild --dry-run` did not report its differences: "+lastLines(text, 5))
	case m[1] != "0":
		res.problems = append(res.problems, "rollups differ from a recomputation: "+lastLines(text, 10))
	default:
		res.notes = append(res.notes, "rollups: equal to a recomputation (rollup rebuild --dry-run: 0 differences)")
	}
	return rollupPresent
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// NewSchema creates a uniquely named schema in the PostgreSQL database at
// url, for a run that must start empty, and returns its name and a
// function that drops it.
func NewSchema(ctx context.Context, url string) (name string, drop func() error, err error) {
	admin, err := sql.Open("pgx", url)
	if err != nil {
		return "", nil, err
	}
	var b [6]byte
	_, _ = crand.Read(b[:])
	name = "soak_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("soak: create schema: %w", err)
	}
	drop = func() error {
		defer admin.Close()
		_, err := admin.Exec(`DROP SCHEMA ` + name + ` CASCADE`)
		return err
	}
	return name, drop, nil
}

// WithSearchPath adds search_path=schema to a PostgreSQL URL.
func WithSearchPath(url, schema string) string {
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "search_path=" + schema
}
