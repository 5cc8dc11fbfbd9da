// Command opabench is the OPA/Rego baseline of the eligibility batch
// (issue 18, Performance), in its own module so that OPA's dependencies
// stay out of Whistle's: it translates the benchmark's policies (the
// demo's 33 and their variants, policy.BenchPolicies) from CEL to Rego —
// each condition's pass and fail rules in disjunctive normal form, so that
// a missing input is unknown as under Kleene's logic — and evaluates, in
// one process: the batch (policy.Batch, the memo) over N synthetic people,
// cel-go per record over a sample, and OPA's Go library (a prepared query
// of every person policy per record) over the same sample, checking that
// the three answer the same.
//
//	cd scripts/opabench && go run . [-people 1000000] [-policies 100] [-sample 2000]
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	celast "github.com/google/cel-go/common/ast"
	"github.com/google/cel-go/common/types"
	"github.com/open-policy-agent/opa/v1/rego"

	"whistle/internal/policy"
)

func main() {
	people := flag.Int("people", 1000000, "synthetic people for the batch")
	n := flag.Int("policies", 100, "policies (the demo's and variants)")
	sample := flag.Int("sample", 2000, "people evaluated per record by cel-go and by OPA")
	flag.Parse()
	if err := run(*people, *n, *sample); err != nil {
		fmt.Fprintln(os.Stderr, "opabench:", err)
		os.Exit(1)
	}
}

