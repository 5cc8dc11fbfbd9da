package sensing_test

import (
	"context"
	"maps"
	"testing"
	"time"

	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/sensing"
	"whistle/internal/visit"
	"whistle/internal/worldtest"
)

// TestThresholdToCaseToClosed: a heart rate over 150 raises one alarm
// (repeats counted, a second device of the same person merged into it),
// tells the family, opens a case after M minutes without acknowledgement,
// escalates to the street after K more, and is cleared with a reason,
// which the rule's false-alarm rate counts.
func TestThresholdToCaseToClosed(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		r := f.rule(t, sensing.RuleInput{Name: sp("心率过高"), Kind: sp("threshold"), DeviceType: sp("smart_watch"), Expr: sp("heart_rate > 150.0"),
			KeyBy: sp("person"), AlarmType: sp("heart_rate"), Severity: sp("critical")})
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO sensing_contacts (person_id, name, phone, relation, created_at) VALUES (7, '王小明', '13800001111', 'son', $1)`, tx.Now())
			return err
		}); err != nil {
			t.Fatal(err)
		}
		w1, w2 := f.source(1, "smart_watch"), f.source(2, "smart_watch")
		f.read(t, w1, vals("heart_rate", 80.0))
		if got := f.alarms(t, ""); len(got) != 0 {
			t.Fatalf("got %d alarms at 80 bpm, want 0", len(got))
		}
		f.read(t, w1, vals("heart_rate", 160.0), vals("heart_rate", 170.0))
		f.read(t, w2, vals("heart_rate", 155.0))
		as := f.alarms(t, "active")
		if len(as) != 1 {
			t.Fatalf("got %d active alarms, want 1", len(as))
		}
		a := as[0]
		if got, want := a.Count, 3; got != want {
			t.Errorf("count: got %d, want %d", got, want)
		}
		if got, want := len(a.Devices), 2; got != want {
			t.Errorf("merged devices: got %v, want 2", a.Devices)
		}
		if got := f.count(t, `SELECT COUNT(*) FROM sensing_outbox WHERE alarm_id = $1 AND phone = '13800001111'`, a.ID); got != 1 {
			t.Errorf("family messages: got %d, want 1", got)
		}
		f.fire(t, 9*time.Minute)
		if a, _ = f.svc.Alarm(ctx, f.as("admin"), a.ID); a.CaseID != 0 {
			t.Fatalf("case opened after 9 min, want after 10")
		}
		f.fire(t, time.Minute)
		a, err := f.svc.Alarm(ctx, f.as("admin"), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if a.CaseID == 0 || a.Level != 2 {
			t.Fatalf("after 10 min: case %d level %d, want a case at level 2", a.CaseID, a.Level)
		}
		c, err := f.Cases.Get(ctx, casework.Caller{System: true}, a.CaseID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.CategoryCode, "ZL0602"; got != want {
			t.Errorf("case category: got %s, want %s", got, want)
		}
		if got, want := c.GridCode, gridA1; got != want {
			t.Errorf("case grid: got %s, want %s", got, want)
		}
		// A retried opening replays the same case.
		f.retryOpening(t, a.ID)
		f.fire(t, 0)
		if got := f.count(t, `SELECT COUNT(*) FROM cases`); got != 1 {
			t.Errorf("cases after a retried opening: got %d, want 1", got)
		}
		f.fire(t, 20*time.Minute)
		if a, _ = f.svc.Alarm(ctx, f.as("admin"), a.ID); a.Level != 3 {
			t.Errorf("after K more: level %d, want 3", a.Level)
		}
		// Scope: staff of community B do not see it.
		if _, err := f.svc.Alarm(ctx, f.as("staff-b"), a.ID); !errs.Is(err, errs.NotFound) {
			t.Errorf("staff-b: got %v, want NotFound", err)
		}
		if _, err := f.svc.Act(ctx, f.as("grid-a"), a.ID, "clear", sensing.AlarmInput{}); !errs.Is(err, errs.Invalid) {
			t.Errorf("clear without a reason: got %v, want Invalid", err)
		}
		if _, err := f.svc.Act(ctx, f.as("grid-a"), a.ID, "clear", sensing.AlarmInput{Reason: "bored"}); !errs.Is(err, errs.Invalid) {
			t.Errorf("clear with a bad reason: got %v, want Invalid", err)
		}
		if a, err = f.svc.Act(ctx, f.as("grid-a"), a.ID, "clear", sensing.AlarmInput{Reason: sensing.ReasonFalseAlarm}); err != nil {
			t.Fatal(err)
		}
		if got, want := a.Status, "cleared"; got != want {
			t.Errorf("status: got %s, want %s", got, want)
		}
		steps, err := f.svc.Timeline(ctx, f.as("admin"), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		var acts []string
		for _, s := range steps {
			acts = append(acts, s.Action)
		}
		want := []string{"raise", "notify_family", "open_case", "case_opened", "escalate_street", "clear"}
		if len(acts) != len(want) {
			t.Fatalf("timeline: got %v, want %v", acts, want)
		}
		for i := range want {
			if acts[i] != want[i] {
				t.Fatalf("timeline: got %v, want %v", acts, want)
			}
		}
		got, err := f.svc.Rule(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.FalseAlarmRate != 1 || got.Closed != 1 {
			t.Errorf("false-alarm rate: got %v of %d, want 1 of 1", got.FalseAlarmRate, got.Closed)
		}
		// A new reading after the clearing opens a new alarm.
		f.read(t, w1, vals("heart_rate", 190.0))
		if got := len(f.alarms(t, "active")); got != 1 {
			t.Errorf("after clearing, a new reading: got %d active, want 1", got)
		}
	})
}

// TestAlarmCaseComesWithVisit: the ladder's case comes with an urgent
// visit task for the person's grid worker (issue 17, Build 4: "open a case
// for the grid worker, linked to the person and house, with a visit
// task"), committed with the case's link: a retried opening adds no second
// task, the alarm's timeline names it, and the grid worker records it like
// any other visit. A person who is not in the registry gets no task.
func TestAlarmCaseComesWithVisit(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		pid := f.person(t)
		f.rule(t, sensing.RuleInput{Name: sp("心率过高"), Kind: sp("threshold"), DeviceType: sp("smart_watch"), Expr: sp("heart_rate > 150.0"),
			KeyBy: sp("person"), AlarmType: sp("heart_rate"), Severity: sp("critical")})
		w := f.source(1, "smart_watch")
		w.PersonID, w.HouseID = pid, 0
		stranger := f.source(2, "smart_watch") // person 7, not in the registry
		f.read(t, w, vals("heart_rate", 170.0))
		f.read(t, stranger, vals("heart_rate", 171.0))
		opened := clk.Now().Add(10 * time.Minute)
		f.fire(t, 10*time.Minute)
		as := f.alarms(t, "active")
		if len(as) != 2 {
			t.Fatalf("got %d active alarms, want 2", len(as))
		}
		var a, other *sensing.Alarm
		for _, x := range as {
			if x.PersonID == pid {
				a = x
			} else {
				other = x
			}
		}
		if a == nil || a.CaseID == 0 || other == nil || other.CaseID == 0 {
			t.Fatalf("alarms %+v: want both with a case", as)
		}
		tasks, err := f.visits.List(ctx, f.Users["grid-a"], visit.Filter{Due: visit.DueToday})
		if err != nil {
			t.Fatal(err)
		}
		if len(tasks) != 1 {
			t.Fatalf("grid-a's tasks: got %d, want 1 (the registered person's follow-up only)", len(tasks))
		}
		task := tasks[0]
		if task.Origin != visit.OriginAlarm || task.OriginCaseID == nil || *task.OriginCaseID != a.CaseID || task.PersonID != pid || task.Group != "" {
			t.Errorf("task: origin %s case %v person %d group %q, want alarm, case %d, person %d, no group",
				task.Origin, task.OriginCaseID, task.PersonID, task.Group, a.CaseID, pid)
		}
		if got, want := task.DueAt, opened.Add(2*time.Hour); !got.Equal(want) {
			t.Errorf("due: got %v, want %v (2 hours after the case)", got, want)
		}
		if task.Brief == "" || task.Grid != gridA1 {
			t.Errorf("brief %q grid %s: want a brief and grid %s", task.Brief, task.Grid, gridA1)
		}
		steps, err := f.svc.Timeline(ctx, f.as("admin"), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, s := range steps {
			if s.Action == "case_opened" {
				found = true
				if got, _ := s.Data["visit_task"].(float64); int64(got) != task.ID {
					t.Errorf("case_opened step's visit_task: got %v, want %d", s.Data["visit_task"], task.ID)
				}
			}
		}
		if !found {
			t.Error("no case_opened step")
		}
		// A retried opening replays the case and adds no task.
		f.retryOpening(t)
		f.fire(t, 0)
		if got := f.count(t, `SELECT COUNT(*) FROM visit_tasks`); got != 1 {
			t.Errorf("tasks after a retried opening: got %d, want 1", got)
		}
		if got := f.count(t, `SELECT COUNT(*) FROM cases`); got != 2 {
			t.Errorf("cases after a retried opening: got %d, want 2", got)
		}
		lat, lng := 27.005, 120.005
		done, err := f.visits.Record(ctx, f.Users["grid-a"], audit.Actor{Name: "grid-a"}, "127.0.0.1", task.ID, visit.RecordInput{Lat: &lat, Lng: &lng, Notes: "老人安好，手表误报"})
		if err != nil {
			t.Fatalf("record the follow-up: %v", err)
		}
		if done.Status != visit.StatusDone || done.Origin != visit.OriginAlarm {
			t.Errorf("recorded: status %s origin %s, want done, alarm", done.Status, done.Origin)
		}
	})
}

// TestFalseAlarmRate: a rule's false-alarm rate is the share of its closed
// alarms closed as false alarms, with the count per reason; open alarms
// and other rules' alarms do not count.
func TestFalseAlarmRate(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		hr := f.rule(t, sensing.RuleInput{Name: sp("心率"), Kind: sp("threshold"), DeviceType: sp("smart_watch"), Expr: sp("heart_rate > 150")})
		quiet := f.rule(t, sensing.RuleInput{Name: sp("烟感"), Kind: sp("threshold"), DeviceType: sp("smoke_detector"), Expr: sp("smoke")})
		reasons := []string{sensing.ReasonReal, sensing.ReasonFalseAlarm, "away", sensing.ReasonFalseAlarm, ""}
		for i, why := range reasons {
			src := f.source(int64(100+i), "smart_watch")
			src.PersonID = int64(700 + i)
			f.read(t, src, vals("heart_rate", 170.0))
			as := f.alarms(t, "active")
			if len(as) != 1 {
				t.Fatalf("alarm %d: %d active", i, len(as))
			}
			if why == "" {
				continue
			}
			if _, err := f.svc.Act(ctx, f.as("grid-a"), as[0].ID, "clear", sensing.AlarmInput{Reason: why}); err != nil {
				t.Fatal(err)
			}
		}
		rs, err := f.svc.Rules(ctx, f.as("admin"))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			switch r.ID {
			case hr.ID:
				want := map[string]int{sensing.ReasonReal: 1, sensing.ReasonFalseAlarm: 2, sensing.ReasonAway: 1}
				if r.Closed != 4 || r.FalseAlarmRate != 0.5 || !maps.Equal(r.ClosedBy, want) {
					t.Errorf("heart rate rule: closed %d, rate %v, by reason %v; want 4, 0.5, %v", r.Closed, r.FalseAlarmRate, r.ClosedBy, want)
				}
			case quiet.ID:
				if r.Closed != 0 || r.FalseAlarmRate != 0 || r.ClosedBy[sensing.ReasonFalseAlarm] != 0 {
					t.Errorf("the rule without alarms: %+v", r)
				}
			}
		}
	})
}
