package main

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"whistle/internal/account"
	"whistle/internal/assess"
	"whistle/internal/audit"
	"whistle/internal/benchmark"
	"whistle/internal/benefit"
	"whistle/internal/bus"
	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/demo"
	"whistle/internal/device"
	"whistle/internal/dict"
	"whistle/internal/dispute"
	"whistle/internal/errs"
	"whistle/internal/feed"
	"whistle/internal/i18n"
	"whistle/internal/media"
	"whistle/internal/notify"
	"whistle/internal/oidc"
	"whistle/internal/patrol"
	"whistle/internal/policy"
	"whistle/internal/ratelimit"
	"whistle/internal/regimport"
	"whistle/internal/region"
	"whistle/internal/registry"
	"whistle/internal/sensing"
	"whistle/internal/sla"
	"whistle/internal/sla/calendar"
	"whistle/internal/sms"
	"whistle/internal/stats"
	"whistle/internal/timer"
	"whistle/internal/visit"
	"whistle/internal/web"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `whistle — 吹哨 social-governance platform

Usage:
  whistle serve    [--data DIR | --db URL] [--addr HOST:PORT]
  whistle demo     [--data DIR | --db URL] [--addr HOST:PORT] [--seed N] [--demo-password PW] [--cases N] [--people N] [--assessment=false]
  whistle migrate  [--data DIR | --db URL]
  whistle user add --username U --password P --role ROLE --region CODE [--department CODE]
  whistle user passwd --username U --password P
  whistle user list [--region CODE]
  whistle apikey create --name NAME | apikey list | apikey revoke ID|NAME
  whistle import people|houses|organisations FILE [--dry-run] [--data DIR | --db URL] [--lang en|zh-CN] [--progress]
  whistle import indicators FILE [--indicators FILE] [--dry-run] [--data DIR | --db URL]
  whistle benchmark snapshot --period YYYY-MM [--data DIR | --db URL]   store the platform's indicators of a month for 对标
  whistle region import FILE.geojson [--dry-run] | region export [--out FILE]
  whistle rollup rebuild [--dry-run] [--check] [--quiet] | rollup bench [--url URL --token T]
  whistle eligibility run [--policies a,b] | eligibility seed   evaluate every active benefit policy over the registry (prints count and time)
  whistle simulate devices --n N --rate R [--mqtt-url URL] [--speed S] [--onset D] [--duration D] [--devices FILE | --save FILE] [--data DIR | --db URL]
  whistle bench intake [--db URL] [--concurrency N] [--duration D]
  whistle bench crash [--kills N] [--db URL]
  whistle bench import [--rows N] [--dir DIR]
  whistle bench eligibility [--people N] [--policies P] [--sample N] [--changes N] [--data DIR | --db URL]
  whistle bench sensing [--devices N] [--messages N] [--db URL]
  whistle bench console --url URL --token T [--runs N]
  whistle bench report --in DIR --out FILE
  whistle version

Every flag can also be set by an environment variable: --data is WHISTLE_DATA,
--demo-password is WHISTLE_DEMO_PASSWORD, and so on. Flags win over the environment.
`

// env holds what run receives instead of reading globals.
type env struct {
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

// options are the flags shared by the subcommands.
type options struct {
	data               string
	dbURL              string
	natsURL            string
	natsPort           int
	mqttPort           int
	autoClose          time.Duration
	readHeaderTimeout  time.Duration
	limitLogin         float64
	limitAnonymous     float64
	open311Rate        float64
	open311Burst       int
	addr               string
	logLevel           string
	seed               int64
	demoPassword       string
	demoCases          int
	demoPeople         int
	demoAssessment     bool
	secureCookies      bool
	trustedProxies     string
	maxBody            int64
	gcPercent          int
	smsURL             string
	smsKey             string
	smsSecret          string
	smsSign            string
	smsTemplates       string
	smtpAddr           string
	smtpFrom           string
	workWebhookURL     string
	workWebhookSecret  string
	wechatAppID        string
	wechatSecret       string
	wechatTemplate     string
	wechatURL          string
	wechatLink         string
	wechatOAuth        string
	oidcIssuer         string
	oidcClientID       string
	oidcClientSecret   string
	oidcRedirectURL    string
	oidcClaim          string
	patrolRetention    int
	patrolBuffer       float64
	visitMaxDistance   float64
	visitWorkdays      bool
	readingsRetention  time.Duration
	readingsResolution time.Duration
	alarmCaseAfter     time.Duration
	alarmStreetAfter   time.Duration
	// benchUser and benchPassword, set only by `whistle bench sensing`
	// (no flag), let one MQTT client publish on every device's topic.
	benchUser, benchPassword string
	maps                     mapOptions
	// busDir (no flag) puts an embedded NATS's storage elsewhere than
	// --data: a one-shot command wiring the services beside a running
	// server must not open the server's JetStream store.
	busDir string
}

func (o *options) dataFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.data, "data", "./data", "data directory (SQLite file, uploads)")
	fs.StringVar(&o.dbURL, "db", "", "PostgreSQL URL (postgres://…); empty means SQLite in --data")
	fs.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
}

