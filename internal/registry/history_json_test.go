package registry

import (
	"encoding/json"
	"testing"
)

// TestDiffJSON holds diffJSON to what json.Marshal writes for the same
// changes, byte for byte, so that history rows written by an import read
// back as those written before it stopped using reflection.
func TestDiffJSON(t *testing.T) {
	for _, tc := range []struct {
		name    string
		changes map[string]Change
	}{
		{"empty", map[string]Change{}},
		{"create, sorted fields", map[string]Change{"name": {New: "张*"}, "grid_code": {New: "330303001001"}, "address": {New: "温州市**"}}},
		{"update", map[string]Change{"status": {Old: "resident", New: "floating"}}},
		{"quotes and backslashes", map[string]Change{"name": {Old: `a"b\c`, New: `\"`}}},
		{"controls", map[string]Change{"x": {Old: "a\nb\tc\rd\be\ff\x00g\x1f", New: "\x7f"}}},
		{"html", map[string]Change{"x": {Old: "<script>&</script>", New: "a>b"}}},
		{"invalid utf-8", map[string]Change{"x": {Old: "a\xffb\xc3", New: "\xe2\x28\xa1"}}},
		{"line separators", map[string]Change{"x": {Old: "a\u2028b\u2029c", New: "\u202a"}}},
		{"unicode", map[string]Change{"人员": {Old: "常住", New: "流动 🚩"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(tc.changes)
			if err != nil {
				t.Fatal(err)
			}
			if got := diffJSON(tc.changes); got != string(want) {
				t.Errorf("got %s, want %s", got, want)
			}
		})
	}
}

// FuzzDiffJSON compares diffJSON with json.Marshal on any strings.
func FuzzDiffJSON(f *testing.F) {
	f.Add("name", "张三", "<&>\n\xff\u2028")
	f.Fuzz(func(t *testing.T, k, o, n string) {
		changes := map[string]Change{k: {Old: o, New: n}, "z" + k: {New: o + n}}
		want, err := json.Marshal(changes)
		if err != nil {
			t.Fatal(err)
		}
		if got := diffJSON(changes); got != string(want) {
			t.Fatalf("got %s, want %s", got, want)
		}
	})
}
