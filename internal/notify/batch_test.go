package notify_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/feed"
	"whistle/internal/i18n"
	"whistle/internal/notify"
	"whistle/internal/sms"
	"whistle/internal/worldtest"
)

// TestABatchTellsAsEventsOneAtATime: the consumer writes a batch of the
// feed's case events (their cases read in one query, the recipients'
// settings in another, the entries' ids reserved and their INSERTs queued)
// exactly as it writes the same events one batch each: the same inbox
// entries in the same order, and the same outbound copies.
func TestABatchTellsAsEventsOneAtATime(t *testing.T) {
	worldtest.Each(t, time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := walkWorld(t, d)
		ctx := context.Background()
		cat, err := i18n.Load()
		if err != nil {
			t.Fatal(err)
		}
		out := notify.NewOutbox(d, cat, nil, &notify.SMS{Sender: sms.NewLog(nil)})
		names := make([]string, 0, len(w.Users))
		for n := range w.Users {
			names = append(names, n)
		}
		sort.Strings(names)
		// Everyone takes SMS; every other user has quiet hours.
		for i, n := range names {
			s := notify.Settings{Channels: []string{"sms"}}
			if i%2 == 0 {
				s.QuietFrom, s.QuietTo = "09:00", "08:00"
			}
			if err := out.SetSettings(ctx, w.Users[n].ID, s); err != nil {
				t.Fatal(err)
			}
		}
		// Cases of both workflows, each taken a few steps by the first
		// user (by name) who may take an action on it.
		for i := range 6 {
			code := leaf(t, w, []string{"ZL06", "SJ0101"}[i%2])
			c := w.Submit(t, "resident", casework.SubmitInput{Category: code, Description: "楼道堆放杂物，影响通行",
				Lat: ptr(27.005), Lng: ptr([]float64{120.005, 120.015}[i/2%2]), Address: "万顺路 1 号"})
			for range i {
				took := false
				for _, n := range names {
					mine, err := w.Cases.Get(ctx, w.As(n), c.ID)
					if err != nil {
						continue
					}
					for _, a := range w.Cases.Actions(mine, w.As(n)) {
						wf := casework.Workflows()[mine.Workflow]
						trs := wf.Candidates(a.Action, mine.Status)
						if len(trs) == 0 {
							continue
						}
						if _, err := w.Cases.Act(ctx, w.As(n), c.ID, a.Action, inputFor(t, w, n, mine, trs[0])); err == nil {
							took = true
							break
						}
					}
					if took {
						break
					}
				}
				clk.Advance(7 * time.Minute)
			}
		}
		if err := feed.SequenceAll(ctx, d); err != nil {
			t.Fatal(err)
		}
		evs, err := feed.Read(ctx, d, 0, 10000)
		if err != nil {
			t.Fatal(err)
		}
		n := notify.NewNotifier(w.Cases, nil).WithOutbox(out)
		written := func(batches [][]feed.Event) []string {
			var rows []string
			errDone := errors.New("done")
			err := d.InTx(ctx, func(tx *db.Tx) error {
				for _, b := range batches {
					if err := n.Consumer().HandleTx(ctx, tx, b); err != nil {
						return err
					}
				}
				rs, err := tx.Query(ctx, `SELECT n.user_id, COALESCE(n.case_id, 0), n.kind, n.msg_key, n.msg_args, n.action, n.expected, n.parts, n.urgent,
						COALESCE(d.channel, ''), d.not_before
					FROM notifications n LEFT JOIN notification_deliveries d ON d.notification_id = n.id ORDER BY n.id, d.channel`)
				if err != nil {
					return err
				}
				defer rs.Close()
				for rs.Next() {
					var user, caseID int64
					var kind, key, args, action, expected, parts, channel string
					var urgent bool
					var notBefore db.NullTime
					if err := rs.Scan(&user, &caseID, &kind, &key, &args, &action, &expected, &parts, &urgent, &channel, &notBefore); err != nil {
						return err
					}
					rows = append(rows, fmt.Sprintf("user %d case %d %s %s %s %s %s %s urgent=%v %s %v", user, caseID, kind, key, args, action, expected, parts, urgent, channel, notBefore.Time.UTC()))
				}
				if err := rs.Err(); err != nil {
					return err
				}
				return errDone // roll back: the other run starts from the same state
			})
			if !errors.Is(err, errDone) {
				t.Fatal(err)
			}
			return rows
		}
		one := make([][]feed.Event, len(evs))
		for i, ev := range evs {
			one[i] = []feed.Event{ev}
		}
		alone, batch := written(one), written([][]feed.Event{evs})
		copies := 0
		for _, r := range batch {
			if strings.Contains(r, " sms ") {
				copies++
			}
		}
		t.Logf("%d events, %d entries, %d outbound copies", len(evs), len(batch), copies)
		if len(evs) < 20 || len(batch) < 10 || copies == 0 {
			t.Fatalf("%d events, %d entries, %d outbound copies: too few to compare", len(evs), len(batch), copies)
		}
		if len(alone) != len(batch) {
			t.Errorf("one event a batch wrote %d rows, one batch %d", len(alone), len(batch))
		}
		for i := range min(len(alone), len(batch)) {
			if alone[i] != batch[i] {
				t.Errorf("row %d: one event a batch wrote\n%s\none batch wrote\n%s", i, alone[i], batch[i])
			}
		}
	})
}
