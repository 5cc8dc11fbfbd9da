package demo_test

import (
	"bytes"
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/category"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/demo"
	"whistle/internal/region"
	"whistle/internal/sla/calendar"
	"whistle/internal/stats"
)

// histEnd is Monday 2026-11-23 10:30 in Shanghai: the year before it holds
// the Spring Festival of 2026 (15–23 February).
var histEnd = time.Date(2026, 11, 23, 2, 30, 0, 0, time.UTC)

type histWorld struct {
	d  *db.DB
	st *stats.Store
}

// newHistWorld seeds the demo district on d and generates n cases.
func newHistWorld(t *testing.T, d *db.DB, n int) (*histWorld, string) {
	t.Helper()
	ctx := context.Background()
	regs := region.NewStore(d)
	cfg := account.DefaultConfig()
	cfg.Argon2 = account.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}
	acc, err := account.NewStore(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := demo.Seed(ctx, regs, acc, demo.SeedOptions{Seed: 1, Password: "whistle-demo"}); err != nil {
		t.Fatal(err)
	}
	cats := category.NewStore(d)
	if _, err := cats.SeedDefaults(ctx, audit.System("test")); err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.Default()
	if err != nil {
		t.Fatal(err)
	}
	st, err := stats.New(stats.Deps{DB: d, Regions: regs, Categories: cats, Calendar: func() *calendar.Calendar { return cal }})
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	err = demo.GenerateHistory(ctx, d, demo.HistoryOptions{Regions: regs, Categories: cats, Calendar: cal, Stats: st, End: histEnd, BatchRows: 97}, n, 7, &progress)
	if err != nil {
		t.Fatalf("GenerateHistory: %v\n%s", err, progress.String())
	}
	return &histWorld{d: d, st: st}, progress.String()
}

type histRow struct {
	created                     time.Time
	status, category, grid, sla string
	closed                      bool
}

