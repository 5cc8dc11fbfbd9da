package stats_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"whistle/internal/doctest"
	"whistle/internal/stats"
)

// TestIndicatorsDoc fails when docs/INDICATORS.md is not what the registry
// generates. WHISTLE_WRITE_DOCS=1 rewrites it.
func TestIndicatorsDoc(t *testing.T) {
	want, err := stats.IndicatorsDoc()
	if err != nil {
		t.Fatal(err)
	}
	got := doctest.Golden(t, filepath.Join("..", "..", "docs", "INDICATORS.md"), want, "WHISTLE_WRITE_DOCS=1 go test -run TestIndicatorsDoc ./internal/stats")
	for _, in := range []string{stats.IndOnTime, stats.IndResponse, stats.IndResolution, stats.IndSatisfaction} {
		if !bytes.Contains(got, []byte("### "+in+"\n")) {
			t.Errorf("docs/INDICATORS.md has no section for %s", in)
		}
	}
}
