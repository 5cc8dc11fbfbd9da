package sensing

import (
	"context"
	"math"
	"time"

	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/indicator"
)

// SourceName names the sensing indicator.Source.
const SourceName = "sensing"

// Indicators are the parking and alarm indicators, per region node (a
// street, say) and period (a day).
func Indicators() []indicator.Indicator {
	return []indicator.Indicator{
		{Name: "parking_violation_rate", Unit: indicator.Percent, Direction: indicator.LowerBetter,
			Label: indicator.Text{ZH: "违停率", EN: "Illegal parking rate"},
			Definition: indicator.Text{ZH: "期内开始的停车中，在禁停车位停满预警时长（8 分钟）的比例。",
				EN: "Share of the stays begun in the period that stayed on a no-parking space until the warning (8 minutes)."},
			Source: SourceName, Formula: indicator.Formula{Num: "violations", Den: "stays"}},
		{Name: "parking_turnover", Unit: indicator.Count, Direction: indicator.HigherBetter,
			Label: indicator.Text{ZH: "车位日周转次数", EN: "Turnovers per space per day"},
			Definition: indicator.Text{ZH: "期内开始的停车次数除以（有停车记录的车位数 × 天数）。",
				EN: "Stays begun in the period divided by the spaces with a stay times the days."},
			Source: SourceName, Formula: indicator.Formula{Num: "stays", Den: "space_days"}},
		{Name: "parking_avg_dwell", Unit: indicator.Hours, Direction: indicator.Neutral,
			Label: indicator.Text{ZH: "平均停车时长", EN: "Average dwell"},
			Definition: indicator.Text{ZH: "期内开始并已结束的停车的平均时长。",
				EN: "Mean length of the stays begun in the period that have ended."},
			Source: SourceName, Formula: indicator.Formula{Num: "dwell_seconds", Den: "ended_stays", Per: 3600}},
		{Name: "sensing_alarms", Unit: indicator.Count, Direction: indicator.LowerBetter,
			Label: indicator.Text{ZH: "设备告警数", EN: "Device alarms"},
			Definition: indicator.Text{ZH: "期内产生的设备告警数（重复触发计一次）。",
				EN: "Device alarms raised in the period (repeats count once)."},
			Source: SourceName, Formula: indicator.Formula{Count: "alarms"}},
	}
}

// RegisterIndicators adds the sensing Source and indicators to r.
func (s *Service) RegisterIndicators(r *indicator.Registry) (err error) {
	defer errs.Wrapf(&err, "sensing.Service.RegisterIndicators")
	return r.AddModule(SourceName, s, Indicators())
}

// Facts implements indicator.Source for region subjects (kind "region",
// a region node's code): of the stays begun in the period under the node,
// stays, violations (warned), ended_stays, dwell_seconds and space_days;
// and alarms raised.
func (s *Service) Facts(ctx context.Context, subjects []indicator.Subject, p indicator.Period) (_ map[indicator.Subject]indicator.Facts, err error) {
	defer errs.Wrapf(&err, "sensing.Service.Facts")
	out := map[indicator.Subject]indicator.Facts{}
	days := int64(math.Ceil(p.To.Sub(p.From).Hours() / 24))
	if days < 1 {
		days = 1
	}
	for _, sub := range subjects {
		if sub.Kind != "region" {
			continue
		}
		path, err := s.pathOf(ctx, sub.Code)
		if err != nil || path == "" {
			continue
		}
		facts, err := s.stayFacts(ctx, path, p)
		if err != nil {
			return nil, err
		}
		facts["space_days"] *= days
		var alarms int64
		if err := s.d.DB.QueryRow(ctx, `SELECT COUNT(*) FROM sensing_alarms WHERE region_path >= $1 AND region_path < $2 AND first_at >= $3 AND first_at < $4`,
			path, db.PathUpper(path), p.From, p.To).Scan(&alarms); err != nil {
			return nil, db.Translate(err)
		}
		facts["alarms"] = alarms
		out[sub] = facts
	}
	return out, nil
}

func (s *Service) pathOf(ctx context.Context, code string) (string, error) {
	var path string
	err := s.d.DB.QueryRow(ctx, `SELECT path FROM regions WHERE code = $1`, code).Scan(&path)
	return path, db.Translate(err)
}

// stayFacts counts the stays begun in p under path; space_days is the
// number of spaces (times the days, by the caller).
func (s *Service) stayFacts(ctx context.Context, path string, p indicator.Period) (indicator.Facts, error) {
	rows, err := s.d.DB.Query(ctx, `SELECT space_id, warned, start_at, end_at FROM sensing_stays
		WHERE region_path >= $1 AND region_path < $2 AND start_at >= $3 AND start_at < $4`, path, db.PathUpper(path), p.From, p.To)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	f := indicator.Facts{"stays": 0, "violations": 0, "ended_stays": 0, "dwell_seconds": 0}
	spaces := map[int64]bool{}
	var dwell time.Duration
	for rows.Next() {
		var space int64
		var warned int
		var start db.Time
		var end db.NullTime
		if err := rows.Scan(&space, &warned, &start, &end); err != nil {
			return nil, db.Translate(err)
		}
		f["stays"]++
		f["violations"] += int64(warned)
		spaces[space] = true
		if end.Valid {
			f["ended_stays"]++
			dwell += end.Time.Sub(start.Time)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, db.Translate(err)
	}
	f["dwell_seconds"] = int64(dwell.Seconds())
	f["space_days"] = int64(len(spaces))
	return f, nil
}
