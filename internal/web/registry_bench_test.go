package web

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/registry"
)

// BenchmarkGridPage times the whole grid page, GET /grids/{code} as the
// grid's worker (session, store calls, template), for a grid of 600
// people, beside GET /api/v1/me (session lookup and JSON) in the same
// loop as the baseline; p50 and p95 over the timed requests.
//
//	go test -run '^$' -bench GridPage -benchtime 300x ./internal/web/
func BenchmarkGridPage(b *testing.B) {
	w := newRegistryWorld(b)
	ctx := context.Background()
	var batch []registry.PersonInput
	for i := 0; i < 600; i++ {
		batch = append(batch, registry.PersonInput{IDNumber: fuzzID(fmt.Sprintf("330303%04d0101%03d", 1950+i/1000, i%1000)), Name: "测试",
			Status: registry.StatusResident, GridCode: fuzzGridA})
	}
	if _, err := w.reg.UpsertPeople(ctx, account.SystemScope(), audit.System("bench"), batch); err != nil {
		b.Fatal(err)
	}
	page := make([]time.Duration, 0, b.N)
	me := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		code, _ := w.get(b, "/grids/"+fuzzGridA, "grid")
		page = append(page, time.Since(t0))
		if code != http.StatusOK {
			b.Fatalf("grid page: %d", code)
		}
		t1 := time.Now()
		if code, _ := w.get(b, "/api/v1/me", "grid"); code != http.StatusOK {
			b.Fatalf("me: %d", code)
		}
		me = append(me, time.Since(t1))
	}
	b.StopTimer()
	for _, m := range []struct {
		name string
		ds   []time.Duration
	}{{"page-", page}, {"me-", me}} {
		slices.Sort(m.ds)
		at := func(q float64) float64 { return float64(m.ds[int(q*float64(len(m.ds)-1))]) / float64(time.Millisecond) }
		b.ReportMetric(at(0.5), m.name+"p50-ms")
		b.ReportMetric(at(0.95), m.name+"p95-ms")
	}
}
