package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"whistle/internal/db"
)

// RoleRegion says which region bindings a role lookup covers: users bound to
// exactly Code, or, when Code is empty, users bound to any region whose path
// starts with Under ("/310000/…/community/").
type RoleRegion struct {
	Code  string
	Under string
}

// AtRegion covers the users bound to the region code itself.
func AtRegion(code string) RoleRegion { return RoleRegion{Code: code} }

// UnderPath covers the users bound to the region at path or below it.
func UnderPath(path string) RoleRegion { return RoleRegion{Under: path} }

// UsersWithRole returns, by id, the enabled users who hold role and are bound
// to a region in at. It is the one place that reads the comma-separated roles
// column: the LIKE only narrows the rows, the exact match is done on the split
// list, because "_" in a role name is a LIKE wildcard.
func UsersWithRole(ctx context.Context, tx *db.Tx, role Role, at RoleRegion) ([]int64, error) {
	var (
		q    string
		args []any
		pat  = "%," + string(role) + ",%"
	)
	switch {
	case at.Code != "":
		q, args = `SELECT id, roles FROM users WHERE region_code = $1 AND (',' || roles || ',') LIKE $2 AND disabled = $3 ORDER BY id`,
			[]any{at.Code, pat, false}
	case at.Under != "":
		q, args = `SELECT u.id, u.roles FROM users u JOIN regions r ON r.code = u.region_code
			WHERE r.path >= $1 AND r.path < $2 AND (',' || u.roles || ',') LIKE $3 AND u.disabled = $4 ORDER BY u.id`,
			[]any{at.Under, db.PathUpper(at.Under), pat, false}
	default:
		return nil, fmt.Errorf("account: users with role %s: no region given", role)
	}
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("account: users with role %s: %w", role, err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var (
			id    int64
			roles string
		)
		if err := rows.Scan(&id, &roles); err != nil {
			return nil, fmt.Errorf("account: users with role %s: %w", role, err)
		}
		if slices.Contains(splitRoles(roles), role) {
			out = append(out, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("account: users with role %s: %w", role, err)
	}
	return out, nil
}

// RoleHolders are the enabled users bound to some regions, with their
// roles, read in one query: what a caller that asks "who holds role R at
// region C" for several roles and codes reads once.
type RoleHolders struct {
	at map[string][]roleHolder // by region code, ids ascending
}

type roleHolder struct {
	id    int64
	roles []Role
}

// HoldersAt reads the enabled users bound to any of codes.
func HoldersAt(ctx context.Context, tx *db.Tx, codes []string) (*RoleHolders, error) {
	h := &RoleHolders{at: map[string][]roleHolder{}}
	if len(codes) == 0 {
		return h, nil
	}
	var w db.Where
	args := make([]any, len(codes))
	for i, c := range codes {
		args[i] = c
	}
	w.Add("region_code IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(codes)), ", ")+")", args...)
	w.Add("disabled = ?", false)
	rows, err := tx.Query(ctx, `SELECT id, region_code, roles FROM users`+w.SQL()+` ORDER BY id`, w.Args()...)
	if err != nil {
		return nil, fmt.Errorf("account: role holders: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id          int64
			code, roles string
		)
		if err := rows.Scan(&id, &code, &roles); err != nil {
			return nil, fmt.Errorf("account: role holders: %w", err)
		}
		h.at[code] = append(h.at[code], roleHolder{id: id, roles: splitRoles(roles)})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("account: role holders: %w", err)
	}
	return h, nil
}

// At returns, by id, the users bound to code who hold role: what
// UsersWithRole(role, AtRegion(code)) answers, for a code HoldersAt read.
func (h *RoleHolders) At(role Role, code string) []int64 {
	var out []int64
	for _, u := range h.at[code] {
		if slices.Contains(u.roles, role) {
			out = append(out, u.id)
		}
	}
	return out
}

// ResidentByIDNumber is the enabled account carrying the identity number
// (the lowest id when several do), or 0.
func ResidentByIDNumber(ctx context.Context, tx *db.Tx, idNumber string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM users WHERE UPPER(id_number) = UPPER($1) AND disabled = $2 ORDER BY id LIMIT 1`, idNumber, false).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, db.Translate(err)
}

// ResidentByProvenPhone is the enabled account that proved the phone by
// SMS code (phone_logins) and carries no identity number, or 0: an
// account with an identity number is linked by it, not by its phone.
func ResidentByProvenPhone(ctx context.Context, tx *db.Tx, phone string) (int64, error) {
	var id int64
	err := tx.QueryRow(ctx, `SELECT u.id FROM phone_logins p JOIN users u ON u.id = p.user_id WHERE p.phone = $1 AND u.disabled = $2 AND u.id_number = ''`,
		phone, false).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, db.Translate(err)
}
