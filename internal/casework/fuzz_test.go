package casework_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"testing"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/media"
	"whistle/internal/region"
)

// fuzzWorld is newWorld's district for fuzz targets, built once per fuzz
// worker (newWorld wants a *testing.T).
type fuzzWorld struct {
	svc   *casework.Service
	users map[string]*account.User
	cases []int64
}

func newFuzzWorld(f *testing.F) *fuzzWorld {
	f.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, db.Config{DataDir: f.TempDir()}, clock.Real{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { d.Close() })
	if _, err := d.Migrate(ctx); err != nil {
		f.Fatal(err)
	}
	regs := region.NewStore(d)
	feats := []region.Feature{
		{Index: 1, Code: "330303", Name: "区", Level: region.District, Geometry: sq(120, 27, 120.02, 27.01)},
		{Index: 2, Code: "330303001", Name: "街道", Level: region.Street, ParentCode: "330303", Geometry: sq(120, 27, 120.02, 27.01)},
		{Index: 3, Code: "330303001001", Name: "社区A", Level: region.Community, ParentCode: "330303001", Geometry: sq(120, 27, 120.01, 27.01)},
		{Index: 4, Code: "330303001002", Name: "社区B", Level: region.Community, ParentCode: "330303001", Geometry: sq(120.01, 27, 120.02, 27.01)},
		{Index: 5, Code: "330303001001001", Name: "网格A1", Level: region.Grid, ParentCode: "330303001001", Geometry: sq(120, 27, 120.01, 27.01)},
		{Index: 6, Code: "330303001002001", Name: "网格B1", Level: region.Grid, ParentCode: "330303001002", Geometry: sq(120.01, 27, 120.02, 27.01)},
	}
	if _, err := regs.Import(ctx, audit.System("fuzz"), feats); err != nil {
		f.Fatal(err)
	}
	cfg := account.DefaultConfig()
	cfg.Argon2 = account.Argon2Params{MemoryKiB: 64, Time: 1, Threads: 1}
	acc, err := account.NewStore(d, cfg)
	if err != nil {
		f.Fatal(err)
	}
	for _, dep := range []string{"CG", "SW"} {
		if _, err := acc.AddDepartment(ctx, audit.System("fuzz"), dep, dep, "330303"); err != nil {
			f.Fatal(err)
		}
	}
	cats := category.NewStore(d)
	if _, err := cats.SeedDefaults(ctx, audit.System("fuzz")); err != nil {
		f.Fatal(err)
	}
	w := &fuzzWorld{users: map[string]*account.User{}}
	for _, u := range []struct {
		name, region string
		role         account.Role
		dept         string
	}{
		{"admin", "330303", account.Admin, ""}, {"staff-a", "330303001001", account.CommunityStaff, ""},
		{"street", "330303001", account.StreetStaff, ""}, {"leader", "330303", account.Leader, ""},
		{"grid-a", "330303001001001", account.GridWorker, ""}, {"cg-handler", "330303", account.DepartmentHandler, "CG"},
		{"resident", "330303001001", account.Resident, ""}, {"party-00", "330303001001", account.PartyMember, ""},
	} {
		nu, err := acc.AddUser(ctx, audit.System("fuzz"), account.SystemScope(), account.NewUser{Username: u.name, Password: "secret-pass",
			Roles: []account.Role{u.role}, RegionCode: u.region, DepartmentCode: u.dept, Phone: "13912345678"})
		if err != nil {
			f.Fatal(err)
		}
		w.users[u.name] = nu
	}
	blobs, err := media.NewFSStore(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	w.svc, err = casework.NewService(casework.Deps{DB: d, Regions: regs, Accounts: acc, Catalog: casework.NewCatalog(cats), Blobs: blobs,
		Config: casework.DefaultConfig()})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(w.svc.Close)
	for _, cat := range []string{"ZL0601", "SJ0101"} {
		lat, lng := 27.005, 120.005
		c, _, err := w.svc.Submit(ctx, casework.Caller{User: w.users["resident"]}, casework.SubmitInput{Category: cat, Description: "楼道堆放杂物",
			Lat: &lat, Lng: &lng})
		if err != nil {
			f.Fatal(err)
		}
		w.cases = append(w.cases, c.ID)
	}
	return w
}

func (w *fuzzWorld) caller(i uint8) casework.Caller {
	names := []string{"", "system", "admin", "staff-a", "street", "leader", "grid-a", "cg-handler", "resident", "party-00"}
	switch n := names[int(i)%len(names)]; n {
	case "":
		return casework.Caller{IP: "127.0.0.1"}
	case "system":
		return casework.Caller{System: true}
	default:
		return casework.Caller{User: w.users[n], IP: "127.0.0.1"}
	}
}

// expected reports whether err is a refusal the wire can answer with a
// 4xx: an *errs.Error whose code is not Internal or Unavailable.
func expected(err error) bool {
	e, ok := errs.As(err)
	return ok && e.Code != errs.Internal && e.Code != errs.Unavailable
}

// FuzzSubmitInput calls Service.Submit with arbitrary field values,
// including coordinates JSON cannot carry (NaN, ±Inf, subnormals).
func FuzzSubmitInput(f *testing.F) {
	f.Add("ZL0601", "楼道堆放杂物", 27.005, 120.005, "", "万顺路 1 号", "", "", "", "k1", "a", "b", uint8(8), false, false)
	f.Add("SJ0101", "违章搭建", 27.005, 120.015, "gcj02", "", "13912345678", "private", "grid_patrol", "", "", "", uint8(6), true, true)
	f.Add("ZL0601", " ", math.NaN(), math.Inf(1), "bd09", "", "123", "secret", "hotline", "", "", "", uint8(0), false, true)
	f.Add("ZL06", "x", 91.0, -181.0, "wgs84", "", "", "public", "staff", "", "", "", uint8(2), false, false)
	f.Add("", "", 0.0, 0.0, "epsg:3857", "", "", "", "system", "", "", "", uint8(1), false, false)
	f.Add("ZL0601", "x", 39.9, 116.4, "", "", "", "", "", "", "", "", uint8(3), false, false)
	f.Add("ZL0601", "x", 27.005, 120.005, "", "", "", "", "", "k1", "", "", uint8(8), false, false)
	w := newFuzzWorld(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, cat, desc string, lat, lng float64, crs, addr, phone, vis, src, key, fk, fv string, who uint8, urgent, anon bool) {
		in := casework.SubmitInput{Category: cat, Description: desc, Lat: &lat, Lng: &lng, CRS: crs, Address: addr, Phone: phone,
			Visibility: vis, Source: src, IdempotencyKey: key, Urgent: urgent, Anonymous: anon}
		if fk != "" {
			in.Fields = map[string]string{fk: fv}
		}
		c, _, err := w.svc.Submit(ctx, w.caller(who), in)
		if err != nil {
			if !expected(err) {
				t.Fatalf("Submit: unexpected error %T %v", err, err)
			}
			return
		}
		if c == nil || c.ID == 0 || c.GridCode == "" || math.IsNaN(c.Lat) || math.IsNaN(c.Lng) {
			t.Fatalf("Submit accepted a case without a place: %+v", c)
		}
	})
}

