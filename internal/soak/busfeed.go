package soak

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"whistle/internal/bus"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/feed"
)

// busLog records every case event the harness receives from the bus, as
// "<subject> <payload>", with how many times it arrived.
type busLog struct {
	mu   sync.Mutex
	seen map[string]int
	n    int
	b    bus.Bus
	stop func()
}

// listenBus subscribes to every case event on the external NATS at url.
// It lives outside the server, so that a kill -9 of the server loses
// nothing the bus already delivered.
func listenBus(ctx context.Context, url string) (*busLog, error) {
	b, err := bus.Open(ctx, bus.Config{URL: url}, nil)
	if err != nil {
		return nil, err
	}
	l := &busLog{seen: map[string]int{}, b: b}
	l.stop, err = b.Subscribe("case.>", func(subject string, data []byte) {
		l.mu.Lock()
		l.seen[subject+" "+string(data)]++
		l.n++
		l.mu.Unlock()
	})
	if err != nil {
		b.Close()
		return nil, err
	}
	return l, nil
}

func (l *busLog) snapshot() (map[string]int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := make(map[string]int, len(l.seen))
	for k, v := range l.seen {
		m[k] = v
	}
	return m, l.n
}

func (l *busLog) close() {
	l.stop()
	l.b.Close()
}

// checkBusAfterRestart starts the server once more, without load, waits
// until its feed consumer has published what the last kill cut off, kills
// it, and compares the feed with the bus.
func checkBusAfterRestart(ctx context.Context, cfg *Config, l *busLog, res *result) error {
	d, err := db.Open(ctx, cfg.DB, clock.Real{})
	if err != nil {
		return err
	}
	defer d.Close()
	end, err := feedEnd(ctx, d)
	if err != nil {
		res.notes = append(res.notes, fmt.Sprintf("bus: not checked: the database has no change feed (%v)", err))
		return nil
	}
	child, err := startServer(ctx, cfg, "")
	if err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	upto, ok, err := feedCaughtUp(ctx, d, l, end, cfg.AckWait)
	child.kill()
	if err != nil {
		return err
	}
	if !ok {
		res.problems = append(res.problems, fmt.Sprintf("bus: the restarted server's feed consumer did not pass the events of before the restart within %s", cfg.AckWait))
	}
	return checkBus(ctx, d, l, upto, 5*time.Second, res)
}

// feedEnd returns how far the feed reaches while the server is down: its
// highest insertion id on PostgreSQL (rows may still wait for a position),
// its highest position on SQLite.
func feedEnd(ctx context.Context, d *db.DB) (end int64, err error) {
	q := `SELECT COALESCE(MAX(position), 0) FROM feed_events`
	if d.Dialect() == db.Postgres {
		q = `SELECT COALESCE(MAX(id), 0) FROM feed_events`
	}
	err = d.QueryRow(ctx, q).Scan(&end)
	return end, err
}

// feedCaughtUp waits until the feed consumer "bus" has passed every event
// up to end (feedEnd's, from before the restart: the restarted server must
// publish what the last kill cut off), then until the bus has delivered
// them. It returns the last position of those events (the server's
// scheduler may append more meanwhile, at higher positions), and false
// when that does not happen within wait.
func feedCaughtUp(ctx context.Context, d *db.DB, l *busLog, end int64, wait time.Duration) (upto int64, ok bool, err error) {
	q := `SELECT 0, COALESCE(MAX(position), 0) FROM feed_events WHERE position <= $1`
	if d.Dialect() == db.Postgres {
		q = `SELECT COUNT(*) - COUNT(position), COALESCE(MAX(position), 0) FROM feed_events WHERE id <= $1`
	}
	for start := time.Now(); time.Since(start) < wait; time.Sleep(50 * time.Millisecond) {
		if err := ctx.Err(); err != nil {
			return 0, false, err
		}
		var unsequenced int64
		if err := d.QueryRow(ctx, q, end).Scan(&unsequenced, &upto); err != nil {
			return 0, false, err
		}
		cur, err := feed.Cursor(ctx, d, "bus")
		if err != nil {
			return 0, false, err
		}
		if unsequenced == 0 && cur >= upto {
			// The server flushed before it stored the cursor; a round trip
			// of our own puts the deliveries ahead of its answer.
			if f, ok := l.b.(bus.Flusher); ok {
				if err := f.Flush(); err != nil {
					return 0, false, err
				}
			}
			return upto, true, nil
		}
	}
	return upto, false, nil
}

// checkBus compares the case events on the feed up to position upto with
// the messages seen on the bus: every one must have been published at
// least once, with its subject and payload. Deliveries may still be on their way, so it
// looks again for up to wait before it reports one missing.
func checkBus(ctx context.Context, d *db.DB, l *busLog, upto int64, wait time.Duration, res *result) error {
	type want struct {
		key string
		pos int64
	}
	var all []want
	counts := map[string]int{}
	for after := int64(0); ; {
		evs, err := feed.Read(ctx, d, after, 5000)
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return err
			}
			res.notes = append(res.notes, fmt.Sprintf("bus: not checked: the database has no change feed (%v)", err))
			return nil
		}
		if len(evs) == 0 || evs[0].Position > upto {
			break
		}
		for _, ev := range evs {
			if ev.Position > upto {
				break
			}
			if ev.SubjectKind != "case" {
				continue
			}
			k := feed.Subject(ev) + " " + string(feed.Public(ev.Payload)) // as the bus carries it
			all = append(all, want{k, ev.Position})
			counts[k]++
		}
		after = evs[len(evs)-1].Position
	}
	if len(all) == 0 {
		res.problems = append(res.problems, "bus: the feed holds no case event: nothing to compare with the bus")
		return nil
	}
	var missing []want
	var seen map[string]int
	var received int
	for start := time.Now(); ; time.Sleep(100 * time.Millisecond) {
		seen, received = l.snapshot()
		missing = missing[:0]
		short := map[string]bool{}
		for _, w := range all {
			if seen[w.key] < counts[w.key] && !short[w.key] {
				short[w.key] = true
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 || time.Since(start) > wait {
			break
		}
	}
	if len(missing) > 0 {
		var ex []string
		for _, w := range missing {
			ex = append(ex, fmt.Sprintf("position %d: %s", w.pos, w.key))
		}
		res.problems = append(res.problems, fmt.Sprintf("bus: %d of %d feed events were never published (%d messages received): %s",
			len(missing), len(all), received, listed(ex)))
		return nil
	}
	repeats := 0
	for k, n := range counts {
		repeats += seen[k] - n
	}
	res.notes = append(res.notes, fmt.Sprintf("bus: every one of the %d case events on the feed was published at least once (%d published again after a kill)",
		len(all), repeats))
	return nil
}
