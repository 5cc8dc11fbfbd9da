package web

import (
	"testing"
	"time"

	"whistle/internal/i18n"
	"whistle/internal/policy"
)

// TestGroupUnclaimed: the 应享未享 entries are grouped by policy in the
// list's order; a person links to /people/{id}, an organisation to its 惠企
// page; the grid shows by name; a group's total sums the known amounts and
// is empty when none is known (the page then leaves the column out).
func TestGroupUnclaimed(t *testing.T) {
	hundred := 100.0
	since := time.Date(2026, 12, 6, 20, 0, 0, 0, time.UTC) // 04:00 the 7th in China
	us := []policy.Unclaimed{
		{Policy: "a", Title: policy.Text{ZH: "甲", EN: "A"}, Subject: policy.Subject{Kind: policy.KindPerson, ID: 7}, Name: "王*", GridCode: "g1", Amount: &hundred, Since: since},
		{Policy: "b", Title: policy.Text{ZH: "乙"}, Subject: policy.Subject{Kind: policy.KindOrganisation, ID: 9}, Name: "某公司", GridCode: "g2", Since: since},
		{Policy: "a", Title: policy.Text{ZH: "甲", EN: "A"}, Subject: policy.Subject{Kind: policy.KindPerson, ID: 8}, Name: "李*", GridCode: "g1", Amount: &hundred, Since: since},
	}
	gs := groupUnclaimed(i18n.EN, us, map[string]string{"g1": "一网格"})
	if len(gs) != 2 || gs[0].Policy != "a" || gs[1].Policy != "b" {
		t.Fatalf("groups %+v, want a then b", gs)
	}
	if gs[0].Title != "A" || len(gs[0].Entries) != 2 || gs[0].Total != "200.00" {
		t.Errorf("group a: %+v, want title A, 2 entries, total 200.00", gs[0])
	}
	if e := gs[0].Entries[1]; e.Href != "/people/8" || e.Grid != "一网格" || e.Since != "2026-12-07" || e.Amount != "100.00" {
		t.Errorf("entry %+v", e)
	}
	if gs[1].Title != "乙" || gs[1].Total != "" {
		t.Errorf("group b: %+v, want the zh title and no total", gs[1])
	}
	if e := gs[1].Entries[0]; e.Href != "/benefits/organisations/9" || !e.Organisation || e.Grid != "g2" {
		t.Errorf("organisation entry %+v", e)
	}
}
