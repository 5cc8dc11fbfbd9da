package web

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/idcode"
	"whistle/internal/notify"
	"whistle/internal/regimport"
	"whistle/internal/registry"
	"whistle/internal/visit"
	"whistle/internal/worldtest"
)

// visitHouse is a house of a visit world: its grid and position.
type visitHouse struct {
	grid     string
	lat, lng float64
}

// visitWorld is OneStreet served over HTTP with a registry, its importer
// and visits:
// one person in the group elderly_alone (monthly) per house, so one open
// visit task each, in the order of the houses.
type visitWorld struct {
	fw     *fuzzWorld
	d      *db.DB
	reg    *registry.Store
	visits *visit.Store
	tasks  []int64
	people []int64
	houses []int64
}

func newVisitWorld(tb testing.TB, users []worldtest.User, houses []visitHouse) *visitWorld {
	tb.Helper()
	watch := &panicWatch{}
	logger := slog.New(watch)
	d := dbtest.MustOpenDB(tb, db.SQLite, clock.Real{})
	wt := worldtest.New(tb, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Departments: worldtest.Departments("CG"), Users: users, Logger: logger})
	reg := registry.NewStore(registry.Deps{DB: d, Regions: wt.Regions})
	vs := visit.NewStore(visit.Deps{DB: d, Regions: wt.Regions, Registry: reg})
	ctx, sc, sys := context.Background(), account.SystemScope(), audit.System("test")
	v := &visitWorld{d: d, reg: reg, visits: vs}
	for i, hs := range houses {
		b, err := reg.AddBuilding(ctx, sc, sys, registry.BuildingInput{Address: fmt.Sprintf("走访路 %d 号", i+1), Lat: hs.lat, Lng: hs.lng})
		if err != nil {
			tb.Fatal(err)
		}
		h, err := reg.AddHouse(ctx, sc, sys, registry.HouseInput{BuildingID: b.ID, Room: "101"})
		if err != nil {
			tb.Fatal(err)
		}
		id := fmt.Sprintf("330303194001010%02d", i)
		p, err := reg.AddPerson(ctx, sc, sys, registry.PersonInput{IDNumber: id + string(idcode.ResidentCheck(id)), Name: fmt.Sprintf("王%d", i),
			Status: registry.StatusResident, GridCode: hs.grid, HouseID: h.ID, HouseRelation: registry.RelOwner})
		if err != nil {
			tb.Fatal(err)
		}
		if err := vs.Join(ctx, sc, sys, "elderly_alone", p.ID, ""); err != nil {
			tb.Fatal(err)
		}
		var task int64
		if err := d.QueryRow(ctx, `SELECT id FROM visit_tasks WHERE person_id = $1`, p.ID).Scan(&task); err != nil {
			tb.Fatal(err)
		}
		v.tasks, v.people, v.houses = append(v.tasks, task), append(v.people, p.ID), append(v.houses, h.ID)
	}
	im, err := regimport.New(regimport.Deps{Registry: reg, Regions: wt.Regions, Clock: clock.Real{}})
	if err != nil {
		tb.Fatal(err)
	}
	_, ts := serve(tb, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: wt.Accounts, Regions: wt.Regions,
		Cases: wt.Cases, Categories: wt.Categories, BaseData: reg, Visits: vs, Imports: im, Logger: logger})
	v.fw = &fuzzWorld{ts: ts, watch: watch, tokens: map[string]string{}, csrf: map[string]string{}}
	for _, u := range users {
		tok, _, sess, err := wt.Accounts.Login(ctx, u.Name, worldtest.Password, account.WebSession, account.Client{IP: "127.0.0.1"})
		if err != nil {
			tb.Fatal(err)
		}
		v.fw.tokens[u.Name], v.fw.csrf[u.Name] = tok, sess.CSRF
	}
	return v
}

// exec runs a statement in a transaction.
func (v *visitWorld) exec(tb testing.TB, q string, args ...any) {
	tb.Helper()
	ctx := context.Background()
	if err := v.d.InTx(ctx, func(tx *db.Tx) error { _, err := tx.Exec(ctx, q, args...); return err }); err != nil {
		tb.Fatal(err)
	}
}

// count runs a COUNT(*) query.
func (v *visitWorld) count(tb testing.TB, q string, args ...any) int {
	tb.Helper()
	var n int
	if err := v.d.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}
