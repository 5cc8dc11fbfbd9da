package places

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
)

// DefaultTiandituURL is 天地图's search API.
const DefaultTiandituURL = "https://api.tianditu.gov.cn/v2/search"

// Tianditu searches 天地图's place search (地名搜索 v2, queryType 1) within
// Bound. Its coordinates are CGCS2000, taken as WGS-84.
type Tianditu struct {
	// URL is the API endpoint (DefaultTiandituURL when empty).
	URL string
	// Key is the 天地图 key (tk).
	Key string
	// Bound is the area searched: the district's bounding box.
	Bound orb.Bound
	// Client is the HTTP client (a 5-second timeout when nil).
	Client *http.Client
}

// Search asks 天地图 for places named q.
func (t *Tianditu) Search(ctx context.Context, q string, near *orb.Point) ([]Place, error) {
	post, err := json.Marshal(map[string]any{
		"keyWord": q, "level": 12, "queryType": 1, "start": 0, "count": MaxResults,
		"mapBound": fmt.Sprintf("%f,%f,%f,%f", t.Bound.Min[0], t.Bound.Min[1], t.Bound.Max[0], t.Bound.Max[1]),
	})
	if err != nil {
		return nil, err
	}
	base := t.URL
	if base == "" {
		base = DefaultTiandituURL
	}
	u := base + "?" + url.Values{"postStr": {string(post)}, "type": {"query"}, "tk": {t.Key}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	c := t.Client
	if c == nil {
		c = &http.Client{Timeout: 5 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("tianditu: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("tianditu: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("tianditu: HTTP %d", resp.StatusCode)
	}
	var out struct {
		Pois []struct {
			Name    string `json:"name"`
			Address string `json:"address"`
			LonLat  string `json:"lonlat"`
			ID      string `json:"hotPointID"`
		} `json:"pois"`
		Status struct {
			Infocode int    `json:"infocode"`
			Desc     string `json:"cndesc"`
		} `json:"status"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("tianditu: %w", err)
	}
	if out.Status.Infocode != 1000 {
		return nil, fmt.Errorf("tianditu: status %d %s", out.Status.Infocode, out.Status.Desc)
	}
	places := []Place{}
	for _, p := range out.Pois {
		pt, ok := parseLonLat(p.LonLat)
		if !ok || p.Name == "" {
			continue
		}
		parent := []string{}
		if p.Address != "" {
			parent = append(parent, p.Address)
		}
		places = append(places, Place{Name: p.Name, Kind: Address, Ref: p.ID, Parent: parent, Point: pt, Source: "tianditu"})
	}
	return places, nil
}

// parseLonLat reads "lon,lat" or "lon lat".
func parseLonLat(s string) (orb.Point, bool) {
	f := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
	if len(f) != 2 {
		return orb.Point{}, false
	}
	lng, err1 := strconv.ParseFloat(f[0], 64)
	lat, err2 := strconv.ParseFloat(f[1], 64)
	if err1 != nil || err2 != nil || lng < -180 || lng > 180 || lat < -90 || lat > 90 {
		return orb.Point{}, false
	}
	return orb.Point{lng, lat}, true
}
