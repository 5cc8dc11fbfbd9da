package policy

import (
	"fmt"
	"math"
	"slices"
	"sort"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
)

// envs are the CEL environments of the targets: one variable per declared
// field. They are immutable and shared.
type envs struct {
	by map[string]*cel.Env
}

func newEnvs() (*envs, error) {
	e := &envs{by: map[string]*cel.Env{}}
	for _, t := range []string{KindPerson, KindHousehold, KindOrganisation} {
		var opts []cel.EnvOption
		for _, f := range FieldsOf(t) {
			opts = append(opts, cel.Variable(f.Key, celType(f.Type)))
		}
		env, err := cel.NewEnv(opts...)
		if err != nil {
			return nil, err
		}
		e.by[t] = env
	}
	return e, nil
}

func celType(t string) *cel.Type {
	switch t {
	case TInt:
		return cel.IntType
	case TDouble:
		return cel.DoubleType
	case TBool:
		return cel.BoolType
	case TList:
		return cel.ListType(cel.StringType)
	}
	return cel.StringType
}

// compiled is a version ready to evaluate.
type compiled struct {
	key     string
	kind    string
	v       Version
	conds   []ccond
	byID    map[string]int
	amount  cel.Program
	amtRead []string
	// reads is every field the version reads, sorted: the field → policy
	// index is built from it. condReads are those its conditions read:
	// the result depends on them alone (the amount does not decide it).
	reads     []string
	condReads []string
	fields    map[string]Field
}

// ccond is a compiled condition.
type ccond struct {
	c     Condition
	prg   cel.Program
	reads []string
	fast  fastFn // nil: CEL only
}

// compileVersion checks and compiles v; problems come back instead of an
// error so that authors see every one of them.
func (en *envs) compileVersion(key, kind string, v Version) (*compiled, Problems) {
	var ps Problems
	env, ok := en.by[v.Target]
	if !ok {
		return nil, Problems{{Field: "target", Reason: Text{"目标对象须为 person、household 或 organisation", "the target must be person, household or organisation"}}}
	}
	c := &compiled{key: key, kind: kind, v: v, byID: map[string]int{}, fields: fieldIndex(v.Target)}
	if len(v.Conditions) == 0 {
		ps = append(ps, Problem{Field: "conditions", Reason: Text{"至少需要一个条件", "at least one condition is needed"}})
	}
	reads, condReads := map[string]bool{}, map[string]bool{}
	for _, cd := range v.Conditions {
		if cd.ID == "" || !validID(cd.ID) {
			ps = append(ps, Problem{Condition: cd.ID, Field: "id", Reason: Text{"条件编号须为小写字母、数字或下划线", "a condition id is lower-case letters, digits or underscores"}})
			continue
		}
		if _, dup := c.byID[cd.ID]; dup {
			ps = append(ps, Problem{Condition: cd.ID, Field: "id", Reason: Text{"条件编号重复", "the condition id is used twice"}})
			continue
		}
		if cd.Text.ZH == "" || cd.Text.EN == "" {
			ps = append(ps, Problem{Condition: cd.ID, Field: "text", Reason: Text{"条件须有中英文说明", "a condition needs its text in zh and en"}})
		}
		if cd.Source == "" {
			ps = append(ps, Problem{Condition: cd.ID, Field: "source", Reason: Text{"条件须注明政策依据（文件及条款）", "a condition must cite its legal source (document and article)"}})
		}
		prg, rd, p := compileExpr(env, cd.Expr, cel.BoolType)
		if p != nil {
			p.Condition = cd.ID
			ps = append(ps, *p)
			continue
		}
		for _, f := range rd {
			reads[f], condReads[f] = true, true
		}
		c.byID[cd.ID] = len(c.conds)
		c.conds = append(c.conds, ccond{c: cd, prg: prg, reads: rd, fast: fastCompile(cd.Expr, c.fields)})
	}
	ps = append(ps, c.checkGroup(v.Rule, "rule")...)
	if v.Amount != "" {
		prg, rd, p := compileExpr(env, v.Amount, nil)
		if p != nil {
			p.Field = "amount"
			ps = append(ps, *p)
		} else {
			c.amount, c.amtRead = prg, rd
			for _, f := range rd {
				reads[f] = true
			}
		}
	}
	if len(ps) > 0 {
		return nil, ps
	}
	for f := range reads {
		c.reads = append(c.reads, f)
	}
	for f := range condReads {
		c.condReads = append(c.condReads, f)
	}
	sort.Strings(c.reads)
	sort.Strings(c.condReads)
	return c, nil
}

func validID(s string) bool {
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_' || (i > 0 && r >= '0' && r <= '9')) {
			return false
		}
	}
	return len(s) <= 40
}

