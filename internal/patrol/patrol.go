// Package patrol records grid workers' patrols (巡查) as GPS tracks: a
// worker starts a patrol in their grid, sends the fixes of their phone in
// batches and stops it. A resent batch never duplicates a fix (the key is
// the patrol and the fix's time), a fix far out of order or with bad
// coordinates is refused with a field error, and a fix reached at an
// absurd speed is kept but flagged and left out of the figures.
//
// After every batch the summary is recomputed from the stored fixes: the
// distance (a haversine sum that ignores jitter below the fixes'
// accuracy, see Distance), the duration, and the share of the grid
// covered by the track buffered by Config.CoverageRadius (see Coverage for
// the method).
//
// Tracks are personal data. A patrol is visible to the worker who walked
// it and to their supervisors: community, street and district staff
// (and leaders and administrators) whose region scope covers the grid.
// Other grid workers, department handlers and residents get a 404. Only
// the worker who started a patrol may add fixes to it or stop it. Patrols
// older than Config.Retention are deleted by Prune.
package patrol

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/paulmach/orb"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/region"
)

// Config tunes the checks and the figures.
type Config struct {
	// CoverageRadius is the buffer around the track, in metres, that
	// counts as covered (默认 30 m).
	CoverageRadius float64
	// MaxSpeed, in metres a second, flags a fix reached faster from the
	// previous unflagged fix (default 50 m/s, 180 km/h).
	MaxSpeed float64
	// MaxLag is how far before the patrol's latest stored fix a new fix
	// may lie (a phone's queue sent out of order); older is refused.
	MaxLag time.Duration
	// MaxAhead is how far after the server's clock a fix may lie.
	MaxAhead time.Duration
	// MaxBatch is the most fixes one request may carry.
	MaxBatch int
	// Retention is how long a patrol is kept, from its start; 0 keeps
	// patrols for ever.
	Retention time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{CoverageRadius: 30, MaxSpeed: 50, MaxLag: 2 * time.Minute, MaxAhead: 2 * time.Minute, MaxBatch: 500,
		Retention: 180 * 24 * time.Hour}
}

// Patrol is one patrol and its summary.
type Patrol struct {
	ID         int64      `json:"id"`
	WorkerID   int64      `json:"worker_id"`
	WorkerName string     `json:"worker_name"`
	Grid       string     `json:"grid"`
	GridName   string     `json:"grid_name"`
	StartedAt  time.Time  `json:"started_at"`
	StoppedAt  *time.Time `json:"stopped_at"`
	Points     int        `json:"points"`
	Flagged    int        `json:"flagged"`
	DistanceM  float64    `json:"distance_m"`
	DurationS  int64      `json:"duration_s"`
	// Coverage is the share (0…1) of the grid covered by the track.
	Coverage float64 `json:"coverage"`
	// Cases are the cases reported during the patrol (Get only).
	Cases []int64 `json:"cases,omitempty"`
	path  string
}

// Point is one GPS fix: WGS-84 degrees, accuracy in metres.
type Point struct {
	Lat      float64
	Lng      float64
	Accuracy float64
	At       time.Time
	Flagged  bool
}

// Added is what a batch of fixes did.
type Added struct {
	// New counts the fixes stored by this batch, Duplicates those already
	// stored (a resent batch).
	New        int     `json:"new"`
	Duplicates int     `json:"duplicates"`
	Patrol     *Patrol `json:"patrol"`
}

// Filter narrows List.
type Filter struct {
	Grid     string
	WorkerID int64
	// Limit is at most 200; 0 means 50.
	Limit int
}

// Store reads and writes patrols.
type Store struct {
	db      *db.DB
	regions *region.Store
	cfg     Config
}

// NewStore returns a Store on d; regions gives the grids' polygons.
func NewStore(d *db.DB, regions *region.Store, cfg Config) *Store {
	def := DefaultConfig()
	if cfg.CoverageRadius <= 0 {
		cfg.CoverageRadius = def.CoverageRadius
	}
	if cfg.MaxSpeed <= 0 {
		cfg.MaxSpeed = def.MaxSpeed
	}
	if cfg.MaxLag <= 0 {
		cfg.MaxLag = def.MaxLag
	}
	if cfg.MaxAhead <= 0 {
		cfg.MaxAhead = def.MaxAhead
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = def.MaxBatch
	}
	return &Store{db: d, regions: regions, cfg: cfg}
}

