package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// SessionKind distinguishes browser sessions (cookie + CSRF) from bearer
// tokens issued to API clients.
type SessionKind string

// The session kinds.
const (
	WebSession SessionKind = "web"
	APISession SessionKind = "api"
)

// Session is an authenticated login.
type Session struct {
	ID        int64
	Kind      SessionKind
	CSRF      string
	ExpiresAt time.Time
}

// Client describes where a request comes from, for logs and throttling.
type Client struct {
	IP        string
	UserAgent string
}

// NewToken returns a random URL-safe token of 32 bytes.
func NewToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// HashToken is how tokens are stored: a stolen database holds no usable token.
func HashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// Login checks a username and password and opens a session. Failures are
// throttled per account and per IP, and every attempt goes to the login log.
// The returned token is shown once; only its hash is stored.
func (s *Store) Login(ctx context.Context, username, password string, kind SessionKind, c Client) (token string, u *User, sess *Session, err error) {
	defer errs.Wrapf(&err, "account.Store.Login")
	username = strings.ToLower(strings.TrimSpace(username))
	if len(username) > 64 {
		username = username[:64]
	}
	if wait, err := s.throttled(ctx, username, c.IP); err != nil {
		return "", nil, nil, err
	} else if wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		s.logLogin(ctx, username, 0, c, false, "throttled")
		e := errs.E(errs.RateLimited, "account.throttled", secs)
		e.RetryAfter = secs
		return "", nil, nil, e
	}
	var id int64
	var hash string
	var disabled, locked bool
	err = s.db.QueryRow(ctx, `SELECT id, password_hash, disabled, locked FROM users WHERE username = $1`, username).Scan(&id, &hash, &disabled, &locked)
	if errors.Is(err, sql.ErrNoRows) {
		_, _ = VerifyPassword(password, s.dummyHash)
		s.logLogin(ctx, username, 0, c, false, "unknown user")
		return "", nil, nil, errs.E(errs.Unauthorized, "account.bad_credentials")
	}
	if err != nil {
		return "", nil, nil, err
	}
	ok, err := VerifyPassword(password, hash)
	if err != nil || !ok {
		s.logLogin(ctx, username, id, c, false, "bad password")
		return "", nil, nil, errs.E(errs.Unauthorized, "account.bad_credentials")
	}
	if disabled {
		s.logLogin(ctx, username, id, c, false, "disabled")
		return "", nil, nil, errs.E(errs.Forbidden, "account.disabled")
	}
	if locked {
		// Told only to the one who knows the password.
		s.logLogin(ctx, username, id, c, false, "locked")
		return "", nil, nil, errs.E(errs.Forbidden, "account.locked")
	}
	var tok string
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		var err error
		tok, sess, err = openSession(ctx, tx, s.cfg, id, username, kind, c, "")
		return err
	})
	if err != nil {
		return "", nil, nil, err
	}
	u, err = s.User(ctx, SystemScope(), id)
	return tok, u, sess, err
}

