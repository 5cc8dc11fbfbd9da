package notify_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/notify"
	"whistle/internal/region"
)

// district is one square district, enough for users to belong somewhere.
const district = `{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"330303","name":"区","level":"district","parent_code":""},` +
	`"geometry":{"type":"Polygon","coordinates":[[[120,27],[120.04,27],[120.04,27.02],[120,27.02],[120,27]]]}}]}`

// addUser inserts a bare user and returns its id.
func addUser(t *testing.T, d *db.DB, name string) int64 {
	t.Helper()
	var id int64
	err := d.InTx(context.Background(), func(tx *db.Tx) error {
		return tx.QueryRow(context.Background(), `INSERT INTO users (username, password_hash, roles, region_code, created_at, updated_at)
			VALUES ($1, 'x', ',resident,', '330303', $2, $2) RETURNING id`, name, tx.Now()).Scan(&id)
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestUnreadCount (issue 14, Build 4): the inbox badge's count lives with
// the inbox, counts only the user's own unread messages, and agrees with
// Inbox; internal/web no longer runs this SQL itself.
func TestUnreadCount(t *testing.T) {
	dbtest.Each(t, clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		feats, issues, err := region.ParseFeatures(strings.NewReader(district))
		if err != nil || len(issues) > 0 {
			t.Fatalf("parse: %v %v", err, issues)
		}
		if _, err := region.NewStore(d).Import(ctx, audit.System("test"), feats); err != nil {
			t.Fatal(err)
		}
		alice, bob := addUser(t, d, "alice"), addUser(t, d, "bob")
		add := func(user int64, n int) {
			t.Helper()
			for range n {
				if err := d.InTx(ctx, func(tx *db.Tx) error {
					_, err := tx.Exec(ctx, `INSERT INTO notifications (user_id, kind, msg_key, created_at) VALUES ($1, 'test', 'notify.test', $2)`, user, tx.Now())
					return err
				}); err != nil {
					t.Fatal(err)
				}
			}
		}
		add(alice, 3)
		add(bob, 2)
		msgs, _, err := notify.Inbox(ctx, d, alice, 0, 50)
		if err != nil {
			t.Fatal(err)
		}
		if err := notify.MarkRead(ctx, d, alice, msgs[0].ID); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name string
			user int64
			want int
		}{
			{"two of three unread", alice, 2},
			{"none read", bob, 2},
			{"no messages", 999999, 0},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				got, err := notify.UnreadCount(ctx, d, c.user)
				if err != nil {
					t.Fatal(err)
				}
				if got != c.want {
					t.Errorf("unread: got %d, want %d", got, c.want)
				}
				_, inbox, err := notify.Inbox(ctx, d, c.user, 0, 50)
				if err != nil {
					t.Fatal(err)
				}
				if inbox != got {
					t.Errorf("Inbox's unread: got %d, want %d (UnreadCount)", inbox, got)
				}
			})
		}
	})
}
