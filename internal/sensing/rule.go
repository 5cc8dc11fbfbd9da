package sensing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/google/cel-go/cel"

	"whistle/internal/db"
	"whistle/internal/device"
	"whistle/internal/errs"
)

// The rule kinds (issue 17, Build 3).
const (
	KindThreshold = "threshold" // expr holds on a reading
	KindDuration  = "duration"  // expr holds for Seconds without a break
	KindRepeat    = "repeat"    // expr holds on Count readings in a row
	KindAbsence   = "absence"   // no reading for Seconds
	KindLowUse    = "low_use"   // Field sums to less than Limit over Seconds
	KindHighUse   = "high_use"  // Field sums to more than Limit in a day
	KindBaseline  = "baseline"  // Field below Limit × the key's learned median for the hour
)

var (
	kinds      = []string{KindThreshold, KindDuration, KindRepeat, KindAbsence, KindLowUse, KindHighUse, KindBaseline}
	keyBys     = []string{"device", "person", "space"}
	severities = []string{"info", "minor", "major", "critical"}
)

// fieldTypes are the reading fields of each device type as a rule's
// condition sees them, from the device profiles: a number is a CEL
// double, a flag a bool, an enumeration a string.
type fieldTypes map[string]map[string]string

func typesOf(ps device.Profiles) fieldTypes {
	out := fieldTypes{}
	for t, p := range ps {
		m := map[string]string{}
		for name, f := range p.Fields {
			m[name] = f.Kind
		}
		out[t] = m
	}
	return out
}

