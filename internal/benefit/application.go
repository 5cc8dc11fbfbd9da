package benefit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/registry"
	"whistle/internal/workflow"
)

// Application is an application for a benefit.
type Application struct {
	ID            int64          `json:"id"`
	District      string         `json:"district"`
	RegionCode    string         `json:"region"`
	RegionPath    string         `json:"-"`
	DepartmentID  int64          `json:"department_id,omitempty"`
	ApplicantID   int64          `json:"applicant_id,omitempty"`
	Subject       Subject        `json:"subject"`
	SubjectName   string         `json:"subject_name"`
	Policy        string         `json:"policy"`
	PolicyVersion int            `json:"policy_version"`
	Title         Text           `json:"title"`
	Period        string         `json:"period"`
	Amount        float64        `json:"amount"`
	Eligibility   string         `json:"eligibility"`
	Facts         map[string]any `json:"facts,omitempty"`
	Documents     []Text         `json:"documents"`
	Uploads       []string       `json:"uploads"`
	Status        string         `json:"status"`
	// Version counts the steps (optimistic locking).
	Version         int        `json:"version"`
	WorkflowVersion int        `json:"workflow_version"`
	Reason          string     `json:"reason,omitempty"`
	Request         string     `json:"request,omitempty"`
	StageDueAt      *time.Time `json:"stage_due_at,omitempty"`
	SLAState        string     `json:"sla_state"`
	EligibleAt      time.Time  `json:"eligible_at"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	ClosedAt        *time.Time `json:"closed_at,omitempty"`
	// Masked says the subject's name is masked (staff, until revealed).
	Masked bool `json:"masked,omitempty"`
	// Timeline is filled in by Get only.
	Timeline []workflow.Step `json:"timeline,omitempty"`
}

// NewApplication is a one-click application: the subject (the caller
// themselves when empty), the policy, and optionally the period (this
// month by default), the uploaded documents' keys and a note.
type NewApplication struct {
	Subject Subject  `json:"subject"`
	Policy  string   `json:"policy"`
	Period  string   `json:"period"`
	Uploads []string `json:"uploads"`
	Note    string   `json:"note"`
}

// The bounds of an application's inputs.
const (
	maxNote    = 1000
	maxUploads = 20
	maxKey     = 200
	maxPolicy  = 100
)

// periodRe is a period: a year, a month or a quarter, or "once" (a
// benefit paid once ever).
var periodRe = regexp.MustCompile(`^([0-9]{4}(-(0[1-9]|1[0-2])|-Q[1-4])?|once)$`)

// ValidPeriod reports whether p is a period: 2026, 2026-12 or 2026-Q4.
func ValidPeriod(p string) bool { return periodRe.MatchString(p) }

// checkUploads names a bad list of uploaded documents' keys.
func checkUploads(e *errs.Error, keys []string) {
	if len(keys) > maxUploads {
		e.Field("uploads", "benefit.err.too_many_uploads", maxUploads)
		return
	}
	for i, k := range keys {
		if k = strings.TrimSpace(k); k == "" || len(k) > maxKey || strings.ContainsAny(k, "\x00\r\n") {
			e.Field("uploads."+strconv.Itoa(i), "benefit.err.upload")
		}
	}
}

// subjectRow is an application's subject as the registry has it.
type subjectRow struct {
	name, idNumber, grid, path string
	// phone is a person's phone, by which a resident who proved it may
	// be linked (residentOf).
	phone string
}

// subjectOf finds the subject for c: staff reach the people and
// organisations of their scope, a resident themselves (their person,
// or the household they head) only. Anything else is NotFound.
func (s *Service) subjectOf(ctx context.Context, c Caller, sub Subject) (*subjectRow, error) {
	notFound := errs.E(errs.NotFound, "benefit.subject_not_found")
	switch sub.Kind {
	case Person, Household:
		p, err := s.d.Registry.PersonClear(ctx, account.SystemScope(), sub.ID)
		if errs.Is(err, errs.NotFound) {
			return nil, notFound
		}
		if err != nil {
			return nil, err
		}
		if !(staff(c) && c.Scope().Covers(p.RegionPath)) {
			// A resident themselves, linked as Me links them.
			if c.IsSystem() || c.User == nil {
				return nil, notFound
			}
			me, err := s.residentPerson(ctx, c.User)
			if err != nil && !errs.Is(err, errs.NotFound) {
				return nil, err
			}
			if err != nil || me != sub.ID {
				return nil, notFound
			}
		}
		return &subjectRow{name: p.Name, idNumber: p.IDNumber, grid: p.GridCode, path: p.RegionPath, phone: p.Phone}, nil
	case Organisation:
		o, err := s.d.Registry.Organisation(ctx, account.SystemScope(), sub.ID)
		if errs.Is(err, errs.NotFound) {
			return nil, notFound
		}
		if err != nil {
			return nil, err
		}
		if !staff(c) || !c.Scope().Covers(o.RegionPath) {
			return nil, notFound
		}
		return &subjectRow{name: o.Name, grid: o.GridCode, path: o.RegionPath}, nil
	}
	return nil, errs.E(errs.Invalid, "error.invalid").Field("subject.kind", "benefit.err.subject_kind")
}

// Me is the registry's person of a signed-in resident, linked as
// eligibility links them (registry.Store.ResidentPerson: by identity
// number, else by a phone they proved that only one person has), or
// NotFound; a phone several people share links nobody (NotFound
// "benefit.person_ambiguous", reason "ambiguous").
func (s *Service) Me(ctx context.Context, c Caller) (_ Subject, err error) {
	defer errs.Wrapf(&err, "benefit.Service.Me")
	if c.IsSystem() || c.User == nil {
		return Subject{}, errs.E(errs.NotFound, "benefit.subject_not_found")
	}
	id, err := s.residentPerson(ctx, c.User)
	if e, ok := errs.As(err); ok && e.Code == errs.NotFound {
		if e.Reason == "ambiguous" {
			return Subject{}, errs.E(errs.NotFound, "benefit.person_ambiguous").WithReason("ambiguous")
		}
		return Subject{}, errs.E(errs.NotFound, "benefit.subject_not_found")
	}
	if err != nil {
		return Subject{}, err
	}
	return Subject{Kind: Person, ID: id}, nil
}

// residentPerson links a resident to their registry person by identity
// number, else by a phone they proved by SMS code.
func (s *Service) residentPerson(ctx context.Context, u *account.User) (int64, error) {
	phones, err := s.d.Accounts.VerifiedPhones(ctx, u.ID)
	if err != nil {
		return 0, err
	}
	return s.d.Registry.ResidentPerson(ctx, u, phones)
}

// Matches evaluates every policy for a subject c may see (the resident
// themselves when sub is zero), today.
func (s *Service) Matches(ctx context.Context, c Caller, sub Subject) (_ []Match, err error) {
	defer errs.Wrapf(&err, "benefit.Service.Matches")
	if sub.ID == 0 {
		if sub, err = s.Me(ctx, c); err != nil {
			return nil, err
		}
	}
	if _, err := s.subjectOf(ctx, c, sub); err != nil {
		return nil, err
	}
	if s.d.Policies == nil {
		return nil, errs.E(errs.Unavailable, "error.unavailable")
	}
	return s.d.Policies.Evaluate(ctx, account.SystemScope(), sub, s.d.DB.Now())
}

// fen is an amount in yuan as whole fen.
func fen(yuan *float64) int64 {
	if yuan == nil || math.IsNaN(*yuan) || *yuan <= 0 || *yuan > 1e12 {
		return 0
	}
	return int64(math.Round(*yuan * 100))
}

// period is this month in the district's time zone.
func (s *Service) period(at time.Time) string { return at.In(s.d.Location).Format("2006-01") }

// periodOf is the period of a policy paid per kind ("month", "year" or
// "once"; month when unsaid) that includes at: a benefit paid yearly or
// once is not paid again next month.
func (s *Service) periodOf(kind string, at time.Time) string {
	switch kind {
	case "year":
		return at.In(s.d.Location).Format("2006")
	case "once":
		return "once"
	}
	return s.period(at)
}

// departmentID is the id of the department with the code, or 0.
func departmentID(ctx context.Context, q interface {
	QueryRow(ctx context.Context, q string, args ...any) *sql.Row
}, code string) (int64, error) {
	if code == "" {
		return 0, nil
	}
	var id int64
	err := q.QueryRow(ctx, `SELECT id FROM departments WHERE code = $1`, code).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, db.Translate(err)
}

// residentOf is the enabled resident account of a subject (the one to
// tell, whose own applications these are), or 0: the account with the
// identity number, else the account that proved the subject's phone by
// SMS code when no other registry person has that phone, as
// registry.Store.ResidentPerson links them the other way.
func residentOf(ctx context.Context, tx *db.Tx, row *subjectRow) (int64, error) {
	if row.idNumber != "" {
		if id, err := account.ResidentByIDNumber(ctx, tx, row.idNumber); err != nil || id != 0 {
			return id, err
		}
	}
	if row.phone == "" {
		return 0, nil
	}
	people, err := registry.PeopleWithPhone(ctx, tx, row.phone)
	if err != nil || people != 1 {
		return 0, err // none, or a phone several people share: nobody's
	}
	return account.ResidentByProvenPhone(ctx, tx, row.phone)
}

// Apply is the one-click application: the policy engine's answer for the
// subject prefills it (the facts it used, the amount, the documents
// required, the department), and it enters the benefit workflow. A policy
// the subject is not eligible for is refused; a second click while an
// application of the same subject, policy and period is open answers
// that application.
func (s *Service) Apply(ctx context.Context, c Caller, in NewApplication) (_ *Application, err error) {
	defer errs.Wrapf(&err, "benefit.Service.Apply")
	e := errs.E(errs.Invalid, "error.invalid")
	in.Policy = strings.TrimSpace(in.Policy)
	switch {
	case in.Policy == "":
		e.Field("policy", "field.required")
	case utf8.RuneCountInString(in.Policy) > maxPolicy:
		e.Field("policy", "field.too_long", maxPolicy)
	}
	if in.Period != "" && !ValidPeriod(in.Period) {
		e.Field("period", "benefit.err.period")
	}
	if utf8.RuneCountInString(in.Note) > maxNote {
		e.Field("note", "field.too_long", maxNote)
	}
	checkUploads(e, in.Uploads)
	if in.Subject.Kind != "" && in.Subject.Kind != Person && in.Subject.Kind != Household && in.Subject.Kind != Organisation {
		e.Field("subject.kind", "benefit.err.subject_kind")
	}
	if len(e.Fields) > 0 {
		return nil, e
	}
	if in.Subject.ID == 0 {
		me, err := s.Me(ctx, c)
		if err != nil {
			return nil, err
		}
		if in.Subject.Kind == "" {
			in.Subject.Kind = Person
		}
		in.Subject.ID = me.ID
	}
	sub, err := s.subjectOf(ctx, c, in.Subject)
	if err != nil {
		return nil, err
	}
	if s.d.Policies == nil {
		return nil, errs.E(errs.Unavailable, "error.unavailable")
	}
	matches, err := s.d.Policies.Evaluate(ctx, account.SystemScope(), in.Subject, s.d.DB.Now())
	if err != nil {
		return nil, err
	}
	var m *Match
	for i := range matches {
		if matches[i].Policy == in.Policy {
			m = &matches[i]
		}
	}
	if m == nil {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("policy", "benefit.err.policy_unknown", in.Policy)
	}
	if m.Result == NotEligible {
		return nil, errs.E(errs.Conflict, "benefit.not_eligible", in.Policy).WithReason("not_eligible")
	}
	if in.Period == "" {
		in.Period = s.periodOf(m.Period, s.d.DB.Now())
	}
	def, err := s.d.Workflows.Active(ctx, Kind)
	if err != nil {
		return nil, err
	}
	district, err := s.district(ctx, sub.path)
	if err != nil {
		return nil, err
	}
	facts := map[string]any{}
	for _, cd := range m.Conditions {
		for k, v := range cd.Values {
			facts[k] = v
		}
	}
	factsJSON, _ := json.Marshal(facts)
	docs := m.Documents
	if docs == nil {
		docs = []Text{}
	}
	docsJSON, _ := json.Marshal(docs)
	uploads := cleanUploads(in.Uploads)
	upJSON, _ := json.Marshal(uploads)
	var id int64
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error {
		// One open application per subject, policy and period: a second
		// click answers the first.
		err := tx.QueryRow(ctx, `SELECT id FROM benefit_applications WHERE subject_kind = $1 AND subject_id = $2 AND policy = $3 AND period = $4
			AND closed_at IS NULL ORDER BY id LIMIT 1`, in.Subject.Kind, in.Subject.ID, in.Policy, in.Period).Scan(&id)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return db.Translate(err)
		}
		var paid int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM benefit_payouts WHERE subject_kind = $1 AND subject_id = $2 AND policy = $3 AND period = $4`,
			in.Subject.Kind, in.Subject.ID, in.Policy, in.Period).Scan(&paid); err != nil {
			return db.Translate(err)
		}
		if paid > 0 {
			return errs.E(errs.Conflict, "benefit.already_paid", in.Period).WithReason("already_paid")
		}
		dept, err := departmentID(ctx, tx, m.Department)
		if err != nil {
			return err
		}
		applicant := c.UserID()
		if staff(c) {
			if applicant, err = residentOf(ctx, tx, sub); err != nil {
				return err
			}
		}
		now := tx.Now()
		if err := tx.QueryRow(ctx, `INSERT INTO benefit_applications (district, region_code, region_path, department_id, applicant_id, subject_kind, subject_id,
			subject_name, policy, policy_version, title_zh, title_en, period, amount_fen, eligibility, facts, documents, uploads, status, workflow_version,
			eligible_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $21, $21)
			RETURNING id`, district, sub.grid, sub.path, dept, applicant, in.Subject.Kind, in.Subject.ID, sub.name, m.Policy, m.Version, m.Title.ZH, m.Title.EN,
			in.Period, fen(m.Amount), m.Result, string(factsJSON), string(docsJSON), string(upJSON), def.Initial, def.Version, now).Scan(&id); err != nil {
			return db.Translate(err)
		}
		it := &item{id: id, district: district, wfVersion: def.Version}
		if _, err := workflow.RecordStep(ctx, tx, workflow.StepRecord{Kind: Kind, SubjectID: id, Ref: ref(id), District: district, Action: "apply",
			To: def.Initial, Actor: c.Actor(), UserID: c.UserID(), Note: strings.TrimSpace(in.Note),
			Data: map[string]any{"policy": m.Policy, "period": in.Period, "eligibility": m.Result}}); err != nil {
			return err
		}
		return s.enterStage(ctx, tx, def, it, def.Initial)
	})
	if err != nil {
		return nil, err
	}
	return s.Get(ctx, c, id, false)
}

