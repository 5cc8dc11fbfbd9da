package timer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
)

func TestArmRefusesBadInput(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		tests := []struct {
			name string
			a    Arming
		}{
			{"no kind", Arming{Key: Key{Subject: "d1", Name: "x"}, Due: t0}},
			{"no subject", Arming{Key: Key{Kind: kindDevice, Name: "x"}, Due: t0}},
			{"no due time", Arming{Key: Key{Kind: kindDevice, Subject: "d1", Name: "x"}}},
			{"payload not JSON", Arming{Key: Key{Kind: kindDevice, Subject: "d1", Name: "x"}, Due: t0, Payload: json.RawMessage(`{"a":`)}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := d.InTx(context.Background(), func(tx *db.Tx) error { return ArmMany(context.Background(), tx, []Arming{tt.a}) })
				if got, want := errs.CodeOf(err), errs.Invalid; got != want {
					t.Errorf("got %v (%v), want %v", got, err, want)
				}
			})
		}
		if n := count(t, d, `SELECT COUNT(*) FROM kernel_timers`); n != 0 {
			t.Errorf("got %d timers armed, want 0", n)
		}
	})
}

// TestFiresOnceAcrossRestarts: timers fire when due, in the transaction of
// their effect, and a restarted process (a new connection and runner on the
// same database) fires none of them again.
func TestFiresOnceAcrossRestarts(t *testing.T) {
	t.Parallel()
	eachReopenable(t, func(t *testing.T, open opener) {
		clk := clock.NewFake(t0)
		d := open(clk)
		createDeviceTables(t, d)
		addDevices(t, d, "d1", "d2", "d3")
		arm(t, d, dev("d1", "nodata", t0.Add(time.Hour)), dev("d2", "nodata", t0.Add(time.Hour)), dev("d3", "nodata", t0.Add(3*time.Hour)))

		newRunner := func(d *db.DB) *Runner {
			r := NewRunner(d, Config{})
			r.Handle(kindDevice, deviceEffect)
			return r
		}
		steps := []struct {
			name    string
			restart bool
			advance time.Duration
			want    int
		}{
			{"nothing due yet", false, 0, 0},
			{"two due", false, time.Hour, 2},
			{"again: nothing new", false, 0, 0},
			{"after a restart: nothing new", true, 0, 0},
			{"after a restart, the third falls due", true, 2 * time.Hour, 1},
			{"after another restart: nothing new", true, time.Hour, 0},
		}
		r := newRunner(d)
		for _, s := range steps {
			if s.restart {
				d.Close()
				d = open(clk)
				r = newRunner(d)
			}
			clk.Advance(s.advance)
			n, err := runDue(t, r)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if n != s.want {
				t.Errorf("%s: fired %d, want %d", s.name, n, s.want)
			}
		}
		got := events(t, d)
		want := map[string]int{"d1/nodata": 1, "d2/nodata": 1, "d3/nodata": 1}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("events: got %v, want %v", got, want)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM kernel_timers`); n != 0 {
			t.Errorf("got %d timers left pending, want 0", n)
		}
		if n := count(t, d, `SELECT SUM(alarms) FROM test_devices`); n != 3 {
			t.Errorf("got %d alarms on the devices, want 3", n)
		}
	})
}

// TestTwoRunnersFireEachTimerOnce: two replicas (two connections to one
// database, each with a runner of several workers) fire the same due
// timers and sweep the same silent keys at once; each fires exactly once.
func TestTwoRunnersFireEachTimerOnce(t *testing.T) {
	t.Parallel()
	eachReopenable(t, func(t *testing.T, open opener) {
		clk := clock.NewFake(t0)
		a, b := open(clk), open(clk)
		createDeviceTables(t, a)
		const n = 600
		var ids []string
		var as []Arming
		for i := range n {
			id := fmt.Sprintf("d%04d", i)
			ids = append(ids, id)
			as = append(as, dev(id, "nodata", t0.Add(time.Duration(i)*time.Second)))
		}
		addDevices(t, a, ids...)
		arm(t, a, as...)
		inTx(t, a, func(tx *db.Tx) error { return Touch(context.Background(), tx, kindSensor, ids, t0) })
		clk.Advance(24 * time.Hour)

		var wg sync.WaitGroup
		fired := make([]int, 2)
		for i, d := range []*db.DB{a, b} {
			r := NewRunner(d, Config{Group: 10, Workers: 2})
			r.Handle(kindDevice, deviceEffect)
			r.HandleSilence(kindSensor, 12*time.Hour, func(ctx context.Context, tx *db.Tx, tm Timer) error {
				tm.Name = "silence"
				return deviceEffect(ctx, tx, tm)
			})
			wg.Go(func() {
				for range 3 {
					m, err := runDue(t, r)
					if err != nil {
						t.Errorf("runner %d: %v", i, err)
					}
					fired[i] += m
				}
			})
		}
		wg.Wait()
		if got, want := fired[0]+fired[1], 2*n; got != want {
			t.Errorf("fired %d (%v), want %d", got, fired, want)
		}
		got := events(t, a)
		for _, id := range ids {
			for _, name := range []string{"nodata", "silence"} {
				if got[id+"/"+name] != 1 {
					t.Errorf("%s/%s fired %d times, want once", id, name, got[id+"/"+name])
				}
			}
		}
		t.Logf("runner a fired %d, runner b %d", fired[0], fired[1])
	})
}

// TestRearmMovesPendingTimer: arming a pending key again moves its due time
// and replaces its payload, both later and earlier; it stays one timer.
func TestRearmMovesPendingTimer(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		tests := []struct {
			name           string
			first, second  time.Duration
			check, fireAt  time.Duration // nothing fires at check; the timer fires at fireAt
			wantPayloadKey string
		}{
			{"later", time.Hour, 3 * time.Hour, 2 * time.Hour, 3 * time.Hour, "second"},
			{"earlier", 3 * time.Hour, time.Hour, 30 * time.Minute, time.Hour, "second"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				clk := clock.NewFake(t0)
				d := dbtest.MustOpenDB(t, d.Dialect(), clk)
				createDeviceTables(t, d)
				addDevices(t, d, "d1")
				key := Key{Kind: kindDevice, Subject: "d1", Name: "nodata"}
				inTx(t, d, func(tx *db.Tx) error {
					return Arm(context.Background(), tx, key, t0.Add(tt.first), json.RawMessage(`"first"`))
				})
				inTx(t, d, func(tx *db.Tx) error {
					return Arm(context.Background(), tx, key, t0.Add(tt.second), json.RawMessage(`"second"`))
				})
				inTx(t, d, func(tx *db.Tx) error {
					p, err := Pending(context.Background(), tx, key)
					if err != nil {
						return err
					}
					if got, want := p.Due, t0.Add(tt.second); !got.Equal(want) {
						t.Errorf("pending due: got %v, want %v", got, want)
					}
					if got, want := string(p.Payload), `"second"`; got != want {
						t.Errorf("pending payload: got %s, want %s", got, want)
					}
					return nil
				})
				if n := count(t, d, `SELECT COUNT(*) FROM kernel_timers`); n != 1 {
					t.Errorf("got %d timers, want 1", n)
				}
				err := d.InTx(context.Background(), func(tx *db.Tx) error {
					_, err := Pending(context.Background(), tx, Key{Kind: kindDevice, Subject: "d1", Name: "other"})
					return err
				})
				if got, want := errs.CodeOf(err), errs.NotFound; got != want {
					t.Errorf("Pending of a key never armed: got %v (%v), want %v", got, err, want)
				}
				r := NewRunner(d, Config{})
				r.Handle(kindDevice, deviceEffect)
				clk.Set(t0.Add(tt.check))
				if n, err := runDue(t, r); err != nil || n != 0 {
					t.Errorf("at +%v: fired %d (%v), want 0", tt.check, n, err)
				}
				clk.Set(t0.Add(tt.fireAt))
				if n, err := runDue(t, r); err != nil || n != 1 {
					t.Errorf("at +%v: fired %d (%v), want 1", tt.fireAt, n, err)
				}
				var payload string
				if err := d.QueryRow(context.Background(), `SELECT payload FROM test_device_events`).Scan(&payload); err != nil {
					t.Fatal(err)
				}
				if want := `"` + tt.wantPayloadKey + `"`; payload != want {
					t.Errorf("fired with payload %s, want %s", payload, want)
				}
			})
		}
	})
}

// TestCancel: Cancel, CancelSubject and CancelMany remove exactly the
// timers they name, and those never fire.
func TestCancel(t *testing.T) {
	t.Parallel()
	k := func(s, n string) Key { return Key{Kind: kindDevice, Subject: s, Name: n} }
	tests := []struct {
		name      string
		cancel    func(ctx context.Context, tx *db.Tx) (int64, error)
		wantGone  int64 // -1: not reported
		wantFired []string
	}{
		{"one key", func(ctx context.Context, tx *db.Tx) (int64, error) { return -1, Cancel(ctx, tx, k("d1", "a")) },
			-1, []string{"d1/b", "d2/a", "d2/b", "d3/a", "d3/b"}},
		{"a subject", func(ctx context.Context, tx *db.Tx) (int64, error) { return CancelSubject(ctx, tx, kindDevice, "d2") },
			2, []string{"d1/a", "d1/b", "d3/a", "d3/b"}},
		{"many keys", func(ctx context.Context, tx *db.Tx) (int64, error) {
			return CancelMany(ctx, tx, []Key{k("d1", "a"), k("d2", "b"), k("d3", "a"), k("d9", "a")})
		}, 3, []string{"d1/b", "d2/a", "d3/b"}},
		{"another kind's subject", func(ctx context.Context, tx *db.Tx) (int64, error) { return CancelSubject(ctx, tx, "other", "d1") },
			0, []string{"d1/a", "d1/b", "d2/a", "d2/b", "d3/a", "d3/b"}},
	}
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				clk := clock.NewFake(t0)
				d := dbtest.MustOpenDB(t, d.Dialect(), clk)
				createDeviceTables(t, d)
				addDevices(t, d, "d1", "d2", "d3")
				var as []Arming
				for _, s := range []string{"d1", "d2", "d3"} {
					as = append(as, dev(s, "a", t0.Add(time.Hour)), dev(s, "b", t0.Add(time.Hour)))
				}
				arm(t, d, as...)
				inTx(t, d, func(tx *db.Tx) error {
					n, err := tt.cancel(context.Background(), tx)
					if err == nil && tt.wantGone >= 0 && n != tt.wantGone {
						t.Errorf("cancelled %d, want %d", n, tt.wantGone)
					}
					return err
				})
				clk.Advance(2 * time.Hour)
				r := NewRunner(d, Config{})
				r.Handle(kindDevice, deviceEffect)
				if _, err := runDue(t, r); err != nil {
					t.Fatal(err)
				}
				var got []string
				for k := range events(t, d) {
					got = append(got, k)
				}
				if g, w := strings.Join(sorted(got), " "), strings.Join(tt.wantFired, " "); g != w {
					t.Errorf("fired %s, want %s", g, w)
				}
			})
		}
	})
}

func sorted(s []string) []string {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	return s
}

// TestHandlerErrorLeavesTimerPending: a handler that fails rolls back its
// effect and leaves its timer pending with the failure recorded and its
// next attempt moved back by the backoff; the other timers of its group
// fire; once the backoff has passed and the handler succeeds, it fires.
func TestHandlerErrorLeavesTimerPending(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		clk := clock.NewFake(t0)
		d = dbtest.MustOpenDB(t, d.Dialect(), clk)
		createDeviceTables(t, d)
		addDevices(t, d, "d1", "bad", "d3")
		arm(t, d, dev("d1", "x", t0), dev("bad", "x", t0), dev("d3", "x", t0))
		broken := true
		r := NewRunner(d, Config{Backoff: time.Minute, Workers: 1})
		r.Handle(kindDevice, func(ctx context.Context, tx *db.Tx, tm Timer) error {
			if err := deviceEffect(ctx, tx, tm); err != nil {
				return err
			}
			if tm.Subject == "bad" && broken {
				return errors.New("the device's gateway is down")
			}
			return nil
		})
		steps := []struct {
			name         string
			advance      time.Duration
			fix          bool
			wantFired    int
			wantErr      bool
			wantAttempts int // of the bad timer, -1 when gone
		}{
			{"first round", 0, false, 2, true, 1},
			{"within the backoff: not retried", 30 * time.Second, false, 0, false, 1},
			{"after the backoff, still failing", 31 * time.Second, false, 0, true, 2},
			{"within the doubled backoff", time.Minute + 30*time.Second, false, 0, false, 2},
			{"after it, fixed", time.Minute, true, 1, false, -1},
		}
		for _, s := range steps {
			clk.Advance(s.advance)
			if s.fix {
				broken = false
			}
			n, err := runDue(t, r)
			if (err != nil) != s.wantErr || n != s.wantFired {
				t.Errorf("%s: fired %d (err %v), want %d (err %v)", s.name, n, err, s.wantFired, s.wantErr)
			}
			attempts := -1
			var lastErr string
			_ = d.QueryRow(context.Background(), `SELECT attempts, last_error FROM kernel_timers WHERE subject = 'bad'`).Scan(&attempts, &lastErr)
			if attempts != s.wantAttempts {
				t.Errorf("%s: the failing timer has %d attempts, want %d", s.name, attempts, s.wantAttempts)
			}
			if attempts > 0 && !strings.Contains(lastErr, "gateway is down") {
				t.Errorf("%s: last_error %q, want the handler's error", s.name, lastErr)
			}
			if got, want := events(t, d)["bad/x"], map[bool]int{true: 1, false: 0}[attempts < 0]; got != want {
				t.Errorf("%s: the failing timer's effect is there %d times, want %d", s.name, got, want)
			}
		}
		if got := events(t, d); got["d1/x"] != 1 || got["d3/x"] != 1 {
			t.Errorf("events %v, want d1/x and d3/x once each", got)
		}
	})
}

// aheadClock is a replica's wall clock that runs ahead of the database's.
type aheadClock struct{ by time.Duration }

func (c aheadClock) Now() time.Time { return time.Now().UTC().Add(c.by) }

// TestClaimsByTheDatabaseClock: a replica whose clock runs an hour ahead
// must not fire a timer due in 30 minutes by the database's clock, while
// it fires one due a minute ago.
func TestClaimsByTheDatabaseClock(t *testing.T) {
	t.Parallel()
	eachReopenable(t, func(t *testing.T, open opener) {
		d := open(aheadClock{by: time.Hour})
		createDeviceTables(t, d)
		addDevices(t, d, "past", "future")
		now := time.Now().UTC()
		arm(t, d, dev("past", "x", now.Add(-time.Minute)), dev("future", "x", now.Add(30*time.Minute)))
		r := NewRunner(d, Config{})
		r.Handle(kindDevice, deviceEffect)
		if _, err := runDue(t, r); err != nil {
			t.Fatal(err)
		}
		got := events(t, d)
		for name, want := range map[string]int{"past/x": 1, "future/x": 0} {
			if got[name] != want {
				t.Errorf("the timer due %s fired %d times, want %d", name, got[name], want)
			}
		}
	})
}

// TestSweepFiresOncePerSilence: a key touched and then not touched for the
// kind's expiry fires once; it fires again only after it is touched again
// and falls silent again; a late touch older than the last one does not
// revive it.
func TestSweepFiresOncePerSilence(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		sw := newSilences(t, d.Dialect(), "a", "b", "c")
		d, clk := sw.d, sw.clk
		touch := func(at time.Duration, keys ...string) {
			inTx(t, d, func(tx *db.Tx) error { return Touch(context.Background(), tx, kindSensor, keys, t0.Add(at)) })
		}
		steps := []struct {
			name  string
			at    time.Duration
			touch []string
			want  string
		}{
			{"all seen", 0, []string{"a", "b", "c", "a"}, ""},
			{"b seen again", 11 * time.Hour, []string{"b"}, ""},
			{"a and c silent for 12h", 12 * time.Hour, nil, "a@12h0m0s c@12h0m0s"},
			{"still silent: no second firing", 20 * time.Hour, nil, ""},
			{"c's late message from before its silence", 20 * time.Hour, []string{"c"}, ""},
			{"b silent", 23 * time.Hour, nil, "b@23h0m0s"},
			{"a seen again", 24 * time.Hour, []string{"a"}, ""},
			{"a silent again", 36 * time.Hour, nil, "a@36h0m0s"},
			{"b and c seen again", 40 * time.Hour, []string{"b", "c"}, ""},
			{"c forgotten, b silent", 52 * time.Hour, nil, "b@52h0m0s"},
		}
		for _, s := range steps {
			clk.Set(t0.Add(s.at))
			if s.touch != nil {
				at := s.at
				if strings.Contains(s.name, "late") {
					at = time.Hour
				}
				touch(at, s.touch...)
			}
			if strings.Contains(s.name, "forgotten") {
				inTx(t, d, func(tx *db.Tx) error { return Forget(context.Background(), tx, kindSensor, []string{"c"}) })
			}
			if got := sw.sweep(t, s.name); got != s.want {
				t.Errorf("%s: fired %q, want %q", s.name, got, s.want)
			}
		}
		if got, want := fmt.Sprint(events(t, d)), fmt.Sprint(map[string]int{"a/silence": 2, "b/silence": 2, "c/silence": 1}); got != want {
			t.Errorf("events %s, want %s", got, want)
		}
	})
}

// TestTouchRoundedNeverFiresEarly: with last_seen rounded up to a minute,
// a silence fires at the rounded time plus the expiry, never before the
// exact one; a touch within the same minute changes nothing; a late
// message that rounding carries past the firing does not end the silence,
// and a message after the firing, in that same rounded minute, still does.
// Seen.TouchRounded, which leaves out the touches it knows change nothing,
// does the same in every step.
func TestTouchRoundedNeverFiresEarly(t *testing.T) {
	t.Parallel()
	for _, via := range []string{"TouchRounded", "Seen"} {
		t.Run(via, func(t *testing.T) { touchRoundedNeverFiresEarly(t, via) })
	}
}

func touchRoundedNeverFiresEarly(t *testing.T, via string) {
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		var seenKeys Seen
		touch := TouchRounded
		if via == "Seen" {
			touch = seenKeys.TouchRounded
		}
		sw := newSilences(t, d.Dialect(), "a", "b")
		d, clk := sw.d, sw.clk
		h := func(hours, minutes, seconds int) time.Duration {
			return time.Duration(hours)*time.Hour + time.Duration(minutes)*time.Minute + time.Duration(seconds)*time.Second
		}
		steps := []struct {
			name     string
			now      time.Duration
			touch    []string
			at       time.Duration // the touch's own time
			want     string
			wantSeen string // a's and b's last_seen after the step
		}{
			{"both seen", h(0, 0, 10), []string{"a", "b"}, h(0, 0, 10), "", "a@1m0s b@1m0s"},
			{"a again in the same minute: no write", h(0, 0, 50), []string{"a"}, h(0, 0, 50), "", "a@1m0s b@1m0s"},
			{"12h after the touch: not yet", h(12, 0, 30), nil, 0, "", "a@1m0s b@1m0s"},
			{"12h after the rounded touch", h(12, 1, 30), nil, 0, "a@12h1m0s b@12h1m0s", "a@1m0s silent b@1m0s silent"},
			{"b's late message from within its silence", h(12, 1, 40), []string{"b"}, h(12, 1, 10), "", "a@1m0s silent b@12h2m0s silent"},
			{"b seen in the same minute, after its silence", h(12, 1, 50), []string{"b"}, h(12, 1, 50), "", "a@1m0s silent b@12h2m0s"},
			{"b silent again", h(24, 2, 0), nil, 0, "b@24h2m0s", "a@1m0s silent b@12h2m0s silent"},
		}
		for _, s := range steps {
			clk.Set(t0.Add(s.now))
			if s.touch != nil {
				inTx(t, d, func(tx *db.Tx) error {
					return touch(context.Background(), tx, kindSensor, s.touch, t0.Add(s.at), time.Minute)
				})
			}
			if got := sw.sweep(t, s.name); got != s.want {
				t.Errorf("%s: fired %q, want %q", s.name, got, s.want)
			}
			var seen []string
			for _, k := range []string{"a", "b"} {
				var ls db.Time
				var silent bool
				if err := d.QueryRow(context.Background(), `SELECT last_seen, silenced_at IS NOT NULL FROM kernel_sweep WHERE kind = $1 AND key = $2`,
					kindSensor, k).Scan(&ls, &silent); err != nil {
					t.Fatal(err)
				}
				seen = append(seen, k+"@"+ls.Sub(t0).String()+map[bool]string{true: " silent"}[silent])
			}
			if got := strings.Join(seen, " "); got != s.wantSeen {
				t.Errorf("%s: last seen %q, want %q", s.name, got, s.wantSeen)
			}
		}
	})
}

// TestSeenSparesTouchesAlreadyStored: a Seen makes no statement for a
// key it stored in the same rounded step — seen here by deleting the row
// behind its back (as Forget in another process would): a touch in that
// step leaves it deleted, the next step's writes it again — nor for a
// touch whose transaction rolled back, which it does not remember.
func TestSeenSparesTouchesAlreadyStored(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var seen Seen
		rows := func() int {
			t.Helper()
			var n int
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM kernel_sweep WHERE kind = $1`, kindSensor).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		touch := func(at time.Duration, keys ...string) {
			t.Helper()
			inTx(t, d, func(tx *db.Tx) error { return seen.TouchRounded(ctx, tx, kindSensor, keys, t0.Add(at), time.Minute) })
		}
		forget := func() {
			t.Helper()
			inTx(t, d, func(tx *db.Tx) error {
				_, err := tx.Exec(ctx, `DELETE FROM kernel_sweep WHERE kind = $1`, kindSensor)
				return err
			})
		}
		touch(10*time.Second, "a", "b")
		if got := rows(); got != 2 {
			t.Fatalf("after the first touch: %d rows, want 2", got)
		}
		forget()
		touch(50*time.Second, "a", "b")
		if got := rows(); got != 0 {
			t.Errorf("a touch in the same minute: %d rows, want none written (0)", got)
		}
		touch(70*time.Second, "a")
		if got := rows(); got != 1 {
			t.Errorf("a touch in the next minute: %d rows, want a's (1)", got)
		}
		// A touch that rolls back is not remembered: the same minute's
		// next touch writes.
		boom := errors.New("boom")
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			if err := seen.TouchRounded(ctx, tx, kindSensor, []string{"c"}, t0.Add(80*time.Second), time.Minute); err != nil {
				return err
			}
			return boom
		}); !errors.Is(err, boom) {
			t.Fatalf("rolled back touch: %v", err)
		}
		touch(90*time.Second, "c")
		if got := rows(); got != 2 {
			t.Errorf("after the rolled-back touch and another: %d rows, want 2 (a, c)", got)
		}
	})
}

