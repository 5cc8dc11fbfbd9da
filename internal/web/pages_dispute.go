package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"whistle/internal/dispute"
	"whistle/internal/errs"
	"whistle/internal/i18n"
	"whistle/internal/workflow"
)

// The pages of the disputes and hazards: a list, a detail page with the
// timeline and a form per action the caller may take (phone-friendly, no
// script), and a dispute's printable agreement.

// itemRow is a row of a list page.
type itemRow struct {
	Href, Title, Type, Status, Region, SLA string
	Updated                                string
}

// itemField is a labelled value of a detail page.
type itemField struct{ Label, Value string }

// stepRow is a timeline entry as shown.
type stepRow struct{ At, Action, Actor, Change, Note string }

// formInput is one input of an action form.
type formInput struct {
	ID, Name, Label, Kind, Value, Err string
	Options                           []option
	Required                          bool
}

// itemActionForm is the form of one action.
type itemActionForm struct {
	Action, Label string
	Inputs        []formInput
}

// itemPage is the list and the detail page of either kind.
type itemPage struct {
	Kind, Heading string
	Rows          []itemRow
	Total         int
	// The detail page.
	ID       int64
	Version  int
	Fields   []itemField
	Parties  []dispute.Party
	Sessions []dispute.Session
	Timeline []stepRow
	Forms    []itemActionForm
	// Create is a list page's create form (nil for a caller who may not).
	Create    *itemActionForm
	Message   string
	Agreement string
}

func (s *disputeHandlers) lang(r *http.Request) i18n.Lang { return langOf(r) }

func label(lang i18n.Lang, l workflow.Label) string {
	if lang == "en" {
		return l.En
	}
	return l.Zh
}

func stateLabel(lang i18n.Lang, def *workflow.Definition, state string) string {
	if st, ok := def.State(state); ok {
		return label(lang, st.Label)
	}
	return state
}

func actionLabel(lang i18n.Lang, def *workflow.Definition, action string) string {
	if l, ok := def.ActionLabels[action]; ok {
		return label(lang, l)
	}
	return action
}

func when(t time.Time) string { return shanghaiTime(t) }

func whenPtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return shanghaiTime(*t)
}

// listFunc renders a list page with status and its create form in state
// fs (nil: a fresh form).
type listFunc func(w http.ResponseWriter, r *http.Request, status int, fs *formState) error

// page is the list as a GET handler.
func (l listFunc) page(w http.ResponseWriter, r *http.Request) error {
	return l(w, r, http.StatusOK, nil)
}

// listPage renders a kind's list in scope: list reads it, row makes a
// row of an item with its workflow's labels (the item's own version).
func listPage[T any](s *disputeHandlers, kind, titleKey string, list func(*dispute.Service, context.Context, dispute.Caller, dispute.Filter) ([]T, int, error),
	version func(T) int, row func(i18n.Lang, *workflow.Definition, T) itemRow) listFunc {
	return func(w http.ResponseWriter, r *http.Request, status int, fs *formState) error {
		svc, err := s.svc()
		if err != nil {
			return err
		}
		f, err := listFilter(r)
		if err != nil {
			return err
		}
		lang := s.lang(r)
		items, total, err := list(svc, r.Context(), disputeCaller(r), f)
		if err != nil {
			return err
		}
		p := &itemPage{Kind: kind + "s", Heading: s.Catalog.T(lang, titleKey), Total: total, Create: s.newItemForm(r, kind, fs)}
		if fs != nil {
			p.Message = fs.Message
		}
		for _, it := range items {
			def, err := svc.Workflow(r.Context(), kind, version(it))
			if err != nil {
				return err
			}
			p.Rows = append(p.Rows, row(lang, def, it))
		}
		return s.render(w, r, status, "items.html", s.newPage(r, titleKey, p))
	}
}

