package demo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"whistle/internal/account"
	"whistle/internal/assess"
	"whistle/internal/benchmark"
	"whistle/internal/region"

	"github.com/paulmach/orb/geo"
)

// AssessOptions are what SeedAssessment needs: the stores it writes
// through and the demo accounts that act.
type AssessOptions struct {
	Regions   *region.Store
	Benchmark *benchmark.Store
	Assess    *assess.Service
	// Assessor creates the periods and items, scores and publishes;
	// Community is 万顺社区's staff, who files the pending appeal.
	Assessor, Community *account.User
	// Now places the twelve months of values: the last is the month
	// before Now's (in China Standard Time).
	Now  time.Time
	Seed int64
}

// AssessResult says what SeedAssessment made.
type AssessResult struct {
	Seeded bool // false when the demo indicators were there already
	Values int
	// Published is the assessment period published (the month before
	// last), Frozen the one frozen and awaiting publication (last month),
	// with one appeal pending.
	Published, Frozen string
}

// demoIndicator is a demo indicator with how its values spread: a mean
// and spread across units, a monthly drift, noise, and bounds.
type demoIndicator struct {
	benchmark.Indicator
	mean, spread, drift, noise, lo, hi float64
	decimals                           int
	practice                           [2]string // title and body of an improver's note
}

// demoIndicators are six indicators of the kind districts compare their
// communities and streets on.
func demoIndicators() []demoIndicator {
	in := func(key, zh, en, unit, dir, def string) benchmark.Indicator {
		return benchmark.Indicator{Key: key, Name: benchmark.Text{ZH: zh, EN: en}, Unit: unit, Direction: dir, Source: "demo",
			Definition: benchmark.Text{ZH: def, EN: def}}
	}
	return []demoIndicator{
		{in("satisfaction_rate", "群众满意率", "Resident satisfaction", "percent", benchmark.HigherBetter, "回访评价 4–5 星的诉求占已评价诉求的比例"),
			92, 3, 0.25, 0.6, 60, 100, 1, [2]string{"接诉即办“回头看”", "每周抽取已办结诉求电话回访，不满意的由社区书记牵头二次上门，问题清单销号管理。"}},
		{in("ontime_rate", "按期办结率", "Closed on time", "percent", benchmark.HigherBetter, "在办理时限内办结的诉求占应办结诉求的比例"),
			94, 2.5, 0.2, 0.5, 60, 100, 1, [2]string{"时限预警到人", "网格员手机端接收临期提醒，超时前 1 小时社区值班长介入协调。"}},
		{in("response_hours", "平均响应时长", "Mean response time", "hours", benchmark.LowerBetter, "从诉求登记到首次响应的平均工作时长"),
			3, 0.8, 0.05, 0.15, 0.3, 12, 2, [2]string{"网格员首接负责制", "诉求派到网格后 30 分钟内电话联系诉求人，首接网格员跟踪到办结。"}},
		{in("tongban_rate", "一网通办率", "Online service share", "percent", benchmark.HigherBetter, "经一网通办受理的事项占全部受理事项的比例"),
			78, 8, 0.8, 1.2, 20, 100, 1, [2]string{"帮办代办进小区", "社区党员志愿者每周二、四在小区驿站手把手帮老年人线上办理。"}},
		{in("repeat_complaints", "重复投诉件数", "Repeat complaints", "cases", benchmark.LowerBetter, "同一诉求人 30 日内就同一事项再次投诉的件数"),
			12, 4, 0.3, 1.5, 0, 60, 0, [2]string{"重复诉求专班", "对 30 日内二次投诉的事项建立专班，街道、部门、社区三方现场会办。"}},
		{in("volunteer_rate", "志愿者注册率", "Registered volunteers", "percent", benchmark.HigherBetter, "注册志愿者占常住人口的比例"),
			14, 3, 0.15, 0.3, 1, 40, 1, [2]string{"“红哨”志愿积分", "志愿服务时长兑换积分，积分可在社区超市和物业兑换服务，每季度表彰。"}},
	}
}

// demoMonths is the twelve months ending with the month before now's.
func demoMonths(now time.Time) []time.Time {
	cst := time.FixedZone("CST", 8*3600)
	t := now.In(cst)
	first := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, cst)
	out := make([]time.Time, 12)
	for i := range out {
		out[i] = first.AddDate(0, i-12, 0)
	}
	return out
}

// Months are the codes ("2026-11") of the twelve months SeedAssessment
// gives values, at now: the last is the month before now's.
func Months(now time.Time) []string {
	ms := demoMonths(now)
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Format("2006-01")
	}
	return out
}

// AssessmentPeriods are the codes of the two periods SeedAssessment
// makes at now: the month before last (published) and last month
// (frozen).
func AssessmentPeriods(now time.Time) (published, frozen string) {
	ms := demoMonths(now)
	return ms[len(ms)-2].Format("2006-01"), ms[len(ms)-1].Format("2006-01")
}

