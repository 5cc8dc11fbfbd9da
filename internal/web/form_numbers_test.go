package web

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
)

// TestFormNumbersAreChecked (issue 13 item 14, a neighbour of the
// swallowed errors): a malformed number in a page form is a field error,
// never silently 0 or dropped. A routing rule's priority "abc" used to be
// saved as 0, and a case action's version "abc" skipped the
// optimistic-locking check.
func TestFormNumbersAreChecked(t *testing.T) {
	dbtest.Each(t, clock.NewFake(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)), func(t *testing.T, d *db.DB) {
		w, _, do := dispatchWorld(t, d)
		lat, lng := 27.005, 120.005
		c := w.Submit(t, "resident", casework.SubmitInput{Category: "ZL0601", Description: "楼道里有老人需要帮忙", Lat: &lat, Lng: &lng})
		id := strconv.FormatInt(c.ID, 10)
		tests := []struct {
			name, path, who, form string
		}{
			{"rule priority", "/admin/routing-rules", "admin", "category_code=ZL0602&region_code=330303001&department=CG&priority=abc"},
			{"action version", "/cases/" + id + "/act/accept", "staff-a", "version=abc"},
			{"action photos", "/cases/" + id + "/act/accept", "staff-a", "photos=first"},
		}
		for _, tt := range tests {
			status, body, _ := do("POST", tt.path, tt.who, tt.form)
			if status != http.StatusUnprocessableEntity || (tt.name == "rule priority" && !strings.Contains(body, "Must be a number.")) {
				t.Errorf("%s: got %d, want 422 with a field message", tt.name, status)
			}
		}
		rules, err := w.Categories.Rules(context.Background())
		if err != nil || len(rules) != 1 {
			t.Errorf("rules after a malformed priority: got %d (%v), want only the world's one", len(rules), err)
		}
		if got, err := w.Cases.Get(context.Background(), w.As("admin"), c.ID); err != nil || got.Status != casework.Submitted {
			t.Errorf("case after malformed action forms: got %v (%v), want still submitted", got.Status, err)
		}
	})
}
