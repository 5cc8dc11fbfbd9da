package assess_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"whistle/internal/assess"
	"whistle/internal/errs"
)

func TestItemScore(t *testing.T) {
	for _, tc := range []struct {
		name  string
		item  assess.Item
		value float64
		want  float64
	}{
		{"ratio below target", assess.Item{Direction: assess.HigherBetter, Target: 90, Points: 10, Rule: assess.RuleRatio}, 45, 5},
		{"ratio at target", assess.Item{Direction: assess.HigherBetter, Target: 90, Points: 10, Rule: assess.RuleRatio}, 90, 10},
		{"ratio above target capped", assess.Item{Direction: assess.HigherBetter, Target: 90, Points: 10, Rule: assess.RuleRatio}, 99, 10},
		{"lower better above target", assess.Item{Direction: assess.LowerBetter, Target: 2, Points: 10, Rule: assess.RuleRatio}, 4, 5},
		{"lower better met", assess.Item{Direction: assess.LowerBetter, Target: 2, Points: 10, Rule: assess.RuleRatio}, 1, 10},
		{"threshold missed", assess.Item{Direction: assess.HigherBetter, Target: 90, Points: 10, Rule: assess.RuleThreshold}, 89.9, 0},
		{"threshold met", assess.Item{Direction: assess.HigherBetter, Target: 90, Points: 10, Rule: assess.RuleThreshold}, 90, 10},
		{"negative value", assess.Item{Direction: assess.HigherBetter, Target: 90, Points: 10, Rule: assess.RuleRatio}, -5, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.item.Score(tc.value); got != tc.want {
				t.Errorf("Score(%v) = %v, want %v", tc.value, got, tc.want)
			}
		})
	}
}

// TestTwoWayRating: the street rates the department that answered its
// whistle, the department rates the street's request; nobody else may,
// and each side rates a case once.
func TestTwoWayRating(t *testing.T) {
	each(t, func(t *testing.T, fx *fixture) {
		ctx := context.Background()
		fx.period(t, "2026-11")
		rate := func(who string, id int64, dir string, score int) error {
			_, err := fx.svc.Rate(ctx, fx.u(who), assess.NewRating{Period: "2026-11", CaseID: id, Direction: dir, Score: score})
			return err
		}
		for _, tc := range []struct {
			name, who string
			id        int64
			dir       string
			score     int
			want      errs.Code
		}{
			{"street rates CG", "street", 1, assess.StreetRatesDept, 4, ""},
			{"street rates CG again", "street", 2, assess.StreetRatesDept, 2, ""},
			{"CG rates the street", "cg-handler", 1, assess.DeptRatesStreet, 5, ""},
			{"twice is a conflict", "street", 1, assess.StreetRatesDept, 5, errs.Conflict},
			{"a community may not rate the department", "staff-a", 3, assess.StreetRatesDept, 5, errs.Forbidden},
			{"another department may not rate the street", "zj-handler", 3, assess.DeptRatesStreet, 1, errs.Forbidden},
			{"the street may not rate itself", "street", 3, assess.DeptRatesStreet, 1, errs.Forbidden},
			{"stars out of range", "street", 3, assess.StreetRatesDept, 6, errs.Invalid},
			{"unknown case", "street", 99, assess.StreetRatesDept, 3, errs.NotFound},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantCode(t, rate(tc.who, tc.id, tc.dir, tc.score), tc.want)
			})
		}
		cg, err := fx.svc.Ratings(ctx, fx.u("cg-handler"), "CG", "2026-11")
		if err != nil {
			t.Fatal(err)
		}
		if cg.Count != 2 || cg.Mean == nil || *cg.Mean != 3 {
			t.Errorf("CG received %d ratings, mean %v; want 2, 3", cg.Count, cg.Mean)
		}
		st, err := fx.svc.Ratings(ctx, fx.u("street"), street, "2026-11")
		if err != nil {
			t.Fatal(err)
		}
		if st.Count != 1 || st.Mean == nil || *st.Mean != 5 {
			t.Errorf("the street received %d ratings, mean %v; want 1, 5", st.Count, st.Mean)
		}
		if _, err := fx.svc.Ratings(ctx, fx.u("zj-handler"), "CG", "2026-11"); !errs.Is(err, errs.NotFound) {
			t.Errorf("ZJ reading CG's ratings: got %v, want not found", err)
		}
	})
}

