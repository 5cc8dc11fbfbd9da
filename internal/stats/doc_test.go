package stats_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"whistle/internal/benefit"
	"whistle/internal/dispute"
	"whistle/internal/doctest"
	"whistle/internal/sensing"
	"whistle/internal/stats"
	"whistle/internal/visit"
)

// docModules are the other modules' indicators, as cmd/whistle wires
// them into the one registry, for docs/INDICATORS.md.
func docModules() []stats.DocModule {
	return []stats.DocModule{
		{Source: visit.SourceName, Doc: "visit_tasks: the visit tasks under a region node due in the period (cancelled ones left out), " +
			"done or still open at its end.", Indicators: visit.Indicators()},
		{Source: dispute.SourceName, Doc: "dispute_daily: the disputes of a region node registered, concluded (agreed or failed) and agreed " +
			"in the period, by day.", Indicators: dispute.Indicators()},
		{Source: sensing.SourceName, Doc: "the sensing stays begun in the period under a region node (warned, ended, dwell time, space-days) " +
			"and the alarms raised.", Indicators: sensing.Indicators()},
		{Source: benefit.SourceName, Doc: benefit.SourceDoc, Indicators: benefit.Indicators()},
	}
}

// TestIndicatorsDoc fails when docs/INDICATORS.md is not what the registry
// generates. WHISTLE_WRITE_DOCS=1 rewrites it.
func TestIndicatorsDoc(t *testing.T) {
	want, err := stats.IndicatorsDoc(docModules()...)
	if err != nil {
		t.Fatal(err)
	}
	got := doctest.Golden(t, filepath.Join("..", "..", "docs", "INDICATORS.md"), want, "WHISTLE_WRITE_DOCS=1 go test -run TestIndicatorsDoc ./internal/stats")
	for _, in := range []string{stats.IndOnTime, stats.IndResponse, stats.IndResolution, stats.IndSatisfaction,
		benefit.IndUnclaimed, benefit.IndUptake, benefit.IndDaysToPayout, benefit.IndPaid} {
		if !bytes.Contains(got, []byte("### "+in+"\n")) {
			t.Errorf("docs/INDICATORS.md has no section for %s", in)
		}
	}
}
