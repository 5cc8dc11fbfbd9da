package open311

import (
	"context"
	"errors"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/clock"
	"whistle/internal/errs"
	"whistle/internal/i18n"
	"whistle/internal/ratelimit"
	"whistle/internal/region"
)

// Limits of one call.
const (
	MaxResults = 1000 // per GET requests or servicerequestupdates answer
	MaxIDs     = 1000 // service_request_id values in one query
	MaxPage    = 100000
)

// Service is the Open311 GeoReport v2 endpoint's logic, apart from HTTP:
// the service list, submitting requests (with the API key's rate, region
// and services), reading them with the standard's filters, and updates.
// Its refusals are *Refusal values; other errors are failures of its
// dependencies, which RefusalOf maps.
type Service struct {
	cases      *casework.Service
	categories *category.Store
	regions    *region.Store
	keys       *account.Store
	limit      *ratelimit.Limiter
	clock      clock.Clock
}

// Deps are the services the Open311 endpoint reads and writes through.
type Deps struct {
	Cases      *casework.Service
	Categories *category.Store
	Regions    *region.Store
	// Keys checks API keys.
	Keys *account.Store
	// Limit throttles each API key; nil means no limit.
	Limit *ratelimit.Limiter
	Clock clock.Clock
}

// NewService returns the Open311 service over d; a nil Clock is the real
// one.
func NewService(d Deps) *Service {
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	return &Service{cases: d.Cases, categories: d.Categories, regions: d.Regions, keys: d.Keys, limit: d.Limit, clock: d.Clock}
}

// View is how the caller reached the service: documents carry absolute
// URLs and names in the caller's language.
type View struct {
	// BaseURL is the server's absolute URL as the client reached it, e.g.
	// https://whistle.example.org.
	BaseURL string
	Lang    i18n.Lang
}

// MediaPath is where a photo of a public case's public timeline is served:
// the media_url of requests and updates.
func MediaPath(caseID, photoID int64) string {
	return "/api/v1/public/cases/" + strconv.FormatInt(caseID, 10) + "/photos/" + strconv.FormatInt(photoID, 10)
}

// Catalog returns the services as of now.
func (s *Service) Catalog(ctx context.Context) (_ *Catalog, err error) {
	defer errs.Wrapf(&err, "open311.Service.Catalog")
	all, err := s.categories.List(ctx)
	if err != nil {
		return nil, err
	}
	return NewCatalog(all), nil
}

// Discovery is the discovery document, apart from its Contact and
// KeyService texts, which the caller writes in its language.
func (s *Service) Discovery(ctx context.Context, v View) (_ Discovery, err error) {
	defer errs.Wrapf(&err, "open311.Service.Discovery")
	cat, err := s.Catalog(ctx)
	if err != nil {
		return Discovery{}, err
	}
	return Discovery{Changeset: cat.Changeset(),
		Endpoints: []Endpoint{{Specification: Specification, URL: v.BaseURL + "/open311/v2",
			Changeset: cat.Changeset(), Type: "production", Formats: []string{"text/xml", "application/json"}}}}, nil
}

// Services lists the services in lang.
func (s *Service) Services(ctx context.Context, lang i18n.Lang) (_ []ServiceInfo, err error) {
	defer errs.Wrapf(&err, "open311.Service.Services")
	cat, err := s.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	return cat.Services(lang), nil
}

// Definition is the service definition of code (404 when there is no such
// service); tr translates the datatype descriptions.
func (s *Service) Definition(ctx context.Context, code string, tr *i18n.Catalog, lang i18n.Lang) (_ ServiceDefinition, err error) {
	defer errs.Wrapf(&err, "open311.Service.Definition")
	cat, err := s.Catalog(ctx)
	if err != nil {
		return ServiceDefinition{}, err
	}
	d, ok := cat.Definition(code, tr, lang)
	if !ok {
		return ServiceDefinition{}, refuse(http.StatusNotFound, "open311.service_not_found", code)
	}
	return d, nil
}

