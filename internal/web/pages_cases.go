package web

import (
	"cmp"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/errs"
	"whistle/internal/i18n"
	"whistle/internal/region"
	"whistle/internal/sla"
	"whistle/internal/visit"
)

// caseRow is a case as lists show it.
type caseRow struct {
	ID          int64
	Number      string
	Status      string
	StatusText  string
	Workflow    string
	Category    string
	Description string
	Address     string
	Street      string
	Community   string
	Grid        string
	Source      string
	Created     string
	Deadline    string
	SLA         string
	SLAText     string
	TimeLeft    string
	// Distance is how far the case is, on a nearest-first list.
	Distance   string
	Supervised bool
	Urgent     bool
	Handler    string
	Rating     int
	// Routed is the department routing chose for the case (the dispatch
	// queue shows it; bulk dispatch can send each case to its own).
	Routed     string
	routedCode string
}

func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// rows turns cases into rows, with the time left on each open case's limit
// read from sla in one call.
func (s *caseHandlers) rows(ctx context.Context, lang i18n.Lang, now time.Time, cases []*casework.Case) ([]caseRow, error) {
	out := make([]caseRow, 0, len(cases))
	var ids []int64
	for _, c := range cases {
		out = append(out, s.row(lang, now, c))
		if c.IsOpen() {
			ids = append(ids, c.ID)
		}
	}
	if lang == i18n.EN && s.Categories != nil && len(cases) > 0 {
		// A case stores its category's Chinese name; English readers get
		// the catalogue's English one.
		cats, err := s.Categories.List(ctx)
		if err != nil {
			return nil, err
		}
		en := make(map[string]string, len(cats))
		for _, c := range cats {
			en[c.Code] = c.NameEN
		}
		for i, c := range cases {
			out[i].Category = catName(lang, c.CategoryName, en[c.CategoryCode])
		}
	}
	if s.SLA == nil || len(ids) == 0 {
		return out, nil
	}
	left, err := s.SLA.TimeLeft(ctx, ids, now)
	if err != nil {
		return nil, err
	}
	for i, c := range cases {
		if l, ok := left[c.ID]; ok {
			out[i].TimeLeft = s.leftText(lang, l)
		}
	}
	return out, nil
}

func (s *caseHandlers) row(lang i18n.Lang, now time.Time, c *casework.Case) caseRow {
	row := caseRow{ID: c.ID, Number: c.Number, Status: string(c.Status), StatusText: s.Catalog.T(lang, "status."+string(c.Status)),
		Workflow: c.Workflow, Category: c.CategoryName, Description: clip(c.Description, 60), Address: c.Address,
		Source: s.Catalog.T(lang, "source."+c.Source), Created: shanghaiTime(c.CreatedAt), Supervised: c.Supervised, Urgent: c.Urgent,
		Rating: c.Rating, routedCode: c.RoutedDept}
	if loc, ok := s.Regions.Locator().Grid(c.GridCode); ok {
		row.Street, row.Community, row.Grid = loc.At(region.Street).Name, loc.At(region.Community).Name, loc.Grid.Name
	}
	if c.IsOpen() && !c.DeadlineAt.IsZero() {
		row.Deadline = shanghaiTime(c.DeadlineAt)
	}
	if c.IsOpen() && c.SLAState != "" && c.SLAState != "none" {
		row.SLA = c.SLAState
		row.SLAText = s.Catalog.T(lang, "sla."+c.SLAState)
	}
	switch {
	case c.AssigneeName != "":
		row.Handler = c.AssigneeName
	case c.DepartmentName != "":
		row.Handler = c.DepartmentName
	}
	return row
}

// filterForm is the queue's filter as the form shows it.
type filterForm struct {
	Queue, Status, Category, Region, Source, From, To, Q string
	Overdue                                              bool
	// Near is the browser's location (lat,lng) a nearest-first list
	// was given, kept across refreshes.
	Near string
	// Sort is the list's order: a casework.ListSortKeys key, "-" first
	// for descending; "" is newest first.
	Sort string
}

// queueOnly says the list is a queue with no other filter (its order
// aside), so that the queue's count is the list's total.
func (f filterForm) queueOnly() bool {
	return f.Status == "" && f.Category == "" && f.Region == "" && f.Source == "" && f.From == "" && f.To == "" && f.Q == "" && !f.Overdue && f.Near == ""
}

// Query returns the filter as a query string (for export and paging links).
func (f filterForm) Query() string {
	v := url.Values{}
	set := func(k, x string) {
		if x != "" {
			v.Set(k, x)
		}
	}
	set("queue", f.Queue)
	set("status", f.Status)
	set("category", f.Category)
	set("region", f.Region)
	set("source", f.Source)
	set("from", f.From)
	set("to", f.To)
	set("q", f.Q)
	set("near", f.Near)
	set("sort", f.Sort)
	if f.Overdue {
		v.Set("overdue", "1")
	}
	return v.Encode()
}

// parseDay reads a YYYY-MM-DD day in Asia/Shanghai.
func parseDay(v string) (time.Time, bool) {
	t, err := time.ParseInLocation("2006-01-02", strings.TrimSpace(v), shanghai)
	return t, err == nil
}

