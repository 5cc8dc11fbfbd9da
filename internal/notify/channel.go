package notify

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/mail"
	"net/smtp"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/i18n"
	"whistle/internal/sms"
)

// Address is where a user is reached outside the app.
type Address struct {
	UserID int64
	Phone  string
	Email  string
	OpenID string // the user's WeChat openid under the official account
}

// CaseSender is a Channel whose copies carry the case itself (a WeChat
// template message links to the case page and fills the template's
// fields): the Outbox calls SendCase, with m rendered, instead of Send.
type CaseSender interface {
	SendCase(ctx context.Context, to Address, m Message, subject string) error
}

// Channel delivers a copy of an inbox entry outside the app (SMS, e-mail,
// a work-message webhook). Send may block on the network; it runs after
// commit, in the Outbox's delivery loop, never inside a write.
type Channel interface {
	// Name is the channel's key in the users' settings ("sms", "email").
	Name() string
	Send(ctx context.Context, to Address, subject, text string) error
}

// SMTP sends e-mail through an SMTP server (net/smtp).
type SMTP struct {
	Addr string // host:port
	From string
	Auth smtp.Auth // nil: no authentication (an intranet relay)
}

// Name is "email".
func (s *SMTP) Name() string { return "email" }

// Send mails text to to.Email.
func (s *SMTP) Send(ctx context.Context, to Address, subject, text string) error {
	if to.Email == "" {
		return errors.New("notify: no e-mail address")
	}
	msg := "From: " + s.From + "\r\nTo: " + to.Email + "\r\nSubject: " + mime.BEncoding.Encode("UTF-8", subject) +
		"\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
		strings.ReplaceAll(text, "\n", "\r\n") + "\r\n"
	return smtp.SendMail(s.Addr, s.Auth, s.From, []string{to.Email}, []byte(msg))
}

// SMS sends text messages through internal/sms (its provider adapter, or
// the logging double).
type SMS struct{ Sender sms.Sender }

// Name is "sms".
func (s *SMS) Name() string { return "sms" }

// Send texts the message to to.Phone with the notify template.
func (s *SMS) Send(ctx context.Context, to Address, subject, text string) error {
	if to.Phone == "" {
		return errors.New("notify: no phone number")
	}
	return s.Sender.Send(ctx, sms.Message{Phone: to.Phone, Template: sms.TemplateNotify, Params: map[string]string{"text": text}})
}

// Settings are a user's outbound channels and quiet hours ("22:00" to
// "07:30", Asia/Shanghai; equal or empty: none). The inbox is always on.
// OpenID is the user's WeChat openid under the official account (for the
// "wechat" channel); Outbox.Settings shows it masked, and SetSettings
// keeps the stored one when handed that masked form back.
type Settings struct {
	Channels  []string `json:"channels"`
	Email     string   `json:"email"`
	OpenID    string   `json:"openid"`
	QuietFrom string   `json:"quiet_from"`
	QuietTo   string   `json:"quiet_to"`
}

// stored is the settings' JSON in notification_settings.channels.
type stored struct {
	Channels []string `json:"channels"`
	Email    string   `json:"email,omitempty"`
	OpenID   string   `json:"openid,omitempty"`
}

// validOpenID says s looks like a WeChat openid: 28 characters of
// letters, digits, - and _ today; 16 to 64 leave room either way.
func validOpenID(s string) bool {
	if len(s) < 16 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Outbox keeps the users' settings, queues the outbound copies of inbox
// entries and delivers them after commit, with retries.
type Outbox struct {
	db       *db.DB
	id       string // this runner's name in the claims of its copies
	channels []Channel
	cat      Translator
	logger   *slog.Logger
	wake     chan struct{}
}

// NewOutbox returns an Outbox delivering through channels; cat renders
// the messages (in Chinese, the users' language outside the app).
func NewOutbox(d *db.DB, cat Translator, logger *slog.Logger, channels ...Channel) *Outbox {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	host, _ := os.Hostname()
	id := fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:]))
	return &Outbox{db: d, id: id, channels: channels, cat: cat, logger: logger, wake: make(chan struct{}, 1)}
}

// Channels names the configured channels, which users may choose.
func (o *Outbox) Channels() []string {
	out := make([]string, len(o.channels))
	for i, c := range o.channels {
		out[i] = c.Name()
	}
	return out
}

// minutes parses "HH:MM" into minutes after midnight.
func minutes(s string) (int, bool) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, false
	}
	return t.Hour()*60 + t.Minute(), true
}

func clock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

