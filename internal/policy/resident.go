package policy

import (
	"context"

	"whistle/internal/account"
	"whistle/internal/errs"
)

// personOf links a signed-in resident to their registry person: by the
// identity number on their account, else by their phone (verified by the
// SMS login) when exactly one person has it. No link is NotFound.
func (e *Engine) personOf(ctx context.Context, u *account.User) (int64, error) {
	if u == nil {
		return 0, errs.E(errs.NotFound, "policy.no_person")
	}
	if u.IDNumber != "" {
		if p, err := e.registry.PersonByIDNumber(ctx, account.SystemScope(), u.IDNumber); err == nil {
			return p.ID, nil
		}
	}
	if u.Phone != "" {
		if id, err := e.registry.PersonIDByPhone(ctx, u.Phone); err == nil {
			return id, nil
		}
	}
	return 0, errs.E(errs.NotFound, "policy.no_person")
}