func (w *histWorld) rows(t *testing.T) []histRow {
	t.Helper()
	rows, err := w.d.Query(context.Background(), `SELECT created_at, status, category_name, grid_code, sla_state, closed_at IS NOT NULL FROM cases ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []histRow
	for rows.Next() {
		var r histRow
		var at db.Time
		if err := rows.Scan(&at, &r.status, &r.category, &r.grid, &r.sla, &r.closed); err != nil {
			t.Fatal(err)
		}
		r.created = at.Time
		out = append(out, r)
	}
	return out
}

func TestGenerateHistory(t *testing.T) {
	const n = 6000
	dbtest.Each(t, clock.NewFake(histEnd), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w, progress := newHistWorld(t, d, n)
		if !strings.Contains(progress, "history [") || !strings.Contains(progress, "rollups [") {
			t.Errorf("no progress bars in %q", progress)
		}
		rows := w.rows(t)
		if len(rows) != n {
			t.Fatalf("%d cases, want %d", len(rows), n)
		}
		loc, _ := time.LoadLocation("Asia/Shanghai")
		byMonth := map[time.Month]int{}
		night, festival, working, workingDays := 0, 0, 0, map[string]bool{}
		gridCount := map[string]int{}
		var summerWater, winterWater, summer, winter int
		status := map[string]int{}
		var prev time.Time
		for _, r := range rows {
			if r.created.Before(prev) {
				t.Fatalf("ids are not in time order: %v after %v", r.created, prev)
			}
			prev = r.created
			if r.created.Before(histEnd.AddDate(0, 0, -demo.HistoryDays)) || !r.created.Before(histEnd) {
				t.Errorf("case at %v is outside the year before %v", r.created, histEnd)
			}
			at := r.created.In(loc)
			byMonth[at.Month()]++
			if at.Hour() < 6 {
				night++
			}
			day := at.Format(time.DateOnly)
			if day >= "2026-02-15" && day <= "2026-02-23" {
				festival++
			} else if day >= "2026-03-02" && day <= "2026-03-06" { // an ordinary working week
				working++
				workingDays[day] = true
			}
			gridCount[r.grid]++
			water := false
			for _, w := range []string{"积水", "下水道", "雨水", "井盖", "河堤", "防汛"} {
				water = water || strings.Contains(r.category, w)
			}
			switch at.Month() {
			case time.July, time.August, time.September:
				summer++
				if water {
					summerWater++
				}
			case time.December, time.January, time.February:
				winter++
				if water {
					winterWater++
				}
			}
			status[r.status]++
		}
		if byMonth[time.July] < byMonth[time.January]*3/2 {
			t.Errorf("July has %d cases, January %d: want summer clearly busier", byMonth[time.July], byMonth[time.January])
		}
		if share := float64(night) / n; share > 0.05 {
			t.Errorf("%.1f%% of the cases come between midnight and 6:00, want few", 100*share)
		}
		if perDay, festDay := float64(working)/5, float64(festival)/9; festDay > 0.6*perDay {
			t.Errorf("Spring Festival: %.1f cases a day, an ordinary working day %.1f: want far fewer on the holiday", festDay, perDay)
		}
		counts := make([]int, 0, len(gridCount))
		for _, c := range gridCount {
			counts = append(counts, c)
		}
		slices.Sort(counts)
		slices.Reverse(counts)
		top := 0
		for _, c := range counts[:len(counts)/10] {
			top += c
		}
		if share := float64(top) / n; share < 0.2 {
			t.Errorf("the busiest tenth of the grids has %.0f%% of the cases, want clusters (> 20%%)", 100*share)
		}
		if float64(summerWater)/float64(summer) < 2*float64(winterWater)/float64(winter) {
			t.Errorf("waterlogging and drains: %d of %d in summer, %d of %d in winter: want a typhoon season", summerWater, summer, winterWater, winter)
		}
		if status["closed"] < n*3/4 || status["rejected"]+status["declined"] == 0 || status["merged"] == 0 {
			t.Errorf("statuses = %v: want mostly closed, some rejected and merged", status)
		}
		open := 0
		for st, k := range status {
			if st != "closed" && st != "rejected" && st != "declined" && st != "merged" {
				open += k
			}
		}
		if open == 0 || open > n/10 {
			t.Errorf("%d open cases of %d, want a few", open, n)
		}
		// The rollups were rebuilt from the cases and agree with GROUP BY.
		var diffs []stats.Difference
		if _, err := w.st.Rebuild(ctx, stats.RebuildOptions{DryRun: true, Report: func(d stats.Difference) { diffs = append(diffs, d) }}); err != nil {
			t.Fatal(err)
		}
		if len(diffs) > 0 {
			t.Errorf("%d differences after the generator, first %v", len(diffs), diffs[0])
		}
		for _, node := range []string{demo.DistrictCode, demo.DemoStreet, demo.DemoCommunity} {
			got, err := w.st.Summary(ctx, account.SystemScope(), node)
			if err != nil {
				t.Fatal(err)
			}
			want, err := w.st.SummaryFromCases(ctx, account.SystemScope(), node)
			if err != nil {
				t.Fatal(err)
			}
			g, _ := json.Marshal(got)
			wt, _ := json.Marshal(want)
			if string(g) != string(wt) {
				t.Errorf("%s: rollups %s\nGROUP BY %s", node, g, wt)
			}
			if node == demo.DistrictCode {
				k := got.KPI
				if k.ReportsToday == 0 || k.Open == 0 || k.Overdue == 0 || k.OnTimeRate == nil || *k.OnTimeRate < 0.7 || *k.OnTimeRate == 1 ||
					k.Satisfaction == nil || k.AvgHandlingHours == nil || len(got.Categories) != stats.TopCategories || len(got.Sources) < 4 {
					t.Errorf("district KPIs look implausible: %s", g)
				}
			}
		}
		// The planner has statistics for the tables the history filled, so
		// that neither the next start nor the first queries plan on guesses.
		for _, table := range []string{"cases", "case_events", "sla_stages", "kernel_timers", "rollup_flow", "rollup_state"} {
			q := `SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = $1`
			if d.Dialect() == db.Postgres {
				q = `SELECT COUNT(*) FROM pg_stats WHERE schemaname = current_schema() AND tablename = $1`
			}
			var n int
			if err := d.QueryRow(ctx, q, table).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Errorf("no planner statistics for %s after the history", table)
			}
		}
		// A second run leaves the data alone.
		var again bytes.Buffer
		regs := region.NewStore(d)
		if err := demo.GenerateHistory(ctx, d, demo.HistoryOptions{Regions: regs, Categories: category.NewStore(d), End: histEnd}, 10, 1, &again); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(again.String(), "already has cases") || len(w.rows(t)) != n {
			t.Errorf("a second run: %q", again.String())
		}
	})
}

// TestHistoryScreenKPIs checks that every KPI of the big screen has data
// on a freshly generated history and lies in a plausible range: the rates
// the generator makes both outcomes of strictly between 0 and 1.
func TestHistoryScreenKPIs(t *testing.T) {
	const n = 3000
	dbtest.Each(t, clock.NewFake(histEnd), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		w, _ := newHistWorld(t, d, n)
		sm, err := w.st.Summary(ctx, account.SystemScope(), demo.DistrictCode)
		if err != nil {
			t.Fatal(err)
		}
		k := sm.KPI
		between := func(lo, hi float64) func(float64) bool {
			return func(v float64) bool { return v > lo && v < hi }
		}
		for _, tc := range []struct {
			name string
			got  *float64
			ok   func(float64) bool
			want string
		}{
			{"on_time_rate", k.OnTimeRate, between(0.6, 1), "in (0.6, 1)"},
			{"response_rate", k.ResponseRate, between(0.6, 1), "in (0.6, 1)"},
			{"resolution_rate", k.ResolutionRate, between(0.5, 1), "in (0.5, 1)"},
			{"satisfaction", k.Satisfaction, between(0.5, 1), "in (0.5, 1)"},
			{"avg_stars", k.AvgStars, between(3, 5), "in (3, 5)"},
			{"avg_handling_hours", k.AvgHandlingHours, between(1, 24*14), "in (1 h, 14 days)"},
			{"rework_rate", k.ReworkRate, between(0, 0.2), "in (0, 0.2)"},
			{"return_rate", k.ReturnRate, between(0, 0.2), "in (0, 0.2)"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if tc.got == nil {
					t.Fatalf("%s = no data (window %+v), want %s", tc.name, sm.Totals, tc.want)
				}
				if !tc.ok(*tc.got) {
					t.Errorf("%s = %v (window %+v), want %s", tc.name, *tc.got, sm.Totals, tc.want)
				}
			})
		}
		// The first stages agree with the rest of the history: one per
		// closed case, ended before the closing and before any later
		// stage began, with its step on the timeline at its end.
		for _, tc := range []struct{ name, q string }{
			{"closed case without its first stage", `SELECT COUNT(*) FROM cases c WHERE c.status = 'closed' AND NOT EXISTS
				(SELECT 1 FROM sla_stages s WHERE s.case_id = c.id AND s.stage IN ('accept', 'register') AND s.ended_at IS NOT NULL)`},
			{"first stage ended after the closing", `SELECT COUNT(*) FROM sla_stages s JOIN cases c ON c.id = s.case_id
				WHERE s.stage IN ('accept', 'register') AND s.ended_at > c.closed_at`},
			{"first stage ended after a later stage began", `SELECT COUNT(*) FROM sla_stages s JOIN sla_stages l ON l.case_id = s.case_id AND l.id > s.id
				WHERE s.stage IN ('accept', 'register') AND s.ended_at > l.started_at`},
			{"missed first stage without its breach", `SELECT COUNT(*) FROM sla_stages s WHERE s.stage IN ('accept', 'register')
				AND s.outcome = 'missed' AND (s.breached_at IS NULL OR s.ended_at <= s.deadline_at)`},
			{"closed case without its accept or register step at the stage's end", `SELECT COUNT(*) FROM cases c WHERE c.status = 'closed' AND NOT EXISTS
				(SELECT 1 FROM case_events e JOIN sla_stages s ON s.case_id = e.case_id AND s.stage IN ('accept', 'register')
				WHERE e.case_id = c.id AND e.action IN ('accept', 'register') AND e.at = s.ended_at)`},
		} {
			var got int
			if err := d.QueryRow(ctx, tc.q).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != 0 {
				t.Errorf("%s: %d cases, want 0", tc.name, got)
			}
		}
		// The counts; warning may well be 0 among a few open cases.
		if k.ReportsToday == 0 || k.Open == 0 || k.ClosedToday == 0 || k.Overdue == 0 || k.Supervised == 0 {
			t.Errorf("counts: reports_today=%d open=%d closed_today=%d overdue=%d supervised=%d, want all > 0",
				k.ReportsToday, k.Open, k.ClosedToday, k.Overdue, k.Supervised)
		}
	})
}
