package region_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkt"

	"whistle/internal/demo"
	"whistle/internal/geo"
	"whistle/internal/region"
)

// benchSet is a set of grids and query points inside their bounding box.
type benchSet struct {
	name   string
	grids  []orb.MultiPolygon
	points []orb.Point
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

func benchSets(b *testing.B) []benchSet {
	d := demoGrids(b)
	s := geo.SyntheticGrids(50000, 1)
	return []benchSet{
		{fmt.Sprintf("demo-longwan-%d", len(d)), d, pointsIn(d, 1<<16)},
		{"synthetic-50000", s, pointsIn(s, 1<<16)},
	}
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
		b.Run(set.name, func(b *testing.B) {
			b.ReportAllocs()
			hits := 0
			i := 0
			for b.Loop() {
				if loc.LocateIndex(set.points[i&(len(set.points)-1)]) >= 0 {
					hits++
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
			_ = hits
		})
	}
}

// BenchmarkPostGISContains is the baseline: the same polygons in a PostGIS
// table with a GiST index, and the same points queried one at a time with
// ST_Contains. It runs only when WHISTLE_BENCH_POSTGIS names a database
// where `CREATE EXTENSION postgis` works (make bench installs PostGIS).
func BenchmarkPostGISContains(b *testing.B) {
	url := os.Getenv("WHISTLE_BENCH_POSTGIS")
	if url == "" {
		b.Skip("WHISTLE_BENCH_POSTGIS is not set")
	}
	conn, err := sql.Open("pgx", url)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	ctx := context.Background()
	if _, err := conn.ExecContext(ctx, `CREATE EXTENSION IF NOT EXISTS postgis`); err != nil {
		b.Fatalf("postgis: %v", err)
	}
	for _, set := range benchSets(b) {
		table := "bench_" + strings.ReplaceAll(set.name, "-", "_")
		if _, err := conn.ExecContext(ctx, `DROP TABLE IF EXISTS `+table); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, `CREATE TABLE `+table+` (id int PRIMARY KEY, g geometry(MultiPolygon, 4326))`); err != nil {
			b.Fatal(err)
		}
		tx, _ := conn.BeginTx(ctx, nil)
		for i, g := range set.grids {
			if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` VALUES ($1, ST_Multi(ST_GeomFromText($2, 4326)))`, i, wkt.MarshalString(g)); err != nil {
				b.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, `CREATE INDEX ON `+table+` USING gist (g); ANALYZE `+table); err != nil {
			b.Fatal(err)
		}
		stmt, err := conn.PrepareContext(ctx, `SELECT id FROM `+table+` WHERE ST_Contains(g, ST_SetSRID(ST_MakePoint($1, $2), 4326)) LIMIT 1`)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(set.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				p := set.points[i&(len(set.points)-1)]
				var id int
				err := stmt.QueryRowContext(ctx, p[0], p[1]).Scan(&id)
				if err != nil && err != sql.ErrNoRows {
					b.Fatal(err)
				}
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
		})
		stmt.Close()
	}
}
