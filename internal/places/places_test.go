package places_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
	"whistle/internal/places"
	"whistle/internal/region"
)

var t0 = time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)

// district is two streets side by side, each with a community named
// 万顺社区, and a grid in each community.
func district(t *testing.T, d *db.DB) *region.Store {
	t.Helper()
	sq := func(x0, x1 float64) string {
		x0, x1 = 120.6+x0*0.01, 120.6+x1*0.01
		return fmt.Sprintf(`{"type":"Polygon","coordinates":[[[%f,27.9],[%f,27.9],[%f,27.92],[%f,27.92],[%f,27.9]]]}`, x0, x1, x1, x0, x0)
	}
	feats := []struct{ code, name, level, parent, g string }{
		{"330300", "温州市", "city", "", sq(0, 4)},
		{"330303", "龙湾区", "district", "330300", sq(0, 4)},
		{"330303001", "永中街道", "street", "330303", sq(0, 2)},
		{"330303002", "海滨街道", "street", "330303", sq(2, 4)},
		{"330303001001", "万顺社区", "community", "330303001", sq(0, 2)},
		{"330303002001", "万顺社区", "community", "330303002", sq(2, 4)},
		{"330303001001001", "第1网格", "grid", "330303001001", sq(0, 2)},
		{"330303002001001", "第2网格", "grid", "330303002001", sq(2, 4)},
	}
	var parts []string
	for _, f := range feats {
		parts = append(parts, fmt.Sprintf(`{"type":"Feature","properties":{"code":%q,"name":%q,"level":%q,"parent_code":%q},"geometry":%s}`,
			f.code, f.name, f.level, f.parent, f.g))
	}
	doc := `{"type":"FeatureCollection","features":[` + strings.Join(parts, ",") + `]}`
	rs := region.NewStore(d)
	fs, issues, err := region.ParseFeatures(strings.NewReader(doc))
	if err != nil || len(issues) > 0 {
		t.Fatalf("parse: %v %v", err, issues)
	}
	if _, err := rs.Import(context.Background(), audit.System("test"), fs); err != nil {
		t.Fatal(err)
	}
	return rs
}

func ptr(f float64) *float64 { return &f }

// summary is a result as "name|kind|parent › path".
func summary(ps []places.Place) []string {
	out := []string{}
	for _, p := range ps {
		out = append(out, p.Name+"|"+string(p.Kind)+"|"+strings.Join(p.Parent, " › "))
	}
	return out
}

func TestGazetteerSearch(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		rs := district(t, d)
		lm := places.NewLandmarkStore(d, rs)
		for _, in := range []places.LandmarkInput{
			{Name: "永乐街", Kind: places.Road, Lat: ptr(27.91), Lng: ptr(120.605)},
			{Name: "龙湾区人民医院", Kind: places.Landmark, Aliases: []string{"区医院"}, Lat: ptr(27.91), Lng: ptr(120.625)},
		} {
			if _, err := lm.Create(ctx, audit.System("test"), in); err != nil {
				t.Fatal(err)
			}
		}
		svc := places.NewService(places.NewGazetteer(rs, nil, places.RegionSource{Regions: rs}, lm), nil, nil)
		tests := []struct {
			name, q string
			want    []string // the first results, in order
		}{
			{"chinese name", "永乐街", []string{"永乐街|road|永中街道 › 万顺社区"}},
			{"full pinyin", "yonglejie", []string{"永乐街|road|永中街道 › 万顺社区"}},
			{"initials", "ylj", []string{"永乐街|road|永中街道 › 万顺社区"}},
			{"alias", "区医院", []string{"龙湾区人民医院|landmark|海滨街道 › 万顺社区"}},
			{"substring", "人民医院", []string{"龙湾区人民医院|landmark|海滨街道 › 万顺社区"}},
			{"same-named communities told apart by their street", "万顺社区",
				[]string{"万顺社区|community|永中街道", "万顺社区|community|海滨街道"}},
			{"initials of a community", "wssq", []string{"万顺社区|community|永中街道", "万顺社区|community|海滨街道"}},
			{"street", "haibin", []string{"海滨街道|street|"}},
			{"grid", "第2网格", []string{"第2网格|grid|海滨街道 › 万顺社区"}},
			{"nothing", "xyzzy", []string{}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ps, err := svc.Search(ctx, tt.q, nil)
				if err != nil {
					t.Fatal(err)
				}
				got := summary(ps)
				if len(got) < len(tt.want) || !slices.Equal(got[:len(tt.want)], tt.want) || (len(tt.want) == 0 && len(got) != 0) {
					t.Errorf("Search(%q) = %v, want first %v", tt.q, got, tt.want)
				}
			})
		}
		// near ranks the community of the other street first.
		near := orb.Point{120.63, 27.91}
		ps, err := svc.Search(ctx, "万顺", &near)
		if err != nil {
			t.Fatal(err)
		}
		if got := summary(ps); len(got) < 2 || got[0] != "万顺社区|community|海滨街道" {
			t.Errorf("Search near the east street = %v, want its 万顺社区 first", got)
		}
	})
}

