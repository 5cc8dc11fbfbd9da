package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/sms"
)

// PhoneConfig tunes sign-in by SMS code.
type PhoneConfig struct {
	// CodeTTL is how long a code is valid.
	CodeTTL time.Duration
	// MaxAttempts is how many guesses one code allows; then it is dead.
	MaxAttempts int
	// Resend is the least time between two codes to one number.
	Resend time.Duration
	// PerNumber and PerClient bound the codes sent in Window to one number
	// and at the request of one client address.
	PerNumber, PerClient int
	Window               time.Duration
}

// DefaultPhoneConfig: codes live 5 minutes and allow 5 guesses; one a
// minute and 5 an hour per number, 20 an hour per client address.
func DefaultPhoneConfig() PhoneConfig {
	return PhoneConfig{CodeTTL: 5 * time.Minute, MaxAttempts: 5, Resend: time.Minute, PerNumber: 5, PerClient: 20, Window: time.Hour}
}

// PhoneStore signs residents in by phone number and SMS code.
//
// No enumeration: SendCode does the same work for every well-formed number
// (it never looks the number up), so its answer and timing say nothing
// about which numbers have accounts. The number is looked up only once a
// code proves it: a number linked to an account signs in to it; any other
// number gets a new resident account, linked to it (phone_logins). Staff
// accounts are never linked, whatever their users.phone says, since an
// admin types those numbers without proof.
type PhoneStore struct {
	db     *db.DB
	users  *Store
	sender sms.Sender
	cfg    PhoneConfig
}

// NewPhoneStore returns a PhoneStore sending through sender.
func NewPhoneStore(d *db.DB, users *Store, sender sms.Sender, cfg PhoneConfig) *PhoneStore {
	return &PhoneStore{db: d, users: users, sender: sender, cfg: cfg}
}

// Config returns the store's configuration.
func (p *PhoneStore) Config() PhoneConfig { return p.cfg }

func hashCode(salt, phone, code string) string {
	h := sha256.Sum256([]byte(salt + ":" + phone + ":" + code))
	return hex.EncodeToString(h[:])
}

// newCode returns 6 random digits.
func newCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%06d", n.Int64()), nil
}

func rateLimited(key string, wait time.Duration) *errs.Error {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	e := errs.E(errs.RateLimited, key, secs)
	e.RetryAfter = secs
	return e
}

