// Package audit keeps the append-only operation log (操作日志): who did what
// to which target, when, from where, with a summary of the change. Entries are
// written in the same transaction as the change they describe.
package audit

import (
	"context"
	"strconv"
	"time"

	"whistle/internal/db"
	"whistle/internal/errs"
)

// Actor is whoever causes a change: a user, an API key, or the command line.
type Actor struct {
	UserID int64
	Name   string
	IP     string
}

// System is the actor for command-line and start-up changes.
func System(name string) Actor { return Actor{Name: "cli:" + name} }

// Entry is one audit record.
type Entry struct {
	ID      int64     `json:"id"`
	At      time.Time `json:"at"`
	ActorID int64     `json:"actor_id,omitempty"`
	Actor   string    `json:"actor"`
	Action  string    `json:"action"`
	Target  string    `json:"target"`
	IP      string    `json:"ip"`
	Summary string    `json:"summary"`
}

// Record appends an entry inside tx.
func Record(ctx context.Context, tx *db.Tx, a Actor, action, target, summary string) error {
	var actorID any
	if a.UserID != 0 {
		actorID = a.UserID
	}
	_, err := tx.Exec(ctx, `INSERT INTO audit_log (at, actor_id, actor, action, target, ip, summary) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		tx.Now(), actorID, a.Name, action, target, a.IP, truncate(summary, 2000))
	return err
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary so Chinese text stays valid UTF-8.
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// Filter selects audit entries; empty fields match everything.
type Filter struct {
	Actor  string
	Action string
	Q      string // substring of target or summary
	From   time.Time
	To     time.Time
	Before int64 // cursor: entries with id < Before
	Limit  int
	// Sort is one of SortKeys, "-" first for descending; "" is newest first.
	Sort string
	// Offset skips that many entries, for numbered pages.
	Offset int
}

// sortCols maps each sort key to its column: the whitelist of Sort.
var sortCols = map[string]string{"at": "id", "actor": "actor", "action": "action", "target": "target", "ip": "ip"}

// SortKeys lists the keys Filter.Sort accepts.
func SortKeys() []string { return []string{"at", "actor", "action", "target", "ip"} }

// orderBy turns a sort key into an ORDER BY clause, ties broken by id; an
// unknown key is Invalid on field sort.
func orderBy(sort string) (string, error) {
	if sort == "" {
		return " ORDER BY id DESC", nil
	}
	clause, ok := db.OrderBy(sort, sortCols, "id DESC")
	if !ok {
		return "", errs.E(errs.Invalid, "error.invalid").Field("sort", "field.unknown_sort", sort)
	}
	return clause, nil
}

// where is the filter's condition.
func (f Filter) where() db.Where {
	var w db.Where
	if f.Actor != "" {
		w.Add("actor = ?", f.Actor)
	}
	if f.Action != "" {
		w.Add("action = ?", f.Action)
	}
	if f.Q != "" {
		q := "%" + f.Q + "%"
		w.Add("(target LIKE ? OR summary LIKE ?)", q, q)
	}
	if !f.From.IsZero() {
		w.Add("at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		w.Add("at < ?", f.To.UTC())
	}
	if f.Before > 0 {
		w.Add("id < ?", f.Before)
	}
	return w
}

// List returns entries newest first, or in f.Sort's order.
func List(ctx context.Context, d *db.DB, f Filter) ([]Entry, error) {
	order, err := orderBy(f.Sort)
	if err != nil {
		return nil, err
	}
	w := f.where()
	limit := f.Limit
	if limit <= 0 || limit > MaxPage {
		limit = 100
	}
	q := `SELECT id, at, COALESCE(actor_id, 0), actor, action, target, ip, summary FROM audit_log` +
		w.SQL() + order + " LIMIT " + strconv.Itoa(limit) + " OFFSET " + strconv.Itoa(max(f.Offset, 0))
	rows, err := d.Query(ctx, q, w.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var at db.Time
		if err := rows.Scan(&e.ID, &at, &e.ActorID, &e.Actor, &e.Action, &e.Target, &e.IP, &e.Summary); err != nil {
			return nil, err
		}
		e.At = at.Time
		out = append(out, e)
	}
	return out, rows.Err()
}

// MaxPage is the most entries one List returns; an export pages through.
const MaxPage = 500

// Log reads the audit log of one database, so that callers such as the
// web handlers hold a service rather than the database handle.
type Log struct{ db *db.DB }

// NewLog returns the audit log stored in d.
func NewLog(d *db.DB) *Log { return &Log{db: d} }

// List returns entries newest first (see the package function List).
func (l *Log) List(ctx context.Context, f Filter) (_ []Entry, err error) {
	defer errs.Wrapf(&err, "audit.Log.List")
	return List(ctx, l.db, f)
}

// Count returns how many entries match f (its Before, Sort, Limit and
// Offset aside), for a list's total.
func (l *Log) Count(ctx context.Context, f Filter) (_ int, err error) {
	defer errs.Wrapf(&err, "audit.Log.Count")
	f.Before = 0
	w := f.where()
	var n int
	err = l.db.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log`+w.SQL(), w.Args()...).Scan(&n)
	return n, err
}

// Actions lists the actions the log holds, sorted: the choices of a
// filter by action.
func (l *Log) Actions(ctx context.Context) (_ []string, err error) {
	defer errs.Wrapf(&err, "audit.Log.Actions")
	rows, err := l.db.Query(ctx, `SELECT DISTINCT action FROM audit_log ORDER BY action`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}
