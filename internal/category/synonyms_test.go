package category_test

import (
	"testing"

	"whistle/internal/category"
)

// TestCategorySynonyms: what residents type finds the category they mean,
// through the embedded synonyms, pinyin and initials, and nothing else.
func TestCategorySynonyms(t *testing.T) {
	syn, err := category.DefaultSynonyms()
	if err != nil {
		t.Fatal(err)
	}
	cats, err := category.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	text := map[string]string{}
	for _, c := range cats {
		text[c.Code] = syn.SearchText(c.Code, c.Name, c.NameEN)
	}
	tests := []struct {
		name, q, code string
		want          bool
	}{
		{"停车 finds 机动车乱停放", "停车", "SJ0505", true},
		{"坑 finds 道路破损 (道路坑洼)", "坑", "SJ0110", true},
		{"道路坑洼 finds 道路破损", "道路坑洼", "SJ0110", true},
		{"楼道 finds 乱堆物堆料 (楼道堆物)", "楼道", "SJ0507", true},
		{"楼道堆物 finds 消防隐患 too", "楼道堆物", "ZL0201", true},
		{"pinyin of the name", "luantingfang", "SJ0505", true},
		{"initials of the name", "jdclt", "SJ0505", true},
		{"pinyin of a synonym", "weiting", "SJ0505", true},
		{"English name", "car parking", "SJ0505", true},
		{"code", "sj0505", "SJ0505", true},
		{"停车 does not find 路灯", "停车", "BJ0118", false},
		{"empty finds nothing", " ", "SJ0505", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := category.Matches(text[tt.code], tt.q); got != tt.want {
				t.Errorf("Matches(%s %q, %q) = %v, want %v", tt.code, text[tt.code], tt.q, got, tt.want)
			}
		})
	}
}
