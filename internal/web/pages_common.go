package web

import (
	"bytes"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/dispute"
	"whistle/internal/errs"
	"whistle/internal/i18n"
	"whistle/internal/notify"
	"whistle/internal/registry"
	"whistle/internal/sla"
)

// navItem is one entry of the section bar.
type navItem struct {
	Key, Href string
	Active    bool
	Badge     int
	BadgeID   string
}

// navData is what the layout needs besides the page: sections, the unread
// count and the messages the scripts show.
type navData struct {
	Items  []navItem
	Staff  bool
	Admin  bool
	Unread int
	JS     map[string]string
}

// jsKeys are the catalogue keys the browser scripts need, in the page's
// language; they travel in a JSON block (no inline script, CSP allows it).
var jsKeys = []string{"js.uploading", "js.upload_failed", "js.photo_limit", "js.locating", "js.locate_failed", "js.located",
	"js.no_geolocation", "js.follow", "js.followed", "js.live_update", "js.network_error", "js.session_expired", "js.submitting",
	"js.shrink_failed", "js.remove", "js.picked", "js.outside", "js.dup_distance", "js.import_ok", "js.import_checking",
	"js.draft_restored", "js.submit", "js.no_category", "js.photo_n", "js.required"}

// mapJSKeys are the map's and the place search's keys.
var mapJSKeys = []string{"js.place_none", "js.place_street", "js.place_community", "js.place_grid", "js.place_landmark",
	"js.place_road", "js.place_address", "js.place_failed", "js.place_jumped"}

func (s *view) nav(r *http.Request) navData {
	lang := langOf(r)
	u := userOf(r)
	n := navData{JS: make(map[string]string, len(jsKeys))}
	for _, k := range slices.Concat(jsKeys, mapJSKeys) {
		n.JS[strings.TrimPrefix(k, "js.")] = s.Catalog.T(lang, k)
	}
	path := r.URL.Path
	add := func(key, href, prefix string) {
		active := path == href || (prefix != "" && strings.HasPrefix(path, prefix))
		n.Items = append(n.Items, navItem{Key: key, Href: href, Active: active})
	}
	switch {
	case u == nil:
		add("nav.nearby", "/nearby", "/nearby")
		add("nav.report", "/report", "/report")
	case !u.IsStaff():
		add("nav.report", "/report", "/report")
		add("nav.my", "/my", "/my")
		add("nav.benefits", "/benefits", "/benefits")
		add("nav.nearby", "/nearby", "/nearby")
		add("nav.inbox", "/inbox", "/inbox")
	default:
		n.Staff = true
		add("nav.home", "/", "")
		add("nav.cases", "/cases", "/cases")
		if u.Has(account.GridWorker) || u.Has(account.CommunityStaff) || u.Has(account.StreetStaff) {
			add("nav.report_staff", "/report", "/report")
		}
		add("nav.inbox", "/inbox", "/inbox")
		add("nav.nearby", "/nearby", "/nearby")
		if u.Has(account.GridWorker) {
			add("nav.patrol", "/patrol", "/patrol")
			add("nav.visits", "/visits", "/visits")
		} else if u.Has(account.CommunityStaff) || u.Has(account.StreetStaff) || u.Has(account.Leader) || u.Has(account.Admin) {
			add("nav.patrols", "/patrols", "/patrols")
			add("nav.visit_queue", "/visits/queue", "/visits/queue")
		}
		if dispute.CanWork(u) {
			add("nav.disputes", "/disputes", "/disputes")
			add("nav.hazards", "/hazards", "/hazards")
		}
		if canImport(u) {
			add("nav.import", "/registry/import", "/registry/import")
		}
		if mayWorkBenefits(u) {
			add("nav.benefit_apps", "/benefits/applications", "/benefits/applications")
		}
		if !registry.ScopeOf(u).Denies() {
			add("nav.unclaimed", "/benefits/unclaimed", "/benefits/unclaimed")
		}
		add("nav.policies", "/policies", "/policies")
		if u.Can(account.PermStatsRead) {
			add("nav.screen", "/screen", "/screen")
			add("nav.bench_league", "/benchmarking/league", "/benchmarking/league")
			add("nav.assess", "/assessment", "/assessment")
		}
		if u.Can(account.PermIndicatorWrite) {
			add("nav.bench_import", "/benchmarking/import", "/benchmarking/import")
		}
		if u.Can(account.PermUserWrite) || u.Can(account.PermAuditRead) || u.Can(account.PermCategoryWrite) {
			n.Admin = true
			add("nav.admin", "/admin", "/admin")
		}
	}
	if u != nil {
		// The badge is decoration: a failed count leaves it off and the
		// page is still served, but the failure is logged, not lost.
		unread, err := s.Inbox.UnreadCount(r.Context(), u.ID)
		if err != nil {
			s.Logger.Error("unread count for the navigation bar", "path", r.URL.Path, "user", u.ID, "err", err)
		} else {
			n.Unread = unread
		}
		for i := range n.Items {
			if n.Items[i].Href == "/inbox" {
				n.Items[i].Badge, n.Items[i].BadgeID = unread, "inbox-badge"
			}
		}
	}
	return n
}

