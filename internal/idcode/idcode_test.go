package idcode_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"whistle/internal/i18n"
	"whistle/internal/idcode"
)

// withCheck completes 17 digits with the ISO 7064 MOD 11-2 check character,
// computed independently of the package: the character c for which
// Σ aᵢ·2^(17−i) over all 18 positions (X = 10) is 1 modulo 11.
func withCheck(t *testing.T, first17 string) string {
	t.Helper()
	for _, c := range "0123456789X" {
		v := 10
		if c != 'X' {
			v = int(c - '0')
		}
		sum, pow := v, 2
		for i := 16; i >= 0; i-- {
			sum += int(first17[i]-'0') * pow
			pow = pow * 2 % 11
		}
		if sum%11 == 1 {
			return first17 + string(c)
		}
	}
	t.Fatalf("no check character for %s", first17)
	return ""
}

func TestResidentID(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC) // 18:00 in China
	cases := []struct {
		name    string
		in      string
		want    string // canonical form when valid
		wantKey string // catalogue key when refused
	}{
		{name: "valid GB 11643 example", in: "11010519491231002X", want: "11010519491231002X"},
		{name: "valid computed", in: withCheck(t, "33030319900101123"), want: withCheck(t, "33030319900101123")},
		{name: "valid born today in China", in: withCheck(t, "33030320261206001"), want: withCheck(t, "33030320261206001")},
		{name: "valid 1900-01-01", in: withCheck(t, "81000019000101001"), want: withCheck(t, "81000019000101001")},
		{name: "lowercase x stored as X", in: "11010519491231002x", want: "11010519491231002X"},
		{name: "spaces trimmed", in: " 11010519491231002X ", want: "11010519491231002X"},
		{name: "1990-13-40", in: withCheck(t, "33030319901340123"), wantKey: "idcode.err.birth_date"},
		{name: "1990-02-29 (not a leap year)", in: withCheck(t, "33030319900229123"), wantKey: "idcode.err.birth_date"},
		{name: "month zero", in: withCheck(t, "33030319900001123"), wantKey: "idcode.err.birth_date"},
		{name: "future date", in: withCheck(t, "33030320261207001"), wantKey: "idcode.err.birth_future"},
		{name: "future year", in: withCheck(t, "33030320300101001"), wantKey: "idcode.err.birth_future"},
		{name: "before 1900 (GB 11643's 1880 example)", in: "440524188001010014", wantKey: "idcode.err.birth_early"},
		{name: "000000 region", in: withCheck(t, "00000019900101123"), wantKey: "idcode.err.region"},
		{name: "unknown province 99", in: withCheck(t, "99030319900101123"), wantKey: "idcode.err.region"},
		{name: "residence permit 83", in: withCheck(t, "83000019900101123"), wantKey: "idcode.err.region"},
		{name: "all zeros", in: "000000000000000000", wantKey: "idcode.err.zeros"},
		{name: "all zeros with its check", in: withCheck(t, "00000000000000000"), wantKey: "idcode.err.zeros"},
		{name: "bad check", in: "110105194912310021", wantKey: "idcode.err.check"},
		{name: "short", in: "1101051949123100", wantKey: "idcode.err.id_length"},
		{name: "15-digit old form", in: "110105491231002", wantKey: "idcode.err.id_length"},
		{name: "letter inside", in: "11010519491231A02X", wantKey: "idcode.err.id_chars"},
		{name: "X inside", in: "1101051949123100XX", wantKey: "idcode.err.id_chars"},
		{name: "full-width digits", in: "１１０１０５１９４９１２３１００２X", wantKey: "idcode.err.id_length"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := idcode.ResidentID(tc.in, now)
			if tc.wantKey == "" {
				if err != nil || got != tc.want {
					t.Fatalf("ResidentID(%q) = %q, %v; want %q, nil", tc.in, got, err, tc.want)
				}
				return
			}
			var e *idcode.Error
			if !errors.As(err, &e) {
				t.Fatalf("ResidentID(%q) = %q, %v; want an *idcode.Error %s", tc.in, got, err, tc.wantKey)
			}
			if e.Key != tc.wantKey || got != "" {
				t.Errorf("ResidentID(%q) = %q, %s; want \"\", %s", tc.in, got, e.Key, tc.wantKey)
			}
		})
	}
}

// TestResidentIDBirthDateInChina checks that "today" is the date in China:
// at 2026-12-06 17:00 UTC it is already the 7th there.
func TestResidentIDBirthDateInChina(t *testing.T) {
	id := withCheck(t, "33030320261207001")
	if _, err := idcode.ResidentID(id, time.Date(2026, 12, 6, 15, 59, 0, 0, time.UTC)); err == nil {
		t.Errorf("born 2026-12-07, checked at 23:59 on the 6th in China: got valid, want birth_future")
	}
	if _, err := idcode.ResidentID(id, time.Date(2026, 12, 6, 16, 0, 0, 0, time.UTC)); err != nil {
		t.Errorf("born 2026-12-07, checked at 00:00 on the 7th in China: got %v, want valid", err)
	}
}

