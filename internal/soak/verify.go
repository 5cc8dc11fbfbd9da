package soak

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"whistle/internal/clock"
	"whistle/internal/db"
)

// result is one check of the database against the ledger.
type result struct {
	cases, trans Counts
	// fired counts the load's timers that fired with an effect, each
	// checked against its case's timeline.
	fired    int
	notes    []string
	problems []string
}

func (r *result) line() string {
	s := fmt.Sprintf("cases %d/%d found, transitions %d/%d found, %d lost, %d duplicated",
		r.cases.Found, r.cases.Acknowledged, r.trans.Found, r.trans.Acknowledged, r.cases.Lost+r.trans.Lost, r.cases.Duplicated)
	if len(r.problems) > 0 {
		s += "; PROBLEMS: " + strings.Join(r.problems, "; ")
	}
	return s
}

// maxListed bounds the examples a problem lists.
const maxListed = 10

// verify opens the database directly and compares it with the ledger.
func verify(ctx context.Context, cfg db.Config, led *ledger) (*result, error) {
	d, err := db.Open(ctx, cfg, clock.Real{})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	keys, acks := led.snapshot()
	return check(ctx, d, led.prefix, keys, acks)
}

// check compares the cases whose Idempotency-Key starts with prefix with
// the acknowledged keys (key → case id) and transitions.
func check(ctx context.Context, d *db.DB, prefix string, keys map[string]int64, acks map[ack]int) (*result, error) {
	res := &result{}
	// Every case the load created, by key and by report text.
	rows, err := d.Query(ctx, `SELECT c.id, c.idem_key, c.description,
			(SELECT COUNT(*) FROM case_events e WHERE e.case_id = c.id AND e.action = 'submit')
		FROM cases c WHERE c.idem_key LIKE $1 OR c.description LIKE $2`, prefix+"%", "soak "+prefix+"%")
	if err != nil {
		return nil, err
	}
	byKey := map[string][]int64{}
	byText := map[string]int{}
	submits := map[int64]int{}
	for rows.Next() {
		var id int64
		var key *string
		var text string
		var n int
		if err := rows.Scan(&id, &key, &text, &n); err != nil {
			rows.Close()
			return nil, err
		}
		k := ""
		if key != nil {
			k = *key
		}
		byKey[k] = append(byKey[k], id)
		byText[text]++
		submits[id] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var lost, dup []string
	res.cases.Acknowledged = len(keys)
	for k, id := range keys {
		ids := byKey[k]
		if len(ids) == 1 && ids[0] == id && submits[id] == 1 {
			res.cases.Found++
			continue
		}
		res.cases.Lost++
		lost = append(lost, fmt.Sprintf("%s (case %d acknowledged; stored %v with %d submit steps)", k, id, ids, submits[id]))
	}
	// The report text carries the key, so one text stored twice is one
	// submission stored twice, whether or not its key was kept.
	for text, n := range byText {
		if n > 1 {
			res.cases.Duplicated += n - 1
			dup = append(dup, fmt.Sprintf("%q stored %d times (cases %v)", text, n, byKey[strings.TrimPrefix(text, "soak ")]))
		}
	}
	for id, n := range submits {
		if n != 1 {
			res.problems = append(res.problems, fmt.Sprintf("case %d has %d submit steps on its timeline", id, n))
		}
	}
	// Acknowledged transitions: each one a timeline row.
	if len(acks) > 0 {
		found, err := transitionCounts(ctx, d, prefix)
		if err != nil {
			return nil, err
		}
		var missing []string
		for a, n := range acks {
			res.trans.Acknowledged += n
			got := found[a]
			if got >= n {
				res.trans.Found += n
				continue
			}
			res.trans.Found += got
			res.trans.Lost += n - got
			missing = append(missing, fmt.Sprintf("case %d %s: %d acknowledged, %d on the timeline", a.caseID, a.action, n, got))
		}
		if len(missing) > 0 {
			res.problems = append(res.problems, "transitions lost: "+listed(missing))
		}
	}
	if len(lost) > 0 {
		res.problems = append(res.problems, "cases lost: "+listed(lost))
	}
	if len(dup) > 0 {
		res.problems = append(res.problems, "cases duplicated: "+listed(dup))
	}
	if err := checkTimers(ctx, d, prefix, res); err != nil {
		return nil, err
	}
	return res, nil
}

// transitionCounts counts the timeline rows of the load's cases by case
// and action.
func transitionCounts(ctx context.Context, d *db.DB, prefix string) (map[ack]int, error) {
	rows, err := d.Query(ctx, `SELECT e.case_id, e.action, COUNT(*) FROM case_events e JOIN cases c ON c.id = e.case_id
		WHERE c.idem_key LIKE $1 GROUP BY e.case_id, e.action`, prefix+"%")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[ack]int{}
	for rows.Next() {
		var a ack
		var n int
		if err := rows.Scan(&a.caseID, &a.action, &n); err != nil {
			return nil, err
		}
		out[a] = n
	}
	return out, rows.Err()
}

// tableExists reports whether the schema has table name.
func tableExists(ctx context.Context, d *db.DB, name string) (bool, error) {
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1`
	if d.Dialect() == db.Postgres {
		q = `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1`
	}
	var n int
	err := d.QueryRow(ctx, q, name).Scan(&n)
	return n > 0, err
}

// checkTimers checks the durable SLA timers of the load's cases (kernel
// timers, deleted as they fire): none fired twice, and none was lost.
// A firing leaves its step on the timeline with the instant the timer fell
// due (data due_at), its stage and, for a supervision's breach, the
// supervision, so two steps of one action with the same of these are one
// timer fired twice; a warning or breach recorded on a stage or supervision with no
// step is a firing that lost its step; and an open, running stage with a
// deadline, not yet breached, must still have its breach timer pending.
func checkTimers(ctx context.Context, d *db.DB, prefix string, res *result) error {
	for _, t := range []string{"kernel_timers", "sla_stages"} {
		ok, err := tableExists(ctx, d, t)
		if err != nil {
			return err
		}
		if !ok {
			res.notes = append(res.notes, "timers: not checked: the schema has no "+t+" table")
			return nil
		}
	}
	var stages, pending int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM sla_stages s JOIN cases c ON c.id = s.case_id WHERE c.idem_key LIKE $1`,
		prefix+"%").Scan(&stages); err != nil {
		return err
	}
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM kernel_timers t JOIN cases c ON t.subject = `+idText(d)+`
		WHERE t.kind IN ('sla.warning', 'sla.breach', 'sla.supervision') AND c.idem_key LIKE $1`, prefix+"%").Scan(&pending); err != nil {
		return err
	}
	if pending == 0 && stages == 0 {
		res.notes = append(res.notes, "timers: not checked: the server created no SLA stages or timers for these cases (is the SLA engine wired into serve?)")
		return nil
	}
	// Each firing's step, by case, action and due time.
	rows, err := d.Query(ctx, `SELECT e.case_id, e.action, e.data FROM case_events e JOIN cases c ON c.id = e.case_id
		WHERE c.idem_key LIKE $1 AND e.action IN ('sla_warning', 'sla_breach')`, prefix+"%")
	if err != nil {
		return err
	}
	steps := map[string]int{}
	perCase := map[int64][2]int{} // distinct warnings, breaches
	for rows.Next() {
		var id int64
		var action string
		var data *string
		if err := rows.Scan(&id, &action, &data); err != nil {
			rows.Close()
			return err
		}
		var f struct {
			Due         string `json:"due_at"`
			Stage       string `json:"stage"`
			Supervision any    `json:"supervision"`
		}
		if data != nil {
			_ = json.Unmarshal([]byte(*data), &f)
		}
		k := fmt.Sprintf("case %d: %s of %s due %s", id, action, f.Stage, f.Due)
		if f.Supervision != nil {
			k += fmt.Sprintf(" (supervision %v)", f.Supervision)
		}
		steps[k]++
		if steps[k] == 1 {
			n := perCase[id]
			if action == "sla_warning" {
				n[0]++
			} else {
				n[1]++
			}
			perCase[id] = n
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var twice []string
	for k, n := range steps {
		if n > 1 {
			twice = append(twice, fmt.Sprintf("%s fired %d times", k, n))
		}
	}
	// Marks without their steps: the stages warned or breached and the
	// supervisions breached, per case, against the distinct steps.
	rows, err = d.Query(ctx, `SELECT c.id,
			(SELECT COUNT(*) FROM sla_stages s WHERE s.case_id = c.id AND s.warned_at IS NOT NULL),
			(SELECT COUNT(*) FROM sla_stages s WHERE s.case_id = c.id AND s.breached_at IS NOT NULL)
			+ (SELECT COUNT(*) FROM supervisions v WHERE v.case_id = c.id AND v.breached_at IS NOT NULL)
		FROM cases c WHERE c.idem_key LIKE $1`, prefix+"%")
	if err != nil {
		return err
	}
	var unstepped []string
	for rows.Next() {
		var id int64
		var warned, breached int
		if err := rows.Scan(&id, &warned, &breached); err != nil {
			rows.Close()
			return err
		}
		n := perCase[id]
		if warned > n[0] || breached > n[1] {
			unstepped = append(unstepped, fmt.Sprintf("case %d: %d warnings marked for %d sla_warning steps, %d breaches marked for %d sla_breach steps",
				id, warned, n[0], breached, n[1]))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	fired := 0
	for _, n := range perCase {
		fired += n[0] + n[1]
	}
	res.fired = fired
	// Lost: an open, running stage with a deadline, not breached, and no
	// breach timer.
	var lost int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM sla_stages s JOIN cases c ON c.id = s.case_id
		WHERE c.idem_key LIKE $1 AND s.ended_at IS NULL AND s.paused_at IS NULL AND s.deadline_at IS NOT NULL AND s.breached_at IS NULL
		AND NOT EXISTS (SELECT 1 FROM kernel_timers t WHERE t.kind = 'sla.breach' AND t.subject = `+idText(d)+` AND t.name = `+
		strings.ReplaceAll(idText(d), "c.id", "s.id")+`)`, prefix+"%").Scan(&lost); err != nil {
		return err
	}
	if len(twice) > 0 {
		res.problems = append(res.problems, "timers fired twice: "+listed(twice))
	}
	if len(unstepped) > 0 {
		res.problems = append(res.problems, "timer firings lost their timeline step: "+listed(unstepped))
	}
	if lost > 0 {
		res.problems = append(res.problems, fmt.Sprintf("timers lost: %d open running SLA stages have no breach timer", lost))
	}
	res.notes = append(res.notes, fmt.Sprintf("timers: %d SLA stages, %d timers pending, %d fired (each checked against its timeline); %d fired twice, %d without their step, %d lost",
		stages, pending, fired, len(twice), len(unstepped), lost))
	return nil
}

// idText is c.id as text, as kernel_timers.subject holds it.
func idText(d *db.DB) string {
	if d.Dialect() == db.Postgres {
		return "c.id::text"
	}
	return "CAST(c.id AS TEXT)"
}

func listed(items []string) string {
	sort.Strings(items)
	more := ""
	if len(items) > maxListed {
		more = fmt.Sprintf(" … and %d more", len(items)-maxListed)
		items = items[:maxListed]
	}
	return strings.Join(items, "; ") + more
}
