// Package web is the HTTP adapter: it turns requests into calls on the
// feature packages and their results into JSON or HTML. Every route is in
// routes.go; handlers decode, validate, call the domain and encode.
package web

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"
	"whistle/internal/assess"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/benchmark"
	"whistle/internal/benefit"
	"whistle/internal/bus"
	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/clock"
	"whistle/internal/device"
	"whistle/internal/dict"
	"whistle/internal/dispute"
	"whistle/internal/geo"
	"whistle/internal/i18n"
	"whistle/internal/notify"
	"whistle/internal/oidc"
	"whistle/internal/patrol"
	"whistle/internal/places"
	"whistle/internal/policy"
	"whistle/internal/ratelimit"
	"whistle/internal/regimport"
	"whistle/internal/region"
	"whistle/internal/registry"
	"whistle/internal/sensing"
	"whistle/internal/sla"
	"whistle/internal/stats"
	"whistle/internal/visit"
	"whistle/internal/workflow"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Deps are what the server needs; main wires them.
type Deps struct {
	Accounts *account.Store
	// Phones signs residents in by SMS code; nil answers 503 there.
	Phones *account.PhoneStore
	// OIDC signs staff in through a single sign-on; nil (not configured)
	// hides the button and answers 404 at /login/oidc.
	OIDC *oidc.Provider
	// Audit reads the audit log (the admin page and its API).
	Audit *audit.Log
	// Inbox reads and marks the users' notifications.
	Inbox *notify.Store
	// Outbox keeps the users' notification channels and quiet hours; nil
	// answers 503 there.
	Outbox *notify.Outbox
	// WeChat binds a user's openid through WeChat's authorisation page
	// (GET /inbox/wechat); nil (no --wechat-appid) answers 404 there.
	WeChat  WeChatBinder
	Regions *region.Store
	// Places is the place search behind the maps' search box, and
	// Landmarks the landmarks and roads administrators keep for it; nil
	// answers 503.
	Places    *places.Service
	Landmarks *places.LandmarkStore
	// Tiles is the base map under the grid outlines (the zero value: none).
	Tiles geo.TileLayer
	Cases *casework.Service
	// Workflows stores the workflow versions (the admin API); nil means
	// the case service's store.
	Workflows *workflow.Store
	// SLA keeps time limits, deadlines, supervisions and the calendar.
	SLA *sla.Engine
	// Categories is the category catalogue and its routing rules.
	Categories *category.Store
	// Dicts keeps the dictionaries (字典管理); nil answers 503.
	Dicts *dict.Store
	// Disputes runs the disputes (矛盾纠纷调解) and safety hazards (安全隐患);
	// nil answers 503 there.
	Disputes *dispute.Service
	// Sensing runs the device rules, alarms and parking (issue 17); nil
	// answers 503 there.
	Sensing *sensing.Service
	// Patrols keeps the grid workers' patrols and GPS tracks; nil answers
	// 503 there.
	Patrols *patrol.Store
	// BaseData is the grid's base data registry (people, houses,
	// organisations); nil answers 503.
	BaseData *registry.Store
	// Visits keeps the visits (走访) of the groups' members; nil answers
	// 503 there.
	Visits *visit.Store
	// Devices is the sensing device registry and Ingest its telemetry
	// intake (issue 17); nil answers 503 there.
	Devices *device.Store
	Ingest  *device.Ingester
	// Benchmark keeps the 对标 indicators and values and answers the
	// analyses; nil answers 503 there.
	Benchmark *benchmark.Store
	// Benefits runs the benefit applications and payouts; nil answers
	// 503 there.
	Benefits *benefit.Service
	// Assess runs 考核 and the 经验库; nil answers 503 there.
	Assess *assess.Service
	// Eligibility evaluates the benefit policies (issue 18); nil answers
	// 503 on its routes.
	Eligibility *policy.Engine
	// Synonyms are the residents' words for categories in the report
	// page's picker; nil means category.DefaultSynonyms.
	Synonyms category.Synonyms
	// Imports imports and exports the registry's files; nil answers 503.
	Imports *regimport.Importer
	// Stats keeps the rollups the big screen and the queue counts read.
	Stats   *stats.Store
	Bus     bus.Bus
	Catalog *i18n.Catalog
	Clock   clock.Clock
	Logger  *slog.Logger
	// ReadyCheck reports whether the server can serve (/readyz), for
	// example the database's Ping. It is required: NewServer refuses nil.
	ReadyCheck func(ctx context.Context) error
	// Version is reported by /healthz.
	Version string
	// Demo shows the demo accounts on the login page.
	Demo bool
	// SecureCookies sets the Secure flag on every cookie; without it, a
	// cookie gets it when its request came over HTTPS.
	SecureCookies bool
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// X-Forwarded-Proto are believed (--trusted-proxies); none by default.
	TrustedProxies []netip.Prefix
	// MaxBodyBytes bounds JSON and form bodies (uploads have their own limit).
	MaxBodyBytes int64
	// Open311Keys throttles each Open311 API key; nil means no limit.
	Open311Keys *ratelimit.Limiter
	// Limiter rate-limits the login and anonymous endpoints per client IP
	// (behind a trusted proxy, the forwarded one); nil means no limit.
	Limiter *Limiter
}

