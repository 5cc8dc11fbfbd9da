// Package feed is the change feed (an outbox): every change of a subject
// (a case today; alarms, tasks and applications later) appends one Event in
// the transaction that makes the change, and every consumer that is not part
// of that transaction (the bus, notifications, later modules' indicators)
// reads the feed after its own stored cursor. A crash between a commit and a
// publish therefore loses nothing, and a slow consumer never blocks a write.
//
// Ordering. A consumer reads "positions after my cursor", so a position must
// never become visible below one a consumer may already have read. On SQLite
// the single writer commits in insertion order, and the position is the row
// id. On PostgreSQL concurrent transactions commit in any order, so a writer
// inserts its row without a position and the sequencer (Sequence) numbers
// committed rows, one sequencer at a time, each numbering only rows that
// were committed when it started; see docs/DECISIONS.md, "Change feed
// ordering".
//
// Delivery is at least once: a consumer's cursor is stored after its Handle
// returns, so a crash or an error in between hands the same events again.
package feed

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"whistle/internal/db"
	"whistle/internal/errs"
)

// Event is one change on the feed.
type Event struct {
	// Position orders the feed; 0 until the event has been sequenced.
	Position int64
	// SubjectKind names what changed ("case"), SubjectID which one.
	SubjectKind string
	SubjectID   int64
	// District is the district code the subject belongs to ("" if none).
	District string
	// Kind is what happened (an action such as "accept").
	Kind string
	// Payload is the event's JSON, as consumers publish it.
	Payload json.RawMessage
	// At is when the change happened (its transaction's time).
	At time.Time
}

// Append adds ev to the feed inside tx, the writer's own transaction: if tx
// rolls back, the event was never there. It is one INSERT and takes no lock
// beyond the new row's, so concurrent writers do not wait for each other;
// ev.Position and ev.At are ignored (the position comes with the commit
// order, the time is tx's).
func Append(ctx context.Context, tx *db.Tx, ev Event) (err error) {
	defer errs.Wrapf(&err, "feed.Append(%s %d %s)", ev.SubjectKind, ev.SubjectID, ev.Kind)
	return appendAll(ctx, tx, []Event{ev})
}

// AppendAll is Append for several events, in their order, with one INSERT
// per 100 events: a round trip per transaction (or per group commit's
// batch) instead of one per event.
func AppendAll(ctx context.Context, tx *db.Tx, evs []Event) (err error) {
	defer errs.Wrapf(&err, "feed.AppendAll(%d events)", len(evs))
	return appendAll(ctx, tx, evs)
}

// appendChunk is the most rows one INSERT carries (6 parameters each).
const appendChunk = 100