// SeedAssessment gives the demo district something to compare and
// assess, through the modules' own services: six indicators with twelve
// months of values for every street and community (every month but the
// last published to peers), practice notes of the communities that
// improved most in each street, catalogues for streets and communities,
// the month before last assessed and published, and last month frozen
// with an appeal of 万顺社区 pending. 万顺社区 is strong on most
// indicators and weak on two, so that its 对标 page has weak points. It
// does nothing when the demo indicators exist already.
func SeedAssessment(ctx context.Context, o AssessOptions) (_ *AssessResult, err error) {
	ins, err := o.Benchmark.Indicators(ctx)
	if err != nil {
		return nil, err
	}
	for _, in := range ins {
		if in.Source == "demo" {
			return &AssessResult{}, nil
		}
	}
	streets, err := o.Regions.Children(ctx, DistrictCode, false)
	if err != nil {
		return nil, err
	}
	type unit struct{ code, street string }
	var units []unit
	for _, s := range streets {
		units = append(units, unit{s.Code, ""})
		kids, err := o.Regions.Children(ctx, s.Code, false)
		if err != nil {
			return nil, err
		}
		for _, k := range kids {
			if k.Level == region.Community {
				units = append(units, unit{k.Code, s.Code})
			}
		}
	}
	months := demoMonths(o.Now)
	code := func(t time.Time) string { return t.Format("2006-01") }
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 19))
	dis := demoIndicators()
	// values[i][u][m]
	values := make([][][]float64, len(dis))
	var im benchmark.Import
	for i, di := range dis {
		im.Indicators = append(im.Indicators, di.Indicator)
		values[i] = make([][]float64, len(units))
		for u, un := range units {
			z, drift := rng.NormFloat64(), rng.NormFloat64()*di.drift
			if un.code == DemoCommunity { // strong, but weak on two indicators
				z, drift = 1.3, di.drift*0.2
				if di.Key == "tongban_rate" || di.Key == "response_hours" {
					z, drift = -1.6, -di.drift*0.5
				}
			}
			if di.Direction == benchmark.LowerBetter {
				z, drift = -z, -drift
			}
			vs := make([]float64, len(months))
			for m := range months {
				v := di.mean + di.spread*z + drift*float64(m) + rng.NormFloat64()*di.noise
				p := math.Pow(10, float64(di.decimals))
				vs[m] = math.Round(min(max(v, di.lo), di.hi)*p) / p
				im.Values = append(im.Values, benchmark.Value{Indicator: di.Key, Unit: un.code, Period: code(months[m]), Value: vs[m]})
			}
			values[i][u] = vs
		}
	}
	if _, err := o.Benchmark.Import(ctx, im, false); err != nil {
		return nil, err
	}
	last, published := len(months)-1, len(months)-2
	for m := 0; m < published; m++ {
		if err := o.Benchmark.PublishPeriod(ctx, code(months[m])); err != nil {
			return nil, err
		}
	}
	// Practice notes: in each street, the two communities that improved
	// most on each indicator over the six months to the published period,
	// and the two streets that did in the district.
	groups := []string{""}
	for _, s := range streets {
		groups = append(groups, s.Code)
	}
	for i, di := range dis {
		best := map[string][2]int{} // street ("" for the streets) → the two best units
		gain := func(u int) float64 {
			g := values[i][u][published] - values[i][u][published-5]
			if di.Direction == benchmark.LowerBetter {
				g = -g
			}
			return g
		}
		for u, un := range units {
			if gain(u) <= 0 {
				continue
			}
			b, ok := best[un.street]
			if !ok {
				b = [2]int{-1, -1}
			}
			switch {
			case b[0] < 0 || gain(u) > gain(b[0]):
				b = [2]int{u, b[0]}
			case b[1] < 0 || gain(u) > gain(b[1]):
				b[1] = u
			}
			best[un.street] = b
		}
		for _, g := range groups {
			b, ok := best[g]
			if !ok {
				continue
			}
			for _, u := range b {
				if u < 0 {
					continue
				}
				if _, err := o.Assess.AddPractice(ctx, o.Assessor, assess.NewPractice{Title: di.practice[0], Body: di.practice[1], Tags: []string{di.Name.ZH},
					Unit: units[u].code, Indicators: []string{di.Key}, Period: code(months[published])}); err != nil {
					return nil, err
				}
			}
		}
	}
	// The catalogues: three indicator items and a manual one per type.
	manual := map[string]int64{}
	for _, typ := range []string{assess.Street, assess.Community} {
		for _, ni := range []assess.NewItem{
			{Code: "satisfaction", Name: "群众满意率", Kind: assess.KindIndicator, Indicator: "satisfaction_rate", Target: 95, Points: 30},
			{Code: "ontime", Name: "按期办结率", Kind: assess.KindIndicator, Indicator: "ontime_rate", Target: 98, Points: 30},
			{Code: "response", Name: "平均响应时长", Kind: assess.KindIndicator, Indicator: "response_hours", Direction: assess.LowerBetter, Target: 2, Points: 20},
			{Code: "party", Name: "党建引领", Kind: assess.KindManual, Points: 20},
		} {
			ni.UnitType = typ
			it, err := o.Assess.AddItem(ctx, o.Assessor, ni)
			if err != nil {
				return nil, err
			}
			if ni.Kind == assess.KindManual {
				manual[typ] = it.ID
			}
		}
	}
	res := &AssessResult{Seeded: true, Values: len(im.Values), Published: code(months[published]), Frozen: code(months[last])}
	for _, m := range []time.Time{months[published], months[last]} {
		c := code(m)
		if _, err := o.Assess.CreatePeriod(ctx, o.Assessor, assess.NewPeriod{Code: c, Name: fmt.Sprintf("%d年%d月考核", m.Year(), m.Month()),
			StartsOn: m.Format(time.DateOnly), EndsOn: m.AddDate(0, 1, -1).Format(time.DateOnly)}); err != nil {
			return nil, err
		}
		for _, un := range units {
			typ := assess.Community
			if un.street == "" {
				typ = assess.Street
			}
			if err := o.Assess.SetManual(ctx, o.Assessor, assess.ManualScore{Period: c, Unit: un.code, ItemID: manual[typ],
				Score: float64(12 + rng.IntN(9)), Evidence: "党建台账检查"}); err != nil {
				return nil, err
			}
		}
		if _, err := o.Assess.Freeze(ctx, o.Assessor, c); err != nil {
			return nil, err
		}
	}
	if _, err := o.Assess.Publish(ctx, o.Assessor, res.Published); err != nil {
		return nil, err
	}
	if _, err := o.Assess.FileAppeal(ctx, o.Community, assess.NewAppeal{Period: res.Frozen, Unit: DemoCommunity, ItemID: manual[assess.Community],
		Reason: "本月三次党员志愿服务活动未计入党建台账", Evidence: "活动签到表 3 份，现场照片 6 张"}); err != nil {
		return nil, err
	}
	return res, nil
}

