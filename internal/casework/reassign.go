package casework

import (
	"context"
	"slices"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// ActReassign is an admin moving a case from its assigned person to a
// colleague (a user who left or is away): a step outside the workflow's
// transitions that keeps the status.
const ActReassign Action = "reassign"

// DataFromUser is the username a reassigned case was taken from.
const DataFromUser = "from_user"

// holdingRoles are the roles under which a person holds cases.
var holdingRoles = []account.Role{account.GridWorker, account.CommunityStaff, account.StreetStaff, account.DepartmentHandler,
	account.PartyMember}

// Reassign moves every open case assigned to the user from to the user
// to, in one transaction: each case takes an ActReassign step through the
// path of every change (its timeline entry naming both users, an inbox
// task for the new holder, the audit entry, the event, the deadline
// computation, the rollups). Both users must be in the caller's scope.
// The colleague must be able to hold the cases, else Invalid on field
// "to" and nothing moves: enabled and unlocked, holding one of the
// holding roles from holds, and with every case in their data scope. It
// returns the numbers of the cases moved.
func (s *Service) Reassign(ctx context.Context, caller Caller, from, to int64) (_ []string, err error) {
	defer errs.Wrapf(&err, "casework.Service.Reassign")
	scope := caller.Scope()
	fu, err := s.accounts.User(ctx, scope, from)
	if err != nil {
		return nil, err
	}
	bad := func(key string, args ...any) error {
		return errs.E(errs.Invalid, "error.invalid").Field("to", key, args...)
	}
	if to == 0 {
		return nil, bad("field.required")
	}
	if to == from {
		return nil, bad("user.reassign_self")
	}
	tu, err := s.accounts.User(ctx, scope, to)
	if errs.Is(err, errs.NotFound) {
		return nil, bad("user.reassign_unknown")
	}
	if err != nil {
		return nil, err
	}
	if tu.Disabled || tu.Locked {
		return nil, bad("user.reassign_disabled", tu.Username)
	}
	if !sharesRole(fu, tu) {
		return nil, bad("user.reassign_role", tu.Username)
	}
	var moved []string
	err = s.write(ctx, func(tx *db.Tx) error {
		moved = moved[:0]
		cases, err := s.assignedOpen(ctx, tx, account.SystemScope(), from)
		if err != nil {
			return err
		}
		visible, err := s.assignedOpen(ctx, tx, account.ScopeOf(tu), from)
		if err != nil {
			return err
		}
		seen := map[int64]bool{}
		for _, c := range visible {
			seen[c.ID] = true
		}
		for _, c := range cases {
			if !seen[c.ID] {
				return bad("user.reassign_scope", tu.Username, c.Number)
			}
		}
		for _, c := range cases {
			w, err := s.workflowOf(ctx, c)
			if err != nil {
				return err
			}
			t := Transition{Action: ActReassign, Effects: []Effect{EffAssign, EffNotifyHandler}}
			in := Input{Target: &Target{User: tu.ID}}
			if _, err := s.step(ctx, tx, caller, c, w, t, roleOf(caller), in, stepOpts{data: map[string]any{DataFromUser: fu.Username}}); err != nil {
				return err
			}
			moved = append(moved, c.Number)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return moved, nil
}

// assignedOpen reads, inside tx, the open cases assigned to user within scope.
func (s *Service) assignedOpen(ctx context.Context, tx *db.Tx, scope account.Scope, user int64) ([]*Case, error) {
	var w db.Where
	w.Add("c.assignee_id = ?", user)
	w.Add(OpenSQL("c.status"))
	scope.Apply(&w, ScopeColumns("c"))
	return scanCases(tx.Query(ctx, `SELECT `+caseCols+caseFrom+w.SQL()+` ORDER BY c.id`, w.Args()...))
}

// sharesRole reports whether to holds a role under which from holds cases.
func sharesRole(from, to *account.User) bool {
	for _, r := range holdingRoles {
		if from.Has(r) && to.Has(r) {
			return true
		}
	}
	// A user with no holding role (an admin who claimed nothing) can hand
	// over to any holder.
	return !slices.ContainsFunc(holdingRoles, from.Has) && slices.ContainsFunc(holdingRoles, to.Has)
}

// roleOf is the role an admin's step is recorded under.
func roleOf(c Caller) string {
	if c.User != nil && c.User.Has(account.Admin) {
		return string(account.Admin)
	}
	return "system"
}
