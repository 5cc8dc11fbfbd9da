package account

import "whistle/internal/audit"

// Caller is who acts on a module's items: a signed-in user (or an
// anonymous visitor, User nil), or the system (a timer's step, a batch
// run). The modules on the workflow kernel share it, so that scope,
// actor and system steps mean the same everywhere.
type Caller struct {
	User *User
	IP   string
	// system is set by SystemCaller only: no request can make it.
	system bool
}

// SystemCaller is the caller of the timers' steps and the batch runs.
func SystemCaller() Caller { return Caller{system: true} }

// CallerOf is the caller of a signed-in user from ip.
func CallerOf(u *User, ip string) Caller { return Caller{User: u, IP: ip} }

// IsSystem reports whether the system acts.
func (c Caller) IsSystem() bool { return c.system }

// Scope is the caller's data scope; the system sees everything.
func (c Caller) Scope() Scope {
	if c.system {
		return SystemScope()
	}
	return ScopeOf(c.User)
}

// UserID is the acting user's id, 0 for the system or an anonymous
// visitor.
func (c Caller) UserID() int64 {
	if c.User == nil || c.system {
		return 0
	}
	return c.User.ID
}

// Actor is the caller as the audit log and the timelines name them.
func (c Caller) Actor() audit.Actor {
	if c.system {
		return audit.Actor{Name: "system"}
	}
	if c.User == nil {
		return audit.Actor{IP: c.IP}
	}
	return audit.Actor{UserID: c.User.ID, Name: c.User.Username, IP: c.IP}
}
