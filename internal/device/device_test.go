package device_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/device"
	"whistle/internal/errs"
	"whistle/internal/worldtest"
)

func TestCreatePlacesDeviceByOwner(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		p := f.person(t, "001")
		w := f.create(t, device.NewDevice{Type: "water_meter", Serial: "WM-1", OwnerKind: device.OwnerPerson, OwnerID: p.ID, InstalledOn: "2026-11-01"})
		if got, want := w.GridCode, gridA1; got != want {
			t.Errorf("grid %q, want %q", got, want)
		}
		if w.PersonID != p.ID || w.HouseID == 0 {
			t.Errorf("person %d house %d, want person %d and its house", w.PersonID, w.HouseID, p.ID)
		}
		if got, want := w.District, "330303"; got != want {
			t.Errorf("district %q, want %q", got, want)
		}
		if w.Password == "" || w.Username != fmt.Sprintf("dev-%d", w.ID) {
			t.Errorf("credentials %q/%q, want dev-<id> and a password", w.Username, w.Password)
		}
		if got, want := w.Topic(), fmt.Sprintf("whistle/330303/dev/%d/tele", w.ID); got != want {
			t.Errorf("topic %q, want %q", got, want)
		}
		sp := f.space(t, "P1", true)
		ps := f.create(t, device.NewDevice{Type: "parking_sensor", Serial: "PS-1", OwnerKind: device.OwnerParkingSpace, OwnerID: sp.ID})
		if ps.Lat != sp.Lat || ps.GridCode != gridA1 {
			t.Errorf("parking sensor at %v in %q, want the space's point in %q", ps.Lat, ps.GridCode, gridA1)
		}
		ctx := context.Background()
		// Out of scope: staff of community B see neither device.
		if _, err := f.store.Device(ctx, f.scope("staff-b"), w.ID); !errs.Is(err, errs.NotFound) {
			t.Errorf("staff-b Device: %v, want NotFound", err)
		}
		if _, err := f.store.Device(ctx, f.scope("resident"), w.ID); !errs.Is(err, errs.NotFound) {
			t.Errorf("resident Device: %v, want NotFound", err)
		}
		list, err := f.store.Devices(ctx, f.scope("staff-b"), device.Filter{})
		if err != nil || len(list) != 0 {
			t.Errorf("staff-b Devices: %d, %v; want none", len(list), err)
		}
		list, err = f.store.Devices(ctx, f.scope("grid-a"), device.Filter{})
		if err != nil || len(list) != 2 {
			t.Errorf("grid-a Devices: %d, %v; want 2", len(list), err)
		}
		// Staff of B cannot register a device for a person of A.
		_, err = f.store.Create(ctx, f.scope("staff-b"), device.NewDevice{Type: "gas_meter", Serial: "G-1", OwnerKind: device.OwnerPerson, OwnerID: p.ID})
		if !errs.Is(err, errs.NotFound) {
			t.Errorf("staff-b create for A's person: %v, want NotFound", err)
		}
	})
}

func TestCreateRefusesBadInput(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		sp := f.space(t, "P1", false)
		lat, lng := 30.0, 121.0
		tests := []struct {
			name  string
			nd    device.NewDevice
			field string
		}{
			{"unknown type", device.NewDevice{Type: "toaster", Serial: "1", OwnerKind: device.OwnerParkingSpace, OwnerID: sp.ID}, "type"},
			{"no serial", device.NewDevice{Type: "parking_sensor", OwnerKind: device.OwnerParkingSpace, OwnerID: sp.ID}, "serial"},
			{"bad owner kind", device.NewDevice{Type: "parking_sensor", Serial: "1", OwnerKind: "car", OwnerID: 1}, "owner_kind"},
			{"outside", device.NewDevice{Type: "parking_sensor", Serial: "1", OwnerKind: device.OwnerParkingSpace, OwnerID: sp.ID, Lat: &lat, Lng: &lng}, "lat"},
			{"bad date", device.NewDevice{Type: "parking_sensor", Serial: "1", OwnerKind: device.OwnerParkingSpace, OwnerID: sp.ID, InstalledOn: "1/2/2026"}, "installed_on"},
		}
		for _, tt := range tests {
			_, err := f.store.Create(context.Background(), f.scope("admin"), tt.nd)
			e, ok := errs.As(err)
			if !ok || e.Code != errs.Invalid || e.Fields[tt.field].Key == "" {
				t.Errorf("%s: %v, want invalid %s", tt.name, err, tt.field)
			}
		}
		f.create(t, device.NewDevice{Type: "parking_sensor", Serial: "S", OwnerKind: device.OwnerParkingSpace, OwnerID: sp.ID})
		_, err := f.store.Create(context.Background(), f.scope("admin"), device.NewDevice{Type: "parking_sensor", Serial: "S", OwnerKind: device.OwnerParkingSpace, OwnerID: sp.ID})
		if e, ok := errs.As(err); !ok || e.Fields["serial"].Key != "device.err.duplicate" {
			t.Errorf("duplicate serial: %v, want invalid serial", err)
		}
	})
}

