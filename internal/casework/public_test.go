package casework_test

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/worldtest"
)

// jsonKeys lists every key path of a JSON document: "a", "a.b",
// "list[].c" (the keys of a step's data too: they are allow-listed).
func jsonKeys(v any, prefix string, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			p := prefix + k
			out[p] = true
			jsonKeys(e, p+".", out)
		}
	case []any:
		for _, e := range x {
			jsonKeys(e, strings.TrimSuffix(prefix, ".")+"[].", out)
		}
	}
}

// fullCase is a case with every field set, personal data included.
func fullCase() (*casework.Case, []casework.Event) {
	at := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	c := &casework.Case{ID: 7, Number: "WS20261123000007", District: "330303", Workflow: "whistle", Status: casework.InProgress,
		PrevStatus: casework.Accepted, Source: "resident", CategoryCode: "ZL0601", CategoryName: "邻里求助", Description: "楼道堆放杂物",
		Address: "万顺路 1 号", Lat: 27.005, Lng: 120.005, GridCode: "330303001001001", CommunityCode: "330303001001", StreetCode: "330303001",
		RegionPath: "/330303/330303001/330303001001/330303001001001/", ReporterID: 41, ReporterName: "张三居民", ReporterPhone: "13700001111",
		Anonymous: false, Urgent: true, Visibility: "public", DepartmentID: 3, DepartmentCode: "CG", DepartmentName: "城管局",
		AssigneeID: 42, AssigneeName: "李四处置", Followed: true, Rating: 2, RatingComment: "张三说：太慢", RevisitResult: "dissatisfied",
		Reopens: 1, Rework: 1, Returns: 1, Supervised: true, PostponeHours: 24, PostponeReason: "等李四", ParentID: 5,
		Fields: map[string]string{"plate": "浙C12345"}, Tags: []string{"tag"}, RoutedDept: "CG", Version: 9,
		CreatedAt: at, UpdatedAt: at, ClosedAt: at, DeadlineAt: at, SLAState: "overdue"}
	photo := casework.Photo{ID: 1, CaseID: 7, EventID: 2, Kind: "before", BlobKey: "blob/secret", MIME: "image/png", Size: 10, Width: 1, Height: 1, CreatedAt: at}
	tl := []casework.Event{
		{ID: 1, At: at, ActorID: 41, ActorName: "zhangsan", Role: "resident", Action: casework.ActSubmit, ToStatus: casework.Submitted,
			Data: map[string]any{"source": "resident", "category": "ZL0601"}, Public: true},
		{ID: 2, At: at, ActorID: 42, ActorName: "lisi", Role: "party_member", Action: casework.ActClaim, FromStatus: casework.Claimable,
			ToStatus: casework.Dispatched, Note: "我来处理", Data: map[string]any{"claimant": "lisi", "target_user": "lisi", "target_department": "CG",
				"target_department_name": "城管局", "stars": 2, "passed": true, "hours": 24, "deadline": "x", "reason": "r", "parent": "WS1"},
			Public: true, Photos: []casework.Photo{photo}},
		{ID: 3, At: at, ActorID: 41, ActorName: "zhangsan", Role: "resident", Action: casework.ActRate, Note: "张三说：太慢",
			Data: map[string]any{"stars": 2}, Public: true},
		{ID: 4, At: at, ActorID: 43, ActorName: "wangwu", Role: "community_staff", Action: casework.ActRevisit, Note: "回访张三", Public: false},
	}
	return c, tl
}

