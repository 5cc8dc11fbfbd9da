package benchmark

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// ValueColumns are the columns of a values file, in any order; other
// columns (a unit's name, a note) are ignored.
var ValueColumns = []string{"indicator", "unit_code", "period", "value"}

// IndicatorColumns are the columns of an indicators file: key, name, unit
// and direction are required; name_en, definition, definition_en, source
// and context (yes for a context variable such as population; see
// Indicator.Context) are optional.
var IndicatorColumns = []string{"key", "name", "unit", "direction", "name_en", "definition", "definition_en", "source", "context"}

// MaxCell is the longest cell a file may have, in bytes: longer is a row
// error rather than a value stored.
const MaxCell = 4096

// numberRE is a plain decimal number: what a spreadsheet writes. Hex
// floats, "NaN" and "Inf", which strconv would take, are refused.
var numberRE = regexp.MustCompile(`^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$`)

// table is a CSV file's header and records, each with the line it starts
// on (blank lines skipped, so the line is what a spreadsheet or an
// editor shows as the row).
type table struct {
	header     []string
	headerLine int
	rows       [][]string
	lines      []int
}

// readTable reads an .xlsx workbook's first sheet, or a CSV file in UTF-8
// (with or without a byte-order mark) or, when it is not UTF-8, in
// GB18030 (what Excel writes on a Chinese Windows). Cells are trimmed. A
// file that cannot be read as CSV past some line yields the rows before
// it and a RowError for that line.
func readTable(r io.Reader) (*table, []RowError) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(4096)
	if bytes.HasPrefix(head, []byte("PK\x03\x04")) { // a zip archive: .xlsx
		return readXLSX(br)
	}
	var src io.Reader = br
	if bytes.HasPrefix(head, []byte("\uFEFF")) {
		_, _ = br.Discard(3)
	} else if !utf8Prefix(head) {
		src = transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder())
	}
	c := csv.NewReader(src)
	c.FieldsPerRecord = -1
	t := &table{}
	for {
		rec, err := c.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			line := 1
			if errors.As(err, &pe) {
				line, err = pe.StartLine, pe.Err
			}
			return t, []RowError{{Row: max(line, 1), Column: "-", Reason: "unreadable CSV: " + err.Error()}}
		}
		line, _ := c.FieldPos(0)
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		t.add(rec, line)
	}
	return t.done()
}

// add takes a row: the first with two cells or more is the header (a
// title row above it, 2026年各社区指标, is common).
func (t *table) add(rec []string, line int) {
	if allEmpty(rec) {
		return
	}
	if t.header == nil {
		if nonEmpty(rec) >= 2 {
			t.header, t.headerLine = rec, line
		}
		return
	}
	t.rows = append(t.rows, rec)
	t.lines = append(t.lines, line)
}

// done is the table read, or the error of a file without a header.
func (t *table) done() (*table, []RowError) {
	if t.header == nil {
		return t, []RowError{{Row: 1, Column: "-", Reason: "empty file: want a header row"}}
	}
	return t, nil
}

// readXLSX reads the first sheet of a workbook; a row's number is the
// sheet's.
func readXLSX(r io.Reader) (*table, []RowError) {
	t := &table{}
	f, err := excelize.OpenReader(r)
	if err != nil {
		return t, []RowError{{Row: 1, Column: "-", Reason: "unreadable workbook: " + err.Error()}}
	}
	defer f.Close()
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		return t.done()
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		return t, []RowError{{Row: 1, Column: "-", Reason: "unreadable workbook: " + err.Error()}}
	}
	defer rows.Close()
	line := 0
	for rows.Next() {
		line++
		rec, err := rows.Columns()
		if err != nil {
			return t, []RowError{{Row: line, Column: "-", Reason: "unreadable row: " + err.Error()}}
		}
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		t.add(rec, line)
	}
	if err := rows.Error(); err != nil {
		return t, []RowError{{Row: max(line, 1), Column: "-", Reason: "unreadable workbook: " + err.Error()}}
	}
	return t.done()
}

// utf8Prefix reports whether b is UTF-8, allowing a rune cut at its end.
func utf8Prefix(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r == utf8.RuneError && n <= 1 {
			return len(b) < utf8.UTFMax && !utf8.FullRune(b)
		}
		b = b[n:]
	}
	return true
}

func allEmpty(rec []string) bool { return nonEmpty(rec) == 0 }

func nonEmpty(rec []string) int {
	n := 0
	for _, c := range rec {
		if c != "" {
			n++
		}
	}
	return n
}

// columns maps the header's known names (case-insensitive) to their
// positions, with row-1 errors for a missing required column or a column
// given twice.
func (t *table) columns(required, optional []string) (map[string]int, []RowError) {
	var bad []RowError
	at := map[string]int{}
	known := map[string]bool{}
	for _, c := range append(append([]string{}, required...), optional...) {
		known[c] = true
	}
	for i, h := range t.header {
		h = strings.ToLower(h)
		if !known[h] {
			continue
		}
		if _, twice := at[h]; twice {
			bad = append(bad, RowError{t.headerLine, h, "column given twice"})
			continue
		}
		at[h] = i
	}
	for _, c := range required {
		if _, ok := at[c]; !ok {
			bad = append(bad, RowError{t.headerLine, c, "column missing; the header needs " + strings.Join(required, ",")})
		}
	}
	return at, bad
}

// cell is row i's cell of column c ("" when the row is short).
func (t *table) cell(at map[string]int, i int, c string) string {
	j, ok := at[c]
	if !ok || j >= len(t.rows[i]) {
		return ""
	}
	return t.rows[i][j]
}

