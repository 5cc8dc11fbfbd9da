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
//     `rollup rebuild --dry-run` (when the binary has that command);
//   - with Config.NATS, after a last restart, every case event on the
//     change feed was published on the bus at least once, however the
//     kills fell between the commits and their publishing;
//   - on SQLite, with Config.Strace, every acknowledged write was written
//     to the write-ahead log and fsync'd before its answer (see
//     syscalls.go); on PostgreSQL, the server's settings make a commit
//     wait for the disk.
//
// A run fails on any answer the load did not expect (a 4xx is a bug in
// the load or the server, a 5xx a failure), when a cycle acknowledged
// fewer than Config.MinAcks writes (a soak that acknowledges nothing
// proves nothing), and when fewer than Config.MinFired timers fired, so
// that "no timer fired twice" is checked on real firings.
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
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	// Strace, when set, is the strace binary the server runs under (on
	// SQLite only), and every acknowledged write is checked for an fsync
	// of the write-ahead log before its answer. The traces go to TraceDir
	// and are removed when their check passes.
	Strace, TraceDir string
	// KeepTraces keeps the traces that passed as well.
	KeepTraces bool
	// MinAcks is the fewest writes each cycle must get acknowledged
	// (default 10); MinFired the fewest SLA timers that must have fired by
	// the end (default 1; 0 does not require any).
	MinAcks, MinFired int
	// AckWait bounds the wait for the first acknowledgement after a
	// start, and for MinAcks of them before a kill (default 30 s).
	AckWait time.Duration
	// NATS, when set, is an external NATS server (nats://127.0.0.1:4222)
	// that the server publishes to (--nats) and the harness subscribes
	// to. After the last kill the server is started once more, without
	// load, until its feed consumer "bus" has caught up; then every case
	// event on the change feed must have been received from the bus at
	// least once.
	NATS string
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
	// Syncs is what the durability check found in the server's system
	// calls, over every cycle (nil when it did not run).
	Syncs *syncReport
	// Fired counts the SLA timers that fired during the run, each checked
	// against the timeline for a second firing.
	Fired int
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
	fmt.Fprintf(&b, "; %d SLA timers fired", r.Fired)
	if r.Syncs != nil {
		b.WriteString("; " + r.Syncs.line())
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
	if cfg.MinAcks == 0 {
		cfg.MinAcks = 10
	}
	if cfg.AckWait <= 0 {
		cfg.AckWait = 30 * time.Second
	}
	if cfg.MinFired < 0 {
		cfg.MinFired = 0
	}
	if cfg.DB.URL != "" {
		cfg.Strace = "" // PostgreSQL's fsyncs are not the server's system calls
	}
	if cfg.Strace != "" && cfg.TraceDir == "" {
		return nil, errors.New("soak: Strace needs a TraceDir")
	}
	start := time.Now()
	rep := &Report{Name: cfg.Name, Unexpected: map[int]int{}}
	var first []string // notes from before the first cycle
	if cfg.DB.URL != "" {
		if err := checkPostgresDurability(ctx, cfg.DB, rep); err != nil {
			return rep, err
		}
		first, rep.Notes = rep.Notes, nil
	}
	var bl *busLog
	if cfg.NATS != "" {
		var err error
		if bl, err = listenBus(ctx, cfg.NATS); err != nil {
			return rep, fmt.Errorf("soak: subscribe to the bus at %s: %w", cfg.NATS, err)
		}
		defer bl.close()
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5eed))
	led := newLedger(fmt.Sprintf("soak-%x-", rng.Uint64()>>32))
	var ld *load
	rollups := rollupUnknown
	var rollupNote []string
	for cycle := 1; cycle <= cfg.Kills; cycle++ {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		trace := ""
		if cfg.Strace != "" {
			trace = filepath.Join(cfg.TraceDir, fmt.Sprintf("%s-strace-%d.txt", cfg.Name, cycle))
		}
		child, err := startServer(ctx, &cfg, trace)
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
		for warm := time.Now(); led.writes() == before && time.Since(warm) < cfg.AckWait && ctx.Err() == nil; {
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
		// A slow server (under strace, on a busy machine) gets up to
		// AckWait more to acknowledge MinAcks writes; one that cannot
		// fails the cycle below.
		for more := time.Now(); led.writes()-before < cfg.MinAcks && time.Since(more) < cfg.AckWait && ctx.Err() == nil; {
			time.Sleep(5 * time.Millisecond)
		}
		child.kill()
		stop()
		wg.Wait()
		rep.Kills = cycle
		res, err := verify(ctx, cfg.DB, led)
		if err != nil {
			return rep, fmt.Errorf("soak: check after kill %d: %w", cycle, err)
		}
		if n := led.writes() - before; n < cfg.MinAcks {
			res.problems = append(res.problems, fmt.Sprintf("cycle %d: %d writes acknowledged, fewer than the %d required: the load did not get through", cycle, n, cfg.MinAcks))
		}
		if trace != "" {
			if err := checkTrace(trace, cfg.KeepTraces, rep, res); err != nil {
				return rep, fmt.Errorf("soak: system calls of cycle %d: %w", cycle, err)
			}
		}
		rep.Fired = res.fired
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
	if bl == nil {
		rep.Notes = append(rep.Notes, "bus: not checked (no external NATS given)")
	} else if len(rep.Problems) == 0 && rep.Kills == cfg.Kills {
		res := &result{}
		if err := checkBusAfterRestart(ctx, &cfg, bl, res); err != nil {
			return rep, fmt.Errorf("soak: bus check: %w", err)
		}
		rep.Notes = append(rep.Notes, res.notes...)
		rep.Problems = append(rep.Problems, res.problems...)
	}
	st := led.stats()
	rep.Retried, rep.Replayed, rep.Conflicts, rep.Recovered = st.retried, st.replayed, st.conflicts, st.recovered
	for k, v := range st.unexpected {
		rep.Unexpected[k] = v
	}
	rep.Problems = append(rep.Problems, unexpectedProblems(st.unexpected, st.examples)...)
	rep.Problems = append(rep.Problems, st.problems...)
	if rep.Syncs != nil && rep.Syncs.Checked == 0 {
		rep.Problems = append(rep.Problems, "fsync: the server's system calls showed no acknowledged write to check")
	}
	if rep.Fired < cfg.MinFired && rep.Kills == cfg.Kills {
		rep.Problems = append(rep.Problems, fmt.Sprintf("timers: %d fired during the run, fewer than the %d required: \"no timer fired twice\" was not tested on real firings", rep.Fired, cfg.MinFired))
	}
	if ld != nil && ld.limitsNote != "" {
		rep.Notes = append([]string{ld.limitsNote}, rep.Notes...)
	}
	rep.Notes = append(first, rep.Notes...)
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// child is one running server process.
type child struct {
	cmd    *exec.Cmd
	url    string
	exited chan error
	// traced: cmd is strace, and the server is its child, which kill
	// must kill (strace then exits by itself).
	traced bool
}

var listening = regexp.MustCompile(`listening on (http://\S+)`)

// startServer starts the server on a free loopback port and waits until it
// answers /readyz. With a trace file, it runs under cfg.Strace.
func startServer(ctx context.Context, cfg *Config, trace string) (*child, error) {
	args := append(append([]string{}, cfg.Server[1:]...), "--addr", "127.0.0.1:0", "--log-level", "warn")
	args = append(args, cfg.DataArgs...)
	if cfg.NATS != "" {
		args = append(args, "--nats", cfg.NATS)
	}
	cmd := exec.Command(cfg.Server[0], args...)
	if trace != "" {
		cmd = exec.Command(cfg.Strace, append(append(straceArgs(trace), cfg.Server[0]), args...)...)
	}
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
	c := &child{cmd: cmd, exited: make(chan error, 1), traced: trace != ""}
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

// kill sends SIGKILL (kill -9) to the server and waits for the process
// (and its strace) to be gone.
func (c *child) kill() {
	if c.traced {
		if pid := tracee(c.cmd.Process.Pid); pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			select {
			case <-c.exited:
				return
			case <-time.After(30 * time.Second):
			}
		}
	}
	_ = c.cmd.Process.Kill()
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
	}
}

// tracee returns the pid of strace's child, or 0.
func tracee(strace int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", strace, strace))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	pid, _ := strconv.Atoi(f[0])
	return pid
}

// checkTrace checks one cycle's system calls, adds them to rep.Syncs and
// records a failure in res. A trace that passed is removed (they are
// large); one that failed is kept as the evidence.
func checkTrace(name string, keep bool, rep *Report, res *result) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	sr, err := checkSyncs(f)
	f.Close()
	if err != nil {
		return err
	}
	if rep.Syncs == nil {
		rep.Syncs = &syncReport{}
	}
	t := rep.Syncs
	t.Checked += sr.Checked
	t.Synced += sr.Synced
	t.Replays += sr.Replays
	t.WALWrites += sr.WALWrites
	t.WALSyncs += sr.WALSyncs
	t.Unpaired += sr.Unpaired
	if sr.Unpaired > 0 {
		// An answer whose request the parser missed might have been an
		// acknowledged write: the check cannot vouch for it.
		res.problems = append(res.problems, fmt.Sprintf("fsync: %d answers in %s could not be paired with their requests", sr.Unpaired, name))
	}
	if n := sr.Checked - sr.Synced; n > 0 {
		res.problems = append(res.problems, fmt.Sprintf("fsync: %d of %d acknowledged writes were answered without a write and an fsync of the WAL before the answer (trace kept: %s): %s",
			n, sr.Checked, name, listed(sr.Unsynced)))
		return nil
	}
	if keep || sr.Unpaired > 0 {
		return nil
	}
	return os.Remove(name)
}

