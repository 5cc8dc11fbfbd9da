package web

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/clock"
	"whistle/internal/errs"
	"whistle/internal/i18n"
	"whistle/internal/region"
)

type adminLink struct {
	Href, Key, Help string
}

// adminPages serve the administration console: users, regions,
// categories and routing, time limits, API keys and the logs.
type adminPages struct {
	*view
	Accounts   *account.Store
	Regions    *region.Store
	Categories *category.Store
	Audit      *audit.Log
	Cases      *casework.Service
	Clock      clock.Clock
}

// pageAdmin is the administrators' index: the sections this user may open.
func (s *adminPages) pageAdmin(w http.ResponseWriter, r *http.Request) error {
	u := userOf(r)
	var links []adminLink
	add := func(p account.Perm, href, key string) {
		if u.Can(p) {
			links = append(links, adminLink{Href: href, Key: key, Help: key + "_help"})
		}
	}
	add(account.PermUserRead, "/admin/users", "admin.users")
	add(account.PermRegionWrite, "/admin/regions", "admin.regions")
	add(account.PermRegionWrite, "/admin/landmarks", "admin.landmarks")
	add(account.PermCategoryWrite, "/admin/categories", "admin.categories")
	add(account.PermCategoryWrite, "/admin/dicts", "admin.dicts")
	add(account.PermSLAWrite, "/admin/sla", "admin.sla")
	add(account.PermWorkflowWrite, "/admin/workflows", "admin.workflows")
	if u.Has(account.Admin) && !u.Disabled {
		links = append(links, adminLink{Href: "/admin/rules", Key: "admin.rules", Help: "admin.rules_help"})
	}
	add(account.PermAPIKeys, "/admin/apikeys", "admin.apikeys")
	add(account.PermAuditRead, "/admin/audit", "admin.audit")
	add(account.PermLoginLogRead, "/admin/logins", "admin.logins")
	if len(links) == 0 {
		return errs.E(errs.Forbidden, "error.forbidden")
	}
	return s.render(w, r, http.StatusOK, "admin.html", s.newPage(r, "admin.title", links))
}

type userRow struct {
	U      *account.User
	Phone  string
	Roles  []string
	Region string
	Form   *formState
}

type usersPage struct {
	Rows     []userRow
	Q, Role  string
	Roles    []option
	Region   regionPicker
	Depts    []option
	Add      *formState
	CanWrite bool
	Flash    string
	Cols     []sortCol
	Pager    pager
	SortErr  string
	// RuleCols, RulePager and RuleSortErr are the same for the routing
	// rules, paged by ?rp= and sorted by ?rsort=.
	RuleCols    []sortCol
	RulePager   pager
	RuleSortErr string
}

// pageAdminUsers lists users in scope, with the add-user and password forms.
func (s *adminPages) pageAdminUsers(w http.ResponseWriter, r *http.Request) error {
	return s.showUsers(w, r, http.StatusOK, nil, 0, nil)
}

func (s *adminPages) showUsers(w http.ResponseWriter, r *http.Request, status int, add *formState, pwID int64, pw *formState) error {
	ctx := r.Context()
	u := userOf(r)
	lang := langOf(r)
	q := r.URL.Query()
	d := &usersPage{Q: q.Get("q"), Role: q.Get("role"), Add: add, CanWrite: u.Can(account.PermUserWrite)}
	if d.Add == nil {
		d.Add = &formState{}
	}
	f := account.UserFilter{Q: strings.TrimSpace(d.Q), Sort: q.Get("sort")}
	if rl := account.Role(d.Role); rl.Valid() {
		f.Role = rl
	}
	keep := url.Values{}
	for k, v := range map[string]string{"q": f.Q, "role": string(f.Role), "sort": f.Sort} {
		if v != "" {
			keep.Set(k, v)
		}
	}
	d.Cols = sortCols("/admin/users", keep, f.Sort, account.UserSortKeys(), []string{s.Catalog.T(lang, "col.username"),
		s.Catalog.T(lang, "admin.display_name"), s.Catalog.T(lang, "col.region"), s.Catalog.T(lang, "staff.created")})
	var users []*account.User
	var err error
	if k := strings.TrimPrefix(f.Sort, "-"); f.Sort != "" && !slices.Contains(account.UserSortKeys(), k) {
		d.SortErr = s.Catalog.T(lang, "field.unknown_sort", f.Sort)
		status = http.StatusUnprocessableEntity
	} else {
		total, err := s.Accounts.CountUsersIn(ctx, account.ScopeOf(u), f)
		if err != nil {
			return err
		}
		page := pageNumber(r)
		f.Limit, f.Offset = listPageSize, (page-1)*listPageSize
		if users, err = s.Accounts.Users(ctx, account.ScopeOf(u), f); err != nil {
			return err
		}
		d.Pager = newPager("/admin/users", keep, total, page)
	}
	for _, x := range users {
		row := userRow{U: x, Phone: account.MaskPhone(x.Phone), Region: x.Region.Name}
		for _, rl := range x.Roles {
			row.Roles = append(row.Roles, s.Catalog.T(lang, "role."+string(rl)))
		}
		if x.ID == pwID {
			row.Form = pw
		}
		d.Rows = append(d.Rows, row)
	}
	if d.Roles, d.Depts, err = s.userFormOptions(ctx, lang); err != nil {
		return err
	}
	opts, err := regionPath(ctx, s.Regions, u)
	if err != nil {
		return err
	}
	d.Region = regionPicker{ID: "nu-region", Name: "region", Value: d.Add.Get("region"), Err: d.Add.Err("region"), Options: opts,
		Search: s.Catalog.T(lang, "staff.region_search")}
	if v := q.Get("added"); v != "" {
		d.Flash = s.Catalog.T(lang, "admin.user_added", v)
	}
	if q.Get("reset") != "" {
		d.Flash = s.Catalog.T(lang, "admin.password_reset_done")
	}
	return s.render(w, r, status, "admin_users.html", s.newPage(r, "admin.users", d))
}