// SendCode sends a new login code to phone at c's request, unless the
// number or the client asked for too many (errs.RateLimited with
// RetryAfter). A new code replaces the number's older ones.
func (p *PhoneStore) SendCode(ctx context.Context, phone string, c Client) (err error) {
	defer errs.Wrapf(&err, "account.PhoneStore.SendCode")
	if phone == "" {
		return errs.E(errs.Invalid, "error.invalid").Field("phone", "field.required")
	}
	if !ValidPhone(phone) {
		return errs.E(errs.Invalid, "error.invalid").Field("phone", "field.phone_format")
	}
	code, err := newCode()
	if err != nil {
		return err
	}
	salt := NewToken()[:16]
	err = p.db.InTx(ctx, func(tx *db.Tx) error {
		now := tx.Now()
		since := now.Add(-p.cfg.Window)
		// Newest first: the resend interval, then the window's count.
		times := func(col, v string) ([]time.Time, error) {
			rows, err := tx.Query(ctx, `SELECT created_at FROM sms_codes WHERE `+col+` = $1 AND created_at > $2 ORDER BY created_at DESC LIMIT 100`, v, since)
			if err != nil {
				return nil, err
			}
			defer rows.Close()
			var out []time.Time
			for rows.Next() {
				var t db.Time
				if err := rows.Scan(&t); err != nil {
					return nil, err
				}
				out = append(out, t.Time)
			}
			return out, rows.Err()
		}
		byPhone, err := times("phone", phone)
		if err != nil {
			return err
		}
		if len(byPhone) > 0 && p.cfg.Resend > 0 {
			if wait := byPhone[0].Add(p.cfg.Resend).Sub(now); wait > 0 {
				return rateLimited("sms.too_many_codes", wait)
			}
		}
		if p.cfg.PerNumber > 0 && len(byPhone) >= p.cfg.PerNumber {
			return rateLimited("sms.too_many_codes", byPhone[p.cfg.PerNumber-1].Add(p.cfg.Window).Sub(now))
		}
		if c.IP != "" && p.cfg.PerClient > 0 {
			byIP, err := times("ip", c.IP)
			if err != nil {
				return err
			}
			if len(byIP) >= p.cfg.PerClient {
				return rateLimited("sms.too_many_codes", byIP[p.cfg.PerClient-1].Add(p.cfg.Window).Sub(now))
			}
		}
		_, err = tx.Exec(ctx, `INSERT INTO sms_codes (phone, salt, code_hash, ip, created_at, expires_at, attempts) VALUES ($1, $2, $3, $4, $5, $6, 0)`,
			phone, salt, hashCode(salt, phone, code), c.IP, now, now.Add(p.cfg.CodeTTL))
		return err
	})
	if err != nil {
		return err
	}
	minutes := int(math.Ceil(p.cfg.CodeTTL.Minutes()))
	err = p.sender.Send(ctx, sms.Message{Phone: phone, Template: sms.TemplateLoginCode,
		Params: map[string]string{"code": code, "minutes": strconv.Itoa(minutes)}})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sms.ErrBadNumber):
		return errs.E(errs.Invalid, "error.invalid").Field("phone", "field.phone_format").Wrap(err)
	default:
		return errs.E(errs.Unavailable, "sms.unavailable").Wrap(err)
	}
}

