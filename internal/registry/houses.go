package registry

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// rowQuerier is a *db.DB or a *db.Tx.
type rowQuerier interface {
	QueryRow(ctx context.Context, q string, args ...any) *sql.Row
}

const buildingCols = `b.id, b.grid_code, b.region_path, b.name, b.address, b.lat, b.lng, b.floors, b.units, b.created_at, b.updated_at`

func scanBuilding(sc scanner) (Building, error) {
	var b Building
	var c, u db.Time
	err := sc.Scan(&b.ID, &b.GridCode, &b.RegionPath, &b.Name, &b.Address, &b.Lat, &b.Lng, &b.Floors, &b.Units, &c, &u)
	b.CreatedAt, b.UpdatedAt = c.Time, u.Time
	return b, err
}

func (in *BuildingInput) values(grid string) values {
	return values{"name": in.Name, "address": in.Address, "lat": ftoa(in.Lat), "lng": ftoa(in.Lng), "floors": strconv.Itoa(in.Floors),
		"units": strconv.Itoa(in.Units), "grid_code": grid}
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// AddBuilding adds a building in the grid its point lies in, which the
// scope must cover; a point outside the district is refused on lat/lng.
func (s *Store) AddBuilding(ctx context.Context, sc account.Scope, actor audit.Actor, in BuildingInput) (_ *Building, err error) {
	defer errs.Wrapf(&err, "registry.Store.AddBuilding")
	if seesNothing(sc) {
		return nil, denied()
	}
	e := invalid()
	checkBuilding(e, &in)
	if err := failed(e); err != nil {
		return nil, err
	}
	loc, ok := s.regions.Locator().Locate(orb.Point{in.Lng, in.Lat})
	if !ok {
		return nil, invalid().Field("lat", "registry.err.outside").Field("lng", "registry.err.outside")
	}
	path := pathOf(loc)
	if !sc.Covers(path) {
		return nil, outOfScope("lat", "registry.err.outside_scope").Field("lng", "registry.err.outside_scope")
	}
	var id int64
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		var err error
		id, err = tx.InsertID(ctx, `INSERT INTO reg_buildings (grid_code, region_path, name, address, lat, lng, floors, units, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`, loc.Grid.Code, path, in.Name, in.Address, in.Lat, in.Lng, in.Floors, in.Units, tx.Now())
		if err != nil {
			return err
		}
		return record(ctx, tx, actor, histRow{table: TableBuildings, id: id, action: "create", path: path, changes: diff(nil, in.values(loc.Grid.Code))})
	})
	if err != nil {
		return nil, err
	}
	return s.Building(ctx, sc, id)
}

// Building returns a building in scope.
func (s *Store) Building(ctx context.Context, sc account.Scope, id int64) (_ *Building, err error) {
	defer errs.Wrapf(&err, "registry.Store.Building")
	return s.building(ctx, s.db, sc, id)
}

