package account

import (
	"context"
	"strings"

	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// ActionUnmask is the audit action of every unmasked view of personal data.
const ActionUnmask = "personal.unmask"

// Reveal decides whether who may see the masked personal data of subject (an
// audit target such as "user:42" or "case:2026-000123") in the clear, and
// records the view. A caller without PermUnmask gets false and nil: they see
// the masked data, and nothing is recorded. Otherwise the personal.unmask
// entry naming the fields (joined by ", ") is written in its own transaction
// before Reveal returns true, so that no view goes unaudited (个人信息保护法):
// when the write fails, Reveal returns false and the error.
func (s *Store) Reveal(ctx context.Context, who *User, actor audit.Actor, subject string, fields ...string) (ok bool, err error) {
	defer errs.Wrapf(&err, "account.Reveal(%s)", subject)
	if !who.Can(PermUnmask) {
		return false, nil
	}
	if err := s.db.InTx(ctx, func(tx *db.Tx) error {
		return audit.Record(ctx, tx, actor, ActionUnmask, subject, strings.Join(fields, ", "))
	}); err != nil {
		return false, err
	}
	return true, nil
}