// SeedContext declares the context variables of "similar units" peer
// groups — population, area_km2 and elderly_share
// (benchmark.DefaultContext) — with values for every street and community
// for the year of the first of the twelve months, and publishes that
// year: each community's area is its boundary's, its population a
// density of 1,000 to 6,000 residents per km² (2,000 to 20,000 people),
// its share of residents aged 60 or over 12 % to 30 %; a street's are its
// communities' sums and population-weighted share. It does nothing when
// population is declared already, and returns the values written.
func SeedContext(ctx context.Context, o AssessOptions) (_ int, err error) {
	ins, err := o.Benchmark.Indicators(ctx)
	if err != nil {
		return 0, err
	}
	for _, in := range ins {
		if in.Key == "population" {
			return 0, nil
		}
	}
	t := func(zh, en string) benchmark.Text { return benchmark.Text{ZH: zh, EN: en} }
	year := demoMonths(o.Now)[0].Format("2006")
	im := benchmark.Import{Indicators: []benchmark.Indicator{
		{Key: "population", Name: t("常住人口", "Resident population"), Unit: "persons", Direction: benchmark.HigherBetter, Source: "demo", Context: true,
			Definition: t("年末常住人口（人）", "Resident population at the end of the year (persons)")},
		{Key: "area_km2", Name: t("辖区面积", "Area"), Unit: "km2", Direction: benchmark.HigherBetter, Source: "demo", Context: true,
			Definition: t("辖区面积（平方公里）", "Area of the unit (km²)")},
		{Key: "elderly_share", Name: t("老年人口占比", "Share of residents aged 60+"), Unit: "percent", Direction: benchmark.HigherBetter, Source: "demo", Context: true,
			Definition: t("60 周岁及以上常住人口占常住人口的比例", "Residents aged 60 or over as a share of the resident population")},
	}}
	streets, err := o.Regions.Children(ctx, DistrictCode, true)
	if err != nil {
		return 0, err
	}
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 45))
	put := func(code string, pop, area, elderly float64) {
		im.Values = append(im.Values,
			benchmark.Value{Indicator: "population", Unit: code, Period: year, Value: math.Round(pop)},
			benchmark.Value{Indicator: "area_km2", Unit: code, Period: year, Value: math.Round(area*100) / 100},
			benchmark.Value{Indicator: "elderly_share", Unit: code, Period: year, Value: math.Round(elderly*10) / 10})
	}
	for _, s := range streets {
		if s.Level != region.Street {
			continue
		}
		kids, err := o.Regions.Children(ctx, s.Code, true)
		if err != nil {
			return 0, err
		}
		var pop, area, old float64
		for _, k := range kids {
			if k.Level != region.Community {
				continue
			}
			a := geo.Area(k.Geometry) / 1e6
			p := min(max(a*(1000+5000*rng.Float64()), 2000), 20000)
			e := 12 + 18*rng.Float64()
			put(k.Code, p, a, e)
			pop, area, old = pop+math.Round(p), area+a, old+math.Round(p)*e
		}
		if pop > 0 {
			put(s.Code, pop, area, old/pop)
		}
	}
	if _, err := o.Benchmark.Import(ctx, im, false); err != nil {
		return 0, err
	}
	return len(im.Values), o.Benchmark.PublishPeriod(ctx, year)
}
