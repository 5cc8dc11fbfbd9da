package dispute

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/region"
	"whistle/internal/timer"
	"whistle/internal/workflow"
)

// The hazard types (隐患类型): labels in the catalogue as
// hazard.type.<code>.
var hazardTypes = []string{"fire", "gas", "electric", "building", "traffic", "production", "other"}

// HazardTypes lists the hazard type codes, in display order.
func HazardTypes() []string { return append([]string(nil), hazardTypes...) }

// Hazard is a safety hazard (安全隐患).
type Hazard struct {
	ID              int64      `json:"id"`
	District        string     `json:"district"`
	RegionCode      string     `json:"region"`
	RegionPath      string     `json:"-"`
	Type            string     `json:"type"`
	Title           string     `json:"title"`
	Description     string     `json:"description,omitempty"`
	Place           string     `json:"place,omitempty"`
	Source          string     `json:"source"`
	VisitID         int64      `json:"visit_id,omitempty"`
	PatrolID        int64      `json:"patrol_id,omitempty"`
	OrgID           int64      `json:"org_id,omitempty"`
	HouseID         int64      `json:"house_id,omitempty"`
	Status          string     `json:"status"`
	WorkflowVersion int        `json:"workflow_version"`
	Version         int        `json:"version"`
	CreatedBy       int64      `json:"created_by"`
	DeadlineAt      *time.Time `json:"deadline_at,omitempty"`
	Escalations     int        `json:"escalations"`
	// EscalatedTo is the region node the hazard was last escalated to.
	EscalatedTo string     `json:"escalated_to,omitempty"`
	Rechecks    int        `json:"rechecks"`
	StageDueAt  *time.Time `json:"stage_due_at,omitempty"`
	SLAState    string     `json:"sla_state"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
}

// NewHazard is a hazard as registered: found on a visit or a patrol (its
// id) or directly, at an organisation or a house (the registry's ids) or
// a place described in words.
type NewHazard struct {
	Region      string `json:"region"`
	Type        string `json:"type"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Place       string `json:"place"`
	VisitID     int64  `json:"visit_id"`
	PatrolID    int64  `json:"patrol_id"`
	OrgID       int64  `json:"org_id"`
	HouseID     int64  `json:"house_id"`
	// Deadline, when set, orders the rectification (整改) by then in the
	// registering transaction: the hazard starts rectifying.
	Deadline *time.Time `json:"deadline,omitempty"`
}

func (nh NewHazard) validate(e *errs.Error) (NewHazard, string) {
	out := nh
	out.Title = checkText(e, "title", nh.Title, maxTitle, true)
	out.Description = checkText(e, "description", nh.Description, maxDescription, false)
	out.Place = checkText(e, "place", nh.Place, maxPlace, false)
	switch {
	case nh.Type == "":
		e.Field("type", "field.required")
	case !contains(hazardTypes, nh.Type):
		e.Field("type", "hazard.err.type")
	}
	for f, v := range map[string]int64{"visit_id": nh.VisitID, "patrol_id": nh.PatrolID, "org_id": nh.OrgID, "house_id": nh.HouseID} {
		if v < 0 {
			e.Field(f, "dispute.err.bad_id")
		}
	}
	if nh.VisitID > 0 && nh.PatrolID > 0 {
		e.Field("patrol_id", "hazard.err.one_source")
	}
	if nh.OrgID > 0 && nh.HouseID > 0 {
		e.Field("house_id", "hazard.err.one_place")
	}
	source := "direct"
	switch {
	case nh.VisitID > 0:
		source = "visit"
	case nh.PatrolID > 0:
		source = "patrol"
	}
	return out, source
}

// checkPlace refuses an organisation or a house that the registry does
// not hold in the caller's scope (when the registry is wired), unless the
// field is refused already.
func (s *Service) checkPlace(ctx context.Context, c Caller, nh NewHazard, e *errs.Error) {
	if s.d.Registry == nil {
		return
	}
	if _, bad := e.Fields["org_id"]; !bad && nh.OrgID > 0 {
		if _, err := s.d.Registry.Organisation(ctx, c.Scope(), nh.OrgID); err != nil {
			e.Field("org_id", "hazard.err.org_unknown", nh.OrgID)
		}
	}
	if _, bad := e.Fields["house_id"]; !bad && nh.HouseID > 0 {
		if _, err := s.d.Registry.House(ctx, c.Scope(), nh.HouseID); err != nil {
			e.Field("house_id", "hazard.err.house_unknown", nh.HouseID)
		}
	}
}

