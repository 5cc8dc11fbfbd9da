package casework

import (
	"context"
	"math"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"

	"whistle/internal/db"
	"whistle/internal/errs"
	geo2 "whistle/internal/geo"
)

// Nearby is an open case near a new report: public facts only, so it can be
// shown to any resident while they report.
type Nearby struct {
	ID        int64     `json:"id"`
	Number    string    `json:"number"`
	Category  string    `json:"category"`
	Status    State     `json:"status"`
	Distance  float64   `json:"distance_m"`
	Address   string    `json:"address,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Duplicates lists open public cases of the same category within the
// configured radius, reported in the configured window, nearest first.
func (s *Service) Duplicates(ctx context.Context, category string, lat, lng float64, crs string) ([]Nearby, error) {
	c, err := geo2.ParseCRS(crs)
	if err != nil {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("crs", "field.unknown_crs", crs)
	}
	if lat < -90 || lat > 90 || lng < -180 || lng > 180 || math.IsNaN(lat) || math.IsNaN(lng) {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("lat", "field.range", -90, 90)
	}
	p := geo2.ToWGS84(c, orb.Point{lng, lat})
	r := s.cfg.DuplicateRadius
	dLat := r / 111320.0
	dLng := r / (111320.0 * math.Max(math.Cos(p[1]*math.Pi/180), 0.01))
	since := s.db.Now().Add(-s.cfg.DuplicateWindow)
	rows, err := s.db.Query(ctx, `SELECT id, number, category_name, status, lat, lng, address, created_at FROM cases
		WHERE category_code = $1 AND lat BETWEEN $2 AND $3 AND lng BETWEEN $4 AND $5 AND created_at >= $6
		AND visibility = 'public' AND status NOT IN ('closed','rejected','declined','merged') LIMIT 200`,
		category, p[1]-dLat, p[1]+dLat, p[0]-dLng, p[0]+dLng, since)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Nearby
	for rows.Next() {
		var n Nearby
		var st string
		var la, ln float64
		var at db.Time
		if err := rows.Scan(&n.ID, &n.Number, &n.Category, &st, &la, &ln, &n.Address, &at); err != nil {
			return nil, err
		}
		n.Status, n.CreatedAt = State(st), at.Time
		n.Distance = math.Round(geo.Distance(p, orb.Point{ln, la})*10) / 10
		if n.Distance <= r {
			out = append(out, n)
		}
	}
	sortNearby(out)
	return out, rows.Err()
}

func sortNearby(ns []Nearby) {
	for i := 1; i < len(ns); i++ {
		for j := i; j > 0 && ns[j].Distance < ns[j-1].Distance; j-- {
			ns[j], ns[j-1] = ns[j-1], ns[j]
		}
	}
}

// Follow lets a resident follow an existing case instead of reporting it
// again: they get its updates in their inbox.
func (s *Service) Follow(ctx context.Context, caller Caller, id int64) error {
	if caller.User == nil {
		return errs.E(errs.Unauthorized, "error.unauthorized")
	}
	// Following needs only that the case be public and open, or in scope.
	c, err := s.Get(ctx, caller, id)
	if errs.Is(err, errs.NotFound) {
		c, err = s.publicCase(ctx, id)
	}
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO case_followers (case_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, c.ID, caller.User.ID)
		return err
	})
}
