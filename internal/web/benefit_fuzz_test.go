package web

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/benefit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/idcode"
	"whistle/internal/notify"
	"whistle/internal/registry"
	"whistle/internal/worldtest"
)

// The benefit applications' decoders: a new application, an action's
// input and a budget, posted as community staff of community A (whose
// grid A1 holds the person applied for). Besides apiAnswer's invariants,
// an application created reads back with the policy and period sent, an
// action answered 200 moved its version on by one, and a budget answered
// 200 holds the ceiling sent.

// anyEligible answers every subject eligible for the policy "p", 50 yuan.
type anyEligible struct{}

func (anyEligible) Evaluate(context.Context, account.Scope, benefit.Subject, time.Time) ([]benefit.Match, error) {
	x := 50.0
	return []benefit.Match{{Policy: "p", Version: 1, Title: benefit.Text{ZH: "补贴", EN: "Allowance"}, Result: benefit.Eligible, Amount: &x}}, nil
}

// benefitWorld is a district with one registry person in grid A1 and the
// benefit service behind a real Server.
type benefitWorld struct {
	*fuzzWorld
	svc    *benefit.Service
	person int64
}

func newBenefitWorld(tb testing.TB) *benefitWorld {
	tb.Helper()
	ctx := context.Background()
	users := []worldtest.User{{Name: "staff", Region: "330303001001", Role: account.CommunityStaff}, {Name: "admin", Region: "330303", Role: account.Admin}}
	watch := &panicWatch{}
	logger := slog.New(watch)
	d := dbtest.MustOpenDB(tb, db.SQLite, clock.Real{})
	wt := worldtest.New(tb, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Departments: worldtest.Departments("CG"), Users: users, Logger: logger})
	reg := registry.NewStore(registry.Deps{DB: d, Regions: wt.Regions})
	svc, err := benefit.NewService(ctx, benefit.Deps{DB: d, Regions: wt.Regions, Accounts: wt.Accounts, Workflows: wt.Cases.WorkflowStore(), Registry: reg,
		Policies: anyEligible{}, Logger: logger})
	if err != nil {
		tb.Fatal(err)
	}
	p, err := reg.AddPerson(ctx, account.SystemScope(), worldtest.Actor(), registry.PersonInput{IDNumber: idcodeFor("19500101123"), Name: "王五", Status: registry.StatusResident, GridCode: fuzzGrid})
	if err != nil {
		tb.Fatal(err)
	}
	_, ts := serve(tb, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: wt.Accounts, Regions: wt.Regions, Cases: wt.Cases,
		Categories: wt.Categories, Benefits: svc, Logger: logger})
	fw := &fuzzWorld{ts: ts, watch: watch, tokens: map[string]string{}, csrf: map[string]string{}}
	for _, u := range users {
		tok, _, sess, err := wt.Accounts.Login(ctx, u.Name, worldtest.Password, account.WebSession, account.Client{IP: "127.0.0.1"})
		if err != nil {
			tb.Fatal(err)
		}
		fw.tokens[u.Name], fw.csrf[u.Name] = tok, sess.CSRF
	}
	return &benefitWorld{fuzzWorld: fw, svc: svc, person: p.ID}
}

// idcodeFor is the valid identity number of district 330303 whose next
// eleven characters are rest.
func idcodeFor(rest string) string {
	first := "330303" + rest
	return first + string(idcode.ResidentCheck(first))
}

// FuzzApplicationJSON posts arbitrary JSON to POST /api/v1/applications.
func FuzzApplicationJSON(f *testing.F) {
	for i, s := range []string{
		`{"policy":"p","subject":{"kind":"person","id":1}}`, `{"policy":"p","period":"2026-Q4","subject":{"kind":"person","id":1},"uploads":["a.jpg"],"note":"n"}`,
		`{"policy":"p","period":"2026-13","subject":{"kind":"person","id":1}}`, `{"policy":"q","subject":{"kind":"person","id":1}}`,
		`{"policy":"p","subject":{"kind":"alien","id":1}}`, `{"policy":"p","subject":{"kind":"person","id":99}}`, `{"policy":"p","subject":{"kind":"organisation","id":1}}`,
		`{"policy":"","uploads":[""]}`, `{"policy":"p","uploads":"x"}`, `{}`, `null`, `[]`, `{`, ``, `{"policy":"p","x":1}`,
	} {
		f.Add([]byte(s), i%2 == 0)
	}
	w := newBenefitWorld(f)
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		code, raw := w.do(t, "POST", "/api/v1/applications", "staff", "application/json", body, lang(en)...)
		if !apiAnswer(t, "new application", code, raw, http.StatusCreated) {
			return
		}
		var in benefit.NewApplication
		_ = json.Unmarshal(body, &in)
		var out benefit.Application
		if err := json.Unmarshal(raw, &out); err != nil || out.ID == 0 {
			t.Fatalf("201 without an application: %s", raw)
		}
		if out.Policy != "p" || strings.TrimSpace(in.Policy) != "p" || out.Subject.ID != w.person || !benefit.ValidPeriod(out.Period) ||
			(in.Period != "" && out.Period != in.Period) || out.Amount != 50 || out.SubjectName != "王*" {
			t.Fatalf("created from %s: %s", body, raw)
		}
		code, back := w.do(t, "GET", "/api/v1/applications/"+strconv.FormatInt(out.ID, 10), "staff", "", nil)
		var got benefit.Application
		if code != http.StatusOK || json.Unmarshal(back, &got) != nil || got.Period != out.Period || got.Policy != "p" {
			t.Fatalf("application %d reads back as %d %s", out.ID, code, back)
		}
	})
}