func (ft fieldTypes) names(typ string) []string {
	out := make([]string, 0, len(ft[typ]))
	for n := range ft[typ] {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Rule is a rule as stored: data an administrator edits.
type Rule struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	DeviceType string `json:"device_type"`
	// Expr is the CEL condition over the profile's fields (threshold,
	// duration and repeat).
	Expr string `json:"expr,omitempty"`
	// Field, Limit: the summed or learned field and its bound (low_use,
	// high_use; baseline: the share of the median, 0.2 = a fifth).
	Field string  `json:"field,omitempty"`
	Limit float64 `json:"limit,omitempty"`
	// Seconds: the duration, the absence or the low-use window.
	Seconds int64 `json:"seconds,omitempty"`
	// Count: readings in a row (repeat).
	Count int `json:"count,omitempty"`
	// KeyBy: what the state is kept per (device, person, space).
	KeyBy     string `json:"key_by"`
	AlarmType string `json:"alarm_type"`
	Severity  string `json:"severity"`
	// QuietFrom, QuietTo: quiet hours (0–23, local time) in which a
	// firing is recorded but raises no alarm; -1 for none.
	QuietFrom int  `json:"quiet_from"`
	QuietTo   int  `json:"quiet_to"`
	Enabled   bool `json:"enabled"`
	Version   int  `json:"version"`
	// FalseAlarmRate is the share of this rule's closed alarms closed as
	// false alarms (0 when none closed); Closed is how many were.
	FalseAlarmRate float64 `json:"false_alarm_rate"`
	Closed         int     `json:"closed"`
	// ClosedBy counts the closed alarms per closing reason.
	ClosedBy map[string]int `json:"closed_by_reason"`
}

// validate checks the rule and compiles its condition, naming each bad
// field; the compiled program comes back for the cache.
func (r *Rule) validate(ft fieldTypes) (cel.Program, *errs.Error) {
	e := errs.E(errs.Invalid, "error.invalid")
	r.Name = strings.TrimSpace(r.Name)
	r.Expr = strings.TrimSpace(r.Expr)
	switch n := utf8.RuneCountInString(r.Name); {
	case n == 0:
		e.Field("name", "field.required")
	case n > 100:
		e.Field("name", "field.too_long", 100)
	}
	if !contains(kinds, r.Kind) {
		e.Field("kind", "sensing.err.kind", strings.Join(kinds, ", "))
	}
	fields, ok := ft[r.DeviceType]
	if !ok {
		e.Field("device_type", "sensing.err.device_type", r.DeviceType)
	}
	if r.KeyBy == "" {
		r.KeyBy = "device"
	}
	if !contains(keyBys, r.KeyBy) {
		e.Field("key_by", "sensing.err.key_by")
	}
	if r.Severity == "" {
		r.Severity = "major"
	}
	if !contains(severities, r.Severity) {
		e.Field("severity", "sensing.err.severity")
	}
	r.AlarmType = strings.TrimSpace(r.AlarmType)
	if r.AlarmType == "" {
		r.AlarmType = r.Kind
	}
	if len(r.AlarmType) > 50 {
		e.Field("alarm_type", "field.too_long", 50)
	}
	if r.QuietFrom < -1 || r.QuietFrom > 23 || r.QuietTo < -1 || r.QuietTo > 23 || (r.QuietFrom < 0) != (r.QuietTo < 0) {
		e.Field("quiet_from", "sensing.err.quiet")
	}
	needExpr := r.Kind == KindThreshold || r.Kind == KindDuration || r.Kind == KindRepeat
	needField := r.Kind == KindLowUse || r.Kind == KindHighUse || r.Kind == KindBaseline
	needSeconds := r.Kind == KindDuration || r.Kind == KindAbsence || r.Kind == KindLowUse
	var prg cel.Program
	switch {
	case needExpr && r.Expr == "":
		e.Field("expr", "field.required")
	case needExpr && len(r.Expr) > 1000:
		e.Field("expr", "field.too_long", 1000)
	case needExpr && ok:
		p, err := compile(fields, r.Expr)
		var ce *exprError
		switch {
		case errors.As(err, &ce):
			e.Field("expr", ce.key, append([]any{r.Expr}, ce.args...)...)
		case err != nil:
			e.Field("expr", "sensing.err.expr", r.Expr, err.Error())
		}
		prg = p
	case !needExpr && r.Expr != "":
		e.Field("expr", "sensing.err.not_used")
	}
	switch {
	case needField && r.Field == "":
		e.Field("field", "field.required")
	case needField && ok && fields[r.Field] != device.KindNumber:
		e.Field("field", "sensing.err.field", r.Field, strings.Join(ft.numbers(r.DeviceType), ", "))
	case !needField && r.Field != "":
		e.Field("field", "sensing.err.not_used")
	}
	if needField && (r.Limit <= 0 || r.Limit > 1e9) {
		e.Field("limit", "sensing.err.limit")
	}
	if needSeconds && (r.Seconds < 60 || r.Seconds > 31*24*3600) {
		e.Field("seconds", "sensing.err.seconds")
	}
	if !needSeconds {
		r.Seconds = 0
	}
	if r.Kind == KindRepeat && (r.Count < 2 || r.Count > 1000) {
		e.Field("count", "sensing.err.count")
	}
	if r.Kind != KindRepeat {
		r.Count = 0
	}
	if len(e.Fields) > 0 {
		return nil, e
	}
	return prg, nil
}

// exprError is why a condition does not compile, as a message key and
// its arguments after the condition itself: an unknown field (with the
// profile's fields), an operator on mismatched types, a result that is
// not a bool, or a syntax error at a character.
type exprError struct {
	key  string
	args []any
	msg  string
}

func (e *exprError) Error() string { return e.msg }

// compile type-checks expr against the profile's fields: an unknown
// field, a type error or a result other than a bool is refused with the
// checker's reason. Numbers compare across int and double, so that
// heart_rate > 150 is what it reads as.
func compile(fields map[string]string, expr string) (cel.Program, error) {
	opts := make([]cel.EnvOption, 0, len(fields)+1)
	opts = append(opts, cel.CrossTypeNumericComparisons(true))
	for f, kind := range fields {
		t := cel.DoubleType
		switch kind {
		case device.KindBool:
			t = cel.BoolType
		case device.KindEnum:
			t = cel.StringType
		}
		opts = append(opts, cel.Variable(f, t))
	}
	env, err := cel.NewEnv(opts...)
	if err != nil {
		return nil, err
	}
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		return nil, explain(fields, iss)
	}
	if !ast.OutputType().IsExactType(cel.BoolType) {
		typ := ast.OutputType().String()
		return nil, &exprError{key: "sensing.err.expr_bool", args: []any{typ}, msg: fmt.Sprintf("the condition is a %s, not a bool", typ)}
	}
	return env.Program(ast, cel.EvalOptions(cel.OptOptimize))
}

