package casework_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"whistle/internal/bus"
	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/feed"
)

// TestFeedCarriesEveryChange: a submission, an action and a system step each
// append one feed event in their transaction, and the feed's bus consumer
// publishes them on case.<district>.<action> with the JSON the SSE stream
// reads (the message publishAfter used to send after the commit).
func TestFeedCarriesEveryChange(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, nil)
		ctx := context.Background()
		c := w.submit(t, "resident", inA, "whistle")
		w.Act(t, "staff-a", c.ID, casework.ActAccept, casework.Input{Note: "已受理"})
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			_, err := w.svc.SystemStep(ctx, tx, c.ID, casework.Step{Action: casework.ActWarning})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		b := bus.NewMemory(nil)
		var got []string
		if _, err := b.Subscribe("case.>", func(subject string, data []byte) { got = append(got, subject+" "+string(data)) }); err != nil {
			t.Fatal(err)
		}
		r, err := feed.NewRunner(d, feed.RunnerConfig{}, feed.PublishTo(b, nil))
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		after, err := w.svc.Get(ctx, w.as("admin"), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		msg := func(action, status string, dept int64) string {
			m := map[string]any{"case_id": c.ID, "number": c.Number, "action": action, "status": status, "region_path": c.RegionPath,
				"at": "2026-11-23T02:00:00Z", "reporter_id": w.Users["resident"].ID}
			if dept != 0 {
				m["department_id"] = dept
			}
			return fmt.Sprintf("case.%s.%s %v", c.District, action, m)
		}
		want := []string{msg("submit", string(c.Status), 0), msg("accept", string(after.Status), after.DepartmentID), msg("sla_warning", string(after.Status), after.DepartmentID)}
		var norm []string
		for _, g := range got {
			var subject string
			var body string
			fmt.Sscanf(g, "%s", &subject)
			body = g[len(subject)+1:]
			var m map[string]any
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				t.Fatalf("%s: %v", g, err)
			}
			for k, v := range m {
				if f, ok := v.(float64); ok {
					m[k] = int64(f)
				}
			}
			norm = append(norm, fmt.Sprintf("%s %v", subject, m))
		}
		if fmt.Sprint(norm) != fmt.Sprint(want) {
			t.Errorf("published\n%q\nwant\n%q", norm, want)
		}
	})
}