func TestGazetteerSeesLandmarkChanges(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		rs := district(t, d)
		lm := places.NewLandmarkStore(d, rs)
		g := places.NewGazetteer(rs, nil, places.RegionSource{Regions: rs}, lm)
		find := func() []string {
			ps, err := g.Search(ctx, "体育馆", nil)
			if err != nil {
				t.Fatal(err)
			}
			return summary(ps)
		}
		if got := find(); len(got) != 0 {
			t.Fatalf("before: %v", got)
		}
		l, err := lm.Create(ctx, audit.System("test"), places.LandmarkInput{Name: "体育馆", Kind: places.Landmark, Lat: ptr(27.91), Lng: ptr(120.61)})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := find(), []string{"体育馆|landmark|永中街道 › 万顺社区"}; !slices.Equal(got, want) {
			t.Fatalf("after create: got %v, want %v", got, want)
		}
		if _, err := lm.Update(ctx, audit.System("test"), l.ID, places.LandmarkInput{Name: "体育馆", Kind: places.Landmark, Lat: ptr(27.91), Lng: ptr(120.63)}); err != nil {
			t.Fatal(err)
		}
		if got, want := find(), []string{"体育馆|landmark|海滨街道 › 万顺社区"}; !slices.Equal(got, want) {
			t.Fatalf("after moving: got %v, want %v", got, want)
		}
		if err := lm.Delete(ctx, audit.System("test"), l.ID); err != nil {
			t.Fatal(err)
		}
		if got := find(); len(got) != 0 {
			t.Fatalf("after delete: %v", got)
		}
		if err := lm.Delete(ctx, audit.System("test"), l.ID); !errs.Is(err, errs.NotFound) {
			t.Fatalf("deleting again: %v, want not found", err)
		}
	})
}

func TestLandmarkValidation(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		lm := places.NewLandmarkStore(d, district(t, d))
		long := strings.Repeat("长", places.MaxNameRunes+1)
		tests := []struct {
			name  string
			in    places.LandmarkInput
			field string
		}{
			{"no name", places.LandmarkInput{Kind: places.Road, Lat: ptr(27.91), Lng: ptr(120.61)}, "name"},
			{"long name", places.LandmarkInput{Name: long, Kind: places.Road, Lat: ptr(27.91), Lng: ptr(120.61)}, "name"},
			{"bad kind", places.LandmarkInput{Name: "桥", Kind: "bridge", Lat: ptr(27.91), Lng: ptr(120.61)}, "kind"},
			{"long alias", places.LandmarkInput{Name: "桥", Kind: places.Landmark, Aliases: []string{long}, Lat: ptr(27.91), Lng: ptr(120.61)}, "aliases"},
			{"no lat", places.LandmarkInput{Name: "桥", Kind: places.Landmark, Lng: ptr(120.61)}, "lat"},
			{"lng out of range", places.LandmarkInput{Name: "桥", Kind: places.Landmark, Lat: ptr(27.91), Lng: ptr(999)}, "lng"},
			{"outside the district", places.LandmarkInput{Name: "桥", Kind: places.Landmark, Lat: ptr(39.9), Lng: ptr(116.4)}, "lat"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := lm.Create(ctx, audit.System("test"), tt.in)
				e, ok := errs.As(err)
				if !ok || e.Code != errs.Invalid || e.Fields[tt.field].Key == "" {
					t.Fatalf("Create = %v, want a field error on %s", err, tt.field)
				}
			})
		}
		if ls, err := lm.List(ctx); err != nil || len(ls) != 0 {
			t.Fatalf("List = %v, %v; want nothing written", ls, err)
		}
	})
}