// TestToucherCommitsEachCallersTouch: concurrent callers touch their own
// sensors through one Toucher; each row is there, from another
// connection, as soon as its caller's Touch returns, stamped with the
// transaction's time rounded up to the Toucher's minute; the silences
// then fire once each, and a touch after the firing re-arms its key.
func TestToucherCommitsEachCallersTouch(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		const n = 40
		keys := make([]string, n)
		for i := range keys {
			keys[i] = fmt.Sprintf("s%02d", i)
		}
		sw := newSilences(t, d.Dialect(), keys...)
		d, clk := sw.d, sw.clk
		tc := NewToucher(d, kindSensor, time.Minute, 16)
		defer tc.Close()
		ctx := context.Background()
		if err := tc.Touch(ctx, "x"); err != nil {
			t.Fatal(err)
		}
		if err := (&Toucher{}).Touch(ctx, "x"); !errs.Is(err, errs.Invalid) {
			t.Errorf("a Toucher without a kind: %v, want invalid", err)
		}
		inTx(t, d, func(tx *db.Tx) error { return Forget(ctx, tx, kindSensor, []string{"x"}) })
		clk.Set(t0.Add(10 * time.Second))
		var wg sync.WaitGroup
		problems := make(chan string, n)
		for _, k := range keys {
			wg.Go(func() {
				if err := tc.Touch(ctx, k, k); err != nil {
					problems <- fmt.Sprintf("%s: %v", k, err)
					return
				}
				var seen db.Time
				if err := d.QueryRow(ctx, `SELECT last_seen FROM kernel_sweep WHERE kind = $1 AND key = $2`, kindSensor, k).Scan(&seen); err != nil {
					problems <- fmt.Sprintf("%s right after its Touch returned: %v", k, err)
				} else if got, want := seen.Sub(t0), time.Minute; got != want {
					problems <- fmt.Sprintf("%s seen at %v, want %v", k, got, want)
				}
			})
		}
		wg.Wait()
		close(problems)
		for p := range problems {
			t.Error(p)
		}
		all := make([]string, n)
		for i, k := range keys {
			all[i] = k + "@12h1m0s"
		}
		for _, s := range []struct {
			name  string
			now   time.Duration
			touch string
			want  string
		}{
			{"12h after the touches: not yet", 12*time.Hour + 30*time.Second, "", ""},
			{"12h after the rounded touches", 12*time.Hour + time.Minute, "", strings.Join(sorted(all), " ")},
			{"s07 seen again", 12*time.Hour + 2*time.Minute + 10*time.Second, "s07", ""},
			{"s07 silent again", 24*time.Hour + 3*time.Minute, "", "s07@24h3m0s"},
		} {
			clk.Set(t0.Add(s.now))
			if s.touch != "" {
				if err := tc.Touch(ctx, s.touch); err != nil {
					t.Fatal(err)
				}
			}
			if got := sw.sweep(t, s.name); got != s.want {
				t.Errorf("%s: fired %q, want %q", s.name, got, s.want)
			}
		}
	})
}

