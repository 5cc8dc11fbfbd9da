package casework

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/feed"
	"whistle/internal/geo"
	"whistle/internal/region"
	"whistle/internal/workflow"
)

// CategoryInfo is what casework needs to know of a category.
type CategoryInfo struct {
	Code     string
	Name     string
	Workflow string
	Active   bool
	Urgent   bool
}

// Catalog is the category catalogue as casework sees it; the category
// package provides it.
type Catalog interface {
	Lookup(ctx context.Context, code string) (CategoryInfo, error)
	Route(ctx context.Context, code, regionPath string) (department string, err error)
	ValidateFields(ctx context.Context, code string, values map[string]string) error
}

// Config tunes the case loop.
type Config struct {
	// AutoCloseAfter closes verified 红哨 cases the reporter has not rated.
	AutoCloseAfter time.Duration
	// DuplicateRadius and DuplicateWindow bound the duplicate search.
	DuplicateRadius float64 // metres
	DuplicateWindow time.Duration
	// MaxDescription is the longest description, in characters.
	MaxDescription int
	// GroupCommit is the most writes committed together (1 = no batching).
	GroupCommit int
	// WriterLanes is how many group-commit transactions run at once on
	// PostgreSQL (SQLite has one writer: always 1). Zero means
	// DefaultWriterLanes.
	WriterLanes int
	// IdempotencyTTL is how long an Idempotency-Key answers with its case;
	// a key used again after that files a new case. Zero means
	// DefaultIdempotencyTTL.
	IdempotencyTTL time.Duration
}

// DefaultIdempotencyTTL is how long Idempotency-Keys last unless Config
// says otherwise: long enough for any retry, short enough that a client
// reusing keys after a day does not get an old case back.
const DefaultIdempotencyTTL = 24 * time.Hour

// DefaultWriterLanes is the number of group-commit transactions in flight
// at once on PostgreSQL. A batch's transaction is one pipeline, BEGIN to
// COMMIT (db.Tx.Queue), and every batch ends by adding to the district's
// rollup rows, which it holds until its commit is flushed: the lanes'
// commits are the serial part. Two lanes let one prepare its batch (its
// numbers and ids, its pipeline) while the other commits; more only split
// the queue into smaller batches, each paying a commit (in alternating
// runs at 32 clients, 4 lanes did 0.6–0.7 of 2; docs/BENCHMARKS.md).
const DefaultWriterLanes = 2

// DefaultConfig returns the production defaults.
func DefaultConfig() Config {
	return Config{AutoCloseAfter: 7 * 24 * time.Hour, DuplicateRadius: 100, DuplicateWindow: 7 * 24 * time.Hour, MaxDescription: 2000, GroupCommit: 64,
		WriterLanes: DefaultWriterLanes, IdempotencyTTL: DefaultIdempotencyTTL}
}

// Service runs the case loop.
type Service struct {
	db       *db.DB
	regions  *region.Store
	accounts *account.Store
	catalog  Catalog
	feed     *feed.Runner
	blobs    Blobs
	logger   *slog.Logger
	cfg      Config
	wfs      map[string]*Workflow
	// workflows stores the versions of the definitions; views caches
	// casework's view of each version a case has used.
	workflows *workflow.Store
	viewsMu   sync.RWMutex
	views     map[*workflow.Definition]*Workflow
	// deadlines and rollups are called in this order in every change's
	// transaction (see changed); either may be nil.
	deadlines Deadlines
	rollups   Rollups
	// queueCounter reads the queue counts of region nodes; nil scans.
	queueCounter NodeQueueCounter
	batch        *db.Batcher
	// loc maps times to the calendar day used in case numbers.
	loc *time.Location
}