func TestSearchQueryValidation(t *testing.T) {
	svc := places.NewService(places.NewGazetteer(nil, nil), nil, nil)
	for _, q := range []string{"", "   ", strings.Repeat("街", places.MaxQueryRunes+1)} {
		_, err := svc.Search(context.Background(), q, nil)
		if e, ok := errs.As(err); !ok || e.Code != errs.Invalid || e.Fields["q"].Key == "" {
			t.Errorf("Search(%q) = %v, want a field error on q", q, err)
		}
	}
}

// The 天地图 adapter against a small server that answers like the API.
func TestTianditu(t *testing.T) {
	var gotKey, gotPost string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotKey, gotPost = r.URL.Query().Get("tk"), r.URL.Query().Get("postStr")
		if r.URL.Query().Get("type") != "query" {
			http.Error(w, "type", 400)
			return
		}
		var post struct{ KeyWord string }
		_ = json.Unmarshal([]byte(gotPost), &post)
		if post.KeyWord == "坏" {
			fmt.Fprint(w, `{"status":{"infocode":1001,"cndesc":"参数错误"}}`)
			return
		}
		fmt.Fprint(w, `{"resultType":1,"count":"2","pois":[
			{"name":"龙湾区政府","address":"温州市龙湾区永中街道","lonlat":"120.7531,27.9327","hotPointID":"A1"},
			{"name":"坏坐标","address":"","lonlat":"x","hotPointID":"A2"}],
			"status":{"infocode":1000,"cndesc":"服务正常"}}`)
	}))
	defer srv.Close()
	td := &places.Tianditu{URL: srv.URL, Key: "tk-123", Bound: orb.Bound{Min: orb.Point{120.6, 27.8}, Max: orb.Point{120.9, 28.0}}}
	ps, err := td.Search(context.Background(), "区政府", nil)
	if err != nil {
		t.Fatal(err)
	}
	if gotKey != "tk-123" || !strings.Contains(gotPost, `"keyWord":"区政府"`) || !strings.Contains(gotPost, "120.600000,27.800000,120.900000,28.000000") {
		t.Errorf("request: tk %q postStr %s", gotKey, gotPost)
	}
	if len(ps) != 1 || ps[0].Name != "龙湾区政府" || ps[0].Point != (orb.Point{120.7531, 27.9327}) || ps[0].Kind != places.Address ||
		!slices.Equal(ps[0].Parent, []string{"温州市龙湾区永中街道"}) {
		t.Errorf("got %+v, want 龙湾区政府 at 120.7531,27.9327 (the bad coordinates dropped)", ps)
	}
	if _, err := td.Search(context.Background(), "坏", nil); err == nil {
		t.Error("infocode 1001: want an error")
	}
	// The service falls back to the gazetteer's results when the provider fails.
	svc := places.NewService(places.NewGazetteer(nil, nil), td, nil)
	if ps, err := svc.Search(context.Background(), "坏", nil); err != nil || len(ps) != 0 {
		t.Errorf("service with a failing provider = %v, %v; want no results and no error", ps, err)
	}
	if ps, err := svc.Search(context.Background(), "区政府", nil); err != nil || len(ps) != 1 || ps[0].Source != "tianditu" {
		t.Errorf("service = %v, %v; want the provider's place", ps, err)
	}
}
