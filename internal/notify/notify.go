// Package notify tells people what waits for them. Its feed consumer
// (Notifier.Consumer) reads the case events of the change feed and writes
// an inbox entry for every user casework names as concerned by the step
// (casework.Service.Notice: whoever may now act, derived from the workflow
// definition), in the transaction that moves its cursor: each step is
// told exactly once, and casework's writes never wait for it. Copies go
// out through Channels (SMTP, SMS, a work-message webhook) after commit,
// per the user's settings, held through their quiet hours unless urgent.
package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"whistle/internal/db"
	"whistle/internal/errs"
)

// Message is one inbox entry. Text is stored as a catalogue key and
// arguments, and further parts, so each reader sees it in their own
// language (Render).
type Message struct {
	ID     int64  `json:"id"`
	UserID int64  `json:"-"`
	CaseID int64  `json:"case_id"`
	Kind   string `json:"kind"`
	// SubjectKind and SubjectID name the item an entry about something
	// else than a case is about (a Tell's feed event: "dispute", 7); empty
	// for case entries.
	SubjectKind string `json:"subject_kind,omitempty"`
	SubjectID   int64  `json:"subject_id,omitempty"`
	// Link is the page of the case or item, when it has one (set by the
	// reader, like Text).
	Link string `json:"link,omitempty"`
	// Action is what happened; Expected the actions the reader may now take.
	Action    string     `json:"action"`
	Expected  []string   `json:"expected"`
	Urgent    bool       `json:"urgent"`
	Key       string     `json:"-"`
	Args      []any      `json:"-"`
	Parts     []Part     `json:"-"`
	Text      string     `json:"text"`
	CreatedAt time.Time  `json:"created_at"`
	ReadAt    *time.Time `json:"read_at"`
}

// Part is a further sentence of a message: a catalogue key and its
// arguments (see Render for the arguments that are translated too).
type Part struct {
	Key  string `json:"k"`
	Args []any  `json:"a,omitempty"`
}

// Inbox lists a user's messages, newest first, and counts the unread.
func Inbox(ctx context.Context, d *db.DB, userID int64, before int64, limit int) ([]Message, int, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	var w db.Where
	w.Add("user_id = ?", userID)
	if before > 0 {
		w.Add("id < ?", before)
	}
	rows, err := d.Query(ctx, `SELECT id, user_id, COALESCE(case_id, 0), kind, msg_key, msg_args, created_at, read_at, action, expected, parts, urgent,
		subject_kind, COALESCE(subject_id, 0) FROM notifications`+
		w.SQL()+` ORDER BY id DESC LIMIT `+strconv.Itoa(limit), w.Args()...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		var m Message
		var args, expected, parts string
		var at db.Time
		var read db.NullTime
		if err := rows.Scan(&m.ID, &m.UserID, &m.CaseID, &m.Kind, &m.Key, &args, &at, &read, &m.Action, &expected, &parts, &m.Urgent,
			&m.SubjectKind, &m.SubjectID); err != nil {
			return nil, 0, err
		}
		_ = json.Unmarshal([]byte(args), &m.Args)
		_ = json.Unmarshal([]byte(parts), &m.Parts)
		m.Expected = []string{}
		_ = json.Unmarshal([]byte(expected), &m.Expected)
		m.CreatedAt = at.Time
		if read.Valid {
			t := read.Time
			m.ReadAt = &t
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	unread, err := UnreadCount(ctx, d, userID)
	return out, unread, err
}

// UnreadCount counts the user's unread messages (the inbox badge).
func UnreadCount(ctx context.Context, d *db.DB, userID int64) (int, error) {
	var n int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL`, userID).Scan(&n); err != nil {
		return 0, fmt.Errorf("notify: unread count of user %d: %w", userID, err)
	}
	return n, nil
}

// MarkRead marks one message (or, with id 0, all) of the user as read.
func MarkRead(ctx context.Context, d *db.DB, userID, id int64) error {
	return d.InTx(ctx, func(tx *db.Tx) error {
		if id == 0 {
			_, err := tx.Exec(ctx, `UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL`, tx.Now(), userID)
			return err
		}
		res, err := tx.Exec(ctx, `UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND id = $3`, tx.Now(), userID, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.E(errs.NotFound, "error.not_found")
		}
		return nil
	})
}

// Store reads and marks the inboxes of one database, so that callers such
// as the web handlers hold a service rather than the database handle.
type Store struct{ db *db.DB }

// NewStore returns the inboxes stored in d.
func NewStore(d *db.DB) *Store { return &Store{db: d} }

// Inbox lists a user's messages, newest first, and counts the unread.
func (s *Store) Inbox(ctx context.Context, userID, before int64, limit int) (_ []Message, _ int, err error) {
	defer errs.Wrapf(&err, "notify.Store.Inbox")
	return Inbox(ctx, s.db, userID, before, limit)
}

// UnreadCount counts the user's unread messages (the inbox badge).
func (s *Store) UnreadCount(ctx context.Context, userID int64) (_ int, err error) {
	defer errs.Wrapf(&err, "notify.Store.UnreadCount")
	return UnreadCount(ctx, s.db, userID)
}

// MarkRead marks one message (or, with id 0, all) of the user as read.
func (s *Store) MarkRead(ctx context.Context, userID, id int64) (err error) {
	defer errs.Wrapf(&err, "notify.Store.MarkRead")
	return MarkRead(ctx, s.db, userID, id)
}
