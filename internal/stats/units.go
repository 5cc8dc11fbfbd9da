package stats

import (
	"context"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/errs"
	"whistle/internal/indicator"
)

// UnitIndicators are the indicators of the unit statistics, in the order
// they are shown.
var UnitIndicators = []string{IndReceived, IndClosed, IndResponse, IndResolution, IndSatisfaction, IndOnTime, IndHandling, IndStars,
	IndRework, IndReturn, IndClosedLate, IndOpen, IndOverdue}

// Figures are one unit's measures over a period, from the indicator
// registry. Rates are shares in [0, 1] and null when nothing was measured,
// like every value that has no data; each rate comes with its numerator
// and denominator.
type Figures struct {
	// Cases counts the cases submitted in the period.
	Cases int64 `json:"cases"`
	// Responded of ResponseDue (响应率), of the cases closed in the period.
	Responded    int64    `json:"responded"`
	ResponseDue  int64    `json:"response_due"`
	ResponseRate *float64 `json:"response_rate"`
	// Resolved of Valid (解决率), of the cases submitted in the period.
	Resolved       int64    `json:"resolved"`
	Valid          int64    `json:"valid"`
	ResolutionRate *float64 `json:"resolution_rate"`
	// Satisfied of Rated (满意率), of the cases closed in the period.
	Rated            int64    `json:"rated"`
	Satisfied        int64    `json:"satisfied"`
	SatisfactionRate *float64 `json:"satisfaction_rate"`
	// OnTime of Closed (按时办结率), the cases closed in the period.
	Closed     int64    `json:"closed"`
	OnTime     int64    `json:"on_time"`
	OnTimeRate *float64 `json:"on_time_rate"`
	ClosedLate int64    `json:"closed_late"`
	// AvgHandlingHours is the mean working time from submission to
	// closing of the cases closed in the period.
	AvgHandlingHours *float64 `json:"avg_handling_hours"`
	AvgStars         *float64 `json:"avg_stars"`
	// Reworked and Returned count the cases closed in the period that
	// were reworked (返工) or returned (退单) at least once.
	Reworked   int64    `json:"reworked"`
	ReworkRate *float64 `json:"rework_rate"`
	Returned   int64    `json:"returned"`
	ReturnRate *float64 `json:"return_rate"`
	// Open and Overdue are the open cases now (null for a department).
	Open    *int64 `json:"open"`
	Overdue *int64 `json:"overdue"`
}

func figuresOf(v map[string]indicator.Value) Figures {
	now := func(x indicator.Value) *int64 {
		if !x.HasData() {
			return nil
		}
		return &x.Num
	}
	return Figures{Cases: v[IndReceived].Num,
		Responded: v[IndResponse].Num, ResponseDue: v[IndResponse].Den, ResponseRate: v[IndResponse].Value,
		Resolved: v[IndResolution].Num, Valid: v[IndResolution].Den, ResolutionRate: v[IndResolution].Value,
		Rated: v[IndSatisfaction].Den, Satisfied: v[IndSatisfaction].Num, SatisfactionRate: v[IndSatisfaction].Value,
		Closed: v[IndClosed].Num, OnTime: v[IndOnTime].Num, OnTimeRate: v[IndOnTime].Value, ClosedLate: v[IndClosedLate].Num,
		AvgHandlingHours: v[IndHandling].Value, AvgStars: v[IndStars].Value,
		Reworked: v[IndRework].Num, ReworkRate: v[IndRework].Value, Returned: v[IndReturn].Num, ReturnRate: v[IndReturn].Value,
		Open: now(v[IndOpen]), Overdue: now(v[IndOverdue])}
}

// Unit is a region node or a handling department with its figures.
type Unit struct {
	Code  string `json:"code"`
	Name  string `json:"name"`
	Level string `json:"level,omitempty"`
	Figures
	// Indicators are the same values by indicator name.
	Indicators map[string]indicator.Value `json:"indicators"`
}

// Units are the figures of a region node, of its child nodes and of the
// departments serving its subtree over a period.
type Units struct {
	From        time.Time `json:"from"`
	To          time.Time `json:"to"`
	Region      Unit      `json:"region"`
	Regions     []Unit    `json:"regions"`
	Departments []Unit    `json:"departments"`
}

// Units computes the unit statistics of a node in the caller's scope (a
// node outside it is NotFound), its children and the departments whose
// region lies in its subtree, with one registry batch: each rollup table is
// read once for all of them. A department's figures count every case
// assigned to it, which is why only departments inside the node's subtree
// are listed.
func (s *Store) Units(ctx context.Context, sc account.Scope, code string, p indicator.Period) (_ *Units, err error) {
	defer errs.Wrapf(&err, "stats.Units(%s)", code)
	n, err := s.Resolve(ctx, sc, code)
	if err != nil {
		return nil, err
	}
	kids, err := s.Children(ctx, n)
	if err != nil {
		return nil, err
	}
	out := &Units{From: p.From, To: p.To, Region: Unit{Code: n.Code, Name: n.Name, Level: string(n.Level)}, Regions: []Unit{}, Departments: []Unit{}}
	subjects := []indicator.Subject{{Kind: KindRegion, Code: n.Code}}
	for _, k := range kids {
		out.Regions = append(out.Regions, Unit{Code: k.Code, Name: k.Name, Level: string(k.Level)})
		subjects = append(subjects, indicator.Subject{Kind: KindRegion, Code: k.Code})
	}
	if s.accounts != nil {
		ds, err := s.accounts.Departments(ctx)
		if err != nil {
			return nil, err
		}
		t, err := s.nodes(ctx)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if r := t.nodes[d.Region.Code]; r != nil && strings.HasPrefix(r.path, n.path) {
				out.Departments = append(out.Departments, Unit{Code: d.Code, Name: d.Name})
				subjects = append(subjects, indicator.Subject{Kind: KindDepartment, Code: d.Code})
			}
		}
	}
	tab, err := s.reg.Batch(ctx, UnitIndicators, subjects, p)
	if err != nil {
		return nil, err
	}
	fill := func(u *Unit, kind string) {
		v := tab[indicator.Subject{Kind: kind, Code: u.Code}]
		u.Figures, u.Indicators = figuresOf(v), v
	}
	fill(&out.Region, KindRegion)
	for i := range out.Regions {
		fill(&out.Regions[i], KindRegion)
	}
	for i := range out.Departments {
		fill(&out.Departments[i], KindDepartment)
	}
	return out, nil
}
