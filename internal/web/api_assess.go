package web

import (
	"context"
	"net/http"
	"strconv"

	"whistle/internal/account"
	"whistle/internal/assess"
	"whistle/internal/benchmark"
	"whistle/internal/errs"
	"whistle/internal/i18n"
)

// assessHandlers serve 考核 and the 经验库 (internal/assess): its JSON API
// and its pages, and the benchmarking pages that join the benchmark
// module's analysis with the practices.
type assessHandlers struct {
	*view
	Assess *assess.Service
	// Benchmark names the indicators on the pages (nil: their keys).
	Benchmark *benchmark.Store
}

// indicatorNames maps the benchmark's indicator keys to their names in
// the request's language; a key without one stands for itself.
func (h *assessHandlers) indicatorNames(r *http.Request) (func(string) string, error) {
	names := map[string]string{}
	if h.Benchmark != nil {
		ins, err := h.Benchmark.Indicators(r.Context())
		if err != nil {
			return nil, err
		}
		en := langOf(r) == i18n.EN
		for _, in := range ins {
			names[in.Key] = in.Name.ZH
			if en {
				names[in.Key] = in.Name.EN
			}
		}
	}
	return func(key string) string {
		if n := names[key]; n != "" {
			return n
		}
		return key
	}, nil
}

func (h *assessHandlers) svc() (*assess.Service, error) {
	if h.Assess == nil {
		return nil, errs.E(errs.Unavailable, "error.unavailable")
	}
	return h.Assess, nil
}

// assessCreate decodes a body of type In, calls create and answers 201
// with what it returns.
func assessCreate[In, T any](h *assessHandlers, create func(*assess.Service, context.Context, *account.User, In) (T, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		return createWith(w, r, h.svc, func(svc *assess.Service, in In) (T, error) {
			return create(svc, r.Context(), userOf(r), in)
		})
	}
}

// assessRead answers GET ?unit=&period= with what read returns.
func assessRead[T any](h *assessHandlers, read func(*assess.Service, context.Context, *account.User, string, string) (T, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		svc, err := h.svc()
		if err != nil {
			return err
		}
		q := r.URL.Query()
		out, err := read(svc, r.Context(), userOf(r), q.Get("unit"), q.Get("period"))
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

func (h *assessHandlers) apiPeriods(w http.ResponseWriter, r *http.Request) error {
	svc, err := h.svc()
	if err != nil {
		return err
	}
	ps, err := svc.Periods(r.Context(), userOf(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"periods": nonNil(ps)})
	return nil
}

// apiPeriodStep computes, freezes or publishes a period.
func (h *assessHandlers) apiPeriodStep(w http.ResponseWriter, r *http.Request) error {
	svc, err := h.svc()
	if err != nil {
		return err
	}
	u, period := userOf(r), r.PathValue("period")
	switch r.PathValue("step") {
	case "compute":
		n, err := svc.Compute(r.Context(), u, period)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"scores": n})
		return nil
	case "freeze":
		p, err := svc.Freeze(r.Context(), u, period)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, p)
		return nil
	case "publish":
		p, err := svc.Publish(r.Context(), u, period)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, p)
		return nil
	}
	return errs.E(errs.NotFound, "error.not_found")
}

