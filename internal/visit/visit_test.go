package visit_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/idcode"
	"whistle/internal/indicator"
	"whistle/internal/registry"
	"whistle/internal/sla/calendar"
	"whistle/internal/timer"
	"whistle/internal/visit"
	"whistle/internal/worldtest"
)

// t0 is Monday 2026-11-23 10:00 in Beijing.
var t0 = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)

const gridA = "330303001001001"

var actor = worldtest.Actor()

type world struct {
	*worldtest.World
	reg *registry.Store
	vis *visit.Store
	clk *clock.Fake
}

func newWorld(t testing.TB, d *db.DB, clk *clock.Fake, cfg visit.Config) *world {
	t.Helper()
	wt := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Departments: worldtest.CatalogueDepartments(),
		Users: worldtest.OneStreetUsers()})
	reg := registry.NewStore(registry.Deps{DB: d, Regions: wt.Regions, Cases: wt.Cases})
	cal, err := calendar.Default()
	if err != nil {
		t.Fatal(err)
	}
	vis := visit.NewStore(visit.Deps{DB: d, Regions: wt.Regions, Registry: reg, Cases: wt.Cases, Blobs: wt.Blobs,
		Calendar: func() *calendar.Calendar { return cal }, Config: cfg})
	reg.UseVisits(vis)
	return &world{World: wt, reg: reg, vis: vis, clk: clk}
}

func (w *world) scope(name string) account.Scope { return account.ScopeOf(w.Users[name]) }

// member adds person n of grid A living in a house at (lat, lng) and puts
// them in group.
func (w *world) member(t *testing.T, n int, group string, lat, lng float64) int64 {
	t.Helper()
	ctx := context.Background()
	sc := w.scope("staff-a")
	first17 := fmt.Sprintf("33030319500101%03d", n)
	p, err := w.reg.AddPerson(ctx, sc, actor, registry.PersonInput{IDNumber: first17 + string(idcode.ResidentCheck(first17)), Name: "李四" + fmt.Sprint(n),
		Status: registry.StatusResident, GridCode: gridA})
	if err != nil {
		t.Fatalf("add person: %v", err)
	}
	b, err := w.reg.AddBuilding(ctx, sc, actor, registry.BuildingInput{Address: fmt.Sprintf("永中街道%d号", n), Lat: lat, Lng: lng})
	if err != nil {
		t.Fatalf("add building: %v", err)
	}
	h, err := w.reg.AddHouse(ctx, sc, actor, registry.HouseInput{BuildingID: b.ID, Room: "101", Use: registry.UseResidential,
		Ownership: "private", Rental: "not_rented"})
	if err != nil {
		t.Fatalf("add house: %v", err)
	}
	if err := w.reg.Link(ctx, sc, actor, p.ID, h.ID, registry.RelOwner); err != nil {
		t.Fatalf("link: %v", err)
	}
	if err := w.vis.Join(ctx, sc, actor, group, p.ID, ""); err != nil {
		t.Fatalf("join: %v", err)
	}
	return p.ID
}

func (w *world) list(t *testing.T, who, due string) []visit.Task {
	t.Helper()
	ts, err := w.vis.List(context.Background(), w.Users[who], visit.Filter{Due: due})
	if err != nil {
		t.Fatalf("list %s %s: %v", who, due, err)
	}
	return ts
}

func TestFrequencyAndWorkdays(t *testing.T) {
	tests := []struct {
		name     string
		group    string
		workdays bool
		start    string
		due      string
	}{
		{"weekly ends on Sunday", "elderly_alone", false, "2026-11-23", "2026-11-29"},
		{"weekly on working days ends on Friday", "elderly_alone", true, "2026-11-23", "2026-11-27"},
		{"monthly", "disabled", false, "2026-11-01", "2026-11-30"},
		{"quarterly", "dibao", false, "2026-10-01", "2026-12-31"},
		{"quarterly on working days", "dibao", true, "2026-10-01", "2026-12-31"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
				w := newWorld(t, d, clk, visit.Config{Workdays: tc.workdays})
				w.member(t, 1, tc.group, 27.005, 120.005)
				ts := w.list(t, "grid-a", visit.DueToday)
				if len(ts) != 1 {
					t.Fatalf("got %d tasks, want 1", len(ts))
				}
				if got, want := ts[0].PeriodStart+" "+ts[0].DueOn, tc.start+" "+tc.due; got != want {
					t.Errorf("period: got %s, want %s", got, want)
				}
				if got, want := ts[0].PersonName, "李*"; got[:3] != want[:3] || got == "李四1" {
					t.Errorf("name: got %q, want masked", got)
				}
			})
		})
	}
}

