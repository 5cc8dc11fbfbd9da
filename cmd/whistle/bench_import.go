package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/demo"
	"whistle/internal/regimport"
	"whistle/internal/region"
	"whistle/internal/registry"
)

// cmdBenchImport is `whistle bench import`: it writes a CSV of N people of
// the demo district and loads it twice into fresh SQLite databases in one
// process — first the baseline, a plain bulk INSERT of the same rows read
// by the same CSV reader (no validation, no upsert, no history), then
// `whistle import people` (every row validated, upserted by identity
// number, history written, one transaction) — and then imports it again
// (every row unchanged).
func cmdBenchImport(ctx context.Context, args []string, e env) error {
	var rows int
	var dir string
	fs := flag.NewFlagSet("bench import", flag.ContinueOnError)
	fs.IntVar(&rows, "rows", 1000000, "people in the file")
	fs.StringVar(&dir, "dir", "", "working directory (default: a new temp dir, removed afterwards)")
	var profiles profileFlags
	profiles.register(fs, "the import (not the baseline)")
	if _, err := parse(fs, args, e); err != nil {
		return err
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "whistle-bench-import-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	base, err := benchDB(ctx, filepath.Join(dir, "base"), e)
	if err != nil {
		return err
	}
	defer base.db.Close()
	imp, err := benchDB(ctx, filepath.Join(dir, "import"), e)
	if err != nil {
		return err
	}
	defer imp.db.Close()
	var grids []string
	paths := map[string]string{}
	nodes, err := base.regions.All(ctx, false)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if n.Level == region.Grid {
			grids = append(grids, n.Code)
			paths[n.Code] = n.Path
		}
	}
	file := filepath.Join(dir, "people.csv")
	t0 := time.Now()
	if err := writePeopleCSV(file, demo.People(rows, 1, grids, time.Now())); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s: %d people in %d grids (%s)\n", file, rows, len(grids), time.Since(t0).Round(time.Millisecond))
	runtime.GC()
	fmt.Fprintf(e.stdout, "load before: %s\n", loadAvg())
	t0, c0 := time.Now(), cpuTime()
	n, err := bulkInsert(ctx, base.db, file, paths)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	baseDur := time.Since(t0)
	fmt.Fprintf(e.stdout, "baseline  plain bulk INSERT:          %8d rows in %6.1f s  %8.0f rows/s  CPU %6.1f s\n", n, baseDur.Seconds(),
		float64(n)/baseDur.Seconds(), (cpuTime() - c0).Seconds())
	runtime.GC()
	reg := registry.NewStore(registry.Deps{DB: imp.db, Regions: imp.regions})
	im, err := regimport.New(regimport.Deps{Registry: reg, Regions: imp.regions, Clock: clock.Real{}})
	if err != nil {
		return err
	}
	stop, err := profiles.start()
	if err != nil {
		return err
	}
	defer stop()
	for _, run := range []string{"import    validated upsert + history:", "re-import every row unchanged:      "} {
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		t0, c0 = time.Now(), cpuTime()
		rep, err := im.Import(ctx, account.SystemScope(), audit.System("bench import"), regimport.People, f, regimport.Options{PreviewRows: -1})
		f.Close()
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		d := time.Since(t0)
		fmt.Fprintf(e.stdout, "%s %8d rows in %6.1f s  %8.0f rows/s  CPU %6.1f s  (%d created, %d updated, %d unchanged; %.1fx the baseline's time)\n",
			run, rep.Rows, d.Seconds(), float64(rep.Rows)/d.Seconds(), (cpuTime() - c0).Seconds(), rep.Result.Created, rep.Result.Updated,
			rep.Result.Unchanged, d.Seconds()/baseDur.Seconds())
		runtime.GC()
	}
	fmt.Fprintf(e.stdout, "load after: %s (%d CPUs)\n", loadAvg(), runtime.NumCPU())
	return nil
}

// benchDB opens a fresh SQLite database in dir with the demo district.
func benchDB(ctx context.Context, dir string, e env) (*app, error) {
	o := options{data: dir, logLevel: "warn"}
	a, err := open(ctx, &o, e)
	if err != nil {
		return nil, err
	}
	if _, err := demo.Seed(ctx, a.regions, a.accounts, demo.SeedOptions{Seed: 1, Password: "bench-import-password"}); err != nil {
		a.db.Close()
		return nil, err
	}
	return a, nil
}

// peopleHeader is the people layout's header, as a district file has it.
func peopleHeader() []string {
	return []string{"姓名", "公民身份号码", "性别", "出生日期", "联系电话", "户籍地址", "现住址", "人员类型", "登记日期", "户号", "与户主关系", "所属网格"}
}

func writePeopleCSV(name string, people []registry.PersonInput) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	w := csv.NewWriter(bufio.NewWriterSize(f, 1<<20))
	_ = w.Write(peopleHeader())
	sex := map[string]string{"M": "男", "F": "女"}
	status := map[string]string{registry.StatusResident: "常住", registry.StatusFloating: "流动", registry.StatusLodging: "寄住"}
	for _, p := range people {
		_ = w.Write([]string{p.Name, p.IDNumber, sex[p.Sex], p.BirthDate, p.Phone, p.HukouAddress, p.ResidenceAddress, status[p.Status],
			p.RegisteredOn, p.HouseholdID, p.HouseholdRel, p.GridCode})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// bulkInsert is the baseline: the file's rows read by the import's reader
// and inserted as they are, 500 a statement, in one transaction.
func bulkInsert(ctx context.Context, d *db.DB, file string, paths map[string]string) (int, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	t, err := regimport.OpenTable(f)
	if err != nil {
		return 0, err
	}
	const chunk, width = 500, 15
	code := map[string]string{"男": "M", "女": "F", "常住": registry.StatusResident, "流动": registry.StatusFloating, "寄住": registry.StatusLodging}
	n := 0
	now := d.Now()
	err = d.InTx(ctx, func(tx *db.Tx) error {
		args := make([]any, 0, chunk*width)
		flush := func() error {
			if len(args) == 0 {
				return nil
			}
			rows := len(args) / width
			_, err := tx.Exec(ctx, `INSERT INTO reg_people (id_number, name, sex, birth_date, phone, hukou_address, residence_address, status,
				registered_on, household_id, household_relation, grid_code, region_path, created_at, updated_at) VALUES `+
				db.Placeholders(tx.Dialect(), rows, width), args...)
			args = args[:0]
			return err
		}
		for {
			_, c, err := t.Next()
			if errors.Is(err, io.EOF) {
				return flush()
			}
			if err != nil {
				return err
			}
			c = append([]string(nil), c...)
			args = append(args, c[1], c[0], code[c[2]], c[3], c[4], c[5], c[6], code[c[7]], c[8], c[9], c[10], c[11], paths[c[11]], now, now)
			n++
			if len(args) == chunk*width {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	})
	return n, err
}

// loadAvg is the first three fields of /proc/loadavg, or "unknown".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// cpuTime is the process's user and system CPU time so far: on a loaded
// machine it shows the work done, which wall time does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
