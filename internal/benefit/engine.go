package benefit

import (
	"context"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/policy"
)

// Engine adapts the policy engine to Evaluator.
type Engine struct{ E *policy.Engine }

// Evaluate answers the policy engine's results as Matches. A 免申即享
// answer whose facts are not all verified is not paid without an
// application: its AutoPay is cleared.
func (p Engine) Evaluate(ctx context.Context, sc account.Scope, s Subject, date time.Time) (_ []Match, err error) {
	defer errs.Wrapf(&err, "benefit.Engine.Evaluate(%s %d)", s.Kind, s.ID)
	rs, err := p.E.Evaluate(ctx, sc, policy.Subject{Kind: s.Kind, ID: s.ID}, date)
	if err != nil {
		return nil, err
	}
	out := make([]Match, 0, len(rs))
	for _, r := range rs {
		m := Match{Policy: r.Policy, Version: r.Version, Title: Text(r.Title), Result: r.Result, Amount: r.Amount, Missing: r.Missing,
			Department: r.Department, AutoPay: r.AutoPay && r.Verified, Period: r.Period}
		for _, d := range r.Documents {
			m.Documents = append(m.Documents, Text(d))
		}
		for _, c := range r.Conditions {
			m.Conditions = append(m.Conditions, Condition{ID: c.ID, Result: c.Result, Values: c.Values, Text: Text(c.Text), Source: c.Source})
		}
		out = append(out, m)
	}
	return out, nil
}

// Receiving reports which of the subjects receive the policy: a payout
// of this month, or an application of this month neither refused nor
// withdrawn (policy.Engine.UseReceiving, for 应享未享).
func (s *Service) Receiving(ctx context.Context, pol string, subs []policy.Subject) (_ map[policy.Subject]bool, err error) {
	defer errs.Wrapf(&err, "benefit.Service.Receiving(%s, %d)", pol, len(subs))
	out := map[policy.Subject]bool{}
	// The policy is paid per month, per year or once: its payouts and
	// applications carry one of these three forms of the present.
	now := s.d.DB.Now()
	periods := []any{s.periodOf("month", now), s.periodOf("year", now), s.periodOf("once", now)}
	for len(subs) > 0 {
		chunk := subs[:min(len(subs), 500)]
		subs = subs[len(chunk):]
		ids := make([]any, 0, len(chunk))
		for _, sub := range chunk {
			ids = append(ids, sub.ID)
		}
		for _, q := range []string{`SELECT subject_kind, subject_id FROM benefit_payouts`, `SELECT subject_kind, subject_id FROM benefit_applications`} {
			w := &db.Where{}
			w.Add("policy = ?", pol)
			w.Add("period IN (?, ?, ?)", periods...)
			w.Add("subject_id IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(ids)), ", ")+")", ids...)
			if strings.HasSuffix(q, "applications") {
				w.Add("status NOT IN ('refused', 'withdrawn')")
			}
			if err := receivingRows(ctx, s.d.DB, q+w.SQL(), w.Args(), out); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func receivingRows(ctx context.Context, d *db.DB, q string, args []any, out map[policy.Subject]bool) error {
	rows, err := d.Query(ctx, q, args...)
	if err != nil {
		return db.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var sub policy.Subject
		if err := rows.Scan(&sub.Kind, &sub.ID); err != nil {
			return db.Translate(err)
		}
		out[sub] = true
	}
	return db.Translate(rows.Err())
}
