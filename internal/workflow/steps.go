package workflow

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/feed"
)

// StepRecord is one step of a subject of any kind, as RecordStep writes
// it: the timeline row, the audit entry and the change feed's event, all
// in the step's own transaction.
type StepRecord struct {
	// Kind and SubjectID name the subject ("dispute", 42); Ref is its
	// audit target ("dispute:42").
	Kind      string
	SubjectID int64
	Ref       string
	// District is the subject's district code, for the feed's subject.
	District string
	// RegionPath, when set, is the subject's region path: the feed event
	// carries it as region_path, so that a stream (the big screen's
	// Server-Sent Events) can show the step to the callers whose scope
	// covers it and to nobody else.
	RegionPath string
	// Action, From and To are the step; Role what allowed the actor.
	Action, From, To, Role string
	// Actor is who took the step. System steps (a timer's) write no
	// audit entry: the audit log is of people's actions.
	Actor  audit.Actor
	UserID int64
	System bool
	Note   string
	// Data are the step's details shown on the timeline (an agreement,
	// a new deadline…), also carried by the feed event.
	Data map[string]any
	// Private goes on the feed event only, under feed.PrivateKey, for the
	// feed's consumers on the database (who is to be told).
	Private map[string]any
}

// Step is one row of a subject's timeline.
type Step struct {
	ID        int64          `json:"id"`
	Action    string         `json:"action"`
	From      string         `json:"from"`
	To        string         `json:"to"`
	Role      string         `json:"role,omitempty"`
	ActorID   int64          `json:"actor_id,omitempty"`
	ActorName string         `json:"actor"`
	Note      string         `json:"note,omitempty"`
	Data      map[string]any `json:"data,omitempty"`
	At        time.Time      `json:"at"`
}

// RecordStep writes r's timeline row, audit entry (unless a system step)
// and feed event inside tx, and returns the row's id. It is the one
// recording path of the modules on the kernel other than casework, whose
// case_events predate it.
func RecordStep(ctx context.Context, tx *db.Tx, r StepRecord) (id int64, err error) {
	defer errs.Wrapf(&err, "workflow.RecordStep(%s %d %s)", r.Kind, r.SubjectID, r.Action)
	data := "{}"
	if len(r.Data) > 0 {
		b, err := json.Marshal(r.Data)
		if err != nil {
			return 0, err
		}
		data = string(b)
	}
	actor := r.Actor.Name
	if r.System {
		actor = "system"
	}
	if err := tx.QueryRow(ctx, `INSERT INTO workflow_steps (subject_kind, subject_id, action, from_state, to_state, role, actor_id, actor_name, note, data, at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
		r.Kind, r.SubjectID, r.Action, r.From, r.To, r.Role, r.UserID, actor, r.Note, data, tx.Now()).Scan(&id); err != nil {
		return 0, db.Translate(err)
	}
	if !r.System {
		if err := audit.Record(ctx, tx, r.Actor, r.Kind+"."+r.Action, r.Ref, fmt.Sprintf("%s: %s → %s", r.Action, r.From, r.To)); err != nil {
			return 0, err
		}
	}
	payload := map[string]any{"id": r.SubjectID, "step": id, "action": r.Action, "from": r.From, "to": r.To, "actor": actor}
	if len(r.Data) > 0 {
		payload["data"] = r.Data
	}
	if r.RegionPath != "" {
		payload["region_path"] = r.RegionPath
	}
	if len(r.Private) > 0 {
		payload[feed.PrivateKey] = r.Private
	}
	b, err := json.Marshal(payload)
	if err != nil {
		return 0, err
	}
	return id, feed.Append(ctx, tx, feed.Event{SubjectKind: r.Kind, SubjectID: r.SubjectID, District: r.District, Kind: r.Action, Payload: b})
}

// Querier is a database handle or a transaction, for the reads.
type Querier interface {
	Query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// Steps returns the timeline of one subject, oldest first.
func Steps(ctx context.Context, q Querier, kind string, id int64) (_ []Step, err error) {
	defer errs.Wrapf(&err, "workflow.Steps(%s %d)", kind, id)
	rows, err := q.Query(ctx, `SELECT id, action, from_state, to_state, role, actor_id, actor_name, note, data, at
		FROM workflow_steps WHERE subject_kind = $1 AND subject_id = $2 ORDER BY id`, kind, id)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	out := []Step{}
	for rows.Next() {
		var s Step
		var data string
		var at db.Time
		if err := rows.Scan(&s.ID, &s.Action, &s.From, &s.To, &s.Role, &s.ActorID, &s.ActorName, &s.Note, &data, &at); err != nil {
			return nil, db.Translate(err)
		}
		s.At = at.Time
		if data != "" && data != "{}" {
			if err := json.Unmarshal([]byte(data), &s.Data); err != nil {
				return nil, err
			}
		}
		out = append(out, s)
	}
	return out, db.Translate(rows.Err())
}
