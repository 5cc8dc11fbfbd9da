// Package idcode validates the identity codes of people and organisations:
// the resident identity number (公民身份号码, GB 11643) and the unified
// social credit code (统一社会信用代码, GB 32100). Every module that stores
// one (accounts now; the population registry and eligibility checks later)
// validates it here and stores the canonical form it returns.
//
// Failures are *Error values whose Key is an i18n catalogue key
// ("idcode.err.…") with its arguments, so that a caller puts them under
// its own field name: errs.E(…).Field("id_number", e.Key, e.Args...).
package idcode

import (
	"strings"
	"time"
)

// Error says why a code was refused.
type Error struct {
	// Key is the catalogue key of the message, e.g. "idcode.err.birth_date".
	Key  string
	Args []any
}

func (e *Error) Error() string { return "idcode: " + e.Key }

func fail(key string, args ...any) *Error { return &Error{Key: key, Args: args} }

// earliest is the first birth date a resident identity number may carry:
// earlier ones are typos rather than living residents.
var earliest = time.Date(1900, time.January, 1, 0, 0, 0, 0, time.UTC)

// provinces are the province-level divisions of GB/T 2260 that begin a
// resident identity number (71 台湾, 81 香港 and 82 澳门 included: residence
// permits carry 83 and are not resident identity numbers).
var provinces = [100]bool{
	11: true, 12: true, 13: true, 14: true, 15: true,
	21: true, 22: true, 23: true,
	31: true, 32: true, 33: true, 34: true, 35: true, 36: true, 37: true,
	41: true, 42: true, 43: true, 44: true, 45: true, 46: true,
	50: true, 51: true, 52: true, 53: true, 54: true,
	61: true, 62: true, 63: true, 64: true, 65: true,
	71: true, 81: true, 82: true,
}

// ValidProvince reports whether code (two digits) is a province-level
// division of GB/T 2260.
func ValidProvince(code string) bool {
	if len(code) != 2 || !digits(code) {
		return false
	}
	return provinces[int(code[0]-'0')*10+int(code[1]-'0')]
}

// idWeights are the ISO 7064 MOD 11-2 weights of the first 17 characters.
var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// ResidentCheck returns the check character of the first 17 digits of a
// resident identity number ('0'–'9' or 'X'). first17 must be 17 digits.
func ResidentCheck(first17 string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		sum += int(first17[i]-'0') * idWeights[i]
	}
	return "10X98765432"[sum%11]
}

// ResidentID validates an 18-character resident identity number and
// returns its canonical form (spaces trimmed, a trailing x upper-case).
// now bounds the birth date, which must be a real date from 1900-01-01 up
// to today in China (UTC+8); the first two digits must name a province;
// the check character must match. The first problem found is returned.
func ResidentID(s string, now time.Time) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 18 {
		return "", fail("idcode.err.id_length", 18)
	}
	if !digits(s[:17]) || !(isDigit(s[17]) || s[17] == 'X') {
		return "", fail("idcode.err.id_chars")
	}
	if strings.Trim(s[:17], "0") == "" {
		return "", fail("idcode.err.zeros")
	}
	if !ValidProvince(s[:2]) {
		return "", fail("idcode.err.region", s[:6])
	}
	if err := checkBirth(s[6:14], now); err != nil {
		return "", err
	}
	if s[17] != ResidentCheck(s[:17]) {
		return "", fail("idcode.err.check")
	}
	return s, nil
}

// china is UTC+8 without daylight saving: a birth date is a date there.
var china = time.FixedZone("CST", 8*3600)

// checkBirth validates YYYYMMDD as a birth date at now.
func checkBirth(ymd string, now time.Time) error {
	y, m, d := atoi(ymd[:4]), atoi(ymd[4:6]), atoi(ymd[6:8])
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if m < 1 || m > 12 || d < 1 || t.Day() != d || t.Month() != time.Month(m) {
		return fail("idcode.err.birth_date", ymd[:4]+"-"+ymd[4:6]+"-"+ymd[6:8])
	}
	if t.Before(earliest) {
		return fail("idcode.err.birth_early", t.Format(time.DateOnly), earliest.Format(time.DateOnly))
	}
	ny, nm, nd := now.In(china).Date()
	if t.After(time.Date(ny, nm, nd, 0, 0, 0, 0, time.UTC)) {
		return fail("idcode.err.birth_future", t.Format(time.DateOnly))
	}
	return nil
}

// creditChars is the GB 32100 character set: digits and the capital
// letters without I, O, Z, S and V; a character's value is its index.
const creditChars = "0123456789ABCDEFGHJKLMNPQRTUWXY"

// creditWeights are the weights of the first 17 characters (3^i mod 31).
var creditWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// CreditCheck returns the check character of the first 17 characters of a
// unified social credit code, or 0 if one of them is outside the charset.
func CreditCheck(first17 string) byte {
	sum := 0
	for i := 0; i < 17; i++ {
		v := strings.IndexByte(creditChars, first17[i])
		if v < 0 {
			return 0
		}
		sum += v * creditWeights[i]
	}
	return creditChars[(31-sum%31)%31]
}

// CreditCode validates an 18-character unified social credit code and
// returns its canonical form (spaces trimmed, upper-case): every character
// from the GB 32100 set, the last one the check character of the others.
func CreditCode(s string) (string, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) != 18 {
		return "", fail("idcode.err.credit_length", 18)
	}
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(creditChars, s[i]) < 0 {
			return "", fail("idcode.err.credit_chars")
		}
	}
	if strings.Trim(s[:17], "0") == "" {
		return "", fail("idcode.err.zeros")
	}
	if s[17] != CreditCheck(s[:17]) {
		return "", fail("idcode.err.check")
	}
	return s, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// atoi reads a string of digits already checked by digits.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
