package sla

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/feed"
	"whistle/internal/notify"
	"whistle/internal/timer"
)

// TestBatchFiringEqualsOneAtATime fires the same timers on two fresh
// databases built alike, once in groups (the runner's default, 100 timers a
// transaction, through fireGroup and casework.Service.SystemSteps with many
// steps) and once one timer a transaction, and compares, after each step of
// the clock, every row the firing has left: the cases, their timeline, the change feed's payloads
// (with the facts the notifications read), the notifications themselves,
// the stages, the supervisions, the pending timers, the rollups and the
// audit log. Ids and feed positions, which the order of the inserts
// decides, are replaced by what they point at.
func TestBatchFiringEqualsOneAtATime(t *testing.T) {
	t.Parallel()
	for _, dialect := range dbtest.Dialects() {
		t.Run(string(dialect), func(t *testing.T) {
			var dumps [2][]map[string][]string // by way, by step
			var fired [2][]int
			for i, group := range []int{100, 1} {
				clk := clock.NewFake(friday)
				w := newWorld(t, dbtest.MustOpenDB(t, dialect, clk), clk)
				w.AddStats(t, w.eng.Calendar)
				fired[i] = w.fireScenario(t, group, func() { dumps[i] = append(dumps[i], w.dumpState(t)) })
			}
			if got, want := fmt.Sprint(fired[0]), fmt.Sprint(fired[1]); got != want {
				t.Errorf("fired per step: in groups %s, one at a time %s", got, want)
			}
			if fired[0][len(fired[0])-1] == 0 && fired[0][0] == 0 {
				t.Fatalf("the scenario fired nothing: %v", fired[0])
			}
			// Each step's rows, not only the last's: a later step could
			// repair what an earlier one got wrong.
			for step := range dumps[1] {
				for _, table := range slices.Sorted(mapKeys(dumps[0][step])) {
					got, want := dumps[0][step][table], dumps[1][step][table]
					last := step == len(dumps[1])-1
					if last && len(want) == 0 && table != "audit_log" {
						t.Errorf("%s: no rows after firing one at a time: the comparison proves nothing", table)
					}
					if len(got) != len(want) {
						t.Errorf("after step %d, %s: %d rows in groups, %d one at a time", step+1, table, len(got), len(want))
					}
					for j := range min(len(got), len(want)) {
						if got[j] != want[j] {
							t.Errorf("after step %d, %s row %d:\n got (groups)   %s\nwant (one by one) %s", step+1, table, j, got[j], want[j])
						}
					}
				}
			}
		})
	}
}

func mapKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// fireScenario reports cases of three kinds at staggered times in both
// communities, accepts one and dispatches another (their stages move),
// and then walks the clock past their warnings, breaches and the
// street supervisions' deadlines (the district's stay pending), firing the due timers with runners of group
// timers a transaction at each step. On the way, some cases have their
// warning and breach due together, and some supervisions breach and
// escalate to the district. It calls after once after each step, and
// returns how many timers fired at each step.
func (w *world) fireScenario(t *testing.T, group int, after func()) []int {
	t.Helper()
	var ids []int64
	for i := range 12 {
		p := inA
		if i%2 == 1 {
			p = inB
		}
		var c *casework.Case
		switch i % 4 {
		case 0, 1:
			c = w.submit(t, "resident", "ZL0302", p)
		case 2:
			c = w.submit(t, "resident", "ZL0202", p)
		case 3:
			c = w.submit(t, "grid-a", "SJ0104", inA)
		}
		ids = append(ids, c.ID)
		w.clk.Advance(7 * time.Minute)
	}
	w.act(t, "staff-a", ids[0], casework.ActAccept, casework.Input{})
	w.act(t, "staff-a", ids[4], casework.ActAccept, casework.Input{})
	w.act(t, "staff-a", ids[4], casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}})
	var fired []int
	fire := func() {
		// One worker: with several, two timers of a case taken by two
		// workers at once would put one off (busyRetry) on one side only.
		n, err := w.runner(timer.Config{Group: group, Workers: 1}).RunDue(context.Background())
		if err != nil {
			t.Fatalf("group %d: RunDue: %v", group, err)
		}
		fired = append(fired, n)
		after()
	}
	for _, at := range []time.Time{
		cst(2025, 9, 26, 17, 20), // some urgent warnings
		cst(2025, 9, 26, 19, 0),  // urgent breaches, with warnings of others
		cst(2025, 9, 28, 8, 45),  // Sunday (a workday): warnings
		cst(2025, 9, 29, 12, 0),  // Monday: every stage breached
		cst(2025, 9, 30, 17, 0),  // supervisions breach: escalate to the district
	} {
		w.clk.Set(at)
		fire()
	}
	return fired
}