func TestPeriodOf(t *testing.T) {
	tests := []struct {
		name, freq  string
		day         calendar.Date
		first, last string
	}{
		{"week from Sunday", visit.Weekly, calendar.D(2026, 11, 29), "2026-11-23", "2026-11-29"},
		{"fortnight second week", visit.Fortnightly, calendar.D(2024, 1, 10), "2024-01-01", "2024-01-14"},
		{"fortnight third week", visit.Fortnightly, calendar.D(2024, 1, 15), "2024-01-15", "2024-01-28"},
		{"month of February leap", visit.Monthly, calendar.D(2028, 2, 10), "2028-02-01", "2028-02-29"},
		{"half year", visit.HalfYearly, calendar.D(2026, 7, 1), "2026-07-01", "2026-12-31"},
		{"year", visit.Yearly, calendar.D(2026, 3, 3), "2026-01-01", "2026-12-31"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, l, ok := visit.PeriodOf(tc.freq, tc.day)
			if got, want := f.String()+" "+l.String(), tc.first+" "+tc.last; !ok || got != want {
				t.Errorf("got %s (%v), want %s", got, ok, want)
			}
		})
	}
}

func TestOverdueAndTimers(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		ctx := context.Background()
		w := newWorld(t, d, clk, visit.Config{})
		pid := w.member(t, 1, "elderly_alone", 27.005, 120.005)
		if _, err := w.vis.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if got := w.list(t, "grid-a", visit.DueOverdue); len(got) != 0 {
			t.Fatalf("overdue before the end: got %d, want 0", len(got))
		}
		// Monday 2026-11-30 00:00 Beijing: the week is over.
		clk.Set(time.Date(2026, 11, 29, 16, 0, 1, 0, time.UTC))
		if got := w.list(t, "grid-a", visit.DueOverdue); len(got) != 1 || !got[0].Overdue {
			t.Errorf("overdue after the week: got %+v, want one overdue task", got)
		}
		if _, err := w.vis.Count(ctx, w.Users["staff-a"], "330303001002"); !errs.Is(err, errs.NotFound) {
			t.Errorf("count of another community: got %v, want not found", err)
		}
		if c, err := w.vis.Count(ctx, w.Users["street"], "330303001001"); err != nil || c.Overdue != 1 {
			t.Errorf("count under community A as street staff: got %+v, %v; want 1 overdue", c, err)
		}
		c, err := w.vis.Count(ctx, w.Users["staff-a"], "")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c, (visit.Counts{Due: 0, Overdue: 1}); got != want {
			t.Errorf("count after the week: got %+v, want %+v", got, want)
		}
		ind := indicator.New()
		if err := w.vis.RegisterIndicators(ind); err != nil {
			t.Fatal(err)
		}
		q := indicator.Query{Subject: indicator.Subject{Kind: "region", Code: "330303001001"},
			Period: indicator.Period{From: t0.Add(-24 * time.Hour), To: t0.Add(14 * 24 * time.Hour)}}
		for name, want := range map[string]int64{"visit_overdue": 1, "visit_completion_rate": 0} {
			v, err := ind.Compute(ctx, name, q)
			if err != nil || !v.HasData() || v.Num != want {
				t.Errorf("%s: got %+v, %v; want %d", name, v, err, want)
			}
		}
		r := timer.NewRunner(d, timer.Config{})
		w.vis.RegisterTimers(r)
		if _, err := r.RunDue(ctx); err != nil {
			t.Fatal(err)
		}
		due := w.list(t, "grid-a", visit.DueToday)
		if len(due) != 1 || due[0].PeriodStart != "2026-11-30" || due[0].PersonID != pid {
			t.Fatalf("next week's task: got %+v, want one of 2026-11-30", due)
		}
		n, err := w.reg.GridSummary(ctx, w.scope("staff-a"), gridA)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := n.VisitsDue, 2; got != want {
			t.Errorf("summary visits due: got %d, want %d", got, want)
		}
		if err := w.vis.Leave(ctx, w.scope("staff-a"), actor, "elderly_alone", pid); err != nil {
			t.Fatal(err)
		}
		if got := w.list(t, "grid-a", visit.DueToday); len(got) != 0 {
			t.Errorf("after leaving: got %d tasks, want 0", len(got))
		}
	})
}

