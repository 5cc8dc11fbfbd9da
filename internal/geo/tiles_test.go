package geo

import (
	"slices"
	"strings"
	"testing"
)

func TestParseTileLayer(t *testing.T) {
	const tdt = "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&LAYER=vec&TILEMATRIXSET=w&TILEMATRIX={TileMatrix}&TILEROW={TileRow}&TILECOL={TileCol}&tk={tk}"
	tests := []struct {
		name, url, crs, key, subs string
		min, max                  int
		wantURL                   string // when it is accepted
		wantErr                   string // a phrase of the refusal
	}{
		{name: "none", url: ""},
		{name: "天地图 WMTS with key and subdomains", url: tdt, crs: "CGCS2000", key: "k 1", subs: "01234567", min: 1, max: 18,
			wantErr: "unknown coordinate system"},
		{name: "天地图 WMTS as wgs84", url: tdt, crs: "wgs84", key: "k 1", subs: "01234567", min: 1, max: 18,
			wantURL: "https://t{s}.tianditu.gov.cn/vec_w/wmts?SERVICE=WMTS&REQUEST=GetTile&LAYER=vec&TILEMATRIXSET=w&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=k+1"},
		{name: "Gaode in GCJ-02", url: "https://webrd0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}", crs: "GCJ-02", subs: "1234", max: 18,
			wantURL: "https://webrd0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}"},
		{name: "intranet path", url: "/tiles/{z}/{x}/{y}.png", crs: "", max: 18, wantURL: "/tiles/{z}/{x}/{y}.png"},
		{name: "missing y", url: "https://tiles.example/{z}/{x}.png", max: 18, wantErr: "lacks {y}"},
		{name: "unknown placeholder", url: "https://tiles.example/{z}/{x}/{y}.png?{style}", max: 18, wantErr: "unknown placeholder {style}"},
		{name: "subdomain without list", url: "https://{s}.tiles.example/{z}/{x}/{y}.png", max: 18, wantErr: "no subdomains"},
		{name: "key placeholder without key", url: "https://tiles.example/{z}/{x}/{y}.png?tk={tk}", max: 18, wantErr: "asks for a key"},
		{name: "not a URL", url: "tiles.example/{z}/{x}/{y}.png", max: 18, wantErr: "http(s) URL"},
		{name: "ftp", url: "ftp://tiles.example/{z}/{x}/{y}.png", max: 18, wantErr: "http(s) URL"},
		{name: "baidu", url: "https://tiles.example/{z}/{x}/{y}.png", crs: "bd09", max: 18, wantErr: "BD-09"},
		{name: "zoom upside down", url: "https://tiles.example/{z}/{x}/{y}.png", min: 12, max: 5, wantErr: "zoom 12–5"},
		{name: "zoom too deep", url: "https://tiles.example/{z}/{x}/{y}.png", max: 30, wantErr: "zoom 0–30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTileLayer(tt.url, tt.crs, tt.key, tt.subs, "", tt.min, tt.max)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.URL != tt.wantURL {
				t.Errorf("URL = %q, want %q", got.URL, tt.wantURL)
			}
		})
	}
}

func TestTileOrigins(t *testing.T) {
	gaode, err := ParseTileLayer("https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}", "gcj02", "", "12", "", 3, 18)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := gaode.Origins(), []string{"https://webrd01.is.autonavi.com", "https://webrd02.is.autonavi.com"}; !slices.Equal(got, want) {
		t.Errorf("Origins = %v, want %v", got, want)
	}
	local, err := ParseTileLayer("/tiles/{z}/{x}/{y}.png", "", "", "", "", 3, 18)
	if err != nil {
		t.Fatal(err)
	}
	if got := local.Origins(); len(got) != 0 {
		t.Errorf("a path on this server: Origins = %v, want none", got)
	}
}
