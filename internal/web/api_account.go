package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/errs"
	"whistle/internal/region"
)

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.Version})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if err := s.Ready(r.Context()); err != nil {
		return errs.E(errs.Unavailable, "error.unavailable").Wrap(err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "grids": s.Regions.Locator().Len()})
	return nil
}

// userJSON is a user as the API shows it; personal data is masked unless
// the caller may and asks to see it.
type userJSON struct {
	ID          int64          `json:"id"`
	Username    string         `json:"username"`
	DisplayName string         `json:"display_name,omitempty"`
	Phone       string         `json:"phone,omitempty"`
	IDNumber    string         `json:"id_number,omitempty"`
	Roles       []account.Role `json:"roles"`
	Region      region.Ref     `json:"region"`
	Department  *deptRef       `json:"department,omitempty"`
	Disabled    bool           `json:"disabled,omitempty"`
	Locked      bool           `json:"locked,omitempty"`
	CreatedAt   *time.Time     `json:"created_at,omitempty"`
}

type deptRef struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

func toUserJSON(u *account.User, unmasked bool) userJSON {
	j := userJSON{ID: u.ID, Username: u.Username, DisplayName: u.DisplayName, Roles: u.Roles, Region: u.Region, Disabled: u.Disabled, Locked: u.Locked}
	if u.Roles == nil {
		j.Roles = []account.Role{}
	}
	if u.DepartmentCode != "" {
		j.Department = &deptRef{Code: u.DepartmentCode, Name: u.DepartmentName}
	}
	j.Phone, j.IDNumber = account.MaskPhone(u.Phone), account.MaskIDNumber(u.IDNumber)
	if unmasked {
		j.Phone, j.IDNumber = u.Phone, u.IDNumber
	}
	if !u.CreatedAt.IsZero() {
		t := u.CreatedAt
		j.CreatedAt = &t
	}
	return j
}

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// accountAPI serves sessions, users, departments, API keys and the audit
// and login logs.
type accountAPI struct {
	Accounts *account.Store
	Regions  *region.Store
	Audit    *audit.Log
	Cases    *casework.Service
}

func (s *accountAPI) apiLogin(w http.ResponseWriter, r *http.Request) error {
	var in loginRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	e := errs.E(errs.Invalid, "error.invalid")
	if strings.TrimSpace(in.Username) == "" {
		e.Field("username", "field.required")
	}
	if in.Password == "" {
		e.Field("password", "field.required")
	}
	if len(e.Fields) > 0 {
		return e
	}
	tok, u, _, err := s.Accounts.Login(r.Context(), in.Username, in.Password, account.APISession, clientOf(r))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"token": tok,
		"user":  map[string]any{"id": u.ID, "username": u.Username, "roles": u.Roles, "region": u.Region},
	})
	return nil
}

func (s *accountAPI) apiLogout(w http.ResponseWriter, r *http.Request) error {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if c, err := r.Cookie(sessionCookie); err == nil && tok == "" {
		tok = c.Value
	}
	if err := s.Accounts.Logout(r.Context(), tok); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *accountAPI) apiMe(w http.ResponseWriter, r *http.Request) error {
	u := userOf(r)
	j := toUserJSON(u, true) // one's own data is never masked to oneself
	sc := account.ScopeOf(u)
	scope := map[string]any{}
	if sc.RegionPath != "" {
		scope["region"] = u.Region
	}
	if sc.DepartmentID != 0 {
		scope["department"] = j.Department
	}
	var perms []account.Perm
	for _, p := range []account.Perm{account.PermUserRead, account.PermUserWrite, account.PermUnmask, account.PermRegionWrite,
		account.PermAPIKeys, account.PermAuditRead, account.PermLoginLogRead, account.PermDepartmentRead, account.PermCategoryWrite} {
		if u.Can(p) {
			perms = append(perms, p)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": j, "id": u.ID, "username": u.Username, "roles": u.Roles, "region": u.Region,
		"scope": scope, "permissions": perms})
	return nil
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.E(errs.NotFound, "error.not_found")
	}
	return id, nil
}

func queryInt(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, errs.E(errs.Invalid, "error.invalid").Field(name, "field.number")
	}
	return n, nil
}