// Deps are the Service's collaborators.
type Deps struct {
	DB       *db.DB
	Regions  *region.Store
	Accounts *account.Store
	Catalog  Catalog
	// Feed, optional, is nudged after each commit that appended to the
	// change feed; its consumer "bus" publishes the events. Without it the
	// events wait for a runner's poll.
	Feed   *feed.Runner
	Blobs  Blobs
	Logger *slog.Logger
	Config Config
	// Deadlines, optional, computes the time limits in each change's
	// transaction; Rollups, optional, counts the change after it (see
	// Service.UseDeadlines and UseRollups for collaborators built later).
	Deadlines Deadlines
	Rollups   Rollups
	// QueueCounter, optional, counts the queues of callers scoped by region
	// alone (the stats rollups); without it QueueCounts scans the cases.
	// UseQueueCounter sets it when the counter is built after the Service.
	QueueCounter NodeQueueCounter
	// Workflows stores the workflow versions; NewService registers
	// casework's vocabulary and shipped definitions in it. Nil makes one
	// on DB.
	Workflows *workflow.Store
}

// NewService wires a Service.
func NewService(d Deps) (*Service, error) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return nil, err
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Config == (Config{}) {
		d.Config = DefaultConfig()
	}
	if d.Config.IdempotencyTTL <= 0 {
		d.Config.IdempotencyTTL = DefaultIdempotencyTTL
	}
	if d.Config.WriterLanes <= 0 {
		d.Config.WriterLanes = DefaultWriterLanes
	}
	wfs := Workflows()
	for _, w := range wfs {
		if err := w.Validate(); err != nil {
			return nil, err
		}
	}
	if d.Workflows == nil {
		d.Workflows = workflow.NewStore(d.DB)
		d.Workflows.Logger = d.Logger
	}
	shipped := make([]*workflow.Definition, 0, len(wfs))
	for _, w := range wfs {
		shipped = append(shipped, w.Def)
	}
	// The shipped versions are stored if missing, so that every case's
	// version can be read back.
	if err := d.Workflows.Register(context.Background(), Vocab(), shipped...); err != nil {
		return nil, err
	}
	s := &Service{db: d.DB, regions: d.Regions, accounts: d.Accounts, catalog: d.Catalog, feed: d.Feed,
		blobs: d.Blobs, logger: d.Logger, cfg: d.Config, wfs: wfs, workflows: d.Workflows, views: map[*workflow.Definition]*Workflow{},
		deadlines: d.Deadlines, rollups: d.Rollups, queueCounter: d.QueueCounter, loc: loc}
	if d.Config.GroupCommit > 1 {
		o := db.BatcherOptions{MaxBatch: d.Config.GroupCommit, Lanes: d.Config.WriterLanes}
		if d.DB.Dialect() == db.Postgres {
			// Parallel lanes would queue on the district's daily counter
			// row for whole transactions: reserve numbers outside them.
			o.Reserve = s.reserveNumbers
		}
		s.batch = db.NewBatcherWith(d.DB, o)
	}
	return s, nil
}

// WriterStats reports the group-commit writer's counters.
func (s *Service) WriterStats() db.BatchStats {
	if s.batch == nil {
		return db.BatchStats{}
	}
	return s.batch.Stats()
}

// Close stops the group-commit writer after the queued writes.
func (s *Service) Close() {
	if s.batch != nil {
		s.batch.Close()
	}
}

// write runs fn in a transaction: a shared, group-committed one when
// batching is on. Either way it returns after fn's writes are committed.
func (s *Service) write(ctx context.Context, fn func(*db.Tx) error) error {
	if s.batch != nil {
		return s.batch.Do(ctx, fn)
	}
	return s.db.InTx(ctx, fn)
}

// writeNumbered is write for a new case of district: fn gets the case's
// daily sequence number, reserved by the group-commit writer before its
// transaction (PostgreSQL), or 0 when fn must take one inside its own
// transaction (caseNumber: SQLite, or no group commit).
func (s *Service) writeNumbered(ctx context.Context, district string, fn func(tx *db.Tx, seq int64) error) error {
	if s.batch != nil && s.batch.Reserves() {
		return s.batch.DoNumbered(ctx, district, fn)
	}
	return s.write(ctx, func(tx *db.Tx) error { return fn(tx, 0) })
}

