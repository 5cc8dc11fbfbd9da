package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"time"

	"github.com/paulmach/orb"

	"whistle/internal/geo"
	"whistle/internal/places"
)

// mapOptions are the flags of the maps and the place search.
type mapOptions struct {
	tiandituKey       string
	tiandituSearchURL string
	limitSearch       float64
	tiles             string
	tilesCRS          string
	tilesKey          string
	tilesSubdomains   string
	tilesAttribution  string
	tilesMinZoom      int
	tilesMaxZoom      int
}

func (m *mapOptions) flags(fs *flag.FlagSet) {
	fs.StringVar(&m.tiandituKey, "tianditu-key", "", "天地图 key (tk): with it the place search also asks 天地图's search API; without it, search is offline only")
	fs.StringVar(&m.tiles, "tiles", "", "base map tile URL template (XYZ or WMTS, Web Mercator) with {z} {x} {y}, {s} for a subdomain and {tk} for the key; empty shows grid outlines only")
	fs.StringVar(&m.tilesCRS, "tiles-crs", "wgs84", "datum of the tiles: wgs84 (天地图, CGCS2000) or gcj02 (Gaode, Tencent)")
	fs.StringVar(&m.tilesKey, "tiles-key", "", "key put in the template's {tk} (天地图's tk); defaults to --tianditu-key")
	fs.StringVar(&m.tilesSubdomains, "tiles-subdomains", "", "subdomains for {s}, one character each, e.g. 01234567")
	fs.StringVar(&m.tilesAttribution, "tiles-attribution", "", "attribution shown on the map, e.g. 天地图 GS(2024)0568号")
	fs.IntVar(&m.tilesMinZoom, "tiles-min-zoom", 3, "lowest zoom the tiles have")
	fs.IntVar(&m.tilesMaxZoom, "tiles-max-zoom", 18, "highest zoom the tiles have")
	fs.Float64Var(&m.limitSearch, "limit-search", 120, "place searches a minute per client IP (0 = no limit)")
	fs.StringVar(&m.tiandituSearchURL, "tianditu-search-url", places.DefaultTiandituURL, "天地图 place search endpoint (an intranet proxy, say)")
}

// tileLayer checks the base layer's flags: a bad template stops the start
// with a message naming what is wrong.
func (m mapOptions) tileLayer() (geo.TileLayer, error) {
	key := m.tilesKey
	if key == "" {
		key = m.tiandituKey
	}
	t, err := geo.ParseTileLayer(m.tiles, m.tilesCRS, key, m.tilesSubdomains, m.tilesAttribution, m.tilesMinZoom, m.tilesMaxZoom)
	if err != nil {
		return t, fmt.Errorf("--tiles: %w", err)
	}
	return t, nil
}

// newPlaces builds the place search: the gazetteer over the region tree and
// the landmarks, and 天地图 when a key is configured.
func newPlaces(ctx context.Context, a *app, m mapOptions) (*places.Service, *places.LandmarkStore, error) {
	landmarks := places.NewLandmarkStore(a.db, a.regions)
	gaz := places.NewGazetteer(a.regions, nil, places.RegionSource{Regions: a.regions}, landmarks)
	var online places.Geocoder
	if m.tiandituKey != "" {
		// Search within the district's bounding box (all of China when
		// no regions are loaded yet).
		bound := orb.Bound{Min: orb.Point{73, 3}, Max: orb.Point{136, 54}}
		code, err := a.regions.District(ctx)
		if err != nil {
			return nil, nil, err
		}
		if code != "" {
			n, err := a.regions.Get(ctx, code)
			if err != nil {
				return nil, nil, err
			}
			bound = n.Bound
		}
		online = &places.Tianditu{URL: m.tiandituSearchURL, Key: m.tiandituKey, Bound: bound, Client: &http.Client{Timeout: 5 * time.Second}}
	}
	return places.NewService(gaz, online, a.logger), landmarks, nil
}
