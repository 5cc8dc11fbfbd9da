package casework_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/feed"
	"whistle/internal/worldtest"
)

var t0 = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)

// world is a small district with two communities, each one grid wide
// (worldtest.OneStreet).
type world struct {
	*worldtest.World
	d     *db.DB
	svc   *casework.Service
	acc   *account.Store
	clk   *clock.Fake
	users map[string]*account.User
}

// Points inside community A's grid, community B's grid, and outside.
var (
	inA     = [2]float64{27.005, 120.005} // lat, lng
	outside = [2]float64{39.9, 116.4}
)

// sq is worldtest.Square, for the fuzz targets' district.
func sq(x0, y0, x1, y1 float64) orb.Polygon { return worldtest.Square(x0, y0, x1, y1) }

// newWorld builds the district on d with the staff of worldtest.OneStreetUsers,
// a second resident (neighbour) and 20 party members in community A.
func newWorld(t *testing.T, d *db.DB, clk *clock.Fake) *world {
	t.Helper()
	users := worldtest.OneStreetUsers()
	users = append(users, worldtest.User{Name: "neighbour", Region: "330303001001", Role: account.Resident})
	for i := 0; i < 20; i++ {
		users = append(users, worldtest.User{Name: fmt.Sprintf("party-%02d", i), Region: "330303001001", Role: account.PartyMember})
	}
	wt := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Departments: worldtest.CatalogueDepartments(),
		Users: users, Phone: "13912345678"})
	return &world{World: wt, d: d, svc: wt.Cases, acc: wt.Accounts, clk: clk, users: wt.Users}
}

// feed returns the case events on the change feed, sequenced, as
// "<subject> <payload>": what the feed's bus consumer publishes.
func (w *world) feed(t *testing.T) []string {
	t.Helper()
	ctx := context.Background()
	if _, err := feed.Sequence(ctx, w.d, 0); err != nil {
		t.Fatal(err)
	}
	evs, err := feed.Read(ctx, w.d, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		if e.SubjectKind == casework.FeedSubject {
			out = append(out, feed.Subject(e)+" "+string(e.Payload))
		}
	}
	return out
}

func (w *world) as(name string) casework.Caller { return w.As(name) }

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
	return w.Submit(t, who, casework.SubmitInput{Category: leafOf(t, w, cat), Description: "楼道堆放杂物，影响通行",
		Lat: f64(p[0]), Lng: f64(p[1]), Address: "万顺路 1 号"})
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

func pngBytes(t *testing.T) []byte { return worldtest.PNG(t) }

func (w *world) photo(t *testing.T, who string, id int64, kind string) int64 {
	return w.Photo(t, who, id, kind)
}