// Config returns the store's configuration.
func (s *Store) Config() Config { return s.cfg }

func notFound() *errs.Error { return errs.E(errs.NotFound, "patrol.not_found") }

// supervises reports whether u's roles make them a supervisor of the
// grid workers below their region.
func supervises(u *account.User) bool {
	return u.Has(account.CommunityStaff) || u.Has(account.StreetStaff) || u.Has(account.Leader) || u.Has(account.Admin)
}

// scopeOf is who sees which patrols: everyone their own; supervisors the
// patrols in their region subtree. Nobody else sees any.
func scopeOf(u *account.User) account.Scope {
	if u == nil || u.Disabled {
		return account.Scope{}
	}
	sc := account.Scope{UserID: u.ID}
	if supervises(u) {
		sc.RegionPath = account.ScopeOf(u).RegionPath
	}
	return sc
}

// mayPatrol reports whether u may record patrols.
func mayPatrol(u *account.User) bool { return u != nil && !u.Disabled && u.Has(account.GridWorker) }

// Start begins a patrol of u in grid (empty: u's own grid). Only grid
// workers patrol, and only grids in their scope. A patrol of u still
// running is stopped first: a phone that lost its patrol starts anew.
func (s *Store) Start(ctx context.Context, actor audit.Actor, u *account.User, grid string) (_ *Patrol, err error) {
	defer errs.Wrapf(&err, "patrol.Store.Start")
	if !mayPatrol(u) {
		return nil, errs.E(errs.Forbidden, "patrol.err.not_grid_worker")
	}
	if grid == "" {
		grid = u.Region.Code
	}
	n, err := s.regions.Get(ctx, grid)
	if err != nil || n.Level != region.Grid || !account.ScopeOf(u).Covers(n.Path) {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("grid", "patrol.err.grid", grid)
	}
	var id int64
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id FROM patrols WHERE user_id = $1 AND stopped_at IS NULL`, u.ID)
		if err != nil {
			return db.Translate(err)
		}
		var running []int64
		for rows.Next() {
			var r int64
			if err := rows.Scan(&r); err != nil {
				rows.Close()
				return db.Translate(err)
			}
			running = append(running, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return db.Translate(err)
		}
		for _, r := range running {
			if err := s.stopTx(ctx, tx, actor, r); err != nil {
				return err
			}
		}
		id, err = tx.InsertID(ctx, `INSERT INTO patrols (user_id, grid_code, region_path, started_at) VALUES ($1, $2, $3, $4) RETURNING id`,
			u.ID, n.Code, n.Path, tx.Now())
		if err != nil {
			return db.Translate(err)
		}
		return audit.Record(ctx, tx, actor, "patrol.start", target(id), "grid="+n.Code)
	})
	if err != nil {
		return nil, err
	}
	return s.get(ctx, id)
}

func target(id int64) string { return "patrol:" + strconv.FormatInt(id, 10) }

// PointIn is a fix as a client sends it; nil members are missing.
type PointIn struct {
	Lat      *float64
	Lng      *float64
	Accuracy *float64
	At       time.Time
}

// maxAccuracy is the worst accuracy, in metres, that a fix may claim.
const maxAccuracy = 5000

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

// AddPoints stores a batch of fixes of patrol id, which u started and has
// not stopped. The batch is all or nothing: a fix with bad coordinates,
// accuracy or time, or lying more than MaxLag before the latest stored
// fix, is an Invalid error with a field error named points[i].field, and
// nothing is written. A fix already stored (same time) is counted as a
// duplicate and left as it is, so resending a batch is harmless.
func (s *Store) AddPoints(ctx context.Context, actor audit.Actor, u *account.User, id int64, in []PointIn) (_ *Added, err error) {
	defer errs.Wrapf(&err, "patrol.Store.AddPoints")
	e := errs.E(errs.Invalid, "error.invalid")
	if len(in) == 0 {
		return nil, e.Field("points", "field.required")
	}
	if len(in) > s.cfg.MaxBatch {
		return nil, e.Field("points", "patrol.err.batch", s.cfg.MaxBatch)
	}
	type fix struct {
		i  int
		ms int64
		p  Point
	}
	fixes := make([]fix, 0, len(in))
	for i, p := range in {
		f := func(name string) string { return fmt.Sprintf("points[%d].%s", i, name) }
		ok := true
		switch {
		case p.Lat == nil:
			e.Field(f("lat"), "field.required")
			ok = false
		case !finite(*p.Lat) || *p.Lat < -90 || *p.Lat > 90:
			e.Field(f("lat"), "field.range", -90, 90)
			ok = false
		}
		switch {
		case p.Lng == nil:
			e.Field(f("lng"), "field.required")
			ok = false
		case !finite(*p.Lng) || *p.Lng < -180 || *p.Lng > 180:
			e.Field(f("lng"), "field.range", -180, 180)
			ok = false
		}
		acc := 0.0
		if p.Accuracy != nil {
			acc = *p.Accuracy
			if !finite(acc) || acc < 0 || acc > maxAccuracy {
				e.Field(f("accuracy"), "field.range", 0, maxAccuracy)
				ok = false
			}
		}
		if p.At.IsZero() {
			e.Field(f("at"), "field.required")
			ok = false
		}
		if ok {
			fixes = append(fixes, fix{i: i, ms: p.At.UnixMilli(), p: Point{Lat: *p.Lat, Lng: *p.Lng, Accuracy: math.Round(acc), At: p.At}})
		}
	}
	if len(e.Fields) > 0 {
		return nil, e
	}
	sort.SliceStable(fixes, func(a, b int) bool { return fixes[a].ms < fixes[b].ms })
	var res Added
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		p, err := s.own(ctx, tx, u, id)
		if err != nil {
			return err
		}
		if p.StoppedAt != nil {
			return errs.E(errs.Conflict, "patrol.err.stopped")
		}
		lo, hi := fixes[0].ms, fixes[len(fixes)-1].ms
		stored := map[int64]bool{}
		var latest sql.NullInt64
		if err := tx.QueryRow(ctx, `SELECT MAX(at_ms) FROM patrol_points WHERE patrol_id = $1`, id).Scan(&latest); err != nil {
			return db.Translate(err)
		}
		rows, err := tx.Query(ctx, `SELECT at_ms FROM patrol_points WHERE patrol_id = $1 AND at_ms >= $2 AND at_ms <= $3`, id, lo, hi)
		if err != nil {
			return db.Translate(err)
		}
		for rows.Next() {
			var ms int64
			if err := rows.Scan(&ms); err != nil {
				rows.Close()
				return db.Translate(err)
			}
			stored[ms] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return db.Translate(err)
		}
		earliest := p.StartedAt.Add(-s.cfg.MaxLag).UnixMilli()
		if latest.Valid {
			earliest = max(earliest, latest.Int64-s.cfg.MaxLag.Milliseconds())
		}
		newest := tx.Now().Add(s.cfg.MaxAhead).UnixMilli()
		var fresh []fix
		for _, f := range fixes {
			if stored[f.ms] {
				res.Duplicates++
				continue
			}
			switch {
			case f.ms > newest:
				e.Field(fmt.Sprintf("points[%d].at", f.i), "patrol.err.future")
			case f.ms < earliest:
				e.Field(fmt.Sprintf("points[%d].at", f.i), "patrol.err.out_of_order", int(s.cfg.MaxLag.Seconds()))
			default:
				stored[f.ms] = true // a time twice in the batch: the first wins
				fresh = append(fresh, f)
			}
		}
		if len(e.Fields) > 0 {
			return e
		}
		for _, f := range fresh {
			if _, err := tx.Exec(ctx, `INSERT INTO patrol_points (patrol_id, at_ms, lat_e6, lng_e6, acc_m, flagged) VALUES ($1, $2, $3, $4, $5, 0)`,
				id, f.ms, e6(f.p.Lat), e6(f.p.Lng), int64(f.p.Accuracy)); err != nil {
				return db.Translate(err)
			}
		}
		res.New = len(fresh)
		if res.New == 0 {
			return nil
		}
		if err := s.recompute(ctx, tx, p); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor, "patrol.points", target(id), fmt.Sprintf("new=%d duplicates=%d", res.New, res.Duplicates))
	})
	if err != nil {
		return nil, err
	}
	if res.Patrol, err = s.get(ctx, id); err != nil {
		return nil, err
	}
	return &res, nil
}

func e6(deg float64) int64 { return int64(math.Round(deg * 1e6)) }

// Stop ends patrol id, which u started. Stopping a stopped patrol
// changes nothing and returns it.
func (s *Store) Stop(ctx context.Context, actor audit.Actor, u *account.User, id int64) (_ *Patrol, err error) {
	defer errs.Wrapf(&err, "patrol.Store.Stop")
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		p, err := s.own(ctx, tx, u, id)
		if err != nil {
			return err
		}
		if p.StoppedAt != nil {
			return nil
		}
		return s.stopTx(ctx, tx, actor, id)
	})
	if err != nil {
		return nil, err
	}
	return s.get(ctx, id)
}

func (s *Store) stopTx(ctx context.Context, tx *db.Tx, actor audit.Actor, id int64) error {
	if _, err := tx.Exec(ctx, `UPDATE patrols SET stopped_at = $1 WHERE id = $2`, tx.Now(), id); err != nil {
		return db.Translate(err)
	}
	p, err := s.load(ctx, tx, id)
	if err != nil {
		return err
	}
	if err := s.recompute(ctx, tx, p); err != nil {
		return err
	}
	return audit.Record(ctx, tx, actor, "patrol.stop", target(id), "")
}

// own loads patrol id for a write by u: someone who cannot see it gets
// NotFound, a supervisor who can see it Forbidden.
func (s *Store) own(ctx context.Context, tx *db.Tx, u *account.User, id int64) (*Patrol, error) {
	p, err := s.load(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if u == nil || p.WorkerID != u.ID || !mayPatrol(u) {
		if visible(u, p) {
			return nil, errs.E(errs.Forbidden, "patrol.err.not_yours")
		}
		return nil, notFound()
	}
	return p, nil
}

func visible(u *account.User, p *Patrol) bool {
	sc := scopeOf(u)
	return (sc.UserID != 0 && sc.UserID == p.WorkerID) || (sc.RegionPath != "" && sc.Covers(p.path))
}

type querier interface {
	QueryRow(ctx context.Context, q string, args ...any) *sql.Row
}

const patrolCols = `p.id, p.user_id, COALESCE(NULLIF(u.display_name, ''), u.username), p.grid_code, COALESCE(r.name, ''), p.region_path,
	p.started_at, p.stopped_at, p.points, p.flagged, p.distance_m, p.duration_s, p.coverage`

const patrolFrom = ` FROM patrols p JOIN users u ON u.id = p.user_id LEFT JOIN regions r ON r.code = p.grid_code`

func scanPatrol(sc interface{ Scan(...any) error }) (*Patrol, error) {
	var p Patrol
	var started db.Time
	var stopped db.NullTime
	if err := sc.Scan(&p.ID, &p.WorkerID, &p.WorkerName, &p.Grid, &p.GridName, &p.path, &started, &stopped,
		&p.Points, &p.Flagged, &p.DistanceM, &p.DurationS, &p.Coverage); err != nil {
		return nil, err
	}
	p.StartedAt = started.Time
	if stopped.Valid {
		t := stopped.Time
		p.StoppedAt = &t
	}
	return &p, nil
}

func (s *Store) load(ctx context.Context, q querier, id int64) (*Patrol, error) {
	p, err := scanPatrol(q.QueryRow(ctx, `SELECT `+patrolCols+patrolFrom+` WHERE p.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound()
	}
	if err != nil {
		return nil, db.Translate(err)
	}
	return p, nil
}

