package casework

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

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
// timeline entries, one deadline computation a round and one rollup call
// for the group (when they implement DeadlinesBatch and RollupsBatch).
// Steps on one case follow each other in their order: the k-th step of
// each case goes in the k-th round, each seeing the case as the one before
// left it. It returns the case after each step, in the order of steps. The
// cases it reads have the columns of systemCols (no display names, no
// description, fields or location), and so do the cases it hands the
// deadline computation and the rollups. It is SystemStepsThen without
// further steps.
func (s *Service) SystemSteps(ctx context.Context, tx *db.Tx, steps []CaseStep) (_ []*Case, err error) {
	defer errs.Wrapf(&err, "casework.Service.SystemSteps")
	return s.SystemStepsThen(ctx, tx, steps, nil)
}

// SystemStepsThen takes steps as SystemSteps does, then the steps then
// returns (nil: none), given the cases after steps (in the order of
// steps), as a second SystemSteps in the same transaction would take them
// on the cases as the first left them (their CaseStep.Case is not used).
// then runs after the steps are worked out and before anything of them is
// written, so what it writes itself (a breach's supervisions) comes first;
// the two groups' writes are then made together: each case's columns in
// one UPDATE (one a distinct change), the timeline entries of both in one
// INSERT (the first group's, then the second's, so that they are numbered
// as two INSERTs would number them) and their feed events in that order.
// It returns the cases after steps.
func (s *Service) SystemStepsThen(ctx context.Context, tx *db.Tx, steps []CaseStep, then func(after []*Case) ([]CaseStep, error)) (_ []*Case, err error) {
	defer errs.Wrapf(&err, "casework.SystemSteps(%d)", len(steps))
	if len(steps) == 0 {
		return nil, nil
	}
	g := &systemGroup{s: s, cur: map[int64]*Case{}, orig: map[int64]*Case{}}
	out, err := g.plan(ctx, tx, steps, true)
	if err != nil {
		return nil, err
	}
	if then != nil {
		more, err := then(out)
		if err != nil {
			return nil, err
		}
		if _, err := g.plan(ctx, tx, more, false); err != nil {
			return nil, err
		}
	}
	if err := g.write(ctx, tx); err != nil {
		return nil, err
	}
	return out, nil
}

// systemGroup is a group of system steps worked out in memory (plan), one
// round after another, and then written together (write).
type systemGroup struct {
	s *Service
	// cur is each case as the steps so far left it (deadline and SLA
	// state included); orig is each case as it was read.
	cur, orig map[int64]*Case
	// plans are the steps worked out, round by round, and chs their
	// changes, in the same order.
	plans []*stepPlan
	chs   []Change
}

// plan works out steps on the group's cases (reading those it has not
// seen; with given, taking CaseStep.Case when set), round by round, with
// each round's deadlines computed and put on the cases in memory, and
// returns the case after each step.
func (g *systemGroup) plan(ctx context.Context, tx *db.Tx, steps []CaseStep, given bool) ([]*Case, error) {
	s := g.s
	var ids []int64
	for _, st := range steps {
		if g.cur[st.CaseID] != nil {
			continue
		}
		if given && st.Case != nil && st.Case.ID == st.CaseID {
			g.cur[st.CaseID], g.orig[st.CaseID] = st.Case, st.Case
		} else {
			ids = append(ids, st.CaseID)
		}
	}
	if len(ids) > 0 {
		read, err := s.casesInTx(ctx, tx, ids)
		if err != nil {
			return nil, err
		}
		for id, c := range read {
			if g.cur[id] == nil {
				g.cur[id], g.orig[id] = c, c
			}
		}
	}
	now := tx.Now()
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
		chs := make([]Change, len(round))
		for j, i := range round {
			st := steps[i]
			c := g.cur[st.CaseID]
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
			p, err := s.prepare(ctx, tx, Caller{System: true}, c, w, t, "system", Input{Note: st.Step.Note},
				stepOpts{system: true, data: st.Step.Data, notifyKind: st.Step.NotifyKind, notify: extra})
			if err != nil {
				return nil, err
			}
			ps[j] = p
			chs[j] = Change{Before: c, After: p.known, Action: t.Action, Effects: t.Effects, Input: p.in, Workflow: w, At: now, Actor: p.caller}
		}
		if s.deadlines != nil {
			dch := make([]Change, len(chs))
			for j, ch := range chs {
				cp := *ch.After
				ch.After = &cp
				dch[j] = ch
			}
			slas, err := s.deadlinesOf(ctx, tx, dch)
			if err != nil {
				return nil, err
			}
			for j, ch := range chs {
				putSLA(ch.After, slas[j])
			}
		}
		for j, i := range round {
			out[i] = ps[j].known
			g.cur[ps[j].known.ID] = ps[j].known
		}
		g.plans = append(g.plans, ps...)
		g.chs = append(g.chs, chs...)
	}
	return out, nil
}

