package web

// Conformance tests of the Open311 GeoReport v2 endpoint, written from
// ../shared/specs/open311.md: every resource in JSON and XML, every error
// case, the same request in both formats and in the native API, a round
// trip through the 红哨 loop, and per-key throttling. The documents are
// parsed here with encoding/json and encoding/xml into plain maps, not into
// the package's own types, so that a mistake in those types shows.

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
	"whistle/internal/notify"
	"whistle/internal/open311"
	"whistle/internal/ratelimit"
	"whistle/internal/worldtest"
)

// o311Start is 10:00 in Wenzhou on 23 November 2026.
func o311Start() time.Time { return time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC) }

// A point in community A's grid, and one far outside the district.
const (
	o311LatA, o311LongA       = "27.005", "120.005"
	o311LatAway, o311LongAway = "39.9", "116.4"
)

// o311World is a small district behind a whole Server: two communities one
// grid wide each, the default catalogue plus ZL09 with one extra field of
// every datatype, staff for the 红哨 loop, and the API keys fms and other.
type o311World struct {
	url   string
	srv   *Server
	d     *db.DB
	clk   *clock.Fake
	cases *casework.Service
	cats  *category.Store
	acc   *account.Store
	users map[string]*account.User
	keys  map[string]string
}

// newO311World builds the world on d; keys throttles the API keys (nil:
// none).
func newO311World(t *testing.T, d *db.DB, clk *clock.Fake, keys *ratelimit.Limiter) *o311World {
	t.Helper()
	w := &o311World{d: d, clk: clk, keys: map[string]string{}}
	var deps []worldtest.Department
	for _, dep := range [][2]string{{"CG", "城管局"}, {"ZJ", "住建局"}, {"SW", "水务局"}, {"GD", "供电公司"}, {"RQ", "燃气公司"}, {"GA", "公安分局"},
		{"JT", "交通局"}, {"YL", "园林处"}, {"STHJ", "生态环境分局"}, {"SCJG", "市场监管局"}} {
		deps = append(deps, worldtest.Department{Code: dep[0], Name: dep[1]})
	}
	// seed adds ZL09, a class with one extra field of every datatype, and
	// the API keys.
	seed := func(ctx context.Context, wt *worldtest.World) error {
		sys := audit.System("test")
		_, err := wt.Categories.Create(ctx, sys, category.Category{Code: "ZL09", ParentCode: "ZL", Name: "测试类", NameEN: "Test class", Open311: true,
			Fields: []category.Field{
				{Key: "kinds", Label: "种类", LabelEN: "Kinds", Datatype: category.FieldMultiValueList, Order: 1,
					Values: []category.Value{{Key: "a", Name: "甲", NameEN: "A"}, {Key: "b", Name: "乙", NameEN: "B"}, {Key: "c", Name: "丙", NameEN: "C"}}},
				{Key: "count", Label: "数量", Datatype: category.FieldNumber, Order: 2},
				{Key: "seen_at", Label: "发现时间", Datatype: category.FieldDatetime, Order: 3},
				{Key: "details", Label: "详情", Datatype: category.FieldText, Order: 4},
				{Key: "plate", Label: "车牌", Datatype: category.FieldString, Required: true, Order: 5},
			}})
		if err != nil {
			return err
		}
		for _, name := range []string{"fms", "other"} {
			if w.keys[name], _, err = wt.Accounts.CreateAPIKey(ctx, sys, name); err != nil {
				return err
			}
		}
		return nil
	}
	wt := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("龙湾区", "永中街道"), Departments: deps,
		Users: []worldtest.User{
			{Name: "staff-a", Region: "330303001001", Role: account.CommunityStaff},
			{Name: "admin", Region: "330303", Role: account.Admin},
			{Name: "sthj-handler", Region: "330303", Role: account.DepartmentHandler, Department: "STHJ"},
		},
		Seed: seed})
	w.cases, w.cats, w.acc, w.users = wt.Cases, wt.Categories, wt.Accounts, wt.Users
	var ts *httptest.Server
	w.srv, ts = serve(t, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: wt.Accounts, Regions: wt.Regions, Cases: wt.Cases, Categories: wt.Categories, Clock: clk,
		Open311Keys: keys})
	w.url = ts.URL
	return w
}

// o311Answer is an HTTP answer.
type o311Answer struct {
	status int
	header http.Header
	body   []byte
}

func (w *o311World) do(t *testing.T, req *http.Request) o311Answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return o311Answer{resp.StatusCode, resp.Header, b}
}

// get fetches path; hdr are header name/value pairs.
func (w *o311World) get(t *testing.T, path string, hdr ...string) o311Answer {
	t.Helper()
	req, err := http.NewRequest("GET", w.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return w.do(t, req)
}

// post sends a form-encoded POST.
func (w *o311World) post(t *testing.T, path string, form url.Values, hdr ...string) o311Answer {
	t.Helper()
	req, err := http.NewRequest("POST", w.url+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return w.do(t, req)
}

// as is a staff caller.
func (w *o311World) as(name string) casework.Caller {
	return casework.Caller{User: w.users[name], IP: "127.0.0.1"}
}

// noiseForm is a valid POST requests form for 噪音扰民 (ZL05) in
// community A, with personal details that must never come back.
func (w *o311World) noiseForm(key string) url.Values {
	return url.Values{"api_key": {w.keys[key]}, "service_code": {"ZL05"}, "lat": {o311LatA}, "long": {o311LongA},
		"address_string": {"永中街道 万顺路 1 号"}, "description": {"楼下广场舞音响太吵\n每晚到十点"},
		"attribute[noise_source]": {"public"}, "attribute[noise_time]": {"night"},
		"email": {"zhang.san@example.com"}, "first_name": {"三"}, "last_name": {"张"}, "phone": {"+86 139-1234-5678"}, "device_id": {"dev-77"}}
}

// create POSTs form and returns the new service_request_id.
func (w *o311World) create(t *testing.T, form url.Values) string {
	t.Helper()
	a := w.post(t, "/open311/v2/requests.json", form)
	if a.status != http.StatusOK {
		t.Fatalf("POST requests: got %d %s", a.status, a.body)
	}
	var out []map[string]any
	if err := json.Unmarshal(a.body, &out); err != nil || len(out) != 1 {
		t.Fatalf("POST requests: %s (%v)", a.body, err)
	}
	id, _ := out[0]["service_request_id"].(string)
	if id == "" {
		t.Fatalf("POST requests: no service_request_id in %s", a.body)
	}
	return id
}

// caseOf returns the case behind a service_request_id.
func (w *o311World) caseOf(t *testing.T, number string) *casework.Case {
	t.Helper()
	cs, _, err := w.cases.List(context.Background(), casework.Caller{System: true}, casework.Filter{Numbers: []string{number}})
	if err != nil || len(cs) != 1 {
		t.Fatalf("case %s: %v (%d found)", number, err, len(cs))
	}
	return cs[0]
}

// jsonList decodes a bare JSON array of objects.
func jsonList(t *testing.T, a o311Answer) []map[string]any {
	t.Helper()
	if ct := a.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type: got %q, want application/json; charset=utf-8", ct)
	}
	var out []map[string]any
	if err := json.Unmarshal(a.body, &out); err != nil {
		t.Fatalf("not a JSON array of objects: %v: %s", err, a.body)
	}
	return out
}

// xmlList parses a list document: the declaration, the root element, one
// item element per entry and, inside each, flat fields (nested containers
// are returned as their concatenated text). It fails on any other element.
func xmlList(t *testing.T, a o311Answer, root, item string) []map[string]string {
	t.Helper()
	if ct := a.header.Get("Content-Type"); ct != "text/xml; charset=utf-8" {
		t.Errorf("Content-Type: got %q, want text/xml; charset=utf-8", ct)
	}
	if !bytes.HasPrefix(a.body, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)) {
		t.Errorf("the XML lacks its declaration: %.60s", a.body)
	}
	dec := xml.NewDecoder(bytes.NewReader(a.body))
	var out []map[string]string
	var path []string
	var text strings.Builder
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("bad XML: %v: %s", err, a.body)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			if x.Name.Space != "" {
				t.Errorf("element %s has namespace %q", x.Name.Local, x.Name.Space)
			}
			path = append(path, x.Name.Local)
			switch len(path) {
			case 1:
				if x.Name.Local != root {
					t.Fatalf("root element: got <%s>, want <%s>", x.Name.Local, root)
				}
			case 2:
				if x.Name.Local != item {
					t.Fatalf("item element: got <%s>, want <%s>", x.Name.Local, item)
				}
				out = append(out, map[string]string{})
			case 3:
				text.Reset()
			}
		case xml.CharData:
			if len(path) >= 3 {
				text.Write(x)
			}
		case xml.EndElement:
			if len(path) == 3 {
				out[len(out)-1][path[2]] = text.String()
			}
			path = path[:len(path)-1]
		}
	}
	return out
}

