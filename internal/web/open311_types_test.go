package web

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
)

// o311Typed is the type the specification gives each typed field of the
// Open311 documents: a W3C date-time with a zone, or a URI. required
// fields may not be null.
var o311Typed = map[string]struct {
	kind     string // date-time | uri
	required bool
}{
	"changeset":          {"date-time", true},
	"requested_datetime": {"date-time", true},
	"updated_datetime":   {"date-time", true},
	"expected_datetime":  {"date-time", false},
	"url":                {"uri", true},
	"media_url":          {"uri", false},
}

// checkTyped walks a JSON document and fails on every typed field that is
// not a valid date-time (RFC 3339), a valid absolute URI, or null where
// the field is optional. A field named like a typed one (…_datetime,
// …_url) counts as typed too, so that a new field cannot slip by. It
// returns how many typed values it checked.
func checkTyped(t *testing.T, what string, v any) int {
	t.Helper()
	n := 0
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			n += checkTyped(t, what, e)
		}
	case map[string]any:
		for k, e := range x {
			spec, ok := o311Typed[k]
			switch {
			case ok:
			case strings.HasSuffix(k, "_datetime"):
				spec.kind = "date-time"
			case strings.HasSuffix(k, "_url"):
				spec.kind = "uri"
			default:
				n += checkTyped(t, what, e)
				continue
			}
			n++
			if e == nil {
				if spec.required {
					t.Errorf("%s: %s is null, but the field is required", what, k)
				}
				continue
			}
			s, isString := e.(string)
			switch {
			case !isString:
				t.Errorf("%s: %s = %#v, want a %s string or null", what, k, e, spec.kind)
			case s == "":
				t.Errorf("%s: %s is \"\", want a %s or null", what, k, spec.kind)
			case spec.kind == "date-time":
				if _, err := time.Parse(time.RFC3339, s); err != nil {
					t.Errorf("%s: %s = %q is not an RFC 3339 date-time", what, k, s)
				}
			case spec.kind == "uri":
				if u, err := url.Parse(s); err != nil || !u.IsAbs() || u.Host == "" {
					t.Errorf("%s: %s = %q is not an absolute URI", what, k, s)
				}
			}
		}
	}
	return n
}

// TestOpen311JSONTypedFields (issue 13 item 14b): every Open311 JSON
// answer carries its typed fields as the specification requires: a
// date-time, a URI, or null, never "" (media_url was "" on every request
// without media, expected_datetime on requests without a deadline). The
// XML documents keep the empty element.
func TestOpen311JSONTypedFields(t *testing.T) {
	clk := clock.NewFake(o311Start())
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(o311Start())
		w := newO311World(t, d, clk, nil)
		ctx := context.Background()
		// One request without media or deadline, one closed with a photo.
		plain := w.create(t, w.noiseForm("fms"))
		done := w.create(t, w.noiseForm("fms"))
		c := w.caseOf(t, done)
		step := func(who string, a casework.Action, in casework.Input) { t.Helper(); w.step(t, c.ID, who, a, in) }
		step("staff-a", casework.ActAccept, casework.Input{})
		step("staff-a", casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "STHJ"}})
		step("sthj-handler", casework.ActStart, casework.Input{})
		photo, err := w.cases.AddPhoto(ctx, w.as("sthj-handler"), c.ID, "after", bytes.NewReader(pngPhoto(t)))
		if err != nil {
			t.Fatal(err)
		}
		step("sthj-handler", casework.ActResolve, casework.Input{Note: "已处理", Photos: []int64{photo.ID}})
		step("staff-a", casework.ActVerify, casework.Input{Passed: ptr(true)})
		// The client closes it (FIXED), as FixMyStreet does.
		clk.Advance(time.Hour)
		update := url.Values{"api_key": {w.keys["fms"]}, "service_request_id": {done}, "update_id": {"fms-1"}, "status": {"FIXED"},
			"updated_datetime": {"2026-11-23T16:00:00+08:00"}, "description": {"居民确认已解决"}}
		posted := w.post(t, "/open311/v2/servicerequestupdates.json", update)
		answers := []struct {
			what string
			a    o311Answer
			// min is the fewest typed values the answer must hold, so that
			// an answer that lost its fields cannot pass.
			min int
		}{
			{"discovery", w.get(t, "/open311/v2/discovery.json"), 3},
			{"services", w.get(t, "/open311/v2/services.json"), 0},
			{"service definition", w.get(t, "/open311/v2/services/ZL09.json"), 0},
			{"requests", w.get(t, "/open311/v2/requests.json"), 8},
			{"request without media", w.get(t, "/open311/v2/requests/"+plain+".json"), 4},
			{"closed request with media", w.get(t, "/open311/v2/requests/"+done+".json"), 4},
			{"tokens", w.get(t, "/open311/v2/tokens/"+plain+".json"), 0},
			{"servicerequestupdates", w.get(t, "/open311/v2/servicerequestupdates.json"), 2 * 8},
			{"POST requests", w.post(t, "/open311/v2/requests.json", w.noiseForm("fms")), 0},
			{"POST servicerequestupdates", posted, 0},
		}
		for _, tt := range answers {
			if tt.a.status != http.StatusOK {
				t.Errorf("%s: got %d %s", tt.what, tt.a.status, tt.a.body)
				continue
			}
			var doc any
			if err := json.Unmarshal(tt.a.body, &doc); err != nil {
				t.Errorf("%s: not JSON: %v", tt.what, err)
				continue
			}
			if n := checkTyped(t, tt.what, doc); n < tt.min {
				t.Errorf("%s: %d typed values, want at least %d: %s", tt.what, n, tt.min, tt.a.body)
			}
		}

		// The request without media says so with null; the closed one
		// links its photo and has no deadline left.
		get := func(id string) map[string]any {
			t.Helper()
			j := jsonList(t, w.get(t, "/open311/v2/requests/"+id+".json"))
			if len(j) != 1 {
				t.Fatalf("request %s: %v", id, j)
			}
			return j[0]
		}
		if r := get(plain); r["media_url"] != nil || r["expected_datetime"] != nil {
			t.Errorf("request without media or deadline: media_url %#v, expected_datetime %#v, want null", r["media_url"], r["expected_datetime"])
		}
		if r := get(done); r["media_url"] == nil || r["expected_datetime"] != nil {
			t.Errorf("closed request: media_url %#v, expected_datetime %#v, want a URL and null", r["media_url"], r["expected_datetime"])
		}
		// XML keeps the empty element.
		x := w.get(t, "/open311/v2/requests/"+plain+".xml")
		if !bytes.Contains(x.body, []byte("<media_url></media_url>")) || !bytes.Contains(x.body, []byte("<expected_datetime></expected_datetime>")) {
			t.Errorf("XML request without media: want empty media_url and expected_datetime elements: %s", x.body)
		}
	})
}
