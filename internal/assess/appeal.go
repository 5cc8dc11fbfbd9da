package assess

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// The states of an appeal.
const (
	AppealPending  = "pending"
	AppealUpheld   = "upheld"
	AppealRejected = "rejected"
)

// Appeal is a unit's dispute of one item's score, with its evidence.
type Appeal struct {
	ID           int64     `json:"id"`
	Period       string    `json:"period"`
	Unit         string    `json:"unit"`
	ItemID       int64     `json:"item_id"`
	Reason       string    `json:"reason"`
	Evidence     string    `json:"evidence,omitempty"`
	Status       string    `json:"status"`
	FiledBy      int64     `json:"filed_by"`
	FiledAt      time.Time `json:"filed_at"`
	DecidedBy    int64     `json:"decided_by,omitempty"`
	DecidedAt    time.Time `json:"decided_at,omitzero"`
	DecisionNote string    `json:"decision_note,omitempty"`
	OldScore     *float64  `json:"old_score,omitempty"`
	NewScore     *float64  `json:"new_score,omitempty"`
}

// NewAppeal is an appeal as filed.
type NewAppeal struct {
	Period   string `json:"period"`
	Unit     string `json:"unit"`
	ItemID   int64  `json:"item_id"`
	Reason   string `json:"reason"`
	Evidence string `json:"evidence"`
}

// Decision is a reviewer's decision on an appeal: upheld with the new
// score, or rejected.
type Decision struct {
	Upheld bool     `json:"upheld"`
	Score  *float64 `json:"score"`
	Note   string   `json:"note"`
}

