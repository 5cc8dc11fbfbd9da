package web

import (
	"math"
	"net/http"
	"strings"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/errs"
)

// phoneAPI serves sign-in by phone number and SMS code
// (account.PhoneStore documents the rules).
type phoneAPI struct {
	*view
	Phones *account.PhoneStore
	Cases  *casework.Service
}

type smsCodeRequest struct {
	Phone string `json:"phone"`
}

type smsSignInRequest struct {
	Phone string `json:"phone"`
	Code  string `json:"code"`
}

// apiSMSCode sends a login code. The answer is the same 202 for every
// well-formed number, known or not: nothing here looks the number up.
func (s *phoneAPI) apiSMSCode(w http.ResponseWriter, r *http.Request) error {
	var in smsCodeRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.Phones == nil {
		return errs.E(errs.Unavailable, "sms.unavailable")
	}
	if err := s.Phones.SendCode(r.Context(), strings.TrimSpace(in.Phone), clientOf(r)); err != nil {
		return err
	}
	ttl := s.Phones.Config().CodeTTL
	writeJSON(w, http.StatusAccepted, map[string]any{
		"message":    s.Catalog.T(langOf(r), "sms.code_sent", int(math.Ceil(ttl.Minutes()))),
		"expires_in": int(ttl.Seconds()),
	})
	return nil
}

// apiSMSSignIn answers like POST /api/v1/session (the token and the user)
// and also opens the browser session: the session cookie and, in the
// body, its CSRF token. The reports filed without an account under the
// number become the resident's (casework.ClaimByPhone).
func (s *phoneAPI) apiSMSSignIn(w http.ResponseWriter, r *http.Request) error {
	var in smsSignInRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if s.Phones == nil {
		return errs.E(errs.Unavailable, "sms.unavailable")
	}
	phone := strings.TrimSpace(in.Phone)
	tok, u, sess, err := s.Phones.SignIn(r.Context(), phone, strings.TrimSpace(in.Code), account.WebSession, clientOf(r))
	if err != nil {
		return err
	}
	if n, err := s.Cases.ClaimByPhone(r.Context(), u, phone); err != nil {
		// The claim is repeated at every sign-in; a failure now is not
		// worth refusing the sign-in for.
		s.Logger.Error("claiming the reports of a verified number", "user", u.ID, "err", err)
	} else if n > 0 {
		s.Logger.Info("reports claimed by a verified number", "user", u.ID, "cases", n)
	}
	s.setCookie(w, r, &http.Cookie{Name: sessionCookie, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Expires: sess.ExpiresAt})
	writeJSON(w, http.StatusOK, map[string]any{
		"token":      tok,
		"csrf_token": sess.CSRF,
		"user":       map[string]any{"id": u.ID, "username": u.Username, "roles": u.Roles, "region": u.Region},
	})
	return nil
}
