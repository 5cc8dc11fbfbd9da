package simulate_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/bus"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/device"
	"whistle/internal/idcode"
	"whistle/internal/registry"
	"whistle/internal/simulate"
	"whistle/internal/worldtest"
)

// recorder is the ingest's sink in the test: it keeps the readings.
type recorder struct {
	mu  sync.Mutex
	got map[int64][]device.Reading
}

func (r *recorder) Readings(_ context.Context, _ *db.Tx, _ map[int64]*device.Device, rs []device.Reading) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range rs {
		r.got[x.Device] = append(r.got[x.Device], x)
	}
	return nil
}

func (r *recorder) of(id int64) []device.Reading {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got[id])
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestSimulateOverMQTT provisions ten devices (the four special cases and
// a mix) for two elderly residents and grid spaces, runs the simulator
// against the embedded MQTT listener with device authentication and the
// real consumer, and stops it: every device's readings arrived through
// the ingest, valid against their profiles; the resident who stopped
// using water reported none after the onset, the leak some in every
// report, the fall watch its fall; a device with a wrong password is
// refused and the others go on; a second provisioning reuses the devices
// with new passwords (the old ones no longer connect).
func TestSimulateOverMQTT(t *testing.T) {
	worldtest.Each(t, time.Now(), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		ctx := context.Background()
		w := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("龙湾区", "永中街道"), Departments: worldtest.Departments("CG", "ZJ"), Users: worldtest.OneStreetUsers()})
		reg := registry.NewStore(registry.Deps{DB: d, Regions: w.Regions})
		for i, grid := range []string{"330303001001001", "330303001002001"} {
			first := "330303" + "19400101" + fmt.Sprint(120+2*i)
			p, err := reg.AddPerson(ctx, account.SystemScope(), audit.Actor{Name: "test"}, registry.PersonInput{IDNumber: first + string(idcode.ResidentCheck(first)),
				Name: "张阿婆", Sex: "F", BirthDate: "1940-01-01", Status: registry.StatusResident, GridCode: grid})
			if err != nil {
				t.Fatal(err)
			}
			if err := reg.AddMember(ctx, account.SystemScope(), audit.Actor{Name: "test"}, "elderly_alone", p.ID, "独居"); err != nil {
				t.Fatal(err)
			}
		}
		store, err := device.NewStore(d, reg, w.Regions)
		if err != nil {
			t.Fatal(err)
		}
		store.SetHashParams(account.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1})
		deps := simulate.ProvisionDeps{Devices: store, People: reg, Grids: w.Regions}
		devs, err := simulate.Provision(ctx, deps, 10)
		if err != nil {
			t.Fatal(err)
		}
		for i, dv := range devs {
			if dv.Scenario != simulate.Plan(i) || dv.Type != simulate.TypeOf(dv.Scenario) || dv.Password == "" || dv.District != "330303" {
				t.Fatalf("device %d: %+v", i, dv)
			}
		}
		// The devices file keeps them for another run.
		var file bytes.Buffer
		if err := simulate.WriteDevices(&file, devs); err != nil {
			t.Fatal(err)
		}
		back, err := simulate.ReadDevices(&file)
		if err != nil || !slices.Equal(back, devs) {
			t.Fatalf("the devices file read back: %v %+v", err, back)
		}

		rec := &recorder{got: map[int64][]device.Reading{}}
		ing := device.NewIngester(store, device.IngestConfig{})
		ing.UseSink(rec)
		port := freePort(t)
		bctx, stopBus := context.WithCancel(ctx)
		b, err := bus.Open(bctx, bus.Config{DataDir: t.TempDir(), MQTTPort: port, Auth: store.Credentials(bctx)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		js, err := bus.JetStream(b)
		if err != nil {
			t.Fatal(err)
		}
		cons := device.NewConsumer(js, ing, device.ConsumerConfig{Wait: 20 * time.Millisecond}, nil)
		if _, _, err := cons.Setup(bctx); err != nil {
			t.Fatal(err)
		}
		consumed := make(chan struct{})
		go func() { defer close(consumed); _ = cons.Run(bctx) }()
		defer func() { stopBus(); <-consumed; _ = b.Close() }()

		bad := devs[9]
		bad.Password = "wrong"
		runDevs := append(slices.Clone(devs[:9]), bad)
		rctx, stop := context.WithCancel(ctx)
		var reports []simulate.Stats
		var st simulate.Stats
		var runErr error
		done := make(chan struct{})
		go func() {
			defer close(done)
			st, runErr = simulate.Run(rctx, simulate.Config{URL: fmt.Sprintf("tcp://127.0.0.1:%d", port), Devices: runDevs, Rate: 60, Speed: 600,
				Seed: 1, Report: func(s simulate.Stats) { reports = append(reports, s) }, ReportEvery: 500 * time.Millisecond})
		}()
		// Run until each of the nine has published at least three times
		// and their readings are in.
		deadline := time.Now().Add(60 * time.Second)
		for {
			all := true
			for _, dv := range devs[:9] {
				all = all && len(rec.of(dv.ID)) >= 3
			}
			if all {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("readings did not arrive: %v", func() map[int64]int {
					m := map[int64]int{}
					for _, dv := range devs {
						m[dv.ID] = len(rec.of(dv.ID))
					}
					return m
				}())
			}
			time.Sleep(50 * time.Millisecond)
		}
		stop()
		<-done
		if runErr != nil {
			t.Fatal(runErr)
		}
		if st.Connected != 9 || st.Refused != 1 || st.Failed != 0 || st.Acked != st.Published || st.Published < 27 {
			t.Errorf("stats %+v: want 9 connected, 1 refused, every publish acknowledged", st)
		}
		if len(reports) == 0 || reports[len(reports)-1] != st {
			t.Errorf("the last report %v is not the run's totals %+v", reports, st)
		}
		if got := rec.of(bad.ID); len(got) != 0 {
			t.Errorf("the refused device has %d readings", len(got))
		}
		for _, dv := range devs[:9] {
			rs := rec.of(dv.ID)
			for _, r := range rs {
				switch dv.Scenario {
				case simulate.NoWater:
					if r.Values["water_m3"] != 0 {
						t.Errorf("no_water reported %v m³ (the onset is the start)", r.Values["water_m3"])
					}
				case simulate.Leak:
					if r.Values["water_m3"] <= 0 {
						t.Errorf("the leak reported no water")
					}
				case simulate.Parking, simulate.NoParking:
					if s := r.Text["state"]; s != "occupied" && s != "vacant" {
						t.Errorf("a parking sensor reported %q", s)
					}
				}
			}
			if dv.Scenario == simulate.Fall && rs[0].Values["fall"] != 1 {
				t.Errorf("the fall watch's first report: %v", rs[0].Values)
			}
		}

		// Provisioning again reuses the ten with new passwords.
		again, err := simulate.Provision(ctx, deps, 10)
		if err != nil {
			t.Fatal(err)
		}
		for i := range again {
			if again[i].ID != devs[i].ID || again[i].Password == devs[i].Password {
				t.Fatalf("device %d again: %d (was %d), password changed %v", i, again[i].ID, devs[i].ID, again[i].Password != devs[i].Password)
			}
		}
		st, err = simulate.Run(ctx, simulate.Config{URL: fmt.Sprintf("tcp://127.0.0.1:%d", port), Devices: devs[:1], Rate: 10})
		if err == nil || st.Refused != 1 {
			t.Errorf("the old password after a rotation: %+v %v, want refused", st, err)
		}
	})
}
