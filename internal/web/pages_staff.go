package web

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/errs"
	"whistle/internal/i18n"
	"whistle/internal/region"
)

// regionPicker is the searchable region tree of a form (the
// "region-picker" template): every region of the user's subtree down to
// the grids, each labelled with its path so that same-named communities are
// told apart by their street.
type regionPicker struct {
	ID, Name, Value, Err string
	// Search labels the filter box.
	Search  string
	Options []option
}

// regionPath lists the regions under the user's region, streets down to
// grids, in tree order, each labelled with its path below the district.
func regionPath(ctx context.Context, regions *region.Store, u *account.User) ([]option, error) {
	if u.Region.Code == "" {
		return nil, nil
	}
	nodes, err := regions.Subtree(ctx, u.Region.Code, false)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Path < nodes[j].Path })
	names := map[string]string{}
	for _, n := range nodes {
		if n.Level != region.District && n.Level != region.City {
			names[n.Code] = n.Name
		}
	}
	out := make([]option, 0, len(nodes))
	for _, n := range nodes {
		var parts []string
		for _, c := range strings.Split(strings.Trim(n.Path, "/"), "/") {
			if name, ok := names[c]; ok {
				parts = append(parts, name)
			}
		}
		if len(parts) == 0 {
			parts = []string{n.Name} // the district itself, for its admins
		}
		out = append(out, option{Value: n.Code, Label: strings.Join(parts, " › "), Group: string(n.Level)})
	}
	return out, nil
}

type userEditPage struct {
	U        *account.User
	Phone    string
	Roles    []option
	Depts    []option
	Region   regionPicker
	Edit     *formState
	Reassign *formState
	// Open is how many open cases the user holds; Mates whom they may go to.
	Open  int
	Mates []option
	Flash string
	Self  bool
}

// pageAdminUser shows one user's edit form and the reassignment of their
// open cases.
func (s *adminPages) pageAdminUser(w http.ResponseWriter, r *http.Request) error {
	return s.showUser(w, r, http.StatusOK, nil, nil)
}

func (s *adminPages) showUser(w http.ResponseWriter, r *http.Request, status int, edit, reassign *formState) error {
	ctx := r.Context()
	id, err := pathID(r)
	if err != nil {
		return err
	}
	me, lang := userOf(r), langOf(r)
	x, err := s.Accounts.User(ctx, account.ScopeOf(me), id)
	if err != nil {
		return err
	}
	d := &userEditPage{U: x, Phone: account.MaskPhone(x.Phone), Edit: edit, Reassign: reassign, Self: x.ID == me.ID}
	if d.Edit == nil {
		d.Edit = &formState{Values: url.Values{"display_name": {x.DisplayName}, "region": {x.Region.Code}, "department": {x.DepartmentCode}}}
		for _, rl := range x.Roles {
			d.Edit.Values.Add("roles", string(rl))
		}
		if x.Disabled {
			d.Edit.Values.Set("disabled", "1")
		}
	}
	if d.Reassign == nil {
		d.Reassign = &formState{}
	}
	if d.Roles, d.Depts, err = s.userFormOptions(ctx, lang); err != nil {
		return err
	}
	opts, err := regionPath(ctx, s.Regions, me)
	if err != nil {
		return err
	}
	d.Region = regionPicker{ID: "ue-region", Name: "region", Value: d.Edit.Get("region"), Err: d.Edit.Err("region"), Options: opts,
		Search: s.Catalog.T(lang, "staff.region_search")}
	open := true
	cases, _, err := s.Cases.List(ctx, casework.Caller{User: me}, casework.Filter{Assignee: x.ID, Open: &open, Limit: 500})
	if err != nil {
		return err
	}
	d.Open = len(cases)
	if d.Mates, err = s.mates(ctx, me, x, lang); err != nil {
		return err
	}
	q := r.URL.Query()
	if q.Get("saved") != "" {
		d.Flash = s.Catalog.T(lang, "staff.user_saved")
	}
	if v := q.Get("moved"); v != "" {
		n, _ := strconv.Atoi(v)
		d.Flash = s.Catalog.T(lang, "staff.cases_moved", n, q.Get("to"))
	}
	return s.render(w, r, status, "admin_user.html", s.newPage(r, "staff.edit_user", d))
}

