package dispute

import (
	"context"
	"strings"
	"time"

	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/indicator"
)

// SourceName is the name of the disputes' indicator Source.
const SourceName = "disputes"

// SubjectRegion is the subject kind of the facts: a region node's code.
const SubjectRegion = "region"

// Source reads the disputes' facts (dispute_daily) of region nodes over a
// period: registered (and registered_<type> per type), concluded (agreed
// or failed) and agreed.
type Source struct {
	db  *db.DB
	loc *time.Location
}

// Source returns the Service's indicator Source.
func (s *Service) Source() *Source { return &Source{db: s.d.DB, loc: s.d.Location} }

// days is the period as the district's days, From's day included and the
// day after To's last instant excluded.
func (src *Source) days(p indicator.Period) (from, to string) {
	f := p.From.In(src.loc)
	t := p.To.In(src.loc)
	from = time.Date(f.Year(), f.Month(), f.Day(), 0, 0, 0, 0, src.loc).Format(time.DateOnly)
	end := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, src.loc)
	if end.Before(t) {
		end = end.AddDate(0, 0, 1)
	}
	return from, end.Format(time.DateOnly)
}

// Facts implements indicator.Source: one read for every region subject.
// A node with no dispute in the period has zero facts (the success rate
// then has no data); subjects of other kinds are left out.
func (src *Source) Facts(ctx context.Context, subjects []indicator.Subject, p indicator.Period) (_ map[indicator.Subject]indicator.Facts, err error) {
	defer errs.Wrapf(&err, "dispute.Source.Facts(%d)", len(subjects))
	out := map[indicator.Subject]indicator.Facts{}
	var w db.Where
	var in []string
	for _, s := range subjects {
		if s.Kind != SubjectRegion {
			continue
		}
		out[s] = indicator.Facts{}
		in = append(in, w.Arg(s.Code))
	}
	if len(in) == 0 {
		return out, nil
	}
	from, to := src.days(p)
	q := `SELECT region_code, type, SUM(registered), SUM(concluded), SUM(agreed) FROM dispute_daily
		WHERE region_code IN (` + strings.Join(in, ", ") + `) AND day >= ` + w.Arg(from) + ` AND day < ` + w.Arg(to) + ` GROUP BY region_code, type`
	rows, err := src.db.Query(ctx, q, w.Args()...)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var code, typ string
		var reg, con, agr int64
		if err := rows.Scan(&code, &typ, &reg, &con, &agr); err != nil {
			return nil, db.Translate(err)
		}
		f := out[indicator.Subject{Kind: SubjectRegion, Code: code}]
		f["registered"] += reg
		f["registered_"+typ] += reg
		f["concluded"] += con
		f["agreed"] += agr
	}
	return out, db.Translate(rows.Err())
}

// typeLabels are the dispute types in both languages, for the indicator
// labels (the pages take theirs from the catalogue).
var typeLabels = map[string]indicator.Text{
	"family":    {ZH: "婚姻家庭", EN: "family"},
	"neighbour": {ZH: "邻里", EN: "neighbour"},
	"property":  {ZH: "物业", EN: "property management"},
	"labour":    {ZH: "劳动争议", EN: "labour"},
	"land":      {ZH: "土地山林", EN: "land"},
	"contract":  {ZH: "合同债务", EN: "contract and debt"},
	"tort":      {ZH: "损害赔偿", EN: "damages"},
	"other":     {ZH: "其他", EN: "other"},
}

// Indicators are the disputes' indicators: the mediation success rate
// (调解成功率), the disputes registered, and those of each type.
func Indicators() []indicator.Indicator {
	out := []indicator.Indicator{
		{Name: "dispute_mediation_success_rate", Unit: indicator.Percent, Direction: indicator.HigherBetter, Source: SourceName,
			Label: indicator.Text{ZH: "调解成功率", EN: "Mediation success rate"},
			Definition: indicator.Text{ZH: "期间内调解终结（达成协议或调解不成）的纠纷中，达成协议的比例。",
				EN: "Of the disputes whose mediation ended in the period (agreement or failure), the share that ended in an agreement."},
			Formula: indicator.Formula{Num: "agreed", Den: "concluded"}},
		{Name: "disputes_registered", Unit: indicator.Count, Direction: indicator.Neutral, Source: SourceName,
			Label:      indicator.Text{ZH: "登记纠纷数", EN: "Disputes registered"},
			Definition: indicator.Text{ZH: "期间内登记的矛盾纠纷数。", EN: "The disputes registered in the period."},
			Formula:    indicator.Formula{Count: "registered"}},
	}
	for _, t := range disputeTypes {
		l := typeLabels[t]
		out = append(out, indicator.Indicator{Name: "disputes_registered_" + t, Unit: indicator.Count, Direction: indicator.Neutral, Source: SourceName,
			Label:      indicator.Text{ZH: "登记纠纷数（" + l.ZH + "）", EN: "Disputes registered (" + l.EN + ")"},
			Definition: indicator.Text{ZH: "期间内登记的" + l.ZH + "类矛盾纠纷数。", EN: "The " + l.EN + " disputes registered in the period."},
			Formula:    indicator.Formula{Count: "registered_" + t}})
	}
	return out
}

// RegisterIndicators adds the Source and the indicators to r.
func (s *Service) RegisterIndicators(r *indicator.Registry) (err error) {
	defer errs.Wrapf(&err, "dispute.RegisterIndicators")
	return r.AddModule(SourceName, s.Source(), Indicators())
}
