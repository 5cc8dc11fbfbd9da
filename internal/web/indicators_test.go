package web

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/notify"
	"whistle/internal/sla"
	"whistle/internal/worldtest"
)

// TestScreenAndUnitsAgree is the indicator registry's acceptance test: for
// the same node and period (the screen's window, from its first day to
// today), the big screen's KPI JSON (GET /api/v1/stats/summary) and the
// unit statistics JSON (GET /api/v1/stats/units) carry the same numbers,
// end to end through the web server, for the street and each of its
// communities, on SQLite and PostgreSQL.
func TestScreenAndUnitsAgree(t *testing.T) {
	// Monday 2026-11-02 09:00 in Shanghai.
	worldtest.Each(t, time.Date(2026, 11, 2, 1, 0, 0, 0, time.UTC), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		ctx := context.Background()
		w := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("龙湾区", "永中街道"), Departments: worldtest.CatalogueDepartments(),
			Users: worldtest.OneStreetUsers(), Calendar: true})
		eng, err := sla.New(ctx, sla.Deps{DB: d, Cases: w.Cases, Calendar: w.Calendar, Categories: w.Categories, Regions: w.Regions, Accounts: w.Accounts})
		if err != nil {
			t.Fatal(err)
		}
		w.Cases.UseDeadlines(eng)
		st := w.AddStats(t, eng.Calendar)
		// Five cases in community A, one in B: closed with 5 stars, closed
		// after a rework with 4 stars and a dissatisfied return visit,
		// resolved, rejected, left open; B's left open and breached.
		lat, lng := 27.005, 120.005
		submit := func(x float64) int64 {
			c := w.Submit(t, "resident", casework.SubmitInput{Category: "ZL0302", Description: "楼道堆放杂物", Lat: &lat, Lng: &x})
			return c.ID
		}
		resolve := func(id int64, rework bool) {
			w.Act(t, "staff-a", id, casework.ActAccept, casework.Input{})
			w.Act(t, "staff-a", id, casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}})
			w.Act(t, "cg-handler", id, casework.ActStart, casework.Input{})
			w.Act(t, "cg-handler", id, casework.ActResolve, casework.Input{Note: "已清理", Photos: []int64{w.Photo(t, "cg-handler", id, "after")}})
			if rework {
				w.Act(t, "staff-a", id, casework.ActVerify, casework.Input{Passed: boolPtr(false), Note: "未清理干净"})
				w.Act(t, "cg-handler", id, casework.ActResolve, casework.Input{Note: "再清理", Photos: []int64{w.Photo(t, "cg-handler", id, "after")}})
			}
		}
		a, b, c, r := submit(lng), submit(lng), submit(lng), submit(lng)
		submit(lng)
		open := submit(120.015)
		resolve(a, false)
		resolve(b, true)
		resolve(c, false)
		w.Act(t, "staff-a", r, casework.ActReject, casework.Input{Reason: "重复"})
		clk.Advance(90 * time.Minute)
		w.Act(t, "staff-a", a, casework.ActVerify, casework.Input{Passed: boolPtr(true)})
		w.Act(t, "resident", a, casework.ActRate, casework.Input{Stars: intPtr(5)})
		clk.Advance(time.Hour)
		w.Act(t, "staff-a", b, casework.ActVerify, casework.Input{Passed: boolPtr(true)})
		w.Act(t, "resident", b, casework.ActRate, casework.Input{Stars: intPtr(4)})
		w.Act(t, "staff-a", b, casework.ActRevisit, casework.Input{Result: "dissatisfied"})
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE sla_stages SET breached_at = $1 WHERE case_id = $2 AND ended_at IS NULL`, tx.Now(), open); err != nil {
				return err
			}
			// The breach as the scheduler takes it: the engine reads the
			// stage and casework writes the state and counts it.
			_, err := w.Cases.SystemStep(ctx, tx, open, casework.Step{Action: casework.ActBreach})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		_, ts := serve(t, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: w.Accounts, Regions: w.Regions, Cases: w.Cases,
			Categories: w.Categories, SLA: eng, Stats: st, Clock: clk})
		leader := login(t, ts, "leader")
		get := func(path string, v any) {
			t.Helper()
			status, body, _ := call(t, ts, "GET", path, leader, "", "")
			if status != 200 {
				t.Fatalf("GET %s: %d %s", path, status, body)
			}
			if err := json.Unmarshal([]byte(body), v); err != nil {
				t.Fatalf("GET %s: %v", path, err)
			}
		}
		type screen struct {
			From, Today string
			KPI         map[string]*float64 `json:"kpi"`
			Window      map[string]int64    `json:"window"`
		}
		var units struct {
			Region  map[string]any
			Regions []map[string]any
		}
		var street screen
		get("/api/v1/stats/summary?region=330303001", &street)
		get("/api/v1/stats/units?region=330303001&from="+street.From+"&to="+street.Today, &units)
		// The screen's KPI and window fields, and the unit statistics'
		// field with the same number.
		pairs := []struct{ kpi, window, unit string }{
			{"on_time_rate", "", "on_time_rate"}, {"satisfaction", "", "satisfaction_rate"}, {"avg_stars", "", "avg_stars"},
			{"avg_handling_hours", "", "avg_handling_hours"}, {"response_rate", "", "response_rate"}, {"resolution_rate", "", "resolution_rate"},
			{"rework_rate", "", "rework_rate"}, {"return_rate", "", "return_rate"}, {"open", "", "open"}, {"overdue", "", "overdue"},
			{"", "reports", "cases"}, {"", "closed", "closed"}, {"", "on_time", "on_time"}, {"", "rated", "rated"}, {"", "satisfied", "satisfied"},
			{"", "valid", "valid"}, {"", "resolved", "resolved"}, {"", "first_due", "response_due"}, {"", "first_met", "responded"},
			{"", "reworked", "reworked"}, {"", "returned", "returned"},
		}
		show := func(v any) string {
			switch x := v.(type) {
			case nil:
				return "null"
			case *float64:
				if x == nil {
					return "null"
				}
				return fmt.Sprintf("%.6f", *x)
			case float64:
				return fmt.Sprintf("%.6f", x)
			case int64:
				return fmt.Sprintf("%.6f", float64(x))
			}
			return fmt.Sprint(v)
		}
		compare := func(code string, sc screen, u map[string]any) {
			t.Helper()
			for _, p := range pairs {
				var s string
				if p.kpi != "" {
					s = show(sc.KPI[p.kpi])
				} else {
					s = show(sc.Window[p.window])
				}
				if got := show(u[p.unit]); got != s {
					t.Errorf("%s: the screen's %s%s is %s, the unit statistics' %s is %s", code, p.kpi, p.window, s, p.unit, got)
				}
			}
		}
		compare("330303001", street, units.Region)
		for _, ch := range units.Regions {
			code := ch["code"].(string)
			var sc screen
			get("/api/v1/stats/summary?region="+code, &sc)
			compare(code, sc, ch)
		}
		// The comparison is about numbers, not nulls on both sides.
		want := map[string]string{"on_time_rate": "1.000000", "satisfaction": "0.500000", "avg_stars": "4.500000", "resolution_rate": "0.600000",
			"rework_rate": "0.500000", "open": "3.000000", "overdue": "1.000000"}
		for k, v := range want {
			if got := show(street.KPI[k]); got != v {
				t.Errorf("the street's %s is %s, want %s", k, got, v)
			}
		}
		if len(units.Regions) != 2 {
			t.Errorf("the unit statistics list %d communities, want 2", len(units.Regions))
		}
	})
}

func boolPtr(b bool) *bool { return &b }
func intPtr(n int) *int    { return &n }
