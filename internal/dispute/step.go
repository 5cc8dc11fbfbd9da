package dispute

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

// Input is what a caller sends with an action, for both kinds; the
// workflow says which fields each action requires or accepts.
type Input struct {
	// Version, when set, must be the item's version (optimistic locking).
	Version      int        `json:"version,omitempty"`
	Note         string     `json:"note,omitempty"`
	Participants string     `json:"participants,omitempty"`
	Notes        string     `json:"notes,omitempty"`
	HeldAt       *time.Time `json:"held_at,omitempty"`
	Agreement    string     `json:"agreement,omitempty"`
	Referral     string     `json:"referral,omitempty"`
	Result       string     `json:"result,omitempty"`
	Passed       *bool      `json:"passed,omitempty"`
	Deadline     *time.Time `json:"deadline,omitempty"`
}

// Has reports whether the field was sent (a text not blank).
func (in Input) Has(name string) bool {
	switch name {
	case "note":
		return strings.TrimSpace(in.Note) != ""
	case "participants":
		return strings.TrimSpace(in.Participants) != ""
	case "notes":
		return strings.TrimSpace(in.Notes) != ""
	case "held_at":
		return in.HeldAt != nil
	case "agreement":
		return strings.TrimSpace(in.Agreement) != ""
	case "referral":
		return in.Referral != ""
	case "result":
		return in.Result != ""
	case "passed":
		return in.Passed != nil
	case "deadline":
		return in.Deadline != nil
	}
	return false
}

