package casework

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
)

const caseCols = `c.id, c.number, c.district_code, c.workflow, c.status, c.prev_status, c.source, c.category_code, c.category_name,
	c.description, c.address, c.lat, c.lng, c.grid_code, c.community_code, c.street_code, c.region_path,
	COALESCE(c.reporter_id, 0), COALESCE(NULLIF(ru.display_name, ''), ru.username, ''), c.reporter_phone, c.anonymous, c.urgent, c.visibility,
	COALESCE(c.department_id, 0), COALESCE(d.code, ''), COALESCE(d.name, ''), COALESCE(c.assignee_id, 0), COALESCE(NULLIF(au.display_name, ''), au.username, ''),
	COALESCE(c.rating, 0), c.rating_comment, c.revisit_result, c.reopens, c.rework, c.returns, c.supervised,
	c.postpone_hours, c.postpone_reason, COALESCE(c.parent_id, 0), c.fields, c.tags, c.routed_department, c.version,
	c.created_at, c.updated_at, c.closed_at, c.deadline_at, c.sla_state, c.workflow_version`

const caseFrom = ` FROM cases c LEFT JOIN departments d ON d.id = c.department_id
	LEFT JOIN users au ON au.id = c.assignee_id LEFT JOIN users ru ON ru.id = c.reporter_id`

type scanner interface{ Scan(...any) error }

// setScanned sets the columns a scan reads into types of their own.
func (c *Case) setScanned(status, prev string, created, updated db.Time, closed, deadline db.NullTime) {
	c.Status, c.PrevStatus = State(status), State(prev)
	c.CreatedAt, c.UpdatedAt = created.Time, updated.Time
	if closed.Valid {
		c.ClosedAt = closed.Time
	}
	if deadline.Valid {
		c.DeadlineAt = deadline.Time
	}
}

func scanCase(sc scanner) (*Case, error) {
	var c Case
	var status, prev, fields, tags string
	var created, updated db.Time
	var closed, deadline db.NullTime
	err := sc.Scan(&c.ID, &c.Number, &c.District, &c.Workflow, &status, &prev, &c.Source, &c.CategoryCode, &c.CategoryName,
		&c.Description, &c.Address, &c.Lat, &c.Lng, &c.GridCode, &c.CommunityCode, &c.StreetCode, &c.RegionPath,
		&c.ReporterID, &c.ReporterName, &c.ReporterPhone, &c.Anonymous, &c.Urgent, &c.Visibility,
		&c.DepartmentID, &c.DepartmentCode, &c.DepartmentName, &c.AssigneeID, &c.AssigneeName,
		&c.Rating, &c.RatingComment, &c.RevisitResult, &c.Reopens, &c.Rework, &c.Returns, &c.Supervised,
		&c.PostponeHours, &c.PostponeReason, &c.ParentID, &fields, &tags, &c.RoutedDept, &c.Version,
		&created, &updated, &closed, &deadline, &c.SLAState, &c.WorkflowVersion)
	if err != nil {
		return nil, err
	}
	c.setScanned(status, prev, created, updated, closed, deadline)
	if err := decodeStored(fields, &c.Fields); err != nil {
		return nil, fmt.Errorf("case %d fields: %w", c.ID, err)
	}
	if tags != "" {
		c.Tags = strings.Split(tags, ",")
	}
	return &c, nil
}

