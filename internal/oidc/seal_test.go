package oidc

import (
	"strings"
	"testing"
	"time"
)

// TestSealOpen: a sealed sign-in cookie opens only unchanged, under the
// key that sealed it, and while it is young enough.
func TestSealOpen(t *testing.T) {
	p := &Provider{stateKey: stateKey("s3cret")}
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	value := "state.nonce.verifier.%2Fcases%2F1.json"
	good := p.Seal(value, now)
	i := strings.LastIndexByte(good, '.')
	sig := good[i+1:]
	for _, tc := range []struct {
		name   string
		cookie string
		p      *Provider
		at     time.Time
		ok     bool
	}{
		{name: "as sealed", cookie: good, p: p, at: now.Add(time.Minute), ok: true},
		{name: "other replica with the same secret", cookie: good, p: &Provider{stateKey: stateKey("s3cret")}, at: now, ok: true},
		{name: "other secret", cookie: good, p: &Provider{stateKey: stateKey("other")}, at: now},
		{name: "state changed", cookie: "forged" + good[len("state"):], p: p, at: now},
		{name: "time changed", cookie: value + "." + "9999999999" + "." + sig, p: p, at: now},
		{name: "signature changed", cookie: good[:i+1] + strings.Repeat("A", len(sig)), p: p, at: now},
		{name: "unsigned", cookie: value, p: p, at: now},
		{name: "empty", cookie: "", p: p, at: now},
		{name: "too old", cookie: good, p: p, at: now.Add(11 * time.Minute)},
		{name: "from the future", cookie: good, p: p, at: now.Add(-2 * time.Minute)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.p.Open(tc.cookie, tc.at, 10*time.Minute)
			if ok != tc.ok || (ok && got != value) {
				t.Errorf("Open: got %q, %v; want ok=%v (value %q)", got, ok, tc.ok, value)
			}
		})
	}
	if a, b := stateKey(""), stateKey(""); string(a) == string(b) {
		t.Error("two public clients got the same random key")
	}
}
