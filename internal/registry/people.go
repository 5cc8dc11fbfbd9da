package registry

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
)

const personCols = `p.id, p.id_number, p.name, p.sex, p.birth_date, p.phone, p.hukou_address, p.residence_address, p.status,
	p.registered_on, p.household_id, p.household_relation, p.grid_code, p.region_path, p.created_at, p.updated_at`

// personWrite are the columns an insert or upsert writes, in argument order.
const personWrite = `id_number, name, sex, birth_date, phone, hukou_address, residence_address, status, registered_on,
	household_id, household_relation, grid_code, region_path, created_at, updated_at`

const personWidth = 15

type scanner interface{ Scan(...any) error }

func scanPerson(sc scanner, extra ...any) (Person, error) {
	var p Person
	var c, u db.Time
	err := sc.Scan(append([]any{&p.ID, &p.IDNumber, &p.Name, &p.Sex, &p.BirthDate, &p.Phone, &p.HukouAddress, &p.ResidenceAddress,
		&p.Status, &p.RegisteredOn, &p.HouseholdID, &p.HouseholdRel, &p.GridCode, &p.RegionPath, &c, &u}, extra...)...)
	p.CreatedAt, p.UpdatedAt = c.Time, u.Time
	return p, err
}

// args are the values of personWrite.
func (in *PersonInput) args(path string, now time.Time) []any {
	return []any{in.IDNumber, in.Name, in.Sex, in.BirthDate, in.Phone, in.HukouAddress, in.ResidenceAddress, in.Status, in.RegisteredOn,
		in.HouseholdID, in.HouseholdRel, in.GridCode, path, now, now}
}

// appendArgs appends the values of personWrite to dst; now is the time,
// boxed once for a batch.
func (in *PersonInput) appendArgs(dst []any, path string, now any) []any {
	return append(dst, in.IDNumber, in.Name, in.Sex, in.BirthDate, in.Phone, in.HukouAddress, in.ResidenceAddress, in.Status, in.RegisteredOn,
		in.HouseholdID, in.HouseholdRel, in.GridCode, path, now, now)
}

func (in *PersonInput) values() values {
	return values{"id_number": in.IDNumber, "name": in.Name, "sex": in.Sex, "birth_date": in.BirthDate, "phone": in.Phone,
		"hukou_address": in.HukouAddress, "residence_address": in.ResidenceAddress, "status": in.Status,
		"registered_on": in.RegisteredOn, "household_id": in.HouseholdID, "household_relation": in.HouseholdRel, "grid_code": in.GridCode}
}

// input is the person as the input that would write it.
func (p *Person) input() PersonInput {
	return PersonInput{IDNumber: p.IDNumber, Name: p.Name, Sex: p.Sex, BirthDate: p.BirthDate, Phone: p.Phone, HukouAddress: p.HukouAddress,
		ResidenceAddress: p.ResidenceAddress, Status: p.Status, RegisteredOn: p.RegisteredOn, HouseholdID: p.HouseholdID,
		HouseholdRel: p.HouseholdRel, GridCode: p.GridCode}
}

func personNotFound(id any) *errs.Error { return notFound(keyPersonNotFound, id) }

func forUpdate(d db.Dialect) string {
	if d == db.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// AddPerson validates and adds a person in a grid the scope covers, linked
// to in.HouseID when set, and returns them masked. A taken identity number
// is a Conflict on id_number.
func (s *Store) AddPerson(ctx context.Context, sc account.Scope, actor audit.Actor, in PersonInput) (_ *Person, err error) {
	defer errs.Wrapf(&err, "registry.Store.AddPerson")
	if seesNothing(sc) {
		return nil, denied()
	}
	e := invalid()
	checkPerson(e, &in, s.db.Now())
	if err := failed(e); err != nil {
		return nil, err
	}
	var id int64
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		if in.HouseID != 0 {
			h, err := s.house(ctx, tx, sc, in.HouseID)
			if err != nil {
				return outOfScope("house_id", keyHouseNotFound, in.HouseID)
			}
			if in.GridCode == "" {
				in.GridCode = h.GridCode
			}
		}
		path, err := s.gridPath(sc, in.GridCode)
		if err != nil {
			return outOfScope("grid_code", keyGridNotFound, in.GridCode)
		}
		id, err = tx.InsertID(ctx, `INSERT INTO reg_people (`+personWrite+`) VALUES `+db.Placeholders(db.Postgres, 1, personWidth)+
			` ON CONFLICT (id_number) DO NOTHING RETURNING id`, in.args(path, tx.Now())...)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.Conflict, "registry.person_exists").Field("id_number", "field.taken")
		}
		if err != nil {
			return err
		}
		if err := record(ctx, tx, actor, histRow{table: TablePeople, id: id, action: "create", path: path, changes: diff(nil, in.values())}); err != nil {
			return err
		}
		if in.HouseID != 0 {
			return s.link(ctx, tx, sc, actor, id, in.HouseID, in.HouseRelation)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.Person(ctx, sc, id)
}

