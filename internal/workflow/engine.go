package workflow

import "strings"

// Subject is the item an action is taken on, as the guards see it: the
// owning module answers for its attributes (case.reopens…).
type Subject interface {
	Attr(name string) (int, bool)
}

// Inputs are the fields a caller sent with an action, as the guards see
// them: numbers, booleans as 0 and 1; ok is false when absent.
type Inputs interface {
	Value(name string) (int, bool)
}

// Caller is who acts, as the allowed check sees them: the module decides
// which roles they hold and which relations they have to the subject.
type Caller interface {
	HasRole(role string) bool
	HasRelation(relation string) bool
}

// IsAttr reports whether a guard field names a subject attribute rather
// than an input field.
func IsAttr(field string) bool { return strings.IndexByte(field, '.') >= 0 }

// Holds evaluates the guard. An absent input or attribute fails it.
func (c Cond) Holds(s Subject, in Inputs) bool {
	var v int
	var ok bool
	if IsAttr(c.Field) {
		v, ok = s.Attr(c.Field)
	} else {
		v, ok = in.Value(c.Field)
	}
	if !ok {
		return false
	}
	switch c.Op {
	case "eq":
		return v == c.Value
	case "le":
		return v <= c.Value
	case "ge":
		return v >= c.Value
	case "lt":
		return v < c.Value
	case "gt":
		return v > c.Value
	}
	return false
}

// GuardsHold reports whether every guard of a holds.
func (a *Action) GuardsHold(s Subject, in Inputs) bool {
	for _, c := range a.When {
		if !c.Holds(s, in) {
			return false
		}
	}
	return true
}

// Allowed reports whether c may take a, and by what: the first of a's
// relations the caller has (relation true), else the first of its roles
// the caller holds.
func (a *Action) Allowed(c Caller) (by string, relation, ok bool) {
	for _, r := range a.Relations {
		if c.HasRelation(r) {
			return r, true, true
		}
	}
	for _, r := range a.Roles {
		if c.HasRole(r) {
			return r, false, true
		}
	}
	return "", false, false
}

// Choose returns the first candidate of action in state whose guards hold
// for s and in, or nil.
func (d *Definition) Choose(action, state string, s Subject, in Inputs) *Action {
	for _, a := range d.Candidates(action, state) {
		if a.GuardsHold(s, in) {
			return a
		}
	}
	return nil
}
