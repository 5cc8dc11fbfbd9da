package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"whistle/internal/dispute"
	"whistle/internal/errs"
	"whistle/internal/region"
)

// The create forms of the list pages: a dispute (登记) with its parties,
// a hazard with its place. A refused form is the list again with each
// error next to its field; the service writes nothing then.

// partyRows is how many party rows the dispute form offers; blank rows
// are skipped.
const partyRows = 3

// newItemForm builds the create form of kind ("dispute" or "hazard") for
// the caller, with fs's values and errors when it was refused.
func (s *disputeHandlers) newItemForm(r *http.Request, kind string, fs *formState) *itemActionForm {
	u := userOf(r)
	if !dispute.CanWork(u) {
		return nil
	}
	lang := s.lang(r)
	title := "dispute2.new_dispute"
	if kind == dispute.KindHazard {
		title = "dispute2.new_hazard"
	}
	f := &itemActionForm{Action: kind, Label: s.Catalog.T(lang, title)}
	in := func(name, labelKey, kind string, required bool, opts ...option) formInput {
		i := formInput{ID: "new-" + strings.ReplaceAll(name, ".", "-"), Name: name, Label: s.Catalog.T(lang, labelKey), Kind: kind, Required: required, Options: opts}
		if fs != nil {
			i.Value, i.Err = fs.Get(name), fs.Err(name)
		} else if name == "region" && u.Region.Level == region.Grid {
			i.Value = u.Region.Code
		}
		return i
	}
	choices := func(prefix string, codes []string) []option {
		out := make([]option, 0, len(codes))
		for _, c := range codes {
			out = append(out, option{Value: c, Label: s.Catalog.T(lang, prefix+c)})
		}
		return out
	}
	types := choices("dispute.type.", dispute.Types())
	if kind == dispute.KindHazard {
		types = choices("hazard.type.", dispute.HazardTypes())
	}
	f.Inputs = append(f.Inputs, in("type", "dispute2.field.type", "select", true, types...), in("title", "dispute2.field.title", "text", true),
		in("region", "dispute2.field.region", "text", true))
	if kind == dispute.KindHazard {
		f.Inputs = append(f.Inputs, in("place", "dispute2.field.place", "text", false), in("org_id", "dispute2.field.org_id", "number", false),
			in("house_id", "dispute2.field.house_id", "number", false), in("deadline", "dispute.field.deadline", "datetime-local", false))
	} else {
		roles := choices("dispute.role.", dispute.PartyRoles())
		for i := range partyRows {
			p := "parties." + strconv.Itoa(i) + "."
			n := s.Catalog.T(lang, "dispute2.party_n", i+1) + " · "
			for _, c := range []formInput{in(p+"role", "dispute2.field.role", "select", i == 0, roles...), in(p+"name", "dispute2.field.name", "text", i == 0),
				in(p+"id_number", "dispute.field.id_number", "text", false), in(p+"phone", "dispute2.field.phone", "tel", false)} {
				c.Label = n + c.Label
				if i == 0 && strings.HasSuffix(c.Name, ".name") && c.Err == "" && fs != nil {
					c.Err = fs.Err("parties") // no party at all
				}
				f.Inputs = append(f.Inputs, c)
			}
		}
	}
	f.Inputs = append(f.Inputs, in("description", "dispute2.field.description", "textarea", false))
	return f
}

// formDispute reads the dispute form; kept maps the service's party index
// to the form's row (blank rows are skipped).
func formDispute(v url.Values) (dispute.NewDispute, []int) {
	nd := dispute.NewDispute{Region: strings.TrimSpace(v.Get("region")), Type: v.Get("type"), Title: v.Get("title"), Description: v.Get("description")}
	var kept []int
	for i := range partyRows {
		p := "parties." + strconv.Itoa(i) + "."
		np := dispute.NewParty{Role: v.Get(p + "role"), Name: v.Get(p + "name"), IDNumber: v.Get(p + "id_number"), Phone: v.Get(p + "phone")}
		if strings.TrimSpace(np.Name+np.IDNumber+np.Phone) == "" {
			continue // a blank row (its role alone says nothing)
		}
		nd.Parties = append(nd.Parties, np)
		kept = append(kept, i)
	}
	return nd, kept
}

// renumberParties moves the errors of the service's party i to the
// form's row kept[i].
func renumberParties(fields map[string]string, kept []int) {
	moved := map[string]string{}
	for k, msg := range fields {
		rest, ok := strings.CutPrefix(k, "parties.")
		if !ok {
			continue
		}
		idx, field, ok := strings.Cut(rest, ".")
		n, err := strconv.Atoi(idx)
		if !ok || err != nil || n < 0 || n >= len(kept) {
			continue
		}
		delete(fields, k)
		moved["parties."+strconv.Itoa(kept[n])+"."+field] = msg
	}
	for k, msg := range moved {
		fields[k] = msg
	}
}

// formHazard reads the hazard form, naming the ids that are not numbers.
func formHazard(v url.Values) (dispute.NewHazard, error) {
	nh := dispute.NewHazard{Region: strings.TrimSpace(v.Get("region")), Type: v.Get("type"), Title: v.Get("title"), Description: v.Get("description"),
		Place: v.Get("place")}
	bad := errs.E(errs.Invalid, "error.invalid")
	for name, dst := range map[string]*int64{"org_id": &nh.OrgID, "house_id": &nh.HouseID} {
		if s := strings.TrimSpace(v.Get(name)); s != "" {
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil || n <= 0 {
				bad.Field(name, "field.number")
			}
			*dst = n
		}
	}
	if v := strings.TrimSpace(v.Get("deadline")); v != "" {
		t, ok := localTime(v)
		if !ok {
			bad.Field("deadline", "field.date")
		}
		nh.Deadline = t
	}
	if len(bad.Fields) > 0 {
		return nh, bad
	}
	return nh, nil
}

// pageCreate registers a dispute or a hazard from its list page's form:
// on success to the new item's page (303), else the list again with the
// form's errors (nothing written).
func (s *disputeHandlers) pageCreate(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		svc, err := s.svc()
		if err != nil {
			return err
		}
		if err := r.ParseForm(); err != nil {
			return formErr(err)
		}
		var id int64
		var kept []int
		if kind == dispute.KindHazard {
			var nh dispute.NewHazard
			if nh, err = formHazard(r.PostForm); err == nil {
				var h *dispute.Hazard
				if h, err = svc.CreateHazard(r.Context(), disputeCaller(r), nh); err == nil {
					id = h.ID
				}
			}
		} else {
			var nd dispute.NewDispute
			nd, kept = formDispute(r.PostForm)
			var d *dispute.Dispute
			if d, err = svc.CreateDispute(r.Context(), disputeCaller(r), nd); err == nil {
				id = d.ID
			}
		}
		return s.submitted(w, r, err, "/"+kind+"s/"+strconv.FormatInt(id, 10), func(status int, fs *formState) error {
			renumberParties(fs.Fields, kept)
			return s.listOf(kind)(w, r, status, fs)
		})
	}
}

// listOf is kind's list page with its create form in state fs.
func (s *disputeHandlers) listOf(kind string) listFunc {
	if kind == dispute.KindHazard {
		return s.listHazards()
	}
	return s.listDisputes()
}
