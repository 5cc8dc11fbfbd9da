package web

import (
	"cmp"
	"encoding/json"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"whistle/internal/assess"
	"whistle/internal/benchmark"
	"whistle/internal/errs"
	"whistle/internal/i18n"
)

// benchUnitPage is a unit's benchmarking page (对标): its weak points
// with rank ranges and trends, the peers that improved most with their
// practices, and the study-tour plan.
type benchUnitPage struct {
	Unit    string
	Period  string
	Lessons []assess.Lesson
	Plan    *assess.StudyPlan
	// Chart is the weak points' percentiles for the report's chart.
	Chart template.JS
	// Names are the weak points' indicators' names, by key.
	Names map[string]string
	// Code is the unit's code; Print makes the page the printable report.
	Code  string
	Print bool
	// Peers is the peer group chosen with ?group= (level or similar, with
	// ?on= and ?k=), or PeerErrors why a similar group cannot be found;
	// On and K are the form's values, VarNames the variables' names.
	Peers      *benchmark.PeerList
	PeerErrors []string
	Group, On  string
	K          int
	VarNames   map[string]string
}

// benchPeriod is ?period=, which must be a benchmark period.
func benchPeriod(r *http.Request) (string, error) {
	p := r.URL.Query().Get("period")
	if !benchmark.ValidPeriod(p) {
		return "", errs.E(errs.Invalid, "error.invalid").Field("period", "assess.err.period_code")
	}
	return p, nil
}

func (h *assessHandlers) benchUnit(r *http.Request) (*benchUnitPage, error) {
	svc, err := h.svc()
	if err != nil {
		return nil, err
	}
	period, err := benchPeriod(r)
	if err != nil {
		return nil, err
	}
	unit := r.PathValue("unit")
	name, err := h.indicatorNames(r)
	if err != nil {
		return nil, err
	}
	lessons, plan, err := lessonsOf(r.Context(), h.view, svc, r, unit, period, name)
	if err != nil {
		return nil, err
	}
	type bar struct {
		Indicator  string  `json:"indicator"`
		Percentile float64 `json:"percentile"`
	}
	bars := []bar{}
	for _, l := range lessons {
		bars = append(bars, bar{name(l.WeakPoint.Indicator), l.WeakPoint.Percentile})
	}
	b, err := json.Marshal(bars)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, l := range lessons {
		names[l.WeakPoint.Indicator] = name(l.WeakPoint.Indicator)
	}
	d := &benchUnitPage{Unit: plan.Unit.Name, Period: period, Lessons: lessons, Plan: plan, Chart: template.JS(b),
		Code: unit, Names: names}
	if err := h.benchPeers(r, d, name); err != nil {
		return nil, err
	}
	return d, nil
}

// benchPeers fills the page's peer group: ?group=similar finds the
// similar units on ?on= (default benchmark.DefaultContext) and ?k=; a
// similar group that cannot be found (the unit lacks a variable) is
// said on the page rather than failing it.
func (h *assessHandlers) benchPeers(r *http.Request, d *benchUnitPage, name func(string) string) error {
	if h.Benchmark == nil {
		return nil
	}
	q := r.URL.Query()
	d.Group, d.On = "level", q.Get("on")
	if q.Get("group") == "similar" {
		d.Group = "similar"
	}
	k, err := queryInt(r, "k", 0)
	if err != nil {
		return err
	}
	on := benchmark.ParseOn(d.On)
	if len(on) == 0 {
		on = benchmark.DefaultContext
	}
	d.On, d.K = strings.Join(on, ","), cmp.Or(k, benchmark.DefaultK)
	d.VarNames = map[string]string{}
	for _, v := range on {
		d.VarNames[v] = name(v)
	}
	l, err := h.Benchmark.Peers(r.Context(), scopeOf(r), benchmark.PeerQuery{Unit: d.Code, Group: d.Group, Period: d.Period, On: on, K: k})
	if e, ok := errs.As(err); ok && e.Code == errs.Invalid && d.Group == "similar" {
		lang := langOf(r)
		for _, f := range slices.Sorted(maps.Keys(e.Fields)) {
			d.PeerErrors = append(d.PeerErrors, h.Catalog.T(lang, e.Fields[f].Key, e.Fields[f].Args...))
		}
		return nil
	}
	if err != nil {
		return err
	}
	d.Peers = l
	return nil
}

// pageBenchUnit is /benchmarking/units/{unit}?period=.
func (h *assessHandlers) pageBenchUnit(w http.ResponseWriter, r *http.Request) error {
	d, err := h.benchUnit(r)
	if err != nil {
		return err
	}
	return h.render(w, r, http.StatusOK, "bench_unit.html", h.newPage(r, "bench.title", d))
}

// pageBenchReport is the printable report of a unit, with its chart.
func (h *assessHandlers) pageBenchReport(w http.ResponseWriter, r *http.Request) error {
	d, err := h.benchUnit(r)
	if err != nil {
		return err
	}
	d.Print = true
	return h.render(w, r, http.StatusOK, "bench_unit.html", h.newPage(r, "bench.report.title", d))
}