// Settings returns a user's settings (none chosen: the inbox only), the
// WeChat openid masked.
func (o *Outbox) Settings(ctx context.Context, userID int64) (_ Settings, err error) {
	defer errs.Wrapf(&err, "notify.Outbox.Settings")
	s, err := settingsOf(ctx, o.db, userID)
	s.OpenID = account.MaskOpenID(s.OpenID)
	return s, err
}

func settingsOf(ctx context.Context, q interface {
	QueryRow(ctx context.Context, q string, args ...any) *sql.Row
}, userID int64) (Settings, error) {
	var raw string
	var from, to int
	err := q.QueryRow(ctx, `SELECT channels, quiet_from, quiet_to FROM notification_settings WHERE user_id = $1`, userID).Scan(&raw, &from, &to)
	if errors.Is(err, sql.ErrNoRows) {
		return Settings{Channels: []string{}}, nil
	}
	if err != nil {
		return Settings{}, err
	}
	var st stored
	_ = json.Unmarshal([]byte(raw), &st)
	s := Settings{Channels: st.Channels, Email: st.Email, OpenID: st.OpenID}
	if s.Channels == nil {
		s.Channels = []string{}
	}
	if from != to {
		s.QuietFrom, s.QuietTo = clock(from), clock(to)
	}
	return s, nil
}

