package casework

import (
	"context"
	"fmt"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// Queue is one staff queue: a named selection of cases (the open ones,
// when it selects by SLA state or supervision).
type Queue struct {
	Key        string
	Status     []State
	SLA        []string
	Supervised bool
}

// Queues lists the queues in display order.
func Queues() []Queue {
	return []Queue{
		{Key: "pending", Status: []State{Submitted}},
		{Key: "to_dispatch", Status: []State{Accepted, Registered}},
		{Key: "claimable", Status: []State{Claimable}},
		{Key: "handling", Status: []State{Dispatched, InProgress}},
		{Key: "to_verify", Status: []State{Resolved}},
		{Key: "warning", SLA: []string{"warning"}},
		{Key: "overdue", SLA: []string{"overdue"}},
		{Key: "supervised", Supervised: true},
		{Key: "all"},
	}
}

// QueuesFor picks the queues a user works from, the first being their default.
func QueuesFor(u *account.User) []string {
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
		return out, nil
	}
	out, err := s.scanQueueCounts(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("casework.QueueCounts: %w", err)
	}
	return out, nil
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
	q := `SELECT
		COALESCE(SUM(CASE WHEN c.status = 'submitted' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN c.status IN ('accepted','registered') THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN c.status = 'claimable' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN c.status IN ('dispatched','in_progress') THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN c.status = 'resolved' THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN c.sla_state = 'warning' AND ` + OpenSQL("c.status") + ` THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN c.sla_state = 'overdue' AND ` + OpenSQL("c.status") + ` THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN c.supervised AND ` + OpenSQL("c.status") + ` THEN 1 ELSE 0 END), 0),
		COUNT(*)` + from + w.SQL()
	var n [9]int
	if err := s.db.QueryRow(ctx, q, w.Args()...).Scan(&n[0], &n[1], &n[2], &n[3], &n[4], &n[5], &n[6], &n[7], &n[8]); err != nil {
		return nil, err
	}
	out := map[string]int{}
	for i, d := range Queues() {
		out[d.Key] = n[i]
	}
	return out, nil
}
