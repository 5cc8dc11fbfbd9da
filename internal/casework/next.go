package casework

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/feed"
)

// Snapshot is what a step's event records of the case, before and after
// the step, so that a consumer of the feed can tell who may act next as of
// that step, even when the case has moved on since.
type Snapshot struct {
	Status          State `json:"status"`
	Assignee        int64 `json:"assignee_id,omitempty"`
	Department      int64 `json:"department_id,omitempty"`
	Reopens         int   `json:"reopens,omitempty"`
	Rework          int   `json:"rework,omitempty"`
	PostponePending bool  `json:"postpone_pending,omitempty"`
	Supervised      bool  `json:"supervised,omitempty"`
}

// StepFacts travel in a case event's payload, under feed.PrivateKey, for
// the feed's consumers that act on who is concerned (notifications); the
// bus does not carry them.
type StepFacts struct {
	Workflow        string    `json:"workflow"`
	WorkflowVersion int       `json:"workflow_version"`
	Before          *Snapshot `json:"before,omitempty"` // nil on submission
	After           Snapshot  `json:"after"`
	EventID         int64     `json:"event_id,omitempty"` // the timeline entry
	Effects         []Effect  `json:"effects,omitempty"`
	// Notify are further recipients the step named (a system step's
	// supervisors, the handler a return unassigned), of kind NotifyKind.
	Notify     []int64 `json:"notify,omitempty"`
	NotifyKind string  `json:"notify_kind,omitempty"`
}

func snapshotOf(c *Case) Snapshot {
	return Snapshot{Status: c.Status, Assignee: c.AssigneeID, Department: c.DepartmentID, Reopens: c.Reopens, Rework: c.Rework,
		PostponePending: c.PostponeHours > 0, Supervised: c.Supervised}
}

// apply puts the snapshot on a copy of c, for the workflow's checks.
func (p Snapshot) apply(c Case) *Case {
	c.Status, c.AssigneeID, c.DepartmentID, c.Reopens, c.Rework, c.Supervised = p.Status, p.Assignee, p.Department, p.Reopens, p.Rework, p.Supervised
	c.PostponeHours = 0
	if p.PostponePending {
		c.PostponeHours = 1
	}
	c.Followed = false
	return &c
}

// Recipient is a user concerned by a step, and the actions they may now
// take (the expected ones, see Expected).
type Recipient struct {
	UserID   int64    `json:"user_id"`
	Kind     string   `json:"kind"` // next, task, status, claim or a system step's kind
	Expected []Action `json:"expected"`
}

// Notice is a step as its recipients are told of it.
type Notice struct {
	CaseID   int64
	Number   string
	Title    string // the category's name
	Action   Action
	From, To State
	Note     string
	Data     map[string]any
	Deadline time.Time // the current stage's deadline; zero if none
	Urgent   bool      // a supervision or a breach: not held by quiet hours
	// Instruction is a leader's 督办 instruction; Stars and Comment a
	// rating; Hours and Reason a postponement asked; Granted the hours a
	// postponement approved added to the limit.
	Instruction     string
	Stars           int
	Comment, Reason string
	Hours           int
	Granted         int
	Recipients      []Recipient
}

// Expected lists the actions from c's state that call for someone: those
// that move the case to a state that is not paused, and those whose guard
// on the case now holds (a pending postponement to decide, a supervision
// to answer). Actions open in every state without such a guard (督办,
// 回访, 挂起) are always at hand and call for nobody. Nothing here names
// an action: it is read from the definition.
func Expected(w *Workflow, c *Case) []Transition {
	var out []Transition
	for _, t := range w.Trans {
		if !contains(t.From, c.Status) || !casePrecondition(t, c) {
			continue
		}
		guarded := false
		for _, cd := range t.When {
			if strings.HasPrefix(cd.Field, "case.") && cd.holds(c, Input{}) {
				guarded = true
			}
		}
		moves := t.To != "" && !contains(w.Paused, t.To)
		if moves || guarded {
			out = append(out, t)
		}
	}
	return out
}