// pageAdminUserAdd creates an account from the form.
func (s *adminPages) pageAdminUserAdd(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formErr(err)
	}
	f := r.PostForm
	in := account.NewUser{Username: f.Get("username"), Password: f.Get("password"), DisplayName: strings.TrimSpace(f.Get("display_name")),
		Phone: strings.TrimSpace(f.Get("phone")), RegionCode: f.Get("region"), DepartmentCode: f.Get("department")}
	for _, rl := range f["roles"] {
		in.Roles = append(in.Roles, account.Role(rl))
	}
	nu, err := s.Accounts.AddUser(r.Context(), actorOf(r), scopeOf(r), in)
	if err != nil {
		fs := &formState{Values: f}
		status, err := s.failForm(r, fs, err)
		if err != nil {
			return err
		}
		return s.showUsers(w, r, status, fs, 0, nil)
	}
	return s.redirect(w, r, "/admin/users?added="+url.QueryEscape(nu.Username))
}

// pageAdminUserPassword resets a user's password (their sessions end).
func (s *adminPages) pageAdminUserPassword(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return errs.E(errs.NotFound, "account.user_not_found")
	}
	if err := r.ParseForm(); err != nil {
		return formErr(err)
	}
	if err := s.Accounts.SetPassword(r.Context(), actorOf(r), scopeOf(r), id, r.PostFormValue("password")); err != nil {
		fs := &formState{Values: r.PostForm}
		status, err := s.failForm(r, fs, err)
		if err != nil {
			return err
		}
		return s.showUsers(w, r, status, nil, id, fs)
	}
	return s.redirect(w, r, "/admin/users?reset="+strconv.FormatInt(id, 10))
}

// redirect sends htmx a client-side redirect and browsers a 303.
func (s *view) redirect(w http.ResponseWriter, r *http.Request, loc string) error {
	if isHX(r) {
		w.Header().Set("HX-Redirect", loc)
		w.WriteHeader(http.StatusOK)
		return nil
	}
	http.Redirect(w, r, loc, http.StatusSeeOther)
	return nil
}

type regionsPage struct {
	Node     *region.Node
	Ancestry []region.Ref
	Children []region.Node
	Geo      string
}

// pageAdminRegions shows the region tree on a map, level by level, and the
// GeoJSON import with its preview.
func (s *adminPages) pageAdminRegions(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	code := r.URL.Query().Get("code")
	if code == "" {
		var err error
		if code, err = s.Regions.District(ctx); err != nil {
			return err
		}
	}
	d := &regionsPage{}
	if code != "" {
		n, err := s.Regions.Get(ctx, code)
		if err != nil {
			return err
		}
		d.Node = n
		if d.Ancestry, err = s.Regions.Ancestry(ctx, n.Path); err != nil {
			return err
		}
		if d.Children, err = s.Regions.Children(ctx, code, false); err != nil {
			return err
		}
		d.Geo = "/api/v1/regions/" + code + "/geojson"
	}
	return s.render(w, r, http.StatusOK, "admin_regions.html", s.newPage(r, "admin.regions", d))
}

