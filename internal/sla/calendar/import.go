package calendar

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"whistle/internal/errs"
)

// MaxImportBytes bounds an import file; a year's schedule is a few kilobytes.
const MaxImportBytes = 1 << 20

// maxEventDays bounds one ICS event, so that a typo in DTEND cannot expand
// into years of holidays.
const maxEventDays = 31

// ParseImport reads a schedule in one of three formats and validates it.
// Nothing is written; see Store.Preview and Store.Import.
//
//   - "csv": rows date,kind,name[,source] (see data/README.md); "#" starts a
//     comment, "# source: …" sets the default source, and a first row
//     starting with "date" or "日期" is a header.
//   - "json": an array of {"date","kind","name","source"} objects, or an
//     object {"source": "…", "days": [ … ]}. Unknown fields are refused.
//   - "ics": an RFC 5545 VCALENDAR whose VEVENTs are all-day events:
//     DTSTART;VALUE=DATE:20270101, with DTEND exclusive (or DURATION:PnD,
//     or neither for one day). Each date of an event takes its kind from the
//     SUMMARY: a SUMMARY containing 班 is a workday (so 调休上班 is a
//     workday although it contains 休); otherwise one containing 休 or 假 is
//     a holiday; any other SUMMARY is refused. The name is the SUMMARY's
//     first word with such marks (（休）, 放假, 补班 …) removed. Recurring
//     events (RRULE, RDATE) are refused: list each date.
//
// A kind is "holiday" or "workday" (or 休/假 and 班). The file must be
// UTF-8 (a byte-order mark is allowed). Every problem is reported at once,
// up to 100, in an errs.Error whose fields are "line[N]" (the line of the
// CSV row, of the JSON object's "{", or of the ICS DTSTART or offending
// property); nothing is returned for a file with any problem. The
// problems are: an unknown format, a malformed line, a date that is not
// YYYY-MM-DD or does not exist (2026-02-30, 26-01-01), a year outside
// MinYear–MaxYear, an unknown kind, a date listed twice (calendar.err.
// duplicate) or listed both as holiday and workday (calendar.err.conflict).
func ParseImport(format string, r io.Reader) ([]Day, error) {
	var parse func([]byte, *problems) []Day
	switch strings.ToLower(strings.TrimPrefix(strings.TrimSpace(format), ".")) {
	case "csv":
		parse = parseCSV
	case "json":
		parse = parseJSON
	case "ics", "ical", "icalendar":
		parse = parseICS
	default:
		return nil, errs.E(errs.Invalid, "calendar.err.format", format).Field("format", "calendar.err.format", format)
	}
	b, err := io.ReadAll(io.LimitReader(r, MaxImportBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxImportBytes {
		return nil, errs.E(errs.TooLarge, "error.too_large", "1 MiB")
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	var p problems
	if !utf8.Valid(b) {
		// Excel saves CSV as GBK unless told otherwise; name the first bad line.
		bad := 0
		for bad < len(b) {
			r, size := utf8.DecodeRune(b[bad:])
			if r == utf8.RuneError && size == 1 {
				break
			}
			bad += size
		}
		p.add(fieldLine(1+bytes.Count(b[:bad], []byte{'\n'})), "calendar.err.encoding")
		return nil, p.err()
	}
	days := parse(b, &p)
	checkDays(days, &p)
	if err := p.err(); err != nil {
		return nil, err
	}
	if len(days) == 0 {
		return nil, errs.E(errs.Invalid, "calendar.err.empty")
	}
	return days, nil
}

func fieldLine(n int) string { return fmt.Sprintf("line[%d]", n) }

// textDay builds a Day from text fields, reporting what is wrong with them.
func textDay(line int, date, kind, name, source string, p *problems) (Day, bool) {
	d, err := ParseDate(strings.TrimSpace(date))
	if err != nil {
		p.add(fieldLine(line), "calendar.err.date", date)
		return Day{}, false
	}
	k, ok := ParseKind(kind)
	if !ok {
		p.add(fieldLine(line), "calendar.err.kind", kind)
		return Day{}, false
	}
	return Day{Date: d, Kind: k, Name: strings.TrimSpace(name), Source: strings.TrimSpace(source), Line: line}, true
}

func parseCSV(b []byte, p *problems) []Day {
	source := ""
	for line := range strings.SplitSeq(string(b), "\n") {
		c, ok := strings.CutPrefix(strings.TrimSpace(line), "#")
		if !ok {
			continue
		}
		if k, v, ok := strings.Cut(c, ":"); ok && strings.EqualFold(strings.TrimSpace(k), "source") {
			source = strings.TrimSpace(v)
			break
		}
	}
	cr := csv.NewReader(bytes.NewReader(b))
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	var days []Day
	rows := 0 // non-blank records so far: only the first may be a header
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// After a quoting error the reader's idea of rows is unreliable,
			// so report it and stop.
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				p.add(fieldLine(pe.Line), "calendar.err.syntax", pe.Err.Error())
			} else {
				p.add("file", "calendar.err.syntax", err.Error())
			}
			break
		}
		line, _ := cr.FieldPos(0)
		if blank(rec) {
			continue
		}
		rows++
		if h := strings.ToLower(strings.TrimSpace(rec[0])); rows == 1 && (h == "date" || h == "日期") {
			continue
		}
		if len(rec) < 2 || len(rec) > 4 {
			p.add(fieldLine(line), "calendar.err.columns", len(rec))
			continue
		}
		rec = append(rec, "", "")
		src := rec[3]
		if strings.TrimSpace(src) == "" {
			src = source
		}
		if d, ok := textDay(line, rec[0], rec[1], rec[2], src, p); ok {
			days = append(days, d)
		}
	}
	return days
}

