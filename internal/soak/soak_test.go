package soak

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
)

// The checks must catch what they look for: a lost case, a lost
// transition, a report stored twice, a timer that fired twice.
func TestCheckCatchesLossAndDuplicates(t *testing.T) {
	dbtest.Each(t, clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const prefix = "soak-test-"
		ids := map[string]int64{}
		err := d.InTx(ctx, func(tx *db.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO regions (code, parent_code, name, level, path, geometry, min_lng, min_lat, max_lng, max_lat, interior_lng, interior_lat, created_at, updated_at)
				VALUES ('330303', NULL, '区', 'district', '/330303/', '{}', 0, 0, 1, 1, 0.5, 0.5, $1, $1)`, tx.Now()); err != nil {
				return err
			}
			// k1 is stored once; k3's report is stored twice, the second
			// time without its key (as if idempotency had been skipped).
			for i, c := range []struct{ key, text string }{{"k1", "k1"}, {"k3", "k3"}, {"", "k3"}} {
				var key any
				if c.key != "" {
					key = prefix + c.key
				}
				id, err := tx.InsertID(ctx, `INSERT INTO cases (number, district_code, workflow, status, source, category_code, category_name, description,
					lat, lng, grid_code, region_path, visibility, idem_owner, idem_key, created_at, updated_at)
					VALUES ($1, '330303', 'whistle', 'submitted', 'resident', 'ZL0601', 'x', $2, 0, 0, '330303', '/330303/', 'public', 'user:1', $3, $4, $4)
					RETURNING id`, "WS"+string(rune('0'+i)), "soak "+prefix+c.text, key, tx.Now())
				if err != nil {
					return err
				}
				if c.key != "" {
					ids[c.key] = id
				}
				for _, a := range []string{"submit", "accept"} {
					if _, err := tx.Exec(ctx, `INSERT INTO case_events (case_id, at, actor_name, action) VALUES ($1, $2, 'x', $3)`, id, tx.Now(), a); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		// Clean: what was acknowledged is there.
		res, err := check(ctx, d, prefix, map[string]int64{prefix + "k1": ids["k1"]}, map[ack]int{{ids["k1"], "accept"}: 1})
		if err != nil {
			t.Fatal(err)
		}
		if res.cases != (Counts{Acknowledged: 1, Found: 1, Duplicated: 1}) || res.trans != (Counts{Acknowledged: 1, Found: 1}) {
			t.Fatalf("clean ledger: cases %+v, transitions %+v", res.cases, res.trans)
		}
		// Lost: a case acknowledged but absent, a transition without its
		// timeline row; duplicated: k3's report.
		keys := map[string]int64{prefix + "k1": ids["k1"], prefix + "k2": 99999, prefix + "k3": ids["k3"]}
		acks := map[ack]int{{ids["k1"], "accept"}: 1, {ids["k1"], "dispatch"}: 1}
		res, err = check(ctx, d, prefix, keys, acks)
		if err != nil {
			t.Fatal(err)
		}
		if want := (Counts{Acknowledged: 3, Found: 2, Lost: 1, Duplicated: 1}); res.cases != want {
			t.Errorf("cases = %+v, want %+v", res.cases, want)
		}
		if want := (Counts{Acknowledged: 2, Found: 1, Lost: 1}); res.trans != want {
			t.Errorf("transitions = %+v, want %+v", res.trans, want)
		}
		all := strings.Join(res.problems, "\n")
		for _, w := range []string{"cases lost: " + prefix + "k2", "dispatch: 1 acknowledged, 0 on the timeline", "stored 2 times"} {
			if !strings.Contains(all, w) {
				t.Errorf("problems do not mention %q:\n%s", w, all)
			}
		}
		if !strings.Contains(strings.Join(res.notes, "\n"), "timers: not checked") {
			t.Errorf("no SLA stages yet, but the timers were reported as checked: %v", res.notes)
		}
		rep := &Report{Cases: res.cases, Transitions: res.trans, Problems: res.problems}
		if rep.OK() || rep.Summary() != "acknowledged 5, found 3, lost 2, duplicated 1" {
			t.Errorf("report: ok %v, summary %q", rep.OK(), rep.Summary())
		}
	})
}

func TestCheckCatchesTimerFiredTwice(t *testing.T) {
	dbtest.Each(t, clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const prefix = "soak-timer-"
		var id int64
		err := d.InTx(ctx, func(tx *db.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO regions (code, parent_code, name, level, path, geometry, min_lng, min_lat, max_lng, max_lat, interior_lng, interior_lat, created_at, updated_at)
				VALUES ('330303', NULL, '区', 'district', '/330303/', '{}', 0, 0, 1, 1, 0.5, 0.5, $1, $1)`, tx.Now()); err != nil {
				return err
			}
			var err error
			id, err = tx.InsertID(ctx, `INSERT INTO cases (number, district_code, workflow, status, source, category_code, category_name, description,
				lat, lng, grid_code, region_path, visibility, idem_owner, idem_key, created_at, updated_at)
				VALUES ('WS1', '330303', 'whistle', 'submitted', 'resident', 'ZL0601', 'x', $1, 0, 0, '330303', '/330303/', 'public', 'user:1', $2, $3, $3)
				RETURNING id`, "soak "+prefix+"k1", prefix+"k1", tx.Now())
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO sla_stages (case_id, stage, status, started_at, deadline_at, warned_at, breached_at) VALUES ($1, 'accept', 'submitted', $2, $2, $2, $2)`, id, tx.Now()); err != nil {
				return err
			}
			// One warning timer (due at 10:00) fired twice: two warnings
			// on the timeline with the same due time.
			for _, e := range [][2]string{{"submit", `{}`}, {"sla_warning", `{"stage":"accept","due_at":"2026-11-23T10:00:00+08:00"}`},
				{"sla_warning", `{"stage":"accept","due_at":"2026-11-23T10:00:00+08:00"}`}, {"sla_breach", `{"stage":"accept","due_at":"2026-11-23T10:30:00+08:00"}`}} {
				if _, err := tx.Exec(ctx, `INSERT INTO case_events (case_id, at, actor_name, action, data) VALUES ($1, $2, 'x', $3, $4)`, id, tx.Now(), e[0], e[1]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		res, err := check(ctx, d, prefix, map[string]int64{prefix + "k1": id}, nil)
		if err != nil {
			t.Fatal(err)
		}
		all := strings.Join(res.problems, "\n")
		if !strings.Contains(all, "sla_warning of accept due 2026-11-23T10:00:00+08:00 fired 2 times") {
			t.Fatalf("a warning fired twice went unnoticed: problems %q, notes %q", all, res.notes)
		}
	})
}

func TestSummaryOK(t *testing.T) {
	rep := &Report{Cases: Counts{Acknowledged: 10, Found: 10}, Transitions: Counts{Acknowledged: 32, Found: 32}}
	if !rep.OK() || rep.Summary() != "acknowledged 42, found 42, lost 0, duplicated 0" {
		t.Fatalf("ok %v, summary %q", rep.OK(), rep.Summary())
	}
}

// checkRollups reads `whistle rollup rebuild --dry-run` by its exit status
// and its "N differences"; a binary without the command is "not checked".
func TestCheckRollups(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name, body string
		state      rollupState
		note, prob string
	}{
		{"same", `echo "rollup rebuild: 10 cases, 3 nodes, 40 rows recomputed, 0 differences in 2ms (dry run, nothing written)"`, rollupPresent, "equal to a recomputation", ""},
		{"differ", `echo "rollup_state 330303/x: stored 2, computed 3"; echo "rollup rebuild: 1 differences"; exit 1`, rollupPresent, "", "failed"},
		{"differ0", `echo "rollup rebuild: 10 cases, 3 nodes, 40 rows recomputed, 2 differences in 2ms"`, rollupPresent, "", "differ from a recomputation"},
		{"silent", `echo ok`, rollupPresent, "", "did not report"},
		{"missing", `echo 'whistle: unknown command "rollup"' >&2; exit 1`, rollupMissing, "not checked", ""},
	}
	if runtime.GOOS == "windows" {
		t.Skip("shell scripts")
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := &Config{Server: []string{script(c.name, c.body), "demo"}, DataArgs: []string{"--data", dir}}
			res := &result{}
			if got := checkRollups(context.Background(), cfg, res); got != c.state {
				t.Errorf("state %v, want %v", got, c.state)
			}
			notes, probs := strings.Join(res.notes, "\n"), strings.Join(res.problems, "\n")
			if (c.note == "") != (notes == "") || !strings.Contains(notes, c.note) {
				t.Errorf("notes %q, want one with %q", notes, c.note)
			}
			if (c.prob == "") != (probs == "") || !strings.Contains(probs, c.prob) {
				t.Errorf("problems %q, want one with %q", probs, c.prob)
			}
		})
	}
}
