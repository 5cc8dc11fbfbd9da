package workflow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// Store keeps the versions of the workflow definitions (workflow_versions)
// and which one of each name is active. Versions never change once stored,
// so they are cached in memory. Which one is active is cached too: an
// Upload through this Store moves it at once, and an upload through
// another replica's Store is seen after at most ActiveMaxAge.
type Store struct {
	db     *db.DB
	mu     sync.RWMutex
	vocabs map[string]Vocab // by kind
	defs   map[nameVersion]*Definition
	active map[string]activeEntry
	// ActiveMaxAge bounds how long the active version of a name is taken
	// from memory before the table is asked again (other replicas).
	ActiveMaxAge time.Duration
	// Logger tells of shipped versions activated or held back at Register.
	Logger *slog.Logger
}

// DefaultActiveMaxAge is how stale another replica's upload may be seen.
const DefaultActiveMaxAge = 5 * time.Second

type activeEntry struct {
	version int
	read    time.Time
}

type nameVersion struct {
	name    string
	version int
}

// NewStore returns a Store on d. Kinds become known through Register.
func NewStore(d *db.DB) *Store {
	return &Store{db: d, vocabs: map[string]Vocab{}, defs: map[nameVersion]*Definition{}, active: map[string]activeEntry{},
		ActiveMaxAge: DefaultActiveMaxAge, Logger: slog.New(slog.DiscardHandler)}
}

// Shipped is the created_by of the versions that came with the binary.
const Shipped = "shipped"

// Register makes a subject kind known with the vocabulary its module
// interprets, and stores each shipped definition whose (name, version) is
// missing; a name without an active version gets the shipped one. Each
// shipped definition must validate.
//
// A shipped definition with a higher version than every shipped one
// stored before (a new binary changed the file) is stored and activated,
// with its diff and a workflow.upload audit entry by "shipped"; unless an
// administrator uploaded a version after the last shipped one: then the
// administrator's stays active, the new shipped version is stored
// inactive (when its number is free) and a warning is logged.
func (s *Store) Register(ctx context.Context, v Vocab, shipped ...*Definition) (err error) {
	defer errs.Wrapf(&err, "workflow.Register(%s)", v.Kind)
	for _, d := range shipped {
		if ps := Validate(d, v); ps != nil {
			return fmt.Errorf("%s v%d: %w", d.Name, d.Version, ps)
		}
	}
	s.mu.Lock()
	s.vocabs[v.Kind] = v
	s.mu.Unlock()
	for _, d := range shipped {
		body, err := d.Marshal()
		if err != nil {
			return err
		}
		if err := s.db.InTx(ctx, func(tx *db.Tx) error { return s.registerShipped(ctx, tx, d, body) }); err != nil {
			return db.Translate(err)
		}
		s.mu.Lock()
		delete(s.active, d.Name)
		s.mu.Unlock()
	}
	return nil
}

