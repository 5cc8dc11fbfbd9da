package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"testing"

	"whistle/internal/account"
	"whistle/internal/assess"
	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/notify"
	"whistle/internal/worldtest"
)

// assessWorld is OneStreet with an assessor (admin), street staff and
// community staff of A, the assessment service over the real cases, an
// open period 2026-11, a frozen period 2026-10 and a manual item of each
// region type; served over HTTP.
type assessWorld struct {
	fw      *fuzzWorld
	d       *db.DB
	svc     *assess.Service
	wt      *worldtest.World
	street  int64 // the street's manual item
	caseID  int64 // a case of community A dispatched to CG
	pending int64 // an appeal of the street in 2026-10
}

func newAssessWorld(tb testing.TB) *assessWorld {
	tb.Helper()
	ctx := context.Background()
	watch := &panicWatch{}
	logger := slog.New(watch)
	d := dbtest.MustOpenDB(tb, db.SQLite, clock.Real{})
	users := []worldtest.User{{Name: "admin", Region: "330303", Role: account.Admin}, {Name: "leader", Region: "330303", Role: account.Leader},
		{Name: "street", Region: "330303001", Role: account.StreetStaff}, {Name: "staff", Region: "330303001001", Role: account.CommunityStaff},
		{Name: "cg-handler", Region: "330303", Role: account.DepartmentHandler, Department: "CG"}}
	wt := worldtest.New(tb, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Departments: worldtest.Departments("CG"), Users: users, Logger: logger})
	svc := assess.NewService(assess.Deps{DB: d, Regions: wt.Regions, Accounts: wt.Accounts, Cases: assess.CaseworkCases{Cases: wt.Cases, Accounts: wt.Accounts}})
	a := &assessWorld{d: d, svc: svc, wt: wt}
	adm := wt.Users["admin"]
	for code, days := range map[string][2]string{"2026-11": {"2026-11-01", "2026-11-30"}, "2026-10": {"2026-10-01", "2026-10-31"}} {
		if _, err := svc.CreatePeriod(ctx, adm, assess.NewPeriod{Code: code, Name: code, StartsOn: days[0], EndsOn: days[1]}); err != nil {
			tb.Fatal(err)
		}
	}
	for _, typ := range []string{assess.Street, assess.Community} {
		it, err := svc.AddItem(ctx, adm, assess.NewItem{UnitType: typ, Code: "m-" + typ, Name: "手工项", Kind: assess.KindManual, Points: 10})
		if err != nil {
			tb.Fatal(err)
		}
		if typ == assess.Street {
			a.street = it.ID
		}
	}
	lat, lng := 27.005, 120.005
	c, _, err := wt.Cases.Submit(ctx, casework.Caller{System: true}, casework.SubmitInput{Category: "ZL0601", Description: "楼道堆物", Lat: &lat, Lng: &lng,
		Address: "测试路 1 号", Visibility: "public"})
	if err != nil {
		tb.Fatal(err)
	}
	for _, step := range []struct {
		a  casework.Action
		in casework.Input
	}{{casework.ActAccept, casework.Input{}}, {casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}}}} {
		if _, err := wt.Cases.Act(ctx, casework.Caller{User: adm}, c.ID, step.a, step.in); err != nil {
			tb.Fatal(err)
		}
	}
	a.caseID = c.ID
	if _, err := svc.Freeze(ctx, adm, "2026-10"); err != nil {
		tb.Fatal(err)
	}
	ap, err := svc.FileAppeal(ctx, wt.Users["street"], assess.NewAppeal{Period: "2026-10", Unit: "330303001", ItemID: a.street, Reason: "漏计", Evidence: "台账"})
	if err != nil {
		tb.Fatal(err)
	}
	a.pending = ap.ID
	_, ts := serve(tb, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: wt.Accounts, Regions: wt.Regions,
		Cases: wt.Cases, Categories: wt.Categories, Assess: svc, Logger: logger})
	a.fw = &fuzzWorld{ts: ts, watch: watch, tokens: map[string]string{}, csrf: map[string]string{}}
	for _, u := range users {
		tok, _, sess, err := wt.Accounts.Login(ctx, u.Name, worldtest.Password, account.WebSession, account.Client{IP: "127.0.0.1"})
		if err != nil {
			tb.Fatal(err)
		}
		a.fw.tokens[u.Name], a.fw.csrf[u.Name] = tok, sess.CSRF
	}
	return a
}