// caseFilter reads the queue filters; bad values are field errors.
func (s *caseHandlers) caseFilter(r *http.Request) (casework.Filter, filterForm, *formState) {
	q := r.URL.Query()
	u := userOf(r)
	ff := filterForm{Queue: q.Get("queue"), Status: q.Get("status"), Category: q.Get("category"), Region: q.Get("region"),
		Source: q.Get("source"), From: q.Get("from"), To: q.Get("to"), Q: strings.TrimSpace(q.Get("q")), Overdue: q.Get("overdue") == "1",
		Near: q.Get("near"), Sort: strings.TrimSpace(q.Get("sort"))}
	fs := &formState{Fields: map[string]string{}}
	if _, ok := casework.QueueByKey(ff.Queue); !ok {
		ff.Queue = casework.QueuesFor(u)[0]
	}
	qd, _ := casework.QueueByKey(ff.Queue)
	f := casework.Filter{Status: qd.Status, SLA: qd.SLA, Supervised: qd.Supervised, Postpone: qd.Postpone, Category: ff.Category, Region: ff.Region, Source: ff.Source, Q: ff.Q,
		Sort: ff.Sort}
	if len(qd.SLA) > 0 || qd.Supervised || qd.Postpone {
		open := true
		f.Open = &open
	}
	lang := langOf(r)
	if ff.Status != "" {
		valid := false
		for _, wf := range casework.Workflows() {
			for _, st := range wf.States {
				valid = valid || string(st) == ff.Status
			}
		}
		if valid {
			f.Status = []casework.State{casework.State(ff.Status)}
		} else {
			fs.Fields["status"] = s.Catalog.T(lang, "page.cases.bad_status")
		}
	}
	if ff.From != "" {
		if t, ok := parseDay(ff.From); ok {
			f.From = t
		} else {
			fs.Fields["from"] = s.Catalog.T(lang, "field.date")
		}
	}
	if ff.To != "" {
		if t, ok := parseDay(ff.To); ok {
			f.To = t.AddDate(0, 0, 1)
		} else {
			fs.Fields["to"] = s.Catalog.T(lang, "field.date")
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		fs.Fields["to"] = s.Catalog.T(lang, "page.cases.bad_range")
	}
	if ff.Overdue {
		f.SLA = []string{"overdue"}
	}
	if ff.Source != "" {
		known := false
		for _, src := range casework.Sources() {
			known = known || src == ff.Source
		}
		if !known {
			fs.Fields["source"] = s.Catalog.T(lang, "page.cases.bad_source")
		}
	}
	if k := strings.TrimPrefix(ff.Sort, "-"); ff.Sort != "" && !slices.Contains(casework.ListSortKeys(), k) {
		fs.Fields["sort"] = s.Catalog.T(lang, "field.unknown_sort", ff.Sort)
	}
	if len(fs.Fields) > 0 {
		fs.Message = s.Catalog.T(lang, "error.invalid")
	}
	return f, ff, fs
}

type queueTab struct {
	Key    string
	Count  int
	Active bool
	Href   string
}

type option struct {
	Value, Label string
	Group        string
}

type queuePage struct {
	Tabs     []queueTab
	Filter   filterForm
	Form     *formState
	Rows     []caseRow
	Next     int64
	NextHref string
	// Cols are the sortable column headings by sort key; Pager the
	// list's total and numbered pages (none for a nearest-first list).
	Cols       map[string]sortCol
	Pager      pager
	Query      template.URL // the filter, already encoded
	Statuses   []option
	Categories []option
	Regions    []option
	Sources    []option
	Targets    []option
	CanBulk    bool
	// BulkTarget is the bulk form's preselected target: routedTarget when
	// a listed case has a routed department.
	BulkTarget string
	Flash      string
	FlashError string
	Elapsed    string
	// Near says the list is nearest first (a party member's claimable
	// cases); NearDevice that the distance is from the browser's location
	// rather than the member's grid.
	Near, NearDevice bool
	// VisitTabs are the overdue and due visits (走访) in scope, linking to
	// the visit queue; none for a caller who sees no visits.
	VisitTabs []visitQueueTab
}

// pageCases is the staff console's queue page.
func (s *caseHandlers) pageCases(w http.ResponseWriter, r *http.Request) error {
	u := userOf(r)
	if !u.IsStaff() {
		http.Redirect(w, r, "/my", http.StatusSeeOther)
		return nil
	}
	d, err := s.queueData(r)
	if err != nil {
		return err
	}
	p := s.newPage(r, "page.cases.title", d)
	status := http.StatusOK
	if len(d.Form.Fields) > 0 {
		status = http.StatusUnprocessableEntity
	}
	if isHX(r) && r.Header.Get("HX-Target") == "queue" {
		return s.renderFragment(w, status, "cases.html", "queue", p)
	}
	return s.render(w, r, status, "cases.html", p)
}

func (s *caseHandlers) queueData(r *http.Request) (*queuePage, error) {
	ctx := r.Context()
	u := userOf(r)
	lang := langOf(r)
	f, ff, fs := s.caseFilter(r)
	d := &queuePage{Filter: ff, Form: fs, Query: template.URL(ff.Query())}
	keep, _ := url.ParseQuery(ff.Query())
	keys := casework.ListSortKeys()
	// The catalogue keys of the sortable headings.
	labelKeys := map[string]string{"number": "col.number", "created": "col.reported", "status": "col.status",
		"category": "col.category", "deadline": "col.time_limit", "grid": "col.place"}
	labels := make([]string, len(keys))
	for i, k := range keys {
		labels[i] = s.Catalog.T(lang, labelKeys[k])
	}
	d.Cols = map[string]sortCol{}
	for i, c := range sortCols("/cases", keep, ff.Sort, keys, labels) {
		d.Cols[keys[i]] = c
	}
	counts, err := s.Cases.QueueCounts(ctx, casework.Caller{User: u})
	if err != nil {
		return nil, err
	}
	for _, k := range casework.QueuesFor(u) {
		v := url.Values{"queue": {k}}
		d.Tabs = append(d.Tabs, queueTab{Key: k, Count: counts[k], Active: k == ff.Queue, Href: "/cases?" + v.Encode()})
	}
	if s.Visits != nil && !visit.ScopeOf(u).Denies() {
		vc, err := s.Visits.Count(ctx, u, "")
		if err != nil {
			return nil, err
		}
		d.VisitTabs = visitTabs(vc, "")
	}
	if len(fs.Fields) == 0 {
		f.Before, f.Limit = pageInt(r, "before"), 50
		if nearQueue(u, ff.Queue) {
			// Nearest first, as one list long enough for a neighbourhood.
			if f.Near, d.NearDevice, err = s.nearPoint(ctx, r, u); err != nil {
				return nil, err
			}
			d.Near, f.Before, f.Limit = f.Near != nil, 0, 200
		}
		if f.Near == nil {
			// A queue without other filters is counted already, by the
			// node's counters (QueueCounts, exact): no pass over the cases.
			total, ok := counts[ff.Queue], ff.queueOnly()
			if !ok {
				if total, err = s.Cases.Count(ctx, callerOf(r), f); err != nil {
					return nil, err
				}
			}
			page := pageNumber(r)
			f.Limit, f.Offset = listPageSize, (page-1)*listPageSize
			d.Pager = newPager("/cases", keep, total, page)
		}
		list := s.listCases
		if f.Offset > 0 || f.Sort != "" {
			list = s.Cases.List // listCases merges newest-first first pages only
		}
		cases, next, err := list(ctx, callerOf(r), f)
		if err != nil {
			return nil, err
		}
		if d.Rows, err = s.rows(ctx, lang, s.Clock.Now(), cases); err != nil {
			return nil, err
		}
		if f.Near != nil {
			for i, c := range cases {
				d.Rows[i].Distance = s.distanceText(lang, *f.Near, c)
			}
		}
		if f.Near == nil {
			next = 0 // the numbered pages replace the cursor
		}
		d.Next = next
		if next != 0 {
			d.NextHref = "/cases?" + ff.Query() + "&before=" + strconv.FormatInt(next, 10)
		}
	}
	d.Statuses = s.statusOptions(lang)
	if d.Categories, err = s.categoryOptions(ctx, lang); err != nil {
		return nil, err
	}
	if d.Regions, err = regionOptions(ctx, s.Regions, u); err != nil {
		return nil, err
	}
	if d.Sources, err = s.sourceOptions(ctx, lang, func(string) bool { return true }); err != nil {
		return nil, err
	}
	d.CanBulk = ff.Queue == "to_dispatch" && (u.Has(account.CommunityStaff) || u.Has(account.StreetStaff) || u.Has(account.Admin))
	if d.CanBulk {
		if d.Targets, err = s.targetOptions(ctx, u, lang); err != nil {
			return nil, err
		}
		labels := optionLabels(d.Targets)
		for i := range d.Rows {
			if code := d.Rows[i].routedCode; code != "" {
				d.Rows[i].Routed = cmp.Or(labels["d:"+code], code)
				d.BulkTarget = routedTarget
			}
		}
		if d.BulkTarget != "" {
			each := option{Value: routedTarget, Label: s.Catalog.T(lang, "page.cases.routed_each")}
			d.Targets = append([]option{each}, d.Targets...)
		}
	}
	q := r.URL.Query()
	if n := q.Get("dispatched"); n != "" {
		d.Flash = s.Catalog.T(lang, "page.cases.bulk_done", atoiOr0(n))
	}
	if fl := q.Get("failed"); fl != "" {
		d.FlashError = s.bulkFailures(r, fl)
	}
	if a := q.Get("done"); a != "" {
		d.Flash = s.Catalog.T(lang, "page.case.done", s.Catalog.T(lang, "act."+safeKey(a)))
	}
	return d, nil
}

// listCases is Cases.List, with a filter on several statuses run as one
// query per status and merged newest first: each then walks the (status, id)
// index in order, where one IN query would sort every match.
func (s *caseHandlers) listCases(ctx context.Context, caller casework.Caller, f casework.Filter) ([]*casework.Case, int64, error) {
	if len(f.Status) < 2 {
		return s.Cases.List(ctx, caller, f)
	}
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	var all []*casework.Case
	more := false
	for _, st := range f.Status {
		g := f
		g.Status = []casework.State{st}
		cs, next, err := s.Cases.List(ctx, caller, g)
		if err != nil {
			return nil, 0, err
		}
		more = more || next != 0
		all = append(all, cs...)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].ID > all[j].ID })
	if len(all) > limit {
		all, more = all[:limit], true
	}
	var next int64
	if more && len(all) > 0 {
		next = all[len(all)-1].ID
	}
	return all, next, nil
}

