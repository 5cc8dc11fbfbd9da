package benchmark_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"whistle/internal/benchmark"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/worldtest"
)

// plantContext declares population and area_km2 and gives the five
// communities of the district (A–D in street 1, E in street 2) these
// values for 2026:
//
//	unit  population  area_km2
//	A          2          1      (A's 2026 population is 99, but its finer and later 2026-06 one, 2, wins; its 2027 one, 500, is after the period)
//	B          4          5
//	C          6          3
//	D          8          1
//	E         10          5
//
// Over the five: population mean 6, sd √8 = 2√2; area mean 3, sd √(16/5)
// = 4/√5. The z-scores (population, area):
//
//	A (−√2, −√5/2)   B (−√2/2, √5/2)   C (0, 0)   D (√2/2, −√5/2)   E (√2, √5/2)
//
// Squared distances: from C, to B and D 1/2 + 5/4 = 7/4, to A and E
// 2 + 5/4 = 13/4; from A, to C 13/4, to D (3√2/2)² = 9/2, to B
// 1/2 + 5 = 11/2, to E 8 + 5 = 13.
func plantContext(t *testing.T, f *fixture) {
	t.Helper()
	f.declare(t, "population", benchmark.HigherBetter)
	f.declare(t, "area_km2", benchmark.HigherBetter)
	f.put(t, "population", "2026", map[string]float64{cA: 99, cB: 4, cC: 6, cD: 8, cE: 10})
	f.put(t, "population", "2026-06", map[string]float64{cA: 2})
	f.put(t, "population", "2027", map[string]float64{cA: 500})
	f.put(t, "area_km2", "2026", map[string]float64{cA: 1, cB: 5, cC: 3, cD: 1, cE: 5})
}

type nb struct {
	unit string
	d2   float64 // the squared distance
}

func checkNeighbours(t *testing.T, l *benchmark.PeerList, want []nb) {
	t.Helper()
	var got []nb
	for _, n := range l.Neighbours {
		got = append(got, nb{n.Unit, n.Distance * n.Distance})
	}
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		ok = got[i].unit == want[i].unit && math.Abs(got[i].d2-want[i].d2) < 1e-6 // distances are rounded to 1e-9
	}
	if !ok {
		t.Errorf("neighbours: got %v, want %v", got, want)
	}
}

// TestSimilarHandComputed: the nearest neighbours on z-scored population
// and area, computed by hand above, with the tie between B and D broken
// by code and the unit itself first; the variables' values shown are the
// latest at or before the period.
func TestSimilarHandComputed(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		f := newFixture(t, d)
		ctx := context.Background()
		plantContext(t, f)
		admin := f.scope(t, "admin")
		on := []string{"population", "area_km2"}
		l, err := f.st.Peers(ctx, admin, benchmark.PeerQuery{Unit: cC, Group: "similar", Period: "2026-11", On: on, K: 3})
		if err != nil {
			t.Fatal(err)
		}
		checkNeighbours(t, l, []nb{{cC, 0}, {cB, 7.0 / 4}, {cD, 7.0 / 4}})
		if !slices.Equal(l.Peers, []string{cB, cC, cD}) || l.Candidates != 5 || l.K != 3 {
			t.Errorf("peers %v, %d candidates, k %d; want [B C D], 5, 3", l.Peers, l.Candidates, l.K)
		}
		l, err = f.st.Peers(ctx, admin, benchmark.PeerQuery{Unit: cA, Group: "similar", Period: "2026-11", On: on})
		if err != nil {
			t.Fatal(err)
		}
		checkNeighbours(t, l, []nb{{cA, 0}, {cC, 13.0 / 4}, {cD, 9.0 / 2}, {cB, 11.0 / 2}, {cE, 13}})
		if a := l.Neighbours[0]; a.Values["population"] != 2 || a.Periods["population"] != "2026-06" || a.Values["area_km2"] != 1 || a.Periods["area_km2"] != "2026" {
			t.Errorf("A's values: %v %v; want population 2 of 2026-06, area 1 of 2026", a.Values, a.Periods)
		}
		if l.K != benchmark.DefaultK {
			t.Errorf("default k: got %d, want %d", l.K, benchmark.DefaultK)
		}
		// The analysis among the similar group: C's three.
		f.declare(t, "sat", benchmark.HigherBetter)
		f.put(t, "sat", "2026-11", map[string]float64{cA: 90, cB: 80, cC: 70, cD: 60, cE: 95})
		a, err := f.st.Analyse(ctx, admin, benchmark.Query{Unit: cC, Indicator: "sat", Period: "2026-11", Group: "similar", On: on, K: 3})
		if err != nil {
			t.Fatal(err)
		}
		if a.Peers != 3 || a.Rank != 2 || pt(a.Leader) != cB {
			t.Errorf("analysis among the similar: peers %d rank %d leader %s; want 3 2 %s", a.Peers, a.Rank, pt(a.Leader), cB)
		}
	})
}

