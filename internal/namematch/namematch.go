// Package namematch matches what residents type against Chinese names: the
// characters themselves, the full pinyin without tones ("yonglejie" for
// 永乐街) and the initials ("ylj"). The place search and the category
// picker share it, so a name is found the same way in both.
package namematch

import (
	"strings"
	"unicode"

	"github.com/mozillazg/go-pinyin"
)

// Key is a name prepared for matching: its lower-cased text and, for
// names with Chinese characters, their pinyin.
type Key struct {
	Text     string // lower case, spaces removed
	Full     string // "yonglejie"
	Initials string // "ylj"
}

// New prepares name (and any other names it goes by) for matching.
// Heteronyms take their most common reading, which is what a resident
// types.
func New(name string) Key {
	a := pinyin.NewArgs()
	// Letters and digits stay as they are, so "3号楼" gives "3haolou".
	a.Fallback = func(r rune, _ pinyin.Args) []string {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return []string{string(unicode.ToLower(r))}
		}
		return nil
	}
	var full, ini strings.Builder
	for _, syl := range pinyin.LazyPinyin(name, a) {
		full.WriteString(syl)
		ini.WriteString(syl[:1])
	}
	return Key{Text: Normalize(name), Full: full.String(), Initials: ini.String()}
}

// Normalize lower-cases q and drops spaces, apostrophes and hyphens, so
// "Yong Le Jie" and "yong'le" are typed pinyin like any other.
func Normalize(q string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '\'' || r == '’' || r == '-' {
			return -1
		}
		return unicode.ToLower(r)
	}, q)
}

// Scores of a match, best first; 0 is no match.
const (
	Exact          = 100
	Prefix         = 90
	Substring      = 80
	PinyinPrefix   = 70
	InitialsPrefix = 65
	PinyinSub      = 60
	InitialsSub    = 55
)

// Score says how well the normalized query q matches k (0: not at all).
// Pinyin is tried only for a query without Chinese characters.
func (k Key) Score(q string) int {
	switch {
	case q == "":
		return 0
	case k.Text == q:
		return Exact
	case strings.HasPrefix(k.Text, q):
		return Prefix
	case strings.Contains(k.Text, q):
		return Substring
	case hasHan(q):
		return 0
	case strings.HasPrefix(k.Full, q):
		return PinyinPrefix
	case strings.HasPrefix(k.Initials, q):
		return InitialsPrefix
	case strings.Contains(k.Full, q):
		return PinyinSub
	case strings.Contains(k.Initials, q):
		return InitialsSub
	}
	return 0
}

// Best is the best score of q over several keys (a name and its aliases).
func Best(q string, keys ...Key) int {
	best := 0
	for _, k := range keys {
		best = max(best, k.Score(q))
	}
	return best
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}
