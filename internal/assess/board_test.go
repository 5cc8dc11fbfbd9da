package assess_test

import (
	"context"
	"testing"

	"whistle/internal/account"
	"whistle/internal/assess"
	"whistle/internal/benchmark"
	"whistle/internal/errs"
)

// boardPeers is the benchmark as the board reads it: each unit's
// composite standing in a period, and the scopes it was asked with.
type boardPeers struct {
	standings map[string]assess.BenchStanding // period|unit → standing
	scopes    []account.Scope
}

func (p *boardPeers) WeakPoints(context.Context, account.Scope, string, string) ([]assess.WeakPoint, error) {
	return nil, nil
}

func (p *boardPeers) Standing(_ context.Context, sc account.Scope, unit, indicator, period string) (assess.BenchStanding, bool, error) {
	p.scopes = append(p.scopes, sc)
	if indicator != benchmark.Composite {
		return assess.BenchStanding{}, false, nil
	}
	st, ok := p.standings[period+"|"+unit]
	return st, ok, nil
}

func f64(v float64) *float64 { return &v }

// TestBoard: the big screen's 对标 panel shows nothing until a period is
// published, then the latest published period (not a later one still
// frozen): a street's communities ranked on the composite with their
// ranges, trends, 标兵 gaps and 追兵 distances and their assessment
// totals; the district's streets; a community (or its grid) itself; a
// node outside the caller's scope is not found.
func TestBoard(t *testing.T) {
	each(t, func(t *testing.T, fx *fixture) {
		ctx := context.Background()
		admin, leader := fx.u("admin"), fx.u("leader")
		peers := &boardPeers{standings: map[string]assess.BenchStanding{
			"2026-10|" + communityA: {Rank: 2, RankRange: [2]int{1, 2}, Peers: 2, Value: f64(71), Trend: benchmark.ClosingIn, Leader: communityB, GapToLeader: f64(3)},
			"2026-10|" + communityB: {Rank: 1, RankRange: [2]int{1, 2}, Peers: 2, Value: f64(74), Trend: benchmark.Stable, Leader: communityB, GapToLeader: f64(0),
				Chaser: communityA, ChaserDistance: f64(3), ChaserTrend: benchmark.ClosingIn},
			"2026-10|" + street:     {Rank: 1, RankRange: [2]int{1, 1}, Peers: 1, Value: f64(80), Trend: benchmark.Stable},
			"2026-11|" + communityA: {Rank: 1, RankRange: [2]int{1, 1}, Peers: 2, Value: f64(90)},
		}}
		fx.svc.UsePeers(peers)
		b, err := fx.svc.Board(ctx, leader, street)
		if err != nil {
			t.Fatal(err)
		}
		if b.Period != nil || len(b.Rows) != 0 {
			t.Fatalf("no period published: board %+v, want empty", b)
		}
		it, err := fx.svc.AddItem(ctx, admin, assess.NewItem{UnitType: assess.Community, Code: "env", Name: "环境整治", Kind: assess.KindManual, Points: 10})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []struct{ code, from, to string }{{"2026-10", "2026-10-01", "2026-10-31"}, {"2026-11", "2026-11-01", "2026-11-30"}} {
			if _, err := fx.svc.CreatePeriod(ctx, admin, assess.NewPeriod{Code: p.code, Name: p.code, StartsOn: p.from, EndsOn: p.to}); err != nil {
				t.Fatal(err)
			}
			if err := fx.svc.SetManual(ctx, admin, assess.ManualScore{Period: p.code, Unit: communityA, ItemID: it.ID, Score: 6, Evidence: "检查"}); err != nil {
				t.Fatal(err)
			}
			if _, err := fx.svc.Freeze(ctx, admin, p.code); err != nil {
				t.Fatal(err)
			}
		}
		if b, err = fx.svc.Board(ctx, leader, street); err != nil || b.Period != nil {
			t.Fatalf("frozen, unpublished: %+v, %v; want no period", b, err)
		}
		if _, err := fx.svc.Publish(ctx, admin, "2026-10"); err != nil {
			t.Fatal(err)
		}
		b, err = fx.svc.Board(ctx, leader, street)
		if err != nil {
			t.Fatal(err)
		}
		if b.Period == nil || b.Period.Code != "2026-10" || b.Type != assess.Community || len(b.Rows) != 2 {
			t.Fatalf("board of the street: %+v, want 2026-10's two communities", b)
		}
		top, second := b.Rows[0], b.Rows[1]
		if top.Unit.Code != communityB || top.Rank != 1 || top.Chaser != communityA || top.ChaserDistance == nil || *top.ChaserDistance != 3 ||
			top.ChaserTrend != benchmark.ClosingIn || top.Total == nil || *top.Total != 0 || top.Max != 10 {
			t.Errorf("the leader's row: %+v", top)
		}
		if second.Unit.Code != communityA || second.Unit.Name != "社区A" || second.RankRange != [2]int{1, 2} || second.Trend != benchmark.ClosingIn ||
			second.GapToLeader == nil || *second.GapToLeader != 3 || second.Total == nil || *second.Total != 6 {
			t.Errorf("the second row: %+v", second)
		}
		for _, sc := range peers.scopes {
			if sc != account.ScopeOf(leader) {
				t.Errorf("the standings were read with %+v, want the caller's scope", sc)
			}
		}
		// The district shows its street, without a catalogue for streets.
		if b, err = fx.svc.Board(ctx, leader, "330303"); err != nil || b.Type != assess.Street || len(b.Rows) != 1 || b.Rows[0].Unit.Code != street ||
			b.Rows[0].Total != nil || b.Rows[0].Rank != 1 {
			t.Errorf("board of the district: %+v, %v", b, err)
		}
		// A community, and its grid, show the community alone.
		for _, node := range []string{communityA, communityA + "001"} {
			if b, err = fx.svc.Board(ctx, fx.u("staff-a"), node); err != nil || len(b.Rows) != 1 || b.Rows[0].Unit.Code != communityA || b.Rows[0].Rank != 2 {
				t.Errorf("board of %s for A's staff: %+v, %v", node, b, err)
			}
		}
		// Outside the scope: not found; a resident: forbidden.
		for node, u := range map[string]string{street: "staff-a", communityB: "staff-a", "330303": "street"} {
			if _, err := fx.svc.Board(ctx, fx.u(u), node); !errs.Is(err, errs.NotFound) {
				t.Errorf("%s reading the board of %s: %v, want not found", u, node, err)
			}
		}
		if _, err := fx.svc.Board(ctx, fx.u("resident"), communityA); !errs.Is(err, errs.Forbidden) {
			t.Errorf("a resident reading the board: %v, want forbidden", err)
		}
		if _, err := fx.svc.Board(ctx, leader, " "); !errs.Is(err, errs.Invalid) {
			t.Errorf("no region: %v, want invalid", err)
		}
		// The composite's analysis has no gaps nor trends: the board
		// derives them from the rows (the whole peer group) over the last
		// six months. B leads by 2, 4, … 12 points: A's gap to the 标兵
		// grows (pulling away), and so does B's distance to its 追兵.
		comp := &boardPeers{standings: map[string]assess.BenchStanding{}}
		for i, m := range []string{"2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10"} {
			a, bv := 60.0, 62.0+2*float64(i)
			comp.standings[m+"|"+communityA] = assess.BenchStanding{Rank: 2, RankRange: [2]int{2, 2}, Peers: 2, Value: f64(a)}
			comp.standings[m+"|"+communityB] = assess.BenchStanding{Rank: 1, RankRange: [2]int{1, 1}, Peers: 2, Value: f64(bv)}
		}
		fx.svc.UsePeers(comp)
		if b, err = fx.svc.Board(ctx, leader, street); err != nil || len(b.Rows) != 2 {
			t.Fatalf("composite board: %+v, %v", b, err)
		}
		top, second = b.Rows[0], b.Rows[1]
		if top.Unit.Code != communityB || top.GapToLeader == nil || *top.GapToLeader != 0 || top.Chaser != communityA || top.ChaserDistance == nil ||
			*top.ChaserDistance != 12 || top.ChaserTrend != benchmark.PullingAway {
			t.Errorf("the composite leader's row: %+v (chaser distance %v)", top, top.ChaserDistance)
		}
		if second.GapToLeader == nil || *second.GapToLeader != 12 || second.Trend != benchmark.PullingAway || second.ChaserDistance != nil {
			t.Errorf("the composite second's row: %+v (gap %v)", second, second.GapToLeader)
		}
	})
}
