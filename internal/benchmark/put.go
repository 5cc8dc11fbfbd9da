package benchmark

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// RowError is one bad row of an import: its number (the header is row
// 1), the column and the reason.
type RowError struct {
	Row    int    `json:"row"`
	Column string `json:"column"`
	Reason string `json:"reason"`
}

// String is the "row N: column: reason" line the import command prints.
func (e RowError) String() string { return fmt.Sprintf("row %d: %s: %s", e.Row, e.Column, e.Reason) }

// ImportError is an import refused for its bad rows; nothing was
// written. Rows are the values' rows, Declarations the rows of the
// indicators declared with them (a second file).
type ImportError struct {
	Rows         []RowError
	Declarations []RowError
}

// Error lists the rows, the declarations' first.
func (e *ImportError) Error() string {
	var lines []string
	for _, r := range e.Declarations {
		lines = append(lines, "indicators: "+r.String())
	}
	for _, r := range e.Rows {
		lines = append(lines, r.String())
	}
	return strings.Join(lines, "\n")
}

// AsErr is the Invalid error of the web layer, naming the first rows.
func (e *ImportError) AsErr() *errs.Error {
	bad := errs.E(errs.Invalid, "benchmark.import_rows", len(e.Rows)+len(e.Declarations))
	n := 0
	for _, r := range e.Declarations {
		if n == 20 {
			break
		}
		bad.Field(fmt.Sprintf("indicators row %d: %s", r.Row, r.Column), "benchmark.row_reason", r.Reason)
		n++
	}
	for _, r := range e.Rows {
		if n == 20 {
			break
		}
		bad.Field(fmt.Sprintf("row %d: %s", r.Row, r.Column), "benchmark.row_reason", r.Reason)
		n++
	}
	return bad
}

// PutValues writes values, all or nothing: each value's indicator must be
// declared, its period valid and its value finite, else nothing is written
// and the ImportError names every bad row (row i+2 for vals[i], as in a
// file with a header). A value takes its indicator's current definition
// version and replaces the unit's value of that indicator and period.
// With dryRun it checks and writes nothing.
func (s *Store) PutValues(ctx context.Context, vals []Value, dryRun bool) (err error) {
	defer errs.Wrapf(&err, "benchmark.Store.PutValues(%d)", len(vals))
	_, err = s.Import(ctx, Import{Values: vals}, dryRun)
	return err
}

// Import is what an import brings: indicators to declare (from a second
// file, each with its row) and values (each with its row). Rows may be
// nil: then row i+2 stands for item i, as in a file with a header.
type Import struct {
	Indicators    []Indicator
	IndicatorRows []int
	Values        []Value
	ValueRows     []int
	// By is who imports, for the audit log (a system actor when unset).
	By audit.Actor
}

// ImportReport says what an import wrote, or with a dry run would write.
type ImportReport struct {
	Values int `json:"values"`
	// Declared are the declared indicators, each with the definition
	// version its values take; New counts those not known before, Changed
	// those whose definition changed (a new series).
	Declared []Indicator `json:"declared"`
	New      int         `json:"new"`
	Changed  int         `json:"changed"`
}

// errDryRun rolls back a dry run's transaction.
var errDryRun = errors.New("benchmark: dry run")

