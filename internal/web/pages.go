package web

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/errs"
	"whistle/internal/i18n"
	"whistle/internal/region"
)

// page is the data every template gets.
type page struct {
	Lang    i18n.Lang
	Title   string
	User    *account.User
	CSRF    string
	Path    string
	Version string
	Data    any
	// Nav is what the top bar shows: the sections this user may open.
	Nav navData
	// Tiles is the maps' base layer as JSON ("{}" for none).
	Tiles string
}

func (s *view) newPage(r *http.Request, titleKey string, data any) page {
	ri := info(r)
	p := page{Lang: ri.lang, User: ri.user, Path: r.URL.RequestURI(), Version: s.Version, Data: data, Tiles: s.tiles}
	p.Title = s.Catalog.T(ri.lang, titleKey)
	if ri.session != nil {
		p.CSRF = ri.session.CSRF
	}
	p.Nav = s.nav(r)
	return p
}

// render executes a template into a buffer first, so a template error
// becomes a clean error page rather than half a page.
func (s *view) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) error {
	t, ok := s.tmpl[name]
	if !ok {
		return errs.E(errs.Internal, "error.internal")
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

type errorPage struct {
	Status  int
	Message string
}

// renderError shows an error page in the user's language; never a stack trace.
func (s *view) renderError(w http.ResponseWriter, r *http.Request, err error) {
	e := asAppError(err)
	status := httpStatus(e)
	s.logError(r, status, e)
	if e.Code == errs.Unauthorized && r.Method == http.MethodGet {
		http.Redirect(w, r, "/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", itoa(e.RetryAfter))
	}
	title := "page.error.title"
	if status == http.StatusNotFound {
		title = "page.not_found.title"
	}
	msg := s.Catalog.T(langOf(r), e.Msg.Key, e.Msg.Args...)
	if status == http.StatusNotFound {
		msg = s.Catalog.T(langOf(r), "page.not_found.body")
	}
	if rerr := s.render(w, r, status, "error.html", s.newPage(r, title, errorPage{Status: status, Message: msg})); rerr != nil {
		s.Logger.Error("render error page", "err", rerr)
		http.Error(w, http.StatusText(status), status)
	}
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

type loginForm struct {
	Username string
	Next     string
	CSRF     string
	Error    string
	Fields   map[string]string
	Expired  bool
	Demo     bool
	// SMS shows the phone-and-code tab (/login?via=sms) instead of the password form.
	SMS bool
	// SSO offers the single sign-on (/login/oidc) when it is configured.
	SSO bool
}

// sessionPages serve logging in and out, the language switch and the home
// page.
type sessionPages struct {
	*view
	Accounts *account.Store
	// Demo shows the demo accounts on the login page.
	Demo bool
	// SSO offers the single sign-on button (an OIDC provider is configured).
	SSO bool
}

func (s *view) setLoginCSRF(w http.ResponseWriter, r *http.Request) string {
	tok := account.NewToken()
	s.setCookie(w, r, &http.Cookie{Name: loginCSRF, Value: tok, Path: "/login", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: 3600})
	return tok
}

func (s *sessionPages) pageLogin(w http.ResponseWriter, r *http.Request) error {
	if userOf(r) != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return nil
	}
	f := loginForm{Next: safeNext(r.URL.Query().Get("next")), CSRF: s.setLoginCSRF(w, r), Demo: s.Demo, SSO: s.SSO, SMS: r.URL.Query().Get("via") == "sms"}
	_, hadCookie := r.Cookie(sessionCookie)
	f.Expired = hadCookie == nil && f.Next != "/"
	return s.render(w, r, http.StatusOK, "login.html", s.newPage(r, "page.login.title", f))
}

// pageLoginPost checks the login form. The form carries a double-submit
// CSRF token (there is no session yet to hold one).
func (s *sessionPages) pageLoginPost(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formErr(err)
	}
	lang := langOf(r)
	f := loginForm{Username: r.PostFormValue("username"), Next: safeNext(r.PostFormValue("next")), Fields: map[string]string{}, Demo: s.Demo, SSO: s.SSO}
	c, err := r.Cookie(loginCSRF)
	if err != nil || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf_token"))) != 1 {
		f.CSRF = s.setLoginCSRF(w, r)
		f.Error = s.Catalog.T(lang, "error.csrf")
		return s.render(w, r, http.StatusForbidden, "login.html", s.newPage(r, "page.login.title", f))
	}
	pw := r.PostFormValue("password")
	if strings.TrimSpace(f.Username) == "" {
		f.Fields["username"] = s.Catalog.T(lang, "field.required")
	}
	if pw == "" {
		f.Fields["password"] = s.Catalog.T(lang, "field.required")
	}
	status := http.StatusUnprocessableEntity
	if len(f.Fields) == 0 {
		tok, _, sess, err := s.Accounts.Login(r.Context(), f.Username, pw, account.WebSession, clientOf(r))
		if err == nil {
			s.setCookie(w, r, &http.Cookie{Name: sessionCookie, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
				Expires: sess.ExpiresAt})
			s.setCookie(w, r, &http.Cookie{Name: loginCSRF, Value: "", Path: "/login", MaxAge: -1, HttpOnly: true})
			http.Redirect(w, r, f.Next, http.StatusSeeOther)
			return nil
		}
		e := asAppError(err)
		if e.Code == errs.Internal || e.Code == errs.Unavailable {
			return err
		}
		status = httpStatus(e)
		if e.RetryAfter > 0 {
			w.Header().Set("Retry-After", itoa(e.RetryAfter))
		}
		f.Error = s.Catalog.T(lang, e.Msg.Key, e.Msg.Args...)
	}
	f.CSRF = s.setLoginCSRF(w, r)
	return s.render(w, r, status, "login.html", s.newPage(r, "page.login.title", f))
}

