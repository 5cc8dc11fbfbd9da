package assess

import (
	"context"
	"time"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/errs"
	"whistle/internal/sla"
)

// CaseworkCases reads cases for assessment through casework's API (List,
// Get, Timeline as the system) and the SLA engine's stages; it is the
// production Cases. MaxCases bounds the cases one unit's period reads.
type CaseworkCases struct {
	Cases    *casework.Service
	SLA      *sla.Engine
	Accounts *account.Store
	MaxCases int
}

var system = casework.Caller{System: true}

func fact(c *casework.Case) CaseFact {
	return CaseFact{ID: c.ID, Number: c.Number, StreetCode: c.StreetCode, DeptCode: c.DepartmentCode, RegionPath: c.RegionPath,
		CreatedAt: c.CreatedAt.UTC(), ClosedAt: c.ClosedAt.UTC(), Rating: c.Rating}
}

// Case implements Cases.
func (a CaseworkCases) Case(ctx context.Context, id int64) (CaseFact, error) {
	c, err := a.Cases.Get(ctx, system, id)
	if err != nil {
		return CaseFact{}, err
	}
	return fact(c), nil
}

// CasesOf implements Cases: the unit's cases reported in [from, to), each
// with its timeline (whether each actor is staff) and SLA stages.
func (a CaseworkCases) CasesOf(ctx context.Context, un Unit, from, to time.Time) ([]CaseFact, error) {
	f := casework.Filter{From: from, To: to, Limit: 500}
	if un.Type == Department {
		deps, err := a.Accounts.Departments(ctx)
		if err != nil {
			return nil, err
		}
		for _, d := range deps {
			if d.Code == un.Code {
				f.Department = d.ID
			}
		}
		if f.Department == 0 {
			return nil, errs.E(errs.NotFound, "assess.err.unit", un.Code)
		}
	} else {
		f.Region = un.Code
	}
	max := a.MaxCases
	if max <= 0 {
		max = 5000
	}
	staff := map[int64]bool{}
	isStaff := func(id int64) (bool, error) {
		if id == 0 {
			return false, nil
		}
		if v, ok := staff[id]; ok {
			return v, nil
		}
		u, err := a.Accounts.User(ctx, account.SystemScope(), id)
		if errs.Is(err, errs.NotFound) {
			staff[id] = false
			return false, nil
		}
		if err != nil {
			return false, err
		}
		staff[id] = u.IsStaff()
		return staff[id], nil
	}
	var out []CaseFact
	for len(out) < max {
		page, next, err := a.Cases.List(ctx, system, f)
		if err != nil {
			return nil, err
		}
		for _, c := range page {
			cf := fact(c)
			tl, err := a.Cases.Timeline(ctx, system, c.ID, false)
			if err != nil {
				return nil, err
			}
			for _, e := range tl {
				st, err := isStaff(e.ActorID)
				if err != nil {
					return nil, err
				}
				ef := EventFact{At: e.At.UTC(), Action: string(e.Action), Staff: st}
				if d, ok := e.Data[casework.DataTargetDepartment].(string); ok {
					ef.Dept = d
				}
				cf.Events = append(cf.Events, ef)
			}
			if a.SLA != nil {
				stages, err := a.SLA.Stages(ctx, c.ID)
				if err != nil {
					return nil, err
				}
				for _, s := range stages {
					if !s.Deadline.IsZero() {
						cf.Stages = append(cf.Stages, StageFact{Deadline: s.Deadline.UTC(), EndedAt: s.EndedAt.UTC()})
					}
				}
			}
			out = append(out, cf)
		}
		if next == 0 {
			break
		}
		f.Before = next
	}
	return out, nil
}