func TestValidProvince(t *testing.T) {
	// GB/T 2260's province-level codes, written out as the standard lists them.
	valid := "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82"
	want := map[string]bool{}
	for _, c := range strings.Fields(valid) {
		want[c] = true
	}
	for i := 0; i < 100; i++ {
		code := string(rune('0'+i/10)) + string(rune('0'+i%10))
		if got := idcode.ValidProvince(code); got != want[code] {
			t.Errorf("ValidProvince(%s) = %v, want %v", code, got, want[code])
		}
	}
	for _, bad := range []string{"", "1", "110", "1a"} {
		if idcode.ValidProvince(bad) {
			t.Errorf("ValidProvince(%q) = true, want false", bad)
		}
	}
}

// creditCheck computes the GB 32100 check character independently: the
// weights are 3^i mod 31, and the check makes the weighted sum, with the
// check's own value added, a multiple of 31.
func creditCheck(t *testing.T, first17 string) string {
	t.Helper()
	const set = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	sum, w := 0, 1
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(set, first17[i])
		if v < 0 {
			t.Fatalf("%q is outside the GB 32100 set", first17[i])
		}
		sum += v * w
		w = w * 3 % 31
	}
	for c := 0; c < 31; c++ {
		if (sum+c)%31 == 0 {
			return first17 + string(set[c])
		}
	}
	t.Fatal("unreachable")
	return ""
}

func TestCreditCode(t *testing.T) {
	cases := []struct {
		name, in, want, wantKey string
	}{
		// Published codes (business licences on the public record).
		{name: "valid 91350100M000100Y43", in: "91350100M000100Y43", want: "91350100M000100Y43"},
		{name: "valid Tencent Shenzhen", in: "91440300708461136T", want: "91440300708461136T"},
		{name: "valid Xiaomi", in: "91110108551385082Q", want: "91110108551385082Q"},
		{name: "valid computed", in: creditCheck(t, "52330303MJ0000001"), want: creditCheck(t, "52330303MJ0000001")},
		{name: "valid check character 0", in: "113303030000000080", want: "113303030000000080"},
		{name: "lowercase stored upper-case", in: "91350100m000100y43", want: "91350100M000100Y43"},
		{name: "bad check", in: "91350100M000100Y44", wantKey: "idcode.err.check"},
		{name: "letter I", in: "91350100I000100Y43", wantKey: "idcode.err.credit_chars"},
		{name: "letter O", in: "91350100O000100Y43", wantKey: "idcode.err.credit_chars"},
		{name: "letter Z", in: "91350100Z000100Y43", wantKey: "idcode.err.credit_chars"},
		{name: "letter S", in: "91350100S000100Y43", wantKey: "idcode.err.credit_chars"},
		{name: "letter V", in: "91350100V000100Y43", wantKey: "idcode.err.credit_chars"},
		{name: "punctuation", in: "91350100-000100Y43", wantKey: "idcode.err.credit_chars"},
		{name: "short", in: "91350100M000100Y4", wantKey: "idcode.err.credit_length"},
		{name: "all zeros", in: "000000000000000000", wantKey: "idcode.err.zeros"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := idcode.CreditCode(tc.in)
			if tc.wantKey == "" {
				if err != nil || got != tc.want {
					t.Fatalf("CreditCode(%q) = %q, %v; want %q, nil", tc.in, got, err, tc.want)
				}
				return
			}
			var e *idcode.Error
			if !errors.As(err, &e) || e.Key != tc.wantKey {
				t.Errorf("CreditCode(%q) = %q, %v; want \"\", %s", tc.in, got, err, tc.wantKey)
			}
		})
	}
}

// TestMessagesExist formats every refusal in both languages: the keys are
// built outside errs.E, where the i18n key test cannot see them.
func TestMessagesExist(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	var refusals []error
	for _, s := range []string{"1", "11010519491231A02X", "000000000000000000", withCheck(t, "00000019900101123"),
		withCheck(t, "33030319901340123"), withCheck(t, "33030320300101001"), "440524188001010014", "110105194912310021"} {
		_, err := idcode.ResidentID(s, now)
		refusals = append(refusals, err)
	}
	for _, s := range []string{"1", "91350100I000100Y43", "000000000000000000", "91350100M000100Y44"} {
		_, err := idcode.CreditCode(s)
		refusals = append(refusals, err)
	}
	keys := map[string]bool{}
	for _, err := range refusals {
		var e *idcode.Error
		if !errors.As(err, &e) {
			t.Fatalf("got %v, want an *idcode.Error", err)
		}
		keys[e.Key] = true
		for _, lang := range []i18n.Lang{i18n.ZH, i18n.EN} {
			msg := cat.T(lang, e.Key, e.Args...)
			if msg == e.Key || strings.Contains(msg, "%!") {
				t.Errorf("%s in %s: got %q, want a formatted message", e.Key, lang, msg)
			}
		}
	}
	if got, want := len(keys), 10; got != want {
		t.Errorf("refusals used %d keys, want %d (every key of the package)", got, want)
	}
}
