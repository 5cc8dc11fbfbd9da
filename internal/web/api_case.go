package web

import (
	"errors"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/clock"
	"whistle/internal/dict"
	"whistle/internal/errs"
	"whistle/internal/notify"
	"whistle/internal/patrol"
	"whistle/internal/region"
	"whistle/internal/sla"
	"whistle/internal/visit"
)

// shanghai is the zone deadlines are shown in (UTC+8 all year).
var shanghai = time.FixedZone("CST", 8*3600)

// callerOf is who makes r: the user, or an anonymous caller known by its
// client cookie when it has one.
func callerOf(r *http.Request) casework.Caller {
	c := casework.Caller{User: userOf(r), IP: info(r).ip}
	if c.User == nil {
		c.Client = clientOfCookie(r)
	}
	return c
}

type caseRegion struct {
	Grid      region.Ref `json:"grid"`
	Community region.Ref `json:"community"`
	Street    region.Ref `json:"street"`
}

type personJSON struct {
	ID    int64  `json:"id,omitempty"`
	Name  string `json:"name,omitempty"`
	Phone string `json:"phone,omitempty"`
}

type caseJSON struct {
	ID            int64             `json:"id"`
	Number        string            `json:"number"`
	Status        casework.State    `json:"status"`
	Workflow      string            `json:"workflow"`
	Category      map[string]string `json:"category"`
	Description   string            `json:"description"`
	Address       string            `json:"address"`
	Location      latLng            `json:"location"`
	Region        caseRegion        `json:"region"`
	Source        string            `json:"source"`
	Urgent        bool              `json:"urgent"`
	Visibility    string            `json:"visibility"`
	Anonymous     bool              `json:"anonymous"`
	Reporter      *personJSON       `json:"reporter,omitempty"`
	Department    *deptRef          `json:"department,omitempty"`
	Assignee      *personJSON       `json:"assignee,omitempty"`
	Rating        *int              `json:"rating,omitempty"`
	RatingComment string            `json:"rating_comment,omitempty"`
	RevisitResult string            `json:"revisit_result,omitempty"`
	Reopens       int               `json:"reopens"`
	Rework        int               `json:"rework"`
	Returns       int               `json:"returns"`
	Supervised    bool              `json:"supervised"`
	Postpone      map[string]any    `json:"postpone,omitempty"`
	ParentID      int64             `json:"parent_id,omitempty"`
	Fields        map[string]string `json:"fields"`
	RoutedTo      string            `json:"routed_department,omitempty"`
	Version       int               `json:"version"`
	// WorkflowVersion is the version of its workflow the case acts under.
	WorkflowVersion int                  `json:"workflow_version"`
	CreatedAt       time.Time            `json:"created_at"`
	UpdatedAt       time.Time            `json:"updated_at"`
	ClosedAt        *time.Time           `json:"closed_at,omitempty"`
	Deadline        string               `json:"deadline,omitempty"` // RFC 3339 with the +08:00 offset
	SLA             string               `json:"sla,omitempty"`      // ok, warning, overdue, paused
	Actions         []casework.Available `json:"actions,omitempty"`
	Photos          []casework.Photo     `json:"photos,omitempty"`
}

// caseHandlers serve cases: reporting, the staff console's lists, case
// pages and actions, photos, exports and the public views.
type caseHandlers struct {
	*view
	Cases      *casework.Service
	Accounts   *account.Store
	Regions    *region.Store
	Categories *category.Store
	// Synonyms feed the report page's category search.
	Synonyms category.Synonyms
	Clock    clock.Clock
	// SLA gives the time left on each case's limit, in the limit's unit.
	SLA *sla.Engine
	// Patrols links a grid worker's report to their running patrol; nil
	// links none.
	Patrols *patrol.Store
	// Dicts holds the case_source dictionary the forms' source options
	// come from (sourceOptions).
	Dicts *dict.Store
	// Visits gives the queue page its visit tabs (overdue and due visits
	// in scope); nil shows none.
	Visits *visit.Store
}