// authorize checks the api_key (403) and its rate (429) and returns the
// key.
func (s *Service) authorize(ctx context.Context, key string) (*account.APIKey, error) {
	k, err := s.keys.CheckAPIKey(ctx, strings.TrimSpace(key))
	if errs.Is(err, errs.Forbidden) {
		return nil, refuse(http.StatusForbidden, "open311.api_key")
	}
	if err != nil {
		return nil, err
	}
	if ok, wait := s.limit.Allow("apikey:" + strconv.FormatInt(k.ID, 10)); !ok {
		secs := max(1, int(math.Ceil(wait.Seconds())))
		e := refuse(http.StatusTooManyRequests, "open311.rate_limited", secs)
		e.RetryAfter = secs
		return nil, e
	}
	return k, nil
}

// inKeyScope refuses (403) a request whose place, the materialised region
// path p, lies outside the key's region: the key's data scope, an
// account.Scope like a user's.
func inKeyScope(k *account.APIKey, p string) error {
	if k.Scope().Covers(p) {
		return nil
	}
	return refuse(http.StatusForbidden, "open311.api_key_region", k.Region)
}

// placePath is the materialised region path of the grid at a WGS-84
// point ("" outside every grid).
func (s *Service) placePath(lat, lng float64) string {
	loc, ok := s.regions.Locator().Locate(orb.Point{lng, lat})
	if !ok {
		return ""
	}
	p := "/"
	for _, ref := range loc.Path {
		p += ref.Code + "/"
	}
	return p
}

// SubmitRequest is a POST requests call, its parameters as sent.
type SubmitRequest struct {
	APIKey, ServiceCode    string
	Lat, Long              string
	AddressID, AddressText string
	Description, Phone     string
	AccountID              string
	Attributes             map[string]string
	// Malformed lists the attribute parameters that could not be read.
	Malformed []string
	// IdempotencyKey is the client's Idempotency-Key header.
	IdempotencyKey string
	// IP is the client's address, for the audit log.
	IP string
}

// ParseSubmit reads the parameters of a POST requests call.
func ParseSubmit(form url.Values) SubmitRequest {
	attrs, malformed := Attributes(form)
	return SubmitRequest{APIKey: form.Get("api_key"), ServiceCode: strings.TrimSpace(form.Get("service_code")),
		Lat: strings.TrimSpace(form.Get("lat")), Long: strings.TrimSpace(form.Get("long")),
		AddressID: strings.TrimSpace(form.Get("address_id")), AddressText: strings.TrimSpace(form.Get("address_string")),
		Description: form.Get("description"), Phone: form.Get("phone"), AccountID: strings.TrimSpace(form.Get("account_id")),
		Attributes: attrs, Malformed: malformed}
}

// Submit opens a case for a POST requests call and returns its number.
// The key must be valid and within its rate, may post only to its
// services and within its region; every problem of the input is reported
// at once.
func (s *Service) Submit(ctx context.Context, req SubmitRequest) (number string, err error) {
	defer errs.Wrapf(&err, "open311.Service.Submit")
	k, err := s.authorize(ctx, req.APIKey)
	if err != nil {
		return "", err
	}
	var bad problems
	if req.ServiceCode == "" {
		bad.param("service_code", "field.required")
		return "", bad.err()
	}
	cat, err := s.Catalog(ctx)
	if err != nil {
		return "", err
	}
	svc, ok := cat.Lookup(req.ServiceCode)
	if !ok {
		return "", refuse(http.StatusNotFound, "open311.service_not_found", req.ServiceCode)
	}
	if !k.MayPost(svc.Code) {
		return "", refuse(http.StatusForbidden, "open311.api_key_service", svc.Code)
	}
	lat, lng, placed, err := s.location(ctx, req, &bad)
	if err != nil {
		return "", err
	}
	if placed {
		if err := inKeyScope(k, s.placePath(lat, lng)); err != nil {
			return "", err
		}
	}
	for _, m := range req.Malformed {
		bad.add("open311.attribute_malformed", m)
	}
	if len(req.Malformed) == 0 {
		// Checked here as well as in Submit so that every problem is
		// reported at once, named as the client named it.
		bad.list = append(bad.list, attributeProblems(svc, req.Attributes)...)
	}
	if strings.TrimSpace(req.Description) == "" {
		bad.param("description", "field.required")
	}
	if err := bad.err(); err != nil {
		return "", err
	}
	in := casework.SubmitInput{Category: svc.Code, Description: req.Description, Lat: &lat, Lng: &lng, CRS: "wgs84",
		Address: req.AddressText, Phone: NormalizePhone(req.Phone), Fields: req.Attributes, Source: casework.SourceOpen311}
	if key := strings.TrimSpace(req.IdempotencyKey); key != "" {
		in.IdempotencyKey = "open311:" + strconv.FormatInt(k.ID, 10) + ":" + key
	}
	c, _, err := s.cases.Submit(withKey(ctx, k, req.IP), casework.Caller{System: true, IP: req.IP}, in)
	if err != nil {
		return "", err
	}
	return c.Number, nil
}

