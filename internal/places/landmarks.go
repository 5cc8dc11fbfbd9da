package places

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/region"
)

// Limits of a landmark's text.
const (
	MaxNameRunes = 60
	MaxAliases   = 20
)

// LandmarkRecord is an admin-maintained landmark or road.
type LandmarkRecord struct {
	ID        int64
	Name      string
	Kind      Kind // Landmark or Road
	Aliases   []string
	Point     orb.Point // WGS-84
	CreatedAt time.Time
	UpdatedAt time.Time
}

// LandmarkInput is what an administrator writes. Lat and Lng are WGS-84;
// nil means missing.
type LandmarkInput struct {
	Name    string
	Kind    Kind
	Aliases []string
	Lat     *float64
	Lng     *float64
}

// LandmarkStore keeps the landmarks and roads, and is the Gazetteer's
// Source for them.
type LandmarkStore struct {
	db      *db.DB
	regions *region.Store
	gen     atomic.Uint64
}

// NewLandmarkStore returns the store on d; regions checks that a landmark
// lies in the district.
func NewLandmarkStore(d *db.DB, regions *region.Store) *LandmarkStore {
	return &LandmarkStore{db: d, regions: regions}
}

// Stamp changes after every write on this replica.
func (s *LandmarkStore) Stamp() any { return s.gen.Load() }

const landmarkCols = `id, name, kind, aliases, lng, lat, created_at, updated_at`

func scanLandmark(sc interface{ Scan(...any) error }) (LandmarkRecord, error) {
	var l LandmarkRecord
	var kind, aliases string
	err := sc.Scan(&l.ID, &l.Name, &kind, &aliases, &l.Point[0], &l.Point[1], &l.CreatedAt, &l.UpdatedAt)
	l.Kind = Kind(kind)
	l.Aliases = splitAliases(aliases)
	return l, err
}