var (
	undeclared = regexp.MustCompile(`undeclared reference to '([^']*)'`)
	noOverload = regexp.MustCompile(`found no matching overload for '([^']*)' applied to '\(([^)]*)\)'`)
)

// explain turns the checker's first issue into an exprError.
func explain(fields map[string]string, iss *cel.Issues) error {
	msg := strings.TrimSpace(iss.Err().Error())
	list := iss.Errors()
	if len(list) == 0 {
		return errors.New(msg)
	}
	first := list[0]
	col := first.Location.Column() + 1
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	slices.Sort(names)
	switch m := first.Message; {
	case undeclared.MatchString(m):
		return &exprError{key: "sensing.err.expr_field", args: []any{undeclared.FindStringSubmatch(m)[1], strings.Join(names, ", ")}, msg: msg}
	case noOverload.MatchString(m):
		sm := noOverload.FindStringSubmatch(m)
		op := strings.Trim(sm[1], "_@")
		return &exprError{key: "sensing.err.expr_type", args: []any{op, sm[2]}, msg: msg}
	case strings.HasPrefix(m, "Syntax error:"):
		return &exprError{key: "sensing.err.expr_syntax", args: []any{col, strings.TrimSpace(strings.TrimPrefix(m, "Syntax error:"))}, msg: msg}
	}
	return &exprError{key: "sensing.err.expr_other", args: []any{col, first.Message}, msg: msg}
}

// programs caches the compiled conditions by rule id and version: a rule
// is compiled once per version, not per reading.
type programs struct {
	ft fieldTypes
	mu sync.Mutex
	m  map[int64]compiled
}

type compiled struct {
	version int
	prg     cel.Program
}

func (p *programs) get(r *Rule) (cel.Program, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.m[r.ID]; ok && c.version == r.Version {
		return c.prg, nil
	}
	prg, err := compile(p.ft[r.DeviceType], r.Expr)
	if err != nil {
		return nil, err
	}
	if p.m == nil {
		p.m = map[int64]compiled{}
	}
	p.m[r.ID] = compiled{version: r.Version, prg: prg}
	return prg, nil
}

// holds evaluates a rule's condition on a reading's values: a field the
// reading lacks makes it false, never an error.
func (p *programs) holds(r *Rule, rd *Reading) bool {
	prg, err := p.get(r)
	if err != nil {
		return false
	}
	kinds := p.ft[r.DeviceType]
	act := make(map[string]any, len(rd.Values)+len(rd.Text))
	for k, v := range rd.Values {
		if kinds[k] == device.KindBool {
			act[k] = v != 0
		} else {
			act[k] = v
		}
	}
	for k, v := range rd.Text {
		act[k] = v
	}
	out, _, err := prg.Eval(act)
	if err != nil {
		return false
	}
	b, ok := out.Value().(bool)
	return ok && b
}

const ruleCols = `id, name, kind, device_type, expr, field, limit_value, seconds, repeat_count, key_by, alarm_type, severity,
	quiet_from, quiet_to, enabled, version`

type scanner interface{ Scan(dest ...any) error }

func scanRule(s scanner) (*Rule, error) {
	var r Rule
	var en int
	if err := s.Scan(&r.ID, &r.Name, &r.Kind, &r.DeviceType, &r.Expr, &r.Field, &r.Limit, &r.Seconds, &r.Count, &r.KeyBy,
		&r.AlarmType, &r.Severity, &r.QuietFrom, &r.QuietTo, &en, &r.Version); err != nil {
		return nil, err
	}
	r.Enabled = en == 1
	return &r, nil
}

