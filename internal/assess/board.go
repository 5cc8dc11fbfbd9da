package assess

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"strings"

	"whistle/internal/account"
	"whistle/internal/benchmark"
	"whistle/internal/errs"
	"whistle/internal/region"
)

// BoardRow is a unit on the big screen's 对标 panel: where it stands on
// the composite score among its peers (rank, rank range, trend, the gap
// to the 标兵 and the distance of the 追兵) and its assessment total.
type BoardRow struct {
	BenchStanding
	// Total is the unit's assessment score in the period out of Max
	// (nil when its type has no catalogue).
	Total *float64 `json:"total"`
	Max   float64  `json:"max"`
}

// Board is the 对标 panel of a region node in the latest published
// period: Period is nil (and Rows empty) while none is published.
type Board struct {
	Period *Period `json:"period"`
	// Type is the units' type: the streets of a district, the
	// communities of a street; a community (or a grid) shows its own
	// community among its peers.
	Type string     `json:"type,omitempty"`
	Rows []BoardRow `json:"rows"`
}

// Board returns the 对标 panel of the big screen for the region node
// code: the units under it (or, below a street, its community) in the
// latest published period, ranked on the composite score. Only published
// figures are shown, so a unit's peers appear beside it; the node must be
// in the caller's scope (NotFound otherwise, as on the screen).
func (s *Service) Board(ctx context.Context, u *account.User, code string) (_ *Board, err error) {
	defer errs.Wrapf(&err, "assess.Service.Board(%s)", code)
	if u == nil || !u.IsStaff() {
		return nil, errs.E(errs.Forbidden, "assess.err.staff")
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("region", "field.required")
	}
	n, err := s.d.Regions.Get(ctx, code)
	if err != nil {
		return nil, err
	}
	if !account.ScopeOf(u).Covers(n.Path) {
		return nil, errs.E(errs.NotFound, "region.not_found", code)
	}
	b := &Board{Rows: []BoardRow{}}
	if b.Period, err = s.latestPublished(ctx); err != nil || b.Period == nil {
		return b, err
	}
	units, err := s.boardUnits(ctx, n)
	if err != nil || len(units) == 0 {
		return b, err
	}
	b.Type = units[0].Type
	totals, max, err := s.totals(ctx, b.Type, b.Period.Code)
	if err != nil {
		return nil, err
	}
	sc := account.ScopeOf(u)
	for _, un := range units {
		row := BoardRow{BenchStanding: BenchStanding{Unit: un}, Max: max}
		if s.d.Peers != nil {
			st, ok, err := s.d.Peers.Standing(ctx, sc, un.Code, benchmark.Composite, b.Period.Code)
			if err != nil {
				return nil, err
			}
			if ok {
				st.Unit = un
				row.BenchStanding = st
			}
		}
		if max > 0 {
			t := round2(totals[un.Code])
			row.Total = &t
		}
		b.Rows = append(b.Rows, row)
	}
	// Ranked units first, by rank; the unranked (no composite) after
	// them, by assessment total.
	sort.SliceStable(b.Rows, func(i, j int) bool {
		ri, rj := b.Rows[i].Rank, b.Rows[j].Rank
		if (ri == 0) != (rj == 0) {
			return ri != 0
		}
		if ri != rj {
			return ri < rj
		}
		return totals[b.Rows[i].Unit.Code] > totals[b.Rows[j].Unit.Code]
	})
	return b, nil
}

// latestPublished is the published period that starts last, nil for none.
func (s *Service) latestPublished(ctx context.Context) (*Period, error) {
	p, err := scanPeriod(s.d.DB.QueryRow(ctx, `SELECT `+periodCols+` FROM assess_periods WHERE status = $1 ORDER BY starts_on DESC, code DESC LIMIT 1`,
		PeriodPublished))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil //nolint:nilnil // no period published is not an error: the panel's empty state
	}
	return p, err
}

// boardUnits are the units the panel of node n lists: a district's
// streets, a street's communities, a community itself, a grid's
// community; none above a district.
func (s *Service) boardUnits(ctx context.Context, n *region.Node) ([]Unit, error) {
	unit := func(n region.Node) Unit { return Unit{Type: string(n.Level), Code: n.Code, Name: n.Name, Path: n.Path} }
	switch n.Level {
	case region.District, region.Street:
		want := region.Street
		if n.Level == region.Street {
			want = region.Community
		}
		kids, err := s.d.Regions.Children(ctx, n.Code, false)
		if err != nil {
			return nil, err
		}
		var out []Unit
		for _, k := range kids {
			if k.Level == want {
				out = append(out, unit(k))
			}
		}
		return out, nil
	case region.Community:
		return []Unit{unit(*n)}, nil
	case region.Grid:
		p, err := s.d.Regions.Get(ctx, n.ParentCode)
		if err != nil {
			return nil, err
		}
		if p.Level != region.Community {
			return nil, nil
		}
		return []Unit{unit(*p)}, nil
	}
	return nil, nil
}

// totals are the assessment totals of the units of a type in a period,
// by unit code, and the most a unit can score.
func (s *Service) totals(ctx context.Context, unitType, period string) (map[string]float64, float64, error) {
	items, err := s.items(ctx, unitType)
	if err != nil {
		return nil, 0, err
	}
	var max float64
	for _, it := range items {
		max += it.Points
	}
	rows, err := s.d.DB.Query(ctx, `SELECT unit_code, SUM(score) FROM assess_scores WHERE period = $1 AND unit_type = $2 GROUP BY unit_code`, period, unitType)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := map[string]float64{}
	for rows.Next() {
		var code string
		var t float64
		if err := rows.Scan(&code, &t); err != nil {
			return nil, 0, err
		}
		out[code] = t
	}
	return out, max, rows.Err()
}
