package device_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/device"
	"whistle/internal/idcode"
	"whistle/internal/registry"
	"whistle/internal/worldtest"
)

// t0 is a Monday morning in Wenzhou.
var t0 = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)

// Grids of worldtest.OneStreet: A1 is lng 120–120.01, B1 120.01–120.02.
const (
	gridA1 = "330303001001001"
	gridB1 = "330303001002001"
)

type fixture struct {
	*worldtest.World
	d     *db.DB
	clk   *clock.Fake
	reg   *registry.Store
	store *device.Store
	ing   *device.Ingester
	sink  *recorder
}

func newFixture(t testing.TB, d *db.DB, clk *clock.Fake) *fixture {
	t.Helper()
	w := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("龙湾区", "永中街道"), Departments: worldtest.Departments("CG", "ZJ"), Users: worldtest.OneStreetUsers()})
	reg := registry.NewStore(registry.Deps{DB: d, Regions: w.Regions})
	s, err := device.NewStore(d, reg, w.Regions)
	if err != nil {
		t.Fatal(err)
	}
	s.SetHashParams(account.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1})
	ing := device.NewIngester(s, device.IngestConfig{})
	rec := &recorder{}
	ing.UseSink(rec)
	return &fixture{World: w, d: d, clk: clk, reg: reg, store: s, ing: ing, sink: rec}
}

// recorder is a Sink that keeps what it was given.
type recorder struct {
	mu   sync.Mutex
	got  []device.Reading
	devs map[int64]device.Device // the last batch's device of each id
	fail error
}

func (r *recorder) Readings(_ context.Context, _ *db.Tx, devs map[int64]*device.Device, rs []device.Reading) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	if r.devs == nil {
		r.devs = map[int64]device.Device{}
	}
	for _, x := range rs {
		if devs[x.Device] == nil {
			panic("sink: reading without its device")
		}
		r.devs[x.Device] = *devs[x.Device]
	}
	r.got = append(r.got, rs...)
	return nil
}

// dev is the device the sink was last given for id.
func (r *recorder) dev(id int64) device.Device {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.devs[id]
}

func (r *recorder) n() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func (f *fixture) scope(name string) account.Scope { return device.ScopeOf(f.Users[name]) }

// space adds a parking space in grid A1 (no_parking as given).
func (f *fixture) space(t *testing.T, code string, noParking bool) *device.ParkingSpace {
	t.Helper()
	sp, err := f.store.AddSpace(context.Background(), f.scope("admin"), device.NewSpace{Code: code, Name: "路边" + code, Lat: 27.005, Lng: 120.005, NoParking: noParking})
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// person adds an elderly person living in a house of grid A1.
func (f *fixture) person(t testing.TB, seq string) *registry.Person {
	t.Helper()
	ctx := context.Background()
	sc := registry.ScopeOf(f.Users["admin"])
	b, err := f.reg.AddBuilding(ctx, sc, worldtest.Actor(), registry.BuildingInput{Name: "1幢", Address: "永中街道1号", Lat: 27.004, Lng: 120.004, Floors: 6, Units: 2})
	if err != nil {
		t.Fatal(err)
	}
	h, err := f.reg.AddHouse(ctx, sc, worldtest.Actor(), registry.HouseInput{BuildingID: b.ID, Unit: "1", Room: "10" + seq, Use: "residential", Ownership: "private", Rental: "not_rented"})
	if err != nil {
		t.Fatal(err)
	}
	first := "33030319400101" + seq
	p, err := f.reg.AddPerson(ctx, sc, worldtest.Actor(), registry.PersonInput{IDNumber: first + string(idcode.ResidentCheck(first)), Name: "王老" + seq, Sex: "M",
		BirthDate: "1940-01-01", Status: "resident", HouseID: h.ID, HouseRelation: "owner"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (f *fixture) create(t *testing.T, nd device.NewDevice) *device.Created {
	t.Helper()
	c, err := f.store.Create(context.Background(), f.scope("admin"), nd)
	if err != nil {
		t.Fatalf("create %+v: %v", nd, err)
	}
	return c
}

// malformed is the counter of a device and reason.
func (f *fixture) malformed(t *testing.T, dev int64, reason string) int64 {
	t.Helper()
	var n int64
	err := f.d.QueryRow(context.Background(), `SELECT COALESCE(SUM(n), 0) FROM dev_malformed WHERE device_id = $1 AND reason = $2`, dev, reason).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (f *fixture) readings(t *testing.T, dev int64) int {
	t.Helper()
	rs, err := f.store.RawReadings(context.Background(), dev, time.Time{}, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return len(rs)
}
