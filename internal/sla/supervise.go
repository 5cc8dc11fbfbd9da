package sla

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/region"
	"whistle/internal/sla/calendar"
	"whistle/internal/timer"
)

// Supervision levels, bottom up.
const (
	LevelCommunity = "community"
	LevelStreet    = "street"
	LevelDistrict  = "district"
)

// Supervision kinds and the reasons they were opened.
const (
	KindAuto          = "auto"
	KindManual        = "manual"
	ReasonStageBreach = "stage_breach"
	ReasonSupBreach   = "supervision_breach"
	ReasonManual      = "manual"
)

// Supervision statuses.
const (
	SupOpen     = "open"
	SupAnswered = "answered"
	SupClosed   = "closed" // the case ended before an answer
)

// Supervision is a 督办: automatic, opened by a breach one level up, or a
// leader's. The handler's reply answers it.
type Supervision struct {
	ID          int64     `json:"id"`
	CaseID      int64     `json:"-"`
	Kind        string    `json:"kind"`
	Level       string    `json:"level"`
	RegionCode  string    `json:"region_code,omitempty"`
	Reason      string    `json:"reason"`
	StageID     int64     `json:"stage_id,omitempty"`
	ParentID    int64     `json:"parent_id,omitempty"`
	Instruction string    `json:"instruction,omitempty"`
	IssuedBy    int64     `json:"issued_by,omitempty"`
	OpenedAt    time.Time `json:"opened_at"`
	Deadline    time.Time `json:"deadline"`
	Status      string    `json:"status"`
	BreachedAt  time.Time `json:"breached_at,omitzero"`
	AnsweredAt  time.Time `json:"answered_at,omitzero"`
	Answer      string    `json:"answer,omitempty"`
	ClosedAt    time.Time `json:"closed_at,omitzero"`
}

const supCols = `id, case_id, kind, level, region_code, reason, COALESCE(stage_id, 0), COALESCE(parent_id, 0), instruction, COALESCE(issued_by, 0),
	opened_at, deadline_at, status, breached_at, answered_at, answer, closed_at`

func scanSupervision(sc scanner) (*Supervision, error) {
	var s Supervision
	var opened, deadline db.Time
	var breached, answered, closed db.NullTime
	if err := sc.Scan(&s.ID, &s.CaseID, &s.Kind, &s.Level, &s.RegionCode, &s.Reason, &s.StageID, &s.ParentID, &s.Instruction, &s.IssuedBy,
		&opened, &deadline, &s.Status, &breached, &answered, &s.Answer, &closed); err != nil {
		return nil, err
	}
	s.OpenedAt, s.Deadline = opened.Time, deadline.Time
	s.BreachedAt, s.AnsweredAt, s.ClosedAt = breached.Time, answered.Time, closed.Time
	return &s, nil
}

