package category_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"whistle/internal/audit"
	"whistle/internal/category"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
	"whistle/internal/i18n"
)

var t0 = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)

var actor = audit.System("test")

// Regions of the tests: city C, district D, streets S1 and S2 of D,
// community S1C1 of S1 and grid S1C1G1 of S1C1.
const (
	cityPath = "/330300/"
	distPath = "/330300/330303/"
	s1Path   = "/330300/330303/330303001/"
	s2Path   = "/330300/330303/330303002/"
	gridPath = "/330300/330303/330303001/330303001011/330303001011001/"
)

// seedRegions writes the regions above and the departments of the default
// catalogue.
func seedRegions(t *testing.T, d *db.DB) {
	t.Helper()
	ctx := context.Background()
	rows := []struct{ code, parent, level, path string }{
		{"330300", "", "city", cityPath},
		{"330303", "330300", "district", distPath},
		{"330303001", "330303", "street", s1Path},
		{"330303002", "330303", "street", s2Path},
		{"330303001011", "330303001", "community", "/330300/330303/330303001/330303001011/"},
		{"330303001011001", "330303001011", "grid", gridPath},
	}
	err := d.InTx(ctx, func(tx *db.Tx) error {
		for _, r := range rows {
			var parent any
			if r.parent != "" {
				parent = r.parent
			}
			if _, err := tx.Exec(ctx, `INSERT INTO regions (code, parent_code, name, level, path, geometry, min_lng, min_lat, max_lng, max_lat, interior_lng, interior_lat, created_at, updated_at)
				VALUES ($1, $2, $1, $3, $4, '{}', 0, 0, 1, 1, 0.5, 0.5, $5, $5)`, r.code, parent, r.level, r.path, tx.Now()); err != nil {
				return err
			}
		}
		for _, dep := range []string{"CG", "ZJ", "SCJG", "STHJ", "SW", "JT", "GA", "YL", "GD", "RQ", "S1OFFICE", "D_CG"} {
			if _, err := tx.Exec(ctx, `INSERT INTO departments (code, name, region_code, created_at) VALUES ($1, $1, '330303', $2)`, dep, tx.Now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// seeded returns a store on a database holding the regions, departments and
// default catalogue.
func seeded(t *testing.T, d *db.DB) *category.Store {
	t.Helper()
	seedRegions(t, d)
	s := category.NewStore(d)
	if _, err := s.SeedDefaults(context.Background(), actor); err != nil {
		t.Fatal(err)
	}
	return s
}

func mustCatalog(t *testing.T) *i18n.Catalog {
	t.Helper()
	c, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// checkErr fails unless err has the code and (when field is set) a message
// for field, and unless every message key of err is in the catalogue.
func checkErr(t *testing.T, cat *i18n.Catalog, err error, code errs.Code, field string) {
	t.Helper()
	if got := errs.CodeOf(err); got != code {
		t.Fatalf("got error %v (code %q), want code %q", err, got, code)
	}
	if code == "" {
		return
	}
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("got %T %v, want an *errs.Error", err, err)
	}
	if field != "" {
		if _, ok := e.Fields[field]; !ok {
			t.Errorf("got fields %v, want one for %q", e.Fields, field)
		}
	}
	keys := []string{e.Msg.Key}
	for _, m := range e.Fields {
		keys = append(keys, m.Key)
	}
	for _, k := range keys {
		if !cat.Has(k) {
			t.Errorf("message key %q is not in the catalogue", k)
		}
	}
}

func auditCount(t *testing.T, d *db.DB, action string) int {
	t.Helper()
	es, err := audit.List(context.Background(), d, audit.Filter{Action: action, Limit: 500})
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

func TestSeedDefaults(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		seedRegions(t, d)
		s := category.NewStore(d)
		defs, err := category.Defaults()
		if err != nil {
			t.Fatal(err)
		}
		n, err := s.SeedDefaults(ctx, actor)
		if err != nil {
			t.Fatal(err)
		}
		if n != len(defs) {
			t.Errorf("first seed: got %d inserted, want %d", n, len(defs))
		}
		n, err = s.SeedDefaults(ctx, actor)
		if err != nil || n != 0 {
			t.Errorf("second seed: got %d, %v; want 0, nil", n, err)
		}
		if got := auditCount(t, d, "category.seed"); got != 1 {
			t.Errorf("got %d category.seed audit entries, want 1", got)
		}

		all, err := s.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(defs) {
			t.Fatalf("got %d categories, want %d", len(all), len(defs))
		}
		// 85 part and 54 event subclasses, each under a 2-digit major class.
		leaves := map[string]int{}
		for _, c := range all {
			if len(c.Code) == 6 && (c.Kind == category.Part || c.Kind == category.Event) {
				leaves[string(c.Kind)]++
			}
			if c.Open311 && !c.Workflow.Valid() {
				t.Errorf("%s: leaf without a valid workflow (%q)", c.Code, c.Workflow)
			}
			if !c.Active || !c.CreatedAt.Equal(t0) {
				t.Errorf("%s: active %v, created %v; want true, %v", c.Code, c.Active, c.CreatedAt, t0)
			}
		}
		if leaves["part"] != 85 || leaves["event"] != 54 {
			t.Errorf("got %d parts and %d events, want 85 and 54", leaves["part"], leaves["event"])
		}

		tests := []struct {
			code, parent, name, nameEN, dept, limit string
			kind                                    category.Kind
			workflow                                category.Workflow
			open311, urgent                         bool
			fields                                  int
		}{
			{"BJ", "", "部件", "Urban parts", "", "", category.Part, category.WorkflowUrban, false, false, 0},
			{"BJ01", "BJ", "公用设施", "Public utilities", "CG", "", category.Part, category.WorkflowUrban, false, false, 0},
			{"BJ0101", "BJ01", "上水井盖", "Water-supply manhole cover", "SW", "6ch", category.Part, category.WorkflowUrban, true, false, 1},
			{"SJ0101", "SJ01", "私搭乱建", "Illegal construction", "ZJ", "15wd", category.Event, category.WorkflowUrban, true, false, 0},
			{"SJ0599", "SJ05", "其他街面秩序问题", "Other street-order problem", "CG", "", category.Event, category.WorkflowUrban, true, false, 0},
			{"ZL0202", "ZL02", "燃气隐患", "Gas hazards", "RQ", "4ch", category.Governance, category.WorkflowWhistle, true, true, 0},
			{"ZL05", "ZL", "噪音扰民", "Noise nuisance", "STHJ", "2wd", category.Governance, category.WorkflowWhistle, true, false, 2},
		}
		for _, tt := range tests {
			c, err := s.Get(ctx, tt.code)
			if err != nil {
				t.Errorf("Get(%s): %v", tt.code, err)
				continue
			}
			got := []any{c.ParentCode, c.Name, c.NameEN, c.Department, c.TimeLimit, c.Kind, c.Workflow, c.Open311, c.Urgent, len(c.Fields)}
			want := []any{tt.parent, tt.name, tt.nameEN, tt.dept, tt.limit, tt.kind, tt.workflow, tt.open311, tt.urgent, tt.fields}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s: got %v, want %v", tt.code, got, want)
					break
				}
			}
		}
		bj, _ := s.Get(ctx, "BJ0101")
		if f := bj.Fields[0]; f.Key != "cover_state" || f.Datatype != category.FieldSingleValueList || !f.Required || len(f.Values) < 3 {
			t.Errorf("BJ0101 field: got %+v, want a required cover_state list", f)
		}
	})
}

func TestSeedDefaultsSkipsNonEmptyTable(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		seedRegions(t, d)
		s := category.NewStore(d)
		if _, err := s.Create(ctx, actor, category.Category{Code: "XF", Name: "信访", Kind: category.Governance, Workflow: category.WorkflowWhistle}); err != nil {
			t.Fatal(err)
		}
		n, err := s.SeedDefaults(ctx, actor)
		if err != nil || n != 0 {
			t.Fatalf("got %d, %v; want 0, nil", n, err)
		}
		if _, err := s.Get(ctx, "BJ0101"); !errs.Is(err, errs.NotFound) {
			t.Errorf("Get(BJ0101): got %v, want not_found", err)
		}
	})
}

