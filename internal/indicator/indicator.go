// Package indicator is the one registry of key performance indicators
// (KPI, 指标). An indicator has a name, a unit, a direction, a label and a
// definition in Chinese and English, and a provider that computes it for a
// subject (a region node, a department, or whatever a module counts) over a
// period. Every page and API that shows an indicator, and the benchmarking
// of units against their peers, reads it from here, so that each one is
// defined once.
//
// A provider is a Source and a formula: the Source reads the facts
// (named counters) of many subjects over one period in one read, and the
// formula turns one subject's facts into a Value. Batch groups the asked
// indicators by Source, so that a page computing ten indicators for a node
// and its twenty children reads each Source once, not two hundred times.
//
// The package knows nothing of cases: casework's indicators are registered
// by internal/stats over its rollups, and a new module registers its own
// Source and indicators without changing either.
package indicator

import (
	"context"
	"math"
	"regexp"
	"slices"
	"sync"
	"time"

	"whistle/internal/errs"
)

// Unit is what a value measures.
type Unit string

// The units.
const (
	Percent Unit = "percent" // a share in [0, 1], shown as a percentage
	Hours   Unit = "hours"   // a mean duration in (working) hours
	Count   Unit = "count"   // a number of items
	Stars   Unit = "stars"   // a mean rating, 1 to 5
	Days    Unit = "days"    // a mean duration in calendar days
	// Yuan is an amount of money in yuan: a sum (a count formula whose Per
	// turns fen into yuan) or a mean (a ratio).
	Yuan Unit = "yuan"
)

func (u Unit) valid() bool {
	return u == Percent || u == Hours || u == Count || u == Stars || u == Days || u == Yuan
}

// Direction says which way is better, for ranking.
type Direction string

// The directions.
const (
	HigherBetter Direction = "higher_better"
	LowerBetter  Direction = "lower_better"
	// Neutral is for counts whose size is neither good nor bad (cases
	// received).
	Neutral Direction = "neutral"
)

func (d Direction) valid() bool { return d == HigherBetter || d == LowerBetter || d == Neutral }

// Text is a text in Chinese and English.
type Text struct {
	ZH string `json:"zh"`
	EN string `json:"en"`
}

// Subject is what an indicator is computed for: a kind ("region",
// "department", or a module's own) and a code within it.
type Subject struct {
	Kind string `json:"kind"`
	Code string `json:"code"`
}

// Period is the days from From to To in the district's time zone, From
// included and To excluded: both are instants, and a day counts when its
// start is at or after From's day start and before To. Sources that keep
// daily counters round From down and To up to their day boundaries.
type Period struct {
	From, To time.Time
}

// Facts are the named counters a Source read for one subject.
type Facts map[string]int64

// Source reads the facts of many subjects over one period in one read. A
// subject it knows nothing of (another kind) is left out of the answer,
// and its indicators have no data.
type Source interface {
	Facts(ctx context.Context, subjects []Subject, p Period) (map[Subject]Facts, error)
}

// Formula is how an indicator's value follows from a subject's facts.
type Formula struct {
	// Count is the counter a count indicator reports.
	Count string
	// Num and Den are the counters of a ratio: Num / Den / Per, no data
	// when Den is 0.
	Num, Den string
	// Per divides a ratio (3600 turns seconds into hours), or a sum of
	// money kept in fen (100 turns it into yuan); 0 is 1.
	Per float64
}

func (f Formula) ratio() bool { return f.Num != "" || f.Den != "" }

// Indicator is one KPI.
type Indicator struct {
	// Name is the stable identifier: lower case words joined by "_".
	Name       string    `json:"name"`
	Unit       Unit      `json:"unit"`
	Direction  Direction `json:"direction"`
	Label      Text      `json:"label"`
	Definition Text      `json:"definition"`
	// Source names a Source given to Register...; Formula computes the
	// value from its facts.
	Source  string  `json:"source"`
	Formula Formula `json:"-"`
	// Current says the value is the state at the time of asking (the
	// open cases now): the period does not apply, so a value for a past
	// period cannot be computed and a monthly series of it would repeat
	// today's figure (benchmarking's Snapshot leaves it out).
	Current bool `json:"current,omitempty"`
}

