// Package visit keeps the visits (走访) of the members of the registry's
// groups needing attention (issue 16): every member of a group with a
// visit frequency gets one task a period (week, fortnight, month, quarter,
// half year or year). The tasks of a period are planned by a kernel timer
// armed for the period's start (one per frequency, re-armed by its own
// firing), and by Join for a person who joins a group; Leave cancels a
// leaver's open tasks. A task is due on the last day of its period, or on
// its last working day (the working calendar of internal/sla/calendar)
// when Config.Workdays is set, and is overdue from the end of that day:
// overdue is a comparison with due_at, not a timer per task.
//
// A grid worker lists their grid's due or overdue tasks in walking order
// from their position (route.go: a route through the houses under a
// walking metric, with the distance walked to each stop), and records a
// visit: time, GPS position (checked against the house within Config.MaxDistance: farther is a field error unless the
// worker gives a reason, when the visit is recorded and flagged far),
// notes, photos (media keys) and a found problem, which opens a case
// through casework in the same request and is linked by the task's
// case_id. Staff whose scope covers the grid see the tasks (the overdue
// queue); anyone else gets a 404.
//
// Besides the plan, FollowUp adds an urgent task outside any group: the
// visit that follows up a case, such as the one a device alarm's ladder
// opens for an elderly resident (issue 17). It has Origin "alarm", the
// case in OriginCaseID, a Brief saying why, and is due within hours.
package visit

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/media"
	"whistle/internal/patrol"
	"whistle/internal/region"
	"whistle/internal/registry"
	"whistle/internal/sla/calendar"
	"whistle/internal/timer"
)

// TimerKind is the kind of the kernel timers that plan a period's tasks.
const TimerKind = "visit.plan"

// Task statuses.
const (
	StatusOpen      = "open"
	StatusDone      = "done"
	StatusCancelled = "cancelled"
)

// Due filters of List.
const (
	DueToday   = "today"
	DueOverdue = "overdue"
)

// Config tunes the visits.
type Config struct {
	// MaxDistance is how far, in metres, a recorded position may lie from
	// the house (--visit-max-distance, default 200).
	MaxDistance float64
	// Workdays makes a task due on its period's last working day instead
	// of its last day.
	Workdays bool
}

// CaseOpener opens a case (casework.Service.Submit).
type CaseOpener interface {
	Submit(ctx context.Context, c casework.Caller, in casework.SubmitInput) (*casework.Case, bool, error)
}

// Deps are the Store's dependencies. Calendar may return nil (Monday to
// Friday are then the working days, in China Standard Time); Cases may be
// nil (found problems are then refused).
type Deps struct {
	DB       *db.DB
	Regions  *region.Store
	Registry *registry.Store
	Cases    CaseOpener
	Calendar func() *calendar.Calendar
	// Blobs keeps the visits' photos; nil refuses uploads.
	Blobs  media.BlobStore
	Config Config
}

// Store plans, lists and records visits.
type Store struct {
	db   *db.DB
	reg  *registry.Store
	regs *region.Store
	cs   CaseOpener
	cal  func() *calendar.Calendar
	blob media.BlobStore
	cfg  Config
}

// NewStore returns a Store.
func NewStore(d Deps) *Store {
	if d.Config.MaxDistance <= 0 {
		d.Config.MaxDistance = 200
	}
	if d.Calendar == nil {
		d.Calendar = func() *calendar.Calendar { return nil }
	}
	return &Store{db: d.DB, reg: d.Registry, regs: d.Regions, cs: d.Cases, cal: d.Calendar, blob: d.Blobs, cfg: d.Config}
}

// Config returns the store's configuration.
func (s *Store) Config() Config { return s.cfg }

var cst = time.FixedZone("CST", 8*3600)

func (s *Store) calendar() (*calendar.Calendar, *time.Location) {
	c := s.cal()
	if c == nil {
		return nil, cst
	}
	return c, c.Location()
}

func dateIn(t time.Time, loc *time.Location) calendar.Date {
	t = t.In(loc)
	return calendar.D(t.Year(), t.Month(), t.Day())
}