func TestCreateManyAllOrNothing(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		sp := f.space(t, "P1", false)
		good := device.NewDevice{Type: "parking_sensor", Serial: "A", OwnerKind: device.OwnerParkingSpace, OwnerID: sp.ID}
		bad := device.NewDevice{Type: "parking_sensor", Serial: "", OwnerKind: device.OwnerParkingSpace, OwnerID: sp.ID}
		missing := device.NewDevice{Type: "parking_sensor", Serial: "M", OwnerKind: device.OwnerParkingSpace, OwnerID: 999}
		_, err := f.store.CreateMany(context.Background(), f.scope("admin"), []device.NewDevice{good, bad, missing})
		if e, ok := errs.As(err); !ok || e.Fields["2.owner_id"].Key == "" {
			t.Errorf("CreateMany with a missing owner in row 2: %v, want invalid 2.owner_id", err)
		}
		if e, ok := errs.As(err); !ok || e.Fields["1.serial"].Key == "" {
			t.Fatalf("CreateMany with a bad row 1: %v, want invalid 1.serial", err)
		}
		list, _ := f.store.Devices(context.Background(), f.scope("admin"), device.Filter{})
		if len(list) != 0 {
			t.Errorf("%d devices after a failed import, want 0", len(list))
		}
		// A duplicate inside the batch fails it whole too.
		_, err = f.store.CreateMany(context.Background(), f.scope("admin"), []device.NewDevice{good, good})
		if e, ok := errs.As(err); !ok || e.Fields["1.serial"].Key != "device.err.duplicate" {
			t.Fatalf("CreateMany with a duplicate: %v, want invalid 1.serial", err)
		}
		if list, _ := f.store.Devices(context.Background(), f.scope("admin"), device.Filter{}); len(list) != 0 {
			t.Errorf("%d devices after a failed import, want 0", len(list))
		}
	})
}

func TestRotateRevokeAuthenticate(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		sp := f.space(t, "P1", false)
		c := f.create(t, device.NewDevice{Type: "parking_sensor", Serial: "A", OwnerKind: device.OwnerParkingSpace, OwnerID: sp.ID})
		auth := func(pw string) bool {
			dv, err := f.store.Authenticate(ctx, c.Username, pw)
			if err != nil {
				t.Fatal(err)
			}
			return dv != nil
		}
		if !auth(c.Password) || auth(c.Password+"x") || auth("") {
			t.Fatalf("authenticate: the issued password must pass and others fail")
		}
		r, err := f.store.Rotate(ctx, f.scope("admin"), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if auth(c.Password) || !auth(r.Password) {
			t.Errorf("after rotate: old password passes or new one fails")
		}
		if _, err := f.store.Rotate(ctx, f.scope("staff-b"), c.ID); !errs.Is(err, errs.NotFound) {
			t.Errorf("rotate out of scope: %v, want NotFound", err)
		}
		if _, err := f.store.Revoke(ctx, f.scope("admin"), c.ID); err != nil {
			t.Fatal(err)
		}
		if auth(r.Password) {
			t.Errorf("after revoke the password still authenticates")
		}
		if dv, _ := f.store.Authenticate(ctx, "dev-x", "p"); dv != nil {
			t.Errorf("a malformed user name authenticated")
		}
		_ = strings.TrimSpace
	})
}