// checkErrors checks an errors document in format f: the status, and each
// entry's code (the status) and description; it returns the descriptions.
func checkErrors(t *testing.T, a o311Answer, f string, status int) []string {
	t.Helper()
	if a.status != status {
		t.Errorf("status: got %d, want %d: %s", a.status, status, a.body)
	}
	var descs []string
	if f == "xml" {
		for _, e := range xmlList(t, a, "errors", "error") {
			if got, want := e["code"], strconv.Itoa(status); got != want {
				t.Errorf("error code: got %q, want %q", got, want)
			}
			descs = append(descs, e["description"])
		}
	} else {
		for _, e := range jsonList(t, a) {
			if got, ok := e["code"].(float64); !ok || int(got) != status {
				t.Errorf("error code: got %v (%T), want the number %d", e["code"], e["code"], status)
			}
			d, ok := e["description"].(string)
			if !ok {
				t.Errorf("error description: got %T, want a string", e["description"])
			}
			descs = append(descs, d)
		}
	}
	if len(descs) == 0 {
		t.Errorf("no error entries: %s", a.body)
	}
	for _, d := range descs {
		if strings.TrimSpace(d) == "" {
			t.Errorf("an error without a description: %s", a.body)
		}
	}
	return descs
}

// isCST reports whether s is a W3C date-time with the +08:00 offset,
// which Whistle writes.
func isCST(s string) bool {
	return regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$`).MatchString(s)
}

// checkFields checks the presence and JSON types of a document's fields:
// kinds maps each field to string, number, boolean, time (a string in
// ISO 8601 with the +08:00 offset), time? (the same, or null) or uri? (an
// absolute URL, or null). A typed field is never "".
func checkFields(t *testing.T, what string, m map[string]any, kinds map[string]string) {
	t.Helper()
	for field, kind := range kinds {
		v, ok := m[field]
		if !ok {
			t.Errorf("%s: field %s is missing", what, field)
			continue
		}
		switch kind {
		case "string":
			if _, ok := v.(string); !ok {
				t.Errorf("%s: %s = %v (%T), want a string", what, field, v, v)
			}
		case "number":
			if _, ok := v.(float64); !ok {
				t.Errorf("%s: %s = %v (%T), want a number", what, field, v, v)
			}
		case "boolean":
			if _, ok := v.(bool); !ok {
				t.Errorf("%s: %s = %v (%T), want a boolean", what, field, v, v)
			}
		case "time", "time?":
			s, _ := v.(string)
			if !(kind == "time?" && v == nil) && !isCST(s) {
				t.Errorf("%s: %s = %#v, want ISO 8601 with +08:00", what, field, v)
			}
		case "uri?":
			s, _ := v.(string)
			if u, err := url.Parse(s); v != nil && (err != nil || !u.IsAbs() || u.Host == "") {
				t.Errorf("%s: %s = %#v, want an absolute URL or null", what, field, v)
			}
		}
	}
}

// asStrings renders a JSON object's values as XML would carry them.
func asStrings(m map[string]any) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		switch x := v.(type) {
		case string:
			out[k] = x
		case float64:
			out[k] = strconv.FormatFloat(x, 'g', -1, 64)
		case bool:
			out[k] = strconv.FormatBool(x)
		case nil:
			out[k] = ""
		default:
			b, _ := json.Marshal(x)
			out[k] = string(b)
		}
	}
	return out
}

// sameDocs fails unless the JSON and XML lists carry the same values.
func sameDocs(t *testing.T, what string, j []map[string]any, x []map[string]string) {
	t.Helper()
	if len(j) != len(x) {
		t.Fatalf("%s: %d entries in JSON, %d in XML", what, len(j), len(x))
	}
	for i := range j {
		if got, want := fmt.Sprint(x[i]), fmt.Sprint(asStrings(j[i])); got != want {
			t.Errorf("%s[%d]:\nXML  %s\nJSON %s", what, i, got, want)
		}
	}
}

// requestKinds are the fields of a request object and their types.
func requestKinds() map[string]string {
	return map[string]string{"service_request_id": "string", "status": "string", "status_notes": "string", "service_name": "string",
		"service_code": "string", "description": "string", "agency_responsible": "string", "service_notice": "string",
		"requested_datetime": "time", "updated_datetime": "time", "expected_datetime": "time?", "address": "string", "address_id": "string",
		"zipcode": "string", "lat": "number", "long": "number", "media_url": "uri?"}
}

func TestOpen311Discovery(t *testing.T) {
	clk := clock.NewFake(o311Start())
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(o311Start())
		w := newO311World(t, d, clk, nil)
		j := w.get(t, "/open311/v2/discovery.json")
		if j.status != http.StatusOK {
			t.Fatalf("discovery.json: %d %s", j.status, j.body)
		}
		var doc struct {
			Changeset  *string `json:"changeset"`
			Contact    *string `json:"contact"`
			KeyService *string `json:"key_service"`
			Endpoints  []struct {
				Specification, URL, Changeset, Type string
				Formats                             []string
			} `json:"endpoints"`
		}
		if err := json.Unmarshal(j.body, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Changeset == nil || *doc.Changeset == "" || doc.Contact == nil || *doc.Contact == "" || doc.KeyService == nil || *doc.KeyService == "" {
			t.Errorf("discovery lacks changeset, contact or key_service: %s", j.body)
		}
		if len(doc.Endpoints) != 1 {
			t.Fatalf("endpoints: %s", j.body)
		}
		ep := doc.Endpoints[0]
		if got, want := ep.Specification, "http://wiki.open311.org/GeoReport_v2"; got != want {
			t.Errorf("specification: got %q, want %q", got, want)
		}
		if got, want := ep.URL, w.url+"/open311/v2"; got != want {
			t.Errorf("url: got %q, want %q", got, want)
		}
		if ep.Changeset == "" || (ep.Type != "production" && ep.Type != "test") {
			t.Errorf("endpoint changeset %q, type %q", ep.Changeset, ep.Type)
		}
		if got, want := strings.Join(ep.Formats, ","), "text/xml,application/json"; got != want {
			t.Errorf("formats: got %q, want %q", got, want)
		}

		x := w.get(t, "/open311/v2/discovery.xml")
		var xd struct {
			XMLName    xml.Name `xml:"discovery"`
			Changeset  string   `xml:"changeset"`
			Contact    string   `xml:"contact"`
			KeyService string   `xml:"key_service"`
			Endpoints  []struct {
				Specification string   `xml:"specification"`
				URL           string   `xml:"url"`
				Changeset     string   `xml:"changeset"`
				Type          string   `xml:"type"`
				Formats       []string `xml:"formats>format"`
			} `xml:"endpoints>endpoint"`
		}
		if x.status != http.StatusOK || x.header.Get("Content-Type") != "text/xml; charset=utf-8" {
			t.Fatalf("discovery.xml: %d %s", x.status, x.header.Get("Content-Type"))
		}
		if err := xml.Unmarshal(x.body, &xd); err != nil {
			t.Fatalf("discovery.xml: %v: %s", err, x.body)
		}
		if len(xd.Endpoints) != 1 || xd.Changeset != *doc.Changeset || xd.Contact != *doc.Contact || xd.Endpoints[0].URL != ep.URL ||
			strings.Join(xd.Endpoints[0].Formats, ",") != "text/xml,application/json" {
			t.Errorf("discovery.xml differs from discovery.json:\n%s\n%s", x.body, j.body)
		}
	})
}

func TestOpen311Services(t *testing.T) {
	clk := clock.NewFake(o311Start())
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(o311Start())
		w := newO311World(t, d, clk, nil)
		j := jsonList(t, w.get(t, "/open311/v2/services.json"))
		x := xmlList(t, w.get(t, "/open311/v2/services.xml"), "services", "service")
		sameDocs(t, "services", j, x)
		byCode := map[string]map[string]any{}
		for _, s := range j {
			checkFields(t, "service", s, map[string]string{"service_code": "string", "service_name": "string", "description": "string",
				"metadata": "boolean", "type": "string", "keywords": "string", "group": "string"})
			if got, want := s["type"], "realtime"; got != want {
				t.Errorf("%v: type %v, want %v", s["service_code"], got, want)
			}
			byCode[fmt.Sprint(s["service_code"])] = s
		}
		tests := []struct {
			code     string
			offered  bool
			name     string
			group    string
			metadata bool
		}{
			{"ZL05", true, "噪音扰民", "基层治理", true},
			{"ZL0601", true, "邻里求助", "民生服务", false},
			{"BJ0102", true, "污水井盖", "公用设施", true},
			{"ZL09", true, "测试类", "基层治理", true},
			{"ZL06", false, "", "", false}, // a parent: not offered
			{"ZL", false, "", "", false},
		}
		for _, tt := range tests {
			s, ok := byCode[tt.code]
			if ok != tt.offered {
				t.Errorf("%s offered = %v, want %v", tt.code, ok, tt.offered)
				continue
			}
			if !ok {
				continue
			}
			if s["service_name"] != tt.name || s["group"] != tt.group || s["metadata"] != tt.metadata {
				t.Errorf("%s: got name %v, group %v, metadata %v; want %s, %s, %v", tt.code, s["service_name"], s["group"], s["metadata"], tt.name, tt.group, tt.metadata)
			}
		}
		// English names on request; a deactivated category is withdrawn.
		en := jsonList(t, w.get(t, "/open311/v2/services.json", "Accept-Language", "en"))
		if i := slices.IndexFunc(en, func(s map[string]any) bool { return s["service_code"] == "ZL05" }); i < 0 || en[i]["service_name"] != "Noise nuisance" {
			t.Errorf("the English ZL05 is not named Noise nuisance")
		}
		off := false
		if _, err := w.cats.Update(context.Background(), audit.System("test"), "ZL05", category.Patch{Active: &off}); err != nil {
			t.Fatal(err)
		}
		after := jsonList(t, w.get(t, "/open311/v2/services.json"))
		if slices.ContainsFunc(after, func(s map[string]any) bool { return s["service_code"] == "ZL05" }) || len(after) != len(j)-1 {
			t.Errorf("after deactivating ZL05: %d services, want %d without ZL05", len(after), len(j)-1)
		}
	})
}

func TestOpen311ServiceDefinition(t *testing.T) {
	clk := clock.NewFake(o311Start())
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(o311Start())
		w := newO311World(t, d, clk, nil)
		type value struct {
			Key  string `json:"key" xml:"key"`
			Name string `json:"name" xml:"name"`
		}
		type attribute struct {
			Variable            *bool   `json:"variable" xml:"variable"`
			Code                string  `json:"code" xml:"code"`
			Datatype            string  `json:"datatype" xml:"datatype"`
			Required            *bool   `json:"required" xml:"required"`
			DatatypeDescription *string `json:"datatype_description" xml:"datatype_description"`
			Order               int     `json:"order" xml:"order"`
			Description         string  `json:"description" xml:"description"`
			Values              []value `json:"values" xml:"values>value"`
		}
		type definition struct {
			XMLName    xml.Name    `json:"-" xml:"service_definition"`
			Code       string      `json:"service_code" xml:"service_code"`
			Attributes []attribute `json:"attributes" xml:"attributes>attribute"`
		}
		tests := []struct {
			code, path string
			want       string // code:datatype:required:order:values
		}{
			{"ZL05", "/open311/v2/services/ZL05", "noise_source:singlevaluelist:true:1:household,construction,commercial,public,other " +
				"noise_time:singlevaluelist:false:2:day,night"},
			{"ZL09", "/open311/v2/services/ZL09", "kinds:multivaluelist:false:1:a,b,c count:number:false:2: seen_at:datetime:false:3: " +
				"details:text:false:4: plate:string:true:5:"},
			{"ZL0601", "/open311/v2/services/ZL0601", ""},
		}
		for _, tt := range tests {
			var defs []definition
			for _, f := range []string{"json", "xml"} {
				a := w.get(t, tt.path+"."+f)
				if a.status != http.StatusOK {
					t.Fatalf("%s.%s: %d %s", tt.path, f, a.status, a.body)
				}
				var def definition
				var err error
				if f == "xml" {
					err = xml.Unmarshal(a.body, &def)
					if !bytes.Contains(a.body, []byte("<attributes>")) {
						t.Errorf("%s.xml: no <attributes> element: %s", tt.path, a.body)
					}
				} else {
					err = json.Unmarshal(a.body, &def)
					if !bytes.Contains(a.body, []byte(`"attributes":[`)) {
						t.Errorf("%s.json: attributes must be an array: %s", tt.path, a.body)
					}
				}
				if err != nil {
					t.Fatalf("%s.%s: %v: %s", tt.path, f, err, a.body)
				}
				if def.Code != tt.code {
					t.Errorf("%s.%s: service_code %q", tt.path, f, def.Code)
				}
				var got []string
				for _, at := range def.Attributes {
					if at.Variable == nil || !*at.Variable || at.Required == nil || at.DatatypeDescription == nil || at.Description == "" {
						t.Errorf("%s.%s: attribute %s lacks variable, required, datatype_description or description", tt.path, f, at.Code)
						continue
					}
					var keys []string
					for _, v := range at.Values {
						if v.Name == "" {
							t.Errorf("%s.%s: value %s has no name", tt.path, f, v.Key)
						}
						keys = append(keys, v.Key)
					}
					got = append(got, fmt.Sprintf("%s:%s:%v:%d:%s", at.Code, at.Datatype, *at.Required, at.Order, strings.Join(keys, ",")))
				}
				if got := strings.Join(got, " "); got != tt.want {
					t.Errorf("%s.%s attributes:\ngot  %s\nwant %s", tt.path, f, got, tt.want)
				}
				defs = append(defs, def)
			}
			render := func(d definition) string {
				var b strings.Builder
				for _, at := range d.Attributes {
					fmt.Fprintf(&b, "%v %s %s %v %v %d %s %v;", deref(at.Variable), at.Code, at.Datatype, deref(at.Required),
						deref(at.DatatypeDescription), at.Order, at.Description, at.Values)
				}
				return b.String()
			}
			if got, want := render(defs[1]), render(defs[0]); got != want {
				t.Errorf("%s: XML and JSON differ:\n%s\n%s", tt.path, got, want)
			}
		}
		// Without an extension: JSON. Unknown, inactive parents and
		// categories not offered: 404 with an errors document.
		if a := w.get(t, "/open311/v2/services/ZL05"); a.status != http.StatusOK || !json.Valid(a.body) {
			t.Errorf("services/ZL05 without an extension: %d %s", a.status, a.body)
		}
		for _, code := range []string{"NOPE", "ZL06"} {
			for _, f := range []string{"json", "xml"} {
				descs := checkErrors(t, w.get(t, "/open311/v2/services/"+code+"."+f), f, http.StatusNotFound)
				if !strings.Contains(strings.Join(descs, " "), code) {
					t.Errorf("services/%s.%s: the description does not name the code: %q", code, f, descs)
				}
			}
		}
	})
}

// TestOpen311CreateRequestErrors covers each way a POST requests can fail,
// in both formats.
func TestOpen311CreateRequestErrors(t *testing.T) {
	clk := clock.NewFake(o311Start())
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(o311Start())
		w := newO311World(t, d, clk, nil)
		revoked, _, err := w.acc.CreateAPIKey(context.Background(), audit.System("test"), "revoked")
		if err != nil {
			t.Fatal(err)
		}
		if err := w.acc.RevokeAPIKey(context.Background(), audit.System("test"), "revoked"); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name   string
			change func(url.Values)
			status int
			says   []string // in the English descriptions
		}{
			{"missing api_key", func(f url.Values) { f.Del("api_key") }, 403, []string{"api_key"}},
			{"unknown api_key", func(f url.Values) { f.Set("api_key", "wk_nope") }, 403, []string{"api_key"}},
			{"revoked api_key", func(f url.Values) { f.Set("api_key", revoked) }, 403, []string{"api_key"}},
			{"a bad key wins over bad input", func(f url.Values) { f.Set("api_key", "x"); f.Del("lat"); f.Del("service_code") }, 403, []string{"api_key"}},
			{"missing service_code", func(f url.Values) { f.Del("service_code") }, 400, []string{"service_code"}},
			{"unknown service_code", func(f url.Values) { f.Set("service_code", "NOPE") }, 404, []string{"NOPE"}},
			{"a category that is not a service", func(f url.Values) { f.Set("service_code", "ZL06") }, 404, []string{"ZL06"}},
			{"missing location", func(f url.Values) { f.Del("lat"); f.Del("long"); f.Del("address_string") }, 400, []string{"location"}},
			{"address_string alone", func(f url.Values) { f.Del("lat"); f.Del("long") }, 400, []string{"address_string"}},
			{"lat without long", func(f url.Values) { f.Del("long") }, 400, []string{"lat and long"}},
			{"latitude out of range", func(f url.Values) { f.Set("lat", "95") }, 400, []string{"lat:", "-90"}},
			{"latitude not a number", func(f url.Values) { f.Set("lat", "north") }, 400, []string{"lat:", "number"}},
			{"longitude out of range", func(f url.Values) { f.Set("long", "-181") }, 400, []string{"long:"}},
			{"outside the district", func(f url.Values) { f.Set("lat", o311LatAway); f.Set("long", o311LongAway) }, 400, []string{"outside", "39.9"}},
			{"unknown address_id", func(f url.Values) { f.Del("lat"); f.Del("long"); f.Set("address_id", "999") }, 400, []string{"address_id", "999"}},
			{"missing required attribute", func(f url.Values) { f.Del("attribute[noise_source]") }, 400, []string{"attribute[noise_source]", "Required"}},
			{"attribute value not in the list", func(f url.Values) { f.Set("attribute[noise_source]", "aliens") }, 400, []string{"attribute[noise_source]", "aliens"}},
			{"undefined attribute", func(f url.Values) { f.Set("attribute[colour]", "red") }, 400, []string{"attribute[colour]"}},
			{"malformed attribute", func(f url.Values) { f.Set("attribute[noise_source", "public") }, 400, []string{"attribute[noise_source"}},
			{"missing description", func(f url.Values) { f.Set("description", "  ") }, 400, []string{"description"}},
			{"description too long", func(f url.Values) { f.Set("description", strings.Repeat("吵", 2001)) }, 400, []string{"description", "2000"}},
			{"several problems at once", func(f url.Values) { f.Del("attribute[noise_source]"); f.Del("description") }, 400,
				[]string{"attribute[noise_source]", "description"}},
		}
		for _, tt := range tests {
			for _, f := range []string{"json", "xml"} {
				t.Run(tt.name+"."+f, func(t *testing.T) {
					form := w.noiseForm("fms")
					tt.change(form)
					a := w.post(t, "/open311/v2/requests."+f, form, "Accept-Language", "en")
					descs := strings.Join(checkErrors(t, a, f, tt.status), " | ")
					for _, s := range tt.says {
						if !strings.Contains(descs, s) {
							t.Errorf("the errors %q do not mention %q", descs, s)
						}
					}
				})
			}
		}
		// A body that is not a form is refused as such.
		req, err := http.NewRequest("POST", w.url+"/open311/v2/requests.json", strings.NewReader(`{"api_key":"`+w.keys["fms"]+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept-Language", "en")
		if descs := checkErrors(t, w.do(t, req), "json", http.StatusBadRequest); !strings.Contains(descs[0], "form-encoded") {
			t.Errorf("a JSON body: %q", descs)
		}
		// Nothing was created.
		cs, _, err := w.cases.List(context.Background(), casework.Caller{System: true}, casework.Filter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 0 {
			t.Errorf("%d cases were created by refused requests", len(cs))
		}
		// Descriptions follow the language: Chinese by default.
		form := w.noiseForm("fms")
		form.Del("attribute[noise_source]")
		if descs := checkErrors(t, w.post(t, "/open311/v2/requests.json", form), "json", 400); !strings.Contains(descs[0], "必填") {
			t.Errorf("default-language description: got %q, want Chinese", descs[0])
		}
	})
}