// putSLA sets a case's deadline and SLA state to sla's, as setSLAs writes
// them.
func putSLA(c *Case, sla SLA) {
	if sla.State == "" {
		sla.State = "none"
	}
	d := sla.Deadline.UTC()
	if sla.Deadline.IsZero() {
		d = time.Time{}
	}
	if c.SLAState != sla.State || !c.DeadlineAt.Equal(d) {
		c.DeadlineAt, c.SLAState = d, sla.State
	}
}

// write writes the group's steps: the cases' columns (updateSystem), the
// timeline entries in one INSERT, the feed events, then the rollups of all
// the changes in one call and an API client's audit entries.
func (g *systemGroup) write(ctx context.Context, tx *db.Tx) error {
	s := g.s
	if err := updateSystem(ctx, tx, g.plans, g.orig, g.cur); err != nil {
		return err
	}
	evs := make([]eventRow, len(g.plans))
	for j, p := range g.plans {
		evs[j] = p.event()
	}
	evIDs, err := insertEvents(ctx, tx, evs)
	if err != nil {
		return err
	}
	for j, p := range g.plans {
		if err := s.finish(ctx, tx, p, evIDs[j]); err != nil {
			return err
		}
	}
	if s.rollups != nil {
		if err := s.rollupsOf(ctx, tx, g.chs); err != nil {
			return err
		}
	}
	if cl, ok := APIClientFrom(ctx); ok {
		for _, ch := range g.chs {
			if err := auditAPI(ctx, tx, cl, ch.Before, ch.After, ch.After.ID, ch.Action); err != nil {
				return err
			}
		}
	}
	return nil
}

// casesInTx reads cases ids inside tx, unscoped, by id, with the columns
// a system step needs (systemCols); on PostgreSQL it locks their rows, in
// id order, until the transaction ends (SQLite's writer is alone). A
// missing case is NotFound, as for caseInTx.
func (s *Service) casesInTx(ctx context.Context, tx *db.Tx, ids []int64) (map[int64]*Case, error) {
	uniq := sortedUnique(ids)
	lock := ""
	if tx.Dialect() == db.Postgres {
		lock = " FOR UPDATE"
	}
	in, args := db.InList(tx.Dialect(), 0, uniq)
	rows, err := tx.Query(ctx, `SELECT `+systemCols+` FROM cases WHERE id IN (`+in+`) ORDER BY id`+lock, args...)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	out := make(map[int64]*Case, len(uniq))
	for rows.Next() {
		c, err := scanSystem(rows)
		if err != nil {
			return nil, db.Translate(err)
		}
		out[c.ID] = c
	}
	if err := rows.Err(); err != nil {
		return nil, db.Translate(err)
	}
	if len(out) != len(uniq) {
		return nil, db.Translate(sql.ErrNoRows)
	}
	return out, nil
}

// systemCols are the columns of a case that system steps read: what their
// steps, their events, the deadline computation and the rollups use, of
// the cases row alone. The rest of a Case (the names joined from the users
// and departments, the description, address, location, reporter's phone,
// rating comment, postponement reason, fields and tags) stays empty: a
// group of steps reads many cases, and each column costs.
const systemCols = `id, number, district_code, workflow, status, prev_status, source, category_code, category_name, grid_code, community_code,
	street_code, region_path, COALESCE(reporter_id, 0), anonymous, urgent, visibility, COALESCE(department_id, 0), COALESCE(assignee_id, 0),
	COALESCE(rating, 0), revisit_result, reopens, rework, returns, supervised, postpone_hours, COALESCE(parent_id, 0), routed_department, version,
	created_at, updated_at, closed_at, deadline_at, sla_state, workflow_version`

// scanSystem scans a row of systemCols.
func scanSystem(sc scanner) (*Case, error) {
	var c Case
	var status, prev string
	var created, updated db.Time
	var closed, deadline db.NullTime
	if err := sc.Scan(&c.ID, &c.Number, &c.District, &c.Workflow, &status, &prev, &c.Source, &c.CategoryCode, &c.CategoryName, &c.GridCode,
		&c.CommunityCode, &c.StreetCode, &c.RegionPath, &c.ReporterID, &c.Anonymous, &c.Urgent, &c.Visibility, &c.DepartmentID, &c.AssigneeID,
		&c.Rating, &c.RevisitResult, &c.Reopens, &c.Rework, &c.Returns, &c.Supervised, &c.PostponeHours, &c.ParentID, &c.RoutedDept, &c.Version,
		&created, &updated, &closed, &deadline, &c.SLAState, &c.WorkflowVersion); err != nil {
		return nil, err
	}
	c.setScanned(status, prev, created, updated, closed, deadline)
	return &c, nil
}

