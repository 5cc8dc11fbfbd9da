package account_test

import (
	"context"
	"strings"
	"testing"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
)

func ptr[T any](v T) *T { return &v }

// TestUpdateUserDisable: a disabled user's session ends and they cannot log
// in; enabling them again lets them in. The change is audited with the
// fields before and after.
func TestUpdateUserDisable(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		seedRegions(t, d)
		s := mustStore(t, d)
		ctx := context.Background()
		admin := mustAdd(t, s, "admin", "330303", account.Admin)
		alice := mustAdd(t, s, "alice", "330303001001", account.CommunityStaff)
		c := account.Client{IP: "10.0.0.1"}
		tok, _, _, err := s.Login(ctx, "alice", "secret-pass", account.WebSession, c)
		if err != nil {
			t.Fatal(err)
		}
		actor := audit.Actor{UserID: admin.ID, Name: "admin"}
		u, err := s.UpdateUser(ctx, actor, account.ScopeOf(admin), alice.ID, account.UserChange{Disabled: ptr(true)})
		if err != nil {
			t.Fatal(err)
		}
		if !u.Disabled {
			t.Errorf("Disabled = false after disabling")
		}
		if _, _, err := s.Authenticate(ctx, tok); errs.CodeOf(err) != errs.Unauthorized {
			t.Errorf("session after disabling: err = %v, want unauthorized", err)
		}
		if _, _, _, err := s.Login(ctx, "alice", "secret-pass", account.WebSession, c); errs.CodeOf(err) != errs.Forbidden {
			t.Errorf("login while disabled: err = %v, want forbidden", err)
		}
		if _, err := s.UpdateUser(ctx, actor, account.ScopeOf(admin), alice.ID, account.UserChange{Disabled: ptr(false)}); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := s.Login(ctx, "alice", "secret-pass", account.WebSession, c); err != nil {
			t.Errorf("login after enabling: %v", err)
		}
		es, err := audit.List(ctx, d, audit.Filter{Action: "user.update"})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range es {
			got = append(got, e.Summary)
		}
		want := []string{"disabled: true → false", "disabled: false → true"}
		if strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("audit summaries = %q, want %q", got, want)
		}
	})
}

// TestUpdateUserEdit: name, phone, roles and region change, the scope
// follows the new region, and the audit entry shows before and after
// without the phone number.
func TestUpdateUserEdit(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		seedRegions(t, d)
		s := mustStore(t, d)
		ctx := context.Background()
		admin := mustAdd(t, s, "admin", "330303", account.Admin)
		alice := mustAdd(t, s, "alice", "330303001001", account.CommunityStaff)
		resB := mustAdd(t, s, "resident-b", "330303001002", account.Resident)
		if _, err := s.User(ctx, account.ScopeOf(alice), resB.ID); errs.CodeOf(err) != errs.NotFound {
			t.Fatalf("before the move alice sees community B: %v", err)
		}
		u, err := s.UpdateUser(ctx, audit.Actor{UserID: admin.ID, Name: "admin"}, account.ScopeOf(admin), alice.ID, account.UserChange{
			DisplayName: ptr("李娜"), Phone: ptr("13900001111"), RegionCode: ptr("330303001002"),
			Roles: []account.Role{account.CommunityStaff, account.PartyMember}})
		if err != nil {
			t.Fatal(err)
		}
		if u.DisplayName != "李娜" || u.Phone != "13900001111" || u.Region.Code != "330303001002" || !u.Has(account.PartyMember) {
			t.Errorf("after edit: %+v", u)
		}
		if _, err := s.User(ctx, account.ScopeOf(u), resB.ID); err != nil {
			t.Errorf("after the move alice does not see community B: %v", err)
		}
		es, err := audit.List(ctx, d, audit.Filter{Action: "user.update"})
		if err != nil || len(es) != 1 {
			t.Fatalf("audit = %v, %v; want one entry", es, err)
		}
		want := "display_name:  → 李娜; phone: changed; roles: community_staff → community_staff,party_member; region: 330303001001 → 330303001002"
		if es[0].Summary != want {
			t.Errorf("audit summary = %q, want %q", es[0].Summary, want)
		}
	})
}