// openSession opens a session for user id inside tx and records the
// successful login; via names how it was proven when not by password
// (the login log's reason: sms, oidc).
func openSession(ctx context.Context, tx *db.Tx, cfg Config, id int64, username string, kind SessionKind, c Client, via string) (string, *Session, error) {
	token := NewToken()
	sess := &Session{Kind: kind, CSRF: NewToken()}
	ttl := cfg.WebTTL
	if kind == APISession {
		ttl = cfg.APITTL
	}
	sess.ExpiresAt = tx.Now().Add(ttl)
	var err error
	sess.ID, err = tx.InsertID(ctx, `INSERT INTO sessions (token_hash, user_id, kind, csrf, created_at, last_seen_at, expires_at, ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8) RETURNING id`,
		HashToken(token), id, string(kind), sess.CSRF, tx.Now(), sess.ExpiresAt, c.IP, clip(c.UserAgent, 300))
	if err != nil {
		return "", nil, err
	}
	_, err = tx.Exec(ctx, `INSERT INTO login_log (at, username, user_id, ip, success, reason, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		tx.Now(), username, id, c.IP, true, via, clip(c.UserAgent, 300))
	return token, sess, err
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// logLogin records a failed attempt. It is best-effort: a failure to log
// must not turn a wrong password into a 500.
func (s *Store) logLogin(ctx context.Context, username string, userID int64, c Client, ok bool, reason string) {
	var uid any
	if userID != 0 {
		uid = userID
	}
	_ = s.db.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO login_log (at, username, user_id, ip, success, reason, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			tx.Now(), username, uid, c.IP, ok, reason, clip(c.UserAgent, 300))
		return err
	})
}

// throttled returns how long the caller must wait before trying again. It
// reads the login log, so the limits hold across restarts and replicas.
//
// Failures are counted per username and client, since that client's last
// success with the username: after FreeFails of them every attempt waits
// BaseDelay after the newest failure, doubling with each further failure
// up to MaxDelay. A client guessing one user's password thus slows only
// itself, and the user logs in from elsewhere as usual. Beyond that, a
// client that fails MaxFailsPerIP times in the window, for any usernames,
// waits the window out.
func (s *Store) throttled(ctx context.Context, username, ip string) (time.Duration, error) {
	now := s.db.Now()
	since := now.Add(-s.cfg.ThrottleWindow)
	failures := func(q string, args ...any) ([]time.Time, error) {
		rows, err := s.db.Query(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var times []time.Time
		for rows.Next() {
			var t db.Time
			if err := rows.Scan(&t); err != nil {
				return nil, err
			}
			times = append(times, t.Time)
		}
		return times, rows.Err()
	}
	// Newest first.
	pair, err := failures(`SELECT at FROM login_log WHERE username = $1 AND ip = $2 AND at > $3 AND success = $4 AND reason <> 'throttled'
		AND at > COALESCE((SELECT MAX(at) FROM login_log l2 WHERE l2.username = login_log.username AND l2.ip = login_log.ip AND l2.success), $3)
		ORDER BY at DESC LIMIT 100`, username, ip, since, false)
	if err != nil {
		return 0, err
	}
	if n := len(pair) - s.cfg.FreeFails; n > 0 && s.cfg.FreeFails > 0 {
		delay := s.cfg.MaxDelay
		if n <= 30 && s.cfg.BaseDelay<<(n-1) < delay && s.cfg.BaseDelay<<(n-1) > 0 {
			delay = s.cfg.BaseDelay << (n - 1)
		}
		if wait := pair[0].Add(delay).Sub(now); wait > 0 {
			return wait, nil
		}
	}
	if ip == "" || s.cfg.MaxFailsPerIP <= 0 {
		return 0, nil
	}
	all, err := failures(`SELECT at FROM login_log WHERE ip = $1 AND at > $2 AND success = $3 AND reason <> 'throttled' ORDER BY at DESC LIMIT 200`, ip, since, false)
	if err != nil || len(all) < s.cfg.MaxFailsPerIP {
		return 0, err
	}
	// The limit-th newest failure opens the wait, which lasts one window.
	return all[s.cfg.MaxFailsPerIP-1].Add(s.cfg.ThrottleWindow).Sub(now), nil
}

// Authenticate resolves a session token to its user. Expired, idle or
// unknown tokens are Unauthorized.
func (s *Store) Authenticate(ctx context.Context, token string) (_ *User, _ *Session, err error) {
	defer errs.Wrapf(&err, "account.Store.Authenticate")
	if token == "" || len(token) > 200 {
		return nil, nil, errs.E(errs.Unauthorized, "error.unauthorized")
	}
	var sess Session
	var kind string
	var exp, seen db.Time
	// The session and its user in one read: this runs on every request.
	u, err := scanUser(s.db.QueryRow(ctx, `SELECT `+userCols+`, s.id, s.kind, s.csrf, s.expires_at, s.last_seen_at`+userFrom+`
		JOIN sessions s ON s.user_id = u.id WHERE s.token_hash = $1`, HashToken(token)), &sess.ID, &kind, &sess.CSRF, &exp, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, errs.E(errs.Unauthorized, "error.unauthorized")
	}
	if err != nil {
		return nil, nil, err
	}
	sess.Kind, sess.ExpiresAt = SessionKind(kind), exp.Time
	now := s.db.Now()
	if !now.Before(exp.Time) || (sess.Kind == WebSession && s.cfg.WebIdle > 0 && now.Sub(seen.Time) >= s.cfg.WebIdle) {
		_ = s.db.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, sess.ID)
			return err
		})
		return nil, nil, errs.E(errs.Unauthorized, "account.session_expired").WithReason("session_expired")
	}
	if u.Disabled {
		return nil, nil, errs.E(errs.Unauthorized, "account.disabled")
	}
	if u.Locked {
		return nil, nil, errs.E(errs.Unauthorized, "account.locked")
	}
	// Touch at most once a minute: a write per request would be wasteful.
	if now.Sub(seen.Time) > time.Minute {
		_ = s.db.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id = $2`, tx.Now(), sess.ID)
			return err
		})
	}
	return u, &sess, nil
}