// pageBenchReportXLSX is the unit's report in Excel: one row per weak
// point and peer, and the study-tour plan's questions.
func (h *assessHandlers) pageBenchReportXLSX(w http.ResponseWriter, r *http.Request) error {
	d, err := h.benchUnit(r)
	if err != nil {
		return err
	}
	lang := langOf(r)
	t := func(k string) string { return h.Catalog.T(lang, k) }
	header := []string{t("bench.col.indicator"), t("bench.col.rank"), t("bench.col.range"), t("bench.col.trend"), t("bench.col.peer"),
		t("bench.col.change"), t("bench.col.practices"), t("bench.col.questions")}
	var rows [][]string
	questions := map[string]string{}
	for _, v := range d.Plan.Visits {
		questions[v.Indicator+"|"+v.Unit] = strings.Join(v.Questions, "\n")
	}
	for _, l := range d.Lessons {
		wp := l.WeakPoint
		base := []string{d.Names[wp.Indicator], fmt.Sprintf("%d/%d", wp.Rank, wp.Peers), fmt.Sprintf("%d–%d", wp.RankRange[0], wp.RankRange[1]), trendWord(h, lang, wp.Trend)}
		if len(l.Peers) == 0 {
			rows = append(rows, append(base, "", "", "", ""))
		}
		for _, p := range l.Peers {
			var titles []string
			for _, pr := range p.Practices {
				titles = append(titles, pr.Title)
			}
			rows = append(rows, append(append([]string{}, base...), p.Improver.Name+" "+p.Improver.Unit, numText(p.Improver.Change),
				strings.Join(titles, "\n"), questions[wp.Indicator+"|"+p.Improver.Unit]))
		}
	}
	name := "benchmark-" + r.PathValue("unit") + "-" + d.Period + ".xlsx"
	return writeXLSX(w, `attachment; filename="`+name+`"`, d.Period, []float64{24, 10, 10, 12, 28, 10, 40, 50}, header, rows)
}

// numText shows a computed figure to six significant digits, without an
// exponent: a change of 94.0 − 86.9 is 7.1, not 7.099999999999994.
func numText(x float64) string {
	r, err := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 6, 64), 64)
	if err != nil {
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// trendWord is a trend in words with its arrow.
func trendWord(h *assessHandlers, lang i18n.Lang, trend string) string {
	if trend == "" {
		return ""
	}
	return trendArrow(trend) + " " + h.Catalog.T(lang, "bench.trend."+trend)
}

// trendArrow is the arrow of a four-state trend.
func trendArrow(trend string) string {
	switch trend {
	case "pulling_away":
		return "↘"
	case "closing_in":
		return "↗"
	case "stable":
		return "→"
	}
	return "～"
}

// benchLeaguePage is the benchmark league of a unit type on an indicator.
type benchLeaguePage struct {
	Type, Indicator, Period string
	Rows                    []assess.BenchStanding
	// Types are the unit types the page switches between.
	Types []string
}

// pageBenchLeague is /benchmarking/league?type=&indicator=&period=: the
// units with their ranks, rank ranges and trend arrows.
func (h *assessHandlers) pageBenchLeague(w http.ResponseWriter, r *http.Request) error {
	svc, err := h.svc()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	period := q.Get("period")
	if period == "" {
		// The navigation's link: the latest published period, else the
		// latest.
		ps, err := svc.Periods(r.Context(), userOf(r))
		if err != nil {
			return err
		}
		for _, p := range ps {
			if period == "" || p.Status == assess.PeriodPublished {
				period = p.Code
			}
			if p.Status == assess.PeriodPublished {
				break
			}
		}
	}
	d := &benchLeaguePage{Type: q.Get("type"), Indicator: q.Get("indicator"), Period: period, Types: []string{assess.Street, assess.Community},
		Rows: []assess.BenchStanding{}}
	if d.Type == "" {
		d.Type = assess.Street
	}
	if d.Indicator == "" {
		d.Indicator = benchmark.Composite
	}
	if period != "" {
		if _, err := benchPeriod(r); err != nil && q.Get("period") != "" {
			return err
		}
		if d.Rows, err = svc.BenchLeague(r.Context(), userOf(r), d.Type, d.Indicator, period); err != nil {
			return err
		}
	}
	return h.render(w, r, http.StatusOK, "bench_league.html", h.newPage(r, "bench.league.title", d))
}

// benchImportPage is the indicator upload page: the files' layouts and
// the indicators already declared.
type benchImportPage struct {
	Columns, DeclColumns []string
	Indicators           []benchmark.Indicator
	MaxMB                int
	EN                   bool
}

// pageIndicatorImport is /benchmarking/import: upload indicator values
// (CSV or .xlsx, the layout of `whistle import indicators`), checked
// first with a dry run that lists each refused row, then imported all or
// nothing (bench_import.js posting to POST /api/v1/indicators/values).
func (h *benchmarkAPI) pageIndicatorImport(w http.ResponseWriter, r *http.Request) error {
	st, err := h.store()
	if err != nil {
		return err
	}
	ins, err := st.Indicators(r.Context())
	if err != nil {
		return err
	}
	d := &benchImportPage{Columns: benchmark.ValueColumns, DeclColumns: benchmark.IndicatorColumns, Indicators: ins, MaxMB: MaxIndicatorUploadBytes >> 20,
		EN: langOf(r) == i18n.EN}
	return h.render(w, r, http.StatusOK, "bench_import.html", h.newPage(r, "bench.upload.title", d))
}