func (s *accountAPI) apiUsers(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := queryInt(r, "limit", 100)
	if err != nil {
		return err
	}
	after, err := queryInt(r, "after", 0)
	if err != nil {
		return err
	}
	role := account.Role(q.Get("role"))
	if role != "" && !role.Valid() {
		return errs.E(errs.Invalid, "error.invalid").Field("role", "field.unknown_role", string(role))
	}
	users, err := s.Accounts.Users(r.Context(), scopeOf(r), account.UserFilter{Role: role, Region: q.Get("region"), Q: q.Get("q"), After: int64(after), Limit: limit})
	if err != nil {
		return err
	}
	out := make([]userJSON, 0, len(users))
	for _, u := range users {
		out = append(out, toUserJSON(u, false))
	}
	resp := map[string]any{"users": out}
	if len(users) > 0 && len(users) == max(1, min(limit, 500)) {
		resp["next"] = users[len(users)-1].ID
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

func (s *accountAPI) apiUser(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	u, err := s.Accounts.User(r.Context(), scopeOf(r), id)
	if err != nil {
		return err
	}
	unmask := false
	if r.URL.Query().Get("unmask") == "1" {
		// Reveal checks the permission and audits the view (个人信息保护法).
		if unmask, err = s.Accounts.Reveal(r.Context(), userOf(r), actorOf(r), "user:"+strconv.FormatInt(id, 10), "phone", "id_number"); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, toUserJSON(u, unmask))
	return nil
}

type newUserRequest struct {
	Username    string         `json:"username"`
	Password    string         `json:"password"`
	DisplayName string         `json:"display_name"`
	Phone       string         `json:"phone"`
	IDNumber    string         `json:"id_number"`
	Roles       []account.Role `json:"roles"`
	Region      string         `json:"region"`
	Department  string         `json:"department"`
}

func (s *accountAPI) apiUserAdd(w http.ResponseWriter, r *http.Request) error {
	var in newUserRequest
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u, err := s.Accounts.AddUser(r.Context(), actorOf(r), scopeOf(r), account.NewUser{
		Username: in.Username, Password: in.Password, DisplayName: in.DisplayName, Phone: in.Phone, IDNumber: in.IDNumber,
		Roles: in.Roles, RegionCode: in.Region, DepartmentCode: in.Department,
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, toUserJSON(u, false))
	return nil
}

func (s *accountAPI) apiUserPassword(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.Accounts.SetPassword(r.Context(), actorOf(r), scopeOf(r), id, in.Password); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// userPatch is the body of PATCH /api/v1/users/{id}: every field is
// optional, and an absent one is left as it is.
type userPatch struct {
	DisplayName *string        `json:"display_name"`
	Phone       *string        `json:"phone"`
	Roles       []account.Role `json:"roles"`
	Region      *string        `json:"region"`
	Department  *string        `json:"department"`
	Disabled    *bool          `json:"disabled"`
	Locked      *bool          `json:"locked"`
}

// apiUserUpdate edits a user in scope: name, phone, roles, region,
// department, disabled and the hard lock. Disabling or locking refuses
// every login and ends the user's sessions; failed logins never lock an
// account.
func (s *accountAPI) apiUserUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in userPatch
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	u, err := s.Accounts.UpdateUser(r.Context(), actorOf(r), scopeOf(r), id, account.UserChange{DisplayName: in.DisplayName,
		Phone: in.Phone, Roles: in.Roles, RegionCode: in.Region, DepartmentCode: in.Department, Disabled: in.Disabled, Locked: in.Locked})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toUserJSON(u, false))
	return nil
}

// apiUserReassign moves the open cases assigned to a user to a colleague
// ({"to": USER_ID}), each with a timeline entry, in one transaction.
func (s *accountAPI) apiUserReassign(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in struct {
		To int64 `json:"to"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	moved, err := s.Cases.Reassign(r.Context(), callerOf(r), id, in.To)
	if err != nil {
		return err
	}
	if moved == nil {
		moved = []string{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"moved": len(moved), "cases": moved})
	return nil
}

func (s *accountAPI) apiDepartments(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.Accounts.Departments(r.Context())
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []account.Department{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"departments": ds})
	return nil
}

func parseTimeParam(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, errs.E(errs.Invalid, "error.invalid").Field(name, "field.date")
}

func (s *accountAPI) apiAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	from, err := parseTimeParam(r, "from")
	if err != nil {
		return err
	}
	to, err := parseTimeParam(r, "to")
	if err != nil {
		return err
	}
	before, err := queryInt(r, "before", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 100)
	if err != nil {
		return err
	}
	entries, err := s.Audit.List(r.Context(), audit.Filter{Actor: q.Get("actor"), Action: q.Get("action"), Q: q.Get("q"), From: from, To: to, Before: int64(before), Limit: limit})
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []audit.Entry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
	return nil
}

func (s *accountAPI) apiLoginLog(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	before, err := queryInt(r, "before", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 100)
	if err != nil {
		return err
	}
	offset, err := queryInt(r, "offset", 0)
	if err != nil {
		return err
	}
	f := account.LoginLogFilter{Username: q.Get("username"), IP: q.Get("ip"), Failed: q.Get("failed") == "1", Before: int64(before), Limit: limit,
		Sort: q.Get("sort"), Offset: offset}
	entries, err := s.Accounts.LoginLog(r.Context(), f)
	if err != nil {
		return err
	}
	if entries == nil {
		entries = []account.LoginEntry{}
	}
	total, err := s.Accounts.CountLoginLog(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries, "total": total})
	return nil
}

func (s *accountAPI) apiKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.Accounts.APIKeys(r.Context())
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []account.APIKey{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
	return nil
}

func (s *accountAPI) apiKeyCreate(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name     string   `json:"name"`
		Region   string   `json:"region"`
		Services []string `json:"services"`
	}
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	key, k, err := s.Accounts.CreateKey(r.Context(), actorOf(r), account.NewAPIKey{Name: in.Name, Region: in.Region, Services: in.Services})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"key": key, "api_key": k})
	return nil
}

func (s *accountAPI) apiKeyRevoke(w http.ResponseWriter, r *http.Request) error {
	if err := s.Accounts.RevokeAPIKey(r.Context(), actorOf(r), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
