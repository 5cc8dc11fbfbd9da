// Package worldtest builds small seeded worlds for tests: on a database
// from dbtest, a region tree, departments, the default category catalogue
// (and, on request, the default working calendar), users with roles, an
// account store with cheap password hashing and a case service, with the
// rollups on request. Only tests import it.
//
// It does not import sla, so that sla's own in-package tests can use it:
// the tests that want an SLA engine build one on the World's stores and
// hook it into World.Cases themselves (before AddStats, which hooks the
// rollups after it, as a server does).
package worldtest

import (
	"context"
	"log/slog"
	"slices"
	"testing"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/db"
	"whistle/internal/media"
	"whistle/internal/region"
	"whistle/internal/sla/calendar"
	"whistle/internal/stats"
)

// Password is every seeded user's password.
const Password = "secret-pass"

// Actor is the audit actor worlds are seeded as.
func Actor() audit.Actor { return audit.System("test") }

// Department is a department to add under the district.
type Department struct {
	Code, Name string
}

// User is a user to add, with one role.
type User struct {
	Name, Region string
	Role         account.Role
	// Department is the department code of a department handler.
	Department string
}

// Options says what New seeds and how the services are set up. The zero
// Options seeds the default category catalogue and nothing else.
type Options struct {
	// Regions is the tree to import, parents first; each feature's Index
	// is set from its place.
	Regions []region.Feature
	// Departments are added under the first district in Regions.
	Departments []Department
	// Users are added in order.
	Users []User
	// Phone is every user's phone number (none when empty).
	Phone string
	// Calendar seeds the default working calendar.
	Calendar bool
	// Seed, when set, runs once the rest is seeded and before the case
	// service starts: for more categories, API keys or another tree.
	Seed func(ctx context.Context, w *World) error
	// Cases configures the case service; the zero Config is
	// casework.DefaultConfig().
	Cases casework.Config
	// Logger is given to the case service as it is.
	Logger *slog.Logger
}

// World is a seeded database and the stores and services on it.
type World struct {
	DB         *db.DB
	Regions    *region.Store
	Accounts   *account.Store
	Categories *category.Store
	Calendar   *calendar.Store
	Blobs      *media.FSStore
	// Cases is closed when the test ends.
	Cases *casework.Service
	// Stats is nil until AddStats.
	Stats *stats.Store
	// Users are the seeded users by name.
	Users map[string]*account.User
}

// New seeds the world opts describes on d, a freshly migrated database,
// and starts its case service.
func New(tb testing.TB, d *db.DB, opts Options) *World {
	tb.Helper()
	ctx := context.Background()
	actor := Actor()
	w := stores(tb, d)
	feats := slices.Clone(opts.Regions)
	district := ""
	for i := range feats {
		feats[i].Index = i + 1
		if feats[i].Level == region.District && district == "" {
			district = feats[i].Code
		}
	}
	if len(feats) > 0 {
		if _, err := w.Regions.Import(ctx, actor, feats); err != nil {
			tb.Fatalf("import regions: %v", err)
		}
	}
	for _, dep := range opts.Departments {
		if _, err := w.Accounts.AddDepartment(ctx, actor, dep.Code, dep.Name, district); err != nil {
			tb.Fatalf("add department %s: %v", dep.Code, err)
		}
	}
	if _, err := w.Categories.SeedDefaults(ctx, actor); err != nil {
		tb.Fatalf("seed categories: %v", err)
	}
	if opts.Calendar {
		if _, err := w.Calendar.SeedDefaults(ctx, actor); err != nil {
			tb.Fatalf("seed calendar: %v", err)
		}
	}
	for _, u := range opts.Users {
		nu := account.NewUser{Username: u.Name, Password: Password, Roles: []account.Role{u.Role}, RegionCode: u.Region,
			DepartmentCode: u.Department, Phone: opts.Phone}
		added, err := w.Accounts.AddUser(ctx, actor, account.SystemScope(), nu)
		if err != nil {
			tb.Fatalf("add user %s: %v", u.Name, err)
		}
		w.Users[u.Name] = added
	}
	if opts.Seed != nil {
		if err := opts.Seed(ctx, w); err != nil {
			tb.Fatalf("seed: %v", err)
		}
	}
	w.startCases(tb, opts)
	return w
}

// Open starts the stores and the case service on d, whose world is
// already seeded, as a process starting on an existing database does. The
// seeding fields of opts are ignored, and Users is empty.
func Open(tb testing.TB, d *db.DB, opts Options) *World {
	tb.Helper()
	w := stores(tb, d)
	if err := w.Regions.Reload(context.Background()); err != nil {
		tb.Fatalf("reload regions: %v", err)
	}
	w.startCases(tb, opts)
	return w
}

// stores makes the stores on d: accounts hash passwords cheaply, and
// blobs live in a temporary directory.
func stores(tb testing.TB, d *db.DB) *World {
	tb.Helper()
	cfg := account.DefaultConfig()
	cfg.Argon2 = account.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}
	acc, err := account.NewStore(d, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	blobs, err := media.NewFSStore(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return &World{DB: d, Regions: region.NewStore(d), Accounts: acc, Categories: category.NewStore(d), Calendar: calendar.NewStore(d),
		Blobs: blobs, Users: map[string]*account.User{}}
}

// startCases starts the case service as opts says.
func (w *World) startCases(tb testing.TB, opts Options) {
	tb.Helper()
	svc, err := casework.NewService(casework.Deps{DB: w.DB, Regions: w.Regions, Accounts: w.Accounts, Catalog: casework.NewCatalog(w.Categories),
		Blobs: w.Blobs, Logger: opts.Logger, Config: opts.Cases})
	if err != nil {
		tb.Fatalf("case service: %v", err)
	}
	tb.Cleanup(svc.Close)
	w.Cases = svc
}

// AddStats starts the rollups and makes them the case service's Rollups
// (which it calls after the deadline computation, whenever that is set). cal is the SLA engine's calendar
// ((*sla.Engine).Calendar); nil counts natural hours.
func (w *World) AddStats(tb testing.TB, cal func() *calendar.Calendar) *stats.Store {
	tb.Helper()
	st, err := stats.New(stats.Deps{DB: w.DB, Regions: w.Regions, Categories: w.Categories, Calendar: cal, Accounts: w.Accounts})
	if err != nil {
		tb.Fatalf("stats: %v", err)
	}
	w.Cases.UseRollups(st)
	w.Cases.UseQueueCounter(st)
	w.Stats = st
	return st
}