// withKey marks ctx as a change made by the integration behind key k, for
// the audit log.
func withKey(ctx context.Context, k *account.APIKey, ip string) context.Context {
	return WithClient(ctx, Client{KeyID: k.ID, KeyName: k.Name, IP: ip})
}

// attributeProblems validates attribute answers against the service's
// definition and names each problem attribute[CODE].
func attributeProblems(svc *category.Category, attrs map[string]string) []Problem {
	e, ok := errs.As(category.ValidateFields(svc, attrs))
	if !ok {
		return nil
	}
	fields := errs.E(errs.Invalid, "error.invalid")
	for k, m := range e.Fields {
		fields.Field("fields."+k, m.Key, m.Args...)
	}
	if len(e.Fields) == 0 {
		fields = e
	}
	return RefusalOf(fields).Problems
}

// location reads lat/long, or else address_id, into a WGS-84 point inside
// the district. Problems with the input go to bad (ok false); err is a
// failure on our side.
func (s *Service) location(ctx context.Context, req SubmitRequest, bad *problems) (lat, lng float64, ok bool, err error) {
	switch {
	case req.Lat != "" || req.Long != "":
		if req.Lat == "" || req.Long == "" {
			bad.add("open311.lat_long_pair")
			return 0, 0, false, nil
		}
		num := func(name, v string, lim float64) (float64, bool) {
			x, err := strconv.ParseFloat(v, 64)
			switch {
			case err != nil || math.IsNaN(x) || math.IsInf(x, 0):
				bad.param(name, "field.number")
			case x < -lim || x > lim:
				bad.param(name, "field.range", -lim, lim)
			default:
				return x, true
			}
			return 0, false
		}
		la, ok1 := num("lat", req.Lat, 90)
		lo, ok2 := num("long", req.Long, 180)
		if !ok1 || !ok2 {
			return 0, 0, false, nil
		}
		lat, lng = la, lo
	case req.AddressID != "":
		n, err := s.regions.Get(ctx, req.AddressID)
		if err != nil && !errs.Is(err, errs.NotFound) {
			return 0, 0, false, err
		}
		if err != nil || n.Level == region.City || n.Level == region.District {
			bad.add("open311.address_id", req.AddressID)
			return 0, 0, false, nil
		}
		lat, lng = n.Interior[1], n.Interior[0]
	case req.AddressText != "":
		bad.add("open311.address_string_only")
		return 0, 0, false, nil
	default:
		bad.add("open311.location_required")
		return 0, 0, false, nil
	}
	if _, in := s.regions.Locator().Locate(orb.Point{lng, lat}); !in {
		bad.add("open311.outside", lat, lng)
		return 0, 0, false, nil
	}
	return lat, lng, true, nil
}

// splitList splits a comma list, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// dateParam reads an optional W3C date-time parameter.
func dateParam(name, v string, bad *problems) time.Time {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}
	}
	t, err := ParseTime(v)
	switch {
	case errors.Is(err, ErrNoZone):
		bad.add("open311.date_zone", name)
	case err != nil:
		bad.add("open311.date_format", name)
	}
	return t
}