// CreateHazard registers a hazard in a grid of the caller's scope.
func (s *Service) CreateHazard(ctx context.Context, c Caller, nh NewHazard) (_ *Hazard, err error) {
	defer errs.Wrapf(&err, "dispute.CreateHazard")
	var source string
	id, err := s.register(ctx, c, KindHazard, nh.Region, func(e *errs.Error) {
		nh, source = nh.validate(e)
		s.checkPlace(ctx, c, nh, e)
		if now := s.d.DB.Now(); nh.Deadline != nil && (!nh.Deadline.After(now) || nh.Deadline.After(now.Add(maxDeadline))) {
			e.Field("deadline", "dispute.err.deadline")
		}
	},
		func(tx *db.Tx, node *region.Node, district string, def *workflow.Definition) (int64, map[string]any, error) {
			var id int64
			err := tx.QueryRow(ctx, `INSERT INTO hazards (district, region_code, region_path, type, title, description, place, source, visit_id, patrol_id,
				org_id, house_id, status, workflow_version, created_by, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) RETURNING id`,
				district, node.Code, node.Path, nh.Type, nh.Title, nh.Description, nh.Place, source, nh.VisitID, nh.PatrolID,
				nh.OrgID, nh.HouseID, def.Initial, def.Version, c.UserID(), tx.Now()).Scan(&id)
			return id, map[string]any{"type": nh.Type, "region": node.Code, "source": source}, db.Translate(err)
		}, func(tx *db.Tx, id int64) error {
			if nh.Deadline == nil {
				return nil
			}
			return s.actHazard(ctx, tx, c, id, "order", Input{Deadline: nh.Deadline})
		})
	if err != nil {
		return nil, err
	}
	return s.GetHazard(ctx, c, id)
}

const hazardCols = `id, district, region_code, region_path, type, title, description, place, source, visit_id, patrol_id, org_id, house_id,
	status, workflow_version, version, created_by, deadline_at, escalations, escalated_path, rechecks, stage_due_at, sla_state, created_at, updated_at, closed_at`

func scanHazard(r scanner) (*Hazard, error) {
	var h Hazard
	var deadline, due, closed db.NullTime
	var created, updated db.Time
	var escalated string
	if err := r.Scan(&h.ID, &h.District, &h.RegionCode, &h.RegionPath, &h.Type, &h.Title, &h.Description, &h.Place, &h.Source, &h.VisitID,
		&h.PatrolID, &h.OrgID, &h.HouseID, &h.Status, &h.WorkflowVersion, &h.Version, &h.CreatedBy, &deadline, &h.Escalations, &escalated,
		&h.Rechecks, &due, &h.SLAState, &created, &updated, &closed); err != nil {
		return nil, err
	}
	if codes := region.PathCodes(escalated); len(codes) > 0 {
		h.EscalatedTo = codes[len(codes)-1]
	}
	h.CreatedAt, h.UpdatedAt = created.Time, updated.Time
	h.DeadlineAt, h.StageDueAt, h.ClosedAt = ptr(deadline), ptr(due), ptr(closed)
	return &h, nil
}

// GetHazard returns a hazard of the caller's scope; anything else is
// NotFound.
func (s *Service) GetHazard(ctx context.Context, c Caller, id int64) (_ *Hazard, err error) {
	defer errs.Wrapf(&err, "dispute.GetHazard(%d)", id)
	return s.hazard(ctx, s.d.DB, c, id)
}

func (s *Service) hazard(ctx context.Context, q interface {
	QueryRow(ctx context.Context, q string, args ...any) *sql.Row
}, c Caller, id int64) (*Hazard, error) {
	w := scoped(c)
	w.Add("id = ?", id)
	h, err := scanHazard(q.QueryRow(ctx, `SELECT `+hazardCols+` FROM hazards`+w.SQL(), w.Args()...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "hazard.not_found")
	}
	return h, db.Translate(err)
}

