package policy

import (
	"context"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/errs"
	"whistle/internal/registry"
)

// FactsInput is what a community worker records about a person: the
// missing facts eligibility asks for (income band, disability certificate,
// living alone …), by field key. A null value removes a fact, which
// becomes unknown again. Verified says the worker checked the values
// against their source (a certificate seen, a department's record), which
// a 免申即享 payout needs; Source names it.
type FactsInput struct {
	Facts    map[string]any `json:"facts"`
	Verified bool           `json:"verified"`
	Source   string         `json:"source"`
}

// maxFacts bounds one recording: the catalogue has fewer fields.
const maxFacts = 64

// RecordFacts validates facts against the field catalogue of a person's
// conditions and writes them through the registry, in scope (a person out
// of it is NotFound), all or none. Each field is checked for its type and
// a number for its Range; an
// unknown field, a derived one (age, groups: computed, not recorded) or a
// value of the wrong type is refused with a message on "facts.<key>". The
// registry's change feed carries each changed fact, so that the re-check
// re-evaluates the policies reading it and no others.
func (e *Engine) RecordFacts(ctx context.Context, sc account.Scope, actor audit.Actor, personID int64, in FactsInput) (err error) {
	defer errs.Wrapf(&err, "policy.Engine.RecordFacts(%d)", personID)
	bad := errs.E(errs.Invalid, "error.invalid")
	switch {
	case len(in.Facts) == 0:
		bad.Field("facts", "field.required")
	case len(in.Facts) > maxFacts:
		bad.Field("facts", "policy.err.too_many_facts", maxFacts)
	}
	if utf8.RuneCountInString(in.Source) > 200 {
		bad.Field("source", "field.too_long", 200)
	}
	if len(bad.Fields) > 0 {
		return bad
	}
	fields := fieldIndex(KindPerson)
	keys := make([]string, 0, len(in.Facts))
	for k := range in.Facts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	ins := make([]registry.FactInput, 0, len(keys))
	for _, k := range keys {
		name := "facts." + k
		f, ok := fields[k]
		switch {
		case !ok:
			bad.Field(name, "policy.err.unknown_fact", k)
			continue
		case f.Derived:
			bad.Field(name, "policy.err.derived_fact", f.Label.ZH, f.Label.EN)
			continue
		}
		v, ok := factValue(f.Type, in.Facts[k])
		if !ok {
			bad.Field(name, "policy.err.fact_type."+f.Type, f.Label.ZH, f.Label.EN)
			continue
		}
		if x, isNum := number(v); isNum && f.Range != nil && (x < f.Range.Min || x > f.Range.Max) {
			bad.Field(name, "policy.err.fact_range", f.Label.ZH, f.Label.EN, f.Range.Min, f.Range.Max)
			continue
		}
		ins = append(ins, registry.FactInput{Key: k, Value: v, Verified: in.Verified, Source: in.Source})
	}
	if len(bad.Fields) > 0 {
		return bad
	}
	return e.registry.SetFacts(ctx, sc, actor, registry.FactPerson, personID, ins)
}

// number is v as a float64 when it is a number (factValue's int64 or
// float64).
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int64:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}

// factValue converts a decoded JSON value to the field's type: ok is
// false when it is not of that type. nil (remove the fact) is of every
// type.
func factValue(typ string, v any) (any, bool) {
	if v == nil {
		return nil, true
	}
	num := func() (float64, bool) {
		switch x := v.(type) {
		case float64:
			return x, !math.IsNaN(x) && !math.IsInf(x, 0)
		case int64:
			return float64(x), true
		case int:
			return float64(x), true
		case json.Number:
			f, err := strconv.ParseFloat(string(x), 64)
			return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
		}
		return 0, false
	}
	switch typ {
	case TBool:
		b, ok := v.(bool)
		return b, ok
	case TString:
		s, ok := v.(string)
		return s, ok && s != "" && utf8.RuneCountInString(s) <= 100
	case TInt:
		f, ok := num()
		if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
			return nil, false
		}
		return int64(f), true
	case TDouble:
		f, ok := num()
		if !ok {
			return nil, false
		}
		return f, true
	case TList:
		xs, ok := v.([]any)
		if !ok || len(xs) > 50 {
			return nil, false
		}
		out := make([]string, 0, len(xs))
		for _, x := range xs {
			s, ok := x.(string)
			if !ok || s == "" || utf8.RuneCountInString(s) > 100 {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, false
}