func atoiOr0(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// safeKey keeps a user-supplied key suffix to [a-z_].
func safeKey(s string) string {
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '_' {
			return "unknown"
		}
	}
	return s
}

func (s *caseHandlers) statusOptions(lang i18n.Lang) []option {
	seen := map[casework.State]bool{}
	var out []option
	for _, name := range []string{"whistle", "urban"} {
		for _, st := range casework.Workflows()[name].States {
			if seen[st] {
				continue
			}
			seen[st] = true
			out = append(out, option{Value: string(st), Label: s.Catalog.T(lang, "status."+string(st))})
		}
	}
	return out
}

// categoryOptions lists the categories two levels deep, grouped by root.
func (s *caseHandlers) categoryOptions(ctx context.Context, lang i18n.Lang) ([]option, error) {
	roots, err := s.Categories.Tree(ctx, false)
	if err != nil {
		return nil, err
	}
	var out []option
	for _, root := range roots {
		rn := catName(lang, root.Name, root.NameEN)
		out = append(out, option{Value: root.Code, Label: rn + " · " + s.Catalog.T(lang, "page.cases.all_of"), Group: rn})
		for _, c := range root.Children {
			out = append(out, option{Value: c.Code, Label: catName(lang, c.Name, c.NameEN), Group: rn})
		}
	}
	return out, nil
}

