package assess

import (
	"context"
	"math"
	"regexp"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// The kinds of item.
const (
	KindIndicator = "indicator" // scored from an indicator's value against a target
	KindManual    = "manual"    // scored by an assessor, with evidence
)

// The scoring rules of an indicator item.
const (
	// RuleRatio gives the points in proportion to how near the value is to
	// the target, capped at the points.
	RuleRatio = "ratio"
	// RuleThreshold gives all the points when the target is met, else none.
	RuleThreshold = "threshold"
	// RuleManual is a manual item's rule.
	RuleManual = "manual"
)

// The directions of an indicator.
const (
	HigherBetter = "higher_better"
	LowerBetter  = "lower_better"
)

// Item is one scored item of a unit type's catalogue.
type Item struct {
	ID        int64   `json:"id"`
	UnitType  string  `json:"unit_type"`
	Code      string  `json:"code"`
	Name      string  `json:"name"`
	Kind      string  `json:"kind"`
	Indicator string  `json:"indicator,omitempty"`
	Direction string  `json:"direction"`
	Target    float64 `json:"target"`
	Points    float64 `json:"points"`
	Rule      string  `json:"rule"`
}

// NewItem is an item as declared.
type NewItem struct {
	UnitType  string  `json:"unit_type"`
	Code      string  `json:"code"`
	Name      string  `json:"name"`
	Kind      string  `json:"kind"`
	Indicator string  `json:"indicator"`
	Direction string  `json:"direction"`
	Target    float64 `json:"target"`
	Points    float64 `json:"points"`
	Rule      string  `json:"rule"`
}

var codeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$`)

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// finite reports whether v is a real number.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// validate names every bad field of ni and returns it cleaned.
func (ni NewItem) validate(e *errs.Error) NewItem {
	if !contains(UnitTypes(), ni.UnitType) {
		e.Field("unit_type", "assess.err.unit_type")
	}
	if !codeRE.MatchString(ni.Code) {
		e.Field("code", "assess.err.code")
	}
	ni.Name = checkText(e, "name", ni.Name, 100, true)
	if ni.Direction == "" {
		ni.Direction = HigherBetter
	}
	if !contains([]string{HigherBetter, LowerBetter}, ni.Direction) {
		e.Field("direction", "assess.err.direction")
	}
	if !finite(ni.Points) || ni.Points <= 0 || ni.Points > 1000 {
		e.Field("points", "assess.err.points")
	}
	if !finite(ni.Target) || ni.Target < 0 {
		e.Field("target", "assess.err.target")
	}
	switch ni.Kind {
	case KindIndicator:
		if !codeRE.MatchString(ni.Indicator) {
			e.Field("indicator", "assess.err.indicator")
		}
		if ni.Rule == "" {
			ni.Rule = RuleRatio
		}
		if !contains([]string{RuleRatio, RuleThreshold}, ni.Rule) {
			e.Field("rule", "assess.err.rule")
		}
	case KindManual:
		ni.Indicator, ni.Rule = "", RuleManual
	default:
		e.Field("kind", "assess.err.kind")
	}
	return ni
}

// AddItem adds an item to a unit type's catalogue; only an assessor may.
func (s *Service) AddItem(ctx context.Context, u *account.User, ni NewItem) (_ *Item, err error) {
	defer errs.Wrapf(&err, "assess.Service.AddItem")
	if err := needAssessor(u); err != nil {
		return nil, err
	}
	e := errs.E(errs.Invalid, "error.invalid")
	ni = ni.validate(e)
	if err := failed(e); err != nil {
		return nil, err
	}
	var id int64
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error {
		var err error
		id, err = tx.InsertID(ctx, `INSERT INTO assess_items (unit_type, code, name, kind, indicator, direction, target, points, rule, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`, ni.UnitType, ni.Code, ni.Name, ni.Kind, ni.Indicator, ni.Direction, ni.Target, ni.Points, ni.Rule, tx.Now())
		return db.Translate(err)
	})
	if duplicate(err) {
		return nil, errs.E(errs.Conflict, "assess.err.item_exists").Field("code", "assess.err.item_exists")
	}
	if err != nil {
		return nil, err
	}
	return &Item{ID: id, UnitType: ni.UnitType, Code: ni.Code, Name: ni.Name, Kind: ni.Kind, Indicator: ni.Indicator, Direction: ni.Direction,
		Target: ni.Target, Points: ni.Points, Rule: ni.Rule}, nil
}

// Items lists the catalogue of a unit type ("" for every type); any staff
// member may read it.
func (s *Service) Items(ctx context.Context, u *account.User, unitType string) (_ []Item, err error) {
	defer errs.Wrapf(&err, "assess.Service.Items")
	if u == nil || !u.IsStaff() {
		return nil, errs.E(errs.Forbidden, "assess.err.staff")
	}
	return s.items(ctx, unitType)
}

func (s *Service) items(ctx context.Context, unitType string) ([]Item, error) {
	var w db.Where
	if unitType != "" {
		w.Add("unit_type = ?", unitType)
	}
	rows, err := s.d.DB.Query(ctx, `SELECT id, unit_type, code, name, kind, indicator, direction, target, points, rule FROM assess_items`+w.SQL()+` ORDER BY unit_type, code`, w.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		var it Item
		if err := rows.Scan(&it.ID, &it.UnitType, &it.Code, &it.Name, &it.Kind, &it.Indicator, &it.Direction, &it.Target, &it.Points, &it.Rule); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// Score is what the item's rule gives for value: the points in
// proportion to the target (ratio) or all or nothing (threshold), never
// more than the points and never less than zero.
func (it Item) Score(value float64) float64 {
	if !finite(value) {
		return 0
	}
	met := value >= it.Target
	if it.Direction == LowerBetter {
		met = value <= it.Target
	}
	if it.Rule == RuleThreshold {
		if met {
			return it.Points
		}
		return 0
	}
	if met {
		return it.Points
	}
	var share float64
	switch {
	case it.Direction == LowerBetter:
		share = it.Target / value // value > target > = 0 here
	case it.Target > 0:
		share = value / it.Target
	}
	return round2(it.Points * math.Max(0, math.Min(1, share)))
}

// round2 rounds to two decimals, the precision scores are shown with.
func round2(v float64) float64 { return math.Round(v*100) / 100 }