func (h *assessHandlers) apiItems(w http.ResponseWriter, r *http.Request) error {
	svc, err := h.svc()
	if err != nil {
		return err
	}
	items, err := svc.Items(r.Context(), userOf(r), r.URL.Query().Get("type"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": nonNil(items)})
	return nil
}

func (h *assessHandlers) apiManualScore(w http.ResponseWriter, r *http.Request) error {
	svc, err := h.svc()
	if err != nil {
		return err
	}
	var in assess.ManualScore
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := svc.SetManual(r.Context(), userOf(r), in); err != nil {
		return err
	}
	card, err := svc.Card(r.Context(), userOf(r), in.Unit, in.Period)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, card)
	return nil
}

func (h *assessHandlers) apiLeague(w http.ResponseWriter, r *http.Request) error {
	svc, err := h.svc()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	l, err := svc.League(r.Context(), userOf(r), q.Get("type"), q.Get("period"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"standings": nonNil(l)})
	return nil
}

// unitReport is everything about a unit's assessment in a period.
type unitReport struct {
	Card       *assess.Card          `json:"card"`
	History    []assess.Change       `json:"history"`
	Appeals    []assess.Appeal       `json:"appeals"`
	Ratings    *assess.RatingSummary `json:"ratings"`
	Rates      *assess.Rates         `json:"rates"`
	Exclusions []assess.Mark         `json:"exclusions"`
	Signals    []assess.Signal       `json:"signals"`
}

// report gathers a unit's assessment in a period; each part applies the
// caller's scope (a unit outside it is NotFound).
func report(svc *assess.Service, ctx context.Context, u *account.User, unit, period string) (_ *unitReport, err error) {
	var rep unitReport
	if rep.Card, err = svc.Card(ctx, u, unit, period); err != nil {
		return nil, err
	}
	if rep.History, err = svc.History(ctx, u, unit, period); err != nil {
		return nil, err
	}
	if rep.Appeals, err = svc.Appeals(ctx, u, unit, period); err != nil {
		return nil, err
	}
	if rep.Ratings, err = svc.Ratings(ctx, u, unit, period); err != nil {
		return nil, err
	}
	if rep.Rates, err = svc.Rates(ctx, u, unit, period); err != nil {
		return nil, err
	}
	if rep.Exclusions, err = svc.Exclusions(ctx, u, unit, period); err != nil {
		return nil, err
	}
	if rep.Signals, err = svc.Signals(ctx, u, unit, period); err != nil {
		return nil, err
	}
	rep.History, rep.Appeals, rep.Exclusions = nonNil(rep.History), nonNil(rep.Appeals), nonNil(rep.Exclusions)
	return &rep, nil
}

func (h *assessHandlers) apiDecide(w http.ResponseWriter, r *http.Request) error {
	svc, err := h.svc()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var d assess.Decision
	if err := decodeJSON(r, &d); err != nil {
		return err
	}
	a, err := svc.DecideAppeal(r.Context(), userOf(r), id, d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// unreasonableIn is a mark's body.
type unreasonableIn struct {
	CaseID int64  `json:"case_id"`
	Reason string `json:"reason"`
}

func (h *assessHandlers) apiMark(w http.ResponseWriter, r *http.Request) error {
	svc, err := h.svc()
	if err != nil {
		return err
	}
	var in unreasonableIn
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if in.CaseID <= 0 {
		return errs.E(errs.Invalid, "error.invalid").Field("case_id", "field.required")
	}
	m, err := svc.MarkUnreasonable(r.Context(), userOf(r), in.CaseID, in.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, m)
	return nil
}

func (h *assessHandlers) apiConfirm(w http.ResponseWriter, r *http.Request) error {
	svc, err := h.svc()
	if err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("case"), 10, 64)
	if err != nil || id <= 0 {
		return errs.E(errs.NotFound, "error.not_found")
	}
	m, err := svc.ConfirmUnreasonable(r.Context(), userOf(r), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, m)
	return nil
}

func (h *assessHandlers) apiPractices(w http.ResponseWriter, r *http.Request) error {
	svc, err := h.svc()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := queryInt(r, "limit", 50)
	if err != nil {
		return err
	}
	ps, err := svc.Practices(r.Context(), userOf(r), assess.PracticeFilter{Indicator: q.Get("indicator"), Unit: q.Get("unit"), Tag: q.Get("tag"), Limit: limit})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"practices": nonNil(ps)})
	return nil
}

// lessonsOf is a unit's lessons and its study-tour plan, questions in the
// request's language.
func lessonsOf(ctx context.Context, v *view, svc *assess.Service, r *http.Request, unit, period string, name func(string) string) ([]assess.Lesson, *assess.StudyPlan, error) {
	u := userOf(r)
	lessons, err := svc.LearnFrom(ctx, u, unit, period)
	if err != nil {
		return nil, nil, err
	}
	lang := langOf(r)
	plan, err := svc.Plan(ctx, u, unit, period, func(indicator, practice string) string {
		if practice == "" {
			return v.Catalog.T(lang, "assess.plan.ask_general", name(indicator))
		}
		return v.Catalog.T(lang, "assess.plan.ask_practice", practice, name(indicator))
	})
	return lessons, plan, err
}

func (h *assessHandlers) apiLearn(w http.ResponseWriter, r *http.Request) error {
	svc, err := h.svc()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	name, err := h.indicatorNames(r)
	if err != nil {
		return err
	}
	lessons, plan, err := lessonsOf(r.Context(), h.view, svc, r, q.Get("unit"), q.Get("period"), name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"lessons": lessons, "plan": plan})
	return nil
}

// nonNil turns a nil slice into an empty one, so that JSON shows [].
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// apiBoard is the big screen's 对标 panel: GET
// /api/v1/assessment/board?region=CODE, the units under the node in the
// latest published period (period null while none is).
func (h *assessHandlers) apiBoard(w http.ResponseWriter, r *http.Request) error {
	svc, err := h.svc()
	if err != nil {
		return err
	}
	b, err := svc.Board(r.Context(), userOf(r), r.URL.Query().Get("region"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}
