// Package benefit runs what follows an eligibility answer (issue 18,
// Build 4 and 5): applications for a benefit on the kernel's benefit
// workflow (受理 → 审核 → 发放, with 补正 stopping the clock), the payouts
// they and the 免申即享 policies write, once per subject, policy and
// period (a database constraint), and the budget ceiling of a policy.
//
// The policy engine (internal/policy) answers who may receive what; this
// package reaches it through Evaluator, so that it depends on the answer's
// shape only. An application lives where its subject lives: the staff of
// that region, the policy's department and the resident who applied see
// it (account.Scope's three grants), nobody else (NotFound).
package benefit

import (
	"context"
	"embed"
	"fmt"
	"log/slog"
	"time"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/region"
	"whistle/internal/registry"
	"whistle/internal/sla/calendar"
	"whistle/internal/workflow"
)

//go:embed workflows/*.json
var files embed.FS

// Kind is the subject kind of an application, as the workflow, timers,
// feed and audit log name it; KindPayout is the feed's kind of a payout.
const (
	Kind       = "benefit"
	KindPayout = "benefit_payout"
)

// The kinds of subject a policy targets.
const (
	Person       = "person"
	Household    = "household"
	Organisation = "organisation"
)

// The results of a policy for a subject.
const (
	Eligible      = "eligible"
	NotEligible   = "not_eligible"
	MayBeEligible = "may_be_eligible"
)

// Text is a text in both languages of the interface.
type Text struct {
	ZH string `json:"zh"`
	EN string `json:"en"`
}

// Subject names who a policy is evaluated for. A household is named by
// its head's person id (户主).
type Subject struct {
	Kind string `json:"kind"`
	ID   int64  `json:"id"`
}

// Condition is one condition's answer, as the engine gives it.
type Condition struct {
	ID     string         `json:"id"`
	Result string         `json:"result"`
	Values map[string]any `json:"values,omitempty"`
	Text   Text           `json:"text"`
	Source string         `json:"source"`
}

// Match is one policy's answer for a subject on a date (policy.Result).
type Match struct {
	Policy     string      `json:"policy"`
	Version    int         `json:"version"`
	Title      Text        `json:"title"`
	Result     string      `json:"result"`
	Amount     *float64    `json:"amount,omitempty"`
	Conditions []Condition `json:"conditions"`
	Missing    []string    `json:"missing,omitempty"`
	Documents  []Text      `json:"documents,omitempty"`
	Department string      `json:"department,omitempty"`
	// AutoPay is 免申即享: paid without an application when every
	// condition passes on verified data.
	AutoPay bool `json:"auto_pay"`
	// Period is how often the benefit is paid: month (when empty), year
	// or once.
	Period string `json:"period,omitempty"`
}

// Evaluator is the policy engine as this package needs it
// (policy.Engine, adapted where the program is wired).
type Evaluator interface {
	Evaluate(ctx context.Context, sc account.Scope, s Subject, date time.Time) ([]Match, error)
}

// Deps are what the Service needs.
type Deps struct {
	DB        *db.DB
	Regions   *region.Store
	Accounts  *account.Store
	Workflows *workflow.Store
	Registry  *registry.Store
	// Policies answers eligibility; nil refuses applications
	// (Unavailable).
	Policies Evaluator
	// Calendar gives the working calendar; nil counts working time as
	// natural time.
	Calendar func() *calendar.Calendar
	// Location is the district's time zone, whose months are the periods
	// (default UTC+8).
	Location *time.Location
	Logger   *slog.Logger
}

// Service runs benefit applications and payouts.
type Service struct {
	d Deps
}

// Vocab is what a benefit workflow may name.
func Vocab() workflow.Vocab {
	return workflow.Vocab{Kind: Kind,
		Effects: []string{"record_request", "record_uploads", "commit_budget", "record_reason", "record_payout"},
		Fields:  []string{"note", "reason", "uploads"},
		Roles: []string{string(account.GridWorker), string(account.CommunityStaff), string(account.StreetStaff), string(account.DepartmentHandler),
			string(account.Leader), string(account.Admin)},
		Relations: []string{"applicant", "system"},
		Stages:    []string{"accept", "review", "pay"},
	}
}

