package calendar

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"whistle/internal/errs"
)

// A made-up 2027 schedule (not an official one: the State Council
// publishes 2027's around November 2026), the same in three formats.
const csv2027 = `# source: 测试用 2027 年安排（虚构）
date,kind,name
2027-01-01,holiday,元旦
2027-01-02,holiday,元旦
2027-01-03,holiday,元旦
2027-01-31,workday,春节
2027-02-05,holiday,春节
2027-02-06,holiday,春节
2027-02-07,holiday,春节
2027-02-08,holiday,春节
2027-02-13,workday,春节
2027-09-26,workday,国庆节
2027-10-01,holiday,国庆节
2027-10-02,holiday,国庆节
2027-10-03,holiday,国庆节
2027-10-09,workday,国庆节
`

const json2027 = `{
 "source": "测试用 2027 年安排（虚构）",
 "days": [
  {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
  {"date": "2027-01-02", "kind": "holiday", "name": "元旦"},
  {"date": "2027-01-03", "kind": "休", "name": "元旦"},
  {"date": "2027-01-31", "kind": "workday", "name": "春节"},
  {"date": "2027-02-05", "kind": "holiday", "name": "春节"},
  {"date": "2027-02-06", "kind": "holiday", "name": "春节"},
  {"date": "2027-02-07", "kind": "holiday", "name": "春节"},
  {"date": "2027-02-08", "kind": "holiday", "name": "春节"},
  {"date": "2027-02-13", "kind": "班", "name": "春节"},
  {"date": "2027-09-26", "kind": "workday", "name": "国庆节"},
  {"date": "2027-10-01", "kind": "holiday", "name": "国庆节"},
  {"date": "2027-10-02", "kind": "holiday", "name": "国庆节"},
  {"date": "2027-10-03", "kind": "holiday", "name": "国庆节"},
  {"date": "2027-10-09", "kind": "workday", "name": "国庆节"}
 ]
}`