// TestPublicViewFields is issue 13, item 3: the one projection the public
// and followers read has exactly these keys, and none of the personal data
// of a case with every field set.
func TestPublicViewFields(t *testing.T) {
	want := []string{
		"address", "category", "category.code", "category.name", "closed_at", "created_at", "deadline", "department", "department.code",
		"department.name", "description", "id", "location", "location.lat", "location.lng", "number", "parent_id", "rating",
		"region", "region.community", "region.community.code", "region.community.level", "region.community.name",
		"region.grid", "region.grid.code", "region.grid.level", "region.grid.name",
		"region.street", "region.street.code", "region.street.level", "region.street.name",
		"reopens", "returns", "rework", "sla", "source", "status", "supervised",
		"timeline", "timeline[].action", "timeline[].at", "timeline[].data", "timeline[].data.category", "timeline[].data.deadline",
		"timeline[].data.hours", "timeline[].data.parent", "timeline[].data.passed", "timeline[].data.reason", "timeline[].data.source",
		"timeline[].data.stars", "timeline[].data.target_department", "timeline[].data.target_department_name",
		"timeline[].from", "timeline[].id", "timeline[].note", "timeline[].photos",
		"timeline[].photos[].created_at", "timeline[].photos[].event_id", "timeline[].photos[].height", "timeline[].photos[].id",
		"timeline[].photos[].kind", "timeline[].photos[].mime", "timeline[].photos[].size", "timeline[].photos[].width",
		"timeline[].role", "timeline[].to",
		"updated_at", "urgent", "visibility", "workflow",
	}
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newWorld(t, d, clk)
		c, tl := fullCase()
		b, err := json.Marshal(w.svc.Public(c, tl))
		if err != nil {
			t.Fatal(err)
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		keys := map[string]bool{}
		jsonKeys(doc, "", keys)
		got := make([]string, 0, len(keys))
		for k := range keys {
			got = append(got, k)
		}
		sort.Strings(got)
		if !slices.Equal(got, want) {
			for _, k := range got {
				if !slices.Contains(want, k) {
					t.Errorf("PublicView has key %s, which is not on the list", k)
				}
			}
			for _, k := range want {
				if !slices.Contains(got, k) {
					t.Errorf("PublicView lacks key %s", k)
				}
			}
		}
		for _, secret := range []string{"张三", "zhangsan", "李四", "lisi", "wangwu", "1111", "浙C12345", "blob/secret", "dissatisfied", "回访", `"routed`} {
			if strings.Contains(string(b), secret) {
				t.Errorf("PublicView contains %q: %s", secret, b)
			}
		}
		if n := strings.Count(string(b), `"action":`); n != 3 {
			t.Errorf("PublicView has %d steps, want the 3 public ones", n)
		}
	})
}

// TestFollowerReadsOnlyThePublicFields: a resident who follows a public
// case outside their scope reads, through View and Timeline, nothing the
// public would not: the case keeps only PublicView's facts, and no step
// names its actor. The reporter and staff in scope read it whole.
func TestFollowerReadsOnlyThePublicFields(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newWorld(t, d, clk)
		ctx := t.Context()
		c := w.Submit(t, "resident", casework.SubmitInput{Category: "ZL0601", Description: "楼道堆放杂物", Lat: f64(inA[0]), Lng: f64(inA[1]),
			Address: "万顺路 1 号", Phone: "13700001111"})
		w.Act(t, "staff-a", c.ID, casework.ActAccept, casework.Input{Note: "已受理"})
		w.Act(t, "staff-a", c.ID, casework.ActDispatch, casework.Input{Target: &casework.Target{User: w.users["grid-a"].ID}})
		if err := w.svc.Follow(ctx, w.as("neighbour"), c.ID); err != nil {
			t.Fatal(err)
		}
		got, err := w.svc.View(ctx, w.as("neighbour"), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Followed || got.ReporterID != 0 || got.ReporterName != "" || got.ReporterPhone != "" || got.AssigneeID != 0 ||
			got.RatingComment != "" || got.RevisitResult != "" || got.PostponeReason != "" || got.RoutedDept != "" || len(got.Fields) != 0 {
			t.Errorf("the follower's View: got %+v, want only PublicView's facts", got)
		}
		if got.Number != c.Number || got.Description != c.Description || got.Status != casework.Dispatched {
			t.Errorf("the follower's View: got %s %q %s, want %s %q dispatched", got.Number, got.Description, got.Status, c.Number, c.Description)
		}
		tl, err := w.svc.Timeline(ctx, w.as("neighbour"), c.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range tl {
			if e.ActorID != 0 || e.ActorName != "" {
				t.Errorf("the follower's timeline: step %s names %q (%d), want no actor", e.Action, e.ActorName, e.ActorID)
			}
		}
		for _, who := range []string{"resident", "staff-a"} {
			tl, err := w.svc.Timeline(ctx, w.as(who), c.ID, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(tl) < 2 || tl[0].ActorName != "resident" || tl[1].ActorName != "staff-a" {
				t.Errorf("%s reads the timeline: got %+v, want the reporter and staff-a as actors", who, tl)
			}
		}
	})
}