// TestBatchHandler: a kind registered with HandleBatch gets the group's due
// timers in one call, in due order; if that call fails, each timer is
// given alone, so the good ones fire and the bad one stays pending.
func TestBatchHandler(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		clk := clock.NewFake(t0)
		d = dbtest.MustOpenDB(t, d.Dialect(), clk)
		createDeviceTables(t, d)
		addDevices(t, d, "d1", "d2", "bad")
		arm(t, d, dev("d2", "a", t0.Add(1*time.Second)), dev("d1", "b", t0.Add(2*time.Second)),
			dev("bad", "a", t0.Add(3*time.Second)), dev("d1", "a", t0.Add(4*time.Second)))
		var calls []string
		// One worker: with more, another may claim what the first
		// worker's failed group gave back, and the calls interleave.
		r := NewRunner(d, Config{Workers: 1})
		r.HandleBatch(kindDevice, func(ctx context.Context, tx *db.Tx, ts []Timer) error {
			var keys []string
			for _, tm := range ts {
				keys = append(keys, tm.Subject+"/"+tm.Name)
			}
			calls = append(calls, strings.Join(keys, ","))
			if err := deviceBatchEffect(ctx, tx, ts); err != nil {
				return err
			}
			if strings.Contains(calls[len(calls)-1], "bad") {
				return errors.New("bad device")
			}
			return nil
		})
		clk.Advance(time.Minute)
		n, err := runDue(t, r)
		if err == nil || n != 3 {
			t.Errorf("fired %d (err %v), want 3 and an error", n, err)
		}
		if got, want := strings.Join(calls, " | "), "d2/a,d1/b,bad/a,d1/a | d2/a | d1/b | bad/a | d1/a"; got != want {
			t.Errorf("calls: got %s, want %s", got, want)
		}
		if got, want := fmt.Sprint(events(t, d)), fmt.Sprint(map[string]int{"d1/a": 1, "d1/b": 1, "d2/a": 1}); got != want {
			t.Errorf("events %s, want %s", got, want)
		}
		if got := count(t, d, `SELECT alarms FROM test_devices WHERE id = 'd1'`); got != 2 {
			t.Errorf("d1 has %d alarms, want 2", got)
		}
		if got := count(t, d, `SELECT COUNT(*) FROM kernel_timers WHERE subject = 'bad' AND attempts = 1`); got != 1 {
			t.Errorf("the bad timer: %d pending with one attempt, want 1", got)
		}
	})
}

