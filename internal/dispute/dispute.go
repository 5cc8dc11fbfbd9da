package dispute

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/idcode"
	"whistle/internal/region"
	"whistle/internal/timer"
	"whistle/internal/workflow"
)

// The dispute types (纠纷类型): labels in the catalogue as
// dispute.type.<code>.
var disputeTypes = []string{"family", "neighbour", "property", "labour", "land", "contract", "tort", "other"}

// Types lists the dispute type codes, in display order.
func Types() []string { return append([]string(nil), disputeTypes...) }

// The roles of a party in a dispute.
var partyRoles = []string{"applicant", "respondent", "other"}

// PartyRoles lists the roles a party may have (申请人, 被申请人, 其他).
func PartyRoles() []string { return append([]string(nil), partyRoles...) }

// Party is one party of a dispute. IDNumber is the canonical identity
// number (idcode.ResidentID): the key on which the party links to the
// registry's person (PersonID, 0 until the registry links it). IDNumber
// and Phone are masked unless the caller revealed them.
type Party struct {
	ID       int64  `json:"id"`
	Role     string `json:"role"`
	Name     string `json:"name"`
	IDNumber string `json:"id_number,omitempty"`
	Phone    string `json:"phone,omitempty"`
	PersonID int64  `json:"person_id,omitempty"`
}

// Session is one mediation session (调解记录).
type Session struct {
	ID           int64     `json:"id"`
	StepID       int64     `json:"step_id"`
	HeldAt       time.Time `json:"held_at"`
	Participants string    `json:"participants"`
	Notes        string    `json:"notes"`
	RecordedBy   int64     `json:"recorded_by"`
}

