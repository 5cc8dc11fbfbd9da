package stats_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/stats"
	"whistle/internal/timer"
)

// allNodes are the region codes of the test district.
func allNodes() []string {
	out := []string{"330300", "330303", "330303001", "330303002"}
	for _, g := range grids {
		out = append(out, g.community, g.grid)
	}
	return out
}

func summary(t *testing.T, w *world, code string) *stats.Summary {
	t.Helper()
	s, err := w.st.Summary(context.Background(), account.SystemScope(), code)
	if err != nil {
		t.Fatalf("summary %s: %v", code, err)
	}
	return s
}

func TestOneCaseThroughItsLife(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		c := w.submit(t, "resident-1", w.whistle[0], 0, "")
		type want struct {
			reports, open, closed, supervised int64
			satisfaction                      string
		}
		check := func(step string, nodes []string, x want) {
			t.Helper()
			for _, n := range nodes {
				s := summary(t, w, n)
				got := want{s.KPI.ReportsToday, s.KPI.Open, s.KPI.ClosedToday, s.KPI.Supervised, fmtRate(s.KPI.Satisfaction)}
				if got != x {
					t.Errorf("%s: node %s: got %+v, want %+v", step, n, got, x)
				}
			}
		}
		mine := []string{"330300", "330303", "330303001", "330303001001", "330303001001001"}
		others := []string{"330303002", "330303001002", "330303002001001"}
		check("submitted", mine, want{1, 1, 0, 0, "-"})
		check("submitted", others, want{0, 0, 0, 0, "-"})
		w.act(t, "community-1", c.ID, casework.ActAccept, casework.Input{})
		w.act(t, "community-1", c.ID, casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}})
		w.act(t, "cg-handler", c.ID, casework.ActStart, casework.Input{})
		w.act(t, "cg-handler", c.ID, casework.ActResolve, casework.Input{Note: "修好了", Photos: []int64{w.photo(t, "cg-handler", c.ID)}})
		w.act(t, "community-1", c.ID, casework.ActVerify, casework.Input{Passed: boolp(true)})
		// A low rating reopens it, under supervision.
		w.act(t, "resident-1", c.ID, casework.ActRate, casework.Input{Stars: intp(1)})
		check("reopened", mine, want{1, 1, 0, 1, "-"})
		w.act(t, "cg-handler", c.ID, casework.ActReply, casework.Input{Note: "马上处理"})
		check("answered", mine, want{1, 1, 0, 0, "-"})
		w.act(t, "cg-handler", c.ID, casework.ActResolve, casework.Input{Note: "再修", Photos: []int64{w.photo(t, "cg-handler", c.ID)}})
		w.act(t, "community-1", c.ID, casework.ActVerify, casework.Input{Passed: boolp(true)})
		w.act(t, "resident-1", c.ID, casework.ActRate, casework.Input{Stars: intp(5)})
		check("closed", mine, want{1, 0, 1, 0, "1.00"})
		// A return visit overrides the stars.
		w.act(t, "community-1", c.ID, casework.ActRevisit, casework.Input{Result: "dissatisfied"})
		check("revisited", mine, want{1, 0, 1, 0, "0.00"})
		s := summary(t, w, "330303")
		if s.KPI.OnTimeRate == nil || *s.KPI.OnTimeRate != 1 || s.KPI.AvgStars == nil || *s.KPI.AvgStars != 5 {
			t.Errorf("on-time %s, stars %s; want 1.00 and 5.00", fmtRate(s.KPI.OnTimeRate), fmtRate(s.KPI.AvgStars))
		}
		if len(s.Categories) != 1 || s.Categories[0].Code != w.whistle[0] || s.Categories[0].N != 1 || s.Categories[0].Name == "" {
			t.Errorf("categories = %+v", s.Categories)
		}
		if len(s.Sources) != 1 || s.Sources[0].Code != "resident" {
			t.Errorf("sources = %+v", s.Sources)
		}
		// The next day it is no longer today's.
		w.clk.Advance(24 * time.Hour)
		check("next day", mine, want{0, 0, 0, 0, "0.00"})
		if diffs, _ := w.rebuild(t, true); len(diffs) > 0 {
			t.Errorf("rebuild found %d differences, first %v", len(diffs), diffs[0])
		}
	})
}

