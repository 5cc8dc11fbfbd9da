package benefit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/timer"
	"whistle/internal/workflow"
)

// Input is what a caller sends with an action; the workflow says which
// fields each action requires or accepts.
type Input struct {
	// Version, when set, must be the application's version.
	Version int      `json:"version,omitempty"`
	Note    string   `json:"note,omitempty"`
	Reason  string   `json:"reason,omitempty"`
	Uploads []string `json:"uploads,omitempty"`
}

// Has reports whether the field was sent (a text not blank).
func (in Input) Has(name string) bool {
	switch name {
	case "note":
		return strings.TrimSpace(in.Note) != ""
	case "reason":
		return strings.TrimSpace(in.Reason) != ""
	case "uploads":
		return len(in.Uploads) > 0
	}
	return false
}

// Value is a field as a guard sees it: this workflow has no guards.
func (in Input) Value(string) (int, bool) { return 0, false }

func (in Input) validate() *errs.Error {
	e := errs.E(errs.Invalid, "error.invalid")
	if utf8.RuneCountInString(in.Note) > maxNote {
		e.Field("note", "field.too_long", maxNote)
	}
	if utf8.RuneCountInString(in.Reason) > maxNote {
		e.Field("reason", "field.too_long", maxNote)
	}
	checkUploads(e, in.Uploads)
	if in.Version < 0 {
		e.Field("version", "benefit.err.version")
	}
	if len(e.Fields) > 0 {
		return e
	}
	return nil
}

// item is what the step path knows of an application.
type item struct {
	id        int64
	district  string
	status    string
	prev      string
	wfVersion int
	version   int
}

// update collects the columns a step changes besides the status.
type update struct {
	sets []string
	args []any
}

func (u *update) set(col string, v any) {
	u.args = append(u.args, v)
	u.sets = append(u.sets, col+" = $"+strconv.Itoa(len(u.args)))
}

// Act takes action on an application c may see: the workflow's check,
// the action's effects (the budget, the payout), the new state, the
// timeline, audit entry and feed event, and the stage's clock, in one
// transaction.
func (s *Service) Act(ctx context.Context, c Caller, id int64, action string, in Input) (_ *Application, err error) {
	defer errs.Wrapf(&err, "benefit.Service.Act(%d, %s)", id, action)
	if err := s.d.DB.InTx(ctx, func(tx *db.Tx) error { return s.act(ctx, tx, c, id, action, in) }); err != nil {
		return nil, err
	}
	if c.IsSystem() {
		return nil, nil
	}
	return s.Get(ctx, c, id, false)
}