// Workflow returns the active version of a workflow by name (the
// version new cases get).
func (s *Service) Workflow(ctx context.Context, name string) (*Workflow, bool) {
	w, err := s.activeWorkflow(ctx, name)
	return w, err == nil
}

// WorkflowStore is the store of workflow versions the service reads: an
// upload through it applies to the cases submitted after it.
func (s *Service) WorkflowStore() *workflow.Store { return s.workflows }

// activeWorkflow is the version of name that new cases get.
func (s *Service) activeWorkflow(ctx context.Context, name string) (*Workflow, error) {
	d, err := s.workflows.Active(ctx, name)
	if err != nil {
		return nil, err
	}
	return s.view(d), nil
}

// workflowOf is the version of its workflow that c was submitted under:
// an upload applies to new cases only.
func (s *Service) workflowOf(ctx context.Context, c *Case) (*Workflow, error) {
	d, err := s.workflows.Get(ctx, c.Workflow, c.WorkflowVersion)
	if err != nil {
		return nil, fmt.Errorf("case %d has workflow %s v%d: %w", c.ID, c.Workflow, c.WorkflowVersion, err)
	}
	return s.view(d), nil
}

func (s *Service) view(d *workflow.Definition) *Workflow {
	s.viewsMu.RLock()
	w, ok := s.views[d]
	s.viewsMu.RUnlock()
	if ok {
		return w
	}
	w = FromDefinition(d)
	s.viewsMu.Lock()
	s.views[d] = w
	s.viewsMu.Unlock()
	return w
}

// SubmitInput is a new report.
type SubmitInput struct {
	// Workflow may only repeat the category's workflow: the category
	// decides it, never the submitter (another value is a field error).
	Workflow    string
	Category    string
	Description string
	Lat, Lng    *float64
	CRS         string
	Address     string
	Anonymous   bool
	Phone       string
	Visibility  string
	Fields      map[string]string
	Source      string
	// Urgent may be set only by callers with account.PermCaseUrgent (and
	// the system); for anyone else it is a field error. An urgent
	// category makes its cases urgent whoever reports them.
	Urgent         bool
	IdempotencyKey string
}

