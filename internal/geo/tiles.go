package geo

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// TileLayer is the base map drawn under the grid outlines: an XYZ or WMTS
// URL template of Web Mercator tiles ({z}, {x}, {y}, and {s} for a
// subdomain), the datum its tiles are drawn in, and what the map shows
// about it. The zero TileLayer is none: the maps show outlines only.
type TileLayer struct {
	// URL is the template, absolute (http or https) or a path on this
	// server (an intranet tile server behind the same origin). A WMTS
	// KVP template may say {TileMatrix}, {TileCol} and {TileRow} instead.
	URL string `json:"url"`
	// CRS is the datum of the tiles: WGS84 (天地图, whose CGCS2000 is taken
	// as WGS-84) or GCJ02 (Gaode, Tencent); the pages convert the WGS-84
	// outlines and points into it, and picked points back.
	CRS CRS `json:"crs"`
	// Subdomains replace {s}, one per request, such as "01234567".
	Subdomains string `json:"subdomains,omitempty"`
	// Attribution is shown in the map's corner (HTML escaped).
	Attribution string `json:"attribution"`
	MinZoom     int    `json:"min_zoom"`
	MaxZoom     int    `json:"max_zoom"`
}

var placeholder = regexp.MustCompile(`\{[^{}]*\}`)

// ParseTileLayer builds a TileLayer from its settings and checks it: the
// template's placeholders, the datum, the zoom range, and the key for a
// template that asks for one ({tk} or {key}, replaced by key). An empty
// template is no base layer.
func ParseTileLayer(template, crs, key, subdomains, attribution string, minZoom, maxZoom int) (TileLayer, error) {
	if strings.TrimSpace(template) == "" {
		return TileLayer{}, nil
	}
	t := TileLayer{Subdomains: subdomains, Attribution: attribution, MinZoom: minZoom, MaxZoom: maxZoom}
	var problems []string
	c, err := ParseCRS(crs)
	switch {
	case err != nil:
		problems = append(problems, err.Error())
	case c == BD09:
		problems = append(problems, "BD-09 tiles (Baidu) use their own projection and are not supported; use wgs84 or gcj02 tiles")
	}
	t.CRS = c
	// WMTS KVP names map to the XYZ ones (Web Mercator: row = y).
	u := strings.NewReplacer("{TileMatrix}", "{z}", "{TileCol}", "{x}", "{TileRow}", "{y}").Replace(strings.TrimSpace(template))
	seen := map[string]bool{}
	for _, p := range placeholder.FindAllString(u, -1) {
		seen[p] = true
		switch p {
		case "{z}", "{x}", "{y}", "{s}", "{tk}", "{key}":
		default:
			problems = append(problems, fmt.Sprintf("unknown placeholder %s (use {z}, {x}, {y}, {s}, {tk})", p))
		}
	}
	for _, p := range []string{"{z}", "{x}", "{y}"} {
		if !seen[p] {
			problems = append(problems, "the template lacks "+p)
		}
	}
	if seen["{s}"] && subdomains == "" {
		problems = append(problems, "the template has {s} but no subdomains are set")
	}
	if (seen["{tk}"] || seen["{key}"]) && key == "" {
		problems = append(problems, "the template asks for a key ({tk}) but none is set")
	}
	u = strings.NewReplacer("{tk}", url.QueryEscape(key), "{key}", url.QueryEscape(key)).Replace(u)
	if strings.HasPrefix(u, "/") && !strings.HasPrefix(u, "//") {
		// A path on this server.
	} else if p, err := url.Parse(strings.ReplaceAll(strings.ReplaceAll(u, "{s}", "a"), "{", "")); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		problems = append(problems, "the template must be an http(s) URL or a path starting with /")
	}
	t.URL = u
	if minZoom < 0 || maxZoom > 22 || minZoom > maxZoom {
		problems = append(problems, fmt.Sprintf("zoom %d–%d: want 0 ≤ min ≤ max ≤ 22", minZoom, maxZoom))
	}
	if len(problems) > 0 {
		return TileLayer{}, errors.New("base layer: " + strings.Join(problems, "; "))
	}
	return t, nil
}

// Origins are the origins tiles are fetched from, one per subdomain, for
// the Content-Security-Policy; none for no layer or a path on this server.
func (t TileLayer) Origins() []string {
	if t.URL == "" || strings.HasPrefix(t.URL, "/") && !strings.HasPrefix(t.URL, "//") {
		return nil
	}
	subs := []string{""}
	if strings.Contains(t.URL, "{s}") {
		subs = strings.Split(t.Subdomains, "")
	}
	var out []string
	seen := map[string]bool{}
	for _, s := range subs {
		p, err := url.Parse(strings.ReplaceAll(t.URL, "{s}", s))
		if err != nil {
			continue
		}
		o := p.Scheme + "://" + p.Host
		if !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	return out
}
