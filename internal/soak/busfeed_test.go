package soak

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/feed"
)

// TestCheckBus: the soak's bus check must catch a feed event that never
// reached the bus, and must not blame one that was published twice or one
// after the position the restarted server had caught up to.
func TestCheckBus(t *testing.T) {
	dbtest.Each(t, clock.NewFake(time.Date(2026, 12, 6, 2, 0, 0, 0, time.UTC)), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		payloads := []string{`{"case_id":1}`, `{"case_id":2}`, `{"case_id":3}`, `{"case_id":4}`}
		for i, p := range payloads {
			err := d.InTx(ctx, func(tx *db.Tx) error {
				return feed.Append(ctx, tx, feed.Event{SubjectKind: "case", SubjectID: int64(i + 1), District: "330303", Kind: "submit", Payload: json.RawMessage(p)})
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		if _, err := feed.Sequence(ctx, d, 0); err != nil {
			t.Fatal(err)
		}
		evs, err := feed.Read(ctx, d, 0, 10)
		if err != nil || len(evs) != 4 {
			t.Fatalf("feed: %d events (%v)", len(evs), err)
		}
		upto := evs[2].Position // the fourth came after the catch-up
		msg := func(p string) string { return "case.330303.submit " + p }
		for _, tc := range []struct {
			name    string
			seen    map[string]int
			problem string
			note    string
		}{
			{"all published, one twice", map[string]int{msg(payloads[0]): 2, msg(payloads[1]): 1, msg(payloads[2]): 1},
				"", "every one of the 3 case events on the feed was published at least once (1 published again after a kill)"},
			{"one never published", map[string]int{msg(payloads[0]): 1, msg(payloads[2]): 1, "case.330303.submit {\"case_id\":99}": 1},
				"bus: 1 of 3 feed events were never published (3 messages received): position", ""},
			{"another payload on the right subject", map[string]int{msg(payloads[0]): 1, msg(payloads[1]): 1, "case.330303.submit {\"case_id\":3,\"x\":1}": 1},
				"bus: 1 of 3 feed events were never published", ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				l := &busLog{seen: tc.seen}
				for _, n := range tc.seen {
					l.n += n
				}
				res := &result{}
				if err := checkBus(ctx, d, l, upto, 0, res); err != nil {
					t.Fatal(err)
				}
				problems, notes := strings.Join(res.problems, "\n"), strings.Join(res.notes, "\n")
				if tc.problem == "" && problems != "" {
					t.Errorf("problems %q, want none", problems)
				}
				if tc.problem != "" && !strings.Contains(problems, tc.problem) {
					t.Errorf("problems %q, want one containing %q", problems, tc.problem)
				}
				if !strings.Contains(notes, tc.note) {
					t.Errorf("notes %q, want one containing %q", notes, tc.note)
				}
			})
		}
	})
}
