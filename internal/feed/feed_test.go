package feed_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"whistle/internal/bus"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
	"whistle/internal/feed"
)

// kind is the test-only subject kind: the feed knows nothing of cases.
const kind = "feedtest"

var t0 = time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)

func ev(id int64, what string) feed.Event {
	return feed.Event{SubjectKind: kind, SubjectID: id, District: "330303", Kind: what, Payload: json.RawMessage(fmt.Sprintf(`{"id":%d}`, id))}
}

// appendOne appends e in its own transaction.
func appendOne(t *testing.T, d *db.DB, e feed.Event) {
	t.Helper()
	if err := d.InTx(context.Background(), func(tx *db.Tx) error { return feed.Append(context.Background(), tx, e) }); err != nil {
		t.Fatal(err)
	}
}

// collector is a consumer that remembers the subject ids it was handed and
// fails while fail is set.
type collector struct {
	mu      sync.Mutex
	ids     []int64
	pos     []int64
	batches []int
	fail    error
}

func (c *collector) consumer(name string) feed.Consumer {
	return feed.Consumer{Name: name, Handle: func(_ context.Context, evs []feed.Event) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.fail != nil {
			return c.fail
		}
		c.batches = append(c.batches, len(evs))
		for _, e := range evs {
			c.ids = append(c.ids, e.SubjectID)
			c.pos = append(c.pos, e.Position)
		}
		return nil
	}}
}

func (c *collector) seen() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int64(nil), c.ids...)
}

func newRunner(t *testing.T, d *db.DB, cs ...feed.Consumer) *feed.Runner {
	t.Helper()
	r, err := feed.NewRunner(d, feed.RunnerConfig{Batch: 2}, cs...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// untilStopped calls f until stop is closed or f fails (the failure is
// the test's error).
func untilStopped(t *testing.T, stop <-chan struct{}, f func() error) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		if err := f(); err != nil {
			t.Error(err)
			return
		}
	}
}

func drain(t *testing.T, r *feed.Runner) {
	t.Helper()
	if err := r.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestAppend(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		appendOne(t, d, ev(1, "opened"))
		boom := errors.New("boom")
		err := d.InTx(ctx, func(tx *db.Tx) error {
			if err := feed.Append(ctx, tx, ev(2, "opened")); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("rolled-back transaction: %v", err)
		}
		appendOne(t, d, ev(3, "closed"))
		if _, err := feed.Sequence(ctx, d, 0); err != nil {
			t.Fatal(err)
		}
		evs, err := feed.Read(ctx, d, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range evs {
			got = append(got, fmt.Sprintf("%s/%d/%s/%s/%s/%s", e.SubjectKind, e.SubjectID, e.District, e.Kind, e.Payload, e.At.Format(time.RFC3339)))
		}
		want := []string{"feedtest/1/330303/opened/{\"id\":1}/2026-12-06T02:00:00Z", "feedtest/3/330303/closed/{\"id\":3}/2026-12-06T02:00:00Z"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("feed = %q, want %q (the rolled-back event must not be there)", got, want)
		}
		if len(evs) == 2 && evs[0].Position >= evs[1].Position {
			t.Errorf("positions %d, %d: want increasing", evs[0].Position, evs[1].Position)
		}
	})
}

// TestAppendAll: several events in one call keep their order, across the
// chunks of one INSERT each, and a bad one refuses the call.
func TestAppendAll(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var evs []feed.Event
		for i := int64(1); i <= 250; i++ {
			evs = append(evs, ev(i, "opened"))
		}
		if err := d.InTx(ctx, func(tx *db.Tx) error { return feed.AppendAll(ctx, tx, evs) }); err != nil {
			t.Fatal(err)
		}
		bad := []feed.Event{ev(300, "opened"), {SubjectKind: kind}}
		if err := d.InTx(ctx, func(tx *db.Tx) error { return feed.AppendAll(ctx, tx, bad) }); err == nil {
			t.Error("AppendAll with an event without a kind = nil, want an error")
		}
		var c collector
		r, err := feed.NewRunner(d, feed.RunnerConfig{Batch: 100}, c.consumer("c"))
		if err != nil {
			t.Fatal(err)
		}
		drain(t, r)
		got := c.seen()
		if len(got) != 250 {
			t.Fatalf("%d events, want 250", len(got))
		}
		for i, id := range got {
			if id != int64(i+1) {
				t.Fatalf("event %d is subject %d, want %d", i, id, i+1)
			}
		}
		if st := r.Stats(); st.Events != 250 || st.Batches != 3 {
			t.Errorf("stats: %d events in %d batches, want 250 in 3", st.Events, st.Batches)
		}
	})
}

