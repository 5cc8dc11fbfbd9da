package account

import (
	"errors"
	"strings"
	"time"

	"whistle/internal/errs"
	"whistle/internal/idcode"
)

// ValidPhone reports whether s is a mainland mobile number: 11 digits from 1.
func ValidPhone(s string) bool {
	if len(s) != 11 || s[0] != '1' {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// checkIDNumber validates a resident identity number at now through
// idcode.ResidentID (real birth date, existing province, check character),
// adds the reason for a refusal to e under field, and returns the form to
// store: trimmed, with an upper-case X.
func checkIDNumber(e *errs.Error, field, s string, now time.Time) string {
	id, err := idcode.ResidentID(s, now)
	var bad *idcode.Error
	if errors.As(err, &bad) {
		e.Field(field, bad.Key, bad.Args...)
	}
	return id
}

// MaskPhone shows a mobile number as 138****1234.
func MaskPhone(s string) string {
	if len(s) < 7 {
		return strings.Repeat("*", len(s))
	}
	return s[:3] + strings.Repeat("*", len(s)-7) + s[len(s)-4:]
}

// MaskOpenID shows a WeChat openid by its first 3 and last 4 characters
// (oUp*********eS6o): enough for its owner to recognise it.
func MaskOpenID(s string) string {
	if len(s) <= 8 {
		return strings.Repeat("*", len(s))
	}
	return s[:3] + strings.Repeat("*", len(s)-7) + s[len(s)-4:]
}

// MaskIDNumber keeps the first 6 and last 4 characters of an identity number.
func MaskIDNumber(s string) string {
	if len(s) <= 10 {
		return strings.Repeat("*", len(s))
	}
	return s[:6] + strings.Repeat("*", len(s)-10) + s[len(s)-4:]
}
