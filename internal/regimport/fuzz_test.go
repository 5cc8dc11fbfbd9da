package regimport

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// FuzzDecodeUpload feeds arbitrary uploads to the file decoder and the
// people layout: it must never panic, rows must come numbered after the
// header in increasing order with trimmed cells, and every cell it accepts
// must be normalised (a date cell as YYYY-MM-DD, a coded cell as a code).
func FuzzDecodeUpload(f *testing.F) {
	f.Add([]byte("姓名,公民身份号码,人员类型,出生日期,所属网格\n张三,330303199001010011,常住,1990/1/1,330303001001001\n"))
	f.Add([]byte("\uFEFF名字,身份证号,人口类型（常住/流动/寄住）*\n李四, 330303199001010038 ,流动\n\n"))
	f.Add([]byte("a,\"b\nc\",d\n1,2\n"))
	f.Add([]byte("PK\x03\x04garbage"))
	f.Add([]byte("出生日期,人员类型\n45000,寄住\n"))
	f.Add([]byte{0xd0, 0xd5, 0xc3, 0xfb, ',', 'x', '\n', '1', ',', '2', '\n'})
	lays, err := LoadLayouts()
	if err != nil {
		f.Fatal(err)
	}
	lay := lays[People]
	f.Fuzz(func(t *testing.T, b []byte) {
		tb, err := OpenTable(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("OpenTable: got %v, want ErrFormat", err)
			}
			return
		}
		defer tb.Close()
		idx, _, _ := lay.match(tb.Header())
		last := 1
		for range 10000 {
			row, cells, err := tb.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				return
			}
			if row <= last {
				t.Fatalf("row %d after row %d", row, last)
			}
			last = row
			for j, c := range cells {
				if c != strings.TrimSpace(c) {
					t.Fatalf("row %d: cell %q not trimmed", row, c)
				}
				if j >= len(idx) || idx[j] < 0 || c == "" {
					continue
				}
				col := lay.Columns[idx[j]]
				v, bad := col.cell(c)
				if bad != nil {
					continue
				}
				switch {
				case col.Type == "date":
					if _, err := time.Parse(time.DateOnly, v); err != nil {
						t.Fatalf("date cell %q accepted as %q", c, v)
					}
				case len(col.Values) > 0:
					if _, ok := col.code(v); !ok || col.display(v) == "" {
						t.Fatalf("cell %q of %s accepted as %q, not a code", c, col.Field, v)
					}
				}
			}
		}
	})
}
