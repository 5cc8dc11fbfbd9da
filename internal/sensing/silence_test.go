package sensing_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/sensing"
	"whistle/internal/timer"
	"whistle/internal/worldtest"
)

// restart stands for a new process on the same database: a new Service
// and timer Runner, the rules read at start.
func (f *fixture) restart(t *testing.T) {
	t.Helper()
	f.svc = f.newService(t)
	f.timers = timer.NewRunner(f.d, timer.Config{})
	f.svc.RegisterTimers(f.timers)
	if err := f.svc.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestAbsenceAndLowUseAcrossRestart: "no message for 6 h" and "less than
// 0.01 m³ of water in 12 h" fire when nothing arrives, once, though the
// process restarted in between; a message ends the silence and a new one
// fires again.
func TestAbsenceAndLowUseAcrossRestart(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		abs := f.rule(t, sensing.RuleInput{Name: sp("手表失联"), Kind: sp("absence"), DeviceType: sp("smart_watch"), Seconds: i64(6 * 3600), AlarmType: sp("offline")})
		low := f.rule(t, sensing.RuleInput{Name: sp("用水过少"), Kind: sp("low_use"), DeviceType: sp("water_meter"), Field: sp("water_m3"),
			Limit: fp(0.01), Seconds: i64(12 * 3600), KeyBy: sp("person"), AlarmType: sp("low_water")})
		watch, meter := f.source(1, "smart_watch"), f.source(2, "water_meter")
		f.read(t, watch, vals("heart_rate", 70.0))
		f.read(t, meter, vals("water_m3", 0.004))
		f.restart(t)
		f.fire(t, 3*time.Hour)
		f.read(t, meter, vals("water_m3", 0.003)) // 0.003 more: still under 0.01 since the window began
		f.fire(t, 2*time.Hour+59*time.Minute)
		if got := len(f.alarms(t, "")); got != 0 {
			t.Fatalf("at 5h59: got %d alarms, want 0", got)
		}
		f.restart(t)
		f.fire(t, 2*time.Minute) // 6h01 after the watch's message
		as := f.alarms(t, "active")
		if len(as) != 1 || as[0].Type != "offline" || as[0].RuleID != abs.ID {
			t.Fatalf("after 6 h of silence: got %+v, want one offline alarm", as)
		}
		f.fire(t, time.Hour)
		if got := f.count(t, `SELECT COUNT(*) FROM sensing_firings WHERE rule_id = $1`, abs.ID); got != 1 {
			t.Errorf("absence firings after another hour: got %d, want 1", got)
		}
		f.restart(t)
		f.fire(t, 5*time.Hour) // 12h01 after the meter's first reading
		if got := f.count(t, `SELECT COUNT(*) FROM sensing_firings WHERE rule_id = $1`, low.ID); got != 1 {
			t.Fatalf("low-use firings after 12 h: got %d, want 1", got)
		}
		// Use over the limit ends the silence: no new firing for 12 h more.
		clk.Advance(time.Second)
		f.read(t, meter, vals("water_m3", 0.02))
		f.fire(t, 11*time.Hour)
		if got := f.count(t, `SELECT COUNT(*) FROM sensing_firings WHERE rule_id = $1`, low.ID); got != 1 {
			t.Errorf("low-use firings 11 h after real use: got %d, want 1", got)
		}
		f.fire(t, 2*time.Hour)
		if got := f.count(t, `SELECT COUNT(*) FROM sensing_firings WHERE rule_id = $1`, low.ID); got != 2 {
			t.Errorf("low-use firings 13 h after real use: got %d, want 2", got)
		}
	})
}

// TestSilenceFiresWithinItsStep: a silence fires after its exact time and
// at most a sixtieth of its length later, from a second to a minute (its
// touches are rounded up to that step): a 12-hour absence within a
// minute, a 2-minute one within 2 seconds.
func TestSilenceFiresWithinItsStep(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		long := f.rule(t, sensing.RuleInput{Name: sp("手表失联"), Kind: sp("absence"), DeviceType: sp("smart_watch"), Seconds: i64(12 * 3600), AlarmType: sp("offline")})
		short := f.rule(t, sensing.RuleInput{Name: sp("水表失联"), Kind: sp("absence"), DeviceType: sp("water_meter"), Seconds: i64(120), AlarmType: sp("offline")})
		start := clk.Now()
		clk.Advance(11 * time.Second)
		f.read(t, f.source(1, "smart_watch"), vals("heart_rate", 70.0))
		f.read(t, f.source(2, "water_meter"), vals("water_m3", 0.5))
		firings := func(r *sensing.Rule) int {
			return f.count(t, `SELECT COUNT(*) FROM sensing_firings WHERE rule_id = $1`, r.ID)
		}
		steps := []struct {
			name        string
			at          time.Duration // after start
			short, long int
		}{
			{"the short one's exact time (2m11s)", 131 * time.Second, 0, 0},
			{"its step on (2m12s)", 132 * time.Second, 1, 0},
			{"the long one's exact time (12h0m11s)", 12*time.Hour + 11*time.Second, 1, 0},
			{"half its step on", 12*time.Hour + 30*time.Second, 1, 0},
			{"its step on (12h1m)", 12*time.Hour + time.Minute, 1, 1},
		}
		for _, s := range steps {
			f.fire(t, start.Add(s.at).Sub(clk.Now()))
			if got := firings(short); got != s.short {
				t.Errorf("%s: the 2-minute silence fired %d times, want %d", s.name, got, s.short)
			}
			if got := firings(long); got != s.long {
				t.Errorf("%s: the 12-hour silence fired %d times, want %d", s.name, got, s.long)
			}
		}
	})
}

