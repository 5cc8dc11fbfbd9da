package casework

import (
	"context"
	"database/sql"
	"errors"
	"strconv"

	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// LinkPatrol records that case id was reported during patrol patrolID
// (巡查中上报). Package patrol owns the patrols and may not write cases, and
// Submit has no place for the link, so casework keeps it here: a row of
// case_patrols, written after the case has committed. Only the case's own
// reporter links it; a case links to one patrol, and linking it again
// changes nothing. The caller has checked that the patrol is the
// reporter's own and running.
func (s *Service) LinkPatrol(ctx context.Context, c Caller, id, patrolID int64) (err error) {
	defer errs.Wrapf(&err, "casework.Service.LinkPatrol")
	if c.User == nil {
		return errs.E(errs.NotFound, "case.not_found")
	}
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		var reporter sql.NullInt64
		var number string
		err := tx.QueryRow(ctx, `SELECT reporter_id, number FROM cases WHERE id = $1`, id).Scan(&reporter, &number)
		if errors.Is(err, sql.ErrNoRows) || err == nil && (!reporter.Valid || reporter.Int64 != c.User.ID) {
			return errs.E(errs.NotFound, "case.not_found")
		}
		if err != nil {
			return db.Translate(err)
		}
		res, err := tx.Exec(ctx, `INSERT INTO case_patrols (case_id, patrol_id) VALUES ($1, $2) ON CONFLICT (case_id) DO NOTHING`, id, patrolID)
		if err != nil {
			return db.Translate(err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return db.Translate(err)
		}
		return audit.Record(ctx, tx, audit.Actor{UserID: c.id(), Name: c.name(), IP: c.IP}, "case.patrol_link", "case:"+number,
			"patrol="+strconv.FormatInt(patrolID, 10))
	})
}