// ancestors are the region codes of a materialised path, the case's own
// last: "/330303/330303001/…/" → [330303 330303001 …].
func ancestors(path string) []string {
	var out []string
	for _, p := range strings.Split(path, "/") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// NextActors returns who may take each expected action on c (as the
// snapshot has it), by user: the holders of the action's roles whose
// region covers the case (the street staff of its street, the grid worker
// of its grid…), and the users in its relations (the assignee or the
// department's handlers, the reporter). An admin is told only of an action
// nobody else may take, so that no step leaves its next actor uninformed
// without copying every step to every admin.
func (s *Service) NextActors(ctx context.Context, tx *db.Tx, w *Workflow, c *Case) (_ map[int64][]Action, err error) {
	defer errs.Wrapf(&err, "casework.Service.NextActors(%d)", c.ID)
	return nextActors(ctx, tx, w, c, holderCache{})
}

// holderCache keeps the role holders of the regions above a case path,
// read once for the before and after of a step.
type holderCache map[string]*account.RoleHolders

func (hc holderCache) of(ctx context.Context, tx *db.Tx, path string) (*account.RoleHolders, error) {
	if h, ok := hc[path]; ok {
		return h, nil
	}
	h, err := account.HoldersAt(ctx, tx, ancestors(path))
	if err != nil {
		return nil, err
	}
	hc[path] = h
	return h, nil
}

func nextActors(ctx context.Context, tx *db.Tx, w *Workflow, c *Case, hc holderCache) (map[int64][]Action, error) {
	out := map[int64][]Action{}
	add := func(uid int64, a Action) {
		if uid != 0 && !slices.Contains(out[uid], a) {
			out[uid] = append(out[uid], a)
		}
	}
	codes := ancestors(c.RegionPath)
	holders := map[account.Role][]int64{}
	roleHolders := func(r account.Role) ([]int64, error) {
		if ids, ok := holders[r]; ok {
			return ids, nil
		}
		at, err := hc.of(ctx, tx, c.RegionPath)
		if err != nil {
			return nil, err
		}
		var ids []int64
		for _, code := range codes {
			ids = append(ids, at.At(r, code)...)
		}
		holders[r] = ids
		return ids, nil
	}
	for _, t := range Expected(w, c) {
		var found []int64
		for _, r := range t.Roles {
			if r == account.Admin {
				continue
			}
			ids, err := roleHolders(r)
			if err != nil {
				return nil, err
			}
			found = append(found, ids...)
		}
		for _, rel := range t.Actors {
			switch rel {
			case ActorAssignee:
				ids, err := handlerIDs(ctx, tx, c)
				if err != nil {
					return nil, err
				}
				found = append(found, ids...)
			case ActorReporter:
				if c.ReporterID != 0 {
					found = append(found, c.ReporterID)
				}
			}
		}
		if len(found) == 0 && slices.Contains(t.Roles, account.Admin) {
			ids, err := roleHolders(account.Admin)
			if err != nil {
				return nil, err
			}
			found = ids
		}
		for _, id := range found {
			add(id, t.Action)
		}
	}
	return out, nil
}

// handlerIDs are the people who handle c now: the assignee, or the
// enabled handlers of its department.
func handlerIDs(ctx context.Context, tx *db.Tx, c *Case) ([]int64, error) {
	if c.AssigneeID != 0 {
		return []int64{c.AssigneeID}, nil
	}
	if c.DepartmentID == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, `SELECT id FROM users WHERE department_id = $1 AND disabled = $2`, c.DepartmentID, false)
	if err != nil {
		return nil, err
	}
	return scanIDs(rows)
}

// Notice tells who is concerned by the step a case event of the feed
// records, read inside tx (the consumer's): the users who may now take an
// action that was not open to them before the step, with every expected
// action they may take; the reporter and followers when the step's effects
// say so (notify_reporter), the handlers (notify_handler), the claimers
// (notify_claimers) and the further recipients the step named. A user is
// named once, with the first of those kinds. It returns nil for an event
// that is not a case's.
func (s *Service) Notice(ctx context.Context, tx *db.Tx, ev feed.Event) (_ *Notice, err error) {
	defer errs.Wrapf(&err, "casework.Service.Notice(%d)", ev.Position)
	nts, gone, err := s.Notices(ctx, tx, []feed.Event{ev})
	if err != nil {
		return nil, err
	}
	if gone[0] != nil {
		return nil, gone[0]
	}
	return nts[0], nil
}

// stepEvent is a case event's payload as Notice reads it.
type stepEvent struct {
	EventMessage
	Reporter int64      `json:"reporter_id"`
	Step     *StepFacts `json:"private"`
}

// Notices is Notice for a batch of events, in their order: their cases are
// read in one query and the holders of a place's roles once for the
// batch. The notice of an event whose case is gone is nil, and gone holds
// its errs.NotFound.
func (s *Service) Notices(ctx context.Context, tx *db.Tx, evs []feed.Event) (nts []*Notice, gone []error, err error) {
	defer errs.Wrapf(&err, "casework.Service.Notices(%d)", len(evs))
	steps := make([]*stepEvent, len(evs))
	var ids []int64
	for i, ev := range evs {
		if ev.SubjectKind != FeedSubject {
			continue
		}
		var p stepEvent
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			return nil, nil, fmt.Errorf("event %d: payload: %w", ev.Position, err)
		}
		if p.Step == nil {
			continue // written before steps carried their facts
		}
		steps[i] = &p
		ids = append(ids, p.CaseID)
	}
	cases := map[int64]*Case{}
	if len(ids) > 0 {
		uniq := sortedUnique(ids)
		in, args := db.InList(tx.Dialect(), 0, uniq)
		all, err := scanCases(tx.Query(ctx, `SELECT `+caseCols+caseFrom+` WHERE c.id IN (`+in+`)`, args...))
		if err != nil {
			return nil, nil, db.Translate(err)
		}
		for _, c := range all {
			cases[c.ID] = c
		}
	}
	nts, gone = make([]*Notice, len(evs)), make([]error, len(evs))
	// The holders of roles at every place of the batch's cases and above
	// it, in one read: each case's path shares them.
	hc := holderCache{}
	seen := map[string]bool{}
	var codes []string
	for _, c := range cases {
		for _, code := range ancestors(c.RegionPath) {
			if !seen[code] {
				seen[code] = true
				codes = append(codes, code)
			}
		}
	}
	if len(codes) > 0 {
		h, err := account.HoldersAt(ctx, tx, codes)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range cases {
			hc[c.RegionPath] = h
		}
	}
	for i, p := range steps {
		if p == nil {
			continue
		}
		cur := cases[p.CaseID]
		if cur == nil {
			gone[i] = db.Translate(sql.ErrNoRows)
			continue
		}
		if nts[i], err = s.notice(ctx, tx, p, cur, hc); err != nil {
			return nil, nil, fmt.Errorf("event %d: %w", evs[i].Position, err)
		}
	}
	return nts, gone, nil
}