// Logout ends the session of token.
func (s *Store) Logout(ctx context.Context, token string) (err error) {
	defer errs.Wrapf(&err, "account.Store.Logout")
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, HashToken(token))
		return err
	})
}

// LoginEntry is one row of the login log.
type LoginEntry struct {
	ID       int64     `json:"id"`
	At       time.Time `json:"at"`
	Username string    `json:"username"`
	IP       string    `json:"ip"`
	Success  bool      `json:"success"`
	Reason   string    `json:"reason"`
}

// LoginLogFilter narrows LoginLog.
type LoginLogFilter struct {
	Username string
	IP       string
	Failed   bool
	Before   int64
	Limit    int
	// Sort is one of LoginLogSortKeys, "-" first for descending; "" is
	// newest first.
	Sort string
	// Offset skips that many entries, for numbered pages.
	Offset int
}

// loginSortCols maps each sort key to its column: the whitelist of
// LoginLogFilter.Sort.
var loginSortCols = map[string]string{"at": "id", "username": "username", "ip": "ip", "result": "success"}

// LoginLogSortKeys lists the keys LoginLogFilter.Sort accepts.
func LoginLogSortKeys() []string { return []string{"at", "username", "ip", "result"} }

// where is the filter's condition.
func (f LoginLogFilter) where() db.Where {
	var w db.Where
	if f.Username != "" {
		w.Add("username = ?", strings.ToLower(f.Username))
	}
	if f.IP != "" {
		w.Add("ip = ?", f.IP)
	}
	if f.Failed {
		w.Add("success = ?", false)
	}
	if f.Before > 0 {
		w.Add("id < ?", f.Before)
	}
	return w
}

// CountLoginLog counts the login attempts f selects, for the total of a
// numbered list.
func (s *Store) CountLoginLog(ctx context.Context, f LoginLogFilter) (_ int, err error) {
	defer errs.Wrapf(&err, "account.Store.CountLoginLog")
	w := f.where()
	var n int
	err = s.db.QueryRow(ctx, `SELECT COUNT(*) FROM login_log`+w.SQL(), w.Args()...).Scan(&n)
	return n, err
}

