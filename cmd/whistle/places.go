package main

import (
	"context"
	"flag"
	"net/http"
	"time"

	"github.com/paulmach/orb"

	"whistle/internal/places"
)

// mapOptions are the flags of the maps and the place search.
type mapOptions struct {
	tiandituKey       string
	tiandituSearchURL string
	limitSearch       float64
}

func (m *mapOptions) flags(fs *flag.FlagSet) {
	fs.StringVar(&m.tiandituKey, "tianditu-key", "", "天地图 key (tk): with it the place search also asks 天地图's search API; without it, search is offline only")
	fs.Float64Var(&m.limitSearch, "limit-search", 120, "place searches a minute per client IP (0 = no limit)")
	fs.StringVar(&m.tiandituSearchURL, "tianditu-search-url", places.DefaultTiandituURL, "天地图 place search endpoint (an intranet proxy, say)")
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
