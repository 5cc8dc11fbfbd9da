package dict_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/dict"
	"whistle/internal/errs"
	"whistle/internal/i18n"
)

var actor = audit.System("test")

func auditCount(t *testing.T, d *db.DB, action string) int {
	t.Helper()
	var n int
	if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM audit_log WHERE action = $1`, action).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSeededTypes(t *testing.T) {
	dbtest.Each(t, clock.NewFake(time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)), func(t *testing.T, d *db.DB) {
		s := dict.NewStore(d)
		types, err := s.Types(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ty := range types {
			got = append(got, ty.Code)
		}
		if want := "case_source resident_type id_doc_type"; strings.Join(got, " ") != want {
			t.Errorf("types: got %v, want %s", got, want)
		}
		ty, err := s.Get(context.Background(), "case_source")
		if err != nil {
			t.Fatal(err)
		}
		if len(ty.Items) != 7 || ty.Items[0].Code != "hotline" || ty.Items[0].Label != "12345热线" || !ty.Items[0].Enabled {
			t.Errorf("case_source items: got %+v, want hotline 12345热线 enabled first of 7", ty.Items)
		}
		// Migration 0031: the case sources are casework's, so that the
		// forms can offer them (web's sourceOptions).
		var codes []string
		for _, it := range ty.Items {
			codes = append(codes, it.Code)
		}
		if got, want := strings.Join(codes, " "), "hotline resident grid_patrol visit staff open311 sensor"; got != want {
			t.Errorf("case_source codes: got %s, want %s", got, want)
		}
		if _, err := s.Get(context.Background(), "nope"); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("Get(nope): got %v, want NotFound", err)
		}
	})
}

func TestAddItem(t *testing.T) {
	cases := []struct {
		name   string
		typ    string
		in     dict.Item
		code   errs.Code
		fields []string
	}{
		{"ok", "case_source", dict.Item{Code: "wechat", Label: " 微信公众号 ", LabelEN: "WeChat", Sort: 80}, "", nil},
		{"duplicate code", "case_source", dict.Item{Code: "hotline", Label: "热线"}, errs.Conflict, []string{"code"}},
		{"unknown type", "nope", dict.Item{Code: "x", Label: "x"}, errs.NotFound, nil},
		{"bad code and blank label", "case_source", dict.Item{Code: "Bad Code", Label: "  "}, errs.Invalid, []string{"code", "label"}},
		{"long english label and negative sort", "case_source", dict.Item{Code: "long", Label: "长", LabelEN: strings.Repeat("x", 65), Sort: -1}, errs.Invalid, []string{"label_en", "sort"}},
	}
	dbtest.Each(t, clock.NewFake(time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)), func(t *testing.T, d *db.DB) {
		s := dict.NewStore(d)
		ctx := context.Background()
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := auditCount(t, d, "dict.item.create")
				it, err := s.AddItem(ctx, actor, c.typ, c.in)
				if c.code == "" {
					if err != nil {
						t.Fatal(err)
					}
					if it.Label != "微信公众号" || !it.Enabled {
						t.Errorf("got %+v, want trimmed label, enabled", it)
					}
					ty, err := s.Get(ctx, c.typ)
					if err != nil {
						t.Fatal(err)
					}
					if last := ty.Items[len(ty.Items)-1]; last != *it {
						t.Errorf("stored: got %+v, want %+v", last, *it)
					}
					if got := auditCount(t, d, "dict.item.create"); got != before+1 {
						t.Errorf("audit entries: got %d, want %d", got, before+1)
					}
					return
				}
				if got := errs.CodeOf(err); got != c.code {
					t.Fatalf("error: got %v (%v), want %v", got, err, c.code)
				}
				var e *errs.Error
				errors.As(err, &e)
				var got []string
				for name := range e.Fields {
					got = append(got, name)
				}
				slices.Sort(got)
				if strings.Join(got, " ") != strings.Join(c.fields, " ") {
					t.Errorf("fields: got %v, want %v", got, c.fields)
				}
				if got := auditCount(t, d, "dict.item.create"); got != before {
					t.Errorf("audit entries: got %d, want %d (nothing written)", got, before)
				}
				if ty, err := s.Get(ctx, "case_source"); err == nil {
					for _, x := range ty.Items {
						if x.Code == c.in.Code && x.Label != "12345热线" {
							t.Errorf("item %s written: %+v", x.Code, x)
						}
					}
				}
			})
		}
	})
}

func TestUpdateItem(t *testing.T) {
	dbtest.Each(t, clock.NewFake(time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)), func(t *testing.T, d *db.DB) {
		s := dict.NewStore(d)
		ctx := context.Background()
		off, label := false, "上门来访"
		it, err := s.UpdateItem(ctx, actor, "case_source", "visit", dict.Patch{Label: &label, Enabled: &off})
		if err != nil {
			t.Fatal(err)
		}
		if it.Label != label || it.Enabled {
			t.Errorf("got %+v, want label %s, disabled", it, label)
		}
		ty, _ := s.Get(ctx, "case_source")
		if last := ty.Items[3]; last != *it {
			t.Errorf("stored: got %+v, want %+v", last, *it)
		}
		if got := auditCount(t, d, "dict.item.update"); got != 1 {
			t.Errorf("audit entries: got %d, want 1", got)
		}
		blank := " "
		_, err = s.UpdateItem(ctx, actor, "case_source", "visit", dict.Patch{Label: &blank})
		if errs.CodeOf(err) != errs.Invalid {
			t.Errorf("blank label: got %v, want Invalid", err)
		}
		if ty, _ := s.Get(ctx, "case_source"); ty.Items[3].Label != label {
			t.Errorf("after a refused update: label %q, want %q", ty.Items[3].Label, label)
		}
		if _, err := s.UpdateItem(ctx, actor, "case_source", "nope", dict.Patch{Label: &label}); errs.CodeOf(err) != errs.NotFound {
			t.Errorf("unknown item: got %v, want NotFound", err)
		}
		if got := auditCount(t, d, "dict.item.update"); got != 1 {
			t.Errorf("audit entries after refusals: got %d, want 1", got)
		}
	})
}

// TestActive: the options of a form are the enabled items in display
// order, each labelled in the language asked for.
func TestActive(t *testing.T) {
	dbtest.Each(t, clock.NewFake(time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)), func(t *testing.T, d *db.DB) {
		s := dict.NewStore(d)
		ctx := context.Background()
		off, first := false, 1
		if _, err := s.UpdateItem(ctx, actor, "case_source", "visit", dict.Patch{Enabled: &off}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.UpdateItem(ctx, actor, "case_source", "sensor", dict.Patch{Sort: &first}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.AddItem(ctx, actor, "case_source", dict.Item{Code: "wechat", Label: "微信公众号", Sort: 15}); err != nil {
			t.Fatal(err)
		}
		items, err := s.Active(ctx, "case_source")
		if err != nil {
			t.Fatal(err)
		}
		var zh, en []string
		for _, it := range items {
			zh = append(zh, it.LabelIn(i18n.ZH))
			en = append(en, it.LabelIn(i18n.EN))
		}
		if got, want := strings.Join(zh, ","), "物联感知,12345热线,微信公众号,居民上报,网格员巡查,工作人员代报,Open311 接口"; got != want {
			t.Errorf("active in zh: got %s, want %s", got, want)
		}
		// An item without an English label shows its Chinese one.
		if got, want := strings.Join(en, ","), "Sensor,12345 hotline,微信公众号,Resident report,Grid patrol,Reported by staff,Open311"; got != want {
			t.Errorf("active in en: got %s, want %s", got, want)
		}
		if items, err := s.Active(ctx, "nope"); err != nil || len(items) != 0 {
			t.Errorf("Active(nope): got %v, %v; want none", items, err)
		}
	})
}
