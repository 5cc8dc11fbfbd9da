package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

type placeAnswer struct {
	Name   string   `json:"name"`
	Kind   string   `json:"kind"`
	Ref    string   `json:"ref"`
	Parent []string `json:"parent_path"`
	Point  struct {
		Lat float64 `json:"lat"`
		Lng float64 `json:"lng"`
	} `json:"point"`
}

type placesAnswer struct {
	Places []placeAnswer `json:"places"`
	Error  struct {
		Code   string            `json:"code"`
		Fields map[string]string `json:"fields"`
	} `json:"error"`
}

// TestPlacesAPI: the place search on the demo district, on both dialects:
// same-named communities told apart by their street, a landmark an admin
// adds found by its pinyin initials, and bad input refused in zh and en
// with nothing written.
func TestPlacesAPI(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			app := startApp(t, "demo", dataArgs(t, dialect))
			search := func(q string, hdr ...string) (int, placesAnswer) {
				var a placesAnswer
				code := do(t, "GET", app.URL+"/api/v1/places/search?q="+url.QueryEscape(q), "", nil, &a, hdr...)
				return code, a
			}
			names := func(a placesAnswer) []string {
				var out []string
				for _, p := range a.Places {
					out = append(out, p.Name+"|"+p.Kind+"|"+strings.Join(p.Parent, " › "))
				}
				return out
			}
			// 石坦村委会 is a community of both 状元街道 and 海城街道.
			code, a := search("石坦村委会")
			if got := names(a); code != 200 || len(got) < 2 ||
				!slices.Equal(got[:2], []string{"石坦村委会|community|状元街道", "石坦村委会|community|海城街道"}) {
				t.Errorf("石坦村委会: %d %v, want both communities with their street", code, got)
			}
			if _, a := search("wsSQ"); len(a.Places) == 0 || a.Places[0].Name != "万顺社区" || a.Places[0].Point.Lat == 0 {
				t.Errorf("wsSQ: %v, want 万顺社区 with its point", names(a))
			}

			admin := login(t, app, "demo-admin")
			var loc struct {
				Point struct{ Lat, Lng float64 }
			}
			if code, a := search("万顺社区"); code == 200 && len(a.Places) > 0 {
				loc.Point.Lat, loc.Point.Lng = a.Places[0].Point.Lat, a.Places[0].Point.Lng
			}
			var made, made2 struct{ ID int64 }
			if code := do(t, "POST", app.URL+"/api/v1/landmarks", admin, map[string]any{"name": "永乐街", "kind": "road",
				"aliases": []string{"永乐路"}, "lat": loc.Point.Lat, "lng": loc.Point.Lng}, &made); code != 201 {
				t.Fatalf("add a landmark: %d", code)
			}
			// The admin page lists it; its form sends the aliases as a text,
			// a line each.
			if code := do(t, "POST", app.URL+"/api/v1/landmarks", admin, map[string]any{"name": "万顺公园", "kind": "landmark",
				"aliases": "街心公园\n 小公园 \n", "lat": loc.Point.Lat, "lng": loc.Point.Lng}, &made2); code != 201 {
				t.Fatalf("add a landmark with aliases as text: %d", code)
			}
			if _, a := search("小公园"); len(a.Places) == 0 || a.Places[0].Name != "万顺公园" {
				t.Errorf("小公园: %v, want 万顺公园 by its alias", names(a))
			}
			page := pageText(t, app.URL+"/admin/landmarks", admin)
			for _, want := range []string{"永乐街", "永乐路", "万顺公园", "街心公园、小公园", "道路"} {
				if !strings.Contains(page, want) {
					t.Errorf("/admin/landmarks lacks %q", want)
				}
			}
			for _, q := range []string{"ylj", "yonglejie", "永乐路"} {
				if _, a := search(q); len(a.Places) == 0 || a.Places[0].Name != "永乐街" || a.Places[0].Kind != "road" ||
					!slices.Equal(a.Places[0].Parent, []string{"永中街道", "万顺社区"}) {
					t.Errorf("%s: %v, want 永乐街 (road) in 永中街道 › 万顺社区", q, names(a))
				}
			}

			// Bad input: a field error in both languages, nothing written.
			if code, a := search(""); code != 422 || !strings.Contains(a.Error.Fields["q"], "必填") {
				t.Errorf("empty q: %d %v, want 422 with a zh message on q", code, a.Error.Fields)
			}
			if code, a := search(strings.Repeat("街", 51), "Accept-Language", "en"); code != 422 || !strings.Contains(a.Error.Fields["q"], "Too long") {
				t.Errorf("long q: %d %v, want 422 with an en message on q", code, a.Error.Fields)
			}
			var bad placesAnswer
			if code := do(t, "GET", app.URL+"/api/v1/places/search?q=x&lat=999&lng=120.7", "", nil, &bad); code != 422 || bad.Error.Fields["lat"] == "" {
				t.Errorf("near lat=999: %d %v, want 422 on lat", code, bad.Error.Fields)
			}
			for _, body := range []map[string]any{
				{"name": "", "kind": "road", "lat": loc.Point.Lat, "lng": loc.Point.Lng},
				{"name": "桥", "kind": "bridge", "lat": loc.Point.Lat, "lng": loc.Point.Lng},
				{"name": "天安门", "kind": "landmark", "lat": 39.9, "lng": 116.4},
			} {
				var e placesAnswer
				if code := do(t, "POST", app.URL+"/api/v1/landmarks", admin, body, &e, "Accept-Language", "en"); code != 422 || len(e.Error.Fields) == 0 {
					t.Errorf("landmark %v: %d %v, want 422 with field errors", body, code, e.Error.Fields)
				}
			}
			var list struct{ Landmarks []struct{ Name string } }
			if do(t, "GET", app.URL+"/api/v1/landmarks", admin, nil, &list); len(list.Landmarks) != 2 {
				t.Errorf("landmarks after the refused ones: %v, want 永乐街 and 万顺公园", list.Landmarks)
			}
			if code := do(t, "DELETE", app.URL+fmt.Sprintf("/api/v1/landmarks/%d", made.ID), admin, nil, nil); code != 204 {
				t.Errorf("delete: %d", code)
			}
			if _, a := search("ylj"); slices.ContainsFunc(a.Places, func(p placeAnswer) bool { return p.Name == "永乐街" }) {
				t.Errorf("ylj after the delete still finds 永乐街")
			}
		})
	}
}

// TestBadTilesStopTheStart: a base layer template that cannot work stops
// the server at start-up, naming the flag and the problem.
func TestBadTilesStopTheStart(t *testing.T) {
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"whistle", "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(), "--log-level", "warn",
		"--tiles", "https://tiles.example/{z}/{x}.png"}, func(string) string { return "" }, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "--tiles") || !strings.Contains(err.Error(), "lacks {y}") {
		t.Fatalf("run = %v, want an error naming --tiles and the missing {y}", err)
	}
}

// pageText GETs a page with a bearer token and returns its body.
func pageText(t *testing.T, url, token string) string {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	return string(b)
}
