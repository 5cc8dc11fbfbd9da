package assess_test

import (
	"context"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/assess"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
	"whistle/internal/worldtest"
)

// t0 is a Monday morning in Wenzhou, inside period 2026-11.
var t0 = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)

const (
	street     = "330303001"
	communityA = "330303001001"
	communityB = "330303001002"
)

// fakeCases are cases as casework would report them.
type fakeCases map[int64]assess.CaseFact

func (f fakeCases) Case(_ context.Context, id int64) (assess.CaseFact, error) {
	c, ok := f[id]
	if !ok {
		return assess.CaseFact{}, errs.E(errs.NotFound, "case.not_found")
	}
	return c, nil
}

func (f fakeCases) CasesOf(_ context.Context, un assess.Unit, from, to time.Time) ([]assess.CaseFact, error) {
	var out []assess.CaseFact
	for id := int64(1); id <= int64(len(f))+100; id++ {
		c, ok := f[id]
		if !ok || c.CreatedAt.Before(from) || !c.CreatedAt.Before(to) {
			continue
		}
		if (un.Type == assess.Department && c.DeptCode == un.Code) || (un.Type != assess.Department && len(c.RegionPath) >= len(un.Path) && c.RegionPath[:len(un.Path)] == un.Path) {
			out = append(out, c)
		}
	}
	return out, nil
}

// publisher records the periods published.
type publisher struct{ got []string }

func (p *publisher) PublishPeriod(_ context.Context, period string) error {
	p.got = append(p.got, period)
	return nil
}

type fixture struct {
	*worldtest.World
	svc   *assess.Service
	cases fakeCases
	pub   *publisher
	clk   *clock.Fake
}

// each runs f on a fresh OneStreet world of each dialect, with cases 1–3
// of community A dispatched from the street to CG.
func each(t *testing.T, f func(t *testing.T, fx *fixture)) {
	clk := clock.NewFake(t0)
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		users := append(worldtest.OneStreetUsers(), worldtest.User{Name: "leader2", Region: "330303", Role: account.Leader})
		w := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("龙湾区", "永中街道"), Departments: worldtest.Departments("CG", "ZJ"), Users: users})
		cases := fakeCases{}
		grid, err := w.Regions.Get(context.Background(), communityA+"001")
		if err != nil {
			t.Fatal(err)
		}
		pathA := grid.Path
		for id := int64(1); id <= 3; id++ {
			cases[id] = assess.CaseFact{ID: id, Number: "C" + string(rune('0'+id)), StreetCode: street, DeptCode: "CG", RegionPath: pathA, CreatedAt: t0.Add(-time.Hour)}
		}
		pub := &publisher{}
		svc := assess.NewService(assess.Deps{DB: d, Regions: w.Regions, Accounts: w.Accounts, Cases: cases, Publisher: pub})
		f(t, &fixture{World: w, svc: svc, cases: cases, pub: pub, clk: clk})
	})
}

func (fx *fixture) u(name string) *account.User {
	u, ok := fx.Users[name]
	if !ok {
		panic("no user " + name)
	}
	return u
}

func (fx *fixture) period(t *testing.T, code string) {
	t.Helper()
	if _, err := fx.svc.CreatePeriod(context.Background(), fx.u("admin"), assess.NewPeriod{Code: code, Name: "2026年11月", StartsOn: "2026-11-01", EndsOn: "2026-11-30"}); err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, err error, code errs.Code) {
	t.Helper()
	if got := errs.CodeOf(err); got != code {
		t.Fatalf("got %v (%v), want %s", got, err, code)
	}
}