func TestAppendRefuses(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		for name, e := range map[string]feed.Event{
			"no subject kind":  {Kind: "x"},
			"no kind":          {SubjectKind: kind},
			"payload not json": {SubjectKind: kind, Kind: "x", Payload: json.RawMessage(`{`)},
		} {
			t.Run(name, func(t *testing.T) {
				err := d.InTx(context.Background(), func(tx *db.Tx) error { return feed.Append(context.Background(), tx, e) })
				if err == nil {
					t.Errorf("Append(%+v) = nil, want an error", e)
				}
			})
		}
	})
}

func TestCursorSurvivesRestart(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		for i := int64(1); i <= 3; i++ {
			appendOne(t, d, ev(i, "opened"))
		}
		var first collector
		drain(t, newRunner(t, d, first.consumer("c")))
		if got, want := fmt.Sprint(first.seen()), "[1 2 3]"; got != want {
			t.Fatalf("first run saw %s, want %s", got, want)
		}
		appendOne(t, d, ev(4, "opened"))
		// A new runner (a restarted server) starts from the stored cursor.
		var second collector
		drain(t, newRunner(t, d, second.consumer("c")))
		if got, want := fmt.Sprint(second.seen()), "[4]"; got != want {
			t.Errorf("after the restart saw %s, want %s", got, want)
		}
		last, err := feed.Last(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		if cur, err := feed.Cursor(ctx, d, "c"); err != nil || cur != last {
			t.Errorf("cursor %d (%v), want the last position %d", cur, err, last)
		}
		// Another consumer has its own cursor and sees everything.
		var other collector
		drain(t, newRunner(t, d, other.consumer("other")))
		if got, want := fmt.Sprint(other.seen()), "[1 2 3 4]"; got != want {
			t.Errorf("a new consumer saw %s, want %s", got, want)
		}
	})
}

func TestAtLeastOnceAfterHandleError(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		for i := int64(1); i <= 3; i++ {
			appendOne(t, d, ev(i, "opened"))
		}
		var c collector
		r := newRunner(t, d, c.consumer("c"))
		c.fail = errors.New("down")
		if _, err := r.Step(ctx); err == nil {
			t.Fatal("a failing Handle: Step = nil, want its error")
		}
		if cur, err := feed.Cursor(ctx, d, "c"); err != nil || cur != 0 {
			t.Errorf("after a failed Handle the cursor is %d (%v), want 0", cur, err)
		}
		c.fail = nil
		drain(t, r)
		if got, want := fmt.Sprint(c.seen()), "[1 2 3]"; got != want {
			t.Errorf("after the error saw %s, want %s", got, want)
		}
	})
}

