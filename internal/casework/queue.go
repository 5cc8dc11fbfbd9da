package casework

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// Queue is one staff queue: a named selection of cases (the open ones,
// when it selects by SLA state, supervision or a pending postponement).
type Queue struct {
	Key        string
	Status     []State
	SLA        []string
	Supervised bool
	// Postpone selects the cases whose handler asked for more time
	// (待审批延期).
	Postpone bool
}

// PostponePending is the case counter the definitions' postponement
// decisions are guarded by.
const PostponePending = "case.postpone_pending"

// awaiting lists the states of the shipped workflows from which an
// expected action (see Expected) is the role's to take: 待核查 is where a
// grid worker's action waits.
func awaiting(r account.Role) []State {
	var out []State
	for _, w := range sortedWorkflows() {
		for _, t := range w.Trans {
			if !slices.Contains(t.Roles, r) || t.To == "" || contains(w.Paused, t.To) {
				continue
			}
			for _, f := range t.From {
				if !contains(out, f) {
					out = append(out, f)
				}
			}
		}
	}
	return out
}

// postponeDeciders are the roles of the actions a pending postponement
// opens (guarded by PostponePending = 1), over the shipped workflows.
func postponeDeciders() []account.Role {
	var out []account.Role
	for _, w := range sortedWorkflows() {
		for _, t := range w.Trans {
			for _, cd := range t.When {
				if cd.Field == PostponePending && cd.Op == "eq" && cd.Value == 1 {
					for _, r := range t.Roles {
						if !slices.Contains(out, r) {
							out = append(out, r)
						}
					}
				}
			}
		}
	}
	return out
}

// sortedWorkflows are the shipped workflows in name order.
func sortedWorkflows() []*Workflow {
	ws := Workflows()
	names := slices.Sorted(maps.Keys(ws))
	out := make([]*Workflow, len(names))
	for i, n := range names {
		out[i] = ws[n]
	}
	return out
}

// Queues lists the queues in display order.
func Queues() []Queue {
	return []Queue{
		{Key: "pending", Status: []State{Submitted}},
		{Key: "to_dispatch", Status: []State{Accepted, Registered}},
		{Key: "claimable", Status: []State{Claimable}},
		{Key: "handling", Status: []State{Dispatched, InProgress}},
		{Key: "postpone", Postpone: true},
		{Key: "to_verify", Status: awaiting(account.GridWorker)},
		{Key: "warning", SLA: []string{"warning"}},
		{Key: "overdue", SLA: []string{"overdue"}},
		{Key: "supervised", Supervised: true},
		{Key: "all"},
	}
}

// QueuesFor picks the queues a user works from, the first being their
// default; 待审批延期 is shown to whoever may decide a postponement.
func QueuesFor(u *account.User) []string {
	qs := queuesFor(u)
	for _, r := range postponeDeciders() {
		if u.Has(r) {
			i := max(slices.Index(qs, "handling"), 0)
			return slices.Insert(qs, i+1, "postpone")
		}
	}
	return qs
}

func queuesFor(u *account.User) []string {
	switch {
	case u.Has(account.Admin), u.Has(account.Leader), u.Has(account.StreetStaff), u.Has(account.CommunityStaff):
		return []string{"pending", "to_dispatch", "claimable", "handling", "to_verify", "warning", "overdue", "supervised", "all"}
	case u.Has(account.GridWorker):
		return []string{"to_verify", "pending", "handling", "warning", "overdue", "supervised", "all"}
	case u.Has(account.DepartmentHandler):
		return []string{"handling", "warning", "overdue", "supervised", "all"}
	case u.Has(account.PartyMember):
		return []string{"claimable", "handling", "all"}
	}
	return []string{"all"}
}

// QueueByKey finds a queue by its key.
func QueueByKey(k string) (Queue, bool) {
	for _, q := range Queues() {
		if q.Key == k {
			return q, true
		}
	}
	return Queue{}, false
}

// NodeQueueCounter counts the queues of a region node from counters kept
// in step with every change (the stats rollups). casework cannot import
// stats (stats imports casework), so the Service takes it as an interface.
type NodeQueueCounter interface {
	CountQueues(ctx context.Context, node string, queues []Queue) (map[string]int, error)
}

