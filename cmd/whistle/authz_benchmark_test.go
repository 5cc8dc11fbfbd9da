package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/benchmark"
)

// The 对标 data the matrix plants: indicator authz_sat with values for
// every target's node and for the communities of 永中街道 in an
// unpublished period (2030-01) and a published one (2030-02), and one
// hand-picked group per target owned by the target's node.
const (
	bmUnpublished = "2030-01"
	bmPublished   = "2030-02"
)

type bmPlanted struct {
	group       map[target]int64
	communities []string // the communities of 永中街道, the in node's peers
}

var (
	bmMu    sync.Mutex
	bmPlant = map[*authzFixture]*bmPlanted{}
)

// plantBenchmark plants the data once per fixture.
func (f *authzFixture) plantBenchmark() *bmPlanted {
	bmMu.Lock()
	defer bmMu.Unlock()
	if p, ok := bmPlant[f]; ok {
		return p
	}
	ctx := context.Background()
	st := f.w.benchmark
	if _, err := st.DeclareIndicator(ctx, benchmark.Indicator{Key: "authz_sat", Name: benchmark.Text{ZH: "满意率", EN: "Satisfaction"}, Unit: "percent",
		Direction: benchmark.HigherBetter}); err != nil {
		f.t.Fatal(err)
	}
	kids, err := f.w.app.regions.Children(ctx, "330303001", false)
	if err != nil {
		f.t.Fatal(err)
	}
	p := &bmPlanted{group: map[target]int64{}}
	var vals []benchmark.Value
	for i, k := range kids {
		p.communities = append(p.communities, k.Code)
		for _, per := range []string{bmUnpublished, bmPublished} {
			vals = append(vals, benchmark.Value{Indicator: "authz_sat", Unit: k.Code, Period: per, Value: float64(50 + i)})
		}
	}
	for _, t := range []target{out, other} {
		for _, per := range []string{bmUnpublished, bmPublished} {
			vals = append(vals, benchmark.Value{Indicator: "authz_sat", Unit: f.node[t], Period: per, Value: 70})
		}
	}
	// The context variables of similar groups, for the communities and
	// the out and other nodes, in both periods.
	for _, key := range []string{"authz_pop", "authz_area"} {
		if _, err := st.DeclareIndicator(ctx, benchmark.Indicator{Key: key, Name: benchmark.Text{ZH: key, EN: key}, Unit: "count",
			Direction: benchmark.HigherBetter, Context: true}); err != nil {
			f.t.Fatal(err)
		}
	}
	ctxUnits := append(slices.Clone(p.communities), f.node[out], f.node[other])
	for i, u := range ctxUnits {
		for _, per := range []string{bmUnpublished, bmPublished} {
			vals = append(vals, benchmark.Value{Indicator: "authz_pop", Unit: u, Period: per, Value: float64(1000 + 100*i)},
				benchmark.Value{Indicator: "authz_area", Unit: u, Period: per, Value: float64(1 + i%3)})
		}
	}
	if err := st.PutValues(ctx, vals, false); err != nil {
		f.t.Fatal(err)
	}
	if err := st.PublishPeriod(ctx, bmPublished); err != nil {
		f.t.Fatal(err)
	}
	for _, t := range regTargets {
		n, err := f.w.app.regions.Get(ctx, f.node[t])
		if err != nil {
			f.t.Fatal(err)
		}
		g, err := st.CreateGroup(ctx, account.SystemScope(), n.Path, 0, "矩阵组 "+string(t), []string{f.node[t], p.communities[0]})
		if err != nil {
			f.t.Fatal(err)
		}
		p.group[t] = g.ID
	}
	bmPlant[f] = p
	f.t.Cleanup(func() {
		bmMu.Lock()
		delete(bmPlant, f)
		bmMu.Unlock()
	})
	return p
}