// registerShipped stores the shipped definition d (body) as Register says.
func (s *Store) registerShipped(ctx context.Context, tx *db.Tx, d *Definition, body []byte) error {
	var exists, shipped, latest int
	var admin string
	if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM workflow_versions WHERE name = $1 AND version = $2`, d.Name, d.Version).Scan(&exists); err != nil {
		return err
	}
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM workflow_versions WHERE name = $1 AND created_by = $2`, d.Name, Shipped).Scan(&shipped); err != nil {
		return err
	}
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM workflow_versions WHERE name = $1`, d.Name).Scan(&latest); err != nil {
		return err
	}
	var active int
	err := tx.QueryRow(ctx, `SELECT version FROM workflow_versions WHERE name = $1 AND active = $2`, d.Name, true).Scan(&active)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	// insert reports whether this start stored the version: replicas
	// starting together race, and one of them does.
	insert := func(diff string, activate bool) (bool, error) {
		res, err := tx.Exec(ctx, `INSERT INTO workflow_versions (name, version, kind, body, diff, created_by, created_at, active)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`, d.Name, d.Version, d.Kind, string(body), diff, Shipped, tx.Now(), activate)
		if err != nil {
			return false, err
		}
		n, err := res.RowsAffected()
		return n == 1, err
	}
	switch {
	case exists > 0:
		return nil
	case active == 0:
		_, err := insert("", true)
		return err
	case d.Version <= shipped:
		_, err := insert("", false) // an older shipped version, for the items that follow it
		return err
	case latest > shipped:
		if err := tx.QueryRow(ctx, `SELECT created_by FROM workflow_versions WHERE name = $1 AND version = $2`, d.Name, latest).Scan(&admin); err != nil {
			return err
		}
		s.Logger.Warn("workflow: a newer shipped version is not activated over an administrator's upload", "workflow", d.Name,
			"shipped", d.Version, "active", active, "uploaded_by", admin)
		if d.Version > latest {
			_, err := insert("", false)
			return err
		}
		return nil
	}
	var prev string
	if err := tx.QueryRow(ctx, `SELECT body FROM workflow_versions WHERE name = $1 AND version = $2`, d.Name, active).Scan(&prev); err != nil {
		return err
	}
	p, err := Parse([]byte(prev))
	if err != nil {
		return err
	}
	diff := strings.Join(Diff(p, d), "\n")
	if stored, err := insert(diff, false); err != nil || !stored {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE workflow_versions SET active = $1 WHERE name = $2 AND active = $3`, false, d.Name, true); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `UPDATE workflow_versions SET active = $1 WHERE name = $2 AND version = $3`, true, d.Name, d.Version); err != nil {
		return err
	}
	s.Logger.Info("workflow: shipped version activated", "workflow", d.Name, "version", d.Version, "was", active)
	summary := fmt.Sprintf("%s v%d → v%d (shipped)", d.Name, active, d.Version)
	if diff != "" {
		summary += ":\n" + diff
	}
	return audit.Record(ctx, tx, audit.System(Shipped), "workflow.upload", fmt.Sprintf("workflow:%s@%d", d.Name, d.Version), summary)
}

// Active returns the active version of the named workflow.
func (s *Store) Active(ctx context.Context, name string) (_ *Definition, err error) {
	defer errs.Wrapf(&err, "workflow.Active(%s)", name)
	now := s.db.Clock().Now()
	s.mu.RLock()
	e, ok := s.active[name]
	s.mu.RUnlock()
	if !ok || now.Sub(e.read) > s.ActiveMaxAge {
		var v int
		err := s.db.QueryRow(ctx, `SELECT version FROM workflow_versions WHERE name = $1 AND active = $2`, name, true).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errs.E(errs.NotFound, "workflow.not_found", name)
		}
		if err != nil {
			return nil, err
		}
		e = activeEntry{version: v, read: now}
		s.mu.Lock()
		s.active[name] = e
		s.mu.Unlock()
	}
	return s.Get(ctx, name, e.version)
}

// Get returns one version of the named workflow.
func (s *Store) Get(ctx context.Context, name string, version int) (_ *Definition, err error) {
	defer errs.Wrapf(&err, "workflow.Get(%s, %d)", name, version)
	k := nameVersion{name, version}
	s.mu.RLock()
	d, ok := s.defs[k]
	s.mu.RUnlock()
	if ok {
		return d, nil
	}
	var body string
	err = s.db.QueryRow(ctx, `SELECT body FROM workflow_versions WHERE name = $1 AND version = $2`, name, version).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "workflow.not_found", name)
	}
	if err != nil {
		return nil, err
	}
	d, err = Parse([]byte(body))
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.defs[k] = d
	s.mu.Unlock()
	return d, nil
}