// Value is an indicator's value for one subject and period. Value is nil
// when there is no data (nothing measured: a ratio over no cases, or a
// subject its Source does not cover), which is not the same as 0. A ratio
// carries its numerator and denominator, so that values can be summed
// over subjects and ranked honestly (a 100 % over one case is not a 100 %
// over a thousand).
type Value struct {
	Value *float64 `json:"value"`
	// Num and Den are the ratio's counters (for a count, Num is the count
	// and Den 0; for a sum of money, Num is the sum before Per divides it).
	Num int64 `json:"num"`
	Den int64 `json:"den,omitempty"`
}

// HasData reports whether the value was measured.
func (v Value) HasData() bool { return v.Value != nil }

// Of computes the value from facts; ok is false when the facts are absent.
func (in *Indicator) Of(f Facts, ok bool) Value {
	if !ok {
		return Value{}
	}
	fo := in.Formula
	if !fo.ratio() {
		n := f[fo.Count]
		v := float64(n)
		if fo.Per != 0 {
			v /= fo.Per
		}
		return Value{Value: &v, Num: n}
	}
	num, den := f[fo.Num], f[fo.Den]
	out := Value{Num: num, Den: den}
	if den != 0 {
		v := float64(num) / float64(den)
		if fo.Per != 0 {
			v /= fo.Per
		}
		out.Value = &v
	}
	return out
}

// Registry holds the indicators and their Sources. It is safe for
// concurrent use; registration normally happens at start-up.
type Registry struct {
	mu      sync.RWMutex
	sources map[string]Source
	byName  map[string]*Indicator
}

// New returns an empty Registry.
func New() *Registry {
	return &Registry{sources: map[string]Source{}, byName: map[string]*Indicator{}}
}

// AddSource makes a Source available to indicators under a name; a name
// already taken is a Conflict.
func (r *Registry) AddSource(name string, s Source) (err error) {
	defer errs.Wrapf(&err, "indicator.AddSource(%s)", name)
	r.mu.Lock()
	defer r.mu.Unlock()
	if name == "" || s == nil {
		return errs.E(errs.Invalid, "error.invalid").Field("source", "field.required")
	}
	if _, ok := r.sources[name]; ok {
		return errs.E(errs.Conflict, "indicator.duplicate_source", name)
	}
	r.sources[name] = s
	return nil
}

