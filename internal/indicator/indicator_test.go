package indicator_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
	"whistle/internal/indicator"
)

// The test-only subject kind: fire hydrants ("hydrant"), inspected on a
// day and found working or not, in a table of their own. Nothing here is a
// case: a new module registers its Source and indicators and changes
// neither casework nor this package.
const hydrant = "hydrant"

// inspections is the test module's Source: one GROUP BY over its table
// for every asked subject, counting how often it is asked.
type inspections struct {
	d     *db.DB
	reads int
}

func (s *inspections) Facts(ctx context.Context, subjects []indicator.Subject, p indicator.Period) (map[indicator.Subject]indicator.Facts, error) {
	s.reads++
	var codes []string
	for _, sub := range subjects {
		if sub.Kind == hydrant {
			codes = append(codes, sub.Code)
		}
	}
	out := map[indicator.Subject]indicator.Facts{}
	if len(codes) == 0 {
		return out, nil
	}
	args := []any{p.From.Format(time.DateOnly), p.To.Format(time.DateOnly)}
	ph := make([]string, len(codes))
	for i, c := range codes {
		args = append(args, c)
		ph[i] = "$" + strconv.Itoa(i+3)
		// A hydrant that exists but was not inspected has zero counts:
		// known, and zero, unlike a subject of another kind.
		out[indicator.Subject{Kind: hydrant, Code: c}] = indicator.Facts{}
	}
	rows, err := s.d.Query(ctx, `SELECT hydrant, COUNT(*), SUM(working) FROM test_inspections WHERE day >= $1 AND day < $2 AND hydrant IN (`+
		strings.Join(ph, ",")+`) GROUP BY hydrant`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var code string
		var n, ok int64
		if err := rows.Scan(&code, &n, &ok); err != nil {
			return nil, err
		}
		out[indicator.Subject{Kind: hydrant, Code: code}] = indicator.Facts{"inspected": n, "working": ok}
	}
	return out, rows.Err()
}

func hydrantIndicators() []indicator.Indicator {
	return []indicator.Indicator{
		{Name: "hydrant_inspections", Unit: indicator.Count, Direction: indicator.HigherBetter, Source: "hydrants",
			Label:      indicator.Text{ZH: "消防栓巡检次数", EN: "Hydrant inspections"},
			Definition: indicator.Text{ZH: "期间内的巡检次数。", EN: "Inspections in the period."},
			Formula:    indicator.Formula{Count: "inspected"}},
		{Name: "hydrant_working_rate", Unit: indicator.Percent, Direction: indicator.HigherBetter, Source: "hydrants",
			Label:      indicator.Text{ZH: "消防栓完好率", EN: "Hydrants working"},
			Definition: indicator.Text{ZH: "期间内巡检中完好的比例。", EN: "Share of the period's inspections that found the hydrant working."},
			Formula:    indicator.Formula{Num: "working", Den: "inspected"}},
	}
}

