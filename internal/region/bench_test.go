package region_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkt"
	"github.com/paulmach/orb/planar"
	"github.com/tidwall/rtree"

	"whistle/internal/demo"
	"whistle/internal/geo"
	"whistle/internal/region"
)

// benchSet is a set of grids and query points inside their bounding box,
// with the answer for every point from a slow reference (every grid's
// bounding box, then orb's point-in-polygon test), which every benchmark
// checks its own answers against: Whistle and each baseline get the same
// polygons and the same points, and none may count a wrong answer.
type benchSet struct {
	name   string
	grids  []orb.MultiPolygon
	points []orb.Point
	want   []int32 // the grid containing each point, or -1
	hits   int     // points inside some grid
}

func demoGrids(b *testing.B) []orb.MultiPolygon {
	b.Helper()
	nodes, err := demo.District(1)
	if err != nil {
		b.Fatal(err)
	}
	var out []orb.MultiPolygon
	for _, n := range nodes {
		if n.Level == demo.LevelGrid {
			out = append(out, n.Geometry)
		}
	}
	return out
}

func pointsIn(grids []orb.MultiPolygon, n int) []orb.Point {
	var bound orb.Bound
	for i, g := range grids {
		if i == 0 {
			bound = g.Bound()
		} else {
			bound = bound.Union(g.Bound())
		}
	}
	r := rand.New(rand.NewPCG(7, 7))
	pts := make([]orb.Point, n)
	for i := range pts {
		pts[i] = orb.Point{bound.Min[0] + r.Float64()*(bound.Max[0]-bound.Min[0]), bound.Min[1] + r.Float64()*(bound.Max[1]-bound.Min[1])}
	}
	return pts
}

// reference answers every point by brute force: each grid's bounding box,
// then planar.MultiPolygonContains. It shares nothing with the index.
func reference(grids []orb.MultiPolygon, pts []orb.Point) (want []int32, hits int) {
	bounds := make([]orb.Bound, len(grids))
	for i, g := range grids {
		bounds[i] = g.Bound()
	}
	want = make([]int32, len(pts))
	var wg sync.WaitGroup
	const parts = 4
	for k := 0; k < parts; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			for j := k; j < len(pts); j += parts {
				want[j] = -1
				for i := range grids {
					if bounds[i].Contains(pts[j]) && planar.MultiPolygonContains(grids[i], pts[j]) {
						want[j] = int32(i)
						break
					}
				}
			}
		}(k)
	}
	wg.Wait()
	for _, w := range want {
		if w >= 0 {
			hits++
		}
	}
	return want, hits
}

var (
	setsOnce sync.Once
	sets     []benchSet
)

// benchSets are the demo district's grids and 50,000 synthetic ones, each
// with 65,536 random points over its bounding box (some outside every grid
// of the demo district, whose outline is not a rectangle), built once per
// process.
func benchSets(b *testing.B) []benchSet {
	setsOnce.Do(func() {
		d := demoGrids(b)
		s := geo.SyntheticGrids(50000, 1)
		for _, set := range []benchSet{
			{name: fmt.Sprintf("demo-longwan-%d", len(d)), grids: d, points: pointsIn(d, 1<<16)},
			{name: "synthetic-50000", grids: s, points: pointsIn(s, 1<<16)},
		} {
			set.want, set.hits = reference(set.grids, set.points)
			sets = append(sets, set)
		}
	})
	return sets
}

// run times locate over the set's points, one lookup an operation, and
// fails on any answer that differs from the reference; it reports
// lookups/s and the share of points found in a grid.
func (set *benchSet) run(b *testing.B, locate func(orb.Point) int) {
	b.ReportAllocs()
	mask := len(set.points) - 1
	hits, wantHits, i := 0, 0, 0
	for b.Loop() {
		j := i & mask
		got := locate(set.points[j])
		if got != int(set.want[j]) {
			b.Fatalf("point %d %v: located in grid %d, the reference says %d", j, set.points[j], got, set.want[j])
		}
		if got >= 0 {
			hits++
		}
		if set.want[j] >= 0 {
			wantHits++
		}
		i++
	}
	if hits != wantHits {
		b.Fatalf("%d hits, the reference has %d", hits, wantHits)
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "lookups/s")
	b.ReportMetric(float64(hits)/float64(max(i, 1)), "hits/lookup")
}

// BenchmarkLocator measures point location through the region Locator (the
// index plus the grid table), one core, on the demo district and 50,000
// synthetic grids.
func BenchmarkLocator(b *testing.B) {
	for _, set := range benchSets(b) {
		nodes := make([]region.Node, len(set.grids))
		for i, g := range set.grids {
			nodes[i] = region.Node{Code: fmt.Sprintf("%015d", i), Level: region.Grid, Geometry: g, Path: fmt.Sprintf("/%015d/", i)}
		}
		loc := region.NewLocator(nodes)
		b.Run(set.name, func(b *testing.B) { set.run(b, loc.LocateIndex) })
	}
}

// BenchmarkLocateRTree is the plain approach the index replaces, on the
// same grids and points: an R-tree of the grids' bounding boxes, then
// orb's point-in-polygon test on each candidate.
func BenchmarkLocateRTree(b *testing.B) {
	for _, set := range benchSets(b) {
		var tr rtree.RTreeG[int]
		for i, g := range set.grids {
			bd := g.Bound()
			tr.Insert(bd.Min, bd.Max, i)
		}
		b.Run(set.name, func(b *testing.B) {
			set.run(b, func(p orb.Point) int {
				hit := -1
				tr.Search(p, p, func(_, _ [2]float64, id int) bool {
					if planar.MultiPolygonContains(set.grids[id], p) {
						hit = id
					}
					return hit < 0
				})
				return hit
			})
		})
	}
}