// FuzzApplicationActionJSON posts arbitrary JSON to a fresh application's
// action: a 200 moved its version on by exactly one step.
func FuzzApplicationActionJSON(f *testing.F) {
	for i, s := range []struct{ action, body string }{
		{"accept", `{}`}, {"accept", `{"version":1}`}, {"accept", `{"version":7}`}, {"refuse", `{"reason":"不符合"}`}, {"refuse", `{}`},
		{"request_supplement", `{"note":"补充户口簿"}`}, {"withdraw", `{}`}, {"pay", `{}`}, {"dance", `{}`}, {"accept", `{"uploads":["a",""]}`},
		{"accept", `{"version":-1}`}, {"accept", `[]`}, {"accept", `{`}, {"refuse", `{"reason":"` + strings.Repeat("长", 1001) + `"}`},
	} {
		f.Add(s.action, []byte(s.body), i%2 == 0)
	}
	w := newBenefitWorld(f)
	seq := 0
	f.Fuzz(func(t *testing.T, action string, body []byte, en bool) {
		if strings.ContainsFunc(action, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune("/?#%\\", r) }) || action == "" ||
			action == "." || action == ".." {
			t.Skip()
		}
		seq++
		a, err := w.svc.Apply(context.Background(), benefit.System(), benefit.NewApplication{Policy: "p", Period: strconv.Itoa(1000 + seq%9000),
			Subject: benefit.Subject{Kind: benefit.Person, ID: w.person}})
		if err != nil {
			t.Fatal(err)
		}
		if a.Version != 1 {
			t.Skip() // a period used before: not a fresh application
		}
		path := "/api/v1/applications/" + strconv.FormatInt(a.ID, 10)
		code, raw := w.do(t, "POST", path+"/actions/"+action, "staff", "application/json", body, lang(en)...)
		ok := apiAnswer(t, action, code, raw, http.StatusOK)
		code, back := w.do(t, "GET", path, "staff", "", nil)
		var got benefit.Application
		if code != http.StatusOK || json.Unmarshal(back, &got) != nil {
			t.Fatalf("read back: %d %s", code, back)
		}
		if want := map[bool]int{true: 2, false: 1}[ok]; got.Version != want || (ok && got.Timeline[len(got.Timeline)-1].Action != action) {
			t.Fatalf("%s answered %d but the application reads version %d: %s", action, code, got.Version, back)
		}
	})
}

// FuzzBudgetJSON puts arbitrary JSON to PUT /api/v1/benefit-budgets/p.
func FuzzBudgetJSON(f *testing.F) {
	for i, s := range []string{`{"ceiling":1000}`, `{"ceiling":0.01}`, `{"ceiling":-5}`, `{"ceiling":1e300}`, `{"ceiling":"x"}`, `{}`, `null`, `{`, ``} {
		f.Add([]byte(s), i%2 == 0)
	}
	w := newBenefitWorld(f)
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		code, raw := w.do(t, "PUT", "/api/v1/benefit-budgets/p", "admin", "application/json", body, lang(en)...)
		if !apiAnswer(t, "budget", code, raw, http.StatusOK) {
			return
		}
		var in struct{ Ceiling float64 }
		_ = json.Unmarshal(body, &in)
		var out benefit.Budget
		if err := json.Unmarshal(raw, &out); err != nil || out.Policy != "p" || out.Ceiling <= 0 || out.Ceiling-in.Ceiling > 0.005 || in.Ceiling-out.Ceiling > 0.005 {
			t.Fatalf("budget from %s: %s", body, raw)
		}
	})
}
