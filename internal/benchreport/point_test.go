package benchreport

import (
	"strings"
	"testing"
	"testing/fstest"
)

// Every ratio of the point-location table divides figures measured on the
// same grids and the same points (issue 13, item 19): the demo district's
// Locator against the R-tree and PostGIS on the demo district's grids,
// never against a synthetic set of another size.
func TestPointRatiosCompareTheSameData(t *testing.T) {
	fsys := fstest.MapFS{
		"env.txt": file("started: 2026-03-01T10:00Z\ncpu: Test CPU\ncores: 2\nload_start: 0.1 0.1 0.1\nload_end: 0.1 0.1 0.1\ncount: 1\n"),
		"point-geo.1.txt": file("BenchmarkLocate/grids=600-2 \t 1000 \t 100 ns/op \t 0 B/op \t 0 allocs/op\n" +
			"BenchmarkLocateBaseline/grids=600-2 \t 1000 \t 9000 ns/op \t 0 B/op \t 0 allocs/op\n"),
		"point-region.1.txt": file("BenchmarkLocator/demo-longwan-689-2 \t 1000 \t 200 ns/op \t 0 B/op \t 0 allocs/op\n" +
			"BenchmarkLocateRTree/demo-longwan-689-2 \t 1000 \t 1000 ns/op \t 0 B/op \t 0 allocs/op\n" +
			"BenchmarkPostGISContains/demo-longwan-689-2 \t 1000 \t 20000 ns/op\n" +
			"BenchmarkPostGISJoin/demo-longwan-689-2 \t 1000 \t 4000 ns/op\n"),
	}
	_, doc := render(t, fsys)
	sec := section(t, doc, `## Point location (issue "Foundation")`)
	var demo string
	for _, line := range strings.Split(sec, "\n") {
		if strings.HasPrefix(line, "| demo district") {
			demo = line
		}
	}
	// 1000/200 = 5× against the demo's own R-tree (not 9000/200 = 45×
	// against 600 synthetic grids), 100× and 20× against PostGIS.
	for _, want := range []string{"| 689 grids", "| 5.0× | 100× | 20× |"} {
		if !strings.Contains(demo, want[2:]) {
			t.Errorf("demo row %q lacks %q", demo, want)
		}
	}
}

// The header records the file systems and mount options that durable
// figures were measured on (issue 13, item 19).
func TestHeaderRecordsTheFileSystems(t *testing.T) {
	fsys := fstest.MapFS{
		"env.txt": file("started: 2026-03-01T10:00Z\ncores: 2\ncount: 1\nfs_sqlite: /tmp ext4 rw,relatime\nfs_postgres: /var/lib/postgresql xfs rw,noatime\n"),
	}
	_, doc := render(t, fsys)
	want := "- **File systems** of the durability-sensitive figures (`findmnt -no TARGET,FSTYPE,OPTIONS -T DIR`): SQLite data (temp directories) on /tmp ext4 rw,relatime; PostgreSQL data on /var/lib/postgresql xfs rw,noatime."
	if !strings.Contains(doc, want) {
		t.Errorf("the header lacks %q:\n%s", want, doc[:min(len(doc), 2000)])
	}
}