func codes(cs []*category.Category) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Code)
	}
	return strings.Join(out, " ")
}

func find(cs []*category.Category, code string) *category.Category {
	for _, c := range cs {
		if c.Code == code {
			return c
		}
		if f := find(c.Children, code); f != nil {
			return f
		}
	}
	return nil
}

func TestTree(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := seeded(t, d)
		roots, err := s.Tree(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := codes(roots), "ZL BJ SJ"; got != want {
			t.Errorf("roots: got %q, want %q", got, want)
		}
		if got, want := codes(find(roots, "SJ").Children), "SJ01 SJ02 SJ03 SJ04 SJ05"; got != want {
			t.Errorf("SJ children: got %q, want %q", got, want)
		}
		sj04 := find(roots, "SJ04").Children
		if got, want := codes(sj04[len(sj04)-2:]), "SJ0409 SJ0499"; got != want {
			t.Errorf("SJ04's last children: got %q, want %q", got, want)
		}
		if n := len(find(roots, "BJ01").Children); n != 38 {
			t.Errorf("BJ01: got %d children, want 38", n)
		}
		if c := find(roots, "BJ0101"); c == nil || !c.Leaf() {
			t.Errorf("BJ0101: got %+v, want a leaf", c)
		}

		// Sort comes before code.
		for code, sort := range map[string]int{"ZL07": -2, "ZL08": -1} {
			if _, err := s.Update(ctx, actor, code, category.Patch{Sort: &sort}); err != nil {
				t.Fatal(err)
			}
		}
		roots, _ = s.Tree(ctx, false)
		if got, want := codes(find(roots, "ZL").Children), "ZL07 ZL08 ZL01 ZL02 ZL03 ZL04 ZL05 ZL06"; got != want {
			t.Errorf("ZL children after re-sorting: got %q, want %q", got, want)
		}

		// Deactivating hides the subtree but Get still answers.
		off := false
		if _, err := s.Update(ctx, actor, "BJ01", category.Patch{Active: &off}); err != nil {
			t.Fatal(err)
		}
		roots, _ = s.Tree(ctx, false)
		if c := find(roots, "BJ01"); c != nil {
			t.Errorf("inactive BJ01 is in the active tree")
		}
		if c := find(roots, "BJ0101"); c != nil {
			t.Errorf("BJ0101 under inactive BJ01 is in the active tree")
		}
		if c := find(roots, "BJ02"); c == nil {
			t.Errorf("BJ02 vanished from the active tree")
		}
		roots, _ = s.Tree(ctx, true)
		if c := find(roots, "BJ0101"); c == nil || find(roots, "BJ01").Active {
			t.Errorf("Tree(includeInactive): got BJ0101 %v, want it under an inactive BJ01", c)
		}
		c, err := s.Get(ctx, "BJ01")
		if err != nil || c.Active {
			t.Errorf("Get(BJ01) after deactivation: got %+v, %v; want it inactive", c, err)
		}
		sub, err := s.Subtree(ctx, "BJ01", false)
		if err != nil || sub.Active || len(sub.Children) != 38 {
			t.Errorf("Subtree(BJ01): got %+v, %v; want the inactive node with 38 children", sub, err)
		}
		if _, err := s.Subtree(ctx, "NOPE", false); !errs.Is(err, errs.NotFound) {
			t.Errorf("Subtree(NOPE): got %v, want not_found", err)
		}
		if _, err := s.Get(ctx, "NOPE"); !errs.Is(err, errs.NotFound) {
			t.Errorf("Get(NOPE): got %v, want not_found", err)
		}
	})
}