// UseQueueCounter makes QueueCounts read the counts of callers scoped by
// region alone from c. Call it before serving, like UseRollups.
func (s *Service) UseQueueCounter(c NodeQueueCounter) { s.queueCounter = c }

// QueueCounts counts every queue in the caller's scope. A caller scoped by
// region alone reads the node's counters (one indexed read, whatever the
// number of cases) when a NodeQueueCounter is set; anyone else, or a
// service without one, counts with one pass over the cases in scope.
func (s *Service) QueueCounts(ctx context.Context, caller Caller) (_ map[string]int, err error) {
	defer errs.Wrapf(&err, "casework.Service.QueueCounts")
	u := caller.User
	if u == nil {
		return nil, fmt.Errorf("casework.QueueCounts: no user")
	}
	sc := account.ScopeOf(u)
	if s.queueCounter != nil && sc.RegionPath != "" && sc.DepartmentID == 0 && u.Region.Code != "" {
		out, err := s.queueCounter.CountQueues(ctx, u.Region.Code, Queues())
		if err != nil {
			return nil, fmt.Errorf("casework.QueueCounts: %w", err)
		}
		if out["postpone"], err = s.countPostpone(ctx, sc); err != nil {
			return nil, fmt.Errorf("casework.QueueCounts: %w", err)
		}
		return out, nil
	}
	out, err := s.scanQueueCounts(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("casework.QueueCounts: %w", err)
	}
	return out, nil
}

// queueSQL is the condition on cases c that selects queue d. The states
// and SLA states come from the definitions and the code, not from input.
func queueSQL(d Queue) string {
	var and []string
	if len(d.Status) > 0 {
		q := make([]string, len(d.Status))
		for i, st := range d.Status {
			q[i] = "'" + string(st) + "'"
		}
		and = append(and, "c.status IN ("+strings.Join(q, ",")+")")
	}
	if len(d.SLA) > 0 {
		q := make([]string, len(d.SLA))
		for i, st := range d.SLA {
			q[i] = "'" + st + "'"
		}
		and = append(and, "c.sla_state IN ("+strings.Join(q, ",")+")")
	}
	if d.Supervised {
		and = append(and, "c.supervised")
	}
	if d.Postpone {
		and = append(and, "c.postpone_hours > 0")
	}
	if len(d.SLA) > 0 || d.Supervised || d.Postpone {
		and = append(and, OpenSQL("c.status"))
	}
	if len(and) == 0 {
		return "1 = 1"
	}
	return strings.Join(and, " AND ")
}

// countPostpone counts the open cases in scope with a pending
// postponement (the rollups do not keep that flag).
func (s *Service) countPostpone(ctx context.Context, sc account.Scope) (int, error) {
	var w db.Where
	sc.Apply(&w, ScopeColumns("c"))
	w.Add("c.postpone_hours > ?", 0)
	w.Add(OpenSQL("c.status"))
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM cases c`+w.SQL(), w.Args()...).Scan(&n)
	return n, err
}

// scanQueueCounts counts every queue in scope in one pass over the cases.
func (s *Service) scanQueueCounts(ctx context.Context, sc account.Scope) (map[string]int, error) {
	var w db.Where
	sc.Apply(&w, ScopeColumns("c"))
	from := " FROM cases c"
	if s.db.Dialect() == db.SQLite && sc.RegionPath != "" {
		// One sequential pass beats SQLite's MULTI-INDEX OR plan for the
		// scope's "region OR department OR reporter", which looks up every
		// row at random.
		from = " FROM cases c NOT INDEXED"
	}
	var cols []string
	for _, d := range Queues() {
		cols = append(cols, "COALESCE(SUM(CASE WHEN "+queueSQL(d)+" THEN 1 ELSE 0 END), 0)")
	}
	q := `SELECT ` + strings.Join(cols, ", ") + from + w.SQL()
	n := make([]int, len(cols))
	dest := make([]any, len(cols))
	for i := range n {
		dest[i] = &n[i]
	}
	if err := s.db.QueryRow(ctx, q, w.Args()...).Scan(dest...); err != nil {
		return nil, err
	}
	out := map[string]int{}
	for i, d := range Queues() {
		out[d.Key] = n[i]
	}
	return out, nil
}