// TestSimilarMissing: a candidate lacking a variable is left out; the
// unit lacking one, an unknown variable, or a bad k or period are
// refused naming the field.
func TestSimilarMissing(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		f := newFixture(t, d)
		ctx := context.Background()
		plantContext(t, f)
		f.declare(t, "elderly_share", benchmark.HigherBetter)
		f.put(t, "elderly_share", "2026", map[string]float64{cA: 20, cB: 20, cC: 20, cD: 30})
		admin := f.scope(t, "admin")
		on := []string{"population", "elderly_share"}
		l, err := f.st.Peers(ctx, admin, benchmark.PeerQuery{Unit: cA, Group: "similar", Period: "2026-11", On: on})
		if err != nil {
			t.Fatal(err)
		}
		// Without E: population 2, 4, 6, 8 (mean 5, sd √5), elderly 20,
		// 20, 20, 30 (mean 22.5, sd 5√3/2); from A, to B 4/5, to C 16/5,
		// to D 36/5 + (4/√3)² = 36/5 + 16/3.
		checkNeighbours(t, l, []nb{{cA, 0}, {cB, 4.0 / 5}, {cC, 16.0 / 5}, {cD, 36.0/5 + 16.0/3}})
		if l.Candidates != 4 {
			t.Errorf("candidates: got %d, want 4", l.Candidates)
		}
		for _, c := range []struct {
			name  string
			q     benchmark.PeerQuery
			field string
		}{
			{"the unit lacks a variable", benchmark.PeerQuery{Unit: cE, Group: "similar", Period: "2026-11", On: on}, "on.elderly_share"},
			{"before any value", benchmark.PeerQuery{Unit: cA, Group: "similar", Period: "2025-12", On: on}, "on.population"},
			{"unknown variable", benchmark.PeerQuery{Unit: cA, Group: "similar", Period: "2026-11", On: []string{"population", "nope"}}, "on.nope"},
			{"k too large", benchmark.PeerQuery{Unit: cA, Group: "similar", Period: "2026-11", On: on, K: benchmark.MaxK + 1}, "k"},
			{"k negative", benchmark.PeerQuery{Unit: cA, Group: "similar", Period: "2026-11", On: on, K: -1}, "k"},
			{"no period", benchmark.PeerQuery{Unit: cA, Group: "similar", On: on}, "period"},
			{"bad variable", benchmark.PeerQuery{Unit: cA, Group: "similar", Period: "2026-11", On: []string{"Pop!"}}, "on"},
		} {
			_, err := f.st.Peers(ctx, admin, c.q)
			e, ok := errs.As(err)
			if !ok || e.Code != errs.Invalid || e.Fields[c.field].Key == "" {
				t.Errorf("%s: got %v, want invalid on %s", c.name, err, c.field)
			}
		}
		// The default variables: elderly_share is there, area_km2 and
		// population too.
		if _, err := f.st.Peers(ctx, admin, benchmark.PeerQuery{Unit: cA, Group: "similar", Period: "2026-11"}); err != nil {
			t.Errorf("default variables: %v", err)
		}
	})
}