// listDisputes lists the disputes in scope.
func (s *disputeHandlers) listDisputes() listFunc {
	return listPage(s, dispute.KindDispute, "page.disputes", (*dispute.Service).ListDisputes, func(d *dispute.Dispute) int { return d.WorkflowVersion },
		func(lang i18n.Lang, def *workflow.Definition, d *dispute.Dispute) itemRow {
			return itemRow{Href: "/disputes/" + strconv.FormatInt(d.ID, 10), Title: d.Title, Type: s.Catalog.T(lang, "dispute.type."+d.Type),
				Status: stateLabel(lang, def, d.Status), Region: d.RegionCode, SLA: d.SLAState, Updated: when(d.UpdatedAt)}
		})
}

// listHazards lists the hazards in scope.
func (s *disputeHandlers) listHazards() listFunc {
	return listPage(s, dispute.KindHazard, "page.hazards", (*dispute.Service).ListHazards, func(h *dispute.Hazard) int { return h.WorkflowVersion },
		func(lang i18n.Lang, def *workflow.Definition, h *dispute.Hazard) itemRow {
			return itemRow{Href: "/hazards/" + strconv.FormatInt(h.ID, 10), Title: h.Title, Type: s.Catalog.T(lang, "hazard.type."+h.Type),
				Status: stateLabel(lang, def, h.Status), Region: h.RegionCode, SLA: h.SLAState, Updated: when(h.UpdatedAt)}
		})
}

// pageDispute shows a dispute with its parties, sessions, timeline and
// the forms of the actions the caller may take.
func (s *disputeHandlers) pageDispute(w http.ResponseWriter, r *http.Request) error {
	return s.showDispute(w, r, http.StatusOK, "", nil)
}

func (s *disputeHandlers) showDispute(w http.ResponseWriter, r *http.Request, status int, failed string, fs *formState) error {
	svc, err := s.svc()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ctx, c, lang := r.Context(), disputeCaller(r), s.lang(r)
	d, err := svc.GetDispute(ctx, c, id, false)
	if err != nil {
		return err
	}
	def, err := svc.Workflow(ctx, dispute.KindDispute, d.WorkflowVersion)
	if err != nil {
		return err
	}
	tl, err := svc.DisputeTimeline(ctx, c, id)
	if err != nil {
		return err
	}
	acts, err := svc.DisputeActions(ctx, c, d)
	if err != nil {
		return err
	}
	p := &itemPage{Kind: "disputes", Heading: d.Title, ID: d.ID, Version: d.Version, Parties: d.Parties, Sessions: d.Sessions, Agreement: d.Agreement}
	p.Fields = []itemField{{s.Catalog.T(lang, "dispute.col.status"), stateLabel(lang, def, d.Status)}, {s.Catalog.T(lang, "dispute.col.type"), s.Catalog.T(lang, "dispute.type."+d.Type)},
		{s.Catalog.T(lang, "dispute.col.region"), d.RegionCode}, {s.Catalog.T(lang, "dispute.col.due"), whenPtr(d.StageDueAt)},
		{s.Catalog.T(lang, "dispute.col.created"), when(d.CreatedAt)}, {s.Catalog.T(lang, "dispute.col.description"), d.Description}}
	if d.Referral != "" {
		p.Fields = append(p.Fields, itemField{s.Catalog.T(lang, "dispute.col.referral"), s.Catalog.T(lang, "dispute.referral."+d.Referral)})
	}
	p.Timeline = s.timelineRows(lang, def, tl)
	p.Forms = s.forms(lang, def, d.Status, acts, failed, fs)
	if fs != nil {
		p.Message = fs.Message
	}
	return s.render(w, r, status, "item.html", s.newPage(r, "page.disputes", p))
}

// pageHazard shows a hazard with its timeline and action forms.
func (s *disputeHandlers) pageHazard(w http.ResponseWriter, r *http.Request) error {
	return s.showHazard(w, r, http.StatusOK, "", nil)
}

