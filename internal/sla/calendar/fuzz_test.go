package calendar

import (
	"bytes"
	"os"
	"testing"

	"whistle/internal/errs"
)

// FuzzParseImport feeds arbitrary bytes to the schedule import in each
// format. A refusal must be an *errs.Error (a 4xx on the wire); an accepted
// file must yield only valid, distinct days of a known kind within the
// supported years, which the calendar then accepts.
func FuzzParseImport(f *testing.F) {
	formats := []string{"csv", "json", "ics"}
	if b, err := os.ReadFile("data/2026.csv"); err == nil {
		f.Add(uint8(0), b)
	}
	f.Add(uint8(0), []byte("date,kind,name\n2026-01-01,holiday,元旦\n2026-01-04,workday,元旦调休\n"))
	f.Add(uint8(0), []byte("# source: 国办发明电〔2025〕7号\n2026-10-01,休,国庆节\n2026-02-30,holiday,x\n"))
	f.Add(uint8(0), []byte("2026-01-01,holiday\n\"unterminated,holiday,x\n"))
	f.Add(uint8(0), []byte("\xef\xbb\xbf日期,类型,名称\n2026-05-01,假,劳动节\n"))
	f.Add(uint8(0), []byte("2026-05-01,holiday,劳动节\n2026-05-01,workday,劳动节\n"))
	f.Add(uint8(1), []byte(`[{"date":"2026-01-01","kind":"holiday","name":"元旦"}]`))
	f.Add(uint8(1), []byte(`{"source":"x","days":[{"date":"2026-01-04","kind":"workday","name":"调休"},{"date":"1900-01-01","kind":"holiday","name":"x"}]}`))
	f.Add(uint8(1), []byte(`{"days":[{"date":"2026-01-01","kind":"holiday","name":"a","extra":1}]}`))
	f.Add(uint8(1), []byte(`[1, "x", null, {"date": 20260101}]`))
	f.Add(uint8(2), []byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261001\r\nDTEND;VALUE=DATE:20261008\r\nSUMMARY:国庆节（休）\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Add(uint8(2), []byte("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20260928\nDURATION:P1D\nSUMMARY:国庆节补班\nEND:VEVENT\nEND:VCALENDAR\n"))
	f.Add(uint8(2), []byte("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20260101T000000Z\nRRULE:FREQ=YEARLY\nSUMMARY:元旦\n folded\nEND:VEVENT\n"))
	f.Add(uint8(2), []byte("BEGIN:VEVENT\nDTSTART;VALUE=DATE:20260101\nDTEND;VALUE=DATE:20250101\nSUMMARY:休\nEND:VEVENT\n"))
	f.Add(uint8(3), []byte("x"))
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		format := "xlsx"
		if int(which) < len(formats) {
			format = formats[which]
		}
		days, err := ParseImport(format, bytes.NewReader(data))
		if err != nil {
			if _, ok := errs.As(err); !ok {
				t.Fatalf("%s: a refusal that is not an errs.Error: %T %v", format, err, err)
			}
			if days != nil {
				t.Fatalf("%s: days returned with an error", format)
			}
			return
		}
		if len(days) == 0 {
			t.Fatalf("%s: accepted with no days", format)
		}
		seen := map[Date]bool{}
		for _, d := range days {
			if !d.Date.Valid() || d.Date.Year < MinYear || d.Date.Year > MaxYear {
				t.Fatalf("%s: accepted an invalid date %v", format, d.Date)
			}
			if d.Kind != Holiday && d.Kind != Workday {
				t.Fatalf("%s: accepted kind %q", format, d.Kind)
			}
			if seen[d.Date] {
				t.Fatalf("%s: accepted %v twice", format, d.Date)
			}
			seen[d.Date] = true
		}
		if _, err := New(days, DefaultWorkHours()); err != nil {
			t.Fatalf("%s: the calendar refused an accepted import: %v", format, err)
		}
	})
}
