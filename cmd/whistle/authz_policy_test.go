package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/benefit"
	"whistle/internal/db"
	"whistle/internal/indicator"
	"whistle/internal/policy"
	"whistle/internal/registry"
)

// plantPolicies gives the matrix a published policy, a saved draft and a
// registry person with the demo resident's phone, which the resident has
// proven by SMS code (their link for GET /api/v1/me/eligibility).
func (f *authzFixture) plantPolicies() {
	ctx := context.Background()
	res, err := f.w.app.accounts.UserByName(ctx, account.SystemScope(), "demo-resident")
	if err != nil {
		f.t.Fatal(err)
	}
	id := idNumber("33030319400101099")
	p, err := f.w.registry.AddPerson(ctx, account.SystemScope(), audit.System("authz test"), registry.PersonInput{
		IDNumber: id, Name: "矩阵老人", Phone: res.Phone, Status: registry.StatusResident, GridCode: f.userRegion[in]})
	if err != nil {
		f.t.Fatalf("resident's person: %v", err)
	}
	f.secrets = append(f.secrets, id)
	f.policyPerson = p.ID
	if err := f.w.app.db.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO phone_logins (phone, user_id, verified_at) VALUES ($1, $2, $3)`, res.Phone, res.ID, tx.Now())
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	for k, v := range map[string]any{"income_per_head": policyIncome, "hukou_local": true} {
		if err := f.w.registry.SetFact(ctx, account.SystemScope(), audit.System("authz test"), registry.FactPerson, p.ID,
			registry.FactInput{Key: k, Value: v, Verified: true, Source: "民政核对"}); err != nil {
			f.t.Fatal(err)
		}
	}
	if _, err := f.w.eligibility.Policy(ctx, "elderly_allowance"); err != nil {
		f.t.Fatalf("the demo policies are not seeded: %v", err)
	}
}

// policyIncome is the matrix resident's income per head: a fact only
// the resident and staff who unmask may see.
const policyIncome = 873.5

// policyDraft is a valid draft of a policy of its own per call.
func policyDraft(f *authzFixture) policy.Draft {
	ps, err := policy.DemoPolicies()
	if err != nil {
		f.t.Fatal(err)
	}
	d := ps[0].Draft
	d.Key = fmt.Sprintf("matrix_%d", f.seq.Add(1))
	return d
}

var policyAuthors = []who{dept, admin}

// policyMatrix is eligibility's expectations, merged into matrix: every
// signed-in caller reads the policies; department handlers and admins
// write them; eligibility follows the registry's scope; a resident sees
// their own.
func policyMatrix() map[string]spec {
	get := func(path string) spec {
		return spec{req: func(f *authzFixture, w who, t target) *http.Request { return f.request(w, "GET", path, nil, "") }}
	}
	author := func(path func(f *authzFixture) string, body func(f *authzFixture) any) spec {
		return spec{allow: policyAuthors, req: func(f *authzFixture, w who, t target) *http.Request {
			return f.jsonRequest(w, "POST", path(f), body(f))
		}}
	}
	fixed := func(p string) func(*authzFixture) string { return func(*authzFixture) string { return p } }
	// page is a page that does not exist (404) for those it is not for.
	page := func(sp spec, sees ...who) spec {
		sp.targets, sp.sees = []target{in}, map[target][]who{in: sees}
		return sp
	}
	return map[string]spec{
		"GET /api/v1/policies":           get("/api/v1/policies"),
		"GET /api/v1/policies/{id}":      get("/api/v1/policies/elderly_allowance"),
		"GET /api/v1/policies/{id}/diff": get("/api/v1/policies/elderly_allowance/diff?from=1&to=1"),
		"GET /api/v1/policy-fields":      get("/api/v1/policy-fields?target=organisation"),
		"POST /api/v1/policies":          author(fixed("/api/v1/policies"), func(f *authzFixture) any { return policyDraft(f) }),
		"POST /api/v1/policies/validate": author(fixed("/api/v1/policies/validate"), func(f *authzFixture) any { return policyDraft(f) }),
		"POST /api/v1/policies/test": author(fixed("/api/v1/policies/test"), func(f *authzFixture) any {
			return map[string]any{"draft": policyDraft(f), "samples": []any{map[string]any{"name": "a", "facts": map[string]any{"age": 85}}}}
		}),
		"POST /api/v1/policies/{id}/publish": author(func(f *authzFixture) string {
			d := policyDraft(f)
			if _, err := f.w.eligibility.Save(context.Background(), audit.System("authz test"), d); err != nil {
				f.t.Fatal(err)
			}
			return "/api/v1/policies/" + d.Key + "/publish"
		}, func(f *authzFixture) any { return map[string]any{"version": 1, "effective": "2026-01-01"} }),
		"GET /api/v1/people/{id}/eligibility": {targets: regTargets, sees: regSees(), req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/api/v1/people/"+strconv.FormatInt(f.reg.person[t], 10)+"/eligibility", nil, "")
		}},
		// Recording facts follows the registry's scope too
		// (TestRecordFactsAuthorizationEffect checks what is written).
		"POST /api/v1/people/{id}/facts": {targets: regTargets, sees: regSees(), req: func(f *authzFixture, w who, t target) *http.Request {
			return f.jsonRequest(w, "POST", "/api/v1/people/"+strconv.FormatInt(f.reg.person[t], 10)+"/facts", map[string]any{"facts": map[string]any{"living_alone": true}})
		}},
		"POST /people/{id}/facts": {targets: regTargets, sees: regSees(), req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "POST", "/people/"+strconv.FormatInt(f.reg.person[t], 10)+"/facts",
				strings.NewReader(url.Values{"facts.living_alone": {"true"}, "form": {"facts"}}.Encode()), "application/x-www-form-urlencoded")
		}},
		"GET /api/v1/organisations/{id}/eligibility": {targets: regTargets, sees: regSees(), req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/api/v1/organisations/"+strconv.FormatInt(f.reg.org[t], 10)+"/eligibility", nil, "")
		}},
		// Only the resident has a registry person (by their phone).
		"GET /api/v1/me/eligibility": {targets: []target{in}, sees: map[target][]who{in: {resident}}, req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/api/v1/me/eligibility", nil, "")
		}},
		"GET /api/v1/eligibility/unclaimed": {targets: regTargets, sees: regSees(), req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/api/v1/eligibility/unclaimed?region="+f.reg.grid[t], nil, "")
		}},
		// Queueing notices follows the list's scope
		// (TestNoticesAuthorizationEffect checks what is queued).
		"POST /api/v1/eligibility/notices": {targets: regTargets, sees: regSees(), req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "POST", "/api/v1/eligibility/notices?region="+f.reg.grid[t], nil, "")
		}},
		// The pages: everyone signed in has their own policies page (staff
		// without a registry person are told how to link one); the
		// applications page is for those who work them; an enterprise's
		// page follows the registry's scope; the policy list is for staff
		// and the authoring form for its authors.
		"GET /benefits":              page(get("/benefits"), resident, grid, community, street, dept, party, leader, admin),
		"GET /benefits/applications": page(get("/benefits/applications"), community, street, dept, admin),
		// The 应享未享 list of a region node follows the registry's
		// scope: a grid outside it is 404 (the API's rule).
		"GET /benefits/unclaimed": {targets: regTargets, sees: regSees(), req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/benefits/unclaimed?region="+f.reg.grid[t], nil, "")
		}},
		"GET /benefits/organisations/{id}": {targets: regTargets, sees: regSees(), req: func(f *authzFixture, w who, t target) *http.Request {
			return f.request(w, "GET", "/benefits/organisations/"+strconv.FormatInt(f.reg.org[t], 10), nil, "")
		}},
		"GET /policies":     page(get("/policies"), staffAll...),
		"GET /policies/new": page(get("/policies/new"), policyAuthors...),
	}
}

// TestPolicyAuthorizationEffect: a draft posted by every caller is saved
// exactly for the authors (its version exists afterwards) and for nobody
// else; the resident's eligibility answers the elderly allowance for
// their own person.
func TestPolicyAuthorizationEffect(t *testing.T) {
	f := newAuthzFixture(t)
	ctx := context.Background()
	client := &http.Client{Timeout: 30 * time.Second}
	for _, w := range callers {
		d := policyDraft(f)
		resp, err := client.Do(f.jsonRequest(w, "POST", "/api/v1/policies", d))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		_, err = f.w.eligibility.Policy(ctx, d.Key)
		saved := err == nil
		want := w == dept || w == admin
		if saved != want || (resp.StatusCode == http.StatusCreated) != want {
			t.Errorf("%s: got status %d and saved %v, want saved %v", w, resp.StatusCode, saved, want)
		}
	}
	// The program wires the benefits' indicators into the kernel's
	// registry, where they compute for a street.
	reg := f.w.stats.Indicators()
	names := []string{benefit.IndUnclaimed, benefit.IndUptake, benefit.IndDaysToPayout, benefit.IndPaid}
	for _, n := range names {
		if in, ok := reg.Get(n); !ok || in.Source != benefit.SourceName {
			t.Errorf("the wired registry lacks %s", n)
		}
	}
	now := time.Now()
	if _, err := reg.Batch(ctx, names, []indicator.Subject{{Kind: "region", Code: "330303001"}, {Kind: benefit.SubjectPolicy, Code: "elderly_allowance"}},
		indicator.Period{From: now.AddDate(0, -1, 0), To: now}); err != nil {
		t.Errorf("the benefits' indicators: %v", err)
	}
	resp, err := client.Do(f.request(resident, "GET", "/api/v1/me/eligibility?date=2026-11-23", nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct {
		Results []policy.Result `json:"results"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range got.Results {
		if r.Policy == "elderly_allowance" {
			found = true
			if r.Result != policy.Eligible || condResult(r, "age") != policy.Pass || condResult(r, "hukou") != policy.Pass {
				t.Errorf("resident's elderly allowance: got %s (age %s, hukou %s), want eligible", r.Result, condResult(r, "age"), condResult(r, "hukou"))
			}
		}
	}
	if !found {
		t.Errorf("the resident's answer has no elderly_allowance: %d results", len(got.Results))
	}
	// Masking: the income reaches the resident and staff who unmask it
	// (admins, community staff), never staff who do not ask or may not.
	income := strconv.FormatFloat(policyIncome, 'f', -1, 64)
	path := "/api/v1/people/" + strconv.FormatInt(f.policyPerson, 10) + "/eligibility?date=2026-11-23"
	for _, c := range []struct {
		w     who
		path  string
		clear bool
	}{
		{resident, "/api/v1/me/eligibility?date=2026-11-23", true},
		{community, path, false},
		{community, path + "&unmask=1", true},
		{grid, path + "&unmask=1", false},
		{leader, path + "&unmask=1", false},
		{admin, path, false},
		{admin, path + "&unmask=1", true},
	} {
		resp, err := client.Do(f.request(c.w, "GET", c.path, nil, ""))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s %s: got %d, want 200", c.w, c.path, resp.StatusCode)
			continue
		}
		if shown := strings.Contains(string(b), income); shown != c.clear {
			t.Errorf("%s %s: the income shown %v, want %v", c.w, c.path, shown, c.clear)
		}
		if !c.clear && !strings.Contains(string(b), `"income_per_head":"***"`) {
			t.Errorf("%s %s: want the income as ***", c.w, c.path)
		}
	}
	// The applications page lists what the caller's scope holds (the
	// benefit fixture's applications of a person of the community and of
	// another street): the community worker's has the first only, the
	// admin's both.
	apps := map[target]string{}
	for _, tg := range []target{in, out} {
		apps[tg] = `data-app="` + strconv.FormatInt(f.ben.app[tg], 10) + `"`
	}
	for _, c := range []struct {
		w       who
		in, out bool
	}{{community, true, false}, {admin, true, true}} {
		resp, err := client.Do(f.request(c.w, "GET", "/benefits/applications", nil, ""))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), apps[in]) != c.in || strings.Contains(string(b), apps[out]) != c.out {
			t.Errorf("%s's applications page: shows the community's %v, the other street's %v; want %v, %v", c.w,
				strings.Contains(string(b), apps[in]), strings.Contains(string(b), apps[out]), c.in, c.out)
		}
	}
}