// Dispute is a dispute under mediation.
type Dispute struct {
	ID              int64      `json:"id"`
	District        string     `json:"district"`
	RegionCode      string     `json:"region"`
	RegionPath      string     `json:"-"`
	Type            string     `json:"type"`
	Title           string     `json:"title"`
	Description     string     `json:"description,omitempty"`
	Status          string     `json:"status"`
	WorkflowVersion int        `json:"workflow_version"`
	Version         int        `json:"version"`
	CreatedBy       int64      `json:"created_by"`
	MediatorID      int64      `json:"mediator_id,omitempty"`
	Agreement       string     `json:"agreement,omitempty"`
	AgreedAt        *time.Time `json:"agreed_at,omitempty"`
	Referral        string     `json:"referral,omitempty"`
	StageDueAt      *time.Time `json:"stage_due_at,omitempty"`
	SLAState        string     `json:"sla_state"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	ClosedAt        *time.Time `json:"closed_at,omitempty"`
	// Parties and Sessions are filled in by Get only.
	Parties  []Party   `json:"parties,omitempty"`
	Sessions []Session `json:"sessions,omitempty"`
	// Revealed says the parties' personal data is shown in the clear.
	Revealed bool `json:"revealed,omitempty"`
}

// NewParty is a party as registered.
type NewParty struct {
	Role     string `json:"role"`
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
	Phone    string `json:"phone"`
}

// NewDispute is a dispute as registered (登记).
type NewDispute struct {
	Region      string     `json:"region"`
	Type        string     `json:"type"`
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Parties     []NewParty `json:"parties"`
}

// maxParties bounds the parties of one dispute.
const maxParties = 20

// checkText refuses a blank required text or one longer than n runes.
func checkText(e *errs.Error, field, v string, n int, required bool) string {
	v = strings.TrimSpace(v)
	switch {
	case v == "" && required:
		e.Field(field, "field.required")
	case utf8.RuneCountInString(v) > n:
		e.Field(field, "field.too_long", n)
	}
	return v
}

// validate checks a new dispute and returns it cleaned (trimmed texts,
// canonical identity numbers), naming every bad field.
func (nd NewDispute) validate(now time.Time, e *errs.Error) NewDispute {
	out := nd
	out.Title = checkText(e, "title", nd.Title, maxTitle, true)
	out.Description = checkText(e, "description", nd.Description, maxDescription, false)
	switch {
	case nd.Type == "":
		e.Field("type", "field.required")
	case !contains(disputeTypes, nd.Type):
		e.Field("type", "dispute.err.type")
	}
	switch {
	case len(nd.Parties) == 0:
		e.Field("parties", "field.required")
	case len(nd.Parties) > maxParties:
		e.Field("parties", "dispute.err.too_many_parties", maxParties)
	}
	out.Parties = make([]NewParty, 0, len(nd.Parties))
	for i, p := range nd.Parties {
		if i >= maxParties {
			break
		}
		f := "parties." + strconv.Itoa(i) + "."
		q := NewParty{Role: p.Role}
		if !contains(partyRoles, p.Role) {
			e.Field(f+"role", "dispute.err.party_role")
		}
		q.Name = checkText(e, f+"name", p.Name, maxName, true)
		if id := strings.TrimSpace(p.IDNumber); id != "" {
			canon, err := idcode.ResidentID(id, now)
			var bad *idcode.Error
			if errors.As(err, &bad) {
				e.Field(f+"id_number", bad.Key, bad.Args...)
			}
			q.IDNumber = canon
		}
		if ph := strings.TrimSpace(p.Phone); ph != "" {
			if !account.ValidPhone(ph) {
				e.Field(f+"phone", "field.phone_format")
			}
			q.Phone = ph
		}
		out.Parties = append(out.Parties, q)
	}
	return out
}

// CreateDispute registers a dispute (登记) in a grid of the caller's
// scope, with its parties, and counts it in the indicator facts.
func (s *Service) CreateDispute(ctx context.Context, c Caller, nd NewDispute) (_ *Dispute, err error) {
	defer errs.Wrapf(&err, "dispute.CreateDispute")
	id, err := s.register(ctx, c, KindDispute, nd.Region, func(e *errs.Error) { nd = nd.validate(s.d.DB.Now(), e) },
		func(tx *db.Tx, node *region.Node, district string, def *workflow.Definition) (int64, map[string]any, error) {
			var id int64
			if err := tx.QueryRow(ctx, `INSERT INTO disputes (district, region_code, region_path, type, title, description, status, workflow_version,
				created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id`,
				district, node.Code, node.Path, nd.Type, nd.Title, nd.Description, def.Initial, def.Version, c.UserID(), tx.Now()).Scan(&id); err != nil {
				return 0, nil, db.Translate(err)
			}
			for _, p := range nd.Parties {
				person, err := s.personOf(ctx, p.IDNumber)
				if err != nil {
					return 0, nil, err
				}
				if _, err := tx.Exec(ctx, `INSERT INTO dispute_parties (dispute_id, role, name, id_number, phone, person_id) VALUES ($1, $2, $3, $4, $5, $6)`,
					id, p.Role, p.Name, p.IDNumber, p.Phone, person); err != nil {
					return 0, nil, err
				}
			}
			return id, map[string]any{"type": nd.Type, "region": node.Code}, s.countFacts(ctx, tx, node.Path, nd.Type, tx.Now(), fact{registered: 1})
		}, nil)
	if err != nil {
		return nil, err
	}
	return s.GetDispute(ctx, c, id, false)
}

// register creates an item of kind in a grid of the caller's scope (only
// staff may; to anyone else it is NotFound): validate names the bad
// fields of the rest of the input, insert writes the item's rows in its
// initial state and returns its id and the details of its first step,
// which register records before starting the initial stage's clock.
func (s *Service) register(ctx context.Context, c Caller, kind, code string, validate func(*errs.Error),
	insert func(*db.Tx, *region.Node, string, *workflow.Definition) (int64, map[string]any, error), then func(*db.Tx, int64) error) (int64, error) {
	if !isStaff(c) {
		return 0, errs.E(errs.NotFound, kind+".not_found")
	}
	e := errs.E(errs.Invalid, "error.invalid")
	node := s.grid(ctx, c, code, e)
	validate(e)
	if len(e.Fields) > 0 {
		return 0, e
	}
	def, err := s.d.Workflows.Active(ctx, kind)
	if err != nil {
		return 0, err
	}
	district, err := s.district(ctx, node.Path)
	if err != nil {
		return 0, err
	}
	var id int64
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error {
		var data map[string]any
		var err error
		if id, data, err = insert(tx, node, district, def); err != nil {
			return err
		}
		it := &item{kind: kind, id: id, district: district, regionPath: node.Path, wfVersion: def.Version}
		if _, err := workflow.RecordStep(ctx, tx, workflow.StepRecord{Kind: kind, SubjectID: id, Ref: kind + ":" + strconv.FormatInt(id, 10),
			District: it.district, Action: "register", To: def.Initial, Actor: c.Actor(), UserID: c.UserID(), Data: data}); err != nil {
			return err
		}
		if err := s.enterStage(ctx, tx, def, it, def.Initial); err != nil {
			return err
		}
		if then != nil {
			return then(tx, id)
		}
		return nil
	})
	return id, err
}

// personOf is the registry's person with the identity number, or 0: the
// link is the disputes' own, so the look-up is not limited to the
// caller's scope (a party may live in another grid), and it reveals
// nothing but the id it stores.
func (s *Service) personOf(ctx context.Context, idNumber string) (int64, error) {
	if s.d.Registry == nil || idNumber == "" {
		return 0, nil
	}
	p, err := s.d.Registry.PersonByIDNumber(ctx, account.SystemScope(), idNumber)
	if errs.Is(err, errs.NotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return p.ID, nil
}

// isStaff reports whether c works disputes and hazards: the system, or a
// user holding one of the workflows' staff roles. Residents, party members
// and department handlers see none (NotFound).
func isStaff(c Caller) bool {
	if c.IsSystem() {
		return true
	}
	return CanWork(c.User)
}

// CanWork reports whether u works disputes and hazards: an enabled user
// holding one of the workflows' staff roles (grid worker, community and
// street staff, leader, admin). The navigation shows the pages to them.
func CanWork(u *account.User) bool {
	if u == nil || u.Disabled {
		return false
	}
	for _, r := range staffRoles() {
		if u.Has(account.Role(r)) {
			return true
		}
	}
	return false
}

const disputeCols = `id, district, region_code, region_path, type, title, description, status, workflow_version, version, created_by, mediator_id,
	agreement, agreed_at, referral, stage_due_at, sla_state, created_at, updated_at, closed_at`

type scanner interface{ Scan(...any) error }

func scanDispute(r scanner) (*Dispute, error) {
	var d Dispute
	var agreed, due, closed db.NullTime
	var created, updated db.Time
	if err := r.Scan(&d.ID, &d.District, &d.RegionCode, &d.RegionPath, &d.Type, &d.Title, &d.Description, &d.Status, &d.WorkflowVersion,
		&d.Version, &d.CreatedBy, &d.MediatorID, &d.Agreement, &agreed, &d.Referral, &due, &d.SLAState, &created, &updated, &closed); err != nil {
		return nil, err
	}
	d.CreatedAt, d.UpdatedAt = created.Time, updated.Time
	d.AgreedAt, d.StageDueAt, d.ClosedAt = ptr(agreed), ptr(due), ptr(closed)
	return &d, nil
}

// scoped returns the where clause of the rows of kind's table in the
// caller's scope (default deny; residents see none).
func scoped(c Caller) *db.Where {
	w := &db.Where{}
	if !isStaff(c) {
		w.Add("1 = 0")
		return w
	}
	c.Scope().Apply(w, account.Columns{Path: "region_path"})
	return w
}

// GetDispute returns a dispute of the caller's scope with its parties and
// sessions; anything else is NotFound. The parties' identity numbers and
// phones are masked unless reveal is set and the caller may see them
// (account.Store.Reveal, audited).
func (s *Service) GetDispute(ctx context.Context, c Caller, id int64, reveal bool) (_ *Dispute, err error) {
	defer errs.Wrapf(&err, "dispute.GetDispute(%d)", id)
	w := scoped(c)
	w.Add("id = ?", id)
	d, err := scanDispute(s.d.DB.QueryRow(ctx, `SELECT `+disputeCols+` FROM disputes`+w.SQL(), w.Args()...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "dispute.not_found")
	}
	if err != nil {
		return nil, db.Translate(err)
	}
	if d.Parties, err = s.parties(ctx, id); err != nil {
		return nil, err
	}
	if d.Sessions, err = s.sessions(ctx, id); err != nil {
		return nil, err
	}
	if reveal && s.d.Accounts != nil && c.User != nil {
		ok, err := s.d.Accounts.Reveal(ctx, c.User, c.Actor(), "dispute:"+strconv.FormatInt(id, 10), "parties.id_number", "parties.phone")
		if err != nil {
			return nil, err
		}
		d.Revealed = ok
	}
	if !d.Revealed {
		for i := range d.Parties {
			d.Parties[i].IDNumber = account.MaskIDNumber(d.Parties[i].IDNumber)
			d.Parties[i].Phone = account.MaskPhone(d.Parties[i].Phone)
		}
	}
	return d, nil
}

func (s *Service) parties(ctx context.Context, id int64) ([]Party, error) {
	rows, err := s.d.DB.Query(ctx, `SELECT id, role, name, id_number, phone, person_id FROM dispute_parties WHERE dispute_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	var out []Party
	for rows.Next() {
		var p Party
		if err := rows.Scan(&p.ID, &p.Role, &p.Name, &p.IDNumber, &p.Phone, &p.PersonID); err != nil {
			return nil, db.Translate(err)
		}
		out = append(out, p)
	}
	return out, db.Translate(rows.Err())
}

func (s *Service) sessions(ctx context.Context, id int64) ([]Session, error) {
	rows, err := s.d.DB.Query(ctx, `SELECT id, step_id, held_at, participants, notes, recorded_by FROM dispute_sessions WHERE dispute_id = $1 ORDER BY id`, id)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	var out []Session
	for rows.Next() {
		var x Session
		var held db.Time
		if err := rows.Scan(&x.ID, &x.StepID, &held, &x.Participants, &x.Notes, &x.RecordedBy); err != nil {
			return nil, db.Translate(err)
		}
		x.HeldAt = held.Time
		out = append(out, x)
	}
	return out, db.Translate(rows.Err())
}

// Filter narrows a list.
type Filter struct {
	Status string
	Type   string
	Limit  int
	Offset int
}

func (f Filter) where(w *db.Where) (limit int) {
	if f.Status != "" {
		w.Add("status = ?", f.Status)
	}
	if f.Type != "" {
		w.Add("type = ?", f.Type)
	}
	limit = f.Limit
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	return limit
}

// ListDisputes returns the disputes of the caller's scope, newest first,
// without parties, and how many match.
func (s *Service) ListDisputes(ctx context.Context, c Caller, f Filter) (_ []*Dispute, total int, err error) {
	defer errs.Wrapf(&err, "dispute.ListDisputes")
	return listItems(ctx, s.d.DB, c, f, "disputes", disputeCols, scanDispute)
}

// listItems lists the rows of table in the caller's scope, newest first,
// and counts the matches.
func listItems[T any](ctx context.Context, d *db.DB, c Caller, f Filter, table, cols string, scan func(scanner) (*T, error)) ([]*T, int, error) {
	w := scoped(c)
	limit := f.where(w)
	var total int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM `+table+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, db.Translate(err)
	}
	q := `SELECT ` + cols + ` FROM ` + table + w.SQL() + ` ORDER BY id DESC LIMIT ` + w.Arg(limit) + ` OFFSET ` + w.Arg(max(f.Offset, 0))
	rows, err := d.Query(ctx, q, w.Args()...)
	if err != nil {
		return nil, 0, db.Translate(err)
	}
	defer rows.Close()
	out := []*T{}
	for rows.Next() {
		x, err := scan(rows)
		if err != nil {
			return nil, 0, db.Translate(err)
		}
		out = append(out, x)
	}
	return out, total, db.Translate(rows.Err())
}

// DisputeTimeline returns the steps of a dispute of the caller's scope.
func (s *Service) DisputeTimeline(ctx context.Context, c Caller, id int64) (_ []workflow.Step, err error) {
	defer errs.Wrapf(&err, "dispute.DisputeTimeline(%d)", id)
	return s.timeline(ctx, c, KindDispute, id)
}

// timeline returns the steps of an item of kind in the caller's scope.
func (s *Service) timeline(ctx context.Context, c Caller, kind string, id int64) ([]workflow.Step, error) {
	w := scoped(c)
	w.Add("id = ?", id)
	var n int
	if err := s.d.DB.QueryRow(ctx, `SELECT COUNT(*) FROM `+table(kind)+w.SQL(), w.Args()...).Scan(&n); err != nil {
		return nil, db.Translate(err)
	}
	if n == 0 {
		return nil, errs.E(errs.NotFound, kind+".not_found")
	}
	return workflow.Steps(ctx, s.d.DB, kind, id)
}

// ActDispute takes action on a dispute of the caller's scope.
func (s *Service) ActDispute(ctx context.Context, c Caller, id int64, action string, in Input) (_ *Dispute, err error) {
	defer errs.Wrapf(&err, "dispute.ActDispute(%d, %s)", id, action)
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error { return s.actDispute(ctx, tx, c, id, action, in) })
	if err != nil {
		return nil, err
	}
	if c.IsSystem() {
		return nil, nil
	}
	return s.GetDispute(ctx, c, id, false)
}

func (s *Service) actDispute(ctx context.Context, tx *db.Tx, c Caller, id int64, action string, in Input) error {
	w := scoped(c)
	w.Add("id = ?", id)
	d, err := scanDispute(tx.QueryRow(ctx, `SELECT `+disputeCols+` FROM disputes`+w.SQL(), w.Args()...))
	if errors.Is(err, sql.ErrNoRows) {
		return errs.E(errs.NotFound, "dispute.not_found")
	}
	if err != nil {
		return db.Translate(err)
	}
	it := &item{kind: KindDispute, id: d.ID, district: d.District, regionPath: d.RegionPath, status: d.Status, wfVersion: d.WorkflowVersion,
		version: d.Version, relations: map[string]bool{"mediator": d.MediatorID != 0 && d.MediatorID == c.UserID()}}
	return s.act(ctx, tx, c, it, action, in, func(ctx context.Context, st *stepCtx) error { return s.disputeEffects(ctx, st, d) })
}

// disputeEffects applies a dispute step's effects to its rows.
func (s *Service) disputeEffects(ctx context.Context, st *stepCtx, d *Dispute) error {
	now := st.tx.Now()
	for _, eff := range st.plan.Action.Effects {
		switch eff {
		case "assign_mediator":
			st.upd.set("mediator_id", st.c.UserID())
			st.data["mediator"] = st.c.Actor().Name
		case "record_session":
			held := now
			if st.in.HeldAt != nil {
				held = st.in.HeldAt.UTC()
			}
			// The session is keyed to its timeline step once that is
			// recorded (after).
			var sid int64
			if err := st.tx.QueryRow(ctx, `INSERT INTO dispute_sessions (dispute_id, step_id, held_at, participants, notes, recorded_by)
				VALUES ($1, 0, $2, $3, $4, $5) RETURNING id`, d.ID, held, strings.TrimSpace(st.in.Participants), strings.TrimSpace(st.in.Notes), st.c.UserID()).Scan(&sid); err != nil {
				return db.Translate(err)
			}
			st.after = func(stepID int64) error {
				_, err := st.tx.Exec(ctx, `UPDATE dispute_sessions SET step_id = $1 WHERE id = $2`, stepID, sid)
				return err
			}
			st.data["participants"] = strings.TrimSpace(st.in.Participants)
			st.data["held_at"] = held.Format(time.RFC3339)
			if st.note == "" {
				st.note = strings.TrimSpace(st.in.Notes)
			}
		case "record_agreement":
			st.upd.set("agreement", strings.TrimSpace(st.in.Agreement))
			st.upd.set("agreed_at", now)
			if err := s.countFacts(ctx, st.tx, d.RegionPath, d.Type, now, fact{concluded: 1, agreed: 1}); err != nil {
				return err
			}
		case "arm_revisit":
			if err := timer.Arm(ctx, st.tx, timer.Key{Kind: revisitTimer, Subject: strconv.FormatInt(d.ID, 10), Name: "revisit"},
				now.Add(s.d.RevisitAfter), nil); err != nil {
				return err
			}
			st.data["revisit_due"] = now.Add(s.d.RevisitAfter).Format(time.RFC3339)
		case "conclude_failed":
			if err := s.countFacts(ctx, st.tx, d.RegionPath, d.Type, now, fact{concluded: 1}); err != nil {
				return err
			}
		case "record_referral":
			st.upd.set("referral", st.in.Referral)
			st.data["referral"] = st.in.Referral
		case "record_revisit":
			st.data["result"] = st.in.Result
			// A return visit made before its timer: the timer has
			// nothing left to do.
			if err := timer.Cancel(ctx, st.tx, timer.Key{Kind: revisitTimer, Subject: strconv.FormatInt(d.ID, 10), Name: "revisit"}); err != nil {
				return err
			}
		}
	}
	return nil
}

// The timers of this package besides the stage limits.
const (
	revisitTimer  = "dispute.revisit"
	deadlineTimer = "hazard.deadline"
)

// systemStep is the handler of a timer whose effect is a system step on
// its subject: act takes action on the subject inside the timer's
// transaction. A subject that moved on (the step no longer applies) or is
// gone is left alone: the timer had nothing left to do.
func systemStep(action string, act func(context.Context, *db.Tx, Caller, int64, string, Input) error) timer.Handler {
	return func(ctx context.Context, tx *db.Tx, t timer.Timer) error {
		id, err := strconv.ParseInt(t.Subject, 10, 64)
		if err != nil {
			return nil
		}
		err = act(ctx, tx, System(), id, action, Input{})
		if errs.Is(err, errs.Conflict) || errs.Is(err, errs.NotFound) {
			return nil
		}
		return err
	}
}

// fact is a change of a dispute's indicator facts.
type fact struct{ registered, concluded, agreed int }

// countFacts adds f to the facts of every region node of path, on the
// district's day of at, for the dispute type.
func (s *Service) countFacts(ctx context.Context, tx *db.Tx, path, typ string, at time.Time, f fact) error {
	day := at.In(s.d.Location).Format(time.DateOnly)
	for _, code := range region.PathCodes(path) {
		if _, err := tx.Exec(ctx, `INSERT INTO dispute_daily (region_code, day, type, registered, concluded, agreed) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (region_code, day, type) DO UPDATE SET registered = dispute_daily.registered + excluded.registered,
			concluded = dispute_daily.concluded + excluded.concluded, agreed = dispute_daily.agreed + excluded.agreed`,
			code, day, typ, f.registered, f.concluded, f.agreed); err != nil {
			return fmt.Errorf("dispute facts: %w", err)
		}
	}
	return nil
}

func ptr(n db.NullTime) *time.Time {
	if !n.Valid {
		return nil
	}
	t := n.Time
	return &t
}
