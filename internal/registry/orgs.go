package registry

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
)

const orgCols = `o.id, o.credit_code, o.name, o.kind, o.address, COALESCE(o.house_id, 0), o.contact_name, o.contact_phone, o.industry, o.size,
	o.safety_category, o.grid_code, o.region_path, o.created_at, o.updated_at`

const orgWrite = `credit_code, name, kind, address, house_id, contact_name, contact_phone, industry, size, safety_category, grid_code,
	region_path, created_at, updated_at`

const orgWidth = 14

func scanOrg(sc scanner) (Organisation, error) {
	var o Organisation
	var c, u db.Time
	err := sc.Scan(&o.ID, &o.CreditCode, &o.Name, &o.Kind, &o.Address, &o.HouseID, &o.ContactName, &o.ContactPhone, &o.Industry, &o.Size,
		&o.SafetyCategory, &o.GridCode, &o.RegionPath, &c, &u)
	o.CreatedAt, o.UpdatedAt = c.Time, u.Time
	return o, err
}

func (in *OrganisationInput) args(path string, now time.Time) []any {
	var house any
	if in.HouseID != 0 {
		house = in.HouseID
	}
	return []any{in.CreditCode, in.Name, in.Kind, in.Address, house, in.ContactName, in.ContactPhone, in.Industry, in.Size,
		in.SafetyCategory, in.GridCode, path, now, now}
}

func (in *OrganisationInput) values() values {
	v := values{"credit_code": in.CreditCode, "name": in.Name, "kind": in.Kind, "address": in.Address, "contact_name": in.ContactName,
		"contact_phone": in.ContactPhone, "industry": in.Industry, "size": in.Size, "safety_category": in.SafetyCategory, "grid_code": in.GridCode}
	if in.HouseID != 0 {
		v["house_id"] = strconv.FormatInt(in.HouseID, 10)
	}
	return v
}

func (o *Organisation) input() OrganisationInput {
	return OrganisationInput{CreditCode: o.CreditCode, Name: o.Name, Kind: o.Kind, Address: o.Address, HouseID: o.HouseID, ContactName: o.ContactName,
		ContactPhone: o.ContactPhone, Industry: o.Industry, Size: o.Size, SafetyCategory: o.SafetyCategory, GridCode: o.GridCode}
}

// placeOrg resolves the grid of an organisation: its house's when it has
// one (which must be in scope), else its own grid code.
func (s *Store) placeOrg(ctx context.Context, q rowQuerier, sc account.Scope, in *OrganisationInput) (string, *errs.Error) {
	if in.HouseID != 0 {
		h, err := s.house(ctx, q, sc, in.HouseID)
		if err != nil {
			return "", outOfScope("house_id", keyHouseNotFound, in.HouseID)
		}
		if in.GridCode == "" {
			in.GridCode = h.GridCode
		}
	}
	path, err := s.gridPath(sc, in.GridCode)
	if err != nil {
		return "", outOfScope("grid_code", keyGridNotFound, in.GridCode)
	}
	return path, nil
}

// AddOrganisation validates and adds an organisation in scope. A taken
// credit code is a Conflict on credit_code.
func (s *Store) AddOrganisation(ctx context.Context, sc account.Scope, actor audit.Actor, in OrganisationInput) (_ *Organisation, err error) {
	defer errs.Wrapf(&err, "registry.Store.AddOrganisation")
	if seesNothing(sc) {
		return nil, denied()
	}
	e := invalid()
	checkOrganisation(e, &in)
	if err := failed(e); err != nil {
		return nil, err
	}
	var id int64
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		path, fe := s.placeOrg(ctx, tx, sc, &in)
		if fe != nil {
			return fe
		}
		var err error
		id, err = tx.InsertID(ctx, `INSERT INTO reg_organisations (`+orgWrite+`) VALUES `+db.Placeholders(db.Postgres, 1, orgWidth)+
			` ON CONFLICT (credit_code) DO NOTHING RETURNING id`, in.args(path, tx.Now())...)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.Conflict, "registry.org_exists").Field("credit_code", "field.taken")
		}
		if err != nil {
			return err
		}
		return record(ctx, tx, actor, histRow{table: TableOrganisations, id: id, action: "create", path: path, changes: diff(nil, in.values())})
	})
	if err != nil {
		return nil, err
	}
	return s.Organisation(ctx, sc, id)
}

