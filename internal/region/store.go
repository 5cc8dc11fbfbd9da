package region

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"sync/atomic"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/geo"
)

// Store reads and writes regions and keeps the point-location index of the
// grids current.
type Store struct {
	db  *db.DB
	loc atomic.Pointer[Locator]
}

// NewStore returns a Store on d. Call Reload before Locate.
func NewStore(d *db.DB) *Store {
	s := &Store{db: d}
	s.loc.Store(NewLocator(nil))
	return s
}

// ImportResult counts what an import wrote.
type ImportResult struct {
	Created int `json:"created"`
	Updated int `json:"updated"`
}

// Validate checks features against themselves and the stored tree without
// writing anything. It returns an *ImportError listing every problem.
func (s *Store) Validate(ctx context.Context, feats []Feature) (err error) {
	defer errs.Wrapf(&err, "region.Store.Validate")
	_, err = s.plan(ctx, feats)
	return err
}

type planned struct {
	f      Feature
	path   string
	exists bool
}

// plan validates and orders features parents-first, computing their paths.
func (s *Store) plan(ctx context.Context, feats []Feature) ([]planned, error) {
	issues := validateFeatures(feats)
	existing, err := s.nodesByCode(ctx)
	if err != nil {
		return nil, err
	}
	inFile := map[string]*Feature{}
	for i := range feats {
		if feats[i].Code != "" {
			if _, dup := inFile[feats[i].Code]; !dup {
				inFile[feats[i].Code] = &feats[i]
			}
		}
	}
	levelOf := func(code string) (Level, bool) {
		if f, ok := inFile[code]; ok {
			return f.Level, true
		}
		if n, ok := existing[code]; ok {
			return n.Level, true
		}
		return "", false
	}
	add := func(f Feature, key string, args ...any) {
		issues = append(issues, Issue{Feature: f.Index, Code: f.Code, Msg: errs.Msg{Key: key, Args: args}})
	}
	for _, f := range feats {
		if old, ok := existing[f.Code]; ok && old.ParentCode != f.ParentCode {
			add(f, "region.err.moved", f.Code, old.ParentCode, f.ParentCode)
		}
		if f.ParentCode == "" {
			continue
		}
		pl, ok := levelOf(f.ParentCode)
		if !ok {
			add(f, "region.err.unknown_parent", f.ParentCode)
			continue
		}
		if f.Level.Valid() && pl.Valid() && pl.Rank() != f.Level.Rank()-1 {
			want := Levels()[max(f.Level.Rank()-1, 0)]
			add(f, "region.err.parent_level", f.ParentCode, string(pl), string(f.Level), string(want))
		}
	}
	// Paths: walk up through the file and the stored tree; a walk that
	// revisits a code is a cycle.
	paths := map[string]string{}
	var pathOf func(code string, seen map[string]bool) (string, bool)
	pathOf = func(code string, seen map[string]bool) (string, bool) {
		if p, ok := paths[code]; ok {
			return p, true
		}
		if seen[code] {
			return "", false
		}
		seen[code] = true
		if f, ok := inFile[code]; ok {
			parent := ""
			if f.ParentCode != "" {
				pp, ok := pathOf(f.ParentCode, seen)
				if !ok {
					return "", false
				}
				parent = pp
			}
			paths[code] = ChildPath(parent, code)
			return paths[code], true
		}
		if n, ok := existing[code]; ok {
			return n.Path, true
		}
		return "", false
	}
	var out []planned
	for _, f := range feats {
		if f.Code == "" {
			continue
		}
		p, ok := pathOf(f.Code, map[string]bool{})
		if !ok {
			if _, known := levelOf(f.ParentCode); known || f.ParentCode == "" {
				add(f, "region.err.cycle")
			}
			continue
		}
		_, exists := existing[f.Code]
		out = append(out, planned{f: f, path: p, exists: exists})
	}
	if len(issues) > 0 {
		sort.SliceStable(issues, func(i, j int) bool { return issues[i].Feature < issues[j].Feature })
		return nil, &ImportError{Issues: issues}
	}
	sort.SliceStable(out, func(i, j int) bool { return len(PathCodes(out[i].path)) < len(PathCodes(out[j].path)) })
	return out, nil
}

