// Package sensing turns device readings into alarms (issue 17, Build 3–5):
// rules as data with CEL conditions, per-key state on the kernel's timers
// and sweep, alarms on a kernel workflow with an escalation ladder that
// ends in a case, away-from-home suppression, and the parking ladder.
//
// The engine runs inside the ingest transaction (Evaluate, which the
// device package's Sink calls): a reading's rule state, its alarm and the
// alarm's first timers commit with the reading or not at all. Silences
// (absence, low use) are kept by the kernel's sweep, so they fire once,
// across restarts and replicas, in the transaction that raises the alarm.
package sensing

import (
	"context"
	"embed"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/db"
	"whistle/internal/device"
	"whistle/internal/errs"
	"whistle/internal/notify"
	"whistle/internal/timer"
	"whistle/internal/workflow"
)

//go:embed workflows/*.json
var files embed.FS

// KindAlarm is the alarms' subject kind for the workflow, timers, feed
// and audit log.
const KindAlarm = "sensing_alarm"

// The closing reasons of an alarm.
const (
	ReasonReal       = "real"
	ReasonFalseAlarm = "false_alarm"
	ReasonAway       = "resident_away"
)

var reasons = []string{ReasonReal, ReasonFalseAlarm, ReasonAway}

// Deps are what the Service needs.
type Deps struct {
	DB        *db.DB
	Workflows *workflow.Store
	// Cases opens the ladder's case (and the parking enforcement case);
	// nil records the step but opens none.
	Cases *casework.Service
	// Channel sends the family's and the parking warnings (SMS, or the
	// logging double); nil leaves them in the outbox.
	Channel notify.Channel
	// CareCategory and ParkingCategory are the case categories of the
	// ladder's case and of the enforcement case.
	CareCategory, ParkingCategory string
	// CaseAfter (M) and StreetAfter (K) are the ladder's delays (default
	// 10 and 20 minutes).
	CaseAfter, StreetAfter time.Duration
	// Visits plans the grid worker's visit that comes with the ladder's
	// case (visit.Store.FollowUp), due VisitWithin after the case opens
	// (default 2 hours); nil opens the case without a visit task.
	Visits      FollowUps
	VisitWithin time.Duration
	// WarnAfter and EnforceAfter are the parking ladder's (8 and 15 min).
	WarnAfter, EnforceAfter time.Duration
	// Location is the district's time zone for quiet hours and days
	// (default UTC+8).
	Location *time.Location
	// Resolve finds a device's Source for a silence (no reading carries
	// it then): the device registry; nil knows the device id only.
	// Profiles are the device types whose fields the rules name (default
	// the device package's seeded profiles).
	Profiles device.Profiles
	Resolve  func(ctx context.Context, tx *db.Tx, device int64) (*Source, error)
	Logger   *slog.Logger
}

// FollowUps plans a follow-up visit of a person for a case, in the
// caller's transaction, and returns the task's id (0 when the person is
// not in the registry). visit.Store implements it.
type FollowUps interface {
	FollowUp(ctx context.Context, tx *db.Tx, personID, caseID int64, due time.Time, brief string) (int64, error)
}

// Service runs rules, alarms and parking.
type Service struct {
	d    Deps
	prgs programs

	mu      sync.Mutex
	cached  []*Rule
	loaded  time.Time
	stale   bool
	runner  *timer.Runner
	silence map[string]time.Duration
	late    lateness
	// seen spares the touches of keys already up to date (timer.Seen).
	seen timer.Seen
}

// AlarmVocab is what an alarm workflow may name.
func AlarmVocab() workflow.Vocab {
	return workflow.Vocab{Kind: KindAlarm,
		Effects:   []string{"stop_ladder", "close", "open_case", "escalate_street"},
		Fields:    []string{"note", "reason"},
		Roles:     []string{string(account.GridWorker), string(account.CommunityStaff), string(account.StreetStaff), string(account.Leader), string(account.Admin)},
		Relations: []string{"system"},
	}
}

