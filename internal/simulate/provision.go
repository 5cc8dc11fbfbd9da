package simulate

import (
	"context"
	"errors"
	"fmt"

	"whistle/internal/account"
	"whistle/internal/device"
	"whistle/internal/errs"
	"whistle/internal/region"
	"whistle/internal/registry"
)

// Model is the model name the simulated devices are registered under, so
// that a later run finds and reuses them.
const Model = "whistle-simulator"

// Plan is the scenario of the i-th simulated device: the first four are
// the special cases (a resident who stops using water, a leak, a fall, a
// no-parking space), then a mix of residents' meters and watches and
// kerbside spaces.
func Plan(i int) string {
	first := []string{NoWater, Leak, Fall, NoParking}
	if i < len(first) {
		return first[i]
	}
	mix := []string{Water, Watch, Parking, Parking, Water, Watch, Parking, Parking, NoParking, Water}
	return mix[(i-len(first))%len(mix)]
}

// People finds the residents who get the meters and watches:
// *registry.Store.
type People interface {
	GroupMembers(ctx context.Context, sc account.Scope, group, gridCode string, clear bool, pg registry.Page) ([]registry.Member, error)
	People(ctx context.Context, sc account.Scope, f registry.PeopleFilter, pg registry.Page) ([]registry.Person, error)
}

// Grids lists the grids the parking spaces go in: *region.Store.
type Grids interface {
	All(ctx context.Context, withGeom bool) ([]region.Node, error)
}

// ProvisionDeps are what Provision registers devices through.
type ProvisionDeps struct {
	Devices *device.Store
	People  People
	Grids   Grids
}

// Provision registers n simulated devices in the device registry (the
// system's scope) and returns them with fresh credentials: the meters and
// watches of elderly residents living alone (or, without that group, of
// any residents), and parking sensors on spaces it adds at the grids'
// interior points. Devices an earlier run registered (Model, same serial)
// are reused with rotated passwords.
func Provision(ctx context.Context, d ProvisionDeps, n int) (_ []Device, err error) {
	defer errs.Wrapf(&err, "simulate.Provision(%d)", n)
	if n <= 0 {
		return nil, errNoDevices
	}
	sc := account.SystemScope()
	existing := map[string]*device.Device{}
	for after := int64(0); ; {
		ds, err := d.Devices.Devices(ctx, sc, device.Filter{AfterID: after, Limit: 1000})
		if err != nil {
			return nil, err
		}
		for _, x := range ds {
			if x.Model == Model {
				existing[x.Type+"/"+x.Serial] = x
			}
			after = x.ID
		}
		if len(ds) < 1000 {
			break
		}
	}
	var people, spaces, meters, watches int
	for i := range n {
		switch TypeOf(Plan(i)) {
		case "water_meter":
			meters++
		case "smart_watch":
			watches++
		default:
			spaces++
		}
	}
	people = max(meters, watches)
	var persons []int64
	if people > 0 {
		if persons, err = residents(ctx, d.People, sc, people); err != nil {
			return nil, err
		}
	}
	spaceIDs := map[string]int64{}
	if spaces > 0 {
		if spaceIDs, err = parkingSpaces(ctx, d, sc, n); err != nil {
			return nil, err
		}
	}
	out := make([]Device, n)
	var fresh []device.NewDevice
	var freshIdx []int
	meter, wrist := 0, 0
	for i := range n {
		scen := Plan(i)
		typ := TypeOf(scen)
		serial := fmt.Sprintf("SIM-%06d", i)
		out[i] = Device{Type: typ, Scenario: scen}
		if x := existing[typ+"/"+serial]; x != nil {
			c, err := d.Devices.Rotate(ctx, sc, x.ID)
			if err != nil {
				return nil, err
			}
			out[i].ID, out[i].District, out[i].Username, out[i].Password = c.ID, c.District, c.Username, c.Password
			continue
		}
		nd := device.NewDevice{Type: typ, Model: Model, Serial: serial}
		switch typ {
		case "water_meter":
			nd.OwnerKind, nd.OwnerID = device.OwnerPerson, persons[meter%len(persons)]
			meter++
		case "smart_watch":
			nd.OwnerKind, nd.OwnerID = device.OwnerPerson, persons[wrist%len(persons)]
			wrist++
		default:
			nd.OwnerKind, nd.OwnerID = device.OwnerParkingSpace, spaceIDs[spaceCode(i, scen)]
		}
		fresh = append(fresh, nd)
		freshIdx = append(freshIdx, i)
	}
	for lo := 0; lo < len(fresh); lo += 500 {
		hi := min(lo+500, len(fresh))
		cs, err := d.Devices.CreateMany(ctx, sc, fresh[lo:hi])
		if err != nil {
			return nil, err
		}
		for k, c := range cs {
			i := freshIdx[lo+k]
			out[i].ID, out[i].District, out[i].Username, out[i].Password = c.ID, c.District, c.Username, c.Password
		}
	}
	return out, nil
}