// Organisation returns an organisation in scope, its contact masked.
func (s *Store) Organisation(ctx context.Context, sc account.Scope, id int64) (_ *Organisation, err error) {
	defer errs.Wrapf(&err, "registry.Store.Organisation")
	var w db.Where
	w.Add("o.id = ?", id)
	sc.Apply(&w, Columns("o"))
	o, err := scanOrg(s.db.QueryRow(ctx, `SELECT `+orgCols+` FROM reg_organisations o`+w.SQL(), w.Args()...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(keyOrgNotFound, id)
	}
	if err != nil {
		return nil, db.Translate(err)
	}
	o.mask()
	return &o, nil
}

// OrgFilter narrows Organisations; zero members do not filter.
type OrgFilter struct {
	GridCode       string
	Kind           string
	SafetyCategory string
	// CreditCode is the exact credit code.
	CreditCode string
	// HouseID is the house the organisations are in.
	HouseID int64
	// Clear returns contacts unmasked (after account.Store.Reveal).
	Clear bool
}

// Organisations lists the organisations in scope matching f, by id.
func (s *Store) Organisations(ctx context.Context, sc account.Scope, f OrgFilter, pg Page) (_ []Organisation, err error) {
	defer errs.Wrapf(&err, "registry.Store.Organisations")
	w, err := s.listWhere(sc, "o", f.GridCode)
	if err != nil {
		return nil, err
	}
	if f.Kind != "" {
		w.Add("o.kind = ?", f.Kind)
	}
	if f.SafetyCategory != "" {
		w.Add("o.safety_category = ?", f.SafetyCategory)
	}
	if f.CreditCode != "" {
		w.Add("o.credit_code = ?", f.CreditCode)
	}
	if f.HouseID != 0 {
		w.Add("o.house_id = ?", f.HouseID)
	}
	q := `SELECT ` + orgCols + ` FROM reg_organisations o` + w.SQL() + ` ORDER BY o.id` + pg.sql(&w)
	return list(ctx, s.db, q, w.Args(), func(sc scanner) (Organisation, error) {
		o, err := scanOrg(sc)
		if !f.Clear {
			o.mask()
		}
		return o, err
	})
}

// UpsertOrganisations adds or updates organisations by credit code in one
// transaction, like UpsertPeople: any refused row returns a *BatchError
// and writes nothing; re-running a batch changes nothing.
func (s *Store) UpsertOrganisations(ctx context.Context, sc account.Scope, actor audit.Actor, in []OrganisationInput) (_ UpsertResult, err error) {
	defer errs.Wrapf(&err, "registry.Store.UpsertOrganisations")
	if seesNothing(sc) {
		return UpsertResult{}, denied()
	}
	now := s.db.Now()
	bad := &BatchError{}
	seen := make(map[string]int, len(in))
	rows := make([]batchRow, len(in))
	norm := make([]OrganisationInput, len(in))
	for i := range in {
		o := &norm[i]
		*o = in[i]
		e := invalid()
		checkOrganisation(e, o)
		var path string
		if len(e.Fields) == 0 {
			var fe *errs.Error
			if path, fe = s.placeOrg(ctx, s.db, sc, o); fe != nil {
				e = fe
			}
		}
		if j, dup := seen[o.CreditCode]; dup && o.CreditCode != "" {
			e.Field("credit_code", "registry.err.duplicate_row", j+1)
		}
		seen[o.CreditCode] = i
		if len(e.Fields) > 0 {
			bad.add(i, e)
			continue
		}
		rows[i] = batchRow{key: o.CreditCode, path: path}
	}
	if err := bad.orNil(); err != nil {
		return UpsertResult{}, err
	}
	return s.upsert(ctx, sc, actor, upsertSpec{table: "reg_organisations", hist: TableOrganisations, key: "credit_code", cols: orgWrite,
		width: orgWidth, keyName: "credit_code", load: loadOrgs,
		args: func(dst []any, i int) []any { return append(dst, norm[i].args(rows[i].path, now)...) },
		vals: func(i int) values { return norm[i].values() }}, rows)
}

func loadOrgs(ctx context.Context, tx *db.Tx, keys []any) (map[string]existing, error) {
	rs, err := tx.Query(ctx, `SELECT `+orgCols+` FROM reg_organisations o WHERE o.credit_code IN `+inList(tx.Dialect(), len(keys)), keys...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	m := make(map[string]existing, len(keys))
	for rs.Next() {
		o, err := scanOrg(rs)
		if err != nil {
			return nil, err
		}
		in := o.input()
		m[o.CreditCode] = existing{id: o.ID, path: o.RegionPath, vals: in.values()}
	}
	return m, db.Translate(rs.Err())
}