func coverField() category.Field {
	return category.Field{Key: "state", Label: "状态", Datatype: category.FieldSingleValueList, Required: true, Order: 1,
		Values: []category.Value{{Key: "missing", Name: "缺失"}, {Key: "broken", Name: "破损"}}}
}

func TestCreate(t *testing.T) {
	cat := mustCatalog(t)
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := seeded(t, d)
		with := func(f func(c *category.Category)) category.Category {
			c := category.Category{Code: "ZL0105", ParentCode: "ZL01", Name: "婚恋纠纷", NameEN: "Relationship disputes", TimeLimit: "3wd"}
			f(&c)
			return c
		}
		tests := []struct {
			name  string
			in    category.Category
			code  errs.Code
			field string
		}{
			{"ok", with(func(c *category.Category) {}), "", ""},
			{"root", category.Category{Code: "XF", Name: "信访", Kind: category.Governance, Workflow: category.WorkflowWhistle}, "", ""},
			{"duplicate code", with(func(c *category.Category) { c.Code = "ZL0101" }), errs.Conflict, "code"},
			{"unknown parent", with(func(c *category.Category) { c.ParentCode = "ZL99" }), errs.Invalid, "parent_code"},
			{"code outside the parent", with(func(c *category.Category) { c.Code = "ZL0201X" }), errs.Invalid, "code"},
			{"bad code", with(func(c *category.Category) { c.Code = "zl0105" }), errs.Invalid, "code"},
			{"missing name", with(func(c *category.Category) { c.Name = " " }), errs.Invalid, "name"},
			{"long name", with(func(c *category.Category) { c.Name = strings.Repeat("长", 65) }), errs.Invalid, "name"},
			{"kind differs from parent", with(func(c *category.Category) { c.Kind = category.Part }), errs.Invalid, "kind"},
			{"root without kind", category.Category{Code: "XF", Name: "信访", Workflow: category.WorkflowWhistle}, errs.Invalid, "kind"},
			{"root without workflow", category.Category{Code: "XF", Name: "信访", Kind: category.Governance}, errs.Invalid, "workflow"},
			{"bad workflow", with(func(c *category.Category) { c.Workflow = "12345" }), errs.Invalid, "workflow"},
			{"unknown department", with(func(c *category.Category) { c.Department = "NOPE" }), errs.Invalid, "department"},
			{"bad time limit", with(func(c *category.Category) { c.TimeLimit = "3 days" }), errs.Invalid, "time_limit"},
			{"zero time limit", with(func(c *category.Category) { c.TimeLimit = "0h" }), errs.Invalid, "time_limit"},
			{"negative common", with(func(c *category.Category) { c.Common = -1 }), errs.Invalid, "common"},
			{"field with unknown datatype", with(func(c *category.Category) {
				c.Fields = []category.Field{{Key: "x", Label: "X", Datatype: "blob"}}
			}), errs.Invalid, "fields[0].datatype"},
			{"list without values", with(func(c *category.Category) {
				c.Fields = []category.Field{{Key: "x", Label: "X", Datatype: category.FieldMultiValueList}}
			}), errs.Invalid, "fields[0].values"},
			{"values on a non-list", with(func(c *category.Category) {
				c.Fields = []category.Field{{Key: "x", Label: "X", Datatype: category.FieldString, Values: []category.Value{{Key: "a", Name: "A"}}}}
			}), errs.Invalid, "fields[0].values"},
			{"duplicate field keys", with(func(c *category.Category) { c.Fields = []category.Field{coverField(), coverField()} }), errs.Invalid, "fields[1].key"},
			{"bad field key", with(func(c *category.Category) {
				f := coverField()
				f.Key = "State"
				c.Fields = []category.Field{f}
			}), errs.Invalid, "fields[0].key"},
			{"field without label", with(func(c *category.Category) {
				f := coverField()
				f.Label = ""
				c.Fields = []category.Field{f}
			}), errs.Invalid, "fields[0].label"},
			{"duplicate value keys", with(func(c *category.Category) {
				f := coverField()
				f.Values = append(f.Values, f.Values[0])
				c.Fields = []category.Field{f}
			}), errs.Invalid, "fields[0].values[2].key"},
			{"value without name", with(func(c *category.Category) {
				f := coverField()
				f.Values[1].Name = ""
				c.Fields = []category.Field{f}
			}), errs.Invalid, "fields[0].values[1].name"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := auditCount(t, d, "category.create")
				c, err := s.Create(ctx, actor, tt.in)
				checkErr(t, cat, err, tt.code, tt.field)
				wantAudit := before
				if tt.code == "" {
					wantAudit++
					if !c.Active || c.Code != tt.in.Code {
						t.Errorf("got %+v, want an active %s", c, tt.in.Code)
					}
				}
				if got := auditCount(t, d, "category.create"); got != wantAudit {
					t.Errorf("got %d category.create audit entries, want %d", got, wantAudit)
				}
			})
		}
		// The child inherited kind, edition and workflow from ZL01.
		c, err := s.Get(ctx, "ZL0105")
		if err != nil {
			t.Fatal(err)
		}
		if c.Kind != category.Governance || c.Edition != category.EditionWhistle || c.Workflow != category.WorkflowWhistle || c.TimeLimit != "3wd" {
			t.Errorf("got kind %q, edition %q, workflow %q, time limit %q; want the parent's and 3wd", c.Kind, c.Edition, c.Workflow, c.TimeLimit)
		}
	})
}