func (s *Service) act(ctx context.Context, tx *db.Tx, c Caller, id int64, action string, in Input) error {
	w := scoped(c)
	w.Add("id = ?", id)
	a, err := scanApp(tx.QueryRow(ctx, `SELECT `+appCols+` FROM benefit_applications`+w.SQL(), w.Args()...))
	if errors.Is(err, sql.ErrNoRows) {
		return errs.E(errs.NotFound, "benefit.not_found")
	}
	if err != nil {
		return db.Translate(err)
	}
	if e := in.validate(); e != nil {
		return e
	}
	def, err := s.d.Workflows.Get(ctx, Kind, a.WorkflowVersion)
	if err != nil {
		return err
	}
	p, err := def.Plan(action, a.Status, a.prev, noAttrs{}, in, acting{c: c, applicant: c.UserID() != 0 && a.ApplicantID == c.UserID()})
	if err != nil {
		return err
	}
	if in.Version != 0 && in.Version != a.Version {
		return errs.E(errs.Conflict, "workflow.step.stale", a.Version).WithReason("stale_version")
	}
	var upd update
	data := map[string]any{}
	note := strings.TrimSpace(in.Note)
	for _, eff := range p.Action.Effects {
		switch eff {
		case "record_request":
			upd.set("request", note)
		case "record_uploads":
			if len(in.Uploads) > 0 {
				all := append(a.Uploads, cleanUploads(in.Uploads)...)
				if len(all) > maxUploads {
					return errs.E(errs.Invalid, "error.invalid").Field("uploads", "benefit.err.too_many_uploads", maxUploads)
				}
				b, _ := json.Marshal(all)
				upd.set("uploads", string(b))
				data["uploads"] = len(in.Uploads)
			}
		case "record_reason":
			upd.set("reason", strings.TrimSpace(in.Reason))
			data["reason"] = strings.TrimSpace(in.Reason)
		case "commit_budget":
			if err := commitBudget(ctx, tx, a.Policy, a.fen); err != nil {
				return err
			}
		case "record_payout":
			ok, err := s.insertPayout(ctx, tx, payout{subject: a.Subject, name: a.SubjectName, policy: a.Policy, version: a.PolicyVersion, title: a.Title,
				period: a.Period, fen: a.fen, source: "application", application: a.ID, grid: a.RegionCode, path: a.RegionPath,
				department: a.DepartmentID, applicant: a.ApplicantID, eligibleAt: a.EligibleAt})
			if err != nil {
				return err
			}
			if !ok {
				return errs.E(errs.Conflict, "benefit.already_paid", a.Period).WithReason("already_paid")
			}
			data["amount"] = a.Amount
		}
	}
	next, _ := def.State(p.Next)
	cur, _ := def.State(a.Status)
	upd.set("status", p.Next)
	if next.Paused && !cur.Paused {
		upd.set("prev_status", a.Status)
	}
	upd.set("updated_at", tx.Now())
	if next.Terminal {
		upd.set("closed_at", tx.Now())
	}
	upd.args = append(upd.args, a.ID, a.Version)
	n := len(upd.args)
	res, err := tx.Exec(ctx, `UPDATE benefit_applications SET `+strings.Join(upd.sets, ", ")+`, version = version + 1 WHERE id = $`+
		strconv.Itoa(n-1)+` AND version = $`+strconv.Itoa(n), upd.args...)
	if err != nil {
		return err
	}
	if rows, err := res.RowsAffected(); err != nil {
		return err
	} else if rows == 0 {
		return errs.E(errs.Conflict, "workflow.step.stale", a.Version).WithReason("stale_version")
	}
	role := ""
	if !p.Relation {
		role = p.By
	}
	if _, err := workflow.RecordStep(ctx, tx, workflow.StepRecord{Kind: Kind, SubjectID: a.ID, Ref: ref(a.ID), District: a.District, Action: action,
		From: a.Status, To: p.Next, Role: role, Actor: c.Actor(), UserID: c.UserID(), System: c.IsSystem(), Note: note, Data: data}); err != nil {
		return err
	}
	it := &item{id: a.ID, district: a.District, status: a.Status, prev: a.prev, wfVersion: a.WorkflowVersion, version: a.Version}
	return s.enterStage(ctx, tx, def, it, p.Next)
}

// stageTimer is the timer kind of the applications' stage limits.
const stageTimer = Kind + ".stage"

// stagePayload is a stage timer's payload.
type stagePayload struct {
	Stage string `json:"stage"`
	Level string `json:"level"` // warning or breach
}

func stageKeys(id int64) (warn, breach timer.Key) {
	subject := strconv.FormatInt(id, 10)
	return timer.Key{Kind: stageTimer, Subject: subject, Name: "warning"}, timer.Key{Kind: stageTimer, Subject: subject, Name: "breach"}
}

// left is how long before t's due, in milliseconds, from now (at least
// 0); -1 when the timer is not pending (it fired).
func left(ctx context.Context, tx *db.Tx, key timer.Key, now time.Time) (int64, error) {
	t, err := timer.Pending(ctx, tx, key)
	if errs.Is(err, errs.NotFound) {
		return -1, nil
	}
	if err != nil {
		return 0, err
	}
	return max(t.Due.Sub(now).Milliseconds(), 0), nil
}