func (o *options) serveFlags(fs *flag.FlagSet) {
	o.dataFlags(fs)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "listen address")
	fs.BoolVar(&o.secureCookies, "secure-cookies", false, "mark every cookie Secure (without it, cookies are Secure when the request came over HTTPS)")
	fs.StringVar(&o.trustedProxies, "trusted-proxies", "", "reverse proxies (CIDR or address, comma-separated) whose X-Forwarded-For and X-Forwarded-Proto are believed")
	fs.Int64Var(&o.maxBody, "max-body", 1<<20, "largest JSON or form body in bytes")
	fs.StringVar(&o.natsURL, "nats", "", "external NATS URL (nats://…); empty runs an embedded NATS")
	fs.IntVar(&o.natsPort, "nats-port", 0, "embedded NATS client port on 127.0.0.1 (0 = random)")
	fs.IntVar(&o.mqttPort, "mqtt-port", 0, "embedded MQTT listener port on 127.0.0.1 (0 = off)")
	fs.DurationVar(&o.autoClose, "autoclose-after", 7*24*time.Hour, "close verified 红哨 cases the reporter has not rated after this long")
	fs.DurationVar(&o.readHeaderTimeout, "read-header-timeout", 10*time.Second, "how long a client may take to send its request headers (slowloris)")
	fs.Float64Var(&o.limitLogin, "limit-login", 60, "login attempts a minute per client IP (0 = no limit)")
	fs.Float64Var(&o.limitAnonymous, "limit-anonymous", 30, "anonymous case reports a minute per client IP (0 = no limit)")
	fs.Float64Var(&o.open311Rate, "open311-rate", 1, "Open311 requests per second allowed to each API key, on average")
	fs.IntVar(&o.open311Burst, "open311-burst", 20, "Open311 requests an API key may make at once")
	fs.IntVar(&o.gcPercent, "gc-percent", 400, "Go garbage collector target percentage while serving (GOGC in the environment wins)")
	fs.StringVar(&o.smsURL, "sms-url", "", "SMS gateway endpoint; empty logs messages instead of sending them (development only)")
	fs.StringVar(&o.smsKey, "sms-key", "", "SMS gateway access key")
	fs.StringVar(&o.smsSecret, "sms-secret", "", "SMS gateway secret (signs requests)")
	fs.StringVar(&o.smsSign, "sms-sign", "", "SMS signature name registered with the gateway, e.g. 吹哨")
	fs.StringVar(&o.smtpAddr, "smtp-addr", "", "SMTP relay (host:port) for e-mailed notifications; empty offers no e-mail channel")
	fs.StringVar(&o.smtpFrom, "smtp-from", "whistle@localhost", "sender address of e-mailed notifications")
	fs.StringVar(&o.workWebhookURL, "work-webhook-url", "", "钉钉/浙政钉-style custom robot URL (with its access_token) for work messages; empty offers no work-message channel")
	fs.StringVar(&o.workWebhookSecret, "work-webhook-secret", "", "the robot's signing secret (SEC…); adds the HMAC-SHA256 timestamp and sign parameters")
	fs.StringVar(&o.wechatAppID, "wechat-appid", "", "微信公众号 AppID for template messages; empty offers no WeChat channel")
	fs.StringVar(&o.wechatSecret, "wechat-secret", "", "微信公众号 AppSecret (fetches the access_token)")
	fs.StringVar(&o.wechatTemplate, "wechat-template", "", "template id of the notification template (fields first, keyword1 the case number, keyword2 the text)")
	fs.StringVar(&o.wechatURL, "wechat-url", "https://api.weixin.qq.com", "base URL of WeChat's API (a test server in tests)")
	fs.StringVar(&o.wechatOAuth, "wechat-oauth-url", "https://open.weixin.qq.com", "base URL of WeChat's authorisation page, where users bind their openid (a test server in tests)")
	fs.StringVar(&o.wechatLink, "wechat-link", "", "public base URL of this server (https://HOST), whose case pages the template messages open; empty links nowhere")
	fs.StringVar(&o.smsTemplates, "sms-templates", "", "SMS template ids: name=id,… (login_code, notify)")
	fs.StringVar(&o.oidcIssuer, "oidc-issuer", "", "OpenID Connect issuer URL of the single sign-on; empty turns SSO off. Discovered at start-up: a wrong one stops the server")
	fs.StringVar(&o.oidcClientID, "oidc-client-id", "", "OIDC client id registered with the issuer")
	fs.StringVar(&o.oidcClientSecret, "oidc-client-secret", "", "OIDC client secret")
	fs.StringVar(&o.oidcRedirectURL, "oidc-redirect-url", "", "OIDC callback URL registered with the issuer, https://HOST/login/oidc/callback (required with --oidc-issuer)")
	fs.StringVar(&o.oidcClaim, "oidc-claim", "preferred_username", "ID token claim holding the Whistle username")
	fs.IntVar(&o.patrolRetention, "patrol-retention", 180, "days a patrol's GPS track is kept (personal data); older patrols are deleted hourly. 0 keeps them")
	fs.Float64Var(&o.visitMaxDistance, "visit-max-distance", 200, "metres a recorded visit's position may lie from the house; farther needs a reason and is flagged")
	fs.BoolVar(&o.visitWorkdays, "visit-workdays", false, "make a visit task due on its period's last working day (the working calendar) instead of its last day")
	fs.DurationVar(&o.readingsRetention, "readings-retention", 7*24*time.Hour, "how long raw device readings are kept (their per-interval aggregates stay)")
	fs.DurationVar(&o.readingsResolution, "readings-resolution", time.Minute, "the bucket of the device readings' kept aggregates")
	fs.DurationVar(&o.alarmCaseAfter, "alarm-case-after", 10*time.Minute, "a device alarm not acknowledged for this long becomes a case for the grid worker")
	fs.DurationVar(&o.alarmStreetAfter, "alarm-street-after", 20*time.Minute, "and, still not acknowledged this long after the case, goes to the street's staff")
	fs.Float64Var(&o.patrolBuffer, "patrol-buffer", 30, "metres either side of a patrol's track that count as covered when measuring the share of the grid patrolled")
	o.maps.flags(fs)
}

