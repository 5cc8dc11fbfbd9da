package web

import (
	"net/url"
	"strings"
	"testing"
)

// browserNormal applies to a Location value what a browser's URL parser
// (WHATWG) does before resolving it, written apart from safeNext so that
// it can check it: leading and trailing C0 controls and spaces are
// stripped, tabs and newlines are removed everywhere, and a backslash in a
// special scheme's path is a slash.
func browserNormal(loc string) string {
	loc = strings.TrimFunc(loc, func(r rune) bool { return r <= 0x20 })
	loc = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(loc)
	return strings.ReplaceAll(loc, `\`, "/")
}

// FuzzSafeNext is issue 13 item 2's property: whatever next is, the
// redirect safeNext chooses keeps a browser on this origin, also when a
// proxy on the way decodes percent-escapes first. The oracle resolves the
// answer as a browser would against https://whistle.example/ with net/url,
// and checks a hand-written rule for the answer's form.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"", "/", "/cases?queue=overdue", `/\evil.example`, "/%5Cevil.example/x", "//evil.example", "/%2F/evil",
		"/\t/evil", " //evil", "\x00/evil", "https://evil.example", "javascript:alert(1)", "/%252F%252Fevil", "/.%2E/x", "/%0A/evil", "/ok#//frag"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://whistle.example/")
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got != "/" && got != next {
			t.Fatalf("safeNext(%q) = %q: neither the input nor /", next, got)
		}
		// The hand-written rule: one slash, then not a slash or a backslash,
		// and no control character, space or backslash anywhere.
		if !strings.HasPrefix(got, "/") || (len(got) > 1 && (got[1] == '/' || got[1] == '\\')) {
			t.Fatalf("safeNext(%q) = %q: not a single-slash path", next, got)
		}
		for _, c := range []byte(got) {
			if c <= ' ' || c == 0x7f || c == '\\' {
				t.Fatalf("safeNext(%q) = %q: holds byte %#x", next, got, c)
			}
		}
		// The browser's view, as sent and after up to three rounds of
		// percent-decoding by something on the way.
		loc := got
		for i := 0; i < 4; i++ {
			ref, err := url.Parse(browserNormal(loc))
			if err == nil {
				if u := base.ResolveReference(ref); u.Host != base.Host || u.Scheme != base.Scheme {
					t.Fatalf("safeNext(%q) = %q: after %d decodings %q resolves to %s", next, got, i, loc, u)
				}
			}
			dec, err := url.PathUnescape(loc)
			if err != nil || dec == loc {
				break
			}
			loc = dec
		}
	})
}