// TestUnreasonableExclusion: a case marked unreasonable counts until a
// second reviewer confirms the mark; then it leaves the unit's rate and
// appears in the list of exclusions.
func TestUnreasonableExclusion(t *testing.T) {
	each(t, func(t *testing.T, fx *fixture) {
		ctx := context.Background()
		fx.period(t, "2026-11")
		for id, score := range map[int64]int{1: 5, 2: 1, 3: 4} {
			if _, err := fx.svc.Rate(ctx, fx.u("street"), assess.NewRating{Period: "2026-11", CaseID: id, Direction: assess.StreetRatesDept, Score: score}); err != nil {
				t.Fatal(err)
			}
		}
		mean := func() (float64, []int64) {
			t.Helper()
			rs, err := fx.svc.Ratings(ctx, fx.u("admin"), "CG", "2026-11")
			if err != nil {
				t.Fatal(err)
			}
			return *rs.Mean, rs.Excluded
		}
		if _, err := fx.svc.MarkUnreasonable(ctx, fx.u("street"), 2, "重复诉求"); !errs.Is(err, errs.Forbidden) {
			t.Errorf("street staff marking: got %v, want forbidden", err)
		}
		if _, err := fx.svc.MarkUnreasonable(ctx, fx.u("admin"), 2, " "); !errs.Is(err, errs.Invalid) {
			t.Errorf("no reason: got %v, want invalid", err)
		}
		if _, err := fx.svc.MarkUnreasonable(ctx, fx.u("admin"), 2, "诉求人要求超出政策范围"); err != nil {
			t.Fatal(err)
		}
		if got, ex := mean(); got != 3.33 || len(ex) != 0 {
			t.Errorf("marked, unconfirmed: mean %v excluded %v, want 3.33 and none", got, ex)
		}
		if _, err := fx.svc.ConfirmUnreasonable(ctx, fx.u("admin"), 2); !errs.Is(err, errs.Forbidden) {
			t.Errorf("the marker confirming: got %v, want forbidden", err)
		}
		m, err := fx.svc.ConfirmUnreasonable(ctx, fx.u("leader"), 2)
		if err != nil {
			t.Fatal(err)
		}
		if !m.Confirmed() || m.ConfirmedBy != fx.u("leader").ID {
			t.Errorf("mark %+v, want confirmed by leader", m)
		}
		if got, ex := mean(); got != 4.5 || len(ex) != 1 || ex[0] != 2 {
			t.Errorf("confirmed: mean %v excluded %v, want 4.5 and [2]", got, ex)
		}
		if _, err := fx.svc.ConfirmUnreasonable(ctx, fx.u("leader2"), 2); !errs.Is(err, errs.Conflict) {
			t.Errorf("confirming twice: got %v, want conflict", err)
		}
		list, err := fx.svc.Exclusions(ctx, fx.u("staff-a"), communityA, "2026-11")
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].CaseID != 2 || list[0].Reason != "诉求人要求超出政策范围" {
			t.Errorf("exclusions of community A: %+v, want case 2 with its reason", list)
		}
		if list, err := fx.svc.Exclusions(ctx, fx.u("staff-a"), communityB, "2026-11"); !errs.Is(err, errs.NotFound) {
			t.Errorf("community A reading B's exclusions: %v %v, want not found", list, err)
		}
		// The satisfaction rate leaves the case out too.
		fx.cases[1] = withRating(fx.cases[1], 5)
		fx.cases[2] = withRating(fx.cases[2], 1)
		fx.cases[3] = withRating(fx.cases[3], 2)
		r, err := fx.svc.Rates(ctx, fx.u("street"), street, "2026-11")
		if err != nil {
			t.Fatal(err)
		}
		if r.Rated != 2 || r.Satisfaction != 50 || len(r.Excluded) != 1 {
			t.Errorf("rates %+v, want 2 rated, 50%% satisfied, case 2 excluded", r)
		}
	})
}

func withRating(c assess.CaseFact, stars int) assess.CaseFact { c.Rating = stars; return c }

