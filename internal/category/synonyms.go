package category

import (
	"fmt"
	"strings"

	"whistle/internal/namematch"
)

// Synonyms are the words residents use for categories ("停车" for
// 机动车乱停放, "楼道" for 乱堆物堆料), by category code, from the embedded
// data/synonyms.csv; a district's own list can later be merged in the same
// shape.
type Synonyms map[string][]string

// DefaultSynonyms reads data/synonyms.csv. Each row names its category
// by code and name; a name that does not match the catalogue is an error,
// so the list cannot drift from the codes it is about.
func DefaultSynonyms() (Synonyms, error) {
	rows, err := readCSV("data/synonyms.csv", "code", "name", "synonyms")
	if err != nil {
		return nil, err
	}
	names, err := defaultNames()
	if err != nil {
		return nil, err
	}
	out := Synonyms{}
	for _, r := range rows {
		code := r["code"]
		if n, ok := names[code]; !ok || n != r["name"] {
			return nil, fmt.Errorf("category: data/synonyms.csv names %s %q, but the catalogue says %q", code, r["name"], n)
		}
		for _, w := range strings.Split(r["synonyms"], "|") {
			if w = strings.TrimSpace(w); w != "" {
				out[code] = append(out[code], w)
			}
		}
	}
	return out, nil
}

// defaultNames maps every default category's code to its Chinese name.
func defaultNames() (map[string]string, error) {
	cats, err := Defaults()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, c := range cats {
		out[c.Code] = c.Name
	}
	return out, nil
}

// SearchText is what the category picker filters on: the names given,
// the code and the synonyms, each also as pinyin and initials, lower case
// and separated by spaces. A query matches when its namematch.Normalize
// form is a substring of it (Matches; app.js applies the same rule).
func (s Synonyms) SearchText(code string, names ...string) string {
	var parts []string
	add := func(w string) {
		if w == "" {
			return
		}
		k := namematch.New(w)
		parts = append(parts, k.Text)
		if k.Full != "" && k.Full != k.Text {
			parts = append(parts, k.Full, k.Initials)
		}
	}
	for _, n := range names {
		add(n)
	}
	add(code)
	for _, w := range s[code] {
		add(w)
	}
	return strings.Join(parts, " ")
}

// Matches reports whether the query q finds a category with search text
// text (see SearchText).
func Matches(text, q string) bool {
	nq := namematch.Normalize(q)
	return nq != "" && strings.Contains(text, nq)
}