// Import validates every feature and then writes them all in one
// transaction: either the whole file is imported or nothing is.
func (s *Store) Import(ctx context.Context, actor audit.Actor, feats []Feature) (_ ImportResult, err error) {
	defer errs.Wrapf(&err, "region.Store.Import")
	var res ImportResult
	plan, err := s.plan(ctx, feats)
	if err != nil {
		return res, err
	}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		res = ImportResult{}
		for _, p := range plan {
			f := p.f
			gj, err := geojson.NewGeometry(f.Geometry).MarshalJSON()
			if err != nil {
				return err
			}
			b := f.Geometry.Bound()
			in := geo.InteriorPoint(AsMulti(f.Geometry))
			var parent any
			if f.ParentCode != "" {
				parent = f.ParentCode
			}
			if p.exists {
				_, err = tx.Exec(ctx, `UPDATE regions SET name=$2, level=$3, geometry=$4, min_lng=$5, min_lat=$6, max_lng=$7, max_lat=$8,
					interior_lng=$9, interior_lat=$10, illustrative=$11, updated_at=$12 WHERE code=$1`,
					f.Code, f.Name, string(f.Level), string(gj), b.Min[0], b.Min[1], b.Max[0], b.Max[1], in[0], in[1], f.Illustrative, tx.Now())
				res.Updated++
			} else {
				_, err = tx.Exec(ctx, `INSERT INTO regions (code, parent_code, name, level, path, geometry, min_lng, min_lat, max_lng, max_lat,
					interior_lng, interior_lat, illustrative, created_at, updated_at)
					VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$14)`,
					f.Code, parent, f.Name, string(f.Level), p.path, string(gj), b.Min[0], b.Min[1], b.Max[0], b.Max[1], in[0], in[1], f.Illustrative, tx.Now())
				res.Created++
			}
			if err != nil {
				return fmt.Errorf("region %s: %w", f.Code, err)
			}
		}
		return audit.Record(ctx, tx, actor, "region.import", "regions",
			fmt.Sprintf("created %d, updated %d", res.Created, res.Updated))
	})
	if err != nil {
		return ImportResult{}, err
	}
	return res, s.Reload(ctx)
}

const nodeCols = `code, COALESCE(parent_code, ''), name, level, path, geometry, min_lng, min_lat, max_lng, max_lat, interior_lng, interior_lat, illustrative`

func scanNode(sc interface{ Scan(...any) error }, withGeom bool) (Node, error) {
	var n Node
	var gj string
	var lv string
	err := sc.Scan(&n.Code, &n.ParentCode, &n.Name, &lv, &n.Path, &gj,
		&n.Bound.Min[0], &n.Bound.Min[1], &n.Bound.Max[0], &n.Bound.Max[1], &n.Interior[0], &n.Interior[1], &n.Illustrative)
	if err != nil {
		return n, err
	}
	n.Level = Level(lv)
	if withGeom {
		g, err := geojson.UnmarshalGeometry([]byte(gj))
		if err != nil {
			return n, fmt.Errorf("region %s: stored geometry: %w", n.Code, err)
		}
		n.Geometry = g.Geometry()
	}
	return n, nil
}

