package sensing_test

import (
	"context"
	"testing"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/sensing"
	"whistle/internal/worldtest"
)

// TestRuleValidation: a rule over an unknown field, a type error, a
// condition that is not a bool and missing parameters are refused at save,
// each naming its field and reason; a valid one of each kind is kept.
func TestRuleValidation(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		bad := []struct {
			name  string
			in    sensing.RuleInput
			field string
		}{
			{"unknown field", sensing.RuleInput{Name: sp("x"), Kind: sp("threshold"), DeviceType: sp("smart_watch"), Expr: sp("pulse > 150.0")}, "expr"},
			{"type error", sensing.RuleInput{Name: sp("x"), Kind: sp("threshold"), DeviceType: sp("smart_watch"), Expr: sp(`heart_rate > "high"`)}, "expr"},
			{"not a bool", sensing.RuleInput{Name: sp("x"), Kind: sp("threshold"), DeviceType: sp("smart_watch"), Expr: sp("heart_rate + 1.0")}, "expr"},
			{"syntax", sensing.RuleInput{Name: sp("x"), Kind: sp("threshold"), DeviceType: sp("smart_watch"), Expr: sp("heart_rate >")}, "expr"},
			{"no expr", sensing.RuleInput{Name: sp("x"), Kind: sp("threshold"), DeviceType: sp("smart_watch")}, "expr"},
			{"unknown kind", sensing.RuleInput{Name: sp("x"), Kind: sp("magic"), DeviceType: sp("smart_watch")}, "kind"},
			{"unknown type", sensing.RuleInput{Name: sp("x"), Kind: sp("absence"), DeviceType: sp("toaster"), Seconds: i64(3600)}, "device_type"},
			{"no name", sensing.RuleInput{Kind: sp("absence"), DeviceType: sp("smart_watch"), Seconds: i64(3600)}, "name"},
			{"absence too short", sensing.RuleInput{Name: sp("x"), Kind: sp("absence"), DeviceType: sp("smart_watch"), Seconds: i64(5)}, "seconds"},
			{"low use without field", sensing.RuleInput{Name: sp("x"), Kind: sp("low_use"), DeviceType: sp("water_meter"), Seconds: i64(43200), Limit: fp(0.01)}, "field"},
			{"low use of a field not in the profile", sensing.RuleInput{Name: sp("x"), Kind: sp("low_use"), DeviceType: sp("water_meter"), Field: sp("kwh"), Seconds: i64(43200), Limit: fp(0.01)}, "field"},
			{"high use without limit", sensing.RuleInput{Name: sp("x"), Kind: sp("high_use"), DeviceType: sp("water_meter"), Field: sp("water_m3")}, "limit"},
			{"repeat of one", sensing.RuleInput{Name: sp("x"), Kind: sp("repeat"), DeviceType: sp("smart_watch"), Expr: sp("fall"), Count: ip(1)}, "count"},
			{"a flag compared with a number", sensing.RuleInput{Name: sp("x"), Kind: sp("threshold"), DeviceType: sp("smart_watch"), Expr: sp("fall == 1.0")}, "expr"},
			{"an enumeration compared with a number", sensing.RuleInput{Name: sp("x"), Kind: sp("threshold"), DeviceType: sp("parking_sensor"), Expr: sp("state > 1.0")}, "expr"},
			{"bad key", sensing.RuleInput{Name: sp("x"), Kind: sp("absence"), DeviceType: sp("smart_watch"), Seconds: i64(3600), KeyBy: sp("planet")}, "key_by"},
			{"bad quiet hours", sensing.RuleInput{Name: sp("x"), Kind: sp("absence"), DeviceType: sp("smart_watch"), Seconds: i64(3600), QuietFrom: ip(22)}, "quiet_from"},
		}
		for _, tc := range bad {
			t.Run(tc.name, func(t *testing.T) {
				_, err := f.svc.CreateRule(ctx, f.as("admin"), tc.in)
				e, ok := errs.As(err)
				if !ok || e.Code != errs.Invalid {
					t.Fatalf("got %v, want Invalid", err)
				}
				if _, ok := e.Fields[tc.field]; !ok {
					t.Errorf("got fields %v, want %s named", e.Fields, tc.field)
				}
			})
		}
		good := []sensing.RuleInput{
			{Name: sp("心率"), Kind: sp("threshold"), DeviceType: sp("smart_watch"), Expr: sp("heart_rate > 150.0 || heart_rate < 40.0")},
			{Name: sp("占用"), Kind: sp("duration"), DeviceType: sp("parking_sensor"), Expr: sp(`state == "occupied"`), Seconds: i64(480), KeyBy: sp("space")},
			{Name: sp("跌倒"), Kind: sp("repeat"), DeviceType: sp("smart_watch"), Expr: sp("fall"), Count: ip(3)},
			{Name: sp("失联"), Kind: sp("absence"), DeviceType: sp("smart_watch"), Seconds: i64(6 * 3600)},
			{Name: sp("用水过少"), Kind: sp("low_use"), DeviceType: sp("water_meter"), Field: sp("water_m3"), Limit: fp(0.01), Seconds: i64(43200), KeyBy: sp("person")},
			{Name: sp("用水过多"), Kind: sp("high_use"), DeviceType: sp("water_meter"), Field: sp("water_m3"), Limit: fp(2)},
			{Name: sp("低于习惯"), Kind: sp("baseline"), DeviceType: sp("electricity_meter"), Field: sp("kwh"), Limit: fp(0.2)},
		}
		for _, in := range good {
			if _, err := f.svc.CreateRule(ctx, f.as("admin"), in); err != nil {
				t.Errorf("%s: %v", *in.Name, err)
			}
		}
		if _, err := f.svc.CreateRule(ctx, f.as("staff-a"), good[0]); !errs.Is(err, errs.Forbidden) {
			t.Errorf("a community worker creates a rule: got %v, want Forbidden", err)
		}
		rs, err := f.svc.Rules(ctx, f.as("admin"))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(rs), len(good); got != want {
			t.Fatalf("got %d rules, want %d", got, want)
		}
		// A change is validated too, and bumps the version; disabling keeps the rule.
		if _, err := f.svc.UpdateRule(ctx, f.as("admin"), rs[0].ID, sensing.RuleInput{Expr: sp("steps")}); !errs.Is(err, errs.Invalid) {
			t.Errorf("patch to a non-bool: got %v, want Invalid", err)
		}
		off := false
		r, err := f.svc.UpdateRule(ctx, f.as("admin"), rs[0].ID, sensing.RuleInput{Enabled: &off, Version: rs[0].Version})
		if err != nil {
			t.Fatal(err)
		}
		if r.Enabled || r.Version != 2 {
			t.Errorf("disabled: got enabled %v version %d, want false 2", r.Enabled, r.Version)
		}
		if _, err := f.svc.UpdateRule(ctx, f.as("admin"), rs[0].ID, sensing.RuleInput{Enabled: &off, Version: 1}); !errs.Is(err, errs.Conflict) {
			t.Errorf("stale version: got %v, want Conflict", err)
		}
	})
}