func run(people, n, sample int) error {
	ctx := context.Background()
	all, err := policy.BenchPolicies(n)
	if err != nil {
		return err
	}
	// Person and household policies: OPA is asked about people only.
	var ps []policy.DemoPolicy
	for _, p := range all {
		if p.Version.Target != policy.KindOrganisation {
			ps = append(ps, p)
		}
	}
	batch, err := policy.NewBatch(ps)
	if err != nil {
		return err
	}
	module, err := regoModule(ps)
	if err != nil {
		return err
	}
	pq, err := rego.New(rego.Query("data.elig.results"), rego.Module("elig.rego", module)).PrepareForEval(ctx)
	if err != nil {
		return fmt.Errorf("rego: %w\n%s", err, module)
	}
	fields := policy.FieldsOf(policy.KindPerson)
	rng := rand.New(rand.NewPCG(18, 5))
	record := func() map[string]any {
		v := map[string]any{}
		for _, f := range fields {
			if rng.IntN(3) == 0 {
				continue // unknown
			}
			switch f.Type {
			case policy.TInt:
				v[f.Key] = int64(rng.IntN(100))
			case policy.TDouble:
				v[f.Key] = float64(rng.IntN(40) * 100)
			case policy.TBool:
				v[f.Key] = rng.IntN(2) == 0
			case policy.TString:
				v[f.Key] = []string{"M", "F", "resident", "floating"}[rng.IntN(4)]
			case policy.TList:
				v[f.Key] = []string{}
			}
		}
		return v
	}
	fmt.Printf("load before: %s (%d CPUs); %d person policies\n", loadAvg(), runtime.NumCPU(), len(ps))
	// The batch over every synthetic person.
	t := policy.NewTable(policy.KindPerson)
	var recs []map[string]any
	for i := range people {
		v := record()
		t.Add(int64(i+1), "/330303/", v)
		if i < sample {
			recs = append(recs, v)
		}
	}
	runtime.GC()
	start := time.Now()
	packed, evals := batch.Evaluate(t)
	took := time.Since(start)
	batchNs := float64(took.Nanoseconds()) / float64(people*len(ps))
	fmt.Printf("batch (memo): %d people × %d policies in %.2f s = %.1f ns per evaluation (%d by CEL)\n", people, len(ps), took.Seconds(), batchNs, evals)
	// cel-go per record.
	runtime.GC()
	start = time.Now()
	var celAns [][]byte
	for _, v := range recs {
		celAns = append(celAns, batch.PerRecord(policy.KindPerson, v))
	}
	took = time.Since(start)
	celNs := float64(took.Nanoseconds()) / float64(len(recs)*len(ps))
	fmt.Printf("cel-go per record: %d people × %d policies in %.2f s = %.0f ns per evaluation\n", len(recs), len(ps), took.Seconds(), celNs)
	// OPA per record, every policy in one query.
	runtime.GC()
	start = time.Now()
	var opaAns []map[string]any
	for _, v := range recs {
		rs, err := pq.Eval(ctx, rego.EvalInput(v))
		if err != nil {
			return err
		}
		if len(rs) != 1 || len(rs[0].Expressions) != 1 {
			return fmt.Errorf("rego answered %v", rs)
		}
		opaAns = append(opaAns, rs[0].Expressions[0].Value.(map[string]any))
	}
	took = time.Since(start)
	opaNs := float64(took.Nanoseconds()) / float64(len(recs)*len(ps))
	fmt.Printf("OPA Rego per record: %d people × %d policies in %.2f s = %.0f ns per evaluation\n", len(recs), len(ps), took.Seconds(), opaNs)
	letters := map[string]byte{policy.Eligible: 'E', policy.NotEligible: 'N', policy.MayBeEligible: 'M'}
	bad := 0
	for i := range recs {
		for p, pol := range ps {
			o := letters[fmt.Sprint(opaAns[i][pol.Key])]
			if packed[i][p] != celAns[i][p] || o != celAns[i][p] {
				if bad < 5 {
					fmt.Printf("differ: person %d, %s: batch %c, cel-go %c, OPA %c (%v)\n", i, pol.Key, packed[i][p], celAns[i][p], o, recs[i])
				}
				bad++
			}
		}
	}
	fmt.Printf("answers compared: %d, differing: %d\n", len(recs)*len(ps), bad)
	fmt.Printf("OPA / batch: %.0fx; cel-go per record / batch: %.0fx; OPA / cel-go per record: %.1fx; extrapolated to %d people: batch %.1f s, cel-go %.0f s, OPA %.0f s\n",
		opaNs/batchNs, celNs/batchNs, opaNs/celNs, people, batchNs*float64(people*len(ps))/1e9, celNs*float64(people*len(ps))/1e9, opaNs*float64(people*len(ps))/1e9)
	fmt.Printf("load after: %s\n", loadAvg())
	if bad > 0 {
		return fmt.Errorf("%d answers differ", bad)
	}
	return nil
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

// regoModule translates the policies: per condition a rule that is "pass"
// when a term of its disjunctive normal form holds, "fail" when a term of
// its negation's does, "unknown" otherwise (an undefined input makes a
// term undefined); per policy all of its conditions under Kleene's logic.
func regoModule(ps []policy.DemoPolicy) (string, error) {
	var opts []cel.EnvOption
	types := map[string]string{}
	for _, f := range policy.FieldsOf(policy.KindPerson) {
		types[f.Key] = f.Type
		var t *cel.Type
		switch f.Type {
		case policy.TInt:
			t = cel.IntType
		case policy.TDouble:
			t = cel.DoubleType
		case policy.TBool:
			t = cel.BoolType
		case policy.TList:
			t = cel.ListType(cel.StringType)
		default:
			t = cel.StringType
		}
		opts = append(opts, cel.Variable(f.Key, t))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return "", err
	}
	tr := &translator{types: types}
	var b strings.Builder
	b.WriteString("package elig\n\nimport rego.v1\n\n")
	var results []string
	for pi, p := range ps {
		if p.Version.Rule.Op != "" {
			return "", fmt.Errorf("%s: only all-of policies are translated", p.Key)
		}
		var conds []string
		for ci, c := range p.Version.Conditions {
			ast, iss := env.Compile(c.Expr)
			if iss != nil && iss.Err() != nil {
				return "", iss.Err()
			}
			name := fmt.Sprintf("c_%d_%d", pi, ci)
			conds = append(conds, name)
			fmt.Fprintf(&b, "default %s := \"unknown\"\n\n", name)
			pos, err := tr.dnf(ast.NativeRep().Expr(), true)
			if err != nil {
				return "", fmt.Errorf("%s.%s: %w", p.Key, c.ID, err)
			}
			neg, err := tr.dnf(ast.NativeRep().Expr(), false)
			if err != nil {
				return "", fmt.Errorf("%s.%s: %w", p.Key, c.ID, err)
			}
			for _, term := range pos {
				fmt.Fprintf(&b, "%s := \"pass\" if {\n\t%s\n}\n\n", name, strings.Join(term, "\n\t"))
			}
			for _, term := range neg {
				fmt.Fprintf(&b, "%s := \"fail\" if {\n\t%s\n}\n\n", name, strings.Join(term, "\n\t"))
			}
		}
		r := fmt.Sprintf("r_%d", pi)
		var passes []string
		for _, c := range conds {
			passes = append(passes, c+` == "pass"`)
		}
		fmt.Fprintf(&b, "%s := \"not_eligible\" if {\n\t\"fail\" in {%s}\n} else := \"eligible\" if {\n\t%s\n} else := \"may_be_eligible\"\n\n",
			r, strings.Join(conds, ", "), strings.Join(passes, "\n\t"))
		results = append(results, fmt.Sprintf("%s: %s", strconv.Quote(p.Key), r))
	}
	sort.Strings(results)
	fmt.Fprintf(&b, "results := {\n\t%s,\n}\n", strings.Join(results, ",\n\t"))
	return b.String(), nil
}

// translator turns CEL conditions into Rego rule bodies.
type translator struct {
	types map[string]string
	vars  int
}

// dnf is the disjunctive normal form of e being true (or false): a list
// of terms, each a list of Rego expressions that must all hold.
func (tr *translator) dnf(e celast.Expr, truth bool) ([][]string, error) {
	switch e.Kind() {
	case celast.IdentKind:
		if tr.types[e.AsIdent()] != policy.TBool {
			return nil, fmt.Errorf("%s is not a yes/no field", e.AsIdent())
		}
		return [][]string{{fmt.Sprintf("input.%s == %t", e.AsIdent(), truth)}}, nil
	case celast.CallKind:
	default:
		return nil, fmt.Errorf("cannot translate %v", e.Kind())
	}
	call := e.AsCall()
	args := call.Args()
	switch fn := call.FunctionName(); fn {
	case "_&&_", "_||_":
		a, err := tr.dnf(args[0], truth)
		if err != nil {
			return nil, err
		}
		b, err := tr.dnf(args[1], truth)
		if err != nil {
			return nil, err
		}
		if (fn == "_&&_") == truth {
			return cross(a, b), nil
		}
		return append(a, b...), nil
	case "!_":
		return tr.dnf(args[0], !truth)
	case "_?_:_":
		cp, err := tr.dnf(args[0], true)
		if err != nil {
			return nil, err
		}
		cn, err := tr.dnf(args[0], false)
		if err != nil {
			return nil, err
		}
		a, err := tr.dnf(args[1], truth)
		if err != nil {
			return nil, err
		}
		b, err := tr.dnf(args[2], truth)
		if err != nil {
			return nil, err
		}
		return append(cross(cp, a), cross(cn, b)...), nil
	case "@in":
		x, err := tr.value(args[0])
		if err != nil {
			return nil, err
		}
		l, err := tr.value(args[1])
		if err != nil {
			return nil, err
		}
		if truth {
			return [][]string{{x + " in " + l}}, nil
		}
		tr.vars++
		v := fmt.Sprintf("x%d", tr.vars)
		return [][]string{{v + " := " + x, "not " + v + " in " + l}}, nil
	}
	ops := map[string][2]string{"_<_": {"<", ">="}, "_<=_": {"<=", ">"}, "_>_": {">", "<="}, "_>=_": {">=", "<"}, "_==_": {"==", "!="}, "_!=_": {"!=", "=="}}
	op, ok := ops[call.FunctionName()]
	if !ok {
		return nil, fmt.Errorf("cannot translate %s", call.FunctionName())
	}
	l, err := tr.value(args[0])
	if err != nil {
		return nil, err
	}
	r, err := tr.value(args[1])
	if err != nil {
		return nil, err
	}
	o := op[0]
	if !truth {
		o = op[1]
	}
	return [][]string{{l + " " + o + " " + r}}, nil
}

// value translates an operand: a field, a literal, a list, a division or
// a conversion to double.
func (tr *translator) value(e celast.Expr) (string, error) {
	switch e.Kind() {
	case celast.IdentKind:
		return "input." + e.AsIdent(), nil
	case celast.LiteralKind:
		switch v := e.AsLiteral().(type) {
		case types.String:
			return strconv.Quote(string(v)), nil
		case types.Double:
			return strconv.FormatFloat(float64(v), 'f', -1, 64), nil
		case types.Int:
			return strconv.FormatInt(int64(v), 10), nil
		case types.Bool:
			return strconv.FormatBool(bool(v)), nil
		}
	case celast.ListKind:
		var el []string
		for _, x := range e.AsList().Elements() {
			s, err := tr.value(x)
			if err != nil {
				return "", err
			}
			el = append(el, s)
		}
		return "{" + strings.Join(el, ", ") + "}", nil
	case celast.CallKind:
		call := e.AsCall()
		switch call.FunctionName() {
		case "_/_":
			a, err := tr.value(call.Args()[0])
			if err != nil {
				return "", err
			}
			b, err := tr.value(call.Args()[1])
			if err != nil {
				return "", err
			}
			return "(" + a + " / " + b + ")", nil
		case "double":
			return tr.value(call.Args()[0])
		}
	}
	return "", fmt.Errorf("cannot translate the operand %v", e)
}

// cross is the conjunction of two disjunctions.
func cross(a, b [][]string) [][]string {
	var out [][]string
	for _, x := range a {
		for _, y := range b {
			out = append(out, append(append([]string(nil), x...), y...))
		}
	}
	return out
}