func blank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// jsonDay is one entry of a JSON schedule.
type jsonDay struct {
	Date   string `json:"date"`
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Source string `json:"source"`
}

func parseJSON(b []byte, p *problems) []Day {
	dec := json.NewDecoder(bytes.NewReader(b))
	lineAt := func(off int64) int { return 1 + bytes.Count(b[:min(off, int64(len(b)))], []byte{'\n'}) }
	fail := func(err error) {
		off := dec.InputOffset()
		var se *json.SyntaxError
		if errors.As(err, &se) {
			off = se.Offset
		}
		p.add(fieldLine(lineAt(off)), "calendar.err.syntax", err.Error())
	}
	var raws []json.RawMessage
	var lines []int
	source := ""
	// readArray reads the entries of an array whose '[' was just read,
	// remembering the line on which each entry starts.
	readArray := func() bool {
		for dec.More() {
			start := dec.InputOffset()
			for start < int64(len(b)) && strings.IndexByte(" \t\r\n,", b[start]) >= 0 {
				start++
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				fail(err)
				return false
			}
			raws, lines = append(raws, raw), append(lines, lineAt(start))
		}
		if _, err := dec.Token(); err != nil { // ']'
			fail(err)
			return false
		}
		return true
	}
	expectArray := func() bool {
		tok, err := dec.Token()
		if err != nil {
			fail(err)
			return false
		}
		if tok != json.Delim('[') {
			p.add(fieldLine(lineAt(dec.InputOffset())), "calendar.err.json_shape")
			return false
		}
		return readArray()
	}
	tok, err := dec.Token()
	switch {
	case err != nil:
		fail(err)
		return nil
	case tok == json.Delim('['):
		if !readArray() {
			return nil
		}
	case tok == json.Delim('{'):
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				fail(err)
				return nil
			}
			switch key {
			case "days":
				if !expectArray() {
					return nil
				}
			case "source":
				if err := dec.Decode(&source); err != nil {
					fail(err)
					return nil
				}
			default:
				p.add(fieldLine(lineAt(dec.InputOffset())), "calendar.err.json_field", fmt.Sprint(key))
				return nil
			}
		}
		if _, err := dec.Token(); err != nil { // '}'
			fail(err)
			return nil
		}
	default:
		p.add(fieldLine(lineAt(dec.InputOffset())), "calendar.err.json_shape")
		return nil
	}
	if _, err := dec.Token(); err != io.EOF {
		p.add(fieldLine(lineAt(dec.InputOffset())), "calendar.err.json_shape")
		return nil
	}
	var days []Day
	for i, raw := range raws {
		var jd jsonDay
		sub := json.NewDecoder(bytes.NewReader(raw))
		sub.DisallowUnknownFields()
		if err := sub.Decode(&jd); err != nil {
			p.add(fieldLine(lines[i]), "calendar.err.syntax", err.Error())
			continue
		}
		if jd.Source == "" {
			jd.Source = source
		}
		if d, ok := textDay(lines[i], jd.Date, jd.Kind, jd.Name, jd.Source, p); ok {
			days = append(days, d)
		}
	}
	return days
}