func fmtRate(r *float64) string {
	if r == nil {
		return "-"
	}
	return fmt.Sprintf("%.2f", *r)
}

func TestOverdueAndSync(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		a := w.submit(t, "grid-3", w.urban[0], 2, "grid_patrol")
		b := w.submit(t, "grid-3", w.urban[0], 2, "grid_patrol")
		w.breach(t, a.ID)
		s := summary(t, w, "330303002")
		if s.KPI.Overdue != 1 || s.KPI.Open != 2 || s.KPI.Supervised != 1 {
			t.Errorf("after a breach: %+v; want 1 overdue, 2 open, 1 supervised", s.KPI)
		}
		// Sync re-reads the case: a repeated call changes nothing.
		for i := 0; i < 2; i++ {
			err := w.d.InTx(ctx, func(tx *db.Tx) error { return w.st.Sync(ctx, tx, a.ID) })
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := summary(t, w, "330303002").KPI.Overdue; got != 1 {
			t.Errorf("overdue after repeated Sync = %d, want 1", got)
		}
		m, err := w.st.Map(ctx, account.SystemScope(), "330303", stats.MetricOverdue)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]float64{}
		for _, ar := range m.Areas {
			got[ar.Code] = *ar.Value
		}
		if want := map[string]float64{"330303001": 0, "330303002": 1}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("overdue map = %v, want %v", got, want)
		}
		list, err := w.st.Overdue(ctx, account.SystemScope(), "330303", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].ID != a.ID || list[0].Grid.Name != "网格3" {
			t.Errorf("overdue list = %+v, want case %d in 网格3", list, a.ID)
		}
		hs, err := w.st.Hotspots(ctx, account.SystemScope(), "330303", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(hs.Grids) != 1 || hs.Grids[0].Code != grids[2].grid || hs.Grids[0].Open != 2 || hs.Grids[0].Overdue != 1 || hs.Grids[0].Parent != "社区3" {
			t.Errorf("hotspots = %+v", hs.Grids)
		}
		// The register action (a case transition) moves the count from
		// the remembered overdue state to the engine's new one.
		w.act(t, "street-2", a.ID, casework.ActRegister, casework.Input{})
		w.act(t, "street-2", b.ID, casework.ActDecline, casework.Input{Reason: "重复"})
		s = summary(t, w, "330303002")
		if s.KPI.Overdue != 0 || s.KPI.Open != 1 {
			t.Errorf("after register: %+v; want 0 overdue, 1 open", s.KPI)
		}
		if diffs, _ := w.rebuild(t, true); len(diffs) > 0 {
			t.Errorf("rebuild found %d differences, first %v", len(diffs), diffs[0])
		}
	})
}

func TestScope(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		w.submit(t, "resident-1", w.whistle[0], 0, "")
		tests := []struct {
			user, region string
			want         errs.Code // "" for success
			resolved     string
		}{
			{"leader-1", "330303001", "", "330303001"},
			{"leader-1", "", "", "330303001"},
			{"leader-1", "330303001002", "", "330303001002"},
			{"leader-1", "330303002", errs.NotFound, ""},
			{"leader-1", "330303", errs.NotFound, ""},
			{"leader-1", "nope", errs.NotFound, ""},
			{"leader", "330303002", "", "330303002"},
			{"leader", "", "", "330303"},
			{"community-2", "330303001001", errs.NotFound, ""},
			{"resident-1", "", errs.NotFound, ""},
			{"cg-handler", "330303", errs.NotFound, ""},
		}
		for _, tc := range tests {
			sc := account.ScopeOf(w.users[tc.user])
			got, err := w.st.Summary(ctx, sc, tc.region)
			if tc.want != "" {
				if !errs.Is(err, tc.want) {
					t.Errorf("%s asking for %q: err %v, want %s", tc.user, tc.region, err, tc.want)
				}
				for _, call := range []func() error{
					func() error { _, err := w.st.Map(ctx, sc, tc.region, ""); return err },
					func() error { _, err := w.st.Trend(ctx, sc, tc.region, 0); return err },
					func() error { _, err := w.st.Hotspots(ctx, sc, tc.region, 0); return err },
					func() error { _, err := w.st.Overdue(ctx, sc, tc.region, 0); return err },
				} {
					if err := call(); !errs.Is(err, tc.want) {
						t.Errorf("%s asking for %q: err %v, want %s", tc.user, tc.region, err, tc.want)
					}
				}
				continue
			}
			if err != nil {
				t.Errorf("%s asking for %q: %v", tc.user, tc.region, err)
				continue
			}
			if got.Region.Code != tc.resolved {
				t.Errorf("%s asking for %q got %s, want %s", tc.user, tc.region, got.Region.Code, tc.resolved)
			}
		}
		bc, err := w.st.Breadcrumb(ctx, account.ScopeOf(w.users["leader-1"]), mustResolve(t, w, "330303001001001"))
		if err != nil {
			t.Fatal(err)
		}
		var codes []string
		for _, n := range bc {
			codes = append(codes, n.Code)
		}
		if got, want := strings.Join(codes, ","), "330303001,330303001001,330303001001001"; got != want {
			t.Errorf("street leader's breadcrumb = %s, want %s", got, want)
		}
	})
}

