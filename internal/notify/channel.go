package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/mail"
	"net/smtp"
	"slices"
	"strings"
	"time"

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
type Settings struct {
	Channels  []string `json:"channels"`
	Email     string   `json:"email"`
	QuietFrom string   `json:"quiet_from"`
	QuietTo   string   `json:"quiet_to"`
}

// stored is the settings' JSON in notification_settings.channels.
type stored struct {
	Channels []string `json:"channels"`
	Email    string   `json:"email,omitempty"`
}

// Outbox keeps the users' settings, queues the outbound copies of inbox
// entries and delivers them after commit, with retries.
type Outbox struct {
	db       *db.DB
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
	return &Outbox{db: d, channels: channels, cat: cat, logger: logger, wake: make(chan struct{}, 1)}
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

// Settings returns a user's settings (none chosen: the inbox only).
func (o *Outbox) Settings(ctx context.Context, userID int64) (_ Settings, err error) {
	defer errs.Wrapf(&err, "notify.Outbox.Settings")
	return settingsOf(ctx, o.db, userID)
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
	s := Settings{Channels: st.Channels, Email: st.Email}
	if s.Channels == nil {
		s.Channels = []string{}
	}
	if from != to {
		s.QuietFrom, s.QuietTo = clock(from), clock(to)
	}
	return s, nil
}

// SetSettings validates and stores a user's settings: each channel must be
// configured, "email" needs an address, and quiet hours need both ends
// as HH:MM. Bad input is a field error and writes nothing.
func (o *Outbox) SetSettings(ctx context.Context, userID int64, s Settings) (err error) {
	defer errs.Wrapf(&err, "notify.Outbox.SetSettings")
	e := errs.E(errs.Invalid, "error.invalid")
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
	b, _ := json.Marshal(stored{Channels: slices.Compact(slices.Sorted(slices.Values(s.Channels))), Email: s.Email})
	return o.db.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO notification_settings (user_id, channels, quiet_from, quiet_to, updated_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (user_id) DO UPDATE SET channels = excluded.channels, quiet_from = excluded.quiet_from, quiet_to = excluded.quiet_to, updated_at = excluded.updated_at`,
			userID, string(b), from, to, tx.Now())
		return err
	})
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

// enqueue queues the copies of inbox entry id for the user's channels,
// inside the notifier's transaction; the delivery loop is woken after
// commit.
func (o *Outbox) enqueue(ctx context.Context, tx *db.Tx, userID, id int64, urgent bool) error {
	if len(o.channels) == 0 {
		return nil
	}
	var raw string
	var from, to int
	err := tx.QueryRow(ctx, `SELECT channels, quiet_from, quiet_to FROM notification_settings WHERE user_id = $1`, userID).Scan(&raw, &from, &to)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	var st stored
	_ = json.Unmarshal([]byte(raw), &st)
	at := tx.Now()
	if !urgent {
		at = QuietUntil(at, from, to).UTC()
	}
	queued := false
	for _, c := range st.Channels {
		if !slices.Contains(o.Channels(), c) {
			continue // a channel no longer configured
		}
		if _, err := tx.Exec(ctx, `INSERT INTO notification_deliveries (notification_id, channel, not_before) VALUES ($1, $2, $3)`, id, c, at); err != nil {
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

// Run delivers due copies until ctx ends, waking on Nudge or every poll.
// One server delivers (on several replicas each copy may go out twice: at
// least once).
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

// Deliver sends the copies due now, outside any transaction, and records
// each outcome: sent, or tried again after a doubling delay (30 s, 1 min,
// …); a copy that failed maxAttempts times is left with its last error.
// It returns how many were sent.
func (o *Outbox) Deliver(ctx context.Context) (sent int, err error) {
	defer errs.Wrapf(&err, "notify.Outbox.Deliver")
	rows, err := o.db.Query(ctx, `SELECT d.id, d.channel, d.attempts, n.user_id, n.msg_key, n.msg_args, n.parts, n.action, COALESCE(u.phone, ''), COALESCE(s.channels, '{}')
		FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id JOIN users u ON u.id = n.user_id
		LEFT JOIN notification_settings s ON s.user_id = n.user_id
		WHERE d.sent_at IS NULL AND d.attempts < $1 AND d.not_before <= $2 ORDER BY d.id LIMIT 100`, maxAttempts, o.db.Now())
	if err != nil {
		return 0, err
	}
	type job struct {
		id       int64
		channel  string
		attempts int
		to       Address
		m        Message
	}
	var jobs []job
	for rows.Next() {
		var j job
		var args, parts, settings string
		if err := rows.Scan(&j.id, &j.channel, &j.attempts, &j.to.UserID, &j.m.Key, &args, &parts, &j.m.Action, &j.to.Phone, &settings); err != nil {
			rows.Close()
			return 0, err
		}
		_ = json.Unmarshal([]byte(args), &j.m.Args)
		_ = json.Unmarshal([]byte(parts), &j.m.Parts)
		var st stored
		_ = json.Unmarshal([]byte(settings), &st)
		j.to.Email = st.Email
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return 0, err
	}
	rows.Close()
	for _, j := range jobs {
		var ch Channel
		for _, c := range o.channels {
			if c.Name() == j.channel {
				ch = c
			}
		}
		serr := errors.New("channel not configured")
		if ch != nil {
			j.m.Render(o.cat, i18n.ZH)
			serr = ch.Send(ctx, j.to, o.cat.T(i18n.ZH, "notify.subject"), j.m.Text)
		}
		err := o.db.InTx(ctx, func(tx *db.Tx) error {
			if serr == nil {
				_, err := tx.Exec(ctx, `UPDATE notification_deliveries SET sent_at = $1, attempts = attempts + 1 WHERE id = $2`, tx.Now(), j.id)
				return err
			}
			delay := 30 * time.Second << min(j.attempts, 10)
			_, err := tx.Exec(ctx, `UPDATE notification_deliveries SET attempts = attempts + 1, last_error = $1, not_before = $2 WHERE id = $3`,
				serr.Error(), tx.Now().Add(delay).UTC(), j.id)
			return err
		})
		if err != nil {
			return sent, err
		}
		if serr != nil {
			o.logger.Warn("notify: copy not delivered", "delivery", j.id, "channel", j.channel, "user", j.to.UserID, "attempt", j.attempts+1, "err", serr)
			continue
		}
		sent++
	}
	return sent, nil
}
