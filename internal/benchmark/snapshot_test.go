package benchmark_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"whistle/internal/benchmark"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/indicator"
	"whistle/internal/stats"
	"whistle/internal/timer"
	"whistle/internal/worldtest"
)

// closedCase is a case of the fake Source: where and when it closed
// (district time), whether on time and whether reworked.
type closedCase struct {
	community string
	closed    time.Time
	onTime    bool
	reworked  bool
}

var cst = time.FixedZone("CST", 8*3600)

// casesSource stands for stats' rollup Sources: it counts its cases per
// street and community over the period, as rollup_flow does, and answers
// zero facts for a known node without cases in it.
type casesSource struct{ cases *[]closedCase }

func (s casesSource) Facts(_ context.Context, subjects []indicator.Subject, p indicator.Period) (map[indicator.Subject]indicator.Facts, error) {
	out := map[indicator.Subject]indicator.Facts{}
	for _, sub := range subjects {
		if sub.Kind != benchmark.SubjectRegion {
			continue
		}
		f := indicator.Facts{}
		for _, c := range *s.cases {
			if !strings.HasPrefix(c.community, sub.Code) || c.closed.Before(p.From) || !c.closed.Before(p.To) {
				continue
			}
			f["closed"]++
			if c.onTime {
				f["on_time"]++
			} else {
				f["late"]++
			}
			if c.reworked {
				f["reworked"]++
			}
		}
		out[sub] = f
	}
	return out, nil
}