// TestHandlerMayRearmItsKey: a handler may arm its own key again (the
// next rung of an escalation ladder, a periodic check) in the firing
// transaction; the new timer stays pending and fires at its own time.
func TestHandlerMayRearmItsKey(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		clk := clock.NewFake(t0)
		d = dbtest.MustOpenDB(t, d.Dialect(), clk)
		createDeviceTables(t, d)
		addDevices(t, d, "d1")
		arm(t, d, dev("d1", "ladder", t0.Add(time.Hour)))
		r := NewRunner(d, Config{Workers: 1})
		r.Handle(kindDevice, func(ctx context.Context, tx *db.Tx, tm Timer) error {
			if err := deviceEffect(ctx, tx, tm); err != nil {
				return err
			}
			if tm.Due.Before(t0.Add(3 * time.Hour)) {
				return Arm(ctx, tx, tm.Key, tm.Due.Add(time.Hour), tm.Payload)
			}
			return nil
		})
		for _, s := range []struct {
			at   time.Duration
			want int
		}{{time.Hour, 1}, {90 * time.Minute, 0}, {2 * time.Hour, 1}, {3 * time.Hour, 1}, {5 * time.Hour, 0}} {
			clk.Set(t0.Add(s.at))
			if n, err := runDue(t, r); err != nil || n != s.want {
				t.Errorf("at +%v: fired %d (%v), want %d", s.at, n, err, s.want)
			}
		}
		if got := events(t, d)["d1/ladder"]; got != 3 {
			t.Errorf("the ladder fired %d times, want 3", got)
		}
		if n := count(t, d, `SELECT COUNT(*) FROM kernel_timers`); n != 0 {
			t.Errorf("%d timers pending at the end, want 0", n)
		}
	})
}

