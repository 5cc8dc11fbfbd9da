package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/errs"
	"whistle/internal/i18n"
	"whistle/internal/open311"
	"whistle/internal/ratelimit"
	"whistle/internal/region"
)

// Open311 limits.
const (
	open311MaxResults = 1000 // per GET requests or servicerequestupdates answer
	open311MaxIDs     = 1000 // service_request_id values in one query
	open311MaxPage    = 100000
)

// open311API serves Open311 GeoReport v2 and mySociety's
// servicerequestupdates under /open311/v2/; package open311 documents the
// choices it makes. Its handlers never hand an error to the generic
// renderer: every failure is an Open311 errors document in the requested
// format.
type open311API struct {
	s *Server
	// keys throttles each API key; nil means no limit.
	keys *ratelimit.Limiter
}

// open311 returns the Open311 handlers; keys throttles each API key (nil:
// no limit).
func (s *Server) open311(keys *ratelimit.Limiter) *open311API { return &open311API{s: s, keys: keys} }

// o311Error is a failure in Open311's terms: one HTTP status and a list of
// {code, description}.
type o311Error struct {
	status     int
	list       []open311.Error
	retryAfter int // seconds, for 429
}

func (e *o311Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "open311 %d", e.status)
	for _, x := range e.list {
		b.WriteString("; " + x.Description)
	}
	return b.String()
}

// o311Errors collects the 400s of one request, translated as they come.
type o311Errors struct {
	cat  *i18n.Catalog
	lang i18n.Lang
	list []open311.Error
}

func (o *open311API) errorsFor(r *http.Request) *o311Errors {
	return &o311Errors{cat: o.s.Catalog, lang: langOf(r)}
}

// add records a 400 with a message from the catalogue.
func (e *o311Errors) add(key string, args ...any) {
	e.list = append(e.list, open311.Error{Code: http.StatusBadRequest, Description: e.cat.T(e.lang, key, args...)})
}

// param records a 400 on a named parameter with a generic field message.
func (e *o311Errors) param(name, key string, args ...any) {
	e.add("open311.param", name, e.cat.T(e.lang, key, args...))
}

// err returns the collected errors, or nil.
func (e *o311Errors) err() error {
	if len(e.list) == 0 {
		return nil
	}
	return &o311Error{status: http.StatusBadRequest, list: e.list}
}

func (o *open311API) one(r *http.Request, status int, key string, args ...any) *o311Error {
	return &o311Error{status: status, list: []open311.Error{{Code: status, Description: o.s.Catalog.T(langOf(r), key, args...)}}}
}

// open311Param renames our field names to the Open311 parameters they
// came from.
func open311Param(field string) string {
	switch {
	case field == "lng":
		return "long"
	case field == "category":
		return "service_code"
	case field == "address":
		return "address_string"
	case field == "note":
		return "description"
	case strings.HasPrefix(field, "fields."):
		return "attribute[" + strings.TrimPrefix(field, "fields.") + "]"
	}
	return field
}

// asO311 turns any error into an Open311 failure. As the standard asks,
// everything that is not a 403, 404 or 429 answers 400; a failure on our
// side carries code 500 (or 503) in the body so that clients can report it.
func (o *open311API) asO311(r *http.Request, err error) *o311Error {
	var oe *o311Error
	if errors.As(err, &oe) {
		return oe
	}
	e := asAppError(err)
	lang := langOf(r)
	status, code := http.StatusBadRequest, http.StatusBadRequest
	switch e.Code {
	case errs.NotFound:
		status, code = http.StatusNotFound, http.StatusNotFound
	case errs.Forbidden, errs.Unauthorized:
		status, code = http.StatusForbidden, http.StatusForbidden
	case errs.RateLimited:
		status, code = http.StatusTooManyRequests, http.StatusTooManyRequests
	case errs.Internal:
		code = http.StatusInternalServerError
	case errs.Unavailable:
		code = http.StatusServiceUnavailable
	}
	out := &o311Error{status: status, retryAfter: e.RetryAfter}
	if len(e.Fields) == 0 {
		out.list = append(out.list, open311.Error{Code: code, Description: o.s.Catalog.T(lang, e.Msg.Key, e.Msg.Args...)})
		return out
	}
	descs := make([]string, 0, len(e.Fields))
	for k, m := range e.Fields {
		descs = append(descs, o.s.Catalog.T(lang, "open311.param", open311Param(k), o.s.Catalog.T(lang, m.Key, m.Args...)))
	}
	sort.Strings(descs) // by parameter name, as each starts with it
	for _, d := range descs {
		out.list = append(out.list, open311.Error{Code: code, Description: d})
	}
	return out
}

