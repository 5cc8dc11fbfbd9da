package benchmark_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"whistle/internal/benchmark"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/worldtest"
)

// counts is the number of indicators and values stored.
func counts(t *testing.T, d *db.DB) (ins, vals int) {
	t.Helper()
	ctx := context.Background()
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM bm_indicators`).Scan(&ins); err != nil {
		t.Fatal(err)
	}
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM bm_values`).Scan(&vals); err != nil {
		t.Fatal(err)
	}
	return ins, vals
}

func parse(t *testing.T, decls, values string) benchmark.Import {
	t.Helper()
	var im benchmark.Import
	var err error
	if decls != "" {
		if im.Indicators, im.IndicatorRows, err = benchmark.ParseIndicators(strings.NewReader(decls)); err != nil {
			t.Fatal(err)
		}
	}
	if im.Values, im.ValueRows, err = benchmark.ParseValues(strings.NewReader(values)); err != nil {
		t.Fatal(err)
	}
	return im
}

func importLines(err error) []string {
	var ie *benchmark.ImportError
	if !errors.As(err, &ie) {
		return nil
	}
	var out []string
	for _, r := range ie.Declarations {
		out = append(out, "indicators "+r.String())
	}
	for _, r := range ie.Rows {
		out = append(out, r.String())
	}
	return out
}

// TestImportAllOrNothing: values with the indicators declared beside them
// are written in one transaction; a bad row anywhere (a value of an
// unknown indicator, a repeated unit and period, a declaration of the
// platform's own indicator) leaves the indicators and values as they
// were, and so does a dry run, which refuses exactly what the import
// would. A changed definition starts a new series.
func TestImportAllOrNothing(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		f := newFixture(t, d)
		ctx := context.Background()
		if _, err := f.st.DeclareIndicator(ctx, benchmark.Indicator{Key: "case_rate", Name: benchmark.Text{ZH: "结案率"}, Unit: "percent",
			Direction: benchmark.HigherBetter, Source: benchmark.SourcePlatform}); err != nil {
			t.Fatal(err)
		}
		decls := "key,name,unit,direction,definition\nincome,人均收入,元,higher_better,统计局口径\ntongban,通办率,percent,higher_better,\n"
		good := "indicator,unit_code,period,value\nincome," + cA + ",2026,52000\nincome," + cB + ",2026,48000\ntongban," + cA + ",2026-Q3,91.5\n"
		bad := good + "satisfaction," + cA + ",2026,90\nincome," + cB + ",2026,1\n" // rows 5 and 6
		for _, tc := range []struct {
			name          string
			decls, values string
			dry           bool
			want          []string
		}{
			{"unknown indicator and a repeat, with declarations", decls, bad, false,
				[]string{"row 5: indicator: unknown indicator satisfaction; declare it first", "row 6: unit_code: repeats row 3"}},
			{"the same, dry", decls, bad, true,
				[]string{"row 5: indicator: unknown indicator satisfaction; declare it first", "row 6: unit_code: repeats row 3"}},
			{"values without their declarations", "", good, false, []string{"row 2: indicator: unknown indicator income; declare it first",
				"row 3: indicator: unknown indicator income; declare it first", "row 4: indicator: unknown indicator tongban; declare it first"}},
			{"redefining the platform's indicator", decls + "case_rate,结案率,percent,lower_better,\n", good, false,
				[]string{"indicators row 4: key: indicator case_rate belongs to another source and cannot be redefined"}},
			{"good, dry", decls, good, true, nil},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rep, err := f.st.Import(ctx, parse(t, tc.decls, tc.values), tc.dry)
				if got := importLines(err); !slices.Equal(got, tc.want) {
					t.Fatalf("got %q (%v), want %q", got, err, tc.want)
				}
				if tc.want == nil && (rep.Values != 3 || rep.New != 2) {
					t.Errorf("report: got %+v, want 3 values, 2 new", rep)
				}
				if ins, vals := counts(t, d); ins != 1 || vals != 0 {
					t.Fatalf("after a refused or dry import: %d indicators, %d values; want 1 and 0", ins, vals)
				}
			})
		}
		rep, err := f.st.Import(ctx, parse(t, decls, good), false)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Values != 3 || rep.New != 2 || rep.Changed != 0 {
			t.Errorf("report: got %+v", rep)
		}
		if ins, vals := counts(t, d); ins != 3 || vals != 3 {
			t.Fatalf("after the import: %d indicators, %d values; want 3 and 3", ins, vals)
		}
		// Only the import that wrote is in the audit log, with who did it.
		var audited int
		if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM audit_log WHERE action = 'benchmark.import' AND actor = 'cli:benchmark import'`).Scan(&audited); err != nil || audited != 1 {
			t.Errorf("audit entries of the import: got %d (%v), want 1", audited, err)
		}
		// A new definition of income: the next year's values take version 2.
		rep, err = f.st.Import(ctx, parse(t, "key,name,unit,direction,definition\nincome,人均收入,元,higher_better,新口径\n",
			"indicator,unit_code,period,value\nincome,"+cA+",2027,55000\n"), false)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Changed != 1 || rep.Declared[0].DefinitionVersion != 2 {
			t.Errorf("redefinition: got %+v", rep)
		}
		var v1, v2 int
		if err := d.QueryRow(ctx, `SELECT definition_version FROM bm_values WHERE indicator = 'income' AND unit_code = $1 AND period = '2026'`, cA).Scan(&v1); err != nil {
			t.Fatal(err)
		}
		if err := d.QueryRow(ctx, `SELECT definition_version FROM bm_values WHERE indicator = 'income' AND unit_code = $1 AND period = '2027'`, cA).Scan(&v2); err != nil {
			t.Fatal(err)
		}
		if v1 != 1 || v2 != 2 {
			t.Errorf("definition versions: 2026 %d, 2027 %d; want 1, 2", v1, v2)
		}
	})
}

// TestImportManyRows writes more rows than one INSERT takes, and a value
// imported again replaces the old one.
func TestImportManyRows(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, _ *clock.Fake) {
		f := newFixture(t, d)
		ctx := context.Background()
		f.declare(t, "sat", benchmark.HigherBetter)
		var vals []benchmark.Value
		for i := 0; i < 1234; i++ {
			vals = append(vals, benchmark.Value{Indicator: "sat", Unit: fmt.Sprintf("u%04d", i), Period: "2026", Value: float64(i)})
		}
		if err := f.st.PutValues(ctx, vals, false); err != nil {
			t.Fatal(err)
		}
		if _, n := counts(t, d); n != len(vals) {
			t.Fatalf("%d values stored, want %d", n, len(vals))
		}
		vals[0].Value = -5
		if err := f.st.PutValues(ctx, vals[:1], false); err != nil {
			t.Fatal(err)
		}
		var got float64
		if err := d.QueryRow(ctx, `SELECT value FROM bm_values WHERE unit_code = $1`, vals[0].Unit).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != -5 {
			t.Fatalf("re-imported value: got %v, want -5", got)
		}
	})
}