// TestHandleBatchKinds: kinds registered together get one call per group
// with their due timers in due order across the kinds, not one call per
// kind; and a timer armed again with NotBefore keeps its due time but is
// not taken before then.
func TestHandleBatchKinds(t *testing.T) {
	t.Parallel()
	dbtest.Each(t, nil, func(t *testing.T, d *db.DB) {
		clk := clock.NewFake(t0)
		d = dbtest.MustOpenDB(t, d.Dialect(), clk)
		other := "testdevice.other"
		arm(t, d, Arming{Key: Key{Kind: kindDevice, Subject: "d1", Name: "a"}, Due: t0.Add(1 * time.Second)},
			Arming{Key: Key{Kind: other, Subject: "d1", Name: "b"}, Due: t0.Add(2 * time.Second)},
			Arming{Key: Key{Kind: kindDevice, Subject: "d1", Name: "c"}, Due: t0.Add(3 * time.Second)},
			Arming{Key: Key{Kind: kindDevice, Subject: "d1", Name: "later"}, Due: t0.Add(4 * time.Second), NotBefore: t0.Add(time.Hour)})
		var calls []string
		r := NewRunner(d, Config{Workers: 1})
		r.HandleBatchKinds([]string{kindDevice, other}, func(ctx context.Context, tx *db.Tx, ts []Timer) error {
			var keys []string
			for _, tm := range ts {
				keys = append(keys, tm.Name)
			}
			calls = append(calls, strings.Join(keys, ","))
			return nil
		})
		clk.Advance(time.Minute)
		if n, err := runDue(t, r); err != nil || n != 3 {
			t.Errorf("fired %d (%v), want 3", n, err)
		}
		if got, want := strings.Join(calls, " | "), "a,b,c"; got != want {
			t.Errorf("calls: got %s, want %s", got, want)
		}
		var due time.Time
		inTx(t, d, func(tx *db.Tx) error {
			p, err := Pending(context.Background(), tx, Key{Kind: kindDevice, Subject: "d1", Name: "later"})
			due = p.Due
			return err
		})
		if !due.Equal(t0.Add(4 * time.Second)) {
			t.Errorf("held-back timer due %v, want %v", due, t0.Add(4*time.Second))
		}
		clk.Set(t0.Add(time.Hour))
		if n, err := runDue(t, r); err != nil || n != 1 {
			t.Errorf("at the hold-back's end: fired %d (%v), want 1", n, err)
		}
	})
}

