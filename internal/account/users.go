// Package account owns users, roles, data scope, sessions, login throttling
// and API keys.
package account

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/region"
)

// User is an account.
type User struct {
	ID             int64
	Username       string
	DisplayName    string
	Phone          string
	IDNumber       string
	Roles          []Role
	Region         region.Ref
	RegionPath     string
	DepartmentID   int64
	DepartmentCode string
	DepartmentName string
	Disabled       bool
	// Locked is an admin's hard lock: the account may not log in (SetLocked).
	Locked    bool
	CreatedAt time.Time
}

// Config tunes sessions and throttling.
type Config struct {
	Argon2 Argon2Params
	// WebTTL is a browser session's absolute lifetime; WebIdle its idle timeout.
	WebTTL, WebIdle time.Duration
	// APITTL is a bearer token's lifetime.
	APITTL time.Duration
	// ThrottleWindow is how far back failed logins count.
	ThrottleWindow time.Duration
	// FreeFails is how many failed logins a client may make for one
	// username (since that client's last success with it) before each
	// further attempt waits BaseDelay, doubling with every failure up to
	// MaxDelay. The delay is per username and client: failures from one
	// client never lock the account for another (an account is locked
	// only by an admin, SetLocked).
	FreeFails           int
	BaseDelay, MaxDelay time.Duration
	// MaxFailsPerIP is how many failures, for any usernames, one client
	// may make in the window before it must wait the window out.
	MaxFailsPerIP int
}

// DefaultConfig returns production defaults.
func DefaultConfig() Config {
	return Config{
		Argon2: DefaultArgon2(),
		WebTTL: 12 * time.Hour, WebIdle: 2 * time.Hour, APITTL: 30 * 24 * time.Hour,
		ThrottleWindow: 15 * time.Minute, FreeFails: 3, BaseDelay: time.Second, MaxDelay: 15 * time.Minute, MaxFailsPerIP: 30,
	}
}

// Store manages accounts.
type Store struct {
	db  *db.DB
	cfg Config
	// dummyHash is verified against for unknown usernames so that a login's
	// timing does not reveal whether an account exists.
	dummyHash string
}

// NewStore returns a Store.
func NewStore(d *db.DB, cfg Config) (*Store, error) {
	h, err := HashPassword("dummy-password-for-timing", cfg.Argon2)
	if err != nil {
		return nil, err
	}
	return &Store{db: d, cfg: cfg, dummyHash: h}, nil
}

