package stats

import (
	"context"
	"fmt"

	"whistle/internal/casework"
	"whistle/internal/errs"
)

// CountQueues counts the queues of a region node from rollup_state, which
// the Store keeps in the same transaction as each change. It is the
// casework.NodeQueueCounter of the case service's QueueCounts, and counts
// what its scan of the cases counts.
func (s *Store) CountQueues(ctx context.Context, node string, queues []casework.Queue) (_ map[string]int, err error) {
	defer errs.Wrapf(&err, "stats.Store.CountQueues")
	rows, err := s.db.Query(ctx, `SELECT status, sla_state, supervised, SUM(n) FROM rollup_state WHERE node = $1
		GROUP BY status, sla_state, supervised`, node)
	if err != nil {
		return nil, fmt.Errorf("stats.CountQueues: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for _, d := range queues {
		out[d.Key] = 0
	}
	for rows.Next() {
		var status, slaState string
		var supervised bool
		var n int
		if err := rows.Scan(&status, &slaState, &supervised, &n); err != nil {
			return nil, fmt.Errorf("stats.CountQueues: %w", err)
		}
		out["all"] += n
		for _, d := range queues {
			for _, st := range d.Status {
				if string(st) == status {
					out[d.Key] += n
				}
			}
		}
		switch slaState {
		case "warning":
			out["warning"] += n
		case "overdue":
			out["overdue"] += n
		}
		if supervised {
			out["supervised"] += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("stats.CountQueues: %w", err)
	}
	return out, nil
}

var _ casework.NodeQueueCounter = (*Store)(nil)