// Server holds the handlers' dependencies.
type Server struct {
	Deps
	// shared holds the view one level down, so that on the server Deps'
	// fields (Catalog, Logger …) are the ones a name selects, while the
	// view's methods (render, newPage …) are promoted.
	shared
	metrics *metrics
	routes  []Route
	// csp is the Content-Security-Policy, which lets images come from the
	// base layer's tile servers.
	csp string
	mux *http.ServeMux
}

// view is what the handlers of every feature share: the catalogue, the
// logger and the templates, to render pages, fragments and errors, and the
// unread count of the navigation bar. Each feature's handler type embeds
// it beside the services it uses.
type view struct {
	Catalog *i18n.Catalog
	Logger  *slog.Logger
	// Version is shown in the page footer.
	Version string
	// Inbox counts the unread messages for the navigation bar's badge.
	Inbox *notify.Store
	// SecureCookies sets the Secure flag on every cookie.
	SecureCookies bool
	// tiles is the base layer as the pages' scripts read it (JSON; "{}"
	// for none).
	tiles string
	tmpl  map[string]*template.Template
}

type shared struct{ *view }

// NewServer builds the HTTP handler.
func NewServer(d Deps) (*Server, error) {
	if d.ReadyCheck == nil {
		return nil, errors.New("web: Deps.ReadyCheck is nil; /readyz needs a check such as the database's Ping")
	}
	if d.MaxBodyBytes <= 0 {
		d.MaxBodyBytes = 1 << 20
	}
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.Synonyms == nil {
		syn, err := category.DefaultSynonyms()
		if err != nil {
			return nil, err
		}
		d.Synonyms = syn
	}
	if d.Workflows == nil && d.Cases != nil {
		d.Workflows = d.Cases.WorkflowStore()
	}
	s := &Server{Deps: d, mux: http.NewServeMux(), metrics: newMetrics()}
	s.view = &view{Catalog: d.Catalog, Logger: d.Logger, Version: d.Version, Inbox: d.Inbox, SecureCookies: d.SecureCookies, tiles: "{}"}
	s.csp = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
	if d.Tiles.URL != "" {
		b, err := json.Marshal(d.Tiles)
		if err != nil {
			return nil, err
		}
		s.view.tiles = string(b)
		if o := d.Tiles.Origins(); len(o) > 0 {
			s.csp = strings.Replace(s.csp, "blob:;", "blob: "+strings.Join(o, " ")+";", 1)
		}
	}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	s.registerRoutes()
	return s, nil
}

// ServeHTTP runs the middleware chain around the mux.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.middleware(s.mux).ServeHTTP(w, r)
}

// Routes lists every registered route with its access rule, for the
// authorization matrix and the API documentation.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// Registry returns the Prometheus registry (not the global one).
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

func (s *Server) parseTemplates() error {
	funcs := template.FuncMap{
		"T":          func(lang i18n.Lang, key string, args ...any) string { return s.Catalog.T(lang, key, args...) },
		"maskPhone":  account.MaskPhone,
		"local":      shanghaiTime,
		"levelName":  func(lang i18n.Lang, l region.Level) string { return s.Catalog.T(lang, "level."+string(l)) },
		"roleName":   func(lang i18n.Lang, r account.Role) string { return s.Catalog.T(lang, "role."+string(r)) },
		"trendArrow": trendArrow,
		"num":        numText,
	}
	// The layout, and the partials some pages share (files named "_…").
	base, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/_*.html")
	if err != nil {
		return err
	}
	pages, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	s.tmpl = map[string]*template.Template{}
	for _, p := range pages {
		name := p[len("templates/"):]
		if name == "layout.html" || strings.HasPrefix(name, "_") {
			continue
		}
		t, err := base.Clone()
		if err != nil {
			return err
		}
		if _, err := t.ParseFS(templateFS, p); err != nil {
			return err
		}
		s.tmpl[name] = t
	}
	return nil
}

type metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "whistle_http_requests_total", Help: "HTTP requests by route pattern and status.",
	}, []string{"route", "code"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "whistle_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"route"})
	m.reg.MustRegister(m.requests, m.duration, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Ready checks the database for /readyz through ReadyCheck.
func (s *Server) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return s.ReadyCheck(ctx)
}
