package benefit

import (
	"context"
	"strings"
	"time"

	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/indicator"
	"whistle/internal/policy"
)

// SourceName names the benefits' indicator.Source.
const SourceName = "benefits"

// SourceDoc describes the Source for docs/INDICATORS.md.
const SourceDoc = "the eligibility batch's stored results (elig_blocks, last run) with benefit_payouts and benefit_applications: " +
	"the (subject, policy) pairs eligible now and those claimed for the present period (a payout, or an application neither refused nor " +
	"withdrawn), which the period does not change; and the payouts made in the period (amounts, days from the eligibility check). " +
	"Subjects: region nodes (kind `region`) and policies (kind `policy`, the policy's key, over the whole district)."

// SubjectPolicy is the indicator subject kind of one policy over the
// whole district: its code is the policy's key (uptake per policy). The
// Source also answers region subjects (kind "region"), over every policy.
const SubjectPolicy = "policy"

// The benefits' indicators (issue 18, Build 6).
const (
	IndUnclaimed    = "benefit_unclaimed"
	IndUptake       = "benefit_uptake_rate"
	IndDaysToPayout = "benefit_days_to_payout"
	IndPaid         = "benefit_paid_amount"
)

// The facts the Source reads. eligible, claimed and unclaimed count
// (subject, policy) pairs as they stand now: the stored results of the
// last eligibility run and the present period's payouts and applications
// (the period asked for does not apply, there being no history of
// eligibility). payouts, wait_s and paid_fen are the payouts paid in the
// period.
const (
	factEligible  = "eligible"
	factClaimed   = "claimed"
	factUnclaimed = "unclaimed"
	factPayouts   = "payouts"
	factWait      = "wait_s"
	factPaid      = "paid_fen"
)

// Indicators are the benefits' indicators: 应享未享, uptake, the days from
// eligibility to payout and the amounts paid.
func Indicators() []indicator.Indicator {
	return []indicator.Indicator{
		{Name: IndUnclaimed, Unit: indicator.Count, Direction: indicator.LowerBetter,
			Label: indicator.Text{ZH: "应享未享", EN: "Eligible but not receiving"},
			Definition: indicator.Text{ZH: "最近一次资格核算认定符合条件、但本期既无发放也无在办申请的（对象，政策）数：与应享未享名单同口径；统计期不适用，为当前状态。",
				EN: "(Subject, policy) pairs the last eligibility run found eligible with neither a payout nor a live application for the present period: " +
					"the 应享未享 list's count. The period does not apply; it is the present state."},
			Source: SourceName, Formula: indicator.Formula{Count: factUnclaimed}, Current: true},
		{Name: IndUptake, Unit: indicator.Percent, Direction: indicator.HigherBetter,
			Label: indicator.Text{ZH: "政策享受率", EN: "Benefit uptake rate"},
			Definition: indicator.Text{ZH: "最近一次资格核算认定符合条件的（对象，政策）中，本期已发放或有在办申请（未驳回、未撤回）的比例；按政策（对象类型 policy）或按区域统计，统计期不适用。",
				EN: "Share of the (subject, policy) pairs the last eligibility run found eligible that have a payout or a live application " +
					"(neither refused nor withdrawn) for the present period; per policy (subject kind policy) or per region. The period does not apply."},
			Source: SourceName, Formula: indicator.Formula{Num: factClaimed, Den: factEligible}, Current: true},
		{Name: IndDaysToPayout, Unit: indicator.Days, Direction: indicator.LowerBetter,
			Label: indicator.Text{ZH: "资格认定至发放平均天数", EN: "Mean days from eligibility to payout"},
			Definition: indicator.Text{ZH: "期内发放的款项，自认定符合条件（申请时的资格核验，或免申即享的自动核验）至发放的平均自然天数。",
				EN: "Of the payouts made in the period, the mean calendar days from being found eligible (the check at application, or " +
					"the automatic check of 免申即享) to the payout."},
			Source: SourceName, Formula: indicator.Formula{Num: factWait, Den: factPayouts, Per: 86400}},
		{Name: IndPaid, Unit: indicator.Yuan, Direction: indicator.Neutral,
			Label: indicator.Text{ZH: "发放金额", EN: "Amount paid"},
			Definition: indicator.Text{ZH: "期内发放的补助金额合计（元），按发放时对象所在区域（街道、社区、网格）或按政策统计。",
				EN: "The benefits paid in the period, in yuan, by the region the subject lived in when paid (street, community, grid) or by policy."},
			Source: SourceName, Formula: indicator.Formula{Count: factPaid, Per: 100}},
	}
}

// StoredEligibility is where the Source reads who is eligible:
// policy.Engine's stored results.
type StoredEligibility interface {
	EachEligible(ctx context.Context, path string, fn func(s policy.Subject, regionPath, policy string) error) error
}

// RegisterIndicators adds the benefits' Source and indicators to r; the
// stored eligibility is read through el.
func (s *Service) RegisterIndicators(r *indicator.Registry, el StoredEligibility) (err error) {
	defer errs.Wrapf(&err, "benefit.Service.RegisterIndicators")
	return r.AddModule(SourceName, &source{s: s, el: el}, Indicators())
}

// source is the benefits' indicator.Source.
type source struct {
	s  *Service
	el StoredEligibility
}

type claimKey struct {
	kind   string
	id     int64
	policy string
}