// scanCases reads the cases of a query of caseCols and closes its rows.
func scanCases(rows *sql.Rows, err error) ([]*Case, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Case
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// get reads one case within scope; outside it the case does not exist.
func (s *Service) get(ctx context.Context, scope account.Scope, id int64) (*Case, error) {
	var w db.Where
	w.Add("c.id = ?", id)
	scope.Apply(&w, ScopeColumns("c"))
	c, err := scanCase(s.db.QueryRow(ctx, `SELECT `+caseCols+caseFrom+w.SQL(), w.Args()...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "case.not_found")
	}
	return c, err
}

// Get returns a case in the caller's data scope: the case a caller may
// act on. Following a case grants no more than View.
func (s *Service) Get(ctx context.Context, c Caller, id int64) (_ *Case, err error) {
	defer errs.Wrapf(&err, "casework.Service.Get")
	return s.get(ctx, c.Scope(), id)
}

// View returns a case the caller may read: one in their data scope, or one
// they follow (the parent of their merged duplicate, or a public case they
// chose to follow). A followed case outside the scope comes back with
// Followed set and reduced to what PublicView shows; Act and the other
// writes go through Get and so never reach it.
func (s *Service) View(ctx context.Context, c Caller, id int64) (_ *Case, err error) {
	defer errs.Wrapf(&err, "casework.Service.View")
	cs, err := s.get(ctx, c.Scope(), id)
	if !errs.Is(err, errs.NotFound) || c.User == nil {
		return cs, err
	}
	following, ferr := s.follows(ctx, c.User.ID, id)
	if ferr != nil {
		return nil, ferr
	}
	if following {
		cs, err = s.get(ctx, account.SystemScope(), id)
		if err == nil {
			cs = followedCase(cs)
		}
	}
	return cs, err
}

// followedCase keeps of c what PublicView shows and nothing else, so that
// no page or answer built from a followed case can show more than the
// public sees: no reporter, phone, extra fields, assignee, rating comment,
// revisit result, postponement or routing.
func followedCase(c *Case) *Case {
	return &Case{ID: c.ID, Number: c.Number, District: c.District, Workflow: c.Workflow, Status: c.Status, Source: c.Source,
		CategoryCode: c.CategoryCode, CategoryName: c.CategoryName, Description: c.Description, Address: c.Address,
		Lat: c.Lat, Lng: c.Lng, GridCode: c.GridCode, CommunityCode: c.CommunityCode, StreetCode: c.StreetCode, RegionPath: c.RegionPath,
		Urgent: c.Urgent, Visibility: c.Visibility, DepartmentID: c.DepartmentID, DepartmentCode: c.DepartmentCode, DepartmentName: c.DepartmentName,
		Followed: true, Rating: c.Rating, Reopens: c.Reopens, Rework: c.Rework, Returns: c.Returns, Supervised: c.Supervised,
		ParentID: c.ParentID, Fields: map[string]string{}, Version: c.Version, WorkflowVersion: c.WorkflowVersion, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		ClosedAt: c.ClosedAt, DeadlineAt: c.DeadlineAt, SLAState: c.SLAState}
}

// follows reports whether the user follows the case. A failed read is an
// error, not "not following": a database fault must not pass for a 404.
func (s *Service) follows(ctx context.Context, userID, caseID int64) (bool, error) {
	var n int
	err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM case_followers WHERE user_id = $1 AND case_id = $2`, userID, caseID).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("casework: follows: %w", err)
	}
	return n > 0, nil
}

// decodeStored decodes a JSON column written by this package; "" is an
// empty value. A column that does not decode is corrupt, and reading it
// fails rather than showing the case or step without its data.
func decodeStored(s string, v any) error {
	if s == "" {
		return nil
	}
	return json.Unmarshal([]byte(s), v)
}

// Filter selects cases for lists and queues.
type Filter struct {
	Status     []State
	Category   string // a category code: itself and its subcategories (prefix)
	Region     string // a region code: its subtree
	Source     string
	Q          string // text in description, address or number
	From, To   time.Time
	Assignee   int64
	Department int64
	Supervised bool
	// Postpone selects cases with a pending postponement request.
	Postpone bool
	Mine     bool // reported by the caller
	// SLA selects by time-limit state: ok, warning, overdue, paused, none.
	SLA []string
	// IDs and Numbers select exact cases (Open311's service_request_id).
	IDs     []int64
	Numbers []string
	// Categories selects any of these category codes exactly.
	Categories []string
	// Open selects open (true) or finished (false) cases.
	Open *bool
	// PublicOnly keeps public cases only.
	PublicOnly bool
	// UpdatedFrom selects cases changed since then.
	UpdatedFrom time.Time
	// Near orders the cases by distance from a point (lat, lng), nearest
	// first, instead of newest first; such a list has no next page.
	Near   *[2]float64
	Before int64
	Limit  int
	// Sort is one of ListSortKeys, "-" first for descending; "" is newest
	// first. A sorted list pages by Offset, not by Before.
	Sort string
	// Offset skips that many cases, for numbered pages.
	Offset int
}

// listSortCols maps each key of Filter.Sort to its column: the whitelist.
// A case without a deadline sorts after those with one either way.
var listSortCols = map[string]string{"number": "c.number", "created": "c.id", "status": "c.status",
	"category": "c.category_code", "deadline": "c.deadline_at IS NULL, c.deadline_at", "grid": "c.grid_code"}

// ListSortKeys lists the keys Filter.Sort accepts.
func ListSortKeys() []string {
	return []string{"number", "created", "status", "category", "deadline", "grid"}
}

// listOrder is the ORDER BY of f.Sort, ties broken by id; an unknown key
// is Invalid on field sort.
func listOrder(sort string) (string, error) {
	if sort == "" {
		return " ORDER BY c.id DESC", nil
	}
	clause, ok := db.OrderBy(sort, listSortCols, "c.id DESC")
	if !ok {
		return "", errs.E(errs.Invalid, "error.invalid").Field("sort", "field.unknown_sort", sort)
	}
	return clause, nil
}

// Count returns how many cases List would return over all its pages for
// f (its Before, Sort, Limit and Offset aside): the total of a list. It
// reads through the same condition as List, scope included.
func (s *Service) Count(ctx context.Context, c Caller, f Filter) (_ int, err error) {
	defer errs.Wrapf(&err, "casework.Service.Count")
	f.Before = 0
	w := listWhere(c, f)
	var n int
	err = s.db.QueryRow(ctx, `SELECT COUNT(*) FROM cases c`+w.SQL(), w.Args()...).Scan(&n)
	return n, err
}

// List returns cases in the caller's scope, newest first or in f.Sort's
// order, from f.Offset on, and the cursor for the next page (0 when there
// is none, and for a sorted or nearest-first list, which pages by offset).
func (s *Service) List(ctx context.Context, c Caller, f Filter) (_ []*Case, _ int64, err error) {
	defer errs.Wrapf(&err, "casework.Service.List")
	order, err := listOrder(f.Sort)
	if err != nil {
		return nil, 0, err
	}
	w := listWhere(c, f)
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	if f.Near != nil {
		// Squared distance on a local plane: a degree of longitude is
		// cos(lat) of a degree of latitude; enough to rank a district.
		k := math.Cos(f.Near[0] * math.Pi / 180)
		lat, lng, kk := w.Arg(f.Near[0]), w.Arg(f.Near[1]), w.Arg(k*k)
		order = " ORDER BY (c.lat - " + lat + ")*(c.lat - " + lat + ") + (c.lng - " + lng + ")*(c.lng - " + lng + ")*" + kk + ", c.id DESC"
	}
	rows, err := s.db.Query(ctx, `SELECT `+caseCols+caseFrom+w.SQL()+order+` LIMIT `+strconv.Itoa(limit+1)+
		` OFFSET `+strconv.Itoa(max(f.Offset, 0)), w.Args()...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []*Case
	for rows.Next() {
		cs, err := scanCase(rows)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, cs)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		if f.Near == nil && f.Sort == "" {
			next = out[limit-1].ID
		}
	}
	return out, next, nil
}

// listWhere is the condition of List and Count, the caller's scope first:
// the one place that decides which cases a list may show.
func listWhere(c Caller, f Filter) db.Where {
	var w db.Where
	c.Scope().Apply(&w, ScopeColumns("c"))
	if len(f.Status) > 0 {
		ph := make([]string, len(f.Status))
		args := make([]any, len(f.Status))
		for i, st := range f.Status {
			ph[i], args[i] = "?", string(st)
		}
		w.Add("c.status IN ("+strings.Join(ph, ",")+")", args...)
	}
	if f.Category != "" {
		w.Add("c.category_code LIKE ?", strings.NewReplacer("%", "", "_", "").Replace(f.Category)+"%")
	}
	if f.Region != "" {
		w.Add("c.region_path LIKE ?", "%/"+f.Region+"/%")
	}
	if f.Source != "" {
		w.Add("c.source = ?", f.Source)
	}
	if q := strings.TrimSpace(f.Q); q != "" {
		like := "%" + strings.NewReplacer("%", "", "_", "").Replace(q) + "%"
		w.Add("(c.description LIKE ? OR c.address LIKE ? OR c.number LIKE ?)", like, like, like)
	}
	if !f.From.IsZero() {
		w.Add("c.created_at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		w.Add("c.created_at < ?", f.To.UTC())
	}
	if f.Assignee != 0 {
		w.Add("c.assignee_id = ?", f.Assignee)
	}
	if f.Department != 0 {
		w.Add("c.department_id = ?", f.Department)
	}
	if f.Supervised {
		w.Add("c.supervised = ?", true)
	}
	if f.Postpone {
		w.Add("c.postpone_hours > ?", 0)
	}
	if f.Mine {
		w.Add("c.reporter_id = ?", c.id())
	}
	in := func(col string, vals []any) {
		ph := make([]string, len(vals))
		for i := range vals {
			ph[i] = "?"
		}
		w.Add(col+" IN ("+strings.Join(ph, ",")+")", vals...)
	}
	if len(f.SLA) > 0 {
		vals := make([]any, len(f.SLA))
		for i, v := range f.SLA {
			vals[i] = v
		}
		in("c.sla_state", vals)
	}
	if len(f.IDs) > 0 {
		vals := make([]any, len(f.IDs))
		for i, v := range f.IDs {
			vals[i] = v
		}
		in("c.id", vals)
	}
	if len(f.Numbers) > 0 {
		vals := make([]any, len(f.Numbers))
		for i, v := range f.Numbers {
			vals[i] = v
		}
		in("c.number", vals)
	}
	if len(f.Categories) > 0 {
		vals := make([]any, len(f.Categories))
		for i, v := range f.Categories {
			vals[i] = v
		}
		in("c.category_code", vals)
	}
	if f.Open != nil {
		if *f.Open {
			w.Add(OpenSQL("c.status"))
		} else {
			w.Add(TerminalSQL("c.status"))
		}
	}
	if f.PublicOnly {
		w.Add("c.visibility = 'public'")
	}
	if !f.UpdatedFrom.IsZero() {
		w.Add("c.updated_at >= ?", f.UpdatedFrom.UTC())
	}
	if f.Before > 0 {
		w.Add("c.id < ?", f.Before)
	}
	return w
}

// Timeline returns a case's steps, oldest first, with their photos. With
// publicOnly, and always for a follower outside the case's scope, only the
// public steps come back, stripped as PublicView strips them (no actor).
func (s *Service) Timeline(ctx context.Context, c Caller, id int64, publicOnly bool) (_ []Event, err error) {
	defer errs.Wrapf(&err, "casework.Service.Timeline")
	tl, _, err := s.TimelineFor(ctx, c, id, publicOnly)
	return tl, err
}

// TimelineFor is Timeline, and whether the steps are the public
// projection's (publicOnly, or a follower outside the scope): then show
// them as PublicView's steps.
func (s *Service) TimelineFor(ctx context.Context, c Caller, id int64, publicOnly bool) (_ []Event, public bool, err error) {
	defer errs.Wrapf(&err, "casework.Service.TimelineFor")
	cs, err := s.View(ctx, c, id)
	if err != nil {
		return nil, false, err
	}
	// A follower outside the scope sees what the public sees.
	public = publicOnly || cs.Followed
	tl, err := s.timeline(ctx, id, public)
	if err != nil {
		return nil, false, err
	}
	if public {
		tl = publicEvents(tl)
	}
	return tl, public, nil
}

func (s *Service) timeline(ctx context.Context, id int64, publicOnly bool) ([]Event, error) {
	q := `SELECT id, at, COALESCE(actor_id, 0), actor_name, role, action, from_status, to_status, note, data, public FROM case_events WHERE case_id = $1`
	args := []any{id}
	if publicOnly {
		q += ` AND public = $2`
		args = append(args, true)
	}
	rows, err := s.db.Query(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	byID := map[int64]int{}
	for rows.Next() {
		var e Event
		var at db.Time
		var action, from, to, data string
		if err := rows.Scan(&e.ID, &at, &e.ActorID, &e.ActorName, &e.Role, &action, &from, &to, &e.Note, &data, &e.Public); err != nil {
			return nil, err
		}
		e.At, e.Action, e.FromStatus, e.ToStatus = at.Time, Action(action), State(from), State(to)
		if err := decodeStored(data, &e.Data); err != nil {
			return nil, fmt.Errorf("case event %d data: %w", e.ID, err)
		}
		byID[e.ID] = len(out)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	photos, err := s.photos(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, p := range photos {
		if i, ok := byID[p.EventID]; ok {
			out[i].Photos = append(out[i].Photos, p)
		}
	}
	return out, nil
}

// PublicEvent is a public step of a public case, for feeds such as
// Open311's servicerequestupdates.
type PublicEvent struct {
	Event
	CaseID     int64
	CaseNumber string
	Status     State // the case's status after the step
}

// publicEventsQuery is PublicEvents' query. Its condition on public is the
// literal one of the partial index case_events_public_at, which holds the
// public steps only: with a bound parameter, a plan made without its value
// (PostgreSQL's generic plan of a prepared statement) could not use it.
func publicEventsQuery(from, to time.Time, limit int) (string, []any) {
	var w db.Where
	w.Add("e.public = TRUE")
	w.Add("c.visibility = 'public'")
	if !from.IsZero() {
		w.Add("e.at >= ?", from.UTC())
	}
	if !to.IsZero() {
		w.Add("e.at < ?", to.UTC())
	}
	return `SELECT e.id, e.at, e.role, e.action, e.from_status, e.to_status, e.note, e.data, c.id, c.number
		FROM case_events e JOIN cases c ON c.id = e.case_id` + w.SQL() + ` ORDER BY e.at, e.id LIMIT ` + strconv.Itoa(limit), w.Args()
}

// PublicEvents lists public steps of public cases in [from, to), oldest
// first, at most limit.
func (s *Service) PublicEvents(ctx context.Context, from, to time.Time, limit int) (_ []PublicEvent, err error) {
	defer errs.Wrapf(&err, "casework.Service.PublicEvents")
	if limit <= 0 || limit > 5000 {
		limit = 1000
	}
	q, args := publicEventsQuery(from, to, limit)
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []PublicEvent
	for rows.Next() {
		var e PublicEvent
		var at db.Time
		var action, from, to, data string
		if err := rows.Scan(&e.ID, &at, &e.Role, &action, &from, &to, &e.Note, &data, &e.CaseID, &e.CaseNumber); err != nil {
			return nil, err
		}
		e.At, e.Action, e.FromStatus, e.ToStatus, e.Public = at.Time, Action(action), State(from), State(to), true
		e.Status = e.ToStatus
		if err := decodeStored(data, &e.Data); err != nil {
			return nil, fmt.Errorf("case event %d data: %w", e.ID, err)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}
