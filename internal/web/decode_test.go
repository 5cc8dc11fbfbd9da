package web

import (
	"net/http/httptest"
	"strings"
	"testing"
)

// TestDecodeJSONTrailing: one JSON value, then only white space; a stray
// closing bracket or a second value is refused (dec.More alone let '}'
// and ']' through).
func TestDecodeJSONTrailing(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		ok         bool
	}{
		{"one value", `{"a":1}`, true},
		{"white space after", "{\"a\":1} \n\t", true},
		{"stray brace", `{"a":1}}`, false},
		{"stray bracket", `{"a":1}]`, false},
		{"second value", `{"a":1}{"a":2}`, false},
		{"garbage", `{"a":1}x`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			r.Header.Set("Content-Type", "application/json")
			var v struct{ A int }
			if err := decodeJSON(r, &v); (err == nil) != tc.ok {
				t.Errorf("decodeJSON(%s): got %v, want ok %v", tc.body, err, tc.ok)
			}
		})
	}
}
