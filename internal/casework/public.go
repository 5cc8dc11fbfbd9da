package casework

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
)

// publicCase returns a case if it is public; private cases do not exist
// for the public.
func (s *Service) publicCase(ctx context.Context, id int64) (*Case, error) {
	c, err := scanCase(s.db.QueryRow(ctx, `SELECT `+caseCols+caseFrom+` WHERE c.id = $1 AND c.visibility = 'public'`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "case.not_found")
	}
	return c, err
}

// PublicCase returns a public case and its public timeline, each step
// already stripped as the public projection strips it (publicEvent). The
// case itself is whole: show it only through Public.
func (s *Service) PublicCase(ctx context.Context, id int64) (_ *Case, _ []Event, err error) {
	defer errs.Wrapf(&err, "casework.Service.PublicCase")
	c, err := s.publicCase(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	tl, err := s.timeline(ctx, id, true)
	return c, publicEvents(tl), err
}

// PublicView is the one projection of a case for everyone outside its data
// scope: the public (the map, the public case page and API) and followers.
// It names no one: no reporter, phone or extra fields (which may hold a
// name or a plate), no rating comment or revisit result, and no actor on
// any step. Staff in scope read the whole Case instead. TestPublicViewFields
// lists every JSON key it may have: a new field must be added there, on
// purpose.
type PublicView struct {
	ID          int64             `json:"id"`
	Number      string            `json:"number"`
	Status      State             `json:"status"`
	Workflow    string            `json:"workflow"`
	Category    PublicCategory    `json:"category"`
	Description string            `json:"description"`
	Address     string            `json:"address"`
	Location    PublicPoint       `json:"location"`
	Region      PublicRegion      `json:"region"`
	Source      string            `json:"source"`
	Urgent      bool              `json:"urgent"`
	Visibility  string            `json:"visibility"`
	Department  *PublicDepartment `json:"department,omitempty"`
	Rating      *int              `json:"rating,omitempty"`
	Reopens     int               `json:"reopens"`
	Rework      int               `json:"rework"`
	Returns     int               `json:"returns"`
	Supervised  bool              `json:"supervised"`
	ParentID    int64             `json:"parent_id,omitempty"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
	ClosedAt    *time.Time        `json:"closed_at,omitempty"`
	// Deadline is the current stage's deadline, RFC 3339 at +08:00.
	Deadline string `json:"deadline,omitempty"`
	// SLA is the time-limit state: ok, warning, overdue or paused.
	SLA      string       `json:"sla,omitempty"`
	Timeline []PublicStep `json:"timeline,omitempty"`
}

// PublicCategory is a case's category in PublicView.
type PublicCategory struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// PublicPoint is a case's location (WGS-84) in PublicView.
type PublicPoint struct {
	Lat float64 `json:"lat"`
	Lng float64 `json:"lng"`
}

// PublicRegion is where a case lies in PublicView.
type PublicRegion struct {
	Grid      region.Ref `json:"grid"`
	Community region.Ref `json:"community"`
	Street    region.Ref `json:"street"`
}

// PublicDepartment is the department handling a case in PublicView.
type PublicDepartment struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// PublicStep is a timeline step in PublicView: the role that acted, never
// who.
type PublicStep struct {
	ID     int64          `json:"id"`
	At     time.Time      `json:"at"`
	Role   string         `json:"role"`
	Action Action         `json:"action"`
	From   State          `json:"from,omitempty"`
	To     State          `json:"to,omitempty"`
	Note   string         `json:"note,omitempty"`
	Data   map[string]any `json:"data,omitempty"`
	Photos []Photo        `json:"photos,omitempty"`
}

// publicDataKeys are the keys of a step's data the projection keeps; any
// other key (claimant and target_user name people) is left out.
var publicDataKeys = map[string]bool{DataSource: true, DataCategory: true, DataStars: true, DataPassed: true, DataHours: true,
	DataDeadline: true, DataReason: true, DataParent: true, DataTargetDepartment: true, DataTargetDepartmentName: true}

// publicEvent strips a step as the projection shows it: no actor, only
// publicDataKeys, and no note on a resident's own step (a rating comment
// may name its author).
func publicEvent(e Event) Event {
	e.ActorID, e.ActorName = 0, ""
	if e.Role == string(account.Resident) || e.Role == "anonymous" {
		e.Note = ""
	}
	var data map[string]any
	for k, v := range e.Data {
		if publicDataKeys[k] {
			if data == nil {
				data = map[string]any{}
			}
			data[k] = v
		}
	}
	e.Data = data
	return e
}

func publicEvents(tl []Event) []Event {
	out := make([]Event, 0, len(tl))
	for _, e := range tl {
		if e.Public {
			out = append(out, publicEvent(e))
		}
	}
	return out
}

// Public projects c and its timeline tl (its public steps are kept) into
// the PublicView.
func (s *Service) Public(c *Case, tl []Event) PublicView {
	v := PublicView{ID: c.ID, Number: c.Number, Status: c.Status, Workflow: c.Workflow,
		Category:    PublicCategory{Code: c.CategoryCode, Name: c.CategoryName},
		Description: c.Description, Address: c.Address, Location: PublicPoint{Lat: c.Lat, Lng: c.Lng}, Source: c.Source,
		Urgent: c.Urgent, Visibility: c.Visibility, Reopens: c.Reopens, Rework: c.Rework, Returns: c.Returns,
		Supervised: c.Supervised, ParentID: c.ParentID, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	if loc, ok := s.regions.Locator().Grid(c.GridCode); ok {
		v.Region = PublicRegion{Grid: loc.Grid, Community: loc.At(region.Community), Street: loc.At(region.Street)}
	} else {
		v.Region = PublicRegion{Grid: region.Ref{Code: c.GridCode, Level: region.Grid}, Community: region.Ref{Code: c.CommunityCode, Level: region.Community},
			Street: region.Ref{Code: c.StreetCode, Level: region.Street}}
	}
	if c.DepartmentCode != "" {
		v.Department = &PublicDepartment{Code: c.DepartmentCode, Name: c.DepartmentName}
	}
	if c.Rating > 0 {
		r := c.Rating
		v.Rating = &r
	}
	if !c.ClosedAt.IsZero() {
		t := c.ClosedAt
		v.ClosedAt = &t
	}
	if !c.DeadlineAt.IsZero() {
		v.Deadline = c.DeadlineAt.In(s.loc).Format(time.RFC3339)
	}
	if c.SLAState != "" && c.SLAState != "none" {
		v.SLA = c.SLAState
	}
	v.Timeline = PublicSteps(tl)
	return v
}

// PublicSteps turns public steps (from TimelineFor) into PublicView's.
func PublicSteps(tl []Event) []PublicStep {
	out := make([]PublicStep, 0, len(tl))
	for _, e := range publicEvents(tl) {
		out = append(out, PublicStep{ID: e.ID, At: e.At, Role: e.Role, Action: e.Action, From: e.FromStatus, To: e.ToStatus,
			Note: e.Note, Data: e.Data, Photos: e.Photos})
	}
	return out
}

// PublicList lists public cases inside a bounding box (a map view), newest first.
func (s *Service) PublicList(ctx context.Context, minLat, minLng, maxLat, maxLng float64, open bool, limit int) (_ []*Case, err error) {
	defer errs.Wrapf(&err, "casework.Service.PublicList")
	if limit <= 0 || limit > 500 {
		limit = 200
	}
	var w db.Where
	w.Add("c.visibility = 'public'")
	w.Add("c.lat BETWEEN ? AND ?", minLat, maxLat)
	w.Add("c.lng BETWEEN ? AND ?", minLng, maxLng)
	// Deliberately unscoped: only public cases, and the web layer sends no personal data.
	if open {
		w.Add(OpenSQL("c.status"))
	}
	return scanCases(s.db.Query(ctx, `SELECT `+caseCols+caseFrom+w.SQL()+` ORDER BY c.id DESC LIMIT `+strconv.Itoa(limit), w.Args()...))
}