// Definition returns the shipped alarm workflow, parsed and validated.
func Definition() (*workflow.Definition, error) {
	b, err := files.ReadFile("workflows/alarm.json")
	if err != nil {
		return nil, err
	}
	d, err := workflow.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("workflows/alarm.json: %w", err)
	}
	if ps := workflow.Validate(d, AlarmVocab()); ps != nil {
		return nil, fmt.Errorf("workflows/alarm.json: %w", ps)
	}
	return d, nil
}

// NewService registers the alarm workflow and returns the Service.
func NewService(ctx context.Context, d Deps) (_ *Service, err error) {
	defer errs.Wrapf(&err, "sensing.NewService")
	if d.DB == nil || d.Workflows == nil {
		return nil, fmt.Errorf("sensing: DB and Workflows are required")
	}
	if d.CaseAfter <= 0 {
		d.CaseAfter = 10 * time.Minute
	}
	if d.StreetAfter <= 0 {
		d.StreetAfter = 20 * time.Minute
	}
	if d.VisitWithin <= 0 {
		d.VisitWithin = 2 * time.Hour
	}
	if d.WarnAfter <= 0 {
		d.WarnAfter = 8 * time.Minute
	}
	if d.EnforceAfter <= 0 {
		d.EnforceAfter = 15 * time.Minute
	}
	if d.CareCategory == "" {
		d.CareCategory = "ZL0602"
	}
	if d.ParkingCategory == "" {
		d.ParkingCategory = "SJ0505"
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
	if err := d.Workflows.Register(ctx, AlarmVocab(), def); err != nil {
		return nil, err
	}
	if d.Profiles == nil {
		if d.Profiles, err = device.LoadProfiles(); err != nil {
			return nil, err
		}
	}
	return &Service{d: d, stale: true, silence: map[string]time.Duration{}, prgs: programs{ft: typesOf(d.Profiles)}}, nil
}

// Caller is who acts: a signed-in user, or the system (a timer's step).
// It is the kernel modules' shared caller.
type Caller = account.Caller

// System is the caller of the timers' steps.
func System() Caller { return account.SystemCaller() }

// mustBeAdmin refuses anyone but an administrator (rules are the admins').
func mustBeAdmin(c Caller) error {
	if c.IsSystem() || (c.User != nil && !c.User.Disabled && c.User.Has(account.Admin)) {
		return nil
	}
	return errs.E(errs.Forbidden, "error.forbidden")
}

// acting is a caller as the workflow's allowed check sees them.
type acting struct{ c Caller }

func (a acting) HasRole(r string) bool {
	return !a.c.IsSystem() && a.c.User != nil && !a.c.User.Disabled && a.c.User.Has(account.Role(r))
}

func (a acting) HasRelation(rel string) bool { return rel == "system" && a.c.IsSystem() }

type noAttrs struct{}

func (noAttrs) Attr(string) (int, bool) { return 0, false }

// rulesChanged makes the next evaluation reload the rules.
func (s *Service) rulesChanged() {
	s.mu.Lock()
	s.stale = true
	s.mu.Unlock()
}

// reloadEvery is how often a replica rereads the rules another replica
// may have changed.
const reloadEvery = 5 * time.Second

// active returns the enabled rules, reloaded when changed here or every
// reloadEvery (a change made on another replica), and registers the
// silences of new absence and low-use rules with the runner.
func (s *Service) active(ctx context.Context) ([]*Rule, error) {
	s.mu.Lock()
	if !s.stale && time.Since(s.loaded) < reloadEvery {
		rs := s.cached
		s.mu.Unlock()
		return rs, nil
	}
	s.mu.Unlock()
	all, err := s.rules(ctx, 0)
	if err != nil {
		return nil, err
	}
	var rs []*Rule
	for _, r := range all {
		if r.Enabled {
			rs = append(rs, r)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cached, s.loaded, s.stale = rs, time.Now(), false
	s.registerSilences(rs)
	return rs, nil
}

// Reload rereads the rules now (and registers their silences): serve
// calls it at start, before the runner's first round.
func (s *Service) Reload(ctx context.Context) (err error) {
	defer errs.Wrapf(&err, "sensing.Service.Reload")
	s.rulesChanged()
	_, err = s.active(ctx)
	return err
}
