package registry

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// HouseRow is a row of a houses file (房屋台账): the building by its
// address and location, and the house in it. It is the import's unit; the
// building is found by address in the grid of its point, or created.
type HouseRow struct {
	BuildingName string  `json:"building_name"`
	Address      string  `json:"address"`
	Lat          float64 `json:"lat"`
	Lng          float64 `json:"lng"`
	Floors       int     `json:"floors"`
	Units        int     `json:"units"`
	Unit         string  `json:"unit"`
	Room         string  `json:"room"`
	Use          string  `json:"use"`
	Ownership    string  `json:"ownership"`
	Rental       string  `json:"rental"`
	Area         float64 `json:"area"`
	// LandlordIDNumber names the landlord, a person in scope, by identity number.
	LandlordIDNumber string `json:"landlord_id_number"`
}

// houseRow is a checked HouseRow with its place.
type houseRow struct {
	HouseRow
	grid, path string
	bkey       string // grid and address: the building's key
	landlord   int64
}

// CheckHouseRow validates a house row without the database: the building
// and house fields, and the landlord's identity number when given.
func CheckHouseRow(in HouseRow) (HouseRow, error) {
	e := invalid()
	checkHouseRow(e, &in)
	return in, failed(e)
}

func checkHouseRow(e *errs.Error, in *HouseRow) {
	b := BuildingInput{Name: in.BuildingName, Address: in.Address, Lat: in.Lat, Lng: in.Lng, Floors: in.Floors, Units: in.Units}
	checkBuilding(e, &b)
	in.BuildingName, in.Address = b.Name, b.Address
	h := HouseInput{BuildingID: 1, Unit: in.Unit, Room: in.Room, Use: in.Use, Ownership: in.Ownership, Rental: in.Rental, Area: in.Area}
	checkHouse(e, &h)
	in.Unit, in.Room, in.Use, in.Ownership, in.Rental = h.Unit, h.Room, h.Use, h.Ownership, h.Rental
	in.LandlordIDNumber = strings.ToUpper(strings.TrimSpace(in.LandlordIDNumber))
}

// UpsertHouses adds or updates houses, with their buildings, in one
// transaction: the import of a houses file. A row's building is the one at
// its address in the grid of its point (created when missing, its name,
// floors and units updated from the first row naming it); its house is the
// building's unit and room. Every row is checked first (the point in a
// grid the scope covers, the landlord a person in scope); any refused row
// returns a *BatchError and writes nothing. Re-running the same rows
// changes nothing and writes no history. IDs are the houses' ids.
func (s *Store) UpsertHouses(ctx context.Context, sc account.Scope, actor audit.Actor, in []HouseRow) (_ UpsertResult, err error) {
	defer errs.Wrapf(&err, "registry.Store.UpsertHouses")
	if seesNothing(sc) {
		return UpsertResult{}, denied()
	}
	bad := &BatchError{}
	rows := make([]houseRow, len(in))
	seen := map[string]int{}
	loc := s.regions.Locator()
	for i := range in {
		r := houseRow{HouseRow: in[i]}
		e := invalid()
		checkHouseRow(e, &r.HouseRow)
		if len(e.Fields) == 0 {
			l, ok := loc.Locate(orb.Point{r.Lng, r.Lat})
			switch {
			case !ok:
				e.Field("lat", "registry.err.outside").Field("lng", "registry.err.outside")
			case !sc.Covers(pathOf(l)):
				e.Field("lat", "registry.err.outside_scope").Field("lng", "registry.err.outside_scope")
			default:
				r.grid, r.path = l.Grid.Code, pathOf(l)
				r.bkey = r.grid + "\x00" + r.Address
			}
		}
		hk := r.bkey + "\x00" + r.Unit + "\x00" + r.Room
		if j, dup := seen[hk]; dup && r.bkey != "" {
			e.Field("room", "registry.err.duplicate_row", j+1)
		}
		seen[hk] = i
		if len(e.Fields) > 0 {
			bad.add(i, e)
		}
		rows[i] = r
	}
	if err := bad.orNil(); err != nil {
		return UpsertResult{}, err
	}
	res := UpsertResult{IDs: make([]int64, len(rows))}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		if err := s.landlords(ctx, tx, sc, rows, bad); err != nil {
			return err
		}
		if err := bad.orNil(); err != nil {
			return err
		}
		var hist []histRow
		buildings, err := s.importBuildings(ctx, tx, rows, &hist)
		if err != nil {
			return err
		}
		now := tx.Now()
		for i, r := range rows {
			bid := buildings[r.bkey]
			hin := HouseInput{BuildingID: bid, Unit: r.Unit, Room: r.Room, Use: r.Use, Ownership: r.Ownership, Rental: r.Rental,
				LandlordID: r.landlord, Area: r.Area}
			var id, oldLandlord int64
			var old HouseInput
			err := tx.QueryRow(ctx, `SELECT id, use, ownership, rental, COALESCE(landlord_id, 0), area FROM reg_houses
				WHERE building_id = $1 AND unit = $2 AND room = $3`, bid, r.Unit, r.Room).
				Scan(&id, &old.Use, &old.Ownership, &old.Rental, &oldLandlord, &old.Area)
			var landlord any
			if r.landlord != 0 {
				landlord = r.landlord
			}
			switch {
			case err == nil:
				old.BuildingID, old.Unit, old.Room, old.LandlordID = bid, r.Unit, r.Room, oldLandlord
				changes := diff(old.values(), hin.values())
				if len(changes) == 0 {
					res.Unchanged++
					break
				}
				if _, err := tx.Exec(ctx, `UPDATE reg_houses SET use = $1, ownership = $2, rental = $3, landlord_id = $4, area = $5, updated_at = $6
					WHERE id = $7`, r.Use, r.Ownership, r.Rental, landlord, r.Area, now, id); err != nil {
					return err
				}
				hist = append(hist, histRow{table: TableHouses, id: id, action: "update", path: r.path, changes: changes})
				res.Updated++
			case errors.Is(err, sql.ErrNoRows):
				id, err = tx.InsertID(ctx, `INSERT INTO reg_houses (building_id, grid_code, region_path, unit, room, use, ownership, rental, landlord_id,
					area, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id`,
					bid, r.grid, r.path, r.Unit, r.Room, r.Use, r.Ownership, r.Rental, landlord, r.Area, now)
				if err != nil {
					return err
				}
				hist = append(hist, histRow{table: TableHouses, id: id, action: "create", path: r.path, changes: diff(nil, hin.values())})
				res.Created++
			default:
				return db.Translate(err)
			}
			res.IDs[i] = id
			if (i+1)%chunk == 0 || i+1 == len(rows) {
				reportProgress(ctx, i+1, len(rows))
			}
		}
		if err := writeHistory(ctx, tx, actor, hist); err != nil {
			return err
		}
		if len(hist) == 0 {
			return nil
		}
		return audit.Record(ctx, tx, actor, "registry."+TableHouses+".import", TableHouses,
			"created="+strconv.Itoa(res.Created)+" updated="+strconv.Itoa(res.Updated)+" unchanged="+strconv.Itoa(res.Unchanged))
	})
	if err != nil {
		return UpsertResult{}, err
	}
	return res, nil
}