func (s *Store) get(ctx context.Context, id int64) (*Patrol, error) { return s.load(ctx, s.db, id) }

// recompute re-derives the flags and the summary of p from its fixes.
func (s *Store) recompute(ctx context.Context, tx *db.Tx, p *Patrol) error {
	pts, err := points(ctx, tx, p.ID)
	if err != nil {
		return err
	}
	var kept []Point
	var changed []int
	for i := range pts {
		flag := false
		if n := len(kept); n > 0 {
			last := kept[n-1]
			dt := pts[i].At.Sub(last.At).Seconds()
			d := Haversine(orb.Point{last.Lng, last.Lat}, orb.Point{pts[i].Lng, pts[i].Lat})
			flag = d > math.Max(last.Accuracy, pts[i].Accuracy) && (dt <= 0 || d/dt > s.cfg.MaxSpeed)
		}
		if flag != pts[i].Flagged {
			pts[i].Flagged = flag
			changed = append(changed, i)
		}
		if !flag {
			kept = append(kept, pts[i])
		}
	}
	for _, i := range changed {
		f := 0
		if pts[i].Flagged {
			f = 1
		}
		if _, err := tx.Exec(ctx, `UPDATE patrol_points SET flagged = $1 WHERE patrol_id = $2 AND at_ms = $3`, f, p.ID, pts[i].At.UnixMilli()); err != nil {
			return db.Translate(err)
		}
	}
	end := p.StartedAt
	var stopped db.NullTime
	if err := tx.QueryRow(ctx, `SELECT stopped_at FROM patrols WHERE id = $1`, p.ID).Scan(&stopped); err != nil {
		return db.Translate(err)
	}
	if stopped.Valid {
		end = stopped.Time
	} else if n := len(pts); n > 0 && pts[n-1].At.After(end) {
		end = pts[n-1].At
	}
	coverage := 0.0
	if len(kept) > 0 {
		n, err := s.regions.Get(ctx, p.Grid)
		if err != nil {
			return err
		}
		coverage = Coverage(n.MultiPolygon(), kept, s.cfg.CoverageRadius)
	}
	_, err = tx.Exec(ctx, `UPDATE patrols SET points = $1, flagged = $2, distance_m = $3, duration_s = $4, coverage = $5 WHERE id = $6`,
		len(pts), len(pts)-len(kept), math.Round(Distance(kept)*10)/10, int64(end.Sub(p.StartedAt).Seconds()), math.Round(coverage*10000)/10000, p.ID)
	return db.Translate(err)
}