// TestSilenceOnceWithTwoReplicas: two services with their own runners on
// one database sweep the same silences at once; each silence raises one
// firing.
func TestSilenceOnceWithTwoReplicas(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		abs := f.rule(t, sensing.RuleInput{Name: sp("失联"), Kind: sp("absence"), DeviceType: sp("smart_watch"), Seconds: i64(3600)})
		const n = 150
		rs := make([]sensing.Reading, n)
		for i := range rs {
			src := f.source(int64(100+i), "smart_watch")
			src.PersonID = int64(1000 + i)
			rs[i] = sensing.Reading{Source: src, TS: clk.Now(), Values: vals("heart_rate", 70.0)}
		}
		ctx := context.Background()
		if err := d.InTx(ctx, func(tx *db.Tx) error { return f.svc.Evaluate(ctx, tx, rs) }); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Hour + time.Second)
		var wg sync.WaitGroup
		fired := make([]int, 2)
		for i := range 2 {
			svc := f.newService(t)
			r := timer.NewRunner(d, timer.Config{Group: 20})
			svc.RegisterTimers(r)
			if err := svc.Reload(ctx); err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				for range 5 {
					k, err := r.RunDue(ctx)
					if err != nil {
						t.Errorf("replica %d: %v", i, err)
					}
					fired[i] += k
				}
			})
		}
		wg.Wait()
		if got := fired[0] + fired[1]; got != n {
			t.Errorf("silences fired: got %d (%v), want %d", got, fired, n)
		}
		if got := f.count(t, `SELECT COUNT(*) FROM sensing_firings WHERE rule_id = $1`, abs.ID); got != n {
			t.Errorf("firings: got %d, want %d", got, n)
		}
		if got := f.count(t, `SELECT COUNT(*) FROM sensing_alarms`); got != n {
			t.Errorf("alarms: got %d, want %d", got, n)
		}
	})
}

// TestSuppression: while the person is away, and in the rule's quiet
// hours, a firing is recorded but raises no alarm.
func TestSuppression(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		f.rule(t, sensing.RuleInput{Name: sp("心率"), Kind: sp("threshold"), DeviceType: sp("smart_watch"), Expr: sp("heart_rate > 150.0")})
		// t0 is 10:00 in Wenzhou: quiet from 9 to 11.
		f.rule(t, sensing.RuleInput{Name: sp("夜间"), Kind: sp("threshold"), DeviceType: sp("smart_watch"), Expr: sp("steps > 100.0"), QuietFrom: ip(9), QuietTo: ip(11)})
		pid := f.person(t)
		watch := f.source(1, "smart_watch")
		watch.PersonID = pid
		if _, err := f.svc.AddAway(ctx, f.as("grid-a"), sensing.AwayInput{PersonID: pid, From: clk.Now().Add(-time.Hour), To: clk.Now().Add(2 * time.Hour), Note: "住院"}); err != nil {
			t.Fatal(err)
		}
		f.read(t, watch, vals("heart_rate", 170.0))
		if got := len(f.alarms(t, "")); got != 0 {
			t.Fatalf("while away: got %d alarms, want 0", got)
		}
		if got := f.count(t, `SELECT COUNT(*) FROM sensing_firings WHERE suppressed = 'away'`); got != 1 {
			t.Errorf("suppressed firings: got %d, want 1", got)
		}
		other := f.source(2, "smart_watch")
		other.PersonID = 0
		f.read(t, other, vals("steps", 500.0))
		if got := f.count(t, `SELECT COUNT(*) FROM sensing_firings WHERE suppressed = 'quiet_hours'`); got != 1 {
			t.Errorf("quiet-hours firings: got %d, want 1", got)
		}
		if got := len(f.alarms(t, "")); got != 0 {
			t.Fatalf("in quiet hours: got %d alarms, want 0", got)
		}
		clk.Advance(3 * time.Hour)
		f.read(t, watch, vals("heart_rate", 170.0))
		if got := len(f.alarms(t, "active")); got != 1 {
			t.Errorf("back home: got %d alarms, want 1", got)
		}
		if _, err := f.svc.AddAway(ctx, f.as("staff-b"), sensing.AwayInput{PersonID: pid, From: clk.Now(), To: clk.Now().Add(time.Hour)}); !errs.Is(err, errs.NotFound) {
			t.Errorf("staff of another community enters an away period: got %v, want NotFound", err)
		}
	})
}

// TestSilenceStats: the service reports how late its silences fired —
// here the runner came two minutes after the hour of silence was up.
func TestSilenceStats(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		f.rule(t, sensing.RuleInput{Name: sp("失联"), Kind: sp("absence"), DeviceType: sp("smart_watch"), Seconds: i64(3600)})
		if st := f.svc.SilenceStats(); st.Fired != 0 {
			t.Fatalf("before any firing: %+v", st)
		}
		f.read(t, f.source(1, "smart_watch"), vals("heart_rate", 70.0))
		f.fire(t, time.Hour+2*time.Minute)
		st := f.svc.SilenceStats()
		if st.Fired != 1 || st.Max < 119*time.Second || st.Max > 121*time.Second || st.P50 != st.Max || st.P99 != st.Max {
			t.Errorf("silence stats %+v, want one firing 2 minutes late", st)
		}
	})
}
