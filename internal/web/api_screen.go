package web

import (
	"net/http"

	"whistle/internal/stats"
)

// apiStatsRecent answers the latest steps on the cases under a node, newest
// first, for the screen's 实时动态 on load: GET
// /api/v1/stats/recent?region=CODE&limit=N (default 20, at most 500).
func (s *statsHandlers) apiStatsRecent(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit", 0)
	if err != nil {
		return err
	}
	evs, err := s.Stats.Recent(r.Context(), scopeOf(r), statsRegion(r), s.Clock.Now(), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": evs})
	return nil
}

// pointJSON is an open case on the screen's map, with its time state.
type pointJSON struct {
	stats.CasePoint
	StatusName string `json:"status_name"`
}

// apiStatsPoints answers the open cases under a community or grid as map
// points, each with its time state (ok, warning, overdue …): GET
// /api/v1/stats/points?region=CODE&limit=N. Above a community it answers
// none: the map shows areas there.
func (s *statsHandlers) apiStatsPoints(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit", 0)
	if err != nil {
		return err
	}
	ps, err := s.Stats.Points(r.Context(), scopeOf(r), statsRegion(r), limit)
	if err != nil {
		return err
	}
	lang := langOf(r)
	out := make([]pointJSON, len(ps))
	for i, p := range ps {
		out[i] = pointJSON{CasePoint: p, StatusName: s.Catalog.T(lang, "status."+p.Status)}
	}
	writeJSON(w, http.StatusOK, map[string]any{"cases": out})
	return nil
}
