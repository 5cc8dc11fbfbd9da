package web

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/errs"
	"whistle/internal/i18n"
)

// listPageSize is the rows of one numbered page of an admin list.
const listPageSize = 50

// pager is a list's total and its numbered pages.
type pager struct {
	Total, Page, Pages int
	Links              []pageLink
	Prev, Next         string
}

type pageLink struct {
	N       int
	Href    string
	Current bool
	Gap     bool // an ellipsis before this link
}

// newPager numbers the pages of total rows for path with the query q
// (its "p" set per link): the first, the last and three either side of
// the current one.
func newPager(path string, q url.Values, total, page int) pager {
	return newPagerAt(path, q, total, page, "p", "")
}

// newPagerAt is newPager for a list whose page is the query parameter
// param, on a page that may hold another list; anchor ("#rules", or "")
// ends every link so that the browser returns to the list.
func newPagerAt(path string, q url.Values, total, page int, param, anchor string) pager {
	p := pager{Total: total, Page: page, Pages: max(1, (total+listPageSize-1)/listPageSize)}
	href := func(n int) string {
		v := url.Values{}
		for k, xs := range q {
			v[k] = xs
		}
		v.Set(param, strconv.Itoa(n))
		return path + "?" + v.Encode() + anchor
	}
	last := 0
	for n := 1; n <= p.Pages; n++ {
		if n != 1 && n != p.Pages && (n < page-3 || n > page+3) {
			continue
		}
		p.Links = append(p.Links, pageLink{N: n, Href: href(n), Current: n == page, Gap: last != 0 && n != last+1})
		last = n
	}
	if page > 1 {
		p.Prev = href(page - 1)
	}
	if page < p.Pages {
		p.Next = href(page + 1)
	}
	return p
}

// pageNumber is the 1-based "p" of the request.
func pageNumber(r *http.Request) int { return pageNumberAt(r, "p") }

// pageNumberAt is the 1-based page in the query parameter param.
func pageNumberAt(r *http.Request, param string) int {
	n, err := strconv.Atoi(r.URL.Query().Get(param))
	if err != nil || n < 1 {
		return 1
	}
	return n
}

// sortCol is a sortable column heading: a link that sorts by its key, or
// reverses the order when it already does.
type sortCol struct {
	Label, Href string
	// Dir is "ascending" or "descending" when the list is sorted by it
	// (aria-sort's values), else "".
	Dir string
}

// sortCols makes the headings of keys (labelled by labels) for path with
// the query q; cur is the current sort ("-" first for descending).
func sortCols(path string, q url.Values, cur string, keys, labels []string) []sortCol {
	return sortColsAt(path, q, cur, keys, labels, "sort", "p", "")
}

// sortColsAt is sortCols for a list sorted by the query parameter
// sortParam and paged by pageParam (reset by a new sort), its links ending
// in anchor.
func sortColsAt(path string, q url.Values, cur string, keys, labels []string, sortParam, pageParam, anchor string) []sortCol {
	out := make([]sortCol, len(keys))
	for i, k := range keys {
		next, dir := k, ""
		switch cur {
		case k:
			next, dir = "-"+k, "ascending"
		case "-" + k:
			dir = "descending"
		}
		v := url.Values{}
		for key, xs := range q {
			v[key] = xs
		}
		v.Set(sortParam, next)
		v.Del(pageParam)
		out[i] = sortCol{Label: labels[i], Href: path + "?" + v.Encode() + anchor, Dir: dir}
	}
	return out
}

type auditRow struct {
	Time, Actor, Action, Code, Target, Summary, IP string
}

type auditPage struct {
	Rows                       []auditRow
	Actions                    []option
	Actor, Action, Q, From, To string
	Form                       *formState
	Cols                       []sortCol
	Pager                      pager
	CSV, XLSX                  string
}

// auditFilter reads the audit log's filters, sort and page from the
// query; bad values are field errors in fs.
func (s *adminPages) auditFilter(r *http.Request) (audit.Filter, url.Values, *formState) {
	q := r.URL.Query()
	lang := langOf(r)
	fs := &formState{Fields: map[string]string{}}
	keep := url.Values{}
	for _, k := range []string{"actor", "action", "q", "from", "to", "sort"} {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			keep.Set(k, v)
		}
	}
	f := audit.Filter{Actor: keep.Get("actor"), Action: keep.Get("action"), Q: keep.Get("q"), Sort: keep.Get("sort")}
	if v := keep.Get("from"); v != "" {
		if t, ok := parseDay(v); ok {
			f.From = t
		} else {
			fs.Fields["from"] = s.Catalog.T(lang, "field.date")
		}
	}
	if v := keep.Get("to"); v != "" {
		if t, ok := parseDay(v); ok {
			f.To = t.AddDate(0, 0, 1)
		} else {
			fs.Fields["to"] = s.Catalog.T(lang, "field.date")
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		fs.Fields["to"] = s.Catalog.T(lang, "field.date_order")
	}
	if k := strings.TrimPrefix(f.Sort, "-"); f.Sort != "" && !slices.Contains(audit.SortKeys(), k) {
		fs.Fields["sort"] = s.Catalog.T(lang, "field.unknown_sort", f.Sort)
	}
	return f, keep, fs
}

