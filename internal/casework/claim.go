package casework

import (
	"context"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// ClaimByPhone makes resident u the reporter of the cases filed without an
// account under phone, a number u has just proven by SMS code
// (account.PhoneStore.SignIn), so that they appear under 我的 and u may
// rate and follow them. It returns how many it claimed. The cases stay
// anonymous to staff. Staff users claim nothing: their numbers are not
// proven this way.
func (s *Service) ClaimByPhone(ctx context.Context, u *account.User, phone string) (_ int, err error) {
	defer errs.Wrapf(&err, "casework.Service.ClaimByPhone")
	if u == nil || u.IsStaff() || !account.ValidPhone(phone) {
		return 0, nil
	}
	var n int64
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE cases SET reporter_id = $1 WHERE reporter_id IS NULL AND reporter_phone = $2`, u.ID, phone)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
