package casework

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

	"whistle/internal/db"
	"whistle/internal/errs"
)

// publicCase returns a case if it is public; private cases do not exist
// for the public.
func (s *Service) publicCase(ctx context.Context, id int64) (*Case, error) {
	c, err := scanCase(s.db.QueryRow(ctx, `SELECT `+caseCols+caseFrom+` WHERE c.id = $1 AND c.visibility = 'public'`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "case.not_found")
	}
	return c, err
}

// PublicCase returns a public case and its public timeline. The caller
// (web) must strip personal data before showing it.
func (s *Service) PublicCase(ctx context.Context, id int64) (*Case, []Event, error) {
	c, err := s.publicCase(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	tl, err := s.timeline(ctx, id, true)
	return c, tl, err
}

// PublicList lists public cases inside a bounding box (a map view), newest first.
func (s *Service) PublicList(ctx context.Context, minLat, minLng, maxLat, maxLng float64, open bool, limit int) ([]*Case, error) {
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	var w db.Where
	w.Add("c.visibility = 'public'")
	w.Add("c.lat BETWEEN ? AND ?", minLat, maxLat)
	w.Add("c.lng BETWEEN ? AND ?", minLng, maxLng)
	// Deliberately unscoped: only public cases, and the web layer sends no personal data.
	if open {
		w.Add("c.status NOT IN ('closed','rejected','declined','merged')")
	}
	rows, err := s.db.Query(ctx, `SELECT `+caseCols+caseFrom+w.SQL()+` ORDER BY c.id DESC LIMIT `+strconv.Itoa(limit), w.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
