package account

import (
	"context"
	"strconv"
	"strings"

	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// ActionSessionLogin is the audit action of a sign-in proven by an outside
// identity provider.
const ActionSessionLogin = "session.login"

// LoginExternal opens a session for the existing staff account username,
// whose identity an outside provider has proven; via names the provider
// kind ("oidc") in the login log and the audit entry. Accounts are never
// created here: an unknown username, a resident-only account, a disabled
// or locked one is errs.Forbidden, and the refusal goes to the login log.
func (s *Store) LoginExternal(ctx context.Context, username, via string, kind SessionKind, c Client) (token string, u *User, sess *Session, err error) {
	defer errs.Wrapf(&err, "account.Store.LoginExternal")
	username = strings.ToLower(strings.TrimSpace(username))
	who := clip(username, 64)
	if username == "" || len(username) > 64 {
		s.logLogin(ctx, via+":"+who, 0, c, false, via+" unknown user")
		return "", nil, nil, errs.E(errs.Forbidden, "oidc.unknown_user", who)
	}
	u, err = s.UserByName(ctx, SystemScope(), username)
	if errs.Is(err, errs.NotFound) {
		s.logLogin(ctx, username, 0, c, false, via+" unknown user")
		return "", nil, nil, errs.E(errs.Forbidden, "oidc.unknown_user", username)
	}
	if err != nil {
		return "", nil, nil, err
	}
	switch {
	case !u.IsStaff():
		s.logLogin(ctx, username, u.ID, c, false, via+" not staff")
		return "", nil, nil, errs.E(errs.Forbidden, "oidc.unknown_user", username)
	case u.Disabled:
		s.logLogin(ctx, username, u.ID, c, false, "disabled")
		return "", nil, nil, errs.E(errs.Forbidden, "account.disabled")
	case u.Locked:
		s.logLogin(ctx, username, u.ID, c, false, "locked")
		return "", nil, nil, errs.E(errs.Forbidden, "account.locked")
	}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		var err error
		token, sess, err = openSession(ctx, tx, s.cfg, u.ID, username, kind, c, via)
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Actor{UserID: u.ID, Name: username, IP: c.IP}, ActionSessionLogin,
			"user:"+strconv.FormatInt(u.ID, 10), "method "+via)
	})
	if err != nil {
		return "", nil, nil, err
	}
	return token, u, sess, nil
}