// Config returns the store's configuration.
func (s *Store) Config() Config { return s.cfg }

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$`)

// NewUser is the input for AddUser.
type NewUser struct {
	Username       string
	Password       string
	DisplayName    string
	Phone          string
	IDNumber       string
	Roles          []Role
	RegionCode     string
	DepartmentCode string
}

// MinPasswordLen is the shortest password accepted.
const MinPasswordLen = 8

func validatePassword(e *errs.Error, field, pw string) {
	switch {
	case len([]rune(pw)) < MinPasswordLen:
		e.Field(field, "field.too_short", MinPasswordLen)
	case len(pw) > 256:
		e.Field(field, "field.too_long", 256)
	}
}

// AddUser creates an account. The actor's scope must contain the new user's
// region (admins of the district, or SystemScope for the command line).
func (s *Store) AddUser(ctx context.Context, actor audit.Actor, scope Scope, in NewUser) (_ *User, err error) {
	defer errs.Wrapf(&err, "account.Store.AddUser")
	e := errs.E(errs.Invalid, "error.invalid")
	in.Username = strings.ToLower(strings.TrimSpace(in.Username))
	if !usernameRE.MatchString(in.Username) {
		e.Field("username", "field.username_format")
	}
	validatePassword(e, "password", in.Password)
	if in.Phone != "" && !ValidPhone(in.Phone) {
		e.Field("phone", "field.phone_format")
	}
	if in.IDNumber != "" {
		in.IDNumber = checkIDNumber(e, "id_number", in.IDNumber, s.db.Now())
	}
	if len(in.DisplayName) > 100 {
		e.Field("display_name", "field.too_long", 100)
	}
	if len(in.Roles) == 0 {
		e.Field("roles", "field.required")
	}
	isHandler := false
	for _, r := range in.Roles {
		if !r.Valid() {
			e.Field("roles", "field.unknown_role", string(r))
		}
		if r == DepartmentHandler {
			isHandler = true
		}
	}
	if isHandler && in.DepartmentCode == "" {
		e.Field("department", "field.role_needs_department")
	}
	if !isHandler && in.DepartmentCode != "" {
		e.Field("department", "field.department_needs_role")
	}
	if in.RegionCode == "" {
		e.Field("region", "field.required")
	}
	if len(e.Fields) > 0 {
		return nil, e
	}
	hash, err := HashPassword(in.Password, s.cfg.Argon2)
	if err != nil {
		return nil, err
	}
	var id int64
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		var path string
		w := db.Where{}
		w.Add("code = ?", in.RegionCode)
		err := tx.QueryRow(ctx, `SELECT path FROM regions`+w.SQL(), w.Args()...).Scan(&path)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.Invalid, "error.invalid").Field("region", "field.unknown_region", in.RegionCode)
		}
		if err != nil {
			return err
		}
		if !scope.all && !(scope.RegionPath != "" && strings.HasPrefix(path, scope.RegionPath)) {
			// Creating outside one's scope reads as an unknown region.
			return errs.E(errs.Invalid, "error.invalid").Field("region", "field.unknown_region", in.RegionCode)
		}
		dept, err := departmentID(ctx, tx, in.DepartmentCode)
		if err != nil {
			return err
		}
		id, err = tx.InsertID(ctx, `INSERT INTO users (username, display_name, phone, id_number, password_hash, roles, region_code, department_id, disabled, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id`,
			in.Username, in.DisplayName, in.Phone, in.IDNumber, hash, joinRoles(in.Roles), in.RegionCode, dept, false, tx.Now())
		if errs.Is(err, errs.Conflict) {
			return errs.E(errs.Conflict, "error.invalid").Field("username", "field.taken")
		}
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor, "user.add", "user:"+strconv.FormatInt(id, 10),
			fmt.Sprintf("username=%s roles=%s region=%s department=%s", in.Username, joinRoles(in.Roles), in.RegionCode, in.DepartmentCode))
	})
	if err != nil {
		return nil, err
	}
	return s.User(ctx, SystemScope(), id)
}

// departmentID is the id of the department code inside tx, nil for no
// code; an unknown code is Invalid on field department.
func departmentID(ctx context.Context, tx *db.Tx, code string) (any, error) {
	if code == "" {
		return nil, nil
	}
	var id int64
	err := tx.QueryRow(ctx, `SELECT id FROM departments WHERE code = $1`, code).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("department", "field.unknown_department", code)
	}
	return id, err
}

func joinRoles(rs []Role) string {
	ss := make([]string, len(rs))
	for i, r := range rs {
		ss[i] = string(r)
	}
	sort.Strings(ss)
	return strings.Join(ss, ",")
}

func splitRoles(s string) []Role {
	var out []Role
	for _, p := range strings.Split(s, ",") {
		if p != "" {
			out = append(out, Role(p))
		}
	}
	return out
}

const userCols = `u.id, u.username, u.display_name, u.phone, u.id_number, u.roles, u.region_code, r.name, r.level, r.path,
	COALESCE(u.department_id, 0), COALESCE(d.code, ''), COALESCE(d.name, ''), u.disabled, u.created_at, u.locked`

const userFrom = ` FROM users u JOIN regions r ON r.code = u.region_code LEFT JOIN departments d ON d.id = u.department_id`

// userScopeCols: a user record is in scope by its region, its department or
// being the caller themselves.
var userScopeCols = Columns{Path: "r.path", Department: "u.department_id", User: "u.id"}

// scanUser scans userCols, then any columns selected after them into extra.
func scanUser(sc interface{ Scan(...any) error }, extra ...any) (*User, error) {
	var u User
	var roles, lvl string
	var created db.Time
	dest := append([]any{&u.ID, &u.Username, &u.DisplayName, &u.Phone, &u.IDNumber, &roles, &u.Region.Code, &u.Region.Name, &lvl, &u.RegionPath,
		&u.DepartmentID, &u.DepartmentCode, &u.DepartmentName, &u.Disabled, &created, &u.Locked}, extra...)
	err := sc.Scan(dest...)
	if err != nil {
		return nil, err
	}
	u.Roles = splitRoles(roles)
	u.Region.Level = region.Level(lvl)
	u.CreatedAt = created.Time
	return &u, nil
}

// User returns the user with id if it is within scope; otherwise NotFound.
func (s *Store) User(ctx context.Context, scope Scope, id int64) (_ *User, err error) {
	defer errs.Wrapf(&err, "account.Store.User")
	var w db.Where
	w.Add("u.id = ?", id)
	scope.Apply(&w, userScopeCols)
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userCols+userFrom+w.SQL(), w.Args()...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "account.user_not_found")
	}
	return u, err
}

// UserByName returns a user by username within scope.
func (s *Store) UserByName(ctx context.Context, scope Scope, username string) (_ *User, err error) {
	defer errs.Wrapf(&err, "account.Store.UserByName")
	var w db.Where
	w.Add("u.username = ?", strings.ToLower(username))
	scope.Apply(&w, userScopeCols)
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userCols+userFrom+w.SQL(), w.Args()...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "account.user_not_found")
	}
	return u, err
}

// UserFilter narrows Users.
type UserFilter struct {
	Role   Role
	Region string // a region code: its subtree
	Q      string // substring of username or display name
	After  int64  // cursor: ids greater than After
	Limit  int
	// Sort is one of UserSortKeys, "-" first for descending; "" is by id.
	Sort string
	// Offset skips that many users, for numbered pages.
	Offset int
}

// userSortCols maps each sort key to its column: the whitelist of Sort.
var userSortCols = map[string]string{"username": "u.username", "name": "u.display_name", "region": "r.path", "created": "u.id"}

// UserSortKeys lists the keys UserFilter.Sort accepts.
func UserSortKeys() []string { return []string{"username", "name", "region", "created"} }

// userOrder is the ORDER BY of a sort key, ties broken by id; an unknown
// key is Invalid on field sort.
func userOrder(sort string) (string, error) {
	if sort == "" {
		return " ORDER BY u.id", nil
	}
	clause, ok := db.OrderBy(sort, userSortCols, "u.id")
	if !ok {
		return "", errs.E(errs.Invalid, "error.invalid").Field("sort", "field.unknown_sort", sort)
	}
	return clause, nil
}

// CountUsersIn returns how many users within scope match f (its After,
// Sort, Limit and Offset aside), for a list's total.
func (s *Store) CountUsersIn(ctx context.Context, scope Scope, f UserFilter) (_ int, err error) {
	defer errs.Wrapf(&err, "account.Store.CountUsersIn")
	f.After = 0
	w := f.where(scope)
	var n int
	err = s.db.QueryRow(ctx, `SELECT COUNT(*)`+userFrom+w.SQL(), w.Args()...).Scan(&n)
	return n, err
}

// Users lists users within scope, by id or f.Sort.
func (s *Store) Users(ctx context.Context, scope Scope, f UserFilter) (_ []*User, err error) {
	defer errs.Wrapf(&err, "account.Store.Users")
	order, err := userOrder(f.Sort)
	if err != nil {
		return nil, err
	}
	w := f.where(scope)
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := s.db.Query(ctx, `SELECT `+userCols+userFrom+w.SQL()+order+` LIMIT `+strconv.Itoa(limit)+` OFFSET `+strconv.Itoa(max(f.Offset, 0)), w.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// where is the filter's condition within scope.
func (f UserFilter) where(scope Scope) db.Where {
	var w db.Where
	scope.Apply(&w, userScopeCols)
	if f.Role != "" {
		w.Add("(',' || u.roles || ',') LIKE ?", "%,"+string(f.Role)+",%")
	}
	if f.Region != "" {
		w.Add("r.path LIKE ?", "%/"+f.Region+"/%")
	}
	if f.Q != "" {
		q := "%" + strings.ToLower(f.Q) + "%"
		w.Add("(u.username LIKE ? OR LOWER(u.display_name) LIKE ?)", q, q)
	}
	if f.After > 0 {
		w.Add("u.id > ?", f.After)
	}
	return w
}

// SetPassword replaces a user's password and ends their sessions.
func (s *Store) SetPassword(ctx context.Context, actor audit.Actor, scope Scope, id int64, pw string) (err error) {
	defer errs.Wrapf(&err, "account.Store.SetPassword")
	e := errs.E(errs.Invalid, "error.invalid")
	validatePassword(e, "password", pw)
	if len(e.Fields) > 0 {
		return e
	}
	if _, err := s.User(ctx, scope, id); err != nil {
		return err
	}
	hash, err := HashPassword(pw, s.cfg.Argon2)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3`, hash, tx.Now(), id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor, "user.passwd", "user:"+strconv.FormatInt(id, 10), "password reset; sessions ended")
	})
}

