package policy

import (
	"context"
	"sync"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/registry"
)

// Deps are what the Engine needs.
type Deps struct {
	DB       *db.DB
	Clock    clock.Clock
	Registry *registry.Store
}

// Engine evaluates policies for subjects, alone or in batch, and keeps the
// policies' versions.
type Engine struct {
	db        *db.DB
	clock     clock.Clock
	registry  *registry.Store
	mu        sync.RWMutex
	receiving Receiving
}

// New returns an Engine.
func New(d Deps) *Engine {
	return &Engine{db: d.DB, clock: d.Clock, registry: d.Registry}
}

// UseReceiving sets who already receives a policy (benefit's payouts and
// granted applications), for 应享未享.
func (e *Engine) UseReceiving(r Receiving) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.receiving = r
}

// Question is a missing fact and how many policies it would decide: the
// next question to ask.
type Question struct {
	Key     string `json:"key"`
	Label   Text   `json:"label"`
	Decides int    `json:"decides"`
}

// Evaluate answers every active policy of the subject's target for the
// subject on date ("as of": the version effective that day). A subject
// outside sc is NotFound.
func (e *Engine) Evaluate(ctx context.Context, sc account.Scope, s Subject, date time.Time) (_ []Result, err error) {
	defer errs.Wrapf(&err, "policy.Engine.Evaluate(%s %d)", s.Kind, s.ID)
	return nil, errs.E(errs.Unavailable, "policy.not_ready")
}

// Questions ranks the missing facts of results by how many policies each
// would decide.
func Questions(results []Result) []Question { return nil }

// Policies lists the policies of a kind ("resident", "enterprise", or ""
// for all) with their versions.
func (e *Engine) Policies(ctx context.Context, kind string) (_ []Policy, err error) {
	defer errs.Wrapf(&err, "policy.Engine.Policies(%s)", kind)
	return nil, nil
}

// Policy returns a policy by key (or numeric id) with its versions and
// conditions.
func (e *Engine) Policy(ctx context.Context, key string) (_ *Policy, err error) {
	defer errs.Wrapf(&err, "policy.Engine.Policy(%s)", key)
	return nil, errs.E(errs.NotFound, "policy.not_found", key)
}

// Fields lists the declared fields conditions may read.
func (e *Engine) Fields() []Field { return nil }

// Validate checks a draft: unknown fields, type errors, a rule naming a
// missing condition, an amount that is not a number. Empty means valid.
func (e *Engine) Validate(d Draft) Problems { return nil }

// Save stores a draft as the policy's next (unpublished) version; a draft
// with problems is refused (Invalid) with each condition and reason.
func (e *Engine) Save(ctx context.Context, actor audit.Actor, d Draft) (_ *Version, err error) {
	defer errs.Wrapf(&err, "policy.Engine.Save(%s)", d.Key)
	return nil, errs.E(errs.Unavailable, "policy.not_ready")
}

// Test evaluates a draft against sample records on date.
func (e *Engine) Test(ctx context.Context, sc account.Scope, d Draft, samples []Sample, date time.Time) (_ []SampleResult, err error) {
	defer errs.Wrapf(&err, "policy.Engine.Test(%s)", d.Key)
	return nil, errs.E(errs.Unavailable, "policy.not_ready")
}

// Diff lists the differences from version a to version b.
func Diff(a, b Version) []Change { return nil }

// Publish makes a saved version effective from effective.
func (e *Engine) Publish(ctx context.Context, actor audit.Actor, key string, version int, effective time.Time) (err error) {
	defer errs.Wrapf(&err, "policy.Engine.Publish(%s, %d)", key, version)
	return errs.E(errs.Unavailable, "policy.not_ready")
}

// Run evaluates every active policy (or those named) over the whole
// registry on the clock's date, storing what changed since the last run.
func (e *Engine) Run(ctx context.Context, policies []string) (_ RunStats, err error) {
	defer errs.Wrapf(&err, "policy.Engine.Run")
	return RunStats{}, errs.E(errs.Unavailable, "policy.not_ready")
}

// Unclaimed lists the subjects under the region node (a code the scope
// covers) that are eligible but not receiving (应享未享).
func (e *Engine) Unclaimed(ctx context.Context, sc account.Scope, regionCode string, limit int) (_ []Unclaimed, err error) {
	defer errs.Wrapf(&err, "policy.Engine.Unclaimed(%s)", regionCode)
	return nil, errs.E(errs.Unavailable, "policy.not_ready")
}

// EvaluateResident answers for the registry person matching the signed-in
// resident (by verified identity number, else verified phone); a resident
// without a match is NotFound.
func (e *Engine) EvaluateResident(ctx context.Context, u *account.User, date time.Time) (_ []Result, err error) {
	defer errs.Wrapf(&err, "policy.Engine.EvaluateResident")
	return nil, errs.E(errs.NotFound, "policy.no_person")
}