func (a *assessWorld) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := a.d.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// fuzzAssessCreate posts arbitrary JSON to a creating route as user:
// the answer is 201 or a translated 4xx (apiAnswer), a refusal wrote no
// row of table and a 201 wrote exactly one.
func fuzzAssessCreate(f *testing.F, path, user, table string, seeds []string, check func(t *testing.T, a *assessWorld, raw []byte)) {
	for _, s := range append(seeds, `{}`, `null`, `[`, `{"x":1}`, `"s"`, `{"period":7}`) {
		f.Add([]byte(s), false)
	}
	a := newAssessWorld(f)
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		before := a.count(t, `SELECT COUNT(*) FROM `+table)
		code, raw := a.fw.do(t, "POST", path, user, "application/json", body, lang(en)...)
		created := apiAnswer(t, path, code, raw, http.StatusCreated)
		after := a.count(t, `SELECT COUNT(*) FROM `+table)
		switch {
		case created && after != before+1:
			t.Fatalf("201 but %s went %d -> %d", table, before, after)
		case !created && after != before:
			t.Fatalf("refused (%d) but %s went %d -> %d", code, table, before, after)
		}
		if created && check != nil {
			check(t, a, raw)
		}
	})
}

// FuzzAssessPeriodJSON: a created period is open, with a valid code and
// its end not before its start.
func FuzzAssessPeriodJSON(f *testing.F) {
	fuzzAssessCreate(f, "/api/v1/assessment/periods", "admin", "assess_periods", []string{
		`{"code":"2026-Q4","name":"四季度","starts_on":"2026-10-01","ends_on":"2026-12-31"}`, `{"code":"2026-13","name":"x","starts_on":"2026-10-01","ends_on":"2026-12-31"}`,
		`{"code":"2027","name":"x","starts_on":"2027-12-31","ends_on":"2027-01-01"}`}, func(t *testing.T, a *assessWorld, raw []byte) {
		var p assess.Period
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		if p.Status != assess.PeriodOpen || p.EndsOn < p.StartsOn || p.Name == "" {
			t.Fatalf("created period %+v", p)
		}
	})
}

// FuzzAssessItemJSON: a created item has positive points and a known kind
// and rule.
func FuzzAssessItemJSON(f *testing.F) {
	fuzzAssessCreate(f, "/api/v1/assessment/items", "admin", "assess_items", []string{
		`{"unit_type":"street","code":"sat","name":"满意率","kind":"indicator","indicator":"assess.satisfaction","target":90,"points":10}`,
		`{"unit_type":"department","code":"m","name":"x","kind":"manual","points":-1}`, `{"unit_type":"x","code":"","kind":"indicator","points":1e309}`},
		func(t *testing.T, a *assessWorld, raw []byte) {
			var it assess.Item
			if err := json.Unmarshal(raw, &it); err != nil {
				t.Fatal(err)
			}
			if it.Points <= 0 || it.Target < 0 || (it.Kind == assess.KindManual) != (it.Rule == assess.RuleManual) {
				t.Fatalf("created item %+v", it)
			}
		})
}