// TestHandleTx: a consumer's writes and its cursor commit together, so a
// failing batch leaves neither, and the retry writes each event once.
func TestHandleTx(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `CREATE TABLE feedtest_seen (subject_id BIGINT PRIMARY KEY)`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		for i := int64(1); i <= 3; i++ {
			appendOne(t, d, ev(i, "opened"))
		}
		fail := true
		r := newRunner(t, d, feed.Consumer{Name: "writer", HandleTx: func(ctx context.Context, tx *db.Tx, evs []feed.Event) error {
			for _, e := range evs {
				if _, err := tx.Exec(ctx, `INSERT INTO feedtest_seen (subject_id) VALUES ($1)`, e.SubjectID); err != nil {
					return err
				}
			}
			if fail {
				return errors.New("down after writing")
			}
			return nil
		}})
		if _, err := r.Step(ctx); err == nil {
			t.Fatal("a failing HandleTx: Step = nil, want its error")
		}
		count := func() (n int) {
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM feedtest_seen`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count(); n != 0 {
			t.Errorf("after a failed HandleTx %d rows stayed, want 0", n)
		}
		if cur, err := feed.Cursor(ctx, d, "writer"); err != nil || cur != 0 {
			t.Errorf("after a failed HandleTx the cursor is %d (%v), want 0", cur, err)
		}
		fail = false
		drain(t, r)
		if n := count(); n != 3 {
			t.Errorf("%d rows, want 3", n)
		}
		last, _ := feed.Last(ctx, d)
		if cur, err := feed.Cursor(ctx, d, "writer"); err != nil || cur != last {
			t.Errorf("cursor %d (%v), want %d", cur, err, last)
		}
		if st := r.Stats(); st.Events != 3 {
			t.Errorf("stats: %d events, want 3 (a failed batch is not counted)", st.Events)
		}
	})
}

// TestDerive: a consumer of derived data has its writes and its cursor
// commit together in an unsynced transaction, so a failure between its
// writes and the cursor's leaves neither, and the retry writes each
// event once; a batch with nothing to write moves the cursor, on SQLite
// in memory until the runner is idle.
func TestDerive(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		exec := func(qs ...string) {
			t.Helper()
			for _, q := range qs {
				if err := d.InTx(ctx, func(tx *db.Tx) error { _, err := tx.Exec(ctx, q); return err }); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		}
		exec(`CREATE TABLE feedtest_derived (subject_id BIGINT PRIMARY KEY)`)
		// The cursor's UPDATE fails, after the consumer's writes (its row
		// is created by an INSERT).
		refuse := []string{`CREATE TRIGGER feedtest_refuse BEFORE UPDATE ON feed_cursors WHEN NEW.consumer = 'derived' BEGIN SELECT RAISE(ABORT, 'cursor refused'); END`}
		allow := []string{`DROP TRIGGER feedtest_refuse`}
		unsynced := "1"
		if d.Dialect() == db.Postgres {
			refuse = []string{`CREATE FUNCTION feedtest_refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'cursor refused'; END $$`,
				`CREATE TRIGGER feedtest_refuse BEFORE UPDATE ON feed_cursors FOR EACH ROW WHEN (NEW.consumer = 'derived') EXECUTE FUNCTION feedtest_refuse()`}
			allow = []string{`DROP TRIGGER feedtest_refuse ON feed_cursors`}
			unsynced = "off"
		}
		for i := int64(1); i <= 3; i++ {
			appendOne(t, d, ev(i, "opened"))
		}
		var settings []string
		r := newRunner(t, d, feed.Consumer{Name: "derived", Derive: func(ctx context.Context, evs []feed.Event) (func(context.Context, *db.Tx) error, error) {
			if evs[0].SubjectID > 3 {
				return nil, nil
			}
			return func(ctx context.Context, tx *db.Tx) error {
				q := `SELECT current_setting('synchronous_commit')`
				if tx.Dialect() == db.SQLite {
					q = `SELECT CAST(synchronous AS TEXT) FROM pragma_synchronous`
				}
				var s string
				if err := tx.QueryRow(ctx, q).Scan(&s); err != nil {
					return err
				}
				settings = append(settings, s)
				for _, e := range evs {
					if _, err := tx.Exec(ctx, `INSERT INTO feedtest_derived (subject_id) VALUES ($1)`, e.SubjectID); err != nil {
						return err
					}
				}
				return nil
			}, nil
		}})
		exec(refuse...)
		if _, err := r.Step(ctx); err == nil {
			t.Fatal("a refused cursor: Step = nil, want its error")
		}
		count := func() (n int) {
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM feedtest_derived`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := count(); n != 0 {
			t.Errorf("after the cursor was refused %d derived rows stayed, want 0", n)
		}
		if cur, err := feed.Cursor(ctx, d, "derived"); err != nil || cur != 0 {
			t.Errorf("after the cursor was refused it is %d (%v), want 0", cur, err)
		}
		exec(allow...)
		drain(t, r)
		if n := count(); n != 3 {
			t.Errorf("%d derived rows, want 3", n)
		}
		for _, s := range settings {
			if s != unsynced {
				t.Errorf("the derived writes ran with %s, want %s", s, unsynced)
			}
		}
		// A batch with nothing to write commits nothing: the cursor
		// moves in memory, and is stored once the runner finds nothing
		// more (here Drain's last step).
		before, _ := feed.Last(ctx, d)
		appendOne(t, d, ev(4, "opened"))
		if _, err := r.Step(ctx); err != nil {
			t.Fatal(err)
		}
		last, _ := feed.Last(ctx, d) // sequenced by the step on PostgreSQL
		if d.Dialect() == db.Postgres {
			// The cursor row is locked from the read to its store, in
			// one transaction: it moves with the batch.
			before = last
		}
		if cur, err := feed.Cursor(ctx, d, "derived"); err != nil || cur != before {
			t.Errorf("after a batch with nothing to write the stored cursor is %d (%v), want %d", cur, err, before)
		}
		// A restart before it is stored hands the event over again.
		var again []int64
		r2 := newRunner(t, d, feed.Consumer{Name: "derived", Derive: func(_ context.Context, evs []feed.Event) (func(context.Context, *db.Tx) error, error) {
			for _, e := range evs {
				again = append(again, e.SubjectID)
			}
			return nil, nil
		}})
		if _, err := r2.Step(ctx); err != nil {
			t.Fatal(err)
		}
		if want := map[bool]string{true: "[4]", false: "[]"}[d.Dialect() == db.SQLite]; fmt.Sprint(again) != want {
			t.Errorf("a restarted runner was handed %v, want %s", again, want)
		}
		drain(t, r)
		if cur, err := feed.Cursor(ctx, d, "derived"); err != nil || cur != last {
			t.Errorf("after Drain the cursor is %d (%v), want %d", cur, err, last)
		}
		// Under a stream of such batches, the first a Poll after the
		// cursor fell behind stores it (a Poll of 1 ns: the second).
		r3, err := feed.NewRunner(d, feed.RunnerConfig{Batch: 1, Poll: time.Nanosecond}, feed.Consumer{Name: "derived",
			Derive: func(context.Context, []feed.Event) (func(context.Context, *db.Tx) error, error) { return nil, nil }})
		if err != nil {
			t.Fatal(err)
		}
		appendOne(t, d, ev(5, "opened"))
		appendOne(t, d, ev(6, "opened"))
		for range 2 {
			if _, err := r3.Step(ctx); err != nil {
				t.Fatal(err)
			}
		}
		last, _ = feed.Last(ctx, d)
		if cur, err := feed.Cursor(ctx, d, "derived"); err != nil || cur != last {
			t.Errorf("two batches a Poll apart, nothing written: the cursor is %d (%v), want %d", cur, err, last)
		}
	})
}