// fail writes err as an Open311 errors document and logs it like every
// other failure: failures on our side at error level, refusals at info.
func (o *open311API) fail(w http.ResponseWriter, r *http.Request, f open311.Format, err error) {
	oe := o.asO311(r, err)
	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", oe.status, "err", err.Error()}
	if len(oe.list) > 0 && oe.list[0].Code >= 500 {
		o.s.Logger.Error("open311 request failed", attrs...)
	} else {
		o.s.Logger.Info("open311 request refused", attrs...)
	}
	if oe.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(oe.retryAfter))
	}
	if werr := writeO311(w, f, oe.status, open311.RootErrors, oe.list); werr != nil {
		o.s.Logger.Error("open311 write error", "err", werr)
	}
}

// writeO311 encodes a list document into a buffer first, so that an
// encoding failure can still become a clean error.
func writeO311[T open311.Item](w http.ResponseWriter, f open311.Format, status int, root string, items []T) error {
	var buf bytes.Buffer
	if err := open311.WriteList(&buf, f, root, items); err != nil {
		return err
	}
	return writeO311Bytes(w, f, status, buf.Bytes())
}

func writeO311Object(w http.ResponseWriter, f open311.Format, v any) error {
	var buf bytes.Buffer
	if err := open311.WriteObject(&buf, f, v); err != nil {
		return err
	}
	return writeO311Bytes(w, f, http.StatusOK, buf.Bytes())
}

// writeO311Bytes sends an encoded document. A client that hangs up while
// it is sent is not an error to answer.
func writeO311Bytes(w http.ResponseWriter, f open311.Format, status int, b []byte) error {
	w.Header().Set("Content-Type", f.ContentType())
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(b)
	return nil
}

// formatOf picks the format from the extension of the path's last
// segment; JSON when it has none.
func formatOf(r *http.Request) open311.Format {
	_, f, _ := open311.SplitFormat(path.Base(r.URL.Path))
	return f
}

// do runs fn and renders its error, if any, as an Open311 document.
func (o *open311API) do(w http.ResponseWriter, r *http.Request, fn func(f open311.Format) error) error {
	f := formatOf(r)
	if err := fn(f); err != nil {
		o.fail(w, r, f, err)
	}
	return nil
}