func catName(lang i18n.Lang, zh, en string) string {
	if lang == i18n.EN && en != "" {
		return en
	}
	return zh
}

// regionOptions lists the regions under the user's own, down to communities.
func regionOptions(ctx context.Context, regions *region.Store, u *account.User) ([]option, error) {
	if u.Region.Code == "" {
		return nil, nil
	}
	nodes, err := regions.Subtree(ctx, u.Region.Code, false)
	if err != nil {
		if errs.Is(err, errs.NotFound) {
			return nil, nil
		}
		return nil, err
	}
	names := map[string]string{}
	for _, n := range nodes {
		names[n.Code] = n.Name
	}
	var out []option
	for _, n := range nodes {
		if n.Level == region.Grid && u.Region.Level != region.Community && u.Region.Level != region.Grid {
			continue
		}
		if n.Level == region.District || n.Level == region.City {
			continue
		}
		out = append(out, option{Value: n.Code, Label: n.Name, Group: names[n.ParentCode]})
	}
	return out, nil
}

// targetOptions lists whom the user may dispatch to: staff in scope, then departments.
func (s *caseHandlers) targetOptions(ctx context.Context, u *account.User, lang i18n.Lang) ([]option, error) {
	users, err := s.Accounts.Users(ctx, account.ScopeOf(u), account.UserFilter{Limit: 500})
	if err != nil {
		return nil, err
	}
	people := s.Catalog.T(lang, "page.target.people")
	var out []option
	for _, x := range users {
		if !x.IsStaff() || x.Disabled || x.ID == u.ID {
			continue
		}
		label := x.Username
		if x.DisplayName != "" {
			label = x.DisplayName + "（" + x.Username + "）"
		}
		if len(x.Roles) > 0 {
			label += " · " + s.Catalog.T(lang, "role."+string(x.Roles[0]))
		}
		out = append(out, option{Value: "u:" + strconv.FormatInt(x.ID, 10), Label: label, Group: people})
	}
	deps, err := s.Accounts.Departments(ctx)
	if err != nil {
		return nil, err
	}
	dg := s.Catalog.T(lang, "page.target.departments")
	for _, dp := range deps {
		out = append(out, option{Value: "d:" + dp.Code, Label: dp.Name + "（" + dp.Code + "）", Group: dg})
	}
	return out, nil
}

// routedTarget is the bulk dispatch target "each case to its routed
// department".
const routedTarget = "routed"

func optionLabels(opts []option) map[string]string {
	m := make(map[string]string, len(opts))
	for _, o := range opts {
		m[o.Value] = o.Label
	}
	return m
}

// routedOption is the dispatch target that routing chose for c, when it
// chose a department among targets; "" otherwise.
func routedOption(c *casework.Case, targets []option) (value, label string) {
	if c.RoutedDept == "" {
		return "", ""
	}
	v := "d:" + c.RoutedDept
	for _, o := range targets {
		if o.Value == v {
			return v, o.Label
		}
	}
	return "", ""
}

// parseTarget reads "u:ID" or "d:CODE".
func parseTarget(v string) *casework.Target {
	switch {
	case strings.HasPrefix(v, "u:"):
		id, err := strconv.ParseInt(v[2:], 10, 64)
		if err == nil && id > 0 {
			return &casework.Target{User: id}
		}
	case strings.HasPrefix(v, "d:") && len(v) > 2:
		return &casework.Target{Department: v[2:]}
	}
	return nil
}