// TestDeriveReadsInTheStep: on PostgreSQL a Derive consumer's reads on
// the database run inside the step's transaction (db.ReadingIn), which
// holds the consumer's cursor row: a NOWAIT lock of that row succeeds from
// the reads, where another connection's would be refused.
func TestDeriveReadsInTheStep(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		appendOne(t, d, ev(1, "opened"))
		var got []int64
		var readErr error
		r := newRunner(t, d, feed.Consumer{Name: "derived", Derive: func(ctx context.Context, evs []feed.Event) (func(context.Context, *db.Tx) error, error) {
			q := `SELECT position FROM feed_cursors WHERE consumer = 'derived'`
			if d.Dialect() == db.Postgres {
				q += ` FOR UPDATE NOWAIT`
			}
			var pos int64
			readErr = d.QueryRow(ctx, q).Scan(&pos)
			for _, e := range evs {
				got = append(got, e.SubjectID)
			}
			return nil, nil
		}})
		drain(t, r)
		if readErr != nil {
			t.Errorf("the consumer's read of its locked cursor row: %v, want it to run in the step's transaction", readErr)
		}
		if fmt.Sprint(got) != "[1]" {
			t.Errorf("handed %v, want [1]", got)
		}
	})
}

// TestConflictIsTriedAgain: a consumer whose step ends in a Conflict (its
// commit found that another writer moved what it had trusted) is tried
// once more in the same Step, which then succeeds; a second Conflict is
// the Step's error.
func TestConflictIsTriedAgain(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		appendOne(t, d, ev(1, "opened"))
		appendOne(t, d, ev(2, "opened"))
		conflicts, handed := 1, 0
		r := newRunner(t, d, feed.Consumer{Name: "derived", Derive: func(context.Context, []feed.Event) (func(context.Context, *db.Tx) error, error) {
			handed++
			return func(context.Context, *db.Tx) error {
				if conflicts > 0 {
					conflicts--
					return errs.E(errs.Conflict, "db.retry")
				}
				return nil
			}, nil
		}})
		if _, err := r.Step(ctx); err != nil {
			t.Fatalf("Step after one Conflict: %v, want it tried again", err)
		}
		if handed != 2 {
			t.Errorf("handed over %d times, want 2", handed)
		}
		last, _ := feed.Last(ctx, d)
		drain(t, r)
		if cur, err := feed.Cursor(ctx, d, "derived"); err != nil || cur != last {
			t.Errorf("the cursor is %d (%v), want %d", cur, err, last)
		}
		appendOne(t, d, ev(3, "opened"))
		conflicts = 2
		if _, err := r.Step(ctx); !errs.Is(err, errs.Conflict) {
			t.Errorf("Step after two Conflicts: %v, want the Conflict", err)
		}
	})
}