// auditLabel names an audit action in lang: its own message, a case
// step's name, or the code itself.
func (s *view) auditLabel(lang i18n.Lang, action string) string {
	if k := "audit." + action; s.Catalog.Has(k) {
		return s.Catalog.T(lang, k)
	}
	if step, ok := strings.CutPrefix(action, "case."); ok && s.Catalog.Has("action."+step) {
		return s.Catalog.T(lang, "audit.case_step", s.Catalog.T(lang, "action."+step))
	}
	return action
}

// summaryFields are the field names audit summaries use ("roles: a → b",
// "username=x"), translated by the catalogue's audit.field.* messages.
var summaryFields = regexp.MustCompile(`\b(username|display_name|phone|roles|region|department|disabled|locked)([:=])`)

// auditSummary translates an entry's summary: its field names, and the
// true/false of a flag.
func (s *view) auditSummary(lang i18n.Lang, sum string) string {
	sum = summaryFields.ReplaceAllStringFunc(sum, func(m string) string {
		return s.Catalog.T(lang, "audit.field."+m[:len(m)-1]) + m[len(m)-1:]
	})
	return summaryWords.ReplaceAllStringFunc(sum, func(m string) string {
		switch m {
		case "true":
			return s.Catalog.T(lang, "audit.yes")
		case "false":
			return s.Catalog.T(lang, "audit.no")
		}
		return s.Catalog.T(lang, "audit.changed")
	})
}

// summaryWords are the words of a summary that auditSummary translates.
var summaryWords = regexp.MustCompile(`\b(true|false|changed)\b`)

func (s *adminPages) auditRow(lang i18n.Lang, e audit.Entry) auditRow {
	return auditRow{Time: e.At.In(shanghai).Format("2006-01-02 15:04:05"), Actor: e.Actor, Action: s.auditLabel(lang, e.Action), Code: e.Action,
		Target: e.Target, Summary: s.auditSummary(lang, e.Summary), IP: e.IP}
}

// pageAdminAudit searches the audit log: by action from a list, by user,
// by text and date range; sortable, paged with its total, exportable.
func (s *adminPages) pageAdminAudit(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	lang := langOf(r)
	f, keep, fs := s.auditFilter(r)
	d := &auditPage{Actor: f.Actor, Action: f.Action, Q: f.Q, From: keep.Get("from"), To: keep.Get("to"), Form: fs}
	acts, err := s.Audit.Actions(ctx)
	if err != nil {
		return err
	}
	for _, a := range acts {
		d.Actions = append(d.Actions, option{Value: a, Label: s.auditLabel(lang, a)})
	}
	slices.SortStableFunc(d.Actions, func(a, b option) int { return strings.Compare(a.Label, b.Label) })
	keys := []string{"at", "actor", "action", "target", "ip"}
	labels := []string{s.Catalog.T(lang, "admin.time"), s.Catalog.T(lang, "admin.actor"), s.Catalog.T(lang, "admin.action"),
		s.Catalog.T(lang, "admin.target"), "IP"}
	d.Cols = sortCols("/admin/audit", keep, f.Sort, keys, labels)
	status := http.StatusOK
	if len(fs.Fields) > 0 {
		status = http.StatusUnprocessableEntity
	} else {
		total, err := s.Audit.Count(ctx, f)
		if err != nil {
			return err
		}
		page := pageNumber(r)
		f.Limit, f.Offset = listPageSize, (page-1)*listPageSize
		entries, err := s.Audit.List(ctx, f)
		if err != nil {
			return err
		}
		for _, e := range entries {
			d.Rows = append(d.Rows, s.auditRow(lang, e))
		}
		d.Pager = newPager("/admin/audit", keep, total, page)
		d.CSV, d.XLSX = "/admin/audit/export.csv?"+keep.Encode(), "/admin/audit/export.xlsx?"+keep.Encode()
	}
	return s.render(w, r, status, "admin_audit.html", s.newPage(r, "admin.audit", d))
}