// icsLine is an unfolded content line and the physical line it starts on.
type icsLine struct {
	n    int
	text string
}

// icsEvent collects the properties of one VEVENT that matter here.
type icsEvent struct {
	begin                int
	start, end, duration string
	startN, endN, durN   int
	startParams          string
	summary              string
	summaryN             int
	hasStart, hasSummary bool
	hasEnd, hasDuration  bool
}

func parseICS(b []byte, p *problems) []Day {
	var lines []icsLine
	for i, raw := range strings.Split(string(b), "\n") {
		raw = strings.TrimSuffix(raw, "\r")
		// RFC 5545 §3.1: a line starting with a space or tab continues the
		// previous one.
		if raw != "" && (raw[0] == ' ' || raw[0] == '\t') && len(lines) > 0 {
			lines[len(lines)-1].text += raw[1:]
			continue
		}
		lines = append(lines, icsLine{n: i + 1, text: raw})
	}
	var days []Day
	var ev *icsEvent
	calendar := false
	for _, l := range lines {
		if strings.TrimSpace(l.text) == "" {
			continue
		}
		name, params, value, ok := icsProperty(l.text)
		if !ok {
			p.add(fieldLine(l.n), "calendar.err.ics_line", l.text)
			continue
		}
		if !calendar {
			if name != "BEGIN" || !strings.EqualFold(value, "VCALENDAR") {
				p.add(fieldLine(l.n), "calendar.err.ics_calendar")
				return nil
			}
			calendar = true
			continue
		}
		switch {
		case name == "BEGIN" && strings.EqualFold(value, "VEVENT"):
			if ev != nil {
				p.add(fieldLine(l.n), "calendar.err.ics_unclosed", ev.begin)
				return days
			}
			ev = &icsEvent{begin: l.n}
		case name == "END" && strings.EqualFold(value, "VEVENT") && ev != nil:
			days = append(days, ev.days(p)...)
			ev = nil
		case ev == nil:
			// Calendar properties and other components do not matter here.
		case name == "DTSTART":
			ev.start, ev.startN, ev.startParams, ev.hasStart = value, l.n, params, true
		case name == "DTEND":
			ev.end, ev.endN, ev.hasEnd = value, l.n, true
		case name == "DURATION":
			ev.duration, ev.durN, ev.hasDuration = value, l.n, true
		case name == "RRULE" || name == "RDATE":
			// Expanding recurrences is not worth its risk for a list of
			// dates; refusing beats silently importing the first one only.
			p.add(fieldLine(l.n), "calendar.err.ics_recurrence", name)
		case name == "SUMMARY":
			ev.summary, ev.summaryN, ev.hasSummary = icsUnescape(value), l.n, true
		}
	}
	if !calendar {
		p.add(fieldLine(1), "calendar.err.ics_calendar")
	}
	if ev != nil {
		p.add(fieldLine(ev.begin), "calendar.err.ics_unclosed", ev.begin)
	}
	return days
}

// days expands an all-day event into its dates.
func (e *icsEvent) days(p *problems) []Day {
	if !e.hasStart {
		p.add(fieldLine(e.begin), "calendar.err.ics_missing", "DTSTART")
		return nil
	}
	start, ok := icsDate(e.startParams, e.start)
	if !ok {
		p.add(fieldLine(e.startN), "calendar.err.ics_date", "DTSTART", e.start)
		return nil
	}
	n := 1
	switch {
	case e.hasEnd:
		end, ok := parseBasicDate(strings.TrimSpace(e.end))
		if !ok {
			p.add(fieldLine(e.endN), "calendar.err.ics_date", "DTEND", e.end)
			return nil
		}
		n = int(end.days() - start.days())
		if n <= 0 || n > maxEventDays {
			p.add(fieldLine(e.endN), "calendar.err.ics_span", start.String(), end.String(), maxEventDays)
			return nil
		}
	case e.hasDuration:
		var ok bool
		n, ok = icsDays(e.duration)
		if !ok || n <= 0 || n > maxEventDays {
			p.add(fieldLine(e.durN), "calendar.err.ics_duration", e.duration, maxEventDays)
			return nil
		}
	}
	if !e.hasSummary {
		p.add(fieldLine(e.begin), "calendar.err.ics_missing", "SUMMARY")
		return nil
	}
	var kind Kind
	switch {
	case strings.Contains(e.summary, "班"):
		kind = Workday
	case strings.Contains(e.summary, "休"), strings.Contains(e.summary, "假"):
		kind = Holiday
	default:
		p.add(fieldLine(e.summaryN), "calendar.err.ics_summary", e.summary)
		return nil
	}
	out := make([]Day, n)
	for i := range out {
		out[i] = Day{Date: start.AddDays(i), Kind: kind, Name: icsName(e.summary), Line: e.startN}
	}
	return out
}

