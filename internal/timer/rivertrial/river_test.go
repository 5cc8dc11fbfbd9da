package rivertrial

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite"
)

// The sizes of internal/timer's BenchmarkFire: 1,000,000 jobs scheduled a
// year ahead, 100,000 devices, and due jobs that must all be worked.
const (
	far     = 1_000_000
	devices = 100_000
	due     = 20_000
)

// FireArgs is a timer as a River job: the device and the timer's name.
type FireArgs struct {
	Device string `json:"device"`
	Name   string `json:"name"`
}

// Kind names the job kind.
func (FireArgs) Kind() string { return "testdevice" }

func deviceID(i int) string { return fmt.Sprintf("dev%06d", i%devices) }

// effect is internal/timer's deviceEffect: an UPDATE of the device's row
// and an INSERT of an event row.
const (
	updateDevice = `UPDATE test_devices SET alarms = alarms + 1, last_alarm_at = $1 WHERE id = $2`
	insertEvent  = `INSERT INTO test_device_events (device, name, payload, fired_at) VALUES ($1, $2, $3, $4)`
)

// sqliteWorker works a job on SQLite: the effect and the job's completion
// in one transaction, so the job fires exactly once with its effect.
type sqliteWorker struct {
	river.WorkerDefaults[FireArgs]
	db *sql.DB
}

func (w *sqliteWorker) Work(ctx context.Context, job *river.Job[FireArgs]) error {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	now := time.Now().UTC()
	if _, err := tx.ExecContext(ctx, updateDevice, now, job.Args.Device); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, insertEvent, job.Args.Device, job.Args.Name, "null", now); err != nil {
		return err
	}
	if _, err := river.JobCompleteTx[*riversqlite.Driver](ctx, tx, job); err != nil {
		return err
	}
	return tx.Commit()
}

// pgWorker is sqliteWorker on PostgreSQL.
type pgWorker struct {
	river.WorkerDefaults[FireArgs]
	pool *pgxpool.Pool
}

func (w *pgWorker) Work(ctx context.Context, job *river.Job[FireArgs]) error {
	tx, err := w.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	now := time.Now().UTC()
	if _, err := tx.Exec(ctx, updateDevice, now, job.Args.Device); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, insertEvent, job.Args.Device, job.Args.Name, "null", now); err != nil {
		return err
	}
	if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// BenchmarkRiverFire loads 1,000,000 jobs scheduled a year ahead and 20,000
// due ones, starts a River client and times it until it has worked the due
// ones, each in its own transaction with its effect (JobCompleteTx).
//
//	cd internal/timer/rivertrial && WHISTLE_TEST_POSTGRES=postgres://… go test -run '^$' -bench . -benchtime 1x -timeout 60m
func BenchmarkRiverFire(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) {
		ctx := context.Background()
		file := filepath.Join(b.TempDir(), "river.db")
		// Whistle's SQLite settings (internal/db), and one connection, as
		// riversqlite recommends.
		d, err := sql.Open("sqlite", "file:"+file+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)&_pragma=temp_store(MEMORY)&_txlock=immediate")
		if err != nil {
			b.Fatal(err)
		}
		defer d.Close()
		d.SetMaxOpenConns(1)
		drv := riversqlite.New(d)
		exec := func(q string, args ...any) {
			if _, err := d.ExecContext(ctx, q, args...); err != nil {
				b.Fatal(err)
			}
		}
		setup(b, drv, "", exec, "INTEGER PRIMARY KEY", "TIMESTAMP")
		workers := river.NewWorkers()
		river.AddWorker(workers, &sqliteWorker{db: d})
		c, err := river.NewClient(drv, &river.Config{Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 4}},
			Workers: workers, FetchCooldown: 5 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		load(b, c, func(ps []river.InsertManyParams) error {
			tx, err := d.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			if _, err := c.InsertManyTx(ctx, tx, ps); err != nil {
				return err
			}
			return tx.Commit()
		})
		exec(`ANALYZE`)
		fire(b, c, "sqlite", 4)
	})
	b.Run("postgres", func(b *testing.B) {
		ctx := context.Background()
		url := os.Getenv("WHISTLE_TEST_POSTGRES")
		if url == "" {
			b.Fatal("set WHISTLE_TEST_POSTGRES")
		}
		var rb [6]byte
		_, _ = rand.Read(rb[:])
		schema := "river_" + hex.EncodeToString(rb[:])
		admin, err := pgx.Connect(ctx, url)
		if err != nil {
			b.Fatal(err)
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, `CREATE SCHEMA `+schema); err != nil {
			b.Fatal(err)
		}
		defer admin.Exec(ctx, `DROP SCHEMA `+schema+` CASCADE`)
		cfg, err := pgxpool.ParseConfig(url)
		if err != nil {
			b.Fatal(err)
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = schema
		cfg.MaxConns = 24
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		drv := riverpgxv5.New(pool)
		exec := func(q string, args ...any) {
			if _, err := pool.Exec(ctx, q, args...); err != nil {
				b.Fatal(err)
			}
		}
		setup(b, drv, schema, exec, "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", "TIMESTAMPTZ")
		workers := river.NewWorkers()
		river.AddWorker(workers, &pgWorker{pool: pool})
		c, err := river.NewClient(drv, &river.Config{Queues: map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 20}},
			Workers: workers, Schema: schema, FetchCooldown: 5 * time.Millisecond})
		if err != nil {
			b.Fatal(err)
		}
		load(b, c, func(ps []river.InsertManyParams) error {
			_, err := c.InsertManyFast(ctx, ps)
			return err
		})
		exec(`ANALYZE`)
		fire(b, c, "postgres", 20)
	})
}

