package sla

import (
	"context"
	"fmt"
	"testing"

	"whistle/internal/account"
	"whistle/internal/casework"
)

// figures writes the measures compared by the stats test.
func figures(f Figures) string {
	rate := func(p *float64) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("%.3f", *p)
	}
	return fmt.Sprintf("cases %d response %d/%d=%s resolution %d/%d=%s satisfaction %d/%d=%s on-time %d/%d=%s overdue %d handling %s rework %d",
		f.Cases, f.Responded, f.ResponseDue, rate(f.ResponseRate), f.Resolved, f.Valid, rate(f.ResolutionRate),
		f.Satisfied, f.Rated, rate(f.SatisfactionRate), f.OnTime, f.Closed, rate(f.OnTimeRate), f.Overdue, rate(f.AvgHandlingHours), f.Rework)
}

// TestUnitStats measures a small scenario with known figures:
//
//	1 (community A): accepted at once, resolved in 1 working hour, rated 5: closed on time, satisfied.
//	2 (community A): accepted on Monday, after its Sunday deadline (breached), resolved after 10.5
//	  working hours, rated 3: closed late, not satisfied.
//	3 (community B): rejected at once: responded, not valid.
//	4 (community B): accepted at once, failed verification (rework), still being handled.
func TestUnitStats(t *testing.T) {
	t.Parallel()
	eachWorld(t, friday, func(t *testing.T, w *world) {
		ctx := context.Background()
		c1 := w.submit(t, "resident", "ZL0302", inA)
		c2 := w.submit(t, "resident", "ZL0302", inA)
		c3 := w.submit(t, "resident", "ZL0302", inB)
		c4 := w.submit(t, "resident", "ZL0302", inB)
		handle := func(staff string, id int64) {
			w.act(t, staff, id, casework.ActAccept, casework.Input{})
			w.act(t, staff, id, casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}})
			w.act(t, "cg-handler", id, casework.ActStart, casework.Input{})
		}
		resolve := func(id int64) {
			w.act(t, "cg-handler", id, casework.ActResolve, casework.Input{Note: "已处理", Photos: []int64{w.photo(t, "cg-handler", id)}})
		}
		w.clk.Set(cst(2025, 9, 26, 16, 30))
		handle("staff-a", c1.ID)
		w.act(t, "staff-b", c3.ID, casework.ActReject, casework.Input{Reason: "重复反映"})
		handle("staff-b", c4.ID)
		w.clk.Set(cst(2025, 9, 26, 17, 0))
		resolve(c1.ID)
		resolve(c4.ID)
		w.clk.Set(cst(2025, 9, 26, 17, 10))
		w.act(t, "staff-a", c1.ID, casework.ActVerify, casework.Input{Passed: boolp(true)})
		w.act(t, "resident", c1.ID, casework.ActRate, casework.Input{Stars: intp(5)})
		w.act(t, "staff-b", c4.ID, casework.ActVerify, casework.Input{Passed: boolp(false), Note: "未清理干净"})
		w.clk.Set(cst(2025, 9, 29, 9, 0))
		w.runDue(t) // case 2's accept warning and breach
		handle("staff-a", c2.ID)
		w.clk.Set(cst(2025, 9, 29, 10, 0))
		resolve(c2.ID)
		w.clk.Set(cst(2025, 9, 29, 10, 10))
		w.act(t, "staff-a", c2.ID, casework.ActVerify, casework.Input{Passed: boolp(true)})
		w.act(t, "resident", c2.ID, casework.ActRate, casework.Input{Stars: intp(3)})

		q := StatsQuery{Region: "330303001", From: cst(2025, 9, 1, 0, 0), To: cst(2025, 10, 1, 0, 0)}
		got, err := w.eng.UnitStats(ctx, account.ScopeOf(w.users["street"]), q)
		if err != nil {
			t.Fatal(err)
		}
		communityA := "cases 2 response 1/2=0.500 resolution 2/2=1.000 satisfaction 1/2=0.500 on-time 1/2=0.500 overdue 1 handling 5.750 rework 0"
		communityB := "cases 2 response 2/2=1.000 resolution 0/1=0.000 satisfaction 0/0=- on-time 0/0=- overdue 0 handling - rework 1"
		tests := []struct {
			name string
			unit Unit
			want string
		}{
			{"the street", got.Region, "cases 4 response 3/4=0.750 resolution 2/3=0.667 satisfaction 1/2=0.500 on-time 1/2=0.500 overdue 1 handling 5.750 rework 1"},
			{"community A", got.Regions[0], communityA},
			{"community B", got.Regions[1], communityB},
			{"the department CG", got.Departments[0], "cases 3 response 2/3=0.667 resolution 2/3=0.667 satisfaction 1/2=0.500 on-time 1/2=0.500 overdue 1 handling 5.750 rework 1"},
		}
		if len(got.Regions) != 2 || got.Regions[0].Code != "330303001001" || len(got.Departments) != 1 || got.Departments[0].Code != "CG" {
			t.Fatalf("got regions %s and departments %s", dump(got.Regions), dump(got.Departments))
		}
		for _, tt := range tests {
			if g := figures(tt.unit.Figures); g != tt.want {
				t.Errorf("%s:\n got %s\nwant %s", tt.name, g, tt.want)
			}
		}

		t.Run("community staff see their community only", func(t *testing.T) {
			got, err := w.eng.UnitStats(ctx, account.ScopeOf(w.users["staff-a"]), q)
			if err != nil {
				t.Fatal(err)
			}
			if g := figures(got.Region.Figures); g != communityA {
				t.Errorf("got %s, want %s", g, communityA)
			}
		})
		t.Run("an empty period", func(t *testing.T) {
			got, err := w.eng.UnitStats(ctx, account.ScopeOf(w.users["street"]), StatsQuery{Region: "330303", From: cst(2025, 8, 1, 0, 0), To: cst(2025, 9, 1, 0, 0)})
			if err != nil {
				t.Fatal(err)
			}
			want := "cases 0 response 0/0=- resolution 0/0=- satisfaction 0/0=- on-time 0/0=- overdue 0 handling - rework 0"
			if g := figures(got.Region.Figures); g != want || len(got.Regions) != 1 || len(got.Departments) != 0 {
				t.Errorf("got %s with %d regions and %d departments, want %s with 1 and 0", g, len(got.Regions), len(got.Departments), want)
			}
		})
	})
}
