package stats

import (
	"context"
	"strconv"
	"time"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/region"
)

// RecentEvent is one step taken on a case, as the screen's live feed
// shows it (the same fields as the event stream's).
type RecentEvent struct {
	CaseID     int64     `json:"case_id"`
	Number     string    `json:"number"`
	Action     string    `json:"action"`
	Status     string    `json:"status"`
	RegionPath string    `json:"region_path"`
	At         time.Time `json:"at"`
}

// MaxRecent bounds the recent events and the case points.
const MaxRecent = 500

// recentDays bounds how far back the live feed looks on load.
const recentDays = 30

func checkLimit(limit, def int) (int, error) {
	if limit == 0 {
		return def, nil
	}
	if limit < 1 || limit > MaxRecent {
		return 0, errs.E(errs.Invalid, "error.invalid").Field("limit", "field.range", 1, MaxRecent)
	}
	return limit, nil
}

// Recent lists the latest steps taken on the cases under a node, newest
// first, at most limit (default 20), within the last 30 days and the
// caller's data scope: the screen's 实时动态 on load, before the event
// stream adds to it.
func (s *Store) Recent(ctx context.Context, sc account.Scope, code string, now time.Time, limit int) (_ []RecentEvent, err error) {
	defer errs.Wrapf(&err, "stats.Recent(%s)", code)
	if limit, err = checkLimit(limit, 20); err != nil {
		return nil, err
	}
	n, err := s.Resolve(ctx, sc, code)
	if err != nil {
		return nil, err
	}
	var w db.Where
	w.Add("e.at >= ?", now.AddDate(0, 0, -recentDays).UTC())
	w.Add("c.region_path >= ? AND c.region_path < ?", n.path, db.PathUpper(n.path))
	sc.Apply(&w, casework.ScopeColumns("c"))
	rows, err := s.db.Query(ctx, `SELECT e.case_id, c.number, e.action, CASE WHEN e.to_status <> '' THEN e.to_status ELSE e.from_status END,
		c.region_path, e.at FROM case_events e JOIN cases c ON c.id = e.case_id`+w.SQL()+` ORDER BY e.at DESC, e.id DESC LIMIT `+strconv.Itoa(limit), w.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []RecentEvent{}
	for rows.Next() {
		var e RecentEvent
		var at db.Time
		if err := rows.Scan(&e.CaseID, &e.Number, &e.Action, &e.Status, &e.RegionPath, &at); err != nil {
			return nil, err
		}
		e.At = at.Time
		out = append(out, e)
	}
	return out, rows.Err()
}

// CasePoint is an open case on the screen's map.
type CasePoint struct {
	ID       int64   `json:"id"`
	Number   string  `json:"number"`
	Category string  `json:"category"`
	Status   string  `json:"status"`
	SLA      string  `json:"sla"`
	Lat      float64 `json:"lat"`
	Lng      float64 `json:"lng"`
}

// Points lists the open cases under a community or grid node, in the
// caller's data scope, at most limit (default and bound 500), the most
// urgent time state first: the screen draws them as points at those
// levels. Above a community the map shows areas, and Points answers none.
func (s *Store) Points(ctx context.Context, sc account.Scope, code string, limit int) (_ []CasePoint, err error) {
	defer errs.Wrapf(&err, "stats.Points(%s)", code)
	if limit, err = checkLimit(limit, MaxRecent); err != nil {
		return nil, err
	}
	n, err := s.Resolve(ctx, sc, code)
	if err != nil {
		return nil, err
	}
	out := []CasePoint{}
	if n.Level != region.Community && n.Level != region.Grid {
		return out, nil
	}
	var w db.Where
	w.Add("c.region_path >= ? AND c.region_path < ?", n.path, db.PathUpper(n.path))
	w.Add(openSQL("c.status"))
	sc.Apply(&w, casework.ScopeColumns("c"))
	rows, err := s.db.Query(ctx, `SELECT c.id, c.number, c.category_name, c.status, c.sla_state, c.lat, c.lng FROM cases c`+w.SQL()+
		` ORDER BY CASE c.sla_state WHEN 'overdue' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, c.id DESC LIMIT `+strconv.Itoa(limit), w.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var p CasePoint
		if err := rows.Scan(&p.ID, &p.Number, &p.Category, &p.Status, &p.SLA, &p.Lat, &p.Lng); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
