// Package regimport imports the registry's people, houses and
// organisations from the Excel (.xlsx) and CSV files districts keep, with
// their Chinese headers, and exports the 台账 in the same layouts so that an
// export re-imports (issue 16, Build 2).
//
// The column layouts are data (layouts.json): each column names its
// registry field, its canonical Chinese header, the header synonyms the
// import accepts and the display values of its codes (常住 → resident). A
// file is read and every row checked before anything is written; any row
// error writes nothing, and the rows go to the registry in one transaction
// (registry.Store.UpsertPeople and friends), upserted by identity number,
// credit code or building and room, so re-importing a file changes nothing.
package regimport

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Kind is a kind of record a file holds.
type Kind string

// The kinds of file.
const (
	People        Kind = "people"
	Houses        Kind = "houses"
	Organisations Kind = "organisations"
)

// Kinds lists the kinds in display order.
func Kinds() []Kind { return []Kind{People, Houses, Organisations} }

// ParseKind returns the kind named s, or an error.
func ParseKind(s string) (Kind, error) {
	k := Kind(s)
	if slices.Contains(Kinds(), k) {
		return k, nil
	}
	return "", fmt.Errorf("regimport: unknown kind %q (want people, houses or organisations)", s)
}

// Column is a column of a layout.
type Column struct {
	// Field is the registry field the column fills (id_number).
	Field string `json:"field"`
	// Header is the canonical Chinese header, written by the export.
	Header string `json:"header"`
	// HeaderEN is the English header, for messages in English.
	HeaderEN string `json:"header_en"`
	// Synonyms are other headers the import accepts.
	Synonyms []string `json:"synonyms"`
	// Required columns must be in the file's header.
	Required bool `json:"required"`
	// Values are the display values of codes, [display, code] pairs
	// (["常住", "resident"]); the export writes a code's first pair.
	Values [][2]string `json:"values"`
	// Type is "text" (the default), "date" (YYYY-MM-DD) or "number".
	Type string `json:"type"`
}

// Layout is the columns of a kind, in export order.
type Layout struct {
	Kind    Kind
	Columns []Column
}

//go:embed layouts.json
var layoutsJSON []byte

// Layouts are the column layouts of every kind.
type Layouts map[Kind]Layout

// LoadLayouts parses the embedded layouts and checks them: no header or
// synonym twice in a layout.
func LoadLayouts() (Layouts, error) {
	var raw map[Kind][]Column
	if err := json.Unmarshal(layoutsJSON, &raw); err != nil {
		return nil, fmt.Errorf("regimport: layouts.json: %w", err)
	}
	out := Layouts{}
	for _, k := range Kinds() {
		cols, ok := raw[k]
		if !ok {
			return nil, fmt.Errorf("regimport: layouts.json has no %s layout", k)
		}
		seen := map[string]string{}
		for _, c := range cols {
			for _, h := range append([]string{c.Header}, c.Synonyms...) {
				n := normHeader(h)
				if f, dup := seen[n]; dup {
					return nil, fmt.Errorf("regimport: layouts.json: %s header %q names both %s and %s", k, h, f, c.Field)
				}
				seen[n] = c.Field
			}
		}
		out[k] = Layout{Kind: k, Columns: cols}
	}
	return out, nil
}

// normHeader is a header as matched: without spaces, a trailing "*" (the
// required mark of many templates) and full-width parentheses' contents
// such as 人员类型（常住/流动/寄住）.
func normHeader(h string) string {
	h = strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))
	for _, open := range []string{"（", "("} {
		if i := strings.Index(h, open); i > 0 {
			h = h[:i]
		}
	}
	h = strings.Trim(h, "*＊ \u3000")
	h = strings.ReplaceAll(h, " ", "")
	h = strings.ReplaceAll(h, "\u3000", "")
	return strings.ToLower(h)
}

// Column returns the layout's column of a field.
func (l Layout) Column(field string) (Column, bool) {
	for _, c := range l.Columns {
		if c.Field == field {
			return c, true
		}
	}
	return Column{}, false
}

// match maps a file's header to the layout: for each column of the file,
// the index of the layout column it fills, or -1 when the layout has no
// such column (the column is ignored). A header twice, or a required
// column missing, is an error naming it.
func (l Layout) match(header []string) (idx []int, missing []Column, dup []string) {
	byName := map[string]int{}
	for i, c := range l.Columns {
		for _, h := range append([]string{c.Header}, c.Synonyms...) {
			byName[normHeader(h)] = i
		}
	}
	idx = make([]int, len(header))
	got := make([]bool, len(l.Columns))
	for j, h := range header {
		i, ok := byName[normHeader(h)]
		if !ok || normHeader(h) == "" {
			idx[j] = -1
			continue
		}
		if got[i] {
			dup = append(dup, h)
			idx[j] = -1
			continue
		}
		got[i] = true
		idx[j] = i
	}
	for i, c := range l.Columns {
		if c.Required && !got[i] {
			missing = append(missing, c)
		}
	}
	return idx, missing, dup
}

// display returns the display value the export writes for a code: its
// first display value, or the code itself.
func (c Column) display(code string) string {
	for _, v := range c.Values {
		if v[1] == code {
			return v[0]
		}
	}
	return code
}

// code returns the code of a cell: a display value's code, or the value
// itself when it is a code; ok is false for anything else.
func (c Column) code(v string) (string, bool) {
	if v == "" || len(c.Values) == 0 {
		return v, true
	}
	for _, p := range c.Values {
		if p[0] == v || p[1] == v {
			return p[1], true
		}
	}
	return "", false
}

// choices lists the column's display values, one per code.
func (c Column) choices() string {
	var out []string
	seen := map[string]bool{}
	for _, p := range c.Values {
		if !seen[p[1]] {
			seen[p[1]] = true
			out = append(out, p[0])
		}
	}
	return strings.Join(out, "、")
}