// hash is the SHA-256 of the canonical form of the input (the key left
// out): the same report, however its JSON was spelled, hashes the same.
func (in SubmitInput) hash() string {
	in.IdempotencyKey = ""
	if len(in.Fields) == 0 {
		in.Fields = nil
	}
	b, _ := json.Marshal(in) // plain values only: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// mayMarkUrgent reports whether c may set a case's urgency: urgency is a
// staff decision.
func mayMarkUrgent(c Caller) bool {
	return c.System || c.User.Can(account.PermCaseUrgent)
}

// allowedSources says which sources each kind of caller may claim.
func allowedSource(c Caller, src string) bool {
	if c.System {
		return true
	}
	if c.User == nil || !c.User.IsStaff() {
		return src == SourceResident
	}
	if c.User.Has(account.GridWorker) && src == SourceGridPatrol {
		return true
	}
	switch src {
	case SourceStaff, SourceHotline, SourceVisit, SourceGridPatrol, SourceResident:
		return true
	}
	return false
}

func defaultSource(c Caller) string {
	switch {
	case c.User == nil || !c.User.IsStaff():
		return SourceResident
	case c.User.Has(account.GridWorker):
		return SourceGridPatrol
	}
	return SourceStaff
}

// Submit validates and records a new case: the location picks the grid,
// community and street, the category the workflow and the routed
// department. With an idempotency key, a repeat by the same caller (see
// idemOwner) with the same input returns the first case and replayed =
// true; the same key with other input is an idempotency_mismatch error,
// and a key older than Config.IdempotencyTTL files a new case.
func (s *Service) Submit(ctx context.Context, c Caller, in SubmitInput) (_ *Case, replayed bool, err error) {
	defer errs.Wrapf(&err, "casework.Submit")
	hash := in.hash()
	e := errs.E(errs.Invalid, "error.invalid")
	in.Description = strings.TrimSpace(in.Description)
	switch n := utf8.RuneCountInString(in.Description); {
	case n == 0:
		e.Field("description", "field.required")
	case n > s.cfg.MaxDescription || len(in.Description) > 4*s.cfg.MaxDescription:
		e.Field("description", "field.too_long", s.cfg.MaxDescription)
	}
	if utf8.RuneCountInString(in.Address) > 300 {
		e.Field("address", "field.too_long", 300)
	}
	if len(in.IdempotencyKey) > 200 {
		e.Field("idempotency_key", "field.too_long", 200)
	}
	if in.Phone != "" && !account.ValidPhone(in.Phone) {
		e.Field("phone", "field.phone_format")
	}
	if in.Visibility == "" {
		in.Visibility = "public"
	}
	if in.Visibility != "public" && in.Visibility != "private" {
		e.Field("visibility", "case.bad_visibility")
	}
	if in.Source == "" {
		in.Source = defaultSource(c)
	}
	if !allowedSource(c, in.Source) {
		e.Field("source", "case.bad_source", in.Source)
	}
	var p orb.Point
	crs, crsErr := geo.ParseCRS(in.CRS)
	if crsErr != nil {
		e.Field("crs", "field.unknown_crs", in.CRS)
	}
	coord := func(name string, v *float64, lim float64) float64 {
		switch {
		case v == nil:
			e.Field(name, "field.required")
		case math.IsNaN(*v) || math.IsInf(*v, 0) || *v < -lim || *v > lim:
			e.Field(name, "field.range", -lim, lim)
		default:
			return *v
		}
		return 0
	}
	lat, lng := coord("lat", in.Lat, 90), coord("lng", in.Lng, 180)
	var cat CategoryInfo
	if strings.TrimSpace(in.Category) == "" {
		e.Field("category", "field.required")
	} else if ci, err := s.catalog.Lookup(ctx, in.Category); err != nil {
		if !errs.Is(err, errs.NotFound) {
			return nil, false, err
		}
		e.Field("category", "case.unknown_category", in.Category)
	} else if !ci.Active {
		e.Field("category", "case.inactive_category", in.Category)
	} else {
		cat = ci
	}
	// The workflow follows the category: a submitter may repeat it, not
	// choose another one.
	w, werr := s.activeWorkflow(ctx, cat.Workflow)
	if werr != nil && !errs.Is(werr, errs.NotFound) {
		return nil, false, werr
	}
	ok := werr == nil
	switch {
	case cat.Code == "":
	case in.Workflow != "" && in.Workflow != cat.Workflow:
		e.Field("workflow", "case.workflow_follows_category", cat.Workflow)
	case !ok:
		e.Field("workflow", "case.unknown_workflow", cat.Workflow)
	}
	if in.Urgent && !mayMarkUrgent(c) {
		e.Field("urgent", "case.urgent_staff_only")
	}
	var loc region.Location
	if _, bad := e.Fields["lat"]; !bad && crsErr == nil {
		if _, bad := e.Fields["lng"]; !bad {
			p = geo.ToWGS84(crs, orb.Point{lng, lat})
			l, ok := s.regions.Locator().Locate(p)
			if !ok {
				e.Field("lat", "region.outside_jurisdiction").Field("lng", "region.outside_jurisdiction").WithReason("outside_jurisdiction")
			}
			loc = l
		}
	}
	if cat.Code != "" && len(e.Fields) == 0 {
		if err := s.catalog.ValidateFields(ctx, cat.Code, in.Fields); err != nil {
			fe, ok := errs.As(err)
			if !ok {
				return nil, false, err
			}
			for k, m := range fe.Fields {
				e.Field("fields."+strings.TrimPrefix(k, "fields."), m.Key, m.Args...)
			}
			if len(fe.Fields) == 0 {
				e.Field("fields", fe.Msg.Key, fe.Msg.Args...)
			}
		}
	}
	if len(e.Fields) > 0 {
		return nil, false, e
	}
	owner := idemOwner(c)
	if owner == "" {
		in.IdempotencyKey = "" // an anonymous caller without a client identity: nobody to scope the key to
	}
	var expired bool // the key was used more than IdempotencyTTL ago: release it
	if in.IdempotencyKey != "" {
		existing, stale, err := s.byIdempotencyKey(ctx, owner, in.IdempotencyKey, hash)
		switch {
		case err == nil && !stale:
			return existing, true, nil
		case err == nil:
			expired = true
		case !errs.Is(err, errs.NotFound):
			return nil, false, err
		}
	}
	district := loc.At(region.District).Code
	gridPath := pathOf(loc)
	dept, err := s.catalog.Route(ctx, cat.Code, gridPath)
	if err != nil {
		return nil, false, err
	}
	if in.Fields == nil {
		in.Fields = map[string]string{}
	}
	fields, _ := json.Marshal(in.Fields)
	urgent := in.Urgent || cat.Urgent
	var reporter any
	if c.User != nil && !in.Anonymous {
		reporter = c.User.ID
	}
	var idemO, idemK any
	idemH := ""
	if in.IdempotencyKey != "" {
		idemO, idemK, idemH = owner, in.IdempotencyKey, hash
	}
	var id int64
	var number string
	var after *Case
	err = s.writeNumbered(ctx, district, func(tx *db.Tx, seq int64) error {
		var err error
		if expired {
			if _, err := tx.Exec(ctx, `UPDATE cases SET idem_owner = NULL WHERE idem_owner = $1 AND idem_key = $2 AND created_at < $3`,
				owner, in.IdempotencyKey, tx.Now().Add(-s.cfg.IdempotencyTTL)); err != nil {
				return err
			}
		}
		if number, err = s.caseNumber(ctx, tx, district, w.Prefix, seq); err != nil {
			return err
		}
		// The new case as the row reads back (caseCols); the deadline
		// computation and the rollups get it without a read, and TestSubmitAnswersWithTheStoredCase (package
		// sla) checks that it equals the row.
		nc := &Case{Number: number, District: district, Workflow: w.Name, Status: w.Initial, Source: in.Source,
			CategoryCode: cat.Code, CategoryName: cat.Name, Description: in.Description, Address: strings.TrimSpace(in.Address),
			Lat: p[1], Lng: p[0], GridCode: loc.Grid.Code, CommunityCode: loc.At(region.Community).Code, StreetCode: loc.At(region.Street).Code,
			RegionPath: gridPath, ReporterPhone: in.Phone, Anonymous: in.Anonymous || c.User == nil, Urgent: urgent, Visibility: in.Visibility,
			Fields: in.Fields, RoutedDept: dept, Version: 1, WorkflowVersion: w.Version, CreatedAt: tx.Now(), UpdatedAt: tx.Now(),
			SLAState: "none"} // the column's default until the SLA engine sets it
		if reporter != nil {
			nc.ReporterID, nc.ReporterName = c.User.ID, cmp.Or(c.User.DisplayName, c.User.Username)
		}
		// The deadline is computed before the row is written when the
		// deadline computation can (DeadlinesAhead): one INSERT instead of
		// an INSERT and an UPDATE of the same row.
		pc := pendingChange{w: w, after: nc, action: ActSubmit, actor: c}
		var writeSLA func(context.Context, *db.Tx, int64) error
		if da, ok := s.deadlines.(DeadlinesAhead); ok {
			cp := *nc
			sla, write, ok, err := da.NewCaseDeadline(ctx, tx, Change{After: &cp, Action: ActSubmit, Workflow: w, At: tx.Now(), Actor: c})
			if err != nil {
				return err
			}
			if ok {
				nc.DeadlineAt, nc.SLAState = sla.stored()
				pc.slaDone, writeSLA = true, write
			}
		}
		var deadline any
		if !nc.DeadlineAt.IsZero() {
			deadline = nc.DeadlineAt
		}
		caseArgs := []any{nc.Number, nc.District, nc.Workflow, string(nc.Status), nc.Source, nc.CategoryCode, nc.CategoryName, nc.Description, nc.Address,
			nc.Lat, nc.Lng, nc.GridCode, nc.CommunityCode, nc.StreetCode, nc.RegionPath, reporter, nc.ReporterPhone,
			nc.Anonymous, nc.Urgent, nc.Visibility, string(fields), nc.RoutedDept, idemO, idemK, idemH, nc.CreatedAt, nc.WorkflowVersion, deadline, nc.SLAState}
		ev := eventRow{actor: c, role: roleFor(c, nil), action: ActSubmit, to: w.Initial, public: true,
			data: map[string]any{DataSource: in.Source, DataCategory: cat.Code}}
		// The case's id is reserved ahead (PostgreSQL: db.Tx.Insert), so
		// that none of its statements waits for another's answer and a
		// batch of submissions goes to the server in one pipeline.
		if id, err = tx.Insert(ctx, "cases", insertCase+` RETURNING id`, caseArgs...); err != nil {
			return err
		}
		ev.caseID = id
		if err := s.queueEvent(ctx, tx, ev); err != nil {
			return err
		}
		nc.ID = id
		s.publishAfter(tx, district, ActSubmit, id, number, w.Initial, gridPath, 0, reporterID(reporter),
			&StepFacts{Workflow: w.Name, WorkflowVersion: nc.WorkflowVersion, After: snapshotOf(nc)})
		if writeSLA != nil {
			if err := writeSLA(ctx, tx, id); err != nil {
				return err
			}
		}
		pc.id = id
		after, err = s.changedOne(ctx, tx, pc)
		return err
	})
	if errs.Is(err, errs.Conflict) && in.IdempotencyKey != "" {
		// A concurrent request with the same key won the race.
		existing, stale, err2 := s.byIdempotencyKey(ctx, owner, in.IdempotencyKey, hash)
		if err2 == nil && !stale {
			return existing, true, nil
		}
		if errs.Is(err2, errs.Invalid) {
			return nil, false, err2
		}
	}
	if err != nil {
		return nil, false, err
	}
	// The case as written inside the committed transaction, with its
	// deadline and SLA state: no need to read it again.
	return after, false, nil
}

func reporterID(v any) int64 {
	if id, ok := v.(int64); ok {
		return id
	}
	return 0
}

// idemOwner is whose Idempotency-Keys a caller uses: a user's own, an
// anonymous client's own (by a hash of its identity, so that the database
// holds no usable cookie), or the system's. "" is nobody's: an anonymous
// caller without a client identity, whose key is ignored.
func idemOwner(c Caller) string {
	switch {
	case c.System:
		return "system"
	case c.User != nil:
		return "user:" + strconv.FormatInt(c.User.ID, 10)
	case c.Client != "":
		sum := sha256.Sum256([]byte(c.Client))
		return "client:" + hex.EncodeToString(sum[:])
	}
	return ""
}

func pathOf(l region.Location) string {
	var b strings.Builder
	b.WriteString("/")
	for _, r := range l.Path {
		b.WriteString(r.Code + "/")
	}
	return b.String()
}

// byIdempotencyKey returns the case owner filed with key: the case itself
// when the request hashes the same, an idempotency_mismatch error (saying
// nothing of the case) when it does not, and stale when the key has
// expired, whatever the request.
func (s *Service) byIdempotencyKey(ctx context.Context, owner, key, hash string) (_ *Case, stale bool, _ error) {
	var id int64
	var stored string
	var created db.Time
	err := s.db.QueryRow(ctx, `SELECT id, idem_hash, created_at FROM cases WHERE idem_owner = $1 AND idem_key = $2`, owner, key).Scan(&id, &stored, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, errs.E(errs.NotFound, "case.not_found")
	}
	if err != nil {
		return nil, false, err
	}
	if created.Time.Before(s.db.Now().Add(-s.cfg.IdempotencyTTL)) {
		return nil, true, nil
	}
	// Keys stored before the hash was (empty) answer as they always did.
	if stored != "" && stored != hash {
		return nil, false, errs.E(errs.Invalid, "case.idempotency_mismatch").WithReason("idempotency_mismatch").
			Field("idempotency_key", "case.idempotency_mismatch")
	}
	c, err := s.get(ctx, account.SystemScope(), id)
	return c, false, err
}

// caseNumber is WS20261122000123: prefix, the day in Asia/Shanghai and a
// per-district daily sequence. seq is the number the group-commit writer
// reserved (reserveNumbers); 0 takes the next one inside tx, where the
// counter row stays locked until tx ends (SQLite's single writer loses
// nothing by that, and a rolled-back case gives its number back).
func (s *Service) caseNumber(ctx context.Context, tx *db.Tx, district, prefix string, seq int64) (string, error) {
	day := tx.Now().In(s.loc).Format("20060102")
	if seq == 0 {
		err := tx.QueryRow(ctx, `INSERT INTO case_numbers (district_code, day, seq) VALUES ($1, $2, 1)
			ON CONFLICT (district_code, day) DO UPDATE SET seq = case_numbers.seq + 1 RETURNING seq`, district, day).Scan(&seq)
		if err != nil {
			return "", db.Translate(err)
		}
	}
	return fmt.Sprintf("%s%s%06d", prefix, day, seq), nil
}

// reserveNumbers is the group-commit writer's db.ReserveFunc on
// PostgreSQL: it takes n numbers of district's counter for the day of now
// in one short statement of its own, so that the counter row is locked for
// that statement only and the writer's lanes do not queue on it for whole
// transactions. The numbers of a case that then fails stay unused: numbers
// are unique and rise within a district and day, with gaps where a write
// failed (docs/DECISIONS.md). The reservation commits without waiting for
// its WAL flush: the case that uses a number commits synchronously after
// it, which flushes it too (db.DB.QueryRowUnsynced).
func (s *Service) reserveNumbers(ctx context.Context, district string, n int, now time.Time) (int64, error) {
	day := now.In(s.loc).Format("20060102")
	var last int64
	err := s.db.QueryRowUnsynced(ctx, `INSERT INTO case_numbers (district_code, day, seq) VALUES ($1, $2, $3)
		ON CONFLICT (district_code, day) DO UPDATE SET seq = case_numbers.seq + excluded.seq RETURNING seq`, district, day, n).Scan(&last)
	if err != nil {
		return 0, db.Translate(err)
	}
	return last - int64(n) + 1, nil
}

type eventRow struct {
	caseID   int64
	actor    Caller
	role     string
	action   Action
	from, to State
	note     string
	data     map[string]any
	public   bool
}

// insertCase is the INSERT of a new case row (Submit): $1 is its id
// (db.Tx.Insert), $2…$28 its columns.
const insertCase = `INSERT INTO cases (id, number, district_code, workflow, status, source, category_code, category_name, description, address,
	lat, lng, grid_code, community_code, street_code, region_path, reporter_id, reporter_phone, anonymous, urgent, visibility,
	fields, routed_department, idem_owner, idem_key, idem_hash, created_at, updated_at, workflow_version, deadline_at, sla_state)
	VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$27,$28,$29,$30)`

// insertEventSQL is the INSERT of a case_events row, $1…$11: case_id,
// then eventRow.args.
const insertEventSQL = `INSERT INTO case_events (case_id, at, actor_id, actor_name, role, action, from_status, to_status, note, data, public)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)`

// args are the values of a case_events row after its case_id: at,
// actor_id, actor_name, role, action, from_status, to_status, note, data,
// public.
func (ev eventRow) args(tx *db.Tx) ([]any, error) {
	if ev.data == nil {
		ev.data = map[string]any{}
	}
	b, err := json.Marshal(ev.data)
	if err != nil {
		return nil, err
	}
	var actorID any
	if id := ev.actor.id(); id != 0 {
		actorID = id
	}
	return []any{tx.Now(), actorID, ev.actor.name(), ev.role, string(ev.action), string(ev.from), string(ev.to), ev.note, string(b), ev.public}, nil
}

func (s *Service) insertEvent(ctx context.Context, tx *db.Tx, ev eventRow) (int64, error) {
	args, err := ev.args(tx)
	if err != nil {
		return 0, err
	}
	return tx.InsertID(ctx, insertEventSQL+` RETURNING id`, append([]any{ev.caseID}, args...)...)
}

// queueEvent is insertEvent for an entry whose id nobody needs: its
// INSERT is queued (db.Tx.Queue).
func (s *Service) queueEvent(ctx context.Context, tx *db.Tx, ev eventRow) error {
	args, err := ev.args(tx)
	if err != nil {
		return err
	}
	return tx.Queue(ctx, insertEventSQL, append([]any{ev.caseID}, args...)...)
}

// EventMessage is what the bus carries for each committed step.
type EventMessage struct {
	CaseID     int64     `json:"case_id"`
	Number     string    `json:"number"`
	Action     Action    `json:"action"`
	Status     State     `json:"status"`
	RegionPath string    `json:"region_path"`
	Department int64     `json:"department_id,omitempty"`
	Reporter   int64     `json:"-"`
	At         time.Time `json:"at"`
}

// publishAfter appends the event to the change feed inside tx, where the
// feed's consumer "bus" (feed.PublishTo) reads it after the commit and
// publishes it on Subject with the same JSON as before the feed: a
// rolled-back transaction publishes nothing, and a crash after the commit
// loses nothing. The rows are written just before the commit (tx.Defer),
// after the case row, whose lock orders two changes of one case.
func (s *Service) publishAfter(tx *db.Tx, district string, a Action, id int64, number string, st State, path string, dept, reporter int64, facts *StepFacts) {
	msg := EventMessage{CaseID: id, Number: number, Action: a, Status: st, RegionPath: path, Department: dept, Reporter: reporter, At: tx.Now()}
	b, _ := json.Marshal(struct {
		EventMessage
		Reporter int64      `json:"reporter_id,omitempty"`
		Step     *StepFacts `json:"private,omitempty"`
	}{msg, reporter, facts})
	fe := tx.Defer(feedKey{}, func() db.Deferred { return &feedEvents{} }).(*feedEvents)
	fe.evs = append(fe.evs, feed.Event{SubjectKind: FeedSubject, SubjectID: id, District: district, Kind: string(a), Payload: b})
	tx.AfterCommit(s.feed.Nudge)
}

// FeedSubject is the subject kind of case events on the change feed; with
// the district and the action it makes the bus subject (Subject).
const FeedSubject = "case"

// feedKey keys a transaction's feedEvents.
type feedKey struct{}

// feedEvents are the feed events a transaction gathers, appended at its
// end in one statement (under group commit, once for the whole batch, or
// at the end of each write's savepoint when the batch is replayed).
type feedEvents struct{ evs []feed.Event }

// Flush implements db.Deferred.
func (f *feedEvents) Flush(ctx context.Context, tx *db.Tx) error {
	return feed.AppendAll(ctx, tx, f.evs)
}

// Subject is the bus subject of a case event: case.<district>.<action>.
func Subject(district, action string) string { return "case." + district + "." + action }