// caseView renders a case for a caller in its data scope. Personal data:
// the reporter's phone is masked unless unmask is set (by a caller with the
// permission, audited by the handler). Everyone else (the public and
// followers) reads casework.PublicView instead.
func (s *caseHandlers) caseView(c *casework.Case, unmask bool) caseJSON {
	j := caseJSON{ID: c.ID, Number: c.Number, Status: c.Status, Workflow: c.Workflow,
		Category:    map[string]string{"code": c.CategoryCode, "name": c.CategoryName},
		Description: c.Description, Address: c.Address, Location: latLng{Lat: c.Lat, Lng: c.Lng}, Source: c.Source,
		Urgent: c.Urgent, Visibility: c.Visibility, Anonymous: c.Anonymous, Reopens: c.Reopens, Rework: c.Rework, Returns: c.Returns,
		Supervised: c.Supervised, ParentID: c.ParentID, Fields: c.Fields, Version: c.Version, WorkflowVersion: c.WorkflowVersion, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		RatingComment: c.RatingComment, RevisitResult: c.RevisitResult}
	if j.Fields == nil {
		j.Fields = map[string]string{}
	}
	if loc, ok := s.Regions.Locator().Grid(c.GridCode); ok {
		j.Region = caseRegion{Grid: loc.Grid, Community: loc.At(region.Community), Street: loc.At(region.Street)}
	} else {
		j.Region = caseRegion{Grid: region.Ref{Code: c.GridCode, Level: region.Grid}, Community: region.Ref{Code: c.CommunityCode, Level: region.Community},
			Street: region.Ref{Code: c.StreetCode, Level: region.Street}}
	}
	if !c.DeadlineAt.IsZero() {
		j.Deadline = c.DeadlineAt.In(shanghai).Format(time.RFC3339)
	}
	if c.SLAState != "" && c.SLAState != "none" {
		j.SLA = c.SLAState
	}
	if c.Rating > 0 {
		r := c.Rating
		j.Rating = &r
	}
	if !c.ClosedAt.IsZero() {
		t := c.ClosedAt
		j.ClosedAt = &t
	}
	if c.DepartmentCode != "" {
		j.Department = &deptRef{Code: c.DepartmentCode, Name: c.DepartmentName}
	}
	if c.AssigneeID != 0 {
		j.Assignee = &personJSON{ID: c.AssigneeID, Name: c.AssigneeName}
	}
	j.RoutedTo = c.RoutedDept
	if c.PostponeHours > 0 {
		j.Postpone = map[string]any{"hours": c.PostponeHours, "reason": c.PostponeReason}
	}
	if !c.Anonymous || c.ReporterPhone != "" {
		p := &personJSON{ID: c.ReporterID, Name: c.ReporterName, Phone: account.MaskPhone(c.ReporterPhone)}
		if c.Anonymous {
			p.ID, p.Name = 0, ""
		}
		if unmask {
			p.Phone = c.ReporterPhone
		}
		j.Reporter = p
	}
	return j
}

type submitRequest struct {
	Workflow    string            `json:"workflow"`
	Category    string            `json:"category"`
	Description string            `json:"description"`
	Lat         *float64          `json:"lat"`
	Lng         *float64          `json:"lng"`
	CRS         string            `json:"crs"`
	Address     string            `json:"address"`
	Anonymous   bool              `json:"anonymous"`
	Phone       string            `json:"phone"`
	Visibility  string            `json:"visibility"`
	Fields      map[string]string `json:"fields"`
	Source      string            `json:"source"`
	Urgent      bool              `json:"urgent"`
	// PatrolID links the report to the reporter's running patrol; without
	// it, a grid worker's report links to their running patrol, if any.
	PatrolID int64 `json:"patrol_id"`
}

// apiCaseSubmit files a report. An Idempotency-Key belongs to its caller:
// the user, or for an anonymous caller the client identity in the
// whistle_client cookie, issued here on the first report without one. A
// replay answers with the caller's own case; the same key with another
// body is refused (422 idempotency_mismatch); keys last a day.
func (s *caseHandlers) apiCaseSubmit(w http.ResponseWriter, r *http.Request) error {
	var in submitRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	caller := callerOf(r)
	if caller.User == nil {
		caller.Client = s.ensureClient(w, r)
	}
	during, err := s.duringPatrol(r.Context(), caller.User, in.PatrolID)
	if err != nil {
		return err
	}
	c, replayed, err := s.Cases.Submit(r.Context(), caller, casework.SubmitInput{
		Workflow: in.Workflow, Category: in.Category, Description: in.Description, Lat: in.Lat, Lng: in.Lng, CRS: in.CRS,
		Address: in.Address, Anonymous: in.Anonymous, Phone: in.Phone, Visibility: in.Visibility, Fields: in.Fields,
		Source: in.Source, Urgent: in.Urgent, IdempotencyKey: r.Header.Get("Idempotency-Key"),
	})
	if err != nil {
		return err
	}
	if replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	if during != nil {
		// The case has committed: a failed link is logged, not answered,
		// for the 201 must say the case exists.
		if err := s.Cases.LinkPatrol(r.Context(), caller, c.ID, during.ID); err != nil {
			s.Logger.Error("link a case to its patrol", "case", c.ID, "patrol", during.ID, "err", err)
		}
	}
	w.Header().Set("Location", "/api/v1/cases/"+strconv.FormatInt(c.ID, 10))
	writeJSON(w, http.StatusCreated, s.caseView(c, false))
	return nil
}