// Definition returns the shipped benefit workflow, parsed and validated.
func Definition() (*workflow.Definition, error) {
	b, err := files.ReadFile("workflows/benefit.json")
	if err != nil {
		return nil, err
	}
	d, err := workflow.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("workflows/benefit.json: %w", err)
	}
	if ps := workflow.Validate(d, Vocab()); ps != nil {
		return nil, fmt.Errorf("workflows/benefit.json: %w", ps)
	}
	return d, nil
}

// NewService registers the benefit workflow with d.Workflows and returns
// the Service.
func NewService(ctx context.Context, d Deps) (_ *Service, err error) {
	defer errs.Wrapf(&err, "benefit.NewService")
	if d.DB == nil || d.Regions == nil || d.Workflows == nil || d.Registry == nil {
		return nil, fmt.Errorf("benefit: DB, Regions, Workflows and Registry are required")
	}
	if d.Location == nil {
		d.Location = time.FixedZone("CST", 8*3600)
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	def, err := Definition()
	if err != nil {
		return nil, err
	}
	if err := d.Workflows.Register(ctx, Vocab(), def); err != nil {
		return nil, err
	}
	return &Service{d: d}, nil
}

// UsePolicies sets the policy engine once it is built (the engine and
// this service are wired in either order).
func (s *Service) UsePolicies(e Evaluator) { s.d.Policies = e }

// Caller is who acts: a signed-in user, or the system (a timer's step).
// It is the kernel modules' shared caller.
type Caller = account.Caller

// System is the caller of the timers' steps and of the 免申即享 runs.
func System() Caller { return account.SystemCaller() }

// CallerOf is the caller of a signed-in user.
func CallerOf(u *account.User, ip string) Caller { return account.CallerOf(u, ip) }

// staff reports whether c works applications of a region (not only their
// own or their department's).
func staff(c Caller) bool {
	if c.IsSystem() {
		return true
	}
	return IsStaff(c.User)
}

// IsStaff reports whether u is an enabled user holding a staff role of a
// region (grid worker to admin): they apply on a resident's behalf and
// see the applications of their region.
func IsStaff(u *account.User) bool {
	if u == nil || u.Disabled {
		return false
	}
	for _, r := range []account.Role{account.GridWorker, account.CommunityStaff, account.StreetStaff, account.Leader, account.Admin} {
		if u.Has(r) {
			return true
		}
	}
	return false
}

// IsDepartment reports whether u handles a department's applications.
func IsDepartment(u *account.User) bool {
	return u != nil && !u.Disabled && u.Has(account.DepartmentHandler) && u.DepartmentID != 0
}

// acting is a caller as the workflow's allowed check sees them, for one
// application.
type acting struct {
	c         Caller
	applicant bool
}

func (a acting) HasRole(r string) bool {
	return !a.c.IsSystem() && a.c.User != nil && !a.c.User.Disabled && a.c.User.Has(account.Role(r))
}

func (a acting) HasRelation(rel string) bool {
	switch rel {
	case "system":
		return a.c.IsSystem()
	case "applicant":
		return a.applicant
	}
	return false
}

// noAttrs is the subject of a guard: this workflow tests inputs only.
type noAttrs struct{}

func (noAttrs) Attr(string) (int, bool) { return 0, false }

// cal is the working calendar, or nil.
func (s *Service) cal() *calendar.Calendar {
	if s.d.Calendar == nil {
		return nil
	}
	return s.d.Calendar()
}

// district is the code of the district-level node on a path ("" if the
// tree has none): the feed's events carry it.
func (s *Service) district(ctx context.Context, path string) (string, error) {
	refs, err := s.d.Regions.Ancestry(ctx, path)
	if err != nil {
		return "", err
	}
	for _, r := range refs {
		if r.Level == region.District {
			return r.Code, nil
		}
	}
	return "", nil
}