type rowsQuerier interface {
	Query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

func points(ctx context.Context, q rowsQuerier, id int64) ([]Point, error) {
	rows, err := q.Query(ctx, `SELECT at_ms, lat_e6, lng_e6, acc_m, flagged FROM patrol_points WHERE patrol_id = $1 ORDER BY at_ms`, id)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	var out []Point
	for rows.Next() {
		var ms, lat, lng, acc int64
		var flagged int
		if err := rows.Scan(&ms, &lat, &lng, &acc, &flagged); err != nil {
			return nil, db.Translate(err)
		}
		out = append(out, Point{At: time.UnixMilli(ms).UTC(), Lat: float64(lat) / 1e6, Lng: float64(lng) / 1e6, Accuracy: float64(acc), Flagged: flagged != 0})
	}
	return out, db.Translate(rows.Err())
}

// Get returns patrol id with its cases if u may see it; else NotFound.
func (s *Store) Get(ctx context.Context, u *account.User, id int64) (_ *Patrol, err error) {
	defer errs.Wrapf(&err, "patrol.Store.Get")
	p, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !visible(u, p) {
		return nil, notFound()
	}
	rows, err := s.db.Query(ctx, `SELECT case_id FROM case_patrols WHERE patrol_id = $1 ORDER BY case_id`, id)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var c int64
		if err := rows.Scan(&c); err != nil {
			return nil, db.Translate(err)
		}
		p.Cases = append(p.Cases, c)
	}
	return p, db.Translate(rows.Err())
}