func mustResolve(t *testing.T, w *world, code string) *stats.Node {
	t.Helper()
	n, err := w.st.Resolve(context.Background(), account.SystemScope(), code)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestTrendAndValidation(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		w.submit(t, "resident-1", w.whistle[0], 0, "")
		w.clk.Advance(24 * time.Hour)
		w.submit(t, "resident-1", w.whistle[0], 0, "")
		w.submit(t, "grid-2", w.urban[0], 1, "grid_patrol")
		tr, err := w.st.Trend(ctx, account.SystemScope(), "330303", 3)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range tr.Days {
			got = append(got, fmt.Sprintf("%s:%d", d.Day, d.Reports))
		}
		if want := "2026-11-01:0 2026-11-02:1 2026-11-03:2"; strings.Join(got, " ") != want {
			t.Errorf("trend = %v, want %s", got, want)
		}
		bad := []func() error{
			func() error { _, err := w.st.Trend(ctx, account.SystemScope(), "330303", 400); return err },
			func() error { _, err := w.st.Map(ctx, account.SystemScope(), "330303", "pink"); return err },
			func() error { _, err := w.st.Hotspots(ctx, account.SystemScope(), "330303", 51); return err },
		}
		for i, f := range bad {
			if err := f(); !errs.Is(err, errs.Invalid) {
				t.Errorf("bad call %d: %v, want invalid", i, err)
			}
		}
		// A grid's map is the grid itself.
		m, err := w.st.Map(ctx, account.SystemScope(), grids[0].grid, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Areas) != 1 || m.Areas[0].Code != grids[0].grid || *m.Areas[0].Value != 2 {
			t.Errorf("grid map = %+v", m.Areas)
		}
	})
}