// residents returns n person ids (fewer when the registry has fewer):
// the elderly living alone first.
func residents(ctx context.Context, p People, sc account.Scope, n int) ([]int64, error) {
	var ids []int64
	ms, err := p.GroupMembers(ctx, sc, "elderly_alone", "", false, registry.Page{Limit: n})
	if err != nil && !errs.Is(err, errs.NotFound) {
		return nil, err
	}
	for _, m := range ms {
		ids = append(ids, m.ID)
	}
	if len(ids) < n {
		ps, err := p.People(ctx, sc, registry.PeopleFilter{Status: registry.StatusResident}, registry.Page{Limit: n})
		if err != nil {
			return nil, err
		}
		seen := map[int64]bool{}
		for _, id := range ids {
			seen[id] = true
		}
		for _, x := range ps {
			if len(ids) < n && !seen[x.ID] {
				ids = append(ids, x.ID)
			}
		}
	}
	if len(ids) == 0 {
		return nil, errors.New("the registry has no residents to give meters and watches to: run `whistle demo` first, or give --devices FILE")
	}
	return ids, nil
}

// spaceCode is the code of the i-th device's parking space.
func spaceCode(i int, scenario string) string {
	if scenario == NoParking {
		return fmt.Sprintf("SIM-N%05d", i)
	}
	return fmt.Sprintf("SIM-P%05d", i)
}

// parkingSpaces returns the spaces of the first n devices' parking
// sensors by code, adding the missing ones near the grids' interior
// points, a few metres apart.
func parkingSpaces(ctx context.Context, d ProvisionDeps, sc account.Scope, n int) (map[string]int64, error) {
	have, err := d.Devices.Spaces(ctx, sc)
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, s := range have {
		out[s.Code] = s.ID
	}
	nodes, err := d.Grids.All(ctx, false)
	if err != nil {
		return nil, err
	}
	var grids []region.Node
	for _, g := range nodes {
		if g.Level == region.Grid {
			grids = append(grids, g)
		}
	}
	if len(grids) == 0 {
		return nil, errors.New("no grids to put the parking spaces in: import the regions or run `whistle demo` first")
	}
	k := 0
	for i := range n {
		scen := Plan(i)
		if TypeOf(scen) != "parking_sensor" {
			continue
		}
		code := spaceCode(i, scen)
		if _, ok := out[code]; ok {
			k++
			continue
		}
		g := grids[k%len(grids)]
		// Spaces of one grid along a kerb, about 3 m apart (50 at most
		// before they start over, to stay inside the grid).
		off := float64((k/len(grids))%50) * 0.00003
		name := "模拟车位 " + code
		if scen == NoParking {
			name = "模拟禁停点 " + code
		}
		s, err := d.Devices.AddSpace(ctx, sc, device.NewSpace{Code: code, Name: name, Lat: g.Interior.Lat() + off, Lng: g.Interior.Lon(),
			NoParking: scen == NoParking})
		if err != nil {
			return nil, fmt.Errorf("parking space %s: %w", code, err)
		}
		out[code] = s.ID
		k++
	}
	return out, nil
}