// TestUpdateUserInvalid: bad input is refused per field and writes nothing.
func TestUpdateUserInvalid(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		seedRegions(t, d)
		s := mustStore(t, d)
		ctx := context.Background()
		admin := mustAdd(t, s, "admin", "330303", account.Admin)
		staffA := mustAdd(t, s, "staff-a", "330303001001", account.CommunityStaff)
		alice := mustAdd(t, s, "alice", "330303001001", account.CommunityStaff)
		self := audit.Actor{UserID: admin.ID, Name: "admin"}
		cases := []struct {
			name  string
			actor audit.Actor
			scope account.Scope
			ch    account.UserChange
			field string
		}{
			{"nothing", self, account.ScopeOf(admin), account.UserChange{}, "disabled"},
			{"bad phone", self, account.ScopeOf(admin), account.UserChange{Phone: ptr("123")}, "phone"},
			{"unknown role", self, account.ScopeOf(admin), account.UserChange{Roles: []account.Role{"king"}}, "roles"},
			{"no roles", self, account.ScopeOf(admin), account.UserChange{Roles: []account.Role{}}, "roles"},
			{"unknown region", self, account.ScopeOf(admin), account.UserChange{RegionCode: ptr("999")}, "region"},
			{"region outside scope", self, account.ScopeOf(admin), account.UserChange{RegionCode: ptr("330304")}, "region"},
			{"community staff moves to community B", audit.Actor{UserID: staffA.ID}, account.ScopeOf(staffA),
				account.UserChange{RegionCode: ptr("330303001002")}, "region"},
			{"handler without department", self, account.ScopeOf(admin), account.UserChange{Roles: []account.Role{account.DepartmentHandler}}, "department"},
			{"unknown department", self, account.ScopeOf(admin),
				account.UserChange{Roles: []account.Role{account.DepartmentHandler}, DepartmentCode: ptr("zz")}, "department"},
			{"department without the role", self, account.ScopeOf(admin), account.UserChange{DepartmentCode: ptr("cg")}, "department"},
			{"name too long", self, account.ScopeOf(admin), account.UserChange{DisplayName: ptr(strings.Repeat("x", 101))}, "display_name"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.UpdateUser(ctx, tc.actor, tc.scope, alice.ID, tc.ch)
				e, ok := errs.As(err)
				if !ok || e.Code != errs.Invalid {
					t.Fatalf("err = %v, want invalid", err)
				}
				if _, ok := e.Fields[tc.field]; !ok {
					t.Errorf("fields = %v, want a message for %q", e.Fields, tc.field)
				}
			})
		}
		for _, tc := range []struct {
			name  string
			ch    account.UserChange
			field string
		}{
			{"disable yourself", account.UserChange{Disabled: ptr(true)}, "disabled"},
			{"lock yourself", account.UserChange{Locked: ptr(true)}, "locked"},
			{"drop your own admin role", account.UserChange{Roles: []account.Role{account.Leader}}, "roles"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := s.UpdateUser(ctx, self, account.ScopeOf(admin), admin.ID, tc.ch)
				if e, ok := errs.As(err); !ok || !hasField(e, tc.field) {
					t.Errorf("err = %v, want a message for %q", err, tc.field)
				}
			})
		}
		if _, err := s.UpdateUser(ctx, self, account.ScopeOf(staffA), admin.ID, account.UserChange{Disabled: ptr(true)}); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("editing a user outside scope: err = %v, want not_found", err)
		}
		got, err := s.User(ctx, account.SystemScope(), alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Region.Code != "330303001001" || got.Phone != "13812341234" || len(got.Roles) != 1 || got.DisplayName != "" {
			t.Errorf("alice changed by refused edits: %+v", got)
		}
		if es, _ := audit.List(ctx, d, audit.Filter{Action: "user.update"}); len(es) != 0 {
			t.Errorf("audit entries after refused edits = %d, want 0", len(es))
		}
	})
}

func hasField(e *errs.Error, f string) bool { _, ok := e.Fields[f]; return ok }
