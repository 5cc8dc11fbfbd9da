package casework

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"whistle/internal/db"
	"whistle/internal/errs"
)

// System steps: what the scheduler records on a case, not actions a caller
// can take. They go through the same path as a caller's action (apply).
const (
	ActWarning  Action = "sla_warning" // 预警: a share of the time limit has passed
	ActBreach   Action = "sla_breach"  // 超时: the time limit has passed
	ActEscalate Action = "escalate"    // 自动督办 at the next level up
	ActAnswered Action = "supervision_answered"
)

// Step is a step the system takes on a case outside its workflow's
// transitions (a warning, a breach, an automatic supervision, a deadline
// recomputed): it keeps the case's status, and its Effects are applied as
// a transition's are (EffSupervise flags the case, EffNotifyHandler names
// its handlers to the notifications' feed consumer).
type Step struct {
	Action  Action
	Note    string
	Data    map[string]any
	Effects []Effect
	// NotifyKind is the kind of the inbox entries EffNotifyHandler asks
	// for (default "task"); Notify, optional, returns further recipients
	// (supervisors) for the case as it stands before the step. Both travel
	// in the step's feed event (StepFacts).
	NotifyKind string
	Notify     func(c *Case) ([]int64, error)
}

// SystemStep takes step on case id as the system inside tx (the
// transaction of the timer that called for it), through the path every
// action takes: the case's columns, the timeline, the
// deadline computation, the rollups and the event. A step that changes
// only the SLA state leaves the case's version alone, as the system's
// bookkeeping is no edit a person's form could conflict with. It returns
// the case after the step. It is SystemSteps with one step.
func (s *Service) SystemStep(ctx context.Context, tx *db.Tx, id int64, step Step) (_ *Case, err error) {
	defer errs.Wrapf(&err, "casework.SystemStep(%d, %s)", id, step.Action)
	cs, err := s.SystemSteps(ctx, tx, []CaseStep{{CaseID: id, Step: step}})
	if err != nil {
		return nil, err
	}
	return cs[0], nil
}

// CaseStep is a system step on one case, for SystemSteps.
type CaseStep struct {
	CaseID int64
	Step   Step
	// Case, optional, is the case as an earlier SystemSteps in the same
	// transaction returned it (it is locked, and nothing else has changed
	// it since): SystemSteps then does not read it again.
	Case *Case
}

// SystemSteps takes a group of system steps inside tx, as SystemStep takes
// one, with the same timeline entries, feed events, deadlines and rollups,
// but with each kind of write made once for the group rather than once a
// step: one query reads (and on PostgreSQL locks, in id order) the group's
// cases, one UPDATE per distinct change of columns, one INSERT of the
// timeline entries, one deadline computation and one rollup call for the
// group (when they implement DeadlinesBatch and RollupsBatch). Steps on
// one case follow each other in their order: the k-th step of each case
// goes in the k-th round, each seeing the case as the one before left it.
// It returns the case after each step, in the order of steps.
func (s *Service) SystemSteps(ctx context.Context, tx *db.Tx, steps []CaseStep) (_ []*Case, err error) {
	defer errs.Wrapf(&err, "casework.SystemSteps(%d)", len(steps))
	if len(steps) == 0 {
		return nil, nil
	}
	ids := make([]int64, 0, len(steps))
	known := map[int64]*Case{}
	for _, st := range steps {
		if st.Case != nil && st.Case.ID == st.CaseID {
			known[st.CaseID] = st.Case
		} else {
			ids = append(ids, st.CaseID)
		}
	}
	cur := known
	if len(ids) > 0 {
		read, err := s.casesInTx(ctx, tx, ids)
		if err != nil {
			return nil, err
		}
		for id, c := range read {
			if known[id] == nil {
				cur[id] = c
			}
		}
	}
	out := make([]*Case, len(steps))
	// rounds[k] are the indexes of the steps that are the k-th on their case.
	var rounds [][]int
	nth := map[int64]int{}
	for i, st := range steps {
		k := nth[st.CaseID]
		nth[st.CaseID] = k + 1
		if k == len(rounds) {
			rounds = append(rounds, nil)
		}
		rounds[k] = append(rounds[k], i)
	}
	for _, round := range rounds {
		ps := make([]*stepPlan, len(round))
		for j, i := range round {
			st := steps[i]
			c := cur[st.CaseID]
			w, err := s.workflowOf(ctx, c)
			if err != nil {
				return nil, err
			}
			var extra []int64
			if st.Step.Notify != nil {
				if extra, err = st.Step.Notify(c); err != nil {
					return nil, err
				}
			}
			t := Transition{Action: st.Step.Action, Actors: []string{ActorSystem}, Effects: st.Step.Effects}
			if ps[j], err = s.prepare(ctx, tx, Caller{System: true}, c, w, t, "system", Input{Note: st.Step.Note},
				stepOpts{system: true, data: st.Step.Data, notifyKind: st.Step.NotifyKind, notify: extra}); err != nil {
				return nil, err
			}
		}
		if err := updateSystem(ctx, tx, ps); err != nil {
			return nil, err
		}
		evs := make([]eventRow, len(ps))
		for j, p := range ps {
			evs[j] = p.event()
		}
		evIDs, err := insertEvents(ctx, tx, evs)
		if err != nil {
			return nil, err
		}
		chs := make([]pendingChange, len(ps))
		for j, p := range ps {
			if err := s.finish(ctx, tx, p, evIDs[j]); err != nil {
				return nil, err
			}
			chs[j] = pendingChange{w: p.w, before: p.c, after: p.known, id: p.c.ID, action: p.t.Action, effects: p.t.Effects, in: p.in, actor: p.caller}
		}
		after, err := s.changedMany(ctx, tx, chs)
		if err != nil {
			return nil, err
		}
		for j, i := range round {
			out[i] = after[j]
			cur[after[j].ID] = after[j]
		}
	}
	return out, nil
}

