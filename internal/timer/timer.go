// Package timer keeps durable timers for any kind of subject: a timer is
// keyed by (subject kind, subject id, name), carries its due time and a JSON
// payload, and fires exactly once, across restarts and replicas, in the
// transaction that applies its effect. "Now" for firing is the database's
// clock. A sweep mode (see Touch and Runner.HandleSilence) serves timers that
// every message would re-arm: it keeps the last time each key was seen and
// finds the silent keys with one indexed query.
//
// The owning module arms timers in its own transactions (Arm, ArmMany,
// Cancel, CancelSubject, CancelMany) and registers a Handler per kind with a
// Runner, which claims and fires due timers.
package timer

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"whistle/internal/db"
	"whistle/internal/errs"
)

// Key names a timer: the kind of its subject (which also picks its
// Handler), the subject's id and the timer's name among the subject's
// timers.
type Key struct {
	Kind    string
	Subject string
	Name    string
}

// String renders the key for errors and logs.
func (k Key) String() string { return k.Kind + "/" + k.Subject + "/" + k.Name }

// Timer is a due timer as its Handler sees it.
type Timer struct {
	Key
	// Due is when the timer fell due (not when it fired).
	Due time.Time
	// Payload is the JSON armed with it ("null" when none was).
	Payload json.RawMessage
	// Attempts counts the earlier failed firings of this timer.
	Attempts int
}

// Arming is one timer to arm with ArmMany.
type Arming struct {
	Key     Key
	Due     time.Time
	Payload json.RawMessage
	// NotBefore, if later than Due, holds the timer back from runners
	// until then, keeping Due as the instant it fell due: a handler that
	// must put off one of its timers (its subject is busy) arms it again
	// so, instead of having it claimed again at once.
	NotBefore time.Time
}

// Arm schedules the timer key at due inside tx. Arming a key that is
// pending re-arms it: its due time and payload are replaced and a failed
// attempt is forgotten.
func Arm(ctx context.Context, tx *db.Tx, key Key, due time.Time, payload json.RawMessage) (err error) {
	defer errs.Wrapf(&err, "timer.Arm(%v)", key)
	return ArmMany(ctx, tx, []Arming{{Key: key, Due: due, Payload: payload}})
}

// armChunk is how many timers one INSERT of ArmMany carries, 5 parameters
// each (6 anonymous "?" on SQLite, whose driver would look each "$N" up by
// name, in time quadratic in their number).
const armChunk = 100