// target is one subject the facts are counted for: a region node's path
// (every policy) or a policy (every region).
type target struct {
	sub    indicator.Subject
	path   string
	policy string
}

func (t target) covers(path, pol string) bool {
	if t.policy != "" {
		return t.policy == pol
	}
	return strings.HasPrefix(path, t.path)
}

// Facts implements indicator.Source for region subjects (a node's code)
// and policy subjects (a policy's key). It reads the stored results and
// the payouts once for all the subjects, under the deepest path that
// covers them.
func (src *source) Facts(ctx context.Context, subjects []indicator.Subject, p indicator.Period) (_ map[indicator.Subject]indicator.Facts, err error) {
	defer errs.Wrapf(&err, "benefit.source.Facts(%d)", len(subjects))
	s := src.s
	var ts []target
	for _, sub := range subjects {
		switch sub.Kind {
		case "region":
			n, err := s.d.Regions.Get(ctx, sub.Code)
			if errs.Is(err, errs.NotFound) {
				continue
			}
			if err != nil {
				return nil, err
			}
			ts = append(ts, target{sub: sub, path: n.Path})
		case SubjectPolicy:
			if sub.Code != "" {
				ts = append(ts, target{sub: sub, policy: sub.Code})
			}
		}
	}
	out := make(map[indicator.Subject]indicator.Facts, len(ts))
	if len(ts) == 0 {
		return out, nil
	}
	for _, t := range ts {
		out[t.sub] = indicator.Facts{factEligible: 0, factClaimed: 0, factUnclaimed: 0, factPayouts: 0, factWait: 0, factPaid: 0}
	}
	under := commonPath(ts)
	claimed, err := s.claims(ctx, under)
	if err != nil {
		return nil, err
	}
	err = src.el.EachEligible(ctx, under, func(sub policy.Subject, path, pol string) error {
		c := claimed[claimKey{sub.Kind, sub.ID, pol}]
		for _, t := range ts {
			if !t.covers(path, pol) {
				continue
			}
			f := out[t.sub]
			f[factEligible]++
			if c {
				f[factClaimed]++
			} else {
				f[factUnclaimed]++
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	from, to := s.days(p)
	var w db.Where
	w.Add("paid_at >= ? AND paid_at < ?", from, to)
	if under != "" {
		w.Add("region_path >= ? AND region_path < ?", under, db.PathUpper(under))
	}
	rows, err := s.d.DB.Query(ctx, `SELECT region_path, policy, amount_fen, eligible_at, paid_at FROM benefit_payouts`+w.SQL(), w.Args()...)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var path, pol string
		var amount int64
		var eligible, paid db.Time
		if err := rows.Scan(&path, &pol, &amount, &eligible, &paid); err != nil {
			return nil, db.Translate(err)
		}
		wait := int64(paid.Time.Sub(eligible.Time) / time.Second)
		for _, t := range ts {
			if !t.covers(path, pol) {
				continue
			}
			f := out[t.sub]
			f[factPayouts]++
			f[factWait] += max(wait, 0)
			f[factPaid] += amount
		}
	}
	return out, db.Translate(rows.Err())
}

// commonPath is the deepest region path under which every target lies:
// "" (everywhere) when a policy is among them.
func commonPath(ts []target) string {
	var common string
	for i, t := range ts {
		if t.policy != "" {
			return ""
		}
		if i == 0 {
			common = t.path
			continue
		}
		for !strings.HasPrefix(t.path, common) {
			cut := strings.LastIndex(strings.TrimSuffix(common, "/"), "/")
			if cut < 0 {
				return ""
			}
			common = common[:cut+1]
		}
	}
	return common
}

// claims are the (subject, policy) pairs under path that receive their
// policy for the present period, as Receiving counts them: a payout, or
// an application neither refused nor withdrawn.
func (s *Service) claims(ctx context.Context, path string) (map[claimKey]bool, error) {
	now := s.d.DB.Now()
	out := map[claimKey]bool{}
	for _, table := range []string{"benefit_payouts", "benefit_applications"} {
		var w db.Where
		w.Add("period IN (?, ?, ?)", s.periodOf("month", now), s.periodOf("year", now), s.periodOf("once", now))
		if path != "" {
			w.Add("region_path >= ? AND region_path < ?", path, db.PathUpper(path))
		}
		if table == "benefit_applications" {
			w.Add("status NOT IN ('refused', 'withdrawn')")
		}
		rows, err := s.d.DB.Query(ctx, `SELECT subject_kind, subject_id, policy FROM `+table+w.SQL(), w.Args()...)
		if err != nil {
			return nil, db.Translate(err)
		}
		for rows.Next() {
			var k claimKey
			if err := rows.Scan(&k.kind, &k.id, &k.policy); err != nil {
				rows.Close()
				return nil, db.Translate(err)
			}
			// A household is stored under its head's person row.
			if k.kind == Household {
				k.kind = Person
			}
			out[k] = true
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, db.Translate(err)
		}
	}
	return out, nil
}

// days rounds a period to whole days in the district's time zone: from
// the start of From's day to the start of the day after the last instant
// before To.
func (s *Service) days(p indicator.Period) (time.Time, time.Time) {
	start := func(t time.Time) time.Time {
		t = t.In(s.d.Location)
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, s.d.Location)
	}
	from, to := start(p.From), start(p.To)
	if to.Before(p.To) {
		to = to.AddDate(0, 0, 1)
	}
	return from.UTC(), to.UTC()
}
