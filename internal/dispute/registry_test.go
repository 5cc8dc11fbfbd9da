package dispute_test

import (
	"context"
	"testing"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/dispute"
	"whistle/internal/idcode"
	"whistle/internal/registry"
	"whistle/internal/worldtest"
)

// TestRegistryLinks: a party whose identity number the registry holds is
// linked to that person, wherever they live; one it does not hold is not;
// a hazard's organisation must be one the registry holds in the caller's
// scope.
func TestRegistryLinks(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d, clk)
		ctx := context.Background()
		sys := account.SystemScope()
		nd := newDispute()
		p, err := f.reg.AddPerson(ctx, sys, worldtest.Actor(), registry.PersonInput{IDNumber: nd.Parties[0].IDNumber, Name: "张三", Phone: "13800001111",
			HukouAddress: "温州市龙湾区永中街道一路1号", ResidenceAddress: "温州市龙湾区永中街道二路2号", Status: registry.StatusResident, GridCode: gridB1})
		if err != nil {
			t.Fatal(err)
		}
		dp := f.create(t, "grid-a")
		if got, want := dp.Parties[0].PersonID, p.ID; got != want {
			t.Errorf("applicant linked to %d, want %d", got, want)
		}
		if got := dp.Parties[1].PersonID; got != 0 {
			t.Errorf("respondent linked to %d, want none", got)
		}
		first17 := "91330303MA2AB0CD1"
		o, err := f.reg.AddOrganisation(ctx, sys, worldtest.Actor(), registry.OrganisationInput{CreditCode: first17 + string(idcode.CreditCheck(first17)),
			Name: "温州某某有限公司", Address: "永中街道一路1号", ContactName: "李四", ContactPhone: "13812345678", Industry: "餐饮", Size: "small",
			SafetyCategory: "key", GridCode: gridB1})
		if err != nil {
			t.Fatal(err)
		}
		nh := dispute.NewHazard{Region: gridA1, Type: "fire", Title: "后厨油烟管道积油", OrgID: o.ID}
		if _, err := f.svc.CreateHazard(ctx, f.as("grid-a"), nh); fieldKey(err, "org_id") != "hazard.err.org_unknown" {
			t.Errorf("grid-a naming B1's organisation: %v, want org_id unknown", err)
		}
		nh.OrgID = o.ID + 100
		nh.Region = gridB1
		if _, err := f.svc.CreateHazard(ctx, f.as("grid-b"), nh); fieldKey(err, "org_id") != "hazard.err.org_unknown" {
			t.Errorf("an organisation the registry lacks: %v, want org_id unknown", err)
		}
		nh.OrgID = o.ID
		h, err := f.svc.CreateHazard(ctx, f.as("grid-b"), nh)
		if err != nil || h.OrgID != o.ID {
			t.Errorf("grid-b naming B1's organisation: %+v %v", h, err)
		}
	})
}
