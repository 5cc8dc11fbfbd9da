package web

import (
	"crypto/subtle"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/errs"
	"whistle/internal/oidc"
)

// oidcCookie holds one sign-in's state, nonce, PKCE verifier and next
// page between GET /login/oidc and its callback: random values, signed
// with the time they were issued (oidc.Provider.Seal), HttpOnly,
// SameSite=Lax (the provider's redirect back is a top-level GET), and
// short-lived. A cookie the server did not sign (one planted to fix the
// state and nonce, or edited) is refused, as is one older than
// oidcCookieAge whatever the browser kept.
const oidcCookie = "whistle_oidc"

const oidcCookiePath = "/login/oidc"

// oidcCookieAge is how long a user may take at the provider's login page.
const oidcCookieAge = 10 * 60

// oidcPages sign staff in through the configured OpenID Connect provider
// (oidc.Provider); without one the routes answer 404.
type oidcPages struct {
	*view
	OIDC     *oidc.Provider
	Accounts *account.Store
	Clock    clock.Clock
}

// pageOIDCStart sends the browser to the provider.
func (s *oidcPages) pageOIDCStart(w http.ResponseWriter, r *http.Request) error {
	if s.OIDC == nil {
		return errs.E(errs.NotFound, "error.not_found")
	}
	state, nonce, verifier := account.NewToken(), account.NewToken(), oauth2.GenerateVerifier()
	next := url.QueryEscape(safeNext(r.URL.Query().Get("next")))
	sealed := s.OIDC.Seal(state+"."+nonce+"."+verifier+"."+next, s.Clock.Now())
	s.setCookie(w, r, &http.Cookie{Name: oidcCookie, Value: sealed, Path: oidcCookiePath,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: oidcCookieAge})
	http.Redirect(w, r, s.OIDC.AuthCodeURL(state, nonce, verifier), http.StatusFound)
	return nil
}

// pageOIDCCallback checks the state against the cookie, has the provider
// prove the user (oidc.Provider.Username) and opens the session of the
// existing staff account of that name (account.Store.LoginExternal).
// Refusals are shown on the login page: 400 for a bad state, 401 when the
// provider's answer does not verify, 403 for an unknown or disabled user.
func (s *oidcPages) pageOIDCCallback(w http.ResponseWriter, r *http.Request) error {
	if s.OIDC == nil {
		return errs.E(errs.NotFound, "error.not_found")
	}
	// One use only, whatever the outcome.
	s.setCookie(w, r, &http.Cookie{Name: oidcCookie, Value: "", Path: oidcCookiePath, MaxAge: -1, HttpOnly: true})
	q := r.URL.Query()
	var parts []string
	if c, err := r.Cookie(oidcCookie); err == nil {
		if v, ok := s.OIDC.Open(c.Value, s.Clock.Now(), oidcCookieAge*time.Second); ok {
			parts = strings.SplitN(v, ".", 4)
		}
	}
	if len(parts) != 4 || q.Get("state") == "" || subtle.ConstantTimeCompare([]byte(parts[0]), []byte(q.Get("state"))) != 1 {
		return s.refuse(w, r, errs.E(errs.Invalid, "oidc.bad_state"))
	}
	nonce, verifier := parts[1], parts[2]
	next, err := url.QueryUnescape(parts[3])
	if err != nil {
		next = "/"
	}
	if q.Get("error") != "" || q.Get("code") == "" {
		return s.refuse(w, r, errs.E(errs.Unauthorized, "oidc.failed"))
	}
	name, err := s.OIDC.Username(r.Context(), q.Get("code"), verifier, nonce)
	if err != nil {
		return s.refuse(w, r, err)
	}
	tok, _, sess, err := s.Accounts.LoginExternal(r.Context(), name, "oidc", account.WebSession, clientOf(r))
	if err != nil {
		return s.refuse(w, r, err)
	}
	s.setCookie(w, r, &http.Cookie{Name: sessionCookie, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Expires: sess.ExpiresAt})
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
	return nil
}

// refuse shows the login page with the reason and the error's status;
// unexpected errors go to the usual error page.
func (s *oidcPages) refuse(w http.ResponseWriter, r *http.Request, err error) error {
	e := asAppError(err)
	if e.Code == errs.Internal || e.Code == errs.Unavailable {
		return err
	}
	s.logError(r, httpStatus(e), e)
	f := loginForm{Next: "/", SSO: true, Error: s.Catalog.T(langOf(r), e.Msg.Key, e.Msg.Args...)}
	f.CSRF = s.setLoginCSRF(w, r)
	return s.render(w, r, httpStatus(e), "login.html", s.newPage(r, "page.login.title", f))
}