// setup migrates River's schema and creates the test kind's tables and
// devices.
func setup[TTx any](b *testing.B, drv riverdriver.Driver[TTx], schema string, exec func(string, ...any), id, ts string) {
	b.Helper()
	ctx := context.Background()
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Schema: schema})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		b.Fatal(err)
	}
	exec(`CREATE TABLE test_devices (id TEXT PRIMARY KEY, alarms INTEGER NOT NULL DEFAULT 0, last_alarm_at ` + ts + `)`)
	exec(`CREATE TABLE test_device_events (id ` + id + `, device TEXT NOT NULL, name TEXT NOT NULL, payload TEXT NOT NULL, fired_at ` + ts + ` NOT NULL)`)
	for i := 0; i < devices; i += 500 {
		q := `INSERT INTO test_devices (id) VALUES `
		var args []any
		for j := i; j < min(i+500, devices); j++ {
			if j > i {
				q += ","
			}
			args = append(args, deviceID(j))
			q += fmt.Sprintf("($%d)", len(args))
		}
		exec(q, args...)
	}
}

// load inserts the far-future jobs and the due ones, 10,000 per call.
func load[TTx any](b *testing.B, c *river.Client[TTx], insert func([]river.InsertManyParams) error) {
	b.Helper()
	start := time.Now()
	now := time.Now().UTC()
	mk := func(n int, name string, at func(i int) time.Time) {
		for i := 0; i < n; i += 10_000 {
			ps := make([]river.InsertManyParams, 0, 10_000)
			for j := i; j < min(i+10_000, n); j++ {
				ps = append(ps, river.InsertManyParams{Args: FireArgs{Device: deviceID(j), Name: fmt.Sprintf("%s%d", name, j/devices)},
					InsertOpts: &river.InsertOpts{ScheduledAt: at(j)}})
			}
			if err := insert(ps); err != nil {
				b.Fatal(err)
			}
		}
	}
	mk(far, "far", func(int) time.Time { return now.Add(365 * 24 * time.Hour) })
	mk(due, "near", func(i int) time.Time { return now.Add(-time.Hour + time.Duration(i)*time.Millisecond) })
	b.Logf("%d jobs loaded in %v", far+due, time.Since(start).Round(time.Millisecond))
}

// fire starts the client and times it until the due jobs are worked.
func fire[TTx any](b *testing.B, c *river.Client[TTx], store string, workers int) {
	b.Helper()
	ctx := context.Background()
	events, cancel := c.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed)
	defer cancel()
	runs := 0
	for b.Loop() {
		if runs++; runs > 1 {
			b.Fatal("the due jobs are worked once: run with -benchtime 1x")
		}
		if err := c.Start(ctx); err != nil {
			b.Fatal(err)
		}
		for done := 0; done < due; {
			select {
			case e := <-events:
				if e.Kind != river.EventKindJobCompleted {
					b.Fatalf("job %d: %s: %v", e.Job.ID, e.Kind, e.Job.Errors)
				}
				done++
			case <-time.After(5 * time.Minute):
				b.Fatalf("%d of %d jobs worked after 5 minutes", done, due)
			}
		}
		b.StopTimer()
		if err := c.Stop(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(due*b.N)/b.Elapsed().Seconds(), "fires/s")
	b.ReportMetric(0, "ns/op")
	b.Logf("riverbench store=%s workers=%d fired=%d pending=%d seconds=%.3f per_second=%.1f",
		store, workers, due, far+due, b.Elapsed().Seconds(), float64(due)/b.Elapsed().Seconds())
}