// SetLocked sets or clears an admin's hard lock on a user within scope.
// A locked account cannot log in, and locking it ends its sessions.
func (s *Store) SetLocked(ctx context.Context, actor audit.Actor, scope Scope, id int64, locked bool) (err error) {
	defer errs.Wrapf(&err, "account.Store.SetLocked")
	if _, err := s.User(ctx, scope, id); err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET locked = $1, updated_at = $2 WHERE id = $3`, locked, tx.Now(), id); err != nil {
			return err
		}
		action := "user.unlock"
		if locked {
			action = "user.lock"
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, id); err != nil {
				return err
			}
		}
		return audit.Record(ctx, tx, actor, action, "user:"+strconv.FormatInt(id, 10), "")
	})
}

// Department is an org unit that handles cases, serving a region subtree.
type Department struct {
	ID     int64      `json:"id"`
	Code   string     `json:"code"`
	Name   string     `json:"name"`
	Region region.Ref `json:"region"`
}

// AddDepartment creates a department serving the subtree of regionCode.
func (s *Store) AddDepartment(ctx context.Context, actor audit.Actor, code, name, regionCode string) (_ int64, err error) {
	defer errs.Wrapf(&err, "account.Store.AddDepartment")
	e := errs.E(errs.Invalid, "error.invalid")
	if code == "" {
		e.Field("code", "field.required")
	}
	if name == "" {
		e.Field("name", "field.required")
	}
	if len(e.Fields) > 0 {
		return 0, e
	}
	var id int64
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		var err error
		id, err = tx.InsertID(ctx, `INSERT INTO departments (code, name, region_code, created_at) VALUES ($1, $2, $3, $4) RETURNING id`,
			code, name, regionCode, tx.Now())
		if errs.Is(err, errs.Invalid) {
			return errs.E(errs.Invalid, "error.invalid").Field("region", "field.unknown_region", regionCode)
		}
		if errs.Is(err, errs.Conflict) {
			return errs.E(errs.Conflict, "error.invalid").Field("code", "field.taken")
		}
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor, "department.add", "department:"+code, name+" @ "+regionCode)
	})
	return id, err
}

// Departments lists all departments (they are not personal data).
func (s *Store) Departments(ctx context.Context) (_ []Department, err error) {
	defer errs.Wrapf(&err, "account.Store.Departments")
	rows, err := s.db.Query(ctx, `SELECT d.id, d.code, d.name, r.code, r.name, r.level FROM departments d JOIN regions r ON r.code = d.region_code ORDER BY d.code`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Department
	for rows.Next() {
		var d Department
		var lvl string
		if err := rows.Scan(&d.ID, &d.Code, &d.Name, &d.Region.Code, &d.Region.Name, &lvl); err != nil {
			return nil, err
		}
		d.Region.Level = region.Level(lvl)
		out = append(out, d)
	}
	return out, rows.Err()
}

// CountUsers returns how many accounts exist (all of them).
func (s *Store) CountUsers(ctx context.Context) (_ int, err error) {
	defer errs.Wrapf(&err, "account.Store.CountUsers")
	var n int
	err = s.db.QueryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}
