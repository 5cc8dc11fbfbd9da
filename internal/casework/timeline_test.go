package casework_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
)

// TestTimelineFacts: each action's timeline entry, as stored and read
// back, carries its typed facts, so what the actions write and what Facts
// reads cannot drift apart.
func TestTimelineFacts(t *testing.T) {
	yes, no := true, false
	dispatchTo := func(name string) func(*world, *casework.Case) casework.Input {
		return func(w *world, c *casework.Case) casework.Input {
			return casework.Input{Target: &casework.Target{User: w.users[name].ID}}
		}
	}
	deadline := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	// parent is the number of the case merged into, known once submitted;
	// a wanted Parent of "@parent" stands for it.
	var parent string
	mergeInto := func(w *world, c *casework.Case) casework.Input {
		p := w.submit(photoT, "resident", inA, "whistle")
		parent = p.Number
		return casework.Input{Parent: p.ID, Note: "同一处杂物"}
	}
	paths := []struct {
		name     string
		workflow string
		steps    []step
		// want is each successful step's facts, submission first.
		want []casework.Facts
	}{
		{"whistle: department, postponement, supervision, check, rating", "whistle", []step{
			{who: "staff-a", action: casework.ActAccept, input: in(casework.Input{})},
			{who: "staff-a", action: casework.ActDispatch, input: in(casework.Input{Target: &casework.Target{Department: "CG"}})},
			{who: "cg-handler", action: casework.ActPostponeRequest, input: in(casework.Input{Note: "需协调物业", Reason: "物业未回复", Hours: intp(16)})},
			{who: "staff-a", action: casework.ActPostponeApprove, input: in(casework.Input{})},
			{who: "leader", action: casework.ActSupervise, input: in(casework.Input{Note: "请于本周办结", Deadline: &deadline})},
			{who: "cg-handler", action: casework.ActStart, input: in(casework.Input{})},
			{who: "cg-handler", action: casework.ActResolve, input: resolveWithPhoto("cg-handler")},
			{who: "grid-a", action: casework.ActVerify, input: in(casework.Input{Passed: boolp(false), Note: "仍有杂物"})},
			{who: "cg-handler", action: casework.ActResolve, input: resolveWithPhoto("cg-handler")},
			{who: "grid-a", action: casework.ActVerify, input: in(casework.Input{Passed: boolp(true)})},
			{who: "resident", action: casework.ActRate, input: in(casework.Input{Stars: intp(4), Comment: "不错"})},
		}, []casework.Facts{
			{Source: "resident", Category: "ZL0601"},
			{},
			{TargetDepartment: "CG", TargetDepartmentName: "CG"},
			{Hours: 16, Reason: "物业未回复"},
			{Hours: 16},
			{Deadline: deadline},
			{},
			{},
			{Passed: &no},
			{},
			{Passed: &yes},
			{Stars: 4},
		}},
		{"whistle: a person, a revisit", "whistle", []step{
			{who: "staff-a", action: casework.ActAccept, input: in(casework.Input{})},
			{who: "staff-a", action: casework.ActDispatch, input: dispatchTo("grid-a")},
			{who: "grid-a", action: casework.ActStart, input: in(casework.Input{})},
			{who: "grid-a", action: casework.ActResolve, input: resolveWithPhoto("grid-a")},
			{who: "staff-a", action: casework.ActRevisit, input: in(casework.Input{Result: "basically_satisfied"})},
		}, []casework.Facts{
			{Source: "resident", Category: "ZL0601"},
			{},
			{TargetUser: "grid-a"},
			{},
			{},
			{Result: "basically_satisfied"},
		}},
		{"whistle: merged", "whistle", []step{
			{who: "staff-a", action: casework.ActMerge, input: mergeInto},
		}, []casework.Facts{
			{Source: "resident", Category: "ZL0601"},
			{Parent: "@parent"},
		}},
		{"urban: a reason beside a note", "urban", []step{
			{who: "admin", action: casework.ActDecline, input: in(casework.Input{Note: "已在 12345 热线受理", Reason: "重复上报"})},
		}, []casework.Facts{
			{Source: "resident", Category: "SJ0101"},
			{Reason: "重复上报"},
		}},
	}
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, nil)
		ctx := context.Background()
		for _, p := range paths {
			t.Run(p.name, func(t *testing.T) {
				photoT = t
				c := w.submit(t, "resident", inA, p.workflow)
				for i, s := range p.steps {
					got, err := w.svc.Act(ctx, w.as(s.who), c.ID, s.action, s.input(w, c))
					if err != nil {
						t.Fatalf("step %d %s %s: %v", i+1, s.who, s.action, err)
					}
					c = got
				}
				tl, err := w.svc.Timeline(ctx, w.as("admin"), c.ID, false)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := len(tl), len(p.want); got != want {
					t.Fatalf("timeline: got %d entries, want %d", got, want)
				}
				for i, e := range tl {
					got, want := e.Facts(), p.want[i]
					if want.Parent == "@parent" {
						want.Parent = parent
					}
					if !got.Deadline.IsZero() && got.Deadline.Equal(want.Deadline) {
						got.Deadline = want.Deadline // same instant, any zone
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("entry %d (%s):\n got %+v\nwant %+v", i, e.Action, got, want)
					}
				}
			})
		}
	})
}