// TestOpen311CreateAndGet creates a request and reads it back in JSON, in
// XML and through the native API: the same values everywhere, and nothing
// personal in Open311.
func TestOpen311CreateAndGet(t *testing.T) {
	clk := clock.NewFake(o311Start())
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(o311Start())
		w := newO311World(t, d, clk, nil)
		ctx := context.Background()
		for _, f := range []string{"json", "xml"} {
			a := w.post(t, "/open311/v2/requests."+f, w.noiseForm("fms"))
			if a.status != http.StatusOK {
				t.Fatalf("POST requests.%s: %d %s", f, a.status, a.body)
			}
			var receipt map[string]string
			if f == "xml" {
				rs := xmlList(t, a, "service_requests", "request")
				if len(rs) != 1 {
					t.Fatalf("POST requests.xml: %d entries: %s", len(rs), a.body)
				}
				receipt = rs[0]
			} else {
				rs := jsonList(t, a)
				if len(rs) != 1 {
					t.Fatalf("POST requests.json: %d entries", len(rs))
				}
				checkFields(t, "receipt", rs[0], map[string]string{"service_request_id": "string", "service_notice": "string"})
				receipt = asStrings(rs[0])
			}
			if _, ok := receipt["token"]; ok {
				t.Errorf("a realtime service answered both an id and a token: %s", a.body)
			}
			if !regexp.MustCompile(`^WS20261123\d{6}$`).MatchString(receipt["service_request_id"]) || !strings.Contains(receipt["service_notice"], receipt["service_request_id"]) {
				t.Errorf("receipt: %v", receipt)
			}
		}
		// The second request, read back every way.
		id := w.create(t, w.noiseForm("fms"))
		clk.Advance(time.Minute)
		j := jsonList(t, w.get(t, "/open311/v2/requests/"+id+".json"))
		x := xmlList(t, w.get(t, "/open311/v2/requests/"+id+".xml"), "service_requests", "request")
		if len(j) != 1 {
			t.Fatalf("requests/%s.json: %d entries", id, len(j))
		}
		checkFields(t, "request", j[0], requestKinds())
		sameDocs(t, "requests/"+id, j, x)
		if got := jsonList(t, w.get(t, "/open311/v2/requests/"+id)); fmt.Sprint(got) != fmt.Sprint(j) {
			t.Errorf("requests/%s without an extension differs from .json", id)
		}
		r := asStrings(j[0])
		want := map[string]string{"service_request_id": id, "status": "open", "service_code": "ZL05", "service_name": "噪音扰民",
			"description": "楼下广场舞音响太吵\n每晚到十点", "address": "永中街道 万顺路 1 号", "address_id": "330303001001001",
			"lat": "27.005", "long": "120.005", "requested_datetime": "2026-11-23T10:00:00+08:00", "updated_datetime": "2026-11-23T10:00:00+08:00",
			"agency_responsible": "社区A", "media_url": "", "status_notes": ""}
		for k, v := range want {
			if r[k] != v {
				t.Errorf("%s: got %q, want %q", k, r[k], v)
			}
		}
		// The native API shows the same values.
		tok, _, _, err := w.acc.Login(ctx, "admin", "secret-pass", account.APISession, account.Client{IP: "127.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		c := w.caseOf(t, id)
		na := w.get(t, "/api/v1/cases/"+strconv.FormatInt(c.ID, 10), "Authorization", "Bearer "+tok)
		var native struct {
			Number      string            `json:"number"`
			Status      string            `json:"status"`
			Category    map[string]string `json:"category"`
			Description string            `json:"description"`
			Address     string            `json:"address"`
			Location    struct{ Lat, Lng float64 }
			Source      string            `json:"source"`
			Fields      map[string]string `json:"fields"`
			CreatedAt   time.Time         `json:"created_at"`
			UpdatedAt   time.Time         `json:"updated_at"`
			Deadline    string            `json:"deadline"`
			Reporter    *struct {
				Phone string `json:"phone"`
			} `json:"reporter"`
		}
		if err := json.Unmarshal(na.body, &native); err != nil || na.status != http.StatusOK {
			t.Fatalf("native GET: %d %s", na.status, na.body)
		}
		instant := func(s string) time.Time {
			tm, err := time.Parse(time.RFC3339, s)
			if err != nil {
				t.Errorf("not RFC 3339: %q", s)
			}
			return tm
		}
		same := []struct {
			field      string
			open311    any
			nativeSide any
		}{
			{"service_request_id/number", r["service_request_id"], native.Number},
			{"status", r["status"], map[bool]string{true: "open", false: "closed"}[native.Status != "closed" && native.Status != "rejected"]},
			{"service_code/category.code", r["service_code"], native.Category["code"]},
			{"service_name/category.name", r["service_name"], native.Category["name"]},
			{"description", r["description"], native.Description},
			{"address", r["address"], native.Address},
			{"lat", j[0]["lat"], native.Location.Lat},
			{"long/lng", j[0]["long"], native.Location.Lng},
			{"requested_datetime/created_at", instant(r["requested_datetime"]).UTC(), native.CreatedAt.UTC().Truncate(time.Second)},
			{"updated_datetime/updated_at", instant(r["updated_datetime"]).UTC(), native.UpdatedAt.UTC().Truncate(time.Second)},
			{"expected_datetime/deadline", r["expected_datetime"], native.Deadline},
		}
		for _, s := range same {
			if fmt.Sprint(s.open311) != fmt.Sprint(s.nativeSide) {
				t.Errorf("%s: Open311 %v, native %v", s.field, s.open311, s.nativeSide)
			}
		}
		if native.Source != "open311" || native.Fields["noise_source"] != "public" || native.Fields["noise_time"] != "night" {
			t.Errorf("native: source %q, fields %v", native.Source, native.Fields)
		}
		if native.Reporter == nil || native.Reporter.Phone != "139****5678" {
			t.Errorf("the valid phone should be kept (masked for staff): %+v", native.Reporter)
		}
		// Nothing personal in any Open311 answer.
		for _, path := range []string{"/open311/v2/requests/" + id + ".json", "/open311/v2/requests/" + id + ".xml", "/open311/v2/requests.json",
			"/open311/v2/requests.xml", "/open311/v2/servicerequestupdates.json", "/open311/v2/servicerequestupdates.xml"} {
			body := string(w.get(t, path).body)
			for _, secret := range []string{"13912345678", "139****5678", "5678", "zhang.san", "example.com", "张", "dev-77"} {
				if strings.Contains(body, secret) {
					t.Errorf("%s shows personal data %q", path, secret)
				}
			}
		}
		// The audit log names the key, for each request it created.
		entries, err := audit.List(ctx, d, audit.Filter{Action: "open311.request"})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(entries), 3; got != want {
			t.Fatalf("open311.request audit entries: got %d, want %d", got, want)
		}
		if e := entries[0]; e.Actor != "apikey:fms" || e.Target != "case:"+id {
			t.Errorf("audit entry: actor %q target %q, want apikey:fms case:%s", e.Actor, e.Target, id)
		}
		// address_id places the case at the region's interior point;
		// Idempotency-Key makes a retry return the first case.
		form := w.noiseForm("fms")
		form.Del("lat")
		form.Del("long")
		form.Set("address_id", "330303001002")
		first := w.create(t, form)
		if c := w.caseOf(t, first); c.CommunityCode != "330303001002" {
			t.Errorf("address_id 330303001002 put the case in %s", c.CommunityCode)
		}
		k1 := w.post(t, "/open311/v2/requests.json", w.noiseForm("fms"), "Idempotency-Key", "fms-1")
		k2 := w.post(t, "/open311/v2/requests.json", w.noiseForm("fms"), "Idempotency-Key", "fms-1")
		k3 := w.post(t, "/open311/v2/requests.json", w.noiseForm("other"), "Idempotency-Key", "fms-1")
		if string(k1.body) != string(k2.body) || string(k1.body) == string(k3.body) {
			t.Errorf("idempotency: %s / %s / %s", k1.body, k2.body, k3.body)
		}
		// A multivaluelist answer is repeated attribute[CODE][].
		mv := url.Values{"api_key": {w.keys["fms"]}, "service_code": {"ZL09"}, "lat": {o311LatA}, "long": {o311LongA}, "description": {"测试"},
			"attribute[kinds][]": {"a", "c"}, "attribute[count]": {"3"}, "attribute[seen_at]": {"2026-11-22T20:00:00+08:00"}, "attribute[plate]": {"浙C12345"}}
		if c := w.caseOf(t, w.create(t, mv)); c.Fields["kinds"] != "a,c" || c.Fields["plate"] != "浙C12345" {
			t.Errorf("multivaluelist: fields %v", c.Fields)
		}
		mv.Set("attribute[count]", "three")
		checkErrors(t, w.post(t, "/open311/v2/requests.json", mv), "json", 400)
	})
}