func newRegistry(t *testing.T, d *db.DB) (*indicator.Registry, *inspections) {
	t.Helper()
	r := indicator.New()
	src := &inspections{d: d}
	if err := r.AddSource("hydrants", src); err != nil {
		t.Fatal(err)
	}
	for _, in := range hydrantIndicators() {
		if err := r.Register(in); err != nil {
			t.Fatalf("register %s: %v", in.Name, err)
		}
	}
	return r, src
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func show(v indicator.Value) string {
	if v.Value == nil {
		return "none " + strconv.FormatInt(v.Num, 10) + "/" + strconv.FormatInt(v.Den, 10)
	}
	return strconv.FormatFloat(*v.Value, 'f', 3, 64) + " " + strconv.FormatInt(v.Num, 10) + "/" + strconv.FormatInt(v.Den, 10)
}

func TestHydrantIndicators(t *testing.T) {
	dbtest.Each(t, clock.NewFake(day("2026-12-01")), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		err := d.InTx(ctx, func(tx *db.Tx) error {
			if _, err := tx.Exec(ctx, `CREATE TABLE test_inspections (hydrant TEXT NOT NULL, day TEXT NOT NULL, working INTEGER NOT NULL)`); err != nil {
				return err
			}
			for _, r := range []struct {
				h, day  string
				working int
			}{{"H1", "2026-11-01", 1}, {"H1", "2026-11-02", 0}, {"H1", "2026-11-03", 1}, {"H1", "2026-11-04", 1}, {"H2", "2026-11-10", 0},
				{"H1", "2026-12-01", 0}} {
				if _, err := tx.Exec(ctx, `INSERT INTO test_inspections (hydrant, day, working) VALUES ($1, $2, $3)`, r.h, r.day, r.working); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		r, src := newRegistry(t, d)
		nov := indicator.Period{From: day("2026-11-01"), To: day("2026-12-01")}
		h1, h2, h3 := indicator.Subject{Kind: hydrant, Code: "H1"}, indicator.Subject{Kind: hydrant, Code: "H2"}, indicator.Subject{Kind: hydrant, Code: "H3"}
		street := indicator.Subject{Kind: "region", Code: "330303001"}
		tests := []struct {
			name, indicator string
			subject         indicator.Subject
			period          indicator.Period
			want            string
		}{
			{"three of four working", "hydrant_working_rate", h1, nov, "0.750 3/4"},
			{"count", "hydrant_inspections", h1, nov, "4.000 4/0"},
			{"none working is zero, not no data", "hydrant_working_rate", h2, nov, "0.000 0/1"},
			{"not inspected: a ratio over nothing has no data", "hydrant_working_rate", h3, nov, "none 0/0"},
			{"not inspected: the count is zero", "hydrant_inspections", h3, nov, "0.000 0/0"},
			{"another kind of subject has no data, not zero", "hydrant_inspections", street, nov, "none 0/0"},
			{"the period's end is excluded", "hydrant_inspections", h1, indicator.Period{From: day("2026-11-02"), To: day("2026-11-04")}, "2.000 2/0"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				v, err := r.Compute(ctx, tt.indicator, indicator.Query{Subject: tt.subject, Period: tt.period})
				if err != nil {
					t.Fatal(err)
				}
				if got := show(v); got != tt.want {
					t.Errorf("got %s, want %s", got, tt.want)
				}
			})
		}
		t.Run("a batch reads its source once", func(t *testing.T) {
			before := src.reads
			tab, err := r.Batch(ctx, []string{"hydrant_working_rate", "hydrant_inspections"}, []indicator.Subject{h1, h2, h3, street}, nov)
			if err != nil {
				t.Fatal(err)
			}
			if got := src.reads - before; got != 1 {
				t.Errorf("the source was read %d times, want 1", got)
			}
			if got, want := show(tab[h2]["hydrant_working_rate"])+", "+show(tab[h1]["hydrant_inspections"]), "0.000 0/1, 4.000 4/0"; got != want {
				t.Errorf("got %s, want %s", got, want)
			}
		})
		t.Run("bad queries", func(t *testing.T) {
			for _, tt := range []struct {
				name  string
				names []string
				p     indicator.Period
				field string
			}{
				{"unknown indicator", []string{"hydrant_colour"}, nov, "indicator"},
				{"empty period", []string{"hydrant_inspections"}, indicator.Period{From: nov.From, To: nov.From}, "to"},
				{"no start", []string{"hydrant_inspections"}, indicator.Period{To: nov.To}, "from"},
			} {
				_, err := r.Batch(ctx, tt.names, []indicator.Subject{h1}, tt.p)
				e, ok := errs.As(err)
				if !ok || e.Code != errs.Invalid || e.Fields[tt.field].Key == "" {
					t.Errorf("%s: got %v, want invalid with a message on %s", tt.name, err, tt.field)
				}
			}
		})
	})
}

func TestRegisterRefuses(t *testing.T) {
	good := hydrantIndicators()[1]
	r := indicator.New()
	if err := r.AddSource("hydrants", &inspections{}); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(good); err != nil {
		t.Fatal(err)
	}
	with := func(f func(*indicator.Indicator)) indicator.Indicator {
		in := good
		in.Name = "hydrant_other"
		f(&in)
		return in
	}
	tests := []struct {
		name  string
		in    indicator.Indicator
		code  errs.Code
		field string
	}{
		{"duplicate name", good, errs.Conflict, ""},
		{"name with capitals", with(func(in *indicator.Indicator) { in.Name = "HydrantRate" }), errs.Invalid, "name"},
		{"no name", with(func(in *indicator.Indicator) { in.Name = "" }), errs.Invalid, "name"},
		{"unknown unit", with(func(in *indicator.Indicator) { in.Unit = "litres" }), errs.Invalid, "unit"},
		{"unknown direction", with(func(in *indicator.Indicator) { in.Direction = "up" }), errs.Invalid, "direction"},
		{"no English label", with(func(in *indicator.Indicator) { in.Label.EN = "" }), errs.Invalid, "label"},
		{"no Chinese definition", with(func(in *indicator.Indicator) { in.Definition.ZH = "" }), errs.Invalid, "definition"},
		{"unknown source", with(func(in *indicator.Indicator) { in.Source = "pumps" }), errs.Invalid, "source"},
		{"no formula", with(func(in *indicator.Indicator) { in.Formula = indicator.Formula{} }), errs.Invalid, "formula"},
		{"ratio without a denominator", with(func(in *indicator.Indicator) { in.Formula.Den = "" }), errs.Invalid, "formula"},
		{"count and ratio at once", with(func(in *indicator.Indicator) { in.Formula.Count = "inspected" }), errs.Invalid, "formula"},
		{"negative divisor", with(func(in *indicator.Indicator) { in.Formula.Per = -1 }), errs.Invalid, "formula"},
		{"a count in percent", with(func(in *indicator.Indicator) { in.Formula = indicator.Formula{Count: "inspected"} }), errs.Invalid, "unit"},
		{"a divided count", with(func(in *indicator.Indicator) {
			in.Unit, in.Formula = indicator.Count, indicator.Formula{Count: "inspected", Per: 100}
		}), errs.Invalid, "formula"},
		{"a sum of money with a negative divisor", with(func(in *indicator.Indicator) {
			in.Unit, in.Formula = indicator.Yuan, indicator.Formula{Count: "inspected", Per: -100}
		}), errs.Invalid, "formula"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Register(tt.in)
			e, ok := errs.As(err)
			if !ok || e.Code != tt.code {
				t.Fatalf("got %v, want %s", err, tt.code)
			}
			if tt.field != "" && e.Fields[tt.field].Key == "" {
				t.Errorf("got fields %v, want a message on %s", e.Fields, tt.field)
			}
		})
	}
	if err := r.AddSource("hydrants", &inspections{}); !errs.Is(err, errs.Conflict) {
		t.Errorf("second source called hydrants: got %v, want conflict", err)
	}
	if got := len(r.List()); got != 1 {
		t.Errorf("after the refusals the registry lists %d indicators, want 1", got)
	}
	// A sum of money kept in fen is reported in yuan; its Num stays the
	// fen, so that sums over subjects add up exactly.
	money := with(func(in *indicator.Indicator) {
		in.Name, in.Unit, in.Formula = "hydrant_spend", indicator.Yuan, indicator.Formula{Count: "spend_fen", Per: 100}
	})
	if err := r.Register(money); err != nil {
		t.Fatalf("a sum in yuan: %v", err)
	}
	if v := money.Of(indicator.Facts{"spend_fen": 12345}, true); v.Value == nil || *v.Value != 123.45 || v.Num != 12345 {
		t.Errorf("12345 fen: got %+v, want 123.45 yuan over Num 12345", v)
	}
	days := with(func(in *indicator.Indicator) {
		in.Name, in.Unit, in.Formula = "hydrant_wait", indicator.Days, indicator.Formula{Num: "wait_s", Den: "waits", Per: 86400}
	})
	if err := r.Register(days); err != nil {
		t.Fatalf("a mean in days: %v", err)
	}
	if got := len(r.List()); got != 3 {
		t.Errorf("the registry lists %d indicators, want 3", got)
	}
	if in, ok := r.Get("hydrant_working_rate"); !ok || in.Unit != indicator.Percent {
		t.Errorf("Get: got %+v, %v", in, ok)
	}
}

func TestAddModule(t *testing.T) {
	r := indicator.New()
	if err := r.AddModule("hydrants", &inspections{}, hydrantIndicators()); err != nil {
		t.Fatal(err)
	}
	if got, want := len(r.List()), len(hydrantIndicators()); got != want {
		t.Errorf("indicators listed: got %d, want %d", got, want)
	}
	// A second module under the same source name is refused before any
	// of its indicators is registered.
	other := hydrantIndicators()[0]
	other.Name = "hydrant_other"
	if err := r.AddModule("hydrants", &inspections{}, []indicator.Indicator{other}); !errs.Is(err, errs.Conflict) {
		t.Errorf("second module called hydrants: got %v, want conflict", err)
	}
	if _, ok := r.Get("hydrant_other"); ok {
		t.Error("the refused module's indicator was registered")
	}
}
