package stats

import (
	"context"
	"time"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// SummaryFromCases computes the same Summary as Summary with plain GROUP BY
// queries over the cases of the node's subtree instead of the rollups. It
// is the check the tests hold the rollups to and the baseline the
// benchmark compares them with; the screen never calls it.
func (s *Store) SummaryFromCases(ctx context.Context, sc account.Scope, code string) (_ *Summary, err error) {
	defer errs.Wrapf(&err, "stats.SummaryFromCases(%s)", code)
	n, err := s.Resolve(ctx, sc, code)
	if err != nil {
		return nil, err
	}
	today, from := s.today()
	sm := &Summary{Region: *n, Today: today, From: from}
	dayStart := func(d string) time.Time {
		t, _ := time.ParseInLocation(time.DateOnly, d, s.loc)
		return t.UTC()
	}
	lo, mid, hi := dayStart(from), dayStart(today), dayStart(today).AddDate(0, 0, 1)
	pathLo, pathHi := n.path, db.PathUpper(n.path)

	rows, err := s.db.Query(ctx, `SELECT c.category_code, COUNT(*), SUM(CASE WHEN c.created_at >= $1 THEN 1 ELSE 0 END) FROM cases c
		WHERE c.region_path >= $2 AND c.region_path < $3 AND c.created_at >= $4 AND c.created_at < $5 GROUP BY c.category_code`,
		mid, pathLo, pathHi, lo, hi)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var c Count
		var today int64
		if err := rows.Scan(&c.Code, &c.N, &today); err != nil {
			rows.Close()
			return nil, err
		}
		sm.Categories = append(sm.Categories, c)
		sm.Totals.Reports += c.N
		sm.KPI.ReportsToday += today
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	if sm.Sources, err = countRows(s.db.Query(ctx, `SELECT c.source, COUNT(*) FROM cases c
		WHERE c.region_path >= $1 AND c.region_path < $2 AND c.created_at >= $3 AND c.created_at < $4 GROUP BY c.source`,
		pathLo, pathHi, lo, hi)); err != nil {
		return nil, err
	}

	if err := sm.stateRows(s.db.Query(ctx, `SELECT c.status, c.sla_state, c.supervised, COUNT(*) FROM cases c
		WHERE c.region_path >= $1 AND c.region_path < $2 AND `+openSQL("c.status")+` GROUP BY c.status, c.sla_state, c.supervised`, pathLo, pathHi)); err != nil {
		return nil, err
	}

	// Closures: the handling time needs the working calendar, so the rows
	// come back and are summed here.
	rows, err = s.db.Query(ctx, `SELECT `+rowCols()+` FROM cases c
		WHERE c.region_path >= $1 AND c.region_path < $2 AND c.status = 'closed' AND c.closed_at >= $3 AND c.closed_at < $4`,
		pathLo, pathHi, lo, hi)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		r, err := scanRow(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		f := s.factsOf(r)
		v := flowVal{closed: 1, onTime: b2i(f.onTime), rated: b2i(f.rated), satisfied: b2i(f.satisfied), starsN: b2i(f.stars > 0),
			starsSum: int64(f.stars), handled: b2i(f.handled), handlingS: f.handlingS, firstDue: b2i(f.firstDue), firstMet: b2i(f.firstMet),
			reworked: b2i(f.reworked), returned: b2i(f.returned)}
		sm.Totals.add(v)
		if f.closedDay == today {
			sm.KPI.ClosedToday++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// 解决率: the valid cases submitted in the window and the resolved
	// among them.
	statuses, err := countRows(s.db.Query(ctx, `SELECT c.status, COUNT(*) FROM cases c
		WHERE c.region_path >= $1 AND c.region_path < $2 AND c.created_at >= $3 AND c.created_at < $4 GROUP BY c.status`, pathLo, pathHi, lo, hi))
	if err != nil {
		return nil, err
	}
	for _, c := range statuses {
		st := casework.State(c.Code)
		if casework.IsResolvedState(st) || !casework.IsTerminalState(st) {
			sm.Totals.Valid += c.N
			if casework.IsResolvedState(st) {
				sm.Totals.Resolved += c.N
			}
		}
	}
	sm.rates()
	sm.finish()
	s.nameCategories(ctx, sm.Categories)
	return sm, nil
}