// window reads start_date and end_date into a closed window.
func (s *Service) window(start, end string, bad *problems) (from, to time.Time) {
	before := len(bad.list)
	st, en := dateParam("start_date", start, bad), dateParam("end_date", end, bad)
	if len(bad.list) > before {
		return
	}
	from, to, err := Window(st, en, s.clock.Now())
	switch {
	case errors.Is(err, ErrSpan):
		bad.add("open311.span")
	case errors.Is(err, ErrOrder):
		bad.add("open311.order")
	}
	return from, to
}

// positiveParam reads an optional positive integer parameter.
func positiveParam(name, v string, def, hi int, bad *problems) int {
	v = strings.TrimSpace(v)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > hi {
		bad.add("open311.positive", name, hi)
		return def
	}
	return n
}

// RequestQuery is a GET requests call's filters, as sent.
type RequestQuery struct {
	// IDs are service_request_id's values; when there are any, the other
	// filters but the page are ignored, as the standard says.
	IDs                []string
	ServiceCodes       []string
	Status             []string
	StartDate, EndDate string
	Page, PageSize     string
}

// ParseRequestQuery reads the filters of a GET requests call.
func ParseRequestQuery(q url.Values) RequestQuery {
	return RequestQuery{IDs: splitList(q.Get("service_request_id")), ServiceCodes: splitList(q.Get("service_code")),
		Status: splitList(strings.ToLower(q.Get("status"))), StartDate: q.Get("start_date"), EndDate: q.Get("end_date"),
		Page: q.Get("page"), PageSize: q.Get("page_size")}
}

// filter checks q and turns it into a case filter and a page.
func (s *Service) filter(q RequestQuery) (f casework.Filter, skip, n int, err error) {
	var bad problems
	f = casework.Filter{PublicOnly: true}
	if len(q.IDs) > 0 {
		if len(q.IDs) > MaxIDs {
			bad.add("open311.too_many_ids", MaxIDs)
		}
		f.Numbers = q.IDs
	} else {
		f.Categories = q.ServiceCodes
		switch st := q.Status; {
		case len(st) == 0:
		case len(st) == 1 && (st[0] == "open" || st[0] == "closed"):
			open := st[0] == "open"
			f.Open = &open
		case len(st) == 2 && slices.Contains(st, "open") && slices.Contains(st, "closed"):
		default:
			bad.add("open311.status_filter")
		}
		from, to := s.window(q.StartDate, q.EndDate, &bad)
		// Stored times have microseconds; end_date is inclusive.
		f.From, f.To = from, to.Add(time.Microsecond)
	}
	page := positiveParam("page", q.Page, 1, MaxPage, &bad)
	size := positiveParam("page_size", q.PageSize, MaxResults, MaxResults, &bad)
	return f, (page - 1) * size, size, bad.err()
}

// Requests answers GET requests: the public cases that match q, newest
// first.
func (s *Service) Requests(ctx context.Context, q RequestQuery, v View) (_ []Request, err error) {
	defer errs.Wrapf(&err, "open311.Service.Requests")
	f, skip, n, err := s.filter(q)
	if err != nil {
		return nil, err
	}
	cases, err := s.findCases(ctx, f, skip, n)
	if err != nil {
		return nil, err
	}
	return s.requests(ctx, cases, v)
}

// findCases pages through the cases of filter, newest first, skipping the
// first skip and returning at most n.
func (s *Service) findCases(ctx context.Context, f casework.Filter, skip, n int) ([]*casework.Case, error) {
	var out []*casework.Case
	f.Limit = 500
	for len(out) < n {
		batch, next, err := s.cases.List(ctx, casework.Caller{System: true}, f)
		if err != nil {
			return nil, err
		}
		if skip >= len(batch) {
			skip -= len(batch)
		} else {
			batch, skip = batch[skip:], 0
			out = append(out, batch[:min(len(batch), n-len(out))]...)
		}
		if next == 0 {
			break
		}
		f.Before = next
	}
	return out, nil
}