// UpdatePerson applies p to the person and returns them masked. Sex and
// birth date follow a changed identity number. A patch that changes
// nothing writes nothing.
func (s *Store) UpdatePerson(ctx context.Context, sc account.Scope, actor audit.Actor, id int64, p PersonPatch) (_ *Person, err error) {
	defer errs.Wrapf(&err, "registry.Store.UpdatePerson")
	if seesNothing(sc) {
		return nil, personNotFound(id)
	}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		var w db.Where
		w.Add("p.id = ?", id)
		sc.Apply(&w, Columns("p"))
		old, err := scanPerson(tx.QueryRow(ctx, `SELECT `+personCols+` FROM reg_people p`+w.SQL()+forUpdate(tx.Dialect()), w.Args()...))
		if errors.Is(err, sql.ErrNoRows) {
			return personNotFound(id)
		}
		if err != nil {
			return db.Translate(err)
		}
		in := old.input()
		set := func(dst *string, v *string) {
			if v != nil {
				*dst = *v
			}
		}
		if p.IDNumber != nil && strings.TrimSpace(*p.IDNumber) != old.IDNumber {
			in.IDNumber, in.Sex, in.BirthDate = *p.IDNumber, "", ""
		}
		set(&in.Name, p.Name)
		set(&in.Phone, p.Phone)
		set(&in.HukouAddress, p.HukouAddress)
		set(&in.ResidenceAddress, p.ResidenceAddress)
		set(&in.Status, p.Status)
		set(&in.RegisteredOn, p.RegisteredOn)
		if p.Status != nil && *p.Status != StatusFloating && p.RegisteredOn == nil {
			in.RegisteredOn = ""
		}
		set(&in.HouseholdID, p.HouseholdID)
		set(&in.HouseholdRel, p.HouseholdRel)
		set(&in.GridCode, p.GridCode)
		e := invalid()
		checkPerson(e, &in, tx.Now())
		if err := failed(e); err != nil {
			return err
		}
		path, err := s.gridPath(sc, in.GridCode)
		if err != nil {
			return outOfScope("grid_code", keyGridNotFound, in.GridCode)
		}
		oldIn := old.input()
		changes := diff(oldIn.values(), in.values())
		if len(changes) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE reg_people SET id_number = $1, name = $2, sex = $3, birth_date = $4, phone = $5, hukou_address = $6,
			residence_address = $7, status = $8, registered_on = $9, household_id = $10, household_relation = $11, grid_code = $12,
			region_path = $13, updated_at = $14 WHERE id = $15`, append(in.args(path, tx.Now())[:13], tx.Now(), id)...)
		if errs.Is(err, errs.Conflict) {
			return errs.E(errs.Conflict, "registry.person_exists").Field("id_number", "field.taken")
		}
		if err != nil {
			return err
		}
		return record(ctx, tx, actor, histRow{table: TablePeople, id: id, action: "update", path: path, changes: changes})
	})
	if err != nil {
		return nil, err
	}
	return s.Person(ctx, sc, id)
}

// Person returns a person in scope, masked.
func (s *Store) Person(ctx context.Context, sc account.Scope, id int64) (_ *Person, err error) {
	defer errs.Wrapf(&err, "registry.Store.Person")
	p, err := s.person(ctx, sc, id)
	if err == nil {
		p.mask()
	}
	return p, err
}

// PersonClear returns a person in scope in the clear: call it only once
// account.Store.Reveal has allowed (and audited) the view, or for a system
// task such as an export.
func (s *Store) PersonClear(ctx context.Context, sc account.Scope, id int64) (_ *Person, err error) {
	defer errs.Wrapf(&err, "registry.Store.PersonClear")
	return s.person(ctx, sc, id)
}

func (s *Store) person(ctx context.Context, sc account.Scope, id int64) (*Person, error) {
	return s.personIn(ctx, s.db, sc, id)
}

// PersonByIDNumber returns the person with the identity number in scope,
// masked; a malformed number is simply not found.
func (s *Store) PersonByIDNumber(ctx context.Context, sc account.Scope, idNumber string) (_ *Person, err error) {
	defer errs.Wrapf(&err, "registry.Store.PersonByIDNumber")
	ps, err := s.People(ctx, sc, PeopleFilter{IDNumber: idNumber}, Page{Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, personNotFound(MaskIDNumber(strings.TrimSpace(idNumber)))
	}
	return &ps[0], nil
}

// PeopleFilter narrows People; zero members do not filter.
type PeopleFilter struct {
	GridCode    string
	Status      string
	GroupCode   string
	HouseholdID string
	// IDNumber is the exact identity number (any case of a trailing x).
	IDNumber string
	// Clear returns personal data unmasked: set it only once
	// account.Store.Reveal has allowed the view, or for a system task.
	Clear bool
}

// People lists the people in scope matching f, by id.
func (s *Store) People(ctx context.Context, sc account.Scope, f PeopleFilter, pg Page) (_ []Person, err error) {
	defer errs.Wrapf(&err, "registry.Store.People")
	if seesNothing(sc) {
		return nil, denied()
	}
	var w db.Where
	sc.Apply(&w, Columns("p"))
	if f.GridCode != "" {
		path, err := s.gridPath(sc, f.GridCode)
		if err != nil {
			return nil, err
		}
		w.Add("p.region_path = ?", path)
	}
	if f.Status != "" {
		w.Add("p.status = ?", f.Status)
	}
	if f.HouseholdID != "" {
		w.Add("p.household_id = ?", f.HouseholdID)
	}
	if f.IDNumber != "" {
		w.Add("p.id_number = ?", strings.ToUpper(strings.TrimSpace(f.IDNumber)))
	}
	if f.GroupCode != "" {
		w.Add("EXISTS (SELECT 1 FROM reg_group_members m WHERE m.person_id = p.id AND m.group_code = ?)", f.GroupCode)
	}
	q := `SELECT ` + personCols + ` FROM reg_people p` + w.SQL() + ` ORDER BY p.id`
	q += pg.sql(&w)
	return list(ctx, s.db, q, w.Args(), func(sc scanner) (Person, error) {
		p, err := scanPerson(sc)
		if !f.Clear {
			p.mask()
		}
		return p, err
	})
}