// icsProperty splits "NAME;PARAM=V;…:value", ignoring colons inside quoted
// parameter values.
func icsProperty(s string) (name, params, value string, ok bool) {
	quoted := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '"':
			quoted = !quoted
		case ':':
			if quoted {
				continue
			}
			head := s[:i]
			name, params, _ = strings.Cut(head, ";")
			name = strings.ToUpper(strings.TrimSpace(name))
			return name, params, s[i+1:], name != ""
		}
	}
	return "", "", "", false
}

// icsDate reads an all-day DTSTART: VALUE=DATE, or a bare YYYYMMDD. A
// DATE-TIME is refused: a holiday is a whole day in local time.
func icsDate(params, value string) (Date, bool) {
	for p := range strings.SplitSeq(params, ";") {
		if k, v, ok := strings.Cut(p, "="); ok && strings.EqualFold(k, "VALUE") && !strings.EqualFold(v, "DATE") {
			return Date{}, false
		}
	}
	return parseBasicDate(strings.TrimSpace(value))
}

// icsDays reads a DURATION of whole days or weeks: P3D, P1W.
func icsDays(s string) (int, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	body, ok := strings.CutPrefix(s, "P")
	if !ok || len(body) < 2 {
		return 0, false
	}
	n, ok := digits(body[:len(body)-1])
	switch body[len(body)-1] {
	case 'D':
		return n, ok
	case 'W':
		return 7 * n, ok
	}
	return 0, false
}

// icsUnescape undoes RFC 5545 TEXT escaping.
func icsUnescape(s string) string {
	r := strings.NewReplacer(`\n`, " ", `\N`, " ", `\,`, ",", `\;`, ";", `\\`, `\`)
	return strings.TrimSpace(r.Replace(s))
}

// icsName turns a SUMMARY such as "春节（休）", "国庆节放假" or "春节 补班
// 第1天" into the holiday's name.
func icsName(summary string) string {
	f := strings.Fields(summary)
	if len(f) == 0 {
		return ""
	}
	s := f[0]
	marks := []string{"（休）", "(休)", "（班）", "(班)", "调休上班", "补班", "上班", "放假", "假期", "调休", "休息", "休", "班", "假"}
	for changed := true; changed; {
		changed = false
		for _, m := range marks {
			if t, ok := strings.CutSuffix(s, m); ok {
				s, changed = t, true
			}
		}
	}
	return s
}

// checkDays checks dates, kinds, names and that no date appears twice.
// Problems are reported per line of the source file ("line[7]"), or per
// position in days ("day[3]", from 1) for days that did not come from a file.
func checkDays(days []Day, p *problems) {
	first := map[Date]int{}
	for i, d := range days {
		where := d.where(i)
		switch {
		case !d.Date.Valid():
			p.add(where, "calendar.err.date", d.Date.String())
			continue
		case d.Date.Year < MinYear || d.Date.Year > MaxYear:
			p.add(where, "calendar.err.year_range", d.Date.Year, MinYear, MaxYear)
			continue
		case !d.Kind.Valid():
			p.add(where, "calendar.err.kind", string(d.Kind))
			continue
		case utf8.RuneCountInString(d.Name) > maxName:
			p.add(where, "calendar.err.name_too_long", maxName)
			continue
		case utf8.RuneCountInString(d.Source) > maxSource:
			p.add(where, "calendar.err.source_too_long", maxSource)
			continue
		}
		if j, dup := first[d.Date]; dup {
			prev := days[j]
			key := "calendar.err.duplicate"
			if prev.Kind != d.Kind {
				key = "calendar.err.conflict"
			}
			p.add(where, key, d.Date.String(), prev.lineOr(j))
			continue
		}
		first[d.Date] = i
	}
}

// validateDays is checkDays for days from code rather than a file.
func validateDays(days []Day) error {
	var p problems
	checkDays(days, &p)
	return p.err()
}
