package notify_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/i18n"
	"whistle/internal/notify"
	"whistle/internal/worldtest"
)

// counting is a channel that counts the copies of each inbox entry it
// sends. When gate is set, each send first says so on entered and then
// waits for gate to close.
type counting struct {
	mu      sync.Mutex
	sent    map[int64]int
	entered chan struct{}
	gate    chan struct{}
}

func newCounting() *counting { return &counting{sent: map[int64]int{}} }

func (c *counting) Name() string { return "count" }

func (c *counting) Send(ctx context.Context, to notify.Address, subject, text string) error {
	panic("counting: Send called; the Outbox must call SendCase")
}

func (c *counting) SendCase(ctx context.Context, to notify.Address, m notify.Message, subject string) error {
	if c.gate != nil {
		c.entered <- struct{}{}
		<-c.gate
	}
	c.mu.Lock()
	c.sent[m.ID]++
	c.mu.Unlock()
	return nil
}

func (c *counting) counts() map[int64]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[int64]int{}
	for k, v := range c.sent {
		out[k] = v
	}
	return out
}

// queueCopies writes n inbox entries for user with one queued "count"
// copy each, due now, and returns the entries' ids.
func queueCopies(t *testing.T, d *db.DB, user int64, n int) []int64 {
	t.Helper()
	ctx := context.Background()
	var ids []int64
	err := d.InTx(ctx, func(tx *db.Tx) error {
		for range n {
			id, err := tx.InsertID(ctx, `INSERT INTO notifications (user_id, kind, msg_key, msg_args, created_at) VALUES ($1, 'status', 'notify.subject', '[]', $2) RETURNING id`, user, tx.Now())
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO notification_deliveries (notification_id, channel, not_before) VALUES ($1, 'count', $2)`, id, tx.Now()); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func mustCatalog(t *testing.T) *i18n.Catalog {
	t.Helper()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// TestClaimedCopyIsNotSentTwice (issue 15, Build 1): while one runner
// sends the copies it claimed, a second runner finds nothing to send;
// a runner that died leaves its claim, and the copies go out from another
// runner once the lease has run out, not before.
func TestClaimedCopyIsNotSentTwice(t *testing.T) {
	worldtest.Each(t, time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := walkWorld(t, d)
		ctx := context.Background()
		cat := mustCatalog(t)
		user := w.Users["street"].ID

		slow := newCounting()
		slow.entered, slow.gate = make(chan struct{}), make(chan struct{})
		a := notify.NewOutbox(d, cat, nil, slow)
		fast := newCounting()
		b := notify.NewOutbox(d, cat, nil, fast)
		queueCopies(t, d, user, 3)
		done := make(chan int)
		go func() {
			n, err := a.Deliver(ctx)
			if err != nil {
				t.Error(err)
			}
			done <- n
		}()
		<-slow.entered // a holds its claim and is sending the first copy
		if n, err := b.Deliver(ctx); n != 0 || err != nil {
			t.Errorf("second runner while the first sends: %d sent, %v; want 0", n, err)
		}
		close(slow.gate)
		go func() {
			for range slow.entered {
			}
		}()
		if n := <-done; n != 3 {
			t.Errorf("first runner: %d sent, want 3", n)
		}
		close(slow.entered)
		if got := len(fast.counts()); got != 0 {
			t.Errorf("second runner sent %d copies, want 0", got)
		}

		// A runner that claimed copies and died.
		ids := queueCopies(t, d, user, 2)
		err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE notification_deliveries SET claimed_by = 'dead', claimed_until = $1 WHERE sent_at IS NULL`, tx.Now().Add(5*time.Minute))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if n, err := b.Deliver(ctx); n != 0 || err != nil {
			t.Errorf("under the dead runner's lease: %d sent, %v; want 0", n, err)
		}
		clk.Advance(5 * time.Minute)
		if n, err := b.Deliver(ctx); n != 2 || err != nil {
			t.Errorf("after the lease: %d sent, %v; want 2", n, err)
		}
		got := fast.counts()
		for _, id := range ids {
			if got[id] != 1 {
				t.Errorf("entry %d: sent %d times after the lease, want 1", id, got[id])
			}
		}
	})
}

// TestTwoReplicasSendEachCopyOnce (issue 15, Build 1): two Outbox runners,
// each with its own connection pool on one PostgreSQL database (two
// replicas), deliver 300 queued copies at the same time; every copy is
// sent exactly once. Without the claim (the lease condition dropped) the
// runners send copies twice and this test fails.
func TestTwoReplicasSendEachCopyOnce(t *testing.T) {
	url := dbtest.PostgresURL(t)
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC))
	schema := dbtest.NewSchema(t, url)
	open := func() *db.DB {
		d, err := db.Open(ctx, db.Config{URL: url, SearchPath: schema}, clk)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	first := open()
	if _, err := first.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	second := open()
	w := walkWorld(t, first)
	cat := mustCatalog(t)
	ids := queueCopies(t, first, w.Users["street"].ID, 300)

	ch := newCounting()
	var wg sync.WaitGroup
	total := make([]int, 2)
	for i, d := range []*db.DB{first, second} {
		out := notify.NewOutbox(d, cat, nil, ch)
		wg.Go(func() {
			for {
				n, err := out.Deliver(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				if n == 0 {
					return
				}
				total[i] += n
			}
		})
	}
	wg.Wait()
	got := ch.counts()
	for _, id := range ids {
		if got[id] != 1 {
			t.Errorf("entry %d: sent %d times, want once", id, got[id])
		}
	}
	if total[0]+total[1] != len(ids) {
		t.Errorf("runners report %d + %d sent, want %d in all", total[0], total[1], len(ids))
	}
	var left int
	if err := first.QueryRow(ctx, `SELECT COUNT(*) FROM notification_deliveries WHERE sent_at IS NULL`).Scan(&left); err != nil || left != 0 {
		t.Errorf("unsent copies left: %d, %v; want 0", left, err)
	}
}
