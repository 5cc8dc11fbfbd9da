package web

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/demo"
	"whistle/internal/notify"
	"whistle/internal/region"
	"whistle/internal/stats"
	"whistle/internal/worldtest"
)

// benchCases is how many cases the queue benchmark puts in scope.
const benchCases = 100_000

// newBenchServer builds the demo district on SQLite with n cases spread
// over its grids, inserted in bulk, and returns the server and the session
// token of the district administrator (who sees all of them).
func newBenchServer(b *testing.B, n int) (*Server, string) {
	b.Helper()
	ctx := context.Background()
	d := dbtest.MustOpenDB(b, db.SQLite, clock.Real{})
	w := worldtest.New(b, d, worldtest.Options{Seed: func(ctx context.Context, w *worldtest.World) error {
		_, err := demo.Seed(ctx, w.Regions, w.Accounts, demo.SeedOptions{Seed: 1, Password: "bench-password"})
		return err
	}})
	st := w.AddStats(b, nil)
	s := newServer(b, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: w.Accounts, Regions: w.Regions, Cases: w.Cases, Categories: w.Categories, Stats: st})
	seedBenchCases(b, d, w.Regions, n)
	// The rollups the stats store keeps in each change's transaction,
	// recomputed once for the bulk-inserted cases.
	if _, err := st.Rebuild(ctx, stats.RebuildOptions{}); err != nil {
		b.Fatal(err)
	}
	tok, _, _, err := w.Accounts.Login(ctx, "demo-admin", "bench-password", account.WebSession, account.Client{IP: "127.0.0.1"})
	if err != nil {
		b.Fatal(err)
	}
	return s, tok
}

// seedBenchCases inserts n cases with raw multi-row INSERTs: the point is
// the read path, not the write path.
func seedBenchCases(b *testing.B, d *db.DB, regions *region.Store, n int) {
	b.Helper()
	ctx := context.Background()
	all, err := regions.All(ctx, false)
	if err != nil {
		b.Fatal(err)
	}
	var grids []region.Node
	for _, r := range all {
		if r.Level == region.Grid {
			grids = append(grids, r)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	type st struct {
		status casework.State
		weight int
	}
	statuses := []st{{casework.Submitted, 10}, {casework.Accepted, 5}, {casework.Registered, 5}, {casework.Claimable, 5},
		{casework.Dispatched, 10}, {casework.InProgress, 15}, {casework.Resolved, 5}, {casework.Verified, 5}, {casework.Closed, 40}}
	pick := func() casework.State {
		x := rng.IntN(100)
		for _, s := range statuses {
			if x < s.weight {
				return s.status
			}
			x -= s.weight
		}
		return casework.Closed
	}
	cats := []struct{ code, name, wf string }{{"ZL0601", "邻里求助", "whistle"}, {"SJ0504", "店外经营", "urban"}, {"SJ0102", "暴露垃圾", "urban"}, {"BJ0118", "路灯", "urban"}}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const batch = 400
	cols := `(number, district_code, workflow, status, source, category_code, category_name, description, address, lat, lng,
		grid_code, community_code, street_code, region_path, visibility, supervised, sla_state, deadline_at, created_at, updated_at)`
	for done := 0; done < n; {
		err := d.InTx(ctx, func(tx *db.Tx) error {
			for k := 0; k < 25 && done < n; k++ {
				var sb strings.Builder
				var args []any
				m := min(batch, n-done)
				for i := 0; i < m; i++ {
					g := grids[rng.IntN(len(grids))]
					codes := region.PathCodes(g.Path)
					c := cats[rng.IntN(len(cats))]
					status := pick()
					open := status != casework.Closed
					sla := "none"
					if open {
						sla = []string{"ok", "ok", "ok", "ok", "warning", "overdue"}[rng.IntN(6)]
					}
					supervised := rng.IntN(50) == 0 && open
					at := start.Add(time.Duration(done+i) * 3 * time.Minute)
					num := fmt.Sprintf("WS%s%06d", at.Format("20060102"), done+i)
					if i > 0 {
						sb.WriteString(",")
					}
					// Anonymous "?" parameters: SQLite resolves numbered ones
					// by a linear search, quadratic in a statement this long.
					sb.WriteString("(?" + strings.Repeat(",?", 20) + ")")
					args = append(args, num, codes[1], c.wf, string(status), "resident", c.code, c.name,
						"压测数据：第 "+fmt.Sprint(done+i)+" 件，"+c.name, "万顺路 "+fmt.Sprint(rng.IntN(300))+" 号",
						g.Interior[1], g.Interior[0], g.Code, codes[len(codes)-2], codes[2], g.Path, "public", supervised,
						sla, at.Add(72*time.Hour), at, at)
				}
				if _, err := tx.Exec(ctx, `INSERT INTO cases `+cols+` VALUES `+sb.String(), args...); err != nil {
					return err
				}
				done += m
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	// Planner statistics, as a deployment keeps them (PRAGMA optimize / ANALYZE).
	if err := d.InTx(ctx, func(tx *db.Tx) error { _, err := tx.Exec(ctx, `ANALYZE`); return err }); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkQueuePage renders the staff queue page, with the counts of all
// nine queues and the list's total, for a district administrator with
// 100,000 cases in scope; sorted by a heading and on a later page too.
// Run: go test -run '^$' -bench QueuePage -benchtime 50x ./internal/web/
func BenchmarkQueuePage(b *testing.B) {
	s, tok := newBenchServer(b, benchCases)
	for _, q := range []string{"pending", "handling", "supervised", "overdue", "all"} {
		for _, extra := range []string{"", "&q=" + "店外经营" + "&category=SJ", "&sort=deadline&p=40", "&sort=-number&p=2"} {
			name := q
			switch {
			case strings.HasPrefix(extra, "&sort"):
				name += "+" + strings.NewReplacer("&", "", "=", "_").Replace(extra)
			case extra != "":
				name += "+filter"
			}
			b.Run(name, func(b *testing.B) {
				req := httptest.NewRequest("GET", "/cases?queue="+q+extra, nil)
				req.AddCookie(&http.Cookie{Name: sessionCookie, Value: tok})
				for b.Loop() {
					w := httptest.NewRecorder()
					s.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d: %s", w.Code, w.Body.String()[:min(300, w.Body.Len())])
					}
				}
			})
		}
	}
}

// BenchmarkQueueCounts compares the two ways of counting the queues: the
// rollup counters and one pass over the 100,000 cases.
func BenchmarkQueueCounts(b *testing.B) {
	s, tok := newBenchServer(b, benchCases)
	ctx := context.Background()
	u, _, err := s.Accounts.Authenticate(ctx, tok)
	if err != nil {
		b.Fatal(err)
	}
	caller := casework.Caller{User: u}
	b.Run("rollup", func(b *testing.B) {
		s.Cases.UseQueueCounter(s.Stats)
		for b.Loop() {
			if _, err := s.Cases.QueueCounts(ctx, caller); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("scan", func(b *testing.B) {
		s.Cases.UseQueueCounter(nil)
		defer s.Cases.UseQueueCounter(s.Stats)
		for b.Loop() {
			if _, err := s.Cases.QueueCounts(ctx, caller); err != nil {
				b.Fatal(err)
			}
		}
	})
}
