package stats_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"whistle/internal/stats"
)

// TestIndicatorsDoc fails when docs/INDICATORS.md is not what the registry
// generates. WHISTLE_WRITE_DOCS=1 rewrites it.
func TestIndicatorsDoc(t *testing.T) {
	want, err := stats.IndicatorsDoc()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", "INDICATORS.md")
	if os.Getenv("WHISTLE_WRITE_DOCS") == "1" {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what the indicator registry generates; run WHISTLE_WRITE_DOCS=1 go test -run TestIndicatorsDoc ./internal/stats", path)
	}
	for _, in := range []string{stats.IndOnTime, stats.IndResponse, stats.IndResolution, stats.IndSatisfaction} {
		if !bytes.Contains(got, []byte("### "+in+"\n")) {
			t.Errorf("%s has no section for %s", path, in)
		}
	}
}
