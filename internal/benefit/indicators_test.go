package benefit_test

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/benefit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/idcode"
	"whistle/internal/indicator"
	"whistle/internal/policy"
	"whistle/internal/registry"
	"whistle/internal/worldtest"
)

// indicatorWorld is the benefit service over a real policy engine, so that
// the indicators read stored eligibility results of a batch run.
type indicatorWorld struct {
	*worldtest.World
	reg *registry.Store
	eng *policy.Engine
	svc *benefit.Service
	ind *indicator.Registry
}

func newIndicatorWorld(t *testing.T, d *db.DB) *indicatorWorld {
	t.Helper()
	ctx := context.Background()
	users := append(worldtest.OneStreetUsers(), worldtest.User{Name: "resident-b", Region: "330303001002", Role: account.Resident})
	w := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("龙湾区", "永中街道"), Departments: worldtest.Departments("CG", "ZJ"), Users: users})
	reg := registry.NewStore(registry.Deps{DB: d, Regions: w.Regions})
	eng, err := policy.New(policy.Deps{DB: d, Registry: reg, Accounts: w.Accounts})
	if err != nil {
		t.Fatal(err)
	}
	svc, err := benefit.NewService(ctx, benefit.Deps{DB: d, Regions: w.Regions, Accounts: w.Accounts, Workflows: w.Cases.WorkflowStore(), Registry: reg,
		Policies: benefit.Engine{E: eng}})
	if err != nil {
		t.Fatal(err)
	}
	eng.UseReceiving(svc.Receiving)
	ind := indicator.New()
	if err := svc.RegisterIndicators(ind, eng); err != nil {
		t.Fatal(err)
	}
	return &indicatorWorld{World: w, reg: reg, eng: eng, svc: svc, ind: ind}
}

func (w *indicatorWorld) publish(t *testing.T, d policy.Draft) {
	t.Helper()
	v, err := w.eng.Save(context.Background(), worldtest.Actor(), d)
	if err != nil {
		t.Fatalf("save %s: %v", d.Key, err)
	}
	if err := w.eng.Publish(context.Background(), worldtest.Actor(), d.Key, v.Version, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatalf("publish %s: %v", d.Key, err)
	}
}

func (w *indicatorWorld) person(t *testing.T, grid, ymd, seq, name string, facts map[string]any) benefit.Subject {
	t.Helper()
	ctx := context.Background()
	first := "330303" + ymd + seq
	p, err := w.reg.AddPerson(ctx, account.SystemScope(), worldtest.Actor(), registry.PersonInput{IDNumber: idNumber(first), Name: name,
		Status: registry.StatusResident, GridCode: grid})
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range facts {
		if err := w.reg.SetFact(ctx, account.SystemScope(), worldtest.Actor(), registry.FactPerson, p.ID, registry.FactInput{Key: k, Value: v, Verified: true,
			Source: "民政部门核对"}); err != nil {
			t.Fatal(err)
		}
	}
	return benefit.Subject{Kind: benefit.Person, ID: p.ID}
}

