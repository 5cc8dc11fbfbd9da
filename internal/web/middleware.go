package web

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/errs"
	"whistle/internal/i18n"
)

type ctxKey int

const reqKey ctxKey = 1

// reqInfo is what the middleware learns about a request.
type reqInfo struct {
	lang    i18n.Lang
	user    *account.User
	session *account.Session
	// bearer is true when the caller authenticated with a bearer token,
	// which is not sent automatically by browsers and so needs no CSRF check.
	bearer bool
	// ip is the client's address: the peer, or behind a trusted proxy the
	// rightmost untrusted hop of X-Forwarded-For.
	ip string
	// https is true when the client reached us over HTTPS: TLS here, or a
	// trusted proxy's X-Forwarded-Proto.
	https bool
	// authErr is why a presented credential was refused (expired …).
	authErr error
}

func info(r *http.Request) *reqInfo {
	if ri, ok := r.Context().Value(reqKey).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{lang: i18n.ZH}
}

func langOf(r *http.Request) i18n.Lang { return info(r).lang }

func userOf(r *http.Request) *account.User { return info(r).user }

func scopeOf(r *http.Request) account.Scope { return account.ScopeOf(userOf(r)) }

// actorOf names the caller for the audit log.
func actorOf(r *http.Request) audit.Actor {
	ri := info(r)
	a := audit.Actor{IP: ri.ip}
	if ri.user != nil {
		a.UserID, a.Name = ri.user.ID, ri.user.Username
	}
	return a
}

func clientOf(r *http.Request) account.Client {
	return account.Client{IP: info(r).ip, UserAgent: r.UserAgent()}
}

const (
	sessionCookie = "whistle_session"
	langCookie    = "whistle_lang"
	loginCSRF     = "whistle_login_csrf"
)

// statusWriter records the status for logs and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets SSE handlers flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap exposes the underlying writer to http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware wraps every request: recovery, security headers, language,
// authentication, body limits, logging and metrics.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		ri := &reqInfo{}
		ri.ip, ri.https = s.client(r)
		ri.lang = pickLang(r)
		r = r.WithContext(context.WithValue(r.Context(), reqKey, ri))
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.Logger.Error("panic", "method", r.Method, "path", r.URL.Path, "panic", p)
				if sw.status == 0 {
					s.fail(sw, r, errs.E(errs.Internal, "error.internal"))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			code := sw.status
			if code == 0 {
				code = http.StatusOK
			}
			s.metrics.requests.WithLabelValues(route, itoa(code)).Inc()
			s.metrics.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}()
		h := sw.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", s.csp)
		s.authenticate(r, ri)
		next.ServeHTTP(sw, r)
	})
}

func itoa(n int) string {
	const digits = "0123456789"
	if n >= 100 && n < 1000 {
		return string([]byte{digits[n/100], digits[n/10%10], digits[n%10]})
	}
	return "other"
}

// authenticate resolves a bearer token or the session cookie.
func (s *Server) authenticate(r *http.Request, ri *reqInfo) {
	tok := ""
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			tok, ri.bearer = strings.TrimSpace(t), true
		}
	} else if c, err := r.Cookie(sessionCookie); err == nil {
		tok = c.Value
	}
	if tok == "" {
		return
	}
	u, sess, err := s.Accounts.Authenticate(r.Context(), tok)
	if err != nil {
		ri.authErr = err
		return
	}
	ri.user, ri.session = u, sess
}

func pickLang(r *http.Request) i18n.Lang {
	if l, ok := i18n.Parse(r.URL.Query().Get("lang")); ok {
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil {
		if l, ok := i18n.Parse(c.Value); ok {
			return l
		}
	}
	return i18n.FromAcceptLanguage(r.Header.Get("Accept-Language"))
}

// client returns the client's address and whether it came over HTTPS.
// X-Forwarded-For and X-Forwarded-Proto are believed only when the peer is
// one of Deps.TrustedProxies: anyone else could forge them to escape the
// login throttle or to pass for another client. Each proxy appends the
// address it saw, so the client is the rightmost hop that is not itself a
// trusted proxy; entries left of it are the client's to forge.
func (s *Server) client(r *http.Request) (ip string, https bool) {
	ip = r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		ip = host
	}
	https = r.TLS != nil
	if !s.trusted(ip) {
		return ip, https
	}
	if p := lastHop(r.Header.Values("X-Forwarded-Proto")); p != "" {
		https = strings.EqualFold(p, "https")
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // garbage: the last trusted hop is all we know
		}
		ip = a.Unmap().String()
		if !s.trusted(ip) {
			break
		}
	}
	return ip, https
}

// trusted reports whether ip is inside Deps.TrustedProxies.
func (s *Server) trusted(ip string) bool {
	if len(s.TrustedProxies) == 0 {
		return false
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range s.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// lastHop is the last comma-separated value of a header: what the nearest
// proxy said.
func lastHop(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	v := vs[len(vs)-1]
	if i := strings.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.TrimSpace(v)
}

// secure says whether a cookie set in answer to r gets the Secure flag:
// always with --secure-cookies, and whenever the request came over HTTPS.
func (s *view) secure(r *http.Request) bool {
	return s.SecureCookies || info(r).https
}

// ParseProxies parses a comma-separated list of CIDR prefixes or single
// addresses (--trusted-proxies).
func ParseProxies(list string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(list, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if p, err := netip.ParsePrefix(f); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: not an address or CIDR prefix", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// checkCSRF enforces the synchronizer token on state-changing requests made
// with the session cookie.
func checkCSRF(r *http.Request) error {
	ri := info(r)
	if ri.bearer || ri.session == nil {
		return nil
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return nil
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		ct := r.Header.Get("Content-Type")
		if strings.HasPrefix(ct, "application/x-www-form-urlencoded") || strings.HasPrefix(ct, "multipart/form-data") {
			got = r.FormValue("csrf_token")
		}
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(ri.session.CSRF)) != 1 {
		return errs.E(errs.Forbidden, "error.csrf").WithReason("csrf")
	}
	return nil
}

// safeNext keeps redirects after login and the language switch on this
// site: next must be a path on this origin as a browser would read it, or
// the answer is "/".
func safeNext(next string) string {
	if !sameOriginPath(next) {
		return "/"
	}
	return next
}

// sameOriginPath reports whether p, put in a Location header, keeps the
// browser on this origin. Browsers read a backslash as a slash, drop tabs
// and newlines anywhere and strip leading control characters and spaces
// (WHATWG URL), so "/\evil", "/\t/evil" and " //evil" all leave the site.
// Such characters are refused outright rather than cleaned up, and the
// start is checked again after percent-decoding, since a server or proxy
// further on may decode "/%2F" or "/%5C" before a browser sees it.
func sameOriginPath(p string) bool {
	if len(p) == 0 || len(p) > 2048 || p[0] != '/' {
		return false
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c <= ' ' || c == 0x7f || c == '\\' {
			return false
		}
	}
	d := p
	for range 3 {
		u, err := url.PathUnescape(d)
		if err != nil {
			return false
		}
		if u == d {
			break
		}
		d = u
	}
	d = strings.Map(func(r rune) rune {
		if r <= ' ' || r == 0x7f {
			return -1
		}
		return r
	}, d)
	if len(d) > 1 && (d[1] == '/' || d[1] == '\\') {
		return false
	}
	u, err := url.Parse(p)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && u.Opaque == ""
}
