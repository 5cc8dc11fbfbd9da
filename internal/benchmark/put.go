package benchmark

import (
	"context"
	"fmt"
	"math"
	"strings"

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

// ImportError is an import refused for its bad rows; nothing was written.
type ImportError struct {
	Rows []RowError
}

// Error lists the rows.
func (e *ImportError) Error() string {
	lines := make([]string, len(e.Rows))
	for i, r := range e.Rows {
		lines[i] = r.String()
	}
	return strings.Join(lines, "\n")
}

// AsErr is the Invalid error of the web layer, naming the first rows.
func (e *ImportError) AsErr() *errs.Error {
	bad := errs.E(errs.Invalid, "benchmark.import_rows", len(e.Rows))
	for i, r := range e.Rows {
		if i == 20 {
			break
		}
		bad.Field(fmt.Sprintf("row %d: %s", r.Row, r.Column), "benchmark.row_reason", r.Reason)
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
	ins, err := s.Indicators(ctx)
	if err != nil {
		return err
	}
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		return put(ctx, tx, ins, vals, dryRun)
	})
}

// put is PutValues inside a transaction, against the indicators ins.
func put(ctx context.Context, tx *db.Tx, ins []Indicator, vals []Value, dryRun bool) error {
	byKey := map[string]Indicator{}
	for _, in := range ins {
		byKey[in.Key] = in
	}
	var bad ImportError
	seen := map[[3]string]int{}
	for i := range vals {
		v := &vals[i]
		row := i + 2
		in, ok := byKey[v.Indicator]
		if !ok {
			bad.Rows = append(bad.Rows, RowError{row, "indicator", "unknown indicator " + v.Indicator + "; declare it first"})
		}
		if v.Unit == "" || len(v.Unit) > 32 {
			bad.Rows = append(bad.Rows, RowError{row, "unit_code", "required, at most 32 characters"})
		}
		if !ValidPeriod(v.Period) {
			bad.Rows = append(bad.Rows, RowError{row, "period", "not a month (2026-11), quarter (2026-Q3) or year (2026)"})
		}
		if math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
			bad.Rows = append(bad.Rows, RowError{row, "value", "not a finite number"})
		}
		k := [3]string{v.Indicator, v.Unit, v.Period}
		if first, dup := seen[k]; dup {
			bad.Rows = append(bad.Rows, RowError{row, "unit_code", fmt.Sprintf("repeats row %d", first)})
		}
		seen[k] = row
		v.DefinitionVersion = in.DefinitionVersion
	}
	if len(bad.Rows) > 0 {
		return &bad
	}
	if dryRun {
		return nil
	}
	for _, v := range vals {
		if _, err := tx.Exec(ctx, `INSERT INTO bm_values (indicator, unit_code, period, value, definition_version) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (indicator, period, unit_code) DO UPDATE SET value = excluded.value, definition_version = excluded.definition_version`,
			v.Indicator, v.Unit, v.Period, v.Value, v.DefinitionVersion); err != nil {
			return err
		}
	}
	return nil
}