// pageBulkDispatch dispatches the selected cases to one target.
func (s *caseHandlers) pageBulkDispatch(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formErr(err)
	}
	back := "/cases?queue=to_dispatch"
	routed := r.PostFormValue("target") == routedTarget
	t := parseTarget(r.PostFormValue("target"))
	if routed {
		t = &casework.Target{} // filled in per case
	}
	ids := r.PostForm["ids"]
	if t == nil || len(ids) == 0 {
		why := "target"
		if len(ids) == 0 {
			why = "cases"
		}
		http.Redirect(w, r, back+"&failed="+why, http.StatusSeeOther)
		return nil
	}
	if len(ids) > 200 {
		ids = ids[:200]
	}
	done := 0
	var failed []string
	for _, v := range ids {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue
		}
		target := t
		if routed {
			c, err := s.Cases.Get(r.Context(), callerOf(r), id)
			if err == nil && c.RoutedDept == "" {
				failed = append(failed, strconv.FormatInt(id, 10)+":"+noRoute)
				continue
			}
			if err == nil {
				target = &casework.Target{Department: c.RoutedDept}
			}
			// Any other error is Act's to report, as for a chosen target.
		}
		_, err = s.Cases.Act(r.Context(), callerOf(r), id, casework.ActDispatch, casework.Input{Target: target, Note: strings.TrimSpace(r.PostFormValue("note"))})
		if err != nil {
			e := asAppError(err)
			if e.Code == errs.Internal || e.Code == errs.Unavailable {
				return err
			}
			failed = append(failed, strconv.FormatInt(id, 10)+":"+string(e.Code))
			continue
		}
		done++
	}
	loc := back + "&dispatched=" + strconv.Itoa(done)
	if len(failed) > 0 {
		loc += "&failed=" + url.QueryEscape(strings.Join(failed, ","))
	}
	http.Redirect(w, r, loc, http.StatusSeeOther)
	return nil
}

// noRoute is the failure of a case sent to its routed department that
// has none.
const noRoute = "no_route"

// bulkFailures explains a bulk dispatch's failures, given as "id:code"
// pairs (or "target" / "cases" for an incomplete form), with each case's
// number, in the user's language. Nothing from the URL is shown verbatim.
func (s *caseHandlers) bulkFailures(r *http.Request, v string) string {
	lang := langOf(r)
	switch v {
	case "target":
		return s.Catalog.T(lang, "page.cases.bulk_need_target")
	case "cases":
		return s.Catalog.T(lang, "page.cases.bulk_need_cases")
	}
	var parts []string
	for _, p := range strings.Split(v, ",") {
		idStr, code, _ := strings.Cut(p, ":")
		id, err := strconv.ParseInt(idStr, 10, 64)
		if err != nil || len(parts) >= 20 {
			continue
		}
		label := "#" + idStr
		if c, err := s.Cases.Get(r.Context(), callerOf(r), id); err == nil {
			label = c.Number
		}
		key := "error.invalid"
		switch errs.Code(code) {
		case noRoute:
			key = "page.cases.bulk_no_route"
		case errs.Conflict:
			key = "page.cases.bulk_conflict"
		case errs.Forbidden:
			key = "error.forbidden"
		case errs.NotFound:
			key = "error.not_found"
		}
		parts = append(parts, label+" "+s.Catalog.T(lang, key))
	}
	return s.Catalog.T(lang, "page.cases.bulk_failed", strings.Join(parts, "；"))
}

// timelineItem is one step of a case as the case page shows it.
type timelineItem struct {
	When       string
	Actor      string
	ActionText string
	Action     string
	ToText     string
	Note       string
	Details    []string
	Photos     []photoView
}

type photoView struct {
	URL  string
	Kind string
	Alt  string
}

// actionForm is one action the user may take now, with the fields of its form.
type actionForm struct {
	Lang    i18n.Lang
	CSRF    string
	CaseID  int64
	Targets []option
	// Preselect is the target routing chose, selected until the user picks
	// another; Routed is its label for the hint.
	Preselect string
	Routed    string
	Results   []option
	Stars     []int
	Action    string
	Label     string
	Help      string
	F         map[string]string // field → "req" | "opt"
	Form      *formState
	Open      bool
	Danger    bool
	Version   int
}

type caseDetail struct {
	Row        caseRow
	C          *casework.Case
	Staff      bool
	IsReporter bool
	Reporter   string
	Phone      string
	CanUnmask  bool
	Unmasked   bool
	Anonymous  bool
	Timeline   []timelineItem
	Before     []photoView
	After      []photoView
	Actions    []actionForm
	Targets    []option
	Results    []option
	Flash      string
	// Error is why an action failed whose form is not on the page.
	Error      string
	Community  string
	GridName   string
	Lat, Lng   string
	Stars      []int
	Department string
	Assignee   string
	Postpone   string
}

// pageCase shows one case: its facts, time limit, timeline, photos, map
// and the actions this user may take now.
func (s *caseHandlers) pageCase(w http.ResponseWriter, r *http.Request) error {
	return s.showCase(w, r, http.StatusOK, "", nil)
}

