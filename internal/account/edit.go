package account

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"

	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// UserChange is what UpdateUser changes of a user; a nil field (a nil
// Roles) is left as it is.
type UserChange struct {
	DisplayName *string
	Phone       *string
	Roles       []Role
	RegionCode  *string
	// DepartmentCode binds a department handler; "" clears it.
	DepartmentCode *string
	// Disabled: a disabled user cannot log in and their sessions end.
	Disabled *bool
	// Locked is the admin's hard lock (SetLocked).
	Locked *bool
}

// empty reports whether the change changes nothing.
func (c UserChange) empty() bool {
	return c.DisplayName == nil && c.Phone == nil && c.Roles == nil && c.RegionCode == nil && c.DepartmentCode == nil &&
		c.Disabled == nil && c.Locked == nil
}

// UpdateUser applies ch to the user id within scope, in one transaction with
// its audit entry (action user.update, the fields before and after; a phone
// number only as "changed"). Disabling or locking ends the user's sessions;
// a change of roles or region changes their data scope at their next
// request, as the session reads the user each time. The actor may not
// disable, lock or demote themselves (an admin locked out by their own hand
// needs the command line). Bad input is Invalid with a message per field,
// and nothing is written.
func (s *Store) UpdateUser(ctx context.Context, actor audit.Actor, scope Scope, id int64, ch UserChange) (_ *User, err error) {
	defer errs.Wrapf(&err, "account.Store.UpdateUser")
	before, err := s.User(ctx, scope, id)
	if err != nil {
		return nil, err
	}
	e := errs.E(errs.Invalid, "error.invalid")
	if ch.empty() {
		e.Field("disabled", "user.nothing_to_change")
	}
	after := *before
	if ch.DisplayName != nil {
		after.DisplayName = strings.TrimSpace(*ch.DisplayName)
		if len(after.DisplayName) > 100 {
			e.Field("display_name", "field.too_long", 100)
		}
	}
	if ch.Phone != nil {
		after.Phone = strings.TrimSpace(*ch.Phone)
		if after.Phone != "" && !ValidPhone(after.Phone) {
			e.Field("phone", "field.phone_format")
		}
	}
	if ch.Roles != nil {
		after.Roles = nil
		for _, r := range ch.Roles {
			if !r.Valid() {
				e.Field("roles", "field.unknown_role", string(r))
			} else if !slices.Contains(after.Roles, r) {
				after.Roles = append(after.Roles, r)
			}
		}
		if len(ch.Roles) == 0 {
			e.Field("roles", "field.required")
		}
	}
	if ch.RegionCode != nil {
		after.Region.Code = strings.TrimSpace(*ch.RegionCode)
		if after.Region.Code == "" {
			e.Field("region", "field.required")
		}
	}
	if ch.DepartmentCode != nil {
		after.DepartmentCode = strings.TrimSpace(*ch.DepartmentCode)
	}
	if !after.Has(DepartmentHandler) {
		// A department belongs to the handler role: dropping the role
		// unbinds it, unless the caller insisted on one.
		if ch.DepartmentCode != nil && after.DepartmentCode != "" {
			e.Field("department", "field.department_needs_role")
		}
		after.DepartmentCode = ""
	} else if after.DepartmentCode == "" {
		e.Field("department", "field.role_needs_department")
	}
	if ch.Disabled != nil {
		after.Disabled = *ch.Disabled
	}
	if ch.Locked != nil {
		after.Locked = *ch.Locked
	}
	if actor.UserID == id {
		switch {
		case after.Disabled && !before.Disabled:
			e.Field("disabled", "user.not_yourself")
		case after.Locked && !before.Locked:
			e.Field("locked", "user.not_yourself")
		case before.Has(Admin) && !after.Has(Admin):
			e.Field("roles", "user.not_yourself")
		}
	}
	if len(e.Fields) > 0 {
		return nil, e
	}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		if after.Region.Code != before.Region.Code {
			var path string
			err := tx.QueryRow(ctx, `SELECT path FROM regions WHERE code = $1`, after.Region.Code).Scan(&path)
			if errors.Is(err, sql.ErrNoRows) || (err == nil && !scope.Covers(path)) {
				// Moving a user out of one's scope reads as an unknown region.
				return errs.E(errs.Invalid, "error.invalid").Field("region", "field.unknown_region", after.Region.Code)
			}
			if err != nil {
				return err
			}
		}
		dept, err := departmentID(ctx, tx, after.DepartmentCode)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE users SET display_name = $1, phone = $2, roles = $3, region_code = $4, department_id = $5,
			disabled = $6, locked = $7, updated_at = $8 WHERE id = $9`,
			after.DisplayName, after.Phone, joinRoles(after.Roles), after.Region.Code, dept, after.Disabled, after.Locked, tx.Now(), id); err != nil {
			return err
		}
		if (after.Disabled && !before.Disabled) || (after.Locked && !before.Locked) {
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, id); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, actor, "user.update", "user:"+strconv.FormatInt(id, 10), changeSummary(before, &after))
	})
	if err != nil {
		return nil, err
	}
	return s.User(ctx, SystemScope(), id)
}

// changeSummary lists the fields that differ as "field: before → after";
// personal data is named, never shown.
func changeSummary(b, a *User) string {
	var parts []string
	diff := func(field, x, y string) {
		if x != y {
			parts = append(parts, field+": "+x+" → "+y)
		}
	}
	diff("display_name", b.DisplayName, a.DisplayName)
	if b.Phone != a.Phone {
		parts = append(parts, "phone: changed")
	}
	diff("roles", joinRoles(b.Roles), joinRoles(a.Roles))
	diff("region", b.Region.Code, a.Region.Code)
	diff("department", b.DepartmentCode, a.DepartmentCode)
	diff("disabled", strconv.FormatBool(b.Disabled), strconv.FormatBool(a.Disabled))
	diff("locked", strconv.FormatBool(b.Locked), strconv.FormatBool(a.Locked))
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, "; ")
}
