package web

import (
	"net/http"
	"strings"

	"whistle/internal/benchmark"
	"whistle/internal/errs"
)

// benchmarkAPI serves 对标 (issue 19): the indicators, a unit's analysis
// among its peers, its weak points and hand-picked peer groups. Package
// benchmark decides what a caller sees: its own scope's values always,
// other units' only in published periods (404 for a unit outside the
// scope before).
type benchmarkAPI struct {
	*view
	Benchmark *benchmark.Store
}

func (h *benchmarkAPI) store() (*benchmark.Store, error) {
	if h.Benchmark == nil {
		return nil, errs.E(errs.Unavailable, "benchmark.unavailable")
	}
	return h.Benchmark, nil
}

func (h *benchmarkAPI) apiIndicators(w http.ResponseWriter, r *http.Request) error {
	st, err := h.store()
	if err != nil {
		return err
	}
	ins, err := st.Indicators(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"indicators": ins})
	return nil
}

// indicatorDecl is the body of POST /api/v1/indicators: the stable names
// key, name, unit and direction, and optionally the English name, the
// definition in both languages, the source, and whether it is a context
// variable.
type indicatorDecl struct {
	Key          string `json:"key"`
	Name         string `json:"name"`
	NameEN       string `json:"name_en"`
	Unit         string `json:"unit"`
	Direction    string `json:"direction"`
	Definition   string `json:"definition"`
	DefinitionEN string `json:"definition_en"`
	Source       string `json:"source"`
	Context      bool   `json:"context"`
}

func (d indicatorDecl) indicator() benchmark.Indicator {
	return benchmark.Indicator{Key: strings.TrimSpace(d.Key), Name: benchmark.Text{ZH: strings.TrimSpace(d.Name), EN: strings.TrimSpace(d.NameEN)},
		Unit: strings.TrimSpace(d.Unit), Direction: strings.TrimSpace(d.Direction), Source: strings.TrimSpace(d.Source),
		Definition: benchmark.Text{ZH: strings.TrimSpace(d.Definition), EN: strings.TrimSpace(d.DefinitionEN)}, Context: d.Context}
}

func (h *benchmarkAPI) apiDeclare(w http.ResponseWriter, r *http.Request) error {
	st, err := h.store()
	if err != nil {
		return err
	}
	var in indicatorDecl
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	out, err := st.DeclareIndicator(r.Context(), in.indicator())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

func (h *benchmarkAPI) apiAnalyse(w http.ResponseWriter, r *http.Request) error {
	st, err := h.store()
	if err != nil {
		return err
	}
	window, err := queryInt(r, "window", 6)
	if err != nil {
		return err
	}
	k, err := queryInt(r, "k", 0)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	a, err := st.Analyse(r.Context(), scopeOf(r), benchmark.Query{Unit: q.Get("unit"), Indicator: q.Get("indicator"), Period: q.Get("period"),
		Group: q.Get("group"), On: benchmark.ParseOn(q.Get("on")), K: k, Window: window})
	if err != nil {
		return err
	}
	weak, err := st.WeakPoints(r.Context(), scopeOf(r), a.Unit, a.Period)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		*benchmark.Analysis
		WeakPoints []benchmark.WeakPoint `json:"weak_points"`
	}{a, weak})
	return nil
}

func (h *benchmarkAPI) apiWeakPoints(w http.ResponseWriter, r *http.Request) error {
	st, err := h.store()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	unit, period := q.Get("unit"), q.Get("period")
	weak, err := st.WeakPoints(r.Context(), scopeOf(r), unit, period)
	if err != nil {
		return err
	}
	strong, err := st.Strengths(r.Context(), scopeOf(r), unit, period)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"unit": unit, "period": period, "weak_points": weak, "strengths": strong})
	return nil
}

// groupInput is the body of POST /api/v1/benchmark/groups.
type groupInput struct {
	Name  string   `json:"name"`
	Units []string `json:"units"`
}

func (h *benchmarkAPI) apiGroupCreate(w http.ResponseWriter, r *http.Request) error {
	st, err := h.store()
	if err != nil {
		return err
	}
	var in groupInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u := userOf(r)
	g, err := st.CreateGroup(r.Context(), scopeOf(r), u.RegionPath, u.ID, in.Name, in.Units)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, g)
	return nil
}

func (h *benchmarkAPI) apiGroup(w http.ResponseWriter, r *http.Request) error {
	st, err := h.store()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	g, err := st.Group(r.Context(), scopeOf(r), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, g)
	return nil
}

func (h *benchmarkAPI) apiPeers(w http.ResponseWriter, r *http.Request) error {
	st, err := h.store()
	if err != nil {
		return err
	}
	k, err := queryInt(r, "k", 0)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	ps, err := st.Peers(r.Context(), scopeOf(r), benchmark.PeerQuery{Unit: q.Get("unit"), Group: q.Get("group"), Period: q.Get("period"),
		On: benchmark.ParseOn(q.Get("on")), K: k})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ps)
	return nil
}
