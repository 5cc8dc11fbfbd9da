package web

import (
	"net/http"

	"whistle/internal/assess"
	"whistle/internal/errs"
)

// assessPage is the assessment console: the periods with their steps,
// the league of a unit type and, for assessors, the pending appeals.
type assessPage struct {
	Periods  []assess.Period
	Period   *assess.Period
	Type     string
	Types    []string
	League   []assess.Standing
	Appeals  []assess.Appeal
	Assessor bool
}

// pickPeriod is the period named by ?period=, else the newest.
func pickPeriod(ps []assess.Period, code string) *assess.Period {
	for i := range ps {
		if code == "" || ps[i].Code == code {
			return &ps[i]
		}
	}
	return nil
}

// pageAssess is /assessment: staff only (404 for others, as a page the
// caller cannot have).
func (h *assessHandlers) pageAssess(w http.ResponseWriter, r *http.Request) error {
	svc, err := h.svc()
	if err != nil {
		return err
	}
	u := userOf(r)
	if !u.IsStaff() {
		return errs.E(errs.NotFound, "error.not_found")
	}
	ctx, q := r.Context(), r.URL.Query()
	ps, err := svc.Periods(ctx, u)
	if err != nil {
		return err
	}
	d := &assessPage{Periods: ps, Type: q.Get("type"), Types: assess.UnitTypes(), Assessor: assess.IsAssessor(u)}
	if d.Type == "" {
		d.Type = assess.Street
	}
	if d.Period = pickPeriod(ps, q.Get("period")); d.Period != nil {
		if d.League, err = svc.League(ctx, u, d.Type, d.Period.Code); err != nil {
			return err
		}
		if d.Assessor {
			if d.Appeals, err = svc.Appeals(ctx, u, "", d.Period.Code); err != nil {
				return err
			}
		}
	}
	return h.render(w, r, http.StatusOK, "assess.html", h.newPage(r, "assess.title", d))
}

// assessUnitPage is a unit's assessment in a period.
type assessUnitPage struct {
	Report    *unitReport
	Periods   []assess.Period
	MayAppeal bool
	Assessor  bool
}

// pageAssessUnit is /assessment/units/{unit}: the unit's card with the
// signals beside it, its appeals, history and exclusions. Outside the
// caller's scope it is 404.
func (h *assessHandlers) pageAssessUnit(w http.ResponseWriter, r *http.Request) error {
	svc, err := h.svc()
	if err != nil {
		return err
	}
	ctx, u := r.Context(), userOf(r)
	if !u.IsStaff() {
		return errs.E(errs.NotFound, "error.not_found")
	}
	ps, err := svc.Periods(ctx, u)
	if err != nil {
		return err
	}
	p := pickPeriod(ps, r.URL.Query().Get("period"))
	if p == nil {
		return errs.E(errs.NotFound, "assess.err.period", r.URL.Query().Get("period"))
	}
	rep, err := report(svc, ctx, u, r.PathValue("unit"), p.Code)
	if err != nil {
		return err
	}
	d := &assessUnitPage{Report: rep, Periods: ps, Assessor: assess.IsAssessor(u), MayAppeal: p.Status != assess.PeriodOpen && !assess.IsAssessor(u)}
	return h.render(w, r, http.StatusOK, "assess_unit.html", h.newPage(r, "assess.unit.title", d))
}