// FileAppeal files a unit's appeal against an item's score in a frozen or
// published period. The unit's own staff file it; to anyone else the unit
// is NotFound.
func (s *Service) FileAppeal(ctx context.Context, u *account.User, na NewAppeal) (_ *Appeal, err error) {
	defer errs.Wrapf(&err, "assess.Service.FileAppeal")
	if u == nil {
		return nil, errs.E(errs.Unauthorized, "error.unauthorized")
	}
	un, err := s.unit(ctx, na.Unit)
	if err != nil {
		return nil, err
	}
	if !ownUnit(u, un) {
		return nil, errs.E(errs.NotFound, "assess.err.unit", na.Unit)
	}
	e := errs.E(errs.Invalid, "error.invalid")
	na.Reason = checkText(e, "reason", na.Reason, 1000, true)
	na.Evidence = checkText(e, "evidence", na.Evidence, 4000, true)
	it, err := s.item(ctx, na.ItemID)
	if errs.Is(err, errs.NotFound) || (err == nil && it.UnitType != un.Type) {
		e.Field("item_id", "assess.err.item_kind")
	} else if err != nil {
		return nil, err
	}
	if err := failed(e); err != nil {
		return nil, err
	}
	var id int64
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error {
		st, err := s.lockPeriod(ctx, tx, na.Period)
		if err != nil {
			return err
		}
		if st == PeriodOpen {
			return errs.E(errs.Conflict, "assess.err.appeal_open")
		}
		id, err = tx.InsertID(ctx, `INSERT INTO assess_appeals (period, unit_type, unit_code, item_id, reason, evidence, status, filed_by, filed_at)
			VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8) RETURNING id`, na.Period, un.Type, un.Code, it.ID, na.Reason, na.Evidence, u.ID, tx.Now())
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.appeal(ctx, s.d.DB, id)
}

const appealCols = `id, period, unit_code, item_id, reason, evidence, status, filed_by, filed_at, decided_by, decided_at, decision_note, old_score, new_score`

func scanAppeal(r rowScanner) (*Appeal, error) {
	var a Appeal
	var by *int64
	var at *time.Time
	if err := r.Scan(&a.ID, &a.Period, &a.Unit, &a.ItemID, &a.Reason, &a.Evidence, &a.Status, &a.FiledBy, &a.FiledAt, &by, &at, &a.DecisionNote,
		&a.OldScore, &a.NewScore); err != nil {
		return nil, err
	}
	if by != nil {
		a.DecidedBy = *by
	}
	a.FiledAt, a.DecidedAt = a.FiledAt.UTC(), nullTime(at)
	return &a, nil
}

func (s *Service) appeal(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) *sql.Row
}, id int64) (*Appeal, error) {
	a, err := scanAppeal(q.QueryRow(ctx, `SELECT `+appealCols+` FROM assess_appeals WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "assess.err.appeal", id)
	}
	return a, err
}

// Appeals lists a unit's appeals in a period, newest first.
func (s *Service) Appeals(ctx context.Context, u *account.User, unit, period string) (_ []Appeal, err error) {
	defer errs.Wrapf(&err, "assess.Service.Appeals(%s, %s)", unit, period)
	var w db.Where
	if unit != "" {
		un, err := s.readUnit(ctx, u, unit)
		if err != nil {
			return nil, err
		}
		w.Add("unit_code = ?", un.Code)
	} else if err := needAssessor(u); err != nil {
		return nil, err
	}
	if period != "" {
		w.Add("period = ?", period)
	}
	rows, err := s.d.DB.Query(ctx, `SELECT `+appealCols+` FROM assess_appeals`+w.SQL()+` ORDER BY id DESC`, w.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Appeal
	for rows.Next() {
		a, err := scanAppeal(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, rows.Err()
}

// DecideAppeal decides a pending appeal. An assessor other than the filer
// decides; upheld, the item's score becomes the decision's score (0 to
// the item's points) and the change goes into the score's history.
func (s *Service) DecideAppeal(ctx context.Context, u *account.User, id int64, d Decision) (_ *Appeal, err error) {
	defer errs.Wrapf(&err, "assess.Service.DecideAppeal(%d)", id)
	if err := needAssessor(u); err != nil {
		return nil, err
	}
	a, err := s.appeal(ctx, s.d.DB, id)
	if err != nil {
		return nil, err
	}
	it, err := s.item(ctx, a.ItemID)
	if err != nil {
		return nil, err
	}
	e := errs.E(errs.Invalid, "error.invalid")
	d.Note = checkText(e, "note", d.Note, 1000, true)
	if d.Upheld {
		switch {
		case d.Score == nil:
			e.Field("score", "field.required")
		case !finite(*d.Score) || *d.Score < 0 || *d.Score > it.Points:
			e.Field("score", "assess.err.score", it.Points)
		}
	}
	if err := failed(e); err != nil {
		return nil, err
	}
	if a.FiledBy == u.ID {
		return nil, errs.E(errs.Forbidden, "assess.err.own_appeal")
	}
	un, err := s.unit(ctx, a.Unit)
	if err != nil {
		return nil, err
	}
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error {
		if _, err := s.lockPeriod(ctx, tx, a.Period); err != nil {
			return err
		}
		var old *float64
		var cur float64
		err := tx.QueryRow(ctx, `SELECT score FROM assess_scores WHERE period = $1 AND unit_code = $2 AND item_id = $3`, a.Period, a.Unit, a.ItemID).Scan(&cur)
		switch {
		case err == nil:
			old = &cur
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		status, newScore := AppealRejected, (*float64)(nil)
		if d.Upheld {
			status, newScore = AppealUpheld, d.Score
		}
		res, err := tx.Exec(ctx, `UPDATE assess_appeals SET status = $2, decided_by = $3, decided_at = $4, decision_note = $5, old_score = $6, new_score = $7
			WHERE id = $1 AND status = 'pending'`, id, status, u.ID, tx.Now(), d.Note, old, newScore)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return errs.E(errs.Conflict, "assess.err.decided")
		}
		if !d.Upheld {
			return nil
		}
		if _, err := tx.Exec(ctx, `INSERT INTO assess_scores (period, unit_type, unit_code, unit_path, item_id, score, evidence, source, updated_at, updated_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'appeal', $8, $9)
			ON CONFLICT (period, unit_code, item_id) DO UPDATE SET score = excluded.score, source = 'appeal', updated_at = excluded.updated_at,
				updated_by = excluded.updated_by`, a.Period, un.Type, un.Code, un.Path, a.ItemID, *d.Score, a.Evidence, tx.Now(), u.ID); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO assess_score_history (period, unit_code, item_id, old_score, new_score, cause, appeal_id, at, by_user)
			VALUES ($1, $2, $3, $4, $5, 'appeal', $6, $7, $8)`, a.Period, a.Unit, a.ItemID, old, *d.Score, id, tx.Now(), u.ID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.appeal(ctx, s.d.DB, id)
}

// Change is one change of a score after its period was frozen.
type Change struct {
	ItemID   int64     `json:"item_id"`
	OldScore *float64  `json:"old_score,omitempty"`
	NewScore float64   `json:"new_score"`
	Cause    string    `json:"cause"`
	AppealID int64     `json:"appeal_id,omitempty"`
	At       time.Time `json:"at"`
}

// History lists the changes of a unit's scores in a period, oldest first.
func (s *Service) History(ctx context.Context, u *account.User, unit, period string) (_ []Change, err error) {
	defer errs.Wrapf(&err, "assess.Service.History(%s, %s)", unit, period)
	un, err := s.readUnit(ctx, u, unit)
	if err != nil {
		return nil, err
	}
	rows, err := s.d.DB.Query(ctx, `SELECT item_id, old_score, new_score, cause, appeal_id, at FROM assess_score_history WHERE unit_code = $1 AND period = $2 ORDER BY id`,
		un.Code, period)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var ap *int64
		if err := rows.Scan(&c.ItemID, &c.OldScore, &c.NewScore, &c.Cause, &ap, &c.At); err != nil {
			return nil, err
		}
		if ap != nil {
			c.AppealID = *ap
		}
		c.At = c.At.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}
