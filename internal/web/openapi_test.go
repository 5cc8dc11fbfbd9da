package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"whistle/internal/i18n"
)

// newDocServer is a server with no stores: enough for the route table and
// the documentation.
func newDocServer(t *testing.T) *Server {
	t.Helper()
	catalog, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewServer(Deps{ReadyCheck: func(context.Context) error { return nil }, Catalog: catalog, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// documentable reports whether a route belongs in the API documentation.
func documentable(pattern string) bool {
	_, path, _ := strings.Cut(pattern, " ")
	return strings.HasPrefix(path, "/api/") || strings.HasPrefix(path, "/open311/")
}

// compareDocs returns the documentable routes that no operation documents,
// and the operations' patterns that no route serves.
func compareDocs(routes []Route, ops []apiOp) (undocumented, unrouted []string) {
	documented := map[string]bool{}
	for _, op := range ops {
		for _, p := range op.patterns() {
			documented[p] = true
		}
	}
	routed := map[string]bool{}
	for _, r := range routes {
		routed[r.Pattern] = true
		if documentable(r.Pattern) && !documented[r.Pattern] {
			undocumented = append(undocumented, r.Pattern)
		}
	}
	for _, op := range ops {
		for _, p := range op.patterns() {
			if !routed[p] {
				unrouted = append(unrouted, p)
			}
		}
	}
	return undocumented, unrouted
}

// TestCompareDocs shows that the check below can fail, and how.
func TestCompareDocs(t *testing.T) {
	ops := []apiOp{{Method: "GET", Path: "/api/v1/a"}, {Method: "GET", Path: "/open311/v2/x.{format}"}}
	tests := []struct {
		name                   string
		routes                 []string
		undocumented, unrouted []string
	}{
		{"all documented", []string{"GET /api/v1/a", "GET /open311/v2/x.json", "GET /open311/v2/x.xml", "GET /healthz"}, nil, nil},
		{"a new route", []string{"GET /api/v1/a", "POST /api/v1/a", "GET /open311/v2/x.json", "GET /open311/v2/x.xml"}, []string{"POST /api/v1/a"}, nil},
		{"a removed route", []string{"GET /open311/v2/x.json", "GET /open311/v2/x.xml"}, nil, []string{"GET /api/v1/a"}},
		{"one format missing", []string{"GET /api/v1/a", "GET /open311/v2/x.json"}, nil, []string{"GET /open311/v2/x.xml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var routes []Route
			for _, p := range tt.routes {
				routes = append(routes, Route{Pattern: p})
			}
			undoc, unrouted := compareDocs(routes, ops)
			if got, want := strings.Join(undoc, ","), strings.Join(tt.undocumented, ","); got != want {
				t.Errorf("undocumented: got %q, want %q", got, want)
			}
			if got, want := strings.Join(unrouted, ","), strings.Join(tt.unrouted, ","); got != want {
				t.Errorf("unrouted: got %q, want %q", got, want)
			}
		})
	}
}

// TestOpenAPIMatchesRoutes checks the documentation against the router:
// every registered /api/ and /open311/ route is documented, and every
// documented operation is served.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	s := newDocServer(t)
	undoc, unrouted := compareDocs(s.Routes(), apiOperations())
	for _, p := range undoc {
		t.Errorf("route %q is registered in routes.go but not documented: add an apiOp for it to apiOperations in internal/web/openapi.go", p)
	}
	for _, p := range unrouted {
		t.Errorf("apiOperations in internal/web/openapi.go documents %q, but routes.go registers no such route: fix the entry or remove it", p)
	}
	n := 0
	for _, r := range s.Routes() {
		if documentable(r.Pattern) {
			n++
		}
	}
	if n < 50 {
		t.Errorf("only %d documentable routes registered; the check no longer sees the router", n)
	}
}

// TestAPIOperationsTable checks each entry on its own: a known tag, both
// summaries, declared path parameters, and access that matches the route's.
func TestAPIOperationsTable(t *testing.T) {
	s := newDocServer(t)
	access := map[string]Access{}
	for _, r := range s.Routes() {
		access[r.Pattern] = r.Access
	}
	tags := map[string]bool{}
	for _, tg := range apiTags() {
		tags[tg.Name] = true
	}
	seen := map[string]bool{}
	for _, op := range apiOperations() {
		name := op.Method + " " + op.Path
		if seen[name] {
			t.Errorf("%s is documented twice", name)
		}
		seen[name] = true
		if !tags[op.Tag] {
			t.Errorf("%s: tag %q is not in apiTags", name, op.Tag)
		}
		if op.Summary == "" || op.SummaryZH == "" {
			t.Errorf("%s: needs a summary in English and in Chinese", name)
		}
		for _, p := range op.Params {
			if p.Desc == "" || p.DescZH == "" {
				t.Errorf("%s: parameter %s needs a description in English and in Chinese", name, p.Name)
			}
		}
		for _, p := range op.patterns() {
			a, ok := access[p]
			if !ok {
				continue // reported by TestOpenAPIMatchesRoutes
			}
			if got, want := a.Auth, op.Auth.Session; got != want {
				t.Errorf("%s: the route requires login = %v, the documentation says %v", p, got, want)
			}
			if got, want := a.Perm, op.Auth.Perm; got != want {
				t.Errorf("%s: the route requires permission %q, the documentation says %q", p, got, want)
			}
		}
	}
}

// TestOpenAPIDocument checks the served document's structure: version,
// one operation per entry with both summaries, error responses with the
// right schema, and every $ref resolvable.
func TestOpenAPIDocument(t *testing.T) {
	s := newDocServer(t)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
	if got, want := rec.Code, http.StatusOK; got != want {
		t.Fatalf("status: got %d, want %d", got, want)
	}
	raw := rec.Body.String()
	var doc struct {
		OpenAPI    string                                `json:"openapi"`
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]json.RawMessage `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(raw), &doc); err != nil {
		t.Fatal(err)
	}
	if got, want := doc.OpenAPI, "3.1.0"; got != want {
		t.Errorf("openapi: got %q, want %q", got, want)
	}
	for _, op := range apiOperations() {
		name := op.Method + " " + op.Path
		rawOp, ok := doc.Paths[op.Path][strings.ToLower(op.Method)]
		if !ok {
			t.Errorf("%s is missing from the document", name)
			continue
		}
		var o struct {
			Summary   string `json:"summary"`
			SummaryZH string `json:"x-summary-zh"`
			Params    []struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
			Responses map[string]struct {
				Content map[string]struct {
					Schema struct {
						Ref string `json:"$ref"`
					} `json:"schema"`
				} `json:"content"`
			} `json:"responses"`
		}
		if err := json.Unmarshal(rawOp, &o); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if o.Summary != op.Summary || o.SummaryZH != op.SummaryZH {
			t.Errorf("%s: summaries %q / %q", name, o.Summary, o.SummaryZH)
		}
		for _, p := range pathParams(op.Path) {
			if !slices.ContainsFunc(o.Params, func(x struct {
				Name string `json:"name"`
				In   string `json:"in"`
			}) bool {
				return x.Name == p && x.In == "path"
			}) {
				t.Errorf("%s: path parameter %s is not declared", name, p)
			}
		}
		wantErr := "#/components/schemas/Error"
		if op.Tag == "open311" {
			wantErr = "#/components/schemas/Open311Errors"
		}
		errors := 0
		for code, resp := range o.Responses {
			if code[0] != '4' && code[0] != '5' {
				continue
			}
			errors++
			if got := resp.Content["application/json"].Schema.Ref; got != wantErr {
				t.Errorf("%s: response %s has schema %q, want %q", name, code, got, wantErr)
			}
		}
		if errors == 0 && (op.Auth.Session || len(op.Params) > 0) {
			t.Errorf("%s: documents no error response", name)
		}
	}
	// Every reference resolves.
	for _, part := range strings.Split(raw, `"$ref":"#/components/schemas/`)[1:] {
		name, _, _ := strings.Cut(part, `"`)
		if _, ok := doc.Components.Schemas[name]; !ok {
			t.Errorf("$ref to undefined schema %q", name)
		}
	}
	// The error schema is the one every /api/ error has.
	var e struct {
		Properties struct {
			Error struct {
				Required   []string       `json:"required"`
				Properties map[string]any `json:"properties"`
			} `json:"error"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(doc.Components.Schemas["Error"], &e); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"code", "message", "fields"} {
		if _, ok := e.Properties.Error.Properties[f]; !ok {
			t.Errorf("the Error schema lacks error.%s", f)
		}
	}
}

func TestAPIDocsPage(t *testing.T) {
	s := newDocServer(t)
	tests := []struct {
		lang    string
		heading string
		summary func(apiOp) string
	}{
		{"en", "API documentation", func(op apiOp) string { return op.Summary }},
		{"zh-CN", "接口文档", func(op apiOp) string { return op.SummaryZH }},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, httptest.NewRequest("GET", "/api/docs?lang="+tt.lang, nil))
			if got, want := rec.Code, http.StatusOK; got != want {
				t.Fatalf("status: got %d, want %d", got, want)
			}
			page := rec.Body.String()
			if !strings.Contains(page, tt.heading) {
				t.Errorf("the page lacks the heading %q", tt.heading)
			}
			for _, op := range apiOperations() {
				// html/template escapes some characters; compare escaped.
				if want := templateEscape(tt.summary(op)); !strings.Contains(page, want) {
					t.Errorf("the page lacks %s %s: %q", op.Method, op.Path, want)
				}
				if !strings.Contains(page, templateEscape(op.Path)) {
					t.Errorf("the page lacks the path %s", op.Path)
				}
			}
			for _, cdn := range []string{"https://", "http://", "//cdn"} {
				if i := strings.Index(page, "src=\""+cdn); i >= 0 {
					t.Errorf("the page loads a resource from elsewhere: %s", page[i:min(len(page), i+80)])
				}
			}
		})
	}
}

func templateEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "'", "&#39;", "<", "&lt;", ">", "&gt;", `"`, "&#34;").Replace(s)
}