// requests maps cases to Open311 requests, each with its public timeline.
func (s *Service) requests(ctx context.Context, cases []*casework.Case, v View) ([]Request, error) {
	if len(cases) == 0 {
		return nil, nil
	}
	cat, err := s.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Request, 0, len(cases))
	for _, c := range cases {
		_, tl, err := s.cases.PublicCase(ctx, c.ID)
		if errs.Is(err, errs.NotFound) {
			continue // made private meanwhile
		}
		if err != nil {
			return nil, err
		}
		info := RequestInfo{ServiceName: cat.ServiceName(c.CategoryCode, c.CategoryName, v.Lang), Agency: s.agency(c)}
		if p, ok := FirstPhoto(tl); ok {
			info.MediaURL = v.BaseURL + MediaPath(c.ID, p.ID)
		}
		out = append(out, NewRequest(c, tl, info))
	}
	return out, nil
}

// agency is who handles a case: its department, or else its community.
func (s *Service) agency(c *casework.Case) string {
	if c.DepartmentName != "" {
		return c.DepartmentName
	}
	if loc, ok := s.regions.Locator().Grid(c.GridCode); ok {
		return loc.At(region.Community).Name
	}
	return ""
}

// publicCase finds a public case by its number (404 otherwise).
func (s *Service) publicCase(ctx context.Context, number string) (*casework.Case, error) {
	if number == "" || len(number) > 64 {
		return nil, refuse(http.StatusNotFound, "open311.request_not_found", number)
	}
	cs, _, err := s.cases.List(ctx, casework.Caller{System: true}, casework.Filter{Numbers: []string{number}, PublicOnly: true, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, refuse(http.StatusNotFound, "open311.request_not_found", number)
	}
	return cs[0], nil
}

// Request answers GET requests/{id}: the public case numbered number.
func (s *Service) Request(ctx context.Context, number string, v View) (_ []Request, err error) {
	defer errs.Wrapf(&err, "open311.Service.Request")
	c, err := s.publicCase(ctx, number)
	if err != nil {
		return nil, err
	}
	out, err := s.requests(ctx, []*casework.Case{c}, v)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, refuse(http.StatusNotFound, "open311.request_not_found", number)
	}
	return out, nil
}

// Token answers GET tokens/{token}: every service is realtime, and a token
// is the service_request_id itself.
func (s *Service) Token(ctx context.Context, token string) (_ TokenAnswer, err error) {
	defer errs.Wrapf(&err, "open311.Service.Token")
	c, err := s.publicCase(ctx, token)
	var rf *Refusal
	if errors.As(err, &rf) && rf.Status == http.StatusNotFound {
		return TokenAnswer{}, refuse(http.StatusNotFound, "open311.token_not_found", token)
	}
	if err != nil {
		return TokenAnswer{}, err
	}
	return TokenAnswer{Token: token, ID: c.Number}, nil
}