// notice is Notice for a step p of case cur, as read in the consumer's
// transaction, with the holders of roles found so far in hc.
func (s *Service) notice(ctx context.Context, tx *db.Tx, p *stepEvent, cur *Case, hc holderCache) (*Notice, error) {
	d, err := s.workflows.Get(ctx, p.Step.Workflow, p.Step.WorkflowVersion)
	if err != nil {
		return nil, err
	}
	w := s.view(d)
	after := p.Step.After.apply(*cur)
	after.ReporterID = p.Reporter
	n := &Notice{CaseID: cur.ID, Number: cur.Number, Title: cur.CategoryName, Action: p.Action, To: p.Step.After.Status, Deadline: cur.DeadlineAt}
	if p.Step.Before != nil {
		n.From = p.Step.Before.Status
	}
	if cur.Status != after.Status || cur.Version == 0 {
		n.Deadline = time.Time{} // the case has moved on: that deadline is another stage's
	}
	if p.Step.EventID != 0 {
		var note, data string
		err := tx.QueryRow(ctx, `SELECT note, data FROM case_events WHERE id = $1`, p.Step.EventID).Scan(&note, &data)
		if err != nil {
			return nil, db.Translate(err)
		}
		n.Note = note
		_ = json.Unmarshal([]byte(data), &n.Data)
	}
	now, err := nextActors(ctx, tx, w, after, hc)
	if err != nil {
		return nil, err
	}
	before := map[int64][]Action{}
	if p.Step.Before != nil {
		b := p.Step.Before.apply(*cur)
		b.ReporterID = p.Reporter
		if before, err = nextActors(ctx, tx, w, b, hc); err != nil {
			return nil, err
		}
	}
	seen := map[int64]bool{}
	add := func(uid int64, kind string) {
		if uid == 0 || seen[uid] {
			return
		}
		seen[uid] = true
		exp := now[uid]
		if exp == nil {
			exp = []Action{}
		}
		n.Recipients = append(n.Recipients, Recipient{UserID: uid, Kind: kind, Expected: exp})
	}
	// The kinds of the effects come first: a system step's kind
	// (sla_warning…) says more than "next".
	handlerKind := p.Step.NotifyKind
	if handlerKind == "" {
		handlerKind = "task"
	}
	for _, eff := range p.Step.Effects {
		switch eff {
		case EffNotifyHandler:
			ids, err := handlerIDs(ctx, tx, after)
			if err != nil {
				return nil, err
			}
			for _, id := range append(ids, p.Step.Notify...) {
				add(id, handlerKind)
			}
		case EffNotifyReporter:
			add(p.Reporter, "status")
			rows, err := tx.Query(ctx, `SELECT user_id FROM case_followers WHERE case_id = $1 ORDER BY user_id`, cur.ID)
			if err != nil {
				return nil, err
			}
			ids, err := scanIDs(rows)
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				add(id, "status")
			}
		case EffSupervise:
			n.Urgent = true
		case EffSuperviseOrder:
			n.Urgent, n.Instruction = true, n.Note
		case EffRate:
			if v, ok := whole(n.Data[DataStars]); ok {
				n.Stars, n.Comment = int(v), n.Note
			}
		case EffPostponeRequest:
			if v, ok := whole(n.Data[DataHours]); ok {
				n.Hours, n.Reason = int(v), n.Note
			}
		case EffPostponeGrant:
			if v, ok := whole(n.Data[DataHours]); ok {
				n.Granted = int(v)
			}
		}
	}
	for _, id := range p.Step.Notify {
		add(id, handlerKind)
	}
	if p.Action == ActBreach {
		n.Urgent = true
	}
	// Then whoever the step newly calls on, in id order.
	ids := make([]int64, 0, len(now))
	for id, acts := range now {
		for _, a := range acts {
			if !slices.Contains(before[id], a) {
				ids = append(ids, id)
				break
			}
		}
	}
	slices.Sort(ids)
	kind := "next"
	if slices.Contains(p.Step.Effects, EffNotifyClaimers) {
		kind = "claim"
	}
	for _, id := range ids {
		add(id, kind)
	}
	return n, nil
}