// Track returns the fixes of patrol id, in time order, if u may see it.
func (s *Store) Track(ctx context.Context, u *account.User, id int64) (_ []Point, err error) {
	defer errs.Wrapf(&err, "patrol.Store.Track")
	p, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if !visible(u, p) {
		return nil, notFound()
	}
	return points(ctx, s.db, id)
}

// Running returns u's own running patrol, or NotFound.
func (s *Store) Running(ctx context.Context, u *account.User, id int64) (_ *Patrol, err error) {
	defer errs.Wrapf(&err, "patrol.Store.Running")
	p, err := s.get(ctx, id)
	if err != nil {
		return nil, err
	}
	if u == nil || p.WorkerID != u.ID || p.StoppedAt != nil {
		return nil, notFound()
	}
	return p, nil
}

// List returns the patrols u may see, newest first. A caller who may see
// no patrol at all (a resident) gets NotFound.
func (s *Store) List(ctx context.Context, u *account.User, f Filter) (_ []Patrol, err error) {
	defer errs.Wrapf(&err, "patrol.Store.List")
	if u == nil || !(mayPatrol(u) || supervises(u)) {
		return nil, notFound()
	}
	var w db.Where
	scopeOf(u).Apply(&w, account.Columns{Path: "p.region_path", User: "p.user_id"})
	if f.Grid != "" {
		w.Add("p.grid_code = ?", f.Grid)
	}
	if f.WorkerID != 0 {
		w.Add("p.user_id = ?", f.WorkerID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 200)
	rows, err := s.db.Query(ctx, `SELECT `+patrolCols+patrolFrom+w.SQL()+` ORDER BY p.started_at DESC, p.id DESC LIMIT `+w.Arg(limit), w.Args()...)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	out := []Patrol{}
	for rows.Next() {
		p, err := scanPatrol(rows)
		if err != nil {
			return nil, db.Translate(err)
		}
		out = append(out, *p)
	}
	return out, db.Translate(rows.Err())
}

// Prune deletes the patrols started before the retention period, with
// their fixes and case links, and returns how many it deleted.
func (s *Store) Prune(ctx context.Context, actor audit.Actor) (n int64, err error) {
	defer errs.Wrapf(&err, "patrol.Store.Prune")
	if s.cfg.Retention <= 0 {
		return 0, nil
	}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		cut := tx.Now().Add(-s.cfg.Retention)
		// Points first: SQLite enforces the cascade, but deleting them
		// explicitly keeps one plan on both dialects.
		if _, err := tx.Exec(ctx, `DELETE FROM patrol_points WHERE patrol_id IN (SELECT id FROM patrols WHERE started_at < $1)`, cut); err != nil {
			return db.Translate(err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM case_patrols WHERE patrol_id IN (SELECT id FROM patrols WHERE started_at < $1)`, cut); err != nil {
			return db.Translate(err)
		}
		res, err := tx.Exec(ctx, `DELETE FROM patrols WHERE started_at < $1`, cut)
		if err != nil {
			return db.Translate(err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return db.Translate(err)
		}
		if n == 0 {
			return nil
		}
		return audit.Record(ctx, tx, actor, "patrol.prune", "patrols", fmt.Sprintf("deleted=%d before=%s", n, cut.Format(time.RFC3339)))
	})
	return n, err
}

// RunPrune prunes every interval until ctx ends, logging failures
// through logf.
func (s *Store) RunPrune(ctx context.Context, interval time.Duration, logf func(msg string, args ...any)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := s.Prune(ctx, audit.System("patrol-retention")); err != nil && ctx.Err() == nil {
			logf("patrol prune failed", "err", err)
		} else if n > 0 {
			logf("pruned patrols past retention", "n", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Current returns u's running patrol, or nil when there is none.
func (s *Store) Current(ctx context.Context, u *account.User) (_ *Patrol, err error) {
	defer errs.Wrapf(&err, "patrol.Store.Current")
	if !mayPatrol(u) {
		return nil, nil
	}
	var id int64
	err = s.db.QueryRow(ctx, `SELECT id FROM patrols WHERE user_id = $1 AND stopped_at IS NULL ORDER BY started_at DESC, id DESC LIMIT 1`, u.ID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, db.Translate(err)
	}
	return s.get(ctx, id)
}