// Updates answers GET servicerequestupdates: the public steps between
// start and end (W3C date-times as sent; blank for the defaults of
// Window), each with its first photo.
func (s *Service) Updates(ctx context.Context, start, end string, v View) (_ []Update, err error) {
	defer errs.Wrapf(&err, "open311.Service.Updates")
	var bad problems
	from, to := s.window(start, end, &bad)
	if err := bad.err(); err != nil {
		return nil, err
	}
	evs, err := s.cases.PublicEvents(ctx, from, to.Add(time.Microsecond), MaxResults)
	if err != nil {
		return nil, err
	}
	// The first photo of each step, from each case's public timeline.
	photo := map[int64]string{}
	seen := map[int64]bool{}
	for _, e := range evs {
		if seen[e.CaseID] {
			continue
		}
		seen[e.CaseID] = true
		_, tl, err := s.cases.PublicCase(ctx, e.CaseID)
		if errs.Is(err, errs.NotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, step := range tl {
			if len(step.Photos) > 0 {
				photo[step.ID] = v.BaseURL + MediaPath(e.CaseID, step.Photos[0].ID)
			}
		}
	}
	out := make([]Update, 0, len(evs))
	for _, e := range evs {
		out = append(out, NewUpdate(e, photo[e.ID]))
	}
	return out, nil
}

// UpdateRequest is a POST servicerequestupdates call, its parameters as
// sent.
type UpdateRequest struct {
	APIKey, RequestID, UpdateID string
	Status, UpdatedDatetime     string
	Description, AccountID      string
	// IP is the client's address, for the audit log.
	IP string
}

// ParseUpdate reads the parameters of a POST servicerequestupdates call.
func ParseUpdate(form url.Values) UpdateRequest {
	return UpdateRequest{APIKey: form.Get("api_key"), RequestID: strings.TrimSpace(form.Get("service_request_id")),
		UpdateID: strings.TrimSpace(form.Get("update_id")), Status: form.Get("status"),
		UpdatedDatetime: strings.TrimSpace(form.Get("updated_datetime")), Description: form.Get("description"),
		AccountID: strings.TrimSpace(form.Get("account_id"))}
}

// PostUpdate takes the workflow action an update asks for, where the
// workflow lets the system take it, and refuses every other update with
// 400. A retry of an update that closed the case gets the same answer.
func (s *Service) PostUpdate(ctx context.Context, req UpdateRequest) (_ UpdateReceipt, err error) {
	defer errs.Wrapf(&err, "open311.Service.PostUpdate")
	k, err := s.authorize(ctx, req.APIKey)
	if err != nil {
		return UpdateReceipt{}, err
	}
	var bad problems
	for _, p := range [][2]string{{"service_request_id", req.RequestID}, {"update_id", req.UpdateID}, {"status", req.Status},
		{"updated_datetime", req.UpdatedDatetime}, {"description", req.Description}} {
		if strings.TrimSpace(p[1]) == "" {
			bad.param(p[0], "field.required")
		}
	}
	status, ok := ParseUpdateStatus(req.Status)
	if !ok && strings.TrimSpace(req.Status) != "" {
		bad.add("open311.update_status", req.Status)
	}
	if req.UpdatedDatetime != "" {
		dateParam("updated_datetime", req.UpdatedDatetime, &bad)
	}
	if err := bad.err(); err != nil {
		return UpdateReceipt{}, err
	}
	c, err := s.publicCase(ctx, req.RequestID)
	if err != nil {
		return UpdateReceipt{}, err
	}
	if err := inKeyScope(k, c.RegionPath); err != nil {
		return UpdateReceipt{}, err
	}
	if !k.MayPost(c.CategoryCode) {
		return UpdateReceipt{}, refuse(http.StatusForbidden, "open311.api_key_service", c.CategoryCode)
	}
	action, ok := UpdateAction(status)
	refused := func() error {
		return refuse(http.StatusBadRequest, "open311.update_refused", strings.ToUpper(status), c.Number,
			errs.Msg{Key: "status." + string(c.Status)})
	}
	if !ok {
		return UpdateReceipt{}, refused()
	}
	system := casework.Caller{System: true, IP: req.IP}
	if !slices.ContainsFunc(s.cases.Actions(c, system), func(a casework.Available) bool { return a.Action == action }) {
		if id, done := s.lastStep(ctx, c, action); done && !c.IsOpen() {
			// A retry of an update that was applied: the same answer.
			return UpdateReceipt{ID: id}, nil
		}
		return UpdateReceipt{}, refused()
	}
	if _, err := s.cases.Act(withKey(ctx, k, req.IP), system, c.ID, action, casework.Input{Note: req.Description, Version: c.Version}); err != nil {
		if errs.Is(err, errs.Conflict) {
			return UpdateReceipt{}, refused()
		}
		return UpdateReceipt{}, err
	}
	id, _ := s.lastStep(ctx, c, action)
	return UpdateReceipt{ID: id, AccountID: req.AccountID}, nil
}

// lastStep returns the id of the case's latest public step of action
// taken by the system.
func (s *Service) lastStep(ctx context.Context, c *casework.Case, a casework.Action) (string, bool) {
	_, tl, err := s.cases.PublicCase(ctx, c.ID)
	if err != nil {
		return "", false
	}
	for i := len(tl) - 1; i >= 0; i-- {
		if tl[i].Action == a && tl[i].Role == "system" {
			return strconv.FormatInt(tl[i].ID, 10), true
		}
	}
	return "", false
}