func caseID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.E(errs.NotFound, "case.not_found")
	}
	return id, nil
}

func (s *caseHandlers) apiCase(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	caller := callerOf(r)
	c, err := s.Cases.View(r.Context(), caller, id)
	if err != nil {
		return err
	}
	if c.Followed {
		// A follower outside the scope reads what the public reads.
		writeJSON(w, http.StatusOK, s.Cases.Public(c, nil))
		return nil
	}
	unmask := false
	if r.URL.Query().Get("unmask") == "1" && c.ReporterPhone != "" {
		if unmask, err = s.Accounts.Reveal(r.Context(), caller.User, actorOf(r), "case:"+c.Number, "reporter phone"); err != nil {
			return err
		}
	}
	j := s.caseView(c, unmask)
	j.Actions = s.Cases.Actions(c, caller)
	if j.Actions == nil {
		j.Actions = []casework.Available{}
	}
	if j.Photos, err = s.Cases.Photos(r.Context(), caller, id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

func (s *caseHandlers) apiCaseTimeline(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	tl, public, err := s.Cases.TimelineFor(r.Context(), callerOf(r), id, false)
	if err != nil {
		return err
	}
	if public {
		writeJSON(w, http.StatusOK, map[string]any{"timeline": casework.PublicSteps(tl)})
		return nil
	}
	if tl == nil {
		tl = []casework.Event{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"timeline": tl})
	return nil
}

func (s *caseHandlers) apiCaseAction(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	var in casework.Input
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	c, err := s.Cases.Act(r.Context(), callerOf(r), id, casework.Action(r.PathValue("action")), in)
	if err != nil {
		return err
	}
	j := s.caseView(c, false)
	j.Actions = s.Cases.Actions(c, callerOf(r))
	if j.Actions == nil {
		j.Actions = []casework.Available{}
	}
	writeJSON(w, http.StatusOK, j)
	return nil
}

// apiCasePhoto takes one multipart photo (field "photo") and its kind.
func (s *caseHandlers) apiCasePhoto(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return errs.E(errs.Invalid, "error.invalid").Field("photo", "case.bad_multipart")
	}
	kind := r.URL.Query().Get("kind")
	var photo *casework.Photo
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return multipartErr(err)
		}
		switch part.FormName() {
		case "kind":
			b, _ := io.ReadAll(io.LimitReader(part, 16))
			kind = strings.TrimSpace(string(b))
		case "photo":
			if photo != nil {
				return errs.E(errs.Invalid, "error.invalid").Field("photo", "case.one_photo")
			}
			photo, err = s.Cases.AddPhoto(r.Context(), callerOf(r), id, kind, part)
			if err != nil {
				return multipartErr(err)
			}
		}
		part.Close()
	}
	if photo == nil {
		return errs.E(errs.Invalid, "error.invalid").Field("photo", "field.required")
	}
	writeJSON(w, http.StatusCreated, photo)
	return nil
}

// multipartErr turns a body overflow while reading a part into 413 with a
// field message.
func multipartErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return errs.E(errs.TooLarge, "error.too_large", humanBytes(mbe.Limit)).Field("photo", "error.too_large", humanBytes(mbe.Limit))
	}
	if errors.Is(err, multipart.ErrMessageTooLarge) {
		return errs.E(errs.TooLarge, "error.too_large", "10 MiB").Field("photo", "error.too_large", "10 MiB")
	}
	if e, ok := errs.As(err); ok {
		// Media errors describe the file: show them against the photo field.
		if len(e.Fields) == 0 && (e.Code == errs.Invalid || e.Code == errs.TooLarge) {
			e.Field("photo", e.Msg.Key, e.Msg.Args...)
		}
		return err
	}
	return errs.E(errs.Invalid, "error.invalid").Field("photo", "case.bad_multipart").Wrap(err)
}

func (s *caseHandlers) apiCasePhotoGet(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	pid, err := strconv.ParseInt(r.PathValue("pid"), 10, 64)
	if err != nil {
		return errs.E(errs.NotFound, "case.photo_not_found")
	}
	p, rc, err := s.Cases.OpenPhoto(r.Context(), callerOf(r), id, pid)
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", p.MIME)
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, err = io.Copy(w, rc)
	return err
}

func parseStates(v string) []casework.State {
	var out []casework.State
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, casework.State(s))
		}
	}
	return out
}