// LoginLog lists login attempts, newest first or in f.Sort's order (ties
// newest first); an unknown sort key is Invalid on field sort.
func (s *Store) LoginLog(ctx context.Context, f LoginLogFilter) (_ []LoginEntry, err error) {
	defer errs.Wrapf(&err, "account.Store.LoginLog")
	order := " ORDER BY id DESC"
	if f.Sort != "" {
		var ok bool
		if order, ok = db.OrderBy(f.Sort, loginSortCols, "id DESC"); !ok {
			return nil, errs.E(errs.Invalid, "error.invalid").Field("sort", "field.unknown_sort", f.Sort)
		}
	}
	w := f.where()
	limit := f.Limit
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := s.db.Query(ctx, `SELECT id, at, username, ip, success, reason FROM login_log`+w.SQL()+order+
		` LIMIT `+strconv.Itoa(limit)+` OFFSET `+strconv.Itoa(max(f.Offset, 0)), w.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []LoginEntry
	for rows.Next() {
		var e LoginEntry
		var at db.Time
		if err := rows.Scan(&e.ID, &at, &e.Username, &e.IP, &e.Success, &e.Reason); err != nil {
			return nil, err
		}
		e.At = at.Time
		out = append(out, e)
	}
	return out, rows.Err()
}

// APIKey is an integration's key (Open311 and others). A key acts within
// its region subtree and posts only to its services (KeyScope, scope.go).
type APIKey struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Prefix    string `json:"prefix"`
	CreatedBy string `json:"created_by"`
	// Region is the root of the subtree the key acts in; empty (a key
	// whose region is gone) may do nothing.
	Region     string `json:"region"`
	RegionPath string `json:"-"`
	// Services are the service (category) codes the key may post to;
	// empty means every service.
	Services   []string   `json:"services"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// NewAPIKey is the input for CreateKey.
type NewAPIKey struct {
	Name string
	// Region is a region code; empty means the district (the shallowest
	// district of the tree, else its root), what keys made before scopes
	// existed were given.
	Region string
	// Services are category codes; none means every service.
	Services []string
}

// CreateAPIKey makes a key named name for the whole district and every
// service (CreateKey with only a name).
func (s *Store) CreateAPIKey(ctx context.Context, actor audit.Actor, name string) (_ string, _ *APIKey, err error) {
	defer errs.Wrapf(&err, "account.Store.CreateAPIKey")
	return s.CreateKey(ctx, actor, NewAPIKey{Name: name})
}

// apiKeyCols and apiKeyFrom read a key with its region's path.
const (
	apiKeyCols = `k.id, k.name, k.prefix, k.created_by, COALESCE(r.code, ''), COALESCE(r.path, ''), k.services, k.created_at, k.revoked_at, k.last_used_at`
	apiKeyFrom = ` FROM api_keys k LEFT JOIN regions r ON r.code = k.region_code`
)

func scanAPIKey(sc interface{ Scan(...any) error }) (*APIKey, error) {
	var k APIKey
	var services string
	var c db.Time
	var r, l db.NullTime
	if err := sc.Scan(&k.ID, &k.Name, &k.Prefix, &k.CreatedBy, &k.Region, &k.RegionPath, &services, &c, &r, &l); err != nil {
		return nil, err
	}
	k.Services = []string{}
	for _, v := range strings.Split(services, ",") {
		if v != "" {
			k.Services = append(k.Services, v)
		}
	}
	k.CreatedAt = c.Time
	if r.Valid {
		k.RevokedAt = &r.Time
	}
	if l.Valid {
		k.LastUsedAt = &l.Time
	}
	return &k, nil
}

// CreateKey makes a named key for a region subtree and a list of
// services, and returns it in full; only its hash and a short prefix (to
// recognise it in lists) are stored.
func (s *Store) CreateKey(ctx context.Context, actor audit.Actor, in NewAPIKey) (_ string, _ *APIKey, err error) {
	defer errs.Wrapf(&err, "account.Store.CreateKey")
	name := strings.TrimSpace(in.Name)
	e := errs.E(errs.Invalid, "error.invalid")
	if name == "" {
		e.Field("name", "field.required")
	} else if len(name) > 100 {
		e.Field("name", "field.too_long", 100)
	}
	seen := map[string]bool{}
	var services []string
	for _, v := range in.Services {
		if v = strings.TrimSpace(v); v != "" && !seen[v] {
			seen[v] = true
			services = append(services, v)
		}
	}
	sort.Strings(services)
	if len(e.Fields) > 0 {
		return "", nil, e
	}
	key := "wk_" + NewToken()
	k := &APIKey{Name: name, Prefix: key[:10], CreatedBy: actor.Name, Services: services}
	if k.Services == nil {
		k.Services = []string{}
	}
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		region := strings.TrimSpace(in.Region)
		q := `SELECT code, path FROM regions WHERE code = $1`
		args := []any{region}
		if region == "" {
			q = `SELECT code, path FROM regions ORDER BY CASE WHEN level = 'district' THEN 0 ELSE 1 END, length(path), code LIMIT 1`
			args = nil
		}
		err := tx.QueryRow(ctx, q, args...).Scan(&k.Region, &k.RegionPath)
		switch {
		case errors.Is(err, sql.ErrNoRows) && region != "":
			return errs.E(errs.Invalid, "error.invalid").Field("region", "field.unknown_region", region)
		case errors.Is(err, sql.ErrNoRows):
			// No tree yet: the key may do nothing until it is given a region.
		case err != nil:
			return err
		}
		bad := errs.E(errs.Invalid, "error.invalid")
		for _, code := range services {
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM categories WHERE code = $1`, code).Scan(&n); err != nil {
				return err
			}
			if n == 0 {
				bad.Field("services", "field.unknown_category", code)
			}
		}
		if len(bad.Fields) > 0 {
			return bad
		}
		var regionCode any
		if k.Region != "" {
			regionCode = k.Region
		}
		k.CreatedAt = tx.Now()
		k.ID, err = tx.InsertID(ctx, `INSERT INTO api_keys (name, prefix, key_hash, created_by, created_at, region_code, services) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
			name, k.Prefix, HashToken(key), actor.Name, tx.Now(), regionCode, strings.Join(services, ","))
		if errs.Is(err, errs.Conflict) {
			return errs.E(errs.Conflict, "error.invalid").Field("name", "field.taken")
		}
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor, "apikey.create", "apikey:"+strconv.FormatInt(k.ID, 10),
			fmt.Sprintf("%s region=%s services=%s", name, k.Region, strings.Join(services, ",")))
	})
	if err != nil {
		return "", nil, err
	}
	return key, k, nil
}

// APIKeys lists keys, including revoked ones.
func (s *Store) APIKeys(ctx context.Context) (_ []APIKey, err error) {
	defer errs.Wrapf(&err, "account.Store.APIKeys")
	rows, err := s.db.Query(ctx, `SELECT `+apiKeyCols+apiKeyFrom+` ORDER BY k.id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *k)
	}
	return out, rows.Err()
}