// Version is one stored version of a workflow, without its body.
type Version struct {
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	Version   int       `json:"version"`
	Active    bool      `json:"active"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	Diff      []string  `json:"diff"`
}

// List returns every stored version, by name then version. name, when
// set, keeps that workflow's versions only.
func (s *Store) List(ctx context.Context, name string) (_ []Version, err error) {
	defer errs.Wrapf(&err, "workflow.List(%s)", name)
	q := `SELECT name, kind, version, active, created_by, created_at, diff FROM workflow_versions`
	var args []any
	if name != "" {
		q += ` WHERE name = $1`
		args = append(args, name)
	}
	rows, err := s.db.Query(ctx, q+` ORDER BY name, version`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Version{}
	for rows.Next() {
		var v Version
		var at db.Time
		var diff string
		if err := rows.Scan(&v.Name, &v.Kind, &v.Version, &v.Active, &v.CreatedBy, &at, &diff); err != nil {
			return nil, err
		}
		v.CreatedAt = at.Time
		v.Diff = []string{}
		if diff != "" {
			v.Diff = strings.Split(diff, "\n")
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Uploaded is the outcome of an upload: the version it is (or would be)
// stored as, the diff against the active version, and whether it was
// applied.
type Uploaded struct {
	Name    string   `json:"name"`
	Version int      `json:"version"`
	Applied bool     `json:"applied"`
	Diff    []string `json:"diff"`
}

// Upload parses and validates body as a new version of a known workflow
// and computes its diff against the active version. Without apply it
// stops there (the diff shown before activation). With apply it stores
// the definition as the next version and makes it active, in one
// transaction with an audit entry (workflow.upload) holding the diff.
// Items already running keep their version. A body that does not parse
// or validate is Invalid with one field message per problem.
func (s *Store) Upload(ctx context.Context, actor audit.Actor, body []byte, apply bool) (_ *Uploaded, err error) {
	defer errs.Wrapf(&err, "workflow.Upload(apply=%v)", apply)
	d, err := Parse(body)
	if err != nil {
		return nil, errs.E(errs.Invalid, "workflow.invalid").Field("definition", "workflow.bad_json", strings.TrimPrefix(err.Error(), "workflow: "))
	}
	s.mu.RLock()
	v, ok := s.vocabs[d.Kind]
	s.mu.RUnlock()
	if !ok {
		return nil, errs.E(errs.Invalid, "workflow.invalid").Field("kind", "workflow.unknown_kind", d.Kind)
	}
	// The diff is against the version active now, whichever replica
	// activated it: the table, not this Store's cache, says which.
	var active int
	err = s.db.QueryRow(ctx, `SELECT version FROM workflow_versions WHERE name = $1 AND active = $2`, d.Name, true).Scan(&active)
	if errors.Is(err, sql.ErrNoRows) {
		err = errs.E(errs.NotFound, "workflow.not_found", d.Name)
	}
	var prev *Definition
	if err == nil {
		prev, err = s.Get(ctx, d.Name, active)
	}
	if errs.Is(err, errs.NotFound) {
		// A new workflow name would have no items and no module using it.
		return nil, errs.E(errs.Invalid, "workflow.invalid").Field("name", "workflow.unknown_name", d.Name)
	}
	if err != nil {
		return nil, err
	}
	if d.Kind != prev.Kind {
		return nil, errs.E(errs.Invalid, "workflow.invalid").Field("kind", "workflow.bad_kind", d.Kind, prev.Kind)
	}
	// The version is the store's to number: the body's is ignored.
	var max int
	if err := s.db.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM workflow_versions WHERE name = $1`, d.Name).Scan(&max); err != nil {
		return nil, err
	}
	d.Version = max + 1
	if ps := Validate(d, v); ps != nil {
		e := errs.E(errs.Invalid, "workflow.invalid")
		for i, p := range ps {
			e.Field(fmt.Sprintf("problems[%d]", i), p.Key, p.Args...)
		}
		return nil, e
	}
	out := &Uploaded{Name: d.Name, Version: d.Version, Diff: Diff(prev, d)}
	if out.Diff == nil {
		out.Diff = []string{}
	}
	if !apply {
		return out, nil
	}
	stored, err := d.Marshal()
	if err != nil {
		return nil, err
	}
	diff := strings.Join(out.Diff, "\n")
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		// Another upload activated a version since the diff was made: the
		// diff would lie, so the caller must look again.
		res, err := tx.Exec(ctx, `UPDATE workflow_versions SET active = $1 WHERE name = $2 AND version = $3 AND active = $4`, false, d.Name, prev.Version, true)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n != 1 {
			return errs.E(errs.Conflict, "workflow.changed", d.Name)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO workflow_versions (name, version, kind, body, diff, created_by, created_at, active)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, d.Name, d.Version, d.Kind, string(stored), diff, actor.Name, tx.Now(), true); err != nil {
			return db.Translate(err)
		}
		summary := fmt.Sprintf("%s v%d → v%d", d.Name, prev.Version, d.Version)
		if diff != "" {
			summary += ":\n" + diff
		}
		return audit.Record(ctx, tx, actor, "workflow.upload", fmt.Sprintf("workflow:%s@%d", d.Name, d.Version), summary)
	})
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.defs[nameVersion{d.Name, d.Version}] = d
	s.active[d.Name] = activeEntry{version: d.Version, read: s.db.Clock().Now()}
	s.mu.Unlock()
	out.Applied = true
	return out, nil
}