func (s *Store) building(ctx context.Context, q rowQuerier, sc account.Scope, id int64) (*Building, error) {
	var w db.Where
	w.Add("b.id = ?", id)
	sc.Apply(&w, Columns("b"))
	b, err := scanBuilding(q.QueryRow(ctx, `SELECT `+buildingCols+` FROM reg_buildings b`+w.SQL(), w.Args()...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(keyBuildingNotFound, id)
	}
	if err != nil {
		return nil, db.Translate(err)
	}
	return &b, nil
}

// Buildings lists the buildings in scope, of one grid when gridCode is set.
func (s *Store) Buildings(ctx context.Context, sc account.Scope, gridCode string, pg Page) (_ []Building, err error) {
	defer errs.Wrapf(&err, "registry.Store.Buildings")
	w, err := s.listWhere(sc, "b", gridCode)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + buildingCols + ` FROM reg_buildings b` + w.SQL() + ` ORDER BY b.id` + pg.sql(&w)
	return list(ctx, s.db, q, w.Args(), scanBuilding)
}

// listWhere starts the WHERE of a list: the scope, and the grid when set.
func (s *Store) listWhere(sc account.Scope, alias, gridCode string) (db.Where, error) {
	var w db.Where
	if seesNothing(sc) {
		return w, denied()
	}
	sc.Apply(&w, Columns(alias))
	if gridCode != "" {
		path, err := s.gridPath(sc, gridCode)
		if err != nil {
			return w, err
		}
		w.Add(alias+".region_path = ?", path)
	}
	return w, nil
}

const houseCols = `h.id, h.building_id, h.grid_code, h.region_path, b.address, h.unit, h.room, h.use, h.ownership, h.rental,
	COALESCE(h.landlord_id, 0), h.area, h.created_at, h.updated_at`

const houseFrom = ` FROM reg_houses h JOIN reg_buildings b ON b.id = h.building_id`

func scanHouse(sc scanner, extra ...any) (House, error) {
	var h House
	var c, u db.Time
	err := sc.Scan(append([]any{&h.ID, &h.BuildingID, &h.GridCode, &h.RegionPath, &h.Address, &h.Unit, &h.Room, &h.Use, &h.Ownership,
		&h.Rental, &h.LandlordID, &h.Area, &c, &u}, extra...)...)
	h.CreatedAt, h.UpdatedAt = c.Time, u.Time
	return h, err
}

func (in *HouseInput) values() values {
	v := values{"building_id": strconv.FormatInt(in.BuildingID, 10), "unit": in.Unit, "room": in.Room, "use": in.Use,
		"ownership": in.Ownership, "rental": in.Rental, "area": ftoa(in.Area)}
	if in.LandlordID != 0 {
		v["landlord_id"] = strconv.FormatInt(in.LandlordID, 10)
	}
	return v
}

// AddHouse adds a house to a building in scope; the landlord, when set,
// must be a person in scope. The same unit and room twice in a building
// is a Conflict.
func (s *Store) AddHouse(ctx context.Context, sc account.Scope, actor audit.Actor, in HouseInput) (_ *House, err error) {
	defer errs.Wrapf(&err, "registry.Store.AddHouse")
	if seesNothing(sc) {
		return nil, denied()
	}
	e := invalid()
	checkHouse(e, &in)
	if err := failed(e); err != nil {
		return nil, err
	}
	var id int64
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		b, err := s.building(ctx, tx, sc, in.BuildingID)
		if err != nil {
			return outOfScope("building_id", keyBuildingNotFound, in.BuildingID)
		}
		var landlord any
		if in.LandlordID != 0 {
			if _, err := s.personIn(ctx, tx, sc, in.LandlordID); err != nil {
				return outOfScope("landlord_id", keyPersonNotFound, in.LandlordID)
			}
			landlord = in.LandlordID
		}
		id, err = tx.InsertID(ctx, `INSERT INTO reg_houses (building_id, grid_code, region_path, unit, room, use, ownership, rental, landlord_id, area,
			created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id`,
			b.ID, b.GridCode, b.RegionPath, in.Unit, in.Room, in.Use, in.Ownership, in.Rental, landlord, in.Area, tx.Now())
		if errs.Is(err, errs.Conflict) {
			return errs.E(errs.Conflict, "registry.house_exists").Field("room", "field.taken")
		}
		if err != nil {
			return err
		}
		return record(ctx, tx, actor, histRow{table: TableHouses, id: id, action: "create", path: b.RegionPath, changes: diff(nil, in.values())})
	})
	if err != nil {
		return nil, err
	}
	return s.House(ctx, sc, id)
}

// House returns a house in scope.
func (s *Store) House(ctx context.Context, sc account.Scope, id int64) (_ *House, err error) {
	defer errs.Wrapf(&err, "registry.Store.House")
	return s.house(ctx, s.db, sc, id)
}

