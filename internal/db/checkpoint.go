package db

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// checkpointer copies SQLite's write-ahead log into the database file from
// a connection of its own, every interval, with a PASSIVE checkpoint: it
// never waits for the writer or the readers, and the writer never waits
// for it. Durability does not depend on it: a commit is durable once its
// WAL frames are synced.
type checkpointer struct {
	conn *sql.DB
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

func startCheckpointer(conn *sql.DB, every time.Duration) *checkpointer {
	c := &checkpointer{conn: conn, stop: make(chan struct{}), done: make(chan struct{})}
	go c.loop(every)
	return c
}

func (c *checkpointer) loop(every time.Duration) {
	defer close(c.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			// A failure (the database is busy or closing) is retried at the
			// next tick; the writer's own automatic checkpoint is the
			// safety net.
			_, _ = c.conn.ExecContext(context.Background(), `PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}
}

// close stops the loop and closes the connection; closing again does
// nothing, as closing a DB twice does nothing.
func (c *checkpointer) close() {
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		c.conn.Close()
	})
}
