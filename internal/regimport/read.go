package regimport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"
)

// Table is a file's rows read one at a time: the header, then Next until
// it returns io.EOF. Rows are numbered as a spreadsheet shows them: the
// header is row 1.
type Table interface {
	Header() []string
	// Next returns the next non-empty row and its number.
	Next() (row int, cells []string, err error)
	Close() error
}

// ErrFormat is the error of a file that is neither .xlsx nor CSV text, or
// has no header row.
var ErrFormat = errors.New("regimport: not an .xlsx or CSV file with a header row")

// OpenTable reads r as an .xlsx workbook (its first sheet) when it starts
// like one, else as CSV text in UTF-8 (with or without a byte-order mark)
// or, when it is not valid UTF-8, in GB18030 (what Excel writes on a
// Chinese Windows). An .xlsx is read whole into memory; a CSV is streamed.
func OpenTable(r io.Reader) (Table, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(4096)
	if bytes.HasPrefix(head, []byte("PK\x03\x04")) { // a zip archive
		return openXLSX(br)
	}
	return openCSV(br, head)
}

func openCSV(br *bufio.Reader, head []byte) (Table, error) {
	var src io.Reader = br
	if bytes.HasPrefix(head, []byte("\uFEFF")) {
		_, _ = br.Discard(3)
	} else if !utf8Prefix(head) {
		src = transform.NewReader(br, simplifiedchinese.GB18030.NewDecoder())
	}
	c := csv.NewReader(src)
	c.FieldsPerRecord = -1
	c.ReuseRecord = true
	t := &csvTable{r: c}
	h, err := c.Read()
	if err != nil {
		return nil, ErrFormat
	}
	t.header = trimCells(append([]string(nil), h...))
	t.line = 1
	if allEmpty(t.header) {
		return nil, ErrFormat
	}
	return t, nil
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

type csvTable struct {
	r      *csv.Reader
	header []string
	line   int
}

func (t *csvTable) Header() []string { return t.header }

func (t *csvTable) Next() (int, []string, error) {
	for {
		rec, err := t.r.Read()
		if err == io.EOF {
			return 0, nil, io.EOF
		}
		t.line++
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return t.line, nil, fmt.Errorf("regimport: CSV line %d: %w", pe.Line, pe.Err)
			}
			return t.line, nil, err
		}
		rec = trimCells(rec)
		if allEmpty(rec) {
			continue
		}
		return t.line, rec, nil
	}
}

func (t *csvTable) Close() error { return nil }

type xlsxTable struct {
	f      *excelize.File
	rows   *excelize.Rows
	header []string
	line   int
}

func openXLSX(r io.Reader) (Table, error) {
	f, err := excelize.OpenReader(r)
	if err != nil {
		return nil, ErrFormat
	}
	sheets := f.GetSheetList()
	if len(sheets) == 0 {
		_ = f.Close()
		return nil, ErrFormat
	}
	rows, err := f.Rows(sheets[0])
	if err != nil {
		_ = f.Close()
		return nil, ErrFormat
	}
	t := &xlsxTable{f: f, rows: rows}
	// The header is the first non-empty row (a title row above it is
	// common: 某某社区人口台账); a row of one cell is taken as a title.
	for t.rows.Next() {
		t.line++
		cells, err := t.rows.Columns()
		if err != nil {
			_ = t.Close()
			return nil, ErrFormat
		}
		cells = trimCells(cells)
		if nonEmpty(cells) >= 2 {
			t.header = append([]string(nil), cells...)
			return t, nil
		}
	}
	_ = t.Close()
	return nil, ErrFormat
}

func (t *xlsxTable) Header() []string { return t.header }

func (t *xlsxTable) Next() (int, []string, error) {
	for t.rows.Next() {
		t.line++
		cells, err := t.rows.Columns()
		if err != nil {
			return t.line, nil, fmt.Errorf("regimport: sheet row %d: %w", t.line, err)
		}
		cells = trimCells(cells)
		if allEmpty(cells) {
			continue
		}
		return t.line, cells, nil
	}
	if err := t.rows.Error(); err != nil {
		return t.line, nil, err
	}
	return 0, nil, io.EOF
}

func (t *xlsxTable) Close() error {
	if t.rows != nil {
		_ = t.rows.Close()
	}
	return t.f.Close()
}

func trimCells(c []string) []string {
	for i := range c {
		c[i] = strings.TrimSpace(c[i])
	}
	return c
}

func nonEmpty(c []string) int {
	n := 0
	for _, s := range c {
		if s != "" {
			n++
		}
	}
	return n
}

func allEmpty(c []string) bool { return nonEmpty(c) == 0 }
