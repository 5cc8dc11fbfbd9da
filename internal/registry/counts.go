package registry

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"slices"
	"strings"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// The metrics of reg_counts: people by status ("people.resident"),
// members by group ("group.elderly_alone"), houses by use
// ("houses.vacant"), buildings and organisations. Totals are sums.
const (
	metricLock          = "_lock"
	metricPeople        = "people."
	metricGroup         = "group."
	metricHouses        = "houses."
	metricBuildings     = "buildings"
	metricOrganisations = "organisations"
)

// BaseCounts are a region node's registry counts, read from the rollup
// reg_counts: people by status and group, houses by use, buildings and
// organisations. Vacant here is the houses whose use is vacant (the grid
// page also counts residential houses nobody is linked to).
type BaseCounts struct {
	Node          string         `json:"node"`
	People        int64          `json:"people"`
	ByStatus      map[string]int `json:"people_by_status"`
	ByGroup       map[string]int `json:"people_by_group"`
	Houses        int64          `json:"houses"`
	HousesByUse   map[string]int `json:"houses_by_use"`
	Buildings     int64          `json:"buildings"`
	Organisations int64          `json:"organisations"`
}

// countsKey finds a transaction's gridCounts among its Deferreds.
type countsKey struct{}

// gridCounts gathers the grids a transaction changed. Its Flush, just
// before the commit, recounts each of them and adds the difference to the
// grid's rows of reg_counts and to those of every node above it, so that
// a community's or the district's counts are one indexed read.
type gridCounts struct{ grids map[string]bool }

// markGrids notes that the transaction changed records of these grids.
func markGrids(tx *db.Tx, codes ...string) {
	g := tx.Defer(countsKey{}, func() db.Deferred { return &gridCounts{grids: map[string]bool{}} }).(*gridCounts)
	for _, c := range codes {
		if c != "" {
			g.grids[c] = true
		}
	}
}

// gridOfPath is the last code of a materialised path ("/…/330303001001/").
func gridOfPath(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	return parts[len(parts)-1]
}