func cleanUploads(keys []string) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, strings.TrimSpace(k))
	}
	return out
}

func ref(id int64) string { return Kind + ":" + strconv.FormatInt(id, 10) }

const appCols = `id, district, region_code, region_path, department_id, applicant_id, subject_kind, subject_id, subject_name, policy, policy_version,
	title_zh, title_en, period, amount_fen, eligibility, facts, documents, uploads, status, prev_status, workflow_version, version, reason, request,
	stage_due_at, sla_state, eligible_at, created_at, updated_at, closed_at`

type scanner interface{ Scan(...any) error }

// appRow is an application with what only the package reads.
type appRow struct {
	Application
	prev string
	fen  int64
}

func scanApp(r scanner) (*appRow, error) {
	var a appRow
	var amount int64
	var facts, docs, uploads string
	var due, closed db.NullTime
	var eligible, created, updated db.Time
	if err := r.Scan(&a.ID, &a.District, &a.RegionCode, &a.RegionPath, &a.DepartmentID, &a.ApplicantID, &a.Subject.Kind, &a.Subject.ID, &a.SubjectName,
		&a.Policy, &a.PolicyVersion, &a.Title.ZH, &a.Title.EN, &a.Period, &amount, &a.Eligibility, &facts, &docs, &uploads, &a.Status, &a.prev,
		&a.WorkflowVersion, &a.Version, &a.Reason, &a.Request, &due, &a.SLAState, &eligible, &created, &updated, &closed); err != nil {
		return nil, err
	}
	a.Amount, a.fen = float64(amount)/100, amount
	_ = json.Unmarshal([]byte(facts), &a.Facts)
	_ = json.Unmarshal([]byte(docs), &a.Documents)
	_ = json.Unmarshal([]byte(uploads), &a.Uploads)
	a.EligibleAt, a.CreatedAt, a.UpdatedAt = eligible.Time, created.Time, updated.Time
	a.StageDueAt, a.ClosedAt = ptr(due), ptr(closed)
	return &a, nil
}

