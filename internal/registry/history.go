package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
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
// left, when it moved) for the recount of reg_counts before the commit.
func writeHistory(ctx context.Context, tx *db.Tx, actor audit.Actor, rows []histRow) error {
	for _, r := range rows {
		markGrids(tx, gridOfPath(r.path))
		if c, ok := r.changes["grid_code"]; ok {
			markGrids(tx, c.Old)
		}
	}
	var actorID any
	if actor.UserID != 0 {
		actorID = actor.UserID
	}
	const chunk = 500
	for len(rows) > 0 {
		n := min(len(rows), chunk)
		args := make([]any, 0, n*histCols)
		for _, r := range rows[:n] {
			b, err := json.Marshal(r.changes)
			if err != nil {
				return err
			}
			args = append(args, tx.Now(), actorID, actor.Name, r.table, r.id, r.action, r.path, string(b))
		}
		if _, err := tx.Exec(ctx, `INSERT INTO reg_history (at, actor_id, actor, tbl, record_id, action, region_path, diff) VALUES `+
			db.Placeholders(tx.Dialect(), n, histCols), args...); err != nil {
			return db.Translate(err)
		}
		rows = rows[n:]
	}
	return nil
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