// casesInTx reads cases ids inside tx, unscoped, by id; on PostgreSQL it
// locks their rows, in id order, until the transaction ends (SQLite's
// writer is alone). A missing case is NotFound, as for caseInTx.
func (s *Service) casesInTx(ctx context.Context, tx *db.Tx, ids []int64) (map[int64]*Case, error) {
	uniq := sortedUnique(ids)
	lock := ""
	if tx.Dialect() == db.Postgres {
		lock = " FOR UPDATE OF c"
	}
	in, args := db.InList(tx.Dialect(), 0, uniq)
	cs, err := scanCases(tx.Query(ctx, `SELECT `+caseCols+caseFrom+` WHERE c.id IN (`+in+`) ORDER BY c.id`+lock, args...))
	if err != nil {
		return nil, db.Translate(err)
	}
	out := make(map[int64]*Case, len(cs))
	for _, c := range cs {
		out[c.ID] = c
	}
	if len(out) != len(uniq) {
		return nil, db.Translate(sql.ErrNoRows)
	}
	return out, nil
}

// sortedUnique returns ids sorted, without repeats, in a new slice.
func sortedUnique(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// updateSystem writes the columns a round of system steps change (one
// step a case): one UPDATE for the cases whose steps change the same
// columns to the same values, which also stamps the time and a new
// version. A system step keeps the status and the handler, so only its
// sets are written. The rows were locked when they were read
// (casesInTx), so no version check is needed; a row that went missing is
// a Conflict, as for a caller's step.
func updateSystem(ctx context.Context, tx *db.Tx, ps []*stepPlan) error {
	type group struct {
		upd *caseUpdate
		ids []int64
	}
	var order []string
	groups := map[string]*group{}
	for _, p := range ps {
		u := &p.upd
		if !u.touch {
			continue
		}
		c := p.c
		if u.status != c.Status || u.prev != c.PrevStatus || u.dept != c.DepartmentID || u.assignee != c.AssigneeID {
			return fmt.Errorf("system step %s on case %d changes its status or handler", p.t.Action, c.ID)
		}
		key := strings.Join(u.sets, ", ") + fmt.Sprintf(" %#v", u.args)
		g, ok := groups[key]
		if !ok {
			g = &group{upd: u}
			groups[key] = g
			order = append(order, key)
		}
		g.ids = append(g.ids, c.ID)
	}
	for _, key := range order {
		g := groups[key]
		args := append(slices.Clone(g.upd.args), tx.Now())
		sets := append(slices.Clone(g.upd.sets), "updated_at = $"+strconv.Itoa(len(args)), "version = version + 1")
		in, idArgs := db.InList(tx.Dialect(), len(args), g.ids)
		res, err := tx.Exec(ctx, `UPDATE cases SET `+strings.Join(sets, ", ")+` WHERE id IN (`+in+`)`, append(args, idArgs...)...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n != int64(len(g.ids)) {
			return errs.E(errs.Conflict, "case.changed").WithReason("stale_version")
		}
	}
	return nil
}

// insertEvents inserts timeline entries in one statement a chunk and
// returns their ids in the order of evs. The ids come from the rows'
// sequence, which numbers a multi-row INSERT's rows in their order; the
// returned case ids are checked against that order.
func insertEvents(ctx context.Context, tx *db.Tx, evs []eventRow) ([]int64, error) {
	const cols = 11
	const chunk = 500 // well under SQLite's limit of bound parameters
	out := make([]int64, 0, len(evs))
	for start := 0; start < len(evs); start += chunk {
		part := evs[start:min(len(evs), start+chunk)]
		var b strings.Builder
		b.WriteString(`INSERT INTO case_events (case_id, at, actor_id, actor_name, role, action, from_status, to_status, note, data, public) VALUES `)
		args := make([]any, 0, cols*len(part))
		b.WriteString(db.Placeholders(tx.Dialect(), len(part), cols))
		for _, ev := range part {
			row, err := ev.args(tx)
			if err != nil {
				return nil, err
			}
			args = append(append(args, ev.caseID), row...)
		}
		b.WriteString(` RETURNING id, case_id`)
		rows, err := tx.Query(ctx, b.String(), args...)
		if err != nil {
			return nil, err
		}
		type idCase struct{ id, caseID int64 }
		got := make([]idCase, 0, len(part))
		for rows.Next() {
			var r idCase
			if err := rows.Scan(&r.id, &r.caseID); err != nil {
				rows.Close()
				return nil, err
			}
			got = append(got, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		slices.SortFunc(got, func(a, b idCase) int { return cmp.Compare(a.id, b.id) })
		if len(got) != len(part) {
			return nil, fmt.Errorf("timeline: %d rows inserted, want %d", len(got), len(part))
		}
		for i, r := range got {
			if r.caseID != part[i].caseID {
				return nil, fmt.Errorf("timeline: entry %d went to case %d, want %d", r.id, r.caseID, part[i].caseID)
			}
			out = append(out, r.id)
		}
	}
	return out, nil
}
