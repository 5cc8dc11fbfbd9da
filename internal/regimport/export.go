package regimport

import (
	"context"
	"io"
	"strconv"

	"github.com/xuri/excelize/v2"

	"whistle/internal/account"
	"whistle/internal/errs"
	"whistle/internal/registry"
)

// exportPage is how many records one read of an export takes.
const exportPage = registry.MaxLimit

// Covers returns the materialised path of a region (a grid, community or
// street) the scope covers, or errs.NotFound as if it did not exist.
func (im *Importer) Covers(ctx context.Context, sc account.Scope, regionCode string) (string, error) {
	n, err := im.regions.Get(ctx, regionCode)
	if err != nil || !sc.Covers(n.Path) {
		return "", errs.E(errs.NotFound, "registry.grid_not_found", regionCode)
	}
	return n.Path, nil
}

// Export writes the 台账 of kind k of a region (a grid, community or
// street) the scope covers as an .xlsx workbook in the kind's layout. With
// clear, personal data is in the clear and the file re-imports unchanged:
// the caller has authorised and audited that (account.Store.Reveal);
// without, names, numbers, phones and addresses are masked. A region
// outside the scope is errs.NotFound.
func (im *Importer) Export(ctx context.Context, sc account.Scope, k Kind, regionCode string, clear bool, w io.Writer) (err error) {
	defer errs.Wrapf(&err, "regimport.Export")
	lay, ok := im.layouts[k]
	if !ok {
		return errs.E(errs.Invalid, "error.invalid").Field("kind", "import.err.kind")
	}
	path, err := im.Covers(ctx, sc, regionCode)
	if err != nil {
		return err
	}
	// The region's subtree, within the caller's scope.
	sub := account.Scope{RegionPath: path}
	f := excelize.NewFile()
	defer f.Close()
	sheet := f.GetSheetName(0)
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	head := make([]any, len(lay.Columns))
	for i, c := range lay.Columns {
		head[i] = c.Header
	}
	if err := sw.SetRow("A1", head); err != nil {
		return err
	}
	row := 1
	put := func(vals map[string]string) error {
		row++
		cells := make([]any, len(lay.Columns))
		for i, c := range lay.Columns {
			if clear {
				cells[i] = c.display(vals[c.Field])
			} else {
				cells[i] = maskCell(c, vals[c.Field])
			}
		}
		cell, _ := excelize.CoordinatesToCellName(1, row)
		return sw.SetRow(cell, cells)
	}
	switch k {
	case People:
		err = im.exportPeople(ctx, sub, put)
	case Organisations:
		err = im.exportOrgs(ctx, sub, put)
	case Houses:
		err = im.exportHouses(ctx, sub, put)
	}
	if err != nil {
		return err
	}
	if err := sw.Flush(); err != nil {
		return err
	}
	return f.Write(w)
}

func (im *Importer) exportPeople(ctx context.Context, sc account.Scope, put func(map[string]string) error) error {
	for off := 0; ; off += exportPage {
		ps, err := im.reg.People(ctx, sc, registry.PeopleFilter{Clear: true}, registry.Page{Limit: exportPage, Offset: off})
		if err != nil {
			return err
		}
		ids := make([]int64, len(ps))
		for i, p := range ps {
			ids[i] = p.ID
		}
		// Each person's first house, in the houses file's key, so that the
		// link re-imports.
		houses, err := im.reg.FirstHouses(ctx, sc, ids)
		if err != nil {
			return err
		}
		for _, p := range ps {
			h := houses[p.ID]
			if err := put(map[string]string{"name": p.Name, "id_number": p.IDNumber, "sex": p.Sex, "birth_date": p.BirthDate, "phone": p.Phone,
				"hukou_address": p.HukouAddress, "residence_address": p.ResidenceAddress, "status": p.Status, "registered_on": p.RegisteredOn,
				"household_id": p.HouseholdID, "household_relation": p.HouseholdRel, "grid_code": p.GridCode,
				"house_address": h.Address, "house_unit": h.Unit, "house_room": h.Room, "house_relation": h.Relation}); err != nil {
				return err
			}
		}
		if len(ps) < exportPage {
			return nil
		}
	}
}

func (im *Importer) exportOrgs(ctx context.Context, sc account.Scope, put func(map[string]string) error) error {
	for off := 0; ; off += exportPage {
		os, err := im.reg.Organisations(ctx, sc, registry.OrgFilter{Clear: true}, registry.Page{Limit: exportPage, Offset: off})
		if err != nil {
			return err
		}
		for _, o := range os {
			if err := put(map[string]string{"credit_code": o.CreditCode, "name": o.Name, "kind": o.Kind, "address": o.Address,
				"contact_name": o.ContactName, "contact_phone": o.ContactPhone, "industry": o.Industry, "size": o.Size,
				"safety_category": o.SafetyCategory, "grid_code": o.GridCode}); err != nil {
				return err
			}
		}
		if len(os) < exportPage {
			return nil
		}
	}
}

func (im *Importer) exportHouses(ctx context.Context, sc account.Scope, put func(map[string]string) error) error {
	buildings := map[int64]*registry.Building{}
	landlords := map[int64]string{}
	for off := 0; ; off += exportPage {
		hs, err := im.reg.Houses(ctx, sc, registry.HouseFilter{}, registry.Page{Limit: exportPage, Offset: off})
		if err != nil {
			return err
		}
		for _, h := range hs {
			b, ok := buildings[h.BuildingID]
			if !ok {
				if b, err = im.reg.Building(ctx, sc, h.BuildingID); err != nil {
					return err
				}
				buildings[h.BuildingID] = b
			}
			landlord, ok := landlords[h.LandlordID]
			if !ok && h.LandlordID != 0 {
				p, err := im.reg.PersonClear(ctx, sc, h.LandlordID)
				if err == nil {
					landlord = p.IDNumber
				}
				landlords[h.LandlordID] = landlord
			}
			if err := put(map[string]string{"address": b.Address, "building_name": b.Name, "lng": ftoa(b.Lng), "lat": ftoa(b.Lat),
				"floors": strconv.Itoa(b.Floors), "units": strconv.Itoa(b.Units), "unit": h.Unit, "room": h.Room, "use": h.Use,
				"ownership": h.Ownership, "rental": h.Rental, "area": ftoa(h.Area), "landlord_id_number": landlord}); err != nil {
				return err
			}
		}
		if len(hs) < exportPage {
			return nil
		}
	}
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