type catRow struct {
	C     *category.Category
	Depth int
	Name  string
}

type categoriesPage struct {
	Rows    []catRow
	Rules   []*category.Rule
	Depts   []option
	Leaves  []option
	Regions []option
	Form    *formState
	// AutoForm is the automatic-dispatch form's state.
	AutoForm *formState
	Flash    string
	Cols     []sortCol
	Pager    pager
	SortErr  string
	// RuleCols, RulePager and RuleSortErr are the same for the routing
	// rules, paged by ?rp= and sorted by ?rsort=.
	RuleCols    []sortCol
	RulePager   pager
	RuleSortErr string
}

// pageAdminCategories shows the category tree and the routing rules.
func (s *adminPages) pageAdminCategories(w http.ResponseWriter, r *http.Request) error {
	return s.showCategories(w, r, http.StatusOK, nil, nil)
}

// showCategories renders the page with the routing-rule form's state fs
// and the automatic-dispatch form's state autoFS (either may be nil).
func (s *adminPages) showCategories(w http.ResponseWriter, r *http.Request, status int, fs, autoFS *formState) error {
	ctx := r.Context()
	lang := langOf(r)
	d := &categoriesPage{Form: fs, AutoForm: autoFS}
	if d.Form == nil {
		d.Form = &formState{}
	}
	if d.AutoForm == nil {
		d.AutoForm = &formState{}
	}
	roots, err := s.Categories.Tree(ctx, true)
	if err != nil {
		return err
	}
	depth := map[string]int{}
	var walk func(c *category.Category, dp int)
	walk = func(c *category.Category, dp int) {
		depth[c.Code] = dp
		d.Leaves = append(d.Leaves, option{Value: c.Code, Label: strings.Repeat("　", dp) + c.Code + " " + catName(lang, c.Name, c.NameEN)})
		for _, ch := range c.Children {
			walk(ch, dp+1)
		}
	}
	for _, c := range roots {
		walk(c, 0)
	}
	// The list is flat, numbered and sortable; unsorted it is in code
	// order (parents first), indented by depth.
	// Each list's links keep the other list's sort and page.
	q := r.URL.Query()
	sortKey, ruleSort := q.Get("sort"), q.Get("rsort")
	keep, ruleKeep := url.Values{}, url.Values{}
	for _, k := range []string{"sort", "p", "rsort", "rp"} {
		if v := q.Get(k); v != "" {
			keep.Set(k, v)
			ruleKeep.Set(k, v)
		}
	}
	keep.Del("p")
	ruleKeep.Del("rp")
	d.Cols = sortCols("/admin/categories", keep, sortKey, category.SortKeys(), []string{s.Catalog.T(lang, "col.code"), s.Catalog.T(lang, "col.name"),
		s.Catalog.T(lang, "admin.workflow"), s.Catalog.T(lang, "page.home.department"), s.Catalog.T(lang, "admin.active")})
	page := pageNumber(r)
	cats, total, err := s.Categories.Page(ctx, category.PageFilter{Sort: sortKey, English: lang == i18n.EN, Limit: listPageSize, Offset: (page - 1) * listPageSize})
	if e, ok := errs.As(err); ok && e.Fields["sort"].Key != "" {
		d.SortErr = s.Catalog.T(lang, "field.unknown_sort", sortKey)
		status = http.StatusUnprocessableEntity
	} else if err != nil {
		return err
	}
	d.Pager = newPager("/admin/categories", keep, total, page)
	for _, c := range cats {
		row := catRow{C: c, Name: catName(lang, c.Name, c.NameEN)}
		if sortKey == "" {
			row.Depth = depth[c.Code]
		}
		d.Rows = append(d.Rows, row)
	}
	d.RuleCols = sortColsAt("/admin/categories", ruleKeep, ruleSort, category.RuleSortKeys(), []string{s.Catalog.T(lang, "col.category"),
		s.Catalog.T(lang, "col.region"), s.Catalog.T(lang, "page.home.department"), s.Catalog.T(lang, "admin.priority"),
		s.Catalog.T(lang, "admin.created")}, "rsort", "rp", "#rules")
	rulePage := pageNumberAt(r, "rp")
	rules, ruleTotal, err := s.Categories.RulePage(ctx, category.RuleFilter{Sort: ruleSort, Limit: listPageSize, Offset: (rulePage - 1) * listPageSize})
	if e, ok := errs.As(err); ok && e.Fields["sort"].Key != "" {
		d.RuleSortErr = s.Catalog.T(lang, "field.unknown_sort", ruleSort)
		status = http.StatusUnprocessableEntity
	} else if err != nil {
		return err
	}
	d.Rules = rules
	d.RulePager = newPagerAt("/admin/categories", ruleKeep, ruleTotal, rulePage, "rp", "#rules")
	deps, err := s.Accounts.Departments(ctx)
	if err != nil {
		return err
	}
	for _, dp := range deps {
		d.Depts = append(d.Depts, option{Value: dp.Code, Label: dp.Name + "（" + dp.Code + "）"})
	}
	if d.Regions, err = regionOptions(ctx, s.Regions, userOf(r)); err != nil {
		return err
	}
	if v := r.URL.Query().Get("done"); v != "" {
		d.Flash = s.Catalog.T(lang, "admin.saved")
	}
	return s.render(w, r, status, "admin_categories.html", s.newPage(r, "admin.categories", d))
}

