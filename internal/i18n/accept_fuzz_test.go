package i18n_test

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"whistle/internal/i18n"
)

// rangeWeight is one element of a well-formed Accept-Language header (RFC
// 9110 §12.5.4): a language range and an optional weight, whose "q" is
// case-insensitive and whose value has at most three decimals.
var rangeWeight = regexp.MustCompile(`^([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)(?:[ \t]*;[ \t]*[qQ]=(0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?))?$`)

// preferred reads a well-formed header on its own: the supported language
// with the highest weight, the first one on a tie; a weight of 0 means
// "not acceptable"; zh-CN when nothing supported is acceptable. It says
// false for a header that is not well formed.
func preferred(h string) (i18n.Lang, bool) {
	best, bestQ := i18n.ZH, 0.0
	for _, el := range strings.Split(h, ",") {
		el = strings.Trim(el, " \t")
		if el == "" {
			continue // empty list elements are allowed
		}
		m := rangeWeight.FindStringSubmatch(el)
		if m == nil {
			return "", false
		}
		q := 1.0
		if m[2] != "" {
			q, _ = strconv.ParseFloat(m[2], 64)
		}
		tag := strings.ToLower(m[1])
		var l i18n.Lang
		switch {
		case tag == "en" || strings.HasPrefix(tag, "en-"):
			l = i18n.EN
		case tag == "zh" || strings.HasPrefix(tag, "zh-"):
			l = i18n.ZH
		default:
			continue
		}
		if q > bestQ {
			best, bestQ = l, q
		}
	}
	return best, true
}

// FuzzAcceptLanguage: FromAcceptLanguage answers a supported language for
// any header, and for a well-formed one the language preferred reads.
func FuzzAcceptLanguage(f *testing.F) {
	for _, s := range []string{"", "en", "zh-CN", "en-US,en;q=0.9,zh-CN;q=0.8", "zh-CN,zh;q=0.9,en;q=0.8", "fr-FR, en;q=0.5", "de", "*",
		"en;q=0", "en;q=0, zh;q=0", "zh;q=0.5, en;q=0.5", "en;q=0.500, zh;q=0.499", "EN-gb", "en;Q=0.1, zh;q=0.5", "en ; q=0.7",
		"en;q=1.5", "en;q=abc", "en;level=1", "en_US", ",,en,,", "zh-Hant-TW;q=0.2,en-AU;q=0.3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		got := i18n.FromAcceptLanguage(h)
		if got != i18n.ZH && got != i18n.EN {
			t.Fatalf("FromAcceptLanguage(%q) = %q", h, got)
		}
		if want, ok := preferred(h); ok && got != want {
			t.Fatalf("FromAcceptLanguage(%q) = %q, want %q", h, got, want)
		}
	})
}