// userFormOptions are the roles and departments a user form offers.
func (s *adminPages) userFormOptions(ctx context.Context, lang i18n.Lang) (roles, depts []option, err error) {
	for _, rl := range account.Roles() {
		roles = append(roles, option{Value: string(rl), Label: s.Catalog.T(lang, "role."+string(rl))})
	}
	deps, err := s.Accounts.Departments(ctx)
	if err != nil {
		return nil, nil, err
	}
	for _, dp := range deps {
		depts = append(depts, option{Value: dp.Code, Label: dp.Name})
	}
	return roles, depts, nil
}

// mates lists the colleagues x's cases may go to: enabled staff in the
// caller's scope; Reassign checks their role and scope.
func (s *adminPages) mates(ctx context.Context, me, x *account.User, lang i18n.Lang) ([]option, error) {
	users, err := s.Accounts.Users(ctx, account.ScopeOf(me), account.UserFilter{Limit: 500})
	if err != nil {
		return nil, err
	}
	var out []option
	for _, m := range users {
		if m.ID == x.ID || m.Disabled || m.Locked || !m.IsStaff() {
			continue
		}
		label := m.Username
		if m.DisplayName != "" {
			label += "（" + m.DisplayName + "）"
		}
		var roles []string
		for _, rl := range m.Roles {
			roles = append(roles, s.Catalog.T(lang, "role."+string(rl)))
		}
		out = append(out, option{Value: strconv.FormatInt(m.ID, 10), Label: label + " · " + strings.Join(roles, "、") + " · " + m.Region.Name})
	}
	return out, nil
}

// pageAdminUserEdit saves the edit form: name, phone (blank keeps it),
// roles, region, department and disabled.
func (s *adminPages) pageAdminUserEdit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return formErr(err)
	}
	f := r.PostForm
	name, region, dept := strings.TrimSpace(f.Get("display_name")), f.Get("region"), f.Get("department")
	disabled := f.Get("disabled") == "1"
	ch := account.UserChange{DisplayName: &name, RegionCode: &region, DepartmentCode: &dept, Disabled: &disabled, Roles: []account.Role{}}
	if p := strings.TrimSpace(f.Get("phone")); p != "" {
		ch.Phone = &p
	}
	for _, rl := range f["roles"] {
		ch.Roles = append(ch.Roles, account.Role(rl))
	}
	if _, err := s.Accounts.UpdateUser(r.Context(), actorOf(r), scopeOf(r), id, ch); err != nil {
		fs := &formState{Values: f}
		status, err := s.failForm(r, fs, err)
		if err != nil {
			return err
		}
		return s.showUser(w, r, status, fs, nil)
	}
	return s.redirect(w, r, "/admin/users/"+strconv.FormatInt(id, 10)+"?saved=1")
}

// pageAdminUserReassign moves the user's open cases to the chosen colleague.
func (s *adminPages) pageAdminUserReassign(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := r.ParseForm(); err != nil {
		return formErr(err)
	}
	to, _ := strconv.ParseInt(r.PostFormValue("to"), 10, 64)
	moved, err := s.Cases.Reassign(r.Context(), callerOf(r), id, to)
	if err != nil {
		fs := &formState{Values: r.PostForm}
		status, err := s.failForm(r, fs, err)
		if err != nil {
			return err
		}
		return s.showUser(w, r, status, nil, fs)
	}
	name := ""
	if m, err := s.Accounts.User(r.Context(), scopeOf(r), to); err == nil {
		name = m.Username
	}
	return s.redirect(w, r, "/admin/users/"+strconv.FormatInt(id, 10)+"?moved="+strconv.Itoa(len(moved))+"&to="+url.QueryEscape(name))
}
