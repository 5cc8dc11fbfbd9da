package assess

import (
	"context"
	"sort"
	"time"

	"whistle/internal/account"
	"whistle/internal/errs"
)

// The anti-gaming signals (issue 19, Build 6).
const (
	// SigNearBreach: many stages ended minutes before their deadline
	// within a short window (closed in bulk to beat the clock).
	SigNearBreach = "near_breach_bulk"
	// SigStaffRatings: cases rated by staff accounts, not by reporters.
	SigStaffRatings = "staff_ratings"
	// SigClockReset: cases returned and dispatched again to the same
	// department, which restarts its time limit.
	SigClockReset = "clock_reset"
	// SigUnreasonableRise: a sudden rise of unreasonable marks against the
	// period before.
	SigUnreasonableRise = "unreasonable_rise"
)

// SignalRules are the thresholds of the signals.
type SignalRules struct {
	// NearBreach is how close to the deadline an ending counts.
	NearBreach time.Duration
	// BulkWindow and BulkCount: at least BulkCount near-breach endings
	// within BulkWindow make a bulk.
	BulkWindow time.Duration
	BulkCount  int
	// RiseMin and RiseFactor: at least RiseMin marks, and at least
	// RiseFactor times those of the period before.
	RiseMin    int
	RiseFactor float64
}

// DefaultRules are the thresholds used unless configured.
var DefaultRules = SignalRules{NearBreach: 30 * time.Minute, BulkWindow: time.Hour, BulkCount: 3, RiseMin: 3, RiseFactor: 2}

// Signal is one flagged pattern, with the cases behind it.
type Signal struct {
	Kind    string  `json:"kind"`
	Count   int     `json:"count"`
	Flagged bool    `json:"flagged"`
	Cases   []int64 `json:"cases"`
	// Before is the previous period's count (unreasonable_rise only).
	Before int `json:"before,omitempty"`
}

// Detect finds the case signals in a unit's cases.
func Detect(cases []CaseFact, r SignalRules) []Signal {
	return []Signal{nearBreach(cases, r), staffRatings(cases), clockResets(cases)}
}

func nearBreach(cases []CaseFact, r SignalRules) Signal {
	type end struct {
		at time.Time
		id int64
	}
	var ends []end
	for _, c := range cases {
		for _, st := range c.Stages {
			if st.EndedAt.IsZero() || st.EndedAt.After(st.Deadline) {
				continue
			}
			if st.Deadline.Sub(st.EndedAt) <= r.NearBreach {
				ends = append(ends, end{st.EndedAt, c.ID})
			}
		}
	}
	sort.Slice(ends, func(i, j int) bool { return ends[i].at.Before(ends[j].at) })
	sig := Signal{Kind: SigNearBreach, Cases: []int64{}}
	in := map[int64]bool{}
	// Every window of BulkWindow holding BulkCount endings or more flags
	// the cases in it.
	for i, j := 0, 0; j < len(ends); j++ {
		for ends[j].at.Sub(ends[i].at) > r.BulkWindow {
			i++
		}
		if j-i+1 >= r.BulkCount {
			for k := i; k <= j; k++ {
				in[ends[k].id] = true
			}
		}
	}
	for id := range in {
		sig.Cases = append(sig.Cases, id)
	}
	sort.Slice(sig.Cases, func(i, j int) bool { return sig.Cases[i] < sig.Cases[j] })
	sig.Count, sig.Flagged = len(sig.Cases), len(sig.Cases) > 0
	return sig
}

func staffRatings(cases []CaseFact) Signal {
	sig := Signal{Kind: SigStaffRatings, Cases: []int64{}}
	for _, c := range cases {
		for _, e := range c.Events {
			if e.Action == "rate" && e.Staff {
				sig.Cases = append(sig.Cases, c.ID)
				break
			}
		}
	}
	sig.Count, sig.Flagged = len(sig.Cases), len(sig.Cases) > 0
	return sig
}

func clockResets(cases []CaseFact) Signal {
	sig := Signal{Kind: SigClockReset, Cases: []int64{}}
	for _, c := range cases {
		if resetClock(c.Events) {
			sig.Cases = append(sig.Cases, c.ID)
		}
	}
	sig.Count, sig.Flagged = len(sig.Cases), len(sig.Cases) > 0
	return sig
}

// resetClock reports whether a case was returned by a department and then
// dispatched again to that same department.
func resetClock(evs []EventFact) bool {
	var dept, returned string
	for _, e := range evs {
		switch e.Action {
		case "dispatch":
			if returned != "" && e.Dept == returned {
				return true
			}
			dept, returned = e.Dept, ""
		case "return":
			returned = dept
		}
	}
	return false
}

// unreasonableRise compares the marks of cases reported in the period
// with those of the period of the same length just before.
func unreasonableRise(now, before []Mark, r SignalRules) Signal {
	sig := Signal{Kind: SigUnreasonableRise, Cases: []int64{}, Count: len(now), Before: len(before)}
	for _, m := range now {
		sig.Cases = append(sig.Cases, m.CaseID)
	}
	sig.Flagged = len(now) >= r.RiseMin && float64(len(now)) >= r.RiseFactor*float64(max(len(before), 1))
	return sig
}

// Signals computes the anti-gaming signals of a unit in a period, for the
// assessors and the unit itself.
func (s *Service) Signals(ctx context.Context, u *account.User, unit, period string) (_ []Signal, err error) {
	defer errs.Wrapf(&err, "assess.Service.Signals(%s, %s)", unit, period)
	un, err := s.readUnit(ctx, u, unit)
	if err != nil {
		return nil, err
	}
	p, err := s.period(ctx, s.d.DB, period)
	if err != nil {
		return nil, err
	}
	var out []Signal
	if s.d.Cases != nil {
		from, to := p.span()
		cases, err := s.d.Cases.CasesOf(ctx, un, from, to)
		if err != nil {
			return nil, err
		}
		out = Detect(cases, DefaultRules)
	}
	now, err := s.marksOf(ctx, un, *p)
	if err != nil {
		return nil, err
	}
	from, to := p.span()
	prev := Period{Code: p.Code, StartsOn: from.Add(-to.Sub(from)).Format(time.DateOnly), EndsOn: from.AddDate(0, 0, -1).Format(time.DateOnly)}
	before, err := s.marksOf(ctx, un, prev)
	if err != nil {
		return nil, err
	}
	return append(out, unreasonableRise(now, before, DefaultRules)), nil
}
