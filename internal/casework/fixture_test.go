package casework_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/media"
	"whistle/internal/region"
)

var t0 = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)

// recorder is a Publisher that remembers what it was given.
type recorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Publish(subject string, data []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, subject+" "+string(data))
	return nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}

// world is a small district with two communities, each one grid wide.
type world struct {
	d     *db.DB
	svc   *casework.Service
	acc   *account.Store
	bus   *recorder
	clk   *clock.Fake
	users map[string]*account.User
}

// Points inside community A's grid, community B's grid, and outside.
var (
	inA     = [2]float64{27.005, 120.005} // lat, lng
	outside = [2]float64{39.9, 116.4}
)

func sq(x0, y0, x1, y1 float64) orb.Polygon {
	return orb.Polygon{{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}}
}

func newWorld(t *testing.T, d *db.DB, clk *clock.Fake) *world {
	t.Helper()
	ctx := context.Background()
	regs := region.NewStore(d)
	feats := []region.Feature{
		{Index: 1, Code: "330303", Name: "区", Level: region.District, Geometry: sq(120, 27, 120.02, 27.01)},
		{Index: 2, Code: "330303001", Name: "街道", Level: region.Street, ParentCode: "330303", Geometry: sq(120, 27, 120.02, 27.01)},
		{Index: 3, Code: "330303001001", Name: "社区A", Level: region.Community, ParentCode: "330303001", Geometry: sq(120, 27, 120.01, 27.01)},
		{Index: 4, Code: "330303001002", Name: "社区B", Level: region.Community, ParentCode: "330303001", Geometry: sq(120.01, 27, 120.02, 27.01)},
		{Index: 5, Code: "330303001001001", Name: "网格A1", Level: region.Grid, ParentCode: "330303001001", Geometry: sq(120, 27, 120.01, 27.01)},
		{Index: 6, Code: "330303001002001", Name: "网格B1", Level: region.Grid, ParentCode: "330303001002", Geometry: sq(120.01, 27, 120.02, 27.01)},
	}
	if _, err := regs.Import(ctx, audit.System("test"), feats); err != nil {
		t.Fatal(err)
	}
	cfg := account.DefaultConfig()
	cfg.Argon2 = account.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}
	acc, err := account.NewStore(d, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, dep := range []string{"CG", "ZJ", "SW", "GD", "RQ", "GA", "JT", "YL", "STHJ", "SCJG"} {
		if _, err := acc.AddDepartment(ctx, audit.System("test"), dep, dep, "330303"); err != nil {
			t.Fatal(err)
		}
	}
	cats := category.NewStore(d)
	if _, err := cats.SeedDefaults(ctx, audit.System("test")); err != nil {
		t.Fatal(err)
	}
	w := &world{d: d, acc: acc, bus: &recorder{}, clk: clk, users: map[string]*account.User{}}
	add := func(name string, region string, role account.Role, dept string) {
		u, err := acc.AddUser(ctx, audit.System("test"), account.SystemScope(), account.NewUser{Username: name, Password: "secret-pass",
			Roles: []account.Role{role}, RegionCode: region, DepartmentCode: dept, Phone: "13912345678"})
		if err != nil {
			t.Fatalf("add %s: %v", name, err)
		}
		w.users[name] = u
	}
	add("staff-a", "330303001001", account.CommunityStaff, "")
	add("staff-b", "330303001002", account.CommunityStaff, "")
	add("street", "330303001", account.StreetStaff, "")
	add("admin", "330303", account.Admin, "")
	add("leader", "330303", account.Leader, "")
	add("grid-a", "330303001001001", account.GridWorker, "")
	add("cg-handler", "330303", account.DepartmentHandler, "CG")
	add("zj-handler", "330303", account.DepartmentHandler, "ZJ")
	add("resident", "330303001001", account.Resident, "")
	add("neighbour", "330303001001", account.Resident, "")
	for i := 0; i < 20; i++ {
		add(fmt.Sprintf("party-%02d", i), "330303001001", account.PartyMember, "")
	}
	blobs, err := media.NewFSStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfgCase := casework.DefaultConfig()
	w.svc, err = casework.NewService(casework.Deps{DB: d, Regions: regs, Accounts: acc, Catalog: casework.NewCatalog(cats), Bus: w.bus,
		Blobs: blobs, Config: cfgCase})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) as(name string) casework.Caller {
	if name == "" {
		return casework.Caller{}
	}
	if name == "system" {
		return casework.Caller{System: true}
	}
	u, ok := w.users[name]
	if !ok {
		panic("no user " + name)
	}
	return casework.Caller{User: u, IP: "127.0.0.1"}
}

func f64(v float64) *float64 { return &v }
func intp(v int) *int        { return &v }
func boolp(v bool) *bool     { return &v }

// submit reports a case at p as who, in a category of the given workflow.
func (w *world) submit(t *testing.T, who string, p [2]float64, workflow string) *casework.Case {
	t.Helper()
	cat := "ZL06" // 邻里求助 … a whistle category
	if workflow == "urban" {
		cat = "SJ0101"
	}
	c, _, err := w.svc.Submit(context.Background(), w.as(who), casework.SubmitInput{Category: leafOf(t, w, cat), Description: "楼道堆放杂物，影响通行",
		Lat: f64(p[0]), Lng: f64(p[1]), Address: "万顺路 1 号"})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	return c
}

// leafOf returns code itself or its first leaf descendant.
func leafOf(t *testing.T, w *world, code string) string {
	t.Helper()
	cats := category.NewStore(w.d)
	sub, err := cats.Subtree(context.Background(), code, false)
	if err != nil {
		t.Fatalf("category %s: %v", code, err)
	}
	for len(sub.Children) > 0 {
		sub = sub.Children[0]
	}
	return sub.Code
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{255, 0, 0, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func (w *world) photo(t *testing.T, who string, id int64, kind string) int64 {
	t.Helper()
	p, err := w.svc.AddPhoto(context.Background(), w.as(who), id, kind, bytes.NewReader(pngBytes(t)))
	if err != nil {
		t.Fatalf("photo by %s: %v", who, err)
	}
	return p.ID
}
