package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/errs"
	"whistle/internal/policy"
	"whistle/internal/registry"
)

// policyAPI serves eligibility (issue 18): the policies and their
// authoring (department handlers and admins write them), a person's or
// an organisation's eligibility in the registry's scope, the signed-in
// resident's own, and 应享未享 per region node. Package policy decides;
// a subject out of scope is 404.
type policyAPI struct {
	*view
	Engine   *policy.Engine
	Accounts *account.Store
	Clock    interface{ Now() time.Time }
}

func (h *policyAPI) engine() (*policy.Engine, error) {
	if h.Engine == nil {
		return nil, errs.E(errs.Unavailable, "error.unavailable")
	}
	return h.Engine, nil
}

// mayAuthor reports whether the caller writes policies: department
// handlers (the responsible departments) and admins.
func mayAuthor(u *account.User) error {
	if u != nil && (u.Has(account.DepartmentHandler) || u.Has(account.Admin)) {
		return nil
	}
	return errs.E(errs.Forbidden, "error.forbidden")
}

// dateParam reads ?date=YYYY-MM-DD, today (in China) by default.
func (h *policyAPI) dateParam(r *http.Request) (time.Time, error) {
	v := strings.TrimSpace(r.URL.Query().Get("date"))
	if v == "" {
		now := h.Clock.Now().In(time.FixedZone("CST", 8*3600))
		return time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC), nil
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, errs.E(errs.Invalid, "error.invalid").Field("date", "policy.err.date")
	}
	return d, nil
}

// eligibility is the answer of an eligibility route: one entry per
// policy, and the missing facts ranked as the next questions.
type eligibility struct {
	Date      string            `json:"date"`
	Results   []policy.Result   `json:"results"`
	Questions []policy.Question `json:"questions"`
}

func (h *policyAPI) answer(w http.ResponseWriter, date time.Time, rs []policy.Result) {
	writeJSON(w, http.StatusOK, eligibility{Date: date.Format(time.DateOnly), Results: rs, Questions: policy.Questions(rs)})
}

func (h *policyAPI) evaluate(kind string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		en, err := h.engine()
		if err != nil {
			return err
		}
		id, err := pathID(r)
		if err != nil {
			return err
		}
		date, err := h.dateParam(r)
		if err != nil {
			return err
		}
		rs, err := en.Evaluate(r.Context(), registry.ScopeOf(userOf(r)), policy.Subject{Kind: kind, ID: id}, date)
		if err != nil {
			return err
		}
		// A person's facts (income, disability, 低保 …) are personal data:
		// masked unless the caller reveals them (?unmask=1, audited).
		if kind == policy.KindPerson {
			clear := false
			if r.URL.Query().Get("unmask") == "1" && h.Accounts != nil {
				if clear, err = h.Accounts.Reveal(r.Context(), userOf(r), actorOf(r), "person:"+strconv.FormatInt(id, 10)+"/eligibility", "facts"); err != nil {
					return err
				}
			}
			if !clear {
				policy.Mask(rs)
			}
		}
		h.answer(w, date, rs)
		return nil
	}
}

func (h *policyAPI) apiMe(w http.ResponseWriter, r *http.Request) error {
	en, err := h.engine()
	if err != nil {
		return err
	}
	date, err := h.dateParam(r)
	if err != nil {
		return err
	}
	rs, err := en.EvaluateResident(r.Context(), userOf(r), date)
	if err != nil {
		return err
	}
	h.answer(w, date, rs)
	return nil
}

func (h *policyAPI) apiUnclaimed(w http.ResponseWriter, r *http.Request) error {
	en, err := h.engine()
	if err != nil {
		return err
	}
	region, limit, err := unclaimedQuery(r)
	if err != nil {
		return err
	}
	us, err := en.Unclaimed(r.Context(), registry.ScopeOf(userOf(r)), region, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"unclaimed": us})
	return nil
}

// unclaimedQuery is the 应享未享 list's ?region= (required) and ?limit=
// (default 100).
func unclaimedQuery(r *http.Request) (string, int, error) {
	limit, err := queryInt(r, "limit", 100)
	if err != nil {
		return "", 0, err
	}
	region := strings.TrimSpace(r.URL.Query().Get("region"))
	if region == "" {
		return "", 0, errs.E(errs.Invalid, "error.invalid").Field("region", "field.required")
	}
	return region, limit, nil
}

// apiNotices queues the proactive notices (主动告知) of the region's
// 应享未享 list: 200 with how many were queued, told before, and have no
// phone on record.
func (h *policyAPI) apiNotices(w http.ResponseWriter, r *http.Request) error {
	en, err := h.engine()
	if err != nil {
		return err
	}
	region, limit, err := unclaimedQuery(r)
	if err != nil {
		return err
	}
	rep, err := en.QueueNotices(r.Context(), registry.ScopeOf(userOf(r)), actorOf(r), region, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

func (h *policyAPI) apiPolicies(w http.ResponseWriter, r *http.Request) error {
	en, err := h.engine()
	if err != nil {
		return err
	}
	kind := r.URL.Query().Get("kind")
	if kind != "" && kind != policy.Resident && kind != policy.Enterprise {
		return errs.E(errs.Invalid, "error.invalid").Field("kind", "policy.err.kind")
	}
	ps, err := en.Policies(r.Context(), kind)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"policies": ps})
	return nil
}