// period is one planned period of a frequency.
type period struct {
	first, due calendar.Date
	dueAt      time.Time // the end of the due day: overdue from then
	next       time.Time // the start of the next period
}

func (s *Store) periodAt(freq string, at time.Time) (period, bool) {
	cal, loc := s.calendar()
	first, last, ok := PeriodOf(freq, dateIn(at, loc))
	if !ok {
		return period{}, false
	}
	due := dueDay(cal, s.cfg.Workdays, first, last)
	return period{first: first, due: due, dueAt: startOf(due.AddDays(1), loc).UTC(), next: startOf(last.AddDays(1), loc).UTC()}, true
}

// plan inserts the tasks of the period of freq containing at for every
// member of a group of that frequency (or only person's membership of
// group when person is set) and returns how many it created. A task
// already planned is left as it is.
func (s *Store) plan(ctx context.Context, tx *db.Tx, freq string, at time.Time, group string, person int64) (int64, error) {
	p, ok := s.periodAt(freq, at)
	if !ok {
		return 0, nil
	}
	q := `INSERT INTO visit_tasks (person_id, group_code, grid_code, region_path, period_start, due_on, due_at, created_at)
		SELECT m.person_id, m.group_code, p.grid_code, p.region_path, $1, $2, $3, $4
		FROM reg_group_members m JOIN reg_people p ON p.id = m.person_id JOIN reg_groups g ON g.code = m.group_code
		WHERE g.frequency = $5`
	args := []any{p.first.String(), p.due.String(), p.dueAt, tx.Now(), freq}
	if person != 0 {
		q += ` AND m.person_id = $6 AND m.group_code = $7`
		args = append(args, person, group)
	}
	res, err := tx.Exec(ctx, q+` ON CONFLICT (person_id, group_code, period_start) DO NOTHING`, args...)
	if err != nil {
		return 0, db.Translate(err)
	}
	n, err := res.RowsAffected()
	return n, db.Translate(err)
}

func timerKey(freq string) timer.Key {
	return timer.Key{Kind: TimerKind, Subject: freq, Name: "period"}
}

// planAndArm plans freq's period at at and arms the timer of the next.
func (s *Store) planAndArm(ctx context.Context, tx *db.Tx, freq string, at time.Time) (int64, error) {
	n, err := s.plan(ctx, tx, freq, at, "", 0)
	if err != nil {
		return 0, err
	}
	p, _ := s.periodAt(freq, at)
	return n, timer.Arm(ctx, tx, timerKey(freq), p.next, nil)
}

// Start plans the current period of every frequency (the tasks missing)
// and arms each frequency's timer for its next period. Serve calls it at
// start-up; it is idempotent. It returns how many tasks it created.
func (s *Store) Start(ctx context.Context) (n int64, err error) {
	defer errs.Wrapf(&err, "visit.Store.Start")
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		n = 0
		for _, f := range Frequencies() {
			k, err := s.planAndArm(ctx, tx, f, tx.Now())
			if err != nil {
				return err
			}
			n += k
		}
		return nil
	})
	return n, err
}

// PlanPeriod creates the tasks of the period of freq containing at for
// every member of a group of that frequency, in one statement, and
// returns how many it created (the benchmark's and the timer's work).
func (s *Store) PlanPeriod(ctx context.Context, freq string, at time.Time) (n int64, err error) {
	defer errs.Wrapf(&err, "visit.Store.PlanPeriod")
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		n, err = s.plan(ctx, tx, freq, at, "", 0)
		return err
	})
	return n, err
}

// RegisterTimers makes r fire the planning timers: each plans its
// period (or the current one, if the runner was down past it) and arms
// the next.
func (s *Store) RegisterTimers(r *timer.Runner) {
	r.Handle(TimerKind, func(ctx context.Context, tx *db.Tx, t timer.Timer) error {
		at := t.Due
		if now := tx.Now(); now.After(at) {
			at = now
		}
		_, err := s.planAndArm(ctx, tx, t.Subject, at)
		return err
	})
}

func notFound() *errs.Error { return errs.E(errs.NotFound, "visit.not_found") }