// validCode reports whether s is 6 ASCII digits.
func validCode(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// SignIn checks the number's newest code and opens a session of kind for
// the account linked to the number, creating a resident account the first
// time. A wrong, expired, used or exhausted code, or none, is the same
// errs.Unauthorized "sms.code_invalid". Each guess counts against the code
// before it is compared, so parallel guesses cannot exceed MaxAttempts.
func (p *PhoneStore) SignIn(ctx context.Context, phone, code string, kind SessionKind, c Client) (token string, u *User, sess *Session, err error) {
	defer errs.Wrapf(&err, "account.PhoneStore.SignIn")
	e := errs.E(errs.Invalid, "error.invalid")
	switch {
	case phone == "":
		e.Field("phone", "field.required")
	case !ValidPhone(phone):
		e.Field("phone", "field.phone_format")
	}
	switch {
	case code == "":
		e.Field("code", "field.required")
	case !validCode(code):
		e.Field("code", "sms.code_format")
	}
	if len(e.Fields) > 0 {
		return "", nil, nil, e
	}
	invalid := errs.E(errs.Unauthorized, "sms.code_invalid")
	var id int64
	var salt, hash string
	var exp db.Time
	// The guess is counted in its own transaction, committed whatever the
	// comparison says.
	err = p.db.InTx(ctx, func(tx *db.Tx) error {
		var used sql.NullString
		var attempts int
		err := tx.QueryRow(ctx, `SELECT id, salt, code_hash, expires_at, attempts, CASE WHEN used_at IS NULL THEN NULL ELSE 'used' END
			FROM sms_codes WHERE phone = $1 ORDER BY id DESC LIMIT 1`, phone).Scan(&id, &salt, &hash, &exp, &attempts, &used)
		if errors.Is(err, sql.ErrNoRows) {
			return invalid
		}
		if err != nil {
			return err
		}
		if used.Valid || !tx.Now().Before(exp.Time) || attempts >= p.cfg.MaxAttempts {
			return invalid
		}
		res, err := tx.Exec(ctx, `UPDATE sms_codes SET attempts = attempts + 1 WHERE id = $1 AND attempts < $2 AND used_at IS NULL`, id, p.cfg.MaxAttempts)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return invalid
		}
		return nil
	})
	if err != nil {
		p.users.logLogin(ctx, "sms:"+MaskPhone(phone), 0, c, false, "sms code")
		return "", nil, nil, err
	}
	if subtle.ConstantTimeCompare([]byte(hashCode(salt, phone, code)), []byte(hash)) != 1 {
		p.users.logLogin(ctx, "sms:"+MaskPhone(phone), 0, c, false, "sms code")
		return "", nil, nil, invalid
	}
	var uid int64
	var username string
	err = p.db.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE sms_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL`, tx.Now(), id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return invalid // used by a parallel sign-in
		}
		err = tx.QueryRow(ctx, `SELECT u.id, u.username FROM phone_logins p JOIN users u ON u.id = p.user_id WHERE p.phone = $1`, phone).Scan(&uid, &username)
		if errors.Is(err, sql.ErrNoRows) {
			uid, username, err = p.newResident(ctx, tx, phone, c)
		}
		if err != nil {
			return err
		}
		token, sess, err = openSession(ctx, tx, p.users.cfg, uid, username, kind, c, "sms")
		return err
	})
	if err != nil {
		return "", nil, nil, err
	}
	u, err = p.users.User(ctx, SystemScope(), uid)
	if err != nil {
		return "", nil, nil, err
	}
	if u.Disabled || u.Locked {
		_ = p.users.Logout(ctx, token)
		if u.Disabled {
			return "", nil, nil, errs.E(errs.Forbidden, "account.disabled")
		}
		return "", nil, nil, errs.E(errs.Forbidden, "account.locked")
	}
	return token, u, sess, nil
}

// newResident creates the resident account of a number just proven, in
// the district, with no usable password, and links the number to it.
func (p *PhoneStore) newResident(ctx context.Context, tx *db.Tx, phone string, c Client) (int64, string, error) {
	var district string
	if err := tx.QueryRow(ctx, `SELECT code FROM regions WHERE level = 'district' ORDER BY code LIMIT 1`).Scan(&district); err != nil {
		return 0, "", fmt.Errorf("the district of a new resident: %w", err)
	}
	username := "r-" + NewToken()[:12]
	id, err := tx.InsertID(ctx, `INSERT INTO users (username, display_name, phone, id_number, password_hash, roles, region_code, disabled, created_at, updated_at)
		VALUES ($1, $2, $3, '', $4, $5, $6, $7, $8, $8) RETURNING id`,
		username, MaskPhone(phone), phone, "!sms-only", string(Resident), district, false, tx.Now())
	if err != nil {
		return 0, "", err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO phone_logins (phone, user_id, verified_at) VALUES ($1, $2, $3)`, phone, id, tx.Now()); err != nil {
		return 0, "", err
	}
	who := strconv.FormatInt(id, 10)
	return id, username, audit.Record(ctx, tx, audit.Actor{UserID: id, Name: username, IP: c.IP}, "user.add", "user:"+who,
		"resident by SMS code, phone="+MaskPhone(phone))
}

// VerifiedPhones returns the numbers proven by SMS code for user id.
func (p *PhoneStore) VerifiedPhones(ctx context.Context, id int64) (_ []string, err error) {
	defer errs.Wrapf(&err, "account.PhoneStore.VerifiedPhones")
	return p.users.VerifiedPhones(ctx, id)
}

// VerifiedPhones returns the numbers proven by SMS code for user id
// (phone_logins), not the phone an account merely carries: what may link
// a resident to a registry person by phone.
func (s *Store) VerifiedPhones(ctx context.Context, id int64) (_ []string, err error) {
	defer errs.Wrapf(&err, "account.Store.VerifiedPhones")
	rows, err := s.db.Query(ctx, `SELECT phone FROM phone_logins WHERE user_id = $1 ORDER BY phone`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var x string
		if err := rows.Scan(&x); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}
