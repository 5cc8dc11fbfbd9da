// Package benchmark is 对标 (issue 19): indicator values per unit and
// period, peer groups, and the analysis of where a unit stands among its
// peers — its rank with ties, the gap to the leader (标兵) and to the unit
// just above, the distance of the chaser (追兵), whether each gap is
// growing, its weak points (短板) and who improved on them, a composite
// score and its rank uncertainty.
//
// Values come from two places. The platform's own indicators (Source
// "platform") are the kernel's indicator registry's, copied per month for
// every street and community by Snapshots.Snapshot (snapshot.go) — by the
// monthly timer, `whistle benchmark snapshot` or the demo — with the
// registry's names, units, directions and definitions. Imported ones come
// from CSV or Excel files (csv.go, put.go) with their own source; an
// import cannot declare or overwrite a platform indicator. The analysis
// runs in memory on a Data (engine.go); the store only loads the values
// the caller may see: a unit's own and its subtree's at any time, other
// units' only once their period is published (PublishPeriod).
//
// Peers are the units of the same level under the same parent, a
// hand-picked group, or the "similar units" (similar.go): the nearest
// neighbours among the district's units of the level on context variables
// (Indicator.Context: population, area, the share of elderly residents),
// z-scored over the candidates, found on the values the caller may see.
// Context variables describe a unit, so composites and weak points leave
// them out.
package benchmark

import (
	"whistle/internal/indicator"
)

// The directions an indicator may have.
const (
	HigherBetter = "higher_better"
	LowerBetter  = "lower_better"
)

// The four states of a gap's trend over the last periods.
const (
	// PullingAway: the gap grows significantly.
	PullingAway = "pulling_away"
	// ClosingIn: the gap shrinks significantly.
	ClosingIn = "closing_in"
	// Stable: the gap's change over the window is, with 95 % confidence,
	// within the tolerance (5 % of the goalposts' span).
	Stable = "stable"
	// TooNoisy: neither: the series' noise hides any trend, or there are
	// fewer than three points.
	TooNoisy = "too_noisy"
)

// SourcePlatform is the Source of the indicators materialised from the
// kernel's indicator registry.
const SourcePlatform = "platform"

// Composite is the indicator key of the composite score: the weighted
// mean of a unit's distances to frontier.
const Composite = "composite"

// Text is a text in Chinese and English.
type Text = indicator.Text

// Indicator is an indicator as benchmarking knows it: the platform's own
// (Source "platform") or an imported one (Source names the importer's
// source). DefinitionVersion rises when the definition changes; values
// keep the version they were measured under.
type Indicator struct {
	Key               string `json:"key"`
	Name              Text   `json:"name"`
	Unit              string `json:"unit"`
	Direction         string `json:"direction"`
	Source            string `json:"source"`
	DefinitionVersion int    `json:"definition_version"`
	Definition        Text   `json:"definition"`
	// Context marks a context variable (population, area, the share of
	// elderly residents): it describes a unit rather than how well it
	// does, so composites and weak points leave it out, and "similar"
	// peer groups are found on such variables. Its direction only orders
	// it where it is shown ranked. Changing it starts a new series.
	Context bool `json:"context"`
}

// Value is one indicator's value for one unit (a region code) and period
// ("2026-11", "2026-Q3" or "2026").
type Value struct {
	Indicator         string  `json:"indicator"`
	Unit              string  `json:"unit"`
	Period            string  `json:"period"`
	Value             float64 `json:"value"`
	DefinitionVersion int     `json:"definition_version"`
}

// Point is a unit's value.
type Point struct {
	Unit  string  `json:"unit"`
	Value float64 `json:"value"`
}

// Analysis is where a unit stands on one indicator (or the composite) in
// one period among its peers. Ranks are competition ranks ("1224"): a
// unit's rank is one plus the number of peers strictly better, so tied
// units share the best rank of their block, and RankRange is the block
// [rank, rank+ties-1]. For the composite, Rank is the rank of the base
// composite and RankRange the 5th–95th percentile of its Monte Carlo
// ranks. Gaps are distances in the better direction, never negative. A
// unit without a value has Rank 0 and no gaps.
type Analysis struct {
	Unit       string   `json:"unit"`
	Indicator  string   `json:"indicator"`
	Period     string   `json:"period"`
	Value      *float64 `json:"value"`
	Rank       int      `json:"rank"`
	RankRange  [2]int   `json:"rank_range"`
	MedianRank float64  `json:"median_rank,omitempty"`
	Peers      int      `json:"peers"`
	// Percentile is 100 × the share of the other peers the unit ranks
	// ahead of: 100 for the leader, 0 for the last.
	Percentile     float64  `json:"percentile"`
	Leader         *Point   `json:"leader"`
	GapToLeader    *float64 `json:"gap_to_leader"`
	Above          *Point   `json:"above"`
	GapToAbove     *float64 `json:"gap_to_above"`
	Chaser         *Point   `json:"chaser"`
	ChaserDistance *float64 `json:"chaser_distance"`
	// Trend is the trend of the gap to the leader, ChaserTrend that of
	// the chaser's distance (closing_in: the chaser comes closer).
	Trend       string `json:"trend"`
	ChaserTrend string `json:"chaser_trend"`
	// DTF is the distance to frontier, 0 (worst) to 100 (best), on
	// goalposts fixed across all periods of the definition version.
	DTF float64 `json:"dtf"`
	// CrossesDefinitionChange says the trend window met an earlier
	// definition of the indicator; the trend uses the current one only.
	CrossesDefinitionChange bool `json:"crosses_definition_change"`
	// CannotTellApart lists the peers whose rank range overlaps the
	// unit's: their order is not established by the data.
	CannotTellApart []string `json:"cannot_tell_apart"`
	// SuggestedPeers are the peers that improved most on the indicator
	// over the trend window, best first: whom to learn from.
	SuggestedPeers []Suggestion `json:"suggested_peers"`
	// Published says whether the period is published; before, peers
	// outside the caller's scope are left out.
	Published bool `json:"published"`
}

// Query asks for one unit's analysis.
type Query struct {
	Unit      string
	Indicator string
	Period    string
	// Group chooses the peers: "" or "level" (the units of the same level
	// under the same parent), "similar" (nearest neighbours on context
	// variables) or a hand-picked group's id.
	Group string
	// On and K are a similar group's context variables and size (see
	// PeerQuery).
	On []string
	K  int
	// Window is the number of periods of the trends; 0 is 6.
	Window int
}

// WeakPoint is an indicator on which a unit ranks far below (a weak
// point, 短板) or above (a strength) its overall position.
type WeakPoint struct {
	Indicator  string  `json:"indicator"`
	Rank       int     `json:"rank"`
	Peers      int     `json:"peers"`
	Percentile float64 `json:"percentile"`
	// Overall is the unit's overall percentile (its composite's).
	Overall float64 `json:"overall"`
	// Suggested are the peers that improved most on the indicator over
	// the window, best first.
	Suggested []Suggestion `json:"suggested_peers"`
}

// Suggestion is a peer to learn from: its value at the window's start and
// at the period, and the improvement in the better direction.
type Suggestion struct {
	Unit        string  `json:"unit"`
	FromPeriod  string  `json:"from_period"`
	From        float64 `json:"from"`
	To          float64 `json:"to"`
	Improvement float64 `json:"improvement"`
}

// Group is a hand-picked peer group.
type Group struct {
	ID    int64    `json:"id"`
	Name  string   `json:"name"`
	Units []string `json:"units"`
}