// SetSettings validates and stores a user's settings: each channel must be
// configured, "email" needs an address, "wechat" an openid, and quiet
// hours need both ends as HH:MM. Bad input is a field error and writes
// nothing.
func (o *Outbox) SetSettings(ctx context.Context, userID int64, s Settings) (err error) {
	defer errs.Wrapf(&err, "notify.Outbox.SetSettings")
	e := errs.E(errs.Invalid, "error.invalid")
	s.OpenID = strings.TrimSpace(s.OpenID)
	if s.OpenID != "" {
		old, err := settingsOf(ctx, o.db, userID)
		if err != nil {
			return err
		}
		if old.OpenID != "" && s.OpenID == account.MaskOpenID(old.OpenID) {
			s.OpenID = old.OpenID // handed back as shown
		} else if !validOpenID(s.OpenID) {
			e.Field("openid", "notify2.bad_openid")
		}
	} else if slices.Contains(s.Channels, "wechat") {
		e.Field("openid", "field.required")
	}
	names := o.Channels()
	for _, c := range s.Channels {
		if !slices.Contains(names, c) {
			e.Field("channels", "notify.bad_channel", c)
		}
	}
	s.Email = strings.TrimSpace(s.Email)
	if s.Email != "" {
		if a, err := mail.ParseAddress(s.Email); err != nil || a.Address != s.Email {
			e.Field("email", "notify.bad_email")
		}
	} else if slices.Contains(s.Channels, "email") {
		e.Field("email", "field.required")
	}
	from, okFrom := minutes(s.QuietFrom)
	to, okTo := minutes(s.QuietTo)
	if s.QuietFrom == "" && s.QuietTo == "" {
		from, to, okFrom, okTo = 0, 0, true, true
	}
	if !okFrom {
		e.Field("quiet_from", "notify.bad_time")
	}
	if !okTo {
		e.Field("quiet_to", "notify.bad_time")
	}
	if len(e.Fields) > 0 {
		return e
	}
	b, _ := json.Marshal(stored{Channels: slices.Compact(slices.Sorted(slices.Values(s.Channels))), Email: s.Email, OpenID: s.OpenID})
	return o.db.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO notification_settings (user_id, channels, quiet_from, quiet_to, updated_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (user_id) DO UPDATE SET channels = excluded.channels, quiet_from = excluded.quiet_from, quiet_to = excluded.quiet_to, updated_at = excluded.updated_at`,
			userID, string(b), from, to, tx.Now())
		return err
	})
}

// BindOpenID stores openid, handed over by WeChat's authorisation page
// (WeChat.OpenID), as the user's openid and turns their WeChat channel on;
// their other settings are kept.
func (o *Outbox) BindOpenID(ctx context.Context, userID int64, openid string) (err error) {
	defer errs.Wrapf(&err, "notify.Outbox.BindOpenID")
	s, err := settingsOf(ctx, o.db, userID)
	if err != nil {
		return err
	}
	s.OpenID = openid
	if !slices.Contains(s.Channels, "wechat") {
		s.Channels = append(s.Channels, "wechat")
	}
	return o.SetSettings(ctx, userID, s)
}

// QuietUntil is when a non-urgent message written at now may go out:
// now, or the end of the quiet period now falls in.
func QuietUntil(now time.Time, from, to int) time.Time {
	if from == to {
		return now
	}
	loc := shanghai()
	l := now.In(loc)
	m := l.Hour()*60 + l.Minute()
	in := (from < to && m >= from && m < to) || (from > to && (m >= from || m < to))
	if !in {
		return now
	}
	end := time.Date(l.Year(), l.Month(), l.Day(), to/60, to%60, 0, 0, loc)
	if !end.After(l) {
		end = end.AddDate(0, 0, 1)
	}
	return end
}

// settingsRow is a user's outbound settings as enqueue needs them.
type settingsRow struct {
	channels []string
	from, to int
}

// settingsOf reads the outbound settings of users, in one query; a user
// without settings is not in the map. Without channels configured it
// reads nothing.
func (o *Outbox) settingsOf(ctx context.Context, tx *db.Tx, users []int64) (map[int64]settingsRow, error) {
	out := map[int64]settingsRow{}
	if len(o.channels) == 0 || len(users) == 0 {
		return out, nil
	}
	uniq := slices.Clone(users)
	slices.Sort(uniq)
	uniq = slices.Compact(uniq)
	in, args := db.InList(tx.Dialect(), 0, uniq)
	rows, err := tx.Query(ctx, `SELECT user_id, channels, quiet_from, quiet_to FROM notification_settings WHERE user_id IN (`+in+`)`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var raw string
		var r settingsRow
		if err := rows.Scan(&id, &raw, &r.from, &r.to); err != nil {
			return nil, err
		}
		var st stored
		_ = json.Unmarshal([]byte(raw), &st)
		r.channels = st.Channels
		out[id] = r
	}
	return out, rows.Err()
}

// enqueue queues the outbound copies of notification id for a user with
// settings set, in tx: one a channel of theirs that is still configured,
// not before their quiet hours end unless urgent.
func (o *Outbox) enqueue(ctx context.Context, tx *db.Tx, set settingsRow, id int64, urgent bool) error {
	at := tx.Now()
	if !urgent {
		at = QuietUntil(at, set.from, set.to).UTC()
	}
	queued := false
	for _, c := range set.channels {
		if !slices.Contains(o.Channels(), c) {
			continue // a channel no longer configured
		}
		if err := tx.Queue(ctx, `INSERT INTO notification_deliveries (notification_id, channel, not_before) VALUES ($1, $2, $3)`, id, c, at); err != nil {
			return err
		}
		queued = true
	}
	if queued {
		tx.AfterCommit(o.Nudge)
	}
	return nil
}

// Nudge wakes the delivery loop.
func (o *Outbox) Nudge() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// maxAttempts is how often a copy is tried before it is given up (logged).
const maxAttempts = 8

// claimBatch is how many due copies a runner claims at a time, and
// claimLease how long its claim holds: longer than sending them takes
// (each channel's client gives up after 10 s), short enough that the
// copies of a runner that died go out soon after.
const (
	claimBatch = 20
	claimLease = 5 * time.Minute
)

// Run delivers due copies until ctx ends, waking on Nudge or every poll.
// Every replica may run it: each copy is claimed before it is sent (see
// Deliver), so it goes out once.
func (o *Outbox) Run(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if _, err := o.Deliver(ctx); err != nil && ctx.Err() == nil {
			o.logger.Warn("notify delivery", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-o.wake:
		case <-t.C:
		}
	}
}

// claim leases up to claimBatch due copies to this runner and returns
// their ids. A copy is due when it is unsent, not given up, past its
// not_before and not under another runner's lease. On PostgreSQL the rows
// another runner is claiming are skipped (FOR UPDATE SKIP LOCKED), and a
// row claimed meanwhile fails the lease condition when it is re-read;
// SQLite has one writer.
func (o *Outbox) claim(ctx context.Context) ([]int64, error) {
	lock := ""
	if o.db.Dialect() == db.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var ids []int64
	err := o.db.InTx(ctx, func(tx *db.Tx) error {
		ids = ids[:0]
		now := tx.Now()
		rows, err := tx.Query(ctx, `UPDATE notification_deliveries SET claimed_by = $1, claimed_until = $2
			WHERE id IN (SELECT id FROM notification_deliveries
				WHERE sent_at IS NULL AND attempts < $3 AND not_before <= $4 AND (claimed_until IS NULL OR claimed_until <= $4)
				ORDER BY id LIMIT `+strconv.Itoa(claimBatch)+lock+`)
			RETURNING id`, o.id, now.Add(claimLease).UTC(), maxAttempts, now)
		if err != nil {
			return err
		}
		ids, err = scanIDs(rows)
		return err
	})
	slices.Sort(ids)
	return ids, err
}

// scanIDs reads the claimed ids and closes rows. An error that
// ends the loop early (a dropped connection, a cancelled context) is
// returned, not taken for the end of the list.
func scanIDs(rows *sql.Rows) ([]int64, error) {
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// job is a claimed copy with its recipient and message.
type job struct {
	id       int64
	channel  string
	attempts int
	to       Address
	m        Message
}

// jobs reads the claimed copies ids.
func (o *Outbox) jobs(ctx context.Context, ids []int64) ([]job, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	marks := make([]string, len(ids))
	args := make([]any, len(ids))
	for i, id := range ids {
		marks[i] = "$" + strconv.Itoa(i+1)
		args[i] = id
	}
	rows, err := o.db.Query(ctx, `SELECT d.id, d.channel, d.attempts, n.id, n.user_id, COALESCE(n.case_id, 0), n.msg_key, n.msg_args, n.parts, n.action, COALESCE(u.phone, ''), COALESCE(s.channels, '{}')
		FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id JOIN users u ON u.id = n.user_id
		LEFT JOIN notification_settings s ON s.user_id = n.user_id
		WHERE d.id IN (`+strings.Join(marks, ", ")+`) ORDER BY d.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var jobs []job
	for rows.Next() {
		var j job
		var args, parts, settings string
		if err := rows.Scan(&j.id, &j.channel, &j.attempts, &j.m.ID, &j.to.UserID, &j.m.CaseID, &j.m.Key, &args, &parts, &j.m.Action, &j.to.Phone, &settings); err != nil {
			return nil, err
		}
		j.m.UserID = j.to.UserID
		_ = json.Unmarshal([]byte(args), &j.m.Args)
		_ = json.Unmarshal([]byte(parts), &j.m.Parts)
		var st stored
		_ = json.Unmarshal([]byte(settings), &st)
		j.to.Email, j.to.OpenID = st.Email, st.OpenID
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

// Deliver sends the copies due now, outside any transaction, and records
// each outcome: sent, or tried again after a doubling delay (30 s, 1 min,
// …); a copy that failed maxAttempts times is left with its last error.
// Each batch of copies is claimed first (claim), so that runners on
// several replicas never send the same copy; a runner that dies before
// recording an outcome leaves its claim to expire, and the copy is sent
// by another (at least once, exactly once unless a sender dies between
// sending and recording). It returns how many were sent.
func (o *Outbox) Deliver(ctx context.Context) (sent int, err error) {
	defer errs.Wrapf(&err, "notify.Outbox.Deliver")
	for {
		ids, err := o.claim(ctx)
		if err != nil || len(ids) == 0 {
			return sent, err
		}
		jobs, err := o.jobs(ctx, ids)
		if err != nil {
			return sent, err
		}
		for _, j := range jobs {
			ok, err := o.send(ctx, j)
			if err != nil {
				return sent, err
			}
			if ok {
				sent++
			}
		}
		if len(ids) < claimBatch {
			return sent, nil
		}
	}
}

// send sends one claimed copy and records the outcome, releasing the
// claim; ok says it went out.
func (o *Outbox) send(ctx context.Context, j job) (ok bool, err error) {
	var ch Channel
	for _, c := range o.channels {
		if c.Name() == j.channel {
			ch = c
		}
	}
	serr := errors.New("channel not configured")
	if ch != nil {
		j.m.Render(o.cat, i18n.ZH)
		subject := o.cat.T(i18n.ZH, "notify.subject")
		if cs, isCase := ch.(CaseSender); isCase {
			serr = cs.SendCase(ctx, j.to, j.m, subject)
		} else {
			serr = ch.Send(ctx, j.to, subject, j.m.Text)
		}
	}
	err = o.db.InTx(ctx, func(tx *db.Tx) error {
		if serr == nil {
			_, err := tx.Exec(ctx, `UPDATE notification_deliveries SET sent_at = $1, attempts = attempts + 1, claimed_until = NULL WHERE id = $2`, tx.Now(), j.id)
			return err
		}
		delay := 30 * time.Second << min(j.attempts, 10)
		_, err := tx.Exec(ctx, `UPDATE notification_deliveries SET attempts = attempts + 1, last_error = $1, not_before = $2, claimed_until = NULL WHERE id = $3`,
			serr.Error(), tx.Now().Add(delay).UTC(), j.id)
		return err
	})
	if err != nil {
		return false, err
	}
	if serr != nil {
		o.logger.Warn("notify: copy not delivered", "delivery", j.id, "channel", j.channel, "user", j.to.UserID, "attempt", j.attempts+1, "err", serr)
		return false, nil
	}
	return true, nil
}