func (s *caseHandlers) showCase(w http.ResponseWriter, r *http.Request, status int, formAction string, fs *formState) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	caller := callerOf(r)
	c, err := s.Cases.View(ctx, caller, id)
	if err != nil {
		return err
	}
	u := userOf(r)
	lang := langOf(r)
	now := s.Clock.Now()
	rows, err := s.rows(ctx, lang, now, []*casework.Case{c})
	if err != nil {
		return err
	}
	d := &caseDetail{Row: rows[0], C: c, Staff: u.IsStaff() && !c.Followed, IsReporter: c.ReporterID != 0 && c.ReporterID == u.ID,
		Anonymous: c.Anonymous, Lat: strconv.FormatFloat(c.Lat, 'f', 6, 64), Lng: strconv.FormatFloat(c.Lng, 'f', 6, 64),
		Stars: []int{5, 4, 3, 2, 1}, Department: c.DepartmentName, Assignee: c.AssigneeName}
	if loc, ok := s.Regions.Locator().Grid(c.GridCode); ok {
		d.Community, d.GridName = loc.At(region.Community).Code, loc.Grid.Name
	}
	if c.PostponeHours > 0 {
		d.Postpone = s.Catalog.T(lang, "page.case.postpone_pending", c.PostponeHours, c.PostponeReason)
	}
	if d.Staff {
		if !c.Anonymous {
			d.Reporter = c.ReporterName
		}
		d.Phone = account.MaskPhone(c.ReporterPhone)
		d.CanUnmask = u.Can(account.PermUnmask) && c.ReporterPhone != ""
		if d.CanUnmask && r.URL.Query().Get("unmask") == "1" {
			ok, err := s.Accounts.Reveal(ctx, u, actorOf(r), "case:"+c.Number, "reporter phone (page)")
			if err != nil {
				return err
			}
			if ok {
				d.Phone, d.Unmasked = c.ReporterPhone, true
			}
		}
	}
	tl, err := s.Cases.Timeline(ctx, caller, id, !d.Staff && !d.IsReporter)
	if err != nil {
		return err
	}
	stages, err := s.stages(ctx, c.ID)
	if err != nil {
		return err
	}
	for _, e := range tl {
		d.Timeline = append(d.Timeline, s.timelineItem(lang, c, e, d.Staff, naturalAt(stages, e.At)))
	}
	photos, err := s.Cases.Photos(ctx, caller, id)
	if err != nil {
		return err
	}
	for _, p := range photos {
		pv := photoView{URL: fmt.Sprintf("/api/v1/cases/%d/photos/%d", c.ID, p.ID), Kind: p.Kind}
		if p.Kind == "after" {
			pv.Alt = s.Catalog.T(lang, "page.case.photo_after")
			d.After = append(d.After, pv)
		} else {
			pv.Alt = s.Catalog.T(lang, "page.case.photo_before")
			d.Before = append(d.Before, pv)
		}
	}
	needTargets := false
	for _, a := range s.Cases.Actions(c, caller) {
		af := actionForm{Action: string(a.Action), Label: s.Catalog.T(lang, "act."+string(a.Action)), F: map[string]string{}, Version: c.Version,
			Help: s.Catalog.T(lang, "help."+string(a.Action))}
		for _, f := range a.Optional {
			af.F[f] = "opt"
		}
		for _, f := range a.Requires {
			af.F[f] = "req"
		}
		if a.Action == casework.ActRate {
			delete(af.F, casework.FieldNote)
			af.F["comment"] = "opt"
		}
		if a.Action == casework.ActVerify {
			af.F[casework.FieldNote] = "opt"
		}
		af.Danger = dangerous(a.Action)
		if _, ok := af.F[casework.FieldTarget]; ok {
			needTargets = true
		}
		if string(a.Action) == formAction {
			af.Form, af.Open = fs, true
		}
		d.Actions = append(d.Actions, af)
	}
	if needTargets {
		if d.Targets, err = s.targetOptions(ctx, u, lang); err != nil {
			return err
		}
	}
	for _, res := range []string{"satisfied", "basically_satisfied", "dissatisfied"} {
		d.Results = append(d.Results, option{Value: res, Label: s.Catalog.T(lang, "revisit."+res)})
	}
	if fs != nil && fs.Message != "" && !slices.ContainsFunc(d.Actions, func(a actionForm) bool { return a.Action == formAction }) {
		// The action is not offered now (the case moved on, or it was
		// never the caller's): its form is not on the page, so say why
		// above it rather than nowhere.
		d.Error = fs.Message
	}
	if a := r.URL.Query().Get("done"); a != "" {
		d.Flash = s.Catalog.T(lang, "page.case.done", s.Catalog.T(lang, "act."+safeKey(a)))
	}
	if r.URL.Query().Get("new") == "1" {
		thanks := "page.report.thanks"
		if d.Staff {
			thanks = "report.staff.thanks" // staff report what they found; residents blow the whistle
		}
		d.Flash = s.Catalog.T(lang, thanks, c.Number)
		if n := atoiOr0(r.URL.Query().Get("photo_failed")); n > 0 {
			d.Flash += " " + s.Catalog.T(lang, "page.case.photo_failed", n)
		}
	}
	p := s.newPage(r, "page.case.title", d)
	p.Title = c.Number + " · " + p.Title
	for i := range d.Actions {
		d.Actions[i].fill(p.Lang, p.CSRF, c.ID, d.Targets, d.Results)
		d.Actions[i].preselect(c)
	}
	return s.render(w, r, status, "case.html", p)
}