// pageAdminRuleAdd adds a routing rule.
func (s *adminPages) pageAdminRuleAdd(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formErr(err)
	}
	f := r.PostForm
	// An empty priority is the default 0; anything else must be a number,
	// not silently 0.
	prio, err := 0, error(nil)
	if v := strings.TrimSpace(f.Get("priority")); v != "" {
		if prio, err = strconv.Atoi(v); err != nil {
			err = errs.E(errs.Invalid, "error.invalid").Field("priority", "field.number")
		}
	}
	if err == nil {
		_, err = s.Categories.AddRule(r.Context(), actorOf(r), category.Rule{CategoryCode: f.Get("category_code"), RegionCode: f.Get("region_code"),
			Department: f.Get("department"), Priority: prio})
	}
	if err != nil {
		fs := &formState{Values: f}
		status, err := s.failForm(r, fs, err)
		if err != nil {
			return err
		}
		return s.showCategories(w, r, status, fs, nil)
	}
	return s.redirect(w, r, "/admin/categories?done=1#rules")
}

// pageAdminCategoryAutoDispatch switches a category's automatic dispatch
// on acceptance on (auto_dispatch=1) or off.
func (s *adminPages) pageAdminCategoryAutoDispatch(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formErr(err)
	}
	f := r.PostForm
	code := strings.TrimSpace(f.Get("auto_category"))
	on := f.Get("auto_dispatch") == "1"
	var err error
	switch {
	case code == "":
		err = errs.E(errs.Invalid, "error.invalid").Field("auto_category", "field.required")
	default:
		_, err = s.Categories.Update(r.Context(), actorOf(r), code, category.Patch{AutoDispatch: &on})
		if errs.Is(err, errs.NotFound) {
			err = errs.E(errs.Invalid, "error.invalid").Field("auto_category", "category.not_found", code)
		}
	}
	if err != nil {
		fs := &formState{Values: f}
		status, err := s.failForm(r, fs, err)
		if err != nil {
			return err
		}
		return s.showCategories(w, r, status, nil, fs)
	}
	return s.redirect(w, r, "/admin/categories?done=1#auto-dispatch")
}

// pageAdminRuleDelete deletes a routing rule.
func (s *adminPages) pageAdminRuleDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return errs.E(errs.NotFound, "error.not_found")
	}
	if err := s.Categories.DeleteRule(r.Context(), actorOf(r), id); err != nil {
		return err
	}
	return s.redirect(w, r, "/admin/categories?done=1#rules")
}

type keysPage struct {
	Keys   []account.APIKey
	Times  map[int64][3]string
	NewKey string
	Form   *formState
}

// pageAdminKeys lists API keys.
func (s *adminPages) pageAdminKeys(w http.ResponseWriter, r *http.Request) error {
	return s.showKeys(w, r, http.StatusOK, "", nil)
}

func (s *adminPages) showKeys(w http.ResponseWriter, r *http.Request, status int, newKey string, fs *formState) error {
	keys, err := s.Accounts.APIKeys(r.Context())
	if err != nil {
		return err
	}
	d := &keysPage{Keys: keys, NewKey: newKey, Form: fs, Times: map[int64][3]string{}}
	if d.Form == nil {
		d.Form = &formState{}
	}
	for _, k := range keys {
		var t [3]string
		t[0] = shanghaiTime(k.CreatedAt)
		if k.RevokedAt != nil {
			t[1] = shanghaiTime(*k.RevokedAt)
		}
		if k.LastUsedAt != nil {
			t[2] = shanghaiTime(*k.LastUsedAt)
		}
		d.Times[k.ID] = t
	}
	sort.SliceStable(d.Keys, func(i, j int) bool { return d.Keys[i].ID > d.Keys[j].ID })
	return s.render(w, r, status, "admin_keys.html", s.newPage(r, "admin.apikeys", d))
}