// baseURL is the absolute URL of this server as the client reached it.
func (s *Server) baseURL(r *http.Request) string {
	scheme := "http"
	if s.secure(r) {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// publicPhotoPath is where a photo of a public case's public timeline is
// served.
func publicPhotoPath(caseID, photoID int64) string {
	return "/api/v1/public/cases/" + strconv.FormatInt(caseID, 10) + "/photos/" + strconv.FormatInt(photoID, 10)
}

func (o *open311API) catalog(ctx context.Context) (*open311.Catalog, error) {
	all, err := o.s.Categories.List(ctx)
	if err != nil {
		return nil, err
	}
	return open311.NewCatalog(all), nil
}

// notFound answers every other path under /open311/.
func (o *open311API) notFound(w http.ResponseWriter, r *http.Request) {
	o.fail(w, r, formatOf(r), o.one(r, http.StatusNotFound, "open311.unknown_path", r.URL.Path))
}

// discovery answers GET discovery.{json,xml}.
func (o *open311API) discovery(w http.ResponseWriter, r *http.Request) error {
	return o.do(w, r, func(f open311.Format) error {
		cat, err := o.catalog(r.Context())
		if err != nil {
			return err
		}
		lang := langOf(r)
		d := open311.Discovery{Changeset: cat.Changeset(), Contact: o.s.Catalog.T(lang, "open311.contact"),
			KeyService: o.s.Catalog.T(lang, "open311.key_service"),
			Endpoints: []open311.Endpoint{{Specification: open311.Specification, URL: o.s.baseURL(r) + "/open311/v2",
				Changeset: cat.Changeset(), Type: "production", Formats: []string{"text/xml", "application/json"}}}}
		return writeO311Object(w, f, d)
	})
}

// services answers GET services.{json,xml}.
func (o *open311API) services(w http.ResponseWriter, r *http.Request) error {
	return o.do(w, r, func(f open311.Format) error {
		cat, err := o.catalog(r.Context())
		if err != nil {
			return err
		}
		return writeO311(w, f, http.StatusOK, open311.RootServices, cat.Services(langOf(r)))
	})
}

// serviceDefinition answers GET services/{code}.{json,xml}.
func (o *open311API) serviceDefinition(w http.ResponseWriter, r *http.Request) error {
	return o.do(w, r, func(f open311.Format) error {
		code, _, _ := open311.SplitFormat(r.PathValue("code"))
		cat, err := o.catalog(r.Context())
		if err != nil {
			return err
		}
		d, ok := cat.Definition(code, o.s.Catalog, langOf(r))
		if !ok {
			return o.one(r, http.StatusNotFound, "open311.service_not_found", code)
		}
		return writeO311Object(w, f, d)
	})
}

// parseO311Form reads a form-encoded (or multipart) body; any other body
// is refused rather than read as an empty form.
func parseO311Form(r *http.Request) error {
	var err error
	ct := r.Header.Get("Content-Type")
	switch {
	case ct != "" && !strings.HasPrefix(ct, "application/x-www-form-urlencoded") && !strings.HasPrefix(ct, "multipart/form-data"):
		return errs.E(errs.Invalid, "open311.bad_form")
	case strings.HasPrefix(ct, "multipart/form-data"):
		err = r.ParseMultipartForm(64 << 10)
		if r.MultipartForm != nil {
			_ = r.MultipartForm.RemoveAll()
		}
	default:
		err = r.ParseForm()
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errs.E(errs.TooLarge, "error.too_large", humanBytes(mbe.Limit))
	}
	if err != nil {
		return errs.E(errs.Invalid, "open311.bad_form")
	}
	return nil
}

// authorize checks the api_key (403) and its rate (429) and returns the
// key.
func (o *open311API) authorize(r *http.Request) (*account.APIKey, error) {
	k, err := o.s.Accounts.CheckAPIKey(r.Context(), strings.TrimSpace(r.Form.Get("api_key")))
	if errs.Is(err, errs.Forbidden) {
		return nil, o.one(r, http.StatusForbidden, "open311.api_key")
	}
	if err != nil {
		return nil, err
	}
	if ok, wait := o.keys.Allow("apikey:" + strconv.FormatInt(k.ID, 10)); !ok {
		secs := max(1, int(math.Ceil(wait.Seconds())))
		e := o.one(r, http.StatusTooManyRequests, "open311.rate_limited", secs)
		e.retryAfter = secs
		return nil, e
	}
	return k, nil
}

// inKeyScope refuses (403) a request whose place, the materialised region
// path p, lies outside the key's region: the key's data scope, an
// account.Scope like a user's.
func (o *open311API) inKeyScope(r *http.Request, k *account.APIKey, p string) error {
	if k.Scope().Covers(p) {
		return nil
	}
	return o.one(r, http.StatusForbidden, "open311.api_key_region", k.Region)
}

// placePath is the materialised region path of the grid at a WGS-84
// point ("" outside every grid).
func (s *Server) placePath(lat, lng float64) string {
	loc, ok := s.Regions.Locator().Locate(orb.Point{lng, lat})
	if !ok {
		return ""
	}
	p := "/"
	for _, ref := range loc.Path {
		p += ref.Code + "/"
	}
	return p
}

// client is the integration behind r, for the audit hook.
func client(r *http.Request, k *account.APIKey) open311.Client {
	return open311.Client{KeyID: k.ID, KeyName: k.Name, IP: info(r).ip}
}

// location reads lat/long, or else address_id, into a WGS-84 point inside
// the district. Problems with the input go to bad (ok false); err is a
// failure on our side.
func (o *open311API) location(r *http.Request, bad *o311Errors) (lat, lng float64, ok bool, err error) {
	form := r.Form
	latS, lngS := strings.TrimSpace(form.Get("lat")), strings.TrimSpace(form.Get("long"))
	addrID, addr := strings.TrimSpace(form.Get("address_id")), strings.TrimSpace(form.Get("address_string"))
	switch {
	case latS != "" || lngS != "":
		if latS == "" || lngS == "" {
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
		la, ok1 := num("lat", latS, 90)
		lo, ok2 := num("long", lngS, 180)
		if !ok1 || !ok2 {
			return 0, 0, false, nil
		}
		lat, lng = la, lo
	case addrID != "":
		n, err := o.s.Regions.Get(r.Context(), addrID)
		if err != nil && !errs.Is(err, errs.NotFound) {
			return 0, 0, false, err
		}
		if err != nil || n.Level == region.City || n.Level == region.District {
			bad.add("open311.address_id", addrID)
			return 0, 0, false, nil
		}
		lat, lng = n.Interior[1], n.Interior[0]
	case addr != "":
		bad.add("open311.address_string_only")
		return 0, 0, false, nil
	default:
		bad.add("open311.location_required")
		return 0, 0, false, nil
	}
	if _, in := o.s.Regions.Locator().Locate(orb.Point{lng, lat}); !in {
		bad.add("open311.outside", lat, lng)
		return 0, 0, false, nil
	}
	return lat, lng, true, nil
}

// createRequest answers POST requests.{json,xml}.
func (o *open311API) createRequest(w http.ResponseWriter, r *http.Request) error {
	return o.do(w, r, func(f open311.Format) error {
		if err := parseO311Form(r); err != nil {
			return err
		}
		k, err := o.authorize(r)
		if err != nil {
			return err
		}
		ctx, form, bad := r.Context(), r.Form, o.errorsFor(r)
		code := strings.TrimSpace(form.Get("service_code"))
		if code == "" {
			bad.param("service_code", "field.required")
			return bad.err()
		}
		cat, err := o.catalog(ctx)
		if err != nil {
			return err
		}
		svc, ok := cat.Lookup(code)
		if !ok {
			return o.one(r, http.StatusNotFound, "open311.service_not_found", code)
		}
		if !k.MayPost(svc.Code) {
			return o.one(r, http.StatusForbidden, "open311.api_key_service", svc.Code)
		}
		lat, lng, placed, err := o.location(r, bad)
		if err != nil {
			return err
		}
		if placed {
			if err := o.inKeyScope(r, k, o.s.placePath(lat, lng)); err != nil {
				return err
			}
		}
		attrs, malformed := open311.Attributes(form)
		for _, m := range malformed {
			bad.add("open311.attribute_malformed", m)
		}
		if len(malformed) == 0 {
			// Checked here as well as in Submit so that every problem is
			// reported at once, named as the client named it.
			if err := o.attributeErrors(r, svc, attrs); err != nil {
				bad.list = append(bad.list, err.list...)
			}
		}
		if strings.TrimSpace(form.Get("description")) == "" {
			bad.param("description", "field.required")
		}
		if err := bad.err(); err != nil {
			return err
		}
		in := casework.SubmitInput{Category: svc.Code, Description: form.Get("description"), Lat: &lat, Lng: &lng, CRS: "wgs84",
			Address: strings.TrimSpace(form.Get("address_string")), Phone: open311.NormalizePhone(form.Get("phone")),
			Fields: attrs, Source: casework.SourceOpen311}
		if key := strings.TrimSpace(r.Header.Get("Idempotency-Key")); key != "" {
			in.IdempotencyKey = "open311:" + strconv.FormatInt(k.ID, 10) + ":" + key
		}
		c, _, err := o.s.Cases.Submit(open311.WithClient(ctx, client(r, k)), casework.Caller{System: true, IP: info(r).ip}, in)
		if err != nil {
			return err
		}
		return writeO311(w, f, http.StatusOK, open311.RootRequests, []open311.Receipt{{ID: c.Number,
			ServiceNotice: o.s.Catalog.T(langOf(r), "open311.notice", c.Number), AccountID: strings.TrimSpace(form.Get("account_id"))}})
	})
}

// attributeErrors validates attribute answers against the service's
// definition and names each problem attribute[CODE].
func (o *open311API) attributeErrors(r *http.Request, svc *category.Category, attrs map[string]string) *o311Error {
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
	return o.asO311(r, fields)
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
func dateParam(q url.Values, name string, bad *o311Errors) time.Time {
	v := strings.TrimSpace(q.Get(name))
	if v == "" {
		return time.Time{}
	}
	t, err := open311.ParseTime(v)
	switch {
	case errors.Is(err, open311.ErrNoZone):
		bad.add("open311.date_zone", name)
	case err != nil:
		bad.add("open311.date_format", name)
	}
	return t
}

// window reads start_date and end_date into a closed window.
func (o *open311API) window(q url.Values, bad *o311Errors) (from, to time.Time) {
	before := len(bad.list)
	start, end := dateParam(q, "start_date", bad), dateParam(q, "end_date", bad)
	if len(bad.list) > before {
		return
	}
	from, to, err := open311.Window(start, end, o.s.Clock.Now())
	switch {
	case errors.Is(err, open311.ErrSpan):
		bad.add("open311.span")
	case errors.Is(err, open311.ErrOrder):
		bad.add("open311.order")
	}
	return from, to
}

// positiveParam reads an optional positive integer parameter.
func positiveParam(q url.Values, name string, def, hi int, bad *o311Errors) int {
	v := strings.TrimSpace(q.Get(name))
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

// listRequests answers GET requests.{json,xml}.
func (o *open311API) listRequests(w http.ResponseWriter, r *http.Request) error {
	return o.do(w, r, func(f open311.Format) error {
		q, bad := r.URL.Query(), o.errorsFor(r)
		filter := casework.Filter{PublicOnly: true}
		if ids := splitList(q.Get("service_request_id")); len(ids) > 0 {
			if len(ids) > open311MaxIDs {
				bad.add("open311.too_many_ids", open311MaxIDs)
			}
			filter.Numbers = ids
		} else {
			filter.Categories = splitList(q.Get("service_code"))
			switch st := splitList(strings.ToLower(q.Get("status"))); {
			case len(st) == 0:
			case len(st) == 1 && (st[0] == "open" || st[0] == "closed"):
				open := st[0] == "open"
				filter.Open = &open
			case len(st) == 2 && slices.Contains(st, "open") && slices.Contains(st, "closed"):
			default:
				bad.add("open311.status_filter")
			}
			from, to := o.window(q, bad)
			// Stored times have microseconds; end_date is inclusive.
			filter.From, filter.To = from, to.Add(time.Microsecond)
		}
		page := positiveParam(q, "page", 1, open311MaxPage, bad)
		size := positiveParam(q, "page_size", open311MaxResults, open311MaxResults, bad)
		if err := bad.err(); err != nil {
			return err
		}
		cases, err := o.findCases(r.Context(), filter, (page-1)*size, size)
		if err != nil {
			return err
		}
		out, err := o.requests(r, cases)
		if err != nil {
			return err
		}
		return writeO311(w, f, http.StatusOK, open311.RootRequests, out)
	})
}

// findCases pages through the cases of filter, newest first, skipping the
// first skip and returning at most n.
func (o *open311API) findCases(ctx context.Context, f casework.Filter, skip, n int) ([]*casework.Case, error) {
	var out []*casework.Case
	f.Limit = 500
	for len(out) < n {
		batch, next, err := o.s.Cases.List(ctx, casework.Caller{System: true}, f)
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
func (o *open311API) requests(r *http.Request, cases []*casework.Case) ([]open311.Request, error) {
	if len(cases) == 0 {
		return nil, nil
	}
	cat, err := o.catalog(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]open311.Request, 0, len(cases))
	base, lang := o.s.baseURL(r), langOf(r)
	for _, c := range cases {
		_, tl, err := o.s.Cases.PublicCase(r.Context(), c.ID)
		if errs.Is(err, errs.NotFound) {
			continue // made private meanwhile
		}
		if err != nil {
			return nil, err
		}
		info := open311.RequestInfo{ServiceName: cat.ServiceName(c.CategoryCode, c.CategoryName, lang), Agency: o.agency(c)}
		if p, ok := open311.FirstPhoto(tl); ok {
			info.MediaURL = base + publicPhotoPath(c.ID, p.ID)
		}
		out = append(out, open311.NewRequest(c, tl, info))
	}
	return out, nil
}

// agency is who handles a case: its department, or else its community.
func (o *open311API) agency(c *casework.Case) string {
	if c.DepartmentName != "" {
		return c.DepartmentName
	}
	if loc, ok := o.s.Regions.Locator().Grid(c.GridCode); ok {
		return loc.At(region.Community).Name
	}
	return ""
}

// publicCaseByNumber finds a public case by its number (404 otherwise).
func (o *open311API) publicCaseByNumber(r *http.Request, number string) (*casework.Case, error) {
	if number == "" || len(number) > 64 {
		return nil, o.one(r, http.StatusNotFound, "open311.request_not_found", number)
	}
	cs, _, err := o.s.Cases.List(r.Context(), casework.Caller{System: true}, casework.Filter{Numbers: []string{number}, PublicOnly: true, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return nil, o.one(r, http.StatusNotFound, "open311.request_not_found", number)
	}
	return cs[0], nil
}

// getRequest answers GET requests/{id}.{json,xml}.
func (o *open311API) getRequest(w http.ResponseWriter, r *http.Request) error {
	return o.do(w, r, func(f open311.Format) error {
		number, _, _ := open311.SplitFormat(r.PathValue("id"))
		c, err := o.publicCaseByNumber(r, number)
		if err != nil {
			return err
		}
		out, err := o.requests(r, []*casework.Case{c})
		if err != nil {
			return err
		}
		if len(out) == 0 {
			return o.one(r, http.StatusNotFound, "open311.request_not_found", number)
		}
		return writeO311(w, f, http.StatusOK, open311.RootRequests, out)
	})
}

// token answers GET tokens/{token}.{json,xml}: every service is realtime,
// and a token is the service_request_id itself.
func (o *open311API) token(w http.ResponseWriter, r *http.Request) error {
	return o.do(w, r, func(f open311.Format) error {
		tok, _, _ := open311.SplitFormat(r.PathValue("token"))
		c, err := o.publicCaseByNumber(r, tok)
		var oe *o311Error
		if errors.As(err, &oe) && oe.status == http.StatusNotFound {
			return o.one(r, http.StatusNotFound, "open311.token_not_found", tok)
		}
		if err != nil {
			return err
		}
		return writeO311(w, f, http.StatusOK, open311.RootRequests, []open311.TokenAnswer{{Token: tok, ID: c.Number}})
	})
}

// listUpdates answers GET servicerequestupdates.{json,xml}.
func (o *open311API) listUpdates(w http.ResponseWriter, r *http.Request) error {
	return o.do(w, r, func(f open311.Format) error {
		bad := o.errorsFor(r)
		from, to := o.window(r.URL.Query(), bad)
		if err := bad.err(); err != nil {
			return err
		}
		evs, err := o.s.Cases.PublicEvents(r.Context(), from, to.Add(time.Microsecond), open311MaxResults)
		if err != nil {
			return err
		}
		// The first photo of each step, from each case's public timeline.
		photo := map[int64]string{}
		seen := map[int64]bool{}
		base := o.s.baseURL(r)
		for _, e := range evs {
			if seen[e.CaseID] {
				continue
			}
			seen[e.CaseID] = true
			_, tl, err := o.s.Cases.PublicCase(r.Context(), e.CaseID)
			if errs.Is(err, errs.NotFound) {
				continue
			}
			if err != nil {
				return err
			}
			for _, step := range tl {
				if len(step.Photos) > 0 {
					photo[step.ID] = base + publicPhotoPath(e.CaseID, step.Photos[0].ID)
				}
			}
		}
		out := make([]open311.Update, 0, len(evs))
		for _, e := range evs {
			out = append(out, open311.NewUpdate(e, photo[e.ID]))
		}
		return writeO311(w, f, http.StatusOK, open311.RootUpdates, out)
	})
}

// postUpdate answers POST servicerequestupdates.{json,xml}: it takes the
// workflow action the update asks for, where the workflow lets the system
// take it, and refuses every other update with 400.
func (o *open311API) postUpdate(w http.ResponseWriter, r *http.Request) error {
	return o.do(w, r, func(f open311.Format) error {
		if err := parseO311Form(r); err != nil {
			return err
		}
		k, err := o.authorize(r)
		if err != nil {
			return err
		}
		form, bad := r.Form, o.errorsFor(r)
		for _, name := range []string{"service_request_id", "update_id", "status", "updated_datetime", "description"} {
			if strings.TrimSpace(form.Get(name)) == "" {
				bad.param(name, "field.required")
			}
		}
		status, ok := open311.ParseUpdateStatus(form.Get("status"))
		if !ok && strings.TrimSpace(form.Get("status")) != "" {
			bad.add("open311.update_status", form.Get("status"))
		}
		if v := strings.TrimSpace(form.Get("updated_datetime")); v != "" {
			dateParam(form, "updated_datetime", bad)
		}
		if err := bad.err(); err != nil {
			return err
		}
		c, err := o.publicCaseByNumber(r, strings.TrimSpace(form.Get("service_request_id")))
		if err != nil {
			return err
		}
		if err := o.inKeyScope(r, k, c.RegionPath); err != nil {
			return err
		}
		if !k.MayPost(c.CategoryCode) {
			return o.one(r, http.StatusForbidden, "open311.api_key_service", c.CategoryCode)
		}
		action, ok := open311.UpdateAction(status)
		refuse := func() error {
			return o.one(r, http.StatusBadRequest, "open311.update_refused", strings.ToUpper(status), c.Number,
				o.s.Catalog.T(langOf(r), "status."+string(c.Status)))
		}
		if !ok {
			return refuse()
		}
		system := casework.Caller{System: true, IP: info(r).ip}
		if !slices.ContainsFunc(o.s.Cases.Actions(c, system), func(a casework.Available) bool { return a.Action == action }) {
			if id, done := o.lastStep(r, c, action); done && !c.IsOpen() {
				// A retry of an update that was applied: the same answer.
				return writeO311(w, f, http.StatusOK, open311.RootUpdates, []open311.UpdateReceipt{{ID: id}})
			}
			return refuse()
		}
		ctx := open311.WithClient(r.Context(), client(r, k))
		if _, err := o.s.Cases.Act(ctx, system, c.ID, action, casework.Input{Note: form.Get("description"), Version: c.Version}); err != nil {
			if errs.Is(err, errs.Conflict) {
				return refuse()
			}
			return err
		}
		id, _ := o.lastStep(r, c, action)
		return writeO311(w, f, http.StatusOK, open311.RootUpdates, []open311.UpdateReceipt{{ID: id,
			AccountID: strings.TrimSpace(form.Get("account_id"))}})
	})
}

// lastStep returns the id of the case's latest public step of action
// taken by the system.
func (o *open311API) lastStep(r *http.Request, c *casework.Case, a casework.Action) (string, bool) {
	_, tl, err := o.s.Cases.PublicCase(r.Context(), c.ID)
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

// apiPublicCasePhoto serves a photo of a public case's public timeline:
// the media_url of Open311 requests and updates.
func (s *Server) apiPublicCasePhoto(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	pid, err := strconv.ParseInt(r.PathValue("pid"), 10, 64)
	if err != nil {
		return errs.E(errs.NotFound, "case.photo_not_found")
	}
	_, tl, err := s.Cases.PublicCase(r.Context(), id)
	if err != nil {
		return err
	}
	public := slices.ContainsFunc(tl, func(e casework.Event) bool {
		return slices.ContainsFunc(e.Photos, func(p casework.Photo) bool { return p.ID == pid })
	})
	if !public {
		return errs.E(errs.NotFound, "case.photo_not_found")
	}
	p, rc, err := s.Cases.OpenPhoto(r.Context(), casework.Caller{System: true}, id, pid)
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", p.MIME)
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, err = io.Copy(w, rc)
	return err
}