// A postponement is told in the unit of the limit it extends: natural
// says the time-limit stage open at the step counted natural hours.
func (s *caseHandlers) timelineItem(lang i18n.Lang, c *casework.Case, e casework.Event, staff, natural bool) timelineItem {
	it := timelineItem{When: shanghaiTime(e.At), Action: string(e.Action), ActionText: s.Catalog.T(lang, "action."+string(e.Action)), Note: e.Note}
	if e.ToStatus != "" && e.ToStatus != e.FromStatus {
		it.ToText = s.Catalog.T(lang, "status."+string(e.ToStatus))
	}
	role := ""
	if e.Role != "" && e.Role != "anonymous" && e.Role != "system" {
		role = s.Catalog.T(lang, "role."+e.Role)
	}
	switch {
	case e.Role == "system" || e.ActorName == "system":
		it.Actor = s.Catalog.T(lang, "page.case.system")
	case e.Role == "anonymous" || e.ActorName == "anonymous":
		it.Actor = s.Catalog.T(lang, "page.case.anonymous")
	case staff && e.ActorName != "":
		it.Actor = e.ActorName + " · " + role
	default:
		it.Actor = role
	}
	if e.Action == casework.ActSubmit && c.Anonymous {
		it.Actor = s.Catalog.T(lang, "page.case.anonymous")
	}
	it.Details = s.timelineDetails(lang, e.Facts(), staff, natural)
	for _, p := range e.Photos {
		alt := s.Catalog.T(lang, "page.case.photo_before")
		if p.Kind == "after" {
			alt = s.Catalog.T(lang, "page.case.photo_after")
		}
		it.Photos = append(it.Photos, photoView{URL: fmt.Sprintf("/api/v1/cases/%d/photos/%d", c.ID, p.ID), Kind: p.Kind, Alt: alt})
	}
	return it
}

// timelineDetails are the lines under a timeline entry, one per fact it
// records; staff also see whom a step dispatched to and which routing rule
// chose a department.
func (s *caseHandlers) timelineDetails(lang i18n.Lang, f casework.Facts, staff, natural bool) []string {
	var out []string
	if f.TargetDepartmentName != "" {
		out = append(out, s.Catalog.T(lang, "page.case.to_department", f.TargetDepartmentName))
	}
	if f.TargetUser != "" && staff {
		out = append(out, s.Catalog.T(lang, "page.case.to_user", f.TargetUser))
	}
	if a := f.Auto; a != nil {
		switch {
		case !staff:
			out = append(out, s.Catalog.T(lang, "page.case.auto"))
		case a.RuleID != 0:
			out = append(out, s.Catalog.T(lang, "page.case.auto_rule", a.RuleID, a.RuleCategory, a.RuleRegion, a.RulePriority))
		default:
			out = append(out, s.Catalog.T(lang, "page.case.auto_default", a.DefaultOf))
		}
	}
	if f.Stars > 0 {
		out = append(out, strings.Repeat("★", f.Stars)+strings.Repeat("☆", 5-f.Stars))
	}
	if f.Passed != nil {
		if *f.Passed {
			out = append(out, s.Catalog.T(lang, "page.case.passed_yes"))
		} else {
			out = append(out, s.Catalog.T(lang, "page.case.passed_no"))
		}
	}
	if f.Result != "" {
		out = append(out, s.Catalog.T(lang, "revisit."+f.Result))
	}
	if f.Hours > 0 {
		key := "page.case.hours"
		if natural {
			key = "page.case.hours_natural"
		}
		out = append(out, s.Catalog.T(lang, key, f.Hours))
	}
	if f.Reason != "" {
		out = append(out, s.Catalog.T(lang, "page.case.reason", f.Reason))
	}
	if f.Parent != "" {
		out = append(out, s.Catalog.T(lang, "page.case.parent", f.Parent))
	}
	if f.Stage != "" {
		// A stage the catalogue does not name shows as stored.
		key, name := "sla.stage."+safeKey(f.Stage), f.Stage
		if t := s.Catalog.T(lang, key); t != key {
			name = t
		}
		out = append(out, s.Catalog.T(lang, "page.case.stage", name))
	}
	return out
}

// pageCaseAct takes one action from its form. htmx gets the form back
// with errors next to the fields, or a redirect to the updated case.
func (s *caseHandlers) pageCaseAct(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return formErr(err)
	}
	action := r.PathValue("action")
	fs := &formState{Values: r.PostForm, Fields: map[string]string{}}
	in, ferr := s.actionInput(r, fs)
	if ferr == nil {
		_, err = s.Cases.Act(r.Context(), callerOf(r), id, casework.Action(action), in)
	} else {
		err = ferr
	}
	if err != nil {
		status, err := s.failForm(r, fs, err)
		if err != nil {
			return err
		}
		if isHX(r) {
			return s.renderActionForm(w, r, status, id, action, fs)
		}
		return s.showCase(w, r, status, action, fs)
	}
	loc := "/cases/" + strconv.FormatInt(id, 10) + "?done=" + url.QueryEscape(action)
	if _, err := s.Cases.Get(r.Context(), callerOf(r), id); errs.Is(err, errs.NotFound) {
		loc = "/cases?done=" + url.QueryEscape(action)
	}
	if isHX(r) {
		w.Header().Set("HX-Redirect", loc)
		w.WriteHeader(http.StatusOK)
		return nil
	}
	http.Redirect(w, r, loc, http.StatusSeeOther)
	return nil
}