// Join puts a person in scope in a group (registry.Store.AddMemberTx) and
// plans their task of the current period, in one transaction: a
// membership without its task is never committed.
func (s *Store) Join(ctx context.Context, sc account.Scope, actor audit.Actor, group string, personID int64, note string) (err error) {
	defer errs.Wrapf(&err, "visit.Store.Join")
	if sc.Denies() {
		return errs.E(errs.NotFound, "registry.person_not_found")
	}
	g, err := s.reg.Group(ctx, group)
	if errs.Is(err, errs.NotFound) {
		return errs.E(errs.Invalid, "error.invalid").Field("group", "visit.err.group")
	}
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := s.reg.AddMemberTx(ctx, tx, sc, actor, group, personID, note); err != nil {
			return err
		}
		_, err := s.plan(ctx, tx, g.Frequency, tx.Now(), group, personID)
		return err
	})
}

// Leave takes a person in scope out of a group
// (registry.Store.RemoveMemberTx) and cancels their open tasks of it, in
// one transaction.
func (s *Store) Leave(ctx context.Context, sc account.Scope, actor audit.Actor, group string, personID int64) (err error) {
	defer errs.Wrapf(&err, "visit.Store.Leave")
	if sc.Denies() {
		return errs.E(errs.NotFound, "registry.person_not_found")
	}
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := s.reg.RemoveMemberTx(ctx, tx, sc, actor, group, personID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE visit_tasks SET status = 'cancelled' WHERE person_id = $1 AND group_code = $2 AND status = 'open'`,
			personID, group)
		return db.Translate(err)
	})
}

// Task is a visit task as a list shows it.
type Task struct {
	ID          int64     `json:"id"`
	PersonID    int64     `json:"person_id"`
	PersonName  string    `json:"person_name"` // masked
	Group       string    `json:"group"`
	Grid        string    `json:"grid"`
	PeriodStart string    `json:"period_start"`
	DueOn       string    `json:"due_on"`
	DueAt       time.Time `json:"due_at"`
	Status      string    `json:"status"`
	Overdue     bool      `json:"overdue"`
	Address     string    `json:"address"`
	// HouseLat and HouseLng are the person's first house's building, nil
	// when the person has no house.
	HouseLat *float64 `json:"house_lat"`
	HouseLng *float64 `json:"house_lng"`
	// DistanceM is the straight-line distance from the position List was
	// given, nil without one or without a house.
	DistanceM *float64 `json:"distance_m"`
	// Stop is the task's place on the walking route from the position
	// List was given (1 first), 0 without one or without a house; WalkM
	// the walking distance to it along the route (route.go: Manhattan on
	// the local plane, an estimate without a road network).
	Stop      int        `json:"stop,omitempty"`
	WalkM     *float64   `json:"walk_m,omitempty"`
	VisitedAt *time.Time `json:"visited_at,omitempty"`
	Far       bool       `json:"far,omitempty"`
	Reason    string     `json:"reason,omitempty"`
	Notes     string     `json:"notes,omitempty"`
	Photos    []string   `json:"photos,omitempty"`
	CaseID    *int64     `json:"case_id,omitempty"`
	// Origin is OriginPlan for a group's periodic visit (Group set) or
	// OriginAlarm for a follow-up (Group empty): OriginCaseID is then the
	// case it follows up and Brief says why.
	Origin       string `json:"origin"`
	OriginCaseID *int64 `json:"origin_case_id,omitempty"`
	Brief        string `json:"brief,omitempty"`
	path         string
}

// The origins of a task.
const (
	OriginPlan  = "plan"
	OriginAlarm = "alarm"
)

const houseSub = `FROM reg_person_houses ph JOIN reg_houses h ON h.id = ph.house_id JOIN reg_buildings b ON b.id = h.building_id
	WHERE ph.person_id = t.person_id ORDER BY ph.house_id LIMIT 1`

const taskCols = `t.id, t.person_id, p.name, COALESCE(t.group_code, ''), t.grid_code, t.period_start, t.due_on, t.due_at, t.status, t.region_path,
	t.visited_at, t.far, t.reason, t.notes, t.photos, t.case_id, t.origin, t.origin_case_id, t.brief,
	(SELECT b.lat ` + houseSub + `), (SELECT b.lng ` + houseSub + `), (SELECT b.address ` + houseSub + `)`

const taskFrom = ` FROM visit_tasks t JOIN reg_people p ON p.id = t.person_id`

func scanTask(rows interface{ Scan(...any) error }, now time.Time) (Task, error) {
	var t Task
	var due db.Time
	var visited db.NullTime
	var far int
	var photos string
	var caseID, originCase sql.NullInt64
	var lat, lng sql.NullFloat64
	var addr sql.NullString
	if err := rows.Scan(&t.ID, &t.PersonID, &t.PersonName, &t.Group, &t.Grid, &t.PeriodStart, &t.DueOn, &due, &t.Status, &t.path,
		&visited, &far, &t.Reason, &t.Notes, &photos, &caseID, &t.Origin, &originCase, &t.Brief, &lat, &lng, &addr); err != nil {
		return t, err
	}
	if originCase.Valid {
		t.OriginCaseID = &originCase.Int64
	}
	t.PersonName = registry.MaskName(t.PersonName)
	t.DueAt = due.Time
	t.Overdue = t.Status == StatusOpen && !now.Before(t.DueAt)
	if visited.Valid {
		v := visited.Time
		t.VisitedAt = &v
	}
	t.Far = far != 0
	if photos != "" {
		t.Photos = strings.Split(photos, ",")
	}
	if caseID.Valid {
		t.CaseID = &caseID.Int64
	}
	if lat.Valid && lng.Valid {
		t.HouseLat, t.HouseLng = &lat.Float64, &lng.Float64
	}
	t.Address = addr.String
	return t, nil
}

// Filter narrows List.
type Filter struct {
	// Due is DueToday (open tasks not yet overdue) or DueOverdue.
	Due string
	// Lat and Lng, when both set, put the tasks in walking order from
	// there.
	Lat, Lng *float64
	// Grid narrows to one grid.
	Grid string
	// Limit is at most 500; 0 means 200.
	Limit int
}

// ScopeOf is who sees visit tasks and changes group memberships: grid
// workers their grid and the staff above them (registry.ScopeOf); a
// disabled user or anyone else nothing.
func ScopeOf(u *account.User) account.Scope {
	if u == nil || u.Disabled {
		return account.Scope{}
	}
	return registry.ScopeOf(u)
}

// List returns the open tasks in u's scope, due or overdue as f says, in
// walking order when f has a position (route.go: a walking route from the
// position through the houses; tasks without a house last), else by due
// time.
func (s *Store) List(ctx context.Context, u *account.User, f Filter) (_ []Task, err error) {
	defer errs.Wrapf(&err, "visit.Store.List")
	sc := ScopeOf(u)
	if sc.Denies() {
		return nil, notFound()
	}
	e := errs.E(errs.Invalid, "error.invalid")
	bad := false
	if f.Due != DueToday && f.Due != DueOverdue {
		e.Field("due", "visit.err.due")
		bad = true
	}
	if (f.Lat == nil) != (f.Lng == nil) || f.Lat != nil && !validPoint(*f.Lat, *f.Lng) {
		e.Field("lat", "visit.err.position")
		bad = true
	}
	if bad {
		return nil, e
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 200
	}
	limit = min(limit, 500)
	now := s.db.Now()
	var w db.Where
	sc.Apply(&w, registry.Columns("t"))
	w.Add("t.status = 'open'")
	if f.Due == DueOverdue {
		w.Add("t.due_at <= ?", now)
	} else {
		_, loc := s.calendar()
		w.Add("t.due_at > ?", now)
		w.Add("t.period_start <= ?", dateIn(now, loc).String())
	}
	if f.Grid != "" {
		w.Add("t.grid_code = ?", f.Grid)
	}
	rows, err := s.db.Query(ctx, `SELECT `+taskCols+taskFrom+w.SQL()+` ORDER BY t.due_at, t.id LIMIT `+w.Arg(limit), w.Args()...)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	out := []Task{}
	for rows.Next() {
		t, err := scanTask(rows, now)
		if err != nil {
			return nil, db.Translate(err)
		}
		if f.Lat != nil && t.HouseLat != nil {
			d := patrol.Haversine(orb.Point{*f.Lng, *f.Lat}, orb.Point{*t.HouseLng, *t.HouseLat})
			t.DistanceM = &d
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, db.Translate(err)
	}
	if f.Lat != nil {
		out = walkingOrder(*f.Lat, *f.Lng, out)
	}
	return out, nil
}

// Get returns one task in u's scope.
func (s *Store) Get(ctx context.Context, u *account.User, id int64) (_ *Task, err error) {
	defer errs.Wrapf(&err, "visit.Store.Get")
	sc := ScopeOf(u)
	if sc.Denies() {
		return nil, notFound()
	}
	return s.get(ctx, sc, id)
}

func (s *Store) get(ctx context.Context, sc account.Scope, id int64) (*Task, error) {
	var w db.Where
	sc.Apply(&w, registry.Columns("t"))
	w.Add("t.id = ?", id)
	t, err := scanTask(s.db.QueryRow(ctx, `SELECT `+taskCols+taskFrom+w.SQL(), w.Args()...), s.db.Now())
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound()
	}
	if err != nil {
		return nil, db.Translate(err)
	}
	return &t, nil
}

// MaxBrief is the longest Brief of a follow-up, in characters.
const MaxBrief = 300

// FollowUp plans an urgent visit of person personID, the follow-up of
// case caseID (a device alarm's case), due at due, inside the caller's
// transaction tx, so that whatever links the case commits with its visit.
// The task goes to the person's grid, outside any group's plan. One case
// has one follow-up: a second call returns the first task's id. It
// returns 0 when the person is not in the registry (nobody to visit).
func (s *Store) FollowUp(ctx context.Context, tx *db.Tx, personID, caseID int64, due time.Time, brief string) (id int64, err error) {
	defer errs.Wrapf(&err, "visit.Store.FollowUp(%d, %d)", personID, caseID)
	_, loc := s.calendar()
	now := tx.Now()
	if due.Before(now) {
		due = now
	}
	brief = strings.TrimSpace(brief)
	if r := []rune(brief); len(r) > MaxBrief {
		brief = string(r[:MaxBrief])
	}
	_, err = tx.Exec(ctx, `INSERT INTO visit_tasks (person_id, group_code, grid_code, region_path, period_start, due_on, due_at, created_at,
			origin, origin_case_id, brief)
		SELECT p.id, NULL, p.grid_code, p.region_path, $2, $3, $4, $5, 'alarm', $6, $7 FROM reg_people p WHERE p.id = $1
		ON CONFLICT (origin_case_id) WHERE origin_case_id IS NOT NULL DO NOTHING`,
		personID, dateIn(now, loc).String(), dateIn(due, loc).String(), due.UTC(), now, caseID, brief)
	if err != nil {
		return 0, db.Translate(err)
	}
	err = tx.QueryRow(ctx, `SELECT id FROM visit_tasks WHERE origin_case_id = $1`, caseID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, db.Translate(err)
}

// Problem is a problem found on a visit: a case to open.
type Problem struct {
	Category    string `json:"category"`
	Description string `json:"description"`
}

// RecordInput is a recorded visit; nil members are missing.
type RecordInput struct {
	At     *time.Time `json:"at"`
	Lat    *float64   `json:"lat"`
	Lng    *float64   `json:"lng"`
	Notes  string     `json:"notes"`
	Reason string     `json:"reason"`
	Photos []string   `json:"photos"`
	// Problem, when set, opens a case linked to the visit.
	Problem *Problem `json:"problem"`
}

// Limits of a recorded visit.
const (
	MaxNotes  = 2000
	MaxReason = 300
	MaxPhotos = 9
)

func validPoint(lat, lng float64) bool {
	return !math.IsNaN(lat) && !math.IsNaN(lng) && lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180
}

// Record records u's visit of task id: only grid workers, only tasks of
// their scope (else 404), only open tasks (else a conflict). The
// position must lie within Config.MaxDistance of the house, or the
// worker gives a reason and the visit is flagged far. A found problem
// opens a case (idempotently: resending opens no second case) before the
// visit is written with the case's id.
func (s *Store) Record(ctx context.Context, u *account.User, actor audit.Actor, ip string, id int64, in RecordInput) (_ *Task, err error) {
	defer errs.Wrapf(&err, "visit.Store.Record")
	sc := ScopeOf(u)
	if sc.Denies() {
		return nil, notFound()
	}
	t, err := s.get(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	if !u.Has(account.GridWorker) {
		return nil, errs.E(errs.Forbidden, "visit.err.not_grid_worker")
	}
	if t.Status != StatusOpen {
		return nil, errs.E(errs.Conflict, "visit.err.not_open")
	}
	now := s.db.Now()
	e := errs.E(errs.Invalid, "error.invalid")
	bad := false
	field := func(name, key string, args ...any) {
		e.Field(name, key, args...)
		bad = true
	}
	at := now
	if in.At != nil {
		at = in.At.UTC()
		if at.After(now.Add(5*time.Minute)) || at.Before(now.Add(-7*24*time.Hour)) {
			field("at", "visit.err.at")
		}
	}
	var dist *float64
	switch {
	case in.Lat == nil || in.Lng == nil:
		field("lat", "field.required")
	case !validPoint(*in.Lat, *in.Lng):
		field("lat", "visit.err.position")
	case t.HouseLat != nil:
		d := patrol.Haversine(orb.Point{*in.Lng, *in.Lat}, orb.Point{*t.HouseLng, *t.HouseLat})
		dist = &d
	}
	in.Notes = strings.TrimSpace(in.Notes)
	in.Reason = strings.TrimSpace(in.Reason)
	if utf8.RuneCountInString(in.Notes) > MaxNotes {
		field("notes", "field.too_long", MaxNotes)
	}
	if utf8.RuneCountInString(in.Reason) > MaxReason {
		field("reason", "field.too_long", MaxReason)
	}
	far := dist != nil && *dist > s.cfg.MaxDistance
	if far && in.Reason == "" {
		field("lat", "visit.err.too_far", int(math.Round(*dist)), int(s.cfg.MaxDistance))
	}
	if len(in.Photos) > MaxPhotos {
		field("photos", "visit.err.photos", MaxPhotos)
	}
	for _, p := range in.Photos {
		if !media.ValidKey(p) || !strings.HasPrefix(p, photoPrefix(id)) {
			field("photos", "visit.err.photo_key")
			break
		}
	}
	if in.Problem != nil && s.cs == nil {
		field("problem", "visit.err.no_cases")
	}
	if bad {
		return nil, e
	}
	var caseID *int64
	if in.Problem != nil {
		c, _, err := s.cs.Submit(ctx, casework.Caller{User: u, IP: ip}, casework.SubmitInput{Category: in.Problem.Category,
			Description: in.Problem.Description, Lat: in.Lat, Lng: in.Lng, Address: t.Address,
			IdempotencyKey: "visit-" + strconv.FormatInt(id, 10)})
		if err != nil {
			return nil, err
		}
		caseID = &c.ID
	}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		var distArg any
		if dist != nil {
			distArg = *dist
		}
		var caseArg any
		if caseID != nil {
			caseArg = *caseID
		}
		res, err := tx.Exec(ctx, `UPDATE visit_tasks SET status = 'done', visited_at = $1, visited_by = $2, lat = $3, lng = $4, distance_m = $5,
			far = $6, reason = $7, notes = $8, photos = $9, case_id = $10 WHERE id = $11 AND status = 'open'`,
			at, u.ID, *in.Lat, *in.Lng, distArg, boolInt(far), in.Reason, in.Notes, strings.Join(in.Photos, ","), caseArg, id)
		if err != nil {
			return db.Translate(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return db.Translate(err)
		} else if n == 0 {
			return errs.E(errs.Conflict, "visit.err.not_open")
		}
		detail, _ := json.Marshal(map[string]any{"far": far, "case_id": caseID, "photos": len(in.Photos)})
		return audit.Record(ctx, tx, actor, "visit.record", "visit:"+strconv.FormatInt(id, 10), string(detail))
	})
	if err != nil {
		return nil, err
	}
	return s.get(ctx, sc, id)
}

// photoPrefix is the blob key prefix of task id's photos: a visit may
// name only photos uploaded for it.
func photoPrefix(id int64) string { return "visits/" + strconv.FormatInt(id, 10) + "/" }

// AddPhoto checks and stores a photo (JPEG or PNG, media.CheckImage) for
// u's open task id and returns its key, for RecordInput.Photos. The same
// rules as Record: grid workers, tasks in scope (404), open (409).
func (s *Store) AddPhoto(ctx context.Context, u *account.User, id int64, r io.Reader) (_ string, err error) {
	defer errs.Wrapf(&err, "visit.Store.AddPhoto")
	sc := ScopeOf(u)
	if sc.Denies() {
		return "", notFound()
	}
	t, err := s.get(ctx, sc, id)
	if err != nil {
		return "", err
	}
	if !u.Has(account.GridWorker) {
		return "", errs.E(errs.Forbidden, "visit.err.not_grid_worker")
	}
	if t.Status != StatusOpen {
		return "", errs.E(errs.Conflict, "visit.err.not_open")
	}
	if s.blob == nil {
		return "", errs.E(errs.Unavailable, "error.unavailable")
	}
	img, b, err := media.CheckImage(r, 0)
	if err != nil {
		return "", err
	}
	// Other staff see the photo (OpenPhoto): not the phone's EXIF serials
	// and the GPS the record already holds.
	b = media.StripMetadata(img, b)
	var rnd [8]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return "", err
	}
	key := photoPrefix(id) + hex.EncodeToString(rnd[:]) + "." + img.Ext
	if _, err := s.blob.Put(ctx, key, bytes.NewReader(b)); err != nil {
		return "", err
	}
	return key, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Counts are the open tasks of a scope.
type Counts struct {
	Due     int `json:"due"`
	Overdue int `json:"overdue"`
}

// Count counts the open tasks in u's scope whose period has started:
// due (not yet overdue) and overdue; under the region node regionCode
// when it is set (the big screen's node on view), which must lie in the
// scope (else 404). It is the staff queue's count and the big screen's.
func (s *Store) Count(ctx context.Context, u *account.User, regionCode string) (_ Counts, err error) {
	defer errs.Wrapf(&err, "visit.Store.Count")
	sc := ScopeOf(u)
	if sc.Denies() {
		return Counts{}, notFound()
	}
	if regionCode == "" {
		return s.count(ctx, sc, "", "")
	}
	n, err := s.regs.Get(ctx, regionCode)
	if err != nil || !sc.Covers(n.Path) && !strings.HasPrefix(sc.RegionPath, n.Path) {
		return Counts{}, notFound()
	}
	return s.count(ctx, sc, "", n.Path)
}

func (s *Store) count(ctx context.Context, sc account.Scope, grid, under string) (Counts, error) {
	now := s.db.Now()
	_, loc := s.calendar()
	var w db.Where
	sc.Apply(&w, registry.Columns("t"))
	w.Add("t.status = 'open'")
	w.Add("t.period_start <= ?", dateIn(now, loc).String())
	if grid != "" {
		w.Add("t.grid_code = ?", grid)
	}
	if under != "" {
		w.Add("t.region_path >= ? AND t.region_path < ?", under, db.PathUpper(under))
	}
	var c Counts
	q := `SELECT COALESCE(SUM(CASE WHEN t.due_at <= ` + w.Arg(now) + ` THEN 1 ELSE 0 END), 0), COUNT(*) FROM visit_tasks t` + w.SQL()
	var all int
	if err := s.db.QueryRow(ctx, q, w.Args()...).Scan(&c.Overdue, &all); err != nil {
		return c, db.Translate(err)
	}
	c.Due = all - c.Overdue
	return c, nil
}

// VisitsDue counts the open tasks of a grid in scope, due and overdue
// (registry.VisitCounter, for the grid summary).
func (s *Store) VisitsDue(ctx context.Context, sc account.Scope, gridCode string) (_ int, err error) {
	defer errs.Wrapf(&err, "visit.Store.VisitsDue")
	c, err := s.count(ctx, sc, gridCode, "")
	return c.Due + c.Overdue, err
}
