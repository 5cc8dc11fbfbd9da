package web

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"time"
)

// setCookie sets c on the answer to r, with the Secure flag when the
// request came over HTTPS (TLS here, or a trusted proxy's
// X-Forwarded-Proto) or with --secure-cookies (Server.secure). Every
// cookie the server sets goes through here, so that whatever decides
// Secure decides it for all.
func (s *view) setCookie(w http.ResponseWriter, r *http.Request, c *http.Cookie) {
	if s.secure(r) {
		c.Secure = true
	}
	http.SetCookie(w, c)
}

// clientCookie names an anonymous browser or API client: a random 128-bit
// value the server issues, HttpOnly. It scopes the Idempotency-Keys of
// anonymous reports (casework.Caller.Client), so that one anonymous
// caller's key never answers with another's case.
const clientCookie = "whistle_client"

// clientCookieAge is how long a client identity lasts: far longer than an
// Idempotency-Key (a day), so that a retry always carries the identity the
// key was stored under.
const clientCookieAge = 365 * 24 * time.Hour

// clientOfCookie returns the client identity r carries, or "" when it has
// none or a malformed one.
func clientOfCookie(r *http.Request) string {
	c, err := r.Cookie(clientCookie)
	if err != nil || !validClientID(c.Value) {
		return ""
	}
	return c.Value
}

// validClientID reports whether v looks like an identity the server
// issued: 32 lowercase hex digits.
func validClientID(v string) bool {
	if len(v) != 32 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ensureClient returns r's client identity, issuing one in a cookie when
// r has none.
func (s *view) ensureClient(w http.ResponseWriter, r *http.Request) string {
	if id := clientOfCookie(r); id != "" {
		return id
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	id := hex.EncodeToString(b[:])
	s.setCookie(w, r, &http.Cookie{Name: clientCookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		MaxAge: int(clientCookieAge / time.Second)})
	return id
}
