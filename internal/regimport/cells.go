package regimport

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"whistle/internal/errs"
)

// record is a data row: its number and its value per field, codes and
// dates normalised.
type record struct {
	row  int
	vals map[string]string
}

var (
	reYMD     = regexp.MustCompile(`^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$`)
	reCompact = regexp.MustCompile(`^(\d{4})(\d{2})(\d{2})$`)
	// reMDY is excelize's rendering of a cell in Excel's built-in date
	// format 14 (mm-dd-yy).
	reMDY    = regexp.MustCompile(`^(\d{1,2})-(\d{1,2})-(\d{2})$`)
	reSerial = regexp.MustCompile(`^\d{4,5}(\.0+)?$`)
)

// normDate turns the date forms spreadsheets hold into YYYY-MM-DD.
func normDate(s string) (string, bool) {
	var y, m, d int
	switch {
	case reYMD.MatchString(s):
		p := reYMD.FindStringSubmatch(s)
		y, m, d = atoi(p[1]), atoi(p[2]), atoi(p[3])
	case reCompact.MatchString(s):
		p := reCompact.FindStringSubmatch(s)
		y, m, d = atoi(p[1]), atoi(p[2]), atoi(p[3])
	case reMDY.MatchString(s):
		p := reMDY.FindStringSubmatch(s)
		m, d, y = atoi(p[1]), atoi(p[2]), 2000+atoi(p[3])
		if y > time.Now().Year() {
			y -= 100
		}
	case reSerial.MatchString(s):
		n, _ := strconv.ParseFloat(s, 64)
		// Day 0 of Excel's 1900 date system (with its leap-year bug).
		t := time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC).AddDate(0, 0, int(n))
		return t.Format(time.DateOnly), true
	default:
		return "", false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Year() != y || int(t.Month()) != m || t.Day() != d {
		return "", false
	}
	return t.Format(time.DateOnly), true
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }

// cell normalises a cell of column c: a display value becomes its code, a
// date YYYY-MM-DD, a number is checked. A bad cell returns its message.
func (c Column) cell(v string) (string, *errs.Msg) {
	if v == "" {
		return "", nil
	}
	switch c.Type {
	case "date":
		d, ok := normDate(v)
		if !ok {
			return "", &errs.Msg{Key: "import.err.date"}
		}
		return d, nil
	case "number":
		v = strings.ReplaceAll(v, ",", "")
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return "", &errs.Msg{Key: "field.number"}
		}
		return v, nil
	}
	code, ok := c.code(v)
	if !ok {
		return "", &errs.Msg{Key: "import.err.choice", Args: []any{c.choices()}}
	}
	return code, nil
}