// pageAdminKeyAdd creates a key and shows it once.
func (s *adminPages) pageAdminKeyAdd(w http.ResponseWriter, r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return formErr(err)
	}
	key, _, err := s.Accounts.CreateKey(r.Context(), actorOf(r), account.NewAPIKey{Name: r.PostFormValue("name"),
		Region: r.PostFormValue("region"), Services: strings.Split(r.PostFormValue("services"), ",")})
	if err != nil {
		fs := &formState{Values: r.PostForm}
		status, err := s.failForm(r, fs, err)
		if err != nil {
			return err
		}
		return s.showKeys(w, r, status, "", fs)
	}
	return s.showKeys(w, r, http.StatusCreated, key, nil)
}

// pageAdminKeyRevoke revokes a key.
func (s *adminPages) pageAdminKeyRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := s.Accounts.RevokeAPIKey(r.Context(), actorOf(r), r.PathValue("id")); err != nil {
		return err
	}
	return s.redirect(w, r, "/admin/apikeys")
}

type loginsPage struct {
	Entries      []account.LoginEntry
	Times        map[int64]string
	Username, IP string
	Failed       bool
	// Reasons are the entries' reasons in the reader's language; CSV and
	// XLSX the exports of the filter.
	Reasons   map[int64]string
	CSV, XLSX string
	// Cols are the sortable headings, Pager the total and numbered pages;
	// SortError says why a sort key was refused.
	Cols      []sortCol
	Pager     pager
	SortError string
}

// pageAdminLogins searches the login log: a total, numbered pages and
// headings that sort (?sort=username, ?sort=-at …); an unknown sort key is
// 422 with the message next to the filters.
func (s *adminPages) pageAdminLogins(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	lang := langOf(r)
	q := r.URL.Query()
	d := &loginsPage{Username: strings.TrimSpace(q.Get("username")), IP: strings.TrimSpace(q.Get("ip")), Failed: q.Get("failed") == "1", Times: map[int64]string{}}
	keep := url.Values{}
	for k, v := range map[string]string{"username": d.Username, "ip": d.IP, "sort": q.Get("sort")} {
		if v != "" {
			keep.Set(k, v)
		}
	}
	if d.Failed {
		keep.Set("failed", "1")
	}
	f := account.LoginLogFilter{Username: d.Username, IP: d.IP, Failed: d.Failed, Sort: keep.Get("sort")}
	d.Cols = sortCols("/admin/logins", keep, f.Sort, account.LoginLogSortKeys(), []string{s.Catalog.T(lang, "admin.time"),
		s.Catalog.T(lang, "col.username"), "IP", s.Catalog.T(lang, "admin.result")})
	ev := url.Values{"username": {d.Username}, "ip": {d.IP}}
	if d.Failed {
		ev.Set("failed", "1")
	}
	d.CSV, d.XLSX = "/admin/logins/export.csv?"+ev.Encode(), "/admin/logins/export.xlsx?"+ev.Encode()
	if k := strings.TrimPrefix(f.Sort, "-"); f.Sort != "" && !slices.Contains(account.LoginLogSortKeys(), k) {
		d.SortError = s.Catalog.T(lang, "field.unknown_sort", f.Sort)
		return s.render(w, r, http.StatusUnprocessableEntity, "admin_logins.html", s.newPage(r, "admin.logins", d))
	}
	total, err := s.Accounts.CountLoginLog(ctx, f)
	if err != nil {
		return err
	}
	page := pageNumber(r)
	f.Limit, f.Offset = listPageSize, (page-1)*listPageSize
	if d.Entries, err = s.Accounts.LoginLog(ctx, f); err != nil {
		return err
	}
	d.Reasons = map[int64]string{}
	for _, e := range d.Entries {
		d.Times[e.ID] = e.At.In(shanghai).Format("2006-01-02 15:04:05")
		d.Reasons[e.ID] = s.loginReason(lang, e.Reason)
	}
	d.Pager = newPager("/admin/logins", keep, total, page)
	return s.render(w, r, http.StatusOK, "admin_logins.html", s.newPage(r, "admin.logins", d))
}