// ListHazards returns the hazards of the caller's scope, newest first, and
// how many match.
func (s *Service) ListHazards(ctx context.Context, c Caller, f Filter) (_ []*Hazard, total int, err error) {
	defer errs.Wrapf(&err, "dispute.ListHazards")
	return listItems(ctx, s.d.DB, c, f, "hazards", hazardCols, scanHazard)
}

// HazardTimeline returns the steps of a hazard of the caller's scope.
func (s *Service) HazardTimeline(ctx context.Context, c Caller, id int64) (_ []workflow.Step, err error) {
	defer errs.Wrapf(&err, "dispute.HazardTimeline(%d)", id)
	return s.timeline(ctx, c, KindHazard, id)
}

// ActHazard takes action on a hazard of the caller's scope.
func (s *Service) ActHazard(ctx context.Context, c Caller, id int64, action string, in Input) (_ *Hazard, err error) {
	defer errs.Wrapf(&err, "dispute.ActHazard(%d, %s)", id, action)
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error { return s.actHazard(ctx, tx, c, id, action, in) })
	if err != nil {
		return nil, err
	}
	if c.IsSystem() {
		return nil, nil
	}
	return s.GetHazard(ctx, c, id)
}

func (s *Service) actHazard(ctx context.Context, tx *db.Tx, c Caller, id int64, action string, in Input) error {
	h, err := s.hazard(ctx, tx, c, id)
	if err != nil {
		return err
	}
	it := &item{kind: KindHazard, id: h.ID, district: h.District, regionPath: h.RegionPath, status: h.Status, wfVersion: h.WorkflowVersion, version: h.Version}
	return s.act(ctx, tx, c, it, action, in, func(ctx context.Context, st *stepCtx) error { return s.hazardEffects(ctx, st, h) })
}

// hazardEffects applies a hazard step's effects to its rows.
func (s *Service) hazardEffects(ctx context.Context, st *stepCtx, h *Hazard) error {
	key := timer.Key{Kind: deadlineTimer, Subject: strconv.FormatInt(h.ID, 10), Name: "deadline"}
	for _, eff := range st.plan.Action.Effects {
		switch eff {
		case "set_deadline":
			due := st.in.Deadline.UTC().Truncate(time.Second)
			st.upd.set("deadline_at", due)
			st.data["deadline"] = due.Format(time.RFC3339)
			if err := timer.Arm(ctx, st.tx, key, due, nil); err != nil {
				return err
			}
		case "clear_deadline":
			if err := timer.Cancel(ctx, st.tx, key); err != nil {
				return err
			}
		case "count_recheck":
			st.upd.set("rechecks", h.Rechecks+1)
			st.data["passed"] = st.in.Passed != nil && *st.in.Passed
		case "escalate":
			if err := s.escalate(ctx, st, h); err != nil {
				return err
			}
		}
	}
	return nil
}

// escalate reports a hazard to the level above the one it was last at
// (first the grid's community, then the street, then the district, which
// stays the top), and names that level's staff on the feed event so that
// the notifications tell them.
func (s *Service) escalate(ctx context.Context, st *stepCtx, h *Hazard) error {
	from := h.RegionPath
	if h.EscalatedTo != "" {
		from = parentPath(h.RegionPath, h.EscalatedTo) + h.EscalatedTo + "/"
	}
	to := from
	if codes := region.PathCodes(from); len(codes) > 2 {
		to = parentPath(from, codes[len(codes)-1])
	}
	codes := region.PathCodes(to)
	code := codes[len(codes)-1]
	st.upd.set("escalations", h.Escalations+1)
	st.upd.set("escalated_path", to)
	st.data["escalated_to"] = code
	if h.DeadlineAt != nil {
		st.data["deadline"] = h.DeadlineAt.UTC().Format(time.RFC3339)
	}
	var notify []int64
	for _, r := range []account.Role{account.CommunityStaff, account.StreetStaff, account.Leader} {
		ids, err := account.UsersWithRole(ctx, st.tx, r, account.AtRegion(code))
		if err != nil {
			return err
		}
		notify = append(notify, ids...)
	}
	st.private = map[string]any{"notify": notify, "region": code}
	return nil
}

// parentPath is the path of the node above code in path, which holds it.
func parentPath(path, code string) string {
	codes := region.PathCodes(path)
	p := ""
	for _, c := range codes {
		if c == code {
			break
		}
		p = region.ChildPath(p, c)
	}
	return p
}