func (s *caseHandlers) apiCases(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := casework.Filter{Status: parseStates(q.Get("status")), Category: q.Get("category"), Region: q.Get("region"), Source: q.Get("source"),
		Q: q.Get("q"), Supervised: q.Get("supervised") == "1", Mine: q.Get("mine") == "1"}
	if v := q.Get("sla"); v != "" {
		f.SLA = strings.Split(v, ",")
	}
	if q.Get("overdue") == "1" {
		f.SLA = []string{"overdue"}
	}
	var err error
	if f.From, err = parseTimeParam(r, "from"); err != nil {
		return err
	}
	if f.To, err = parseTimeParam(r, "to"); err != nil {
		return err
	}
	before, err := queryInt(r, "before", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 50)
	if err != nil {
		return err
	}
	offset, err := queryInt(r, "offset", 0)
	if err != nil {
		return err
	}
	f.Before, f.Limit, f.Offset, f.Sort = int64(before), limit, offset, q.Get("sort")
	if q.Get("assigned") == "me" {
		f.Assignee = userOf(r).ID
	}
	cases, next, err := s.Cases.List(r.Context(), callerOf(r), f)
	if err != nil {
		return err
	}
	paged := q.Has("sort") || q.Has("offset")
	total := 0
	if paged {
		// Numbered pages want their total; a cursor client does not pay for it.
		if total, err = s.Cases.Count(r.Context(), callerOf(r), f); err != nil {
			return err
		}
	}
	out := make([]caseJSON, 0, len(cases))
	for _, c := range cases {
		out = append(out, s.caseView(c, false))
	}
	resp := map[string]any{"cases": out}
	if next != 0 {
		resp["next"] = strconv.FormatInt(next, 10)
	}
	if paged {
		resp["total"] = total
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *caseHandlers) apiCaseDuplicates(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p, err := parseLatLng(func(k string) string {
		if k == "crs" {
			return "" // converted below by the service
		}
		return q.Get(k)
	})
	if err != nil {
		return err
	}
	if q.Get("category") == "" {
		return errs.E(errs.Invalid, "error.invalid").Field("category", "field.required")
	}
	ds, err := s.Cases.Duplicates(r.Context(), q.Get("category"), p[1], p[0], q.Get("crs"))
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []casework.Nearby{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"duplicates": ds})
	return nil
}

func (s *caseHandlers) apiCaseFollow(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	if err := s.Cases.Follow(r.Context(), callerOf(r), id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *caseHandlers) apiPublicCases(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	bbox := strings.Split(q.Get("bbox"), ",")
	var b [4]float64
	if len(bbox) != 4 {
		return errs.E(errs.Invalid, "error.invalid").Field("bbox", "case.bad_bbox")
	}
	for i, v := range bbox {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return errs.E(errs.Invalid, "error.invalid").Field("bbox", "case.bad_bbox")
		}
		b[i] = f
	}
	cases, err := s.Cases.PublicList(r.Context(), b[1], b[0], b[3], b[2], q.Get("open") == "1", 200)
	if err != nil {
		return err
	}
	out := make([]casework.PublicView, 0, len(cases))
	for _, c := range cases {
		out = append(out, s.Cases.Public(c, nil))
	}
	writeJSON(w, http.StatusOK, map[string]any{"cases": out})
	return nil
}

func (s *caseHandlers) apiPublicCase(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	c, tl, err := s.Cases.PublicCase(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.Cases.Public(c, tl))
	return nil
}

func (s *inboxHandlers) apiInbox(w http.ResponseWriter, r *http.Request) error {
	before, err := queryInt(r, "before", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 50)
	if err != nil {
		return err
	}
	if limit < 1 || limit > 200 {
		return errs.E(errs.Invalid, "error.invalid").Field("limit", "field.range", 1, 200)
	}
	msgs, unread, err := s.Inbox.Inbox(r.Context(), userOf(r).ID, int64(before), limit)
	if err != nil {
		return err
	}
	lang := langOf(r)
	for i := range msgs {
		msgs[i].Render(s.Catalog, lang)
		msgs[i].Link = messageLink(msgs[i])
	}
	if msgs == nil {
		msgs = []notify.Message{}
	}
	out := map[string]any{"messages": msgs, "unread": unread}
	if len(msgs) == limit {
		// The next page: the messages older than the last one here.
		out["next_before"] = msgs[len(msgs)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *inboxHandlers) apiInboxRead(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		ID int64 `json:"id"`
	}
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &in); err != nil {
			return err
		}
	}
	if err := s.Inbox.MarkRead(r.Context(), userOf(r).ID, in.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