func ptr[T any](v T) *T { return &v }

func TestUpdate(t *testing.T) {
	cat := mustCatalog(t)
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := seeded(t, d)
		tests := []struct {
			name  string
			code  string
			p     category.Patch
			err   errs.Code
			field string
			check func(c *category.Category) bool
		}{
			{"rename", "SJ0504", category.Patch{Name: ptr("占道经营"), NameEN: ptr("Street trading on the road")}, "", "",
				func(c *category.Category) bool {
					return c.Name == "占道经营" && c.NameEN == "Street trading on the road"
				}},
			{"route elsewhere", "SJ0504", category.Patch{Department: ptr("SCJG"), TimeLimit: ptr("4h"), Urgent: ptr(true)}, "", "",
				func(c *category.Category) bool { return c.Department == "SCJG" && c.TimeLimit == "4h" && c.Urgent }},
			{"switch workflow", "SJ0504", category.Patch{Workflow: ptr(category.WorkflowWhistle)}, "", "",
				func(c *category.Category) bool { return c.Workflow == category.WorkflowWhistle }},
			{"fields sorted by order", "SJ0504", category.Patch{Fields: &[]category.Field{
				{Key: "b", Label: "B", Datatype: category.FieldNumber, Order: 2},
				{Key: "a", Label: "A", Datatype: category.FieldText, Order: 1},
			}}, "", "", func(c *category.Category) bool { return len(c.Fields) == 2 && c.Fields[0].Key == "a" }},
			{"clear fields", "SJ0504", category.Patch{Fields: &[]category.Field{}}, "", "",
				func(c *category.Category) bool { return len(c.Fields) == 0 }},
			{"common and open311", "SJ0504", category.Patch{Common: ptr(20), Open311: ptr(false)}, "", "",
				func(c *category.Category) bool { return c.Common == 20 && !c.Open311 }},
			{"deactivate", "SJ0504", category.Patch{Active: ptr(false)}, "", "",
				func(c *category.Category) bool { return !c.Active }},
			{"unknown category", "NOPE", category.Patch{Name: ptr("x")}, errs.NotFound, "", nil},
			{"blank name", "SJ0504", category.Patch{Name: ptr("  ")}, errs.Invalid, "name", nil},
			{"bad workflow", "SJ0504", category.Patch{Workflow: ptr(category.Workflow("12345"))}, errs.Invalid, "workflow", nil},
			{"unknown department", "SJ0504", category.Patch{Department: ptr("NOPE")}, errs.Invalid, "department", nil},
			{"bad time limit", "SJ0504", category.Patch{TimeLimit: ptr("2d")}, errs.Invalid, "time_limit", nil},
			{"duplicate field keys", "SJ0504", category.Patch{Fields: &[]category.Field{coverField(), coverField()}}, errs.Invalid, "fields[1].key", nil},
			{"unknown datatype", "SJ0504", category.Patch{Fields: &[]category.Field{{Key: "x", Label: "X", Datatype: "photo"}}}, errs.Invalid, "fields[0].datatype", nil},
			{"list without values", "SJ0504", category.Patch{Fields: &[]category.Field{{Key: "x", Label: "X", Datatype: category.FieldSingleValueList}}}, errs.Invalid, "fields[0].values", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := auditCount(t, d, "category.update")
				c, err := s.Update(ctx, actor, tt.code, tt.p)
				checkErr(t, cat, err, tt.err, tt.field)
				wantAudit := before
				if tt.err == "" {
					wantAudit++
					if !tt.check(c) {
						t.Errorf("got %+v after the update", c)
					}
					again, _ := s.Get(ctx, tt.code)
					if !tt.check(again) {
						t.Errorf("got %+v on reading back", again)
					}
				}
				if got := auditCount(t, d, "category.update"); got != wantAudit {
					t.Errorf("got %d category.update audit entries, want %d", got, wantAudit)
				}
			})
		}
		// A failed update changed nothing.
		c, _ := s.Get(ctx, "SJ0504")
		if c.Department != "SCJG" || c.TimeLimit != "4h" || c.Workflow != category.WorkflowWhistle {
			t.Errorf("after failed updates: got department %q, time limit %q, workflow %q", c.Department, c.TimeLimit, c.Workflow)
		}
	})
}