func appendAll(ctx context.Context, tx *db.Tx, evs []Event) error {
	for len(evs) > 0 {
		chunk := evs[:min(len(evs), appendChunk)]
		evs = evs[len(chunk):]
		args := make([]any, 0, 6*len(chunk))
		for _, ev := range chunk {
			if ev.SubjectKind == "" || ev.Kind == "" {
				return fmt.Errorf("an event needs a subject kind and a kind")
			}
			payload := string(ev.Payload)
			if payload == "" {
				payload = "{}"
			}
			if !json.Valid([]byte(payload)) {
				return fmt.Errorf("payload is not JSON")
			}
			args = append(args, ev.SubjectKind, ev.SubjectID, ev.District, ev.Kind, payload, tx.Now())
		}
		// db.Placeholders: "?" on SQLite, whose driver looks each "$n" up
		// by name, a walk of the statement's names per parameter.
		q := `INSERT INTO feed_events (subject_kind, subject_id, district, kind, payload, at) VALUES ` + db.Placeholders(tx.Dialect(), len(chunk), 6)
		if _, err := tx.Exec(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// Sequence gives positions to the committed events that have none, in one
// transaction, and returns how many it numbered. On SQLite every event has
// its position from the start and Sequence does nothing.
//
// Only one sequencer runs at a time: each locks feed_sequence's single row
// (FOR UPDATE SKIP LOCKED: another replica's sequencer already at work makes
// this call return 0 at once). The positions it hands out follow the last
// one given and become visible together at its commit, before the next
// sequencer can start; the rows it numbers were all committed when its
// statement began. So no position ever appears below one a reader has seen.
// Writers are never blocked: they insert rows, they never touch the lock.
//
// Its commit does not wait for its flush to disk (db.DB.QueryRowUnsynced):
// positions are derived, and every use of them that must last is a later
// commit that does wait (a consumer's cursor, HandleTx's rows), whose
// flush covers the numbering written before it; a Derive consumer's
// unsynced commit lies after it in the log, so a crash that loses the
// numbering loses that commit too. The bus carries payloads, not
// positions. See docs/DECISIONS.md, "The sequencer commits without
// waiting for its flush".
func Sequence(ctx context.Context, d *db.DB, limit int) (n int64, err error) {
	defer errs.Wrapf(&err, "feed.Sequence")
	if d.Dialect() != db.Postgres {
		return 0, nil
	}
	if limit <= 0 {
		limit = 10000
	}
	// A stale snapshot (another sequencer committed after the statement
	// began) numbers nothing and is tried again with a new one.
	for range 8 {
		var locked, fresh bool
		if err := d.QueryRowUnsynced(ctx, sequenceQuery, limit).Scan(&locked, &fresh, &n); err != nil {
			return 0, err
		}
		if !locked || fresh {
			return n, nil
		}
	}
	return 0, nil
}

// sequenceQuery is Sequence's one statement, a transaction of its own: a
// round trip, where a transaction of a read, a lock and two updates took
// five. Its parts:
//   - lock takes feed_sequence's row, only when a row waits for a
//     position (a poll that finds nothing takes no lock, so its commit
//     writes nothing to flush), and skips it when another sequencer holds
//     it. A row lock reads the row's newest version, whatever the
//     statement's snapshot.
//   - fresh is that row as the statement's snapshot saw it, kept only if
//     it is the newest: the snapshot was taken before the lock, and if
//     another sequencer committed in between, the snapshot would show its
//     rows still waiting. Then nothing is numbered (Sequence tries again).
//   - n numbers the waiting rows in id order after the last position,
//     $1 at most, and the updates give them their positions and move the
//     last one. A row whose number is set is never numbered again: only a
//     sequencer sets positions, and none ran between snapshot and lock.
//
// Its answer: whether it held the lock, whether its snapshot was fresh,
// and how many rows it numbered.
const sequenceQuery = `WITH lock AS MATERIALIZED (
		SELECT last_position FROM feed_sequence
		WHERE one = 1 AND EXISTS (SELECT 1 FROM feed_events WHERE position IS NULL)
		FOR UPDATE SKIP LOCKED),
	fresh AS MATERIALIZED (
		SELECT q.last_position FROM feed_sequence q JOIN lock ON q.last_position = lock.last_position WHERE q.one = 1),
	n AS MATERIALIZED (
		SELECT w.id, fresh.last_position + row_number() OVER (ORDER BY w.id) AS pos
		FROM (SELECT id FROM feed_events WHERE position IS NULL ORDER BY id LIMIT $1) w CROSS JOIN fresh),
	u AS (UPDATE feed_events e SET position = n.pos FROM n WHERE e.id = n.id),
	v AS (UPDATE feed_sequence SET last_position = (SELECT MAX(pos) FROM n) WHERE one = 1 AND EXISTS (SELECT 1 FROM n))
	SELECT EXISTS (SELECT 1 FROM lock), EXISTS (SELECT 1 FROM fresh), (SELECT COUNT(*) FROM n)`

// SequenceAll numbers the events committed so far, 10,000 a transaction,
// until a call numbers fewer (none left, or another sequencer at work):
// for a reader about to take Last as "everything committed until now".
// On SQLite it does nothing.
func SequenceAll(ctx context.Context, d *db.DB) error {
	const limit = 10000
	for {
		n, err := Sequence(ctx, d, limit)
		if err != nil || n < limit {
			return err
		}
	}
}

// Read returns up to limit sequenced events after position, in order.
func Read(ctx context.Context, q interface {
	Query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}, after int64, limit int) (_ []Event, err error) {
	defer errs.Wrapf(&err, "feed.Read(%d)", after)
	rows, err := q.Query(ctx, `SELECT position, subject_kind, subject_id, district, kind, payload, at FROM feed_events
		WHERE position > $1 ORDER BY position LIMIT $2`, after, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var payload string
		var at db.Time
		if err := rows.Scan(&e.Position, &e.SubjectKind, &e.SubjectID, &e.District, &e.Kind, &payload, &at); err != nil {
			return nil, err
		}
		e.Payload, e.At = json.RawMessage(payload), at.Time
		out = append(out, e)
	}
	return out, rows.Err()
}

// Cursor returns the stored position of consumer (0 if it has none): the
// consumer has handled every event up to and including it.
func Cursor(ctx context.Context, d *db.DB, consumer string) (pos int64, err error) {
	defer errs.Wrapf(&err, "feed.Cursor(%s)", consumer)
	err = d.QueryRow(ctx, `SELECT position FROM feed_cursors WHERE consumer = $1`, consumer).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return pos, err
}

// Last returns the highest sequenced position (0 on an empty feed).
func Last(ctx context.Context, d *db.DB) (pos int64, err error) {
	defer errs.Wrapf(&err, "feed.Last")
	err = d.QueryRow(ctx, `SELECT COALESCE(MAX(position), 0) FROM feed_events`).Scan(&pos)
	return pos, err
}

// Prune deletes the events every consumer with a stored cursor has passed
// and that happened before olderThan, and returns how many. Events not yet
// sequenced are never pruned. A consumer that is retired must have its
// cursor deleted, or it holds every later event.
func Prune(ctx context.Context, d *db.DB, olderThan time.Time) (n int64, err error) {
	defer errs.Wrapf(&err, "feed.Prune")
	err = d.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `DELETE FROM feed_events WHERE position <= (SELECT MIN(position) FROM feed_cursors) AND at < $1`, olderThan)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