func TestRecord(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		ctx := context.Background()
		w := newWorld(t, d, clk, visit.Config{})
		w.member(t, 1, "elderly_alone", 27.005, 120.005)
		w.member(t, 2, "disabled", 27.006, 120.006)
		here := []float64{27.0051, 120.0051}
		ts, err := w.vis.List(ctx, w.Users["grid-a"], visit.Filter{Due: visit.DueToday, Lat: &here[0], Lng: &here[1]})
		if err != nil || len(ts) != 2 {
			t.Fatalf("list: got %d, %v; want 2", len(ts), err)
		}
		if got, want := ts[0].Group, "elderly_alone"; got != want || *ts[0].DistanceM > *ts[1].DistanceM {
			t.Errorf("nearest first: got %s first, want %s", got, want)
		}
		far := []float64{27.02, 120.005}
		grid := w.Users["grid-a"]
		tests := []struct {
			name   string
			who    string
			id     int64
			in     visit.RecordInput
			code   errs.Code
			fields []string
		}{
			{"no position", "grid-a", ts[0].ID, visit.RecordInput{}, errs.Invalid, []string{"lat"}},
			{"too far without a reason", "grid-a", ts[0].ID, visit.RecordInput{Lat: &far[0], Lng: &far[1]}, errs.Invalid, []string{"lat"}},
			{"bad photo key", "grid-a", ts[0].ID, visit.RecordInput{Lat: &here[0], Lng: &here[1], Photos: []string{"../x"}}, errs.Invalid, []string{"photos"}},
			{"other community's staff", "staff-b", ts[0].ID, visit.RecordInput{Lat: &here[0], Lng: &here[1]}, errs.NotFound, nil},
			{"resident", "resident", ts[0].ID, visit.RecordInput{Lat: &here[0], Lng: &here[1]}, errs.NotFound, nil},
			{"staff may not record", "staff-a", ts[0].ID, visit.RecordInput{Lat: &here[0], Lng: &here[1]}, errs.Forbidden, nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				_, err := w.vis.Record(ctx, w.Users[tc.who], actor, "", tc.id, tc.in)
				if got := errs.CodeOf(err); got != tc.code {
					t.Fatalf("got %v (%v), want %v", got, err, tc.code)
				}
				if e, ok := errs.As(err); ok && tc.fields != nil {
					var got []string
					for k := range e.Fields {
						got = append(got, k)
					}
					slices.Sort(got)
					if !slices.Equal(got, tc.fields) {
						t.Errorf("fields: got %v, want %v", got, tc.fields)
					}
				}
			})
		}
		done, err := w.vis.Record(ctx, grid, actor, "", ts[1].ID, visit.RecordInput{Lat: &far[0], Lng: &far[1], Reason: "老人在女儿家"})
		if err != nil || done.Status != visit.StatusDone || !done.Far {
			t.Fatalf("far with a reason: got %+v, %v; want done and far", done, err)
		}
		if _, err := w.vis.AddPhoto(ctx, grid, ts[0].ID, bytes.NewReader([]byte("not an image"))); !errs.Is(err, errs.Invalid) {
			t.Errorf("photo not an image: got %v, want invalid", err)
		}
		key, err := w.vis.AddPhoto(ctx, grid, ts[0].ID, bytes.NewReader(pngBytes(t)))
		if err != nil || !strings.HasPrefix(key, fmt.Sprintf("visits/%d/", ts[0].ID)) {
			t.Fatalf("photo: got %q, %v", key, err)
		}
		if _, err := w.vis.AddPhoto(ctx, w.Users["staff-b"], ts[0].ID, bytes.NewReader(pngBytes(t))); !errs.Is(err, errs.NotFound) {
			t.Errorf("photo by other community: got %v, want not found", err)
		}
		other := visit.RecordInput{Lat: &here[0], Lng: &here[1], Photos: []string{fmt.Sprintf("visits/%d/x.png", ts[1].ID)}}
		if _, err := w.vis.Record(ctx, grid, actor, "", ts[0].ID, other); !errs.Is(err, errs.Invalid) {
			t.Errorf("another task's photo: got %v, want invalid", err)
		}
		in := visit.RecordInput{Lat: &here[0], Lng: &here[1], Notes: "身体尚可", Photos: []string{key},
			Problem: &visit.Problem{Category: "ZL0302", Description: "楼道堆放杂物，影响老人出行"}}
		done, err = w.vis.Record(ctx, grid, actor, "", ts[0].ID, in)
		if err != nil || done.CaseID == nil || done.Far || len(done.Photos) != 1 {
			t.Fatalf("with a problem: got %+v, %v; want a linked case", done, err)
		}
		c, err := w.Cases.Get(ctx, w.As("grid-a"), *done.CaseID)
		if err != nil || c.CategoryCode != "ZL0302" {
			t.Errorf("linked case: got %+v, %v", c, err)
		}
		if _, err := w.vis.Record(ctx, grid, actor, "", ts[0].ID, in); !errs.Is(err, errs.Conflict) {
			t.Errorf("again: got %v, want a conflict", err)
		}
		if _, err := w.vis.List(ctx, w.Users["resident"], visit.Filter{Due: visit.DueToday}); !errs.Is(err, errs.NotFound) {
			t.Errorf("resident list: got %v, want not found", err)
		}
		if got := w.list(t, "staff-b", visit.DueToday); len(got) != 0 {
			t.Errorf("other community: got %d, want 0", len(got))
		}
	})
}

