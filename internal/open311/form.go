package open311

import (
	"net/url"
	"sort"
	"strings"
)

// Attributes collects the attribute answers of a POST: attribute[CODE]=v,
// and attribute[CODE][]=k1&attribute[CODE][]=k2 for a multivaluelist, whose
// keys are joined with commas as category.ValidateFields expects. Blank
// values are dropped. bad lists the malformed attribute parameters.
func Attributes(form url.Values) (values map[string]string, bad []string) {
	values = map[string]string{}
	// Walk the names in order so "attribute[a]" and "attribute[a][]" join
	// the same way every time (map order is random).
	names := make([]string, 0, len(form))
	for name := range form {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		vs := form[name]
		rest, ok := strings.CutPrefix(name, "attribute[")
		if !ok {
			continue
		}
		code, tail, ok := strings.Cut(rest, "]")
		if !ok || code == "" || (tail != "" && tail != "[]") {
			bad = append(bad, name)
			continue
		}
		var keep []string
		for _, v := range vs {
			if v = strings.TrimSpace(v); v != "" {
				keep = append(keep, v)
			}
		}
		if len(keep) == 0 {
			continue
		}
		if prev := values[code]; prev != "" {
			keep = append([]string{prev}, keep...)
		}
		values[code] = strings.Join(keep, ",")
	}
	sort.Strings(bad)
	return values, bad
}

// NormalizePhone reduces a phone number to the 11 digits of a mainland
// mobile number when it is one written with spaces, dashes or the +86
// prefix; otherwise it returns "".
func NormalizePhone(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '+' || r == '(' || r == ')':
		default:
			return ""
		}
	}
	d := b.String()
	if len(d) == 13 && strings.HasPrefix(d, "86") {
		d = d[2:]
	}
	if len(d) != 11 || d[0] != '1' {
		return ""
	}
	return d
}