func (s *Store) house(ctx context.Context, q rowQuerier, sc account.Scope, id int64) (*House, error) {
	var w db.Where
	w.Add("h.id = ?", id)
	sc.Apply(&w, Columns("h"))
	h, err := scanHouse(q.QueryRow(ctx, `SELECT `+houseCols+houseFrom+w.SQL(), w.Args()...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(keyHouseNotFound, id)
	}
	if err != nil {
		return nil, db.Translate(err)
	}
	return &h, nil
}

// personIn reads a person in scope inside q (a transaction).
func (s *Store) personIn(ctx context.Context, q rowQuerier, sc account.Scope, id int64) (*Person, error) {
	var w db.Where
	w.Add("p.id = ?", id)
	sc.Apply(&w, Columns("p"))
	p, err := scanPerson(q.QueryRow(ctx, `SELECT `+personCols+` FROM reg_people p`+w.SQL(), w.Args()...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, personNotFound(id)
	}
	if err != nil {
		return nil, db.Translate(err)
	}
	return &p, nil
}

// HouseFilter narrows Houses; zero members do not filter.
type HouseFilter struct {
	GridCode   string
	BuildingID int64
	Use        string
	Rental     string
	// Vacant keeps the vacant houses: used as vacant, or residential with
	// nobody linked to them.
	Vacant bool
}

// Houses lists the houses in scope matching f, by id.
func (s *Store) Houses(ctx context.Context, sc account.Scope, f HouseFilter, pg Page) (_ []House, err error) {
	defer errs.Wrapf(&err, "registry.Store.Houses")
	w, err := s.listWhere(sc, "h", f.GridCode)
	if err != nil {
		return nil, err
	}
	if f.BuildingID != 0 {
		w.Add("h.building_id = ?", f.BuildingID)
	}
	if f.Use != "" {
		w.Add("h.use = ?", f.Use)
	}
	if f.Rental != "" {
		w.Add("h.rental = ?", f.Rental)
	}
	if f.Vacant {
		w.Add(vacantSQL)
	}
	q := `SELECT ` + houseCols + houseFrom + w.SQL() + ` ORDER BY h.id` + pg.sql(&w)
	return list(ctx, s.db, q, w.Args(), func(sc scanner) (House, error) { return scanHouse(sc) })
}

// vacantSQL is the condition that house h is vacant.
const vacantSQL = `(h.use = 'vacant' OR (h.use = 'residential' AND NOT EXISTS (SELECT 1 FROM reg_person_houses l WHERE l.house_id = h.id)))`

// VacantHouses lists the vacant houses of a grid in scope: used as vacant,
// or residential with nobody linked to them.
func (s *Store) VacantHouses(ctx context.Context, sc account.Scope, gridCode string, pg Page) (_ []House, err error) {
	defer errs.Wrapf(&err, "registry.Store.VacantHouses")
	if gridCode == "" {
		return nil, notFound(keyGridNotFound, gridCode)
	}
	return s.Houses(ctx, sc, HouseFilter{GridCode: gridCode, Vacant: true}, pg)
}

// Residents lists the people linked to a house in scope with their
// relation, masked unless clear; people registered outside the scope are
// left out.
func (s *Store) Residents(ctx context.Context, sc account.Scope, houseID int64, clear bool) (_ []Resident, err error) {
	defer errs.Wrapf(&err, "registry.Store.Residents")
	if _, err := s.house(ctx, s.db, sc, houseID); err != nil {
		return nil, err
	}
	var w db.Where
	w.Add("l.house_id = ?", houseID)
	sc.Apply(&w, Columns("p"))
	q := `SELECT ` + personCols + `, l.relation FROM reg_person_houses l JOIN reg_people p ON p.id = l.person_id` + w.SQL() + ` ORDER BY p.id`
	return list(ctx, s.db, q, w.Args(), func(sc scanner) (r Resident, err error) {
		r.Person, err = scanPerson(sc, &r.Relation)
		if !clear {
			r.mask()
		}
		return r, err
	})
}

// HousesOf lists the houses in scope a person in scope is linked to.
func (s *Store) HousesOf(ctx context.Context, sc account.Scope, personID int64) (_ []HouseLink, err error) {
	defer errs.Wrapf(&err, "registry.Store.HousesOf")
	if _, err := s.personIn(ctx, s.db, sc, personID); err != nil {
		return nil, err
	}
	var w db.Where
	w.Add("l.person_id = ?", personID)
	sc.Apply(&w, Columns("h"))
	q := `SELECT ` + houseCols + `, l.relation` + houseFrom + ` JOIN reg_person_houses l ON l.house_id = h.id` + w.SQL() + ` ORDER BY h.id`
	return list(ctx, s.db, q, w.Args(), func(sc scanner) (l HouseLink, err error) {
		l.House, err = scanHouse(sc, &l.Relation)
		return l, err
	})
}

// Link links a person to a house, both in scope, as owner, tenant or
// family; linking again changes the relation.
func (s *Store) Link(ctx context.Context, sc account.Scope, actor audit.Actor, personID, houseID int64, relation string) (err error) {
	defer errs.Wrapf(&err, "registry.Store.Link")
	e := invalid()
	oneOf(e, "relation", &relation, HouseRelations(), "")
	if err := failed(e); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *db.Tx) error { return s.link(ctx, tx, sc, actor, personID, houseID, relation) })
}

func (s *Store) link(ctx context.Context, tx *db.Tx, sc account.Scope, actor audit.Actor, personID, houseID int64, relation string) error {
	p, err := s.personIn(ctx, tx, sc, personID)
	if err != nil {
		return err
	}
	if _, err := s.house(ctx, tx, sc, houseID); err != nil {
		return err
	}
	var old string
	err = tx.QueryRow(ctx, `SELECT relation FROM reg_person_houses WHERE house_id = $1 AND person_id = $2`, houseID, personID).Scan(&old)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return db.Translate(err)
	}
	if old == relation {
		return nil
	}
	if _, err := tx.Exec(ctx, `INSERT INTO reg_person_houses (house_id, person_id, relation, since) VALUES ($1, $2, $3, $4)
		ON CONFLICT (house_id, person_id) DO UPDATE SET relation = excluded.relation`, houseID, personID, relation, tx.Now()); err != nil {
		return err
	}
	field := "house:" + strconv.FormatInt(houseID, 10)
	return record(ctx, tx, actor, histRow{table: TablePeople, id: personID, action: "link", path: p.RegionPath,
		changes: map[string]Change{field: {Old: old, New: relation}}})
}

