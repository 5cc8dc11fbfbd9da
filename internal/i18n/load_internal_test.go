package i18n

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestLoadFeatureFiles: a feature's own catalogue file adds to its
// language, and a key defined in two files, or translated in one language
// only, is refused.
func TestLoadFeatureFiles(t *testing.T) {
	f := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name    string
		fs      fstest.MapFS
		wantErr string
	}{
		{"merged", fstest.MapFS{
			"catalog/zh-CN.json": f(`{"a":"甲"}`), "catalog/en.json": f(`{"a":"A"}`),
			"catalog/map.zh-CN.json": f(`{"b":"乙"}`), "catalog/map.en.json": f(`{"b":"B"}`),
		}, ""},
		{"duplicate key", fstest.MapFS{
			"catalog/zh-CN.json": f(`{"a":"甲"}`), "catalog/en.json": f(`{"a":"A"}`),
			"catalog/map.zh-CN.json": f(`{"a":"乙"}`), "catalog/map.en.json": f(`{}`),
		}, `key "a" is defined twice`},
		{"missing translation", fstest.MapFS{
			"catalog/zh-CN.json": f(`{"a":"甲"}`), "catalog/en.json": f(`{"a":"A"}`),
			"catalog/map.zh-CN.json": f(`{"b":"乙"}`),
		}, "en:b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := load(tt.fs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, want := c.T(EN, "b"), "B"; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
			if got, want := c.T(ZH, "a"), "甲"; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}
