package web

import (
	"maps"
	"net/http"
	"slices"
	"strconv"

	"whistle/internal/casework"
	"whistle/internal/errs"
	"whistle/internal/sla"
	"whistle/internal/sla/calendar"
)

type limitRow struct {
	L        sla.TimeLimit
	Workflow string
	Stage    string
	Region   string
}

type slaPage struct {
	Limits []limitRow
	Year   int
	// Years are the years with a schedule and those with a provisional
	// calendar, which ProvisionalYears also lists.
	Years            []int
	ProvisionalYears map[int]bool
	Covered          bool
	// Provisional says Days are the generated statutory holidays of a year
	// without a schedule, each marked 暂定 on the page.
	Provisional bool
	WorkHours   string
	Days        []calendar.Day
	Stages      []option
}

// pageAdminSLA shows the time-limit rules and the working calendar; the
// forms write through the JSON API (/api/v1/time-limits, /api/v1/calendar).
func (s *slaHandlers) pageAdminSLA(w http.ResponseWriter, r *http.Request) error {
	if s.SLA == nil {
		return errs.E(errs.Unavailable, "error.unavailable")
	}
	ctx := r.Context()
	lang := langOf(r)
	ls, err := s.SLA.TimeLimits(ctx)
	if err != nil {
		return err
	}
	d := &slaPage{}
	for _, l := range ls {
		row := limitRow{L: l, Workflow: s.Catalog.T(lang, "category.workflow."+l.Workflow), Stage: s.Catalog.T(lang, "sla.stage."+l.Stage), Region: l.RegionCode}
		if l.RegionCode != "" {
			if n, err := s.Regions.Get(ctx, l.RegionCode); err == nil {
				row.Region = n.Name
			}
		}
		d.Limits = append(d.Limits, row)
	}
	// The stages are those the active workflow versions declare.
	seen := map[string]bool{}
	for _, name := range slices.Sorted(maps.Keys(casework.Workflows())) {
		wf, ok := s.Cases.Workflow(ctx, name)
		if !ok {
			continue
		}
		for _, st := range wf.Def.Stages {
			if !seen[st.Name] {
				seen[st.Name] = true
				d.Stages = append(d.Stages, option{Value: st.Name, Label: s.Catalog.T(lang, "sla.stage."+st.Name)})
			}
		}
	}
	cal := s.SLA.Calendar()
	d.Year = s.Clock.Now().In(cal.Location()).Year()
	if y, err := strconv.Atoi(r.URL.Query().Get("year")); err == nil && y > 1900 && y < 3000 {
		d.Year = y
	}
	d.Covered, d.Days, d.Provisional = cal.Covers(d.Year), cal.Days(d.Year), cal.IsProvisional(d.Year)
	d.Years, d.ProvisionalYears = cal.Years(), map[int]bool{}
	for _, y := range cal.ProvisionalYears() {
		d.Years = append(d.Years, y)
		d.ProvisionalYears[y] = true
	}
	slices.Sort(d.Years)
	d.WorkHours = cal.WorkHours().String()
	return s.render(w, r, http.StatusOK, "admin_sla.html", s.newPage(r, "admin.sla", d))
}
