package assess

import (
	"context"
	"database/sql"
	"errors"
	"sort"
	"time"

	"whistle/internal/account"
	"whistle/internal/benchmark"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// The states of a period.
const (
	PeriodOpen      = "open"
	PeriodFrozen    = "frozen"
	PeriodPublished = "published"
)

// Period is an assessment period.
type Period struct {
	Code        string    `json:"code"`
	Name        string    `json:"name"`
	StartsOn    string    `json:"starts_on"`
	EndsOn      string    `json:"ends_on"`
	Status      string    `json:"status"`
	FrozenAt    time.Time `json:"frozen_at,omitzero"`
	PublishedAt time.Time `json:"published_at,omitzero"`
}

// NewPeriod is a period as declared.
type NewPeriod struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	StartsOn string `json:"starts_on"`
	EndsOn   string `json:"ends_on"`
}

// span returns the instants the period covers, [from, to), in UTC days.
func (p Period) span() (from, to time.Time) {
	from, _ = time.Parse(time.DateOnly, p.StartsOn)
	to, _ = time.Parse(time.DateOnly, p.EndsOn)
	return from, to.AddDate(0, 0, 1)
}

// CreatePeriod opens an assessment period; only an assessor may.
func (s *Service) CreatePeriod(ctx context.Context, u *account.User, np NewPeriod) (_ *Period, err error) {
	defer errs.Wrapf(&err, "assess.Service.CreatePeriod")
	if err := needAssessor(u); err != nil {
		return nil, err
	}
	e := errs.E(errs.Invalid, "error.invalid")
	if !benchmark.ValidPeriod(np.Code) {
		e.Field("code", "assess.err.period_code")
	}
	np.Name = checkText(e, "name", np.Name, 100, true)
	from, err1 := time.Parse(time.DateOnly, np.StartsOn)
	if err1 != nil {
		e.Field("starts_on", "assess.err.date")
	}
	to, err2 := time.Parse(time.DateOnly, np.EndsOn)
	if err2 != nil {
		e.Field("ends_on", "assess.err.date")
	}
	if err1 == nil && err2 == nil && to.Before(from) {
		e.Field("ends_on", "assess.err.date_order")
	}
	if err := failed(e); err != nil {
		return nil, err
	}
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO assess_periods (code, name, starts_on, ends_on, status, created_at) VALUES ($1, $2, $3, $4, 'open', $5)`,
			np.Code, np.Name, np.StartsOn, np.EndsOn, tx.Now())
		return db.Translate(err)
	})
	if duplicate(err) {
		return nil, errs.E(errs.Conflict, "assess.err.period_exists").Field("code", "assess.err.period_exists")
	}
	if err != nil {
		return nil, err
	}
	return s.period(ctx, s.d.DB, np.Code)
}

const periodCols = `code, name, starts_on, ends_on, status, frozen_at, published_at`

type rowScanner interface{ Scan(...any) error }

func scanPeriod(r rowScanner) (*Period, error) {
	var p Period
	var fr, pub *time.Time
	if err := r.Scan(&p.Code, &p.Name, &p.StartsOn, &p.EndsOn, &p.Status, &fr, &pub); err != nil {
		return nil, err
	}
	p.FrozenAt, p.PublishedAt = nullTime(fr), nullTime(pub)
	return &p, nil
}

// period reads one period; an unknown code is NotFound.
func (s *Service) period(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) *sql.Row
}, code string) (*Period, error) {
	p, err := scanPeriod(q.QueryRow(ctx, `SELECT `+periodCols+` FROM assess_periods WHERE code = $1`, code))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "assess.err.period", code)
	}
	return p, err
}

// Periods lists the periods, newest first; any staff member may.
func (s *Service) Periods(ctx context.Context, u *account.User) (_ []Period, err error) {
	defer errs.Wrapf(&err, "assess.Service.Periods")
	if u == nil || !u.IsStaff() {
		return nil, errs.E(errs.Forbidden, "assess.err.staff")
	}
	rows, err := s.d.DB.Query(ctx, `SELECT `+periodCols+` FROM assess_periods ORDER BY starts_on DESC, code DESC`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Period
	for rows.Next() {
		p, err := scanPeriod(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *p)
	}
	return out, rows.Err()
}

// Compute scores every indicator item of every unit for an open period
// from the indicators' values (a unit without a value scores 0 on the
// item, with no value shown). Manual scores are kept. It returns how many
// scores it wrote.
func (s *Service) Compute(ctx context.Context, u *account.User, period string) (_ int, err error) {
	defer errs.Wrapf(&err, "assess.Service.Compute(%s)", period)
	if err := needAssessor(u); err != nil {
		return 0, err
	}
	p, err := s.period(ctx, s.d.DB, period)
	if err != nil {
		return 0, err
	}
	if p.Status != PeriodOpen {
		return 0, errs.E(errs.Conflict, "assess.err.period_closed", period)
	}
	rows, err := s.computeRows(ctx, *p)
	if err != nil {
		return 0, err
	}
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error {
		if st, err := s.lockPeriod(ctx, tx, period); err != nil {
			return err
		} else if st != PeriodOpen {
			return errs.E(errs.Conflict, "assess.err.period_closed", period)
		}
		return s.writeComputed(ctx, tx, period, rows, u)
	})
	return len(rows), err
}

// computed is one indicator item's score for a unit.
type computed struct {
	unit  Unit
	item  Item
	value *float64
	score float64
}

// computeRows works out every indicator item's score for every unit.
func (s *Service) computeRows(ctx context.Context, p Period) ([]computed, error) {
	items, err := s.items(ctx, "")
	if err != nil {
		return nil, err
	}
	byType := map[string][]Unit{}
	var out []computed
	for _, it := range items {
		if it.Kind != KindIndicator {
			continue
		}
		units, ok := byType[it.UnitType]
		if !ok {
			if units, err = s.units(ctx, it.UnitType); err != nil {
				return nil, err
			}
			byType[it.UnitType] = units
		}
		for _, un := range units {
			v, ok, err := s.value(ctx, it.Indicator, un, p)
			if err != nil {
				return nil, err
			}
			c := computed{unit: un, item: it}
			if ok {
				c.value, c.score = &v, it.Score(v)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// writeComputed upserts the computed scores of an open period, leaving
// manual rows alone.
func (s *Service) writeComputed(ctx context.Context, tx *db.Tx, period string, rows []computed, u *account.User) error {
	for _, c := range rows {
		if _, err := tx.Exec(ctx, `INSERT INTO assess_scores (period, unit_type, unit_code, unit_path, item_id, value, score, source, updated_at, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'computed', $8, $9)
			ON CONFLICT (period, unit_code, item_id) DO UPDATE SET value = excluded.value, score = excluded.score, updated_at = excluded.updated_at,
				updated_by = excluded.updated_by`,
			period, c.unit.Type, c.unit.Code, c.unit.Path, c.item.ID, c.value, c.score, tx.Now(), userID(u)); err != nil {
			return err
		}
	}
	return nil
}

// lockPeriod reads a period's status inside tx, locking its row on
// PostgreSQL so that a freeze and a score change do not interleave.
func (s *Service) lockPeriod(ctx context.Context, tx *db.Tx, period string) (string, error) {
	q := `SELECT status FROM assess_periods WHERE code = $1`
	if tx.Dialect() == db.Postgres {
		q += ` FOR UPDATE`
	}
	var st string
	err := tx.QueryRow(ctx, q, period).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errs.E(errs.NotFound, "assess.err.period", period)
	}
	return st, err
}

// ManualScore is an assessor's score of a manual item, with its evidence.
type ManualScore struct {
	Period   string  `json:"period"`
	Unit     string  `json:"unit"`
	ItemID   int64   `json:"item_id"`
	Score    float64 `json:"score"`
	Evidence string  `json:"evidence"`
}

// SetManual scores a manual item of a unit in an open period.
func (s *Service) SetManual(ctx context.Context, u *account.User, ms ManualScore) (err error) {
	defer errs.Wrapf(&err, "assess.Service.SetManual")
	if err := needAssessor(u); err != nil {
		return err
	}
	un, err := s.readUnit(ctx, u, ms.Unit)
	if err != nil {
		return err
	}
	it, err := s.item(ctx, ms.ItemID)
	if err != nil {
		return err
	}
	e := errs.E(errs.Invalid, "error.invalid")
	if it.Kind != KindManual || it.UnitType != un.Type {
		e.Field("item_id", "assess.err.item_kind")
	}
	if !finite(ms.Score) || ms.Score < 0 || ms.Score > it.Points {
		e.Field("score", "assess.err.score", it.Points)
	}
	ms.Evidence = checkText(e, "evidence", ms.Evidence, 2000, true)
	if err := failed(e); err != nil {
		return err
	}
	return s.d.DB.InTx(ctx, func(tx *db.Tx) error {
		st, err := s.lockPeriod(ctx, tx, ms.Period)
		if err != nil {
			return err
		}
		if st != PeriodOpen {
			return errs.E(errs.Conflict, "assess.err.period_closed", ms.Period)
		}
		_, err = tx.Exec(ctx, `INSERT INTO assess_scores (period, unit_type, unit_code, unit_path, item_id, score, evidence, source, updated_at, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'manual', $8, $9)
			ON CONFLICT (period, unit_code, item_id) DO UPDATE SET score = excluded.score, evidence = excluded.evidence, updated_at = excluded.updated_at,
				updated_by = excluded.updated_by`, ms.Period, un.Type, un.Code, un.Path, it.ID, ms.Score, ms.Evidence, tx.Now(), userID(u))
		return err
	})
}

func (s *Service) item(ctx context.Context, id int64) (*Item, error) {
	var it Item
	err := s.d.DB.QueryRow(ctx, `SELECT id, unit_type, code, name, kind, indicator, direction, target, points, rule FROM assess_items WHERE id = $1`, id).
		Scan(&it.ID, &it.UnitType, &it.Code, &it.Name, &it.Kind, &it.Indicator, &it.Direction, &it.Target, &it.Points, &it.Rule)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "assess.err.item", id)
	}
	return &it, err
}

// Freeze computes an open period's indicator scores one last time and
// freezes them: each score is snapshotted (frozen_score), and from then on
// only a decided appeal changes a score.
func (s *Service) Freeze(ctx context.Context, u *account.User, period string) (_ *Period, err error) {
	defer errs.Wrapf(&err, "assess.Service.Freeze(%s)", period)
	if err := needAssessor(u); err != nil {
		return nil, err
	}
	p, err := s.period(ctx, s.d.DB, period)
	if err != nil {
		return nil, err
	}
	if p.Status != PeriodOpen {
		return nil, errs.E(errs.Conflict, "assess.err.period_closed", period)
	}
	rows, err := s.computeRows(ctx, *p)
	if err != nil {
		return nil, err
	}
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error {
		if st, err := s.lockPeriod(ctx, tx, period); err != nil {
			return err
		} else if st != PeriodOpen {
			return errs.E(errs.Conflict, "assess.err.period_closed", period)
		}
		if err := s.writeComputed(ctx, tx, period, rows, u); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE assess_scores SET frozen_score = score WHERE period = $1`, period); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE assess_periods SET status = 'frozen', frozen_at = $2, frozen_by = $3 WHERE code = $1`, period, tx.Now(), userID(u))
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.period(ctx, s.d.DB, period)
}

// Publish publishes a frozen period: its scores become visible to every
// unit's peers, and the benchmark figures of the period are published
// through the Publisher first (a failure there leaves the period frozen).
func (s *Service) Publish(ctx context.Context, u *account.User, period string) (_ *Period, err error) {
	defer errs.Wrapf(&err, "assess.Service.Publish(%s)", period)
	if err := needAssessor(u); err != nil {
		return nil, err
	}
	p, err := s.period(ctx, s.d.DB, period)
	if err != nil {
		return nil, err
	}
	if p.Status != PeriodFrozen {
		return nil, errs.E(errs.Conflict, "assess.err.not_frozen", period)
	}
	if s.d.Publisher != nil {
		if err := s.d.Publisher.PublishPeriod(ctx, period); err != nil {
			return nil, err
		}
	}
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error {
		if st, err := s.lockPeriod(ctx, tx, period); err != nil {
			return err
		} else if st != PeriodFrozen {
			return errs.E(errs.Conflict, "assess.err.not_frozen", period)
		}
		_, err := tx.Exec(ctx, `UPDATE assess_periods SET status = 'published', published_at = $2, published_by = $3 WHERE code = $1`, period, tx.Now(), userID(u))
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.period(ctx, s.d.DB, period)
}

// Score is one item's score of a unit in a period.
type Score struct {
	Item        Item     `json:"item"`
	Value       *float64 `json:"value,omitempty"`
	Score       float64  `json:"score"`
	FrozenScore *float64 `json:"frozen_score,omitempty"`
	Evidence    string   `json:"evidence,omitempty"`
	Source      string   `json:"source"`
}

// Card is a unit's scores in a period: the detail a unit and the
// assessors see.
type Card struct {
	Period Period  `json:"period"`
	Unit   Unit    `json:"unit"`
	Scores []Score `json:"scores"`
	Total  float64 `json:"total"`
	Max    float64 `json:"max"`
}

// Card returns a unit's scores in a period. Only the unit (and the units
// above it) and the assessors see it; anyone else gets NotFound.
func (s *Service) Card(ctx context.Context, u *account.User, unit, period string) (_ *Card, err error) {
	defer errs.Wrapf(&err, "assess.Service.Card(%s, %s)", unit, period)
	un, err := s.readUnit(ctx, u, unit)
	if err != nil {
		return nil, err
	}
	p, err := s.period(ctx, s.d.DB, period)
	if err != nil {
		return nil, err
	}
	items, err := s.items(ctx, un.Type)
	if err != nil {
		return nil, err
	}
	rows, err := s.d.DB.Query(ctx, `SELECT item_id, value, score, frozen_score, evidence, source FROM assess_scores WHERE period = $1 AND unit_code = $2`, period, un.Code)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	got := map[int64]Score{}
	for rows.Next() {
		var sc Score
		var id int64
		if err := rows.Scan(&id, &sc.Value, &sc.Score, &sc.FrozenScore, &sc.Evidence, &sc.Source); err != nil {
			return nil, err
		}
		got[id] = sc
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	c := &Card{Period: *p, Unit: un}
	for _, it := range items {
		sc, ok := got[it.ID]
		if !ok {
			sc.Source = "none"
		}
		sc.Item = it
		c.Scores = append(c.Scores, sc)
		c.Total += sc.Score
		c.Max += it.Points
	}
	c.Total = round2(c.Total)
	return c, nil
}

// Standing is a unit's total in a league table.
type Standing struct {
	Rank  int     `json:"rank"`
	Unit  Unit    `json:"unit"`
	Total float64 `json:"total"`
	Max   float64 `json:"max"`
}

// League ranks the units of a type by their total in a period. A
// published period shows every unit; before publication an assessor sees
// every unit and anyone else only the units of their own.
func (s *Service) League(ctx context.Context, u *account.User, unitType, period string) (_ []Standing, err error) {
	defer errs.Wrapf(&err, "assess.Service.League(%s, %s)", unitType, period)
	if u == nil || !u.IsStaff() {
		return nil, errs.E(errs.Forbidden, "assess.err.staff")
	}
	if !contains(UnitTypes(), unitType) {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("type", "assess.err.unit_type")
	}
	p, err := s.period(ctx, s.d.DB, period)
	if err != nil {
		return nil, err
	}
	units, err := s.units(ctx, unitType)
	if err != nil {
		return nil, err
	}
	totals, max, err := s.totals(ctx, unitType, period)
	if err != nil {
		return nil, err
	}
	var out []Standing
	for _, un := range units {
		if p.Status != PeriodPublished && !mayDetail(u, un) {
			continue
		}
		out = append(out, Standing{Unit: un, Total: round2(totals[un.Code]), Max: max})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Total != out[j].Total {
			return out[i].Total > out[j].Total
		}
		return out[i].Unit.Code < out[j].Unit.Code
	})
	for i := range out {
		// Ties share the better rank (1, 1, 3).
		out[i].Rank = i + 1
		if i > 0 && out[i].Total == out[i-1].Total {
			out[i].Rank = out[i-1].Rank
		}
	}
	return out, nil
}