// pngBytes is a small valid PNG.
func pngBytes(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// jpegWithGPS is a small valid JPEG carrying an EXIF segment with a GPS
// position.
func jpegWithGPS(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 8, 8)), nil); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	payload := []byte("Exif\x00\x00GPSLatitude 27.95 GPSLongitude 120.75")
	seg := []byte{0xFF, 0xE1, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	return append(append(append(append([]byte{}, raw[:2]...), seg...), payload...), raw[2:]...)
}

// TestRecordedPhotos: the photos named by a recorded visit open for the
// staff whose scope covers it, stripped of their EXIF; an unrecorded
// visit's photos, a photo the record does not name, and anyone outside
// the scope get 404. Recorded lists the person's visits in scope only.
func TestRecordedPhotos(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		ctx := context.Background()
		w := newWorld(t, d, clk, visit.Config{})
		person := w.member(t, 1, "elderly_alone", 27.005, 120.005)
		grid := w.Users["grid-a"]
		ts := w.list(t, "grid-a", visit.DueToday)
		if len(ts) != 1 {
			t.Fatalf("tasks: got %d, want 1", len(ts))
		}
		id := ts[0].ID
		key, err := w.vis.AddPhoto(ctx, grid, id, bytes.NewReader(jpegWithGPS(t)))
		if err != nil {
			t.Fatal(err)
		}
		unnamed, err := w.vis.AddPhoto(ctx, grid, id, bytes.NewReader(pngBytes(t)))
		if err != nil {
			t.Fatal(err)
		}
		open := func(who, key string) ([]byte, string, error) {
			t.Helper()
			rc, mime, err := w.vis.OpenPhoto(ctx, w.Users[who], id, visit.PhotoName(key))
			if err != nil {
				return nil, "", err
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			return b, mime, err
		}
		if _, _, err := open("grid-a", key); !errs.Is(err, errs.NotFound) {
			t.Errorf("a photo of an open visit: got %v, want NotFound", err)
		}
		here := []float64{27.0051, 120.0051}
		if _, err := w.vis.Record(ctx, grid, actor, "", id, visit.RecordInput{Lat: &here[0], Lng: &here[1], Photos: []string{key}}); err != nil {
			t.Fatal(err)
		}
		for _, who := range []string{"grid-a", "staff-a"} {
			b, mime, err := open(who, key)
			if err != nil || mime != "image/jpeg" {
				t.Fatalf("the recorded photo as %s: %s, %v", who, mime, err)
			}
			if bytes.Contains(b, []byte("GPSLatitude")) {
				t.Errorf("the photo as %s still carries the phone's EXIF GPS", who)
			}
			if _, err := jpeg.Decode(bytes.NewReader(b)); err != nil {
				t.Errorf("the photo as %s does not decode: %v", who, err)
			}
		}
		for _, who := range []string{"staff-b", "resident"} {
			if _, _, err := open(who, key); !errs.Is(err, errs.NotFound) {
				t.Errorf("the photo as %s: got %v, want NotFound", who, err)
			}
		}
		if _, _, err := open("grid-a", unnamed); !errs.Is(err, errs.NotFound) {
			t.Errorf("a photo the record does not name: got %v, want NotFound", err)
		}
		if _, _, err := open("grid-a", "../../cases/x.png"); !errs.Is(err, errs.NotFound) {
			t.Errorf("a name outside the visit: got %v, want NotFound", err)
		}
		rec, err := w.vis.Recorded(ctx, w.Users["staff-a"], person, 0)
		if err != nil || len(rec) != 1 || rec[0].ID != id || !slices.Equal(rec[0].Photos, []string{key}) || rec[0].VisitedAt == nil {
			t.Errorf("recorded visits as staff-a: got %+v, %v; want task %d with its photo", rec, err, id)
		}
		if rec, err := w.vis.Recorded(ctx, w.Users["staff-b"], person, 0); err != nil || len(rec) != 0 {
			t.Errorf("recorded visits as staff-b: got %d, %v; want none", len(rec), err)
		}
		if _, err := w.vis.Recorded(ctx, w.Users["resident"], person, 0); !errs.Is(err, errs.NotFound) {
			t.Errorf("recorded visits as a resident: got %v, want NotFound", err)
		}
	})
}
