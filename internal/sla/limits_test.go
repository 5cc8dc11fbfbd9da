package sla

import (
	"context"
	"sort"
	"strings"
	"testing"

	"whistle/internal/audit"
	"whistle/internal/errs"
	"whistle/internal/sla/calendar"
)

func TestBestRule(t *testing.T) {
	t.Parallel()
	const a, b = "/330303/330303001/330303001001/", "/330303/330303001/330303001002/"
	rules := []TimeLimit{
		{ID: 1},
		{ID: 2, CategoryPrefix: "ZL"},
		{ID: 3, CategoryPrefix: "ZL03"},
		{ID: 4, RegionCode: "330303001001", regionPath: a},
		{ID: 5, CategoryPrefix: "ZL", RegionCode: "330303001001", regionPath: a},
		{ID: 6, RegionCode: "330303001", regionPath: "/330303/330303001/"},
		{ID: 7, CategoryPrefix: "SJ", RegionCode: "999"}, // a region that no longer exists
	}
	tests := []struct {
		name, category, path string
		want                 int64
	}{
		{"the longest category prefix beats a region", "ZL0302", a + "330303001001001/", 3},
		{"same prefix: the deeper region", "ZL0101", a + "330303001001001/", 5},
		{"same prefix: the region that matches", "ZL0101", b + "330303001002001/", 2},
		{"no prefix: the deepest region", "BJ0101", a + "330303001001001/", 4},
		{"no prefix: the street", "BJ0101", b + "330303001002001/", 6},
		{"elsewhere: the default", "BJ0101", "/330303/330303002/", 1},
		{"a vanished region matches nothing", "SJ0101", "/330303/330303002/", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := BestRule(rules, tt.category, tt.path)
			if !ok || got.ID != tt.want {
				t.Errorf("got rule %d (found %v), want %d", got.ID, ok, tt.want)
			}
		})
	}
	if _, ok := BestRule(rules[1:3], "BJ0101", a); ok {
		t.Error("found a rule where none applies")
	}
}

func TestTimeLimitStore(t *testing.T) {
	t.Parallel()
	eachWorld(t, friday, func(t *testing.T, w *world) {
		ctx := context.Background()
		actor := audit.System("test")
		added, err := w.eng.AddTimeLimit(ctx, actor, TimeLimit{Workflow: "urban", Stage: "handle", CategoryPrefix: "SJ01", RegionCode: "330303001", Limit: "8h"})
		if err != nil {
			t.Fatal(err)
		}
		// Another rule, for the conflict of an update onto its key.
		if _, err := w.eng.AddTimeLimit(ctx, actor, TimeLimit{Workflow: "urban", Stage: "close", CategoryPrefix: "SJ01", Limit: "2h"}); err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name   string
			do     func() error
			code   errs.Code
			fields string
		}{
			{"a rule for the same stage, category and region", func() error {
				_, err := w.eng.AddTimeLimit(ctx, actor, TimeLimit{Workflow: "urban", Stage: "handle", CategoryPrefix: "SJ01", RegionCode: "330303001", Limit: "4h"})
				return err
			}, errs.Conflict, ""},
			{"unknown workflow", func() error {
				_, err := w.eng.AddTimeLimit(ctx, actor, TimeLimit{Workflow: "hotline", Stage: "handle", Limit: "4h"})
				return err
			}, errs.Invalid, "workflow"},
			{"a stage of the other workflow, a bad limit and share", func() error {
				_, err := w.eng.AddTimeLimit(ctx, actor, TimeLimit{Workflow: "urban", Stage: "accept", Limit: "2 days", WarnPercent: 100})
				return err
			}, errs.Invalid, "limit,stage,warn_percent"},
			{"unknown category and region", func() error {
				_, err := w.eng.AddTimeLimit(ctx, actor, TimeLimit{Workflow: "urban", Stage: "handle", CategoryPrefix: "XX", RegionCode: "999", Limit: "4h"})
				return err
			}, errs.Invalid, "category_prefix,region_code"},
			{"no limit", func() error {
				_, err := w.eng.AddTimeLimit(ctx, actor, TimeLimit{Workflow: "urban", Stage: "handle"})
				return err
			}, errs.Invalid, "limit"},
			{"update a rule that does not exist", func() error {
				_, err := w.eng.UpdateTimeLimit(ctx, actor, 999, TimeLimit{Workflow: "urban", Stage: "handle", Limit: "4h"})
				return err
			}, errs.NotFound, ""},
			{"update onto another rule's key", func() error {
				_, err := w.eng.UpdateTimeLimit(ctx, actor, added.ID, TimeLimit{Workflow: "urban", Stage: "close", CategoryPrefix: "SJ01", Limit: "4h"})
				return err
			}, errs.Conflict, ""},
			{"delete a rule that does not exist", func() error { return w.eng.DeleteTimeLimit(ctx, actor, 999) }, errs.NotFound, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := tt.do()
				e, _ := errs.As(err)
				var fields []string
				if e != nil {
					for f := range e.Fields {
						fields = append(fields, f)
					}
				}
				sort.Strings(fields)
				if errs.CodeOf(err) != tt.code || strings.Join(fields, ",") != tt.fields {
					t.Errorf("got %v (fields %v), want %s with fields %q", err, fields, tt.code, tt.fields)
				}
			})
		}
		if _, err := w.eng.UpdateTimeLimit(ctx, actor, added.ID, TimeLimit{Workflow: "urban", Stage: "handle", CategoryPrefix: "SJ01", Limit: "1wd", WarnPercent: 50}); err != nil {
			t.Fatal(err)
		}
		got, err := w.eng.TimeLimit(ctx, added.ID)
		if err != nil || got.Limit != "1wd" || got.RegionCode != "" || got.WarnPercent != 50 {
			t.Errorf("after the update: got %+v, %v", got, err)
		}
		if err := w.eng.DeleteTimeLimit(ctx, actor, added.ID); err != nil {
			t.Fatal(err)
		}
		if n := w.count(t, `SELECT COUNT(*) FROM audit_log WHERE action LIKE 'sla.limit_%'`); n != 4 {
			t.Errorf("got %d audit entries, want 4 (two adds, update, delete)", n)
		}
	})
}

func TestNatural(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"2h", "2ch"},
		{"3wd", "72ch"},
		{"6ch", "6ch"},
		{"30m", "30m natural"},
		{"1h30m", "1h30m natural"},
	}
	for _, tt := range tests {
		l, err := calendar.ParseLimit(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := limitText(Natural(l)); got != tt.want {
			t.Errorf("%s: got %s, want %s", tt.in, got, tt.want)
		}
	}
}