func (h *policyAPI) apiPolicy(w http.ResponseWriter, r *http.Request) error {
	en, err := h.engine()
	if err != nil {
		return err
	}
	p, err := en.Policy(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (h *policyAPI) apiFields(w http.ResponseWriter, r *http.Request) error {
	t := r.URL.Query().Get("target")
	switch t {
	case "":
		t = policy.KindPerson
	case policy.KindPerson, policy.KindHousehold, policy.KindOrganisation:
	default:
		return errs.E(errs.Invalid, "error.invalid").Field("target", "policy.err.kind")
	}
	writeJSON(w, http.StatusOK, map[string]any{"fields": policy.FieldsOf(t)})
	return nil
}

// decodeDraft reads a policy draft.
func decodeDraft(r *http.Request) (policy.Draft, error) {
	var d policy.Draft
	return d, decodeJSON(r, &d)
}

func (h *policyAPI) apiSave(w http.ResponseWriter, r *http.Request) error {
	en, err := h.engine()
	if err != nil {
		return err
	}
	if err := mayAuthor(userOf(r)); err != nil {
		return err
	}
	d, err := decodeDraft(r)
	if err != nil {
		return err
	}
	v, err := en.Save(r.Context(), actorOf(r), d)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (h *policyAPI) apiValidate(w http.ResponseWriter, r *http.Request) error {
	en, err := h.engine()
	if err != nil {
		return err
	}
	if err := mayAuthor(userOf(r)); err != nil {
		return err
	}
	d, err := decodeDraft(r)
	if err != nil {
		return err
	}
	ps := en.Validate(d)
	if ps == nil {
		ps = policy.Problems{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"valid": len(ps) == 0, "problems": ps})
	return nil
}

// policyTest is the body of a test run: a draft, samples and the date.
type policyTest struct {
	Draft   policy.Draft    `json:"draft"`
	Samples []policy.Sample `json:"samples"`
	Date    string          `json:"date"`
}

func decodePolicyTest(r *http.Request) (policyTest, time.Time, error) {
	var in policyTest
	if err := decodeJSON(r, &in); err != nil {
		return in, time.Time{}, err
	}
	if in.Date == "" {
		return in, time.Time{}, nil
	}
	d, err := time.Parse(time.DateOnly, in.Date)
	if err != nil {
		return in, time.Time{}, errs.E(errs.Invalid, "error.invalid").Field("date", "policy.err.date")
	}
	return in, d, nil
}

func (h *policyAPI) apiTest(w http.ResponseWriter, r *http.Request) error {
	en, err := h.engine()
	if err != nil {
		return err
	}
	if err := mayAuthor(userOf(r)); err != nil {
		return err
	}
	in, date, err := decodePolicyTest(r)
	if err != nil {
		return err
	}
	if date.IsZero() {
		if date, err = h.dateParam(r); err != nil {
			return err
		}
	}
	rs, err := en.Test(r.Context(), registry.ScopeOf(userOf(r)), in.Draft, in.Samples, date)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": rs})
	return nil
}

// policyPublish is the body of a publication.
type policyPublish struct {
	Version   int    `json:"version"`
	Effective string `json:"effective"` // YYYY-MM-DD
}

func decodePublish(r *http.Request) (policyPublish, time.Time, error) {
	var in policyPublish
	if err := decodeJSON(r, &in); err != nil {
		return in, time.Time{}, err
	}
	d, err := time.Parse(time.DateOnly, in.Effective)
	if err != nil {
		return in, time.Time{}, errs.E(errs.Invalid, "error.invalid").Field("effective", "policy.err.effective")
	}
	if in.Version <= 0 {
		return in, time.Time{}, errs.E(errs.Invalid, "error.invalid").Field("version", "field.number")
	}
	return in, d, nil
}

func (h *policyAPI) apiPublish(w http.ResponseWriter, r *http.Request) error {
	en, err := h.engine()
	if err != nil {
		return err
	}
	if err := mayAuthor(userOf(r)); err != nil {
		return err
	}
	in, eff, err := decodePublish(r)
	if err != nil {
		return err
	}
	if err := en.Publish(r.Context(), actorOf(r), r.PathValue("id"), in.Version, eff); err != nil {
		return err
	}
	p, err := en.Policy(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (h *policyAPI) apiDiff(w http.ResponseWriter, r *http.Request) error {
	en, err := h.engine()
	if err != nil {
		return err
	}
	p, err := en.Policy(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	version := func(name string) (*policy.Version, error) {
		n, err := strconv.Atoi(r.URL.Query().Get(name))
		if err == nil {
			for i := range p.Versions {
				if p.Versions[i].Version == n {
					return &p.Versions[i], nil
				}
			}
		}
		return nil, errs.E(errs.Invalid, "error.invalid").Field(name, "policy.err.version")
	}
	a, err := version("from")
	if err != nil {
		return err
	}
	b, err := version("to")
	if err != nil {
		return err
	}
	ch := policy.Diff(*a, *b)
	if ch == nil {
		ch = []policy.Change{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"from": a.Version, "to": b.Version, "changes": ch})
	return nil
}

// apiRecordFacts records missing facts of a person (the questions
// eligibility asks) for staff in the registry's scope, and answers the
// person's eligibility with them. Package policy validates each field
// against its catalogue and writes through the registry, whose change
// feed re-checks the stored results of the policies reading them.
func (h *policyAPI) apiRecordFacts(w http.ResponseWriter, r *http.Request) error {
	en, err := h.engine()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in policy.FactsInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	sc := registry.ScopeOf(userOf(r))
	if err := en.RecordFacts(r.Context(), sc, actorOf(r), id, in); err != nil {
		return err
	}
	date, err := h.dateParam(r)
	if err != nil {
		return err
	}
	rs, err := en.Evaluate(r.Context(), sc, policy.Subject{Kind: policy.KindPerson, ID: id}, date)
	if err != nil {
		return err
	}
	policy.Mask(rs)
	h.answer(w, date, rs)
	return nil
}
