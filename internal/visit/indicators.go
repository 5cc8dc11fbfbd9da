package visit

import (
	"context"

	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/indicator"
)

// SourceName names the visits' indicator.Source.
const SourceName = "visits"

// Indicators are the visits' indicators for 考核: the completion rate of
// the tasks due in a period and the count of those overdue.
func Indicators() []indicator.Indicator {
	return []indicator.Indicator{
		{Name: "visit_completion_rate", Unit: indicator.Percent, Direction: indicator.HigherBetter,
			Label: indicator.Text{ZH: "走访完成率", EN: "Visit completion rate"},
			Definition: indicator.Text{ZH: "期内到期的走访任务中已完成的比例（已取消的不计）。",
				EN: "Share of the visit tasks due in the period that were done (cancelled ones left out)."},
			Source: SourceName, Formula: indicator.Formula{Num: "visits_done", Den: "visits_due"}},
		{Name: "visit_overdue", Unit: indicator.Count, Direction: indicator.LowerBetter,
			Label: indicator.Text{ZH: "逾期未走访", EN: "Overdue visits"},
			Definition: indicator.Text{ZH: "期内到期、至期末（或现在）仍未完成的走访任务数。",
				EN: "Visit tasks due in the period and still not done at its end (or now)."},
			Source: SourceName, Formula: indicator.Formula{Count: "visits_overdue"}},
	}
}

// RegisterIndicators adds the visits' Source and indicators to r.
func (s *Store) RegisterIndicators(r *indicator.Registry) (err error) {
	defer errs.Wrapf(&err, "visit.RegisterIndicators")
	return r.AddModule(SourceName, s, Indicators())
}

// Facts implements indicator.Source for region subjects (kind "region",
// a region node's code): of the tasks under the node due in the period,
// visits_due (not cancelled), visits_done and visits_overdue (open at the
// period's end, or now if earlier).
func (s *Store) Facts(ctx context.Context, subjects []indicator.Subject, p indicator.Period) (_ map[indicator.Subject]indicator.Facts, err error) {
	defer errs.Wrapf(&err, "visit.Store.Facts")
	out := map[indicator.Subject]indicator.Facts{}
	cut := p.To
	if now := s.db.Now(); now.Before(cut) {
		cut = now
	}
	for _, sub := range subjects {
		if sub.Kind != "region" {
			continue
		}
		n, err := s.regs.Get(ctx, sub.Code)
		if err != nil {
			continue
		}
		var due, done, overdue int64
		err = s.db.QueryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN status = 'open' AND due_at <= $1 THEN 1 ELSE 0 END), 0)
			FROM visit_tasks WHERE region_path >= $2 AND region_path < $3 AND status <> 'cancelled' AND due_at >= $4 AND due_at < $5`,
			cut, n.Path, db.PathUpper(n.Path), p.From, p.To).Scan(&due, &done, &overdue)
		if err != nil {
			return nil, db.Translate(err)
		}
		out[sub] = indicator.Facts{"visits_due": due, "visits_done": done, "visits_overdue": overdue}
	}
	return out, nil
}
