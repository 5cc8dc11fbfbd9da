// Package assess is 考核 and the 经验库 (issue 19, Build 4–6): catalogues
// of scored items per unit type, periods that are frozen and published,
// appeals, the two-way rating of 街乡吹哨、部门报到, cases marked
// unreasonable (无理诉求) and excluded from a unit's rates, anti-gaming
// signals shown beside the scores, and practice notes that say what a
// unit did to improve. It reads cases only through casework's API (the
// Cases interface) and publishes a period's benchmark figures through
// the benchmark module (the Publisher interface).
package assess

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/region"
)

// The unit types a catalogue is kept for.
const (
	Street     = "street"
	Community  = "community"
	Department = "department"
)

// UnitTypes lists the unit types, in display order.
func UnitTypes() []string { return []string{Street, Community, Department} }

// Publisher publishes a period's benchmark figures (benchmark.Store's
// PublishPeriod): until then peers see none of them.
type Publisher interface {
	PublishPeriod(ctx context.Context, period string) error
}

// Values gives an indicator's value for a unit in a period (ok false when
// there is none): the benchmark module's figures.
type Values interface {
	Value(ctx context.Context, indicator, unit, period string) (v float64, ok bool, err error)
}

// Deps are what the service needs; Values, Publisher and Cases may be
// nil (no indicator values, nothing to publish to, no cases).
type Deps struct {
	DB        *db.DB
	Regions   *region.Store
	Accounts  *account.Store
	Cases     Cases
	Values    Values
	Publisher Publisher
	Peers     Peers
}

// Service is 考核 and the 经验库.
type Service struct {
	d Deps
}

// NewService returns the service over d.
func NewService(d Deps) *Service { return &Service{d: d} }

// UsePublisher sets where a published period's figures go (wired once the
// benchmark module is constructed).
func (s *Service) UsePublisher(p Publisher) { s.d.Publisher = p }

// UseValues sets the source of indicator values.
func (s *Service) UseValues(v Values) { s.d.Values = v }

// UsePeers sets the source of peers that improved.
func (s *Service) UsePeers(p Peers) { s.d.Peers = p }

// Unit is an assessed unit: a street, a community or a department.
type Unit struct {
	Type string `json:"type"`
	Code string `json:"code"`
	Name string `json:"name"`
	// Path is a region unit's materialised path ("" for a department).
	Path string `json:"-"`
}

// IsAssessor reports whether u assesses units: an administrator or a
// leader. Assessors see every unit's detail and review marks and appeals.
func IsAssessor(u *account.User) bool {
	return u != nil && !u.Disabled && (u.Has(account.Admin) || u.Has(account.Leader))
}

// unit resolves a unit code: a street or community region, else a
// department. An unknown code is NotFound.
func (s *Service) unit(ctx context.Context, code string) (Unit, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return Unit{}, errs.E(errs.Invalid, "error.invalid").Field("unit", "field.required")
	}
	n, err := s.d.Regions.Get(ctx, code)
	switch {
	case err == nil && (n.Level == region.Street || n.Level == region.Community):
		return Unit{Type: string(n.Level), Code: n.Code, Name: n.Name, Path: n.Path}, nil
	case err != nil && !errs.Is(err, errs.NotFound):
		return Unit{}, err
	}
	deps, err := s.d.Accounts.Departments(ctx)
	if err != nil {
		return Unit{}, err
	}
	for _, d := range deps {
		if d.Code == code {
			return Unit{Type: Department, Code: d.Code, Name: d.Name}, nil
		}
	}
	return Unit{}, errs.E(errs.NotFound, "assess.err.unit", code)
}

// units lists the units of a type.
func (s *Service) units(ctx context.Context, typ string) ([]Unit, error) {
	if typ == Department {
		deps, err := s.d.Accounts.Departments(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]Unit, 0, len(deps))
		for _, d := range deps {
			out = append(out, Unit{Type: Department, Code: d.Code, Name: d.Name})
		}
		return out, nil
	}
	all, err := s.d.Regions.All(ctx, false)
	if err != nil {
		return nil, err
	}
	var out []Unit
	for _, n := range all {
		if string(n.Level) == typ {
			out = append(out, Unit{Type: typ, Code: n.Code, Name: n.Name, Path: n.Path})
		}
	}
	return out, nil
}

// ownUnit reports whether u works for the unit (or above it): community
// or street staff whose region scope covers a region unit, a handler of a
// department unit.
func ownUnit(u *account.User, un Unit) bool {
	if u == nil || u.Disabled || !u.IsStaff() {
		return false
	}
	if un.Type == Department {
		return u.Has(account.DepartmentHandler) && u.DepartmentCode == un.Code
	}
	if !u.Has(account.CommunityStaff) && !u.Has(account.StreetStaff) {
		return false
	}
	sc := account.ScopeOf(u)
	return un.Path != "" && sc.RegionPath != "" && sc.Covers(un.Path)
}

// mayDetail reports whether u may see the unit's detail (its scores
// before publication, its appeals, exclusions and signals): its own staff,
// and the assessors whose region scope holds it (every department).
func mayDetail(u *account.User, un Unit) bool {
	if ownUnit(u, un) {
		return true
	}
	return IsAssessor(u) && (un.Type == Department || account.ScopeOf(u).Covers(un.Path))
}

// readUnit resolves a unit the caller may see in detail; any other is
// NotFound, so that codes outside the scope do not leak.
func (s *Service) readUnit(ctx context.Context, u *account.User, code string) (Unit, error) {
	un, err := s.unit(ctx, code)
	if err != nil {
		return Unit{}, err
	}
	if !mayDetail(u, un) {
		return Unit{}, errs.E(errs.NotFound, "assess.err.unit", code)
	}
	return un, nil
}

// needAssessor refuses a caller who is not an assessor.
func needAssessor(u *account.User) error {
	if u == nil {
		return errs.E(errs.Unauthorized, "error.unauthorized")
	}
	if !IsAssessor(u) {
		return errs.E(errs.Forbidden, "assess.err.assessor")
	}
	return nil
}

// checkText refuses a blank required text or one longer than n runes, and
// returns it trimmed.
func checkText(e *errs.Error, field, v string, n int, required bool) string {
	v = strings.TrimSpace(v)
	switch {
	case v == "" && required:
		e.Field(field, "field.required")
	case utf8.RuneCountInString(v) > n:
		e.Field(field, "field.too_long", n)
	}
	return v
}

// failed returns e when it names a field, else nil.
func failed(e *errs.Error) error {
	if len(e.Fields) > 0 {
		return e
	}
	return nil
}

// userID is u's id, 0 for none.
func userID(u *account.User) any {
	if u == nil || u.ID == 0 {
		return nil
	}
	return u.ID
}

// nullTime reads a nullable timestamp.
func nullTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// duplicate reports whether err is a unique key's violation.
func duplicate(err error) bool {
	e, ok := errs.As(err)
	return ok && e.Code == errs.Conflict && e.Msg.Key == "db.duplicate"
}