// Unlink removes a person's link to a house, both in scope.
func (s *Store) Unlink(ctx context.Context, sc account.Scope, actor audit.Actor, personID, houseID int64) (err error) {
	defer errs.Wrapf(&err, "registry.Store.Unlink")
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		p, err := s.personIn(ctx, tx, sc, personID)
		if err != nil {
			return err
		}
		if _, err := s.house(ctx, tx, sc, houseID); err != nil {
			return err
		}
		var old string
		err = tx.QueryRow(ctx, `DELETE FROM reg_person_houses WHERE house_id = $1 AND person_id = $2 RETURNING relation`, houseID, personID).Scan(&old)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("registry.link_not_found", personID, houseID)
		}
		if err != nil {
			return db.Translate(err)
		}
		return record(ctx, tx, actor, histRow{table: TablePeople, id: personID, action: "unlink", path: p.RegionPath,
			changes: map[string]Change{"house:" + strconv.FormatInt(houseID, 10): {Old: old}}})
	})
}

// HouseAt returns the id of the house in scope at a building address,
// unit and room: the key a houses file writes (楼栋地址, 单元, 房号), for a
// people file's house columns. When the address names buildings in several
// grids, the house in grid wins. No such house in scope is NotFound, and
// several, none of them in grid, is Invalid (ambiguous), both on
// house_address.
func (s *Store) HouseAt(ctx context.Context, sc account.Scope, address, unit, room, grid string) (_ int64, err error) {
	defer errs.Wrapf(&err, "registry.Store.HouseAt")
	address, unit, room = strings.TrimSpace(address), strings.TrimSpace(unit), strings.TrimSpace(room)
	if seesNothing(sc) || address == "" || room == "" {
		return 0, outOfScope("house_address", keyHouseNotFound, address)
	}
	var w db.Where
	w.Add("b.address = ?", address)
	w.Add("h.unit = ?", unit)
	w.Add("h.room = ?", room)
	sc.Apply(&w, Columns("h"))
	rows, err := s.db.Query(ctx, `SELECT h.id, h.grid_code FROM reg_houses h JOIN reg_buildings b ON b.id = h.building_id`+w.SQL()+
		` ORDER BY h.id LIMIT 20`, w.Args()...)
	if err != nil {
		return 0, db.Translate(err)
	}
	defer rows.Close()
	var all, inGrid []int64
	for rows.Next() {
		var id int64
		var g string
		if err := rows.Scan(&id, &g); err != nil {
			return 0, db.Translate(err)
		}
		all = append(all, id)
		if g == grid {
			inGrid = append(inGrid, id)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, db.Translate(err)
	}
	switch {
	case len(inGrid) == 1:
		return inGrid[0], nil
	case len(all) == 1:
		return all[0], nil
	case len(all) == 0:
		return 0, outOfScope("house_address", keyHouseNotFound, address)
	}
	return 0, invalid().Field("house_address", "registry.err.house_ambiguous", address)
}

// FirstHouses returns, for each of the people given, their first house
// in scope (the lowest house id) with the relation: one house per person,
// as a people file's house columns hold it.
func (s *Store) FirstHouses(ctx context.Context, sc account.Scope, personIDs []int64) (_ map[int64]HouseLink, err error) {
	defer errs.Wrapf(&err, "registry.Store.FirstHouses")
	out := make(map[int64]HouseLink, len(personIDs))
	for lo := 0; lo < len(personIDs); lo += chunk {
		var w db.Where
		marks := make([]string, 0, chunk)
		for _, id := range personIDs[lo:min(lo+chunk, len(personIDs))] {
			marks = append(marks, w.Arg(id))
		}
		w.Add("l.person_id IN (" + strings.Join(marks, ",") + ")")
		sc.Apply(&w, Columns("h"))
		q := `SELECT ` + houseCols + `, l.relation, l.person_id` + houseFrom + ` JOIN reg_person_houses l ON l.house_id = h.id` + w.SQL() +
			` ORDER BY l.person_id, h.id`
		if err := s.firstHouses(ctx, q, w.Args(), out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (s *Store) firstHouses(ctx context.Context, q string, args []any, out map[int64]HouseLink) error {
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return db.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var l HouseLink
		var pid int64
		if l.House, err = scanHouse(rows, &l.Relation, &pid); err != nil {
			return db.Translate(err)
		}
		if _, seen := out[pid]; !seen {
			out[pid] = l
		}
	}
	return db.Translate(rows.Err())
}
