package registry_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/registry"
)

// benchPeople fills grid A with n people (odd ones in groups) and grid B
// with m more, through the bulk path, and returns A's identity numbers.
func benchPeople(b *testing.B, w *world, n, m int) []string {
	b.Helper()
	ctx := context.Background()
	sc := account.SystemScope()
	var ids []string
	batch := make([]registry.PersonInput, 0, n+m)
	for i := 0; i < n+m; i++ {
		// Unique for i below 60×1000: the year and the sequence number vary.
		in := registry.PersonInput{IDNumber: idn(fmt.Sprintf("330303%04d%02d%02d%03d", 1940+(i/1000)%60, 1+i%12, 1+i%28, i%1000)), Name: "测试" + fmt.Sprint(i),
			Phone: "13800000000", Status: registry.Statuses()[i%3], GridCode: gridA}
		if in.Status == registry.StatusFloating {
			in.RegisteredOn = "2026-01-01"
		}
		if i >= n {
			in.GridCode = gridB
		} else {
			ids = append(ids, in.IDNumber)
		}
		batch = append(batch, in)
	}
	res, err := w.reg.UpsertPeople(ctx, sc, actor, batch)
	if err != nil {
		b.Fatal(err)
	}
	bld, err := w.reg.AddBuilding(ctx, sc, actor, registry.BuildingInput{Address: "一路1号", Lat: 27.005, Lng: 120.005, Floors: 6})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n/4; i++ {
		h, err := w.reg.AddHouse(ctx, sc, actor, registry.HouseInput{BuildingID: bld.ID, Unit: fmt.Sprint(i / 50), Room: fmt.Sprint(100 + i)})
		if err != nil {
			b.Fatal(err)
		}
		for j := 0; j < 3; j++ {
			if err := w.reg.Link(ctx, sc, actor, res.IDs[i*4+j], h.ID, registry.RelFamily); err != nil {
				b.Fatal(err)
			}
		}
	}
	gs := []string{"elderly_alone", "disabled", "dibao", "veteran"}
	for i := 1; i < n; i += 20 {
		if err := w.reg.AddMember(ctx, sc, actor, gs[i%len(gs)], res.IDs[i], ""); err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

// percentiles reports the p50 and p95 of ds in milliseconds.
func percentiles(b *testing.B, prefix string, ds []time.Duration) {
	slices.Sort(ds)
	at := func(q float64) float64 { return float64(ds[int(q*float64(len(ds)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(at(0.50), prefix+"p50-ms")
	b.ReportMetric(at(0.95), prefix+"p95-ms")
}

// BenchmarkLookup: an identity-number lookup in scope (PersonByIDNumber,
// a grid worker's scope, the unique index on the canonical number) against
// a plain SELECT of a person by primary key, in the same run, with 600
// people in the grid and 20,000 in the other.
//
//	WHISTLE_TEST_POSTGRES=… go test -run '^$' -bench Lookup -benchtime 2000x ./internal/registry/
func BenchmarkLookup(b *testing.B) {
	for _, d := range dbtest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			conn := dbtest.MustOpenDB(b, d, clock.Real{})
			w := newBenchWorld(b, conn)
			ids := benchPeople(b, w, 600, 20000)
			ctx := context.Background()
			sc := w.scope("grid-a")
			look := make([]time.Duration, 0, b.N)
			base := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				p, err := w.reg.PersonByIDNumber(ctx, sc, ids[i%len(ids)])
				look = append(look, time.Since(t0))
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				var name string
				if err := conn.QueryRow(ctx, `SELECT name FROM reg_people WHERE id = $1`, p.ID).Scan(&name); err != nil {
					b.Fatal(err)
				}
				base = append(base, time.Since(t1))
			}
			b.StopTimer()
			percentiles(b, "lookup-", look)
			percentiles(b, "pk-", base)
		})
	}
}

// BenchmarkGridData: the store calls of the grid page (GET /grids/{code}:
// the summary, and the first 20 people, buildings, vacant houses and
// organisations) for a grid of 600 people.
//
//	WHISTLE_TEST_POSTGRES=… go test -run '^$' -bench GridData -benchtime 300x ./internal/registry/
func BenchmarkGridData(b *testing.B) {
	for _, d := range dbtest.Dialects() {
		b.Run(string(d), func(b *testing.B) {
			conn := dbtest.MustOpenDB(b, d, clock.Real{})
			w := newBenchWorld(b, conn)
			benchPeople(b, w, 600, 5000)
			ctx := context.Background()
			sc := w.scope("grid-a")
			first := registry.Page{Limit: 20}
			ds := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				s, err := w.reg.GridSummary(ctx, sc, gridA)
				if err != nil || s.People != 600 {
					b.Fatalf("summary: %+v, %v", s, err)
				}
				if _, err := w.reg.Groups(ctx); err != nil {
					b.Fatal(err)
				}
				if _, err := w.reg.People(ctx, sc, registry.PeopleFilter{GridCode: gridA}, first); err != nil {
					b.Fatal(err)
				}
				if _, err := w.reg.Buildings(ctx, sc, gridA, first); err != nil {
					b.Fatal(err)
				}
				if _, err := w.reg.Houses(ctx, sc, registry.HouseFilter{GridCode: gridA, Vacant: true}, first); err != nil {
					b.Fatal(err)
				}
				if _, err := w.reg.Organisations(ctx, sc, registry.OrgFilter{GridCode: gridA}, first); err != nil {
					b.Fatal(err)
				}
				ds = append(ds, time.Since(t0))
			}
			b.StopTimer()
			percentiles(b, "", ds)
		})
	}
}

func newBenchWorld(b *testing.B, d *db.DB) *world {
	b.Helper()
	return newWorld(b, d)
}
