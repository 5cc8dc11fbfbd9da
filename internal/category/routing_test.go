package category_test

import (
	"context"
	"testing"

	"whistle/internal/category"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
)

func TestRoute(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := seeded(t, d)
		rules := []category.Rule{
			// 暴露垃圾 goes to the district's own team, and in street S1 to
			// the street office.
			{CategoryCode: "SJ0102", RegionCode: "330303", Department: "D_CG"},
			{CategoryCode: "SJ0102", RegionCode: "330303001", Department: "S1OFFICE"},
			// On the whole of 市容环境 in S2, two rules: the higher priority wins.
			{CategoryCode: "SJ01", RegionCode: "330303002", Department: "JT", Priority: 1},
			{CategoryCode: "SJ01", RegionCode: "330303002", Department: "YL", Priority: 5},
			// A rule on the whole city for parts' public utilities.
			{CategoryCode: "BJ01", RegionCode: "330300", Department: "ZJ"},
		}
		for _, r := range rules {
			if _, err := s.AddRule(ctx, actor, r); err != nil {
				t.Fatalf("AddRule(%+v): %v", r, err)
			}
		}
		tests := []struct {
			name, code, path, want string
			err                    errs.Code
		}{
			{"street rule beats district rule", "SJ0102", gridPath, "S1OFFICE", ""},
			{"district rule where no street rule", "SJ0102", "/330300/330303/330303009/", "D_CG", ""},
			{"district rule at the district itself", "SJ0102", distPath, "D_CG", ""},
			{"no rule above the district: default", "SJ0102", cityPath, "ZJ", ""},
			{"rule on the category beats the parent's deeper rule", "SJ0102", s2Path + "330303002001/", "D_CG", ""},
			{"parent category's rule applies to a child", "SJ0103", s2Path, "YL", ""},
			{"highest priority wins", "SJ0199", s2Path + "330303002001/", "YL", ""},
			{"parent's rule outside its region: default", "SJ0103", s1Path, "CG", ""},
			{"rule on a major class reaches every leaf", "BJ0101", gridPath, "ZJ", ""},
			{"rules on the major class itself", "BJ01", s2Path, "ZJ", ""},
			{"no rule: category default", "BJ0201", gridPath, "JT", ""},
			{"no rule, no own default: ancestor's", "SJ0504", gridPath, "CG", ""},
			{"empty path: default", "SJ0102", "", "ZJ", ""},
			{"no default anywhere: the community", "ZL0601", gridPath, "", ""},
			{"governance default", "ZL0202", gridPath, "RQ", ""},
			{"unknown category", "NOPE", gridPath, "", errs.NotFound},
		}
		// SJ0504 店外经营 has its own default CG; clear it so the ancestor's
		// (SJ05 → CG) applies. BJ0114 has none by design.
		if _, err := s.Update(ctx, actor, "SJ0504", category.Patch{Department: ptr("")}); err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.Route(ctx, tt.code, tt.path)
				if errs.CodeOf(err) != tt.err || got != tt.want {
					t.Errorf("Route(%s, %s) = %q, %v; want %q, code %q", tt.code, tt.path, got, err, tt.want, tt.err)
				}
			})
		}
		sameOnTheSnapshot(t, s, []string{gridPath, distPath, cityPath, s1Path, s2Path, s2Path + "330303002001/", "/330300/330303/330303009/", ""})

		// Inactive categories still route, for old cases.
		if _, err := s.Update(ctx, actor, "SJ0102", category.Patch{Active: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Route(ctx, "SJ0102", gridPath); err != nil || got != "S1OFFICE" {
			t.Errorf("inactive SJ0102: got %q, %v; want S1OFFICE", got, err)
		}

		// Deleting the street's rule lets the district's apply.
		all, err := s.Rules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(rules) {
			t.Fatalf("got %d rules, want %d", len(all), len(rules))
		}
		for _, r := range all {
			if r.CategoryCode == "SJ0102" && r.RegionCode == "330303001" {
				if err := s.DeleteRule(ctx, actor, r.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		if got, err := s.Route(ctx, "SJ0102", gridPath); err != nil || got != "D_CG" {
			t.Errorf("after deleting the street's rule: got %q, %v; want D_CG", got, err)
		}
		sameOnTheSnapshot(t, s, []string{gridPath, s1Path, s2Path})
	})
}

// sameOnTheSnapshot checks that the routing snapshot (Store.Router, what
// casework routes submissions on) explains every category of the
// catalogue, and an unknown one, at each path exactly as the store does.
func sameOnTheSnapshot(t *testing.T, s *category.Store, paths []string) {
	t.Helper()
	ctx := context.Background()
	r, err := s.Router(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tree, err := s.Tree(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	codes := []string{"NOPE"}
	var walk func([]*category.Category)
	walk = func(cs []*category.Category) {
		for _, c := range cs {
			codes = append(codes, c.Code)
			walk(c.Children)
		}
	}
	walk(tree)
	if len(codes) < 50 {
		t.Fatalf("the catalogue has %d categories; want the default catalogue", len(codes)-1)
	}
	rules := 0
	for _, code := range codes {
		for _, path := range paths {
			want, werr := s.Explain(ctx, code, path)
			got, gerr := r.Explain(code, path)
			if errs.CodeOf(gerr) != errs.CodeOf(werr) || got.Department != want.Department || got.DefaultOf != want.DefaultOf ||
				got.Source() != want.Source() || (got.Rule == nil) != (want.Rule == nil) || (got.Rule != nil && *got.Rule != *want.Rule) {
				t.Errorf("Router.Explain(%s, %s) = %+v, %v; Store.Explain = %+v, %v", code, path, got, gerr, want, werr)
			}
			if want.Rule != nil {
				rules++
			}
		}
	}
	if rules == 0 {
		t.Errorf("no routing rule decided any of %d answers: the comparison saw none", len(codes)*len(paths))
	}
}

func TestRules(t *testing.T) {
	cat := mustCatalog(t)
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := seeded(t, d)
		ok := category.Rule{CategoryCode: "ZL05", RegionCode: "330303001", Department: "S1OFFICE", Priority: 3}
		with := func(f func(r *category.Rule)) category.Rule {
			r := ok
			f(&r)
			return r
		}
		tests := []struct {
			name  string
			in    category.Rule
			code  errs.Code
			field string
		}{
			{"ok", ok, "", ""},
			{"same category and region, other priority", with(func(r *category.Rule) { r.Priority = 4 }), "", ""},
			{"duplicate", ok, errs.Conflict, "priority"},
			{"unknown category", with(func(r *category.Rule) { r.CategoryCode = "NOPE" }), errs.Invalid, "category_code"},
			{"missing category", with(func(r *category.Rule) { r.CategoryCode = "" }), errs.Invalid, "category_code"},
			{"unknown region", with(func(r *category.Rule) { r.RegionCode = "999" }), errs.Invalid, "region_code"},
			{"missing region", with(func(r *category.Rule) { r.RegionCode = "" }), errs.Invalid, "region_code"},
			{"unknown department", with(func(r *category.Rule) { r.Department = "NOPE" }), errs.Invalid, "department"},
			{"missing department", with(func(r *category.Rule) { r.Department = "" }), errs.Invalid, "department"},
			{"negative priority", with(func(r *category.Rule) { r.Priority = -1 }), errs.Invalid, "priority"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := auditCount(t, d, "routing_rule.create")
				r, err := s.AddRule(ctx, actor, tt.in)
				checkErr(t, cat, err, tt.code, tt.field)
				want := before
				if tt.code == "" {
					want++
					if r.ID == 0 || r.CategoryName != "噪音扰民" || r.RegionName != "330303001" || r.Department != tt.in.Department ||
						r.Priority != tt.in.Priority || !r.CreatedAt.Equal(t0) {
						t.Errorf("got %+v", r)
					}
				}
				if got := auditCount(t, d, "routing_rule.create"); got != want {
					t.Errorf("got %d routing_rule.create audit entries, want %d", got, want)
				}
			})
		}
		rules, err := s.Rules(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rules) != 2 || rules[0].Priority != 4 || rules[1].Priority != 3 {
			t.Fatalf("got %d rules (%+v), want priorities 4 then 3", len(rules), rules)
		}
		if err := s.DeleteRule(ctx, actor, rules[0].ID); err != nil {
			t.Fatal(err)
		}
		checkErr(t, cat, s.DeleteRule(ctx, actor, rules[0].ID), errs.NotFound, "")
		if _, err := s.Rule(ctx, rules[0].ID); !errs.Is(err, errs.NotFound) {
			t.Errorf("Rule after delete: got %v, want not_found", err)
		}
		if got := auditCount(t, d, "routing_rule.delete"); got != 1 {
			t.Errorf("got %d routing_rule.delete audit entries, want 1", got)
		}
	})
}
