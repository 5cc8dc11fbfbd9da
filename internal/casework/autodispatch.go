package casework

import (
	"context"

	"whistle/internal/category"
	"whistle/internal/db"
)

// Router is the part of a Catalog that automatic dispatch needs: whether a
// category dispatches on acceptance, and where its routing sends a case
// and why. The category store's Catalog (NewCatalog) implements it; a
// Catalog without it never dispatches automatically.
type Router interface {
	// AutoRoute reports whether category code dispatches automatically
	// and, when it does, the routing decision for a case at regionPath.
	AutoRoute(ctx context.Context, code, regionPath string) (r category.Routing, auto bool, err error)
}

// AutoRoute reads the category and routing rules afresh (not from the
// cache): acceptance is rare next to submission, and an admin who switches
// automatic dispatch off expects it off at once.
func (c *storeCatalog) AutoRoute(ctx context.Context, code, regionPath string) (category.Routing, bool, error) {
	cat, err := c.s.Get(ctx, code)
	if err != nil || !cat.AutoDispatch {
		return category.Routing{}, false, err
	}
	r, err := c.s.Explain(ctx, code, regionPath)
	return r, err == nil, err
}

// acceptance reports whether a is the step that accepts a case into the
// dispatch queue: 受理 in 红哨, 立案 in 数字城管.
func acceptance(a Action) bool { return a == ActAccept || a == ActRegister }

// autoRoute decides, before the write, whether taking t on c should also
// dispatch the case automatically, and returns the routing decision or
// nil. It answers nil unless t accepts the case into a state the system may
// dispatch from, the category asks for it, and routing picked a department
// that exists: a case that cannot be dispatched automatically waits in the
// dispatch queue as before, with the routed department preselected.
func (s *Service) autoRoute(ctx context.Context, c *Case, w *Workflow, t Transition) (*category.Routing, error) {
	if !acceptance(t.Action) || t.To == "" {
		return nil, nil
	}
	canDispatch := false
	for _, d := range w.Candidates(ActDispatch, t.To) {
		if containsStr(d.Actors, ActorSystem) {
			canDispatch = true
		}
	}
	router, ok := s.catalog.(Router)
	if !canDispatch || !ok {
		return nil, nil
	}
	r, auto, err := router.AutoRoute(ctx, c.CategoryCode, c.RegionPath)
	if err != nil || !auto || r.Department == "" {
		return nil, err
	}
	var n int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM departments WHERE code = $1`, r.Department).Scan(&n); err != nil {
		return nil, err
	}
	if n == 0 {
		s.logger.Warn("automatic dispatch skipped: the routed department does not exist", "case", c.Number,
			"department", r.Department, "rule", r.Source())
		return nil, nil
	}
	return &r, nil
}

// autoDispatch takes the workflow's dispatch step on case id as the system,
// inside the acceptance's transaction, to the department r chose. The step
// goes through plan and apply like any caller's: the same guards, effects,
// notifications, deadlines, rollups, audit and timeline entry, whose data says it was
// automatic and which rule chose the department.
func (s *Service) autoDispatch(ctx context.Context, tx *db.Tx, id int64, w *Workflow, r *category.Routing) error {
	c, err := s.caseInTx(ctx, tx, id)
	if err != nil {
		return err
	}
	sys := Caller{System: true}
	in := Input{Target: &Target{Department: r.Department}, auto: r}
	t, role, err := s.plan(c, w, ActDispatch, sys, in)
	if err != nil {
		return err
	}
	return s.apply(ctx, tx, sys, c, w, *t, role, in)
}

// autoData records an automatic dispatch's reason in its timeline data.
func autoData(data map[string]any, r *category.Routing) {
	data[DataAutomatic] = true
	data[DataRule] = r.Source()
	if r.Rule != nil {
		data[DataRuleID] = r.Rule.ID
		data[DataRuleCategory] = r.Rule.CategoryCode
		data[DataRuleRegion] = r.Rule.RegionCode
		data[DataRulePriority] = r.Rule.Priority
	} else {
		data[DataDefaultOf] = r.DefaultOf
	}
}