// ics2027 uses CRLF, a folded line, DTEND (exclusive), DURATION, a
// one-day event without either, and 调休上班 (which contains 休 but is a
// workday).
var ics2027 = strings.ReplaceAll(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//whistle//ZH
X-WR-CALNAME:2027 节假日（虚构）
BEGIN:VEVENT
UID:1@test
DTSTART;VALUE=DATE:20270101
DTEND;VALUE=DATE:20270104
SUMMARY:元旦（休）
END:VEVENT
BEGIN:VEVENT
UID:2@test
DTSTART;VALUE=DATE:20270131
SUMMARY:春节调休上班
END:VEVENT
BEGIN:VEVENT
UID:3@test
DTSTART;VALUE=DATE:20270205
DURATION:P4D
SUMMARY:春节 放假
END:VEVENT
BEGIN:VEVENT
UID:4@test
DTSTART;VALUE=DATE:20270213
DTEND;VALUE=DATE:20270214
SUMMARY:春节补班
END:VEVENT
BEGIN:VEVENT
UID:5@test
DTSTART;VALUE=DATE:20270926
DTEND;VALUE=DATE:20270927
SUMMARY:国庆节（班）
END:VEVENT
BEGIN:VEVENT
UID:6@test
DTSTART;VALUE=DATE:20271001
DTEND;VALUE=DATE:20271004
SUMMARY:国庆节
  假期
END:VEVENT
BEGIN:VEVENT
UID:7@test
DTSTART:20271009
SUMMARY:国庆节 班
END:VEVENT
END:VCALENDAR
`, "\n", "\r\n")

// key reduces days to comparable text, ignoring lines and sources.
func key(days []Day) []string {
	out := make([]string, len(days))
	for i, d := range days {
		out[i] = d.Date.String() + " " + string(d.Kind) + " " + d.Name
	}
	slices.Sort(out)
	return out
}

func TestParseImportValidFormatsAgree(t *testing.T) {
	want, err := ParseImport("csv", strings.NewReader(csv2027))
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	if len(want) != 14 {
		t.Fatalf("csv: %d days, want 14", len(want))
	}
	if want[0].Source != "测试用 2027 年安排（虚构）" || want[0].Line != 3 {
		t.Errorf("csv first day = %+v, want source from the comment and line 3", want[0])
	}
	for _, d := range want {
		if wd := d.Date.Weekday(); d.Kind == Workday && wd != 0 && wd != 6 {
			t.Errorf("test data: make-up workday %s is a %s", d.Date, wd)
		}
	}
	for _, tc := range []struct{ format, in string }{{"json", json2027}, {"ics", ics2027}, {".CSV", csv2027}} {
		t.Run(tc.format, func(t *testing.T) {
			got, err := ParseImport(tc.format, strings.NewReader(tc.in))
			if err != nil {
				t.Fatalf("ParseImport(%s): %v", tc.format, err)
			}
			if g, w := key(got), key(want); !slices.Equal(g, w) {
				t.Errorf("ParseImport(%s) =\n%s\nwant\n%s", tc.format, strings.Join(g, "\n"), strings.Join(w, "\n"))
			}
		})
	}
}

func TestParseImportLineNumbers(t *testing.T) {
	jsonDays := func(lines ...string) string { return "[\n" + strings.Join(lines, ",\n") + "\n]" }
	ics := func(events ...string) string {
		return "BEGIN:VCALENDAR\nVERSION:2.0\n" + strings.Join(events, "") + "END:VCALENDAR\n"
	}
	ev := func(props ...string) string { return "BEGIN:VEVENT\n" + strings.Join(props, "\n") + "\nEND:VEVENT\n" }
	for _, tc := range []struct {
		name   string
		format string
		in     string
		field  string // the problem's field
		key    string // its message key
		args   []any  // its arguments, when they matter
	}{
		{"unknown format", "xls", csv2027, "format", "calendar.err.format", []any{"xls"}},
		{"csv impossible date", "csv", "# c\ndate,kind,name\n2026-01-01,holiday,元旦\n\n2026-02-28,workday,春节\n# c\n2026-02-30,holiday,春节\n",
			"line[7]", "calendar.err.date", []any{"2026-02-30"}},
		{"csv two-digit year", "csv", "2026-01-01,holiday,元旦\n26-01-02,holiday,元旦\n", "line[2]", "calendar.err.date", []any{"26-01-02"}},
		{"csv holiday and workday", "csv", "date,kind,name\n2026-02-14,workday,春节\n2026-02-15,holiday,春节\n2026-02-14,holiday,春节\n",
			"line[4]", "calendar.err.conflict", []any{"2026-02-14", 2}},
		{"csv duplicate", "csv", "2026-01-01,holiday,元旦\n2026-01-02,holiday,元旦\n2026-01-01,holiday,元旦\n",
			"line[3]", "calendar.err.duplicate", []any{"2026-01-01", 1}},
		{"csv unknown kind", "csv", "2026-01-01,holiday,元旦\n2026-01-02,rest,元旦\n", "line[2]", "calendar.err.kind", []any{"rest"}},
		{"csv columns", "csv", "2026-01-01,holiday,元旦\n2026-01-02\n", "line[2]", "calendar.err.columns", []any{1}},
		{"csv year out of range", "csv", "2026-01-01,holiday,元旦\n1999-01-01,holiday,元旦\n", "line[2]", "calendar.err.year_range", nil},
		{"csv bad quoting", "csv", "2026-01-01,holiday,元旦\n2026-01-02,holiday,\"元旦\n", "line[2]", "calendar.err.syntax", nil},
		{"csv not UTF-8 (GBK)", "csv", "2026-01-01,holiday,元旦\n2026-01-02,holiday,\xd4\xaa\xb5\xa9\n", "line[2]", "calendar.err.encoding", nil},
		{"json impossible date", "json", jsonDays(`{"date":"2026-01-01","kind":"holiday","name":"元旦"}`, `{"date":"2026-02-30","kind":"holiday","name":"春节"}`),
			"line[3]", "calendar.err.date", nil},
		{"json holiday and workday", "json", jsonDays(`{"date":"2026-01-01","kind":"holiday"}`, `{"date":"2026-01-04","kind":"workday"}`, `{"date":"2026-01-01","kind":"workday"}`),
			"line[4]", "calendar.err.conflict", []any{"2026-01-01", 2}},
		{"json multi-line entry", "json", "[\n {\"date\": \"2026-01-01\", \"kind\": \"holiday\"},\n {\n  \"date\": \"2026/01/02\",\n  \"kind\": \"holiday\"\n }\n]",
			"line[3]", "calendar.err.date", nil},
		{"json unknown field", "json", jsonDays(`{"date":"2026-01-01","kind":"holiday"}`, `{"date":"2026-01-02","type":"holiday"}`), "line[3]", "calendar.err.syntax", nil},
		{"json syntax", "json", "[\n{\"date\":\"2026-01-01\",\"kind\":\"holiday\"},\n{\"date\":\"2026-01-02\" \"kind\":\"holiday\"}\n]", "line[3]", "calendar.err.syntax", nil},
		{"json wrong shape", "json", `"2026-01-01"`, "line[1]", "calendar.err.json_shape", nil},
		{"ics date-time", "ics", ics(ev("DTSTART;VALUE=DATE:20260101", "SUMMARY:元旦 休"), ev("DTSTART:20260102T090000", "SUMMARY:元旦 休")),
			"line[8]", "calendar.err.ics_date", []any{"DTSTART", "20260102T090000"}},
		{"ics impossible date", "ics", ics(ev("DTSTART;VALUE=DATE:20260230", "SUMMARY:春节 休")), "line[4]", "calendar.err.ics_date", nil},
		{"ics summary without a mark", "ics", ics(ev("DTSTART;VALUE=DATE:20260101", "SUMMARY:元旦")), "line[5]", "calendar.err.ics_summary", []any{"元旦"}},
		{"ics holiday and workday", "ics", ics(ev("DTSTART;VALUE=DATE:20260214", "DTEND;VALUE=DATE:20260216", "SUMMARY:春节 休"), ev("DTSTART;VALUE=DATE:20260214", "SUMMARY:春节 班")),
			"line[9]", "calendar.err.conflict", []any{"2026-02-14", 4}},
		{"ics DTEND not after DTSTART", "ics", ics(ev("DTSTART;VALUE=DATE:20260105", "DTEND;VALUE=DATE:20260105", "SUMMARY:休")), "line[5]", "calendar.err.ics_span", nil},
		{"ics not a calendar", "ics", "BEGIN:VEVENT\nEND:VEVENT\n", "line[1]", "calendar.err.ics_calendar", nil},
		{"ics unclosed event", "ics", "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART;VALUE=DATE:20260101\nSUMMARY:休\n", "line[2]", "calendar.err.ics_unclosed", nil},
		{"ics recurrence", "ics", ics(ev("DTSTART;VALUE=DATE:20260101", "RRULE:FREQ=YEARLY", "SUMMARY:元旦 休")), "line[5]", "calendar.err.ics_recurrence", []any{"RRULE"}},
		{"ics no DTSTART", "ics", ics(ev("SUMMARY:元旦 休")), "line[3]", "calendar.err.ics_missing", []any{"DTSTART"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			days, err := ParseImport(tc.format, strings.NewReader(tc.in))
			if days != nil {
				t.Errorf("ParseImport returned %d days with an error; want none", len(days))
			}
			e, ok := errs.As(err)
			if !ok || e.Code != errs.Invalid {
				t.Fatalf("ParseImport error = %v, want an errs.Invalid", err)
			}
			got, ok := e.Fields[tc.field]
			if !ok || got.Key != tc.key {
				t.Fatalf("ParseImport error = %v, want %s: %s", err, tc.field, tc.key)
			}
			if tc.args != nil && fmt.Sprint(got.Args) != fmt.Sprint(tc.args) {
				t.Errorf("%s args = %v, want %v", tc.field, got.Args, tc.args)
			}
		})
	}
}

func TestParseImportReportsEveryProblem(t *testing.T) {
	in := "date,kind,name\n2026-01-01,holiday,元旦\n2026-13-01,holiday,x\n2026-01-02,nope,元旦\n2026-01-01,workday,元旦\n"
	_, err := ParseImport("csv", strings.NewReader(in))
	e, ok := errs.As(err)
	if !ok {
		t.Fatalf("error = %v, want errs.Error", err)
	}
	want := map[string]string{"line[3]": "calendar.err.date", "line[4]": "calendar.err.kind", "line[5]": "calendar.err.conflict"}
	if len(e.Fields) != len(want) {
		t.Errorf("fields = %v, want %v", e.Fields, want)
	}
	for f, k := range want {
		if e.Fields[f].Key != k {
			t.Errorf("%s = %q, want %q", f, e.Fields[f].Key, k)
		}
	}
	if e.Msg.Key != "calendar.import_invalid" || fmt.Sprint(e.Msg.Args) != "[3]" {
		t.Errorf("message = %s %v, want calendar.import_invalid [3]", e.Msg.Key, e.Msg.Args)
	}
}

func TestParseImportWholeFileProblems(t *testing.T) {
	for _, tc := range []struct {
		name, format, in string
		code             errs.Code
		key              string
	}{
		{"empty csv", "csv", "# nothing\ndate,kind,name\n", errs.Invalid, "calendar.err.empty"},
		{"empty json", "json", "[]", errs.Invalid, "calendar.err.empty"},
		{"too large", "csv", strings.Repeat("#", MaxImportBytes+1), errs.TooLarge, "error.too_large"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseImport(tc.format, strings.NewReader(tc.in))
			if e, ok := errs.As(err); !ok || e.Code != tc.code || e.Msg.Key != tc.key {
				t.Errorf("error = %v, want %s %s", err, tc.code, tc.key)
			}
		})
	}
}

func TestParseImportAcceptsBOMAndChineseHeader(t *testing.T) {
	in := "\xef\xbb\xbf日期,类型,名称\r\n2026-01-01,休,元旦\r\n2026-01-04,班,元旦\r\n"
	days, err := ParseImport("csv", bytes.NewReader([]byte(in)))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := key(days), []string{"2026-01-01 holiday 元旦", "2026-01-04 workday 元旦"}; !slices.Equal(got, want) {
		t.Errorf("days = %v, want %v", got, want)
	}
	// A blank-looking line before the header does not make the header data.
	days, err = ParseImport("csv", strings.NewReader("   \n\ndate,kind,name\n2026-01-01,holiday,元旦\n"))
	if err != nil || len(days) != 1 || days[0].Line != 4 {
		t.Errorf("ParseImport(blank line, header, row) = %+v, %v; want one day from line 4", days, err)
	}
}

func TestICSName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"元旦（休）", "元旦"},
		{"春节调休上班", "春节"},
		{"国庆节放假", "国庆节"},
		{"春节 补班 第1天/共2天", "春节"},
		{"中秋节(休)", "中秋节"},
		{"班", ""},
	} {
		if got := icsName(tc.in); got != tc.want {
			t.Errorf("icsName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