func (s *sessionPages) pageLogout(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.Accounts.Logout(r.Context(), c.Value); err != nil {
			return err
		}
	}
	s.setCookie(w, r, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}

// pageLang remembers the language choice in a cookie.
func (s *sessionPages) pageLang(w http.ResponseWriter, r *http.Request) error {
	l, ok := i18n.Parse(r.PathValue("lang"))
	if !ok {
		return errs.E(errs.NotFound, "error.not_found")
	}
	s.setCookie(w, r, &http.Cookie{Name: langCookie, Value: string(l), Path: "/", SameSite: http.SameSiteLaxMode, Expires: time.Now().AddDate(1, 0, 0)})
	http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
	return nil
}

type homeData struct {
	Resident     bool
	Tabs         []queueTab
	Recent       []caseRow
	Scope        account.Scope
	Ancestry     []region.Ref
	Children     []region.Node
	Users        []*account.User
	CanSeeUsers  bool
	Illustrative bool
}

func (s *caseHandlers) pageHome(w http.ResponseWriter, r *http.Request) error {
	u := userOf(r)
	d := homeData{Scope: account.ScopeOf(u)}
	ctx := r.Context()
	if !u.IsStaff() {
		// A resident's home: the whistle button and their latest reports.
		d.Resident = true
		cases, _, err := s.Cases.List(ctx, callerOf(r), casework.Filter{Mine: true, Limit: 5})
		if err != nil {
			return err
		}
		if d.Recent, err = s.rows(ctx, langOf(r), s.Clock.Now(), cases); err != nil {
			return err
		}
		return s.render(w, r, http.StatusOK, "home.html", s.newPage(r, "page.home.title", d))
	}
	counts, err := s.Cases.QueueCounts(ctx, casework.Caller{User: u})
	if err != nil {
		return err
	}
	for _, k := range casework.QueuesFor(u) {
		d.Tabs = append(d.Tabs, queueTab{Key: k, Count: counts[k], Href: "/cases?queue=" + k})
	}
	if d.Scope.RegionPath != "" {
		anc, err := s.Regions.Ancestry(ctx, u.RegionPath)
		if err != nil {
			return err
		}
		d.Ancestry = anc
		kids, err := s.Regions.Children(ctx, u.Region.Code, false)
		if err != nil {
			return err
		}
		d.Children = kids
		for _, k := range kids {
			d.Illustrative = d.Illustrative || k.Illustrative
		}
	}
	if u.Can(account.PermUserRead) {
		d.CanSeeUsers = true
		users, err := s.Accounts.Users(ctx, d.Scope, account.UserFilter{Limit: 50})
		if err != nil {
			return err
		}
		d.Users = users
	}
	return s.render(w, r, http.StatusOK, "home.html", s.newPage(r, "page.home.title", d))
}

// formErr keeps an oversized form a 413; anything else is a bad request.
func formErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return errs.E(errs.Invalid, "error.invalid")
}

// pageAdminUserLock sets or clears an admin's hard lock on a user in
// scope (locked=1 or 0); locking ends the user's sessions.
func (s *adminPages) pageAdminUserLock(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return formErr(err)
	}
	var locked bool
	switch r.PostFormValue("locked") {
	case "1":
		locked = true
	case "0":
	default:
		return errs.E(errs.Invalid, "error.invalid").Field("locked", "field.required")
	}
	if err := s.Accounts.SetLocked(r.Context(), actorOf(r), scopeOf(r), id, locked); err != nil {
		return err
	}
	return s.redirect(w, r, "/admin/users")
}