// TestRandomOperations is the acceptance test: after a random sequence of
// submissions and transitions (rejections, reopenings after low ratings,
// merges, suspensions, breaches, revisits, auto-closing) the rollups equal
// a recomputation from the cases, the summary of every node equals one
// computed by GROUP BY over the cases, and a corrupted row is found and
// repaired.
func TestRandomOperations(t *testing.T) {
	eachWorld(t, func(t *testing.T, w *world) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(20261102, 6))
		var ids []int64
		actions := map[casework.Action]int{}
		must := []casework.Action{casework.ActReject, casework.ActMerge, casework.ActRate, casework.ActClose, casework.ActSuspend, casework.ActRevisit}
		// covered says whether the sequence has taken every path the test
		// is about; the database's timing makes the walk differ from run to
		// run (on PostgreSQL a returned case that then closes can take thousands
		// of steps), so it goes on past 700 steps until it has (or gives up).
		covered := func() bool {
			for _, a := range must {
				if actions[a] == 0 {
					return false
				}
			}
			var reopened, reworked, returned int
			err := w.d.QueryRow(ctx, `SELECT (SELECT COUNT(*) FROM cases WHERE reopens > 0), (SELECT COUNT(*) FROM cases WHERE status = 'closed' AND rework > 0),
				(SELECT COUNT(*) FROM cases WHERE status = 'closed' AND returns > 0)`).Scan(&reopened, &reworked, &returned)
			return err == nil && reopened > 0 && reworked > 0 && returned > 0
		}
		step := 0
		for ; step < 700 || (step < 20000 && (step%50 != 0 || !covered())); step++ {
			w.clk.Advance(time.Duration(rng.IntN(360)) * time.Minute)
			switch r := rng.IntN(20); {
			case r < 3 || len(ids) < 3:
				ids = append(ids, w.randomSubmit(t, rng).ID)
			case r == 5:
				w.randomBreach(t, rng, ids)
			case r == 6 && step%4 == 0:
				w.schedulerPass(t)
			case r == 7:
				if _, err := w.svc.AutoClose(ctx); err != nil {
					t.Fatal(err)
				}
			default:
				id := w.pickCase(t, rng, ids)
				// Past the first 700 steps, half the actions go to an open
				// case that was returned, so that the walk reaches a returned
				// case's close in hundreds of steps rather than by luck.
				if step >= 700 && rng.IntN(2) == 0 {
					if r := w.openReturned(t, rng); r != 0 {
						id = r
					}
				}
				if a := w.randomAct(t, rng, id, ids); a != "" {
					actions[a]++
				}
			}
		}
		t.Logf("%d steps, %d cases", step, len(ids))
		for _, a := range must {
			if actions[a] == 0 {
				t.Errorf("the random sequence never took %s: %v", a, actions)
			}
		}
		var reopened int
		if err := w.d.QueryRow(ctx, `SELECT COUNT(*) FROM cases WHERE reopens > 0`).Scan(&reopened); err != nil || reopened == 0 {
			t.Errorf("no case was reopened after a low rating (%v)", err)
		}
		// The oracle covers the indicators' columns (0016) and the
		// departments' pseudo-nodes: they are not all zero.
		var firstDue, firstMet, reworked, returned, deptRows, depts int
		if err := w.d.QueryRow(ctx, `SELECT COALESCE(SUM(first_due), 0), COALESCE(SUM(first_met), 0), COALESCE(SUM(reworked), 0), COALESCE(SUM(returned), 0),
			(SELECT COUNT(*) FROM rollup_flow WHERE node LIKE 'dept:%'), (SELECT COUNT(DISTINCT department_id) FROM cases WHERE department_id IS NOT NULL)
			FROM rollup_flow WHERE node = '330303'`).Scan(&firstDue, &firstMet, &reworked, &returned, &deptRows, &depts); err != nil {
			t.Fatal(err)
		}
		if firstDue == 0 || firstMet == 0 || reworked == 0 || returned == 0 || deptRows == 0 || depts == 0 {
			t.Errorf("first_due %d, first_met %d, reworked %d, returned %d, department rows %d of %d departments: the oracle would not see these columns",
				firstDue, firstMet, reworked, returned, deptRows, depts)
		}
		diffs, rep := w.rebuild(t, true)
		for _, d := range diffs {
			t.Errorf("difference after %d steps: %v", len(ids), d)
		}
		if rep.Cases != int64(len(ids)) || rep.Nodes != len(allNodes())+depts {
			t.Errorf("rebuild read %d cases and %d nodes, want %d and %d", rep.Cases, rep.Nodes, len(ids), len(allNodes())+depts)
		}
		for _, n := range allNodes() {
			got := summary(t, w, n)
			want, err := w.st.SummaryFromCases(ctx, account.SystemScope(), n)
			if err != nil {
				t.Fatal(err)
			}
			if g, wt := asJSON(got), asJSON(want); g != wt {
				t.Errorf("node %s:\nrollups  %s\nGROUP BY %s", n, g, wt)
			}
		}
		m, err := w.st.Map(ctx, account.SystemScope(), "330303", stats.MetricOpen)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range m.Areas {
			if got, want := int64(*a.Value), summary(t, w, a.Code).KPI.Open; got != want {
				t.Errorf("map value of %s = %d, its summary says %d open", a.Code, got, want)
			}
		}
		s := summary(t, w, "330303")
		t.Logf("%d cases: %s; actions %v", len(ids), asJSON(s.KPI), actions)

		// Corrupt four rows; the rebuild reports exactly those and repairs them.
		var cat, st, slaState string
		var sup int
		if err := w.d.QueryRow(ctx, `SELECT category, status, sla_state, supervised FROM rollup_state WHERE node = '330303'
			ORDER BY category, status, sla_state, supervised LIMIT 1`).Scan(&cat, &st, &slaState, &sup); err != nil {
			t.Fatal(err)
		}
		w.exec(t, `UPDATE rollup_state SET n = n + 3 WHERE node = '330303' AND category = $1 AND status = $2 AND sla_state = $3 AND supervised = $4`,
			cat, st, slaState, sup)
		w.exec(t, `DELETE FROM rollup_flow WHERE node = $1 AND day = (SELECT MIN(day) FROM rollup_flow WHERE node = $1)
			AND category = (SELECT MIN(category) FROM rollup_flow WHERE node = $1 AND day = (SELECT MIN(day) FROM rollup_flow WHERE node = $1))`, grids[0].grid)
		w.exec(t, `INSERT INTO rollup_source (node, day, source, n) VALUES ('330303002', '2020-01-01', 'hotline', 5)`)
		w.exec(t, `DELETE FROM rollup_open_cases WHERE case_id = (SELECT MIN(case_id) FROM rollup_open_cases)`)
		diffs, _ = w.rebuild(t, false)
		var tables []string
		for _, d := range diffs {
			tables = append(tables, d.Table)
		}
		slices.Sort(tables)
		if got, want := strings.Join(tables, " "), "rollup_flow rollup_open_cases rollup_source rollup_state"; got != want {
			t.Errorf("differences in %s, want %s: %v", got, want, diffs)
		}
		for _, d := range diffs {
			if d.Table == "rollup_source" && (d.Computed != "" || !strings.Contains(d.Key, "day=2020-01-01")) {
				t.Errorf("bogus row reported as %v", d)
			}
		}
		if diffs, _ := w.rebuild(t, true); len(diffs) > 0 {
			t.Errorf("after the repair the rebuild still finds %v", diffs)
		}
	})
}

