package policy_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
	"whistle/internal/idcode"
	"whistle/internal/policy"
	"whistle/internal/registry"
	"whistle/internal/worldtest"
)

var t0 = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)

const gridA = "330303001001001"

var actor = worldtest.Actor()

type world struct {
	*worldtest.World
	reg *registry.Store
	eng *policy.Engine
}

func newWorld(t testing.TB, d *db.DB) *world {
	t.Helper()
	wt := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Departments: worldtest.CatalogueDepartments(),
		Users: worldtest.OneStreetUsers()})
	reg := registry.NewStore(registry.Deps{DB: d, Regions: wt.Regions})
	eng, err := policy.New(policy.Deps{DB: d, Registry: reg, Accounts: wt.Accounts})
	if err != nil {
		t.Fatal(err)
	}
	return &world{World: wt, reg: reg, eng: eng}
}

func idn(first17 string) string { return first17 + string(idcode.ResidentCheck(first17)) }

// addPerson adds a resident of grid A born on birth (YYYYMMDD).
func (w *world) addPerson(t *testing.T, birth string, n int) int64 {
	t.Helper()
	p, err := w.reg.AddPerson(context.Background(), account.SystemScope(), actor, registry.PersonInput{
		IDNumber: idn(fmt.Sprintf("330303%s%03d", birth, n)), Name: "张三", Status: registry.StatusResident, GridCode: gridA})
	if err != nil {
		t.Fatalf("add person: %v", err)
	}
	return p.ID
}

func (w *world) fact(t *testing.T, id int64, key string, v any, verified bool) {
	t.Helper()
	if err := w.reg.SetFact(context.Background(), account.SystemScope(), actor, registry.FactPerson, id,
		registry.FactInput{Key: key, Value: v, Verified: verified, Source: "民政部门核对"}); err != nil {
		t.Fatalf("set fact %s: %v", key, err)
	}
}

func day(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }

// elderly is 高龄津贴: 80 or older with a local hukou, 100 yuan a month
// (150 from 90).
func elderly(ageFrom int64) policy.Draft {
	return policy.Draft{Key: "elderly_allowance", Kind: policy.Resident, Version: policy.Version{
		Title: policy.Text{ZH: "高龄津贴", EN: "Old-age allowance"}, Target: policy.KindPerson, Period: "month", Department: "MZ",
		Conditions: []policy.Condition{
			{ID: "age", Text: policy.Text{ZH: fmt.Sprintf("年满%d周岁", ageFrom), EN: fmt.Sprintf("aged %d or more", ageFrom)}, Source: "浙民福〔2019〕1号 第二条", Expr: fmt.Sprintf("age >= %d", ageFrom)},
			{ID: "hukou", Text: policy.Text{ZH: "具有本区户籍", EN: "registered hukou in the district"}, Source: "浙民福〔2019〕1号 第二条", Expr: "hukou_local"},
		},
		Amount:    "age >= 90 ? 150 : 100",
		Documents: []policy.Text{{ZH: "身份证", EN: "identity card"}},
	}}
}

func (w *world) publish(t *testing.T, d policy.Draft, from string) *policy.Version {
	t.Helper()
	v, err := w.eng.Save(context.Background(), actor, d)
	if err != nil {
		t.Fatalf("save %s: %v", d.Key, err)
	}
	if err := w.eng.Publish(context.Background(), actor, d.Key, v.Version, day(from)); err != nil {
		t.Fatalf("publish %s: %v", d.Key, err)
	}
	return v
}

func resultOf(t *testing.T, rs []policy.Result, key string) policy.Result {
	t.Helper()
	for _, r := range rs {
		if r.Policy == key {
			return r
		}
	}
	t.Fatalf("no result for %s in %d results", key, len(rs))
	return policy.Result{}
}

func condOf(r policy.Result, id string) policy.CondResult {
	for _, c := range r.Conditions {
		if c.ID == id {
			return c
		}
	}
	return policy.CondResult{}
}