func (s *disputeHandlers) showHazard(w http.ResponseWriter, r *http.Request, status int, failed string, fs *formState) error {
	svc, err := s.svc()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	ctx, c, lang := r.Context(), disputeCaller(r), s.lang(r)
	h, err := svc.GetHazard(ctx, c, id)
	if err != nil {
		return err
	}
	def, err := svc.Workflow(ctx, dispute.KindHazard, h.WorkflowVersion)
	if err != nil {
		return err
	}
	tl, err := svc.HazardTimeline(ctx, c, id)
	if err != nil {
		return err
	}
	acts, err := svc.HazardActions(ctx, c, h)
	if err != nil {
		return err
	}
	p := &itemPage{Kind: "hazards", Heading: h.Title, ID: h.ID, Version: h.Version}
	p.Fields = []itemField{{s.Catalog.T(lang, "dispute.col.status"), stateLabel(lang, def, h.Status)}, {s.Catalog.T(lang, "dispute.col.type"), s.Catalog.T(lang, "hazard.type."+h.Type)},
		{s.Catalog.T(lang, "dispute.col.region"), h.RegionCode}, {s.Catalog.T(lang, "hazard.col.place"), h.Place},
		{s.Catalog.T(lang, "hazard.col.deadline"), whenPtr(h.DeadlineAt)}, {s.Catalog.T(lang, "hazard.col.escalated"), h.EscalatedTo},
		{s.Catalog.T(lang, "dispute.col.created"), when(h.CreatedAt)}, {s.Catalog.T(lang, "dispute.col.description"), h.Description}}
	p.Timeline = s.timelineRows(lang, def, tl)
	p.Forms = s.forms(lang, def, h.Status, acts, failed, fs)
	if fs != nil {
		p.Message = fs.Message
	}
	return s.render(w, r, status, "item.html", s.newPage(r, "page.hazards", p))
}

func (s *disputeHandlers) timelineRows(lang i18n.Lang, def *workflow.Definition, tl []workflow.Step) []stepRow {
	out := make([]stepRow, 0, len(tl))
	for _, st := range tl {
		change := stateLabel(lang, def, st.To)
		if st.From != "" && st.From != st.To {
			change = stateLabel(lang, def, st.From) + " → " + change
		}
		name := actionLabel(lang, def, st.Action)
		if st.Action == "register" || strings.HasPrefix(st.Action, "sla_") {
			name = s.Catalog.T(lang, "dispute.step."+st.Action)
		}
		out = append(out, stepRow{At: when(st.At), Action: name, Actor: st.ActorName, Change: change, Note: st.Note})
	}
	return out
}

// forms builds a form per action, with the inputs its candidates from
// status require or accept; failed names the action whose submission fs
// holds (its values and field errors).
func (s *disputeHandlers) forms(lang i18n.Lang, def *workflow.Definition, status string, acts []string, failed string, fs *formState) []itemActionForm {
	var out []itemActionForm
	for _, a := range acts {
		f := itemActionForm{Action: a, Label: actionLabel(lang, def, a)}
		seen := map[string]bool{}
		for _, cand := range def.Candidates(a, status) {
			for i, names := range [][]string{cand.Requires, cand.Optional} {
				for _, n := range names {
					if seen[n] {
						continue
					}
					seen[n] = true
					in := s.input(lang, n, i == 0)
					in.ID = a + "-" + n
					if a == failed && fs != nil {
						in.Value, in.Err = fs.Get(n), fs.Err(n)
					}
					f.Inputs = append(f.Inputs, in)
				}
			}
		}
		out = append(out, f)
	}
	return out
}

// input is the form input of an action field.
func (s *disputeHandlers) input(lang i18n.Lang, name string, required bool) formInput {
	in := formInput{ID: name, Name: name, Label: s.Catalog.T(lang, "dispute.field."+name), Kind: "text", Required: required}
	opts := func(prefix string, codes []string) {
		in.Kind = "select"
		for _, c := range codes {
			in.Options = append(in.Options, option{Value: c, Label: s.Catalog.T(lang, prefix+c)})
		}
	}
	switch name {
	case "note", "notes", "agreement":
		in.Kind = "textarea"
	case "held_at", "deadline":
		in.Kind = "datetime-local"
	case "referral":
		opts("dispute.referral.", dispute.Referrals())
	case "result":
		opts("dispute.result.", dispute.Results())
	case "passed":
		opts("dispute.passed.", []string{"1", "0"})
	}
	return in
}

