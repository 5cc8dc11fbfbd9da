// Package casework is Whistle's heart: every problem, whoever reports it,
// becomes a case that moves through a declarative workflow (红哨 or 数字城管)
// until it is verified and rated. It owns cases, their timeline, photos,
// links, routing on submission, duplicates and the privacy of reporters.
package casework

import (
	"time"

	"whistle/internal/account"
)

// Sources of cases.
const (
	SourceResident   = "resident"
	SourceGridPatrol = "grid_patrol"
	SourceHotline    = "hotline"
	SourceStaff      = "staff"
	SourceOpen311    = "open311"
	SourceSensor     = "sensor"
	// SourceVisit is a walk-in (来访): a resident came to the office and
	// staff registered the case.
	SourceVisit = "visit"
)

// Sources lists the valid sources.
func Sources() []string {
	return []string{SourceResident, SourceGridPatrol, SourceHotline, SourceVisit, SourceStaff, SourceOpen311, SourceSensor}
}

// Case is a reported problem and where it stands.
type Case struct {
	ID             int64
	Number         string
	District       string
	Workflow       string
	Status         State
	PrevStatus     State
	Source         string
	CategoryCode   string
	CategoryName   string
	Description    string
	Address        string
	Lat, Lng       float64
	GridCode       string
	CommunityCode  string
	StreetCode     string
	RegionPath     string
	ReporterID     int64
	ReporterName   string
	ReporterPhone  string
	Anonymous      bool
	Urgent         bool
	Visibility     string
	DepartmentID   int64
	DepartmentCode string
	DepartmentName string
	AssigneeID     int64
	AssigneeName   string
	// Followed marks a case read through View by a follower outside its
	// scope: read-only, and holding only what PublicView shows.
	Followed       bool
	Rating         int // 0 = not rated
	RatingComment  string
	RevisitResult  string
	Reopens        int
	Rework         int
	Returns        int
	Supervised     bool
	PostponeHours  int
	PostponeReason string
	ParentID       int64
	Fields         map[string]string
	Tags           []string
	RoutedDept     string
	Version        int
	// WorkflowVersion is the version of its workflow the case was
	// submitted under, and acts under.
	WorkflowVersion int
	CreatedAt       time.Time
	UpdatedAt       time.Time
	ClosedAt        time.Time
	// DeadlineAt and SLAState are the current stage's deadline and
	// time-limit state (ok, warning, overdue, paused, none), kept by the
	// SLA engine.
	DeadlineAt time.Time
	SLAState   string
}

// Event is one step of a case's timeline.
type Event struct {
	ID         int64          `json:"id"`
	At         time.Time      `json:"at"`
	ActorID    int64          `json:"actor_id,omitempty"`
	ActorName  string         `json:"actor"`
	Role       string         `json:"role"`
	Action     Action         `json:"action"`
	FromStatus State          `json:"from,omitempty"`
	ToStatus   State          `json:"to,omitempty"`
	Note       string         `json:"note,omitempty"`
	Data       map[string]any `json:"data,omitempty"`
	Public     bool           `json:"public"`
	Photos     []Photo        `json:"photos,omitempty"`
}

// Photo is an image attached to a case.
type Photo struct {
	ID        int64     `json:"id"`
	CaseID    int64     `json:"-"`
	EventID   int64     `json:"event_id,omitempty"`
	Kind      string    `json:"kind"` // before | after
	BlobKey   string    `json:"-"`
	MIME      string    `json:"mime"`
	Size      int64     `json:"size"`
	Width     int       `json:"width"`
	Height    int       `json:"height"`
	CreatedAt time.Time `json:"created_at"`
}

// Caller is whoever acts: a user, an anonymous resident (User nil), or the
// system scheduler.
type Caller struct {
	User   *account.User
	IP     string
	System bool
	// Client identifies an anonymous caller across requests: the random
	// value of the web layer's whistle_client cookie. It scopes an
	// anonymous caller's Idempotency-Keys; without it an anonymous
	// caller's key is ignored. Never the IP address: many residents share
	// one.
	Client string
}

// Scope is the caller's data scope; the system sees everything.
func (c Caller) Scope() account.Scope {
	if c.System {
		return account.SystemScope()
	}
	return account.ScopeOf(c.User)
}

func (c Caller) name() string {
	switch {
	case c.System:
		return "system"
	case c.User != nil:
		return c.User.Username
	}
	return "anonymous"
}

func (c Caller) id() int64 {
	if c.User != nil {
		return c.User.ID
	}
	return 0
}

// IsOpen reports whether the case is still being handled.
func (c *Case) IsOpen() bool {
	return !IsTerminalState(c.Status)
}
