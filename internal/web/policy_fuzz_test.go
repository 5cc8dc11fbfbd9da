package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/idcode"
	"whistle/internal/notify"
	"whistle/internal/policy"
	"whistle/internal/registry"
	"whistle/internal/worldtest"
)

// newPolicyFuzz serves eligibility on SQLite with an admin author, one
// saved draft (elderly_allowance, version 1) and a person of grid A1
// (w.person).
func newPolicyFuzz(tb testing.TB) *fuzzWorld {
	tb.Helper()
	ctx := context.Background()
	users := []worldtest.User{{Name: "admin", Region: "330303", Role: account.Admin}}
	watch := &panicWatch{}
	logger := slog.New(watch)
	d := dbtest.MustOpenDB(tb, db.SQLite, clock.Real{})
	wt := worldtest.New(tb, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Users: users, Logger: logger})
	reg := registry.NewStore(registry.Deps{DB: d, Regions: wt.Regions})
	eng, err := policy.New(policy.Deps{DB: d, Registry: reg, Accounts: wt.Accounts})
	if err != nil {
		tb.Fatal(err)
	}
	demo, err := policy.DemoPolicies()
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := eng.Save(ctx, audit.System("fuzz"), demo[0].Draft); err != nil {
		tb.Fatal(err)
	}
	_, ts := serve(tb, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: wt.Accounts, Regions: wt.Regions,
		Cases: wt.Cases, Categories: wt.Categories, BaseData: reg, Eligibility: eng, Logger: logger})
	w := &fuzzWorld{ts: ts, watch: watch, tokens: map[string]string{}, csrf: map[string]string{}}
	first := "33030319400101123"
	p, err := reg.AddPerson(ctx, account.SystemScope(), audit.System("fuzz"), registry.PersonInput{IDNumber: first + string(idcode.ResidentCheck(first)),
		Name: "模糊老人", Status: registry.StatusResident, GridCode: "330303001001001"})
	if err != nil {
		tb.Fatal(err)
	}
	w.person = p.ID
	tok, _, _, err := wt.Accounts.Login(ctx, "admin", worldtest.Password, account.WebSession, account.Client{IP: "127.0.0.1"})
	if err != nil {
		tb.Fatal(err)
	}
	w.tokens["admin"] = tok
	return w
}

func draftSeed(f *testing.F) string {
	demo, err := policy.DemoPolicies()
	if err != nil {
		f.Fatal(err)
	}
	b, _ := json.Marshal(demo[1].Draft)
	return string(b)
}

// FuzzPolicyDraftJSON posts arbitrary drafts to validate and to save:
// the two agree (a draft validate finds no problem in is saved, one with
// problems is refused 422), and nothing answers 5xx.
func FuzzPolicyDraftJSON(f *testing.F) {
	good := draftSeed(f)
	for _, s := range []string{good, `{"key":"x","kind":"resident","version":{"title":{"zh":"a","en":"a"},"target":"person","period":"once","department":"MZ",` +
		`"conditions":[{"id":"c","text":{"zh":"a","en":"a"},"source":"文件 第一条","expr":"salary > 1"}]}}`,
		`{"key":"x","kind":"resident","version":{"target":"person","conditions":[{"id":"c","expr":"age > 'a'"}]}}`, `{}`, `null`, `[`, `{"key":1}`} {
		f.Add([]byte(s), false)
	}
	w := newPolicyFuzz(f)
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		code, raw := w.do(t, "POST", "/api/v1/policies/validate", "admin", "application/json", body, lang(en)...)
		if !apiAnswer(t, "validate", code, raw, http.StatusOK) {
			return
		}
		var v struct {
			Valid    bool             `json:"valid"`
			Problems []policy.Problem `json:"problems"`
		}
		if err := json.Unmarshal(raw, &v); err != nil || v.Valid != (len(v.Problems) == 0) {
			t.Fatalf("validate answered %s", raw)
		}
		for _, p := range v.Problems {
			if p.Reason.ZH == "" || p.Reason.EN == "" {
				t.Fatalf("a problem without its reason in zh and en: %+v", p)
			}
		}
		code, raw = w.do(t, "POST", "/api/v1/policies", "admin", "application/json", body, lang(en)...)
		switch {
		case v.Valid && code != http.StatusCreated && code != http.StatusConflict:
			t.Fatalf("a valid draft was not saved: %d %s", code, raw)
		case !v.Valid && code != http.StatusUnprocessableEntity && code != http.StatusBadRequest:
			t.Fatalf("a draft with problems %+v answered %d %s", v.Problems, code, raw)
		}
		apiAnswer(t, "save", code, raw, http.StatusCreated)
	})
}