// TestFactsFromOddRows: rows written before a fact existed, or holding a
// value of another type, read as if the fact were absent; nothing panics.
func TestFactsFromOddRows(t *testing.T) {
	yes := true
	tests := []struct {
		name string
		data string // the stored JSON
		want casework.Facts
	}{
		{"no data", ``, casework.Facts{}},
		{"null", `null`, casework.Facts{}},
		{"unknown keys only", `{"colour":"red","weight":3}`, casework.Facts{}},
		{"stars as text", `{"stars":"5"}`, casework.Facts{}},
		{"stars out of range", `{"stars":9}`, casework.Facts{}},
		{"stars not whole", `{"stars":4.5}`, casework.Facts{}},
		{"negative hours", `{"hours":-8}`, casework.Facts{}},
		{"passed as text", `{"passed":"yes"}`, casework.Facts{}},
		{"a deadline that is no time", `{"deadline":"tomorrow"}`, casework.Facts{}},
		{"automatic as text", `{"automatic":"true","rule_id":3}`, casework.Facts{}},
		{"a department as a number", `{"target_department_name":7,"reason":["x"]}`, casework.Facts{}},
		{"automatic by rule", `{"automatic":true,"rule":"rule","rule_id":12,"rule_category":"ZL05","rule_region":"330303001","rule_priority":3}`,
			casework.Facts{Auto: &casework.AutoDispatch{RuleID: 12, RuleCategory: "ZL05", RuleRegion: "330303001", RulePriority: 3}}},
		{"automatic by default", `{"automatic":true,"default_of":"ZL05"}`, casework.Facts{Auto: &casework.AutoDispatch{DefaultOf: "ZL05"}}},
		{"an SLA breach", `{"stage":"handle","limit":"3wd","deadline":"2026-11-30T18:00:00+08:00","due_at":"2026-11-30T18:00:00+08:00"}`,
			casework.Facts{Stage: "handle", Limit: "3wd", Deadline: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)}},
		{"an escalation", `{"supervision":4,"level":"street","region":"330303001","reason":"超时未办结"}`,
			casework.Facts{Level: "street", Reason: "超时未办结"}},
		{"the facts beside odd ones", `{"stars":"x","passed":true,"hours":8}`, casework.Facts{Passed: &yes, Hours: 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e casework.Event
			if tt.data != "" {
				if err := json.Unmarshal([]byte(tt.data), &e.Data); err != nil {
					t.Fatal(err)
				}
			}
			got := e.Facts()
			if !got.Deadline.IsZero() && got.Deadline.Equal(tt.want.Deadline) {
				got.Deadline = tt.want.Deadline
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}