// FuzzAssessAppealJSON: the street's staff appeal (for the street or a
// community under it); a filed appeal is pending, on an item of its
// unit's type, with a reason and evidence.
func FuzzAssessAppealJSON(f *testing.F) {
	fuzzAssessCreate(f, "/api/v1/assessment/appeals", "street", "assess_appeals", []string{
		`{"period":"2026-10","unit":"330303001","item_id":1,"reason":"漏计","evidence":"签到表"}`, `{"period":"2026-11","unit":"330303001","item_id":1,"reason":"r","evidence":"e"}`,
		`{"period":"2026-10","unit":"330303001002","item_id":2,"reason":"r","evidence":"e"}`, `{"period":"2026-10","unit":"330303001","item_id":2,"reason":" ","evidence":""}`},
		func(t *testing.T, a *assessWorld, raw []byte) {
			var ap assess.Appeal
			if err := json.Unmarshal(raw, &ap); err != nil {
				t.Fatal(err)
			}
			if ap.Status != assess.AppealPending || ap.Reason == "" || ap.Evidence == "" || ap.Period != "2026-10" {
				t.Fatalf("filed appeal %+v", ap)
			}
			if n := a.count(t, `SELECT COUNT(*) FROM assess_items i JOIN assess_appeals a ON a.item_id = i.id AND a.unit_type = i.unit_type WHERE a.id = $1`, ap.ID); n != 1 {
				t.Fatalf("appeal %+v on an item of another unit type", ap)
			}
		})
}