func (s *Store) query(ctx context.Context, withGeom bool, where string, args ...any) ([]Node, error) {
	rows, err := s.db.Query(ctx, `SELECT `+nodeCols+` FROM regions `+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Node
	for rows.Next() {
		n, err := scanNode(rows, withGeom)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func (s *Store) nodesByCode(ctx context.Context) (map[string]Node, error) {
	nodes, err := s.query(ctx, false, "")
	if err != nil {
		return nil, err
	}
	m := make(map[string]Node, len(nodes))
	for _, n := range nodes {
		m[n.Code] = n
	}
	return m, nil
}

// Get returns one region with its boundary.
func (s *Store) Get(ctx context.Context, code string) (_ *Node, err error) {
	defer errs.Wrapf(&err, "region.Store.Get")
	n, err := scanNode(s.db.QueryRow(ctx, `SELECT `+nodeCols+` FROM regions WHERE code = $1`, code), true)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "region.not_found", code)
	}
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// District returns the code of the district this installation serves (the
// first by code if several are stored), or "" when no regions are loaded yet.
func (s *Store) District(ctx context.Context) (_ string, err error) {
	defer errs.Wrapf(&err, "region.Store.District")
	var code string
	err = s.db.QueryRow(ctx, `SELECT code FROM regions WHERE level = 'district' ORDER BY code LIMIT 1`).Scan(&code)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil // no regions yet: the maps show nothing
	}
	if err != nil {
		return "", fmt.Errorf("region: the district: %w", err)
	}
	return code, nil
}

// Children returns the direct children of code, ordered by code.
func (s *Store) Children(ctx context.Context, code string, withGeom bool) (_ []Node, err error) {
	defer errs.Wrapf(&err, "region.Store.Children")
	if _, err := s.Get(ctx, code); err != nil {
		return nil, err
	}
	return s.query(ctx, withGeom, `WHERE parent_code = $1 ORDER BY code`, code)
}

// Subtree returns code and everything below it, parents first.
func (s *Store) Subtree(ctx context.Context, code string, withGeom bool) (_ []Node, err error) {
	defer errs.Wrapf(&err, "region.Store.Subtree")
	n, err := s.Get(ctx, code)
	if err != nil {
		return nil, err
	}
	return s.query(ctx, withGeom, `WHERE path >= $1 AND path < $2 ORDER BY path`, n.Path, db.PathUpper(n.Path))
}

// All returns every region, parents first.
func (s *Store) All(ctx context.Context, withGeom bool) (_ []Node, err error) {
	defer errs.Wrapf(&err, "region.Store.All")
	return s.query(ctx, withGeom, `ORDER BY path`)
}

// Ancestry returns the refs along a path, root first, including the node.
func (s *Store) Ancestry(ctx context.Context, path string) (_ []Ref, err error) {
	defer errs.Wrapf(&err, "region.Store.Ancestry")
	codes := PathCodes(path)
	out := make([]Ref, 0, len(codes))
	for _, c := range codes {
		n, err := s.Get(ctx, c)
		if err != nil {
			return nil, err
		}
		out = append(out, n.Ref())
	}
	return out, nil
}

// Export writes the whole tree as GeoJSON.
func (s *Store) Export(ctx context.Context, w interface{ Write([]byte) (int, error) }) (err error) {
	defer errs.Wrapf(&err, "region.Store.Export")
	nodes, err := s.All(ctx, true)
	if err != nil {
		return err
	}
	return WriteFeatureCollection(w, nodes)
}

// Reload rebuilds the point-location index from the stored grids.
func (s *Store) Reload(ctx context.Context) (err error) {
	defer errs.Wrapf(&err, "region.Store.Reload")
	nodes, err := s.All(ctx, true)
	if err != nil {
		return err
	}
	s.loc.Store(NewLocator(nodes))
	return nil
}

// Locator returns the current point-location index.
func (s *Store) Locator() *Locator { return s.loc.Load() }

// Locate finds the grid for a WGS-84 point.
func (s *Store) Locate(p orb.Point) (_ Location, err error) {
	defer errs.Wrapf(&err, "region.Store.Locate")
	loc, ok := s.Locator().Locate(p)
	if !ok {
		return Location{}, errs.E(errs.NotFound, "region.outside_jurisdiction").WithReason("outside_jurisdiction")
	}
	return loc, nil
}
