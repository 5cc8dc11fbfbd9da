package benchreport

import (
	"bytes"
	"cmp"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Runs is everything one `make bench` saved, read back from its directory.
//
// The directory holds, as scripts/bench.sh writes them:
//
//	env.txt                          "key: value" lines: date, cpu, cores, versions, load averages…
//	SECTION.commands                 the exact commands a section ran (point, calendar, timers, intake, queue, scale)
//	point-*.RUN.txt                  go test -bench output (geo, region)
//	calendar.RUN.txt                 go test -bench output (sla/calendar, sla)
//	timers.RUN.txt                   go test -run TestFireRate -v output (sla)
//	queue.RUN.txt                    go test -bench output (web)
//	intake-STORE.RUN.txt             whistle bench intake (STORE_before: the INTAKE_BEFORE binary)
//	intake-pgbench.RUN.txt           pgbench, the PostgreSQL baseline of intake
//	scale-STORE-CASES.meta.txt       "key: value": generate_seconds, db_bytes
//	scale-STORE-CASES.rollup.RUN.txt whistle rollup bench --url
//	scale-STORE-CASES.console.RUN.txt whistle bench console
type Runs struct {
	// Env is env.txt.
	Env map[string]string
	// Commands maps a section to the commands it ran.
	Commands map[string][]string
	Point    Samples
	Calendar Samples
	Queue    Samples
	// Timers are the runs of the timer scheduler's TestFireRate.
	Timers []FireRate
	// Intake maps a store to its runs: "sqlite", "postgres", and
	// "sqlite_before", "postgres_before" for the binary of an earlier
	// revision run alternately with them (INTAKE_BEFORE).
	Intake map[string][]Intake
	// Pgbench are the runs of the PostgreSQL baseline of intake.
	Pgbench []Pgbench
	// Scale is sorted by cases, then store.
	Scale []*Scale
	// Problems are the raw files that could not be read, for the report's
	// notes.
	Problems []string
}

// Scale is the data of one store at one number of cases.
type Scale struct {
	Store    string
	Cases    int64
	Meta     map[string]string
	Rollups  []Rollup
	Consoles []Console
}

// Runs of go bench sections, by the first word of their file names.
var goBenchSections = map[string]func(*Runs) Samples{
	"point":    func(r *Runs) Samples { return r.Point },
	"calendar": func(r *Runs) Samples { return r.Calendar },
	"queue":    func(r *Runs) Samples { return r.Queue },
}

var (
	intakeFile  = regexp.MustCompile(`^intake-(\w+)\.\d+\.txt$`)
	pgbenchFile = regexp.MustCompile(`^intake-pgbench\.\d+\.txt$`)
	scaleFile   = regexp.MustCompile(`^scale-(\w+)-(\d+)\.(meta|rollup|console)(?:\.\d+)?\.txt$`)
	goFile      = regexp.MustCompile(`^(point|calendar|queue)[-.].*txt$`)
	timersFile  = regexp.MustCompile(`^timers\.\d+\.txt$`)
)

// Load reads a bench output directory. Files it cannot read are listed in
// Problems, not fatal, so that one failed run still leaves a report.
func Load(dir fs.FS) (*Runs, error) {
	r := &Runs{Env: map[string]string{}, Commands: map[string][]string{}, Point: Samples{}, Calendar: Samples{}, Queue: Samples{},
		Intake: map[string][]Intake{}}
	entries, err := fs.ReadDir(dir, ".")
	if err != nil {
		return nil, err
	}
	scales := map[string]*Scale{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() {
			continue
		}
		b, err := fs.ReadFile(dir, name)
		if err != nil {
			return nil, err
		}
		problem := func(err error) { r.Problems = append(r.Problems, fmt.Sprintf("%s: %v", name, err)) }
		switch {
		case name == "env.txt":
			r.Env, err = ParseKV(bytes.NewReader(b))
			if err != nil {
				return nil, err
			}
		case strings.HasSuffix(name, ".commands"):
			sec := strings.TrimSuffix(name, ".commands")
			for _, l := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
				if l != "" {
					r.Commands[sec] = append(r.Commands[sec], RedactURL(l))
				}
			}
		case goFile.MatchString(name):
			lines, err := ParseGoBench(bytes.NewReader(b))
			if err != nil {
				problem(err)
				continue
			}
			goBenchSections[goFile.FindStringSubmatch(name)[1]](r).Add(lines)
		case timersFile.MatchString(name):
			fr, err := ParseFireRate(bytes.NewReader(b))
			if err != nil {
				problem(err)
				continue
			}
			r.Timers = append(r.Timers, fr)
		case pgbenchFile.MatchString(name):
			p, err := ParsePgbench(bytes.NewReader(b))
			if err != nil {
				problem(err)
				continue
			}
			r.Pgbench = append(r.Pgbench, p)
		case intakeFile.MatchString(name):
			in, err := ParseIntake(bytes.NewReader(b))
			if err != nil {
				problem(err)
				continue
			}
			store := intakeFile.FindStringSubmatch(name)[1]
			r.Intake[store] = append(r.Intake[store], in)
		case scaleFile.MatchString(name):
			m := scaleFile.FindStringSubmatch(name)
			key := m[1] + "-" + m[2]
			sc := scales[key]
			if sc == nil {
				cases, _ := strconv.ParseInt(m[2], 10, 64)
				sc = &Scale{Store: m[1], Cases: cases}
				scales[key] = sc
			}
			switch m[3] {
			case "meta":
				sc.Meta, err = ParseKV(bytes.NewReader(b))
			case "rollup":
				var ro Rollup
				if ro, err = ParseRollup(bytes.NewReader(b)); err == nil {
					sc.Rollups = append(sc.Rollups, ro)
				}
			case "console":
				var co Console
				if co, err = ParseConsole(bytes.NewReader(b)); err == nil {
					sc.Consoles = append(sc.Consoles, co)
				}
			}
			if err != nil {
				problem(err)
			}
		}
	}
	for _, sc := range scales {
		r.Scale = append(r.Scale, sc)
	}
	slices.SortFunc(r.Scale, func(a, b *Scale) int {
		if a.Cases != b.Cases {
			return cmp.Compare(a.Cases, b.Cases)
		}
		return storeOrder(a.Store) - storeOrder(b.Store)
	})
	return r, nil
}

// storeOrder puts SQLite, the default, first.
func storeOrder(s string) int {
	if s == "sqlite" {
		return 0
	}
	return 1
}

var urlPassword = regexp.MustCompile(`(://[^:/@\s]+):[^@\s]+@`)

// RedactURL hides the password of any URL in s.
func RedactURL(s string) string {
	return urlPassword.ReplaceAllString(s, "$1:***@")
}
