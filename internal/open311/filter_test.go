package open311

import (
	"strings"
	"testing"
	"time"

	"whistle/internal/clock"
)

// TestRequestFilter: the GET requests filters the standard defines, read
// into a case filter and a page, and the problems of each bad one.
func TestRequestFilter(t *testing.T) {
	now := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	s := NewService(Deps{Clock: clock.NewFake(now)})
	day := 24 * time.Hour
	tests := []struct {
		name       string
		q          RequestQuery
		open       string // "", "open", "closed"
		from, to   time.Time
		skip, n    int
		categories string
		want       string // problem keys, "|"-joined
	}{
		{"defaults: the last 90 days, first page", RequestQuery{}, "", now.Add(-90 * day), now, 0, MaxResults, "", ""},
		{"open", RequestQuery{Status: []string{"open"}}, "open", now.Add(-90 * day), now, 0, MaxResults, "", ""},
		{"closed", RequestQuery{Status: []string{"closed"}}, "closed", now.Add(-90 * day), now, 0, MaxResults, "", ""},
		{"both is all", RequestQuery{Status: []string{"closed", "open"}}, "", now.Add(-90 * day), now, 0, MaxResults, "", ""},
		{"unknown status", RequestQuery{Status: []string{"pending"}}, "", time.Time{}, time.Time{}, 0, 0, "", "open311.status_filter"},
		{"a status twice", RequestQuery{Status: []string{"open", "open"}}, "", time.Time{}, time.Time{}, 0, 0, "", "open311.status_filter"},
		{"services", RequestQuery{ServiceCodes: []string{"ZL05", "ZL0601"}}, "", now.Add(-90 * day), now, 0, MaxResults, "ZL05,ZL0601", ""},
		{"page 3 of 20", RequestQuery{Page: "3", PageSize: "20"}, "", now.Add(-90 * day), now, 40, 20, "", ""},
		{"page 0", RequestQuery{Page: "0"}, "", time.Time{}, time.Time{}, 0, 0, "", "open311.positive"},
		{"page size over the limit", RequestQuery{PageSize: "1001"}, "", time.Time{}, time.Time{}, 0, 0, "", "open311.positive"},
		{"a date without a zone", RequestQuery{StartDate: "2026-11-01T00:00:00"}, "", time.Time{}, time.Time{}, 0, 0, "", "open311.date_zone"},
		{"a date that is not one", RequestQuery{EndDate: "yesterday"}, "", time.Time{}, time.Time{}, 0, 0, "", "open311.date_format"},
		{"reversed", RequestQuery{StartDate: "2026-11-20T00:00:00+08:00", EndDate: "2026-11-10T00:00:00+08:00"}, "", time.Time{}, time.Time{}, 0, 0, "", "open311.order"},
		{"over 90 days", RequestQuery{StartDate: "2026-01-01T00:00:00+08:00", EndDate: "2026-11-10T00:00:00+08:00"}, "", time.Time{}, time.Time{}, 0, 0, "", "open311.span"},
		{"every problem at once", RequestQuery{Status: []string{"x"}, StartDate: "x", Page: "-1"}, "", time.Time{}, time.Time{}, 0, 0, "",
			"open311.status_filter|open311.date_format|open311.positive"},
		{"ids win over the other filters", RequestQuery{IDs: []string{"WS1"}, Status: []string{"x"}, StartDate: "x"}, "", time.Time{}, time.Time{}, 0, MaxResults, "", ""},
		{"too many ids", RequestQuery{IDs: make([]string, MaxIDs+1)}, "", time.Time{}, time.Time{}, 0, 0, "", "open311.too_many_ids"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, skip, n, err := s.filter(tt.q)
			var got []string
			if err != nil {
				for _, p := range RefusalOf(err).Problems {
					got = append(got, p.Key)
				}
			}
			if g := strings.Join(got, "|"); g != tt.want {
				t.Fatalf("problems: got %q, want %q", g, tt.want)
			}
			if tt.want != "" {
				return
			}
			if !f.PublicOnly {
				t.Errorf("PublicOnly: got false, want true")
			}
			open := ""
			if f.Open != nil {
				open = map[bool]string{true: "open", false: "closed"}[*f.Open]
			}
			if open != tt.open {
				t.Errorf("open: got %q, want %q", open, tt.open)
			}
			if got, want := strings.Join(f.Categories, ","), tt.categories; got != want {
				t.Errorf("categories: got %q, want %q", got, want)
			}
			if len(tt.q.IDs) == 0 && (!f.From.Equal(tt.from) || !f.To.Equal(tt.to.Add(time.Microsecond))) {
				t.Errorf("window: got [%v, %v), want [%v, %v]", f.From, f.To, tt.from, tt.to)
			}
			if skip != tt.skip || n != tt.n {
				t.Errorf("page: got skip %d n %d, want skip %d n %d", skip, n, tt.skip, tt.n)
			}
		})
	}
}