// RuleInput is a new rule, or the fields of a change (PATCH: nil keeps).
type RuleInput struct {
	Name       *string  `json:"name"`
	Kind       *string  `json:"kind"`
	DeviceType *string  `json:"device_type"`
	Expr       *string  `json:"expr"`
	Field      *string  `json:"field"`
	Limit      *float64 `json:"limit"`
	Seconds    *int64   `json:"seconds"`
	Count      *int     `json:"count"`
	KeyBy      *string  `json:"key_by"`
	AlarmType  *string  `json:"alarm_type"`
	Severity   *string  `json:"severity"`
	QuietFrom  *int     `json:"quiet_from"`
	QuietTo    *int     `json:"quiet_to"`
	Enabled    *bool    `json:"enabled"`
	// Version, when set on a change, must be the rule's version.
	Version int `json:"version"`
}

func (in RuleInput) apply(r *Rule) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&r.Name, in.Name)
	set(&r.Kind, in.Kind)
	set(&r.DeviceType, in.DeviceType)
	set(&r.Expr, in.Expr)
	set(&r.Field, in.Field)
	set(&r.KeyBy, in.KeyBy)
	set(&r.AlarmType, in.AlarmType)
	set(&r.Severity, in.Severity)
	if in.Limit != nil {
		r.Limit = *in.Limit
	}
	if in.Seconds != nil {
		r.Seconds = *in.Seconds
	}
	if in.Count != nil {
		r.Count = *in.Count
	}
	if in.QuietFrom != nil {
		r.QuietFrom = *in.QuietFrom
	}
	if in.QuietTo != nil {
		r.QuietTo = *in.QuietTo
	}
	if in.Enabled != nil {
		r.Enabled = *in.Enabled
	}
}

// CreateRule validates and stores a new rule (enabled unless said).
func (s *Service) CreateRule(ctx context.Context, c Caller, in RuleInput) (_ *Rule, err error) {
	defer errs.Wrapf(&err, "sensing.Service.CreateRule")
	if err := mustBeAdmin(c); err != nil {
		return nil, err
	}
	r := &Rule{Enabled: true, QuietFrom: -1, QuietTo: -1}
	in.apply(r)
	if _, e := r.validate(s.prgs.ft); e != nil {
		return nil, e
	}
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error {
		id, err := tx.InsertID(ctx, `INSERT INTO sensing_rules (name, kind, device_type, expr, field, limit_value, seconds, repeat_count, key_by,
			alarm_type, severity, quiet_from, quiet_to, enabled, version, created_by, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15, $16, $16) RETURNING id`,
			r.Name, r.Kind, r.DeviceType, r.Expr, r.Field, r.Limit, r.Seconds, r.Count, r.KeyBy, r.AlarmType, r.Severity,
			r.QuietFrom, r.QuietTo, boolInt(r.Enabled), c.UserID(), tx.Now())
		r.ID, r.Version = id, 1
		return db.Translate(err)
	})
	if err != nil {
		return nil, err
	}
	s.rulesChanged()
	return s.Rule(ctx, r.ID)
}