// benchmarkMatrix is 对标's expectations, merged into matrix: readers of
// statistics; in the unpublished period a unit's analysis is seen by the
// callers whose scope covers it (the node on the big screen's rule).
func benchmarkMatrix() map[string]spec {
	unitGet := func(path string) spec {
		return spec{allow: statsRead, targets: []target{in, out, other}, sees: map[target][]who{in: seeNodeIn, out: seeNodeOut, other: {}},
			req: func(f *authzFixture, w who, t target) *http.Request {
				f.plantBenchmark()
				return f.request(w, "GET", path+"unit="+f.node[t]+"&period="+bmUnpublished, nil, "")
			}}
	}
	return map[string]spec{
		"GET /api/v1/indicators": {allow: statsRead, req: func(f *authzFixture, w who, t target) *http.Request {
			f.plantBenchmark()
			return f.request(w, "GET", "/api/v1/indicators", nil, "")
		}},
		"POST /api/v1/indicators": {allow: adminOnly, req: func(f *authzFixture, w who, t target) *http.Request {
			return f.jsonRequest(w, "POST", "/api/v1/indicators", map[string]any{"key": "authz_" + string(w), "name": "矩阵指标", "unit": "percent",
				"direction": "higher_better"})
		}},
		// The upload: indicator writers (admins) only; the page likewise.
		"POST /api/v1/indicators/values": {allow: adminOnly, req: func(f *authzFixture, w who, t target) *http.Request {
			f.plantBenchmark()
			return f.request(w, "POST", "/api/v1/indicators/values?dry_run=1", strings.NewReader("indicator,unit_code,period,value\nauthz_sat,"+f.node[in]+",2030-03,60\n"), "text/csv")
		}},
		"GET /benchmarking/import": {allow: adminOnly, req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/benchmarking/import", nil, "")
		}},
		"GET /api/v1/benchmark":             unitGet("/api/v1/benchmark?indicator=authz_sat&"),
		"GET /api/v1/benchmark/weak-points": unitGet("/api/v1/benchmark/weak-points?"),
		// Peers are the region tree's structure, which is public, and a
		// similar group is found on the values the caller may see: those
		// of a published period, here, everyone's.
		"GET /api/v1/benchmark/peers": {allow: statsRead, targets: []target{in, out, other}, sees: map[target][]who{in: statsRead, out: statsRead, other: statsRead},
			req: func(f *authzFixture, w who, t target) *http.Request {
				f.plantBenchmark()
				return f.request(w, "GET", "/api/v1/benchmark/peers?group=similar&on=authz_pop,authz_area&k=3&period="+bmPublished+"&unit="+f.node[t], nil, "")
			}},
		"POST /api/v1/benchmark/groups": {allow: statsRead, req: func(f *authzFixture, w who, t target) *http.Request {
			p := f.plantBenchmark()
			return f.jsonRequest(w, "POST", "/api/v1/benchmark/groups", map[string]any{"name": "矩阵 " + string(w), "units": p.communities[:2]})
		}},
		"GET /api/v1/benchmark/groups/{id}": {allow: statsRead, targets: []target{in, out, other}, sees: map[target][]who{in: seeNodeIn, out: seeNodeOut, other: {}},
			req: func(f *authzFixture, w who, t target) *http.Request {
				p := f.plantBenchmark()
				return f.request(w, "GET", "/api/v1/benchmark/groups/"+strconv.FormatInt(p.group[t], 10), nil, "")
			}},
	}
}

