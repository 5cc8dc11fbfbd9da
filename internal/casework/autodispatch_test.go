package casework_test

import (
	"context"
	"strconv"
	"testing"

	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/worldtest"
)

// TestAutoDispatchOnAccept (issue 13 item 12): a category configured to
// dispatch automatically is dispatched, in the acceptance's transaction, to
// the department its routing picks; the timeline's dispatch step is the
// system's and names the rule. Without the setting, or when routing picks
// no department, the case waits in the dispatch queue.
func TestAutoDispatchOnAccept(t *testing.T) {
	type setup struct {
		auto       bool
		department string // the category's default department
		rule       string // a routing rule's department on the street, "" for none
	}
	cases := []struct {
		name     string
		workflow string
		setup    setup
		// want is the state after acceptance, and the department and rule
		// of the automatic dispatch ("rule" stands for the rule's id).
		want     casework.State
		wantDept string
		wantRule string
	}{
		{name: "rule", workflow: "whistle", setup: setup{auto: true, rule: "ZJ"}, want: casework.Dispatched, wantDept: "ZJ", wantRule: "rule"},
		{name: "rule beats default", workflow: "whistle", setup: setup{auto: true, department: "SW", rule: "ZJ"},
			want: casework.Dispatched, wantDept: "ZJ", wantRule: "rule"},
		{name: "category default", workflow: "whistle", setup: setup{auto: true, department: "SW"}, want: casework.Dispatched, wantDept: "SW",
			wantRule: "category_default:"},
		{name: "not configured", workflow: "whistle", setup: setup{rule: "ZJ"}, want: casework.Accepted},
		{name: "no rule matched", workflow: "whistle", setup: setup{auto: true}, want: casework.Accepted},
		{name: "urban register", workflow: "urban", setup: setup{auto: true, rule: "GD"}, want: casework.Dispatched, wantDept: "GD", wantRule: "rule"},
		{name: "urban not configured", workflow: "urban", setup: setup{rule: "GD"}, want: casework.Registered},
	}
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newWorld(t, d, clk)
		ctx := context.Background()
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				cat := leafOf(t, w, "ZL06")
				accept, who := casework.ActAccept, "staff-a"
				if tc.workflow == "urban" {
					cat, accept, who = leafOf(t, w, "SJ0101"), casework.ActRegister, "street"
				}
				// Each subtest configures the category from scratch.
				for _, r := range mustRules(t, w.Categories) {
					if err := w.Categories.DeleteRule(ctx, worldtest.Actor(), r.ID); err != nil {
						t.Fatal(err)
					}
				}
				auto, dept := tc.setup.auto, tc.setup.department
				if _, err := w.Categories.Update(ctx, worldtest.Actor(), cat, category.Patch{AutoDispatch: &auto, Department: &dept}); err != nil {
					t.Fatal(err)
				}
				// The parent's default would route too: clear it.
				parent := cat[:len(cat)-2]
				none := ""
				if _, err := w.Categories.Update(ctx, worldtest.Actor(), parent, category.Patch{Department: &none}); err != nil {
					t.Fatal(err)
				}
				var ruleID int64
				if tc.setup.rule != "" {
					r, err := w.Categories.AddRule(ctx, worldtest.Actor(), category.Rule{CategoryCode: cat, RegionCode: "330303001", Department: tc.setup.rule})
					if err != nil {
						t.Fatal(err)
					}
					ruleID = r.ID
				}
				c := w.submit(t, "resident", inA, tc.workflow)
				got := w.Act(t, who, c.ID, accept, casework.Input{})
				if got.Status != tc.want || got.DepartmentCode != tc.wantDept {
					t.Fatalf("after %s: got status %s department %q, want %s %q", accept, got.Status, got.DepartmentCode, tc.want, tc.wantDept)
				}
				tl, err := w.svc.Timeline(ctx, w.as("admin"), c.ID, false)
				if err != nil {
					t.Fatal(err)
				}
				var dispatches []casework.Event
				for _, e := range tl {
					if e.Action == casework.ActDispatch {
						dispatches = append(dispatches, e)
					}
				}
				if tc.wantDept == "" {
					if len(dispatches) != 0 {
						t.Fatalf("got dispatch steps %+v, want none", dispatches)
					}
					return
				}
				if len(dispatches) != 1 {
					t.Fatalf("got %d dispatch steps, want 1: %+v", len(dispatches), tl)
				}
				e := dispatches[0]
				wantRule := tc.wantRule
				switch wantRule {
				case "rule":
					wantRule = "routing_rule:" + strconv.FormatInt(ruleID, 10)
				case "category_default:":
					wantRule += cat
				}
				if e.Role != "system" || e.Data["automatic"] != true || e.Data["rule"] != wantRule || e.Data["target_department"] != tc.wantDept {
					t.Errorf("dispatch step: got role %q data %v, want role system, automatic, rule %q, department %s", e.Role, e.Data, wantRule, tc.wantDept)
				}
				queued := casework.Accepted
				if tc.workflow == "urban" {
					queued = casework.Registered
				}
				if e.FromStatus != queued || e.ToStatus != casework.Dispatched {
					t.Errorf("dispatch step: got %s → %s, want %s → dispatched", e.FromStatus, e.ToStatus, queued)
				}
			})
		}
	})
}

func mustRules(t *testing.T, s *category.Store) []*category.Rule {
	t.Helper()
	rs, err := s.Rules(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rs
}