// dumpState returns every row the firing touched, table by table, as
// text, with ids replaced by what they point at: a timeline entry by its
// case and its place in the case's timeline, a supervision by its case
// and place, a feed event by its subject and place.
func (w *world) dumpState(t *testing.T) map[string][]string {
	t.Helper()
	ctx := context.Background()
	r, err := feed.NewRunner(w.d, feed.RunnerConfig{}, notify.NewNotifier(w.svc, nil).Consumer())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	events := w.renumber(t, `SELECT id, case_id FROM case_events ORDER BY case_id, id`, "E")
	sups := w.renumber(t, `SELECT id, case_id FROM supervisions ORDER BY case_id, id`, "S")
	ev := func(v string) string { return mapped(events, v) }
	sup := func(v string) string { return mapped(sups, v) }
	jsonIDs := func(v string) string {
		v = rewriteJSON(v, "event_id", events)
		v = rewriteJSON(v, "supervision", sups)
		return v
	}
	out := map[string][]string{}
	for _, q := range []struct {
		table, query string
		fix          map[int]func(string) string
	}{
		{"cases", `SELECT * FROM cases ORDER BY id`, nil},
		{"case_events", `SELECT id, case_id, at, actor_id, actor_name, role, action, from_status, to_status, note, data, public FROM case_events ORDER BY case_id, id`,
			map[int]func(string) string{0: ev, 10: jsonIDs}},
		{"feed_events", `SELECT subject_kind, subject_id, district, kind, payload, at FROM feed_events ORDER BY subject_kind, subject_id, position`,
			map[int]func(string) string{4: jsonIDs}},
		{"notifications", `SELECT user_id, case_id, kind, msg_key, msg_args, created_at, read_at FROM notifications ORDER BY case_id, user_id, kind, id`, nil},
		{"sla_stages", `SELECT * FROM sla_stages ORDER BY id`, nil},
		{"supervisions", `SELECT id, case_id, kind, level, region_code, reason, stage_id, parent_id, instruction, issued_by, opened_at, deadline_at, status,
			breached_at, answered_at, answer, closed_at FROM supervisions ORDER BY case_id, id`, map[int]func(string) string{0: sup, 7: sup}},
		{"kernel_timers", `SELECT kind, subject, name, due_at, run_at, payload, attempts, last_error FROM kernel_timers ORDER BY kind, subject, name`,
			map[int]func(string) string{2: sup}},
		{"rollup_flow", `SELECT * FROM rollup_flow`, nil},
		{"rollup_status", `SELECT * FROM rollup_status`, nil},
		{"rollup_state", `SELECT * FROM rollup_state`, nil},
		{"rollup_source", `SELECT * FROM rollup_source`, nil},
		{"rollup_open_cases", `SELECT * FROM rollup_open_cases ORDER BY case_id`, nil},
		{"audit_log", `SELECT * FROM audit_log ORDER BY id`, map[int]func(string) string{}},
	} {
		rows := w.rows(t, q.query, q.fix)
		if q.table == "kernel_timers" {
			// The supervisions' timers are named by the supervision's id.
			for i, r := range rows {
				if !strings.HasPrefix(r, TimerSupervision+"|") {
					continue
				}
				f := strings.Split(r, "|")
				f[2] = sup(f[2])
				rows[i] = strings.Join(f, "|")
			}
		}
		if !strings.Contains(q.query, "ORDER BY") {
			slices.Sort(rows)
		}
		out[q.table] = rows
	}
	return out
}

