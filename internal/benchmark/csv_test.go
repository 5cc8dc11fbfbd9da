package benchmark

import (
	"bytes"
	"encoding/csv"
	"errors"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

func rowLines(err error) []string {
	var ie *ImportError
	if !errors.As(err, &ie) {
		return nil
	}
	var out []string
	for _, r := range append(slices.Clone(ie.Declarations), ie.Rows...) {
		out = append(out, r.String())
	}
	return out
}

// TestParseValues: the columns in any order with extra ones ignored, a
// byte-order mark, blank lines (the row is the file's line), and every bad
// cell named by row and column.
func TestParseValues(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []Value
		rows     []int
		errs     []string
	}{
		{"plain", "indicator,unit_code,period,value\nincome,330303001,2026,52000.5\nincome,330303002,2026,-1e3\n",
			[]Value{{"income", "330303001", "2026", 52000.5, 0}, {"income", "330303002", "2026", -1000, 0}}, []int{2, 3}, nil},
		{"any order, extra column, BOM, blank line, spaces", "\uFEFFValue, unit_name ,Period,UNIT_CODE,indicator\n\n 7 ,永中,2026-Q3, 330303001 ,tongban_rate\r\n,,,,\n.5,x,2026-11,330303002,tongban_rate",
			[]Value{{"tongban_rate", "330303001", "2026-Q3", 7, 0}, {"tongban_rate", "330303002", "2026-11", 0.5, 0}}, []int{3, 5}, nil},
		{"bad cells", "indicator,unit_code,period,value\n" +
			"income,330303001,2026-13,1\n" + // row 2
			",330303001,2026,NaN\n" + // row 3
			"income,3303 03,2026,0x1p3\n" + // row 4
			"income,330303001,2026,1e999\n" + // row 5
			"income\n", // row 6: short
			nil, nil, []string{
				"row 2: period: not a month (2026-11), quarter (2026-Q3) or year (2026)",
				"row 3: indicator: required", "row 3: value: not a number",
				"row 4: unit_code: no spaces or control characters", "row 4: value: not a number",
				"row 5: value: not a finite number",
				"row 6: unit_code: required", "row 6: period: not a month (2026-11), quarter (2026-Q3) or year (2026)", "row 6: value: required",
			}},
		{"missing column", "indicator,unit,period,value\nincome,330303001,2026,1\n", nil, nil,
			[]string{"row 1: unit_code: column missing; the header needs indicator,unit_code,period,value"}},
		{"column twice", "indicator,unit_code,period,value,Value\nincome,330303001,2026,1,2\n", nil, nil, []string{"row 1: value: column given twice"}},
		{"empty file", "", nil, nil, []string{"row 1: -: empty file: want a header row"}},
		{"unreadable", "indicator,unit_code,period,value\nincome,330303001,2026,1\nincome,\"330303002,2026,2\n", nil, nil,
			[]string{"row 3: -: unreadable CSV: extraneous or missing \" in quoted-field"}},
		{"a quoted cell over two lines: the next row is its line", "indicator,unit_code,period,value,note\nincome,330303001,2026,1,\"a\nb\"\nincome,330303002,2026,x,\n", nil, nil,
			[]string{"row 4: value: not a number"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vals, rows, err := ParseValues(strings.NewReader(tc.in))
			if got := rowLines(err); !slices.Equal(got, tc.errs) {
				t.Fatalf("errors: got %q (%v), want %q", got, err, tc.errs)
			}
			if !slices.Equal(vals, tc.want) || !slices.Equal(rows, tc.rows) {
				t.Fatalf("got %v at rows %v, want %v at %v", vals, rows, tc.want, tc.rows)
			}
		})
	}
}

