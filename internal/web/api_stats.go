package web

import (
	"net/http"
	"strings"

	"whistle/internal/clock"
	"whistle/internal/i18n"
	"whistle/internal/stats"
)

// statsRegion is the region parameter; empty means the caller's own node.
func statsRegion(r *http.Request) string { return strings.TrimSpace(r.URL.Query().Get("region")) }

// nodeJSON is a region node in the caller's language.
type nodeJSON struct {
	Code         string `json:"code"`
	Name         string `json:"name"`
	Level        string `json:"level"`
	LevelName    string `json:"level_name"`
	Illustrative bool   `json:"illustrative"`
}

// statsHandlers serve the statistics API and the big screen.
type statsHandlers struct {
	*view
	Stats *stats.Store
	Clock clock.Clock
}

func (s *statsHandlers) nodeJSON(lang i18n.Lang, n stats.Node) nodeJSON {
	return nodeJSON{Code: n.Code, Name: n.Name, Level: string(n.Level), LevelName: s.Catalog.T(lang, "level."+string(n.Level)), Illustrative: n.Illustrative}
}

// countJSON is a count with a name in the caller's language.
type countJSON struct {
	Code string `json:"code"`
	Name string `json:"name"`
	N    int64  `json:"n"`
}

func (s *statsHandlers) counts(lang i18n.Lang, prefix string, cs []stats.Count) []countJSON {
	out := make([]countJSON, len(cs))
	for i, c := range cs {
		name := c.Name
		switch {
		case prefix != "":
			name = s.Catalog.T(lang, prefix+c.Code)
		case lang == i18n.EN && c.NameEN != "":
			name = c.NameEN
		case name == "":
			name = c.Code
		}
		out[i] = countJSON{Code: c.Code, Name: name, N: c.N}
	}
	return out
}

type summaryJSON struct {
	Region     nodeJSON     `json:"region"`
	Path       []nodeJSON   `json:"path"`
	Children   int          `json:"children"`
	Today      string       `json:"today"`
	From       string       `json:"from"`
	KPI        stats.KPI    `json:"kpi"`
	Window     stats.Totals `json:"window"`
	Status     []countJSON  `json:"status"`
	Categories []countJSON  `json:"categories"`
	Sources    []countJSON  `json:"sources"`
}

// apiStatsSummary answers the KPIs of a node, read from the rollups:
// GET /api/v1/stats/summary?region=CODE.
func (s *statsHandlers) apiStatsSummary(w http.ResponseWriter, r *http.Request) error {
	ctx, lang, sc := r.Context(), langOf(r), scopeOf(r)
	sm, err := s.Stats.Summary(ctx, sc, statsRegion(r))
	if err != nil {
		return err
	}
	crumbs, err := s.Stats.Breadcrumb(ctx, sc, &sm.Region)
	if err != nil {
		return err
	}
	kids, err := s.Stats.Children(ctx, &sm.Region)
	if err != nil {
		return err
	}
	out := summaryJSON{Region: s.nodeJSON(lang, sm.Region), Path: make([]nodeJSON, len(crumbs)), Children: len(kids), Today: sm.Today, From: sm.From,
		KPI: sm.KPI, Window: sm.Totals, Status: s.counts(lang, "status.", sm.Status), Categories: s.counts(lang, "", sm.Categories),
		Sources: s.counts(lang, "source.", sm.Sources)}
	for i, c := range crumbs {
		out.Path[i] = s.nodeJSON(lang, c)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type areaJSON struct {
	nodeJSON
	Value *float64 `json:"value"`
	Rated int64    `json:"rated,omitempty"`
}

// apiStatsMap answers one value per child of a node for the map:
// GET /api/v1/stats/map?region=CODE&metric=open|overdue|satisfaction.
func (s *statsHandlers) apiStatsMap(w http.ResponseWriter, r *http.Request) error {
	lang := langOf(r)
	m, err := s.Stats.Map(r.Context(), scopeOf(r), statsRegion(r), r.URL.Query().Get("metric"))
	if err != nil {
		return err
	}
	areas := make([]areaJSON, len(m.Areas))
	for i, a := range m.Areas {
		areas[i] = areaJSON{nodeJSON: s.nodeJSON(lang, a.Node), Value: a.Value, Rated: a.Rated}
	}
	writeJSON(w, http.StatusOK, map[string]any{"region": s.nodeJSON(lang, m.Region), "metric": m.Metric, "areas": areas})
	return nil
}

// apiStatsTrend answers the daily reports and closures:
// GET /api/v1/stats/trend?region=CODE&days=N (default 30, at most 366).
func (s *statsHandlers) apiStatsTrend(w http.ResponseWriter, r *http.Request) error {
	days, err := queryInt(r, "days", 0)
	if err != nil {
		return err
	}
	tr, err := s.Stats.Trend(r.Context(), scopeOf(r), statsRegion(r), days)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"region": s.nodeJSON(langOf(r), tr.Region), "days": tr.Days})
	return nil
}

type hotspotJSON struct {
	nodeJSON
	Community string `json:"community,omitempty"`
	Open      int64  `json:"open"`
	Overdue   int64  `json:"overdue"`
}

// apiStatsHotspots answers the grids with the most open cases:
// GET /api/v1/stats/hotspots?region=CODE&limit=N (default 10).
func (s *statsHandlers) apiStatsHotspots(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit", 0)
	if err != nil {
		return err
	}
	lang := langOf(r)
	hs, err := s.Stats.Hotspots(r.Context(), scopeOf(r), statsRegion(r), limit)
	if err != nil {
		return err
	}
	grids := make([]hotspotJSON, len(hs.Grids))
	for i, g := range hs.Grids {
		grids[i] = hotspotJSON{nodeJSON: s.nodeJSON(lang, g.Node), Community: g.Parent, Open: g.Open, Overdue: g.Overdue}
	}
	writeJSON(w, http.StatusOK, map[string]any{"region": s.nodeJSON(lang, hs.Region), "grids": grids})
	return nil
}

type overdueJSON struct {
	ID         int64    `json:"id"`
	Number     string   `json:"number"`
	Category   string   `json:"category"`
	Address    string   `json:"address"`
	Status     string   `json:"status"`
	StatusName string   `json:"status_name"`
	Deadline   string   `json:"deadline,omitempty"` // RFC 3339 with +08:00
	Grid       nodeJSON `json:"grid"`
	Urgent     bool     `json:"urgent"`
}

// apiStatsOverdue answers the red list: the open overdue cases under a
// node, the longest overdue first: GET /api/v1/stats/overdue?region=CODE&limit=N.
func (s *statsHandlers) apiStatsOverdue(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit", 0)
	if err != nil {
		return err
	}
	lang := langOf(r)
	list, err := s.Stats.Overdue(r.Context(), scopeOf(r), statsRegion(r), limit)
	if err != nil {
		return err
	}
	out := make([]overdueJSON, len(list))
	for i, c := range list {
		out[i] = overdueJSON{ID: c.ID, Number: c.Number, Category: c.Category, Address: c.Address, Status: c.Status,
			StatusName: s.Catalog.T(lang, "status."+c.Status), Grid: s.nodeJSON(lang, c.Grid), Urgent: c.Urgent}
		if !c.Deadline.IsZero() {
			out[i].Deadline = c.Deadline.In(shanghai).Format("2006-01-02T15:04:05Z07:00")
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"cases": out})
	return nil
}