// TestPeriodFreezePublishAppeal: scores computed, frozen (manual scores
// then refused), published through the benchmark publisher; a unit's
// appeal upheld changes its score and the history shows it.
func TestPeriodFreezePublishAppeal(t *testing.T) {
	each(t, func(t *testing.T, fx *fixture) {
		ctx := context.Background()
		admin := fx.u("admin")
		fx.period(t, "2026-11")
		rating, err := fx.svc.AddItem(ctx, admin, assess.NewItem{UnitType: assess.Street, Code: "rating", Name: "部门评价", Kind: assess.KindIndicator,
			Indicator: assess.IndRating, Target: 5, Points: 10})
		if err != nil {
			t.Fatal(err)
		}
		manual, err := fx.svc.AddItem(ctx, admin, assess.NewItem{UnitType: assess.Street, Code: "party", Name: "党建引领", Kind: assess.KindManual, Points: 5})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fx.svc.AddItem(ctx, admin, assess.NewItem{UnitType: assess.Street, Code: "party", Name: "x", Kind: assess.KindManual, Points: 5}); !errs.Is(err, errs.Conflict) {
			t.Errorf("same code twice: got %v, want conflict", err)
		}
		if _, err := fx.svc.Rate(ctx, fx.u("cg-handler"), assess.NewRating{Period: "2026-11", CaseID: 1, Direction: assess.DeptRatesStreet, Score: 4}); err != nil {
			t.Fatal(err)
		}
		if err := fx.svc.SetManual(ctx, admin, assess.ManualScore{Period: "2026-11", Unit: street, ItemID: manual.ID, Score: 3, Evidence: "台账检查"}); err != nil {
			t.Fatal(err)
		}
		if _, err := fx.svc.Publish(ctx, admin, "2026-11"); !errs.Is(err, errs.Conflict) {
			t.Errorf("publishing an open period: got %v, want conflict", err)
		}
		if _, err := fx.svc.Freeze(ctx, fx.u("street"), "2026-11"); !errs.Is(err, errs.Forbidden) {
			t.Errorf("a street freezing: got %v, want forbidden", err)
		}
		p, err := fx.svc.Freeze(ctx, admin, "2026-11")
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != assess.PeriodFrozen {
			t.Errorf("status %s, want frozen", p.Status)
		}
		card, err := fx.svc.Card(ctx, fx.u("street"), street, "2026-11")
		if err != nil {
			t.Fatal(err)
		}
		if card.Total != 11 || card.Max != 15 {
			t.Errorf("frozen card total %v of %v, want 11 of 15 (rating 4/5 of 10 points = 8, manual 3)", card.Total, card.Max)
		}
		for _, sc := range card.Scores {
			if sc.FrozenScore == nil || *sc.FrozenScore != sc.Score {
				t.Errorf("item %s: frozen %v, score %v; want the snapshot equal", sc.Item.Code, sc.FrozenScore, sc.Score)
			}
		}
		if err := fx.svc.SetManual(ctx, admin, assess.ManualScore{Period: "2026-11", Unit: street, ItemID: manual.ID, Score: 5, Evidence: "改"}); !errs.Is(err, errs.Conflict) {
			t.Errorf("a manual score after the freeze: got %v, want conflict", err)
		}
		if _, err := fx.svc.Rate(ctx, fx.u("cg-handler"), assess.NewRating{Period: "2026-11", CaseID: 2, Direction: assess.DeptRatesStreet, Score: 1}); !errs.Is(err, errs.Conflict) {
			t.Errorf("a rating after the freeze: got %v, want conflict", err)
		}
		if _, err := fx.svc.FileAppeal(ctx, fx.u("staff-b"), assess.NewAppeal{Period: "2026-11", Unit: street, ItemID: manual.ID, Reason: "r", Evidence: "e"}); !errs.Is(err, errs.NotFound) {
			t.Errorf("a community appealing for the street: got %v, want not found", err)
		}
		ap, err := fx.svc.FileAppeal(ctx, fx.u("street"), assess.NewAppeal{Period: "2026-11", Unit: street, ItemID: manual.ID, Reason: "台账漏计三次活动",
			Evidence: "活动签到表 3 份"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fx.svc.DecideAppeal(ctx, admin, ap.ID, assess.Decision{Upheld: true, Score: ptr(6), Note: "核实"}); !errs.Is(err, errs.Invalid) {
			t.Errorf("a score above the points: got %v, want invalid", err)
		}
		got, err := fx.svc.DecideAppeal(ctx, admin, ap.ID, assess.Decision{Upheld: true, Score: ptr(5), Note: "核实属实"})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != assess.AppealUpheld || got.OldScore == nil || *got.OldScore != 3 || *got.NewScore != 5 {
			t.Errorf("appeal %+v, want upheld 3 -> 5", got)
		}
		if _, err := fx.svc.DecideAppeal(ctx, fx.u("leader"), ap.ID, assess.Decision{Note: "再议"}); !errs.Is(err, errs.Conflict) {
			t.Errorf("deciding twice: got %v, want conflict", err)
		}
		card, err = fx.svc.Card(ctx, fx.u("street"), street, "2026-11")
		if err != nil {
			t.Fatal(err)
		}
		if card.Total != 13 {
			t.Errorf("total after the appeal %v, want 13", card.Total)
		}
		hist, err := fx.svc.History(ctx, fx.u("street"), street, "2026-11")
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != 1 || hist[0].AppealID != ap.ID || *hist[0].OldScore != 3 || hist[0].NewScore != 5 {
			t.Errorf("history %+v, want the appeal's 3 -> 5", hist)
		}
		if len(fx.pub.got) != 0 {
			t.Errorf("published %v before Publish", fx.pub.got)
		}
		if p, err = fx.svc.Publish(ctx, admin, "2026-11"); err != nil || p.Status != assess.PeriodPublished {
			t.Fatalf("publish: %v %v", p, err)
		}
		if len(fx.pub.got) != 1 || fx.pub.got[0] != "2026-11" {
			t.Errorf("benchmark publications %v, want [2026-11]", fx.pub.got)
		}
		_ = rating
	})
}

func ptr(v float64) *float64 { return &v }

// TestLeagueScope: before publication a community sees only itself in
// the league; after it, every peer's total, never a peer's card.
func TestLeagueScope(t *testing.T) {
	each(t, func(t *testing.T, fx *fixture) {
		ctx := context.Background()
		admin := fx.u("admin")
		fx.period(t, "2026-11")
		it, err := fx.svc.AddItem(ctx, admin, assess.NewItem{UnitType: assess.Community, Code: "env", Name: "环境整治", Kind: assess.KindManual, Points: 10})
		if err != nil {
			t.Fatal(err)
		}
		for code, score := range map[string]float64{communityA: 6, communityB: 9} {
			if err := fx.svc.SetManual(ctx, admin, assess.ManualScore{Period: "2026-11", Unit: code, ItemID: it.ID, Score: score, Evidence: "检查"}); err != nil {
				t.Fatal(err)
			}
		}
		codes := func() []string {
			t.Helper()
			l, err := fx.svc.League(ctx, fx.u("staff-a"), assess.Community, "2026-11")
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, s := range l {
				out = append(out, s.Unit.Code)
			}
			return out
		}
		if got := codes(); len(got) != 1 || got[0] != communityA {
			t.Errorf("unpublished league seen by A: %v, want only A", got)
		}
		if _, err := fx.svc.Freeze(ctx, admin, "2026-11"); err != nil {
			t.Fatal(err)
		}
		if got := codes(); len(got) != 1 {
			t.Errorf("frozen league seen by A: %v, want only A", got)
		}
		if _, err := fx.svc.Publish(ctx, admin, "2026-11"); err != nil {
			t.Fatal(err)
		}
		if got := codes(); len(got) != 2 || got[0] != communityB {
			t.Errorf("published league seen by A: %v, want B first then A", got)
		}
		if _, err := fx.svc.Card(ctx, fx.u("staff-a"), communityB, "2026-11"); !errs.Is(err, errs.NotFound) {
			t.Errorf("A reading B's card: got %v, want not found", err)
		}
	})
}

// TestSignals plants each pattern and a control beside it.
func TestSignals(t *testing.T) {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	stage := func(endMin, deadlineMin int) []assess.StageFact {
		return []assess.StageFact{{Deadline: at(deadlineMin), EndedAt: at(endMin)}}
	}
	cases := []assess.CaseFact{
		// Three closed 5–20 minutes before their deadlines within the hour: a bulk.
		{ID: 1, Stages: stage(0, 10)}, {ID: 2, Stages: stage(20, 25)}, {ID: 3, Stages: stage(50, 70)},
		// Near the deadline but alone, hours later: not a bulk.
		{ID: 4, Stages: stage(300, 310)},
		// Closed a day early: not near.
		{ID: 5, Stages: stage(0, 1440)},
		// Rated by staff, and by the reporter.
		{ID: 6, Events: []assess.EventFact{{Action: "rate", Staff: true}}},
		{ID: 7, Events: []assess.EventFact{{Action: "rate", Staff: false}}},
		// Returned and dispatched again to the same department; and to another.
		{ID: 8, Events: []assess.EventFact{{Action: "dispatch", Dept: "CG"}, {Action: "return"}, {Action: "dispatch", Dept: "CG"}}},
		{ID: 9, Events: []assess.EventFact{{Action: "dispatch", Dept: "CG"}, {Action: "return"}, {Action: "dispatch", Dept: "ZJ"}}},
	}
	want := map[string][]int64{assess.SigNearBreach: {1, 2, 3}, assess.SigStaffRatings: {6}, assess.SigClockReset: {8}}
	for _, s := range assess.Detect(cases, assess.DefaultRules) {
		w := want[s.Kind]
		if !s.Flagged || len(s.Cases) != len(w) {
			t.Errorf("%s: flagged %v cases %v, want %v", s.Kind, s.Flagged, s.Cases, w)
			continue
		}
		for i := range w {
			if s.Cases[i] != w[i] {
				t.Errorf("%s: cases %v, want %v", s.Kind, s.Cases, w)
			}
		}
	}
	if s := assess.Detect(cases[3:5], assess.DefaultRules); s[0].Flagged || s[1].Flagged || s[2].Flagged {
		t.Errorf("controls flagged: %+v", s)
	}
}

// TestUnreasonableRise: three marks against none the month before flag
// the rise; the unit sees it beside its scores.
func TestUnreasonableRise(t *testing.T) {
	each(t, func(t *testing.T, fx *fixture) {
		ctx := context.Background()
		fx.period(t, "2026-11")
		flagged := func() (bool, int) {
			t.Helper()
			sigs, err := fx.svc.Signals(ctx, fx.u("street"), street, "2026-11")
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range sigs {
				if s.Kind == assess.SigUnreasonableRise {
					return s.Flagged, s.Count
				}
			}
			t.Fatal("no unreasonable_rise signal")
			return false, 0
		}
		for id := int64(1); id <= 2; id++ {
			if _, err := fx.svc.MarkUnreasonable(ctx, fx.u("admin"), id, "无理"); err != nil {
				t.Fatal(err)
			}
		}
		if f, n := flagged(); f || n != 2 {
			t.Errorf("two marks: flagged %v count %d, want not flagged, 2", f, n)
		}
		if _, err := fx.svc.MarkUnreasonable(ctx, fx.u("admin"), 3, "无理"); err != nil {
			t.Fatal(err)
		}
		if f, n := flagged(); !f || n != 3 {
			t.Errorf("three marks: flagged %v count %d, want flagged, 3", f, n)
		}
	})
}

// TestPracticesFilter: the experience library finds a note by an
// indicator key or tag taken literally — an underscore is not a LIKE
// wildcard (keys are satisfaction_rate and the like), nor is a percent
// sign in a tag.
func TestPracticesFilter(t *testing.T) {
	each(t, func(t *testing.T, fx *fixture) {
		ctx := context.Background()
		admin := fx.u("admin")
		add := func(title string, inds, tags []string) {
			t.Helper()
			if _, err := fx.svc.AddPractice(ctx, admin, assess.NewPractice{Title: title, Body: "做法", Unit: communityA, Indicators: inds, Tags: tags}); err != nil {
				t.Fatal(err)
			}
		}
		add("帮办代办", []string{"tongban_rate"}, []string{"100%办结"})
		add("相似的键", []string{"tongbanXrate"}, []string{"100X办结"})
		add("另一指标", []string{"satisfaction_rate", "tongban_rate_2"}, nil)
		for _, tc := range []struct {
			f    assess.PracticeFilter
			want []string
		}{
			{assess.PracticeFilter{Indicator: "tongban_rate"}, []string{"帮办代办"}},
			{assess.PracticeFilter{Indicator: "tongbanXrate"}, []string{"相似的键"}},
			{assess.PracticeFilter{Indicator: "satisfaction_rate", Unit: communityA}, []string{"另一指标"}},
			{assess.PracticeFilter{Tag: "100%办结"}, []string{"帮办代办"}},
			{assess.PracticeFilter{Indicator: "tongban%"}, nil},
		} {
			ps, err := fx.svc.Practices(ctx, fx.u("staff-a"), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range ps {
				got = append(got, p.Title)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("%+v: got %v, want %v", tc.f, got, tc.want)
			}
		}
	})
}