// Import declares im's indicators and writes its values in one
// transaction, all or nothing, as PutValues does: a bad declaration (see
// DeclareIndicator; one of another source is refused) or a bad value
// leaves everything as it was, and the *ImportError names every bad row
// of both. Values may use the indicators declared with them. With dryRun
// it does the same work and rolls back, so that a dry run refuses exactly
// what the import would.
func (s *Store) Import(ctx context.Context, im Import, dryRun bool) (_ *ImportReport, err error) {
	defer errs.Wrapf(&err, "benchmark.Store.Import(%d indicators, %d values)", len(im.Indicators), len(im.Values))
	var rep *ImportReport
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		rep = &ImportReport{Values: len(im.Values), Declared: []Indicator{}}
		var bad ImportError
		for i, in := range im.Indicators {
			row := rowOf(im.IndicatorRows, i)
			if in.Source == "" {
				in.Source = "import"
			}
			if rb := in.rowErrors(row); len(rb) > 0 {
				bad.Declarations = append(bad.Declarations, rb...)
				continue
			}
			_ = in.check() // fills a missing name in the other language
			out, err := declare(ctx, tx, in)
			if errs.Is(err, errs.Conflict) {
				bad.Declarations = append(bad.Declarations, RowError{row, "key", "indicator " + in.Key + " belongs to another source and cannot be redefined"})
				continue
			}
			if err != nil {
				return err
			}
			switch {
			case out.created:
				rep.New++
			case out.changed:
				rep.Changed++
			}
			rep.Declared = append(rep.Declared, out.Indicator)
		}
		ins, err := indicatorsIn(ctx, tx)
		if err != nil {
			return err
		}
		bad.Rows = check(ins, im.Values, im.ValueRows)
		if len(bad.Rows) > 0 || len(bad.Declarations) > 0 {
			return &bad
		}
		if dryRun {
			return errDryRun
		}
		if err := put(ctx, tx, im.Values); err != nil {
			return err
		}
		by := im.By
		if by.Name == "" {
			by = audit.System("benchmark import")
		}
		return audit.Record(ctx, tx, by, "benchmark.import", "indicators",
			fmt.Sprintf("%d values; %d indicators declared (%d new, %d redefined)", rep.Values, len(rep.Declared), rep.New, rep.Changed))
	})
	if errors.Is(err, errDryRun) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// rowOf is item i's row: rows[i], or i+2 without rows.
func rowOf(rows []int, i int) int {
	if i < len(rows) {
		return rows[i]
	}
	return i + 2
}

// check validates values against the indicators ins and sets each one's
// definition version; it returns every bad row.
func check(ins []Indicator, vals []Value, rows []int) []RowError {
	byKey := map[string]Indicator{}
	for _, in := range ins {
		byKey[in.Key] = in
	}
	var bad []RowError
	seen := map[[3]string]int{}
	for i := range vals {
		v := &vals[i]
		row := rowOf(rows, i)
		in, ok := byKey[v.Indicator]
		switch {
		case !ok:
			bad = append(bad, RowError{row, "indicator", "unknown indicator " + v.Indicator + "; declare it first"})
		case in.Source == SourcePlatform:
			// The platform's own are computed from the registry each
			// month (Snapshot); an import would overwrite them.
			bad = append(bad, RowError{row, "indicator", "indicator " + v.Indicator + " is the platform's own, computed each month; it cannot be imported"})
		}
		if v.Unit == "" || len(v.Unit) > 32 {
			bad = append(bad, RowError{row, "unit_code", "required, at most 32 characters"})
		}
		if !ValidPeriod(v.Period) {
			bad = append(bad, RowError{row, "period", "not a month (2026-11), quarter (2026-Q3) or year (2026)"})
		}
		if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
			bad = append(bad, RowError{row, "value", "not a finite number"})
		}
		k := [3]string{v.Indicator, v.Unit, v.Period}
		if first, dup := seen[k]; dup {
			bad = append(bad, RowError{row, "unit_code", fmt.Sprintf("repeats row %d", first)})
		} else {
			seen[k] = row
		}
		v.DefinitionVersion = in.DefinitionVersion
	}
	return bad
}

// putBatch is how many values one INSERT writes.
const putBatch = 500

// put writes checked values inside a transaction, putBatch a statement.
func put(ctx context.Context, tx *db.Tx, vals []Value) error {
	for len(vals) > 0 {
		n := min(len(vals), putBatch)
		var q strings.Builder
		q.WriteString(`INSERT INTO bm_values (indicator, unit_code, period, value, definition_version) VALUES `)
		args := make([]any, 0, 5*n)
		for i, v := range vals[:n] {
			if i > 0 {
				q.WriteString(", ")
			}
			k := 5 * i
			fmt.Fprintf(&q, "($%d, $%d, $%d, $%d, $%d)", k+1, k+2, k+3, k+4, k+5)
			args = append(args, v.Indicator, v.Unit, v.Period, v.Value, v.DefinitionVersion)
		}
		q.WriteString(` ON CONFLICT (indicator, period, unit_code) DO UPDATE SET value = excluded.value, definition_version = excluded.definition_version`)
		if _, err := tx.Exec(ctx, q.String(), args...); err != nil {
			return err
		}
		vals = vals[n:]
	}
	return nil
}