// renumber maps the ids of a query of (id, case id) to prefix, the case id
// and the row's place among the case's rows.
func (w *world) renumber(t *testing.T, q, prefix string) map[string]string {
	t.Helper()
	out := map[string]string{}
	n := map[int64]int{}
	rows, err := w.d.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, caseID int64
		if err := rows.Scan(&id, &caseID); err != nil {
			t.Fatal(err)
		}
		n[caseID]++
		out[strconv.FormatInt(id, 10)] = fmt.Sprintf("%s%d.%d", prefix, caseID, n[caseID])
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func mapped(m map[string]string, v string) string {
	if r, ok := m[v]; ok {
		return r
	}
	return v
}

// rewriteJSON replaces the numbers under key anywhere in the JSON text v
// by what m maps them to.
func rewriteJSON(v, key string, m map[string]string) string {
	re := regexp.MustCompile(`"` + regexp.QuoteMeta(key) + `":(\d+)`)
	return re.ReplaceAllStringFunc(v, func(s string) string {
		num := s[strings.LastIndexByte(s, ':')+1:]
		b, _ := json.Marshal(mapped(m, num))
		return `"` + key + `":` + string(b)
	})
}

// rows runs q and returns each row as its columns joined by "|", column i
// passed through fix[i] when there is one.
func (w *world) rows(t *testing.T, q string, fix map[int]func(string) string) []string {
	t.Helper()
	texts, err := dbtest.QueryTexts(context.Background(), w.d, q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	out := make([]string, len(texts))
	for r, f := range texts {
		for i, g := range fix {
			f[i] = g(f[i])
		}
		out[r] = strings.Join(f, "|")
	}
	return out
}

// TestGroupRecordsBreachesThenEscalations: a group of breaches fires in
// one transaction, casework writing the breaches' steps and their
// escalations together (casework.Service.SystemStepsThen); the timeline
// entries and the change feed's events still come in the order two
// groups of steps, one after the other, gave them: every breach, in the
// timers' order, then every escalation, in the same order of cases, each
// feed event naming its own timeline entry.
func TestGroupRecordsBreachesThenEscalations(t *testing.T) {
	t.Parallel()
	eachWorld(t, friday, func(t *testing.T, w *world) {
		var ids []int64
		for range 3 {
			ids = append(ids, w.submit(t, "resident", "ZL0302", inA).ID)
		}
		w.clk.Set(cst(2025, 9, 28, 8, 36)) // the warnings
		if n := w.runDue(t); n != 3 {
			t.Fatalf("warnings: fired %d, want 3", n)
		}
		lastEvent := int64(w.count(t, `SELECT COALESCE(MAX(id), 0) FROM case_events`))
		// The feed's insertion order: PostgreSQL numbers its rows'
		// positions later (the sequencer), by id.
		order := "position"
		if w.d.Dialect() == db.Postgres {
			order = "id"
		}
		lastPos := int64(w.count(t, `SELECT COALESCE(MAX(`+order+`), 0) FROM feed_events`))
		w.clk.Set(cst(2025, 9, 28, 9, 0)) // the breaches, in one group
		if n := w.runDue(t); n != 3 {
			t.Fatalf("breaches: fired %d, want 3", n)
		}
		type entry struct {
			id, caseID int64
			action     string
		}
		var timeline []entry
		rows, err := w.d.Query(context.Background(), `SELECT id, case_id, action FROM case_events WHERE id > $1 ORDER BY id`, lastEvent)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var e entry
			if err := rows.Scan(&e.id, &e.caseID, &e.action); err != nil {
				t.Fatal(err)
			}
			timeline = append(timeline, e)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		var got, want []string
		for _, e := range timeline {
			got = append(got, fmt.Sprintf("%d %s", e.caseID, e.action))
		}
		// The breaches in the order they fired (the timers', which the
		// runner claims by due time and then key), then the escalations.
		var fired []int64
		for _, e := range timeline[:min(3, len(timeline))] {
			fired = append(fired, e.caseID)
		}
		if !slices.Equal(slices.Sorted(slices.Values(fired)), ids) {
			t.Fatalf("timeline after the breaches: %v, want a breach of each of %v first", got, ids)
		}
		for _, a := range []string{"sla_breach", "escalate"} {
			for _, id := range fired {
				want = append(want, fmt.Sprintf("%d %s", id, a))
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("timeline entries in id order:\n got %v\nwant %v", got, want)
		}
		rows, err = w.d.Query(context.Background(), `SELECT subject_id, kind, payload FROM feed_events WHERE `+order+` > $1 ORDER BY `+order, lastPos)
		if err != nil {
			t.Fatal(err)
		}
		var feedGot []string
		i := 0
		for rows.Next() {
			var id int64
			var kind, payload string
			if err := rows.Scan(&id, &kind, &payload); err != nil {
				t.Fatal(err)
			}
			var p struct {
				Private struct {
					EventID int64 `json:"event_id"`
				} `json:"private"`
			}
			if err := json.Unmarshal([]byte(payload), &p); err != nil {
				t.Fatal(err)
			}
			feedGot = append(feedGot, fmt.Sprintf("%d %s", id, kind))
			if i < len(timeline) && p.Private.EventID != timeline[i].id {
				t.Errorf("feed event %d (%d %s) names timeline entry %d, want %d", i, id, kind, p.Private.EventID, timeline[i].id)
			}
			i++
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if !slices.Equal(feedGot, want) {
			t.Errorf("feed events in order:\n got %v\nwant %v", feedGot, want)
		}
	})
}