func TestPrune(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		for i := int64(1); i <= 4; i++ {
			appendOne(t, d, ev(i, "opened"))
		}
		var fast, slow collector
		r := newRunner(t, d, fast.consumer("fast"), slow.consumer("slow"))
		slow.fail = errors.New("down")
		_, _ = r.Step(ctx) // fast takes 1 and 2 (batch of 2); slow none
		if n, err := feed.Prune(ctx, d, t0.Add(time.Hour)); err != nil || n != 0 {
			t.Errorf("prune while slow has seen nothing: %d (%v), want 0", n, err)
		}
		slow.fail = nil
		_, _ = r.Step(ctx) // fast 3, 4; slow 1, 2
		if n, err := feed.Prune(ctx, d, t0); err != nil || n != 0 {
			t.Errorf("prune of events not older than the cut-off: %d (%v), want 0", n, err)
		}
		if n, err := feed.Prune(ctx, d, t0.Add(time.Hour)); err != nil || n != 2 {
			t.Errorf("prune after slow passed 2: %d (%v), want 2", n, err)
		}
		drain(t, r)
		if got, want := fmt.Sprint(slow.seen()), "[1 2 3 4]"; got != want {
			t.Errorf("slow saw %s, want %s", got, want)
		}
		// Positions go on after pruning everything.
		if n, err := feed.Prune(ctx, d, t0.Add(time.Hour)); err != nil || n != 2 {
			t.Errorf("final prune: %d (%v), want 2", n, err)
		}
		appendOne(t, d, ev(5, "opened"))
		drain(t, r)
		if got, want := fmt.Sprint(fast.seen()), "[1 2 3 4 5]"; got != want {
			t.Errorf("after pruning everything fast saw %s, want %s", got, want)
		}
	})
}

func TestNewRunnerRefuses(t *testing.T) {
	h := func(context.Context, []feed.Event) error { return nil }
	for name, cs := range map[string][]feed.Consumer{
		"empty name":        {{Name: "", Handle: h}},
		"repeated name":     {{Name: "a", Handle: h}, {Name: "a", Handle: h}},
		"without Handle":    {{Name: "a"}},
		"with both":         {{Name: "a", Handle: h, HandleTx: func(context.Context, *db.Tx, []feed.Event) error { return nil }}},
		"Handle and Derive": {{Name: "a", Handle: h, Derive: func(context.Context, []feed.Event) (func(context.Context, *db.Tx) error, error) { return nil, nil }}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := feed.NewRunner(nil, feed.RunnerConfig{}, cs...); err == nil {
				t.Errorf("NewRunner(%s) = nil error", name)
			}
		})
	}
}

