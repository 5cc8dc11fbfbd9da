// Package category owns the problem categories a case is filed under: the
// CJ/T 214-2007 parts (部件, codes BJ…) and events (事件, SJ…) of 数字城管,
// and Whistle's own grassroots-governance classes (基层治理, ZL…). Each
// category carries a default department, workflow and time limit, and
// optional extra fields (Open311 attributes) that a report must fill in.
// Routing rules let an admin send a category in a region subtree to another
// department than the default.
//
// Categories are never deleted, because historic cases keep their category;
// they are deactivated instead.
package category

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"whistle/internal/errs"
)

// Kind says which classification a category belongs to.
type Kind string

// The kinds.
const (
	Part       Kind = "part"       // 部件: a physical object (CJ/T 214)
	Event      Kind = "event"      // 事件: a situation (CJ/T 214)
	Governance Kind = "governance" // 基层治理: Whistle's grassroots classes
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return k == Part || k == Event || k == Governance }

// Workflow names the case workflow a category's cases follow.
type Workflow string

// The workflows.
const (
	// WorkflowWhistle is 吹哨: community review, dispatch, claim, report, rating.
	WorkflowWhistle Workflow = "whistle"
	// WorkflowUrban is 数字城管: 发现—立案—派遣—处置—核查—结案.
	WorkflowUrban Workflow = "urban"
)

// Valid reports whether w is a known workflow.
func (w Workflow) Valid() bool { return w == WorkflowWhistle || w == WorkflowUrban }

// Datatype is the type of an extra field, as in Open311 GeoReport v2.
type Datatype string

// The Open311 datatypes.
const (
	FieldString          Datatype = "string"
	FieldNumber          Datatype = "number"
	FieldDatetime        Datatype = "datetime"
	FieldText            Datatype = "text"
	FieldSingleValueList Datatype = "singlevaluelist"
	FieldMultiValueList  Datatype = "multivaluelist"
)

// Valid reports whether d is a known datatype.
func (d Datatype) Valid() bool {
	switch d {
	case FieldString, FieldNumber, FieldDatetime, FieldText, FieldSingleValueList, FieldMultiValueList:
		return true
	}
	return false
}

// IsList reports whether values are chosen from a list.
func (d Datatype) IsList() bool { return d == FieldSingleValueList || d == FieldMultiValueList }

// Editions of the classification a code belongs to. Later national editions
// renumber the events, so a code means nothing without its edition.
const (
	EditionCJT214  = "CJ/T 214-2007"
	EditionWhistle = "whistle"
)

// Category is one node of the category tree.
type Category struct {
	Code       string
	ParentCode string // "" for a root
	Name       string // Chinese
	NameEN     string
	Kind       Kind
	Edition    string
	Workflow   Workflow
	// Department is the default handling department's code. "" means the
	// category has no default of its own: routing falls back to the nearest
	// ancestor's, and where no ancestor has one, to the community or street
	// where the case is.
	Department string
	// TimeLimit is "Nh" (working hours), "Nwd" (working days) or "Nch"
	// (natural clock hours); "" when unknown.
	TimeLimit string
	Urgent    bool
	// AutoDispatch dispatches a case as soon as it is accepted (or
	// registered) to the department its routing picks, when routing picks
	// one; otherwise the case waits in the dispatch queue as usual.
	AutoDispatch bool
	// Open311 says whether the category is offered as an Open311 service.
	Open311 bool
	Active  bool
	// Common ranks the common categories, shown first: 1 comes first; 0 means
	// not common.
	Common int
	// Sort orders siblings (then code).
	Sort     int
	Fields   []Field
	Children []*Category // filled by Tree and Subtree only

	CreatedAt time.Time
	UpdatedAt time.Time
}

// Leaf reports whether c has no children. It is meaningful only on nodes
// returned by Tree or Subtree.
func (c *Category) Leaf() bool { return len(c.Children) == 0 }

// Field defines an extra field that a report in the category carries (an
// Open311 service attribute).
type Field struct {
	Key      string   `json:"key"`
	Label    string   `json:"label"`
	LabelEN  string   `json:"label_en,omitempty"`
	Datatype Datatype `json:"datatype"`
	Required bool     `json:"required"`
	Order    int      `json:"order"`
	Values   []Value  `json:"values,omitempty"`
}

// Value is one choice of a list field.
type Value struct {
	Key    string `json:"key"`
	Name   string `json:"name"`
	NameEN string `json:"name_en,omitempty"`
}

// Patch changes some attributes of a category; nil leaves one unchanged.
// Code, parent, kind and edition never change: a different classification
// is a new category.
type Patch struct {
	Name         *string
	NameEN       *string
	Workflow     *Workflow
	Department   *string
	TimeLimit    *string
	Urgent       *bool
	AutoDispatch *bool
	Open311      *bool
	Common       *int
	Sort         *int
	Active       *bool
	Fields       *[]Field
}

// Limits on what a category may hold.
const (
	maxName      = 64
	maxNameEN    = 128
	maxEdition   = 32
	maxFields    = 30
	maxValues    = 100
	maxCommon    = 1000
	maxString    = 256  // runes in a string field's value
	maxText      = 4000 // runes in a text field's value
	maxTimeLimit = 9999
)

var (
	codeRe      = regexp.MustCompile(`^[A-Z][A-Z0-9]{0,31}$`)
	fieldKeyRe  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	valueKeyRe  = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)
	timeLimitRe = regexp.MustCompile(`^([1-9][0-9]{0,3})(h|wd|ch)$`)
)

