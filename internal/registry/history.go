package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/feed"
)

// The registry's tables, as history names them.
const (
	TablePeople        = "people"
	TableHouses        = "houses"
	TableBuildings     = "buildings"
	TableOrganisations = "organisations"
)

// Change is one field of a record before and after a change; personal
// values are masked.
type Change struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// HistoryEntry is one change of a registry record (reg_history).
type HistoryEntry struct {
	ID       int64             `json:"id"`
	At       time.Time         `json:"at"`
	ActorID  int64             `json:"actor_id,omitempty"`
	Actor    string            `json:"actor"`
	Table    string            `json:"table"`
	RecordID int64             `json:"record_id"`
	Action   string            `json:"action"`
	Diff     map[string]Change `json:"diff"`
}

// values are a record's fields as text, for a diff.
type values map[string]string

// diff returns the changed fields of before → after, personal values
// masked; a field absent on one side is "".
func diff(before, after values) map[string]Change {
	out := map[string]Change{}
	for k, v := range after {
		if before[k] != v {
			out[k] = maskChange(k, Change{Old: before[k], New: v})
		}
	}
	for k, v := range before {
		if _, ok := after[k]; !ok && v != "" {
			out[k] = maskChange(k, Change{Old: v})
		}
	}
	return out
}

// same reports whether before → after changes nothing: whether diff
// would be empty, without building it.
func same(before, after values) bool {
	for k, v := range after {
		if before[k] != v {
			return false
		}
	}
	for k, v := range before {
		if _, ok := after[k]; !ok && v != "" {
			return false
		}
	}
	return true
}

func maskChange(field string, c Change) Change {
	if m, ok := personalMask[field]; ok {
		c.Old, c.New = m(c.Old), m(c.New)
	}
	return c
}

// histRow is a reg_history row to write.
type histRow struct {
	table   string
	id      int64
	action  string
	path    string
	changes map[string]Change
}

const histCols = 8

