package web

import (
	"context"
	"net/http"

	"whistle/internal/dispute"
	"whistle/internal/errs"
	"whistle/internal/workflow"
)

// disputeHandlers serve the disputes (矛盾纠纷调解) and safety hazards
// (安全隐患), their API and their pages. Both kinds have the same API shape,
// so each route's handler is one generic handler given the kind's service
// method.
type disputeHandlers struct {
	*view
	Disputes *dispute.Service
}

func (s *disputeHandlers) svc() (*dispute.Service, error) {
	if s.Disputes == nil {
		return nil, errs.E(errs.Unavailable, "error.unavailable")
	}
	return s.Disputes, nil
}

func disputeCaller(r *http.Request) dispute.Caller {
	return dispute.Caller{User: userOf(r), IP: actorOf(r).IP}
}

// listFilter reads status, type, limit and offset.
func listFilter(r *http.Request) (dispute.Filter, error) {
	q := r.URL.Query()
	limit, err := queryInt(r, "limit", 50)
	if err != nil {
		return dispute.Filter{}, err
	}
	offset, err := queryInt(r, "offset", 0)
	if err != nil {
		return dispute.Filter{}, err
	}
	return dispute.Filter{Status: q.Get("status"), Type: q.Get("type"), Limit: limit, Offset: offset}, nil
}

// apiItems answers a kind's list in the caller's scope as {name: [...],
// "total": n}.
func apiItems[T any](s *disputeHandlers, name string, list func(*dispute.Service, context.Context, dispute.Caller, dispute.Filter) ([]T, int, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		svc, err := s.svc()
		if err != nil {
			return err
		}
		f, err := listFilter(r)
		if err != nil {
			return err
		}
		items, total, err := list(svc, r.Context(), disputeCaller(r), f)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{name: items, "total": total})
		return nil
	}
}

// apiItemCreate decodes a new item and answers 201 with it, committed.
func apiItemCreate[In, T any](s *disputeHandlers, create func(*dispute.Service, context.Context, dispute.Caller, In) (T, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		return createWith(w, r, s.svc, func(svc *dispute.Service, in In) (T, error) {
			return create(svc, r.Context(), disputeCaller(r), in)
		})
	}
}

// apiItem answers an item of the caller's scope with its timeline; get
// reads the item (a dispute's parties masked unless ?unmask=1 and the
// caller may unmask: audited).
func apiItem[T any](s *disputeHandlers, get func(*dispute.Service, *http.Request, dispute.Caller, int64) (T, error),
	timeline func(*dispute.Service, context.Context, dispute.Caller, int64) ([]workflow.Step, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		svc, err := s.svc()
		if err != nil {
			return err
		}
		id, err := pathID(r)
		if err != nil {
			return err
		}
		item, err := get(svc, r, disputeCaller(r), id)
		if err != nil {
			return err
		}
		tl, err := timeline(svc, r.Context(), disputeCaller(r), id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, withTimeline(item, tl))
		return nil
	}
}

// withTimeline merges the item's JSON members with "timeline".
func withTimeline(item any, tl []workflow.Step) any {
	switch v := item.(type) {
	case *dispute.Dispute:
		return struct {
			*dispute.Dispute
			Timeline []workflow.Step `json:"timeline"`
		}{v, tl}
	case *dispute.Hazard:
		return struct {
			*dispute.Hazard
			Timeline []workflow.Step `json:"timeline"`
		}{v, tl}
	}
	return item
}

// decodeAction reads an action's optional JSON body.
func decodeAction(r *http.Request) (dispute.Input, error) {
	var in dispute.Input
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return in, err
		}
	}
	return in, nil
}

// apiItemAction takes the path's action on an item and answers it after.
func apiItemAction[T any](s *disputeHandlers, act func(*dispute.Service, context.Context, dispute.Caller, int64, string, dispute.Input) (T, error)) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		svc, err := s.svc()
		if err != nil {
			return err
		}
		id, err := pathID(r)
		if err != nil {
			return err
		}
		in, err := decodeAction(r)
		if err != nil {
			return err
		}
		out, err := act(svc, r.Context(), disputeCaller(r), id, r.PathValue("action"), in)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, out)
		return nil
	}
}

func getDispute(svc *dispute.Service, r *http.Request, c dispute.Caller, id int64) (*dispute.Dispute, error) {
	return svc.GetDispute(r.Context(), c, id, r.URL.Query().Get("unmask") == "1")
}

func getHazard(svc *dispute.Service, r *http.Request, c dispute.Caller, id int64) (*dispute.Hazard, error) {
	return svc.GetHazard(r.Context(), c, id)
}