// postgis opens the database named by WHISTLE_BENCH_POSTGIS and loads a
// set's grids (with a GiST index) and its points into tables; it skips
// the benchmark when the variable is unset.
func postgis(b *testing.B, set *benchSet) (conn *sql.DB, grids, points string) {
	b.Helper()
	url := os.Getenv("WHISTLE_BENCH_POSTGIS")
	if url == "" {
		b.Skip("WHISTLE_BENCH_POSTGIS is not set")
	}
	conn, err := sql.Open("pgx", url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	ctx := context.Background()
	// One connection, without JIT: the join's cost estimate makes
	// PostgreSQL JIT-compile it for about a second on every execution,
	// which would measure the compiler rather than the spatial join.
	conn.SetMaxOpenConns(1)
	if _, err := conn.ExecContext(ctx, `SET jit = off`); err != nil {
		b.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS postgis`); err != nil {
		b.Fatalf("postgis: %v", err)
	}
	grids = "bench_" + strings.ReplaceAll(set.name, "-", "_")
	points = grids + "_points"
	var have int
	if err := conn.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_tables WHERE tablename = $1`, points).Scan(&have); err != nil {
		b.Fatal(err)
	}
	if have == 1 {
		return conn, grids, points // loaded by an earlier benchmark of this run
	}
	for _, q := range []string{`DROP TABLE IF EXISTS ` + grids, `DROP TABLE IF EXISTS ` + points,
		`CREATE TABLE ` + grids + ` (id int PRIMARY KEY, g geometry(MultiPolygon, 4326))`,
		`CREATE TABLE ` + points + ` (id int PRIMARY KEY, p geometry(Point, 4326))`} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i, g := range set.grids {
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+grids+` VALUES ($1, ST_Multi(ST_GeomFromText($2, 4326)))`, i, wkt.MarshalString(g)); err != nil {
			b.Fatal(err)
		}
	}
	xs, ys := make([]float64, len(set.points)), make([]float64, len(set.points))
	for i, p := range set.points {
		xs[i], ys[i] = p[0], p[1]
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO `+points+` SELECT u.i - 1, ST_SetSRID(ST_MakePoint(u.x, u.y), 4326)
		FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS u(x, y, i)`, xs, ys); err != nil {
		b.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	// Both tables get a GiST index, as they would in a real database, so
	// that the planner may walk the join from either side.
	for _, q := range []string{`CREATE INDEX ON ` + grids + ` USING gist (g)`, `CREATE INDEX ON ` + points + ` USING gist (p)`, `ANALYZE ` + grids, `ANALYZE ` + points} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	return conn, grids, points
}

// BenchmarkPostGISContains is a baseline: the same polygons in a PostGIS
// table with a GiST index, and the same points queried one at a time with
// ST_Contains, as a service answering one report at a time would. It runs
// only when WHISTLE_BENCH_POSTGIS names a database where `CREATE
// EXTENSION postgis` works (make bench installs PostGIS).
func BenchmarkPostGISContains(b *testing.B) {
	for _, set := range benchSets(b) {
		b.Run(set.name, func(b *testing.B) {
			conn, grids, _ := postgis(b, &set)
			ctx := context.Background()
			stmt, err := conn.PrepareContext(ctx, `SELECT id FROM `+grids+` WHERE ST_Contains(g, ST_SetSRID(ST_MakePoint($1, $2), 4326)) LIMIT 1`)
			if err != nil {
				b.Fatal(err)
			}
			defer stmt.Close()
			b.ResetTimer()
			set.run(b, func(p orb.Point) int {
				var id int
				err := stmt.QueryRowContext(ctx, p[0], p[1]).Scan(&id)
				if err == sql.ErrNoRows {
					return -1
				}
				if err != nil {
					b.Fatal(err)
				}
				return id
			})
		})
	}
}

// BenchmarkPostGISJoin is the set-based baseline, how PostGIS is really
// used for many points: the points in a table, joined to the grids with
// ST_Contains, 4,096 points a query. An operation is one point, so its
// ns/op compares with the others'; every pair the join returns is checked
// against the reference.
func BenchmarkPostGISJoin(b *testing.B) {
	for _, set := range benchSets(b) {
		b.Run(set.name, func(b *testing.B) {
			conn, grids, points := postgis(b, &set)
			ctx := context.Background()
			stmt, err := conn.PrepareContext(ctx, `SELECT p.id, g.id FROM `+points+` p JOIN `+grids+` g ON ST_Contains(g.g, p.p)
				WHERE p.id >= $1 AND p.id < $2`)
			if err != nil {
				b.Fatal(err)
			}
			defer stmt.Close()
			const chunk = 4096
			n := len(set.points)
			hits, wantHits := 0, 0
			b.ResetTimer()
			for done := 0; done < b.N; {
				from := done % n
				to := min(from+chunk, n, from+b.N-done)
				rows, err := stmt.QueryContext(ctx, from, to)
				if err != nil {
					b.Fatal(err)
				}
				for rows.Next() {
					var pid, gid int
					if err := rows.Scan(&pid, &gid); err != nil {
						b.Fatal(err)
					}
					if gid != int(set.want[pid]) {
						b.Fatalf("point %d: joined to grid %d, the reference says %d", pid, gid, set.want[pid])
					}
					hits++
				}
				if err := rows.Err(); err != nil {
					b.Fatal(err)
				}
				rows.Close()
				for j := from; j < to; j++ {
					if set.want[j] >= 0 {
						wantHits++
					}
				}
				done += to - from
			}
			b.StopTimer()
			if hits != wantHits {
				b.Fatalf("the join found %d points in a grid, the reference %d", hits, wantHits)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
			b.ReportMetric(float64(hits)/float64(max(b.N, 1)), "hits/lookup")
		})
	}
}