// badCode reports what is wrong with a unit code or key cell, "" if
// nothing: required, at most max bytes, no spaces or control characters.
func badCode(s string, maxLen int) string {
	switch {
	case s == "":
		return "required"
	case len(s) > maxLen:
		return fmt.Sprintf("at most %d characters", maxLen)
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError }):
		return "no spaces or control characters"
	}
	return ""
}

// ParseValues reads a values file: a CSV file or an .xlsx workbook with
// the columns indicator, unit_code, period and value (ValueColumns) under
// a header row. It returns the values and the row each came from (the
// CSV file's line, the sheet's row), or an *ImportError naming every bad
// row ("row N: column: reason") and no values. It checks the cells' form; whether the
// indicators are declared is PutValues's (or Import's) to check.
func ParseValues(r io.Reader) (vals []Value, rows []int, err error) {
	t, bad := readTable(r)
	if t.header == nil {
		return nil, nil, &ImportError{Rows: bad}
	}
	at, hbad := t.columns(ValueColumns, nil)
	bad = append(bad, hbad...)
	if len(hbad) > 0 {
		sortRowErrors(bad)
		return nil, nil, &ImportError{Rows: bad}
	}
	for i := range t.rows {
		row := t.lines[i]
		v := Value{Indicator: t.cell(at, i, "indicator"), Unit: t.cell(at, i, "unit_code"), Period: t.cell(at, i, "period")}
		if why := badCode(v.Indicator, 64); why != "" {
			bad = append(bad, RowError{row, "indicator", why})
		}
		if why := badCode(v.Unit, 32); why != "" {
			bad = append(bad, RowError{row, "unit_code", why})
		}
		if !ValidPeriod(v.Period) {
			bad = append(bad, RowError{row, "period", "not a month (2026-11), quarter (2026-Q3) or year (2026)"})
		}
		x, why := parseNumber(t.cell(at, i, "value"))
		if why != "" {
			bad = append(bad, RowError{row, "value", why})
		}
		v.Value = x
		vals = append(vals, v)
		rows = append(rows, row)
	}
	if len(bad) > 0 {
		sortRowErrors(bad)
		return nil, nil, &ImportError{Rows: bad}
	}
	return vals, rows, nil
}

// parseNumber reads a value cell: a finite decimal number.
func parseNumber(s string) (float64, string) {
	if s == "" {
		return 0, "required"
	}
	if len(s) > 64 || !numberRE.MatchString(s) {
		return 0, "not a number"
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return 0, "not a finite number"
	}
	return x, ""
}

// ParseIndicators reads an indicators file: a CSV with the columns key,
// name, unit and direction (and optionally name_en, definition,
// definition_en, source and context; IndicatorColumns). It returns the
// declarations and their rows, or an *ImportError naming every bad row.
func ParseIndicators(r io.Reader) (ins []Indicator, rows []int, err error) {
	t, bad := readTable(r)
	if t.header == nil {
		return nil, nil, &ImportError{Rows: bad}
	}
	at, hbad := t.columns(IndicatorColumns[:4], IndicatorColumns[4:])
	bad = append(bad, hbad...)
	if len(hbad) > 0 {
		sortRowErrors(bad)
		return nil, nil, &ImportError{Rows: bad}
	}
	seen := map[string]int{}
	for i := range t.rows {
		row := t.lines[i]
		c := func(col string) string { return t.cell(at, i, col) }
		in := Indicator{Key: c("key"), Name: Text{ZH: c("name"), EN: c("name_en")}, Unit: c("unit"), Direction: c("direction"),
			Source: c("source"), Definition: Text{ZH: c("definition"), EN: c("definition_en")}}
		switch strings.ToLower(c("context")) {
		case "", "0", "no", "false", "否":
		case "1", "yes", "true", "是":
			in.Context = true
		default:
			bad = append(bad, RowError{row, "context", "yes or no (是 or 否)"})
		}
		for _, col := range IndicatorColumns {
			if len(c(col)) > MaxCell {
				bad = append(bad, RowError{row, col, fmt.Sprintf("at most %d bytes", MaxCell)})
			}
		}
		bad = append(bad, in.rowErrors(row)...)
		if first, dup := seen[in.Key]; dup && in.Key != "" {
			bad = append(bad, RowError{row, "key", fmt.Sprintf("repeats row %d", first)})
		} else {
			seen[in.Key] = row
		}
		ins = append(ins, in)
		rows = append(rows, row)
	}
	if len(bad) > 0 {
		sortRowErrors(bad)
		return nil, nil, &ImportError{Rows: bad}
	}
	return ins, rows, nil
}

// rowErrors is check's verdict as row errors of an indicators file.
func (in *Indicator) rowErrors(row int) []RowError {
	var out []RowError
	if !keyRE.MatchString(in.Key) || len(in.Key) > 64 {
		out = append(out, RowError{row, "key", "lower-case words joined by underscores, at most 64 characters"})
	}
	if strings.TrimSpace(in.Name.ZH) == "" && strings.TrimSpace(in.Name.EN) == "" {
		out = append(out, RowError{row, "name", "required"})
	}
	if strings.TrimSpace(in.Unit) == "" || len(in.Unit) > 32 {
		out = append(out, RowError{row, "unit", "required, at most 32 characters"})
	}
	if in.Direction != HigherBetter && in.Direction != LowerBetter {
		out = append(out, RowError{row, "direction", "higher_better or lower_better"})
	}
	if len(in.Source) > 32 || in.Source == SourcePlatform {
		out = append(out, RowError{row, "source", "at most 32 characters, not platform"})
	}
	return out
}

// sortRowErrors orders errors by row, keeping each row's column order.
func sortRowErrors(bad []RowError) {
	slices.SortStableFunc(bad, func(a, b RowError) int { return a.Row - b.Row })
}