// ParseTimeLimit splits a time limit such as "2wd" into its amount and unit
// ("h", "wd" or "ch"). ok is false for "" and anything malformed.
func ParseTimeLimit(s string) (n int, unit string, ok bool) {
	m := timeLimitRe.FindStringSubmatch(s)
	if m == nil {
		return 0, "", false
	}
	n, err := strconv.Atoi(m[1])
	if err != nil || n > maxTimeLimit {
		return 0, "", false
	}
	return n, m[2], true
}

func invalid() *errs.Error { return errs.E(errs.Invalid, "error.invalid") }

// checkText adds a field error when s is required and blank or too long.
func checkText(e *errs.Error, field, s string, required bool, maxRunes int) {
	switch {
	case required && strings.TrimSpace(s) == "":
		e.Field(field, "field.required")
	case utf8.RuneCountInString(s) > maxRunes:
		e.Field(field, "field.too_long", maxRunes)
	}
}

// checkAttrs validates the attributes a category carries besides its place
// in the tree, adding field errors to e.
func checkAttrs(e *errs.Error, c *Category) {
	checkText(e, "name", c.Name, true, maxName)
	checkText(e, "name_en", c.NameEN, false, maxNameEN)
	if !c.Workflow.Valid() {
		e.Field("workflow", "category.err.workflow")
	}
	if c.TimeLimit != "" {
		if _, _, ok := ParseTimeLimit(c.TimeLimit); !ok {
			e.Field("time_limit", "category.err.time_limit")
		}
	}
	if c.Common < 0 || c.Common > maxCommon {
		e.Field("common", "field.range", 0, maxCommon)
	}
	checkFieldDefs(e, c.Fields)
}

// checkFieldDefs validates extra-field definitions, naming each problem
// fields[i].attr so that a form can mark the exact input.
func checkFieldDefs(e *errs.Error, fs []Field) {
	if len(fs) > maxFields {
		e.Field("fields", "field.too_long", maxFields)
		return
	}
	seen := map[string]int{}
	for i, f := range fs {
		name := func(attr string) string { return fmt.Sprintf("fields[%d].%s", i, attr) }
		switch j, dup := seen[f.Key]; {
		case !fieldKeyRe.MatchString(f.Key):
			e.Field(name("key"), "category.err.field_key")
		case dup:
			e.Field(name("key"), "category.err.field_duplicate", f.Key, j+1)
		default:
			seen[f.Key] = i
		}
		checkText(e, name("label"), f.Label, true, maxName)
		checkText(e, name("label_en"), f.LabelEN, false, maxNameEN)
		if !f.Datatype.Valid() {
			e.Field(name("datatype"), "category.err.field_datatype", string(f.Datatype))
			continue
		}
		switch {
		case f.Datatype.IsList() && len(f.Values) == 0:
			e.Field(name("values"), "category.err.field_no_values")
		case !f.Datatype.IsList() && len(f.Values) > 0:
			e.Field(name("values"), "category.err.field_values_not_list")
		case len(f.Values) > maxValues:
			e.Field(name("values"), "field.too_long", maxValues)
		}
		keys := map[string]bool{}
		for k, v := range f.Values {
			vname := fmt.Sprintf("fields[%d].values[%d]", i, k)
			switch {
			case !valueKeyRe.MatchString(v.Key):
				e.Field(vname+".key", "category.err.value_key")
			case keys[v.Key]:
				e.Field(vname+".key", "category.err.value_duplicate", v.Key)
			}
			keys[v.Key] = true
			checkText(e, vname+".name", v.Name, true, maxName)
			checkText(e, vname+".name_en", v.NameEN, false, maxNameEN)
		}
	}
}

// sortFields orders field definitions for display: by Order, then key.
func sortFields(fs []Field) {
	slices.SortStableFunc(fs, func(a, b Field) int {
		if a.Order != b.Order {
			return a.Order - b.Order
		}
		return strings.Compare(a.Key, b.Key)
	})
}

// ValidateFields checks the extra-field values of a report in category c
// against c's field definitions: required fields are present, numbers
// parse, datetimes are RFC 3339, list values are among the choices, and no
// value names an undefined field. A multivaluelist value lists its choices'
// keys separated by commas. Blank values count as absent. It returns nil or
// an errs.Invalid error whose fields are the offending keys.
func ValidateFields(c *Category, values map[string]string) error {
	e := errs.E(errs.Invalid, "category.err.attributes", c.Code)
	defs := map[string]bool{}
	for _, f := range c.Fields {
		defs[f.Key] = true
		v := strings.TrimSpace(values[f.Key])
		if v == "" {
			if f.Required {
				e.Field(f.Key, "field.required")
			}
			continue
		}
		switch f.Datatype {
		case FieldNumber:
			x, err := strconv.ParseFloat(v, 64)
			if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
				e.Field(f.Key, "field.number")
			}
		case FieldDatetime:
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				e.Field(f.Key, "category.err.attribute_datetime")
			}
		case FieldString:
			if utf8.RuneCountInString(v) > maxString {
				e.Field(f.Key, "field.too_long", maxString)
			}
		case FieldText:
			if utf8.RuneCountInString(v) > maxText {
				e.Field(f.Key, "field.too_long", maxText)
			}
		case FieldSingleValueList:
			if !hasValue(f.Values, v) {
				e.Field(f.Key, "category.err.attribute_choice", v)
			}
		case FieldMultiValueList:
			for _, part := range strings.Split(v, ",") {
				if p := strings.TrimSpace(part); !hasValue(f.Values, p) {
					e.Field(f.Key, "category.err.attribute_choice", p)
					break
				}
			}
		}
	}
	for k := range values {
		if !defs[k] {
			e.Field(k, "category.err.attribute_unknown")
		}
	}
	if len(e.Fields) > 0 {
		return e
	}
	return nil
}

func hasValue(vs []Value, key string) bool {
	return slices.ContainsFunc(vs, func(v Value) bool { return v.Key == key })
}