func splitAliases(s string) []string {
	out := []string{}
	for _, a := range strings.Split(s, "\n") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// List returns every landmark and road, by name.
func (s *LandmarkStore) List(ctx context.Context) (_ []LandmarkRecord, err error) {
	defer errs.Wrapf(&err, "places.LandmarkStore.List")
	rows, err := s.db.Query(ctx, `SELECT `+landmarkCols+` FROM landmarks ORDER BY name, id`)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	out := []LandmarkRecord{}
	for rows.Next() {
		l, err := scanLandmark(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// Get returns one landmark.
func (s *LandmarkStore) Get(ctx context.Context, id int64) (_ *LandmarkRecord, err error) {
	defer errs.Wrapf(&err, "places.LandmarkStore.Get")
	l, err := scanLandmark(s.db.QueryRow(ctx, `SELECT `+landmarkCols+` FROM landmarks WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "places.landmark_not_found", id)
	}
	if err != nil {
		return nil, db.Translate(err)
	}
	return &l, nil
}

// Places lists the landmarks for the Gazetteer.
func (s *LandmarkStore) Places(ctx context.Context) (_ []Place, err error) {
	defer errs.Wrapf(&err, "places.LandmarkStore.Places")
	ls, err := s.List(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Place, 0, len(ls))
	for _, l := range ls {
		out = append(out, Place{Name: l.Name, Kind: l.Kind, Ref: "landmark:" + strconv.FormatInt(l.ID, 10), Point: l.Point,
			Aliases: l.Aliases, Source: "gazetteer"})
	}
	return out, nil
}

// check validates in, with a message per field; the point must lie in a
// grid of the district.
func (s *LandmarkStore) check(in *LandmarkInput) error {
	e := errs.E(errs.Invalid, "error.invalid")
	in.Name = strings.TrimSpace(in.Name)
	switch n := utf8.RuneCountInString(in.Name); {
	case n == 0:
		e.Field("name", "field.required")
	case n > MaxNameRunes:
		e.Field("name", "field.too_long", MaxNameRunes)
	}
	if in.Kind != Landmark && in.Kind != Road {
		e.Field("kind", "places.err.kind", string(in.Kind))
	}
	var aliases []string
	for _, a := range in.Aliases {
		a = strings.TrimSpace(a)
		if a == "" {
			continue
		}
		if utf8.RuneCountInString(a) > MaxNameRunes {
			e.Field("aliases", "field.too_long", MaxNameRunes)
		}
		aliases = append(aliases, a)
	}
	if len(aliases) > MaxAliases {
		e.Field("aliases", "places.err.too_many_aliases", MaxAliases)
	}
	in.Aliases = aliases
	coord := func(name string, v *float64, limit float64) bool {
		switch {
		case v == nil:
			e.Field(name, "field.required")
		case math.IsNaN(*v) || math.IsInf(*v, 0) || math.Abs(*v) > limit:
			e.Field(name, "field.range", -limit, limit)
		default:
			return true
		}
		return false
	}
	okLat, okLng := coord("lat", in.Lat, 90), coord("lng", in.Lng, 180)
	if okLat && okLng {
		if _, found := s.regions.Locator().Locate(orb.Point{*in.Lng, *in.Lat}); !found {
			e.Field("lat", "places.err.outside")
		}
	}
	if len(e.Fields) > 0 {
		return e
	}
	return nil
}

// Create adds a landmark or road.
func (s *LandmarkStore) Create(ctx context.Context, actor audit.Actor, in LandmarkInput) (_ *LandmarkRecord, err error) {
	defer errs.Wrapf(&err, "places.LandmarkStore.Create")
	if err := s.check(&in); err != nil {
		return nil, err
	}
	var id int64
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		var err error
		id, err = tx.InsertID(ctx, `INSERT INTO landmarks (name, kind, aliases, lng, lat, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`, in.Name, string(in.Kind), strings.Join(in.Aliases, "\n"), *in.Lng, *in.Lat, tx.Now())
		if err != nil {
			return db.Translate(err)
		}
		return audit.Record(ctx, tx, actor, "landmark.create", "landmark:"+strconv.FormatInt(id, 10),
			fmt.Sprintf("%s %s (%.6f, %.6f)", in.Kind, in.Name, *in.Lat, *in.Lng))
	})
	if err != nil {
		return nil, err
	}
	s.gen.Add(1)
	return s.Get(ctx, id)
}

// Update replaces a landmark's name, kind, aliases and point.
func (s *LandmarkStore) Update(ctx context.Context, actor audit.Actor, id int64, in LandmarkInput) (_ *LandmarkRecord, err error) {
	defer errs.Wrapf(&err, "places.LandmarkStore.Update")
	if err := s.check(&in); err != nil {
		return nil, err
	}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE landmarks SET name = $2, kind = $3, aliases = $4, lng = $5, lat = $6, updated_at = $7 WHERE id = $1`,
			id, in.Name, string(in.Kind), strings.Join(in.Aliases, "\n"), *in.Lng, *in.Lat, tx.Now())
		if err != nil {
			return db.Translate(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errs.E(errs.NotFound, "places.landmark_not_found", id)
		}
		return audit.Record(ctx, tx, actor, "landmark.update", "landmark:"+strconv.FormatInt(id, 10),
			fmt.Sprintf("%s %s (%.6f, %.6f)", in.Kind, in.Name, *in.Lat, *in.Lng))
	})
	if err != nil {
		return nil, err
	}
	s.gen.Add(1)
	return s.Get(ctx, id)
}

// Delete removes a landmark.
func (s *LandmarkStore) Delete(ctx context.Context, actor audit.Actor, id int64) (err error) {
	defer errs.Wrapf(&err, "places.LandmarkStore.Delete")
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		var name string
		err := tx.QueryRow(ctx, `SELECT name FROM landmarks WHERE id = $1`, id).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "places.landmark_not_found", id)
		}
		if err != nil {
			return db.Translate(err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM landmarks WHERE id = $1`, id); err != nil {
			return db.Translate(err)
		}
		return audit.Record(ctx, tx, actor, "landmark.delete", "landmark:"+strconv.FormatInt(id, 10), name)
	})
	if err == nil {
		s.gen.Add(1)
	}
	return err
}
