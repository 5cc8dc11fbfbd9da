package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/paulmach/orb"

	"whistle/internal/geo"
)

// tileServer is a small XYZ tile server that records what it is asked.
type tileServer struct {
	*httptest.Server
	mu   sync.Mutex
	seen map[string]string // "z/x/y" → the tk it came with
}

func newTileServer(t *testing.T) *tileServer {
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	for y := 0; y < 256; y++ {
		for x := 0; x < 256; x++ {
			img.Set(x, y, color.RGBA{0xe4, 0xee, 0xe0, 0xff})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	ts := &tileServer{seen: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /tiles/{z}/{x}/{y}", func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		ts.seen[r.PathValue("z")+"/"+r.PathValue("x")+"/"+strings.TrimSuffix(r.PathValue("y"), ".png")] = r.URL.Query().Get("tk")
		ts.mu.Unlock()
		w.Header().Set("Content-Type", "image/png")
		w.Write(b.Bytes())
	})
	ts.Server = httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tileServer) key(tile string) (string, bool) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	k, ok := ts.seen[tile]
	return k, ok
}

func (ts *tileServer) count() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.seen)
}

// tileOf is the Web Mercator tile holding a point at zoom z.
func tileOf(p orb.Point, z int) string {
	n := math.Exp2(float64(z))
	x := int(math.Floor((p[0] + 180) / 360 * n))
	lat := p[1] * math.Pi / 180
	y := int(math.Floor((1 - math.Log(math.Tan(lat)+1/math.Cos(lat))/math.Pi) / 2 * n))
	return fmt.Sprintf("%d/%d/%d", z, x, y)
}