func ptr(n db.NullTime) *time.Time {
	if !n.Valid {
		return nil
	}
	t := n.Time
	return &t
}

// scopeCols are the columns of account.Scope's grants on applications
// and payouts: the subject's region, the policy's department, the
// resident who applied.
var scopeCols = account.Columns{Path: "region_path", Department: "department_id", User: "applicant_id"}

// scoped is the where clause of the rows c may see (default deny): a
// region's rows for its staff only, not for the party members registered
// there (who a benefit is paid to is personal).
func scoped(c Caller) *db.Where {
	w := &db.Where{}
	sc := c.Scope()
	if !staff(c) {
		sc.RegionPath = ""
	}
	sc.Apply(w, scopeCols)
	return w
}

// mask hides the subject's name from staff: the applicant, and a caller
// who revealed it (audited), read it in the clear.
func (a *Application) mask(c Caller) {
	if c.IsSystem() || (c.User != nil && a.ApplicantID == c.User.ID) {
		return
	}
	a.SubjectName = registry.MaskName(a.SubjectName)
	a.Masked = true
}

// Get returns an application c may see, with its timeline; the subject's
// name is masked for staff unless reveal is set and the caller may see it
// (account.Store.Reveal, audited).
func (s *Service) Get(ctx context.Context, c Caller, id int64, reveal bool) (_ *Application, err error) {
	defer errs.Wrapf(&err, "benefit.Service.Get(%d)", id)
	w := scoped(c)
	w.Add("id = ?", id)
	a, err := scanApp(s.d.DB.QueryRow(ctx, `SELECT `+appCols+` FROM benefit_applications`+w.SQL(), w.Args()...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "benefit.not_found")
	}
	if err != nil {
		return nil, db.Translate(err)
	}
	if a.Timeline, err = workflow.Steps(ctx, s.d.DB, Kind, id); err != nil {
		return nil, err
	}
	out := &a.Application
	revealed := false
	if reveal && s.d.Accounts != nil && c.User != nil {
		if revealed, err = s.d.Accounts.Reveal(ctx, c.User, c.Actor(), ref(id), "subject_name"); err != nil {
			return nil, err
		}
	}
	if !revealed {
		out.mask(c)
	}
	return out, nil
}

