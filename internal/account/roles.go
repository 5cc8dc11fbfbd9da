package account

// Role is what a user does; a user may hold several.
type Role string

// The roles.
const (
	Resident          Role = "resident"
	GridWorker        Role = "grid_worker"
	CommunityStaff    Role = "community_staff"
	StreetStaff       Role = "street_staff"
	DepartmentHandler Role = "department_handler"
	PartyMember       Role = "party_member"
	Leader            Role = "leader"
	Admin             Role = "admin"
)

// Roles lists every role.
func Roles() []Role {
	return []Role{Resident, GridWorker, CommunityStaff, StreetStaff, DepartmentHandler, PartyMember, Leader, Admin}
}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, x := range Roles() {
		if x == r {
			return true
		}
	}
	return false
}

// Perm is a permission checked before an action; data scope is separate and
// decides which records the permitted action can reach.
type Perm string

// The permissions.
const (
	PermUserRead       Perm = "user.read"
	PermUserWrite      Perm = "user.write"
	PermUnmask         Perm = "personal.unmask"
	PermRegionWrite    Perm = "region.write"
	PermAPIKeys        Perm = "apikey.manage"
	PermAuditRead      Perm = "audit.read"
	PermLoginLogRead   Perm = "loginlog.read"
	PermDepartmentRead Perm = "department.read"
	PermCategoryWrite  Perm = "category.write"
	PermSLAWrite       Perm = "sla.write"
	PermStatsRead      Perm = "stats.read"
	// PermWorkflowWrite lets a caller upload a new version of a workflow.
	PermWorkflowWrite Perm = "workflow.write"
	// PermCaseUrgent lets a caller mark a new case urgent: urgency is a
	// staff decision, not a resident's (issue 13, item 7).
	PermCaseUrgent Perm = "case.urgent"
	// PermIndicatorWrite lets a caller declare imported indicators (对标).
	PermIndicatorWrite Perm = "indicator.write"
)

// grants lists the permissions of each role. Default deny: a role or
// permission missing here grants nothing.
func grants(r Role) []Perm {
	switch r {
	case Admin:
		return []Perm{PermUserRead, PermUserWrite, PermUnmask, PermRegionWrite, PermAPIKeys, PermAuditRead, PermLoginLogRead, PermDepartmentRead, PermCategoryWrite, PermSLAWrite, PermStatsRead, PermCaseUrgent,
			PermWorkflowWrite, PermIndicatorWrite}
	case Leader:
		return []Perm{PermUserRead, PermDepartmentRead, PermStatsRead, PermCaseUrgent}
	case StreetStaff, CommunityStaff:
		return []Perm{PermUserRead, PermUnmask, PermDepartmentRead, PermStatsRead, PermCaseUrgent}
	case DepartmentHandler, GridWorker:
		return []Perm{PermDepartmentRead, PermCaseUrgent}
	}
	return nil
}

// Can reports whether any of the user's roles grants p.
func (u *User) Can(p Perm) bool {
	if u == nil {
		return false
	}
	for _, r := range u.Roles {
		for _, g := range grants(r) {
			if g == p {
				return true
			}
		}
	}
	return false
}

// Has reports whether the user holds role r.
func (u *User) Has(r Role) bool {
	for _, x := range u.Roles {
		if x == r {
			return true
		}
	}
	return false
}

// IsStaff reports whether the user holds any role other than resident.
func (u *User) IsStaff() bool {
	for _, r := range u.Roles {
		if r != Resident {
			return true
		}
	}
	return false
}