// UpdateRule changes a rule (disabling it is Enabled false): its version
// goes up, so the engine compiles the new condition once.
func (s *Service) UpdateRule(ctx context.Context, c Caller, id int64, in RuleInput) (_ *Rule, err error) {
	defer errs.Wrapf(&err, "sensing.Service.UpdateRule(%d)", id)
	if err := mustBeAdmin(c); err != nil {
		return nil, err
	}
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error {
		r, err := scanRule(tx.QueryRow(ctx, `SELECT `+ruleCols+` FROM sensing_rules WHERE id = $1`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "sensing.rule_not_found")
		}
		if err != nil {
			return db.Translate(err)
		}
		if in.Version != 0 && in.Version != r.Version {
			return errs.E(errs.Conflict, "workflow.step.stale", r.Version).WithReason("stale_version")
		}
		if in.Kind != nil && *in.Kind != r.Kind {
			return errs.E(errs.Invalid, "error.invalid").Field("kind", "sensing.err.kind_fixed")
		}
		in.apply(r)
		if _, e := r.validate(s.prgs.ft); e != nil {
			return e
		}
		_, err = tx.Exec(ctx, `UPDATE sensing_rules SET name = $1, device_type = $2, expr = $3, field = $4, limit_value = $5, seconds = $6,
			repeat_count = $7, key_by = $8, alarm_type = $9, severity = $10, quiet_from = $11, quiet_to = $12, enabled = $13,
			version = version + 1, updated_at = $14 WHERE id = $15`,
			r.Name, r.DeviceType, r.Expr, r.Field, r.Limit, r.Seconds, r.Count, r.KeyBy, r.AlarmType, r.Severity, r.QuietFrom, r.QuietTo,
			boolInt(r.Enabled), tx.Now(), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.rulesChanged()
	return s.Rule(ctx, id)
}

// Rule returns a rule with its false-alarm rate.
func (s *Service) Rule(ctx context.Context, id int64) (_ *Rule, err error) {
	defer errs.Wrapf(&err, "sensing.Service.Rule(%d)", id)
	rs, err := s.rules(ctx, id)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, errs.E(errs.NotFound, "sensing.rule_not_found")
	}
	return rs[0], nil
}

// Rules lists every rule, with its false-alarm rate from the closing
// reasons of its alarms.
func (s *Service) Rules(ctx context.Context, c Caller) (_ []*Rule, err error) {
	defer errs.Wrapf(&err, "sensing.Service.Rules")
	if err := mustBeAdmin(c); err != nil {
		return nil, err
	}
	return s.rules(ctx, 0)
}

func (s *Service) rules(ctx context.Context, id int64) ([]*Rule, error) {
	w := db.Where{}
	if id != 0 {
		w.Add("id = ?", id)
	}
	rows, err := s.d.DB.Query(ctx, `SELECT `+ruleCols+` FROM sensing_rules`+w.SQL()+` ORDER BY id`, w.Args()...)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	var out []*Rule
	byID := map[int64]*Rule{}
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, db.Translate(err)
		}
		r.ClosedBy = map[string]int{}
		for _, why := range reasons {
			r.ClosedBy[why] = 0
		}
		out = append(out, r)
		byID[r.ID] = r
	}
	if err := rows.Err(); err != nil {
		return nil, db.Translate(err)
	}
	rows2, err := s.d.DB.Query(ctx, `SELECT rule_id, close_reason, COUNT(*) FROM sensing_alarms WHERE close_reason <> '' GROUP BY rule_id, close_reason`)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows2.Close()
	falses := map[int64]int{}
	for rows2.Next() {
		var rid int64
		var reason string
		var n int
		if err := rows2.Scan(&rid, &reason, &n); err != nil {
			return nil, db.Translate(err)
		}
		if r := byID[rid]; r != nil {
			r.Closed += n
			r.ClosedBy[reason] += n
			if reason == ReasonFalseAlarm {
				falses[rid] += n
			}
		}
	}
	if err := rows2.Err(); err != nil {
		return nil, db.Translate(err)
	}
	for _, r := range out {
		if r.Closed > 0 {
			r.FalseAlarmRate = float64(falses[r.ID]) / float64(r.Closed)
		}
	}
	return out, nil
}

// numbers lists a type's numeric fields, sorted.
func (ft fieldTypes) numbers(typ string) []string {
	var out []string
	for _, n := range ft.names(typ) {
		if ft[typ][n] == device.KindNumber {
			out = append(out, n)
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Kinds lists the rule kinds, for a form.
func Kinds() []string { return slices.Clone(kinds) }

// Severities lists the alarm severities, least first.
func Severities() []string { return slices.Clone(severities) }

// KeyBys lists what a rule's state may be kept per.
func KeyBys() []string { return slices.Clone(keyBys) }

// Fields lists, per device type, the fields a rule's condition may name,
// sorted.
func (s *Service) Fields() map[string][]string {
	out := make(map[string][]string, len(s.prgs.ft))
	for t := range s.prgs.ft {
		out[t] = s.prgs.ft.names(t)
	}
	return out
}
