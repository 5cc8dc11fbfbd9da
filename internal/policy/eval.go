package policy

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/google/cel-go/common/types"
)

// facts is what is known of a subject, coerced to the fields' types.
type facts struct {
	known    map[string]any
	verified map[string]bool
}

func newFacts(values map[string]any, verified map[string]bool, fields map[string]Field) facts {
	f := facts{known: make(map[string]any, len(values)), verified: verified}
	for k, v := range values {
		fd, ok := fields[k]
		if !ok {
			continue
		}
		if cv, ok := coerce(fd, v); ok {
			f.known[k] = cv
		}
	}
	return f
}

// evaluate answers the compiled version for the facts: each condition
// three-valued, combined by the rule under Kleene's logic.
func (c *compiled) evaluate(f facts) Result {
	r := Result{Policy: c.key, Version: c.v.Version, Title: c.v.Title, Documents: c.v.Documents,
		Department: c.v.Department, AutoPay: c.v.AutoPay, Period: c.v.Period, Conditions: make([]CondResult, len(c.conds)), Missing: []string{}, Verified: true}
	if r.Documents == nil {
		r.Documents = []Text{}
	}
	vals := make([]string, len(c.conds))
	for i, cc := range c.conds {
		vals[i] = threeValued(evalCEL(cc.prg, cc.reads, f.known))
		cr := CondResult{ID: cc.c.ID, Result: vals[i], Values: map[string]any{}, Text: cc.c.Text, Source: cc.c.Source}
		var missing []string
		for _, k := range cc.reads {
			if v, ok := f.known[k]; ok {
				cr.Values[k] = v
				if !f.verified[k] {
					r.Verified = false
				}
			} else {
				missing = append(missing, k)
			}
		}
		cr.Missing = missing
		cr.Explanation = explain(c.fields, cr)
		r.Conditions[i] = cr
	}
	switch c.combine(c.v.Rule, vals, true) {
	case Pass:
		r.Result = Eligible
	case Fail:
		r.Result = NotEligible
	default:
		r.Result = MayBeEligible
		seen := map[string]bool{}
		for i, cc := range c.conds {
			if vals[i] != Unknown {
				continue
			}
			for _, k := range cc.reads {
				if _, ok := f.known[k]; !ok && !seen[k] {
					seen[k] = true
					r.Missing = append(r.Missing, k)
				}
			}
		}
		sort.Strings(r.Missing)
	}
	if r.Result != NotEligible && c.amount != nil {
		out, err := evalCEL(c.amount, c.amtRead, f.known)
		if err == nil && !types.IsUnknownOrError(out) {
			var a float64
			switch x := out.Value().(type) {
			case int64:
				a = float64(x)
			case float64:
				a = x
			}
			r.Amount = &a
		}
	}
	r.Explanation = c.explainResult(r)
	return r
}

// combine is Kleene's all-of / any-of over the conditions' values; the
// empty rule is all of the conditions.
func (c *compiled) combine(g Group, vals []string, top bool) string {
	var items []string
	if top && g.Op == "" && len(g.Conds) == 0 && len(g.Groups) == 0 {
		items = vals
	} else {
		for _, id := range g.Conds {
			items = append(items, vals[c.byID[id]])
		}
		for _, sub := range g.Groups {
			items = append(items, c.combine(sub, vals, false))
		}
	}
	return kleene(g.Op == "any", items)
}

// kleene combines three-valued items: all-of fails on any fail, any-of
// passes on any pass; otherwise an unknown leaves it unknown.
func kleene(any bool, items []string) string {
	decide, other := Fail, Pass
	if any {
		decide, other = Pass, Fail
	}
	unknown := false
	for _, v := range items {
		switch v {
		case decide:
			return decide
		case Unknown:
			unknown = true
		}
	}
	if unknown {
		return Unknown
	}
	return other
}

