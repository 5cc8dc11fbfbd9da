package web

import (
	"net/http"

	"whistle/internal/benefit"
	"whistle/internal/errs"
)

// benefitHandlers serve the benefit applications (利民补助, 惠企政策),
// payouts and budgets: their API and their pages.
type benefitHandlers struct {
	*view
	Benefits *benefit.Service
}

func (s *benefitHandlers) svc() (*benefit.Service, error) {
	if s.Benefits == nil {
		return nil, errs.E(errs.Unavailable, "error.unavailable")
	}
	return s.Benefits, nil
}

func benefitCaller(r *http.Request) benefit.Caller { return benefit.CallerOf(userOf(r), actorOf(r).IP) }

// benefitFilter reads status, policy, subject_kind, subject_id, mine,
// limit and offset.
func benefitFilter(r *http.Request) (benefit.Filter, error) {
	q := r.URL.Query()
	f := benefit.Filter{Status: q.Get("status"), Policy: q.Get("policy"), Mine: q.Get("mine") == "1"}
	f.Kind = q.Get("subject_kind")
	var err error
	if f.Limit, err = queryInt(r, "limit", 50); err != nil {
		return f, err
	}
	if f.Offset, err = queryInt(r, "offset", 0); err != nil {
		return f, err
	}
	id, err := queryInt(r, "subject_id", 0)
	f.ID = int64(id)
	return f, err
}

// apiApply is the one-click application: 201 with the application.
func (s *benefitHandlers) apiApply(w http.ResponseWriter, r *http.Request) error {
	return createWith(w, r, s.svc, func(svc *benefit.Service, in benefit.NewApplication) (*benefit.Application, error) {
		return svc.Apply(r.Context(), benefitCaller(r), in)
	})
}

// apiList answers the applications the caller sees as {"applications":
// [...], "total": n}.
func (s *benefitHandlers) apiList(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.svc()
	if err != nil {
		return err
	}
	f, err := benefitFilter(r)
	if err != nil {
		return err
	}
	list, total, err := svc.List(r.Context(), benefitCaller(r), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"applications": list, "total": total})
	return nil
}

// apiGet answers an application with its timeline (the subject's name
// masked unless ?unmask=1 and the caller may unmask: audited).
func (s *benefitHandlers) apiGet(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.svc()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	a, err := svc.Get(r.Context(), benefitCaller(r), id, r.URL.Query().Get("unmask") == "1")
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// apiAct takes the path's action on an application and answers it after.
func (s *benefitHandlers) apiAct(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.svc()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in benefit.Input
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	a, err := svc.Act(r.Context(), benefitCaller(r), id, r.PathValue("action"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// apiPayouts answers the payouts the caller sees as {"payouts": [...],
// "total": n}.
func (s *benefitHandlers) apiPayouts(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.svc()
	if err != nil {
		return err
	}
	f, err := benefitFilter(r)
	if err != nil {
		return err
	}
	list, total, err := svc.Payouts(r.Context(), benefitCaller(r), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"payouts": list, "total": total})
	return nil
}

// budgetInput is a policy's budget ceiling as sent.
type budgetInput struct {
	Ceiling float64 `json:"ceiling"`
}

// apiBudget sets a policy's budget ceiling.
func (s *benefitHandlers) apiBudget(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.svc()
	if err != nil {
		return err
	}
	var in budgetInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	b, err := svc.SetBudget(r.Context(), benefitCaller(r), r.PathValue("policy"), in.Ceiling)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, b)
	return nil
}
