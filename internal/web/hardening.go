package web

import (
	"math"
	"net/netip"

	"whistle/internal/clock"
	"whistle/internal/errs"
	"whistle/internal/ratelimit"
)

// Rate is a per-client request limit: PerMinute requests a minute on
// average, with bursts of up to Burst at once. A zero PerMinute turns the
// limit off.
type Rate struct {
	PerMinute float64
	Burst     int
}

// PerMinute is a Rate of n requests a minute whose burst is n as well (at
// least 1); n <= 0 is no limit.
func PerMinute(n float64) Rate {
	if !(n > 0) {
		return Rate{}
	}
	return Rate{PerMinute: n, Burst: max(1, int(math.Ceil(n)))}
}

// Limits are the per-client limits in front of the endpoints that anyone
// may call without an account. They are cheap and in memory, per process;
// the account store's throttle of failed logins (per account and per IP,
// in the login log) stays behind them and holds across restarts and
// replicas.
type Limits struct {
	// Login limits every login attempt, successful or not, per client IP:
	// POST /login, POST /api/v1/session and the SMS code routes. Each attempt costs an argon2id
	// hash, so a flood of them is the cheapest way to exhaust the server.
	Login Rate
	// Anonymous limits, per client IP, the requests to AnonymousRoutes made
	// without a valid credential (a logged-in caller is not limited here).
	Anonymous Rate
	// AnonymousRoutes are the route patterns Anonymous applies to; nil
	// means DefaultAnonymousRoutes.
	AnonymousRoutes []string
	// Search limits, per client IP, the place search (SearchRoutes) for
	// every caller, logged in or not: the map's search box asks it as
	// residents type, and it may reach an online geocoder with a quota.
	Search Rate
	// MaxClients bounds the clients tracked per limit (ratelimit's default
	// when zero); beyond it the least recently seen is forgotten.
	MaxClients int
}

// DefaultAnonymousRoutes are the public routes that write.
func DefaultAnonymousRoutes() []string { return []string{"POST /api/v1/cases"} }

// DefaultLimits returns the production limits: 60 login attempts, 30
// anonymous reports and 120 place searches a minute per client IP.
func DefaultLimits() Limits {
	return Limits{Login: PerMinute(60), Anonymous: PerMinute(30), Search: PerMinute(120)}
}

// searchRoutes are the patterns Limits.Search applies to.
var searchRoutes = map[string]bool{"GET /api/v1/places/search": true}

// loginRoutes are the patterns Limits.Login applies to.
var loginRoutes = map[string]bool{"POST /login": true, "POST /api/v1/session": true,
	"POST /api/v1/session/sms-code": true, "POST /api/v1/session/sms": true,
	// Each SSO callback makes the server call the provider.
	"GET /login/oidc/callback": true}

// Limiter applies Limits to requests. A nil *Limiter allows everything.
type Limiter struct {
	login, anon, search *ratelimit.Limiter
	anonRoutes          map[string]bool
}

// NewLimiter builds the per-client limiters of l on clk (the real clock
// when nil).
func NewLimiter(l Limits, clk clock.Clock) *Limiter {
	if clk == nil {
		clk = clock.Real{}
	}
	var opts []ratelimit.Option
	if l.MaxClients > 0 {
		opts = append(opts, ratelimit.MaxKeys(l.MaxClients))
	}
	mk := func(r Rate) *ratelimit.Limiter {
		if !(r.PerMinute > 0) {
			return nil
		}
		return ratelimit.New(r.PerMinute/60, max(1, r.Burst), clk, opts...)
	}
	routes := l.AnonymousRoutes
	if routes == nil {
		routes = DefaultAnonymousRoutes()
	}
	lim := &Limiter{login: mk(l.Login), anon: mk(l.Anonymous), search: mk(l.Search), anonRoutes: map[string]bool{}}
	for _, p := range routes {
		lim.anonRoutes[p] = true
	}
	return lim
}

// clientKey is the bucket of a client address: the address itself for
// IPv4, and its /64 for IPv6, where one subscriber usually holds a whole
// /64 and could otherwise take a fresh address for every request.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is6() || a.Is4In6() {
		return ip
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ip
	}
	return p.String()
}

// Check decides whether the request to route pattern may proceed. client
// names the caller (its IP address: the peer, or behind one of
// Deps.TrustedProxies the forwarded client; X-Forwarded-For from anyone
// else is ignored, since a client could forge it to escape the limit),
// and authed says whether it
// presented a valid credential. A refusal is errs.RateLimited with
// RetryAfter set, which the error renderers turn into 429 and a
// Retry-After header.
func (l *Limiter) Check(pattern, client string, authed bool) error {
	if l == nil {
		return nil
	}
	var lim *ratelimit.Limiter
	switch {
	case loginRoutes[pattern]:
		lim = l.login
	case searchRoutes[pattern]:
		lim = l.search
	case !authed && l.anonRoutes[pattern]:
		lim = l.anon
	default:
		return nil
	}
	ok, wait := lim.Allow(clientKey(client))
	if ok {
		return nil
	}
	secs := max(1, int(math.Ceil(wait.Seconds())))
	e := errs.E(errs.RateLimited, "error.rate_limited", secs)
	e.RetryAfter = secs
	return e
}