func TestValidateFields(t *testing.T) {
	cat := mustCatalog(t)
	c := &category.Category{Code: "T", Fields: []category.Field{
		{Key: "state", Label: "状态", Datatype: category.FieldSingleValueList, Required: true,
			Values: []category.Value{{Key: "missing", Name: "缺失"}, {Key: "broken", Name: "破损"}}},
		{Key: "tags", Label: "标签", Datatype: category.FieldMultiValueList,
			Values: []category.Value{{Key: "a", Name: "A"}, {Key: "b", Name: "B"}}},
		{Key: "count", Label: "数量", Datatype: category.FieldNumber},
		{Key: "seen", Label: "发现时间", Datatype: category.FieldDatetime},
		{Key: "plate", Label: "车牌", Datatype: category.FieldString},
		{Key: "note", Label: "说明", Datatype: category.FieldText},
	}}
	tests := []struct {
		name   string
		values map[string]string
		field  string // "" = valid
	}{
		{"required only", map[string]string{"state": "missing"}, ""},
		{"everything", map[string]string{"state": "broken", "tags": "a, b", "count": "2.5", "seen": "2026-11-23T10:00:00+08:00", "plate": "浙C12345", "note": "多行\n说明"}, ""},
		{"blank optional values", map[string]string{"state": "broken", "count": " ", "seen": ""}, ""},
		{"missing required", map[string]string{"count": "1"}, "state"},
		{"blank required", map[string]string{"state": "  "}, "state"},
		{"nil map", nil, "state"},
		{"not a choice", map[string]string{"state": "gone"}, "state"},
		{"one bad choice of many", map[string]string{"state": "missing", "tags": "a,c"}, "tags"},
		{"not a number", map[string]string{"state": "missing", "count": "two"}, "count"},
		{"infinite number", map[string]string{"state": "missing", "count": "Inf"}, "count"},
		{"not RFC 3339", map[string]string{"state": "missing", "seen": "2026-11-23 10:00"}, "seen"},
		{"string too long", map[string]string{"state": "missing", "plate": strings.Repeat("x", 257)}, "plate"},
		{"text too long", map[string]string{"state": "missing", "note": strings.Repeat("字", 4001)}, "note"},
		{"unknown key", map[string]string{"state": "missing", "colour": "red"}, "colour"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := category.ValidateFields(c, tt.values)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("got %v, want nil", err)
				}
				return
			}
			checkErr(t, cat, err, errs.Invalid, tt.field)
			if e, _ := errs.As(err); len(e.Fields) != 1 {
				t.Errorf("got fields %v, want only %q", e.Fields, tt.field)
			}
		})
	}
	// A category without fields accepts nothing but no values.
	if err := category.ValidateFields(&category.Category{Code: "E"}, map[string]string{}); err != nil {
		t.Errorf("no fields, no values: got %v, want nil", err)
	}
	if err := category.ValidateFields(&category.Category{Code: "E"}, map[string]string{"x": "1"}); err == nil {
		t.Errorf("no fields, one value: got nil, want an error")
	}
}

func TestStoreValidateFields(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := seeded(t, d)
		tests := []struct {
			code   string
			values map[string]string
			want   errs.Code
		}{
			{"BJ0101", map[string]string{"cover_state": "missing"}, ""},
			{"BJ0101", map[string]string{}, errs.Invalid},
			{"SJ0102", map[string]string{}, ""},
			{"NOPE", map[string]string{}, errs.NotFound},
		}
		for _, tt := range tests {
			if got := errs.CodeOf(s.ValidateFields(ctx, tt.code, tt.values)); got != tt.want {
				t.Errorf("ValidateFields(%s, %v): got %q, want %q", tt.code, tt.values, got, tt.want)
			}
		}
	})
}
