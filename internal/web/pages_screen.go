package web

import (
	"bytes"
	"net/http"
	"strings"

	"whistle/internal/errs"
	"whistle/internal/i18n"
)

// screenKeys are the catalogue keys the screen's script needs besides the
// status, action, source, SLA and level names.
func screenKeys() []string {
	return []string{"screen.title", "screen.illustrative", "screen.kpi.reports_today", "screen.kpi.open", "screen.kpi.closed_today",
		"screen.kpi.on_time", "screen.kpi.satisfaction", "screen.kpi.handling", "screen.kpi.supervised", "screen.kpi.overdue",
		"screen.unit.cases", "screen.unit.hours", "screen.metric.open", "screen.metric.overdue", "screen.metric.satisfaction",
		"screen.map", "screen.trend", "screen.trend.reports", "screen.trend.closed", "screen.categories", "screen.sources",
		"screen.hotspots", "screen.overdue", "screen.feed", "screen.live", "screen.offline", "screen.none", "screen.window",
		"screen.overdue_for", "screen.days", "screen.hours", "screen.no_rating", "screen.back", "screen.open_n", "screen.rated_n",
		"screen.click_hint", "screen.leaf_hint"}
}

// screenPrefixes are the catalogue families the script names things with.
func screenPrefixes() []string {
	return []string{"status.", "action.", "source.", "sla.", "level.", "screen.alarms", "screen.alarm.", "screen.bench"}
}

type screenPage struct {
	Lang     i18n.Lang
	Title    string
	Region   nodeJSON
	Path     []nodeJSON
	Messages map[string]string
	User     string
	Version  string
}

// pageScreen is the command-centre big screen (一屏观天下) of a region
// node: /screen goes to the viewer's own node, /screen/{region} shows a
// node in the viewer's data scope (404 outside it). The page is a shell;
// its script reads the stats API and the event stream.
func (s *statsHandlers) pageScreen(w http.ResponseWriter, r *http.Request) error {
	ctx, lang, sc := r.Context(), langOf(r), scopeOf(r)
	code := r.PathValue("region")
	n, err := s.Stats.Resolve(ctx, sc, code)
	if err != nil {
		return err
	}
	if code == "" {
		http.Redirect(w, r, "/screen/"+n.Code, http.StatusSeeOther)
		return nil
	}
	crumbs, err := s.Stats.Breadcrumb(ctx, sc, n)
	if err != nil {
		return err
	}
	p := screenPage{Lang: lang, Title: s.Catalog.T(lang, "page.screen.title"), Region: s.nodeJSON(lang, *n), Messages: map[string]string{},
		Version: s.Version}
	for _, c := range crumbs {
		p.Path = append(p.Path, s.nodeJSON(lang, c))
	}
	if u := userOf(r); u != nil {
		p.User = u.DisplayName
		if p.User == "" {
			p.User = u.Username
		}
	}
	for _, k := range screenKeys() {
		p.Messages[k] = s.Catalog.T(lang, k)
	}
	for _, k := range s.Catalog.Keys() {
		for _, pre := range screenPrefixes() {
			if strings.HasPrefix(k, pre) {
				p.Messages[k] = s.Catalog.T(lang, k)
			}
		}
	}
	t, ok := s.tmpl["screen.html"]
	if !ok {
		return errs.E(errs.Internal, "error.internal")
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "screen", p); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(buf.Bytes())
	return err
}