// TestThreeValued: a missing fact leaves its condition unknown and the
// policy "may be", never a silent no; a failing condition decides even
// with facts missing.
func TestThreeValued(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		w.publish(t, elderly(80), "2026-01-01")
		old := w.addPerson(t, "19400301", 1)   // 86 on the date
		young := w.addPerson(t, "19700301", 2) // 56
		date := day("2026-11-23")
		cases := []struct {
			name       string
			id         int64
			facts      map[string]any
			want       string
			wantHukou  string
			wantMiss   []string
			wantAmount float64
		}{
			{"old, hukou unknown", old, nil, policy.MayBeEligible, policy.Unknown, []string{"hukou_local"}, 100},
			{"young, hukou unknown: the age fails and decides", young, nil, policy.NotEligible, policy.Unknown, nil, 0},
			{"old, hukou false", old, map[string]any{"hukou_local": false}, policy.NotEligible, policy.Fail, nil, 0},
			{"old, hukou true", old, map[string]any{"hukou_local": true}, policy.Eligible, policy.Pass, nil, 100},
		}
		for _, tc := range cases {
			for k, v := range tc.facts {
				w.fact(t, tc.id, k, v, true)
			}
			rs, err := w.eng.Evaluate(ctx, registry.ScopeOf(w.Users["staff-a"]), policy.Subject{Kind: policy.KindPerson, ID: tc.id}, date)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			r := resultOf(t, rs, "elderly_allowance")
			if got := r.Result; got != tc.want {
				t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
			}
			if got := condOf(r, "hukou").Result; got != tc.wantHukou {
				t.Errorf("%s: hukou condition got %s, want %s", tc.name, got, tc.wantHukou)
			}
			if got, want := strings.Join(r.Missing, ","), strings.Join(tc.wantMiss, ","); got != want {
				t.Errorf("%s: missing got %q, want %q", tc.name, got, want)
			}
			var got float64
			if r.Amount != nil {
				got = *r.Amount
			}
			if got != tc.wantAmount {
				t.Errorf("%s: amount got %v, want %v", tc.name, got, tc.wantAmount)
			}
		}
	})
}

// TestAnyOfKleene: any-of passes on one pass, fails only when every item
// fails, and is unknown otherwise.
func TestAnyOfKleene(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		w.publish(t, policy.Draft{Key: "medical_aid", Kind: policy.Resident, Version: policy.Version{
			Title: policy.Text{ZH: "困难群众医疗救助", EN: "Medical aid"}, Target: policy.KindPerson, Period: "year", Department: "YB",
			Conditions: []policy.Condition{
				{ID: "dibao", Text: policy.Text{ZH: "低保对象", EN: "on dibao"}, Source: "浙政办发〔2019〕39号 第三条", Expr: "dibao"},
				{ID: "tekun", Text: policy.Text{ZH: "特困人员", EN: "destitute"}, Source: "浙政办发〔2019〕39号 第三条", Expr: "tekun"},
				{ID: "expense", Text: policy.Text{ZH: "自付费用超过5000元", EN: "own costs above 5000"}, Source: "浙政办发〔2019〕39号 第五条", Expr: "medical_expense > 5000.0"},
			},
			Rule: policy.Group{Op: "all", Conds: []string{"expense"}, Groups: []policy.Group{{Op: "any", Conds: []string{"dibao", "tekun"}}}},
		}}, "2026-01-01")
		id := w.addPerson(t, "19600301", 3)
		w.fact(t, id, "medical_expense", 8000.5, true)
		steps := []struct {
			name string
			key  string
			v    any
			want string
		}{
			{"dibao false, tekun unknown", "dibao", false, policy.MayBeEligible},
			{"tekun false too", "tekun", false, policy.NotEligible},
			{"tekun true", "tekun", true, policy.Eligible},
		}
		for _, s := range steps {
			w.fact(t, id, s.key, s.v, true)
			rs, err := w.eng.Evaluate(ctx, registry.ScopeOf(w.Users["staff-a"]), policy.Subject{Kind: policy.KindPerson, ID: id}, t0)
			if err != nil {
				t.Fatal(err)
			}
			if got := resultOf(t, rs, "medical_aid").Result; got != s.want {
				t.Errorf("%s: got %s, want %s", s.name, got, s.want)
			}
		}
	})
}

// TestAsOf: a dated version answers for the dates it is in force.
func TestAsOf(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		w.publish(t, elderly(80), "2026-01-01")
		w.publish(t, elderly(75), "2027-01-01")
		id := w.addPerson(t, "19480301", 4) // 78 in 2026, 79 in 2027
		w.fact(t, id, "hukou_local", true, true)
		for _, tc := range []struct {
			date        string
			wantVersion int
			want        string
		}{
			{"2025-06-01", 0, ""},
			{"2026-06-01", 1, policy.NotEligible},
			{"2027-02-01", 2, policy.Eligible},
		} {
			rs, err := w.eng.Evaluate(ctx, registry.ScopeOf(w.Users["staff-a"]), policy.Subject{Kind: policy.KindPerson, ID: id}, day(tc.date))
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantVersion == 0 {
				if len(rs) != 0 {
					t.Errorf("%s: got %d results before the first version, want 0", tc.date, len(rs))
				}
				continue
			}
			r := resultOf(t, rs, "elderly_allowance")
			if r.Version != tc.wantVersion || r.Result != tc.want {
				t.Errorf("%s: got version %d %s, want %d %s", tc.date, r.Version, r.Result, tc.wantVersion, tc.want)
			}
		}
		p, err := w.eng.Policy(ctx, "elderly_allowance")
		if err != nil {
			t.Fatal(err)
		}
		if got := len(p.Versions); got != 2 || p.Versions[1].Until == nil || !p.Versions[1].Until.Equal(day("2027-01-01")) {
			t.Errorf("got versions %+v, want 2 with the first until 2027-01-01", p.Versions)
		}
	})
}