// TestClaimUsesTheDueIndex: on SQLite, the runner's claim reads the due
// range of kernel_timers_run even when one kind holds every pending timer
// (without it, the planner took the (kind, subject, name) index and
// sorted every timer of the kind: 0.6 s a claim at 100,000 pending).
func TestClaimUsesTheDueIndex(t *testing.T) {
	t.Parallel()
	d := dbtest.MustOpenDB(t, db.SQLite, clock.NewFake(t0))
	as := make([]Arming, 500)
	for i := range as {
		as[i] = Arming{Key: Key{Kind: kindDevice, Subject: fmt.Sprint(i), Name: "n"}, Due: t0.Add(time.Duration(i) * time.Hour)}
	}
	arm(t, d, as...)
	in, args := kindsIn([]string{kindDevice}, []any{t0, 100})
	rows, err := d.Query(context.Background(), `EXPLAIN QUERY PLAN `+dueQuery(db.SQLite, in), args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(plan, "; "); !strings.Contains(got, "kernel_timers_run") || strings.Contains(got, "TEMP B-TREE") {
		t.Errorf("claim plan %q: want the range of kernel_timers_run and no sort", got)
	}
}

// TestSweepQueryLocksOnce: on PostgreSQL, with 20,000 live keys in a
// table never analysed (as after a burst of new devices), the sweep's
// statement picks and locks its keys once (an InitPlan) and updates them
// through the primary key; the earlier form was planned as a nested loop
// that rescanned the locking subquery for every live key.
func TestSweepQueryLocksOnce(t *testing.T) {
	d := dbtest.MustOpenDB(t, db.Postgres, clock.NewFake(t0))
	ctx := context.Background()
	keys := make([]string, 20000)
	for i := range keys {
		keys[i] = fmt.Sprintf("dev-%05d", i)
	}
	if err := d.InTx(ctx, func(tx *db.Tx) error { return Touch(ctx, tx, kindSensor, keys, t0) }); err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	rows, err := d.Query(ctx, `EXPLAIN `+sweepQuery(db.Postgres), t0, kindSensor, t0, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	p := plan.String()
	if !strings.Contains(p, "InitPlan") || strings.Contains(p, "Nested Loop") || !strings.Contains(p, "kernel_sweep_pkey") || strings.Count(p, "LockRows") != 1 {
		t.Errorf("the sweep's plan:\n%s", p)
	}
}