// TestBenchmarkAuthorizationEffect: beside the status, what each reader
// of 万顺社区's analysis gets. In the unpublished period the community
// sees itself alone (its peers' values are not in the answer), the street
// and the district see every community; in the published period everyone
// sees every community. A declared indicator is listed afterwards only
// when the declaration was allowed.
func TestBenchmarkAuthorizationEffect(t *testing.T) {
	f := newAuthzFixture(t)
	p := f.plantBenchmark()
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(w who, path string, out any) int {
		t.Helper()
		resp, err := client.Do(f.request(w, "GET", path, nil, ""))
		if err != nil {
			t.Fatal(err)
		}
		body := readSome(resp)
		if resp.StatusCode == http.StatusOK && out != nil {
			if err := json.Unmarshal(body, out); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode
	}
	all := len(p.communities)
	for _, c := range []struct {
		w      who
		period string
		peers  int
	}{
		{community, bmUnpublished, 1}, {street, bmUnpublished, all}, {leader, bmUnpublished, all}, {admin, bmUnpublished, all},
		{community, bmPublished, all}, {street, bmPublished, all},
	} {
		var a struct {
			Peers  int              `json:"peers"`
			Leader *benchmark.Point `json:"leader"`
		}
		if got := get(c.w, "/api/v1/benchmark?indicator=authz_sat&unit="+f.node[in]+"&period="+c.period, &a); got != http.StatusOK {
			t.Fatalf("%s in %s: got %d, want 200", c.w, c.period, got)
		}
		if a.Peers != c.peers {
			t.Errorf("%s in %s: got %d peers, want %d", c.w, c.period, a.Peers, c.peers)
		}
		// The leader is the last community (the highest value); before
		// publication the community's own value leads its one-unit field.
		wantLeader := p.communities[all-1]
		if c.peers == 1 {
			wantLeader = f.node[in]
		}
		if a.Leader == nil || a.Leader.Unit != wantLeader {
			t.Errorf("%s in %s: got leader %+v, want %s", c.w, c.period, a.Leader, wantLeader)
		}
	}
	// Similar groups: in the unpublished period the community finds
	// only itself (its peers' context values are not its to see), the
	// street every community of its own; in the published one the
	// community finds them all. The page shows the group with distances.
	for _, c := range []struct {
		w          who
		period     string
		candidates int
	}{
		{community, bmUnpublished, 1}, {street, bmUnpublished, all}, {community, bmPublished, all}, {admin, bmUnpublished, all},
	} {
		var l benchmark.PeerList
		if got := get(c.w, "/api/v1/benchmark/peers?group=similar&on=authz_pop,authz_area&unit="+f.node[in]+"&period="+c.period, &l); got != http.StatusOK {
			t.Fatalf("similar as %s in %s: got %d, want 200", c.w, c.period, got)
		}
		if l.Candidates != c.candidates || len(l.Neighbours) != min(c.candidates, benchmark.DefaultK) || l.Neighbours[0].Unit != f.node[in] {
			t.Errorf("similar as %s in %s: %d candidates, neighbours %+v; want %d, itself first", c.w, c.period, l.Candidates, l.Neighbours, c.candidates)
		}
		for _, n := range l.Neighbours {
			if c.w == community && c.period == bmUnpublished && n.Unit != f.node[in] {
				t.Errorf("the community sees %s's unpublished context values", n.Unit)
			}
		}
	}
	page := func(w who, query string) string {
		t.Helper()
		resp, err := client.Do(f.request(w, "GET", "/benchmarking/units/"+f.node[in]+"?"+query, nil, ""))
		if err != nil {
			t.Fatal(err)
		}
		body := string(readSome(resp))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("page %s as %s: %d", query, w, resp.StatusCode)
		}
		return body
	}
	if body := page(community, "period="+bmPublished+"&group=similar&on=authz_pop,authz_area&k=3"); strings.Count(body, "data-similar=") != 3 ||
		!strings.Contains(body, "data-distance") {
		t.Errorf("the community's page shows %d similar units, want 3 with their distances", strings.Count(body, "data-similar="))
	}
	if body := page(community, "period="+bmUnpublished+"&group=similar&on=authz_pop,authz_area&k=3"); strings.Count(body, "data-similar=") != 1 {
		t.Errorf("the community's page before publication shows %d similar units, want itself alone", strings.Count(body, "data-similar="))
	}
	if body := page(community, "period="+bmPublished+"&group=similar&on=authz_nope"); !strings.Contains(body, "data-peer-error") {
		t.Errorf("an unknown variable: the page says nothing")
	}
	if body := page(community, "period="+bmPublished); strings.Count(body, "data-level=") != all {
		t.Errorf("the level group on the page: %d units, want %d", strings.Count(body, "data-level="), all)
	}
	listed := func(key string) bool {
		var l struct {
			Indicators []benchmark.Indicator `json:"indicators"`
		}
		get(admin, "/api/v1/indicators", &l)
		return slices.ContainsFunc(l.Indicators, func(in benchmark.Indicator) bool { return in.Key == key })
	}
	for _, w := range callers {
		key := "effect_" + strings.ReplaceAll(string(w), "-", "_")
		resp, err := client.Do(f.jsonRequest(w, "POST", "/api/v1/indicators", map[string]any{"key": key, "name": "效果", "unit": "percent", "direction": "lower_better"}))
		if err != nil {
			t.Fatal(err)
		}
		readSome(resp)
		if got, want := listed(key), w == admin; got != want {
			t.Errorf("POST /api/v1/indicators as %s (%d): listed %v, want %v", w, resp.StatusCode, got, want)
		}
	}
}