// TestBrowserMap: the report page's map over a base layer from a tile
// server started here (tiles asked with the right z/x/y and key), the
// search box over it finding a community and a landmark and jumping there
// with the grid shown, the category picker's synonyms, and the page's
// GCJ-02 formulas agreeing with internal/geo's; at phone and desktop sizes.
func TestBrowserMap(t *testing.T) {
	tiles := newTileServer(t)
	s := newBrowserSuite(t, 1280, 900, "--tiles", tiles.URL+"/tiles/{z}/{x}/{y}.png?tk={tk}", "--tiles-key", "test-key-42",
		"--tiles-attribution", "测试底图")
	admin := login(t, s.app, "demo-admin")
	var found placesAnswer
	do(t, "GET", s.app.URL+"/api/v1/places/search?q=万顺社区", "", nil, &found)
	if len(found.Places) == 0 {
		t.Fatal("no 万顺社区 to put the landmark in")
	}
	// The landmark lies a little off the community's point, so that
	// jumping to it moves the map.
	lm := orb.Point{found.Places[0].Point.Lng + 0.002, found.Places[0].Point.Lat + 0.001}
	if code := do(t, "POST", s.app.URL+"/api/v1/landmarks", admin, map[string]any{"name": "龙湾体育中心", "kind": "landmark",
		"lat": lm[1], "lng": lm[0]}, nil); code != 201 {
		t.Fatalf("add the landmark: %d", code)
	}

	for _, size := range []struct {
		name string
		w, h int64
		doc  string
	}{{"phone", 390, 844, "map-search-390.png"}, {"desktop", 1280, 900, "map-search-desktop.png"}} {
		t.Run(size.name, func(t *testing.T) {
			u := s.as(t, "demo-resident", size.w, size.h)
			u.open("/report")
			u.do(chromedp.WaitVisible(chromedp.CSS("#report-form")))

			// The category picker: a resident's word finds the category.
			u.do(chromedp.SendKeys(chromedp.CSS("#cat-search"), "停车"))
			if !eval[bool](u, `!document.querySelector('.catitem[data-cat="SJ0505"]').hidden && document.querySelector('.catitem[data-cat="BJ0118"]').hidden`) {
				t.Error("停车 in the category search: want 机动车乱停放 shown and 路灯 hidden")
			}

			// The base layer: the tile under the map's centre was asked
			// for, with the key.
			u.do(chromedp.ScrollIntoView(chromedp.CSS("[data-map=pick]")))
			deadline := time.Now().Add(20 * time.Second)
			for !eval[bool](u, "!!(document.querySelector('[data-map=pick]')||{})._map") || tiles.count() == 0 {
				if time.Now().After(deadline) {
					u.shot("failure")
					t.Fatalf("the map or its tiles never came (%d tiles asked)", tiles.count())
				}
				time.Sleep(100 * time.Millisecond)
			}
			view := eval[[]float64](u, `(function(){var m=document.querySelector('[data-map=pick]')._map,c=m.getCenter();return [Math.round(m.getZoom()),c.lng,c.lat]})()`)
			want := tileOf(orb.Point{view[1], view[2]}, int(view[0]))
			deadline = time.Now().Add(10 * time.Second)
			for {
				if k, ok := tiles.key(want); ok {
					if k != "test-key-42" {
						t.Errorf("tile %s asked with tk=%q, want test-key-42", want, k)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the tile under the centre, %s, was never asked for (%d others were)", want, tiles.count())
				}
				time.Sleep(100 * time.Millisecond)
			}
			if !strings.Contains(eval[string](u, `document.querySelector('.leaflet-control-attribution').textContent`), "测试底图") {
				t.Error("the attribution is not on the map")
			}

			// The search box: a community by its initials, with its street.
			u.do(chromedp.SendKeys(chromedp.CSS("#place-q"), "wssq"))
			u.waitText("#place-results", "万顺社区")
			u.waitText("#place-results", "永中街道")
			u.do(chromedp.Click(chromedp.CSS("#place-results button")))
			u.waitText("[data-loc-readout]", "万顺社区")
			u.waitText("[data-loc-readout]", "网格")

			// A landmark by part of its pinyin: the map jumps there.
			eval[bool](u, `(document.querySelector('#place-q').value = '', true)`)
			u.do(chromedp.SendKeys(chromedp.CSS("#place-q"), "tiyu"))
			u.waitText("#place-results", "龙湾体育中心")
			u.docShot("results", size.doc)
			u.do(chromedp.Click(chromedp.CSS("#place-results button")))
			u.waitText("[data-place-status]", "龙湾体育中心")
			c := eval[[]float64](u, `(function(){var c=document.querySelector('[data-map=pick]')._map.getCenter();return [c.lng,c.lat]})()`)
			if math.Abs(c[0]-lm[0]) > 1e-5 || math.Abs(c[1]-lm[1]) > 1e-5 {
				t.Errorf("after choosing the landmark the map is centred on %v, want %v", c, lm)
			}
			u.waitText("[data-loc-readout]", "网格")
			got := eval[[]float64](u, `[parseFloat(document.querySelector('[data-lng]').value), parseFloat(document.querySelector('[data-lat]').value)]`)
			if math.Abs(got[0]-lm[0]) > 1e-5 || math.Abs(got[1]-lm[1]) > 1e-5 {
				t.Errorf("the report's point is %v, want the landmark's %v", got, lm)
			}

			// The page's GCJ-02 shift is internal/geo's, both ways.
			for _, p := range []orb.Point{{116.377817, 39.911954}, {120.7531, 27.9327}, {121.4737, 31.2304}} {
				g := geo.WGS84ToGCJ02(p)
				js := eval[[]float64](u, fmt.Sprintf("whistleGCJ.fromWGS(%v, %v)", p[0], p[1]))
				back := eval[[]float64](u, fmt.Sprintf("whistleGCJ.toWGS(%v, %v)", g[0], g[1]))
				if math.Abs(js[0]-g[0]) > 1e-9 || math.Abs(js[1]-g[1]) > 1e-9 || math.Abs(back[0]-p[0]) > 1e-9 || math.Abs(back[1]-p[1]) > 1e-9 {
					t.Errorf("GCJ-02 of %v: page %v and back %v, internal/geo %v", p, js, back, g)
				}
			}
		})
	}
}
