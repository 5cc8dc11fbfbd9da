// Package dispute runs two kinds of the grid's field work on the kernel
// (issue 16, Build 5 and 6), the first modules other than casework to do
// so: disputes under mediation (矛盾纠纷调解) and safety hazards (安全隐患).
//
// Each kind is a workflow file embedded here (workflows/*.json), checked
// against the kind's Vocab and stored through the kernel's workflow.Store,
// so that an administrator may upload a new version and a running item
// keeps the version it started with. Every step goes through one path
// (act): workflow.Plan checks it, the module applies its effects to its own
// rows, and workflow.RecordStep writes the timeline row, the audit entry
// and the change feed's event in the same transaction. Time limits per
// stage come from the definition and are kept by kernel timers (warnings
// and breaches), and so are a dispute's return visit 30 days after its
// agreement and a hazard's rectification deadline, whose timer takes the
// system step that escalates it. Disputes count facts per region node and
// day for the indicator registry (调解成功率, counts by type).
//
// Both kinds live in the grid whose region path scopes them: a caller sees
// and acts on the items of their scope only (default deny), and anything
// out of scope, for residents everything, is NotFound.
package dispute

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

// The subject kinds of this package, as the workflows, timers, feed and
// audit log name them.
const (
	KindDispute = "dispute"
	KindHazard  = "hazard"
)

// DefaultRevisitAfter is when a dispute's return visit (回访) falls due
// after its agreement.
const DefaultRevisitAfter = 30 * 24 * time.Hour

// Deps are what the Service needs.
type Deps struct {
	DB        *db.DB
	Regions   *region.Store
	Accounts  *account.Store
	Workflows *workflow.Store
	// Registry, when set, links a dispute's parties to its people by
	// identity number and checks a hazard's organisation and house; nil
	// stores the canonical identity numbers and the ids as given.
	Registry *registry.Store
	// Calendar gives the working calendar for limits in working time;
	// nil counts working time as natural time.
	Calendar func() *calendar.Calendar
	// Location is the district's time zone, whose days the indicator
	// facts count (default UTC+8).
	Location *time.Location
	// RevisitAfter is the return visit's delay (default 30 days).
	RevisitAfter time.Duration
	Logger       *slog.Logger
}

// Service runs disputes and hazards.
type Service struct {
	d Deps
}

// DisputeVocab is what a dispute workflow may name.
func DisputeVocab() workflow.Vocab {
	return workflow.Vocab{Kind: KindDispute,
		Effects:   []string{"assign_mediator", "record_session", "record_agreement", "arm_revisit", "conclude_failed", "record_referral", "record_revisit"},
		Fields:    []string{"note", "participants", "notes", "held_at", "agreement", "referral", "result"},
		Roles:     staffRoles(),
		Relations: []string{"mediator", "system"},
		Stages:    []string{"accept", "mediate", "refer", "revisit"},
	}
}

// HazardVocab is what a hazard workflow may name.
func HazardVocab() workflow.Vocab {
	return workflow.Vocab{Kind: KindHazard,
		Effects:   []string{"set_deadline", "clear_deadline", "count_recheck", "escalate"},
		Fields:    []string{"note", "deadline", "passed"},
		Roles:     staffRoles(),
		Relations: []string{"system"},
		Stages:    []string{"order", "recheck"},
	}
}

func staffRoles() []string {
	return []string{string(account.GridWorker), string(account.CommunityStaff), string(account.StreetStaff), string(account.Leader), string(account.Admin)}
}

// Definitions returns the shipped workflow files of both kinds, parsed
// and validated, by name.
func Definitions() (map[string]*workflow.Definition, error) {
	out := map[string]*workflow.Definition{}
	for name, v := range map[string]workflow.Vocab{KindDispute: DisputeVocab(), KindHazard: HazardVocab()} {
		b, err := files.ReadFile("workflows/" + name + ".json")
		if err != nil {
			return nil, err
		}
		d, err := workflow.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("workflows/%s.json: %w", name, err)
		}
		if ps := workflow.Validate(d, v); ps != nil {
			return nil, fmt.Errorf("workflows/%s.json: %w", name, ps)
		}
		out[name] = d
	}
	return out, nil
}

// NewService registers both workflows with d.Workflows (storing and
// activating a new shipped version) and returns the Service.
func NewService(ctx context.Context, d Deps) (_ *Service, err error) {
	defer errs.Wrapf(&err, "dispute.NewService")
	if d.DB == nil || d.Regions == nil || d.Workflows == nil {
		return nil, fmt.Errorf("dispute: DB, Regions and Workflows are required")
	}
	if d.Location == nil {
		d.Location = time.FixedZone("CST", 8*3600)
	}
	if d.RevisitAfter <= 0 {
		d.RevisitAfter = DefaultRevisitAfter
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	defs, err := Definitions()
	if err != nil {
		return nil, err
	}
	if err := d.Workflows.Register(ctx, DisputeVocab(), defs[KindDispute]); err != nil {
		return nil, err
	}
	if err := d.Workflows.Register(ctx, HazardVocab(), defs[KindHazard]); err != nil {
		return nil, err
	}
	return &Service{d: d}, nil
}

// Caller is who acts: a signed-in user, or the system (a timer's step).
// It is the kernel modules' shared caller.
type Caller = account.Caller

// System is the caller of the timers' steps.
func System() Caller { return account.SystemCaller() }

// acting is a caller as the workflow's allowed check sees them, for one
// item: relation names the item's relations the caller has.
type acting struct {
	c         Caller
	relations map[string]bool
}

func (a acting) HasRole(r string) bool {
	return !a.c.IsSystem() && a.c.User != nil && !a.c.User.Disabled && a.c.User.Has(account.Role(r))
}

func (a acting) HasRelation(rel string) bool {
	if rel == "system" {
		return a.c.IsSystem()
	}
	return !a.c.IsSystem() && a.relations[rel]
}

// noAttrs is the subject of a guard: these workflows test inputs only.
type noAttrs struct{}

func (noAttrs) Attr(string) (int, bool) { return 0, false }

// grid finds the grid a new item belongs to, in the caller's scope: an
// unknown region, or one out of scope, is the same field error, and a
// node above the grid level is refused.
func (s *Service) grid(ctx context.Context, c Caller, code string, bad *errs.Error) *region.Node {
	if code == "" {
		bad.Field("region", "field.required")
		return nil
	}
	n, err := s.d.Regions.Get(ctx, code)
	if err != nil || !c.Scope().Covers(n.Path) {
		bad.Field("region", "dispute.err.region_unknown", code)
		return nil
	}
	if n.Level != region.Grid {
		bad.Field("region", "dispute.err.region_not_grid", code)
		return nil
	}
	return n
}

// district is the code of the district-level node on a grid's path (""
// if the tree has none): the feed's events carry it.
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

// cal is the working calendar, or nil.
func (s *Service) cal() *calendar.Calendar {
	if s.d.Calendar == nil {
		return nil
	}
	return s.d.Calendar()
}
