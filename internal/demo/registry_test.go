package demo_test

import (
	"context"
	"testing"

	"github.com/paulmach/orb"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/demo"
	"whistle/internal/idcode"
	"whistle/internal/region"
	"whistle/internal/registry"
)

func TestGenerateRegistry(t *testing.T) {
	dbtest.Each(t, clock.NewFake(histEnd), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		regs := region.NewStore(d)
		cfg := account.DefaultConfig()
		cfg.Argon2 = account.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}
		acc, err := account.NewStore(d, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := demo.Seed(ctx, regs, acc, demo.SeedOptions{Seed: 1, Password: "whistle-demo"}); err != nil {
			t.Fatal(err)
		}
		if err := regs.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		reg := registry.NewStore(registry.Deps{DB: d, Regions: regs})
		opt := demo.ScaledRegistry(8000)
		opt.Seed = 3
		res, err := demo.GenerateRegistry(ctx, d, reg, regs, opt, nil)
		if err != nil {
			t.Fatal(err)
		}
		count := func(q string) int {
			t.Helper()
			var n int
			if err := d.QueryRow(ctx, q).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		for _, c := range []struct {
			name string
			got  int
			want int
		}{
			{"people", count(`SELECT COUNT(*) FROM reg_people`), 8000},
			{"houses", count(`SELECT COUNT(*) FROM reg_houses`), 3000},
			{"buildings", count(`SELECT COUNT(*) FROM reg_buildings`), 200},
			{"organisations", count(`SELECT COUNT(*) FROM reg_organisations`), 400},
			{"people without a house", count(`SELECT COUNT(*) FROM reg_people p WHERE NOT EXISTS (SELECT 1 FROM reg_person_houses l WHERE l.person_id = p.id)`), 0},
			{"people in another grid than their house", count(`SELECT COUNT(*) FROM reg_people p JOIN reg_person_houses l ON l.person_id = p.id
				JOIN reg_houses h ON h.id = l.house_id WHERE h.grid_code <> p.grid_code`), 0},
			{"result people", res.People, 8000},
		} {
			if c.got != c.want {
				t.Errorf("%s: got %d, want %d", c.name, c.got, c.want)
			}
		}
		// The district's rollup counts everyone, and the group members that
		// went in around the store.
		var members int
		if err := d.QueryRow(ctx, `SELECT COALESCE(SUM(n), 0) FROM reg_counts WHERE node = '330303' AND metric LIKE 'group.%'`).Scan(&members); err != nil {
			t.Fatal(err)
		}
		if bc, err := reg.Counts(ctx, account.SystemScope(), "330303"); err != nil || bc[0].People != 8000 || members != count(`SELECT COUNT(*) FROM reg_group_members`) {
			t.Errorf("district counts: %+v, %v; group members %d", bc, err, members)
		}
		// Buildings lie inside their grids.
		loc := regs.Locator()
		bs, err := reg.Buildings(ctx, account.SystemScope(), "", registry.Page{Limit: registry.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bs {
			if l, ok := loc.Locate(orb.Point{b.Lng, b.Lat}); !ok || l.Grid.Code != b.GridCode {
				t.Fatalf("building %d at %v,%v: located in %q, want its grid %s", b.ID, b.Lat, b.Lng, l.Grid.Code, b.GridCode)
			}
		}
		// Groups at realistic rates: 1–2% elderly living alone.
		alone := count(`SELECT COUNT(*) FROM reg_group_members WHERE group_code = 'elderly_alone'`)
		if alone < 80 || alone > 160 {
			t.Errorf("elderly living alone: got %d of 8000, want 1–2%%", alone)
		}
		if n := count(`SELECT COUNT(DISTINCT group_code) FROM reg_group_members`); n < 5 {
			t.Errorf("groups with members: got %d, want at least 5", n)
		}
		// Identity numbers carry Longwan's area code mostly, and valid checks.
		ps, err := reg.People(ctx, account.SystemScope(), registry.PeopleFilter{Clear: true}, registry.Page{Limit: registry.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		local := 0
		for _, p := range ps {
			if _, err := idcode.ResidentID(p.IDNumber, histEnd); err != nil {
				t.Fatalf("person %d: identity number %s: %v", p.ID, p.IDNumber, err)
			}
			if p.IDNumber[:6] == "330303" {
				local++
			}
		}
		if local < len(ps)/4 {
			t.Errorf("identity numbers of 龙湾 (330303): got %d of %d, want at least a quarter", local, len(ps))
		}
		// A second run keeps the registry.
		again, err := demo.GenerateRegistry(ctx, d, reg, regs, opt, nil)
		if err != nil || again.Generated {
			t.Fatalf("second run: got %+v %v, want nothing generated", again, err)
		}
	})
}