// TestParseGB18030: a file Excel saved on a Chinese Windows.
func TestParseGB18030(t *testing.T) {
	in, err := simplifiedchinese.GB18030.NewEncoder().String("key,name,unit,direction\nincome_per_head,人均可支配收入,元,higher_better\n")
	if err != nil {
		t.Fatal(err)
	}
	ins, rows, err := ParseIndicators(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 1 || ins[0].Name.ZH != "人均可支配收入" || ins[0].Unit != "元" || rows[0] != 2 {
		t.Fatalf("got %+v at %v", ins, rows)
	}
}

// TestParseIndicators names each bad declaration's cells and a repeated
// key.
func TestParseIndicators(t *testing.T) {
	in := "key,name,unit,direction,definition\n" +
		"income_per_head,人均收入,元,higher_better,统计局口径\n" +
		"Income,x,元,up,\n" +
		"income_per_head,人均收入,元,lower_better,\n" +
		"late_rate,,,lower_better,\n"
	_, _, err := ParseIndicators(strings.NewReader(in))
	want := []string{
		"row 3: key: lower-case words joined by underscores, at most 64 characters", "row 3: direction: higher_better or lower_better",
		"row 4: key: repeats row 2",
		"row 5: name: required", "row 5: unit: required, at most 32 characters",
	}
	if got := rowLines(err); !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

var rowLineRE = regexp.MustCompile(`^row [1-9][0-9]*: [a-z_-]+: .+$`)

// checkParsed is the parsers' invariant: an answer is either values with
// strictly rising rows past the header, or an ImportError whose every line
// reads "row N: column: reason" for a column of the file, in row order,
// and no values.
func checkParsed[T any](t *testing.T, vals []T, rows []int, err error, columns []string) {
	t.Helper()
	if err != nil {
		var ie *ImportError
		if !errors.As(err, &ie) {
			t.Fatalf("error %v is not an ImportError", err)
		}
		if len(ie.Rows) == 0 || vals != nil || rows != nil {
			t.Fatalf("refused with %d rows, %d values", len(ie.Rows), len(vals))
		}
		for i, r := range ie.Rows {
			if !rowLineRE.MatchString(r.String()) || (r.Column != "-" && !slices.Contains(columns, r.Column)) {
				t.Fatalf("bad error line %q", r.String())
			}
			if i > 0 && r.Row < ie.Rows[i-1].Row {
				t.Fatalf("errors out of row order: %v", ie.Rows)
			}
		}
		return
	}
	if len(vals) != len(rows) {
		t.Fatalf("%d values, %d rows", len(vals), len(rows))
	}
	for i, r := range rows {
		if r < 2 || i > 0 && r <= rows[i-1] {
			t.Fatalf("rows %v not rising past the header", rows)
		}
	}
}

// FuzzParseValues: whatever the bytes, ParseValues answers within its
// invariant (checkParsed); accepted values are valid (a code without
// spaces, a valid period, a finite value) and survive being written back
// as CSV and read again unchanged.
func FuzzParseValues(f *testing.F) {
	for _, s := range []string{
		"indicator,unit_code,period,value\nincome,330303001,2026,52000.5\n",
		"\uFEFFvalue,period,unit_code,indicator\n1,2026-Q3,330303001,x\n\n2,2026-11,330303002,x\n",
		"indicator,unit_code,period,value\nincome,330303001,2026-13,NaN\n,,,\nincome\n",
		"indicator,unit_code,period,value\n\"a\nb\",c,2026,1\n", "indicator,unit_code,period,value\nx,\"y,2026,1\n", "", "\xff\xfe,\x00",
		"indicator,unit_code,period,value,value\n", "indicator,unit_code,period,value\nx,y,2026,1e400\nx,y,2026,-0\nx,y,2026,.5e-3\n",
	} {
		f.Add([]byte(s))
	}
	f.Add(workbook(f, [][]any{{"标题"}, {"indicator", "unit_code", "period", "value"}, {"income", "330303001", "2026", 1.5}, {"income", "x y", "2026-13", "n"}}))
	f.Fuzz(func(t *testing.T, in []byte) {
		vals, rows, err := ParseValues(bytes.NewReader(in))
		checkParsed(t, vals, rows, err, ValueColumns)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		_ = w.Write(ValueColumns)
		for _, v := range vals {
			if badCode(v.Indicator, 64) != "" || badCode(v.Unit, 32) != "" || !ValidPeriod(v.Period) || math.IsNaN(v.Value) || math.IsInf(v.Value, 0) {
				t.Fatalf("accepted an invalid value %+v", v)
			}
			_ = w.Write([]string{v.Indicator, v.Unit, v.Period, strconv.FormatFloat(v.Value, 'g', -1, 64)})
		}
		w.Flush()
		again, _, err := ParseValues(&buf)
		if err != nil || !slices.Equal(again, vals) {
			t.Fatalf("written back and read again: got %v (%v), want %v", again, err, vals)
		}
	})
}

// FuzzParseIndicators: ParseIndicators answers within its invariant, and
// every accepted declaration passes the store's own check with distinct
// keys.
func FuzzParseIndicators(f *testing.F) {
	for _, s := range []string{
		"key,name,unit,direction\nincome_per_head,人均收入,元,higher_better\n",
		"key,name,unit,direction,source,definition\nx,y,z,lower_better,survey,口径\nx,y,z,lower_better,,\n",
		"key,name\n", "", "key,name,unit,direction\nA,,,sideways\n", "key,name,unit,direction\n\"x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		ins, rows, err := ParseIndicators(bytes.NewReader(in))
		checkParsed(t, ins, rows, err, IndicatorColumns)
		keys := map[string]bool{}
		for _, x := range ins {
			if x.Source == "" {
				x.Source = "import"
			}
			if bad := x.check(); bad != nil || len(x.rowErrors(2)) > 0 {
				t.Fatalf("accepted %+v, which the store refuses: %v", x, bad)
			}
			if keys[x.Key] {
				t.Fatalf("accepted key %s twice", x.Key)
			}
			keys[x.Key] = true
		}
	})
}

// workbook makes an .xlsx whose first sheet holds rows from row 1.
func workbook(t testing.TB, rows [][]any) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, r := range rows {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.SetSheetRow("Sheet1", cell, &r); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := f.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestParseXLSX: a workbook's first sheet with a title row and a blank
// row above the header; rows are the sheet's, numbers may be numeric
// cells.
func TestParseXLSX(t *testing.T) {
	good := workbook(t, [][]any{
		{"2026年各街道指标"},
		{},
		{"unit_code", "indicator", "period", "value", "备注"},
		{"330303001", "income", "2026", 52000.5, "统计局"},
		{"330303002", "income", "2026", "48000", ""},
	})
	vals, rows, err := ParseValues(bytes.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	want := []Value{{"income", "330303001", "2026", 52000.5, 0}, {"income", "330303002", "2026", 48000, 0}}
	if !slices.Equal(vals, want) || !slices.Equal(rows, []int{4, 5}) {
		t.Fatalf("got %v at rows %v, want %v at [4 5]", vals, rows, want)
	}
	bad := workbook(t, [][]any{
		{"unit_code", "indicator", "period"},
		{"330303001", "income", "2026"},
	})
	_, _, err = ParseValues(bytes.NewReader(bad))
	if got := rowLines(err); !slices.Equal(got, []string{"row 1: value: column missing; the header needs indicator,unit_code,period,value"}) {
		t.Fatalf("no value column: got %q", got)
	}
	bad = workbook(t, [][]any{
		{"说明：单位代码为统计用区划代码"},
		{"indicator", "unit_code", "period", "value"},
		{"income", "330303001", "2026-13", "n/a"},
	})
	_, _, err = ParseValues(bytes.NewReader(bad))
	want2 := []string{"row 3: period: not a month (2026-11), quarter (2026-Q3) or year (2026)", "row 3: value: not a number"}
	if got := rowLines(err); !slices.Equal(got, want2) {
		t.Fatalf("bad cells: got %q, want %q", got, want2)
	}
	_, _, err = ParseValues(bytes.NewReader([]byte("PK\x03\x04 not a zip")))
	if got := rowLines(err); len(got) != 1 || !strings.HasPrefix(got[0], "row 1: -: unreadable workbook") {
		t.Fatalf("a broken workbook: got %q", got)
	}
}
