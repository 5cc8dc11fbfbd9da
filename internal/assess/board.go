package assess

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
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
	if len(b.Rows) > 1 && s.d.Peers != nil {
		rows := make([]*BenchStanding, len(b.Rows))
		for i := range b.Rows {
			rows[i] = &b.Rows[i].BenchStanding
		}
		if err := s.compositeGaps(ctx, sc, b.Period.Code, rows); err != nil {
			return nil, err
		}
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

// boardWindow is how many periods, the board's own included, the
// composite's gap trends look back over (the benchmark's default window).
const boardWindow = 6

// compositeTolerance is the change of a composite gap over the window
// that counts as stable: 5 % of the composite's 0–100 span, as the
// benchmark's trends use 5 % of an indicator's goalposts.
const compositeTolerance = 5

// compositeGaps fills what the composite's analysis leaves out: each
// ranked unit's gap to the 标兵 (the best composite among the rows of its
// peer group: the rows under the same parent) and its 追兵's distance,
// and the trends of both over the last boardWindow periods
// (benchmark.Trend's four states on the series of gaps, from the
// composites of the earlier periods). A row that already has them (a
// single indicator's analysis) keeps its own.
func (s *Service) compositeGaps(ctx context.Context, sc account.Scope, period string, rows []*BenchStanding) error {
	groups := map[string][]*BenchStanding{}
	var order []string
	for _, r := range rows {
		parent := r.Unit.Path
		if i := strings.LastIndex(strings.TrimSuffix(parent, "/"), "/"); i >= 0 {
			parent = parent[:i+1]
		}
		if _, ok := groups[parent]; !ok {
			order = append(order, parent)
		}
		groups[parent] = append(groups[parent], r)
	}
	for _, g := range order {
		if len(groups[g]) > 1 {
			if err := s.groupGaps(ctx, sc, period, groups[g]); err != nil {
				return err
			}
		}
	}
	return nil
}

// groupGaps is compositeGaps for one peer group.
func (s *Service) groupGaps(ctx context.Context, sc account.Scope, period string, rows []*BenchStanding) error {
	periods := []string{period}
	for len(periods) < boardWindow {
		p, ok := previousPeriod(periods[len(periods)-1])
		if !ok {
			break
		}
		periods = append(periods, p)
	}
	// scores[i][code] is the composite of the unit in periods[i].
	scores := make([]map[string]float64, len(periods))
	scores[0] = map[string]float64{}
	for _, r := range rows {
		if r.Rank > 0 && r.Value != nil {
			scores[0][r.Unit.Code] = *r.Value
		}
	}
	for i := 1; i < len(periods); i++ {
		scores[i] = map[string]float64{}
		for _, r := range rows {
			st, ok, err := s.d.Peers.Standing(ctx, sc, r.Unit.Code, benchmark.Composite, periods[i])
			if err != nil {
				return err
			}
			if ok && st.Value != nil {
				scores[i][r.Unit.Code] = *st.Value
			}
		}
	}
	type gap struct {
		lead, chase  float64
		chaser       string
		ok, hasChase bool
	}
	// gapsIn are each unit's gaps in one period's scores.
	gapsIn := func(sc map[string]float64) map[string]gap {
		codes := make([]string, 0, len(sc))
		for c := range sc {
			codes = append(codes, c)
		}
		sort.Slice(codes, func(i, j int) bool {
			if sc[codes[i]] != sc[codes[j]] {
				return sc[codes[i]] > sc[codes[j]]
			}
			return codes[i] < codes[j]
		})
		out := map[string]gap{}
		for i, c := range codes {
			g := gap{lead: sc[codes[0]] - sc[c], ok: true}
			if i+1 < len(codes) {
				g.chaser, g.chase, g.hasChase = codes[i+1], sc[c]-sc[codes[i+1]], true
			}
			out[c] = g
		}
		return out
	}
	all := make([]map[string]gap, len(periods))
	for i := range periods {
		all[i] = gapsIn(scores[i])
	}
	for _, r := range rows {
		now, ok := all[0][r.Unit.Code]
		if !ok || r.GapToLeader != nil {
			continue
		}
		lead := round2(now.lead)
		r.GapToLeader = &lead
		var xs, ys, cxs, cys []float64
		// Oldest first: x is the period's place in the window.
		for k := len(periods) - 1; k >= 0; k-- {
			g, ok := all[k][r.Unit.Code]
			if !ok {
				continue
			}
			x := float64(len(periods) - 1 - k)
			xs, ys = append(xs, x), append(ys, g.lead)
			if g.hasChase {
				cxs, cys = append(cxs, x), append(cys, g.chase)
			}
		}
		if r.Trend == "" {
			r.Trend = benchmark.Trend(xs, ys, compositeTolerance)
		}
		if now.hasChase {
			d := round2(now.chase)
			r.Chaser, r.ChaserDistance = now.chaser, &d
			r.ChaserTrend = benchmark.Trend(cxs, cys, compositeTolerance)
		}
	}
	return nil
}

// previousPeriod is the benchmark period before p: the month, quarter or
// year before it.
func previousPeriod(p string) (string, bool) {
	if !benchmark.ValidPeriod(p) {
		return "", false
	}
	y, err := strconv.Atoi(p[:4])
	if err != nil {
		return "", false
	}
	switch {
	case len(p) == 4:
		return strconv.Itoa(y - 1), y > 1
	case p[5] == 'Q':
		q := int(p[6] - '0')
		if q == 1 {
			return fmt.Sprintf("%04d-Q4", y-1), y > 1
		}
		return fmt.Sprintf("%04d-Q%d", y, q-1), true
	}
	m, err := strconv.Atoi(p[5:])
	if err != nil {
		return "", false
	}
	if m == 1 {
		return fmt.Sprintf("%04d-12", y-1), y > 1
	}
	return fmt.Sprintf("%04d-%02d", y, m-1), true
}
