package casework

import (
	"cmp"
	"context"
	"math"
	"slices"
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

// maxDuplicates bounds the duplicate hints: the nearest this many.
const maxDuplicates = 200

// Duplicates lists open public cases of the same category within the
// configured radius, reported in the configured window, nearest first.
func (s *Service) Duplicates(ctx context.Context, category string, lat, lng float64, crs string) (_ []Nearby, err error) {
	defer errs.Wrapf(&err, "casework.Service.Duplicates")
	c, err := geo2.ParseCRS(crs)
	if err != nil {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("crs", "field.unknown_crs", crs)
	}
	if lat < -90 || lat > 90 || lng < -180 || lng > 180 || math.IsNaN(lat) || math.IsNaN(lng) {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("lat", "field.range", -90, 90)
	}
	p := geo2.ToWGS84(c, orb.Point{lng, lat})
	r := s.cfg.DuplicateRadius
	kx := math.Max(math.Cos(p[1]*math.Pi/180), 0.01) // metres per degree of longitude, relative to latitude
	dLat := r / 111320.0
	dLng := r / (111320.0 * kx)
	since := s.db.Now().Add(-s.cfg.DuplicateWindow)
	// The bounding box on the indexed lat and lng columns narrows the
	// candidates; ORDER BY an equirectangular distance (exact enough at a
	// few hundred metres, and plain arithmetic both SQLite and PostgreSQL
	// accept) puts the nearest first before the LIMIT, so a busy area
	// cannot push the nearest case out of the answer.
	rows, err := s.db.Query(ctx, `SELECT id, number, category_name, status, lat, lng, address, created_at FROM cases
		WHERE category_code = $1 AND lat BETWEEN $2 AND $3 AND lng BETWEEN $4 AND $5 AND created_at >= $6
		AND visibility = 'public' AND `+OpenSQL("status")+`
		ORDER BY (lat - $7) * (lat - $7) + (lng - $8) * (lng - $8) * $9, id LIMIT $10`,
		category, p[1]-dLat, p[1]+dLat, p[0]-dLng, p[0]+dLng, since, p[1], p[0], kx*kx, maxDuplicates)
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
	// The query's flat-earth order and the geodesic distances shown agree
	// but for near ties; sort by what is shown.
	slices.SortStableFunc(out, func(a, b Nearby) int { return cmp.Compare(a.Distance, b.Distance) })
	return out, rows.Err()
}

// Follow lets a resident follow an existing case instead of reporting it
// again: they get its updates in their inbox.
func (s *Service) Follow(ctx context.Context, caller Caller, id int64) (err error) {
	defer errs.Wrapf(&err, "casework.Service.Follow")
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