// FuzzAssessRatingJSON: the street rates CG on its case; a stored rating
// has 1–5 stars.
func FuzzAssessRatingJSON(f *testing.F) {
	fuzzAssessCreate(f, "/api/v1/assessment/ratings", "street", "assess_ratings", []string{
		`{"period":"2026-11","case_id":1,"direction":"street_to_department","score":4}`, `{"period":"2026-11","case_id":1,"direction":"department_to_street","score":4}`,
		`{"period":"2026-10","case_id":1,"direction":"street_to_department","score":0}`}, func(t *testing.T, a *assessWorld, raw []byte) {
		var r assess.Rating
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatal(err)
		}
		if r.Score < 1 || r.Score > 5 || r.Direction != assess.StreetRatesDept {
			t.Fatalf("stored rating %+v", r)
		}
		// Let the next input rate again.
		if err := a.d.InTx(context.Background(), func(tx *db.Tx) error {
			_, err := tx.Exec(context.Background(), `DELETE FROM assess_ratings`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzAssessMarkJSON: a mark names a case and has a reason; it starts
// unconfirmed.
func FuzzAssessMarkJSON(f *testing.F) {
	fuzzAssessCreate(f, "/api/v1/assessment/unreasonable", "admin", "assess_unreasonable", []string{
		`{"case_id":1,"reason":"超出政策范围"}`, `{"case_id":-1,"reason":"x"}`, `{"case_id":1,"reason":""}`}, func(t *testing.T, a *assessWorld, raw []byte) {
		var m assess.Mark
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		if m.Reason == "" || m.Confirmed() {
			t.Fatalf("mark %+v", m)
		}
		if err := a.d.InTx(context.Background(), func(tx *db.Tx) error {
			_, err := tx.Exec(context.Background(), `DELETE FROM assess_unreasonable`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzPracticeJSON: a note has a title and a body, and lists without
// blanks.
func FuzzPracticeJSON(f *testing.F) {
	fuzzAssessCreate(f, "/api/v1/practices", "staff", "assess_practices", []string{
		`{"title":"楼道堆物清理","body":"每周巡查","unit":"330303001001","indicators":["assess.rating"],"tags":["环境"]}`,
		`{"title":"x","body":"y","unit":"330303001002"}`, `{"title":"x","body":"y","unit":"330303001001","tags":["a,b",""],"indicators":["%"]}`},
		func(t *testing.T, a *assessWorld, raw []byte) {
			var p assess.Practice
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatal(err)
			}
			if p.Title == "" || p.Body == "" || p.Unit != "330303001001" {
				t.Fatalf("note %+v", p)
			}
			for _, l := range [][]string{p.Tags, p.Indicators, p.Attachments} {
				for _, v := range l {
					if v == "" {
						t.Fatalf("note %+v has a blank entry", p)
					}
				}
			}
		})
}

// FuzzAssessManualScoreJSON: an accepted manual score lies within the
// item's points and is what the card then shows; a refused one changed
// nothing.
func FuzzAssessManualScoreJSON(f *testing.F) {
	for _, s := range []string{`{"period":"2026-11","unit":"330303001","item_id":1,"score":7,"evidence":"台账"}`, `{"period":"2026-11","unit":"330303001","item_id":1,"score":11,"evidence":"x"}`,
		`{"period":"2026-10","unit":"330303001","item_id":1,"score":5,"evidence":"x"}`, `{"period":"2026-11","unit":"330303001","item_id":2,"score":5,"evidence":"x"}`, `{}`, `[`} {
		f.Add([]byte(s), false)
	}
	a := newAssessWorld(f)
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		sum := func() string {
			var s *float64
			if err := a.d.QueryRow(context.Background(), `SELECT SUM(score) FROM assess_scores`).Scan(&s); err != nil {
				t.Fatal(err)
			}
			if s == nil {
				return "none"
			}
			return fmt.Sprint(*s)
		}
		before := sum()
		code, raw := a.fw.do(t, "POST", "/api/v1/assessment/scores", "admin", "application/json", body, lang(en)...)
		if !apiAnswer(t, "manual score", code, raw, http.StatusOK) {
			if after := sum(); after != before {
				t.Fatalf("refused (%d) but the scores went %s -> %s", code, before, after)
			}
			return
		}
		var c assess.Card
		if err := json.Unmarshal(raw, &c); err != nil {
			t.Fatal(err)
		}
		if c.Period.Status != assess.PeriodOpen || c.Total < 0 || c.Total > c.Max {
			t.Fatalf("card after a manual score: %+v", c)
		}
	})
}

// FuzzAssessDecisionJSON: a decision on a pending appeal; upheld, the
// score becomes the decision's (within the points) and the history has
// the change; rejected or refused, the score is unchanged.
func FuzzAssessDecisionJSON(f *testing.F) {
	for _, s := range []string{`{"upheld":true,"score":8,"note":"属实"}`, `{"upheld":false,"note":"不属实"}`, `{"upheld":true,"note":"x"}`,
		`{"upheld":true,"score":-1,"note":"x"}`, `{"upheld":true,"score":8}`, `{}`, `[`} {
		f.Add([]byte(s), false)
	}
	a := newAssessWorld(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, body []byte, en bool) {
		if err := a.d.InTx(ctx, func(tx *db.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE assess_appeals SET status = 'pending', decided_by = NULL, decided_at = NULL WHERE id = $1`, a.pending); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `DELETE FROM assess_scores`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		code, raw := a.fw.do(t, "POST", fmt.Sprintf("/api/v1/assessment/appeals/%d/decision", a.pending), "admin", "application/json", body, lang(en)...)
		ok := apiAnswer(t, "decision", code, raw, http.StatusOK)
		scores := a.count(t, `SELECT COUNT(*) FROM assess_scores`)
		if !ok {
			if n := a.count(t, `SELECT COUNT(*) FROM assess_appeals WHERE id = $1 AND status = 'pending'`, a.pending); n != 1 || scores != 0 {
				t.Fatalf("refused (%d) but the appeal moved or a score was written", code)
			}
			return
		}
		var ap assess.Appeal
		if err := json.Unmarshal(raw, &ap); err != nil {
			t.Fatal(err)
		}
		switch ap.Status {
		case assess.AppealUpheld:
			var got float64
			if err := a.d.QueryRow(ctx, `SELECT score FROM assess_scores WHERE item_id = $1`, a.street).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if ap.NewScore == nil || *ap.NewScore != got || got < 0 || got > 10 {
				t.Fatalf("upheld %+v but the score is %v", ap, got)
			}
		case assess.AppealRejected:
			if scores != 0 {
				t.Fatalf("rejected but a score was written")
			}
		default:
			t.Fatalf("decided appeal %+v", ap)
		}
	})
}