// FuzzActInput decodes an arbitrary action body as the API does (unknown
// fields refused) and applies it to a 红哨 or 数字城管 case as one of
// several callers.
func FuzzActInput(f *testing.F) {
	for i, s := range []struct{ action, body string }{
		{"accept", `{"note":"ok"}`}, {"dispatch", `{"target":{"department":"CG"}}`}, {"dispatch", `{"target":{"user":6}}`},
		{"start", `{}`}, {"resolve", `{"note":"done","photos":[1]}`}, {"verify", `{"passed":false,"note":"redo"}`},
		{"rate", `{"stars":-2147483648}`}, {"postpone_request", `{"reason":"r","hours":720}`}, {"postpone_request", `{"reason":"r","hours":721}`},
		{"postpone_approve", `{}`}, {"suspend", `{"reason":"wait"}`}, {"resume", `{}`},
		{"supervise", `{"note":"快","deadline":"0001-01-01T00:00:00Z"}`}, {"supervise", `{"note":"快","deadline":"9999-12-31T23:59:59Z"}`},
		{"reply", `{"note":"在办"}`}, {"revisit", `{"result":"dissatisfied"}`}, {"merge", `{"parent":1}`}, {"merge", `{"parent":9223372036854775807}`},
		{"register", `{"version":1}`}, {"decline", `{"reason":"x"}`}, {"return", `{"reason":"x"}`}, {"close", `{}`}, {"submit", `{}`}, {"reply", `{}`},
	} {
		f.Add(s.action, []byte(s.body), uint8(i), i%2 == 1)
	}
	w := newFuzzWorld(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, action string, body []byte, who uint8, urban bool) {
		var in casework.Input
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil || dec.More() {
			return // the API answers 400 before casework sees it
		}
		id := w.cases[0]
		if urban {
			id = w.cases[1]
		}
		c, err := w.svc.Act(ctx, w.caller(who), id, casework.Action(action), in)
		if err != nil {
			if !expected(err) {
				t.Fatalf("Act(%q, %s): unexpected error %T %v", action, body, err, err)
			}
			return
		}
		if c == nil || c.ID != id {
			t.Fatalf("Act(%q) returned %+v", action, c)
		}
	})
}