// TestOpen311Search covers GET requests: each filter, the 90-day rules,
// paging, private cases, tokens, and unknown ids.
func TestOpen311Search(t *testing.T) {
	clk := clock.NewFake(o311Start())
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(o311Start().AddDate(0, 0, -100))
		w := newO311World(t, d, clk, nil)
		ctx := context.Background()
		old := w.create(t, w.noiseForm("fms")) // 100 days ago
		clk.Set(o311Start())
		var ids []string // newest last
		for i := range 5 {
			form := w.noiseForm("fms")
			if i%2 == 1 {
				form = url.Values{"api_key": {w.keys["fms"]}, "service_code": {"ZL0601"}, "lat": {o311LatA}, "long": {o311LongA}, "description": {"帮忙"}}
			}
			ids = append(ids, w.create(t, form))
			clk.Advance(time.Hour)
		}
		// ids[1] is rejected (closed); a private case never appears.
		c1 := w.caseOf(t, ids[1])
		if _, err := w.cases.Act(ctx, w.as("staff-a"), c1.ID, casework.ActReject, casework.Input{Reason: "不属于受理范围"}); err != nil {
			t.Fatal(err)
		}
		lat, lng := 27.005, 120.005
		private, _, err := w.cases.Submit(ctx, casework.Caller{System: true}, casework.SubmitInput{Category: "ZL0601", Description: "私下求助",
			Lat: &lat, Lng: &lng, Visibility: "private", Source: casework.SourceOpen311})
		if err != nil {
			t.Fatal(err)
		}
		rev := func(xs ...string) []string { s := slices.Clone(xs); slices.Reverse(s); return s }
		tests := []struct {
			query string
			want  []string // newest first
		}{
			{"", rev(ids...)},
			{"?service_request_id=" + ids[0] + "," + old + "," + private.Number + ",WS0", []string{ids[0], old}},
			{"?service_request_id=" + ids[0] + "&service_code=ZL0601&status=closed", []string{ids[0]}},
			{"?service_code=ZL0601", []string{ids[3], ids[1]}},
			{"?service_code=ZL05,ZL0601&status=open", rev(ids[0], ids[2], ids[3], ids[4])},
			{"?status=closed", []string{ids[1]}},
			{"?status=open,closed", rev(ids...)},
			{"?status=", rev(ids...)},
			{"?start_date=2026-11-23T11:00:00%2B08:00", rev(ids[1], ids[2], ids[3], ids[4])},
			{"?start_date=2026-11-23T03:00:00Z&end_date=2026-11-23T05:00:00Z", []string{ids[3], ids[2], ids[1]}},
			{"?end_date=2026-11-23T10:00:00%2B08:00", []string{ids[0]}},
			{"?start_date=2026-08-01T00:00:00%2B08:00&end_date=2026-08-31T00:00:00%2B08:00", []string{old}},
			{"?page_size=2", []string{ids[4], ids[3]}},
			{"?page_size=2&page=2", []string{ids[2], ids[1]}},
			{"?page_size=2&page=3", []string{ids[0]}},
			{"?page_size=2&page=4", nil},
			{"?service_code=NOPE", nil},
		}
		for _, tt := range tests {
			t.Run(tt.query, func(t *testing.T) {
				j := jsonList(t, w.get(t, "/open311/v2/requests.json"+tt.query))
				x := xmlList(t, w.get(t, "/open311/v2/requests.xml"+tt.query), "service_requests", "request")
				sameDocs(t, "requests", j, x)
				var got []string
				for _, r := range j {
					checkFields(t, "request", r, requestKinds())
					got = append(got, r["service_request_id"].(string))
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			})
		}
		// The rejected case is closed, with the reason as its notes.
		r := jsonList(t, w.get(t, "/open311/v2/requests/"+ids[1]+".json"))[0]
		if r["status"] != "closed" || r["status_notes"] != "不属于受理范围" {
			t.Errorf("rejected case: status %v, notes %v", r["status"], r["status_notes"])
		}
		errTests := []struct {
			query string
			says  string
		}{
			{"?start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", "90 days"},
			{"?start_date=2026-11-23T00:00:00Z&end_date=2026-11-22T00:00:00Z", "before"},
			{"?start_date=2026-11-23T10:00:00", "zone"},
			{"?end_date=yesterday", "end_date"},
			{"?status=pending", "status"},
			{"?page=0", "page"},
			{"?page_size=1001", "page_size"},
			{"?page_size=ten", "page_size"},
			{"?service_request_id=" + strings.Repeat("X,", 1001), "1000"},
		}
		for _, tt := range errTests {
			for _, f := range []string{"json", "xml"} {
				descs := checkErrors(t, w.get(t, "/open311/v2/requests."+f+tt.query, "Accept-Language", "en"), f, http.StatusBadRequest)
				if !strings.Contains(strings.Join(descs, " "), tt.says) {
					t.Errorf("%s.%s: %q does not say %q", f, tt.query, descs, tt.says)
				}
			}
		}
		// One request: unknown, private or malformed ids are 404.
		for _, bad := range []string{"WS0", private.Number, strings.Repeat("9", 80)} {
			for _, f := range []string{"json", "xml"} {
				checkErrors(t, w.get(t, "/open311/v2/requests/"+bad+"."+f), f, http.StatusNotFound)
				checkErrors(t, w.get(t, "/open311/v2/tokens/"+bad+"."+f), f, http.StatusNotFound)
			}
		}
		// Tokens: the token is the id.
		tj := jsonList(t, w.get(t, "/open311/v2/tokens/"+ids[2]+".json"))
		tx := xmlList(t, w.get(t, "/open311/v2/tokens/"+ids[2]+".xml"), "service_requests", "request")
		sameDocs(t, "tokens", tj, tx)
		if len(tj) != 1 || tj[0]["token"] != ids[2] || tj[0]["service_request_id"] != ids[2] {
			t.Errorf("tokens/%s: %v", ids[2], tj)
		}
		// Other paths under /open311/ are Open311 404s in the format asked.
		checkErrors(t, w.get(t, "/open311/v2/nothing.xml"), "xml", http.StatusNotFound)
		checkErrors(t, w.get(t, "/open311/v2/services"), "json", http.StatusNotFound)
		checkErrors(t, w.get(t, "/open311/v3/services.json"), "json", http.StatusNotFound)
	})
}