// Filter narrows a list of applications or payouts.
type Filter struct {
	Status string
	Policy string
	Subject
	// Mine lists the caller's own (as the applicant) only.
	Mine   bool
	Limit  int
	Offset int
}

func (f Filter) where(w *db.Where, c Caller, status bool) int {
	if f.Status != "" && status {
		w.Add("status = ?", f.Status)
	}
	if f.Policy != "" {
		w.Add("policy = ?", f.Policy)
	}
	if f.Kind != "" {
		w.Add("subject_kind = ?", f.Kind)
	}
	if f.ID != 0 {
		w.Add("subject_id = ?", f.ID)
	}
	if f.Mine {
		w.Add("applicant_id = ?", c.UserID())
	}
	if f.Limit <= 0 || f.Limit > 200 {
		return 50
	}
	return f.Limit
}

// List returns the applications c may see, newest first, and how many
// match.
func (s *Service) List(ctx context.Context, c Caller, f Filter) (_ []*Application, total int, err error) {
	defer errs.Wrapf(&err, "benefit.Service.List")
	w := scoped(c)
	limit := f.where(w, c, true)
	if err := s.d.DB.QueryRow(ctx, `SELECT COUNT(*) FROM benefit_applications`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, db.Translate(err)
	}
	rows, err := s.d.DB.Query(ctx, `SELECT `+appCols+` FROM benefit_applications`+w.SQL()+` ORDER BY id DESC LIMIT `+w.Arg(limit)+
		` OFFSET `+w.Arg(max(f.Offset, 0)), w.Args()...)
	if err != nil {
		return nil, 0, db.Translate(err)
	}
	defer rows.Close()
	out := []*Application{}
	for rows.Next() {
		a, err := scanApp(rows)
		if err != nil {
			return nil, 0, db.Translate(err)
		}
		a.mask(c)
		a.Facts = nil
		out = append(out, &a.Application)
	}
	return out, total, db.Translate(rows.Err())
}

// Actions lists the actions c may take on a now (system steps excluded):
// the buttons a page offers.
func (s *Service) Actions(ctx context.Context, c Caller, a *Application) (_ []string, err error) {
	defer errs.Wrapf(&err, "benefit.Service.Actions(%d)", a.ID)
	def, err := s.d.Workflows.Get(ctx, Kind, a.WorkflowVersion)
	if err != nil {
		return nil, err
	}
	who := acting{c: c, applicant: c.UserID() != 0 && a.ApplicantID == c.UserID()}
	var out []string
	for _, act := range def.Actions {
		if !contains(act.From, a.Status) || contains(out, act.Name) {
			continue
		}
		if _, _, ok := act.Allowed(who); ok {
			out = append(out, act.Name)
		}
	}
	return out, nil
}

// Workflow returns the benefit workflow at version, for a page's labels.
func (s *Service) Workflow(ctx context.Context, version int) (_ *workflow.Definition, err error) {
	defer errs.Wrapf(&err, "benefit.Service.Workflow(%d)", version)
	return s.d.Workflows.Get(ctx, Kind, version)
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