func condResult(r policy.Result, id string) string {
	for _, c := range r.Conditions {
		if c.ID == id {
			return c.Result
		}
	}
	return ""
}

// TestRecordFactsAuthorizationEffect: every caller records a fact of its
// own (a medical expense only it writes) for the person of each target;
// afterwards each person's fact holds the value of a caller who sees
// them, never one of staff out of scope, a department handler or the
// resident. A field outside the catalogue is 422 with a message on it, in
// Chinese and in English.
func TestRecordFactsAuthorizationEffect(t *testing.T) {
	f := newAuthzFixture(t)
	ctx := context.Background()
	client := &http.Client{Timeout: 30 * time.Second}
	expense := func(w who) float64 { return 1000 + float64(slices.Index(callers, w)) }
	for _, tg := range regTargets {
		person := f.reg.person[tg]
		path := "/api/v1/people/" + strconv.FormatInt(person, 10) + "/facts"
		for _, w := range callers {
			before, err := f.w.registry.Facts(ctx, account.SystemScope(), registry.FactPerson, person, true)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(f.jsonRequest(w, "POST", path, map[string]any{"facts": map[string]any{"medical_expense": expense(w)}, "verified": true,
				"source": "入户核实"}))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			after, err := f.w.registry.Facts(ctx, account.SystemScope(), registry.FactPerson, person, true)
			if err != nil {
				t.Fatal(err)
			}
			got := factOf(after, "medical_expense")
			if slices.Contains(regSees()[tg], w) {
				if resp.StatusCode != http.StatusOK || got != expense(w) {
					t.Errorf("%s on %s: status %d, medical expense %v, want 200 and %v", w, tg, resp.StatusCode, got, expense(w))
				}
				continue
			}
			if was := factOf(before, "medical_expense"); got != was || resp.StatusCode == http.StatusOK {
				t.Errorf("%s on %s (out of scope): status %d, medical expense %v, want it unchanged (%v)", w, tg, resp.StatusCode, got, was)
			}
		}
	}
	path := "/api/v1/people/" + strconv.FormatInt(f.reg.person[in], 10) + "/facts"
	for lang, want := range map[string]string{"zh-CN": "没有名为 shoe_size 的资格字段", "en": "No eligibility field shoe_size"} {
		req := f.jsonRequest(community, "POST", path, map[string]any{"facts": map[string]any{"shoe_size": 42, "living_alone": true}})
		req.Header.Set("Accept-Language", lang)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(string(b), "facts.shoe_size") || !strings.Contains(string(b), want) {
			t.Errorf("an unknown field (%s): %d %s, want 422 with %q on facts.shoe_size", lang, resp.StatusCode, b, want)
		}
	}
	after, err := f.w.registry.Facts(ctx, account.SystemScope(), registry.FactPerson, f.reg.person[in], true)
	if err != nil {
		t.Fatal(err)
	}
	if factOf(after, "living_alone") != nil {
		t.Errorf("the refused recording wrote living_alone")
	}

	// The person page asks the missing facts and records them: a bad
	// answer re-renders the form with the message beside the field and
	// writes nothing; a good one redirects back to the facts.
	noRedirect := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page := "/people/" + strconv.FormatInt(f.reg.person[in], 10)
	resp, err := client.Do(f.request(community, "GET", page, nil, ""))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `id="facts-form"`) || !strings.Contains(string(b), `data-fact="`) {
		t.Errorf("the person page asks no facts: %d", resp.StatusCode)
	}
	post := func(vals url.Values) (int, string) {
		t.Helper()
		resp, err := noRedirect.Do(f.request(community, "POST", page+"/facts", strings.NewReader(vals.Encode()), "application/x-www-form-urlencoded"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	code, body := post(url.Values{"form": {"facts"}, "facts.living_alone": {"true"}, "facts.disability_grade": {"二级"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, "应为整数") || !strings.Contains(body, `id="fact-disability_grade-err"`) {
		t.Errorf("a grade in words: %d, want 422 with the message beside the field", code)
	}
	if fs, _ := f.w.registry.Facts(ctx, account.SystemScope(), registry.FactPerson, f.reg.person[in], true); factOf(fs, "living_alone") != nil {
		t.Errorf("the refused form wrote living_alone")
	}
	code, _ = post(url.Values{"form": {"facts"}, "facts.living_alone": {"true"}, "facts.disability_grade": {""}, "verified": {"1"}, "source": {"入户核实"}})
	if code != http.StatusSeeOther {
		t.Errorf("recording living alone: %d, want 303", code)
	}
	if fs, _ := f.w.registry.Facts(ctx, account.SystemScope(), registry.FactPerson, f.reg.person[in], true); factOf(fs, "living_alone") != true {
		t.Errorf("the form did not record living_alone: %+v", fs)
	}
}

func factOf(fs []registry.Fact, key string) any {
	for _, x := range fs {
		if x.Key == key {
			if n, ok := x.Value.(int64); ok {
				return float64(n)
			}
			return x.Value
		}
	}
	return nil
}

// TestNoticesAuthorizationEffect: queueing the proactive notices of a
// grid's 应享未享 list follows the registry's scope in what it writes, not
// only in its status: those who may not see the grid queue nothing (404),
// the first who may queues its resident's notice, and the next find it
// queued already.
func TestNoticesAuthorizationEffect(t *testing.T) {
	f := newAuthzFixture(t)
	ctx := context.Background()
	client := &http.Client{Timeout: 30 * time.Second}
	d := policyDraft(f)
	d.Version.Conditions = []policy.Condition{{ID: "age", Text: policy.Text{ZH: "有出生日期", EN: "has a birth date"}, Source: "矩阵", Expr: "age >= 0"}}
	d.Version.Rule = policy.Group{}
	d.Version.Amount = ""
	sys := audit.System("authz test")
	v, err := f.w.eligibility.Save(ctx, sys, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.w.eligibility.Publish(ctx, sys, d.Key, v.Version, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.w.eligibility.Run(ctx, nil); err != nil {
		t.Fatal(err)
	}
	queued := func(person int64) int {
		var n int
		if err := f.w.app.db.QueryRow(ctx, `SELECT COUNT(*) FROM elig_notices WHERE subject_kind = 'person' AND subject_id = $1 AND policy_key = $2`,
			person, d.Key).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for _, tg := range regTargets {
		sees := regSees()[tg]
		// Those who may not see the grid go first: nothing may be queued
		// before the first who may.
		order := slices.DeleteFunc(slices.Clone(callers), func(w who) bool { return slices.Contains(sees, w) })
		order = append(order, sees...)
		for i, w := range order {
			resp, err := client.Do(f.request(w, "POST", "/api/v1/eligibility/notices?region="+f.reg.grid[tg]+"&limit=1000", nil, ""))
			if err != nil {
				t.Fatal(err)
			}
			var rep policy.NoticeReport
			_ = json.NewDecoder(resp.Body).Decode(&rep)
			resp.Body.Close()
			got := queued(f.reg.person[tg])
			switch {
			case !slices.Contains(sees, w):
				if resp.StatusCode == http.StatusOK || got != 0 {
					t.Errorf("%s on %s: status %d, %d notices queued, want a refusal and none", w, tg, resp.StatusCode, got)
				}
			case i == len(order)-len(sees):
				if resp.StatusCode != http.StatusOK || got != 1 || rep.Queued < 1 {
					t.Errorf("%s on %s (the first who may): status %d, report %+v, %d queued, want 200 and the resident's notice", w, tg, resp.StatusCode, rep, got)
				}
			default:
				if resp.StatusCode != http.StatusOK || got != 1 || rep.Queued != 0 || rep.Already < 1 {
					t.Errorf("%s on %s (later): status %d, report %+v, %d queued, want 200, nothing new and the resident told before", w, tg, resp.StatusCode, rep, got)
				}
			}
		}
	}
}