// renderActionForm re-renders one action's form with its errors.
func (s *caseHandlers) renderActionForm(w http.ResponseWriter, r *http.Request, status int, id int64, action string, fs *formState) error {
	caller := callerOf(r)
	c, err := s.Cases.Get(r.Context(), caller, id)
	if err != nil {
		return err
	}
	lang := langOf(r)
	d := &caseDetail{C: c, Stars: []int{5, 4, 3, 2, 1}, Staff: userOf(r).IsStaff()}
	for _, res := range []string{"satisfied", "basically_satisfied", "dissatisfied"} {
		d.Results = append(d.Results, option{Value: res, Label: s.Catalog.T(lang, "revisit."+res)})
	}
	af := actionForm{Action: action, Label: s.Catalog.T(lang, "act."+safeKey(action)), F: map[string]string{}, Form: fs, Open: true, Version: c.Version,
		Help: s.Catalog.T(lang, "help."+safeKey(action)), Danger: dangerous(casework.Action(action))}
	found := false
	for _, a := range s.Cases.Actions(c, caller) {
		if string(a.Action) != action {
			continue
		}
		found = true
		for _, f := range a.Optional {
			af.F[f] = "opt"
		}
		for _, f := range a.Requires {
			af.F[f] = "req"
		}
		if a.Action == casework.ActRate {
			delete(af.F, casework.FieldNote)
			af.F["comment"] = "opt"
		}
		if a.Action == casework.ActVerify {
			af.F[casework.FieldNote] = "opt"
		}
	}
	if !found {
		// The case moved on (someone else acted): show the message only.
		af.F = map[string]string{}
	}
	if _, ok := af.F[casework.FieldTarget]; ok {
		if d.Targets, err = s.targetOptions(r.Context(), userOf(r), lang); err != nil {
			return err
		}
	}
	p := s.newPage(r, "page.case.title", nil)
	af.fill(p.Lang, p.CSRF, c.ID, d.Targets, d.Results)
	af.preselect(c)
	return s.renderFragment(w, status, "case.html", "action-form", af)
}

// dangerous marks the actions that end or push back a case, shown in red.
func dangerous(a casework.Action) bool {
	switch a {
	case casework.ActReject, casework.ActDecline, casework.ActReturn, casework.ActPostponeRefuse, casework.ActSuspend:
		return true
	}
	return false
}

// fill gives an action form what its template needs from the page.
func (a *actionForm) fill(lang i18n.Lang, csrf string, id int64, targets, results []option) {
	a.Lang, a.CSRF, a.CaseID, a.Targets, a.Results, a.Stars = lang, csrf, id, targets, results, []int{5, 4, 3, 2, 1}
}

// preselect selects the routed department in a form with a target.
func (a *actionForm) preselect(c *casework.Case) {
	if _, ok := a.F[casework.FieldTarget]; ok {
		a.Preselect, a.Routed = routedOption(c, a.Targets)
	}
}

// actionInput reads an action form into casework.Input; malformed numbers
// are field errors.
func (s *caseHandlers) actionInput(r *http.Request, fs *formState) (casework.Input, error) {
	f := r.PostForm
	in := casework.Input{Note: strings.TrimSpace(f.Get("note")), Reason: strings.TrimSpace(f.Get("reason")), Result: f.Get("result"),
		Comment: strings.TrimSpace(f.Get("comment"))}
	e := errs.E(errs.Invalid, "error.invalid")
	if v := f.Get("target"); v != "" {
		in.Target = parseTarget(v)
		if in.Target == nil {
			e.Field("target", "field.required")
		}
	}
	if v := f.Get("stars"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			e.Field("stars", "field.number")
		}
		in.Stars = &n
	}
	if v := f.Get("passed"); v != "" {
		b := v == "1" || v == "true"
		in.Passed = &b
	}
	if v := strings.TrimSpace(f.Get("hours")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			e.Field("hours", "field.number")
		}
		in.Hours = &n
	}
	if v := strings.TrimSpace(f.Get("parent")); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			in.Parent = n
		} else {
			cs, _, err := s.Cases.List(r.Context(), callerOf(r), casework.Filter{Numbers: []string{strings.ToUpper(v)}, Limit: 1})
			if err != nil {
				return in, err
			}
			if len(cs) == 0 {
				e.Field("parent", "case.not_found")
			} else {
				in.Parent = cs[0].ID
			}
		}
	}
	// A malformed photo id or version is an error, not silently dropped:
	// a dropped version would skip the optimistic-locking check.
	for _, v := range f["photos"] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			e.Field("photos", "field.number")
			continue
		}
		in.Photos = append(in.Photos, n)
	}
	if v := f.Get("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			e.Field("version", "field.number")
		}
		in.Version = n
	}
	if len(e.Fields) > 0 {
		return in, e
	}
	return in, nil
}

// stages is the case's time-limit stage history, oldest first (none
// without an SLA engine).
func (s *caseHandlers) stages(ctx context.Context, caseID int64) ([]sla.Stage, error) {
	if s.SLA == nil {
		return nil, nil
	}
	return s.SLA.Stages(ctx, caseID)
}

// naturalAt says whether the stage open at t (the last one entered by
// then) counted natural time rather than working time.
func naturalAt(stages []sla.Stage, t time.Time) bool {
	natural := false
	for _, st := range stages {
		if !st.StartedAt.After(t) {
			natural = st.Natural
		}
	}
	return natural
}