// TestIndicatorUploadEffect: an indicator file posted to POST
// /api/v1/indicators/values by every caller lands only the writer's
// (admin's) values, read back from the store; a dry run writes nothing; a
// file with a bad row is refused whole (its good row not written either)
// with the row's error in Chinese and in English; a body over the limit
// is 413, one of another type 422, never a 500. The declarations file of
// the form declares a new indicator in the same transaction.
func TestIndicatorUploadEffect(t *testing.T) {
	f := newAuthzFixture(t)
	f.plantBenchmark()
	ctx := context.Background()
	st := f.w.benchmark
	client := &http.Client{Timeout: 30 * time.Second}
	unit := f.node[in]
	post := func(w who, query, ct string, body io.Reader, lang string) (int, map[string]any) {
		t.Helper()
		req := f.request(w, "POST", "/api/v1/indicators/values"+query, body, ct)
		if lang != "" {
			req.Header.Set("Accept-Language", lang)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		_ = json.Unmarshal(readSome(resp), &out)
		return resp.StatusCode, out
	}
	has := func(period string) bool {
		t.Helper()
		_, ok, err := st.Value(ctx, "authz_sat", unit, period)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	csv := func(period string) io.Reader {
		return strings.NewReader("indicator,unit_code,period,value\nauthz_sat," + unit + "," + period + ",61.5\n")
	}
	for i, w := range callers {
		period := fmt.Sprintf("2031-%02d", i+1)
		code, _ := post(w, "", "text/csv", csv(period), "")
		if got, want := has(period), w == admin; got != want {
			t.Errorf("upload as %s (%d): value written %v, want %v", w, code, got, want)
		}
		if w != admin && code != http.StatusForbidden && code != http.StatusUnauthorized {
			t.Errorf("upload as %s: %d, want 403 (401 anonymous)", w, code)
		}
	}
	if v, ok, err := st.Value(ctx, "authz_sat", unit, fmt.Sprintf("2031-%02d", slices.Index(callers, admin)+1)); err != nil || !ok || v != 61.5 {
		t.Errorf("the admin's value read back: %v %v %v, want 61.5", v, ok, err)
	}
	// A dry run checks and writes nothing.
	if code, out := post(admin, "?dry_run=1", "text/csv", csv("2032-01"), ""); code != http.StatusOK || out["dry_run"] != true || has("2032-01") {
		t.Errorf("dry run: %d %v, written %v; want 200 and nothing written", code, out, has("2032-01"))
	}
	// A bad row refuses the file, its good row too, with the row's error.
	bad := "indicator,unit_code,period,value\nauthz_sat," + unit + ",2032-02,70\nauthz_sat," + unit + ",2032-03,七十\n"
	for lang, want := range map[string]string{"zh-CN": "第 3 行：value：不是数字", "en": "row 3: value: not a number"} {
		code, out := post(admin, "", "text/csv", strings.NewReader(bad), lang)
		errsOut, _ := out["errors"].([]any)
		msg := ""
		if len(errsOut) == 1 {
			msg, _ = errsOut[0].(map[string]any)["message"].(string)
		}
		if code != http.StatusUnprocessableEntity || msg != want {
			t.Errorf("bad row (%s): %d %v, want 422 with %q", lang, code, out, want)
		}
	}
	if has("2032-02") {
		t.Error("the good row of a refused file was written")
	}
	// An unknown indicator, declared in the form's second file, lands.
	var form bytes.Buffer
	mw := multipart.NewWriter(&form)
	for name, content := range map[string]string{
		"file":       "indicator,unit_code,period,value\nauthz_upload," + unit + ",2032-04,3\n",
		"indicators": "key,name,unit,direction\nauthz_upload,上传指标,count,lower_better\n",
	} {
		fw, err := mw.CreateFormFile(name, name+".csv")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(fw, content); err != nil {
			t.Fatal(err)
		}
	}
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	if code, out := post(admin, "", mw.FormDataContentType(), &form, ""); code != http.StatusCreated {
		t.Errorf("form with a declaration: %d %v, want 201", code, out)
	}
	if v, ok, err := st.Value(ctx, "authz_upload", unit, "2032-04"); err != nil || !ok || v != 3 {
		t.Errorf("the declared indicator's value: %v %v %v, want 3", v, ok, err)
	}
	// Too large, the wrong type, no file, a bad flag: 4xx, never a 500.
	big := strings.NewReader("indicator,unit_code,period,value\n" + strings.Repeat("x", 9<<20))
	for _, c := range []struct {
		name, query, ct string
		body            io.Reader
		want            int
	}{
		{"too large", "", "text/csv", big, http.StatusRequestEntityTooLarge},
		{"json", "", "application/json", strings.NewReader(`{}`), http.StatusUnprocessableEntity},
		{"empty", "", "text/csv", strings.NewReader(""), http.StatusUnprocessableEntity},
		{"header only", "", "text/csv", strings.NewReader("indicator,unit_code,period,value\n"), http.StatusUnprocessableEntity},
		{"form without file", "", "multipart/form-data; boundary=x", strings.NewReader("--x--\r\n"), http.StatusUnprocessableEntity},
		{"dry_run=maybe", "?dry_run=maybe", "text/csv", csv("2032-05"), http.StatusUnprocessableEntity},
		{"not a workbook", "", xlsxContentType, strings.NewReader("PK\x03\x04broken"), http.StatusUnprocessableEntity},
	} {
		if code, out := post(admin, c.query, c.ct, c.body, ""); code != c.want {
			t.Errorf("%s: %d %v, want %d", c.name, code, out, c.want)
		}
	}
}

const xlsxContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