// Value is a field as a guard sees it: passed is 1 or 0.
func (in Input) Value(name string) (int, bool) {
	if name == "passed" && in.Passed != nil {
		if *in.Passed {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// The referrals of a failed mediation and the results of a return visit.
var (
	referrals = []string{"litigation", "arbitration"}
	results   = []string{"kept", "broken"}
)

// Referrals lists the referral codes (引导诉讼, 引导仲裁).
func Referrals() []string { return append([]string(nil), referrals...) }

// Results lists the return visit's results (履行, 未履行).
func Results() []string { return append([]string(nil), results...) }

// The lengths of the texts, in characters.
const (
	maxNote         = 1000
	maxParticipants = 500
	maxNotes        = 4000
	maxAgreement    = 8000
	maxTitle        = 100
	maxDescription  = 2000
	maxName         = 50
	maxPlace        = 200
	maxDeadline     = 366 * 24 * time.Hour
)

// validate checks the shape of every field sent, whatever the action, and
// names each bad one.
func (in Input) validate(now time.Time) *errs.Error {
	e := errs.E(errs.Invalid, "error.invalid")
	long := func(field, v string, n int) {
		if utf8.RuneCountInString(v) > n {
			e.Field(field, "field.too_long", n)
		}
	}
	long("note", in.Note, maxNote)
	long("participants", in.Participants, maxParticipants)
	long("notes", in.Notes, maxNotes)
	long("agreement", in.Agreement, maxAgreement)
	if in.Referral != "" && !contains(referrals, in.Referral) {
		e.Field("referral", "dispute.err.referral")
	}
	if in.Result != "" && !contains(results, in.Result) {
		e.Field("result", "dispute.err.result")
	}
	if in.HeldAt != nil && (in.HeldAt.After(now.Add(time.Hour)) || in.HeldAt.Before(now.Add(-maxDeadline))) {
		e.Field("held_at", "dispute.err.held_at")
	}
	if in.Deadline != nil && (!in.Deadline.After(now) || in.Deadline.After(now.Add(maxDeadline))) {
		e.Field("deadline", "dispute.err.deadline")
	}
	if in.Version < 0 {
		e.Field("version", "dispute.err.version")
	}
	if len(e.Fields) > 0 {
		return e
	}
	return nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// item is what the common step path knows of a dispute or a hazard.
type item struct {
	kind       string
	id         int64
	district   string
	regionPath string
	status     string
	wfVersion  int
	version    int
	relations  map[string]bool
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

// stepCtx is one step in progress, for a kind's effects.
type stepCtx struct {
	tx   *db.Tx
	c    Caller
	it   *item
	plan *workflow.Planned
	in   Input
	upd  update
	data map[string]any
	// private goes on the feed event only (who is to be told).
	private map[string]any
	note    string
	// after, if set, runs once the step's timeline row is written.
	after func(stepID int64) error
}

// effects applies one kind's effects of a step to its own rows.
type effects func(ctx context.Context, st *stepCtx) error

// act takes one step on an item, inside tx: the workflow's check, the
// kind's effects, the row's new state and version (refused when another
// step came first), the timeline, audit entry and feed event, and the
// stage's timers.
func (s *Service) act(ctx context.Context, tx *db.Tx, c Caller, it *item, action string, in Input, apply effects) error {
	def, err := s.d.Workflows.Get(ctx, it.kind, it.wfVersion)
	if err != nil {
		return err
	}
	if e := in.validate(tx.Now()); e != nil {
		return e
	}
	p, err := def.Plan(action, it.status, "", noAttrs{}, in, acting{c: c, relations: it.relations})
	if err != nil {
		return err
	}
	if in.Version != 0 && in.Version != it.version {
		return errs.E(errs.Conflict, "workflow.step.stale", it.version).WithReason("stale_version")
	}
	st := &stepCtx{tx: tx, c: c, it: it, plan: p, in: in, data: map[string]any{}, note: strings.TrimSpace(in.Note)}
	if err := apply(ctx, st); err != nil {
		return err
	}
	next, _ := def.State(p.Next)
	st.upd.set("status", p.Next)
	st.upd.set("updated_at", tx.Now())
	if next.Terminal {
		st.upd.set("closed_at", tx.Now())
	}
	st.upd.args = append(st.upd.args, it.id, it.version)
	n := len(st.upd.args)
	res, err := tx.Exec(ctx, `UPDATE `+table(it.kind)+` SET `+strings.Join(st.upd.sets, ", ")+`, version = version + 1 WHERE id = $`+
		strconv.Itoa(n-1)+` AND version = $`+strconv.Itoa(n), st.upd.args...)
	if err != nil {
		return err
	}
	if rows, err := res.RowsAffected(); err != nil {
		return err
	} else if rows == 0 {
		return errs.E(errs.Conflict, "workflow.step.stale", it.version).WithReason("stale_version")
	}
	role := ""
	if !p.Relation {
		role = p.By
	}
	stepID, err := workflow.RecordStep(ctx, tx, workflow.StepRecord{Kind: it.kind, SubjectID: it.id, Ref: it.kind + ":" + strconv.FormatInt(it.id, 10),
		District: it.district, Action: action, From: it.status, To: p.Next, Role: role, Actor: c.Actor(), UserID: c.UserID(), System: c.IsSystem(),
		Note: st.note, Data: st.data, Private: st.private})
	if err != nil {
		return err
	}
	if st.after != nil {
		if err := st.after(stepID); err != nil {
			return err
		}
	}
	return s.enterStage(ctx, tx, def, it, p.Next)
}

func table(kind string) string {
	if kind == KindHazard {
		return "hazards"
	}
	return "disputes"
}

// stageTimerKind is the timer kind of a subject kind's stage limits.
func stageTimerKind(kind string) string { return kind + ".stage" }

// stagePayload is a stage timer's payload.
type stagePayload struct {
	Stage string `json:"stage"`
	Level string `json:"level"` // warning or breach
}

// enterStage keeps the stage timers of it as it moves from it.status to
// next: a state of the same stage keeps its clock; entering another stage
// with a limit arms its warning and breach and sets stage_due_at; a state
// without a stage (or a terminal one) cancels them.
func (s *Service) enterStage(ctx context.Context, tx *db.Tx, def *workflow.Definition, it *item, next string) error {
	from, _ := def.State(it.status)
	to, _ := def.State(next)
	if it.status != "" && from.Stage == to.Stage {
		return nil
	}
	tk := stageTimerKind(it.kind)
	subject := strconv.FormatInt(it.id, 10)
	if _, err := timer.CancelMany(ctx, tx, []timer.Key{{Kind: tk, Subject: subject, Name: "warning"}, {Kind: tk, Subject: subject, Name: "breach"}}); err != nil {
		return err
	}
	st, ok := def.Stage(to.Stage)
	if !ok || st.Limit == nil || to.Terminal {
		_, err := tx.Exec(ctx, `UPDATE `+table(it.kind)+` SET stage_due_at = NULL, sla_state = $1 WHERE id = $2`, "none", it.id)
		return err
	}
	now := tx.Now()
	due := st.Limit.Due(s.cal(), now)
	pct := st.WarnPercent
	if pct <= 0 {
		pct = 80
	}
	warn := now.Add(due.Sub(now) * time.Duration(pct) / 100)
	w, _ := json.Marshal(stagePayload{Stage: st.Name, Level: "warning"})
	b, _ := json.Marshal(stagePayload{Stage: st.Name, Level: "breach"})
	if err := timer.ArmMany(ctx, tx, []timer.Arming{{Key: timer.Key{Kind: tk, Subject: subject, Name: "warning"}, Due: warn, Payload: w},
		{Key: timer.Key{Kind: tk, Subject: subject, Name: "breach"}, Due: due, Payload: b}}); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE `+table(it.kind)+` SET stage_due_at = $1, sla_state = $2 WHERE id = $3`, due.UTC(), "normal", it.id)
	return err
}

// fireStage is the handler of both kinds' stage timers: if the item still
// waits in the timer's stage, its SLA state becomes warning or breached,
// and a system entry on its timeline (and the feed) says so.
func (s *Service) fireStage(kind string) timer.Handler {
	return func(ctx context.Context, tx *db.Tx, t timer.Timer) error {
		var p stagePayload
		if err := json.Unmarshal(t.Payload, &p); err != nil {
			return nil // not ours to retry: a malformed payload never heals
		}
		id, err := strconv.ParseInt(t.Subject, 10, 64)
		if err != nil {
			return nil
		}
		var status, district string
		var wfv int
		err = tx.QueryRow(ctx, `SELECT status, district, workflow_version FROM `+table(kind)+` WHERE id = $1`, id).Scan(&status, &district, &wfv)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return db.Translate(err)
		}
		def, err := s.d.Workflows.Get(ctx, kind, wfv)
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
		if _, err := tx.Exec(ctx, `UPDATE `+table(kind)+` SET sla_state = $1 WHERE id = $2`, state, id); err != nil {
			return err
		}
		_, err = workflow.RecordStep(ctx, tx, workflow.StepRecord{Kind: kind, SubjectID: id, Ref: kind + ":" + t.Subject, District: district,
			Action: action, From: status, To: status, System: true, Data: map[string]any{"stage": p.Stage, "due": t.Due.UTC().Format(time.RFC3339)}})
		return err
	}
}

// RegisterTimers gives r the handlers of this package's timers: both
// kinds' stage limits, the dispute's return visit and the hazard's
// rectification deadline.
func (s *Service) RegisterTimers(r *timer.Runner) {
	r.Handle(stageTimerKind(KindDispute), s.fireStage(KindDispute))
	r.Handle(stageTimerKind(KindHazard), s.fireStage(KindHazard))
	// The return visit falls due: the system step revisit_due.
	r.Handle(revisitTimer, systemStep("revisit_due", s.actDispute))
	// The rectification deadline passed first: the system step escalate.
	r.Handle(deadlineTimer, systemStep("escalate", s.actHazard))
}

// Workflow returns the definition of kind ("dispute" or "hazard") at
// version, for the labels of a page.
func (s *Service) Workflow(ctx context.Context, kind string, version int) (_ *workflow.Definition, err error) {
	defer errs.Wrapf(&err, "dispute.Workflow(%s, %d)", kind, version)
	return s.d.Workflows.Get(ctx, kind, version)
}

// available lists, in definition order, the actions c may take on an item
// in status (system steps excluded): the forms a page offers.
func (s *Service) available(ctx context.Context, c Caller, kind string, wfVersion int, status string, relations map[string]bool) ([]string, error) {
	def, err := s.d.Workflows.Get(ctx, kind, wfVersion)
	if err != nil {
		return nil, err
	}
	a := acting{c: c, relations: relations}
	var out []string
	for _, act := range def.Actions {
		if contains(out, act.Name) || !contains(act.From, status) {
			continue
		}
		if _, _, ok := act.Allowed(a); ok {
			out = append(out, act.Name)
		}
	}
	return out, nil
}

// DisputeActions lists the actions c may take on d now.
func (s *Service) DisputeActions(ctx context.Context, c Caller, d *Dispute) (_ []string, err error) {
	defer errs.Wrapf(&err, "dispute.Service.DisputeActions")
	return s.available(ctx, c, KindDispute, d.WorkflowVersion, d.Status, map[string]bool{"mediator": d.MediatorID != 0 && d.MediatorID == c.UserID()})
}

// HazardActions lists the actions c may take on h now.
func (s *Service) HazardActions(ctx context.Context, c Caller, h *Hazard) (_ []string, err error) {
	defer errs.Wrapf(&err, "dispute.Service.HazardActions")
	return s.available(ctx, c, KindHazard, h.WorkflowVersion, h.Status, nil)
}