// FuzzPolicyTestJSON posts arbitrary test runs: every answer is three
// valued, one result per sample, one condition result per condition.
func FuzzPolicyTestJSON(f *testing.F) {
	good := draftSeed(f)
	for _, s := range []string{`{"draft":` + good + `,"samples":[{"name":"a","facts":{"age":85,"hukou_local":true}},{"name":"b"}]}`,
		`{"draft":` + good + `,"samples":[{"name":"a","facts":{"age":"x"}}],"date":"2026-13-01"}`, `{"draft":{},"samples":[]}`, `{}`, `[`} {
		f.Add([]byte(s), false)
	}
	w := newPolicyFuzz(f)
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		code, raw := w.do(t, "POST", "/api/v1/policies/test", "admin", "application/json", body, lang(en)...)
		if !apiAnswer(t, "test", code, raw, http.StatusOK) {
			return
		}
		var in policyTest
		_ = json.Unmarshal(body, &in)
		var out struct {
			Results []policy.SampleResult `json:"results"`
		}
		if err := json.Unmarshal(raw, &out); err != nil || len(out.Results) != len(in.Samples) {
			t.Fatalf("got %s for %d samples", raw, len(in.Samples))
		}
		for _, r := range out.Results {
			if r.Result.Result != policy.Eligible && r.Result.Result != policy.NotEligible && r.Result.Result != policy.MayBeEligible {
				t.Fatalf("result %q is not one of the three", r.Result.Result)
			}
			if len(r.Result.Conditions) != len(in.Draft.Version.Conditions) {
				t.Fatalf("got %d condition results, want %d", len(r.Result.Conditions), len(in.Draft.Version.Conditions))
			}
			for _, c := range r.Result.Conditions {
				if c.Result != policy.Pass && c.Result != policy.Fail && c.Result != policy.Unknown {
					t.Fatalf("condition result %q is not one of the three", c.Result)
				}
			}
		}
	})
}

// FuzzPolicyPublishJSON posts arbitrary publications of the saved draft:
// a 200 leaves version 1 published from the date given; anything else
// leaves it a draft.
func FuzzPolicyPublishJSON(f *testing.F) {
	for _, s := range []string{`{"version":1,"effective":"2026-01-01"}`, `{"version":2,"effective":"2026-01-01"}`, `{"version":1,"effective":"2026-02-30"}`,
		`{"version":0}`, `{}`, `null`, `[`} {
		f.Add([]byte(s), false)
	}
	w := newPolicyFuzz(f)
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		_, before := w.do(t, "GET", "/api/v1/policies/elderly_allowance", "admin", "", nil)
		var p0 policy.Policy
		if err := json.Unmarshal(before, &p0); err != nil {
			t.Fatal(err)
		}
		code, raw := w.do(t, "POST", "/api/v1/policies/elderly_allowance/publish", "admin", "application/json", body, lang(en)...)
		ok := apiAnswer(t, "publish", code, raw, http.StatusOK)
		_, after := w.do(t, "GET", "/api/v1/policies/elderly_allowance", "admin", "", nil)
		var p1 policy.Policy
		if err := json.Unmarshal(after, &p1); err != nil {
			t.Fatal(err)
		}
		if !ok && p1.Versions[0].Status != p0.Versions[0].Status {
			t.Fatalf("a refused publication changed the version: %s → %s", p0.Versions[0].Status, p1.Versions[0].Status)
		}
		if ok {
			var in policyPublish
			_ = json.Unmarshal(body, &in)
			if p1.Versions[0].Status != policy.StatusPublished || p1.Versions[0].Effective == nil || p1.Versions[0].Effective.Format("2006-01-02") != in.Effective {
				t.Fatalf("published %+v for %s", p1.Versions[0], body)
			}
		}
	})
}

// FuzzRecordFactsJSON posts arbitrary bodies to record a person's facts:
// the answer is the person's eligibility (200) or an error with a
// translated message, per field for 422; never a 5xx. A body the
// catalogue accepts leaves its facts readable with their types.
func FuzzRecordFactsJSON(f *testing.F) {
	for _, s := range []string{`{"facts":{"income_per_head":1200,"living_alone":true},"verified":true,"source":"入户核实"}`,
		`{"facts":{"disability_grade":2,"hukou_local":null}}`, `{"facts":{"age":80}}`, `{"facts":{"shoe_size":42}}`, `{"facts":{"income_per_head":"1200"}}`,
		`{"facts":{"disability_grade":1.5}}`, `{"facts":{}}`, `{"facts":[1]}`, `{}`, `null`, `[`, `{"facts":{"living_alone":true},"extra":1}`,
		`{"facts":{"income_per_head":1e999}}`, `{"facts":{"living_alone":true},"source":"` + strings.Repeat("长", 300) + `"}`} {
		f.Add([]byte(s), false)
	}
	w := newPolicyFuzz(f)
	path := "/api/v1/people/" + strconv.FormatInt(w.person, 10) + "/facts"
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		code, raw := w.do(t, "POST", path, "admin", "application/json", body, lang(en)...)
		if !apiAnswer(t, "record facts", code, raw, http.StatusOK) {
			return
		}
		var v struct {
			Results []policy.Result `json:"results"`
		}
		if err := json.Unmarshal(raw, &v); err != nil || v.Results == nil {
			t.Fatalf("200 without the eligibility: %s", raw)
		}
	})
}
