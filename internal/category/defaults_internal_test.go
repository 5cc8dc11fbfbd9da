package category

import (
	"strings"
	"testing"
)

func TestDefaultsCatalogue(t *testing.T) {
	defs, err := Defaults()
	if err != nil {
		t.Fatal(err)
	}
	type count struct{ roots, groups, leaves int }
	got := map[Kind]count{}
	codes := map[string]*Category{}
	for i := range defs {
		c := &defs[i]
		if codes[c.Code] != nil {
			t.Errorf("code %s appears twice", c.Code)
		}
		codes[c.Code] = c
		if c.ParentCode != "" && codes[c.ParentCode] == nil {
			t.Errorf("%s comes before its parent %s", c.Code, c.ParentCode)
		}
		if !strings.HasPrefix(c.Code, c.ParentCode) {
			t.Errorf("%s does not start with its parent's code %s", c.Code, c.ParentCode)
		}
		e := invalid()
		checkAttrs(e, c)
		if !c.Kind.Valid() || c.NameEN == "" || len(e.Fields) > 0 {
			t.Errorf("%s: kind %q, name_en %q, validation %v", c.Code, c.Kind, c.NameEN, e)
		}
	}
	parents := map[string]bool{}
	for _, c := range defs {
		parents[c.ParentCode] = true
	}
	for _, c := range defs {
		n := got[c.Kind]
		switch {
		case c.ParentCode == "":
			n.roots++
		case parents[c.Code]:
			n.groups++
		default:
			n.leaves++
		}
		got[c.Kind] = n
		if leaf := !parents[c.Code]; c.Open311 != leaf {
			t.Errorf("%s: open311 = %v, want %v (leaf)", c.Code, c.Open311, leaf)
		}
		wantPrefix, wantEdition, wantWF := map[Kind]string{Part: "BJ", Event: "SJ", Governance: "ZL"}[c.Kind],
			map[Kind]string{Part: EditionCJT214, Event: EditionCJT214, Governance: EditionWhistle}[c.Kind],
			map[Kind]Workflow{Part: WorkflowUrban, Event: WorkflowUrban, Governance: WorkflowWhistle}[c.Kind]
		if !strings.HasPrefix(c.Code, wantPrefix) || c.Edition != wantEdition || c.Workflow != wantWF {
			t.Errorf("%s (%s): edition %q, workflow %q; want prefix %s, edition %q, workflow %q", c.Code, c.Kind, c.Edition, c.Workflow, wantPrefix, wantEdition, wantWF)
		}
	}
	want := map[Kind]count{Part: {1, 6, 85}, Event: {1, 5, 54}, Governance: {1, 5, 26}}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %+v (roots, groups, leaves), want %+v", k, got[k], w)
		}
	}
	common := 0
	for _, c := range defs {
		if c.Common > 0 {
			common++
		}
	}
	if common < 6 || common > 10 {
		t.Errorf("got %d common categories, want about 8", common)
	}
}

func TestDefaultDepartments(t *testing.T) {
	defs, err := Defaults()
	if err != nil {
		t.Fatal(err)
	}
	byCode := map[string]Category{}
	for _, c := range defs {
		byCode[c.Code] = c
	}
	tests := []struct {
		code, dept, limit string
		urgent            bool
	}{
		{"BJ0101", "SW", "6ch", false}, // 供水权属单位
		{"BJ0102", "SW", "6ch", false}, // 排水权属单位
		{"BJ0105", "GD", "6ch", false}, // 电力权属单位
		{"BJ0106", "CG", "6ch", false}, // 路灯照明权属单位
		{"BJ0107", "", "6ch", false},   // 通信权属单位: no such department
		{"BJ0111", "RQ", "6ch", false},
		{"BJ0112", "GA", "6ch", false},
		{"BJ0114", "", "", false},   // 权属待查
		{"BJ0118", "CG", "", false}, // 路灯, by major class
		{"BJ0201", "JT", "", false},
		{"BJ0305", "CG", "", false},
		{"BJ0402", "YL", "", false},
		{"BJ0502", "ZJ", "", false},
		{"BJ0601", "CG", "", false},
		{"SJ0101", "ZJ", "15wd", false}, // 规划;住建;街道
		{"SJ0103", "CG", "4wd", false},
		{"SJ0104", "ZJ", "5h", false},
		{"SJ0201", "CG", "", false},
		{"SJ0301", "ZJ", "", false},
		{"SJ0401", "GA", "", false},
		{"SJ0403", "RQ", "", false},
		{"SJ0505", "CG", "", false},
		{"ZL01", "", "5wd", false},
		{"ZL0202", "RQ", "4ch", true},
		{"ZL03", "CG", "2wd", false},
		{"ZL04", "ZJ", "5wd", false},
		{"ZL05", "STHJ", "2wd", false},
		{"ZL0601", "", "1wd", false},
	}
	for _, tt := range tests {
		c, ok := byCode[tt.code]
		if !ok {
			t.Errorf("%s missing", tt.code)
			continue
		}
		if c.Department != tt.dept || c.TimeLimit != tt.limit || c.Urgent != tt.urgent {
			t.Errorf("%s %s: got department %q, time limit %q, urgent %v; want %q, %q, %v", tt.code, c.Name, c.Department, c.TimeLimit, c.Urgent, tt.dept, tt.limit, tt.urgent)
		}
	}
}

func TestDepartmentFromText(t *testing.T) {
	tests := []struct {
		text, want string
		ok         bool
	}{
		{"", "", false},
		{"供水权属单位", "SW", true},
		{"排水权属单位", "SW", true},
		{"电力权属单位", "GD", true},
		{"燃气权属单位", "RQ", true},
		{"公安", "GA", true},
		{"路灯照明权属单位", "CG", true},
		{"广电权属单位", "", true},
		{"权属待查:供电/供水/燃气/通信/广电", "", true},
		{"住建;水利", "ZJ", true},
		{"规划;住建;街道", "ZJ", true},
	}
	for _, tt := range tests {
		got, ok := departmentFromText(tt.text)
		if got != tt.want || ok != tt.ok {
			t.Errorf("departmentFromText(%q) = %q, %v; want %q, %v", tt.text, got, ok, tt.want, tt.ok)
		}
	}
}
