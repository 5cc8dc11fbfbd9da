package casework

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
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
	c.created_at, c.updated_at, c.closed_at`

const caseFrom = ` FROM cases c LEFT JOIN departments d ON d.id = c.department_id
	LEFT JOIN users au ON au.id = c.assignee_id LEFT JOIN users ru ON ru.id = c.reporter_id`

// caseScope: a case is visible by its grid's region path, its current
// department, or to its reporter.
var caseScope = account.Columns{Path: "c.region_path", Department: "c.department_id", User: "c.reporter_id"}

type scanner interface{ Scan(...any) error }

func scanCase(sc scanner) (*Case, error) {
	var c Case
	var status, prev, fields, tags string
	var created, updated db.Time
	var closed db.NullTime
	err := sc.Scan(&c.ID, &c.Number, &c.District, &c.Workflow, &status, &prev, &c.Source, &c.CategoryCode, &c.CategoryName,
		&c.Description, &c.Address, &c.Lat, &c.Lng, &c.GridCode, &c.CommunityCode, &c.StreetCode, &c.RegionPath,
		&c.ReporterID, &c.ReporterName, &c.ReporterPhone, &c.Anonymous, &c.Urgent, &c.Visibility,
		&c.DepartmentID, &c.DepartmentCode, &c.DepartmentName, &c.AssigneeID, &c.AssigneeName,
		&c.Rating, &c.RatingComment, &c.RevisitResult, &c.Reopens, &c.Rework, &c.Returns, &c.Supervised,
		&c.PostponeHours, &c.PostponeReason, &c.ParentID, &fields, &tags, &c.RoutedDept, &c.Version,
		&created, &updated, &closed)
	if err != nil {
		return nil, err
	}
	c.Status, c.PrevStatus = State(status), State(prev)
	c.CreatedAt, c.UpdatedAt = created.Time, updated.Time
	if closed.Valid {
		c.ClosedAt = closed.Time
	}
	_ = json.Unmarshal([]byte(fields), &c.Fields)
	if tags != "" {
		c.Tags = strings.Split(tags, ",")
	}
	return &c, nil
}

// get reads one case within scope; outside it the case does not exist.
func (s *Service) get(ctx context.Context, scope account.Scope, id int64) (*Case, error) {
	var w db.Where
	w.Add("c.id = ?", id)
	scope.Apply(&w, caseScope)
	c, err := scanCase(s.db.QueryRow(ctx, `SELECT `+caseCols+caseFrom+w.SQL(), w.Args()...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "case.not_found")
	}
	return c, err
}

// Get returns a case the caller may see. A follower (the reporter of a
// merged duplicate) may see the parent too.
func (s *Service) Get(ctx context.Context, c Caller, id int64) (*Case, error) {
	cs, err := s.get(ctx, c.Scope(), id)
	if errs.Is(err, errs.NotFound) && c.User != nil && s.follows(ctx, c.User.ID, id) {
		return s.get(ctx, account.SystemScope(), id)
	}
	return cs, err
}

func (s *Service) follows(ctx context.Context, userID, caseID int64) bool {
	var n int
	_ = s.db.QueryRow(ctx, `SELECT COUNT(*) FROM case_followers WHERE user_id = $1 AND case_id = $2`, userID, caseID).Scan(&n)
	return n > 0
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
	Mine       bool // reported by the caller
	Before     int64
	Limit      int
}

// List returns cases in the caller's scope, newest first, and the cursor
// for the next page (0 when there is none).
func (s *Service) List(ctx context.Context, c Caller, f Filter) ([]*Case, int64, error) {
	var w db.Where
	c.Scope().Apply(&w, caseScope)
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
	if f.Mine {
		w.Add("c.reporter_id = ?", c.id())
	}
	if f.Before > 0 {
		w.Add("c.id < ?", f.Before)
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	rows, err := s.db.Query(ctx, `SELECT `+caseCols+caseFrom+w.SQL()+` ORDER BY c.id DESC LIMIT `+strconv.Itoa(limit+1), w.Args()...)
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
		next = out[limit-1].ID
	}
	return out, next, nil
}

// Timeline returns a case's steps, oldest first, with their photos. Callers
// who only see public cases get the public steps.
func (s *Service) Timeline(ctx context.Context, c Caller, id int64, publicOnly bool) ([]Event, error) {
	if _, err := s.Get(ctx, c, id); err != nil {
		return nil, err
	}
	return s.timeline(ctx, id, publicOnly)
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
		_ = json.Unmarshal([]byte(data), &e.Data)
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