// localTime reads a datetime-local value in the district's time (UTC+8).
func localTime(v string) (*time.Time, bool) {
	t, err := time.ParseInLocation("2006-01-02T15:04", strings.TrimSpace(v), time.FixedZone("CST", 8*3600))
	if err != nil {
		return nil, false
	}
	return &t, true
}

// formAction reads an action form into an Input, naming the fields that
// do not parse.
func formAction(f url.Values) (dispute.Input, error) {
	in := dispute.Input{Note: f.Get("note"), Participants: f.Get("participants"), Notes: f.Get("notes"), Agreement: f.Get("agreement"),
		Referral: f.Get("referral"), Result: f.Get("result")}
	bad := errs.E(errs.Invalid, "error.invalid")
	if v := f.Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			bad.Field("version", "field.number")
		}
		in.Version = n
	}
	for _, name := range []string{"held_at", "deadline"} {
		if v := f.Get(name); v != "" {
			t, ok := localTime(v)
			if !ok {
				bad.Field(name, "field.date")
			}
			if name == "held_at" {
				in.HeldAt = t
			} else {
				in.Deadline = t
			}
		}
	}
	switch f.Get("passed") {
	case "":
	case "1", "0":
		p := f.Get("passed") == "1"
		in.Passed = &p
	default:
		bad.Field("passed", "error.invalid")
	}
	if len(bad.Fields) > 0 {
		return in, bad
	}
	return in, nil
}

// pageItemAction takes an action from a detail page's form: on success
// back to the page (303), else the page again with the form's errors.
func (s *disputeHandlers) pageItemAction(hazard bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		svc, err := s.svc()
		if err != nil {
			return err
		}
		id, err := pathID(r)
		if err != nil {
			return err
		}
		if err := r.ParseForm(); err != nil {
			return formErr(err)
		}
		action := r.PathValue("action")
		in, err := formAction(r.PostForm)
		if err == nil {
			if hazard {
				_, err = svc.ActHazard(r.Context(), disputeCaller(r), id, action, in)
			} else {
				_, err = svc.ActDispute(r.Context(), disputeCaller(r), id, action, in)
			}
		}
		kind := "/disputes/"
		if hazard {
			kind = "/hazards/"
		}
		return s.submitted(w, r, err, kind+strconv.FormatInt(id, 10), func(status int, fs *formState) error {
			if hazard {
				return s.showHazard(w, r, status, action, fs)
			}
			return s.showDispute(w, r, status, action, fs)
		})
	}
}

// submitted ends a form's POST: on success (err nil) to loc (303); out of
// scope the error (404); else again shows the form with its errors.
func (s *disputeHandlers) submitted(w http.ResponseWriter, r *http.Request, err error, loc string, again func(int, *formState) error) error {
	if err == nil {
		return s.redirect(w, r, loc)
	}
	if errs.Is(err, errs.NotFound) {
		return err
	}
	fs := &formState{Values: r.PostForm}
	status, err := s.failForm(r, fs, err)
	if err != nil {
		return err
	}
	return again(status, fs)
}

// pageAgreement is a dispute's agreement (调解协议书) as a printable page;
// a dispute without one is NotFound.
func (s *disputeHandlers) pageAgreement(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.svc()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	d, err := svc.GetDispute(r.Context(), disputeCaller(r), id, false)
	if err != nil {
		return err
	}
	if d.Agreement == "" {
		return errs.E(errs.NotFound, "dispute.no_agreement")
	}
	p := &itemPage{Kind: "disputes", Heading: d.Title, ID: d.ID, Parties: d.Parties, Sessions: d.Sessions, Agreement: d.Agreement}
	lang := s.lang(r)
	p.Fields = []itemField{{s.Catalog.T(lang, "dispute.col.type"), s.Catalog.T(lang, "dispute.type."+d.Type)}, {s.Catalog.T(lang, "dispute.col.region"), d.RegionCode},
		{s.Catalog.T(lang, "dispute.col.agreed"), whenPtr(d.AgreedAt)}}
	return s.render(w, r, http.StatusOK, "agreement.html", s.newPage(r, "page.agreement", p))
}