// TestSimilarScope: a street's staff finds similar units among the values
// it may see: before publication the other street's E is no candidate
// (its values unpublished, outside the scope) and A's neighbours are
// computed over the four of its street; once 2026 is published E is one.
func TestSimilarScope(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		f := newFixture(t, d)
		ctx := context.Background()
		plantContext(t, f)
		street := f.scope(t, "street")
		q := benchmark.PeerQuery{Unit: cA, Group: "similar", Period: "2026-11", On: []string{"population", "area_km2"}}
		l, err := f.st.Peers(ctx, street, q)
		if err != nil {
			t.Fatal(err)
		}
		// Over A–D: population 2, 4, 6, 8 (mean 5, sd √5), area 1, 5, 3,
		// 1 (mean 2.5, sd √(11/4)); from A, to D 36/5, to C 16/5 + 4·4/11,
		// to B 4/5 + 16·4/11.
		checkNeighbours(t, l, []nb{{cA, 0}, {cC, 16.0/5 + 16.0/11}, {cB, 4.0/5 + 64.0/11}, {cD, 36.0 / 5}})
		if l.Candidates != 4 {
			t.Errorf("unpublished: %d candidates, want 4", l.Candidates)
		}
		if _, err := f.st.Peers(ctx, street, benchmark.PeerQuery{Unit: cE, Group: "similar", Period: "2026-11", On: q.On}); !errs.Is(err, errs.Invalid) {
			t.Errorf("E's similar units before publication: got %v, want invalid (its values are not visible)", err)
		}
		if err := f.st.PublishPeriod(ctx, "2026"); err != nil {
			t.Fatal(err)
		}
		l, err = f.st.Peers(ctx, street, q)
		if err != nil {
			t.Fatal(err)
		}
		checkNeighbours(t, l, []nb{{cA, 0}, {cC, 13.0 / 4}, {cD, 9.0 / 2}, {cB, 11.0 / 2}, {cE, 13}})
	})
}

// TestContextNotRanked: a context variable is no weak point and no part
// of the composite: A leads on both ranked indicators and is last on
// population, which is its weak point only while population is declared
// ranked; declaring it a context variable starts a new series.
func TestContextNotRanked(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.declare(t, "sat", benchmark.HigherBetter)
		f.declare(t, "speed", benchmark.HigherBetter)
		f.declare(t, "population", benchmark.HigherBetter)
		f.put(t, "sat", "2026-11", map[string]float64{cA: 90, cB: 80, cC: 70, cD: 60})
		f.put(t, "speed", "2026-11", map[string]float64{cA: 9, cB: 8, cC: 7, cD: 6})
		f.put(t, "population", "2026-11", map[string]float64{cA: 1, cB: 2, cC: 3, cD: 4})
		admin := f.scope(t, "admin")
		weak := func() []string {
			ws, err := f.st.WeakPoints(ctx, admin, cA, "2026-11")
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, w := range ws {
				out = append(out, w.Indicator)
			}
			return out
		}
		if got := weak(); !slices.Equal(got, []string{"population"}) {
			t.Fatalf("ranked population: weak points %v, want [population]", got)
		}
		in, err := f.st.DeclareIndicator(ctx, benchmark.Indicator{Key: "population", Name: benchmark.Text{ZH: "常住人口", EN: "Population"}, Unit: "persons",
			Direction: benchmark.HigherBetter, Context: true})
		if err != nil {
			t.Fatal(err)
		}
		if !in.Context || in.DefinitionVersion != 2 {
			t.Errorf("declared: context %v version %d, want true 2", in.Context, in.DefinitionVersion)
		}
		if got := weak(); len(got) != 0 {
			t.Errorf("context population: weak points %v, want none", got)
		}
		a, err := f.st.Analyse(ctx, admin, benchmark.Query{Unit: cA, Indicator: benchmark.Composite, Period: "2026-11"})
		if err != nil {
			t.Fatal(err)
		}
		// A's distances to frontier are 100 on sat and speed (and 0 on
		// population, which would make its composite 66.7).
		if a.Rank != 1 || a.Value == nil || math.Abs(*a.Value-100) > 1e-9 {
			t.Errorf("composite without population: rank %d value %v, want 1 and 100", a.Rank, fp(a.Value))
		}
		ins, _, err := benchmark.ParseIndicators(strings.NewReader("key,name,unit,direction,context\nelderly_share,老年人口占比,percent,higher_better,是\narea_km2,面积,km2,higher_better,\nx,x,x,higher_better,maybe\n"))
		var ie *benchmark.ImportError
		if !errors.As(err, &ie) || len(ie.Rows) != 1 || ie.Rows[0].Row != 4 || ie.Rows[0].Column != "context" {
			t.Errorf("context column: got %v (%v), want a row 4 error on context", err, ins)
		}
		ins, _, err = benchmark.ParseIndicators(strings.NewReader("key,name,unit,direction,context\nelderly_share,老年人口占比,percent,higher_better,是\narea_km2,面积,km2,higher_better,\n"))
		if err != nil || !ins[0].Context || ins[1].Context {
			t.Errorf("context column: got %+v (%v), want the first a context variable", ins, err)
		}
	})
}
