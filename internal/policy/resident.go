package policy

import (
	"context"

	"whistle/internal/account"
	"whistle/internal/errs"
)

// personOf links a signed-in resident to their registry person as the
// registry does (registry.Store.ResidentPerson: by identity number, else
// by a phone they proved by SMS code that only one person has). No link is NotFound "policy.no_person";
// a phone several people share is NotFound "policy.person_ambiguous" with
// the reason "ambiguous": nobody is linked, and the resident is told to
// link by identity number.
func (e *Engine) personOf(ctx context.Context, u *account.User) (int64, error) {
	var phones []string
	if u != nil && e.accounts != nil {
		var err error
		if phones, err = e.accounts.VerifiedPhones(ctx, u.ID); err != nil {
			return 0, err
		}
	}
	id, err := e.registry.ResidentPerson(ctx, u, phones)
	switch {
	case err == nil:
		return id, nil
	case isAmbiguous(err):
		return 0, errs.E(errs.NotFound, "policy.person_ambiguous").WithReason("ambiguous")
	case errs.Is(err, errs.NotFound):
		return 0, errs.E(errs.NotFound, "policy.no_person")
	}
	return 0, err
}

func isAmbiguous(err error) bool {
	e, ok := errs.As(err)
	return ok && e.Reason == "ambiguous"
}