// landlords resolves the rows' landlords by identity number, in scope.
func (s *Store) landlords(ctx context.Context, tx *db.Tx, sc account.Scope, rows []houseRow, bad *BatchError) error {
	ids := map[string]int64{}
	for i := range rows {
		n := rows[i].LandlordIDNumber
		if n == "" {
			continue
		}
		id, ok := ids[n]
		if !ok {
			var w db.Where
			w.Add("p.id_number = ?", n)
			sc.Apply(&w, Columns("p"))
			err := tx.QueryRow(ctx, `SELECT p.id FROM reg_people p`+w.SQL(), w.Args()...).Scan(&id)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return db.Translate(err)
			}
			ids[n] = id
		}
		if id == 0 {
			bad.add(i, invalid().Field("landlord_id_number", keyPersonNotFound, MaskIDNumber(n)))
			continue
		}
		rows[i].landlord = id
	}
	return nil
}

// importBuildings finds or creates the rows' buildings, updating a found
// one's name, floors, units and point from the first row naming it, and
// returns their ids by key.
func (s *Store) importBuildings(ctx context.Context, tx *db.Tx, rows []houseRow, hist *[]histRow) (map[string]int64, error) {
	ids := map[string]int64{}
	now := tx.Now()
	for _, r := range rows {
		if _, done := ids[r.bkey]; done {
			continue
		}
		in := BuildingInput{Name: r.BuildingName, Address: r.Address, Lat: r.Lat, Lng: r.Lng, Floors: r.Floors, Units: r.Units}
		b, err := scanBuilding(tx.QueryRow(ctx, `SELECT `+buildingCols+` FROM reg_buildings b WHERE b.grid_code = $1 AND b.address = $2
			ORDER BY b.id LIMIT 1`, r.grid, r.Address))
		switch {
		case err == nil:
			old := BuildingInput{Name: b.Name, Address: b.Address, Lat: b.Lat, Lng: b.Lng, Floors: b.Floors, Units: b.Units}
			if changes := diff(old.values(r.grid), in.values(r.grid)); len(changes) > 0 {
				if _, err := tx.Exec(ctx, `UPDATE reg_buildings SET name = $1, lat = $2, lng = $3, floors = $4, units = $5, updated_at = $6 WHERE id = $7`,
					in.Name, in.Lat, in.Lng, in.Floors, in.Units, now, b.ID); err != nil {
					return nil, err
				}
				*hist = append(*hist, histRow{table: TableBuildings, id: b.ID, action: "update", path: r.path, changes: changes})
			}
			ids[r.bkey] = b.ID
		case errors.Is(err, sql.ErrNoRows):
			id, err := tx.InsertID(ctx, `INSERT INTO reg_buildings (grid_code, region_path, name, address, lat, lng, floors, units, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id`, r.grid, r.path, in.Name, in.Address, in.Lat, in.Lng, in.Floors, in.Units, now)
			if err != nil {
				return nil, err
			}
			*hist = append(*hist, histRow{table: TableBuildings, id: id, action: "create", path: r.path, changes: diff(nil, in.values(r.grid))})
			ids[r.bkey] = id
		default:
			return nil, fmt.Errorf("registry: building of %q: %w", r.Address, db.Translate(err))
		}
	}
	return ids, nil
}
