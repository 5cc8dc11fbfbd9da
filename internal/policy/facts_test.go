package policy_test

import (
	"context"
	"testing"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
	"whistle/internal/policy"
	"whistle/internal/registry"
)

// lowIncome is a second policy reading other fields than elderly's.
func lowIncome() policy.Draft {
	return policy.Draft{Key: "low_income", Kind: policy.Resident, Version: policy.Version{
		Title: policy.Text{ZH: "低收入补助", EN: "Low-income aid"}, Target: policy.KindPerson, Period: "month", Department: "MZ", Amount: "200",
		Conditions: []policy.Condition{
			{ID: "income", Text: policy.Text{ZH: "月人均收入低于1200元", EN: "income per head under 1200 a month"}, Source: "温民〔2022〕3号 第二条",
				Expr: "income_per_head < 1200.0"},
		}}}
}

func fieldMsg(err error, field string) string {
	if e, ok := errs.As(err); ok && e.Code == errs.Invalid {
		return e.Fields[field].Key
	}
	return ""
}

// TestRecordFacts: a worker records a missing fact through the engine,
// which checks it against the field catalogue; the registry's feed
// carries it, and the re-check turns the person's elderly allowance from
// may_be_eligible to eligible while re-evaluating that one policy only
// (the low-income policy, which does not read hukou_local, is not
// touched). Unknown, derived and mistyped fields are refused per field
// and write nothing; a person out of scope is NotFound.
func TestRecordFacts(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		w.publish(t, elderly(80), "2026-01-01")
		w.publish(t, lowIncome(), "2026-01-01")
		id := w.addPerson(t, "19400101", 1)
		if _, err := w.eng.Run(ctx, nil); err != nil {
			t.Fatal(err)
		}
		s := &stream{world: w, d: d}
		s.deliver(t)
		stored := func(key string) string { return storedAll(t, w.eng)[policy.KindPerson][id][key] }
		if got := stored("elderly_allowance"); got != policy.MayBeEligible {
			t.Fatalf("before: elderly allowance %q, want may_be_eligible (hukou unknown)", got)
		}
		lowBefore := stored("low_income")
		staff := registry.ScopeOf(w.Users["staff-a"])

		for _, tt := range []struct {
			name  string
			in    policy.FactsInput
			field string
			key   string
		}{
			{"no facts", policy.FactsInput{}, "facts", "field.required"},
			{"an unknown field", policy.FactsInput{Facts: map[string]any{"hukou_local": true, "shoe_size": 42.0}}, "facts.shoe_size", "policy.err.unknown_fact"},
			{"a derived field", policy.FactsInput{Facts: map[string]any{"age": 81.0}}, "facts.age", "policy.err.derived_fact"},
			{"text for yes or no", policy.FactsInput{Facts: map[string]any{"hukou_local": "yes"}}, "facts.hukou_local", "policy.err.fact_type.bool"},
			{"a fraction for a whole number", policy.FactsInput{Facts: map[string]any{"disability_grade": 1.5}}, "facts.disability_grade", "policy.err.fact_type.int"},
			{"yes or no for a number", policy.FactsInput{Facts: map[string]any{"income_per_head": true}}, "facts.income_per_head", "policy.err.fact_type.double"},
			{"a negative income", policy.FactsInput{Facts: map[string]any{"income_per_head": -100.0}}, "facts.income_per_head", "policy.err.fact_range"},
			{"a disability grade of 9", policy.FactsInput{Facts: map[string]any{"disability_grade": 9.0}}, "facts.disability_grade", "policy.err.fact_range"},
		} {
			if err := w.eng.RecordFacts(ctx, staff, actor, id, tt.in); fieldMsg(err, tt.field) != tt.key {
				t.Errorf("%s: %v, want %s on %s", tt.name, err, tt.key, tt.field)
			}
		}
		if err := w.eng.RecordFacts(ctx, registry.ScopeOf(w.Users["staff-b"]), actor, id, policy.FactsInput{Facts: map[string]any{"hukou_local": true}}); !errs.Is(err, errs.NotFound) {
			t.Errorf("staff of another community: %v, want NotFound", err)
		}
		if err := w.eng.RecordFacts(ctx, registry.ScopeOf(w.Users["resident"]), actor, id, policy.FactsInput{Facts: map[string]any{"hukou_local": true}}); !errs.Is(err, errs.NotFound) {
			t.Errorf("a resident: %v, want NotFound", err)
		}
		if fs, err := w.reg.Facts(ctx, account.SystemScope(), registry.FactPerson, id, true); err != nil || len(fs) != 0 {
			t.Fatalf("after the refusals the person has facts %+v (%v), want none", fs, err)
		}
		s.deliver(t)
		if got := stored("elderly_allowance"); got != policy.MayBeEligible {
			t.Fatalf("after the refusals: elderly allowance %q", got)
		}

		before := w.eng.Stats().Rechecks.Load()
		if err := w.eng.RecordFacts(ctx, staff, actor, id, policy.FactsInput{Facts: map[string]any{"hukou_local": true}, Verified: true, Source: "户籍核对"}); err != nil {
			t.Fatal(err)
		}
		s.deliver(t)
		if got := w.eng.Stats().Rechecks.Load() - before; got != 1 {
			t.Errorf("recording hukou_local re-evaluated %d policies, want 1 (the elderly allowance only)", got)
		}
		if got := stored("elderly_allowance"); got != policy.Eligible {
			t.Errorf("after recording hukou_local: elderly allowance %q, want eligible", got)
		}
		if got := stored("low_income"); got != lowBefore {
			t.Errorf("the low-income policy moved from %q to %q", lowBefore, got)
		}
		fs, err := w.reg.Facts(ctx, account.SystemScope(), registry.FactPerson, id, true)
		if err != nil || len(fs) != 1 || fs[0].Key != "hukou_local" || fs[0].Value != true || !fs[0].Verified || fs[0].Source != "户籍核对" {
			t.Errorf("stored facts: %+v (%v)", fs, err)
		}
		// A number and a removal together; the removal makes the
		// allowance open again.
		before = w.eng.Stats().Rechecks.Load()
		if err := w.eng.RecordFacts(ctx, staff, actor, id, policy.FactsInput{Facts: map[string]any{"income_per_head": 900.0, "hukou_local": nil}}); err != nil {
			t.Fatal(err)
		}
		s.deliver(t)
		if got := w.eng.Stats().Rechecks.Load() - before; got != 2 {
			t.Errorf("recording income and removing hukou re-evaluated %d policies, want 2", got)
		}
		if got := stored("elderly_allowance"); got != policy.MayBeEligible {
			t.Errorf("after removing hukou_local: elderly allowance %q, want may_be_eligible", got)
		}
		if got := stored("low_income"); got != policy.Eligible {
			t.Errorf("with an income of 900: low income %q, want eligible", got)
		}
	})
}
