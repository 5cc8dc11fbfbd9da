package open311_test

import (
	"context"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/open311"
	"whistle/internal/worldtest"
)

// TestRefusalOf: how domain errors become Open311 refusals. As the
// standard asks, everything but 403, 404 and 429 answers 400, and a
// failure on our side says 500 or 503 in the body.
func TestRefusalOf(t *testing.T) {
	limited := errs.E(errs.RateLimited, "open311.rate_limited", 7)
	limited.RetryAfter = 7
	own := &open311.Refusal{Status: 404, Problems: []open311.Problem{{Code: 404, Key: "open311.unknown_path"}}}
	tests := []struct {
		name       string
		err        error
		status     int
		retryAfter int
		want       string // code param:key | …
	}{
		{"a refusal stays itself", own, 404, 0, "404 :open311.unknown_path"},
		{"a wrapped refusal", errors.Join(errors.New("context"), own), 404, 0, "404 :open311.unknown_path"},
		{"not found", errs.E(errs.NotFound, "case.not_found"), 404, 0, "404 :case.not_found"},
		{"forbidden", errs.E(errs.Forbidden, "open311.api_key"), 403, 0, "403 :open311.api_key"},
		{"unauthorized is forbidden", errs.E(errs.Unauthorized, "error.unauthorized"), 403, 0, "403 :error.unauthorized"},
		{"rate limited", limited, 429, 7, "429 :open311.rate_limited"},
		{"fields renamed and sorted", errs.E(errs.Invalid, "error.invalid").Field("lng", "field.required").Field("fields.plate", "field.required").
			Field("category", "field.required").Field("note", "field.required").Field("address", "field.too_long"), 400, 0,
			"400 address_string:field.too_long | 400 attribute[plate]:field.required | 400 description:field.required | 400 long:field.required | 400 service_code:field.required"},
		{"conflict", errs.E(errs.Conflict, "case.changed"), 400, 0, "400 :case.changed"},
		{"a failure of ours", errors.New("disk on fire"), 400, 0, "500 :error.internal"},
		{"internal", errs.E(errs.Internal, "error.internal"), 400, 0, "500 :error.internal"},
		{"unavailable", errs.E(errs.Unavailable, "error.unavailable"), 400, 0, "503 :error.unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rf := open311.RefusalOf(tt.err)
			if got, want := rf.Status, tt.status; got != want {
				t.Errorf("status: got %d, want %d", got, want)
			}
			if got, want := rf.RetryAfter, tt.retryAfter; got != want {
				t.Errorf("RetryAfter: got %d, want %d", got, want)
			}
			if got, want := problems(rf), tt.want; got != want {
				t.Errorf("problems:\n got %s\nwant %s", got, want)
			}
		})
	}
}

// problems lists a refusal's problems as "code param:key | …".
func problems(rf *open311.Refusal) string {
	var out []string
	for _, p := range rf.Problems {
		out = append(out, strconv.Itoa(p.Code)+" "+p.Param+":"+p.Key)
	}
	return strings.Join(out, " | ")
}

// submitWorld is OneStreet (communities A and B) with the default
// catalogue, the Open311 service over it, and API keys: all (the whole
// district, every service), a (community A), b (community B) and
// lights (only ZL0601).
type submitWorld struct {
	svc  *open311.Service
	wt   *worldtest.World
	keys map[string]string
}

func newSubmitWorld(t *testing.T, d *db.DB, clk clock.Clock) *submitWorld {
	t.Helper()
	w := &submitWorld{keys: map[string]string{}}
	seed := func(ctx context.Context, wt *worldtest.World) error {
		for name, k := range map[string]account.NewAPIKey{"all": {Name: "all"}, "a": {Name: "a", Region: "330303001001"},
			"b": {Name: "b", Region: "330303001002"}, "lights": {Name: "lights", Services: []string{"ZL0601"}}} {
			key, _, err := wt.Accounts.CreateKey(ctx, worldtest.Actor(), k)
			if err != nil {
				return err
			}
			w.keys[name] = key
		}
		return nil
	}
	w.wt = worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("龙湾区", "永中街道"),
		Departments: worldtest.CatalogueDepartments(), Seed: seed})
	w.svc = open311.NewService(open311.Deps{Cases: w.wt.Cases, Categories: w.wt.Categories, Regions: w.wt.Regions,
		Keys: w.wt.Accounts, Clock: clk})
	return w
}

// noise is a valid request for ZL05 (noise) at a point in community A.
func noise(key string) url.Values {
	return url.Values{"api_key": {key}, "service_code": {"ZL05"}, "lat": {"27.005"}, "long": {"120.005"},
		"description": {"楼下广场舞音响太吵"}, "attribute[noise_source]": {"public"}, "attribute[noise_time]": {"night"},
		"phone": {"+86 139-1234-5678"}}
}