// Supervisions returns a case's supervisions, oldest first. It does not
// check data scope: callers first read the case through casework.
func (e *Engine) Supervisions(ctx context.Context, caseID int64) (_ []Supervision, err error) {
	defer errs.Wrapf(&err, "sla.Engine.Supervisions")
	rows, err := e.db.Query(ctx, `SELECT `+supCols+` FROM supervisions WHERE case_id = $1 ORDER BY id`, caseID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Supervision
	for rows.Next() {
		s, err := scanSupervision(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *s)
	}
	return out, rows.Err()
}

func levelRank(l string) int {
	switch l {
	case LevelCommunity:
		return 1
	case LevelStreet:
		return 2
	case LevelDistrict:
		return 3
	}
	return 0
}

// insertSupervision records s and its timer.
func insertSupervision(ctx context.Context, tx *db.Tx, s *Supervision) error {
	return insertSupervisions(ctx, tx, []*Supervision{s})
}

// insertSupervisions records ss (open, each on a different case) and
// their timers: one INSERT for the rows, whose ids it sets, and one for the
// timers. The ids come from the table's sequence, which numbers a
// multi-row INSERT's rows in their order; the case ids returned with them
// are checked against it.
func insertSupervisions(ctx context.Context, tx *db.Tx, ss []*Supervision) error {
	if len(ss) == 0 {
		return nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO supervisions (case_id, kind, level, region_code, reason, stage_id, parent_id, instruction, issued_by, opened_at, deadline_at, status) VALUES `)
	b.WriteString(db.Placeholders(tx.Dialect(), len(ss), 12))
	args := make([]any, 0, 12*len(ss))
	for _, s := range ss {
		var stage, parent, issuer any
		if s.StageID != 0 {
			stage = s.StageID
		}
		if s.ParentID != 0 {
			parent = s.ParentID
		}
		if s.IssuedBy != 0 {
			issuer = s.IssuedBy
		}
		s.Status = SupOpen
		args = append(args, s.CaseID, s.Kind, s.Level, s.RegionCode, s.Reason, stage, parent, s.Instruction, issuer, s.OpenedAt.UTC(), s.Deadline.UTC(), s.Status)
	}
	b.WriteString(` RETURNING id, case_id`)
	rows, err := tx.Query(ctx, b.String(), args...)
	if err != nil {
		return err
	}
	type idCase struct{ id, caseID int64 }
	var got []idCase
	for rows.Next() {
		var r idCase
		if err := rows.Scan(&r.id, &r.caseID); err != nil {
			rows.Close()
			return err
		}
		got = append(got, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(got) != len(ss) {
		return fmt.Errorf("supervisions: %d rows inserted, want %d", len(got), len(ss))
	}
	slices.SortFunc(got, func(a, b idCase) int { return cmp.Compare(a.id, b.id) })
	as := make([]timer.Arming, len(ss))
	for i, s := range ss {
		if got[i].caseID != s.CaseID {
			return fmt.Errorf("supervisions: %d went to case %d, want %d", got[i].id, got[i].caseID, s.CaseID)
		}
		s.ID = got[i].id
		as[i] = timer.Arming{Key: TimerKey(TimerSupervision, s.CaseID, s.ID), Due: s.Deadline}
	}
	return timer.ArmMany(ctx, tx, as)
}

// supervisionsByID returns the supervisions ids, by id, in one query.
func supervisionsByID(ctx context.Context, tx *db.Tx, ids []int64) (map[int64]*Supervision, error) {
	out := map[int64]*Supervision{}
	if len(ids) == 0 {
		return out, nil
	}
	in, args := db.InList(tx.Dialect(), 0, ids)
	rows, err := tx.Query(ctx, `SELECT `+supCols+` FROM supervisions WHERE id IN (`+in+`)`, args...)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		s, err := scanSupervision(rows)
		if err != nil {
			return nil, db.Translate(err)
		}
		out[s.ID] = s
	}
	return out, db.Translate(rows.Err())
}

// manualSupervision records a leader's supervise action: at the leader's
// level, with the deadline given or the default, and the note as the
// instruction.
func (e *Engine) manualSupervision(ctx context.Context, tx *db.Tx, cal *calendar.Calendar, ch casework.Change, stageID int64, now time.Time) error {
	c := ch.After
	deadline := cal.Deadline(now, e.manualLim).UTC()
	if ch.Input.Deadline != nil {
		d := ch.Input.Deadline.UTC().Truncate(time.Microsecond)
		if !d.After(now) {
			return errs.E(errs.Invalid, "error.invalid").Field("deadline", "sla.err.deadline_past")
		}
		deadline = d
	}
	s := &Supervision{CaseID: c.ID, Kind: KindManual, Level: LevelDistrict, RegionCode: c.District, Reason: ReasonManual,
		StageID: stageID, Instruction: ch.Input.Note, OpenedAt: now, Deadline: deadline}
	if u := ch.Actor.User; u != nil {
		s.IssuedBy = u.ID
		switch u.Region.Level {
		case region.Street:
			s.Level, s.RegionCode = LevelStreet, u.Region.Code
		case region.Community:
			s.Level, s.RegionCode = LevelCommunity, u.Region.Code
		}
	}
	return insertSupervision(ctx, tx, s)
}

// escalation is a breach to escalate: on case c (as the breach's step
// left it), for reason, from a stage's breach or a supervision's (parentID),
// which fell due at since.
type escalation struct {
	caseID            int64
	c                 *casework.Case
	reason            string
	stageID, parentID int64
	since             time.Time
}

// escalations opens, for each breach in es (at most one a case), an
// automatic supervision one level above the highest its case has had
// (street first, then district), unless the case already has an open
// supervision at the district. Its deadline counts from since, the instant
// the breach fell due, so that a breach fired late (after a restart)
// leaves the same deadline as one fired on time. It reads the cases'
// supervisions in one query, inserts the new ones and their timers in one
// statement each, and returns the escalate steps, which flag the cases as
// supervised and notify the handlers and the supervising levels' staff;
// fireGroup has casework take them with the breaches
// (casework.Service.SystemStepsThen).
func (e *Engine) escalations(ctx context.Context, tx *db.Tx, memo staffMemo, es []escalation, now time.Time) ([]casework.CaseStep, error) {
	ids := make([]int64, len(es))
	for i, x := range es {
		ids[i] = x.caseID
	}
	in, args := db.InList(tx.Dialect(), 0, ids)
	rows, err := tx.Query(ctx, `SELECT case_id, level, status FROM supervisions WHERE case_id IN (`+in+`)`, args...)
	if err != nil {
		return nil, err
	}
	highest, openTop := map[int64]string{}, map[int64]int{}
	for rows.Next() {
		var id int64
		var lvl, status string
		if err := rows.Scan(&id, &lvl, &status); err != nil {
			rows.Close()
			return nil, err
		}
		if levelRank(lvl) > levelRank(highest[id]) {
			highest[id] = lvl
		}
		if lvl == LevelDistrict && status == SupOpen {
			openTop[id]++
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	cal := e.Calendar()
	var ss []*Supervision
	for _, x := range es {
		c := x.c
		level, code := LevelStreet, c.StreetCode
		if levelRank(highest[c.ID]) >= levelRank(LevelStreet) || code == "" {
			level, code = LevelDistrict, c.District
		}
		if level == LevelDistrict && openTop[c.ID] > 0 {
			continue
		}
		ss = append(ss, &Supervision{CaseID: c.ID, Kind: KindAuto, Level: level, RegionCode: code, Reason: x.reason, StageID: x.stageID,
			ParentID: x.parentID, OpenedAt: now, Deadline: cal.Deadline(x.since.UTC(), e.autoLimit).UTC()})
	}
	if err := insertSupervisions(ctx, tx, ss); err != nil {
		return nil, err
	}
	steps := make([]casework.CaseStep, len(ss))
	for i, s := range ss {
		data := map[string]any{"supervision": s.ID, "level": s.Level, "region": s.RegionCode, "reason": s.Reason,
			"deadline": s.Deadline.In(cal.Location()).Format(time.RFC3339)}
		level, code := s.Level, s.RegionCode
		steps[i] = casework.CaseStep{CaseID: s.CaseID, Step: casework.Step{Action: casework.ActEscalate, Data: data,
			Effects: []casework.Effect{casework.EffSupervise, casework.EffNotifyHandler}, NotifyKind: "supervision",
			Notify: func(*casework.Case) ([]int64, error) { return levelStaff(ctx, tx, memo, level, code) }}}
	}
	return steps, nil
}

// answerSupervisions marks the case's open supervisions answered by the
// handler's reply and cancels their timers.
func answerSupervisions(ctx context.Context, tx *db.Tx, caseID int64, note string, now time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE supervisions SET status = $1, answered_at = $2, answer = $3 WHERE case_id = $4 AND status = $5`,
		SupAnswered, now, note, caseID, SupOpen); err != nil {
		return err
	}
	return cancelSupervisionTimers(ctx, tx, caseID)
}

// closeSupervisions closes the open supervisions of a case that ended.
func closeSupervisions(ctx context.Context, tx *db.Tx, caseID int64, now time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE supervisions SET status = $1, closed_at = $2 WHERE case_id = $3 AND status = $4`,
		SupClosed, now, caseID, SupOpen); err != nil {
		return err
	}
	return cancelSupervisionTimers(ctx, tx, caseID)
}

// staffMemo remembers, for one firing transaction, who holds which roles
// where: a batch of timers asks the same few regions again and again.
type staffMemo map[string][]int64

// usersWithRoles returns the enabled users bound to region code who hold any
// of roles, role by role.
func usersWithRoles(ctx context.Context, tx *db.Tx, memo staffMemo, code string, roles ...account.Role) ([]int64, error) {
	key := code
	for _, r := range roles {
		key += "|" + string(r)
	}
	if ids, ok := memo[key]; ok {
		return ids[:len(ids):len(ids)], nil // a caller's append copies
	}
	var out []int64
	for _, r := range roles {
		ids, err := account.UsersWithRole(ctx, tx, r, account.AtRegion(code))
		if err != nil {
			return nil, err
		}
		out = append(out, ids...)
	}
	if memo != nil {
		memo[key] = out
	}
	return out[:len(out):len(out)], nil
}

// supervisors returns the supervisor of a case's handling unit: for 红哨 the
// community staff of its community (else the street staff), for 数字城管
// the street staff of its street, the command centre (else the district's
// admins).
func supervisors(ctx context.Context, tx *db.Tx, memo staffMemo, c *casework.Case) ([]int64, error) {
	if c.Workflow == "whistle" {
		ids, err := usersWithRoles(ctx, tx, memo, c.CommunityCode, account.CommunityStaff)
		if err != nil || len(ids) > 0 {
			return ids, err
		}
		return usersWithRoles(ctx, tx, memo, c.StreetCode, account.StreetStaff)
	}
	ids, err := usersWithRoles(ctx, tx, memo, c.StreetCode, account.StreetStaff)
	if err != nil || len(ids) > 0 {
		return ids, err
	}
	return usersWithRoles(ctx, tx, memo, c.District, account.Admin)
}

// levelStaff returns who supervises at a level: the street staff of a
// street; the leaders and admins of a district.
func levelStaff(ctx context.Context, tx *db.Tx, memo staffMemo, level, code string) ([]int64, error) {
	switch level {
	case LevelStreet:
		return usersWithRoles(ctx, tx, memo, code, account.StreetStaff)
	case LevelCommunity:
		return usersWithRoles(ctx, tx, memo, code, account.CommunityStaff)
	}
	return usersWithRoles(ctx, tx, memo, code, account.Leader, account.Admin)
}