// caseRegistry is a registry with casework's real indicators (stats)
// over the fake Source, which serves all three of their Sources.
func caseRegistry(t *testing.T, cases *[]closedCase, edit func(*indicator.Indicator)) *indicator.Registry {
	t.Helper()
	r := indicator.New()
	for _, name := range []string{stats.SourceClosed, stats.SourceReceived, stats.SourceNow} {
		if err := r.AddSource(name, casesSource{cases}); err != nil {
			t.Fatal(err)
		}
	}
	for _, in := range stats.CaseIndicators() {
		if edit != nil {
			edit(&in)
		}
		if err := r.Register(in); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

const (
	street1 = "330303001"
	street2 = "330303002"
	cE      = "330303002001"
)

// novemberCases are seven cases in two streets. November 2026 in district
// time, by hand:
//
//	unit        closed  on time  late  reworked  on_time_rate  rework_rate
//	A              2       1       1      0          50 %          0 %
//	B              1       1       0      0         100 %          0 %    (the 00:30 CST 1 Dec one is December's)
//	C              1       0       1      1           0 %        100 %
//	D              0       0       0      0        no data      no data
//	street 1       4       2       2      1          50 %         25 %
//	E              1       1       0      0         100 %          0 %    (the 23:00 CST 31 Oct one is October's)
//	street 2       1       1       0      0         100 %          0 %
func novemberCases() []closedCase {
	at := func(m time.Month, d, h, min int) time.Time { return time.Date(2026, m, d, h, min, 0, 0, cst) }
	return []closedCase{
		{cA, at(11, 3, 10, 0), true, false},
		{cA, at(11, 20, 15, 0), false, false},
		{cB, at(11, 30, 23, 30), true, false},
		{cB, at(12, 1, 0, 30), true, false},
		{cC, at(11, 10, 9, 0), false, true},
		{cE, at(11, 15, 11, 0), true, false},
		{cE, at(10, 31, 23, 0), true, false},
	}
}

func value(t *testing.T, st *benchmark.Store, ind, unit, period string) (float64, bool) {
	t.Helper()
	v, ok, err := st.Value(context.Background(), ind, unit, period)
	if err != nil {
		t.Fatal(err)
	}
	return v, ok
}

// checkValues compares the stored values of ind in period with want (a
// NaN: no value stored).
func checkValues(t *testing.T, st *benchmark.Store, ind, period string, want map[string]float64) {
	t.Helper()
	for u, w := range want {
		v, ok := value(t, st, ind, u, period)
		switch {
		case math.IsNaN(w) && ok:
			t.Errorf("%s %s %s: got %v, want no value", ind, u, period, v)
		case !math.IsNaN(w) && (!ok || math.Abs(v-w) > 1e-9):
			t.Errorf("%s %s %s: got %v (stored %v), want %v", ind, u, period, v, ok, w)
		}
	}
}

// TestSnapshotHandComputed: the snapshot of November stores the
// registry's case indicators for both streets and their communities as
// computed by hand above, declared as the platform's with the registry's
// names, units (a share as a percentage), directions and definitions;
// the neutral, the "now" and the data-less indicators are left out.
func TestSnapshotHandComputed(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		f := newFixture(t, d)
		ctx := context.Background()
		cases := novemberCases()
		snap := newSnapshots(t, f, &cases)
		rep, err := snap.Snapshot(ctx, "2026-11")
		if err != nil {
			t.Fatal(err)
		}
		nan := math.NaN()
		checkValues(t, f.st, stats.IndOnTime, "2026-11", map[string]float64{cA: 50, cB: 100, cC: 0, cD: nan, street1: 50, cE: 100, street2: 100, "330303": nan})
		checkValues(t, f.st, stats.IndClosed, "2026-11", map[string]float64{cA: 2, cB: 1, cC: 1, cD: 0, street1: 4, cE: 1, street2: 1})
		checkValues(t, f.st, stats.IndClosedLate, "2026-11", map[string]float64{cA: 1, cB: 0, cC: 1, cD: 0, street1: 2, cE: 0, street2: 0})
		checkValues(t, f.st, stats.IndRework, "2026-11", map[string]float64{cA: 0, cC: 100, cD: nan, street1: 25, street2: 0})
		if rep.Units != 7 || rep.Values != 32 {
			t.Errorf("report: %d units, %d values; want 7 and 32", rep.Units, rep.Values)
		}
		skipped := map[string]string{}
		for _, s := range rep.Skipped {
			skipped[s.Indicator] = s.Reason
		}
		for name, why := range map[string]string{stats.IndReceived: benchmark.SkipNeutral, stats.IndOpen: benchmark.SkipCurrent,
			stats.IndOverdue: benchmark.SkipCurrent, stats.IndSatisfaction: benchmark.SkipNoData, stats.IndHandling: benchmark.SkipNoData} {
			if skipped[name] != why {
				t.Errorf("skipped %s: got %q, want %q", name, skipped[name], why)
			}
		}
		ins, err := f.st.Indicators(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, in := range ins {
			keys = append(keys, in.Key)
			if in.Key != stats.IndOnTime {
				continue
			}
			reg, _ := caseRegistry(t, &cases, nil).Get(stats.IndOnTime)
			want := benchmark.Indicator{Key: stats.IndOnTime, Name: reg.Label, Unit: "percent", Direction: benchmark.HigherBetter,
				Source: benchmark.SourcePlatform, DefinitionVersion: 1, Definition: reg.Definition}
			if in != want {
				t.Errorf("declared: got %+v, want %+v", in, want)
			}
		}
		if want := []string{stats.IndClosed, stats.IndClosedLate, stats.IndOnTime, stats.IndReturn, stats.IndRework}; !slices.Equal(keys, want) {
			t.Errorf("indicators: got %v, want %v", keys, want)
		}
		if _, err := snap.Snapshot(ctx, "2026-Q4"); !errs.Is(err, errs.Invalid) {
			t.Errorf("a quarter: got %v, want invalid", err)
		}
	})
}

// TestSnapshotIdempotent: snapshotting a month again replaces its
// platform values (a value that lost its data goes), leaves an imported
// indicator's values and other months alone, and an import cannot write
// a platform indicator's values.
func TestSnapshotIdempotent(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		f := newFixture(t, d)
		ctx := context.Background()
		cases := novemberCases()
		snap := newSnapshots(t, f, &cases)
		f.declare(t, "sat", benchmark.HigherBetter)
		f.put(t, "sat", "2026-11", map[string]float64{cA: 90, cB: 80})
		for _, p := range []string{"2026-10", "2026-11", "2026-11"} {
			if _, err := snap.Snapshot(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		count := func() int {
			var n int
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM bm_values`).Scan(&n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		// October: E's one case (closed, late, on-time, rework and
		// return rates for E and street 2) and zero counts elsewhere:
		// 5 communities and 2 streets × 2 counts + 2 units × 3 rates.
		const oct = 7*2 + 2*3
		if got, want := count(), 2+oct+32; got != want {
			t.Errorf("after three snapshots: %d values, want %d", got, want)
		}
		// C's case reopened: C has no on-time rate in November any more,
		// and street 1's is 2 of 3.
		cases = slices.DeleteFunc(cases, func(c closedCase) bool { return c.community == cC })
		rep, err := snap.Snapshot(ctx, "2026-11")
		if err != nil {
			t.Fatal(err)
		}
		checkValues(t, f.st, stats.IndOnTime, "2026-11", map[string]float64{cC: math.NaN(), street1: 100 * 2.0 / 3, cA: 50})
		checkValues(t, f.st, "sat", "2026-11", map[string]float64{cA: 90, cB: 80})
		checkValues(t, f.st, stats.IndOnTime, "2026-10", map[string]float64{cE: 100, street2: 100, cA: math.NaN()})
		if got, want := count(), 2+oct+32-3; got != want || rep.Values != 32-3 {
			t.Errorf("after C's case went: %d values (snapshot %d), want %d (%d)", got, rep.Values, want, 32-3)
		}
		err = f.st.PutValues(ctx, []benchmark.Value{{Indicator: stats.IndOnTime, Unit: cA, Period: "2026-11", Value: 99}}, false)
		var ie *benchmark.ImportError
		if !errors.As(err, &ie) || len(ie.Rows) != 1 || ie.Rows[0].Column != "indicator" {
			t.Errorf("importing a platform value: got %v, want a row error on indicator", err)
		}
		checkValues(t, f.st, stats.IndOnTime, "2026-11", map[string]float64{cA: 50})
	})
}

// TestSnapshotDefinitionChange: when the registry's definition of an
// indicator changes, the next snapshot declares a new definition version
// and the month takes it, the earlier month keeps the old one, and the
// analysis flags the trend window that meets the change.
func TestSnapshotDefinitionChange(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		f := newFixture(t, d)
		ctx := context.Background()
		cases := novemberCases()
		cases = append(cases, closedCase{cA, time.Date(2026, 12, 2, 10, 0, 0, 0, cst), true, false})
		old, err := benchmark.NewSnapshots(f.st, caseRegistry(t, &cases, nil))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"2026-10", "2026-11"} {
			if _, err := old.Snapshot(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		changed, err := benchmark.NewSnapshots(f.st, caseRegistry(t, &cases, func(in *indicator.Indicator) {
			if in.Name == stats.IndOnTime {
				in.Definition.EN += " Stages paused for the resident do not count."
			}
		}))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := changed.Snapshot(ctx, "2026-12")
		if err != nil {
			t.Fatal(err)
		}
		if rep.Changed != 1 {
			t.Errorf("changed: got %d, want 1", rep.Changed)
		}
		in, err := f.st.Indicators(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range in {
			want := 1
			if i.Key == stats.IndOnTime {
				want = 2
			}
			if i.DefinitionVersion != want {
				t.Errorf("%s: version %d, want %d", i.Key, i.DefinitionVersion, want)
			}
		}
		var v11, v12 int
		if err := d.QueryRow(ctx, `SELECT definition_version FROM bm_values WHERE indicator = $1 AND unit_code = $2 AND period = $3`, stats.IndOnTime, cA, "2026-11").Scan(&v11); err != nil {
			t.Fatal(err)
		}
		if err := d.QueryRow(ctx, `SELECT definition_version FROM bm_values WHERE indicator = $1 AND unit_code = $2 AND period = $3`, stats.IndOnTime, cA, "2026-12").Scan(&v12); err != nil {
			t.Fatal(err)
		}
		if v11 != 1 || v12 != 2 {
			t.Errorf("value versions: November %d, December %d; want 1 and 2", v11, v12)
		}
		a, err := f.st.Analyse(ctx, f.scope(t, "admin"), benchmark.Query{Unit: cA, Indicator: stats.IndOnTime, Period: "2026-12"})
		if err != nil {
			t.Fatal(err)
		}
		if !a.CrossesDefinitionChange {
			t.Errorf("the analysis of December does not flag the definition change")
		}
	})
}

// TestSnapshotScope: a street's staff sees the other street's platform
// values only once the month is published, like any other value.
func TestSnapshotScope(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		f := newFixture(t, d)
		ctx := context.Background()
		cases := novemberCases()
		snap := newSnapshots(t, f, &cases)
		if _, err := snap.Snapshot(ctx, "2026-11"); err != nil {
			t.Fatal(err)
		}
		street := f.scope(t, "street")
		q := benchmark.Query{Unit: street1, Indicator: stats.IndOnTime, Period: "2026-11"}
		a, err := f.st.Analyse(ctx, street, q)
		if err != nil {
			t.Fatal(err)
		}
		if a.Peers != 1 || a.Rank != 1 || pt(a.Leader) != street1 {
			t.Errorf("unpublished: peers %d rank %d leader %s; want 1 1 %s", a.Peers, a.Rank, pt(a.Leader), street1)
		}
		if _, err := f.st.Analyse(ctx, street, benchmark.Query{Unit: street2, Indicator: stats.IndOnTime, Period: "2026-11"}); !errs.Is(err, errs.NotFound) {
			t.Errorf("the other street's unpublished analysis: got %v, want not found", err)
		}
		if err := f.st.PublishPeriod(ctx, "2026-11"); err != nil {
			t.Fatal(err)
		}
		a, err = f.st.Analyse(ctx, street, q)
		if err != nil {
			t.Fatal(err)
		}
		if a.Peers != 2 || a.Rank != 2 || pt(a.Leader) != street2 || fp(a.GapToLeader) != 50 {
			t.Errorf("published: peers %d rank %d leader %s gap %v; want 2 2 %s 50", a.Peers, a.Rank, pt(a.Leader), fp(a.GapToLeader), street2)
		}
	})
}

// TestSnapshotTimer: the monthly timer, armed by Start, fires on the
// first of the month at 01:00 district time, snapshots the month that
// ended and arms the next month's.
func TestSnapshotTimer(t *testing.T) {
	worldtest.Each(t, time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		f := newFixture(t, d)
		ctx := context.Background()
		cases := novemberCases()
		snap := newSnapshots(t, f, &cases)
		r := timer.NewRunner(d, timer.Config{})
		snap.RegisterTimers(r)
		for range 2 { // a second start keeps the pending timer
			if err := snap.Start(ctx); err != nil {
				t.Fatal(err)
			}
		}
		clk.Set(time.Date(2026, 12, 1, 0, 59, 0, 0, cst))
		if n, err := r.RunDue(ctx); err != nil || n != 0 {
			t.Fatalf("before 01:00: fired %d (%v), want none", n, err)
		}
		clk.Set(time.Date(2026, 12, 1, 1, 0, 0, 0, cst))
		if n, err := r.RunDue(ctx); err != nil || n != 1 {
			t.Fatalf("at 01:00: fired %d (%v), want 1", n, err)
		}
		checkValues(t, f.st, stats.IndOnTime, "2026-11", map[string]float64{cA: 50, street1: 50})
		var due time.Time
		err := d.InTx(ctx, func(tx *db.Tx) error {
			p, err := timer.Pending(ctx, tx, timer.Key{Kind: benchmark.TimerKind, Subject: "platform", Name: "monthly"})
			due = p.Due
			return err
		})
		if err != nil || !due.Equal(time.Date(2027, 1, 1, 1, 0, 0, 0, cst)) {
			t.Errorf("next: %v (%v), want 2027-01-01 01:00 CST", due, err)
		}
	})
}

// newSnapshots snapshots the fixture's store from casework's indicators
// over cases.
func newSnapshots(t *testing.T, f *fixture, cases *[]closedCase) *benchmark.Snapshots {
	t.Helper()
	snap, err := benchmark.NewSnapshots(f.st, caseRegistry(t, cases, nil))
	if err != nil {
		t.Fatal(err)
	}
	return snap
}
