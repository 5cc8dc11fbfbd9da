package stats_test

import (
	"context"
	"testing"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
)

// BenchmarkSubmit measures a case submission with and without the rollup
// hook (the SLA engine is hooked in both), on each database:
//
//	go test -run - -bench Submit -benchtime 300x ./internal/stats/
func BenchmarkSubmit(b *testing.B) {
	for _, d := range []db.Dialect{db.SQLite, db.Postgres} {
		for _, hooked := range []bool{false, true} {
			name := string(d) + "/without-rollups"
			if hooked {
				name = string(d) + "/with-rollups"
			}
			b.Run(name, func(b *testing.B) {
				clk := clock.NewFake(start)
				w := newWorld(b, dbtest.MustOpenDB(b, d, clk), clk)
				if !hooked {
					svc, err := casework.NewService(casework.Deps{DB: w.d, Regions: w.regs, Accounts: w.accounts, Catalog: casework.NewCatalog(w.cats),
						Blobs: w.blobs, Config: w.caseCfg})
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(svc.Close)
					svc.UseDeadlines(w.eng)
					w.svc = svc
				}
				p := point(0)
				in := casework.SubmitInput{Category: w.whistle[0], Description: "路灯不亮", Lat: f64(p[0]), Lng: f64(p[1])}
				ctx := context.Background()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, _, err := w.svc.Submit(ctx, w.as("resident-1"), in); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