// TestExplanations: each condition names its text, the value found and
// its source, in zh and en.
func TestExplanations(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		w.publish(t, elderly(80), "2026-01-01")
		id := w.addPerson(t, "19400301", 5)
		rs, err := w.eng.Evaluate(context.Background(), registry.ScopeOf(w.Users["staff-a"]), policy.Subject{Kind: policy.KindPerson, ID: id}, t0)
		if err != nil {
			t.Fatal(err)
		}
		r := resultOf(t, rs, "elderly_allowance")
		age, hukou := condOf(r, "age"), condOf(r, "hukou")
		for _, tc := range []struct {
			name, got string
			want      []string
		}{
			{"age zh", age.Explanation.ZH, []string{"年满80周岁", "符合", "年龄为86岁", "浙民福〔2019〕1号 第二条"}},
			{"age en", age.Explanation.EN, []string{"aged 80 or more", "met", "age is 86", "Source: 浙民福〔2019〕1号"}},
			{"hukou zh", hukou.Explanation.ZH, []string{"尚无法判断", "缺少：本区户籍"}},
			{"hukou en", hukou.Explanation.EN, []string{"cannot be decided yet", "missing: registered hukou"}},
			{"result zh", r.Explanation.ZH, []string{"可能符合「高龄津贴」", "本区户籍"}},
			{"result en", r.Explanation.EN, []string{"may qualify", "registered hukou"}},
		} {
			for _, s := range tc.want {
				if !strings.Contains(tc.got, s) {
					t.Errorf("%s: got %q, want it to contain %q", tc.name, tc.got, s)
				}
			}
		}
		if got := age.Values["age"]; got != int64(86) {
			t.Errorf("age value got %v, want 86", got)
		}
	})
}

// TestDraftRefused: an unknown field, a type error, a condition that is
// not true/false and a rule naming a missing condition are refused with
// the condition and the reason, and nothing is saved.
func TestDraftRefused(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		for _, tc := range []struct {
			name, expr, wantCond, wantReason string
			rule                             policy.Group
		}{
			{"unknown field", "salary > 100", "c1", "undeclared reference to 'salary'", policy.Group{}},
			{"type error", "age > 'eighty'", "c1", "no matching overload", policy.Group{}},
			{"not a condition", "age + 1", "c1", "must give true or false", policy.Group{}},
			{"rule names a missing condition", "age > 80", "zz", "does not exist", policy.Group{Op: "all", Conds: []string{"zz"}}},
		} {
			dr := elderly(80)
			dr.Key = "draft_test"
			dr.Version.Conditions = []policy.Condition{{ID: "c1", Text: policy.Text{ZH: "条件", EN: "condition"}, Source: "文件 第一条", Expr: tc.expr}}
			dr.Version.Rule = tc.rule
			ps := w.eng.Validate(dr)
			found := false
			for _, p := range ps {
				if p.Condition == tc.wantCond && strings.Contains(p.Reason.EN, tc.wantReason) && p.Reason.ZH != "" {
					found = true
				}
			}
			if !found {
				t.Errorf("%s: got problems %+v, want one on %s saying %q", tc.name, ps, tc.wantCond, tc.wantReason)
			}
			_, err := w.eng.Save(context.Background(), actor, dr)
			e, ok := errs.As(err)
			if !ok || e.Code != errs.Invalid {
				t.Fatalf("%s: save got %v, want Invalid", tc.name, err)
			}
			if _, ok := e.Fields["conditions."+tc.wantCond]; !ok {
				t.Errorf("%s: got fields %v, want conditions.%s", tc.name, e.Fields, tc.wantCond)
			}
		}
		if _, err := w.eng.Policy(context.Background(), "draft_test"); !errs.Is(err, errs.NotFound) {
			t.Errorf("got %v after refused drafts, want NotFound", err)
		}
	})
}

// TestEvaluateScope: a person outside the caller's scope is NotFound.
func TestEvaluateScope(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		w.publish(t, elderly(80), "2026-01-01")
		id := w.addPerson(t, "19400301", 6)
		for _, tc := range []struct {
			who  string
			want errs.Code
		}{{"staff-a", ""}, {"staff-b", errs.NotFound}, {"resident", errs.NotFound}} {
			_, err := w.eng.Evaluate(context.Background(), registry.ScopeOf(w.Users[tc.who]), policy.Subject{Kind: policy.KindPerson, ID: id}, t0)
			if tc.want == "" && err != nil || tc.want != "" && !errs.Is(err, tc.want) {
				t.Errorf("%s: got %v, want %q", tc.who, err, tc.want)
			}
		}
	})
}