// Flush implements db.Deferred. Grids are recounted in code order, each
// first locking its '_lock' row, so that two transactions recounting one
// grid on PostgreSQL take turns (the second counts after the first's
// commit, under READ COMMITTED) and never deadlock; the ancestors'
// additions follow in (node, metric) order.
func (g *gridCounts) Flush(ctx context.Context, tx *db.Tx) error {
	codes := slices.Sorted(maps.Keys(g.grids))
	add := map[[2]string]int64{}
	for _, code := range codes {
		var path string
		err := tx.QueryRow(ctx, `SELECT path FROM regions WHERE code = $1`, code).Scan(&path)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return db.Translate(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO reg_counts (node, metric, n) VALUES ($1, $2, 0)
			ON CONFLICT (node, metric) DO UPDATE SET n = reg_counts.n`, code, metricLock); err != nil {
			return db.Translate(err)
		}
		fresh, err := countGrid(ctx, tx, path)
		if err != nil {
			return err
		}
		stored, err := readCounts(ctx, tx, code)
		if err != nil {
			return err
		}
		for m, n := range stored {
			fresh[m] -= n
		}
		nodes := strings.Split(strings.Trim(path, "/"), "/")
		for m, d := range fresh {
			if d == 0 {
				continue
			}
			for _, node := range nodes {
				add[[2]string{node, m}] += d
			}
		}
	}
	keys := slices.SortedFunc(maps.Keys(add), func(a, b [2]string) int {
		if c := strings.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return strings.Compare(a[1], b[1])
	})
	for _, k := range keys {
		if add[k] == 0 {
			continue
		}
		if _, err := tx.Exec(ctx, `INSERT INTO reg_counts (node, metric, n) VALUES ($1, $2, $3)
			ON CONFLICT (node, metric) DO UPDATE SET n = reg_counts.n + excluded.n`, k[0], k[1], add[k]); err != nil {
			return db.Translate(err)
		}
	}
	return nil
}

// countGrid counts a grid's records by metric.
func countGrid(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (*sql.Rows, error)
}, path string) (map[string]int64, error) {
	out := map[string]int64{}
	for _, c := range []struct{ prefix, q string }{
		{metricPeople, `SELECT status, COUNT(*) FROM reg_people WHERE region_path = $1 GROUP BY status`},
		{metricGroup, `SELECT m.group_code, COUNT(*) FROM reg_people p JOIN reg_group_members m ON m.person_id = p.id
			WHERE p.region_path = $1 GROUP BY m.group_code`},
		{metricHouses, `SELECT use, COUNT(*) FROM reg_houses WHERE region_path = $1 GROUP BY use`},
		{"", `SELECT '` + metricBuildings + `', COUNT(*) FROM reg_buildings WHERE region_path = $1`},
		{"", `SELECT '` + metricOrganisations + `', COUNT(*) FROM reg_organisations WHERE region_path = $1`},
	} {
		if err := scanCounts(ctx, q, c.q, path, c.prefix, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// readCounts reads a node's stored counts, without the lock row.
func readCounts(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (*sql.Rows, error)
}, node string) (map[string]int64, error) {
	out := map[string]int64{}
	if err := scanCounts(ctx, q, `SELECT metric, n FROM reg_counts WHERE node = $1 AND metric <> '`+metricLock+`'`, node, "", out); err != nil {
		return nil, err
	}
	return out, nil
}

func scanCounts(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (*sql.Rows, error)
}, query, arg, prefix string, out map[string]int64) error {
	rows, err := q.Query(ctx, query, arg)
	if err != nil {
		return db.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return db.Translate(err)
		}
		if n != 0 {
			out[prefix+k] += n
		}
	}
	return db.Translate(rows.Err())
}

// Counts returns the registry counts of region nodes (a grid, community,
// street or the district) from the rollup, one indexed read a node. A node
// the scope does not cover, or that does not exist, is NotFound.
func (s *Store) Counts(ctx context.Context, sc account.Scope, nodes ...string) (_ []BaseCounts, err error) {
	defer errs.Wrapf(&err, "registry.Store.Counts")
	out := make([]BaseCounts, 0, len(nodes))
	for _, node := range nodes {
		var path string
		err := s.db.QueryRow(ctx, `SELECT path FROM regions WHERE code = $1`, node).Scan(&path)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !sc.Covers(path)) {
			return nil, notFound(keyGridNotFound, node)
		}
		if err != nil {
			return nil, db.Translate(err)
		}
		m, err := readCounts(ctx, s.db, node)
		if err != nil {
			return nil, err
		}
		out = append(out, baseCounts(node, m))
	}
	return out, nil
}

// baseCounts shapes a node's metrics, every status, group and use listed.
func baseCounts(node string, m map[string]int64) BaseCounts {
	b := BaseCounts{Node: node, ByStatus: map[string]int{}, ByGroup: map[string]int{}, HousesByUse: map[string]int{}}
	for _, st := range Statuses() {
		b.ByStatus[st] = 0
	}
	for _, u := range HouseUses() {
		b.HousesByUse[u] = 0
	}
	for k, n := range m {
		switch {
		case strings.HasPrefix(k, metricPeople):
			b.ByStatus[strings.TrimPrefix(k, metricPeople)] = int(n)
			b.People += n
		case strings.HasPrefix(k, metricGroup):
			b.ByGroup[strings.TrimPrefix(k, metricGroup)] = int(n)
		case strings.HasPrefix(k, metricHouses):
			b.HousesByUse[strings.TrimPrefix(k, metricHouses)] = int(n)
			b.Houses += n
		case k == metricBuildings:
			b.Buildings = n
		case k == metricOrganisations:
			b.Organisations = n
		}
	}
	return b
}

// RebuildCounts drops reg_counts and recounts every grid that holds
// registry records, in one transaction: for data written around the store
// (the demo's bulk links) and as a repair. It returns the grids counted.
func (s *Store) RebuildCounts(ctx context.Context) (n int, err error) {
	defer errs.Wrapf(&err, "registry.Store.RebuildCounts")
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM reg_counts`); err != nil {
			return db.Translate(err)
		}
		rows, err := tx.Query(ctx, `SELECT grid_code FROM reg_people UNION SELECT grid_code FROM reg_houses
			UNION SELECT grid_code FROM reg_buildings UNION SELECT grid_code FROM reg_organisations`)
		if err != nil {
			return db.Translate(err)
		}
		defer rows.Close()
		var codes []string
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				return db.Translate(err)
			}
			codes = append(codes, c)
		}
		if err := rows.Err(); err != nil {
			return db.Translate(err)
		}
		n = len(codes)
		markGrids(tx, codes...)
		return nil
	})
	return n, err
}