// ArmMany arms (or re-arms) every timer in as, in as few statements as it
// can. When a key appears twice, the last arming wins.
func ArmMany(ctx context.Context, tx *db.Tx, as []Arming) (err error) {
	defer errs.Wrapf(&err, "timer.ArmMany(%d)", len(as))
	as, err = dedupe(as)
	if err != nil {
		return err
	}
	for len(as) > 0 {
		chunk := as[:min(len(as), armChunk)]
		as = as[len(chunk):]
		var b strings.Builder
		b.WriteString(`INSERT INTO kernel_timers (kind, subject, name, due_at, run_at, payload) VALUES `)
		args := make([]any, 0, 5*len(chunk))
		for i, a := range chunk {
			if i > 0 {
				b.WriteByte(',')
			}
			n := len(args)
			due := a.Due.UTC().Truncate(time.Microsecond)
			if tx.Dialect() == db.SQLite {
				// Anonymous "?" parameters, bound by position: the run time
				// is a parameter of its own.
				run := due
				if a.NotBefore.After(a.Due) {
					run = a.NotBefore.UTC().Truncate(time.Microsecond)
				}
				b.WriteString("(?,?,?,?,?,?)")
				args = append(args, a.Key.Kind, a.Key.Subject, a.Key.Name, due, run, string(a.Payload))
				continue
			}
			if a.NotBefore.After(a.Due) {
				fmt.Fprintf(&b, "($%d,$%d,$%d,$%d,$%d,$%d)", n+1, n+2, n+3, n+4, n+6, n+5)
				args = append(args, a.Key.Kind, a.Key.Subject, a.Key.Name, due, string(a.Payload), a.NotBefore.UTC().Truncate(time.Microsecond))
				continue
			}
			fmt.Fprintf(&b, "($%d,$%d,$%d,$%d,$%d,$%d)", n+1, n+2, n+3, n+4, n+4, n+5)
			args = append(args, a.Key.Kind, a.Key.Subject, a.Key.Name, due, string(a.Payload))
		}
		// The upsert keeps the row (and its id) and moves its due time.
		b.WriteString(` ON CONFLICT (kind, subject, name) DO UPDATE SET due_at = excluded.due_at, run_at = excluded.run_at,
			payload = excluded.payload, attempts = 0, last_error = ''`)
		// Queued (db.Tx.Queue): arming needs no answer, so a new case's
		// timers go in its batch's pipeline on PostgreSQL.
		if err := tx.Queue(ctx, b.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// dedupe checks each arming and keeps the last of each key, in first-seen
// order: PostgreSQL refuses an upsert that touches one row twice.
func dedupe(as []Arming) ([]Arming, error) {
	seen := make(map[Key]int, len(as))
	out := make([]Arming, 0, len(as))
	for _, a := range as {
		if a.Key.Kind == "" || a.Key.Subject == "" {
			return nil, errs.E(errs.Invalid, "timer.key").WithReason(fmt.Sprintf("timer key %v needs a kind and a subject", a.Key))
		}
		if a.Due.IsZero() {
			return nil, errs.E(errs.Invalid, "timer.due").WithReason(fmt.Sprintf("timer %v has no due time", a.Key))
		}
		if len(a.Payload) == 0 {
			a.Payload = json.RawMessage("null")
		} else if !json.Valid(a.Payload) {
			return nil, errs.E(errs.Invalid, "timer.payload").WithReason(fmt.Sprintf("timer %v: payload is not JSON", a.Key))
		}
		if i, ok := seen[a.Key]; ok {
			out[i] = a
			continue
		}
		seen[a.Key] = len(out)
		out = append(out, a)
	}
	return out, nil
}

// Cancel deletes the pending timer key inside tx, if there is one.
func Cancel(ctx context.Context, tx *db.Tx, key Key) (err error) {
	defer errs.Wrapf(&err, "timer.Cancel(%v)", key)
	_, err = tx.Exec(ctx, `DELETE FROM kernel_timers WHERE kind = $1 AND subject = $2 AND name = $3`, key.Kind, key.Subject, key.Name)
	return err
}

// CancelSubject deletes every pending timer of one subject inside tx and
// returns how many there were.
func CancelSubject(ctx context.Context, tx *db.Tx, kind, subject string) (n int64, err error) {
	defer errs.Wrapf(&err, "timer.CancelSubject(%s, %s)", kind, subject)
	res, err := tx.Exec(ctx, `DELETE FROM kernel_timers WHERE kind = $1 AND subject = $2`, kind, subject)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// CancelMany deletes the pending timers of keys inside tx and returns how
// many there were.
func CancelMany(ctx context.Context, tx *db.Tx, keys []Key) (n int64, err error) {
	defer errs.Wrapf(&err, "timer.CancelMany(%d)", len(keys))
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), armChunk)]
		keys = keys[len(chunk):]
		var b strings.Builder
		b.WriteString(`DELETE FROM kernel_timers WHERE (kind, subject, name) IN (VALUES `)
		args := make([]any, 0, 3*len(chunk))
		for i, k := range chunk {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "($%d,$%d,$%d)", len(args)+1, len(args)+2, len(args)+3)
			args = append(args, k.Kind, k.Subject, k.Name)
		}
		b.WriteByte(')')
		res, err := tx.Exec(ctx, b.String(), args...)
		if err != nil {
			return n, err
		}
		m, err := res.RowsAffected()
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}

// Pending returns the pending timer key, or an errs.NotFound error.
func Pending(ctx context.Context, tx *db.Tx, key Key) (t Timer, err error) {
	defer errs.Wrapf(&err, "timer.Pending(%v)", key)
	var due db.Time
	var payload string
	err = tx.QueryRow(ctx, `SELECT due_at, payload, attempts FROM kernel_timers WHERE kind = $1 AND subject = $2 AND name = $3`,
		key.Kind, key.Subject, key.Name).Scan(&due, &payload, &t.Attempts)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Timer{}, errs.E(errs.NotFound, "timer.not_found").WithReason(key.String())
		}
		return Timer{}, db.Translate(err)
	}
	t.Key, t.Due, t.Payload = key, due.Time, json.RawMessage(payload)
	return t, nil
}