// explain is one condition's answer in plain words, in zh and en: the
// condition, the values found (or missing) and the legal source.
func explain(fields map[string]Field, cr CondResult) Text {
	var zv, ev []string
	keys := make([]string, 0, len(cr.Values))
	for k := range cr.Values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		l, unit := fields[k].Label, fields[k].Unit
		if cr.Values[k] == MaskedValue {
			unit = ""
		}
		zv = append(zv, l.ZH+"为"+show(cr.Values[k], true)+unit)
		ev = append(ev, l.EN+" is "+show(cr.Values[k], false))
	}
	var zm, em []string
	for _, k := range cr.Missing {
		zm = append(zm, fields[k].Label.ZH)
		em = append(em, fields[k].Label.EN)
	}
	var z, e string
	switch cr.Result {
	case Pass:
		z, e = "符合", "met"
	case Fail:
		z, e = "不符合", "not met"
	default:
		z, e = "尚无法判断", "cannot be decided yet"
	}
	zt := fmt.Sprintf("「%s」%s", cr.Text.ZH, z)
	et := fmt.Sprintf("%q: %s", cr.Text.EN, e)
	if len(zv) > 0 {
		zt += "（" + strings.Join(zv, "，") + "）"
		et += " (" + strings.Join(ev, ", ") + ")"
	}
	if len(zm) > 0 && cr.Result == Unknown {
		zt += "，缺少：" + strings.Join(zm, "、")
		et += "; missing: " + strings.Join(em, ", ")
	}
	zt += "。依据：" + cr.Source
	et += ". Source: " + cr.Source
	return Text{ZH: zt, EN: et}
}

func (c *compiled) explainResult(r Result) Text {
	switch r.Result {
	case Eligible:
		return Text{"符合「" + r.Title.ZH + "」的全部条件。", "You meet every condition of \"" + r.Title.EN + "\"."}
	case NotEligible:
		var z, e []string
		for _, cr := range r.Conditions {
			if cr.Result == Fail {
				z, e = append(z, cr.Text.ZH), append(e, cr.Text.EN)
			}
		}
		return Text{"不符合「" + r.Title.ZH + "」：" + strings.Join(z, "；") + "。", "Not eligible for \"" + r.Title.EN + "\": " + strings.Join(e, "; ") + "."}
	}
	var z, e []string
	for _, k := range r.Missing {
		z, e = append(z, c.fields[k].Label.ZH), append(e, c.fields[k].Label.EN)
	}
	return Text{"可能符合「" + r.Title.ZH + "」，还需核实：" + strings.Join(z, "、") + "。", "You may qualify for \"" + r.Title.EN + "\"; still to check: " + strings.Join(e, ", ") + "."}
}

func show(v any, zh bool) string {
	switch x := v.(type) {
	case bool:
		if zh {
			if x {
				return "是"
			}
			return "否"
		}
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case []string:
		if len(x) == 0 {
			if zh {
				return "无"
			}
			return "none"
		}
		return strings.Join(x, ", ")
	}
	return fmt.Sprint(v)
}

// Questions ranks the missing facts of results by how many policies each
// would decide: the next question to ask first.
func Questions(results []Result) []Question {
	n := map[string]int{}
	for _, r := range results {
		for _, k := range r.Missing {
			n[k]++
		}
	}
	out := make([]Question, 0, len(n))
	all := fieldIndex(KindPerson)
	for k, v := range fieldIndex(KindOrganisation) {
		all[k] = v
	}
	for k, c := range n {
		out = append(out, Question{Key: k, Label: all[k].Label, Decides: c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Decides != out[j].Decides {
			return out[i].Decides > out[j].Decides
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// MaskedValue stands for a fact's value the caller may not see.
const MaskedValue = "***"

// Mask hides, in place, the values of the facts that are personal data
// (every field that is not derived from the registry's own columns: income,
// disability, 低保 …) in the conditions and their explanations, for staff
// who have not revealed them; results and sources stay.
func Mask(rs []Result) {
	all := fieldIndex(KindPerson)
	for k, v := range fieldIndex(KindOrganisation) {
		all[k] = v
	}
	for i := range rs {
		for j := range rs[i].Conditions {
			cr := &rs[i].Conditions[j]
			masked := false
			for k := range cr.Values {
				if f, ok := all[k]; !ok || !f.Derived {
					cr.Values[k], masked = MaskedValue, true
				}
			}
			if masked {
				cr.Explanation = explain(all, *cr)
			}
		}
	}
}
