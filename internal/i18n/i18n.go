// Package i18n holds Whistle's message catalogues (zh-CN first, en second)
// and picks a language from a request's preferences.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

//go:embed catalog/*.json
var files embed.FS

// Lang is a supported language tag.
type Lang string

// The supported languages. ZH is the default.
const (
	ZH Lang = "zh-CN"
	EN Lang = "en"
)

// Catalog translates message keys.
type Catalog struct {
	msgs map[Lang]map[string]string
}

// Load reads the embedded catalogues and checks that both languages have the
// same keys, so a missing translation fails at start-up, not in front of a user.
// A language's messages are catalog/LANG.json plus any catalog/FEATURE.LANG.json,
// so that each feature keeps its own file; a key defined twice is an error.
func Load() (*Catalog, error) { return load(files) }

func load(files fs.FS) (*Catalog, error) {
	c := &Catalog{msgs: map[Lang]map[string]string{}}
	names, err := fs.Glob(files, "catalog/*.json")
	if err != nil {
		return nil, err
	}
	for _, l := range []Lang{ZH, EN} {
		m := map[string]string{}
		for _, name := range names {
			base := strings.TrimSuffix(path.Base(name), ".json")
			if base != string(l) && !strings.HasSuffix(base, "."+string(l)) {
				continue
			}
			b, err := fs.ReadFile(files, name)
			if err != nil {
				return nil, err
			}
			part := map[string]string{}
			if err := json.Unmarshal(b, &part); err != nil {
				return nil, fmt.Errorf("i18n: %s: %w", name, err)
			}
			for k, v := range part {
				if _, dup := m[k]; dup {
					return nil, fmt.Errorf("i18n: %s: key %q is defined twice", name, k)
				}
				m[k] = v
			}
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("i18n: no catalogue for %s", l)
		}
		c.msgs[l] = m
	}
	var missing []string
	for k := range c.msgs[ZH] {
		if _, ok := c.msgs[EN][k]; !ok {
			missing = append(missing, "en:"+k)
		}
	}
	for k := range c.msgs[EN] {
		if _, ok := c.msgs[ZH][k]; !ok {
			missing = append(missing, "zh-CN:"+k)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("i18n: keys missing a translation: %s", strings.Join(missing, ", "))
	}
	return c, nil
}

// Has reports whether key exists.
func (c *Catalog) Has(key string) bool { _, ok := c.msgs[ZH][key]; return ok }

// Keys returns every key, sorted.
func (c *Catalog) Keys() []string {
	out := make([]string, 0, len(c.msgs[ZH]))
	for k := range c.msgs[ZH] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// T translates key into lang, formatting args with fmt verbs in the message.
// An unknown key returns the key itself, so that a bug shows but never breaks.
func (c *Catalog) T(lang Lang, key string, args ...any) string {
	m, ok := c.msgs[lang]
	if !ok {
		m = c.msgs[ZH]
	}
	s, ok := m[key]
	if !ok {
		return key
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// Phrase is a message key and its arguments, translated when it is read
// (Catalog.Say); an argument that is itself a Phrase is translated first.
// Its JSON ({"k": key, "a": [args]}) is how stored messages keep it.
type Phrase struct {
	Key  string `json:"k"`
	Args []any  `json:"a,omitempty"`
}

// Say translates p into lang, its Phrase arguments first.
func (c *Catalog) Say(lang Lang, p Phrase) string {
	args := make([]any, len(p.Args))
	for i, a := range p.Args {
		if q, ok := a.(Phrase); ok {
			a = c.Say(lang, q)
		}
		args[i] = a
	}
	return c.T(lang, p.Key, args...)
}

// Parse maps a language tag such as "en-US" or "zh" to a supported Lang.
func Parse(tag string) (Lang, bool) {
	t := strings.ToLower(strings.TrimSpace(tag))
	switch {
	case t == "en" || strings.HasPrefix(t, "en-") || strings.HasPrefix(t, "en_"):
		return EN, true
	case t == "zh" || strings.HasPrefix(t, "zh-") || strings.HasPrefix(t, "zh_"):
		return ZH, true
	}
	return "", false
}

// FromAcceptLanguage picks the first supported language in an
// Accept-Language header, by q-value; the default is zh-CN. A q of 0
// means "not acceptable" (RFC 9110), and the q is case-insensitive.
func FromAcceptLanguage(h string) Lang {
	best, bestQ := ZH, 0.0
	for _, part := range strings.Split(h, ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if p := strings.TrimSpace(params); len(p) >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=' {
			if _, err := fmt.Sscanf(p[2:], "%g", &q); err != nil {
				q = 0
			}
		}
		if l, ok := Parse(tag); ok && q > bestQ {
			best, bestQ = l, q
		}
	}
	return best
}