// sortedUnique returns ids sorted, without repeats, in a new slice.
func sortedUnique(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// updateSystem writes the columns a group of system steps change, and
// the deadlines and SLA states they leave (cur against orig, the cases as
// read): each case's in one UPDATE, and one UPDATE for the cases whose
// steps change the same columns to the same values (the deadlines and SLA
// states, which differ from case to case, joined from a VALUES list). A
// changed row also gets the time and a version a step that touched it. A
// system step keeps the status and the handler, so only its sets are
// written; a column set twice takes the later value, and an expression on
// a column already set (rework = rework + 1 twice) goes in a further
// UPDATE. The rows were locked when they were read (casesInTx), so no
// version check is needed; a row that went missing is a Conflict, as for
// a caller's step.
func updateSystem(ctx context.Context, tx *db.Tx, ps []*stepPlan, orig, cur map[int64]*Case) error {
	type change struct {
		layers [][]assign
		steps  int // the steps that touched it, each a version
	}
	var order []int64
	chs := map[int64]*change{}
	get := func(id int64) *change {
		ch := chs[id]
		if ch == nil {
			ch = &change{}
			chs[id] = ch
			order = append(order, id)
		}
		return ch
	}
	for _, p := range ps {
		u := &p.upd
		if !u.touch {
			continue
		}
		c := p.c
		if u.status != c.Status || u.prev != c.PrevStatus || u.dept != c.DepartmentID || u.assignee != c.AssigneeID {
			return fmt.Errorf("system step %s on case %d changes its status or handler", p.t.Action, c.ID)
		}
		ch := get(c.ID)
		ch.steps++
		if len(ch.layers) == 0 {
			ch.layers = append(ch.layers, nil)
		}
		for _, a := range u.assigns {
			last := &ch.layers[len(ch.layers)-1]
			i := slices.IndexFunc(*last, func(b assign) bool { return b.col == a.col })
			switch {
			case i < 0:
				*last = append(*last, a)
			case a.expr == "":
				*last = append(slices.Delete(*last, i, i+1), a)
			default:
				ch.layers = append(ch.layers, []assign{a})
			}
		}
	}
	slaOf := map[int64]bool{}
	for id, c := range cur {
		if o := orig[id]; o != nil && (c.SLAState != o.SLAState || !c.DeadlineAt.Equal(o.DeadlineAt)) {
			slaOf[id] = true
		}
	}
	for _, id := range sortedIDs(slaOf) {
		if chs[id] == nil {
			get(id).layers = [][]assign{nil}
		}
	}
	type group struct {
		sets  []assign
		steps int
		sla   bool
		ids   []int64
	}
	var keys []string
	groups := map[string]*group{}
	for _, id := range order {
		ch := chs[id]
		for l, sets := range ch.layers {
			steps, sla := 0, false
			if l == 0 {
				steps, sla = ch.steps, slaOf[id]
			}
			var b strings.Builder
			for _, a := range sets {
				fmt.Fprintf(&b, "%s=%s %#v,", a.col, a.expr, a.v)
			}
			key := fmt.Sprintf("%s %d %t", b.String(), steps, sla)
			gr, ok := groups[key]
			if !ok {
				gr = &group{sets: sets, steps: steps, sla: sla}
				groups[key] = gr
				keys = append(keys, key)
			}
			gr.ids = append(gr.ids, id)
		}
	}
	d := tx.Dialect()
	for _, key := range keys {
		gr := groups[key]
		var sets []string
		var args []any
		param := func(v any, cast string) string {
			args = append(args, v)
			if d == db.Postgres {
				return db.Param(d, len(args)) + cast
			}
			return db.Param(d, len(args))
		}
		for _, a := range gr.sets {
			if a.expr != "" {
				sets = append(sets, a.col+" = "+a.expr)
			} else {
				sets = append(sets, a.col+" = "+param(a.v, ""))
			}
		}
		if gr.steps > 0 {
			sets = append(sets, "updated_at = "+param(tx.Now(), ""), "version = version + "+strconv.Itoa(gr.steps))
		}
		if len(sets) == 0 && !gr.sla {
			continue
		}
		var q string
		if gr.sla {
			var vals strings.Builder
			for i, id := range gr.ids {
				c := cur[id]
				var dl any
				if !c.DeadlineAt.IsZero() {
					dl = c.DeadlineAt
				}
				if i > 0 {
					vals.WriteByte(',')
				}
				vals.WriteString("(" + param(id, "::bigint") + "," + param(dl, "::timestamptz") + "," + param(c.SLAState, "::text") + ")")
			}
			if d == db.Postgres {
				sets = append(sets, "deadline_at = v.d", "sla_state = v.s")
				q = `UPDATE cases SET ` + strings.Join(sets, ", ") + ` FROM (VALUES ` + vals.String() + `) AS v(id, d, s) WHERE cases.id = v.id`
			} else {
				sets = append(sets, "deadline_at = v.column2", "sla_state = v.column3")
				q = `UPDATE cases SET ` + strings.Join(sets, ", ") + ` FROM (VALUES ` + vals.String() + `) AS v WHERE cases.id = v.column1`
			}
		} else {
			in, idArgs := db.InList(d, len(args), gr.ids)
			args = append(args, idArgs...)
			q = `UPDATE cases SET ` + strings.Join(sets, ", ") + ` WHERE id IN (` + in + `)`
		}
		res, err := tx.Exec(ctx, q, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n != int64(len(gr.ids)) {
			return errs.E(errs.Conflict, "case.changed").WithReason("stale_version")
		}
	}
	return nil
}

// sortedIDs returns the keys of m in order.
func sortedIDs(m map[int64]bool) []int64 {
	out := make([]int64, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
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
