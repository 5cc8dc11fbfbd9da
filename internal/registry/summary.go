package registry

import (
	"context"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// OpenCaseCounter counts the open cases under a region path in a scope.
// casework.Service implements it (OpenCasesUnder): the registry never
// reads the cases table.
type OpenCaseCounter interface {
	OpenCasesUnder(ctx context.Context, sc account.Scope, regionPath string) (int, error)
}

// VisitCounter counts the visits due (today and overdue) in a grid; the
// visits module implements it. Until one is set the count is 0.
type VisitCounter interface {
	VisitsDue(ctx context.Context, sc account.Scope, gridCode string) (int, error)
}

// UseCases sets the open-case counter of GridSummary.
func (s *Store) UseCases(c OpenCaseCounter) { s.cases = c }

// UseVisits sets the visits-due counter of GridSummary.
func (s *Store) UseVisits(v VisitCounter) { s.visits = v }

// GridSummary is a grid at a glance.
type GridSummary struct {
	GridCode      string         `json:"grid_code"`
	GridName      string         `json:"grid_name"`
	People        int            `json:"people"`
	ByStatus      map[string]int `json:"people_by_status"`
	ByGroup       map[string]int `json:"people_by_group"`
	Buildings     int            `json:"buildings"`
	Houses        int            `json:"houses"`
	HousesByUse   map[string]int `json:"houses_by_use"`
	VacantHouses  int            `json:"vacant_houses"`
	Organisations int            `json:"organisations"`
	OpenCases     int            `json:"open_cases"`
	VisitsDue     int            `json:"visits_due"`
}

// GridSummary counts a grid in scope: people by status and group,
// buildings, houses by use, vacant houses, organisations, open cases (from
// the OpenCaseCounter) and visits due (from the VisitCounter, 0 without).
func (s *Store) GridSummary(ctx context.Context, sc account.Scope, gridCode string) (_ *GridSummary, err error) {
	defer errs.Wrapf(&err, "registry.Store.GridSummary")
	path, err := s.gridPath(sc, gridCode)
	if err != nil {
		return nil, err
	}
	loc, _ := s.regions.Locator().Grid(gridCode)
	g := &GridSummary{GridCode: gridCode, GridName: loc.Grid.Name, ByStatus: map[string]int{}, ByGroup: map[string]int{}, HousesByUse: map[string]int{}}
	for _, st := range Statuses() {
		g.ByStatus[st] = 0
	}
	for _, u := range HouseUses() {
		g.HousesByUse[u] = 0
	}
	if err := s.countInto(ctx, g.ByStatus, `SELECT status, COUNT(*) FROM reg_people WHERE region_path = $1 GROUP BY status`, path); err != nil {
		return nil, err
	}
	for _, n := range g.ByStatus {
		g.People += n
	}
	groups, err := s.Groups(ctx)
	if err != nil {
		return nil, err
	}
	for _, gr := range groups {
		g.ByGroup[gr.Code] = 0
	}
	if err := s.countInto(ctx, g.ByGroup, `SELECT m.group_code, COUNT(*) FROM reg_people p JOIN reg_group_members m ON m.person_id = p.id
		WHERE p.region_path = $1 GROUP BY m.group_code`, path); err != nil {
		return nil, err
	}
	if err := s.countInto(ctx, g.HousesByUse, `SELECT use, COUNT(*) FROM reg_houses WHERE region_path = $1 GROUP BY use`, path); err != nil {
		return nil, err
	}
	for _, n := range g.HousesByUse {
		g.Houses += n
	}
	for _, c := range []struct {
		dst *int
		q   string
	}{
		{&g.Buildings, `SELECT COUNT(*) FROM reg_buildings WHERE region_path = $1`},
		{&g.Organisations, `SELECT COUNT(*) FROM reg_organisations WHERE region_path = $1`},
		{&g.VacantHouses, `SELECT COUNT(*) FROM reg_houses h WHERE h.region_path = $1 AND ` + vacantSQL},
	} {
		if err := s.db.QueryRow(ctx, c.q, path).Scan(c.dst); err != nil {
			return nil, db.Translate(err)
		}
	}
	if s.cases != nil {
		if g.OpenCases, err = s.cases.OpenCasesUnder(ctx, sc, path); err != nil {
			return nil, err
		}
	}
	if s.visits != nil {
		if g.VisitsDue, err = s.visits.VisitsDue(ctx, sc, gridCode); err != nil {
			return nil, err
		}
	}
	return g, nil
}

func (s *Store) countInto(ctx context.Context, m map[string]int, q string, args ...any) error {
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return err
		}
		m[k] = n
	}
	return db.Translate(rows.Err())
}