// checkGroup checks that a rule names existing conditions.
func (c *compiled) checkGroup(g Group, path string) Problems {
	var ps Problems
	if g.Op == "" && len(g.Conds) == 0 && len(g.Groups) == 0 {
		return nil
	}
	if g.Op != "all" && g.Op != "any" {
		ps = append(ps, Problem{Field: path, Reason: Text{"组合方式须为 all（全部满足）或 any（满足其一）", "a group's op must be all or any"}})
	}
	for _, id := range g.Conds {
		if _, ok := c.byID[id]; !ok {
			ps = append(ps, Problem{Condition: id, Field: path, Reason: Text{"组合中引用了不存在的条件 " + id, "the rule names a condition that does not exist: " + id}})
		}
	}
	for i, sub := range g.Groups {
		ps = append(ps, c.checkGroup(sub, fmt.Sprintf("%s.groups[%d]", path, i))...)
	}
	return ps
}

// compileExpr compiles a CEL expression; want nil accepts int or double
// (an amount). It returns the fields the expression reads.
func compileExpr(env *cel.Env, expr string, want *cel.Type) (cel.Program, []string, *Problem) {
	if expr == "" {
		return nil, nil, &Problem{Field: "expr", Reason: Text{"表达式为空", "the expression is empty"}}
	}
	if len(expr) > 2000 {
		return nil, nil, &Problem{Field: "expr", Reason: Text{"表达式过长", "the expression is too long"}}
	}
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, nil, &Problem{Field: "expr", Reason: Text{"表达式有误：" + iss.Err().Error(), "the expression is wrong: " + iss.Err().Error()}}
	}
	out := ast.OutputType()
	switch {
	case want != nil && !out.IsExactType(want):
		return nil, nil, &Problem{Field: "expr", Reason: Text{"条件须得出是或否，实际类型为 " + out.String(), "a condition must give true or false, not " + out.String()}}
	case want == nil && !out.IsExactType(cel.IntType) && !out.IsExactType(cel.DoubleType):
		return nil, nil, &Problem{Field: "expr", Reason: Text{"金额公式须得出数值，实际类型为 " + out.String(), "an amount must give a number, not " + out.String()}}
	}
	var reads []string
	for _, r := range ast.NativeRep().ReferenceMap() {
		if r.Name != "" && len(r.OverloadIDs) == 0 && !slices.Contains(reads, r.Name) {
			reads = append(reads, r.Name)
		}
	}
	sort.Strings(reads)
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptTrackState, cel.OptPartialEval))
	if err != nil {
		return nil, nil, &Problem{Field: "expr", Reason: Text{"表达式有误：" + err.Error(), "the expression is wrong: " + err.Error()}}
	}
	return prg, reads, nil
}

// coerce converts a fact to its field's CEL type; false when it cannot
// (a mistyped fact is unknown, not false).
func coerce(f Field, v any) (any, bool) {
	switch f.Type {
	case TInt:
		switch x := v.(type) {
		case int64:
			return x, true
		case int:
			return int64(x), true
		case float64:
			if x == math.Trunc(x) {
				return int64(x), true
			}
		}
	case TDouble:
		switch x := v.(type) {
		case float64:
			return x, true
		case int64:
			return float64(x), true
		case int:
			return float64(x), true
		}
	case TBool:
		if b, ok := v.(bool); ok {
			return b, true
		}
	case TString:
		if s, ok := v.(string); ok {
			return s, true
		}
	case TList:
		switch x := v.(type) {
		case []string:
			return x, true
		case []any:
			out := make([]string, 0, len(x))
			for _, e := range x {
				s, ok := e.(string)
				if !ok {
					return nil, false
				}
				out = append(out, s)
			}
			return out, true
		}
	}
	return nil, false
}

// evalCEL evaluates prg over the known values; the fields in reads that
// are not known are unknown attributes. It returns the three-valued
// result ("pass", "fail", "unknown") or, for an amount, the number.
func evalCEL(prg cel.Program, reads []string, known map[string]any) (ref.Val, error) {
	var pats []*cel.AttributePatternType
	for _, f := range reads {
		if _, ok := known[f]; !ok {
			pats = append(pats, cel.AttributePattern(f))
		}
	}
	vars, err := cel.PartialVars(known, pats...)
	if err != nil {
		return nil, err
	}
	out, _, err := prg.Eval(vars)
	return out, err
}

func threeValued(out ref.Val, err error) string {
	if err != nil || out == nil || types.IsUnknownOrError(out) {
		return Unknown
	}
	if b, ok := out.Value().(bool); ok {
		if b {
			return Pass
		}
		return Fail
	}
	return Unknown
}

// fastFn is a condition compiled to Go over the known values: it answers
// Pass, Fail or Unknown like CEL does.
type fastFn func(known map[string]any) string

// fastCompile is filled in by fast.go; nil means CEL only.
func fastCompile(expr string, fields map[string]Field) fastFn { return nil }