// TestIndicatorsByHand: four people, two policies, two payouts on known
// dates and a live application; every indicator's value for the street,
// both communities and both policies is worked out by hand:
//
//	             高龄津贴 gaoling (age ≥ 80, hukou)     低保补助 dibao (免申即享, 500)
//	王大爷 A1    eligible, applied 23 Nov, paid 26 Nov   may be (dibao unknown)
//	张奶奶 A1    eligible, unclaimed                     eligible, paid 23 Nov (auto)
//	李爷爷 B1    eligible, applied by staff (live)       not eligible
//	赵某   B1    not eligible (aged 46)                  eligible, unclaimed
//
// Eligible pairs: 5 (A 3, B 2; gaoling 3, dibao 2). Claimed: 王·gaoling,
// 张·dibao, 李·gaoling = 3. Payouts in November: 100 yuan after 3 days
// (A) and 500 yuan after 0 days (A).
func TestIndicatorsByHand(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newIndicatorWorld(t, d)
		ctx := context.Background()
		w.publish(t, policy.Draft{Key: "gaoling", Kind: policy.Resident, Version: policy.Version{
			Title: policy.Text{ZH: "高龄津贴", EN: "Old-age allowance"}, Target: policy.KindPerson, Period: "month", Department: "ZJ", Amount: "100",
			Conditions: []policy.Condition{
				{ID: "age", Text: policy.Text{ZH: "年满80周岁", EN: "aged 80 or more"}, Source: "浙民福〔2019〕1号 第二条", Expr: "age >= 80"},
				{ID: "hukou", Text: policy.Text{ZH: "具有本区户籍", EN: "registered hukou in the district"}, Source: "浙民福〔2019〕1号 第二条", Expr: "hukou_local"},
			}}})
		w.publish(t, policy.Draft{Key: "dibao", Kind: policy.Resident, Version: policy.Version{
			Title: policy.Text{ZH: "低保补助", EN: "Minimum allowance"}, Target: policy.KindPerson, Period: "month", Department: "ZJ", Amount: "500", AutoPay: true,
			Conditions: []policy.Condition{
				{ID: "dibao", Text: policy.Text{ZH: "低保对象", EN: "receives the minimum allowance"}, Source: "浙政办发〔2021〕1号 第三条", Expr: "dibao"},
			}}})
		wang := w.person(t, gridA1, "19440101", "123", "王大爷", map[string]any{"hukou_local": true})
		zhang := w.person(t, gridA1, "19400202", "124", "张奶奶", map[string]any{"hukou_local": true, "dibao": true})
		li := w.person(t, gridB1, "19450303", "125", "李爷爷", map[string]any{"hukou_local": true, "dibao": false})
		w.person(t, gridB1, "19800404", "126", "赵某", map[string]any{"dibao": true})
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE users SET id_number = $1 WHERE username = $2`, idNumber("330303"+"19440101"+"123"), "resident")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		w.Users["resident"].IDNumber = idNumber("330303" + "19440101" + "123")
		if _, err := w.eng.Run(ctx, nil); err != nil {
			t.Fatal(err)
		}
		as := func(name string) benefit.Caller { return benefit.CallerOf(w.Users[name], "127.0.0.1") }
		// 23 Nov: 张奶奶's 免申即享 payout; 王大爷 applies, staff apply for 李爷爷.
		if n, err := w.svc.RunAutoPay(ctx, []benefit.Subject{zhang}); err != nil || n != 1 {
			t.Fatalf("auto pay: %d, %v", n, err)
		}
		a, err := w.svc.Apply(ctx, as("resident"), benefit.NewApplication{Policy: "gaoling"})
		if err != nil || a.Subject != wang {
			t.Fatalf("apply: %+v, %v", a, err)
		}
		if _, err := w.svc.Apply(ctx, as("staff-b"), benefit.NewApplication{Policy: "gaoling", Subject: li}); err != nil {
			t.Fatalf("staff apply for 李爷爷: %v", err)
		}
		// 26 Nov, three days later to the second: accepted, approved, paid.
		clk.Advance(72 * time.Hour)
		for _, step := range []struct{ who, action string }{{"staff-a", "accept"}, {"zj-handler", "approve"}, {"zj-handler", "pay"}} {
			if _, err := w.svc.Act(ctx, as(step.who), a.ID, step.action, benefit.Input{}); err != nil {
				t.Fatalf("%s by %s: %v", step.action, step.who, err)
			}
		}

		cst := time.FixedZone("CST", 8*3600)
		nov := indicator.Period{From: time.Date(2026, 11, 1, 0, 0, 0, 0, cst), To: time.Date(2026, 12, 1, 0, 0, 0, 0, cst)}
		dec := indicator.Period{From: nov.To, To: time.Date(2027, 1, 1, 0, 0, 0, 0, cst)}
		street := indicator.Subject{Kind: "region", Code: "330303001"}
		commA := indicator.Subject{Kind: "region", Code: "330303001001"}
		commB := indicator.Subject{Kind: "region", Code: "330303001002"}
		gaoling := indicator.Subject{Kind: benefit.SubjectPolicy, Code: "gaoling"}
		dibao := indicator.Subject{Kind: benefit.SubjectPolicy, Code: "dibao"}
		unknown := indicator.Subject{Kind: "region", Code: "330303009"}
		names := []string{benefit.IndUnclaimed, benefit.IndUptake, benefit.IndDaysToPayout, benefit.IndPaid}
		none := math.NaN() // no data
		type row struct {
			sub                              indicator.Subject
			unclaimed, uptake, days, paid    float64
			eligible, claimed, payouts, fens int64
		}
		check := func(p indicator.Period, rows []row) {
			t.Helper()
			subs := []indicator.Subject{unknown}
			for _, r := range rows {
				subs = append(subs, r.sub)
			}
			tab, err := w.ind.Batch(ctx, names, subs, p)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				got := tab[r.sub]
				for name, want := range map[string]float64{benefit.IndUnclaimed: r.unclaimed, benefit.IndUptake: r.uptake, benefit.IndDaysToPayout: r.days,
					benefit.IndPaid: r.paid} {
					v := got[name]
					switch {
					case math.IsNaN(want) && v.HasData():
						t.Errorf("%s %s: %v, want no data", r.sub.Code, name, *v.Value)
					case !math.IsNaN(want) && (!v.HasData() || math.Abs(*v.Value-want) > 1e-9):
						t.Errorf("%s %s: %+v, want %v", r.sub.Code, name, v, want)
					}
				}
				if u := got[benefit.IndUptake]; u.Num != r.claimed || u.Den != r.eligible {
					t.Errorf("%s uptake: %d / %d, want %d / %d", r.sub.Code, u.Num, u.Den, r.claimed, r.eligible)
				}
				if dd := got[benefit.IndDaysToPayout]; dd.Den != r.payouts {
					t.Errorf("%s payouts: %d, want %d", r.sub.Code, dd.Den, r.payouts)
				}
				if pd := got[benefit.IndPaid]; pd.Num != r.fens {
					t.Errorf("%s paid: %d fen, want %d", r.sub.Code, pd.Num, r.fens)
				}
			}
			for _, name := range names {
				if tab[unknown][name].HasData() {
					t.Errorf("an unknown region has %s %v", name, *tab[unknown][name].Value)
				}
			}
		}
		check(nov, []row{
			{street, 2, 3.0 / 5, 1.5, 600, 5, 3, 2, 60000},
			{commA, 1, 2.0 / 3, 1.5, 600, 3, 2, 2, 60000},
			{commB, 1, 1.0 / 2, none, 0, 2, 1, 0, 0},
			{gaoling, 1, 2.0 / 3, 3, 100, 3, 2, 1, 10000},
			{dibao, 1, 1.0 / 2, 0, 500, 2, 1, 1, 50000},
		})
		// December: nothing paid yet; the stock (应享未享, uptake) is the
		// present state whatever the period.
		check(dec, []row{
			{street, 2, 3.0 / 5, none, 0, 5, 3, 0, 0},
			{commB, 1, 1.0 / 2, none, 0, 2, 1, 0, 0},
		})
		// The count is the 应享未享 list's length.
		us, err := w.eng.Unclaimed(ctx, account.SystemScope(), "330303001", 1000)
		if err != nil || len(us) != 2 {
			t.Errorf("the street's unclaimed list: %d entries (%v), want 2", len(us), err)
		}
	})
}

// TestIndicatorsListed: the four indicators are in the registry's list
// with both languages, as the program wires them.
func TestIndicatorsListed(t *testing.T) {
	r := indicator.New()
	if err := (&benefit.Service{}).RegisterIndicators(r, nil); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, in := range r.List() {
		got = append(got, in.Name)
		if in.Label.ZH == "" || in.Label.EN == "" || in.Definition.ZH == "" || in.Definition.EN == "" || in.Source != benefit.SourceName {
			t.Errorf("%s: %+v", in.Name, in)
		}
	}
	want := []string{benefit.IndDaysToPayout, benefit.IndPaid, benefit.IndUnclaimed, benefit.IndUptake}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("listed %v, want %v", got, want)
	}
	if in, _ := r.Get(benefit.IndPaid); in.Unit != indicator.Yuan {
		t.Errorf("amount paid in %s, want yuan", in.Unit)
	}
	if in, _ := r.Get(benefit.IndDaysToPayout); in.Unit != indicator.Days || in.Direction != indicator.LowerBetter {
		t.Errorf("days to payout: %s %s", in.Unit, in.Direction)
	}
}

func idNumber(first17 string) string { return first17 + string(idcode.ResidentCheck(first17)) }
