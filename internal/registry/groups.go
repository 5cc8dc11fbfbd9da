package registry

import (
	"context"
	"database/sql"
	"errors"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// Groups returns the groups needing attention in display order. They are
// reference data, the same for every scope.
func (s *Store) Groups(ctx context.Context) (_ []Group, err error) {
	defer errs.Wrapf(&err, "registry.Store.Groups")
	rows, err := s.db.Query(ctx, `SELECT code, kind, name, name_en, frequency, sort FROM reg_groups ORDER BY sort, code`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Group{}
	for rows.Next() {
		var g Group
		if err := rows.Scan(&g.Code, &g.Kind, &g.Name, &g.NameEN, &g.Frequency, &g.Sort); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// Group returns one group.
func (s *Store) Group(ctx context.Context, code string) (_ *Group, err error) {
	defer errs.Wrapf(&err, "registry.Store.Group")
	return getGroup(ctx, s.db, code)
}

func getGroup(ctx context.Context, q rowQuerier, code string) (_ *Group, err error) {
	var g Group
	err = q.QueryRow(ctx, `SELECT code, kind, name, name_en, frequency, sort FROM reg_groups WHERE code = $1`, code).
		Scan(&g.Code, &g.Kind, &g.Name, &g.NameEN, &g.Frequency, &g.Sort)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(keyGroupNotFound, code)
	}
	return &g, db.Translate(err)
}

// AddMember puts a person in scope in a group; adding them again updates
// the note.
func (s *Store) AddMember(ctx context.Context, sc account.Scope, actor audit.Actor, group string, personID int64, note string) (err error) {
	defer errs.Wrapf(&err, "registry.Store.AddMember")
	return s.db.InTx(ctx, func(tx *db.Tx) error { return s.AddMemberTx(ctx, tx, sc, actor, group, personID, note) })
}

// AddMemberTx is AddMember in the caller's transaction, so that what
// follows from the membership (package visit plans the person's task)
// commits or rolls back with it.
func (s *Store) AddMemberTx(ctx context.Context, tx *db.Tx, sc account.Scope, actor audit.Actor, group string, personID int64, note string) (err error) {
	defer errs.Wrapf(&err, "registry.Store.AddMemberTx")
	e := invalid()
	text(e, "note", &note, false, maxAddress)
	if err := failed(e); err != nil {
		return err
	}
	if _, err := getGroup(ctx, tx, group); err != nil {
		return err
	}
	p, err := s.personIn(ctx, tx, sc, personID)
	if err != nil {
		return err
	}
	var old string
	var had bool
	err = tx.QueryRow(ctx, `SELECT note FROM reg_group_members WHERE group_code = $1 AND person_id = $2`, group, personID).Scan(&old)
	switch {
	case err == nil:
		had = true
	case !errors.Is(err, sql.ErrNoRows):
		return db.Translate(err)
	}
	if had && old == note {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO reg_group_members (group_code, person_id, since, note) VALUES ($1, $2, $3, $4)
		ON CONFLICT (group_code, person_id) DO UPDATE SET note = excluded.note`, group, personID, tx.Now(), note); err != nil {
		return err
	}
	c := Change{New: "member"}
	if had {
		c = Change{Old: "member: " + old, New: "member: " + note}
	}
	return record(ctx, tx, actor, histRow{table: TablePeople, id: personID, action: "group", path: p.RegionPath,
		changes: map[string]Change{"group:" + group: c}})
}

// RemoveMember takes a person in scope out of a group.
func (s *Store) RemoveMember(ctx context.Context, sc account.Scope, actor audit.Actor, group string, personID int64) (err error) {
	defer errs.Wrapf(&err, "registry.Store.RemoveMember")
	return s.db.InTx(ctx, func(tx *db.Tx) error { return s.RemoveMemberTx(ctx, tx, sc, actor, group, personID) })
}

// RemoveMemberTx is RemoveMember in the caller's transaction (package
// visit cancels the leaver's open tasks in the same one).
func (s *Store) RemoveMemberTx(ctx context.Context, tx *db.Tx, sc account.Scope, actor audit.Actor, group string, personID int64) (err error) {
	defer errs.Wrapf(&err, "registry.Store.RemoveMemberTx")
	p, err := s.personIn(ctx, tx, sc, personID)
	if err != nil {
		return err
	}
	res, err := tx.Exec(ctx, `DELETE FROM reg_group_members WHERE group_code = $1 AND person_id = $2`, group, personID)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return db.Translate(err)
	} else if n == 0 {
		return notFound("registry.member_not_found", group, personID)
	}
	return record(ctx, tx, actor, histRow{table: TablePeople, id: personID, action: "ungroup", path: p.RegionPath,
		changes: map[string]Change{"group:" + group: {Old: "member"}}})
}

// GroupMembers lists the members of a group in scope (of one grid when
// gridCode is set), masked unless clear, by person id.
func (s *Store) GroupMembers(ctx context.Context, sc account.Scope, group, gridCode string, clear bool, pg Page) (_ []Member, err error) {
	defer errs.Wrapf(&err, "registry.Store.GroupMembers")
	if _, err := s.Group(ctx, group); err != nil {
		return nil, err
	}
	w, err := s.listWhere(sc, "p", gridCode)
	if err != nil {
		return nil, err
	}
	w.Add("m.group_code = ?", group)
	q := `SELECT ` + personCols + `, m.group_code, m.since, m.note FROM reg_group_members m JOIN reg_people p ON p.id = m.person_id` +
		w.SQL() + ` ORDER BY p.id` + pg.sql(&w)
	return list(ctx, s.db, q, w.Args(), func(sc scanner) (m Member, err error) {
		var since db.Time
		m.Person, err = scanPerson(sc, &m.GroupCode, &since, &m.Note)
		m.Since = since.Time
		if !clear {
			m.mask()
		}
		return m, err
	})
}

// GroupsOf returns the codes of the groups a person in scope belongs to.
func (s *Store) GroupsOf(ctx context.Context, sc account.Scope, personID int64) (_ []string, err error) {
	defer errs.Wrapf(&err, "registry.Store.GroupsOf")
	if _, err := s.personIn(ctx, s.db, sc, personID); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT group_code FROM reg_group_members WHERE person_id = $1 ORDER BY group_code`, personID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