// enterStage keeps the stage clock of it as it moves to next. A paused
// state (补正) stops the clock: the time left on the warning and the
// breach is kept on the row and their timers are cancelled; resuming
// re-arms them with that time left, from now. Otherwise, a state of the
// same stage keeps its clock, entering another stage with a limit arms
// its warning and breach, and a state without a stage cancels them.
func (s *Service) enterStage(ctx context.Context, tx *db.Tx, def *workflow.Definition, it *item, next string) error {
	from, _ := def.State(it.status)
	to, _ := def.State(next)
	warnKey, breachKey := stageKeys(it.id)
	now := tx.Now()
	switch {
	case to.Paused && !from.Paused:
		wl, err := left(ctx, tx, warnKey, now)
		if err != nil {
			return err
		}
		bl, err := left(ctx, tx, breachKey, now)
		if err != nil {
			return err
		}
		if _, err := timer.CancelMany(ctx, tx, []timer.Key{warnKey, breachKey}); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE benefit_applications SET paused_warn_ms = $1, paused_left_ms = $2, stage_due_at = NULL, sla_state = $3 WHERE id = $4`,
			wl, bl, "paused", it.id)
		return err
	case from.Paused && !to.Paused && next == it.prev && !to.Terminal:
		var wl, bl int64
		if err := tx.QueryRow(ctx, `SELECT paused_warn_ms, paused_left_ms FROM benefit_applications WHERE id = $1`, it.id).Scan(&wl, &bl); err != nil {
			return db.Translate(err)
		}
		st, _ := def.Stage(to.Stage)
		var arm []timer.Arming
		state := "breached"
		var due any
		if bl >= 0 {
			state = "warning"
			d := now.Add(time.Duration(bl) * time.Millisecond)
			due = d.UTC()
			b, _ := json.Marshal(stagePayload{Stage: st.Name, Level: "breach"})
			arm = append(arm, timer.Arming{Key: breachKey, Due: d, Payload: b})
		}
		if wl >= 0 {
			state = "normal"
			w, _ := json.Marshal(stagePayload{Stage: st.Name, Level: "warning"})
			arm = append(arm, timer.Arming{Key: warnKey, Due: now.Add(time.Duration(wl) * time.Millisecond), Payload: w})
		}
		if err := timer.ArmMany(ctx, tx, arm); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE benefit_applications SET paused_warn_ms = -1, paused_left_ms = -1, stage_due_at = $1, sla_state = $2 WHERE id = $3`,
			due, state, it.id)
		return err
	}
	if it.status != "" && from.Stage == to.Stage && !from.Paused {
		return nil
	}
	if _, err := timer.CancelMany(ctx, tx, []timer.Key{warnKey, breachKey}); err != nil {
		return err
	}
	st, ok := def.Stage(to.Stage)
	if !ok || st.Limit == nil || to.Terminal {
		_, err := tx.Exec(ctx, `UPDATE benefit_applications SET stage_due_at = NULL, sla_state = $1 WHERE id = $2`, "none", it.id)
		return err
	}
	due := st.Limit.Due(s.cal(), now)
	pct := st.WarnPercent
	if pct <= 0 {
		pct = 80
	}
	warn := now.Add(due.Sub(now) * time.Duration(pct) / 100)
	w, _ := json.Marshal(stagePayload{Stage: st.Name, Level: "warning"})
	b, _ := json.Marshal(stagePayload{Stage: st.Name, Level: "breach"})
	if err := timer.ArmMany(ctx, tx, []timer.Arming{{Key: warnKey, Due: warn, Payload: w}, {Key: breachKey, Due: due, Payload: b}}); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE benefit_applications SET stage_due_at = $1, sla_state = $2 WHERE id = $3`, due.UTC(), "normal", it.id)
	return err
}

// fireStage is the handler of the stage timers: if the application
// still waits in the timer's stage, its SLA state becomes warning or
// breached, and a system entry on its timeline (and the feed) says so.
func (s *Service) fireStage(ctx context.Context, tx *db.Tx, t timer.Timer) error {
	var p stagePayload
	if err := json.Unmarshal(t.Payload, &p); err != nil {
		return nil // a malformed payload never heals
	}
	id, err := strconv.ParseInt(t.Subject, 10, 64)
	if err != nil {
		return nil
	}
	var status, district string
	var wfv int
	err = tx.QueryRow(ctx, `SELECT status, district, workflow_version FROM benefit_applications WHERE id = $1`, id).Scan(&status, &district, &wfv)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return db.Translate(err)
	}
	def, err := s.d.Workflows.Get(ctx, Kind, wfv)
	if err != nil {
		return err
	}
	if st, _ := def.State(status); st.Stage != p.Stage {
		return nil
	}
	state, action := "warning", "sla_warning"
	if p.Level == "breach" {
		state, action = "breached", "sla_breach"
	}
	if _, err := tx.Exec(ctx, `UPDATE benefit_applications SET sla_state = $1 WHERE id = $2`, state, id); err != nil {
		return err
	}
	_, err = workflow.RecordStep(ctx, tx, workflow.StepRecord{Kind: Kind, SubjectID: id, Ref: ref(id), District: district,
		Action: action, From: status, To: status, System: true, Data: map[string]any{"stage": p.Stage, "due": t.Due.UTC().Format(time.RFC3339)}})
	return err
}

// RegisterTimers gives r the handler of the applications' stage limits.
func (s *Service) RegisterTimers(r *timer.Runner) {
	r.Handle(stageTimer, s.fireStage)
}