func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func (w *world) exec(t testing.TB, q string, args ...any) {
	t.Helper()
	err := w.d.InTx(context.Background(), func(tx *db.Tx) error {
		_, err := tx.Exec(context.Background(), q, args...)
		return err
	})
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// randomSubmit reports a case: a resident's 红哨 in their own community, a
// grid worker's patrol finding, or a hotline call taken by staff.
func (w *world) randomSubmit(t testing.TB, rng *rand.Rand) *casework.Case {
	g := rng.IntN(len(grids))
	switch rng.IntN(3) {
	case 0:
		return w.submit(t, fmt.Sprintf("grid-%d", g+1), w.urban[rng.IntN(len(w.urban))], g, "grid_patrol")
	case 1:
		return w.submit(t, fmt.Sprintf("community-%d", g+1), w.whistle[rng.IntN(len(w.whistle))], g, "hotline")
	}
	return w.submit(t, fmt.Sprintf("resident-%d", g+1), w.whistle[rng.IntN(len(w.whistle))], g, "resident")
}

// pickCase picks a case, an open one nine times in ten.
func (w *world) pickCase(t testing.TB, rng *rand.Rand, ids []int64) int64 {
	if rng.IntN(10) == 0 {
		return ids[rng.IntN(len(ids))]
	}
	rows, err := w.d.Query(context.Background(), `SELECT id FROM cases WHERE status NOT IN ('closed','rejected','declined','merged')`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var open []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		open = append(open, id)
	}
	if len(open) == 0 {
		return ids[rng.IntN(len(ids))]
	}
	return open[rng.IntN(len(open))]
}

// openReturned picks an open case that has been returned, or 0 if none is.
func (w *world) openReturned(t testing.TB, rng *rand.Rand) int64 {
	rows, err := w.d.Query(context.Background(), `SELECT id FROM cases WHERE returns > 0 AND status NOT IN ('closed','rejected','declined','merged') ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var open []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		open = append(open, id)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(open) == 0 {
		return 0
	}
	return open[rng.IntN(len(open))]
}

// randomBreach breaches an open case's running stage.
func (w *world) randomBreach(t testing.TB, rng *rand.Rand, ids []int64) {
	id := ids[rng.IntN(len(ids))]
	var n int
	if err := w.d.QueryRow(context.Background(), `SELECT COUNT(*) FROM sla_stages WHERE case_id = $1 AND ended_at IS NULL AND paused_at IS NULL`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n > 0 {
		w.breach(t, id)
	}
}

// schedulerPass fires the SLA engine's due timers; each warning, breach
// and escalation goes through casework's change path, which counts it in
// the rollups in the timer's transaction.
func (w *world) schedulerPass(t testing.TB) {
	r := timer.NewRunner(w.d, timer.Config{})
	w.eng.RegisterTimers(r)
	if _, err := r.RunDue(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// randomAct takes a random action that somebody may take on case id now,
// with plausible input. It returns the action, or "" when none was taken.
func (w *world) randomAct(t testing.TB, rng *rand.Rand, id int64, ids []int64) casework.Action {
	t.Helper()
	ctx := context.Background()
	c, err := w.svc.Get(ctx, w.as("system"), id)
	if err != nil {
		t.Fatal(err)
	}
	g := 0
	for i, x := range grids {
		if x.grid == c.GridCode {
			g = i
		}
	}
	who := []string{"admin", "leader", "cg-handler", fmt.Sprintf("street-%d", g/2+1), fmt.Sprintf("leader-%d", g/2+1),
		fmt.Sprintf("community-%d", g+1), fmt.Sprintf("grid-%d", g+1), fmt.Sprintf("party-%d", g+1), fmt.Sprintf("resident-%d", g+1)}
	type choice struct {
		who string
		a   casework.Available
	}
	var choices []choice
	for _, u := range who {
		for _, a := range w.svc.Actions(c, w.as(u)) {
			choices = append(choices, choice{u, a})
		}
	}
	if len(choices) == 0 {
		return ""
	}
	// Pick an action first, then who takes it, so that an action many may
	// take is not favoured; forward steps weigh more than the side steps,
	// so that cases get to their ratings and closing.
	weight := func(a casework.Action) int {
		switch a {
		case casework.ActSupervise, casework.ActSuspend, casework.ActPostponeRequest, casework.ActPostponeApprove,
			casework.ActPostponeRefuse, casework.ActReturn:
			return 1
		case casework.ActMerge, casework.ActReject, casework.ActDecline, casework.ActRevisit:
			return 3
		}
		return 12
	}
	byAction := map[casework.Action][]choice{}
	var acts []casework.Action
	for _, c := range choices {
		if len(byAction[c.a.Action]) == 0 {
			acts = append(acts, c.a.Action)
		}
		byAction[c.a.Action] = append(byAction[c.a.Action], c)
	}
	total := 0
	for _, a := range acts {
		total += weight(a)
	}
	pick := rng.IntN(total)
	act := acts[0]
	for _, a := range acts {
		if pick -= weight(a); pick < 0 {
			act = a
			break
		}
	}
	ch := byAction[act][rng.IntN(len(byAction[act]))]
	in := casework.Input{}
	for _, f := range append(append([]string{}, ch.a.Requires...), ch.a.Optional...) {
		switch f {
		case casework.FieldNote:
			in.Note = "处理意见"
		case casework.FieldReason:
			in.Reason = "原因"
		case casework.FieldTarget:
			in.Target = &casework.Target{Department: "CG"}
		case casework.FieldStars:
			in.Stars = intp(1 + rng.IntN(5))
		case casework.FieldPassed:
			in.Passed = boolp(rng.IntN(4) > 0)
		case casework.FieldResult:
			in.Result = []string{"satisfied", "basically_satisfied", "dissatisfied"}[rng.IntN(3)]
		case casework.FieldParent:
			in.Parent = ids[rng.IntN(len(ids))]
		case casework.FieldHours:
			in.Hours = intp(8)
		case casework.FieldPhotos:
			if slices.Contains(ch.a.Requires, f) {
				in.Photos = []int64{w.photo(t, ch.who, id)}
			}
		}
	}
	_, err = w.svc.Act(ctx, w.as(ch.who), id, ch.a.Action, in)
	if errs.Is(err, errs.Invalid) || errs.Is(err, errs.Conflict) || errs.Is(err, errs.NotFound) || errs.Is(err, errs.Forbidden) {
		return ""
	}
	if err != nil {
		t.Fatalf("%s by %s on %d: %v", ch.a.Action, ch.who, id, err)
	}
	return ch.a.Action
}