// auditExport is the filtered audit log as a table, translated, up to
// MaxExportRows.
func (s *adminPages) auditExport(r *http.Request) ([]string, [][]string, error) {
	f, _, fs := s.auditFilter(r)
	if len(fs.Fields) > 0 {
		e := errs.E(errs.Invalid, "error.invalid")
		for k := range fs.Fields {
			switch k {
			case "sort":
				e.Field(k, "field.unknown_sort", f.Sort)
			default:
				e.Field(k, "field.date")
			}
		}
		return nil, nil, e
	}
	lang := langOf(r)
	header := []string{s.Catalog.T(lang, "admin.time"), s.Catalog.T(lang, "admin.actor"), s.Catalog.T(lang, "admin.action"),
		s.Catalog.T(lang, "audit.code"), s.Catalog.T(lang, "admin.target"), s.Catalog.T(lang, "admin.summary"), "IP"}
	rows := [][]string{}
	f.Limit = audit.MaxPage
	for len(rows) < MaxExportRows {
		entries, err := s.Audit.List(r.Context(), f)
		if err != nil {
			return nil, nil, err
		}
		for _, e := range entries {
			x := s.auditRow(lang, e)
			rows = append(rows, []string{x.Time, x.Actor, x.Action, x.Code, x.Target, x.Summary, x.IP})
		}
		if len(entries) < f.Limit {
			break
		}
		f.Offset += len(entries)
	}
	return header, rows[:min(len(rows), MaxExportRows)], nil
}

// pageAdminAuditCSV downloads the filtered audit log as CSV.
func (s *adminPages) pageAdminAuditCSV(w http.ResponseWriter, r *http.Request) error {
	header, rows, err := s.auditExport(r)
	if err != nil {
		return err
	}
	return writeCSV(w, downloadName("audit", "操作日志", "csv", s.Clock.Now()), header, rows)
}

// pageAdminAuditXLSX downloads the filtered audit log as an Excel workbook.
func (s *adminPages) pageAdminAuditXLSX(w http.ResponseWriter, r *http.Request) error {
	header, rows, err := s.auditExport(r)
	if err != nil {
		return err
	}
	return writeXLSX(w, downloadName("audit", "操作日志", "xlsx", s.Clock.Now()), s.Catalog.T(langOf(r), "admin.audit"),
		[]float64{20, 14, 18, 18, 22, 60, 16}, header, rows)
}

// loginReason names a login log entry's reason in lang ("bad password" is
// login.reason.bad_password), or leaves it as written.
func (s *view) loginReason(lang i18n.Lang, reason string) string {
	if k := "login.reason." + strings.ReplaceAll(reason, " ", "_"); reason != "" && s.Catalog.Has(k) {
		return s.Catalog.T(lang, k)
	}
	return reason
}

// loginExport is the filtered login log as a table, translated, up to
// MaxExportRows.
func (s *adminPages) loginExport(r *http.Request) ([]string, [][]string, error) {
	q := r.URL.Query()
	lang := langOf(r)
	f := account.LoginLogFilter{Username: strings.TrimSpace(q.Get("username")), IP: strings.TrimSpace(q.Get("ip")), Failed: q.Get("failed") == "1", Limit: 500}
	header := []string{s.Catalog.T(lang, "admin.time"), s.Catalog.T(lang, "col.username"), "IP", s.Catalog.T(lang, "admin.result"), s.Catalog.T(lang, "admin.reason")}
	rows := [][]string{}
	for len(rows) < MaxExportRows {
		entries, err := s.Accounts.LoginLog(r.Context(), f)
		if err != nil {
			return nil, nil, err
		}
		for _, e := range entries {
			result := s.Catalog.T(lang, "admin.login_failed")
			if e.Success {
				result = s.Catalog.T(lang, "admin.login_ok")
			}
			rows = append(rows, []string{e.At.In(shanghai).Format("2006-01-02 15:04:05"), e.Username, e.IP, result, s.loginReason(lang, e.Reason)})
		}
		if len(entries) < f.Limit {
			break
		}
		f.Before = entries[len(entries)-1].ID
	}
	return header, rows[:min(len(rows), MaxExportRows)], nil
}

// pageAdminLoginsCSV downloads the filtered login log as CSV.
func (s *adminPages) pageAdminLoginsCSV(w http.ResponseWriter, r *http.Request) error {
	header, rows, err := s.loginExport(r)
	if err != nil {
		return err
	}
	return writeCSV(w, downloadName("logins", "登录日志", "csv", s.Clock.Now()), header, rows)
}

// pageAdminLoginsXLSX downloads the filtered login log as an Excel workbook.
func (s *adminPages) pageAdminLoginsXLSX(w http.ResponseWriter, r *http.Request) error {
	header, rows, err := s.loginExport(r)
	if err != nil {
		return err
	}
	return writeXLSX(w, downloadName("logins", "登录日志", "xlsx", s.Clock.Now()), s.Catalog.T(langOf(r), "admin.logins"),
		[]float64{20, 20, 16, 10, 24}, header, rows)
}