// TestSubmit: the service's checks on a POST requests call, in the order
// a client meets them, and what it writes when they pass.
func TestSubmit(t *testing.T) {
	worldtest.Each(t, time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newSubmitWorld(t, d, clk)
		ctx := context.Background()
		tests := []struct {
			name   string
			key    string
			edit   func(url.Values)
			status int    // 0: accepted
			want   string // problems, as "code param:key | …"
		}{
			{"unknown key", "", func(f url.Values) { f.Set("api_key", "nope") }, 403, "403 :open311.api_key"},
			{"no service_code", "all", func(f url.Values) { f.Del("service_code") }, 400, "400 service_code:field.required"},
			{"unknown service", "all", func(f url.Values) { f.Set("service_code", "ZZ99") }, 404, "404 :open311.service_not_found"},
			{"a service outside the key's list", "lights", nil, 403, "403 :open311.api_key_service"},
			{"a place outside the key's region", "b", nil, 403, "403 :open311.api_key_region"},
			{"an address_id outside the key's region", "a", func(f url.Values) {
				f.Del("lat")
				f.Del("long")
				f.Set("address_id", "330303001002")
			}, 403, "403 :open311.api_key_region"},
			{"every input problem at once", "all", func(f url.Values) {
				f.Del("attribute[noise_source]")
				f.Set("description", " ")
				f.Set("lat", "north")
			}, 400, "400 lat:field.number | 400 attribute[noise_source]:field.required | 400 description:field.required"},
			{"attributes and description together", "all", func(f url.Values) {
				f.Del("attribute[noise_source]")
				f.Set("description", " ")
			}, 400, "400 attribute[noise_source]:field.required | 400 description:field.required"},
			{"a malformed attribute", "all", func(f url.Values) { f.Set("attribute[x", "1") }, 400, "400 :open311.attribute_malformed"},
			{"outside the district", "all", func(f url.Values) { f.Set("lat", "39.9"); f.Set("long", "116.4") }, 400, "400 :open311.outside"},
			{"the whole district's key", "all", nil, 0, ""},
			{"community A's key in A", "a", nil, 0, ""},
			{"a key's own service", "lights", func(f url.Values) {
				f.Set("service_code", "ZL0601")
				f.Del("attribute[noise_source]")
				f.Del("attribute[noise_time]")
			}, 0, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := count(t, w)
				f := noise(w.keys[tt.key])
				if tt.edit != nil {
					tt.edit(f)
				}
				number, err := w.svc.Submit(ctx, open311.ParseSubmit(f))
				if tt.status != 0 {
					var rf *open311.Refusal
					if !errors.As(err, &rf) {
						t.Fatalf("got %v, want a refusal %d", err, tt.status)
					}
					if got, want := rf.Status, tt.status; got != want {
						t.Errorf("status: got %d, want %d", got, want)
					}
					if got := problems(rf); !strings.HasPrefix(got, tt.want) {
						t.Errorf("problems: got %s, want them to start with %s", got, tt.want)
					}
					if got, want := count(t, w), before; got != want {
						t.Errorf("cases: got %d, want %d (nothing written)", got, want)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				c := caseNumbered(t, w, number)
				if got, want := c.Source, casework.SourceOpen311; got != want {
					t.Errorf("source: got %q, want %q", got, want)
				}
				if got, want := c.ReporterPhone, "13912345678"; got != want {
					t.Errorf("phone: got %q, want %q", got, want)
				}
			})
		}
	})
}

// TestSubmitIdempotency: a retry with the same Idempotency-Key from the
// same key opens no second case; the same header from another key is its
// own request.
func TestSubmitIdempotency(t *testing.T) {
	worldtest.Each(t, time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newSubmitWorld(t, d, clk)
		ctx := context.Background()
		submit := func(key string) string {
			req := open311.ParseSubmit(noise(w.keys[key]))
			req.IdempotencyKey = "retry-1"
			n, err := w.svc.Submit(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		first, again, other := submit("all"), submit("all"), submit("a")
		if first != again {
			t.Errorf("retry: got %s, want %s", again, first)
		}
		if other == first {
			t.Errorf("another key's request: got %s, the first key's case", other)
		}
		if got, want := count(t, w), 2; got != want {
			t.Errorf("cases: got %d, want %d", got, want)
		}
	})
}

func count(t *testing.T, w *submitWorld) int {
	t.Helper()
	cs, _, err := w.wt.Cases.List(context.Background(), casework.Caller{System: true}, casework.Filter{Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}

func caseNumbered(t *testing.T, w *submitWorld, number string) *casework.Case {
	t.Helper()
	cs, _, err := w.wt.Cases.List(context.Background(), casework.Caller{System: true}, casework.Filter{Numbers: []string{number}})
	if err != nil || len(cs) != 1 {
		t.Fatalf("case %s: %v (%d found)", number, err, len(cs))
	}
	return cs[0]
}