// checkPostgresDurability checks that PostgreSQL makes a commit wait for
// the disk (fsync on, synchronous_commit not off): the server's own system
// calls cannot show it, since PostgreSQL's processes do the syncing.
func checkPostgresDurability(ctx context.Context, cfg db.Config, rep *Report) error {
	d, err := db.Open(ctx, cfg, nil)
	if err != nil {
		return err
	}
	defer d.Close()
	var fsync, commit string
	if err := d.QueryRow(ctx, `SELECT current_setting('fsync'), current_setting('synchronous_commit')`).Scan(&fsync, &commit); err != nil {
		return err
	}
	line := fmt.Sprintf("fsync: PostgreSQL has fsync=%s, synchronous_commit=%s", fsync, commit)
	if fsync != "on" || commit == "off" {
		rep.Problems = append(rep.Problems, line+": a commit does not wait for the disk")
		return nil
	}
	rep.Notes = append(rep.Notes, line+" (a commit waits for its WAL flush; the strace check covers SQLite only)")
	return nil
}

// unexpectedProblems turns the answers the load did not expect into
// failures. A server being killed answers nothing, so every status here
// came from a live server: a 5xx is its failure, a 4xx a request it
// refused that the load's script says must succeed.
func unexpectedProblems(unexpected map[int]int, examples []string) []string {
	codes := make([]int, 0, len(unexpected))
	for k := range unexpected {
		codes = append(codes, k)
	}
	sort.Ints(codes)
	var out []string
	for _, k := range codes {
		out = append(out, fmt.Sprintf("the server answered %d %d times, which the load did not expect (see its log)", k, unexpected[k]))
	}
	if len(out) > 0 && len(examples) > 0 {
		out = append(out, "unexpected answers: "+strings.Join(examples, "; "))
	}
	return out
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