// RevokeAPIKey revokes the key with id or name.
func (s *Store) RevokeAPIKey(ctx context.Context, actor audit.Actor, idOrName string) (err error) {
	defer errs.Wrapf(&err, "account.Store.RevokeAPIKey")
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		id, _ := strconv.ParseInt(idOrName, 10, 64)
		res, err := tx.Exec(ctx, `UPDATE api_keys SET revoked_at = $1 WHERE (id = $2 OR name = $3) AND revoked_at IS NULL`, tx.Now(), id, idOrName)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.E(errs.NotFound, "account.apikey_not_found")
		}
		return audit.Record(ctx, tx, actor, "apikey.revoke", "apikey:"+idOrName, "")
	})
}

// CheckAPIKey resolves a presented key; revoked or unknown keys are Forbidden.
func (s *Store) CheckAPIKey(ctx context.Context, key string) (_ *APIKey, err error) {
	defer errs.Wrapf(&err, "account.Store.CheckAPIKey")
	if key == "" || len(key) > 200 {
		return nil, errs.E(errs.Forbidden, "account.apikey_invalid")
	}
	k, err := scanAPIKey(s.db.QueryRow(ctx, `SELECT `+apiKeyCols+apiKeyFrom+` WHERE k.key_hash = $1`, HashToken(key)))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && k.RevokedAt != nil) {
		return nil, errs.E(errs.Forbidden, "account.apikey_invalid")
	}
	if err != nil {
		return nil, err
	}
	return k, nil
}