// flaky is a bus whose Flush fails while fail is set.
type flaky struct {
	*bus.Memory
	fail bool
}

func (f *flaky) Flush() error {
	if f.fail {
		return errors.New("not flushed")
	}
	return nil
}

func TestPublishTo(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		b := &flaky{Memory: bus.NewMemory(nil)}
		var got []string
		if _, err := b.Subscribe(kind+".>", func(subject string, data []byte) { got = append(got, subject+" "+string(data)) }); err != nil {
			t.Fatal(err)
		}
		appendOne(t, d, ev(1, "opened"))
		appendOne(t, d, feed.Event{SubjectKind: kind, SubjectID: 2, Kind: "closed", Payload: json.RawMessage(`{"id":2}`)})
		r := newRunner(t, d, feed.PublishTo(b, nil))
		b.fail = true
		if _, err := r.Step(ctx); err == nil {
			t.Error("a failed flush: Step = nil, want its error")
		}
		b.fail = false
		drain(t, r)
		// The batch whose flush failed is published again: at least once.
		want := []string{`feedtest.330303.opened {"id":1}`, `feedtest.closed {"id":2}`, `feedtest.330303.opened {"id":1}`, `feedtest.closed {"id":2}`}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("published %q, want %q", got, want)
		}
		if cur, err := feed.Cursor(ctx, d, "bus"); err != nil || cur == 0 {
			t.Errorf("bus cursor %d (%v), want past both events", cur, err)
		}
	})
}

// TestConcurrentWritersFastConsumer is the ordering test: many writers keep
// their transactions open for random short times after appending (some roll
// back), while consumers poll as fast as they can. Every committed event must
// be handed over exactly once, in increasing positions. On PostgreSQL a
// reader of "position > cursor" without the sequencer skips the events whose
// transactions commit after a later position's; two runners (two replicas)
// share one consumer, which must not double any event either.
func TestConcurrentWritersFastConsumer(t *testing.T) {
	dbtest.Each(t, clock.Real{}, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		writers, each, replicas := 12, 80, 2
		if d.Dialect() == db.SQLite {
			// One writer at a time: fewer events keep the test short, and
			// one server per database file.
			writers, each, replicas = 8, 25, 1
		}
		var c collector
		stop := make(chan struct{})
		var consumers sync.WaitGroup
		for range replicas {
			r, err := feed.NewRunner(d, feed.RunnerConfig{Batch: 100}, c.consumer("fast"))
			if err != nil {
				t.Fatal(err)
			}
			consumers.Go(func() {
				untilStopped(t, stop, func() error { _, err := r.Step(ctx); return err })
			})
		}
		var mu sync.Mutex
		committed := map[int64]bool{}
		var wg sync.WaitGroup
		rollback := errors.New("rollback")
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(w), 7))
				for i := range each {
					id := int64(w*each + i + 1)
					back := rng.IntN(10) == 0
					err := d.InTx(ctx, func(tx *db.Tx) error {
						if err := feed.Append(ctx, tx, ev(id, "opened")); err != nil {
							return err
						}
						time.Sleep(time.Duration(rng.IntN(5000)) * time.Microsecond)
						if back {
							return rollback
						}
						return nil
					})
					if back != errors.Is(err, rollback) || (!back && err != nil) {
						t.Errorf("writer %d event %d: %v", w, id, err)
						return
					}
					if !back {
						mu.Lock()
						committed[id] = true
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		close(stop)
		consumers.Wait()
		r := newRunner(t, d, c.consumer("fast"))
		drain(t, r)
		seen := map[int64]int{}
		for _, id := range c.seen() {
			seen[id]++
		}
		missing, doubled, phantom := 0, 0, 0
		for id := range committed {
			switch seen[id] {
			case 0:
				missing++
			case 1:
			default:
				doubled++
			}
		}
		for id := range seen {
			if !committed[id] {
				phantom++
			}
		}
		t.Logf("%d committed events, %d handed over in %d batches", len(committed), len(c.seen()), len(c.batches))
		if missing+doubled+phantom > 0 {
			t.Errorf("%d committed events: %d never handed over, %d more than once, %d not committed", len(committed), missing, doubled, phantom)
		}
		for i := 1; i < len(c.pos); i++ {
			if c.pos[i] <= c.pos[i-1] {
				t.Errorf("position %d handed over after %d", c.pos[i], c.pos[i-1])
				break
			}
		}
	})
}