// parse applies WHISTLE_* environment values as defaults, then the flags,
// which may come before or after positional arguments; it returns those.
func parse(fs *flag.FlagSet, args []string, e env) ([]string, error) {
	var bad []string
	fs.VisitAll(func(f *flag.Flag) {
		name := "WHISTLE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v := e.getenv(name); v != "" {
			if err := f.Value.Set(v); err != nil {
				bad = append(bad, fmt.Sprintf("%s=%q: %v", name, v, err))
			}
		}
	})
	if len(bad) > 0 {
		return nil, fmt.Errorf("bad environment: %s", strings.Join(bad, "; "))
	}
	fs.SetOutput(e.stderr)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdout: stdout, stderr: stderr}
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, rest := args[1], args[2:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, rest, e, false)
	case "demo":
		return cmdServe(ctx, rest, e, true)
	case "migrate":
		return cmdMigrate(ctx, rest, e)
	case "user":
		return cmdUser(ctx, rest, e)
	case "apikey":
		return cmdAPIKey(ctx, rest, e)
	case "region":
		return cmdRegion(ctx, rest, e)
	case "import":
		return cmdImport(ctx, rest, e)
	case "rollup":
		return cmdRollup(ctx, rest, e)
	case "benchmark":
		return cmdBenchmark(ctx, rest, e)
	case "eligibility":
		return cmdEligibility(ctx, rest, e)
	case "bench":
		return cmdBench(ctx, rest, e)
	case "simulate":
		return cmdSimulate(ctx, rest, e)
	case "version":
		fmt.Fprintln(stdout, "whistle", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

// app is the wired set of stores for one process.
type app struct {
	db         *db.DB
	accounts   *account.Store
	regions    *region.Store
	categories *category.Store
	calendar   *calendar.Store
	catalog    *i18n.Catalog
	logger     *slog.Logger
}

func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// open connects, migrates and wires the stores.
func open(ctx context.Context, o *options, e env) (*app, error) {
	logger, err := newLogger(o.logLevel, e.stderr)
	if err != nil {
		return nil, err
	}
	d, err := db.Open(ctx, db.Config{URL: o.dbURL, DataDir: o.data}, clock.Real{})
	if err != nil {
		return nil, err
	}
	applied, err := d.Migrate(ctx)
	if err != nil {
		d.Close()
		return nil, err
	}
	if len(applied) > 0 {
		logger.Info("migrated", "applied", applied, "db", d.Source)
	}
	cat, err := i18n.Load()
	if err != nil {
		d.Close()
		return nil, err
	}
	accts, err := account.NewStore(d, account.DefaultConfig())
	if err != nil {
		d.Close()
		return nil, err
	}
	regs := region.NewStore(d)
	if err := regs.Reload(ctx); err != nil {
		d.Close()
		return nil, err
	}
	// A new installation gets the default category catalogue and the
	// official holiday schedules; both are editable afterwards.
	cats := category.NewStore(d)
	if _, err := cats.SeedDefaults(ctx, audit.System("seed")); err != nil {
		d.Close()
		return nil, err
	}
	cal := calendar.NewStore(d)
	if _, err := cal.SeedDefaults(ctx, audit.System("seed")); err != nil {
		d.Close()
		return nil, err
	}
	return &app{db: d, accounts: accts, regions: regs, categories: cats, calendar: cal, catalog: cat, logger: logger}, nil
}

func cmdServe(ctx context.Context, args []string, e env, isDemo bool) error {
	var o options
	name := "serve"
	if isDemo {
		name = "demo"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	o.serveFlags(fs)
	if isDemo {
		fs.Int64Var(&o.seed, "seed", 1, "random seed of the generated district")
		fs.StringVar(&o.demoPassword, "demo-password", "whistle-demo", "password of the demo accounts")
		fs.IntVar(&o.demoCases, "cases", 0, "generate this many historical cases over the last 12 months (only into a database without cases)")
		fs.IntVar(&o.demoPeople, "people", defaultDemoPeople, "generate a registry of this many people, with houses, buildings and organisations in 龙湾区's proportions (400000 is the full district; only into an empty registry; 0 = none)")
		fs.BoolVar(&o.demoAssessment, "assessment", true, "generate 对标 indicator values of the last 12 months and 考核 periods (once; --assessment=false for none)")
	}
	if _, err := parse(fs, args, e); err != nil {
		return err
	}
	// The live heap of a server is small (tens of MiB) and intake allocates
	// quickly, so Go's default of collecting at twice the live heap runs
	// the collector many times a second and slows the single database
	// writer; 400 trades some memory for far fewer collections.
	if e.getenv("GOGC") == "" && o.gcPercent > 0 {
		prev := debug.SetGCPercent(o.gcPercent)
		defer debug.SetGCPercent(prev)
	}
	w, err := wire(ctx, &o, e, isDemo)
	if err != nil {
		return err
	}
	defer w.close()
	a, srv, cases := w.app, w.srv, w.cases
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("the address %s is already in use: choose another with --addr or WHISTLE_ADDR", o.addr)
		}
		return err
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: o.readHeaderTimeout, // slowloris
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.logger.Handler(), slog.LevelWarn),
	}
	url := "http://" + ln.Addr().String()
	fmt.Fprintf(e.stdout, "whistle: listening on %s\n", url)
	if isDemo {
		fmt.Fprintf(e.stdout, "whistle: demo accounts (password %q):\n", o.demoPassword)
		for _, acc := range demo.Accounts() {
			fmt.Fprintf(e.stdout, "  %-15s %s\n", acc.Username, acc.Role)
		}
	}
	a.logger.Info("serving", "addr", ln.Addr().String(), "db", a.db.Source, "version", version)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	go autoClose(ctx, cases, a.logger)
	go w.eligibility.RunDaily(ctx, a.logger, 10*time.Minute)
	go w.registry.RunSnapshot(ctx, a.logger, time.Minute)
	// The proactive notices (主动告知) staff queue go out by SMS.
	go w.eligibility.RunNotices(ctx, &notify.SMS{Sender: w.sms}, a.logger, 10*time.Second)
	go w.outbox.Run(ctx, 5*time.Second)
	// The change feed's runner publishes committed case events to the bus.
	// It stops after the HTTP server has drained, and then hands over what
	// the last requests committed; anything left is published at the next
	// start, from the stored cursor.
	feedCtx, stopFeed := context.WithCancel(context.Background())
	feedDone := make(chan struct{})
	go func() {
		defer close(feedDone)
		_ = w.feed.Run(feedCtx)
	}()
	defer func() {
		stopFeed()
		<-feedDone
		dctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := w.feed.Drain(dctx); err != nil {
			a.logger.Warn("feed drain", "err", err)
		}
		st := w.feed.Stats()
		a.logger.Info("change feed", "events", st.Events, "batches", st.Batches, "lag_mean", st.LagMean().String(), "lag_max", st.LagMax.String())
	}()
	// One timer runner fires the kernel timers of every module that
	// registers its kinds (today the SLA's warnings, breaches and
	// supervisions).
	timers := timer.NewRunner(a.db, timer.Config{Logger: a.logger})
	w.sla.RegisterTimers(timers)
	w.disputes.RegisterTimers(timers)
	w.benefits.RegisterTimers(timers)
	// Visits: plan the current periods' missing tasks and arm the timers
	// of the next ones.
	w.visits.RegisterTimers(timers)
	// Sensing: the duration rules, the alarm and parking ladders, and the
	// silences of the absence and low-use rules (read now, before the
	// runner's first round; rules added later register themselves).
	w.sensing.RegisterTimers(timers)
	if err := w.sensing.Reload(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	// 对标: the platform's indicators of each month, on its first day.
	w.snapshots.RegisterTimers(timers)
	if err := w.snapshots.Start(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	go w.sensing.Run(ctx, time.Second)
	// A stop during the planning is a shutdown, not a failure: the server
	// already listens, and a caller may stop it at once (the tests' demo
	// seeding does).
	if _, err := w.visits.Start(ctx); err != nil && ctx.Err() == nil {
		return err
	}
	go func() {
		if err := timers.Run(ctx, time.Second); err != nil && ctx.Err() == nil {
			a.logger.Error("timer runner stopped", "err", err)
		}
	}()
	go w.sla.RunCalendarReloads(ctx, 150*time.Second)
	// Patrol tracks are personal data kept --patrol-retention days.
	go w.patrols.RunPrune(ctx, time.Hour, a.logger.Info)
	// Device telemetry: the QoS 1 messages the MQTT listener stored, read
	// by a durable consumer (embedded or external NATS alike); raw readings
	// expire and silent devices go offline.
	if js, err := bus.JetStream(w.bus); err == nil && (o.mqttPort > 0 || o.natsURL != "") {
		go func() { _ = device.NewConsumer(js, w.ingest, device.ConsumerConfig{}, a.logger).Run(ctx) }()
	}
	go w.ingest.RunSweep(ctx, time.Minute, a.logger.Info)
	go w.ingest.RunFlush(ctx, aggregateFlushEvery, a.logger.Info)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}

// aggregateFlushEvery is how often the readings' queued aggregates are
// added to dev_aggregates (device.Ingester.FlushAggregates).
const aggregateFlushEvery = 5 * time.Second

// wired is the whole application: stores, services and the HTTP handler,
// built the same way for `serve`, `demo` and the tests that need the real
// thing (the authorization matrix).
type wired struct {
	app   *app
	bus   bus.Bus
	feed  *feed.Runner
	cases *casework.Service
	sla   *sla.Engine
	stats *stats.Store
	// sensing runs the device rules, alarms and parking (issue 17).
	sensing *sensing.Service
	// disputes runs the disputes and hazards, the first modules other
	// than casework on the kernel.
	disputes *dispute.Service
	srv      *web.Server
	sms      sms.Sender
	phones   *account.PhoneStore
	outbox   *notify.Outbox
	wechat   *notify.WeChat // nil without --wechat-appid
	// patrols keeps the grid workers' patrols; serve prunes it hourly.
	patrols *patrol.Store
	// registry is the grid's base data; other modules add to it
	// (registry.Store.UseVisits).
	registry *registry.Store
	// visits keeps the visits (走访) of the groups' members.
	visits *visit.Store
	// devices and ingest are sensing's device registry and telemetry
	// intake; serve runs the MQTT consumer and the sweep.
	devices *device.Store
	ingest  *device.Ingester
	// benchmark keeps 对标's indicators and values (issue 19).
	benchmark *benchmark.Store
	// snapshots copy the registry's indicators into benchmark monthly.
	snapshots *benchmark.Snapshots
	// benefits runs the benefit applications and payouts (issue 18).
	benefits *benefit.Service
	// assess is 考核 and the 经验库, over the benchmark's figures.
	assess *assess.Service
	// eligibility evaluates the benefit policies over the registry; the
	// benefit service and the policy API share this one engine.
	eligibility *policy.Engine
	stop        []func()
}

// close releases everything in reverse order of creation.
func (w *wired) close() {
	for i := len(w.stop) - 1; i >= 0; i-- {
		w.stop[i]()
	}
}

// wire opens the database and builds every service and the handler.
func wire(ctx context.Context, o *options, e env, isDemo bool) (_ *wired, err error) {
	w := &wired{}
	defer func() {
		if err != nil {
			w.close()
		}
	}()
	a, err := open(ctx, o, e)
	if err != nil {
		return nil, err
	}
	w.app = a
	w.stop = append(w.stop, func() { a.db.Close() })
	if w.sms, err = newSMS(o, a.logger); err != nil {
		return nil, err
	}
	if isDemo {
		res, err := demo.Seed(ctx, a.regions, a.accounts, demo.SeedOptions{Seed: o.seed, Password: o.demoPassword})
		if err != nil {
			return nil, err
		}
		if res.Seeded {
			fmt.Fprintf(e.stdout, "whistle: generated the demo district 龙湾区: %d regions, %d grids (seed %d)\n", res.Regions, res.Grids, o.seed)
		}
		if err := demoRegistry(ctx, a, o, e); err != nil {
			return nil, err
		}
	}
	// Sensing devices (issue 17): with the MQTT listener on, the embedded
	// server lets a device in by its own credentials, publishing only on
	// its own topic (without it nothing changes for other clients).
	if w.devices, err = device.NewStore(a.db, registry.NewStore(registry.Deps{DB: a.db, Regions: a.regions}), a.regions); err != nil {
		return nil, err
	}
	w.ingest = device.NewIngester(w.devices, device.IngestConfig{Resolution: o.readingsResolution, Retention: o.readingsRetention})
	bcfg := bus.Config{URL: o.natsURL, DataDir: cmp.Or(o.busDir, o.data), Port: o.natsPort, MQTTPort: o.mqttPort}
	// The listener lets no device in until the ingest consumer exists: the
	// MQTT stream keeps a message only while a consumer is interested, so
	// a message acknowledged before it (on a fresh store) would be lost.
	var consuming atomic.Bool
	if o.mqttPort > 0 {
		auth := w.devices.Credentials(context.WithoutCancel(ctx))
		if o.benchUser != "" {
			devices := auth
			auth = func(u, p string) ([]string, bool) {
				if u == o.benchUser && subtle.ConstantTimeCompare([]byte(p), []byte(o.benchPassword)) == 1 {
					return []string{"whistle.*.dev.*.tele"}, true
				}
				return devices(u, p)
			}
		}
		bcfg.Auth = func(u, p string) ([]string, bool) {
			if !consuming.Load() {
				return nil, false
			}
			return auth(u, p)
		}
	}
	b, err := bus.Open(ctx, bcfg, a.logger)
	if err != nil {
		return nil, err
	}
	w.bus = b
	w.stop = append(w.stop, func() { b.Close() })
	if js, err := bus.JetStream(b); err == nil && (o.mqttPort > 0 || o.natsURL != "") {
		if _, _, err := device.NewConsumer(js, w.ingest, device.ConsumerConfig{}, a.logger).Setup(ctx); err != nil {
			return nil, err
		}
	}
	consuming.Store(true)
	// One bus publisher per database: the runner's consumer holds its
	// cursor row while it publishes (docs/DECISIONS.md).
	w.feed, err = feed.NewRunner(a.db, feed.RunnerConfig{Retain: 7 * 24 * time.Hour, Logger: a.logger}, feed.PublishTo(b, a.logger))
	if err != nil {
		return nil, err
	}
	blobs, err := media.NewFSStore(filepath.Join(o.data, "blobs"))
	if err != nil {
		return nil, err
	}
	caseCfg := casework.DefaultConfig()
	caseCfg.AutoCloseAfter = o.autoClose
	cases, err := casework.NewService(casework.Deps{DB: a.db, Regions: a.regions, Accounts: a.accounts, Catalog: casework.NewCatalog(a.categories),
		Feed: w.feed, Blobs: blobs, Logger: a.logger, Config: caseCfg})
	if err != nil {
		return nil, err
	}
	w.cases = cases
	// Notifications are the feed's second consumer: they need the cases
	// service to tell who acts next.
	// Their copies go out through the channels users choose: SMS always
	// (the logging double without --sms-url), e-mail with --smtp-addr,
	// work messages with --work-webhook-url.
	channels := []notify.Channel{&notify.SMS{Sender: w.sms}}
	if o.smtpAddr != "" {
		channels = append(channels, &notify.SMTP{Addr: o.smtpAddr, From: o.smtpFrom})
	}
	if o.workWebhookURL != "" {
		if u, err := url.Parse(o.workWebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("--work-webhook-url: want an http(s) URL, got %q", o.workWebhookURL)
		}
		channels = append(channels, &notify.Webhook{URL: o.workWebhookURL, Secret: o.workWebhookSecret})
	}
	if o.wechatAppID != "" {
		wx, err := newWeChat(o)
		if err != nil {
			return nil, err
		}
		channels = append(channels, wx)
		w.wechat = wx
	}
	w.outbox = notify.NewOutbox(a.db, a.catalog, a.logger, channels...)
	notifier := notify.NewNotifier(cases, a.logger).WithOutbox(w.outbox)
	if err := w.feed.Add(notifier.Consumer()); err != nil {
		return nil, err
	}
	w.stop = append(w.stop, func() {
		cases.Close()
		st := cases.WriterStats()
		a.logger.Info("group commit", "batches", st.Batches, "writes", st.Writes, "busy", st.Busy.String(), "commit", st.Commit.String(),
			"round_trips", st.Trips, "reserves", st.Reserves)
	})
	// Time limits: the engine is the case service's deadline computation,
	// which casework calls in every change's transaction; its scheduler
	// (started by serve) fires warnings and breaches, whose steps go
	// through casework. casework calls it before the rollups, whatever the
	// order of these calls.
	w.sla, err = sla.New(ctx, sla.Deps{DB: a.db, Cases: cases, Calendar: a.calendar, Categories: a.categories, Regions: a.regions,
		Accounts: a.accounts, Logger: a.logger})
	if err != nil {
		return nil, err
	}
	cases.UseDeadlines(w.sla)
	// Messages say by when in the limit's unit (before the feed runs).
	notifier.WithLimits(w.sla)
	// Rollups: counted in every change's transaction, with the SLA state
	// the engine returned for it.
	w.stats, err = newStats(ctx, a, w.sla.Calendar)
	if err != nil {
		return nil, err
	}
	cases.UseRollups(w.stats)
	cases.UseQueueCounter(w.stats)
	if isDemo && o.demoCases > 0 {
		if err := demo.GenerateHistory(ctx, a.db, demo.HistoryOptions{Regions: a.regions, Categories: a.categories, Stats: w.stats, Workflows: cases.WorkflowStore()},
			o.demoCases, o.seed, e.stderr); err != nil {
			return nil, err
		}
	}
	if built, err := w.stats.EnsureBuilt(ctx, nil); err != nil {
		return nil, err
	} else if built {
		a.logger.Info("rollups rebuilt from the cases")
	}
	// Disputes and hazards: their workflows join the one workflow store,
	// their indicators the one registry, their timers the one runner.
	// Parties link to the registry's people by identity number.
	w.disputes, err = dispute.NewService(ctx, dispute.Deps{DB: a.db, Regions: a.regions, Accounts: a.accounts, Workflows: cases.WorkflowStore(),
		Registry: registry.NewStore(registry.Deps{DB: a.db, Regions: a.regions, Cases: cases}), Calendar: w.sla.Calendar, Logger: a.logger})
	if err != nil {
		return nil, err
	}
	if err := w.disputes.RegisterIndicators(w.stats.Indicators()); err != nil {
		return nil, err
	}
	// Their steps reach the people concerned through the cases' inbox
	// and outbox (before the feed runs).
	notifier.WithSubjects(dispute.KindDispute, w.disputes).WithSubjects(dispute.KindHazard, w.disputes)
	w.phones = account.NewPhoneStore(a.db, a.accounts, w.sms, account.DefaultPhoneConfig())
	var sso *oidc.Provider
	if o.oidcIssuer != "" {
		if sso, err = oidc.New(ctx, oidc.Config{Issuer: o.oidcIssuer, ClientID: o.oidcClientID, ClientSecret: o.oidcClientSecret,
			RedirectURL: o.oidcRedirectURL, Claim: o.oidcClaim}); err != nil {
			return nil, err
		}
	}
	if o.patrolRetention < 0 || o.patrolBuffer <= 0 {
		return nil, fmt.Errorf("--patrol-retention must be 0 or more days and --patrol-buffer more than 0 metres")
	}
	pcfg := patrol.DefaultConfig()
	pcfg.Retention = time.Duration(o.patrolRetention) * 24 * time.Hour
	pcfg.CoverageRadius = o.patrolBuffer
	w.patrols = patrol.NewStore(a.db, a.regions, pcfg)
	proxies, err := web.ParseProxies(o.trustedProxies)
	if err != nil {
		return nil, fmt.Errorf("--trusted-proxies: %w", err)
	}
	placeSearch, landmarks, err := newPlaces(ctx, a, o.maps)
	if err != nil {
		return nil, err
	}
	tiles, err := o.maps.tileLayer()
	if err != nil {
		return nil, err
	}
	w.registry = registry.NewStore(registry.Deps{DB: a.db, Regions: a.regions, Cases: cases})
	if o.visitMaxDistance <= 0 {
		return nil, fmt.Errorf("--visit-max-distance must be more than 0 metres")
	}
	w.visits = visit.NewStore(visit.Deps{DB: a.db, Regions: a.regions, Registry: w.registry, Cases: cases, Calendar: w.sla.Calendar, Blobs: blobs,
		Config: visit.Config{MaxDistance: o.visitMaxDistance, Workdays: o.visitWorkdays}})
	w.registry.UseVisits(w.visits)
	if err := w.visits.RegisterIndicators(w.stats.Indicators()); err != nil {
		return nil, err
	}
	// Benefit applications and payouts: their workflow joins the one
	// workflow store, their timers the one runner, their notices the
	// cases' inbox and outbox; the policy engine answers eligibility.
	if w.eligibility, err = policy.New(policy.Deps{DB: a.db, Registry: w.registry, Accounts: a.accounts}); err != nil {
		return nil, err
	}
	if isDemo {
		if _, err := w.eligibility.SeedDemo(ctx, audit.System("demo")); err != nil {
			return nil, err
		}
	}
	w.benefits, err = benefit.NewService(ctx, benefit.Deps{DB: a.db, Regions: a.regions, Accounts: a.accounts, Workflows: cases.WorkflowStore(),
		Registry: w.registry, Calendar: w.sla.Calendar, Logger: a.logger, Policies: benefit.Engine{E: w.eligibility}})
	if err != nil {
		return nil, err
	}
	w.eligibility.UseReceiving(w.benefits.Receiving)
	// 应享未享, uptake, days to payout and amounts paid, from the stored
	// results and the payouts.
	if err := w.benefits.RegisterIndicators(w.stats.Indicators(), w.eligibility); err != nil {
		return nil, err
	}
	w.eligibility.UseAutoPay(func(ctx context.Context, s policy.Subject) error {
		_, err := w.benefits.RunAutoPay(ctx, []benefit.Subject{{Kind: s.Kind, ID: s.ID}})
		return err
	})
	// Registry changes re-check the stored eligibility of their subjects.
	if err := w.feed.Add(w.eligibility.Consumer()); err != nil {
		return nil, err
	}
	notifier.WithSubjects(benefit.Kind, w.benefits).WithSubjects(benefit.KindPayout, w.benefits)
	// 考核 reads cases through casework and the SLA engine's stages, and
	// takes indicator values, weak points and improvers from benchmarking.
	w.benchmark = benchmark.NewStore(benchmark.Deps{DB: a.db, Regions: a.regions})
	bench := assess.Benchmark{Store: w.benchmark}
	w.assess = assess.NewService(assess.Deps{DB: a.db, Regions: a.regions, Accounts: a.accounts,
		Cases: assess.CaseworkCases{Cases: cases, SLA: w.sla, Accounts: a.accounts}, Values: bench, Publisher: bench, Peers: bench})
	if isDemo && o.demoAssessment {
		if err := demoAssessment(ctx, w, o, e); err != nil {
			return nil, err
		}
	}
	// Sensing: its alarm workflow joins the one workflow store, its
	// indicators the one registry; the family's and the parking warnings
	// go out through the SMS channel (logged unless --sms-url).
	w.sensing, err = sensing.NewService(ctx, sensing.Deps{DB: a.db, Workflows: cases.WorkflowStore(), Cases: cases,
		Channel: &notify.SMS{Sender: w.sms}, Logger: a.logger, CaseAfter: o.alarmCaseAfter, StreetAfter: o.alarmStreetAfter,
		Visits: w.visits})
	if err != nil {
		return nil, err
	}
	if err := w.sensing.RegisterIndicators(w.stats.Indicators()); err != nil {
		return nil, err
	}
	// Every module's indicators are in the registry now: 对标 copies them
	// monthly (the timer armed by serve), and the demo its twelve months.
	if w.snapshots, err = benchmark.NewSnapshots(w.benchmark, w.stats.Indicators()); err != nil {
		return nil, err
	}
	if isDemo && o.demoAssessment {
		if err := demoSnapshots(ctx, w, e); err != nil {
			return nil, err
		}
	}
	// The rules run inside the ingest transaction of every batch (MQTT and
	// POST /api/v1/telemetry); silent devices resolve through the registry.
	w.ingest.UseSink(w.sensing.Sink(w.devices))
	imports, err := regimport.New(regimport.Deps{Registry: w.registry, Regions: a.regions, Clock: clock.Real{}})
	if err != nil {
		return nil, err
	}
	w.srv, err = web.NewServer(web.Deps{BaseData: w.registry, Visits: w.visits, Eligibility: w.eligibility, Assess: w.assess, Benefits: w.benefits, Devices: w.devices, Ingest: w.ingest, Imports: imports, Places: placeSearch, Landmarks: landmarks, Tiles: tiles, ReadyCheck: a.db.Ping, Audit: audit.NewLog(a.db), Inbox: notify.NewStore(a.db), Accounts: a.accounts,
		Phones: w.phones, Outbox: w.outbox, WeChat: w.wechatBinder(), OIDC: sso, Regions: a.regions, Cases: cases, Categories: a.categories, Dicts: dict.NewStore(a.db), Disputes: w.disputes, Sensing: w.sensing, Patrols: w.patrols, Stats: w.stats, Bus: b, Catalog: a.catalog, SLA: w.sla, Benchmark: w.benchmark,
		Clock: clock.Real{}, Logger: a.logger, Version: version, Demo: isDemo, SecureCookies: o.secureCookies, TrustedProxies: proxies, MaxBodyBytes: o.maxBody,
		Open311Keys: ratelimit.New(o.open311Rate, o.open311Burst, clock.Real{}),
		Limiter: web.NewLimiter(web.Limits{Login: web.PerMinute(o.limitLogin), Anonymous: web.PerMinute(o.limitAnonymous),
			Search: web.PerMinute(o.maps.limitSearch)}, clock.Real{})})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// wechatBinder is the WeChat channel as the web's openid binding, or nil
// (an interface holding a nil pointer would not be nil).
func (w *wired) wechatBinder() web.WeChatBinder {
	if w.wechat == nil {
		return nil
	}
	return w.wechat
}

// newWeChat builds the WeChat template-message channel from the
// --wechat-* flags: an AppID needs its secret and a template, and the
// URLs must be http(s).
func newWeChat(o *options) (*notify.WeChat, error) {
	if o.wechatSecret == "" || o.wechatTemplate == "" {
		return nil, fmt.Errorf("--wechat-appid needs --wechat-secret and --wechat-template")
	}
	urls := []struct{ name, v string }{{"--wechat-url", o.wechatURL}, {"--wechat-oauth-url", o.wechatOAuth}}
	if o.wechatLink != "" {
		urls = append(urls, struct{ name, v string }{"--wechat-link", o.wechatLink})
	}
	for _, f := range urls {
		if u, err := url.Parse(f.v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%s: want an http(s) URL, got %q", f.name, f.v)
		}
	}
	return &notify.WeChat{AppID: o.wechatAppID, Secret: o.wechatSecret, TemplateID: o.wechatTemplate, API: o.wechatURL, OAuth: o.wechatOAuth, Link: o.wechatLink}, nil
}

// newSMS builds the SMS sender from the --sms-* flags: the gateway
// adapter when --sms-url is set, else a sms.Log that only logs.
func newSMS(o *options, logger *slog.Logger) (sms.Sender, error) {
	tpl, err := sms.ParseTemplates(o.smsTemplates)
	if err != nil {
		return nil, fmt.Errorf("--sms-templates: %w", err)
	}
	s, err := sms.New(sms.Config{URL: o.smsURL, AccessKey: o.smsKey, Secret: o.smsSecret, SignName: o.smsSign, Templates: tpl}, logger)
	if err != nil {
		return nil, fmt.Errorf("--sms-url: %w", err)
	}
	if o.smsURL == "" {
		logger.Warn("no SMS gateway (--sms-url): text messages are logged, not sent")
	}
	return s, nil
}

// autoClose closes unrated 红哨 cases periodically until ctx ends.
func autoClose(ctx context.Context, cases *casework.Service, logger *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if n, err := cases.AutoClose(ctx); err != nil && ctx.Err() == nil {
			logger.Warn("auto-close", "err", err)
		} else if n > 0 {
			logger.Info("auto-closed unrated cases", "n", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func cmdMigrate(ctx context.Context, args []string, e env) error {
	var o options
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	o.dataFlags(fs)
	if _, err := parse(fs, args, e); err != nil {
		return err
	}
	d, err := db.Open(ctx, db.Config{URL: o.dbURL, DataDir: o.data}, clock.Real{})
	if err != nil {
		return err
	}
	defer d.Close()
	applied, err := d.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintln(e.stdout, "whistle: schema is up to date")
	}
	for _, m := range applied {
		fmt.Fprintln(e.stdout, "applied", m)
	}
	return nil
}

// describe renders a domain error for the terminal, in English.
func describe(a *app, err error) error {
	if ie, ok := err.(*region.ImportError); ok {
		err = ie.AsErr()
	}
	ae, ok := errs.As(err)
	if !ok {
		return err
	}
	var b strings.Builder
	b.WriteString(a.catalog.T(i18n.EN, ae.Msg.Key, ae.Msg.Args...))
	for _, k := range sortedKeys(ae.Fields) {
		m := ae.Fields[k]
		fmt.Fprintf(&b, "\n  %s: %s", k, a.catalog.T(i18n.EN, m.Key, m.Args...))
	}
	return errors.New(b.String())
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Feature numbers sort naturally: feature[2] before feature[10].
	for i := 1; i < len(keys); i++ {
		for j := i; j > 0 && lessNatural(keys[j], keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

func lessNatural(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func cmdUser(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		return errors.New("user: want add, passwd or list")
	}
	var o options
	var username, password, role, regionCode, dept, display, phone string
	fs := flag.NewFlagSet("user "+args[0], flag.ContinueOnError)
	o.dataFlags(fs)
	fs.StringVar(&username, "username", "", "username")
	fs.StringVar(&password, "password", "", "password")
	fs.StringVar(&role, "role", "", "role (comma-separated for several)")
	fs.StringVar(&regionCode, "region", "", "region code")
	fs.StringVar(&dept, "department", "", "department code (department handlers)")
	fs.StringVar(&display, "display-name", "", "display name")
	fs.StringVar(&phone, "phone", "", "mobile number")
	if _, err := parse(fs, args[1:], e); err != nil {
		return err
	}
	a, err := open(ctx, &o, e)
	if err != nil {
		return err
	}
	defer a.db.Close()
	actor := audit.System("user " + args[0])
	switch args[0] {
	case "add":
		var roles []account.Role
		for _, r := range strings.Split(role, ",") {
			if r = strings.TrimSpace(r); r != "" {
				roles = append(roles, account.Role(r))
			}
		}
		u, err := a.accounts.AddUser(ctx, actor, account.SystemScope(), account.NewUser{Username: username, Password: password,
			Roles: roles, RegionCode: regionCode, DepartmentCode: dept, DisplayName: display, Phone: phone})
		if err != nil {
			return describe(a, err)
		}
		fmt.Fprintf(e.stdout, "created user %d %s\n", u.ID, u.Username)
		return nil
	case "passwd":
		u, err := a.accounts.UserByName(ctx, account.SystemScope(), username)
		if err != nil {
			return describe(a, err)
		}
		if err := a.accounts.SetPassword(ctx, actor, account.SystemScope(), u.ID, password); err != nil {
			return describe(a, err)
		}
		fmt.Fprintf(e.stdout, "password changed for %s; their sessions were ended\n", u.Username)
		return nil
	case "list":
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSERNAME\tROLES\tREGION\tDEPARTMENT")
		var after int64
		for {
			users, err := a.accounts.Users(ctx, account.SystemScope(), account.UserFilter{Region: regionCode, After: after, Limit: 500})
			if err != nil {
				return err
			}
			for _, u := range users {
				roles := make([]string, len(u.Roles))
				for i, r := range u.Roles {
					roles[i] = string(r)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s %s\t%s\n", u.ID, u.Username, strings.Join(roles, ","), u.Region.Code, u.Region.Name, u.DepartmentCode)
			}
			if len(users) < 500 {
				break
			}
			after = users[len(users)-1].ID
		}
		return tw.Flush()
	}
	return fmt.Errorf("user: unknown subcommand %q (want add, passwd or list)", args[0])
}

func cmdAPIKey(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		return errors.New("apikey: want create, list or revoke")
	}
	var o options
	var name, regionCode, services string
	fs := flag.NewFlagSet("apikey "+args[0], flag.ContinueOnError)
	o.dataFlags(fs)
	fs.StringVar(&name, "name", "", "key name")
	fs.StringVar(&regionCode, "region", "", "create: the region code the key acts in (default: the district)")
	fs.StringVar(&services, "services", "", "create: service (category) codes the key may post to, comma-separated (default: all)")
	pos, err := parse(fs, args[1:], e)
	if err != nil {
		return err
	}
	a, err := open(ctx, &o, e)
	if err != nil {
		return err
	}
	defer a.db.Close()
	actor := audit.System("apikey " + args[0])
	switch args[0] {
	case "create":
		key, k, err := a.accounts.CreateKey(ctx, actor, account.NewAPIKey{Name: name, Region: regionCode, Services: strings.Split(services, ",")})
		if err != nil {
			return describe(a, err)
		}
		fmt.Fprintf(e.stdout, "created API key %d %q for region %s, services %s; it is shown only once:\n%s\n", k.ID, k.Name, keyRegion(k.Region), orAll(strings.Join(k.Services, ",")), key)
		return nil
	case "list":
		keys, err := a.accounts.APIKeys(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tREGION\tSERVICES\tCREATED\tREVOKED")
		for _, k := range keys {
			rev := "-"
			if k.RevokedAt != nil {
				rev = k.RevokedAt.Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s…\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Prefix, keyRegion(k.Region), orAll(strings.Join(k.Services, ",")), k.CreatedAt.Format(time.RFC3339), rev)
		}
		return tw.Flush()
	case "revoke":
		target := name
		if target == "" && len(pos) > 0 {
			target = pos[0]
		}
		if target == "" {
			return errors.New("apikey revoke: name the key by ID or --name")
		}
		if err := a.accounts.RevokeAPIKey(ctx, actor, target); err != nil {
			return describe(a, err)
		}
		fmt.Fprintf(e.stdout, "revoked %s\n", target)
		return nil
	}
	return fmt.Errorf("apikey: unknown subcommand %q (want create, list or revoke)", args[0])
}

// keyRegion shows a key's region; a key without one may do nothing.
func keyRegion(v string) string {
	if v == "" {
		return "none"
	}
	return v
}

// orAll shows an empty list of services as "all".
func orAll(v string) string {
	if v == "" {
		return "all"
	}
	return v
}

func cmdRegion(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		return errors.New("region: want import or export")
	}
	var o options
	var out string
	var dry bool
	fs := flag.NewFlagSet("region "+args[0], flag.ContinueOnError)
	o.dataFlags(fs)
	fs.StringVar(&out, "out", "", "export: write to this file instead of standard output")
	fs.BoolVar(&dry, "dry-run", false, "import: validate only")
	pos, err := parse(fs, args[1:], e)
	if err != nil {
		return err
	}
	var file string
	if len(pos) > 0 {
		file = pos[0]
	}
	a, err := open(ctx, &o, e)
	if err != nil {
		return err
	}
	defer a.db.Close()
	switch args[0] {
	case "import":
		if file == "" {
			return errors.New("region import: give the GeoJSON file")
		}
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		defer f.Close()
		feats, issues, err := region.ParseFeatures(f)
		if err != nil {
			return describe(a, err)
		}
		if len(issues) > 0 {
			return describe(a, &region.ImportError{Issues: issues})
		}
		if dry {
			if err := a.regions.Validate(ctx, feats); err != nil {
				return describe(a, err)
			}
			fmt.Fprintf(e.stdout, "%s is valid: %d features\n", file, len(feats))
			return nil
		}
		res, err := a.regions.Import(ctx, audit.System("region import"), feats)
		if err != nil {
			return describe(a, err)
		}
		fmt.Fprintf(e.stdout, "imported %s: %d created, %d updated\n", file, res.Created, res.Updated)
		return nil
	case "export":
		w := e.stdout
		if out != "" {
			f, err := os.Create(out)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		return a.regions.Export(ctx, w)
	}
	return fmt.Errorf("region: unknown subcommand %q (want import or export)", args[0])
}