// AddModule adds a module's Source under name and then its indicators,
// stopping at the first refusal: what a module calls once at wiring.
func (r *Registry) AddModule(name string, s Source, ins []Indicator) (err error) {
	defer errs.Wrapf(&err, "indicator.AddModule(%s)", name)
	if err := r.AddSource(name, s); err != nil {
		return err
	}
	for _, in := range ins {
		if err := r.Register(in); err != nil {
			return err
		}
	}
	return nil
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// Register adds an indicator. It refuses a duplicate name (Conflict) and
// a bad definition (Invalid, naming each bad field): a name that is not
// lower_snake_case, an unknown unit or direction, a missing label or
// definition in either language, an unknown Source, or a formula that is
// neither a count nor a ratio.
func (r *Registry) Register(in Indicator) (err error) {
	defer errs.Wrapf(&err, "indicator.Register(%s)", in.Name)
	r.mu.Lock()
	defer r.mu.Unlock()
	bad := errs.E(errs.Invalid, "error.invalid")
	if !nameRE.MatchString(in.Name) {
		bad.Field("name", "indicator.bad_name")
	}
	if !in.Unit.valid() {
		bad.Field("unit", "indicator.bad_unit")
	}
	if !in.Direction.valid() {
		bad.Field("direction", "indicator.bad_direction")
	}
	if in.Label.ZH == "" || in.Label.EN == "" {
		bad.Field("label", "field.required")
	}
	if in.Definition.ZH == "" || in.Definition.EN == "" {
		bad.Field("definition", "field.required")
	}
	if _, ok := r.sources[in.Source]; !ok {
		bad.Field("source", "indicator.unknown_source")
	}
	fo := in.Formula
	switch {
	case fo.ratio() && (fo.Num == "" || fo.Den == "" || fo.Count != "" || fo.Per < 0 || math.IsNaN(fo.Per) || math.IsInf(fo.Per, 0)):
		bad.Field("formula", "indicator.bad_formula")
	case !fo.ratio() && (fo.Count == "" || fo.Per < 0 || math.IsNaN(fo.Per) || math.IsInf(fo.Per, 0)):
		bad.Field("formula", "indicator.bad_formula")
	case !fo.ratio() && in.Unit != Count && in.Unit != Yuan:
		// A count counts items; only a sum of money is divided (fen
		// into yuan).
		bad.Field("unit", "indicator.bad_unit")
	case !fo.ratio() && in.Unit == Count && fo.Per != 0:
		bad.Field("formula", "indicator.bad_formula")
	}
	if len(bad.Fields) > 0 {
		return bad
	}
	if _, ok := r.byName[in.Name]; ok {
		return errs.E(errs.Conflict, "indicator.duplicate", in.Name)
	}
	c := in
	r.byName[in.Name] = &c
	return nil
}

// Get returns the indicator called name.
func (r *Registry) Get(name string) (Indicator, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	in, ok := r.byName[name]
	if !ok {
		return Indicator{}, false
	}
	return *in, true
}

// List returns every indicator, sorted by name.
func (r *Registry) List() []Indicator {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Indicator, 0, len(r.byName))
	for _, in := range r.byName {
		out = append(out, *in)
	}
	slices.SortFunc(out, func(a, b Indicator) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	return out
}

// Query asks for one subject over a period.
type Query struct {
	Subject Subject
	Period
}

// Compute computes one indicator for one subject and period.
func (r *Registry) Compute(ctx context.Context, name string, q Query) (_ Value, err error) {
	defer errs.Wrapf(&err, "indicator.Compute(%s, %s:%s)", name, q.Subject.Kind, q.Subject.Code)
	t, err := r.Batch(ctx, []string{name}, []Subject{q.Subject}, q.Period)
	if err != nil {
		return Value{}, err
	}
	return t[q.Subject][name], nil
}

// Table holds values by subject and indicator name.
type Table map[Subject]map[string]Value

// Batch computes several indicators for several subjects (a node and its
// children, say) over one period, reading each Source they use once. An
// unknown name is Invalid, and so is a period that ends before it starts.
func (r *Registry) Batch(ctx context.Context, names []string, subjects []Subject, p Period) (_ Table, err error) {
	defer errs.Wrapf(&err, "indicator.Batch(%d, %d)", len(names), len(subjects))
	bad := errs.E(errs.Invalid, "error.invalid")
	if p.From.IsZero() {
		bad.Field("from", "field.required")
	}
	if p.To.IsZero() {
		bad.Field("to", "field.required")
	}
	if !p.From.IsZero() && !p.To.IsZero() && !p.From.Before(p.To) {
		bad.Field("to", "indicator.bad_period")
	}
	r.mu.RLock()
	ins := make([]*Indicator, 0, len(names))
	for _, n := range names {
		in, ok := r.byName[n]
		if !ok {
			bad.Field("indicator", "indicator.unknown", n)
			continue
		}
		ins = append(ins, in)
	}
	bySource := map[string][]*Indicator{}
	var order []string
	for _, in := range ins {
		if len(bySource[in.Source]) == 0 {
			order = append(order, in.Source)
		}
		bySource[in.Source] = append(bySource[in.Source], in)
	}
	sources := make(map[string]Source, len(order))
	for _, s := range order {
		sources[s] = r.sources[s]
	}
	r.mu.RUnlock()
	if len(bad.Fields) > 0 {
		return nil, bad
	}
	out := make(Table, len(subjects))
	for _, s := range subjects {
		out[s] = make(map[string]Value, len(names))
	}
	for _, name := range order {
		facts, err := sources[name].Facts(ctx, subjects, p)
		if err != nil {
			return nil, err
		}
		for _, s := range subjects {
			f, ok := facts[s]
			for _, in := range bySource[name] {
				out[s][in.Name] = in.Of(f, ok)
			}
		}
	}
	return out, nil
}