// TestSequenceAll appends more events than one Sequence call numbers and
// checks that Last afterwards is the last of them (on SQLite every event
// has its position at once).
func TestSequenceAll(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		const n = 25_001
		var evs []feed.Event
		for i := int64(1); i <= n; i++ {
			evs = append(evs, ev(i, "opened"))
		}
		if err := d.InTx(ctx, func(tx *db.Tx) error { return feed.AppendAll(ctx, tx, evs) }); err != nil {
			t.Fatal(err)
		}
		if err := feed.SequenceAll(ctx, d); err != nil {
			t.Fatal(err)
		}
		last, err := feed.Last(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := feed.Read(ctx, d, last-1, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].SubjectID != n {
			t.Fatalf("the event at Last = %+v, want the last appended (subject %d)", got, n)
		}
		if more, err := feed.Read(ctx, d, last, 10); err != nil || len(more) != 0 {
			t.Errorf("events after Last: %d (%v), want 0", len(more), err)
		}
	})
}

// TestSequencersRace runs several sequencers at once while writers append,
// and a reader follows the feed: on PostgreSQL every event ends with one
// position, the positions run from 1 with no gap, and the reader saw each
// event once, at the position it kept. A sequencer whose snapshot was
// taken before another's commit, and which numbered what that one had
// already numbered, would leave gaps or move a position the reader saw.
func TestSequencersRace(t *testing.T) {
	dbtest.Each(t, clock.Real{}, func(t *testing.T, d *db.DB) {
		if d.Dialect() != db.Postgres {
			t.Skip("on SQLite an event's position is its row id, given at its insert")
		}
		ctx := context.Background()
		const writers, each, sequencers = 4, 150, 4
		stop := make(chan struct{})
		var seqWG sync.WaitGroup
		for range sequencers {
			seqWG.Go(func() {
				untilStopped(t, stop, func() error { _, err := feed.Sequence(ctx, d, 3); return err })
			})
		}
		seenAt := map[int64]int64{} // subject id → position read
		readDone := make(chan struct{})
		go func() {
			defer close(readDone)
			var after int64
			for {
				evs, err := feed.Read(ctx, d, after, 50)
				if err != nil {
					t.Error(err)
					return
				}
				for _, e := range evs {
					if _, dup := seenAt[e.SubjectID]; dup {
						t.Errorf("event %d read twice (position %d)", e.SubjectID, e.Position)
					}
					seenAt[e.SubjectID] = e.Position
					after = e.Position
				}
				if len(evs) == 0 {
					select {
					case <-stop:
						return
					default:
					}
				}
			}
		}()
		var wg sync.WaitGroup
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range each {
					appendOne(t, d, ev(int64(w*each+i+1), "opened"))
				}
			}()
		}
		wg.Wait()
		close(stop)
		seqWG.Wait()
		<-readDone
		if err := feed.SequenceAll(ctx, d); err != nil {
			t.Fatal(err)
		}
		evs, err := feed.Read(ctx, d, 0, writers*each+10)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(evs), writers*each; got != want {
			t.Fatalf("sequenced events: got %d, want %d", got, want)
		}
		for i, e := range evs {
			if want := int64(i + 1); e.Position != want {
				t.Fatalf("the %d-th event's position: got %d, want %d (no gaps)", i+1, e.Position, want)
			}
			if p, ok := seenAt[e.SubjectID]; ok && p != e.Position {
				t.Errorf("event %d: read at position %d, now at %d", e.SubjectID, p, e.Position)
			}
		}
		t.Logf("%d events, %d read while the sequencers ran", len(evs), len(seenAt))
	})
}
