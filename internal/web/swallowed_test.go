package web

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/notify"
	"whistle/internal/worldtest"
)

// lockedBuffer is a log destination safe for the server's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestNavUnreadCountErrorIsLogged (issue 13 item 14): when the navigation
// bar's unread count fails, the page is still served but the error is
// logged; it used to vanish.
func TestNavUnreadCountErrorIsLogged(t *testing.T) {
	dbtest.Each(t, clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)), func(t *testing.T, d *db.DB) {
		w := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Departments: worldtest.CatalogueDepartments(),
			Users: worldtest.OneStreetUsers()})
		var logs lockedBuffer
		_, ts := serve(t, Deps{Audit: audit.NewLog(d), Inbox: notify.NewStore(d), ReadyCheck: d.Ping, Accounts: w.Accounts, Regions: w.Regions, Cases: w.Cases, Categories: w.Categories,
			Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		tok := login(t, ts, "resident")
		if err := d.InTx(context.Background(), func(tx *db.Tx) error {
			_, err := tx.Exec(context.Background(), `ALTER TABLE notifications RENAME TO notifications_gone`)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		status, _, _ := call(t, ts, "GET", "/nearby", tok, "", "")
		if status != http.StatusOK {
			t.Errorf("page with a failing unread count: got %d, want 200", status)
		}
		if got := logs.String(); !strings.Contains(got, "unread count") || !strings.Contains(got, "notifications") {
			t.Errorf("the failing unread count was not logged; log: %s", got)
		}
	})
}