// writeHistory writes the rows in multi-row INSERTs. Every change of a
// record passes here, so it also marks the record's grid (and the grid it
// left, when it moved) for the recount of reg_counts before the commit —
// except a fact's: no count reads facts, and a grid's recount reads all
// its people, which at a million people made each fact's change cost
// some 8 ms of the writer's time.
func writeHistory(ctx context.Context, tx *db.Tx, actor audit.Actor, rows []histRow) error {
	for _, r := range rows {
		if r.action == "fact" {
			continue
		}
		markGrids(tx, gridOfPath(r.path))
		if c, ok := r.changes["grid_code"]; ok {
			markGrids(tx, c.Old)
		}
	}
	var actorID any
	if actor.UserID != 0 {
		actorID = actor.UserID
	}
	var now any = tx.Now()
	const chunk = 500
	for len(rows) > 0 {
		n := min(len(rows), chunk)
		args := make([]any, 0, n*histCols)
		for _, r := range rows[:n] {
			args = append(args, now, actorID, actor.Name, r.table, r.id, r.action, r.path, diffJSON(r.changes))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO reg_history (at, actor_id, actor, tbl, record_id, action, region_path, diff) VALUES `+
			db.Placeholders(tx.Dialect(), n, histCols), args...); err != nil {
			return db.Translate(err)
		}
		if err := feed.AppendAll(ctx, tx, feedEvents(rows[:n])); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// feedKinds are the change feed's subject kinds of the registry's tables.
var feedKinds = map[string]string{TablePeople: "person", TableOrganisations: "organisation", TableHouses: "house", TableBuildings: "building"}

// FieldsChanged is the public payload of a registry change on the feed:
// the names of the changed fields, never their values. A fact is named by
// its key, a group membership as "groups".
type FieldsChanged struct {
	Fields []string `json:"fields"`
	// Private is for the feed's consumers on the database only (the bus
	// drops it): the households a person left and joined, whose other
	// members' household size changed too.
	Private *ChangedPrivate `json:"private,omitempty"`
}

// ChangedPrivate is FieldsChanged's private part.
type ChangedPrivate struct {
	Households []string `json:"households,omitempty"`
}

// feedEvents are the change-feed events of history rows (issue 18: the
// eligibility re-check reads them), one per changed record.
func feedEvents(rows []histRow) []feed.Event {
	evs := make([]feed.Event, 0, len(rows))
	for _, r := range rows {
		names := make([]string, 0, len(r.changes))
		for k := range r.changes {
			switch {
			case strings.HasPrefix(k, "fact:"):
				k = k[len("fact:"):]
			case strings.HasPrefix(k, "group:"):
				k = "groups"
			}
			if !slices.Contains(names, k) {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		fc := FieldsChanged{Fields: names}
		if c, ok := r.changes["household_id"]; ok && r.table == TablePeople {
			var hs []string
			for _, h := range []string{c.Old, c.New} {
				if h != "" {
					hs = append(hs, h)
				}
			}
			if len(hs) > 0 {
				fc.Private = &ChangedPrivate{Households: hs}
			}
		}
		b, _ := json.Marshal(fc)
		evs = append(evs, feed.Event{SubjectKind: feedKinds[r.table], SubjectID: r.id, District: districtOf(r.path), Kind: "registry." + r.action, Payload: b})
	}
	return evs
}

// districtOf is the district code of a materialised path
// ("/33/3303/330303/…" or "/330303/…"): its first six-digit code.
func districtOf(path string) string {
	for _, c := range strings.Split(path, "/") {
		if len(c) == 6 {
			return c
		}
	}
	return ""
}

// diffJSON is the changes as JSON, {"field":{"old":…,"new":…},…} with the
// fields sorted: what json.Marshal writes, without its reflection, for
// the history row of every record an import writes.
func diffJSON(changes map[string]Change) string {
	keys := make([]string, 0, len(changes))
	n := 2
	for k, c := range changes {
		keys = append(keys, k)
		n += len(k) + len(c.Old) + len(c.New) + 24
	}
	slices.Sort(keys)
	b := make([]byte, 0, n)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		c := changes[k]
		b = appendJSONString(b, k)
		b = append(b, `:{"old":`...)
		b = appendJSONString(b, c.Old)
		b = append(b, `,"new":`...)
		b = appendJSONString(b, c.New)
		b = append(b, '}')
	}
	b = append(b, '}')
	return string(b)
}

// appendJSONString appends s as a JSON string the way encoding/json
// writes it: <, > and & escaped for HTML, invalid UTF-8 as U+FFFD, and
// U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// record writes one change: its history row and its audit log entry,
// whose summary names the changed fields (values stay in the history).
func record(ctx context.Context, tx *db.Tx, actor audit.Actor, h histRow) error {
	if err := writeHistory(ctx, tx, actor, []histRow{h}); err != nil {
		return err
	}
	names := make([]string, 0, len(h.changes))
	for k := range h.changes {
		names = append(names, k)
	}
	sort.Strings(names)
	return audit.Record(ctx, tx, actor, "registry."+h.table+"."+h.action, h.table+":"+strconv.FormatInt(h.id, 10), fmt.Sprint(names))
}

// History returns the changes of a record, oldest first; a record outside
// the scope has none to show (NotFound).
func (s *Store) History(ctx context.Context, sc account.Scope, table string, id int64) (_ []HistoryEntry, err error) {
	defer errs.Wrapf(&err, "registry.Store.History")
	var w db.Where
	w.Add("h.tbl = ?", table)
	w.Add("h.record_id = ?", id)
	sc.Apply(&w, Columns("h"))
	rows, err := s.db.Query(ctx, `SELECT h.id, h.at, COALESCE(h.actor_id, 0), h.actor, h.tbl, h.record_id, h.action, h.diff FROM reg_history h`+
		w.SQL()+` ORDER BY h.id`, w.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []HistoryEntry{}
	for rows.Next() {
		var e HistoryEntry
		var at db.Time
		var d string
		if err := rows.Scan(&e.ID, &at, &e.ActorID, &e.Actor, &e.Table, &e.RecordID, &e.Action, &d); err != nil {
			return nil, err
		}
		e.At = at.Time
		if err := json.Unmarshal([]byte(d), &e.Diff); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, notFound("registry.history_not_found", table, id)
	}
	return out, nil
}