func pngPhoto(t *testing.T) []byte { return worldtest.PNG(t) }

// step takes one workflow step on a case an hour after the last one.
func (w *o311World) step(t *testing.T, caseID int64, who string, a casework.Action, in casework.Input) {
	t.Helper()
	w.clk.Advance(time.Hour)
	if _, err := w.cases.Act(context.Background(), w.as(who), caseID, a, in); err != nil {
		t.Fatalf("%s by %s: %v", a, who, err)
	}
}

// TestOpen311RoundTrip: an Open311 POST creates a case, staff take it
// through the 红哨 loop, the Open311 GET shows it closed with the right
// notes and photo, and servicerequestupdates lists each public step.
func TestOpen311RoundTrip(t *testing.T) {
	clk := clock.NewFake(o311Start())
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(o311Start())
		w := newO311World(t, d, clk, nil)
		ctx := context.Background()
		id := w.create(t, w.noiseForm("fms"))
		c := w.caseOf(t, id)
		step := func(who string, a casework.Action, in casework.Input) { t.Helper(); w.step(t, c.ID, who, a, in) }
		step("staff-a", casework.ActAccept, casework.Input{})
		step("staff-a", casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "STHJ"}, Note: "请生态环境分局处理"})
		step("sthj-handler", casework.ActStart, casework.Input{})
		photo, err := w.cases.AddPhoto(ctx, w.as("sthj-handler"), c.ID, "after", bytes.NewReader(pngPhoto(t)))
		if err != nil {
			t.Fatal(err)
		}
		step("sthj-handler", casework.ActResolve, casework.Input{Note: "已约谈广场舞队，音响音量已调低", Photos: []int64{photo.ID}})
		step("staff-a", casework.ActVerify, casework.Input{Passed: ptr(true), Note: "夜间回访，已安静"})
		step("staff-a", casework.ActClose, casework.Input{Note: "已办结"})

		j := jsonList(t, w.get(t, "/open311/v2/requests/"+id+".json"))
		x := xmlList(t, w.get(t, "/open311/v2/requests/"+id+".xml"), "service_requests", "request")
		sameDocs(t, "closed request", j, x)
		r := asStrings(j[0])
		mediaURL := w.url + "/api/v1/public/cases/" + strconv.FormatInt(c.ID, 10) + "/photos/" + strconv.FormatInt(photo.ID, 10)
		want := map[string]string{"status": "closed", "status_notes": "已办结", "agency_responsible": "生态环境分局",
			"requested_datetime": "2026-11-23T10:00:00+08:00", "updated_datetime": "2026-11-23T16:00:00+08:00", "media_url": mediaURL}
		for k, v := range want {
			if r[k] != v {
				t.Errorf("%s: got %q, want %q", k, r[k], v)
			}
		}
		// The media_url serves the photo to anyone.
		img := w.get(t, strings.TrimPrefix(mediaURL, w.url))
		if img.status != http.StatusOK || img.header.Get("Content-Type") != "image/png" || !bytes.Equal(img.body, pngPhoto(t)) {
			t.Errorf("media_url: %d %s", img.status, img.header.Get("Content-Type"))
		}
		// Each public step, in order, with its extended status.
		query := "?start_date=2026-11-23T00:00:00%2B08:00&end_date=2026-11-24T00:00:00%2B08:00"
		uj := jsonList(t, w.get(t, "/open311/v2/servicerequestupdates.json"+query))
		ux := xmlList(t, w.get(t, "/open311/v2/servicerequestupdates.xml"+query), "service_request_updates", "request_update")
		sameDocs(t, "updates", uj, ux)
		var got []string
		seen := map[string]bool{}
		for _, u := range uj {
			checkFields(t, "update", u, map[string]string{"update_id": "string", "service_request_id": "string", "status": "string",
				"updated_datetime": "time", "description": "string", "media_url": "uri?", "external_status_code": "string"})
			if seen[u["update_id"].(string)] {
				t.Errorf("update_id %v repeats", u["update_id"])
			}
			seen[u["update_id"].(string)] = true
			if u["service_request_id"] != id {
				t.Errorf("update of %v, want %s", u["service_request_id"], id)
			}
			got = append(got, fmt.Sprintf("%s %s %s %q %v", u["updated_datetime"].(string)[11:16], u["status"], u["external_status_code"], u["description"], u["media_url"] != nil))
		}
		wantSteps := []string{
			`10:00 open submitted "" false`,
			`11:00 investigating accepted "" false`,
			`12:00 action_scheduled dispatched "请生态环境分局处理" false`,
			`13:00 in_progress in_progress "" false`,
			`14:00 in_progress resolved "已约谈广场舞队，音响音量已调低" true`,
			`15:00 fixed verified "夜间回访，已安静" false`,
			`16:00 fixed closed "已办结" false`,
		}
		if strings.Join(got, "\n") != strings.Join(wantSteps, "\n") {
			t.Errorf("updates:\ngot\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(wantSteps, "\n"))
		}
		// The default window (the last 90 days) has them too; a window
		// before the case has none.
		if n := len(jsonList(t, w.get(t, "/open311/v2/servicerequestupdates.json"))); n != len(wantSteps) {
			t.Errorf("default window: %d updates, want %d", n, len(wantSteps))
		}
		if n := len(jsonList(t, w.get(t, "/open311/v2/servicerequestupdates.json?end_date=2026-11-23T09:59:59%2B08:00"))); n != 0 {
			t.Errorf("before the case: %d updates, want 0", n)
		}
		for _, tt := range []struct{ query, says string }{
			{"?start_date=2026-01-01T00:00:00Z&end_date=2026-12-01T00:00:00Z", "90 days"},
			{"?start_date=2026-11-23", "zone"},
		} {
			for _, f := range []string{"json", "xml"} {
				descs := checkErrors(t, w.get(t, "/open311/v2/servicerequestupdates."+f+tt.query, "Accept-Language", "en"), f, http.StatusBadRequest)
				if !strings.Contains(strings.Join(descs, " "), tt.says) {
					t.Errorf("updates %s: %q does not say %q", tt.query, descs, tt.says)
				}
			}
		}
		// A photo that is not on the public timeline is not served.
		other, err := w.cases.AddPhoto(ctx, w.as("staff-a"), w.caseOf(t, w.create(t, w.noiseForm("fms"))).ID, "before", bytes.NewReader(pngPhoto(t)))
		if err != nil {
			t.Fatal(err)
		}
		if a := w.get(t, "/api/v1/public/cases/"+strconv.FormatInt(c.ID, 10)+"/photos/"+strconv.FormatInt(other.ID, 10)); a.status != http.StatusNotFound {
			t.Errorf("another case's photo through this case: %d", a.status)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestOpen311PostUpdate: an integration may close a verified case, and is
// told clearly why any other update is refused.
func TestOpen311PostUpdate(t *testing.T) {
	clk := clock.NewFake(o311Start())
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(o311Start())
		w := newO311World(t, d, clk, nil)
		ctx := context.Background()
		id := w.create(t, w.noiseForm("fms"))
		c := w.caseOf(t, id)
		open := w.create(t, w.noiseForm("fms"))
		for _, s := range []struct {
			who string
			a   casework.Action
			in  casework.Input
		}{
			{"staff-a", casework.ActAccept, casework.Input{}},
			{"staff-a", casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "STHJ"}}},
			{"sthj-handler", casework.ActStart, casework.Input{}},
		} {
			if _, err := w.cases.Act(ctx, w.as(s.who), c.ID, s.a, s.in); err != nil {
				t.Fatal(err)
			}
		}
		update := func(key, req, status string) url.Values {
			return url.Values{"api_key": {w.keys[key]}, "service_request_id": {req}, "update_id": {"fms-9"}, "status": {status},
				"updated_datetime": {"2026-11-23T12:00:00+08:00"}, "description": {"居民确认已解决"}}
		}
		refusals := []struct {
			name   string
			form   url.Values
			status int
			says   string
		}{
			{"missing key", func() url.Values { f := update("fms", id, "FIXED"); f.Del("api_key"); return f }(), 403, "api_key"},
			{"unknown request", update("fms", "WS0", "FIXED"), 404, "WS0"},
			{"missing fields", url.Values{"api_key": {w.keys["fms"]}}, 400, "update_id"},
			{"unknown status", update("fms", id, "SOLVED"), 400, "SOLVED"},
			{"no zone", func() url.Values {
				f := update("fms", id, "FIXED")
				f.Set("updated_datetime", "2026-11-23T12:00:00")
				return f
			}(), 400, "zone"},
			{"a step only staff take", update("fms", id, "IN_PROGRESS"), 400, "staff"},
			{"closing before verification", update("fms", id, "FIXED"), 400, "verified"},
			{"closing a new case", update("fms", open, "CLOSED"), 400, "verified"},
		}
		for _, tt := range refusals {
			for _, f := range []string{"json", "xml"} {
				descs := checkErrors(t, w.post(t, "/open311/v2/servicerequestupdates."+f, tt.form, "Accept-Language", "en"), f, tt.status)
				if !strings.Contains(strings.Join(descs, " "), tt.says) {
					t.Errorf("%s.%s: %q does not say %q", tt.name, f, descs, tt.says)
				}
			}
		}
		// After staff resolve and verify it, FIXED closes it.
		photo, err := w.cases.AddPhoto(ctx, w.as("sthj-handler"), c.ID, "after", bytes.NewReader(pngPhoto(t)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.cases.Act(ctx, w.as("sthj-handler"), c.ID, casework.ActResolve, casework.Input{Note: "已处理", Photos: []int64{photo.ID}}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.cases.Act(ctx, w.as("staff-a"), c.ID, casework.ActVerify, casework.Input{Passed: ptr(true)}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Hour)
		var ids []string
		for _, f := range []string{"xml", "json"} { // the second is a retry
			a := w.post(t, "/open311/v2/servicerequestupdates."+f, update("fms", id, "FIXED"))
			if a.status != http.StatusOK {
				t.Fatalf("POST servicerequestupdates.%s: %d %s", f, a.status, a.body)
			}
			if f == "xml" {
				ids = append(ids, xmlList(t, a, "service_request_updates", "request_update")[0]["update_id"])
			} else {
				ids = append(ids, asStrings(jsonList(t, a)[0])["update_id"])
			}
		}
		if ids[0] == "" || ids[0] != ids[1] {
			t.Errorf("update ids: %v, want one id twice", ids)
		}
		r := jsonList(t, w.get(t, "/open311/v2/requests/"+id+".json"))[0]
		if r["status"] != "closed" || r["status_notes"] != "居民确认已解决" {
			t.Errorf("after FIXED: status %v, notes %v", r["status"], r["status_notes"])
		}
		ups := jsonList(t, w.get(t, "/open311/v2/servicerequestupdates.json"))
		if last := ups[len(ups)-1]; last["update_id"] != ids[0] || last["status"] != "fixed" || last["description"] != "居民确认已解决" {
			t.Errorf("the last update: %v", last)
		}
		entries, err := audit.List(ctx, d, audit.Filter{Action: "open311.update"})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Actor != "apikey:fms" || entries[0].Target != "case:"+id {
			t.Errorf("open311.update audit entries: %+v", entries)
		}
	})
}

// TestOpen311Throttle: a sustained flood on one key is refused with 429
// and Retry-After, while another key is served; time moves on the fake
// clock only.
func TestOpen311Throttle(t *testing.T) {
	clk := clock.NewFake(o311Start())
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		clk.Set(o311Start())
		w := newO311World(t, d, clk, ratelimit.New(1, 3, clk))
		served := map[string]int{}
		send := func(key, f string) {
			t.Helper()
			a := w.post(t, "/open311/v2/requests."+f, w.noiseForm(key))
			switch a.status {
			case http.StatusOK:
				served[key]++
			case http.StatusTooManyRequests:
				if got, want := a.header.Get("Retry-After"), "1"; got != want {
					t.Errorf("Retry-After: got %q, want %q", got, want)
				}
				checkErrors(t, a, f, http.StatusTooManyRequests)
			default:
				t.Fatalf("%s: %d %s", key, a.status, a.body)
			}
		}
		// A burst of 20 on fms at one instant: its burst of 3 is served;
		// other, asking in between, is served every time.
		for i := range 20 {
			send("fms", "json")
			if i%7 == 0 {
				send("other", "xml")
			}
		}
		if got, want := served["fms"], 3; got != want {
			t.Errorf("the burst: fms served %d times, want %d", got, want)
		}
		if got, want := served["other"], 3; got != want {
			t.Errorf("the burst: other served %d times, want %d", got, want)
		}
		// Sustained: fms keeps sending 5 a second for 5 seconds and gets
		// exactly its rate of 1 a second; other still gets its one.
		for range 5 {
			clk.Advance(time.Second)
			for range 5 {
				send("fms", "xml")
			}
			send("other", "json")
		}
		if got, want := served["fms"], 3+5; got != want {
			t.Errorf("sustained: fms served %d times, want %d", got, want)
		}
		if got, want := served["other"], 3+5; got != want {
			t.Errorf("sustained: other served %d times, want %d", got, want)
		}
		// Refused requests created nothing.
		cs, _, err := w.cases.List(context.Background(), casework.Caller{System: true}, casework.Filter{Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(cs), served["fms"]+served["other"]; got != want {
			t.Errorf("%d cases, want %d", got, want)
		}
	})
}

// TestOpen311ErrorMapping: how domain errors become Open311 errors,
// including failures on our side (400 with code 500, as the standard asks).
func TestOpen311ErrorMapping(t *testing.T) {
	srv := newDocServer(t)
	o := srv.features().open311
	limited := errs.E(errs.RateLimited, "open311.rate_limited", 7)
	limited.RetryAfter = 7
	tests := []struct {
		name   string
		err    error
		status int
		want   string // code: description | …
	}{
		{"not found", errs.E(errs.NotFound, "case.not_found"), 404, "404: No such case in your data scope."},
		{"forbidden", errs.E(errs.Forbidden, "open311.api_key"), 403, "403: api_key is missing, unknown or revoked."},
		{"rate limited", limited, 429, "429: Too many requests with this api_key; retry in 7 seconds."},
		{"fields renamed", errs.E(errs.Invalid, "error.invalid").Field("lng", "field.required").Field("fields.plate", "field.required").
			Field("category", "field.required"), 400, "400: attribute[plate]: Required. | 400: long: Required. | 400: service_code: Required."},
		{"conflict", errs.E(errs.Conflict, "case.changed"), 400, ""},
		{"a failure of ours", errors.New("disk on fire"), 400, "500: "},
		{"unavailable", errs.E(errs.Unavailable, "error.unavailable"), 400, "503: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/open311/v2/requests.json?lang=en", nil)
			rec := httptest.NewRecorder()
			// The middleware sets the language; call through it.
			h := srv.middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				o.fail(w, r, open311.JSON, tt.err)
			}))
			h.ServeHTTP(rec, r)
			if got, want := rec.Code, tt.status; got != want {
				t.Errorf("status: got %d, want %d", got, want)
			}
			var list []struct {
				Code        int
				Description string
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range list {
				got = append(got, fmt.Sprintf("%d: %s", e.Code, e.Description))
			}
			if g := strings.Join(got, " | "); !strings.HasPrefix(g, tt.want) {
				t.Errorf("got %q, want it to start with %q", g, tt.want)
			}
			if tt.status == 429 && rec.Header().Get("Retry-After") != "7" {
				t.Errorf("Retry-After: got %q, want 7", rec.Header().Get("Retry-After"))
			}
		})
	}
}
