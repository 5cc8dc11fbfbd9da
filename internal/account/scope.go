package account

import "whistle/internal/db"

// Scope is a user's data scope (数据权限): the region subtree, department or
// own records they may see. The zero Scope sees nothing: default deny.
// Every store query of a scoped table applies it through Apply.
type Scope struct {
	// RegionPath grants the subtree under this materialised path.
	RegionPath string
	// DepartmentID grants the records of this department.
	DepartmentID int64
	// UserID grants the user's own records.
	UserID int64
	all    bool
}

// SystemScope sees everything; it is for the command line and start-up
// tasks, never for a request.
func SystemScope() Scope { return Scope{all: true} }

// Denies reports whether the scope can see nothing.
func (s Scope) Denies() bool {
	return !s.all && s.RegionPath == "" && s.DepartmentID == 0 && s.UserID == 0
}

// Columns names the columns of a scoped table that Apply tests; an empty
// name means the table has no such column, so that grant does not apply.
type Columns struct {
	Path       string // a materialised region path
	Department string
	User       string
}

// Apply adds the scope's condition to w. It is the one place where data
// scope becomes SQL.
func (s Scope) Apply(w *db.Where, c Columns) {
	if s.all {
		return
	}
	var ors []string
	var args []any
	if s.RegionPath != "" && c.Path != "" {
		ors = append(ors, "("+c.Path+" >= ? AND "+c.Path+" < ?)")
		args = append(args, s.RegionPath, db.PathUpper(s.RegionPath))
	}
	if s.DepartmentID != 0 && c.Department != "" {
		ors = append(ors, c.Department+" = ?")
		args = append(args, s.DepartmentID)
	}
	if s.UserID != 0 && c.User != "" {
		ors = append(ors, c.User+" = ?")
		args = append(args, s.UserID)
	}
	if len(ors) == 0 {
		w.Add("1 = 0")
		return
	}
	cond := ors[0]
	for _, o := range ors[1:] {
		cond += " OR " + o
	}
	w.Add("("+cond+")", args...)
}

// ScopeOf derives the data scope of a user from their roles and bindings.
func ScopeOf(u *User) Scope {
	if u == nil || u.Disabled {
		return Scope{}
	}
	s := Scope{UserID: u.ID}
	for _, r := range u.Roles {
		switch r {
		case Admin, Leader, StreetStaff, CommunityStaff, GridWorker, PartyMember:
			// Staff see their region subtree; a party member sees the
			// community they registered with (双报到).
			if u.RegionPath != "" && (s.RegionPath == "" || len(u.RegionPath) < len(s.RegionPath)) {
				s.RegionPath = u.RegionPath
			}
		case DepartmentHandler:
			s.DepartmentID = u.DepartmentID
		}
	}
	return s
}

// Covers reports whether the scope grants a record at the materialised
// region path p: Apply's region test, for a record already in hand.
func (s Scope) Covers(p string) bool {
	if s.all {
		return true
	}
	return s.RegionPath != "" && p >= s.RegionPath && p < db.PathUpper(s.RegionPath)
}

// Scope is an API key's data scope: its region subtree, nothing else. A
// key whose region is gone sees nothing.
func (k *APIKey) Scope() Scope { return Scope{RegionPath: k.RegionPath} }

// MayPost reports whether the key may post to the service (category) code:
// a key without a list may post to every service.
func (k *APIKey) MayPost(code string) bool {
	if len(k.Services) == 0 {
		return true
	}
	for _, s := range k.Services {
		if s == code {
			return true
		}
	}
	return false
}