// isHX reports whether htmx sent the request (it then wants a fragment).
func isHX(r *http.Request) bool { return r.Header.Get("HX-Request") == "true" }

// renderFragment executes one named template of a page file, without the
// layout, for htmx swaps.
func (s *view) renderFragment(w http.ResponseWriter, status int, file, name string, p any) error {
	t, ok := s.tmpl[file]
	if !ok {
		return errs.E(errs.Internal, "error.internal")
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, p); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// formState is a submitted form's values and its errors in the user's
// language: a general message and one message per field.
type formState struct {
	Values  url.Values
	Message string
	Fields  map[string]string
	OK      string
}

// Get returns a submitted value.
func (f *formState) Get(k string) string {
	if f == nil || f.Values == nil {
		return ""
	}
	return f.Values.Get(k)
}

// Has reports whether a multi-valued field was submitted with v.
func (f *formState) Has(k, v string) bool {
	if f == nil || f.Values == nil {
		return false
	}
	for _, x := range f.Values[k] {
		if x == v {
			return true
		}
	}
	return false
}

// Err returns the message for a field ("" when it is fine).
func (f *formState) Err(k string) string {
	if f == nil {
		return ""
	}
	return f.Fields[k]
}

// failForm turns an expected error into a form state; unexpected errors
// (internal, unavailable) are returned for the error page.
func (s *view) failForm(r *http.Request, f *formState, err error) (int, error) {
	e := asAppError(err)
	switch e.Code {
	case errs.Internal, errs.Unavailable, errs.Unauthorized:
		return 0, err
	}
	status := httpStatus(e)
	s.logError(r, status, e)
	b := s.errorBody(langOf(r), e)
	f.Message, f.Fields = b.Error.Message, b.Error.Fields
	if f.Fields == nil {
		f.Fields = map[string]string{}
	}
	return status, nil
}

// shanghaiTime formats a time for people in the district.
func shanghaiTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(shanghai).Format("2006-01-02 15:04")
}

// leftText says how much of a limit is left, in the limit's unit
// (sla.Left.Words): working hours or working days by the calendar, clock
// time only for a natural limit.
func (s *view) leftText(lang i18n.Lang, l sla.Left) string {
	return s.Catalog.Say(lang, l.Words())
}

// pageInt reads a positive integer query parameter; bad values are 0.
func pageInt(r *http.Request, name string) int64 {
	var n int64
	if _, err := fmt.Sscan(r.URL.Query().Get(name), &n); err != nil || n < 0 {
		return 0
	}
	return n
}

// inboxFor lists a user's messages with their text in the user's language.
func (s *view) inboxFor(r *http.Request, limit int) ([]notify.Message, int, error) {
	msgs, unread, err := s.Inbox.Inbox(r.Context(), userOf(r).ID, 0, limit)
	if err != nil {
		return nil, 0, err
	}
	lang := langOf(r)
	for i := range msgs {
		msgs[i].Render(s.Catalog, lang)
		msgs[i].Link = messageLink(msgs[i])
	}
	return msgs, unread, nil
}

// messageLink is the page an inbox entry opens: its case, or the item of
// a subject kind that has a page (disputes, hazards); "" for none.
func messageLink(m notify.Message) string {
	switch {
	case m.CaseID != 0:
		return "/cases/" + strconv.FormatInt(m.CaseID, 10)
	case m.SubjectID == 0:
		return ""
	case m.SubjectKind == dispute.KindDispute:
		return "/disputes/" + strconv.FormatInt(m.SubjectID, 10)
	case m.SubjectKind == dispute.KindHazard:
		return "/hazards/" + strconv.FormatInt(m.SubjectID, 10)
	}
	return ""
}
